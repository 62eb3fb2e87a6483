/* filesystem probe: fill levels from statvfs, computed as df does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "agent.h"

struct fs_state {
	char *fs_path;
	int fs_failing;
};

static const char *const probe_fs_keys[] = {"path", NULL};

static int
probe_fs_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                   const char *path)
{
	struct fs_state *st = xcalloc(1, sizeof(*st));

	p->pr_state = st;
	yconf_str(yc, node, path, "path", 1, &st->fs_path);
	return 0;
}

static void
probe_fs_run(struct probe *p)
{
	struct fs_state *st = p->pr_state;
	struct statvfs sv;
	double used, avail;

	if (statvfs(st->fs_path, &sv) == -1) {
		/* Log the first failure of a streak, not every poll. */
		if (!st->fs_failing++)
			log_warn("probe %s: statvfs %s", p->pr_name,
			         st->fs_path);
		return;
	}
	st->fs_failing = 0;
	/* df: used = blocks - bfree; Use% = used / (used + bavail). */
	used = (double)(sv.f_blocks - sv.f_bfree);
	avail = (double)sv.f_bavail;
	if (used + avail > 0)
		probe_sample(p, NULL, "fill_pct",
		             100.0 * used / (used + avail));
	if (sv.f_files > 0)
		probe_sample(p, NULL, "inodes_pct",
		             100.0 * (double)(sv.f_files - sv.f_ffree) /
		                 sv.f_files);
	probe_sample(p, NULL, "free_bytes", avail * sv.f_frsize);
}

static void
probe_fs_free(struct probe *p)
{
	struct fs_state *st = p->pr_state;

	if (st == NULL)
		return;
	free(st->fs_path);
	free(st);
}

const struct probe_type probe_type_filesystem = {
    .pt_name = "filesystem",
    .pt_keys = probe_fs_keys,
    .pt_configure = probe_fs_configure,
    .pt_run = probe_fs_run,
    .pt_free = probe_fs_free,
};
