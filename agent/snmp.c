#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "watchstand/hostport.h"
#include "agent.h"
#include "snmp.h"

#define SNMPC_BULK_VARBINDS 60 /* per GETBULK response, over all columns */
#define SNMPC_MAX_COLUMNS 32

enum snmpc_phase { PH_IDLE, PH_DISCOVER, PH_GET, PH_BULK };

struct snmpc {
	struct event_base *s_base;
	const struct snmpc_conf *s_conf;
	void *s_sp;   /* the session for requests */
	void *s_disc; /* v3: the engine discovery session */
	void *s_active;
	struct event *s_read;
	struct event *s_timer;
	u_char s_engine[64];
	size_t s_engine_len;
	enum snmpc_phase s_phase;
	int s_report_retried;
	int s_reqid; /* the request in flight; late answers are ignored */
	/* the poll in progress */
	oid s_scalars[SNMPC_MAX_COLUMNS][MAX_OID_LEN];
	size_t s_scalar_lens[SNMPC_MAX_COLUMNS];
	size_t s_nscalars;
	oid s_roots[SNMPC_MAX_COLUMNS][MAX_OID_LEN];
	size_t s_root_lens[SNMPC_MAX_COLUMNS];
	oid s_cur[SNMPC_MAX_COLUMNS][MAX_OID_LEN];
	size_t s_cur_lens[SNMPC_MAX_COLUMNS];
	int s_col_done[SNMPC_MAX_COLUMNS];
	size_t s_ncolumns;
	struct snmpc_val *s_vals;
	size_t s_nvals, s_cap;
	snmpc_done_fn s_done;
	void *s_arg;
};

static int snmpc_initialised;

void
snmpc_library_hold(void)
{
	if (snmpc_initialised++)
		return;
	/* No MIB files on Debian, no config files, no persistent state:
	 * numeric OIDs and everything from our own config. */
	setenv("MIBS", "", 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	                       NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	                       NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	                       NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	                       NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS,
	                   0);
	init_snmp("watchstand-agent");
}

int
snmpc_parse_oid(const char *s, oid *out, size_t *len)
{
	size_t n = 0;
	char *end;

	if (*s == '.')
		s++;
	while (*s != '\0') {
		unsigned long v;
		if (*s < '0' || *s > '9' || n == MAX_OID_LEN)
			return -1;
		v = strtoul(s, &end, 10);
		if (v > 0xffffffffUL)
			return -1;
		out[n++] = (oid)v;
		s = end;
		if (*s == '.')
			s++;
		else if (*s != '\0')
			return -1;
	}
	*len = n;
	return n >= 2 ? 0 : -1;
}

static const struct {
	const char *name;
	const oid *proto;
	size_t len;
	int is_auth;
} snmpc_protos[] = {
    {"MD5", usmHMACMD5AuthProtocol, USM_AUTH_PROTO_MD5_LEN, 1},
    {"SHA", usmHMACSHA1AuthProtocol, USM_AUTH_PROTO_SHA_LEN, 1},
    {"SHA-256", usmHMAC192SHA256AuthProtocol,
     OID_LENGTH(usmHMAC192SHA256AuthProtocol), 1},
    {"SHA-512", usmHMAC384SHA512AuthProtocol,
     OID_LENGTH(usmHMAC384SHA512AuthProtocol), 1},
    {"DES", usmDESPrivProtocol, USM_PRIV_PROTO_DES_LEN, 0},
    {"AES", usmAESPrivProtocol, USM_PRIV_PROTO_AES_LEN, 0},
    {"AES-256", usmAES256PrivProtocol, OID_LENGTH(usmAES256PrivProtocol), 0},
};

const char *
snmpc_proto_name(const oid *proto, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(snmpc_protos) / sizeof(snmpc_protos[0]); i++)
		if (snmp_oid_compare(proto, len, snmpc_protos[i].proto,
		                     snmpc_protos[i].len) == 0)
			return snmpc_protos[i].name;
	return NULL;
}

/* auth: {protocol, password} or priv: {...}; 1 when given and valid. */
int
snmpc_security(struct yconf *yc, yaml_node_t *node, const char *path,
               const char *key, int is_auth, const oid **proto, size_t *len,
               char **pass)
{
	static const char *const keys[] = {"protocol", "password", NULL};
	yaml_node_t *m = yconf_get(yc, node, key);
	char sub[256], *name = NULL;
	size_t i;
	int found = 0;

	yconf_path(sub, sizeof(sub), path, key);
	if (m == NULL)
		return 0;
	if (!yconf_is_map(m)) {
		yconf_error(yc, m, "%s: expected {protocol, password}", sub);
		return -1;
	}
	yconf_check_keys(yc, m, sub, keys);
	if (yconf_str(yc, m, sub, "password", 1, pass) == 1 &&
	    strlen(*pass) < 8)
		yconf_error(yc, yconf_get(yc, m, "password"),
		            "%s.password: SNMPv3 needs at least 8 characters",
		            sub);
	if (yconf_str(yc, m, sub, "protocol", 1, &name) != 1)
		return -1;
	for (i = 0; i < sizeof(snmpc_protos) / sizeof(snmpc_protos[0]); i++)
		if (snmpc_protos[i].is_auth == is_auth &&
		    strcmp(snmpc_protos[i].name, name) == 0) {
			*proto = snmpc_protos[i].proto;
			*len = snmpc_protos[i].len;
			found = 1;
		}
	if (!found)
		yconf_error(yc, yconf_get(yc, m, "protocol"),
		            "%s.protocol: unknown '%s' (%s)", sub, name,
		            is_auth ? "MD5, SHA, SHA-256, SHA-512"
		                    : "DES, AES, AES-256");
	free(name);
	return found ? 1 : -1;
}

int
snmpc_configure(struct snmpc_conf *c, struct yconf *yc, yaml_node_t *node,
                const char *path)
{
	char *version = NULL;
	int errors = yc->yc_errors, auth, priv;

	memset(c, 0, sizeof(*c));
	c->sc_timeout_ms = 2000;
	c->sc_retries = 1;
	if (yconf_str(yc, node, path, "target", 1, &c->sc_target) == 1) {
		char host[256];
		int port;

		if (hostport_split(c->sc_target, host, sizeof(host), &port) ==
		        -1 ||
		    port < 1)
			yconf_error(yc, yconf_get(yc, node, "target"),
			            "%s.target: expected host:port, got '%s'",
			            path, c->sc_target);
	}
	yconf_duration(yc, node, path, "timeout", 0, &c->sc_timeout_ms);
	yconf_uint(yc, node, path, "retries", 0, 10, &c->sc_retries);
	c->sc_version = SNMP_VERSION_2c;
	if (yconf_str(yc, node, path, "version", 0, &version) == 1) {
		if (strcmp(version, "3") == 0)
			c->sc_version = SNMP_VERSION_3;
		else if (strcmp(version, "2c") != 0)
			yconf_error(yc, yconf_get(yc, node, "version"),
			            "%s.version: expected 2c or 3, got '%s'",
			            path, version);
	}
	free(version);
	if (c->sc_version == SNMP_VERSION_2c) {
		if (yconf_str(yc, node, path, "community", 0,
		              &c->sc_community) != 1)
			c->sc_community = xstrdup("public");
		return yc->yc_errors > errors ? -1 : 0;
	}
	yconf_str(yc, node, path, "user", 1, &c->sc_user);
	auth = snmpc_security(yc, node, path, "auth", 1, &c->sc_auth_proto,
	                      &c->sc_auth_len, &c->sc_auth_pass);
	priv = snmpc_security(yc, node, path, "priv", 0, &c->sc_priv_proto,
	                      &c->sc_priv_len, &c->sc_priv_pass);
	if (priv == 1 && auth != 1)
		yconf_error(yc, yconf_get(yc, node, "priv"),
		            "%s.priv: privacy needs auth as well", path);
	c->sc_level = priv == 1   ? SNMP_SEC_LEVEL_AUTHPRIV
	              : auth == 1 ? SNMP_SEC_LEVEL_AUTHNOPRIV
	                          : SNMP_SEC_LEVEL_NOAUTH;
	return yc->yc_errors > errors ? -1 : 0;
}

void
snmpc_conf_free(struct snmpc_conf *c)
{
	free(c->sc_target);
	free(c->sc_community);
	free(c->sc_user);
	free(c->sc_auth_pass);
	free(c->sc_priv_pass);
	memset(c, 0, sizeof(*c));
}

int
snmpc_decode(const netsnmp_variable_list *vb, struct snmpc_val *v)
{
	memset(v, 0, sizeof(*v));
	v->v_len =
	    vb->name_length < MAX_OID_LEN ? vb->name_length : MAX_OID_LEN;
	memcpy(v->v_name, vb->name, v->v_len * sizeof(oid));
	v->v_type = vb->type;
	switch (vb->type) {
	case ASN_INTEGER:
		if (vb->val_len < sizeof(long))
			return -1;
		v->v_i64 = *vb->val.integer;
		v->v_num = (double)v->v_i64;
		v->v_numeric = 1;
		return 0;
	case ASN_COUNTER:
	case ASN_GAUGE:
	case ASN_TIMETICKS:
	case ASN_UINTEGER:
		if (vb->val_len < sizeof(long))
			return -1;
		v->v_u64 = (uint32_t)*vb->val.integer;
		v->v_num = (double)v->v_u64;
		v->v_numeric = 1;
		return 0;
	case ASN_COUNTER64:
		if (vb->val_len < sizeof(struct counter64))
			return -1;
		v->v_u64 = (uint64_t)vb->val.counter64->high << 32 |
		           (uint32_t)vb->val.counter64->low;
		v->v_num = (double)v->v_u64;
		v->v_numeric = 1;
		return 0;
	case ASN_OCTET_STR: {
		size_t n = vb->val_len < sizeof(v->v_str) - 1
		               ? vb->val_len
		               : sizeof(v->v_str) - 1;
		memcpy(v->v_str, vb->val.string, n);
		v->v_str[n] = '\0';
		return 0;
	}
	case ASN_OBJECT_ID:
	case ASN_IPADDRESS:
	case ASN_NULL:
		return 0;
	default: /* noSuchObject, noSuchInstance, endOfMibView */
		return -1;
	}
}

static void snmpc_arm(struct snmpc *s);
static int snmpc_cb(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu,
                    void *magic);

static void
snmpc_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct snmpc *s = arg;
	fd_set fds;

	(void)what;
	if (s->s_active == NULL)
		return;
	FD_ZERO(&fds);
	FD_SET(fd, &fds);
	snmp_sess_read(s->s_active, &fds);
	snmpc_arm(s);
}

static void
snmpc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct snmpc *s = arg;

	(void)fd;
	(void)what;
	if (s->s_active == NULL)
		return;
	snmp_sess_timeout(s->s_active);
	snmpc_arm(s);
}

/* Watches the active session's socket and its next retransmission. */
static void
snmpc_arm(struct snmpc *s)
{
	struct timeval tv = {0, 0};
	int numfds = 0, block = 1;
	fd_set fds;
	netsnmp_transport *t;

	if (s->s_active == NULL)
		return;
	t = snmp_sess_transport(s->s_active);
	if (s->s_read == NULL || event_get_fd(s->s_read) != t->sock) {
		if (s->s_read != NULL)
			event_free(s->s_read);
		s->s_read = event_new(s->s_base, t->sock, EV_READ | EV_PERSIST,
		                      snmpc_read_cb, s);
		event_add(s->s_read, NULL);
	}
	FD_ZERO(&fds);
	snmp_sess_select_info(s->s_active, &numfds, &fds, &tv, &block);
	if (!block)
		evtimer_add(s->s_timer, &tv);
	else
		evtimer_del(s->s_timer);
}

static void
snmpc_finish(struct snmpc *s, int ok, const char *why)
{
	snmpc_done_fn done = s->s_done;

	s->s_phase = PH_IDLE;
	s->s_done = NULL;
	if (done != NULL)
		done(s->s_arg, ok, why, s->s_vals, s->s_nvals);
	/* A big table's values (about 1 KiB each) are not kept between
	 * polls: freed, the memory goes back to the system. */
	if (s->s_phase == PH_IDLE && s->s_cap > 64) {
		free(s->s_vals);
		s->s_vals = NULL;
		s->s_nvals = s->s_cap = 0;
	}
}

static void
snmpc_base_session(struct snmpc *s, netsnmp_session *sess)
{
	const struct snmpc_conf *c = s->s_conf;

	snmp_sess_init(sess);
	sess->peername = c->sc_target;
	sess->timeout = (long)c->sc_timeout_ms * 1000;
	sess->retries = (int)c->sc_retries;
	sess->callback = snmpc_cb;
	sess->callback_magic = s;
}

/* A USM key from a passphrase; both keys hash with the auth protocol. */
static int
snmpc_key(netsnmp_session *sess, const char *pass, u_char *key, size_t *len)
{
	return generate_Ku(sess->securityAuthProto, sess->securityAuthProtoLen,
	                   (u_char *)pass, strlen(pass), key,
	                   len) == SNMPERR_SUCCESS
	           ? 0
	           : -1;
}

static int
snmpc_open(struct snmpc *s, char *why, size_t len)
{
	const struct snmpc_conf *c = s->s_conf;
	netsnmp_session sess;

	snmpc_base_session(s, &sess);
	sess.version = c->sc_version;
	if (c->sc_version == SNMP_VERSION_2c) {
		sess.community = (u_char *)c->sc_community;
		sess.community_len = strlen(c->sc_community);
	} else {
		sess.securityName = c->sc_user;
		sess.securityNameLen = strlen(c->sc_user);
		sess.securityLevel = c->sc_level;
		sess.securityEngineID = s->s_engine;
		sess.securityEngineIDLen = s->s_engine_len;
		if (c->sc_auth_proto != NULL) {
			sess.securityAuthProto = (oid *)c->sc_auth_proto;
			sess.securityAuthProtoLen = c->sc_auth_len;
			sess.securityAuthKeyLen = USM_AUTH_KU_LEN;
			if (snmpc_key(&sess, c->sc_auth_pass,
			              sess.securityAuthKey,
			              &sess.securityAuthKeyLen) == -1) {
				snprintf(why, len,
				         "cannot derive the auth key");
				return -1;
			}
		}
		if (c->sc_priv_proto != NULL) {
			sess.securityPrivProto = (oid *)c->sc_priv_proto;
			sess.securityPrivProtoLen = c->sc_priv_len;
			sess.securityPrivKeyLen = USM_PRIV_KU_LEN;
			if (snmpc_key(&sess, c->sc_priv_pass,
			              sess.securityPrivKey,
			              &sess.securityPrivKeyLen) == -1) {
				snprintf(why, len,
				         "cannot derive the privacy key");
				return -1;
			}
		}
	}
	s->s_sp = snmp_sess_open(&sess);
	if (s->s_sp == NULL) {
		snprintf(why, len, "cannot open a session: %s",
		         snmp_api_errstring(snmp_errno));
		return -1;
	}
	return 0;
}

/* Sends the first request of a poll (GET, or the first GETBULK). */
static void snmpc_send_next(struct snmpc *s);

static void
snmpc_fail(struct snmpc *s, const char *why)
{
	snmpc_finish(s, 0, why);
}

static void
snmpc_send(struct snmpc *s, netsnmp_pdu *pdu)
{
	if ((s->s_reqid =
	         snmp_sess_async_send(s->s_active, pdu, snmpc_cb, s)) == 0) {
		int liberr, syserr;
		char *err = NULL, why[256];
		snmp_sess_error(s->s_active, &liberr, &syserr, &err);
		snprintf(why, sizeof(why), "send failed: %s",
		         err ? err : "unknown");
		free(err);
		snmp_free_pdu(pdu);
		snmpc_fail(s, why);
		return;
	}
	snmpc_arm(s);
}

static void
snmpc_discover(struct snmpc *s)
{
	netsnmp_session sess;
	netsnmp_pdu *pdu;

	snmpc_base_session(s, &sess);
	sess.version = SNMP_VERSION_3;
	sess.flags |= SNMP_FLAGS_DONT_PROBE;
	sess.securityLevel = SNMP_SEC_LEVEL_NOAUTH;
	sess.securityName = (char *)"";
	sess.securityNameLen = 0;
	if (s->s_disc == NULL && (s->s_disc = snmp_sess_open(&sess)) == NULL) {
		snmpc_fail(s, "cannot open a discovery session");
		return;
	}
	s->s_active = s->s_disc;
	s->s_phase = PH_DISCOVER;
	/* An empty GET from the empty user (RFC 3414 discovery): the reply
	 * is a Report that names the engine. */
	if (usm_get_user(NULL, 0, (char *)"") == NULL) {
		struct usmUser *u = usm_create_user();
		u->name = xstrdup("");
		u->secName = xstrdup("");
		u->authProtocolLen = OID_LENGTH(usmNoAuthProtocol);
		u->authProtocol =
		    snmp_duplicate_objid(usmNoAuthProtocol, u->authProtocolLen);
		u->privProtocolLen = OID_LENGTH(usmNoPrivProtocol);
		u->privProtocol =
		    snmp_duplicate_objid(usmNoPrivProtocol, u->privProtocolLen);
		usm_add_user(u);
	}
	pdu = snmp_pdu_create(SNMP_MSG_GET);
	pdu->version = SNMP_VERSION_3;
	pdu->securityName = xstrdup("");
	pdu->securityNameLen = 0;
	pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
	pdu->securityModel = SNMP_SEC_MODEL_USM;
	snmpc_send(s, pdu);
}

static void
snmpc_add_val(struct snmpc *s, const struct snmpc_val *v)
{
	if (s->s_nvals == s->s_cap) {
		s->s_cap = s->s_cap ? s->s_cap * 2 : 64;
		s->s_vals = xrealloc(s->s_vals, s->s_cap * sizeof(*s->s_vals));
	}
	s->s_vals[s->s_nvals++] = *v;
}

static size_t
snmpc_active_columns(struct snmpc *s, size_t *idx)
{
	size_t i, n = 0;

	for (i = 0; i < s->s_ncolumns; i++)
		if (!s->s_col_done[i])
			idx[n++] = i;
	return n;
}

static void
snmpc_send_next(struct snmpc *s)
{
	netsnmp_pdu *pdu;
	size_t idx[SNMPC_MAX_COLUMNS], n, i;

	if (s->s_phase == PH_GET) {
		pdu = snmp_pdu_create(SNMP_MSG_GET);
		for (i = 0; i < s->s_nscalars; i++)
			snmp_add_null_var(pdu, s->s_scalars[i],
			                  s->s_scalar_lens[i]);
		snmpc_send(s, pdu);
		return;
	}
	n = snmpc_active_columns(s, idx);
	if (n == 0) {
		snmpc_finish(s, 1, NULL);
		return;
	}
	pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
	pdu->non_repeaters = 0;
	pdu->max_repetitions =
	    SNMPC_BULK_VARBINDS / n ? SNMPC_BULK_VARBINDS / n : 1;
	for (i = 0; i < n; i++)
		snmp_add_null_var(pdu, s->s_cur[idx[i]], s->s_cur_lens[idx[i]]);
	snmpc_send(s, pdu);
}

/* A GETBULK answer: varbinds cycle through the columns asked for. */
static void
snmpc_bulk_answer(struct snmpc *s, netsnmp_pdu *pdu)
{
	size_t idx[SNMPC_MAX_COLUMNS], n = snmpc_active_columns(s, idx), k = 0;
	int stopped[SNMPC_MAX_COLUMNS] = {0};
	netsnmp_variable_list *vb;

	for (vb = pdu->variables; vb != NULL; vb = vb->next_variable, k++) {
		size_t c = idx[k % n];
		struct snmpc_val v;

		if (stopped[c])
			continue;
		/* Left the column, an exception, or not increasing: done. */
		if (vb->name_length <= s->s_root_lens[c] ||
		    snmp_oid_compare(vb->name, s->s_root_lens[c], s->s_roots[c],
		                     s->s_root_lens[c]) != 0 ||
		    snmp_oid_compare(vb->name, vb->name_length, s->s_cur[c],
		                     s->s_cur_lens[c]) <= 0 ||
		    snmpc_decode(vb, &v) == -1) {
			stopped[c] = 1;
			s->s_col_done[c] = 1;
			continue;
		}
		snmpc_add_val(s, &v);
		memcpy(s->s_cur[c], vb->name, vb->name_length * sizeof(oid));
		s->s_cur_lens[c] = vb->name_length;
	}
	if (k == 0) /* nothing came back: avoid asking forever */
		for (k = 0; k < n; k++)
			s->s_col_done[idx[k]] = 1;
}

static int
snmpc_cb(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu,
         void *magic)
{
	struct snmpc *s = magic;
	netsnmp_variable_list *vb;
	char why[256];

	(void)sess;
	if (s->s_phase == PH_IDLE || reqid != s->s_reqid)
		return 1;
	if (op == NETSNMP_CALLBACK_OP_TIMED_OUT) {
		snprintf(why, sizeof(why),
		         "no answer from %s (timeout %.1f s, %d retries)",
		         s->s_conf->sc_target,
		         s->s_conf->sc_timeout_ms / 1000.0,
		         (int)s->s_conf->sc_retries);
		snmpc_fail(s, why);
		return 1;
	}
	if (op == NETSNMP_CALLBACK_OP_RESEND)
		return 1; /* a retransmission: the answer may still come */
	/* The discovery Report comes back as a security "error". */
	if (s->s_phase == PH_DISCOVER && pdu != NULL &&
	    (op == NETSNMP_CALLBACK_OP_SEC_ERROR ||
	     op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE))
		op = NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE;
	if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE) {
		snprintf(why, sizeof(why), "request to %s failed (%s)",
		         s->s_conf->sc_target,
		         op == NETSNMP_CALLBACK_OP_SEC_ERROR
		             ? "SNMPv3 security error: check user, protocols "
		               "and passwords"
		             : "could not be sent");
		snmpc_fail(s, why);
		return 1;
	}
	if (s->s_phase == PH_DISCOVER) {
		const u_char *id = pdu->securityEngineID;
		size_t idlen = pdu->securityEngineIDLen;
		netsnmp_session *ds = snmp_sess_session(s->s_disc);
		if (idlen == 0 && ds != NULL) {
			id = ds->securityEngineID;
			idlen = ds->securityEngineIDLen;
		}
		if (idlen == 0 || idlen > sizeof(s->s_engine)) {
			snmpc_fail(s,
			           "SNMPv3 engine discovery got no engine ID");
			return 1;
		}
		memcpy(s->s_engine, id, idlen);
		s->s_engine_len = idlen;
		if (snmpc_open(s, why, sizeof(why)) == -1) {
			snmpc_fail(s, why);
			return 1;
		}
		s->s_active = s->s_sp;
		s->s_phase = s->s_nscalars > 0 ? PH_GET : PH_BULK;
		snmpc_send_next(s);
		return 1;
	}
	if (pdu->command == SNMP_MSG_REPORT && !s->s_report_retried) {
		/* Right after discovery the engine's clock (or the localised
		 * user) may not be in place yet: one more try. */
		s->s_report_retried = 1;
		snmpc_send_next(s);
		return 1;
	}
	if (pdu->command == SNMP_MSG_REPORT) {
		snprintf(why, sizeof(why), "SNMPv3 report: %s",
		         snmp_api_errstring(snmpv3_get_report_type(pdu)));
		snmpc_fail(s, why);
		return 1;
	}
	if (pdu->errstat != SNMP_ERR_NOERROR) {
		snprintf(why, sizeof(why), "SNMP error: %s (index %ld)",
		         snmp_errstring(pdu->errstat), pdu->errindex);
		snmpc_fail(s, why);
		return 1;
	}
	if (s->s_phase == PH_GET) {
		for (vb = pdu->variables; vb != NULL; vb = vb->next_variable) {
			struct snmpc_val v;
			if (snmpc_decode(vb, &v) == 0)
				snmpc_add_val(s, &v);
		}
		s->s_phase = PH_BULK;
	} else
		snmpc_bulk_answer(s, pdu);
	snmpc_send_next(s);
	return 1;
}

struct snmpc *
snmpc_new(struct event_base *base, const struct snmpc_conf *c)
{
	struct snmpc *s = xcalloc(1, sizeof(*s));

	snmpc_library_hold();
	s->s_base = base;
	s->s_conf = c;
	s->s_timer = evtimer_new(base, snmpc_timer_cb, s);
	return s;
}

void
snmpc_free(struct snmpc *s)
{
	if (s == NULL)
		return;
	/* Closing reports outstanding requests as timed out: not to us. */
	s->s_phase = PH_IDLE;
	s->s_done = NULL;
	if (s->s_read != NULL)
		event_free(s->s_read);
	event_free(s->s_timer);
	if (s->s_sp != NULL)
		snmp_sess_close(s->s_sp);
	if (s->s_disc != NULL)
		snmp_sess_close(s->s_disc);
	free(s->s_vals);
	free(s);
	snmpc_library_release();
}

void
snmpc_library_release(void)
{
	if (--snmpc_initialised == 0)
		snmp_shutdown("watchstand-agent");
}

int
snmpc_busy(struct snmpc *s)
{
	return s->s_phase != PH_IDLE;
}

int
snmpc_poll(struct snmpc *s, const oid (*scalars)[MAX_OID_LEN],
           const size_t *scalar_lens, size_t nscalars,
           const oid (*columns)[MAX_OID_LEN], const size_t *column_lens,
           size_t ncolumns, snmpc_done_fn done, void *arg)
{
	char why[256];
	size_t i;

	if (s->s_phase != PH_IDLE)
		return -1;
	if (nscalars > SNMPC_MAX_COLUMNS || ncolumns > SNMPC_MAX_COLUMNS)
		return -1;
	s->s_done = done;
	s->s_arg = arg;
	s->s_nvals = 0;
	s->s_report_retried = 0;
	s->s_nscalars = nscalars;
	s->s_ncolumns = ncolumns;
	for (i = 0; i < nscalars; i++) {
		memcpy(s->s_scalars[i], scalars[i],
		       scalar_lens[i] * sizeof(oid));
		s->s_scalar_lens[i] = scalar_lens[i];
	}
	for (i = 0; i < ncolumns; i++) {
		memcpy(s->s_roots[i], columns[i], column_lens[i] * sizeof(oid));
		memcpy(s->s_cur[i], columns[i], column_lens[i] * sizeof(oid));
		s->s_root_lens[i] = s->s_cur_lens[i] = column_lens[i];
		s->s_col_done[i] = 0;
	}
	s->s_phase = nscalars > 0 ? PH_GET : PH_BULK;
	if (s->s_sp == NULL) {
		if (s->s_conf->sc_version == SNMP_VERSION_3) {
			snmpc_discover(s);
			return 0;
		}
		if (snmpc_open(s, why, sizeof(why)) == -1) {
			snmpc_fail(s, why);
			return 0;
		}
	}
	s->s_active = s->s_sp;
	snmpc_send_next(s);
	return 0;
}

void
snmpc_report(struct probe *p, int *failing, int ok, const char *why)
{
	probe_sample(p, NULL, "up", ok);
	if (ok) {
		if (*failing)
			log_info("probe %s: answering again", p->pr_name);
		*failing = 0;
	} else if (!(*failing)++)
		log_warnx("probe %s: %s", p->pr_name, why);
}

void
snmpc_instance(const char *in, char *out, size_t len)
{
	size_t i;

	snprintf(out, len, "%s", in);
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] <= 0x20 ||
		    (unsigned char)out[i] >= 0x7f || out[i] == '\\')
			out[i] = '_';
}

oid
snmpc_row(const struct snmpc_val *v, size_t column_len)
{
	return v->v_len > column_len ? v->v_name[column_len] : 0;
}

/* Appends to buf as snprintf would, keeping *off at most len - 1. */
static void
snmpc_put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*off += (size_t)n < len - *off ? (size_t)n : len - *off - 1;
}

static void
snmpc_put_oid(char *buf, size_t len, size_t *off, const oid *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		snmpc_put(buf, len, off, i ? ".%lu" : "%lu", (unsigned long)o[i]);
}

size_t
snmpc_render(const netsnmp_variable_list *vars, char *buf, size_t len)
{
	const netsnmp_variable_list *vb;
	size_t off = 0, i;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	for (vb = vars; vb != NULL; vb = vb->next_variable) {
		if (vb != vars)
			snmpc_put(buf, len, &off, "; ");
		snmpc_put_oid(buf, len, &off, vb->name,
		              vb->name_length < MAX_OID_LEN ? vb->name_length
		                                            : MAX_OID_LEN);
		snmpc_put(buf, len, &off, " = ");
		switch (vb->type) {
		case ASN_INTEGER:
			if (vb->val_len >= sizeof(long) && vb->val.integer)
				snmpc_put(buf, len, &off, "%ld",
				          *vb->val.integer);
			break;
		case ASN_COUNTER:
		case ASN_GAUGE:
		case ASN_TIMETICKS:
		case ASN_UINTEGER:
			if (vb->val_len >= sizeof(long) && vb->val.integer)
				snmpc_put(buf, len, &off, "%lu",
				          (unsigned long)(uint32_t)*vb->val.integer);
			break;
		case ASN_COUNTER64:
			if (vb->val_len >= sizeof(struct counter64) &&
			    vb->val.counter64)
				snmpc_put(
				    buf, len, &off, "%llu",
				    (unsigned long long)vb->val.counter64->high
				            << 32 |
				        (uint32_t)vb->val.counter64->low);
			break;
		case ASN_OCTET_STR:
			/* Quoted; bytes outside printable ASCII as \xNN. */
			snmpc_put(buf, len, &off, "\"");
			for (i = 0; i < vb->val_len && vb->val.string; i++) {
				u_char c = vb->val.string[i];
				if (c >= 0x20 && c < 0x7f && c != '"' &&
				    c != '\\')
					snmpc_put(buf, len, &off, "%c", c);
				else
					snmpc_put(buf, len, &off, "\\x%02x", c);
			}
			snmpc_put(buf, len, &off, "\"");
			break;
		case ASN_OBJECT_ID:
			if (vb->val.objid)
				snmpc_put_oid(buf, len, &off, vb->val.objid,
				              vb->val_len / sizeof(oid) <
				                      MAX_OID_LEN
				                  ? vb->val_len / sizeof(oid)
				                  : MAX_OID_LEN);
			break;
		case ASN_IPADDRESS:
			if (vb->val_len == 4 && vb->val.string)
				snmpc_put(buf, len, &off, "%u.%u.%u.%u",
				          vb->val.string[0], vb->val.string[1],
				          vb->val.string[2], vb->val.string[3]);
			break;
		case ASN_NULL:
			snmpc_put(buf, len, &off, "null");
			break;
		default:
			snmpc_put(buf, len, &off, "(type 0x%02x)", vb->type);
		}
	}
	return off;
}
