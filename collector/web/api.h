/* The HTTP API under /api/v1 (JSON): login, status, agents, alarms and
 * acknowledgement, the shift log. Every query runs on the store's async
 * connection; a handler never waits on the database. */
#ifndef WATCHSTAND_API_H
#define WATCHSTAND_API_H

struct collector;
struct evhttp_request;

void api_init(struct collector *c);
void api_free(struct collector *c);
/* Ends every /events stream (at shutdown). */
void api_close_streams(void);
/* Handles /api/v1/...; 0 when the path is not the API's. */
int api_handle(struct collector *c, struct evhttp_request *req);
/* Login and session figures for /metrics. */
struct evbuffer;
void api_metrics(struct evbuffer *out);

#endif
