/*
 * logfile probe: key events in an application log. Starts at the end of
 * the file and follows it across rename-and-create and copytruncate
 * rotation: the old file is read to its end before the new one is opened,
 * and a file that shrank or whose first bytes changed is read from the
 * start again, so no line is lost or counted twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "agent.h"

#define LOGFILE_LINE_MAX (64 * 1024)
#define LOGFILE_HEAD 64

struct logfile_state {
	char *lf_path;
	regex_t lf_re;
	int lf_has_re;
	uint64_t lf_max_events;
	int lf_fd;
	dev_t lf_dev;
	ino_t lf_ino;
	off_t lf_off;
	char lf_head[LOGFILE_HEAD];
	size_t lf_headlen;
	char *lf_line; /* a line not yet ended by '\n' */
	size_t lf_linelen;
	int lf_started;
	double lf_last_match; /* monotonic; start time until the first */
	/* per run */
	uint64_t lf_matches;
	uint64_t lf_events;
	uint64_t lf_dropped; /* events over the cap, since start */
	int lf_missing_logged;
};

static const char *const probe_logfile_keys[] = {"path", "pattern",
                                                 "max_events", NULL};

static int
probe_logfile_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                        const char *path)
{
	struct logfile_state *st = xcalloc(1, sizeof(*st));

	p->pr_state = st;
	st->lf_fd = -1;
	st->lf_max_events = 20;
	st->lf_line = xmalloc(LOGFILE_LINE_MAX);
	yconf_str(yc, node, path, "path", 1, &st->lf_path);
	yconf_uint(yc, node, path, "max_events", 0, 10000, &st->lf_max_events);
	if (yconf_regex(yc, node, path, "pattern", 1, &st->lf_re) == 1)
		st->lf_has_re = 1;
	return 0;
}

static void
probe_logfile_line(struct probe *p, struct logfile_state *st, char *line,
                   size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	if (regexec(&st->lf_re, line, 0, NULL, 0) != 0)
		return;
	st->lf_matches++;
	st->lf_last_match = p->pr_mono_s;
	if (st->lf_events++ < st->lf_max_events)
		probe_event(p, line);
	else
		st->lf_dropped++;
}

/* Splits what was read into lines; keeps an unfinished one for later. */
static void
probe_logfile_feed(struct probe *p, struct logfile_state *st, const char *buf,
                   size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			probe_logfile_line(p, st, st->lf_line, st->lf_linelen);
			st->lf_linelen = 0;
		} else if (st->lf_linelen < LOGFILE_LINE_MAX - 1)
			st->lf_line[st->lf_linelen++] = buf[i];
		/* longer lines are cut, not split */
	}
}

static void
probe_logfile_drain(struct probe *p, struct logfile_state *st)
{
	char buf[65536];
	ssize_t n;

	while ((n = pread(st->lf_fd, buf, sizeof(buf), st->lf_off)) > 0) {
		probe_logfile_feed(p, st, buf, (size_t)n);
		st->lf_off += n;
	}
	if (n == -1)
		log_warn("probe %s: read %s", p->pr_name, st->lf_path);
}

/* A file that shrank or was rewritten is read again from the start. */
static void
probe_logfile_check_rewrite(struct logfile_state *st)
{
	struct stat sb;
	char head[LOGFILE_HEAD];
	ssize_t n;

	if (fstat(st->lf_fd, &sb) == -1)
		return;
	n = pread(st->lf_fd, head, sizeof(head), 0);
	if (n < 0)
		n = 0;
	if (sb.st_size < st->lf_off ||
	    memcmp(head, st->lf_head,
	           (size_t)n < st->lf_headlen ? (size_t)n : st->lf_headlen) !=
	        0) {
		st->lf_off = 0;
		st->lf_linelen = 0;
	}
	memcpy(st->lf_head, head, n);
	st->lf_headlen = n;
}

static int
probe_logfile_open(struct probe *p, struct logfile_state *st, int at_end)
{
	struct stat sb;
	int fd = open(st->lf_path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1) {
		if (!st->lf_missing_logged++)
			log_warn("probe %s: %s", p->pr_name, st->lf_path);
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return -1;
	}
	st->lf_missing_logged = 0;
	st->lf_fd = fd;
	st->lf_dev = sb.st_dev;
	st->lf_ino = sb.st_ino;
	st->lf_off = at_end ? sb.st_size : 0;
	st->lf_linelen = 0;
	n = pread(fd, st->lf_head, sizeof(st->lf_head), 0);
	st->lf_headlen = n > 0 ? (size_t)n : 0;
	return 0;
}

static void
probe_logfile_run(struct probe *p)
{
	struct logfile_state *st = p->pr_state;
	struct stat sb;

	st->lf_matches = 0;
	st->lf_events = 0;
	if (!st->lf_started) {
		st->lf_started = 1;
		st->lf_last_match = p->pr_mono_s;
		/* Only what is written from now on counts. */
		probe_logfile_open(p, st, 1);
	} else if (st->lf_fd == -1) {
		/* The file appeared after we started: all of it is new. */
		probe_logfile_open(p, st, 0);
	}
	if (st->lf_fd != -1) {
		probe_logfile_check_rewrite(st);
		probe_logfile_drain(p, st);
		/* Renamed away and a new file created: finish the old one
		 * (done above), then read the new one from its start. */
		if (stat(st->lf_path, &sb) == 0 &&
		    (sb.st_ino != st->lf_ino || sb.st_dev != st->lf_dev)) {
			if (st->lf_linelen > 0)
				probe_logfile_line(p, st, st->lf_line,
				                   st->lf_linelen);
			close(st->lf_fd);
			st->lf_fd = -1;
			if (probe_logfile_open(p, st, 0) == 0)
				probe_logfile_drain(p, st);
		}
	}
	probe_sample(p, NULL, "matches", (double)st->lf_matches);
	probe_sample(p, NULL, "since_last_s", p->pr_mono_s - st->lf_last_match);
	probe_sample(p, NULL, "events_dropped", (double)st->lf_dropped);
}

static void
probe_logfile_free(struct probe *p)
{
	struct logfile_state *st = p->pr_state;

	if (st == NULL)
		return;
	if (st->lf_fd != -1)
		close(st->lf_fd);
	if (st->lf_has_re)
		regfree(&st->lf_re);
	free(st->lf_line);
	free(st->lf_path);
	free(st);
}

const struct probe_type probe_type_logfile = {
    .pt_name = "logfile",
    .pt_keys = probe_logfile_keys,
    .pt_configure = probe_logfile_configure,
    .pt_run = probe_logfile_run,
    .pt_free = probe_logfile_free,
};
