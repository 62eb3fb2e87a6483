/*
 * Schema migrations: the files collector/ingest/sql/NNN_name.sql, embedded
 * at build time (embed_sql.cmake).
 */
#ifndef WATCHSTAND_MIGRATE_H
#define WATCHSTAND_MIGRATE_H

#include <stddef.h>

/* One embedded file, as read: name ("001_agents.sql") and every byte. */
struct migrate_file {
	const char *mf_name;
	const char *mf_text;
	size_t mf_len;
};

/* The generated table, in name order. */
extern const struct migrate_file migrate_files[];
extern const int migrate_files_n;

/* One migration, parsed from its file. */
struct migration {
	int m_version;
	char m_what[256];  /* first header comment, else the name */
	const char *m_sql; /* the statements, after the header comments */
	size_t m_sqllen;   /* without the file's last newline */
};

/*
 * Parses a file: the version from the name's digits, the description
 * from the first "-- " line, the statements after the leading comment
 * lines. Returns -1 (and says why in err) for a bad name.
 */
int migrate_parse(const struct migrate_file *f, struct migration *m, char *err,
                  size_t errlen);

/* Applies every migration missing from schema_migrations. Blocking: for
 * the command line only. */
int migrate_run(const char *conninfo);
int migrate_latest(void);

#endif
