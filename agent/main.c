/* watchstand-agent: probes on timers, streamed to a collector over TLS. */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "watchstand/log.h"
#include "watchstand/tls.h"
#include "watchstand/version.h"
#include "action.h"
#include "agent.h"
#include "child.h"
#include "spool.h"
#include "uplink.h"

static void
usage_print(FILE *fp)
{
	fprintf(fp, "usage: watchstand-agent [-v] [--check] [-c agent.yaml]\n"
	            "  -c, --config FILE   the config (default "
	            "/etc/watchstand/agent.yaml)\n"
	            "  -n, --check         read and check the config, then "
	            "exit\n"
	            "  -v, --verbose       debug messages in the log\n"
	            "  -h, --help          this text\n"
	            "  -V, --version       the version\n"
	            "SIGHUP reloads the config; SIGTERM stops.\n");
}

static void
usage(void)
{
	usage_print(stderr);
	exit(2);
}

/* What the signals work on. */
struct agent_run {
	struct event_base *ar_base;
	struct agent_conf *ar_conf;
	const char *ar_file;
	struct uplink *ar_up;
};

static void
agent_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct agent_run *ar = arg;
	char msg[1100];

	(void)what;
	if (sig == SIGCHLD) {
		child_reap();
		return;
	}
	if (sig == SIGHUP) {
		if (agent_reload(ar->ar_conf, ar->ar_file, ar->ar_base,
		                 ar->ar_up, msg, sizeof(msg)) == 0)
			log_info("SIGHUP: config reloaded: %s", msg);
		else
			log_warnx("SIGHUP: config reload refused, the running "
			          "config stays: %s",
			          msg);
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(ar->ar_base, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"check", no_argument, NULL, 'n'},
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	const char *file = "/etc/watchstand/agent.yaml";
	struct agent_conf conf;
	struct event_base *base;
	struct event *sigs[4];
	struct spool *sp;
	struct uplink *up;
	struct agent_run ar;
	struct action_runner *runner;
	SSL_CTX *ctx;
	char err[512];
	int ch, check = 0, verbose = 0;
	size_t i;

	while ((ch = getopt_long(argc, argv, "c:nvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage_print(stdout);
			return 0;
		case 'V':
			printf("watchstand-agent %s\n", WATCHSTAND_VERSION);
			return 0;
		case 'c':
			file = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("watchstand-agent", verbose);
	if (agent_conf_load(file, &conf) == -1)
		return 1;
	if (check) {
		printf("%s: configuration OK (%zu probes, %zu actions)\n", file,
		       conf.ac_nprobes, conf.ac_nactions);
		agent_conf_free(&conf);
		return 0;
	}
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	/* A fixed threshold: big short-lived buffers (an SNMP table's values)
	 * are mapped and unmapped, going back to the system between polls,
	 * instead of glibc raising the threshold and keeping them in the heap. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	signal(SIGPIPE, SIG_IGN);
	if ((ctx = tls_ctx_new(conf.ac_tls_ca, conf.ac_tls_cert,
	                       conf.ac_tls_key, 0, err, sizeof(err))) == NULL)
		fatalx("%s: %s", file, err);
	if ((sp = spool_open(conf.ac_spool_dir, conf.ac_spool_max_size,
	                     conf.ac_spool_max_age_ms * 1000)) == NULL)
		fatalx("spool %s unusable", conf.ac_spool_dir);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	up = uplink_new(base, &conf, sp, ctx);
	runner = action_runner_new(base, &conf, uplink_action_result, up);
	uplink_set_action_handler(up, action_request_cb, runner);
	for (i = 0; i < conf.ac_nprobes; i++)
		if (probe_start(conf.ac_probes[i], base, up) == -1)
			fatalx("probe %s: cannot start",
			       conf.ac_probes[i]->pr_name);
	ar = (struct agent_run){base, &conf, file, up};
	sigs[0] = evsignal_new(base, SIGTERM, agent_signal_cb, &ar);
	sigs[1] = evsignal_new(base, SIGINT, agent_signal_cb, &ar);
	sigs[2] = evsignal_new(base, SIGHUP, agent_signal_cb, &ar);
	sigs[3] = evsignal_new(base, SIGCHLD, agent_signal_cb, &ar);
	for (i = 0; i < 4; i++)
		evsignal_add(sigs[i], NULL);
	log_info("agent %s (%s) started: %zu probes, %zu actions, collectors "
	         "%s%s",
	         conf.ac_name, conf.ac_role, conf.ac_nprobes, conf.ac_nactions,
	         conf.ac_collectors[0], conf.ac_ncollectors > 1 ? " ..." : "");
	uplink_start(up);
	event_base_dispatch(base);
	/* What was measured but not yet sealed goes to the spool. */
	uplink_flush(up);
	for (i = 0; i < 4; i++)
		event_free(sigs[i]);
	for (i = 0; i < conf.ac_nprobes; i++) {
		probe_free(conf.ac_probes[i]);
		conf.ac_probes[i] = NULL;
	}
	conf.ac_nprobes = 0;
	action_runner_free(runner);
	uplink_free(up);
	spool_close(sp);
	agent_conf_free(&conf);
	SSL_CTX_free(ctx);
	event_base_free(base);
	return 0;
}
