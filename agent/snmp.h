/*
 * Asynchronous SNMP (v2c and v3) on the agent's event loop, through
 * net-snmp's single-session API: the session's socket is watched by a
 * libevent event and its retransmission timer by an evtimer, so a dead or
 * slow device never blocks anything. v3 engine discovery is done the same
 * way, asynchronously, before the first request.
 */
#ifndef WATCHSTAND_SNMP_H
#define WATCHSTAND_SNMP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "watchstand/yconf.h"

struct snmpc_conf {
	char *sc_target; /* host:port, UDP */
	long sc_version; /* SNMP_VERSION_2c or SNMP_VERSION_3 */
	char *sc_community;
	char *sc_user;
	int sc_level; /* SNMP_SEC_LEVEL_* */
	const oid *sc_auth_proto;
	size_t sc_auth_len;
	char *sc_auth_pass;
	const oid *sc_priv_proto;
	size_t sc_priv_len;
	char *sc_priv_pass;
	uint64_t sc_timeout_ms;
	uint64_t sc_retries;
};

/* The keys every SNMP probe takes; snmpc_configure reads them. */
#define SNMPC_KEYS                                                             \
	"target", "version", "community", "user", "auth", "priv", "timeout",   \
	    "retries"
int snmpc_configure(struct snmpc_conf *c, struct yconf *yc, yaml_node_t *node,
                    const char *path);
void snmpc_conf_free(struct snmpc_conf *c);

/* net-snmp set up for the agent (no MIBs, no config or state files); held
 * by every session and the trap listener, shut down after the last. */
void snmpc_library_hold(void);
void snmpc_library_release(void);
/* auth: / priv: of a config mapping, as snmpc_configure reads them. */
int snmpc_security(struct yconf *yc, yaml_node_t *node, const char *path,
                   const char *key, int is_auth, const oid **proto,
                   size_t *len, char **pass);
/* The config's (and net-snmp's) name of an auth or priv protocol. */
const char *snmpc_proto_name(const oid *proto, size_t len);
/*
 * Varbinds as one line of text: "OID = value; ..." with numeric OIDs,
 * strings quoted (bytes outside printable ASCII as \xNN), cut to fit.
 * Returns the length written.
 */
size_t snmpc_render(const netsnmp_variable_list *vars, char *buf, size_t len);

/* A numeric OID in text ("1.3.6.1.2.1.1.3.0"), parsed without MIBs. */
int snmpc_parse_oid(const char *s, oid *out, size_t *len);

/* One value of a poll. */
struct snmpc_val {
	oid v_name[MAX_OID_LEN];
	size_t v_len;
	u_char v_type;   /* ASN_* */
	uint64_t v_u64;  /* counters, gauges, timeticks, unsigned */
	int64_t v_i64;   /* INTEGER */
	char v_str[128]; /* OCTET STRING, NUL-terminated, cut */
	int v_numeric;
	double v_num; /* any numeric type as a double */
};

/* Decodes one varbind; -1 for exceptions (noSuchObject, endOfMibView). */
int snmpc_decode(const netsnmp_variable_list *vb, struct snmpc_val *out);

struct snmpc;

/* ok = 0 with a reason; vals are valid only during the call. */
typedef void (*snmpc_done_fn)(void *arg, int ok, const char *why,
                              const struct snmpc_val *vals, size_t nvals);

struct snmpc *snmpc_new(struct event_base *base, const struct snmpc_conf *c);
void snmpc_free(struct snmpc *s);
/* Whether a poll is still running (then a new one is refused). */
int snmpc_busy(struct snmpc *s);
/*
 * One poll: a GET of the scalars, then the columns walked together with
 * GETBULK. Returns -1 if a poll is still running.
 */
int snmpc_poll(struct snmpc *s, const oid (*scalars)[MAX_OID_LEN],
               const size_t *scalar_lens, size_t nscalars,
               const oid (*columns)[MAX_OID_LEN], const size_t *column_lens,
               size_t ncolumns, snmpc_done_fn done, void *arg);

struct probe;
/* After a poll: <probe>.up, and the reason logged once per failure streak. */
void snmpc_report(struct probe *p, int *failing, int ok, const char *why);
/* An SNMP string as a series instance: unusual characters become '_'. */
void snmpc_instance(const char *in, char *out, size_t len);
/* Index of a table row: the sub-identifier after the column. */
oid snmpc_row(const struct snmpc_val *v, size_t column_len);

#endif
