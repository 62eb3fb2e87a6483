/*
 * Notifications: routes pick the alarms, escalation steps say who is paged
 * on which channel and when, and the notifier delivers: one page per alarm,
 * step, recipient and channel, grouped in a flood, rate limited into a
 * digest, retried with backoff. Every step, page, message and attempt is a
 * row in PostgreSQL first, so a restart loses and repeats nothing.
 */
#ifndef WATCHSTAND_NOTIFY_H
#define WATCHSTAND_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "watchstand/yconf.h"

enum channel_type {
	CH_WEBHOOK,
	CH_SMS,
	CH_WECOM,
	CH_DINGTALK,
	CH_FEISHU,
	CH_SLACK,
	CH_SMTP,
};

struct notify_channel {
	char *ch_name;
	enum channel_type ch_type;
	char *ch_url;
	char *ch_method;   /* webhook, sms */
	char **ch_headers; /* "Name: value" */
	char *ch_body;     /* template; NULL: the channel's default */
	char *ch_secret;   /* dingtalk, feishu signing */
	uint64_t ch_max_length;
	char *ch_from; /* smtp */
	char **ch_to;  /* addresses used when a step names nobody */
	char *ch_username;
	char *ch_password;
	int ch_starttls;
	char *ch_ca;
	uint64_t ch_timeout_ms;
	uint64_t ch_group_wait_ms;
	uint64_t ch_rate_count;
	uint64_t ch_rate_per_ms;
};

struct notify_step {
	uint64_t ns_after_ms;
	char **ns_channels;
	char **ns_to; /* logins, role:NAME, +phone, mail@address */
	int ns_unacked;
};

enum sev_cmp {
	SEVCMP_ANY,
	SEVCMP_GE,
	SEVCMP_GT,
	SEVCMP_EQ,
	SEVCMP_LE,
	SEVCMP_LT
};

struct notify_route {
	char *nr_name;
	enum sev_cmp nr_sev_cmp;
	int nr_severity;
	char **nr_phases; /* NULL: any */
	char *nr_role;    /* globs; NULL: any */
	char *nr_host;
	char *nr_rule;
	struct notify_step *nr_steps;
	size_t nr_nsteps;
	uint64_t nr_repeat_ms;
	int nr_send_clear;
	int nr_continue;
};

struct notify_conf {
	char *nc_secret_file;
	uint64_t nc_ack_ttl_ms;
	uint64_t nc_group_wait_ms;
	uint64_t nc_rate_count;
	uint64_t nc_rate_per_ms;
	uint64_t nc_retry_first_ms;
	uint64_t nc_retry_max_ms;
	uint64_t nc_retry_deadline_ms;
	struct notify_channel *nc_channels;
	size_t nc_nchannels;
	struct notify_route *nc_routes;
	size_t nc_nroutes;
};

/* notify_conf.c */
void notify_conf_defaults(struct notify_conf *nc);
void notify_configure(struct notify_conf *nc, struct yconf *yc,
                      yaml_node_t *node, const char *file,
                      int (*phase_known)(void *, const char *), void *arg);
void notify_conf_free(struct notify_conf *nc);
/* A phone number or mail address written in `to:` as
 * {recipient, phone, email}; NULL when it names a user or role. */
json_t *notify_recipient_literal(const char *to);
const struct notify_channel *notify_channel_find(const struct notify_conf *nc,
                                                 const char *name);
/* 1 when the route takes an alarm of this severity, phase, role, host
 * and rule. */
int notify_route_matches(const struct notify_route *r, int severity,
                         const char *phase, const char *role, const char *host,
                         const char *rule);

/* notify.c: the notifier, run by the collector that leads. */
struct collector;
struct evbuffer;
struct notifier;

/* What routing needs of an alarm; pages read the rest from its row. */
struct notify_alarm {
	int64_t na_id;
	const char *na_rule;
	const char *na_host;
	const char *na_role;
	int na_severity;
	int na_rearm; /* back from shelving: cancelled steps wait again */
};

struct notifier *notifier_new(struct collector *c);
void notifier_free(struct notifier *n);
/* An alarm was raised or changed severity (its row is written). */
void notify_alarm(struct notifier *n, const struct notify_alarm *a);
/* An alarm came back from shelving: paged if still active and not
 * acknowledged, its cancelled steps counted from now. */
void notify_alarm_returned(struct notifier *n, int64_t alarm_id);
/* An alarm cleared: routes with send_clear tell whoever was paged. */
void notify_alarm_cleared(struct notifier *n, int64_t alarm_id, double value);
void notifier_metrics(struct notifier *n, struct evbuffer *out);
/* notify-test CHANNEL [--to RECIPIENT]: blocking, for the command line. */
int notify_test(const char *conf_file, const struct collector *c,
                const char *channel, const char *to);

#endif
