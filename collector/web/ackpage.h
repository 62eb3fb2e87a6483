/* The pages behind an acknowledgement link: /ack/TOKEN. */
#ifndef WATCHSTAND_ACKPAGE_H
#define WATCHSTAND_ACKPAGE_H

struct collector;
struct evhttp_request;

/* Serves /ack/TOKEN; 0 when the path is not one. */
int ackpage_handle(struct collector *c, struct evhttp_request *req);

#endif
