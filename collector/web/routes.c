/*
 * The route table and its matcher.
 *
 * Adding an endpoint: write its handler, void api_x(struct api_req *ar),
 * in the file of its resource (api_alarms.c, ...), declare it in
 * api_int.h, and add one line below. The handler is called after the
 * login (unless ROUTE_PUBLIC) and the role check; ar carries the session
 * user, the captures ({id}, {name}), the query and the JSON body. A
 * route marked ROUTE_LEADER is forwarded to the leader when this
 * collector follows (after the login and role checks). A wrong
 * method on a known path answers 405 with Allow, an unknown path 404.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "duty/users.h"
#include "web/api_int.h"
#include "web/routes.h"

const struct route routes[] = {
    {EVHTTP_REQ_POST, "/login", ROUTE_PUBLIC, api_login, NULL, 0},
    {EVHTTP_REQ_POST, "/logout", ROLE_VIEWER, api_logout, NULL, 0},
    {EVHTTP_REQ_GET, "/events", ROLE_VIEWER, api_events, NULL, 0},
    {EVHTTP_REQ_GET, "/status", ROLE_VIEWER, api_status, NULL, 0},
    {EVHTTP_REQ_GET, "/agents", ROLE_VIEWER, api_agents, NULL, 0},
    {EVHTTP_REQ_GET, "/series", ROLE_VIEWER, api_series, NULL, 0},
    {EVHTTP_REQ_GET, "/samples", ROLE_VIEWER, api_samples, NULL, 0},
    {EVHTTP_REQ_GET, "/alarms", ROLE_VIEWER, api_alarms_get, NULL, 0},
    {EVHTTP_REQ_GET, "/alarms/{id}", ROLE_VIEWER, api_alarm_get, NULL, 0},
    {EVHTTP_REQ_POST, "/alarms/{id}/ack", ROLE_WATCHSTANDER, api_alarm_ack,
     "a viewer cannot acknowledge", ROUTE_LEADER},
    {EVHTTP_REQ_POST, "/alarms/{id}/shelve", ROLE_WATCHSTANDER,
     api_alarm_shelve, "a viewer cannot shelve", ROUTE_LEADER},
    {EVHTTP_REQ_POST, "/alarms/{id}/unshelve", ROLE_WATCHSTANDER,
     api_alarm_unshelve, "a viewer cannot shelve", ROUTE_LEADER},
    {EVHTTP_REQ_POST, "/hosts/{name}/out-of-service", ROLE_WATCHSTANDER,
     api_host_out_of_service, "a viewer cannot take hosts out of service",
     ROUTE_LEADER},
    {EVHTTP_REQ_POST, "/hosts/{name}/in-service", ROLE_WATCHSTANDER,
     api_host_in_service, "a viewer cannot take hosts out of service",
     ROUTE_LEADER},
    {EVHTTP_REQ_GET, "/log", ROLE_VIEWER, api_log_get, NULL, 0},
    {EVHTTP_REQ_GET, "/shifts/{id}/report", ROLE_VIEWER, api_shift_report, NULL,
     0},
    {EVHTTP_REQ_GET, "/report", ROLE_VIEWER, api_report, NULL, 0},
    {EVHTTP_REQ_POST, "/log", ROLE_WATCHSTANDER, api_log_post,
     "a viewer cannot write the log", 0},
    {EVHTTP_REQ_POST, "/log/{id}/clear", ROLE_WATCHSTANDER, api_log_clear,
     "a viewer cannot clear a carried item", 0},
    {EVHTTP_REQ_GET, "/checklists", ROLE_VIEWER, api_checklists_get, NULL, 0},
    {EVHTTP_REQ_POST, "/checklists/{name}/runs", ROLE_WATCHSTANDER,
     api_run_open, "a viewer cannot open a run", ROUTE_LEADER},
    {EVHTTP_REQ_GET, "/runs", ROLE_VIEWER, api_runs_get, NULL, 0},
    {EVHTTP_REQ_GET, "/runs/{id}", ROLE_VIEWER, api_run_get, NULL, 0},
    {EVHTTP_REQ_POST, "/runs/{id}/steps/{name}/execute", ROLE_WATCHSTANDER,
     api_step_execute, "a viewer cannot execute a step", ROUTE_LEADER},
    {EVHTTP_REQ_POST, "/runs/{id}/steps/{name}/confirm", ROLE_WATCHSTANDER,
     api_step_confirm, "a viewer cannot confirm a step", ROUTE_LEADER},
    {EVHTTP_REQ_POST, "/runs/{id}/steps/{name}/skip", ROLE_LEAD, api_step_skip,
     "only a lead can skip a step", ROUTE_LEADER},
    {EVHTTP_REQ_GET, "/shifts/current", ROLE_VIEWER, api_shift_current, NULL,
     0},
    {EVHTTP_REQ_GET, "/shifts", ROLE_VIEWER, api_shifts_get, NULL, 0},
    {EVHTTP_REQ_GET, "/shifts/{id}", ROLE_VIEWER, api_shift_get, NULL, 0},
    {EVHTTP_REQ_POST, "/shifts/handover", ROLE_WATCHSTANDER, api_handover,
     "a viewer cannot hand over", ROUTE_LEADER},
    {EVHTTP_REQ_POST, "/shifts/{id}/accept", ROLE_WATCHSTANDER,
     api_handover_accept, "a viewer cannot accept a handover", ROUTE_LEADER},
    {EVHTTP_REQ_GET, "/roster", ROLE_VIEWER, api_roster_get, NULL, 0},
    {EVHTTP_REQ_PUT, "/roster", ROLE_LEAD, api_roster_put,
     "only a lead can change the roster", ROUTE_LEADER},
    {EVHTTP_REQ_DELETE, "/roster", ROLE_LEAD, api_roster_delete,
     "only a lead can change the roster", ROUTE_LEADER},
    {EVHTTP_REQ_POST, "/reload", ROLE_ADMIN, api_reload,
     "only an admin can reload the configuration", 0},
};
const size_t routes_n = sizeof(routes) / sizeof(routes[0]);

/* One segment of a path against one of a pattern; 1 when it matches. */
static int
route_segment(const char *pat, size_t plen, const char *seg, size_t slen,
              struct route_caps *caps)
{
	size_t i;

	if (plen == 4 && memcmp(pat, "{id}", 4) == 0) {
		int64_t v = 0;
		if (slen == 0 || slen > 18)
			return 0;
		for (i = 0; i < slen; i++) {
			if (!isdigit((unsigned char)seg[i]))
				return 0;
			v = v * 10 + (seg[i] - '0');
		}
		caps->rc_id = v;
		return 1;
	}
	if (plen == 6 && memcmp(pat, "{name}", 6) == 0) {
		if (slen == 0 || slen > ROUTE_NAME_MAX)
			return 0;
		for (i = 0; i < slen; i++)
			if (!isalnum((unsigned char)seg[i]) && seg[i] != '.' &&
			    seg[i] != '-' && seg[i] != '_')
				return 0;
		memcpy(caps->rc_name, seg, slen);
		caps->rc_name[slen] = '\0';
		return 1;
	}
	return plen == slen && memcmp(pat, seg, slen) == 0;
}

/* The path against a pattern, segment by segment. */
static int
route_path(const char *pat, const char *path, struct route_caps *caps)
{
	size_t plen, slen;

	for (;;) {
		if (*pat != '/' || *path != '/')
			return 0;
		pat++;
		path++;
		plen = strcspn(pat, "/");
		slen = strcspn(path, "/");
		if (!route_segment(pat, plen, path, slen, caps))
			return 0;
		pat += plen;
		path += slen;
		if (*pat == '\0' || *path == '\0')
			return *pat == '\0' && *path == '\0';
	}
}

enum route_result
route_match(const struct route *table, size_t n, unsigned method,
            const char *path, struct route_caps *caps,
            const struct route **found, unsigned *allow)
{
	struct route_caps tmp;
	size_t i;

	*found = NULL;
	*allow = 0;
	for (i = 0; i < n; i++) {
		memset(&tmp, 0, sizeof(tmp));
		if (!route_path(table[i].r_path, path, &tmp))
			continue;
		if (table[i].r_method == method) {
			*caps = tmp;
			*found = &table[i];
			return ROUTE_FOUND;
		}
		if (*found == NULL)
			*found = &table[i];
		*allow |= table[i].r_method;
	}
	return *found == NULL ? ROUTE_NO_PATH : ROUTE_NO_METHOD;
}

void
route_methods(unsigned allow, const char *sep, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
	    {EVHTTP_REQ_GET, "GET"},       {EVHTTP_REQ_POST, "POST"},
	    {EVHTTP_REQ_HEAD, "HEAD"},     {EVHTTP_REQ_PUT, "PUT"},
	    {EVHTTP_REQ_DELETE, "DELETE"}, {EVHTTP_REQ_OPTIONS, "OPTIONS"},
	    {EVHTTP_REQ_PATCH, "PATCH"},
	};
	size_t i, o = 0;
	int w;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(allow & names[i].bit))
			continue;
		w = snprintf(buf + o, len - o, "%s%s", o ? sep : "",
		             names[i].name);
		if (w < 0 || (size_t)w >= len - o)
			return;
		o += (size_t)w;
	}
}

int
route_cookie(const char *header, const char *name, char *buf, size_t len)
{
	size_t nlen = strlen(name), pl, vl;
	const char *p = header, *eq;

	if (header == NULL)
		return -1;
	while (*p != '\0') {
		/* cookie-pair *( ";" SP cookie-pair ), leniently spaced */
		p += strspn(p, " \t;");
		pl = strcspn(p, ";");
		eq = memchr(p, '=', pl);
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    memcmp(p, name, nlen) == 0) {
			vl = pl - nlen - 1;
			while (vl > 0 && (eq[vl] == ' ' || eq[vl] == '\t'))
				vl--;
			/* A quoted value: DQUOTE *cookie-octet DQUOTE */
			if (vl >= 2 && eq[1] == '"' && eq[vl] == '"') {
				snprintf(buf, len, "%.*s", (int)(vl - 2),
				         eq + 2);
				return 0;
			}
			snprintf(buf, len, "%.*s", (int)vl, eq + 1);
			return 0;
		}
		p += pl;
	}
	return -1;
}
