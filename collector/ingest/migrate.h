/* Versioned schema migrations. Blocking: for the command line only. */
#ifndef WATCHSTAND_MIGRATE_H
#define WATCHSTAND_MIGRATE_H

int migrate_run(const char *conninfo);
int migrate_latest(void);

#endif
