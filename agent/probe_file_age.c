/* file_age probe: is last night's backup (or a quote snapshot) fresh. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "agent.h"

struct file_age_state {
	char *fa_path; /* may be a glob: the newest match counts */
};

static const char *const probe_file_age_keys[] = {"path", NULL};

static int
probe_file_age_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                         const char *path)
{
	struct file_age_state *st = xcalloc(1, sizeof(*st));

	p->pr_state = st;
	yconf_str(yc, node, path, "path", 1, &st->fa_path);
	return 0;
}

static void
probe_file_age_run(struct probe *p)
{
	struct file_age_state *st = p->pr_state;
	struct stat sb, newest;
	glob_t g;
	size_t i;
	int found = 0;

	memset(&g, 0, sizeof(g));
	memset(&newest, 0, sizeof(newest));
	if (glob(st->fa_path, GLOB_NOSORT, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++) {
			if (stat(g.gl_pathv[i], &sb) == -1 ||
			    !S_ISREG(sb.st_mode))
				continue;
			if (!found ||
			    sb.st_mtim.tv_sec > newest.st_mtim.tv_sec ||
			    (sb.st_mtim.tv_sec == newest.st_mtim.tv_sec &&
			     sb.st_mtim.tv_nsec > newest.st_mtim.tv_nsec))
				newest = sb;
			found = 1;
		}
	}
	globfree(&g);
	probe_sample(p, NULL, "exists", found);
	if (!found)
		return;
	probe_sample(p, NULL, "age_s",
	             p->pr_now_us / 1e6 - (newest.st_mtim.tv_sec +
	                                   newest.st_mtim.tv_nsec / 1e9));
	probe_sample(p, NULL, "size_bytes", (double)newest.st_size);
}

static void
probe_file_age_free(struct probe *p)
{
	struct file_age_state *st = p->pr_state;

	if (st == NULL)
		return;
	free(st->fa_path);
	free(st);
}

const struct probe_type probe_type_file_age = {
    .pt_name = "file_age",
    .pt_keys = probe_file_age_keys,
    .pt_configure = probe_file_age_configure,
    .pt_run = probe_file_age_run,
    .pt_free = probe_file_age_free,
};
