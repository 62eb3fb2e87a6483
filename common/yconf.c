#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/units.h"
#include "watchstand/yconf.h"
#include "watchstand/xalloc.h"

/* Every error goes to stderr; the first is kept for callers that answer
 * with it (a reload through the API). */
static void yconf_report(struct yconf *yc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
yconf_report(struct yconf *yc, const char *fmt, ...)
{
	va_list ap;
	char msg[1200];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", msg);
	if (yc->yc_errors++ == 0) {
		size_t n = strlen(msg);
		if (n >= sizeof(yc->yc_first))
			n = sizeof(yc->yc_first) - 1;
		memcpy(yc->yc_first, msg, n);
		yc->yc_first[n] = '\0';
	}
}

int
yconf_load(struct yconf *yc, const char *file)
{
	yaml_parser_t parser;
	FILE *fp;
	int rc = -1;

	memset(yc, 0, sizeof(*yc));
	yc->yc_file = xstrdup(file);
	if ((fp = fopen(file, "r")) == NULL) {
		yconf_report(yc, "%s: cannot open: %s", file, strerror(errno));
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &yc->yc_doc)) {
		yconf_report(yc, "%s:%zu:%zu: YAML syntax error: %s%s%s", file,
		             parser.problem_mark.line + 1,
		             parser.problem_mark.column + 1,
		             parser.problem ? parser.problem : "unknown",
		             parser.context ? " " : "",
		             parser.context ? parser.context : "");
		goto done;
	}
	yc->yc_loaded = 1;
	if (yaml_document_get_root_node(&yc->yc_doc) == NULL) {
		yconf_report(yc, "%s:1:1: the configuration is empty", file);
		goto done;
	}
	rc = 0;
done:
	yaml_parser_delete(&parser);
	fclose(fp);
	return rc;
}

void
yconf_free(struct yconf *yc)
{
	if (yc->yc_loaded)
		yaml_document_delete(&yc->yc_doc);
	yc->yc_loaded = 0;
	free(yc->yc_file);
	yc->yc_file = NULL;
}

yaml_node_t *
yconf_root(struct yconf *yc)
{
	if (!yc->yc_loaded)
		return NULL;
	return yaml_document_get_root_node(&yc->yc_doc);
}

void
yconf_error(struct yconf *yc, yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n != NULL)
		yconf_report(yc, "%s:%zu:%zu: %s", yc->yc_file,
		             n->start_mark.line + 1, n->start_mark.column + 1,
		             msg);
	else
		yconf_report(yc, "%s: %s", yc->yc_file, msg);
}

const char *
yconf_path(char *buf, size_t len, const char *prefix, const char *key)
{
	if (prefix == NULL || prefix[0] == '\0')
		snprintf(buf, len, "%s", key);
	else
		snprintf(buf, len, "%s.%s", prefix, key);
	return buf;
}

int
yconf_is_map(yaml_node_t *n)
{
	return n != NULL && n->type == YAML_MAPPING_NODE;
}

int
yconf_is_seq(yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SEQUENCE_NODE;
}

int
yconf_is_scalar(yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE;
}

const char *
yconf_scalar(yaml_node_t *n)
{
	if (!yconf_is_scalar(n))
		return NULL;
	return (const char *)n->data.scalar.value;
}

yaml_node_t *
yconf_node(struct yconf *yc, int id)
{
	return yaml_document_get_node(&yc->yc_doc, id);
}

yaml_node_t *
yconf_get(struct yconf *yc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;

	if (!yconf_is_map(map))
		return NULL;
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		const char *k = yconf_scalar(yconf_node(yc, pair->key));
		if (k != NULL && strcmp(k, key) == 0)
			return yconf_node(yc, pair->value);
	}
	return NULL;
}

void
yconf_check_keys(struct yconf *yc, yaml_node_t *map, const char *prefix,
                 const char *const *allowed)
{
	yaml_node_pair_t *pair, *prev;
	char path[256];

	if (!yconf_is_map(map))
		return;
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yconf_node(yc, pair->key);
		const char *k = yconf_scalar(kn);
		const char *const *a;
		int found = 0;

		if (k == NULL) {
			yconf_error(yc, kn, "%s: keys must be plain strings",
			            prefix[0] ? prefix : "(top level)");
			continue;
		}
		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, k) == 0)
				found = 1;
		if (!found) {
			yconf_error(yc, kn, "%s: unknown key",
			            yconf_path(path, sizeof(path), prefix, k));
			continue;
		}
		for (prev = map->data.mapping.pairs.start; prev < pair;
		     prev++) {
			const char *pk =
			    yconf_scalar(yconf_node(yc, prev->key));
			if (pk != NULL && strcmp(pk, k) == 0) {
				yconf_error(
				    yc, kn, "%s: duplicate key",
				    yconf_path(path, sizeof(path), prefix, k));
				break;
			}
		}
	}
}

/* The scalar under key, or NULL after reporting a missing/mistyped value. */
static yaml_node_t *
yconf_scalar_at(struct yconf *yc, yaml_node_t *map, const char *prefix,
                const char *key, int required, int *rc, char *path,
                size_t pathlen)
{
	yaml_node_t *n = yconf_get(yc, map, key);

	yconf_path(path, pathlen, prefix, key);
	if (n == NULL) {
		if (required)
			yconf_error(yc, map, "%s: required key is missing",
			            path);
		*rc = 0;
		return NULL;
	}
	if (!yconf_is_scalar(n)) {
		yconf_error(yc, n, "%s: expected a single value", path);
		*rc = -1;
		return NULL;
	}
	*rc = 1;
	return n;
}

int
yconf_str(struct yconf *yc, yaml_node_t *map, const char *prefix,
          const char *key, int required, char **out)
{
	char path[256];
	int rc;
	yaml_node_t *n = yconf_scalar_at(yc, map, prefix, key, required, &rc,
	                                 path, sizeof(path));

	if (n == NULL)
		return rc;
	if (yconf_scalar(n)[0] == '\0') {
		yconf_error(yc, n, "%s: must not be empty", path);
		return -1;
	}
	free(*out);
	*out = xstrdup(yconf_scalar(n));
	return 1;
}

typedef int (*yconf_unit_fn)(const char *, uint64_t *, const char **);

static int
yconf_unit(struct yconf *yc, yaml_node_t *map, const char *prefix,
           const char *key, int required, uint64_t *out, yconf_unit_fn fn)
{
	char path[256];
	const char *why;
	int rc;
	yaml_node_t *n = yconf_scalar_at(yc, map, prefix, key, required, &rc,
	                                 path, sizeof(path));

	if (n == NULL)
		return rc;
	if (fn(yconf_scalar(n), out, &why) == -1) {
		yconf_error(yc, n, "%s: %s, got '%s'", path, why,
		            yconf_scalar(n));
		return -1;
	}
	return 1;
}

int
yconf_duration(struct yconf *yc, yaml_node_t *map, const char *prefix,
               const char *key, int required, uint64_t *ms)
{
	return yconf_unit(yc, map, prefix, key, required, ms,
	                  units_duration_ms);
}

int
yconf_size(struct yconf *yc, yaml_node_t *map, const char *prefix,
           const char *key, int required, uint64_t *bytes)
{
	return yconf_unit(yc, map, prefix, key, required, bytes,
	                  units_size_bytes);
}

int
yconf_rate(struct yconf *yc, yaml_node_t *map, const char *prefix,
           const char *key, int required, uint64_t *bps)
{
	return yconf_unit(yc, map, prefix, key, required, bps, units_rate_bps);
}

int
yconf_uint(struct yconf *yc, yaml_node_t *map, const char *prefix,
           const char *key, int required, uint64_t max, uint64_t *out)
{
	char path[256], *end;
	unsigned long long v;
	int rc;
	yaml_node_t *n = yconf_scalar_at(yc, map, prefix, key, required, &rc,
	                                 path, sizeof(path));
	const char *s;

	if (n == NULL)
		return rc;
	s = yconf_scalar(n);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v > max) {
		yconf_error(yc, n,
		            "%s: expected a whole number from 0 to %llu, "
		            "got '%s'",
		            path, (unsigned long long)max, s);
		return -1;
	}
	*out = v;
	return 1;
}

int
yconf_bool(struct yconf *yc, yaml_node_t *map, const char *prefix,
           const char *key, int required, int *out)
{
	char path[256];
	int rc;
	yaml_node_t *n = yconf_scalar_at(yc, map, prefix, key, required, &rc,
	                                 path, sizeof(path));
	const char *s;

	if (n == NULL)
		return rc;
	s = yconf_scalar(n);
	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
		*out = 0;
	else {
		yconf_error(yc, n, "%s: expected true or false, got '%s'", path,
		            s);
		return -1;
	}
	return 1;
}

void
yconf_strlist_free(char **list)
{
	char **p;

	if (list == NULL)
		return;
	for (p = list; *p != NULL; p++)
		free(*p);
	free(list);
}

int
yconf_strlist(struct yconf *yc, yaml_node_t *map, const char *prefix,
              const char *key, int required, char ***out, size_t *np)
{
	char path[256];
	yaml_node_t *n = yconf_get(yc, map, key);
	yaml_node_item_t *it;
	char **list;
	size_t i = 0, count;

	yconf_path(path, sizeof(path), prefix, key);
	if (n == NULL) {
		if (required)
			yconf_error(yc, map, "%s: required key is missing",
			            path);
		return 0;
	}
	if (!yconf_is_seq(n)) {
		yconf_error(yc, n, "%s: expected a list", path);
		return -1;
	}
	count = n->data.sequence.items.top - n->data.sequence.items.start;
	if (count == 0 && required) {
		yconf_error(yc, n, "%s: the list is empty", path);
		return -1;
	}
	list = xcalloc(count + 1, sizeof(*list));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = yconf_node(yc, *it);
		const char *s = yconf_scalar(item);
		if (s == NULL || s[0] == '\0') {
			yconf_error(yc, item, "%s[%zu]: expected a string",
			            path, i);
			yconf_strlist_free(list);
			return -1;
		}
		list[i++] = xstrdup(s);
	}
	yconf_strlist_free(*out);
	*out = list;
	if (np != NULL)
		*np = count;
	return 1;
}

void
yconf_resolve_path(const char *file, char **path)
{
	char *copy, *out;

	if (*path == NULL || (*path)[0] == '/')
		return;
	copy = xstrdup(file);
	if (asprintf(&out, "%s/%s", dirname(copy), *path) != -1) {
		free(*path);
		*path = out;
	}
	free(copy);
}

/* Why a pattern is refused before regcomp sees it, or NULL. POSIX leaves
 * stacked duplication symbols undefined; glibc expands them, and large or
 * nested intervals, into automata that can exhaust memory. */
static const char *
regex_too_costly(const char *re)
{
	const char *p;
	int quantified = 0, intervals = 0;

	if (strlen(re) > 512)
		return "longer than 512 characters";
	for (p = re; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			quantified = 0;
		} else if (*p == '[') {
			/* A bracket expression: "]" first is a member. */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p != '\0' && *p != ']')
				p++;
			if (*p == '\0')
				return NULL; /* regcomp says what is wrong */
			quantified = 0;
		} else if (*p == '*' || *p == '+' || *p == '?' || *p == '{') {
			if (quantified)
				return "a quantifier follows another (such as "
				       "'a++' or 'a*{2}')";
			quantified = 1;
			if (*p == '{') {
				char *end;
				unsigned long m = strtoul(p + 1, &end, 10),
				              n = m;
				if (*end == ',')
					n = end[1] == '}'
					        ? 0
					        : strtoul(end + 1, &end, 10);
				if (m > 255 || n > 255)
					return "an interval {m,n} over 255";
				if (++intervals > 2)
					return "more than two intervals {m,n}";
				while (*p != '\0' && *p != '}')
					p++;
				if (*p == '\0')
					return NULL;
			}
		} else
			quantified = 0;
	}
	return NULL;
}

int
yconf_regex(struct yconf *yc, yaml_node_t *map, const char *prefix,
            const char *key, int required, regex_t *re)
{
	char *pattern = NULL, why[160], path[256];
	const char *costly;
	int rc, err;

	if ((rc = yconf_str(yc, map, prefix, key, required, &pattern)) != 1)
		return rc;
	yconf_path(path, sizeof(path), prefix, key);
	if ((costly = regex_too_costly(pattern)) != NULL) {
		yconf_error(yc, yconf_get(yc, map, key),
		            "%s: regular expression refused: %s", path, costly);
		rc = -1;
	} else if ((err = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB)) !=
	           0) {
		regerror(err, re, why, sizeof(why));
		yconf_error(yc, yconf_get(yc, map, key),
		            "%s: bad regular expression: %s", path, why);
		rc = -1;
	}
	free(pattern);
	return rc;
}
