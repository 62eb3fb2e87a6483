#include <stdlib.h>

#include "watchstand/curlev.h"
#include "watchstand/log.h"
#include "watchstand/xalloc.h"

/* A socket curl asked us to watch; listed so nothing leaks at the end. */
struct curlev_sock {
	struct event *cs_ev;
	struct curlev_sock *cs_prev, *cs_next;
};

struct curlev {
	struct event_base *ce_base;
	CURLM *ce_multi;
	struct event *ce_timer;
	struct curlev_sock *ce_socks;
};

/* What we keep per transfer, in CURLOPT_PRIVATE. */
struct curlev_xfer {
	curlev_done_fn x_done;
	void *x_arg;
};

static void
curlev_check(struct curlev *ce)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(ce->ce_multi, &left)) != NULL) {
		struct curlev_xfer *x = NULL;
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(ce->ce_multi, easy);
		if (x != NULL) {
			x->x_done(x->x_arg, easy, rc);
			free(x);
		}
	}
}

static void
curlev_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *ce = arg;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(ce->ce_multi, fd, flags, &running);
	curlev_check(ce);
}

static void
curlev_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *ce = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(ce->ce_multi, CURL_SOCKET_TIMEOUT, 0,
	                         &running);
	curlev_check(ce);
}

static int
curlev_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
                 void *socketp)
{
	struct curlev *ce = userp;
	struct curlev_sock *cs = socketp;
	short flags = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			event_free(cs->cs_ev);
			if (cs->cs_prev != NULL)
				cs->cs_prev->cs_next = cs->cs_next;
			else
				ce->ce_socks = cs->cs_next;
			if (cs->cs_next != NULL)
				cs->cs_next->cs_prev = cs->cs_prev;
			free(cs);
			curl_multi_assign(ce->ce_multi, s, NULL);
		}
		return 0;
	}
	if (cs == NULL) {
		cs = xcalloc(1, sizeof(*cs));
		cs->cs_next = ce->ce_socks;
		if (cs->cs_next != NULL)
			cs->cs_next->cs_prev = cs;
		ce->ce_socks = cs;
		curl_multi_assign(ce->ce_multi, s, cs);
	} else
		event_free(cs->cs_ev);
	if (what & CURL_POLL_IN)
		flags |= EV_READ;
	if (what & CURL_POLL_OUT)
		flags |= EV_WRITE;
	cs->cs_ev = event_new(ce->ce_base, s, flags, curlev_event_cb, ce);
	event_add(cs->cs_ev, NULL);
	return 0;
}

static int
curlev_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev *ce = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(ce->ce_timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(ce->ce_timer, &tv);
	return 0;
}

struct curlev *
curlev_new(struct event_base *base)
{
	struct curlev *ce = xcalloc(1, sizeof(*ce));

	ce->ce_base = base;
	ce->ce_multi = curl_multi_init();
	ce->ce_timer = evtimer_new(base, curlev_timer_cb, ce);
	curl_multi_setopt(ce->ce_multi, CURLMOPT_SOCKETFUNCTION,
	                  curlev_socket_cb);
	curl_multi_setopt(ce->ce_multi, CURLMOPT_SOCKETDATA, ce);
	curl_multi_setopt(ce->ce_multi, CURLMOPT_TIMERFUNCTION,
	                  curlev_timer_set);
	curl_multi_setopt(ce->ce_multi, CURLMOPT_TIMERDATA, ce);
	return ce;
}

int
curlev_add(struct curlev *ce, CURL *easy, curlev_done_fn done, void *arg)
{
	struct curlev_xfer *x = xcalloc(1, sizeof(*x));

	x->x_done = done;
	x->x_arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(ce->ce_multi, easy) != CURLM_OK) {
		free(x);
		return -1;
	}
	return 0;
}

void
curlev_remove(struct curlev *ce, CURL *easy)
{
	struct curlev_xfer *x = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	curl_multi_remove_handle(ce->ce_multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(x);
}

void
curlev_free(struct curlev *ce)
{
	struct curlev_sock *cs;

	if (ce == NULL)
		return;
	curl_multi_cleanup(ce->ce_multi);
	while ((cs = ce->ce_socks) != NULL) {
		ce->ce_socks = cs->cs_next;
		event_free(cs->cs_ev);
		free(cs);
	}
	event_free(ce->ce_timer);
	free(ce);
}
