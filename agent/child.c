#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "watchstand/log.h"
#include "watchstand/clock.h"
#include "watchstand/xalloc.h"
#include "child.h"

#define CHILD_OUTPUT_MAX (64 * 1024)
/* After the process exits, how long its output may still come: a
 * daemon it started that kept the pipe (in its own session, out of the
 * group's reach) must not hold the result back for ever. */
#define CHILD_DRAIN_MS 2000

struct child {
	struct child *ch_next;
	pid_t ch_pid;
	int ch_fd;
	struct event *ch_read;
	struct event *ch_timer;
	struct event *ch_drain;
	char *ch_out;
	size_t ch_len;
	int ch_eof;
	int ch_reaped;
	int ch_wstatus;
	int ch_timed_out;
	size_t ch_tail;
	uint64_t ch_grace_ms;
	double ch_start;
	child_done_fn ch_done;
	void *ch_arg;
};

static struct child *children;

static void
child_unlink(struct child *ch)
{
	struct child **pp;

	for (pp = &children; *pp != NULL; pp = &(*pp)->ch_next)
		if (*pp == ch) {
			*pp = ch->ch_next;
			break;
		}
}

static void
child_free(struct child *ch)
{
	child_unlink(ch);
	if (ch->ch_read != NULL)
		event_free(ch->ch_read);
	if (ch->ch_timer != NULL)
		event_free(ch->ch_timer);
	if (ch->ch_drain != NULL)
		event_free(ch->ch_drain);
	if (ch->ch_fd != -1)
		close(ch->ch_fd);
	free(ch->ch_out);
	free(ch);
}

/* Both halves are in: report and free. */
static void
child_maybe_done(struct child *ch)
{
	struct child_result r;

	if (!ch->ch_eof || !ch->ch_reaped)
		return;
	memset(&r, 0, sizeof(r));
	r.cr_exited = WIFEXITED(ch->ch_wstatus);
	r.cr_status = r.cr_exited ? WEXITSTATUS(ch->ch_wstatus)
	                          : WTERMSIG(ch->ch_wstatus);
	r.cr_timed_out = ch->ch_timed_out;
	ch->ch_out[ch->ch_len] = '\0';
	r.cr_output = ch->ch_out;
	r.cr_len = ch->ch_len;
	r.cr_seconds = clock_mono_s() - ch->ch_start;
	ch->ch_done(ch->ch_arg, &r);
	child_free(ch);
}

static void
child_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch = arg;
	char buf[4096];
	ssize_t n;

	(void)what;
	n = read(fd, buf, sizeof(buf));
	if (n > 0 && ch->ch_tail > 0) {
		/* Keep the newest bytes: the end says how it went. */
		size_t k = (size_t)n, cap = ch->ch_tail;
		if (k >= cap) {
			memcpy(ch->ch_out, buf + k - cap, cap);
			ch->ch_len = cap;
		} else {
			if (ch->ch_len + k > cap) {
				size_t drop = ch->ch_len + k - cap;
				memmove(ch->ch_out, ch->ch_out + drop,
				        ch->ch_len - drop);
				ch->ch_len -= drop;
			}
			memcpy(ch->ch_out + ch->ch_len, buf, k);
			ch->ch_len += k;
		}
		return;
	}
	if (n > 0) {
		size_t keep = (size_t)n;
		/* More than we keep is read and dropped, so it cannot block. */
		if (ch->ch_len + keep > CHILD_OUTPUT_MAX)
			keep = CHILD_OUTPUT_MAX - ch->ch_len;
		memcpy(ch->ch_out + ch->ch_len, buf, keep);
		ch->ch_len += keep;
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	event_del(ch->ch_read);
	ch->ch_eof = 1;
	child_maybe_done(ch);
}

/* The process is gone but its pipe is still held: report what came. */
static void
child_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch = arg;

	(void)fd;
	(void)what;
	if (ch->ch_eof)
		return;
	event_del(ch->ch_read);
	ch->ch_eof = 1;
	child_maybe_done(ch);
}

static void
child_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch = arg;

	(void)fd;
	(void)what;
	if (ch->ch_grace_ms > 0 && !ch->ch_timed_out) {
		struct timeval tv = {ch->ch_grace_ms / 1000,
		                     (ch->ch_grace_ms % 1000) * 1000};
		/* A chance to clean up; SIGKILL when the grace is over. */
		ch->ch_timed_out = 1;
		kill(-ch->ch_pid, SIGTERM);
		evtimer_add(ch->ch_timer, &tv);
		return;
	}
	ch->ch_timed_out = 1;
	/* The whole group: a plugin's own children must not linger. */
	kill(-ch->ch_pid, SIGKILL);
}

struct child *
child_spawn(struct event_base *base, const struct child_spec *cs,
            child_done_fn done, void *arg)
{
	struct child *ch;
	int fds[2], devnull;
	pid_t pid;
	struct timeval tv = {cs->cs_timeout_ms / 1000,
	                     (cs->cs_timeout_ms % 1000) * 1000};

	if (pipe2(fds, O_CLOEXEC) == -1)
		return NULL;
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		sigset_t all;

		setpgid(0, 0);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(fds[1], 1);
		dup2(cs->cs_stderr ? fds[1] : devnull, 2);
		/* Nothing of the agent's (its link to the collector, probe
		 * sockets) goes on into what the child starts. */
		closefrom(3);
		if (cs->cs_drop &&
		    (initgroups(cs->cs_user, cs->cs_gid) == -1 ||
		     setgid(cs->cs_gid) == -1 || setuid(cs->cs_uid) == -1)) {
			static const char msg[] = "cannot drop privileges\n";
			(void)!write(1, msg, sizeof(msg) - 1);
			_exit(3);
		}
		execve(cs->cs_argv[0], cs->cs_argv, cs->cs_env);
		{
			const char *e = strerror(errno);
			(void)!write(1, "cannot run: ", 12);
			(void)!write(1, e, strlen(e));
			(void)!write(1, "\n", 1);
		}
		_exit(3); /* UNKNOWN, as a plugin would say */
	}
	close(fds[1]);
	/* Also from the parent, so kill(-pid) works even before the child
	 * has run its setpgid. */
	setpgid(pid, pid);
	ch = xcalloc(1, sizeof(*ch));
	ch->ch_pid = pid;
	ch->ch_fd = fds[0];
	ch->ch_tail = cs->cs_tail;
	ch->ch_grace_ms = cs->cs_grace_ms;
	ch->ch_out =
	    xmalloc((cs->cs_tail > 0 ? cs->cs_tail : CHILD_OUTPUT_MAX) + 1);
	ch->ch_start = clock_mono_s();
	ch->ch_done = done;
	ch->ch_arg = arg;
	evutil_make_socket_nonblocking(fds[0]);
	ch->ch_read =
	    event_new(base, fds[0], EV_READ | EV_PERSIST, child_read_cb, ch);
	ch->ch_timer = evtimer_new(base, child_timeout_cb, ch);
	event_add(ch->ch_read, NULL);
	evtimer_add(ch->ch_timer, &tv);
	ch->ch_next = children;
	children = ch;
	return ch;
}

void
child_cancel(struct child *ch)
{
	if (ch == NULL)
		return;
	kill(-ch->ch_pid, SIGKILL);
	/* Reap now so it does not linger as a zombie. */
	waitpid(ch->ch_pid, NULL, 0);
	child_free(ch);
}

void
child_reap(void)
{
	struct child *ch, *next;
	int wstatus;
	pid_t pid;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		for (ch = children; ch != NULL; ch = next) {
			next = ch->ch_next;
			if (ch->ch_pid != pid)
				continue;
			ch->ch_reaped = 1;
			ch->ch_wstatus = wstatus;
			evtimer_del(ch->ch_timer);
			/* A grandchild may hold the pipe open: the group goes.
			 */
			kill(-pid, SIGKILL);
			if (!ch->ch_eof) {
				struct timeval tv = {CHILD_DRAIN_MS / 1000,
				                     (CHILD_DRAIN_MS % 1000) *
				                         1000};
				ch->ch_drain =
				    evtimer_new(event_get_base(ch->ch_read),
				                child_drain_cb, ch);
				evtimer_add(ch->ch_drain, &tv);
			}
			child_maybe_done(ch);
			break;
		}
	}
}
