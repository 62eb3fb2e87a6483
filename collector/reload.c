/* Reloading collector.yaml in place: check all, then swap at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "collector.h"
#include "lead.h"
#include "reload.h"
#include "duty/dayreport.h"
#include "duty/shiftclock.h"
#include "duty/checklists.h"
#include "alarm/alarm.h"
#include "duty/shiftlog.h"
#include "ingest/ingest.h"
#include "ingest/store.h"

static int
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
same_throttle(const struct throttle_conf *a, const struct throttle_conf *b)
{
	return a->tc_max_failures == b->tc_max_failures &&
	       a->tc_window_ms == b->tc_window_ms &&
	       a->tc_backoff_ms == b->tc_backoff_ms &&
	       a->tc_max_backoff_ms == b->tc_max_backoff_ms &&
	       a->tc_max_entries == b->tc_max_entries;
}

static void
add_name(char *buf, size_t len, size_t *off, const char *name)
{
	int n;

	if (*off >= len)
		return;
	n = snprintf(buf + *off, len - *off, "%s%s", *off ? ", " : "", name);
	if (n > 0)
		*off += (size_t)n;
}

int
reload_fixed_keys(const struct collector_conf *a,
                  const struct collector_conf *b, int keep_database, char *buf,
                  size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (!same_str(a->cc_listen, b->cc_listen))
		add_name(buf, len, &off, "collector.listen");
	if (!same_str(a->cc_http, b->cc_http))
		add_name(buf, len, &off, "collector.http");
	if (!keep_database && !same_str(a->cc_database, b->cc_database))
		add_name(buf, len, &off, "collector.database");
	if (!same_str(a->cc_tls_ca, b->cc_tls_ca) ||
	    !same_str(a->cc_tls_cert, b->cc_tls_cert) ||
	    !same_str(a->cc_tls_key, b->cc_tls_key))
		add_name(buf, len, &off, "collector.tls");
	if (!same_str(a->cc_http_tls_cert, b->cc_http_tls_cert) ||
	    !same_str(a->cc_http_tls_key, b->cc_http_tls_key))
		add_name(buf, len, &off, "collector.http_tls");
	if (a->cc_allow_plain_http != b->cc_allow_plain_http)
		add_name(buf, len, &off, "collector.allow_plain_http");
	if (!same_str(a->cc_state_dir, b->cc_state_dir))
		add_name(buf, len, &off, "collector.state_dir");
	if (a->cc_allow_owner != b->cc_allow_owner)
		add_name(buf, len, &off, "collector.allow_owner");
	if (a->cc_http_max_conns != b->cc_http_max_conns)
		add_name(buf, len, &off, "collector.http_max_connections");
	if (a->cc_http_request_ms != b->cc_http_request_ms)
		add_name(buf, len, &off, "collector.http_request_timeout");
	if (!same_throttle(&a->cc_login_throttle, &b->cc_login_throttle) ||
	    !same_throttle(&a->cc_addr_throttle, &b->cc_addr_throttle))
		add_name(buf, len, &off, "collector.login");
	/* The ack-link key is read at start; links sent must stay valid. */
	if (!same_str(a->cc_notify.nc_secret_file, b->cc_notify.nc_secret_file))
		add_name(buf, len, &off, "notify.secret_file");
	return off > 0 ? -1 : 0;
}

/* "rules +2 -1 ~3" or "rules unchanged". */
static void
counts(char *buf, size_t len, size_t *off, const char *what, unsigned added,
       unsigned removed, unsigned changed)
{
	int n;

	if (*off >= len)
		return;
	if (added + removed + changed == 0)
		n = snprintf(buf + *off, len - *off, "%s%s unchanged",
		             *off ? ", " : "", what);
	else
		n = snprintf(buf + *off, len - *off, "%s%s%s%.0u%s%.0u%s%.0u",
		             *off ? ", " : "", what, added ? " +" : "", added,
		             removed ? " -" : "", removed, changed ? " ~" : "",
		             changed);
	if (n > 0)
		*off += (size_t)n;
}

void
reload_summary(const struct collector_conf *a, const struct collector_conf *b,
               char *buf, size_t len)
{
	struct rules_diff rd;
	struct notify_diff nd;
	char keys[256];
	size_t off = 0, koff = 0;

	buf[0] = '\0';
	keys[0] = '\0';
	rules_diff(&a->cc_rules, &b->cc_rules, &rd);
	notify_conf_diff(&a->cc_notify, &b->cc_notify, &nd);
	counts(buf, len, &off, "rules", rd.rd_added, rd.rd_removed,
	       rd.rd_changed);
	if (off < len)
		off += (size_t)snprintf(
		    buf + off, len - off, ", calendar %s",
		    calendar_same(&a->cc_calendar, &b->cc_calendar)
		        ? "unchanged"
		        : "changed");
	counts(buf, len, &off, "notify routes", nd.nd_routes_added,
	       nd.nd_routes_removed, nd.nd_routes_changed);
	counts(buf, len, &off, "channels", nd.nd_channels_added,
	       nd.nd_channels_removed, nd.nd_channels_changed);
	if (nd.nd_settings_changed && off < len)
		off += (size_t)snprintf(buf + off, len - off,
		                        ", notify settings changed");
	if (a->cc_rules.rc_chatter_count != b->cc_rules.rc_chatter_count ||
	    a->cc_rules.rc_chatter_window != b->cc_rules.rc_chatter_window)
		add_name(keys, sizeof(keys), &koff, "chatter");
	if (a->cc_retention_ms != b->cc_retention_ms)
		add_name(keys, sizeof(keys), &koff, "retention");
	if (a->cc_agent_silence_ms != b->cc_agent_silence_ms)
		add_name(keys, sizeof(keys), &koff, "agent_silence");
	if (a->cc_max_shelve_ms != b->cc_max_shelve_ms)
		add_name(keys, sizeof(keys), &koff, "max_shelve");
	if (!same_str(a->cc_public_url, b->cc_public_url))
		add_name(keys, sizeof(keys), &koff, "public_url");
	if (!same_str(a->cc_link_url, b->cc_link_url))
		add_name(keys, sizeof(keys), &koff, "link_url");
	if (koff > 0 && off < len)
		snprintf(buf + off, len - off, ", collector: %s", keys);
}

static void
swap_str(char **a, char **b)
{
	char *t = *a;

	*a = *b;
	*b = t;
}

/* The notifier, wired to the rest: made by the first takeover, or by a
 * reload that brings notify: to a leader without one. */
struct notifier *
collector_notifier_new(struct collector *c)
{
	return notifier_new(&(struct notifier_deps){
	    .nd_base = c->c_base,
	    .nd_store = c->c_store,
	    .nd_events = c->c_events,
	    .nd_conf = &c->c_conf.cc_notify,
	    .nd_phase = &c->c_phase,
	    .nd_public_url = c->c_conf.cc_link_url,
	    .nd_ack_key = c->c_ack_key,
	    .nd_ack_keylen = c->c_ack_keylen,
	    .nd_roster = shiftclock_roster,
	    .nd_roster_arg = c->c_shiftclock,
	    .nd_may_act = lead_may_act,
	    .nd_may_act_arg = c->c_lead,
	});
}

int
collector_reload(struct collector *c, const char *file, const char *actor,
                 char *msg, size_t len)
{
	struct collector_conf next, old;
	char err[1024], summary[512], fixed[512], text[700];
	const char *phase;
	size_t dropped;

	if (collector_conf_read(file, &next, err, sizeof(err)) == -1) {
		snprintf(msg, len, "%s", err);
		goto refused;
	}
	if (reload_fixed_keys(&c->c_conf, &next, c->c_database_arg != NULL,
	                      fixed, sizeof(fixed)) == -1) {
		snprintf(msg, len,
		         "%s: %s cannot change without a restart; nothing was "
		         "reloaded",
		         file, fixed);
		collector_conf_free(&next);
		goto refused;
	}
	reload_summary(&c->c_conf, &next, summary, sizeof(summary));
	/* What only a restart changes keeps its running strings: parts made
	 * at start (the listeners, the store, the anchor) may hold them. */
	swap_str(&next.cc_listen, &c->c_conf.cc_listen);
	swap_str(&next.cc_http, &c->c_conf.cc_http);
	swap_str(&next.cc_database, &c->c_conf.cc_database);
	swap_str(&next.cc_tls_ca, &c->c_conf.cc_tls_ca);
	swap_str(&next.cc_tls_cert, &c->c_conf.cc_tls_cert);
	swap_str(&next.cc_tls_key, &c->c_conf.cc_tls_key);
	swap_str(&next.cc_http_tls_cert, &c->c_conf.cc_http_tls_cert);
	swap_str(&next.cc_http_tls_key, &c->c_conf.cc_http_tls_key);
	swap_str(&next.cc_state_dir, &c->c_conf.cc_state_dir);
	swap_str(&next.cc_notify.nc_secret_file,
	         &c->c_conf.cc_notify.nc_secret_file);
	old = c->c_conf;
	c->c_conf = next;
	/* The engine, the notifier and the phase read the old rules,
	 * channels and calendar one last time here. */
	dropped = rules_engine_reconfigure(c->c_rules, &c->c_conf.cc_rules,
	                                   alarms_outcome, c->c_alarms);
	if (c->c_notifier != NULL)
		notifier_reconfigure(c->c_notifier, &c->c_conf.cc_notify,
		                     c->c_conf.cc_link_url);
	else if (lead_leading(c->c_lead))
		c->c_notifier = collector_notifier_new(c);
	phase = calendar_phase_at(&c->c_conf.cc_calendar, time(NULL));
	if (c->c_phase != NULL && strcmp(c->c_phase, phase) != 0 &&
	    lead_leading(c->c_lead)) {
		snprintf(text, sizeof(text),
		         "phase %s -> %s (calendar reloaded)", c->c_phase,
		         phase);
		log_info("calendar: %s", text);
		shiftlog_add(c->c_store, c->c_events, "phase", "calendar",
		             text);
	}
	c->c_phase = phase;
	if (c->c_checklists != NULL)
		checklists_reconfigure(c->c_checklists, &old.cc_checklists);
	ingest_set_silence(c->c_ingest, c->c_conf.cc_agent_silence_ms);
	store_set_retention(c->c_store, c->c_conf.cc_retention_ms);
	kpi_targets_store(c->c_store, c->c_conf.cc_ack_target_ms);
	collector_conf_free(&old);
	snprintf(msg, len, "%s", summary);
	snprintf(text, sizeof(text), "config reloaded: %s", summary);
	log_info("%s (%s; %zu rule state%s reset)", text, actor, dropped,
	         dropped == 1 ? "" : "s");
	shiftlog_add(c->c_store, c->c_events, "system", actor, text);
	return 0;
refused:
	snprintf(text, sizeof(text), "config reload refused: %s", msg);
	log_warnx("%s (%s)", text, actor);
	shiftlog_add(c->c_store, c->c_events, "system", actor, text);
	return -1;
}
