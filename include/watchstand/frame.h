/* Reading protocol frames off a libevent buffer: the agent and the
 * collector take frames the same way. */
#ifndef WATCHSTAND_FRAME_H
#define WATCHSTAND_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "watchstand/proto.h"

struct evbuffer;

/*
 * Takes the next whole frame out of in, into frame (reused between
 * calls): 1 with *type and the payload (valid until the next call), 0
 * when the frame is not complete yet, -1 with why when its header is bad
 * (too long, empty, an unknown type): the connection is then beyond help.
 */
int frame_take(struct evbuffer *in, struct pbuf *frame, int *type,
               const uint8_t **payload, size_t *len, const char **why);

#endif
