#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/xalloc.h"

#include "perfdata.h"

#define LABEL_MAX 128

struct uom {
	const char *u_name;
	double u_factor;
	const char *u_norm; /* what the value is in after scaling */
};

static const struct uom uoms[] = {
    {"", 1, ""},
    {"s", 1, "s"},
    {"ms", 1e-3, "s"},
    {"us", 1e-6, "s"},
    {"%", 1, "%"},
    {"B", 1, "B"},
    {"KB", 1024.0, "B"},
    {"MB", 1024.0 * 1024, "B"},
    {"GB", 1024.0 * 1024 * 1024, "B"},
    {"TB", 1024.0 * 1024 * 1024 * 1024, "B"},
    {"c", 1, "c"},
    {NULL, 0, NULL},
};

/* A threshold range ([@][start:][end], ~ for -inf) or a min/max number. */
static int
field_ok(const char *s, size_t n, int range)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (isdigit((unsigned char)c) || c == '.' || c == '-' ||
		    c == '+' || c == 'e' || c == 'E')
			continue;
		if (range && (c == ':' || c == '~' || c == '@'))
			continue;
		return 0;
	}
	return 1;
}

int
perfdata_parse(const char *s, perfdata_fn fn, void *arg, const char **why)
{
	int count = 0;

	for (;;) {
		char label[LABEL_MAX + 1], num[64];
		size_t ln = 0, nn;
		const char *v, *u, *semi;
		const struct uom *um;
		double value;
		char *end;
		int field;

		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (*s == '\0')
			return count;
		/* label: 'quoted, with '' for a quote' or bare up to '=' */
		if (*s == '\'') {
			s++;
			for (;;) {
				if (*s == '\0') {
					*why = "unterminated quoted label";
					return -1;
				}
				if (*s == '\'' && s[1] == '\'') {
					s += 2;
					if (ln < LABEL_MAX)
						label[ln++] = '\'';
					continue;
				}
				if (*s == '\'')
					break;
				if (ln < LABEL_MAX)
					label[ln++] = *s;
				s++;
			}
			s++;
			if (*s != '=') {
				*why = "expected '=' after the label";
				return -1;
			}
		} else {
			while (*s != '=' && *s != '\0' && *s != ' ') {
				if (ln < LABEL_MAX)
					label[ln++] = *s;
				s++;
			}
			if (*s != '=') {
				*why = "expected label=value";
				return -1;
			}
		}
		label[ln] = '\0';
		if (ln == 0) {
			*why = "empty label";
			return -1;
		}
		v = ++s; /* past '=' */
		/* value and UOM run to ';' or a space */
		while (*s != ';' && *s != ' ' && *s != '\0' && *s != '\n')
			s++;
		nn = s - v;
		if (nn == 0 || nn >= sizeof(num)) {
			*why = "missing or overlong value";
			return -1;
		}
		memcpy(num, v, nn);
		num[nn] = '\0';
		if (strcmp(num, "U") == 0) {
			value = NAN;
			u = "";
		} else {
			errno = 0;
			value = strtod(num, &end);
			if (end == num || errno == ERANGE || !isfinite(value) ||
			    (num[0] != '-' && !isdigit((unsigned char)num[0]) &&
			     num[0] != '.')) {
				*why = "value is not a number";
				return -1;
			}
			u = end;
		}
		for (um = uoms; um->u_name != NULL; um++)
			if (strcmp(um->u_name, u) == 0)
				break;
		if (um->u_name == NULL) {
			*why = "unknown unit of measurement";
			return -1;
		}
		/* warn;crit;min;max, each optional */
		for (field = 0; *s == ';'; field++) {
			s++;
			semi = s;
			while (*s != ';' && *s != ' ' && *s != '\0' &&
			       *s != '\n')
				s++;
			if (field >= 4 ||
			    !field_ok(semi, s - semi, field < 2)) {
				*why = "bad warn;crit;min;max field";
				return -1;
			}
		}
		if (*s != '\0' && *s != ' ' && *s != '\n' && *s != '\r' &&
		    *s != '\t') {
			*why = "junk after an item";
			return -1;
		}
		if (!isnan(value))
			fn(arg, label, value * um->u_factor, um->u_norm);
		count++;
	}
}

int
perfdata_output(const char *out, char *summary, size_t slen, perfdata_fn fn,
                void *arg, const char **why)
{
	const char *eol = strchr(out, '\n');
	const char *first_end = eol ? eol : out + strlen(out);
	const char *bar = memchr(out, '|', first_end - out);
	const char *text_end = bar ? bar : first_end;
	size_t n;
	int total = 0, rc;
	char *buf;

	while (out < text_end && isspace((unsigned char)*out))
		out++;
	while (text_end > out && isspace((unsigned char)text_end[-1]))
		text_end--;
	n = text_end - out;
	if (n >= slen)
		n = slen - 1;
	memcpy(summary, out, n);
	summary[n] = '\0';
	if (bar != NULL) {
		buf = xstrndup(bar + 1, first_end - bar - 1);
		rc = perfdata_parse(buf, fn, arg, why);
		free(buf);
		if (rc < 0)
			return -1;
		total += rc;
	}
	if (eol == NULL)
		return total;
	/* Long text may end with "| perfdata"; every line after is perfdata. */
	bar = strchr(eol + 1, '|');
	if (bar != NULL) {
		rc = perfdata_parse(bar + 1, fn, arg, why);
		if (rc < 0)
			return -1;
		total += rc;
	}
	return total;
}
