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
#include "notify/notify_types.h"

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

/* What a reload changes: routes and channels by name. */
struct notify_diff {
	unsigned nd_routes_added, nd_routes_removed, nd_routes_changed;
	unsigned nd_channels_added, nd_channels_removed, nd_channels_changed;
	int nd_settings_changed; /* ack_ttl, group_wait, rate, retry */
};
void notify_conf_diff(const struct notify_conf *from,
                      const struct notify_conf *to, struct notify_diff *d);

/* notify.c: the notifier, run by the collector that leads. */
struct event_base;
struct events;
struct evbuffer;
struct store;
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

/* Everything the notifier works with, owned by main. */
struct notifier_deps {
	struct event_base *nd_base;
	struct store *nd_store;
	struct events *nd_events;
	const struct notify_conf *nd_conf;
	const char *const *nd_phase; /* the calendar's phase, kept by main */
	const char *nd_public_url;   /* the base of ack links */
	const unsigned char *nd_ack_key;
	size_t nd_ack_keylen;
	/* The current shift's people (lead == 0) or its lead (lead == 1),
	 * as logins appended to the JSON array out: `on-duty` and `lead`
	 * in a route. NULL: nobody is rostered. Asked at sending time. */
	void (*nd_roster)(void *arg, int lead, json_t *out);
	void *nd_roster_arg;
	/* 1 when this collector may page now (it leads, lead.h); NULL:
	 * always. Asked before each step and each message is sent. */
	int (*nd_may_act)(void *arg);
	void *nd_may_act_arg;
};

/* NULL when no channel is configured. */
struct notifier *notifier_new(const struct notifier_deps *d);
void notifier_free(struct notifier *n);
/* This collector now leads: waiting steps, unsent pages and pending
 * messages are read back, those already in hand skipped. */
void notifier_takeover(struct notifier *n);
/* A config reload: routes, channels and settings from nc from now on;
 * waiting steps, messages and held pages carry on where they still can.
 * The old conf may be freed after this returns. */
void notifier_reconfigure(struct notifier *n, const struct notify_conf *nc,
                          const char *public_url);
/* An alarm was raised or changed severity (its row is written). */
void notify_alarm(struct notifier *n, const struct notify_alarm *a);
/* An alarm came back from shelving: paged if still active and not
 * acknowledged, its cancelled steps counted from now. */
void notify_alarm_returned(struct notifier *n, int64_t alarm_id);
/* An alarm cleared: routes with send_clear tell whoever was paged. */
void notify_alarm_cleared(struct notifier *n, int64_t alarm_id, double value);
void notifier_metrics(struct notifier *n, struct evbuffer *out);
/* notify-test CHANNEL [--to RECIPIENT]: blocking, for the command line. */
int notify_test(const char *conf_file, const struct notify_conf *nc,
                const char *database, const char *channel, const char *to);

#endif
