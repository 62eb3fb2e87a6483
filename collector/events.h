/*
 * The collector's in-process bus. Producers say what happened (a shift log
 * entry, an alarm's transition); whoever cares subscribes: the event
 * stream of the API, the notifier, later a peer collector. Producers
 * include only this header, so no wing reaches up into another to tell it.
 * Delivery is synchronous, on the event loop, in the order of subscription.
 */
#ifndef WATCHSTAND_EVENTS_H
#define WATCHSTAND_EVENTS_H

#include <stdint.h>

enum event_kind {
	/* Shift log entries were written or queued (by any statement): the
	 * log's feed (duty/shiftlog_feed.h) reads them back. No fields. */
	EVENT_LOG_WRITTEN,
	EVENT_LOG,            /* one entry, as the database has it */
	EVENT_ALARM_RAISED,   /* raised or changed severity; its row exists */
	EVENT_ALARM_CLEARED,  /* its condition no longer holds */
	EVENT_ALARM_RETURNED, /* back from shelving (by hand or by time) */
	EVENT_SHIFT,          /* a shift began: em_text is its name */
	EVENT_KINDS
};

#define EVENT_MASK(k) (1u << (k))

struct event_msg {
	enum event_kind em_kind;
	/* EVENT_LOG: the row of v_shift_log, in its text form */
	int64_t em_log_id;
	const char *em_ts;
	const char *em_shift_id; /* NULL: outside any shift */
	const char *em_log_kind; /* alarm, phase, agent, note, event, ... */
	const char *em_actor;
	const char *em_text;
	/* EVENT_ALARM_* */
	int64_t em_alarm_id;
	const char *em_rule;
	const char *em_host;
	const char *em_role;
	int em_severity;
	double em_value;
};

typedef void (*event_fn)(void *arg, const struct event_msg *m);

struct events;

struct events *events_new(void);
void events_free(struct events *ev);
/* fn hears every message whose kind is in mask (EVENT_MASK bits). */
void events_subscribe(struct events *ev, unsigned mask, event_fn fn,
                      void *arg);
void events_unsubscribe(struct events *ev, event_fn fn, void *arg);
void events_publish(struct events *ev, const struct event_msg *m);
/* EVENT_LOG_WRITTEN: whoever writes to the shift log says so after
 * queueing the statement; what was written reaches EVENT_LOG from the
 * database, so every entry is heard once, with its id, time and text as
 * GET /log has them, whichever statement wrote it. */
void events_log_written(struct events *ev);

#endif
