#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/xalloc.h"
#include "duty/shifts.h"

void
roster_free(struct roster *ro)
{
	size_t i;

	for (i = 0; i < ro->ro_n; i++) {
		free(ro->ro_entries[i].re_shift);
		yconf_strlist_free(ro->ro_entries[i].re_on_duty);
		free(ro->ro_entries[i].re_lead);
	}
	free(ro->ro_entries);
	memset(ro, 0, sizeof(*ro));
}

void
shifts_conf_free(struct shifts_conf *sc)
{
	size_t i;

	for (i = 0; i < sc->sc_n; i++)
		free(sc->sc_defs[i].sd_name);
	free(sc->sc_defs);
	roster_free(&sc->sc_roster);
	memset(sc, 0, sizeof(*sc));
}

const struct shift_def *
shifts_find(const struct shifts_conf *sc, const char *name)
{
	size_t i;

	for (i = 0; i < sc->sc_n; i++)
		if (strcmp(sc->sc_defs[i].sd_name, name) == 0)
			return &sc->sc_defs[i];
	return NULL;
}

/* Each minute of the day in exactly one shift: 0, or -1 with msg. */
static int
shifts_cover(const struct shifts_conf *sc, char *msg, size_t len)
{
	unsigned char *owner;
	size_t i;
	int m, rc = 0;

	if (sc->sc_n == 0)
		return 0;
	owner = xcalloc(1440, 1);
	for (i = 0; i < sc->sc_n && rc == 0; i++) {
		const struct shift_def *d = &sc->sc_defs[i];
		int to = d->sd_to <= d->sd_from ? d->sd_to + 1440 : d->sd_to;
		for (m = d->sd_from; m < to; m++) {
			if (owner[m % 1440] != 0) {
				snprintf(
				    msg, len,
				    "shifts %s and %s overlap at %02d:%02d",
				    sc->sc_defs[owner[m % 1440] - 1].sd_name,
				    d->sd_name, (m % 1440) / 60,
				    (m % 1440) % 60);
				rc = -1;
				break;
			}
			owner[m % 1440] = (unsigned char)(i + 1);
		}
	}
	for (m = 0; m < 1440 && rc == 0; m++)
		if (owner[m] == 0) {
			snprintf(msg, len,
			         "no shift covers %02d:%02d (the shifts must "
			         "cover the day exactly)",
			         m / 60, m % 60);
			rc = -1;
		}
	free(owner);
	return rc;
}

int
roster_check(const struct shifts_conf *sc, const struct roster *ro, char *msg,
             size_t len)
{
	size_t i;

	for (i = 0; i < ro->ro_n; i++)
		if (shifts_find(sc, ro->ro_entries[i].re_shift) == NULL) {
			snprintf(msg, len, "roster[%zu]: unknown shift '%s'", i,
			         ro->ro_entries[i].re_shift);
			return -1;
		}
	return 0;
}

static void
shifts_read_defs(struct shifts_conf *sc, struct yconf *yc, yaml_node_t *node)
{
	static const char *const keys[] = {"name", "from", "to", NULL};
	yaml_node_item_t *it;
	char path[64];
	size_t i;

	if (!yconf_is_seq(node)) {
		yconf_error(yc, node,
		            "shifts: expected a list of {name, from, to}");
		return;
	}
	sc->sc_defs = xcalloc((size_t)(node->data.sequence.items.top -
	                               node->data.sequence.items.start) +
	                          1,
	                      sizeof(*sc->sc_defs));
	for (it = node->data.sequence.items.start, i = 0;
	     it < node->data.sequence.items.top; it++, i++) {
		yaml_node_t *n = yconf_node(yc, *it);
		struct shift_def *d = &sc->sc_defs[sc->sc_n];
		char *from = NULL, *to = NULL;
		snprintf(path, sizeof(path), "shifts[%zu]", i);
		if (!yconf_is_map(n)) {
			yconf_error(yc, n, "%s: expected {name, from, to}",
			            path);
			continue;
		}
		yconf_check_keys(yc, n, path, keys);
		if (yconf_str(yc, n, path, "name", 1, &d->sd_name) != 1)
			continue;
		if (shifts_find(sc, d->sd_name) != NULL)
			yconf_error(yc, n, "%s.name: '%s' twice", path,
			            d->sd_name);
		if (yconf_str(yc, n, path, "from", 1, &from) == 1 &&
		    calendar_parse_hhmm(from, &d->sd_from) == -1)
			yconf_error(yc, yconf_get(yc, n, "from"),
			            "%s.from: expected \"HH:MM\", got '%s'",
			            path, from);
		if (yconf_str(yc, n, path, "to", 1, &to) == 1 &&
		    calendar_parse_hhmm(to, &d->sd_to) == -1)
			yconf_error(yc, yconf_get(yc, n, "to"),
			            "%s.to: expected \"HH:MM\", got '%s'", path,
			            to);
		d->sd_from %= 1440;
		d->sd_to %= 1440;
		free(from);
		free(to);
		sc->sc_n++;
	}
}

static void
shifts_read_roster(struct shifts_conf *sc, struct yconf *yc, yaml_node_t *node)
{
	static const char *const keys[] = {"shift",   "days", "date",
	                                   "on_duty", "lead", NULL};
	struct roster *ro = &sc->sc_roster;
	yaml_node_item_t *it;
	char path[64];
	size_t i;

	if (!yconf_is_seq(node)) {
		yconf_error(yc, node,
		            "roster: expected a list of {shift, days | date, "
		            "on_duty, lead}");
		return;
	}
	ro->ro_entries = xcalloc((size_t)(node->data.sequence.items.top -
	                                  node->data.sequence.items.start) +
	                             1,
	                         sizeof(*ro->ro_entries));
	for (it = node->data.sequence.items.start, i = 0;
	     it < node->data.sequence.items.top; it++, i++) {
		yaml_node_t *n = yconf_node(yc, *it);
		struct roster_entry *e = &ro->ro_entries[ro->ro_n];
		char *days = NULL, *date = NULL;
		snprintf(path, sizeof(path), "roster[%zu]", i);
		if (!yconf_is_map(n)) {
			yconf_error(yc, n,
			            "%s: expected {shift, days | date, "
			            "on_duty, lead}",
			            path);
			continue;
		}
		yconf_check_keys(yc, n, path, keys);
		e->re_date = -1;
		if (yconf_str(yc, n, path, "shift", 1, &e->re_shift) != 1)
			continue;
		ro->ro_n++;
		if (sc->sc_n > 0 && shifts_find(sc, e->re_shift) == NULL)
			yconf_error(yc, yconf_get(yc, n, "shift"),
			            "%s.shift: unknown shift '%s'", path,
			            e->re_shift);
		yconf_str(yc, n, path, "days", 0, &days);
		yconf_str(yc, n, path, "date", 0, &date);
		if (days != NULL && date != NULL)
			yconf_error(yc, n, "%s: days or date, not both", path);
		else if (days != NULL &&
		         calendar_parse_days(days, &e->re_days) == -1)
			yconf_error(yc, yconf_get(yc, n, "days"),
			            "%s.days: expected days such as mon-fri, "
			            "got '%s'",
			            path, days);
		else if (date != NULL &&
		         calendar_parse_date(date, &e->re_date) == -1)
			yconf_error(yc, yconf_get(yc, n, "date"),
			            "%s.date: expected YYYY-MM-DD, got '%s'",
			            path, date);
		else if (days == NULL && date == NULL)
			e->re_days = 0x7f;
		free(days);
		free(date);
		yconf_strlist(yc, n, path, "on_duty", 0, &e->re_on_duty,
		              &e->re_n);
		yconf_str(yc, n, path, "lead", 0, &e->re_lead);
	}
}

int
shifts_configure(struct shifts_conf *sc, struct yconf *yc, yaml_node_t *shifts,
                 yaml_node_t *roster)
{
	char msg[160];
	int before = yc->yc_errors;

	memset(sc, 0, sizeof(*sc));
	if (shifts != NULL) {
		shifts_read_defs(sc, yc, shifts);
		if (yc->yc_errors == before &&
		    shifts_cover(sc, msg, sizeof(msg)) == -1)
			yconf_error(yc, shifts, "shifts: %s", msg);
	}
	if (roster != NULL) {
		if (shifts == NULL)
			yconf_error(yc, roster, "roster: needs shifts:");
		shifts_read_roster(sc, yc, roster);
	}
	return yc->yc_errors == before ? 0 : -1;
}

int
roster_has(const struct roster_entry *e, const char *login)
{
	size_t i;

	if (e == NULL || login == NULL)
		return 0;
	if (e->re_lead != NULL && strcmp(e->re_lead, login) == 0)
		return 1;
	for (i = 0; i < e->re_n; i++)
		if (strcmp(e->re_on_duty[i], login) == 0)
			return 1;
	return 0;
}

static const struct roster_entry *
roster_lookup(const struct roster *ro, const char *shift, int64_t day)
{
	uint8_t wd = (uint8_t)(1u << calendar_weekday(day));
	size_t i;

	for (i = 0; i < ro->ro_n; i++) /* a date overrides days */
		if (ro->ro_entries[i].re_date == day &&
		    strcmp(ro->ro_entries[i].re_shift, shift) == 0)
			return &ro->ro_entries[i];
	for (i = 0; i < ro->ro_n; i++)
		if (ro->ro_entries[i].re_date < 0 &&
		    (ro->ro_entries[i].re_days & wd) != 0 &&
		    strcmp(ro->ro_entries[i].re_shift, shift) == 0)
			return &ro->ro_entries[i];
	return NULL;
}

int
shifts_at(const struct shifts_conf *sc, const struct roster *ro,
          const struct calendar *cal, time_t t, struct shift_now *out)
{
	int64_t day;
	int minute;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (ro == NULL)
		ro = &sc->sc_roster;
	if (sc->sc_n == 0 || calendar_local_minute(cal, t, &day, &minute) == -1)
		return -1;
	for (i = 0; i < sc->sc_n; i++) {
		const struct shift_def *d = &sc->sc_defs[i];
		int cross = d->sd_to <= d->sd_from;
		int64_t start_day;
		if (!cross && minute >= d->sd_from && minute < d->sd_to)
			start_day = day;
		else if (cross && minute >= d->sd_from)
			start_day = day;
		else if (cross && minute < d->sd_to)
			start_day = day - 1;
		else
			continue;
		out->sn_def = d;
		out->sn_day = start_day;
		if (calendar_local_time(cal, start_day, d->sd_from,
		                        &out->sn_start) == -1 ||
		    calendar_local_time(cal, start_day,
		                        cross ? d->sd_to + 1440 : d->sd_to,
		                        &out->sn_end) == -1)
			return -1;
		out->sn_entry = roster_lookup(ro, d->sd_name, start_day);
		return 0;
	}
	return -1;
}

int
shifts_day_window(const struct shifts_conf *sc, const struct calendar *cal,
                  int64_t day, time_t *from, time_t *to)
{
	int first = 0;
	size_t i;

	for (i = 0; i < sc->sc_n; i++)
		if (i == 0 || sc->sc_defs[i].sd_from < first)
			first = sc->sc_defs[i].sd_from;
	if (calendar_local_time(cal, day, first, from) == -1 ||
	    calendar_local_time(cal, day + 1, first, to) == -1)
		return -1;
	return 0;
}

int
roster_from_json(const json_t *a, struct roster *ro, char *msg, size_t len)
{
	size_t i, j;
	json_t *e;

	memset(ro, 0, sizeof(*ro));
	if (!json_is_array(a)) {
		snprintf(msg, len,
		         "expected a list of {shift, days | date, "
		         "on_duty, lead}");
		return -1;
	}
	ro->ro_entries =
	    xcalloc(json_array_size(a) + 1, sizeof(*ro->ro_entries));
	json_array_foreach(a, i, e)
	{
		struct roster_entry *re = &ro->ro_entries[ro->ro_n];
		const char *shift =
		    json_string_value(json_object_get(e, "shift"));
		const char *days =
		    json_string_value(json_object_get(e, "days"));
		const char *date =
		    json_string_value(json_object_get(e, "date"));
		const char *lead =
		    json_string_value(json_object_get(e, "lead"));
		json_t *od = json_object_get(e, "on_duty"), *v;

		if (shift == NULL) {
			snprintf(msg, len, "roster[%zu]: shift is missing", i);
			goto fail;
		}
		if (lead != NULL && strlen(lead) > ROSTER_LOGIN_MAX) {
			snprintf(msg, len,
			         "roster[%zu].lead: a login has at most %d "
			         "characters",
			         i, ROSTER_LOGIN_MAX);
			goto fail;
		}
		re->re_shift = xstrdup(shift);
		re->re_date = -1;
		re->re_lead = lead ? xstrdup(lead) : NULL;
		ro->ro_n++;
		if (days != NULL && date != NULL) {
			snprintf(msg, len,
			         "roster[%zu]: days or date, not both", i);
			goto fail;
		}
		if (days != NULL &&
		    calendar_parse_days(days, &re->re_days) == -1) {
			snprintf(msg, len,
			         "roster[%zu].days: expected days such "
			         "as mon-fri",
			         i);
			goto fail;
		}
		if (date != NULL &&
		    calendar_parse_date(date, &re->re_date) == -1) {
			snprintf(msg, len,
			         "roster[%zu].date: expected YYYY-MM-DD", i);
			goto fail;
		}
		if (days == NULL && date == NULL)
			re->re_days = 0x7f;
		if (od != NULL && !json_is_array(od)) {
			snprintf(msg, len,
			         "roster[%zu].on_duty: expected a list "
			         "of logins",
			         i);
			goto fail;
		}
		re->re_on_duty =
		    xcalloc(json_array_size(od) + 1, sizeof(char *));
		json_array_foreach(od, j, v)
		{
			if (!json_is_string(v)) {
				snprintf(msg, len,
				         "roster[%zu].on_duty: expected "
				         "a list of logins",
				         i);
				goto fail;
			}
			if (json_string_length(v) > ROSTER_LOGIN_MAX) {
				snprintf(msg, len,
				         "roster[%zu].on_duty[%zu]: a login has "
				         "at most %d characters",
				         i, j, ROSTER_LOGIN_MAX);
				goto fail;
			}
			re->re_on_duty[re->re_n++] =
			    xstrdup(json_string_value(v));
		}
	}
	return 0;
fail:
	roster_free(ro);
	return -1;
}

json_t *
roster_to_json(const struct roster *ro)
{
	json_t *out = json_array();
	size_t i, j;
	char date[16];

	for (i = 0; i < ro->ro_n; i++) {
		const struct roster_entry *e = &ro->ro_entries[i];
		json_t *od = json_array(), *o;
		for (j = 0; j < e->re_n; j++)
			json_array_append_new(od,
			                      json_string(e->re_on_duty[j]));
		o = json_pack("{s:s, s:o, s:s?}", "shift", e->re_shift,
		              "on_duty", od, "lead", e->re_lead);
		if (e->re_date >= 0) {
			int y, m, d;
			calendar_civil(e->re_date, &y, &m, &d);
			snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
			json_object_set_new(o, "date", json_string(date));
		} else
			json_object_set_new(o, "days_mask",
			                    json_integer(e->re_days));
		json_array_append_new(out, o);
	}
	return out;
}
