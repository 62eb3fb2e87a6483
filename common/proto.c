#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/proto.h"
#include "watchstand/xalloc.h"

void
pbuf_init(struct pbuf *pb)
{
	memset(pb, 0, sizeof(*pb));
}

void
pbuf_free(struct pbuf *pb)
{
	free(pb->pb_data);
	memset(pb, 0, sizeof(*pb));
}

void
pbuf_reset(struct pbuf *pb)
{
	pb->pb_len = 0;
}

void
pbuf_add(struct pbuf *pb, const void *data, size_t len)
{
	if (pb->pb_len + len > pb->pb_cap) {
		size_t cap = pb->pb_cap ? pb->pb_cap : 256;
		while (cap < pb->pb_len + len)
			cap *= 2;
		pb->pb_data = xrealloc(pb->pb_data, cap);
		pb->pb_cap = cap;
	}
	memcpy(pb->pb_data + pb->pb_len, data, len);
	pb->pb_len += len;
}

static void
put_u8(struct pbuf *pb, uint8_t v)
{
	pbuf_add(pb, &v, 1);
}

static void
put_u16(struct pbuf *pb, uint16_t v)
{
	uint8_t b[2] = {v >> 8, v};
	pbuf_add(pb, b, 2);
}

static void
enc_u32(uint8_t *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

static void
put_u32(struct pbuf *pb, uint32_t v)
{
	uint8_t b[4];
	enc_u32(b, v);
	pbuf_add(pb, b, 4);
}

static void
put_u64(struct pbuf *pb, uint64_t v)
{
	put_u32(pb, v >> 32);
	put_u32(pb, (uint32_t)v);
}

static void
put_str(struct pbuf *pb, const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max)
		n = max;
	put_u16(pb, n);
	pbuf_add(pb, s, n);
}

/* A string cut to max bytes at a whole UTF-8 character. */
static void
put_text(struct pbuf *pb, const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max)
		n = max;
	while (n > 0 && !proto_text_valid(s, n))
		n--;
	put_u16(pb, n);
	pbuf_add(pb, s, n);
}

/* Starts a frame; the length is patched by frame_end. */
static size_t
frame_begin(struct pbuf *pb, uint8_t type)
{
	size_t start = pb->pb_len;
	put_u32(pb, 0);
	put_u8(pb, type);
	return start;
}

static void
frame_end(struct pbuf *pb, size_t start)
{
	enc_u32(pb->pb_data + start, pb->pb_len - start - 4);
}

int
proto_frame_check(const uint8_t *buf, size_t len, size_t *frame_len,
                  const char **why)
{
	uint32_t n;

	if (len < PROTO_HDR_LEN)
		return 0;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	if (n < 1) {
		*why = "empty frame";
		return -1;
	}
	if (n > PROTO_FRAME_MAX) {
		*why = "frame larger than the 4 MiB limit";
		return -1;
	}
	if (buf[4] < PROTO_HELLO || buf[4] > PROTO_ACTION_RESULT) {
		*why = "unknown frame type";
		return -1;
	}
	if (len < (size_t)n + 4)
		return 0;
	*frame_len = (size_t)n + 4;
	return 1;
}

void
proto_put_hello(struct pbuf *pb, const struct proto_hello *h)
{
	size_t s = frame_begin(pb, PROTO_HELLO);
	put_u16(pb, h->h_version);
	put_u64(pb, h->h_stream);
	put_str(pb, h->h_name, PROTO_NAME_MAX);
	put_str(pb, h->h_role, PROTO_ROLE_MAX);
	put_str(pb, h->h_software, PROTO_SOFTWARE_MAX);
	if (h->h_version >= 2) {
		uint16_t i, n = h->h_nactions;
		if (n > PROTO_ACTIONS_MAX)
			n = PROTO_ACTIONS_MAX;
		put_u16(pb, n);
		for (i = 0; i < n; i++)
			put_str(pb, h->h_actions[i], PROTO_NAME_MAX);
	}
	frame_end(pb, s);
}

void
proto_put_welcome(struct pbuf *pb, uint16_t version, uint64_t last_seq)
{
	size_t s = frame_begin(pb, PROTO_WELCOME);
	put_u16(pb, version);
	put_u64(pb, last_seq);
	frame_end(pb, s);
}

void
proto_put_ack(struct pbuf *pb, uint64_t seq)
{
	size_t s = frame_begin(pb, PROTO_ACK);
	put_u64(pb, seq);
	frame_end(pb, s);
}

void
proto_put_heartbeat(struct pbuf *pb, int64_t ts_us)
{
	size_t s = frame_begin(pb, PROTO_HEARTBEAT);
	put_u64(pb, (uint64_t)ts_us);
	frame_end(pb, s);
}

void
proto_put_error(struct pbuf *pb, const char *text)
{
	size_t s = frame_begin(pb, PROTO_ERROR);
	put_str(pb, text, PROTO_TEXT_MAX);
	frame_end(pb, s);
}

void
proto_put_action(struct pbuf *pb, const struct proto_action *a)
{
	size_t s = frame_begin(pb, PROTO_ACTION);
	put_u64(pb, a->a_request);
	put_str(pb, a->a_name, PROTO_NAME_MAX);
	put_u64(pb, a->a_run);
	put_text(pb, a->a_step, PROTO_STEP_MAX);
	put_u8(pb, a->a_flags);
	frame_end(pb, s);
}

void
proto_put_action_result(struct pbuf *pb, const struct proto_action_result *r)
{
	size_t s = frame_begin(pb, PROTO_ACTION_RESULT);
	put_u64(pb, r->ar_request);
	put_u8(pb, r->ar_outcome);
	put_u32(pb, (uint32_t)r->ar_status);
	put_u32(pb, r->ar_duration_ms);
	put_text(pb, r->ar_output, PROTO_OUTPUT_MAX);
	put_text(pb, r->ar_reason, PROTO_REASON_MAX);
	frame_end(pb, s);
}

size_t
proto_batch_begin(struct pbuf *pb, uint64_t seq)
{
	size_t s = frame_begin(pb, PROTO_BATCH);
	put_u64(pb, seq);
	put_u32(pb, 0);
	return s;
}

int
proto_batch_add(struct pbuf *pb, int64_t ts_us, const char *series,
                double value)
{
	size_t n = strlen(series);
	uint64_t bits;

	/* NaN and infinities are not measurements: the collector refuses a
	 * batch with one, so they never enter it. */
	if (!proto_series_valid(series, n) || !isfinite(value))
		return -1;
	memcpy(&bits, &value, sizeof(bits));
	put_u64(pb, (uint64_t)ts_us);
	put_u64(pb, bits);
	put_u16(pb, n);
	pbuf_add(pb, series, n);
	return 0;
}

void
proto_batch_end(struct pbuf *pb, size_t start, uint32_t count,
                const struct pbuf *events, uint32_t nevents)
{
	enc_u32(pb->pb_data + start + PROTO_HDR_LEN + 8, count);
	put_u32(pb, nevents);
	if (events != NULL && events->pb_len > 0)
		pbuf_add(pb, events->pb_data, events->pb_len);
	frame_end(pb, start);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return s[0] != 0;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int
proto_text_valid(const char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq((const unsigned char *)s + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

size_t
proto_text_clean(char *text, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq((unsigned char *)text + i, len - i)) == 0) {
			text[i++] = '?';
			continue;
		}
		i += n;
	}
	return len;
}

int
proto_event_add(struct pbuf *events, int64_t ts_us, const char *probe,
                const char *text)
{
	size_t plen = strlen(probe), tlen = strlen(text);

	if (!proto_series_valid(probe, plen) || plen > PROTO_NAME_MAX)
		return -1;
	if (tlen > PROTO_EVENT_MAX)
		tlen = PROTO_EVENT_MAX;
	/* Cutting may split a character: keep to whole characters. */
	while (tlen > 0 && !proto_text_valid(text, tlen))
		tlen--;
	put_u64(events, (uint64_t)ts_us);
	put_u16(events, plen);
	pbuf_add(events, probe, plen);
	put_u16(events, tlen);
	pbuf_add(events, text, tlen);
	return 0;
}

/* Bounds-checked reader: every get fails once the input is exhausted. */
struct rd {
	const uint8_t *p;
	const uint8_t *end;
	int bad;
};

static uint64_t
get_n(struct rd *r, size_t n)
{
	uint64_t v = 0;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return 0;
	}
	while (n-- > 0)
		v = v << 8 | *r->p++;
	return v;
}

/* Copies a length-prefixed string into out (max bytes plus NUL). */
static void
get_str(struct rd *r, char *out, size_t max)
{
	size_t n = get_n(r, 2);

	if (r->bad || n > max || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		out[0] = '\0';
		return;
	}
	memcpy(out, r->p, n);
	out[n] = '\0';
	if (memchr(out, '\0', n) != NULL)
		r->bad = 1;
	r->p += n;
}

int
proto_name_valid(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return 0;
	}
	return n > 0 && n <= PROTO_NAME_MAX;
}

int
proto_series_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > PROTO_SERIES_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];
		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return 0;
	}
	return 1;
}

int
proto_get_hello(const uint8_t *p, size_t len, struct proto_hello *h,
                const char **why)
{
	struct rd r = {p, p + len, 0};

	memset(h, 0, sizeof(*h));
	h->h_version = get_n(&r, 2);
	h->h_stream = get_n(&r, 8);
	get_str(&r, h->h_name, PROTO_NAME_MAX);
	get_str(&r, h->h_role, PROTO_ROLE_MAX);
	get_str(&r, h->h_software, PROTO_SOFTWARE_MAX);
	if (h->h_version == 2) {
		uint16_t i;
		h->h_nactions = get_n(&r, 2);
		if (h->h_nactions > PROTO_ACTIONS_MAX) {
			*why = "hello: more than 128 action names";
			return -1;
		}
		for (i = 0; i < h->h_nactions && !r.bad; i++) {
			get_str(&r, h->h_actions[i], PROTO_NAME_MAX);
			if (!r.bad && !proto_name_valid(h->h_actions[i])) {
				*why = "hello: action name empty or with "
				       "characters outside [A-Za-z0-9._-]";
				return -1;
			}
		}
	}
	/* A later version may carry more: the caller refuses it by number. */
	if (r.bad || (h->h_version <= PROTO_VERSION && r.p != r.end)) {
		*why = "malformed hello";
		return -1;
	}
	if (!proto_name_valid(h->h_name) || !proto_name_valid(h->h_role)) {
		*why = "hello: agent name or role has characters outside "
		       "[A-Za-z0-9._-]";
		return -1;
	}
	return 0;
}

int
proto_get_welcome(const uint8_t *p, size_t len, uint16_t *version,
                  uint64_t *last_seq, const char **why)
{
	struct rd r = {p, p + len, 0};

	*version = get_n(&r, 2);
	*last_seq = get_n(&r, 8);
	if (r.bad || r.p != r.end) {
		*why = "malformed welcome";
		return -1;
	}
	return 0;
}

int
proto_get_u64(const uint8_t *p, size_t len, uint64_t *v, const char **why)
{
	struct rd r = {p, p + len, 0};

	*v = get_n(&r, 8);
	if (r.bad || r.p != r.end) {
		*why = "malformed frame: expected 8 bytes";
		return -1;
	}
	return 0;
}

int
proto_get_error(const uint8_t *p, size_t len, char *text, size_t textlen)
{
	struct rd r = {p, p + len, 0};
	char buf[PROTO_TEXT_MAX + 1];

	get_str(&r, buf, PROTO_TEXT_MAX);
	if (r.bad)
		return -1;
	snprintf(text, textlen, "%s", buf);
	return 0;
}

/* Like get_str, and the text must be valid UTF-8. */
static void
get_text(struct rd *r, char *out, size_t max)
{
	get_str(r, out, max);
	if (!r->bad && !proto_text_valid(out, strlen(out)))
		r->bad = 1;
}

int
proto_get_action(const uint8_t *p, size_t len, struct proto_action *a,
                 const char **why)
{
	struct rd r = {p, p + len, 0};

	memset(a, 0, sizeof(*a));
	a->a_request = get_n(&r, 8);
	get_str(&r, a->a_name, PROTO_NAME_MAX);
	a->a_run = get_n(&r, 8);
	get_text(&r, a->a_step, PROTO_STEP_MAX);
	a->a_flags = get_n(&r, 1);
	if (r.bad || r.p != r.end) {
		*why = "malformed action";
		return -1;
	}
	if (a->a_flags & ~PROTO_ACTION_DRILL) {
		*why = "action: unknown flags";
		return -1;
	}
	if (!proto_name_valid(a->a_name)) {
		*why = "action: name empty or with characters outside "
		       "[A-Za-z0-9._-]";
		return -1;
	}
	return 0;
}

int
proto_get_action_result(const uint8_t *p, size_t len,
                        struct proto_action_result *ar, const char **why)
{
	struct rd r = {p, p + len, 0};

	ar->ar_request = get_n(&r, 8);
	ar->ar_outcome = get_n(&r, 1);
	ar->ar_status = (int32_t)(uint32_t)get_n(&r, 4);
	ar->ar_duration_ms = get_n(&r, 4);
	get_text(&r, ar->ar_output, PROTO_OUTPUT_MAX);
	get_text(&r, ar->ar_reason, PROTO_REASON_MAX);
	if (r.bad || r.p != r.end) {
		*why = "malformed action-result";
		return -1;
	}
	if (ar->ar_outcome > PROTO_OUT_LAST) {
		*why = "action-result: unknown outcome";
		return -1;
	}
	return 0;
}

const char *
proto_outcome_name(int outcome)
{
	switch (outcome) {
	case PROTO_OUT_OK:
		return "ok";
	case PROTO_OUT_FAILED:
		return "failed";
	case PROTO_OUT_REFUSED:
		return "refused";
	case PROTO_OUT_TIMEOUT:
		return "timeout";
	case PROTO_OUT_ERROR:
		return "error";
	}
	return "unknown";
}

int
proto_batch_open(struct proto_batch *b, const uint8_t *p, size_t len,
                 const char **why)
{
	struct rd r = {p, p + len, 0};

	memset(b, 0, sizeof(*b));
	b->b_seq = get_n(&r, 8);
	b->b_count = get_n(&r, 4);
	if (r.bad) {
		*why = "malformed batch header";
		return -1;
	}
	if (b->b_seq == 0) {
		*why = "batch sequence number 0";
		return -1;
	}
	/* The smallest sample is 19 bytes: reject impossible counts early. */
	if ((uint64_t)b->b_count * 19 > (uint64_t)(r.end - r.p)) {
		*why = "batch count larger than its payload";
		return -1;
	}
	b->b_p = r.p;
	b->b_end = r.end;
	return 0;
}

int
proto_batch_next(struct proto_batch *b, struct proto_sample *s,
                 const char **why)
{
	struct rd r = {b->b_p, b->b_end, 0};
	uint64_t bits;
	size_t n;

	s->s_series = NULL;
	s->s_series_len = 0;
	if (b->b_read == b->b_count)
		return 0;
	s->s_ts_us = (int64_t)get_n(&r, 8);
	bits = get_n(&r, 8);
	memcpy(&s->s_value, &bits, sizeof(bits));
	n = get_n(&r, 2);
	if (r.bad || (size_t)(r.end - r.p) < n) {
		*why = "truncated sample";
		return -1;
	}
	if (!proto_series_valid((const char *)r.p, n)) {
		*why = "series name empty, too long or with bad characters";
		return -1;
	}
	s->s_series = (const char *)r.p;
	s->s_series_len = n;
	if (!isfinite(s->s_value)) {
		*why = "value is not a finite number (NaN or infinity)";
		return -1;
	}
	r.p += n;
	b->b_p = r.p;
	b->b_read++;
	return 1;
}

int
proto_batch_next_event(struct proto_batch *b, struct proto_event *e,
                       const char **why)
{
	struct rd r = {b->b_p, b->b_end, 0};
	size_t n;

	if (b->b_read != b->b_count) {
		*why = "events read before all samples";
		return -1;
	}
	if (!b->b_in_events) {
		b->b_nevents = get_n(&r, 4);
		/* The smallest event is 13 bytes. */
		if (r.bad ||
		    (uint64_t)b->b_nevents * 13 > (uint64_t)(r.end - r.p)) {
			*why = "malformed event count";
			return -1;
		}
		b->b_in_events = 1;
		b->b_p = r.p;
	}
	if (b->b_events_read == b->b_nevents) {
		if (b->b_p != b->b_end) {
			*why = "trailing bytes after the last event";
			return -1;
		}
		return 0;
	}
	e->e_ts_us = (int64_t)get_n(&r, 8);
	n = get_n(&r, 2);
	if (r.bad || (size_t)(r.end - r.p) < n || n > PROTO_NAME_MAX ||
	    !proto_series_valid((const char *)r.p, n)) {
		*why = "event with a bad probe name";
		return -1;
	}
	e->e_probe = (const char *)r.p;
	e->e_probe_len = n;
	r.p += n;
	n = get_n(&r, 2);
	if (r.bad || (size_t)(r.end - r.p) < n || n > PROTO_EVENT_MAX ||
	    !proto_text_valid((const char *)r.p, n)) {
		*why = "event text truncated, too long or not UTF-8";
		return -1;
	}
	e->e_text = (const char *)r.p;
	e->e_text_len = n;
	r.p += n;
	b->b_p = r.p;
	b->b_events_read++;
	return 1;
}

const char *
proto_type_name(int type)
{
	switch (type) {
	case PROTO_HELLO:
		return "hello";
	case PROTO_WELCOME:
		return "welcome";
	case PROTO_BATCH:
		return "batch";
	case PROTO_ACK:
		return "ack";
	case PROTO_HEARTBEAT:
		return "heartbeat";
	case PROTO_ERROR:
		return "error";
	case PROTO_ACTION:
		return "action";
	case PROTO_ACTION_RESULT:
		return "action-result";
	}
	return "unknown";
}
