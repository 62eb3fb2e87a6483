#include <stdlib.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "events.h"

struct event_sub {
	struct event_sub *es_next;
	unsigned es_mask;
	event_fn es_fn;
	void *es_arg;
	int es_gone; /* unsubscribed while a message was being delivered */
};

struct events {
	struct event_sub *ev_subs;
	int ev_depth; /* deliveries under way: unlink only at depth 0 */
};

struct events *
events_new(void)
{
	return xcalloc(1, sizeof(struct events));
}

void
events_free(struct events *ev)
{
	struct event_sub *s;

	if (ev == NULL)
		return;
	while ((s = ev->ev_subs) != NULL) {
		ev->ev_subs = s->es_next;
		free(s);
	}
	free(ev);
}

void
events_subscribe(struct events *ev, unsigned mask, event_fn fn, void *arg)
{
	struct event_sub *s = xcalloc(1, sizeof(*s)), **sp;

	s->es_mask = mask;
	s->es_fn = fn;
	s->es_arg = arg;
	for (sp = &ev->ev_subs; *sp != NULL; sp = &(*sp)->es_next)
		;
	*sp = s;
}

static void
events_reap(struct events *ev)
{
	struct event_sub **sp = &ev->ev_subs, *s;

	while ((s = *sp) != NULL) {
		if (s->es_gone) {
			*sp = s->es_next;
			free(s);
		} else
			sp = &s->es_next;
	}
}

void
events_unsubscribe(struct events *ev, event_fn fn, void *arg)
{
	struct event_sub *s;

	if (ev == NULL)
		return;
	for (s = ev->ev_subs; s != NULL; s = s->es_next)
		if (s->es_fn == fn && s->es_arg == arg)
			s->es_gone = 1;
	if (ev->ev_depth == 0)
		events_reap(ev);
}

void
events_publish(struct events *ev, const struct event_msg *m)
{
	struct event_sub *s;

	if (ev == NULL)
		return;
	/* A subscriber may publish in turn, or unsubscribe. */
	ev->ev_depth++;
	for (s = ev->ev_subs; s != NULL; s = s->es_next)
		if (!s->es_gone && (s->es_mask & EVENT_MASK(m->em_kind)))
			s->es_fn(s->es_arg, m);
	if (--ev->ev_depth == 0)
		events_reap(ev);
}

void
events_log_written(struct events *ev)
{
	struct event_msg m = {.em_kind = EVENT_LOG_WRITTEN};

	events_publish(ev, &m);
}
