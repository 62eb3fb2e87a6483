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
	EVENT_LOG,            /* a shift log entry was written (or queued) */
	EVENT_ALARM_RAISED,   /* raised or changed severity; its row exists */
	EVENT_ALARM_CLEARED,  /* its condition no longer holds */
	EVENT_ALARM_RETURNED, /* back from shelving (by hand or by time) */
	EVENT_SHIFT,          /* a shift began: em_text is its name */
	EVENT_KINDS
};

#define EVENT_MASK(k) (1u << (k))

struct event_msg {
	enum event_kind em_kind;
	/* EVENT_LOG */
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
/* EVENT_LOG in one call. */
void events_log(struct events *ev, const char *kind, const char *actor,
                const char *text);

#endif
