/*
 * Child processes of the agent (plugins and checklist actions):
 * spawned in their own process group with stdout on a pipe, reaped on
 * SIGCHLD, killed as a group on timeout. One callback when both the exit
 * status and the end of output are in.
 */
#ifndef WATCHSTAND_CHILD_H
#define WATCHSTAND_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

struct child;

struct child_result {
	int cr_exited; /* 1: exit code in cr_status; 0: killed by a signal */
	int cr_status; /* exit code, or the signal */
	int cr_timed_out;
	const char *cr_output; /* NUL-terminated: the first 64 KiB of stdout,
	                        * or the last cs_tail bytes */
	size_t cr_len;
	double cr_seconds;
};

struct child_spec {
	char *const *cs_argv;
	char *const *cs_env; /* "K=V"; the whole environment */
	uid_t cs_uid;        /* dropped to when cs_drop is set */
	gid_t cs_gid;
	int cs_drop;
	const char *cs_user;
	uint64_t cs_timeout_ms;
	int cs_stderr;        /* 1: stderr on the output pipe too */
	size_t cs_tail;       /* >0: keep the last this many bytes */
	uint64_t cs_grace_ms; /* >0: SIGTERM at the timeout, SIGKILL after */
};

typedef void (*child_done_fn)(void *arg, const struct child_result *r);

/* Starts a child; NULL (with errno) when fork or pipe fail. */
struct child *child_spawn(struct event_base *base, const struct child_spec *cs,
                          child_done_fn done, void *arg);
/* Kills the child's group and forgets it; done is not called. */
void child_cancel(struct child *ch);
/* Reaps exited children; call on SIGCHLD. */
void child_reap(void);

#endif
