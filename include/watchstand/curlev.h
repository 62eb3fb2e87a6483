/*
 * libcurl's multi interface driven by a libevent loop (socket and timer
 * callbacks, as curl's docs/examples/multi-event.c does): transfers never
 * block the loop.
 */
#ifndef WATCHSTAND_CURLEV_H
#define WATCHSTAND_CURLEV_H

#include <curl/curl.h>
#include <event2/event.h>

struct curlev;

typedef void (*curlev_done_fn)(void *arg, CURL *easy, CURLcode rc);

struct curlev *curlev_new(struct event_base *base);
void curlev_free(struct curlev *ce);
/* Starts a transfer; done is called once it ends, the handle removed. */
int curlev_add(struct curlev *ce, CURL *easy, curlev_done_fn done, void *arg);
/* Stops a transfer without calling done. */
void curlev_remove(struct curlev *ce, CURL *easy);

#endif
