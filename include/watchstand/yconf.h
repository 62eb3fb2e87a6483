/*
 * Walking a YAML config with libyaml: typed getters that report every
 * problem as "file:line:column: key.path: what is wrong" and keep going, so
 * a broken config prints all of its errors at once.
 */
#ifndef WATCHSTAND_YCONF_H
#define WATCHSTAND_YCONF_H

#include <stdint.h>
#include <regex.h>
#include <yaml.h>

struct yconf {
	char *yc_file;
	yaml_document_t yc_doc;
	int yc_loaded;
	int yc_errors;
	char yc_first[512]; /* the first error's text, for a caller to show */
};

/* Returns -1 (after reporting) if the file cannot be read or parsed. */
int yconf_load(struct yconf *yc, const char *file);
void yconf_free(struct yconf *yc);
yaml_node_t *yconf_root(struct yconf *yc);
void yconf_error(struct yconf *yc, yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "prefix.key" (or "key" when prefix is empty) into buf. */
const char *yconf_path(char *buf, size_t len, const char *prefix,
                       const char *key);

int yconf_is_map(yaml_node_t *n);
int yconf_is_seq(yaml_node_t *n);
int yconf_is_scalar(yaml_node_t *n);
const char *yconf_scalar(yaml_node_t *n);
yaml_node_t *yconf_node(struct yconf *yc, int id);
yaml_node_t *yconf_get(struct yconf *yc, yaml_node_t *map, const char *key);

/* Reports keys of map not in allowed (NULL-terminated) and duplicates. */
void yconf_check_keys(struct yconf *yc, yaml_node_t *map, const char *prefix,
                      const char *const *allowed);

/*
 * Getters: 1 when the key was present and valid, 0 when absent (an error
 * too if required), -1 when present but invalid. Strings are strdup'd.
 */
int yconf_str(struct yconf *yc, yaml_node_t *map, const char *prefix,
              const char *key, int required, char **out);
int yconf_duration(struct yconf *yc, yaml_node_t *map, const char *prefix,
                   const char *key, int required, uint64_t *ms);
int yconf_size(struct yconf *yc, yaml_node_t *map, const char *prefix,
               const char *key, int required, uint64_t *bytes);
int yconf_rate(struct yconf *yc, yaml_node_t *map, const char *prefix,
               const char *key, int required, uint64_t *bps);
int yconf_uint(struct yconf *yc, yaml_node_t *map, const char *prefix,
               const char *key, int required, uint64_t max, uint64_t *out);
int yconf_bool(struct yconf *yc, yaml_node_t *map, const char *prefix,
               const char *key, int required, int *out);
/* A list of strings; *out is a NULL-terminated array of strdup'd strings. */
int yconf_strlist(struct yconf *yc, yaml_node_t *map, const char *prefix,
                  const char *key, int required, char ***out, size_t *n);
void yconf_strlist_free(char **list);
/* A POSIX extended regular expression, compiled into *re (REG_NOSUB).
 * Patterns whose compilation could take unbounded memory in glibc
 * (stacked quantifiers such as "a++", intervals over 255, more than two
 * intervals, over 512 characters) are refused with a reason. */
int yconf_regex(struct yconf *yc, yaml_node_t *map, const char *prefix,
                const char *key, int required, regex_t *re);
/* A relative path in a config is taken from the config file's folder. */
void yconf_resolve_path(const char *file, char **path);

#endif
