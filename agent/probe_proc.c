/* process probe: counts and measures processes matched in /proc. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "agent.h"

struct proc_seen {
	pid_t pid;
	pid_t ppid;
	pid_t pgrp;
	uint64_t start; /* starttime tells a reused pid from the same one */
	uint64_t ticks;
	int worker; /* seen as the child of a match: never the main process */
};

struct proc_state {
	char *ps_comm;
	char *ps_pidfile;
	regex_t ps_re;
	int ps_has_re;
	uid_t ps_uid;
	int ps_has_uid;
	struct proc_seen *ps_prev;
	size_t ps_nprev;
	double ps_prev_mono;
	int ps_scanned;
	pid_t ps_leader_pid; /* the service's main process */
	uint64_t ps_leader_start;
	int ps_has_leader;
	int ps_seen_up; /* matched something once: coming back is a restart */
	uint64_t ps_restarts;
	long ps_hz;
	long ps_pagesize;
	int ps_warned;
};

static const char *const probe_proc_keys[] = {"match", NULL};

/* Reads a small file whole; returns bytes read or -1. */
static ssize_t
read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd == -1)
		return -1;
	while ((size_t)total < len - 1 &&
	       (n = read(fd, buf + total, len - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

/* Parses one /proc/<pid>/stat line. The comm may hold spaces and ')'. */
int
probe_proc_parse_stat(const char *buf, struct proc_stat *ps)
{
	const char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	unsigned long long f[22];
	char state;
	size_t n;

	memset(ps, 0, sizeof(*ps));
	if (open == NULL || close == NULL || close < open)
		return -1;
	ps->ps_pid = (pid_t)atol(buf);
	n = close - open - 1;
	if (n >= sizeof(ps->ps_comm))
		n = sizeof(ps->ps_comm) - 1;
	memcpy(ps->ps_comm, open + 1, n);
	ps->ps_comm[n] = '\0';
	/* Fields 3.. after the comm: state, then numbers; we need up to rss. */
	if (sscanf(close + 1,
	           " %c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu"
	           " %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
	           &state, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6],
	           &f[7], &f[8], &f[9], &f[10], &f[11], &f[12], &f[13], &f[14],
	           &f[15], &f[16], &f[17], &f[18], &f[19], &f[20]) != 22)
		return -1;
	ps->ps_state = state;
	ps->ps_ppid = (pid_t)f[0];
	ps->ps_pgrp = (pid_t)f[1];
	ps->ps_utime = f[10];
	ps->ps_stime = f[11];
	ps->ps_starttime = f[18];
	ps->ps_rss_pages = f[20];
	return 0;
}

int
probe_proc_read_uid(const char *root, pid_t pid, uid_t *uid)
{
	char path[256], buf[4096], *line;
	unsigned long u;

	snprintf(path, sizeof(path), "%s/%d/status", root, (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	line = strstr(buf, "\nUid:");
	if (line == NULL || sscanf(line + 5, "%lu", &u) != 1)
		return -1;
	*uid = (uid_t)u;
	return 0;
}

static int
probe_proc_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                     const char *path)
{
	static const char *const match_keys[] = {"comm", "cmdline", "pidfile",
	                                         "user", NULL};
	struct proc_state *st = xcalloc(1, sizeof(*st));
	yaml_node_t *m = yconf_get(yc, node, "match");
	char mpath[256], *user = NULL;

	p->pr_state = st;
	st->ps_hz = sysconf(_SC_CLK_TCK);
	st->ps_pagesize = sysconf(_SC_PAGESIZE);
	yconf_path(mpath, sizeof(mpath), path, "match");
	if (m == NULL) {
		yconf_error(yc, node,
		            "%s: required key is missing (comm, "
		            "cmdline, pidfile or user)",
		            mpath);
		return -1;
	}
	if (!yconf_is_map(m)) {
		yconf_error(yc, m, "%s: expected a mapping", mpath);
		return -1;
	}
	yconf_check_keys(yc, m, mpath, match_keys);
	yconf_str(yc, m, mpath, "comm", 0, &st->ps_comm);
	yconf_str(yc, m, mpath, "pidfile", 0, &st->ps_pidfile);
	if (yconf_regex(yc, m, mpath, "cmdline", 0, &st->ps_re) == 1)
		st->ps_has_re = 1;
	if (yconf_str(yc, m, mpath, "user", 0, &user) == 1) {
		struct passwd *pw = getpwnam(user);
		char *end;
		unsigned long uid = strtoul(user, &end, 10);
		if (pw != NULL) {
			st->ps_uid = pw->pw_uid;
			st->ps_has_uid = 1;
		} else if (*end == '\0') {
			st->ps_uid = (uid_t)uid;
			st->ps_has_uid = 1;
		} else
			yconf_error(yc, yconf_get(yc, m, "user"),
			            "%s.user: no such user '%s'", mpath, user);
	}
	free(user);
	if (st->ps_comm == NULL && st->ps_pidfile == NULL && !st->ps_has_re &&
	    !st->ps_has_uid && yconf_get(yc, m, "cmdline") == NULL &&
	    yconf_get(yc, m, "user") == NULL)
		yconf_error(yc, m,
		            "%s: give at least one of comm, cmdline, "
		            "pidfile, user",
		            mpath);
	return 0;
}

/* The pid named by the pidfile, or -1. */
static pid_t
probe_proc_pidfile(struct probe *p, struct proc_state *st)
{
	char buf[64];
	long pid;

	if (read_small(st->ps_pidfile, buf, sizeof(buf)) <= 0)
		return -1;
	pid = strtol(buf, NULL, 10);
	if (pid <= 0) {
		if (!st->ps_warned++)
			log_warnx("probe %s: pidfile %s holds no pid",
			          p->pr_name, st->ps_pidfile);
		return -1;
	}
	return (pid_t)pid;
}

static int
probe_proc_matches(struct proc_state *st, const char *root,
                   const struct proc_stat *ps)
{
	char path[256], cmd[4096];
	ssize_t n, i;

	/* The kernel keeps 15 characters of comm. */
	if (st->ps_comm != NULL && strncmp(st->ps_comm, ps->ps_comm, 15) != 0)
		return 0;
	if (st->ps_has_uid) {
		uid_t uid;
		if (probe_proc_read_uid(root, ps->ps_pid, &uid) == -1 ||
		    uid != st->ps_uid)
			return 0;
	}
	if (st->ps_has_re) {
		snprintf(path, sizeof(path), "%s/%d/cmdline", root,
		         (int)ps->ps_pid);
		if ((n = read_small(path, cmd, sizeof(cmd))) <= 0)
			return 0; /* kernel threads have no command line */
		while (n > 0 && cmd[n - 1] == '\0')
			n--;
		for (i = 0; i < n; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		cmd[n] = '\0';
		if (regexec(&st->ps_re, cmd, 0, NULL, 0) != 0)
			return 0;
	}
	return 1;
}

static const struct proc_seen *
probe_proc_find(const struct proc_seen *v, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].pid == pid)
			return &v[i];
	return NULL;
}

/*
 * A restart is the service's main process replaced by another, or the count
 * going to zero and back. The main process is the oldest match that is not a
 * worker: a worker's parent is a match, or it is in the process group of
 * another match or of the last main process (a worker the main forked just
 * before it died, now init's child), or it was seen as a worker before. So
 * PostgreSQL's backends coming and going are not restarts and one crash of
 * the main process is one.
 */
static void
probe_proc_restarts(struct proc_state *st, struct proc_seen *now, size_t n)
{
	const struct proc_seen *leader = NULL, *prev;
	size_t i;

	for (i = 0; i < n; i++) {
		prev = probe_proc_find(st->ps_prev, st->ps_nprev, now[i].pid);
		if ((prev != NULL && prev->start == now[i].start &&
		     prev->worker) ||
		    probe_proc_find(now, n, now[i].ppid) != NULL ||
		    (now[i].pgrp != now[i].pid &&
		     ((st->ps_has_leader && now[i].pgrp == st->ps_leader_pid) ||
		      probe_proc_find(now, n, now[i].pgrp) != NULL)))
			now[i].worker = 1;
	}
	for (i = 0; i < n; i++)
		if (!now[i].worker &&
		    (leader == NULL || now[i].start < leader->start ||
		     (now[i].start == leader->start &&
		      now[i].pid < leader->pid)))
			leader = &now[i];
	if (leader == NULL) { /* down, or only orphaned workers left */
		st->ps_has_leader = 0;
		st->ps_seen_up |= n > 0;
		return;
	}
	if (st->ps_has_leader ? leader->pid != st->ps_leader_pid ||
	                            leader->start != st->ps_leader_start
	                      : st->ps_seen_up)
		st->ps_restarts++;
	st->ps_leader_pid = leader->pid;
	st->ps_leader_start = leader->start;
	st->ps_has_leader = 1;
	st->ps_seen_up = 1;
}

static void
probe_proc_run(struct probe *p)
{
	struct proc_state *st = p->pr_state;
	const char *root = probe_proc_root();
	struct proc_seen *now = NULL;
	size_t nnow = 0, cap = 0;
	uint64_t rss = 0, dticks = 0, oldest = UINT64_MAX;
	double uptime = 0, dt;
	char path[256], buf[1024];
	pid_t self = getpid();
	DIR *d = NULL;
	struct dirent *de;
	pid_t only = -1;

	snprintf(path, sizeof(path), "%s/uptime", root);
	if (read_small(path, buf, sizeof(buf)) > 0)
		uptime = strtod(buf, NULL);
	if (st->ps_pidfile != NULL && (only = probe_proc_pidfile(p, st)) < 0)
		goto emit;
	if (only < 0 && (d = opendir(root)) == NULL) {
		log_warn("probe %s: %s", p->pr_name, root);
		return;
	}
	for (;;) {
		struct proc_stat ps;
		pid_t pid;

		if (d != NULL) {
			if ((de = readdir(d)) == NULL)
				break;
			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			pid = (pid_t)atol(de->d_name);
		} else
			pid = only;
		snprintf(path, sizeof(path), "%s/%d/stat", root, (int)pid);
		if (pid != self && read_small(path, buf, sizeof(buf)) > 0 &&
		    probe_proc_parse_stat(buf, &ps) == 0 &&
		    probe_proc_matches(st, root, &ps)) {
			const struct proc_seen *prev;
			uint64_t ticks = ps.ps_utime + ps.ps_stime;

			if (nnow == cap) {
				cap = cap ? cap * 2 : 8;
				now = xrealloc(now, cap * sizeof(*now));
			}
			now[nnow++] = (struct proc_seen){
			    pid, ps.ps_ppid, ps.ps_pgrp, ps.ps_starttime, ticks,
			    0};
			rss += ps.ps_rss_pages * (uint64_t)st->ps_pagesize;
			if (ps.ps_starttime < oldest)
				oldest = ps.ps_starttime;
			prev = probe_proc_find(st->ps_prev, st->ps_nprev, pid);
			if (prev != NULL && prev->start == ps.ps_starttime &&
			    ticks >= prev->ticks)
				dticks += ticks - prev->ticks;
		}
		if (d == NULL)
			break;
	}
	if (d != NULL)
		closedir(d);
emit:
	probe_proc_restarts(st, now, nnow);
	probe_sample(p, NULL, "count", (double)nnow);
	probe_sample(p, NULL, "rss_bytes", (double)rss);
	dt = p->pr_mono_s - st->ps_prev_mono;
	if (st->ps_scanned && dt > 0)
		probe_sample(p, NULL, "cpu_pct",
		             100.0 * dticks / st->ps_hz / dt);
	probe_sample(
	    p, NULL, "uptime_s",
	    nnow > 0 && uptime > 0 ? uptime - (double)oldest / st->ps_hz : 0);
	probe_sample(p, NULL, "restarts", (double)st->ps_restarts);
	free(st->ps_prev);
	st->ps_prev = now;
	st->ps_nprev = nnow;
	st->ps_prev_mono = p->pr_mono_s;
	st->ps_scanned = 1;
}

static void
probe_proc_free(struct probe *p)
{
	struct proc_state *st = p->pr_state;

	if (st == NULL)
		return;
	if (st->ps_has_re)
		regfree(&st->ps_re);
	free(st->ps_comm);
	free(st->ps_pidfile);
	free(st->ps_prev);
	free(st);
}

const struct probe_type probe_type_process = {
    .pt_name = "process",
    .pt_keys = probe_proc_keys,
    .pt_configure = probe_proc_configure,
    .pt_run = probe_proc_run,
    .pt_free = probe_proc_free,
};
