/*
 * snmp_trap probe: listens for SNMP v2c and v3 traps (and informs, which it
 * answers) with net-snmp's own message handling, and turns each into a key
 * event (its varbinds as text, numeric OIDs) and, for configured trap OIDs,
 * into samples, so rules and pages work on traps as on polls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "watchstand/clock.h"
#include "watchstand/hostport.h"
#include "watchstand/log.h"
#include "watchstand/proto.h"
#include "watchstand/xalloc.h"
#include "agent.h"
#include "snmp.h"

#define TRAP_USERS_MAX 32
#define TRAP_SAMPLES_MAX 32

/* A USM user, as net-snmp's createUser line: the sender's engine ID. */
struct trap_user {
	char *tu_name;
	char *tu_line;
	int tu_level; /* the least security level accepted from this user */
};

/* A trap OID that becomes <probe>[.<instance>].<series> = value. */
struct trap_sample {
	oid ts_trap[MAX_OID_LEN];
	size_t ts_trap_len;
	char *ts_series;
	double ts_value;
	oid ts_inst[MAX_OID_LEN]; /* varbind whose value names the instance */
	size_t ts_inst_len;
};

struct trap_state {
	char *tr_listen;
	char *tr_community; /* v2c: NULL takes any */
	struct trap_user tr_users[TRAP_USERS_MAX];
	size_t tr_nusers;
	struct trap_sample tr_samples[TRAP_SAMPLES_MAX];
	size_t tr_nsamples;
	void *tr_sess;
	struct event *tr_read;
	int tr_held; /* holds the net-snmp library */
	int tr_failing;
	uint64_t tr_received, tr_rejected;
};

static const char *const probe_snmp_trap_keys[] = {"listen", "community",
                                                   "users", "samples", NULL};

static const oid trap_oid_vb[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};

static int
trap_hex_ok(const char *s)
{
	size_t n;

	if (strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0)
		s += 2;
	n = strspn(s, "0123456789abcdefABCDEF");
	return s[n] == '\0' && n >= 10 && n <= 64 && n % 2 == 0;
}

/* A password goes in a createUser line in double quotes. */
static int
trap_pass_ok(const char *s)
{
	return s == NULL || strpbrk(s, "\"\\\n") == NULL;
}

static void
trap_configure_user(struct trap_state *st, struct yconf *yc, yaml_node_t *n,
                    const char *path)
{
	static const char *const keys[] = {"user", "engine_id", "auth", "priv",
	                                   NULL};
	struct trap_user *u = &st->tr_users[st->tr_nusers];
	const oid *ap = NULL, *pp = NULL;
	size_t al = 0, pl = 0;
	char *engine = NULL, *apass = NULL, *ppass = NULL, line[1024];
	int auth, priv;

	if (!yconf_is_map(n)) {
		yconf_error(yc, n, "%s: expected {user, engine_id, auth, priv}",
		            path);
		return;
	}
	yconf_check_keys(yc, n, path, keys);
	yconf_str(yc, n, path, "user", 1, &u->tu_name);
	if (yconf_str(yc, n, path, "engine_id", 1, &engine) == 1 &&
	    !trap_hex_ok(engine))
		yconf_error(yc, yconf_get(yc, n, "engine_id"),
		            "%s.engine_id: expected the sender's engine ID in "
		            "hex (5 to 32 bytes), got '%s'",
		            path, engine);
	auth = snmpc_security(yc, n, path, "auth", 1, &ap, &al, &apass);
	priv = snmpc_security(yc, n, path, "priv", 0, &pp, &pl, &ppass);
	if (priv == 1 && auth != 1)
		yconf_error(yc, yconf_get(yc, n, "priv"),
		            "%s.priv: privacy needs auth as well", path);
	if (!trap_pass_ok(apass) || !trap_pass_ok(ppass))
		yconf_error(yc, n,
		            "%s: a password must not hold '\"', '\\' or a "
		            "line break",
		            path);
	if (u->tu_name != NULL && strpbrk(u->tu_name, " \t\"\\") != NULL)
		yconf_error(yc, yconf_get(yc, n, "user"),
		            "%s.user: no spaces, quotes or backslashes", path);
	if (u->tu_name != NULL && engine != NULL) {
		int off = snprintf(line, sizeof(line), "-e %s%s %s",
		                   strncmp(engine, "0x", 2) == 0 ? "" : "0x",
		                   engine, u->tu_name);
		if (auth == 1)
			off += snprintf(line + off, sizeof(line) - off,
			                " %s \"%s\"", snmpc_proto_name(ap, al),
			                apass);
		if (priv == 1)
			snprintf(line + off, sizeof(line) - off, " %s \"%s\"",
			         snmpc_proto_name(pp, pl), ppass);
		u->tu_line = xstrdup(line);
		explicit_bzero(line, sizeof(line));
	}
	u->tu_level = priv == 1   ? SNMP_SEC_LEVEL_AUTHPRIV
	              : auth == 1 ? SNMP_SEC_LEVEL_AUTHNOPRIV
	                          : SNMP_SEC_LEVEL_NOAUTH;
	st->tr_nusers++;
	free(engine);
	if (apass != NULL)
		explicit_bzero(apass, strlen(apass));
	if (ppass != NULL)
		explicit_bzero(ppass, strlen(ppass));
	free(apass);
	free(ppass);
}

static void
trap_configure_sample(struct trap_state *st, struct yconf *yc, yaml_node_t *n,
                      const char *path)
{
	static const char *const keys[] = {"trap", "series", "value",
	                                   "instance", NULL};
	struct trap_sample *t = &st->tr_samples[st->tr_nsamples];
	char *o = NULL, *value = NULL;

	if (!yconf_is_map(n)) {
		yconf_error(yc, n, "%s: expected {trap, series, value, instance}",
		            path);
		return;
	}
	yconf_check_keys(yc, n, path, keys);
	if (yconf_str(yc, n, path, "trap", 1, &o) == 1 &&
	    snmpc_parse_oid(o, t->ts_trap, &t->ts_trap_len) == -1)
		yconf_error(yc, yconf_get(yc, n, "trap"),
		            "%s.trap: expected a numeric OID such as "
		            "1.3.6.1.6.3.1.1.5.3, got '%s'",
		            path, o);
	free(o);
	o = NULL;
	if (yconf_str(yc, n, path, "series", 1, &t->ts_series) == 1 &&
	    !proto_series_valid(t->ts_series, strlen(t->ts_series)))
		yconf_error(yc, yconf_get(yc, n, "series"),
		            "%s.series: use letters, digits and - _ . only",
		            path);
	t->ts_value = 1;
	if (yconf_str(yc, n, path, "value", 0, &value) == 1) {
		char *end;
		t->ts_value = strtod(value, &end);
		if (end == value || *end != '\0')
			yconf_error(yc, yconf_get(yc, n, "value"),
			            "%s.value: expected a number, got '%s'",
			            path, value);
	}
	free(value);
	if (yconf_str(yc, n, path, "instance", 0, &o) == 1 &&
	    snmpc_parse_oid(o, t->ts_inst, &t->ts_inst_len) == -1)
		yconf_error(yc, yconf_get(yc, n, "instance"),
		            "%s.instance: expected the numeric OID of a "
		            "varbind, such as 1.3.6.1.2.1.2.2.1.1 (ifIndex)",
		            path);
	free(o);
	st->tr_nsamples++;
}

/* A list under key, each item read by fn; at most max. */
static void
trap_configure_list(struct trap_state *st, struct yconf *yc, yaml_node_t *node,
                    const char *path, const char *key, size_t max,
                    void (*fn)(struct trap_state *, struct yconf *,
                               yaml_node_t *, const char *))
{
	yaml_node_t *l = yconf_get(yc, node, key);
	yaml_node_item_t *it;
	char lpath[256], ipath[300];

	yconf_path(lpath, sizeof(lpath), path, key);
	if (l == NULL)
		return;
	if (!yconf_is_seq(l)) {
		yconf_error(yc, l, "%s: expected a list", lpath);
		return;
	}
	for (it = l->data.sequence.items.start; it < l->data.sequence.items.top;
	     it++) {
		size_t i = it - l->data.sequence.items.start;
		if (i == max) {
			yconf_error(yc, l, "%s: at most %zu", lpath, max);
			break;
		}
		snprintf(ipath, sizeof(ipath), "%s[%zu]", lpath, i);
		fn(st, yc, yconf_node(yc, *it), ipath);
	}
}

static int
probe_snmp_trap_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                          const char *path)
{
	struct trap_state *st = xcalloc(1, sizeof(*st));

	p->pr_state = st;
	if (yconf_str(yc, node, path, "listen", 0, &st->tr_listen) == 1) {
		char host[256];
		int port;
		if (hostport_split(st->tr_listen, host, sizeof(host), &port) ==
		        -1 ||
		    port < 1)
			yconf_error(yc, yconf_get(yc, node, "listen"),
			            "%s.listen: expected address:port such as "
			            "0.0.0.0:162, got '%s'",
			            path, st->tr_listen);
	} else
		st->tr_listen = xstrdup("0.0.0.0:162");
	yconf_str(yc, node, path, "community", 0, &st->tr_community);
	trap_configure_list(st, yc, node, path, "users", TRAP_USERS_MAX,
	                    trap_configure_user);
	trap_configure_list(st, yc, node, path, "samples", TRAP_SAMPLES_MAX,
	                    trap_configure_sample);
	return 0;
}

/* The sender's address from net-snmp's "UDP: [a]:p->[b]:q". */
static void
trap_sender(void *handle, netsnmp_pdu *pdu, char *buf, size_t len)
{
	netsnmp_transport *t = snmp_sess_transport(handle);
	char *s = NULL, *a, *b;

	snprintf(buf, len, "?");
	if (t != NULL && t->f_fmtaddr != NULL)
		s = t->f_fmtaddr(t, pdu->transport_data,
		                 pdu->transport_data_length);
	if (s != NULL && (a = strchr(s, '[')) != NULL &&
	    (b = strchr(a, ']')) != NULL) {
		*b = '\0';
		snprintf(buf, len, "%s", a + 1);
	}
	free(s);
}

static const struct trap_user *
trap_find_user(struct trap_state *st, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < st->tr_nusers; i++)
		if (st->tr_users[i].tu_name != NULL &&
		    strlen(st->tr_users[i].tu_name) == len &&
		    memcmp(st->tr_users[i].tu_name, name, len) == 0)
			return &st->tr_users[i];
	return NULL;
}

/* Whom the trap is from is checked here: community, user, level. */
static int
trap_accept(struct trap_state *st, netsnmp_pdu *pdu)
{
	const struct trap_user *u;

	if (pdu->command != SNMP_MSG_TRAP2 && pdu->command != SNMP_MSG_INFORM)
		return 0; /* v1 traps and anything else */
	if (pdu->version == SNMP_VERSION_2c)
		return st->tr_community == NULL ||
		       (pdu->community_len == strlen(st->tr_community) &&
		        memcmp(pdu->community, st->tr_community,
		               pdu->community_len) == 0);
	if (pdu->version != SNMP_VERSION_3 || pdu->securityName == NULL)
		return 0;
	u = trap_find_user(st, pdu->securityName, pdu->securityNameLen);
	return u != NULL && pdu->securityLevel >= u->tu_level;
}

/* The instance of a sample: the value of the varbind under ts_inst. */
static int
trap_instance(const struct trap_sample *t, netsnmp_pdu *pdu, char *buf,
              size_t len)
{
	netsnmp_variable_list *vb;
	struct snmpc_val v;

	for (vb = pdu->variables; vb != NULL; vb = vb->next_variable) {
		if (vb->name_length < t->ts_inst_len ||
		    snmp_oid_compare(vb->name, t->ts_inst_len, t->ts_inst,
		                     t->ts_inst_len) != 0 ||
		    snmpc_decode(vb, &v) == -1)
			continue;
		if (v.v_type == ASN_INTEGER)
			snprintf(buf, len, "%lld", (long long)v.v_i64);
		else if (v.v_numeric)
			snprintf(buf, len, "%llu", (unsigned long long)v.v_u64);
		else
			snmpc_instance(v.v_str, buf, len);
		return buf[0] != '\0';
	}
	return 0;
}

static void
trap_emit(struct probe *p, netsnmp_pdu *pdu)
{
	struct trap_state *st = p->pr_state;
	netsnmp_variable_list *vb, *trap = NULL;
	char from[128], text[PROTO_EVENT_MAX + 1], inst[64], trapname[512];
	const char *name;
	struct timespec ts;
	size_t off = 0, i;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	p->pr_now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	p->pr_mono_s = clock_mono_s();
	for (vb = pdu->variables; vb != NULL; vb = vb->next_variable)
		if (snmp_oid_compare(vb->name, vb->name_length, trap_oid_vb,
		                     OID_LENGTH(trap_oid_vb)) == 0 &&
		    vb->type == ASN_OBJECT_ID)
			trap = vb;
	trapname[0] = '\0';
	if (trap != NULL) {
		netsnmp_variable_list one = *trap;
		one.next_variable = NULL;
		snmpc_render(&one, trapname, sizeof(trapname));
	}
	trap_sender(st->tr_sess, pdu, from, sizeof(from));
	name = strstr(trapname, " = ");
	n = snprintf(text, sizeof(text), "trap %s from %s (%s): ",
	             name != NULL ? name + 3 : "?", from,
	             pdu->version == SNMP_VERSION_3 ? "v3" : "v2c");
	off = n > 0 && (size_t)n < sizeof(text) ? (size_t)n : 0;
	snmpc_render(pdu->variables, text + off, sizeof(text) - off);
	probe_event(p, text);
	if (trap == NULL)
		return;
	for (i = 0; i < st->tr_nsamples; i++) {
		const struct trap_sample *t = &st->tr_samples[i];
		if (snmp_oid_compare(trap->val.objid,
		                     trap->val_len / sizeof(oid), t->ts_trap,
		                     t->ts_trap_len) != 0)
			continue;
		probe_sample(p,
		             t->ts_inst_len > 0 &&
		                     trap_instance(t, pdu, inst, sizeof(inst))
		                 ? inst
		                 : NULL,
		             t->ts_series, t->ts_value);
	}
}

static int
trap_cb(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu,
        void *magic)
{
	struct probe *p = magic;
	struct trap_state *st = p->pr_state;

	(void)reqid;
	(void)sess;
	if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE)
		return 1;
	if (!trap_accept(st, pdu)) {
		st->tr_rejected++;
		return 1;
	}
	st->tr_received++;
	if (pdu->command == SNMP_MSG_INFORM) {
		/* An inform is acknowledged with the same varbinds. */
		netsnmp_pdu *r = snmp_clone_pdu(pdu);
		if (r != NULL) {
			r->command = SNMP_MSG_RESPONSE;
			r->errstat = 0;
			r->errindex = 0;
			if (snmp_sess_send(st->tr_sess, r) == 0)
				snmp_free_pdu(r);
		}
	}
	trap_emit(p, pdu);
	return 1;
}

static void
trap_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct trap_state *st = arg;
	fd_set fds;

	(void)what;
	FD_ZERO(&fds);
	FD_SET(fd, &fds);
	snmp_sess_read(st->tr_sess, &fds);
}

/* Binds the listening socket; 0, or -1 with the reason logged once. */
static int
trap_open(struct probe *p, struct trap_state *st)
{
	netsnmp_transport *t;
	netsnmp_session sess;
	char spec[300], host[256];
	int port = 0;
	size_t i;

	if (!st->tr_held) {
		snmpc_library_hold();
		st->tr_held = 1;
		/* net-snmp keeps USM users globally, until its shutdown. */
		for (i = 0; i < st->tr_nusers; i++) {
			char *line = xstrdup(st->tr_users[i].tu_line);
			usm_parse_create_usmUser("createUser", line);
			explicit_bzero(line, strlen(line));
			free(line);
		}
	}
	hostport_split(st->tr_listen, host, sizeof(host), &port);
	snprintf(spec, sizeof(spec), strchr(host, ':') ? "udp6:[%s]:%d"
	                                               : "udp:%s:%d",
	         host, port);
	if ((t = netsnmp_transport_open_server("snmptrap", spec)) == NULL) {
		if (!st->tr_failing++)
			log_warnx("probe %s: cannot listen for traps on %s "
			          "(port below 1024: the agent needs "
			          "CAP_NET_BIND_SERVICE)",
			          p->pr_name, st->tr_listen);
		return -1;
	}
	snmp_sess_init(&sess);
	sess.peername = SNMP_DEFAULT_PEERNAME;
	sess.version = SNMP_DEFAULT_VERSION;
	sess.community_len = SNMP_DEFAULT_COMMUNITY_LEN;
	sess.retries = SNMP_DEFAULT_RETRIES;
	sess.timeout = SNMP_DEFAULT_TIMEOUT;
	sess.callback = trap_cb;
	sess.callback_magic = p;
	sess.isAuthoritative = SNMP_SESS_UNKNOWNAUTH;
	if ((st->tr_sess = snmp_sess_add(&sess, t, NULL, NULL)) == NULL) {
		if (!st->tr_failing++)
			log_warnx("probe %s: cannot set up the trap session",
			          p->pr_name);
		return -1;
	}
	st->tr_read = event_new(p->pr_base, t->sock, EV_READ | EV_PERSIST,
	                        trap_read_cb, st);
	event_add(st->tr_read, NULL);
	if (st->tr_failing)
		log_info("probe %s: listening for traps on %s", p->pr_name,
		         st->tr_listen);
	st->tr_failing = 0;
	return 0;
}

/* On the timer: listen if not yet, and report the counts. */
static void
probe_snmp_trap_run(struct probe *p)
{
	struct trap_state *st = p->pr_state;

	if (st->tr_sess == NULL)
		trap_open(p, st);
	probe_sample(p, NULL, "listening", st->tr_sess != NULL);
	probe_sample(p, NULL, "traps", (double)st->tr_received);
	probe_sample(p, NULL, "rejected", (double)st->tr_rejected);
}

static void
probe_snmp_trap_free(struct probe *p)
{
	struct trap_state *st = p->pr_state;
	size_t i;

	if (st == NULL)
		return;
	if (st->tr_read != NULL)
		event_free(st->tr_read);
	if (st->tr_sess != NULL)
		snmp_sess_close(st->tr_sess);
	if (st->tr_held)
		snmpc_library_release();
	for (i = 0; i < st->tr_nusers; i++) {
		free(st->tr_users[i].tu_name);
		if (st->tr_users[i].tu_line != NULL)
			explicit_bzero(st->tr_users[i].tu_line,
			               strlen(st->tr_users[i].tu_line));
		free(st->tr_users[i].tu_line);
	}
	for (i = 0; i < st->tr_nsamples; i++)
		free(st->tr_samples[i].ts_series);
	free(st->tr_listen);
	free(st->tr_community);
	free(st);
}

const struct probe_type probe_type_snmp_trap = {
    .pt_name = "snmp_trap",
    .pt_keys = probe_snmp_trap_keys,
    .pt_configure = probe_snmp_trap_configure,
    .pt_run = probe_snmp_trap_run,
    .pt_free = probe_snmp_trap_free,
};
