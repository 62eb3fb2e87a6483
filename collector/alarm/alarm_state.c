#include <stddef.h>
#include <string.h>

#include "alarm/alarm_state.h"

static const char *const alarm_state_names[ALARM_STATES] = {
    "active-unacknowledged",
    "active-acknowledged",
    "cleared-unacknowledged",
    "suppressed",
    "shelved",
    "out-of-service",
    "closed",
};

const char *
alarm_state_name(enum alarm_state s)
{
	if ((int)s < 0 || s >= ALARM_STATES)
		return NULL;
	return alarm_state_names[s];
}

enum alarm_state
alarm_state_parse(const char *s)
{
	int i;

	for (i = 0; s != NULL && i < ALARM_STATES; i++)
		if (strcmp(s, alarm_state_names[i]) == 0)
			return (enum alarm_state)i;
	return ALARM_ST_REFUSED;
}

enum alarm_state
alarm_state_next(enum alarm_state s, enum alarm_event e,
                 const struct alarm_facts *f)
{
	static const struct alarm_facts none = {0, ALARM_ST_REFUSED, 0, 0};

	if (f == NULL)
		f = &none;
	if ((int)s < 0 || s >= ALARM_STATES)
		return ALARM_ST_REFUSED;
	switch (e) {
	case ALARM_EV_RAISE:
		/* Held back or acknowledged: it stays so. Cleared and not
		 * yet acknowledged: the same alarm again (ISA-18.2). */
		if (s == ALARM_ST_ACTIVE_ACKED || s == ALARM_ST_SHELVED ||
		    s == ALARM_ST_OUT_OF_SERVICE)
			return s;
		if (f->af_host_out)
			return ALARM_ST_OUT_OF_SERVICE;
		return f->af_suppressed ? ALARM_ST_SUPPRESSED
		                        : ALARM_ST_ACTIVE_UNACKED;
	case ALARM_EV_CHANGE:
		return s == ALARM_ST_CLOSED ? ALARM_ST_REFUSED : s;
	case ALARM_EV_CLEAR:
		if (s == ALARM_ST_CLOSED)
			return ALARM_ST_REFUSED;
		return f->af_acked || s == ALARM_ST_ACTIVE_ACKED
		           ? ALARM_ST_CLOSED
		           : ALARM_ST_CLEARED_UNACKED;
	case ALARM_EV_ACK:
		if (s == ALARM_ST_ACTIVE_UNACKED)
			return ALARM_ST_ACTIVE_ACKED;
		if (s == ALARM_ST_CLEARED_UNACKED)
			return ALARM_ST_CLOSED;
		return ALARM_ST_REFUSED;
	case ALARM_EV_SHELVE:
		if (s == ALARM_ST_ACTIVE_UNACKED ||
		    s == ALARM_ST_ACTIVE_ACKED || s == ALARM_ST_CLEARED_UNACKED)
			return ALARM_ST_SHELVED;
		return ALARM_ST_REFUSED;
	case ALARM_EV_UNSHELVE:
		if (s != ALARM_ST_SHELVED)
			return ALARM_ST_REFUSED;
		/* Back to where it was shelved from. */
		return (int)f->af_shelved_from < 0 ||
		               f->af_shelved_from >= ALARM_STATES
		           ? ALARM_ST_ACTIVE_UNACKED
		           : f->af_shelved_from;
	case ALARM_EV_OUT_OF_SERVICE:
		return s == ALARM_ST_CLOSED ? s : ALARM_ST_OUT_OF_SERVICE;
	case ALARM_EV_IN_SERVICE:
		/* Closed: fresh samples raise again what still holds. */
		return s == ALARM_ST_OUT_OF_SERVICE ? ALARM_ST_CLOSED : s;
	case ALARM_EV_HOST_SILENT:
		return s == ALARM_ST_ACTIVE_UNACKED ||
		               s == ALARM_ST_ACTIVE_ACKED
		           ? ALARM_ST_SUPPRESSED
		           : s;
	case ALARM_EV_HOST_BACK:
		return s == ALARM_ST_SUPPRESSED ? ALARM_ST_CLOSED : s;
	case ALARM_EVENTS:
		break;
	}
	return ALARM_ST_REFUSED;
}
