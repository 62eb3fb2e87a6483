/* Session commands: login, logout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "watchstand/yconf.h"

#include "cli.h"

/* Writes the token file (private); token NULL writes the url alone. */
static int
session_save(const char *url, const char *token)
{
	char path[512], dir[512];
	FILE *fp;

	cli_config_path(path, sizeof(path));
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path),
	         path);
	/* mkdir -p, private */
	for (char *p = dir + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(dir, 0700);
			*p = '/';
		}
	mkdir(dir, 0700);
	fp = fopen(path, "w");
	if (fp == NULL) {
		fprintf(stderr, "watchstand: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fchmod(fileno(fp), 0600);
	fprintf(fp, "url: \"%s\"\n", url);
	if (token != NULL)
		fprintf(fp, "token: \"%s\"\n", token);
	fclose(fp);
	return 0;
}

int
cmd_login(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char user[128], pass[256], path[512];
	struct termios old, quiet;
	int tty = isatty(0);
	const char *login = argc > 0 ? argv[0] : NULL;
	json_t *out = NULL;

	(void)a;
	if (login == NULL) {
		fprintf(stderr, "login: ");
		if (fgets(user, sizeof(user), stdin) == NULL)
			return 1;
		user[strcspn(user, "\r\n")] = '\0';
		login = user;
	}
	if (tty) {
		fprintf(stderr, "password for %s: ", login);
		tcgetattr(0, &old);
		quiet = old;
		quiet.c_lflag &= ~ECHO;
		tcsetattr(0, TCSANOW, &quiet);
	}
	if (fgets(pass, sizeof(pass), stdin) == NULL)
		pass[0] = '\0';
	if (tty) {
		tcsetattr(0, TCSANOW, &old);
		fprintf(stderr, "\n");
	}
	pass[strcspn(pass, "\r\n")] = '\0';
	c->token[0] = '\0';
	if (cli_call(c, "POST", "/login",
	             json_pack("{s:s, s:s}", "login", login, "password", pass),
	             &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (session_save(c->url, cli_str(out, "token")) == -1) {
		json_decref(out);
		return 1;
	}
	printf("logged in as %s (%s); token saved in %s\n",
	       cli_str(out, "login"), cli_str(out, "role"),
	       cli_config_path(path, sizeof(path)));
	json_decref(out);
	return 0;
}

/*
 * Ends the session on the server, then forgets the token in the file (the
 * url stays). A token the server no longer knows (401) is forgotten too.
 */
int
cmd_logout(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char path[512];
	json_t *out = NULL;
	struct yconf yc;
	long code;

	(void)a;
	(void)argc;
	(void)argv;
	if (c->token[0] == '\0') {
		fprintf(stderr, "watchstand: not logged in\n");
		return 1;
	}
	code = cli_call(c, "POST", "/logout", NULL, &out);
	if (code == 200 && !c->json)
		printf("logged out (%s)\n", cli_str(out, "logged_out"));
	else if (code == 200)
		cli_print_json(json_incref(out));
	json_decref(out);
	if ((code == 200 || code == 401) &&
	    access(cli_config_path(path, sizeof(path)), R_OK) == 0 &&
	    yconf_load(&yc, path) == 0) {
		char *url = NULL;
		yconf_str(&yc, yconf_root(&yc), "", "url", 0, &url);
		yconf_free(&yc);
		session_save(url ? url : c->url, NULL);
		free(url);
	}
	return code == 200 ? 0 : 1;
}
