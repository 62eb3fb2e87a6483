/* libFuzzer: the collector's frame decoder on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "watchstand/proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	/* Walk the input as a stream of frames, as conn_read_cb does. */
	while (off < size) {
		const char *why;
		size_t flen;
		int rc = proto_frame_check(data + off, size - off, &flen, &why);
		const uint8_t *p;
		size_t len;

		if (rc != 1)
			break;
		p = data + off + PROTO_HDR_LEN;
		len = flen - PROTO_HDR_LEN;
		switch (data[off + 4]) {
		case PROTO_HELLO: {
			struct proto_hello h;
			proto_get_hello(p, len, &h, &why);
			break;
		}
		case PROTO_WELCOME: {
			uint16_t v;
			uint64_t s;
			proto_get_welcome(p, len, &v, &s, &why);
			break;
		}
		case PROTO_BATCH: {
			struct proto_batch b;
			struct proto_sample s;
			struct proto_event e;
			if (proto_batch_open(&b, p, len, &why) == 0) {
				while (proto_batch_next(&b, &s, &why) == 1)
					;
				while (proto_batch_next_event(&b, &e, &why) ==
				       1)
					;
			}
			break;
		}
		case PROTO_ERROR: {
			char text[64];
			proto_get_error(p, len, text, sizeof(text));
			break;
		}
		case PROTO_ACTION: {
			struct proto_action a;
			proto_get_action(p, len, &a, &why);
			break;
		}
		case PROTO_ACTION_RESULT: {
			static struct proto_action_result r;
			proto_get_action_result(p, len, &r, &why);
			break;
		}
		default: {
			uint64_t v;
			proto_get_u64(p, len, &v, &why);
		}
		}
		off += flen;
	}
	return 0;
}
