#include <event2/buffer.h>

#include "watchstand/frame.h"

int
frame_take(struct evbuffer *in, struct pbuf *frame, int *type,
           const uint8_t **payload, size_t *len, const char **why)
{
	size_t avail = evbuffer_get_length(in), flen;
	uint8_t *data;
	int rc;

	if (avail < PROTO_HDR_LEN)
		return 0;
	data = evbuffer_pullup(in, PROTO_HDR_LEN);
	if ((rc = proto_frame_check(data, avail, &flen, why)) <= 0)
		return rc;
	data = evbuffer_pullup(in, flen);
	pbuf_reset(frame);
	pbuf_add(frame, data, flen);
	evbuffer_drain(in, flen);
	*type = frame->pb_data[4];
	*payload = frame->pb_data + PROTO_HDR_LEN;
	*len = flen - PROTO_HDR_LEN;
	return 1;
}
