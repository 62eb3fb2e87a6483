/* watchstand-collector: subcommands run (default), migrate, check-config. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "watchstand/log.h"
#include "watchstand/tls.h"
#include "collector.h"
#include "ingest.h"

static void
usage(void)
{
	fprintf(stderr, "usage: watchstand-collector [-v] [-c collector.yaml] "
	                "[run | migrate | check-config]\n");
	exit(2);
}

static void
collector_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	if (sig == SIGHUP) {
		log_warnx("SIGHUP: reloading is not supported yet; restart the "
		          "collector to apply a new config");
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(base, NULL);
}

static int
collector_run(struct collector *c, const char *file)
{
	struct event *sigs[3];
	char err[512];
	int i;

	signal(SIGPIPE, SIG_IGN);
	if ((c->c_ctx = tls_ctx_new(c->c_conf.cc_tls_ca, c->c_conf.cc_tls_cert,
	                            c->c_conf.cc_tls_key, 1, err,
	                            sizeof(err))) == NULL)
		fatalx("%s: %s", file, err);
	if ((c->c_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if ((c->c_ingest = ingest_new(c)) == NULL)
		fatalx("cannot listen for agents on %s", c->c_conf.cc_listen);
	if (http_start(c) == -1)
		fatalx("cannot serve HTTP on %s", c->c_conf.cc_http);
	sigs[0] =
	    evsignal_new(c->c_base, SIGTERM, collector_signal_cb, c->c_base);
	sigs[1] =
	    evsignal_new(c->c_base, SIGINT, collector_signal_cb, c->c_base);
	sigs[2] =
	    evsignal_new(c->c_base, SIGHUP, collector_signal_cb, c->c_base);
	for (i = 0; i < 3; i++)
		evsignal_add(sigs[i], NULL);
	log_info("collector %s: agents on %s (TLS), HTTP on %s",
	         COLLECTOR_VERSION, c->c_conf.cc_listen, c->c_conf.cc_http);
	event_base_dispatch(c->c_base);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	http_stop(c);
	ingest_free(c->c_ingest);
	SSL_CTX_free(c->c_ctx);
	event_base_free(c->c_base);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0}};
	const char *file = "/etc/watchstand/collector.yaml", *cmd = "run";
	struct collector c;
	int ch, verbose = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (optind != argc)
		usage();
	log_init("watchstand-collector", verbose);
	memset(&c, 0, sizeof(c));
	if (strcmp(cmd, "run") != 0 && strcmp(cmd, "migrate") != 0 &&
	    strcmp(cmd, "check-config") != 0) {
		fprintf(stderr, "watchstand-collector: unknown command '%s'\n",
		        cmd);
		usage();
	}
	if (collector_conf_load(file, &c.c_conf) == -1)
		return 1;
	if (strcmp(cmd, "check-config") == 0) {
		printf("%s: configuration OK\n", file);
		rc = 0;
	} else if (strcmp(cmd, "migrate") == 0)
		rc = migrate_run(c.c_conf.cc_database) == 0 ? 0 : 1;
	else
		rc = collector_run(&c, file);
	collector_conf_free(&c.c_conf);
	return rc;
}
