/* The collector: ingest over TLS, async PostgreSQL writes, HTTP. */
#ifndef WATCHSTAND_COLLECTOR_H
#define WATCHSTAND_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "notify/acklink.h"
#include "alarm/calendar.h"
#include "notify/notify.h"
#include "alarm/rules.h"
#include "duty/checklist_conf.h"
#include "duty/shifts.h"
#include "duty/throttle.h"

#include "version.h"
#include "ingest/stats.h"
/* collector.state_dir unless told: systemd's StateDirectory=watchstand */
#define COLLECTOR_STATE_DIR "/var/lib/watchstand"

struct collector_conf {
	char *cc_listen;
	char *cc_http;
	char *cc_database;
	char *cc_tls_ca;
	char *cc_tls_cert;
	char *cc_tls_key;
	char *cc_http_tls_cert; /* set: the HTTP listener speaks HTTPS */
	char *cc_http_tls_key;
	int cc_allow_plain_http; /* plain HTTP on more than loopback */
	char *cc_public_url;
	char *cc_link_url; /* links in pages; default cc_public_url */
	char *cc_peer_ca; /* CA of the other collector's HTTPS, beside the
	                     system's: for forwarded API writes */
	int cc_public_url_default; /* from cc_http: phones may not reach it */
	char *cc_state_dir; /* the shift log's anchor, the ack-link key */
	int cc_allow_owner; /* run as the schema owner or a superuser */
	uint64_t cc_retention_ms;
	uint64_t cc_agent_silence_ms;
	uint64_t cc_max_shelve_ms;
	uint64_t cc_handover_timeout_ms;  /* unaccepted handover: an alarm */
	uint64_t cc_ack_target_ms[SEV_N]; /* 0: no target for the severity */
	uint64_t cc_http_max_conns;       /* open at once; more are closed */
	uint64_t cc_http_request_ms; /* a whole request must arrive by then */
	/* collector.login: failed logins per login and per address */
	struct throttle_conf cc_login_throttle;
	struct throttle_conf cc_addr_throttle;
	struct calendar cc_calendar;
	struct rules_conf cc_rules;
	struct notify_conf cc_notify;
	struct checklists_conf cc_checklists;
	struct shifts_conf cc_shifts;
};

struct store;
struct ingest;
struct relay;
struct rules_engine;
struct alarms;
struct checklists;

struct collector {
	struct event_base *c_base;
	struct collector_conf c_conf;
	SSL_CTX *c_ctx;
	struct store *c_store;
	struct ingest *c_ingest;
	struct evhttp *c_http;
	struct collector_stats c_stats;
	const char *c_phase; /* the calendar's phase now */
	/* A new leader reads the last logged phase before it logs one
	 * (collector_phase_resume in main.c). */
	int c_phase_resuming;
	struct rules_engine *c_rules;
	struct alarms *c_alarms;
	struct checklists *c_checklists;
	struct shiftclock *c_shiftclock; /* duty/shiftclock.h */
	struct event *c_rules_timer;
	struct event *c_phase_timer;
	struct notifier *c_notifier; /* made when this collector first leads */
	struct lead *c_lead;         /* lead.h: leader or follower */
	struct relay *c_relay;       /* relay.h: actions across the pair */
	char c_holder[320];          /* host/pid: who leads, in the database */
	struct events *c_events; /* the bus: log entries, alarm transitions */
	struct shiftlog_feed *c_log_feed; /* duty/shiftlog_feed.h */
	const char *c_file;         /* the config file, read again on reload */
	const char *c_database_arg; /* --database: kept over a reload */
	char *c_console_dir; /* --console: served instead of the built-in */
	/* collector_reload (reload.h), set by main: web/ calls it without
	 * including the top level. */
	int (*c_reload)(struct collector *c, const char *file,
	                const char *actor, char *msg, size_t len);
	unsigned char c_ack_key[ACKLINK_KEY_MAX];
	size_t c_ack_keylen;
};

/* config.c */
int collector_conf_load(const char *file, struct collector_conf *conf);
/* The same; with err, the first error (and how many more) goes there
 * and no "not starting" line is printed. */
int collector_conf_read(const char *file, struct collector_conf *conf,
                        char *err, size_t errlen);
void collector_conf_free(struct collector_conf *conf);

/* http.c */
int http_start(struct collector *c);
void http_stop(struct collector *c);
struct evhttp_request;
/* Replies with a JSON document (taken: it is released). */
void http_reply_json(struct evhttp_request *req, int code, json_t *body);

#endif
