/*
 * The ISA-18.2 states of an alarm and what each event does to them, as
 * one pure function: the table the alarm wing's SQL is built from (the
 * states an ack, a shelve, an unshelve applies to, and where an ack
 * leads) and that tests/unit/test_alarm_states.c checks cell by cell.
 */
#ifndef WATCHSTAND_ALARM_STATE_H
#define WATCHSTAND_ALARM_STATE_H

enum alarm_state {
	ALARM_ST_REFUSED = -1, /* the event does not apply in that state */
	ALARM_ST_ACTIVE_UNACKED,
	ALARM_ST_ACTIVE_ACKED,
	ALARM_ST_CLEARED_UNACKED,
	ALARM_ST_SUPPRESSED,
	ALARM_ST_SHELVED,
	ALARM_ST_OUT_OF_SERVICE,
	ALARM_ST_CLOSED, /* also: no open alarm for its rule, host, series */
	ALARM_STATES
};

enum alarm_event {
	ALARM_EV_RAISE,  /* the condition holds (again) */
	ALARM_EV_CHANGE, /* another level: severity, value */
	ALARM_EV_CLEAR,  /* the condition no longer holds */
	ALARM_EV_ACK,
	ALARM_EV_SHELVE,
	ALARM_EV_UNSHELVE,       /* by hand or when the time is over */
	ALARM_EV_OUT_OF_SERVICE, /* its host, by hand */
	ALARM_EV_IN_SERVICE,  /* its host, by hand or when the time is over */
	ALARM_EV_HOST_SILENT, /* its host's agent fell silent */
	ALARM_EV_HOST_BACK,   /* and is back */
	ALARM_EVENTS
};

/* What else than the state an event's outcome depends on. */
struct alarm_facts {
	int af_acked;                     /* acknowledged before (acked_at) */
	enum alarm_state af_shelved_from; /* for UNSHELVE */
	int af_suppressed; /* RAISE: by the phase, or the host is silent */
	int af_host_out;   /* RAISE: the host is out of service */
};

/* The state after e, ALARM_ST_REFUSED when e does not apply to one alarm
 * in state s (409). Host-wide events (OUT_OF_SERVICE, IN_SERVICE,
 * HOST_SILENT, HOST_BACK) leave the alarms they do not concern as they
 * are. f may be NULL (no facts). */
enum alarm_state alarm_state_next(enum alarm_state s, enum alarm_event e,
                                  const struct alarm_facts *f);
/* "active-unacknowledged", ...; parse gives ALARM_ST_REFUSED when s is
 * no state. */
const char *alarm_state_name(enum alarm_state s);
enum alarm_state alarm_state_parse(const char *s);

#endif
