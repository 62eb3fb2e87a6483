/* Password checks on a worker thread (see hasher.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "duty/hasher.h"
#include "duty/users.h"

struct hasher_job {
	struct hasher_job *j_next;
	char *j_password;
	char *j_hash;
	int j_ok;
	hasher_done_fn j_done;
	void *j_arg;
};

struct hasher {
	pthread_t h_thread;
	pthread_mutex_t h_lock;
	pthread_cond_t h_cond;
	struct hasher_job *h_head, *h_tail; /* waiting for the worker */
	int h_stop;
	int h_inflight; /* queued, hashing or not yet reported */
	int h_max;
	uint64_t h_count;
	int h_pipe[2]; /* worker writes finished jobs, the loop reads */
	struct event *h_ev;
};

static void
hasher_job_free(struct hasher_job *j)
{
	if (j == NULL)
		return;
	if (j->j_password != NULL) {
		explicit_bzero(j->j_password, strlen(j->j_password));
		free(j->j_password);
	}
	free(j->j_hash);
	free(j);
}

static void *
hasher_main(void *arg)
{
	struct hasher *h = arg;
	struct hasher_job *j;
	ssize_t n;

	for (;;) {
		pthread_mutex_lock(&h->h_lock);
		while (h->h_head == NULL && !h->h_stop)
			pthread_cond_wait(&h->h_cond, &h->h_lock);
		if (h->h_stop) {
			pthread_mutex_unlock(&h->h_lock);
			return NULL;
		}
		j = h->h_head;
		if ((h->h_head = j->j_next) == NULL)
			h->h_tail = NULL;
		pthread_mutex_unlock(&h->h_lock);

		j->j_ok = users_check_password(j->j_password, j->j_hash);
		explicit_bzero(j->j_password, strlen(j->j_password));
		pthread_mutex_lock(&h->h_lock);
		h->h_count++;
		pthread_mutex_unlock(&h->h_lock);
		/* A pointer is far below PIPE_BUF: written whole or not. */
		do
			n = write(h->h_pipe[1], &j, sizeof(j));
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)sizeof(j)) {
			log_warn("hasher: cannot report a result");
			hasher_job_free(j);
		}
	}
}

/* On the loop: finished jobs, reported to their owners. */
static void
hasher_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hasher *h = arg;
	struct hasher_job *j;

	(void)what;
	while (read(fd, &j, sizeof(j)) == (ssize_t)sizeof(j)) {
		pthread_mutex_lock(&h->h_lock);
		h->h_inflight--;
		pthread_mutex_unlock(&h->h_lock);
		j->j_done(j->j_arg, j->j_ok);
		hasher_job_free(j);
	}
}

struct hasher *
hasher_new(struct event_base *base, int queue_max)
{
	struct hasher *h = xcalloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->h_max = queue_max > 0 ? queue_max : 1;
	h->h_pipe[0] = h->h_pipe[1] = -1;
	pthread_mutex_init(&h->h_lock, NULL);
	pthread_cond_init(&h->h_cond, NULL);
	if (pipe2(h->h_pipe, O_CLOEXEC) == -1 ||
	    fcntl(h->h_pipe[0], F_SETFL, O_NONBLOCK) == -1) {
		log_warn("hasher: pipe");
		goto fail;
	}
	h->h_ev = event_new(base, h->h_pipe[0], EV_READ | EV_PERSIST,
	                    hasher_read_cb, h);
	if (h->h_ev == NULL || event_add(h->h_ev, NULL) == -1) {
		log_warnx("hasher: cannot watch the pipe");
		goto fail;
	}
	if ((errno = pthread_create(&h->h_thread, NULL, hasher_main, h)) != 0) {
		log_warn("hasher: cannot start the worker thread");
		goto fail;
	}
	return h;
fail:
	if (h->h_ev != NULL)
		event_free(h->h_ev);
	if (h->h_pipe[0] != -1)
		close(h->h_pipe[0]);
	if (h->h_pipe[1] != -1)
		close(h->h_pipe[1]);
	pthread_cond_destroy(&h->h_cond);
	pthread_mutex_destroy(&h->h_lock);
	free(h);
	return NULL;
}

void
hasher_free(struct hasher *h)
{
	struct hasher_job *j;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->h_lock);
	h->h_stop = 1;
	pthread_cond_broadcast(&h->h_cond);
	pthread_mutex_unlock(&h->h_lock);
	pthread_join(h->h_thread, NULL);
	/* What the worker never took, and what it finished unreported. */
	while ((j = h->h_head) != NULL) {
		h->h_head = j->j_next;
		hasher_job_free(j);
	}
	while (read(h->h_pipe[0], &j, sizeof(j)) == (ssize_t)sizeof(j))
		hasher_job_free(j);
	event_free(h->h_ev);
	close(h->h_pipe[0]);
	close(h->h_pipe[1]);
	pthread_cond_destroy(&h->h_cond);
	pthread_mutex_destroy(&h->h_lock);
	free(h);
}

int
hasher_busy(struct hasher *h)
{
	int busy;

	pthread_mutex_lock(&h->h_lock);
	busy = h->h_inflight >= h->h_max;
	pthread_mutex_unlock(&h->h_lock);
	return busy;
}

int
hasher_check(struct hasher *h, const char *password, const char *hash,
             hasher_done_fn done, void *arg)
{
	struct hasher_job *j;

	if (hasher_busy(h) || (j = xcalloc(1, sizeof(*j))) == NULL)
		return -1;
	j->j_password = xstrdup(password);
	j->j_hash = xstrdup(hash);
	j->j_done = done;
	j->j_arg = arg;
	if (j->j_password == NULL || j->j_hash == NULL) {
		hasher_job_free(j);
		return -1;
	}
	pthread_mutex_lock(&h->h_lock);
	h->h_inflight++;
	if (h->h_tail != NULL)
		h->h_tail->j_next = j;
	else
		h->h_head = j;
	h->h_tail = j;
	pthread_cond_signal(&h->h_cond);
	pthread_mutex_unlock(&h->h_lock);
	return 0;
}

uint64_t
hasher_count(struct hasher *h)
{
	uint64_t n;

	pthread_mutex_lock(&h->h_lock);
	n = h->h_count;
	pthread_mutex_unlock(&h->h_lock);
	return n;
}
