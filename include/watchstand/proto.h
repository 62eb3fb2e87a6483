/*
 * The agent <-> collector wire protocol (docs/protocol.md): length-prefixed
 * binary frames inside TLS. Encoding and decoding are pure functions so they
 * can be unit-tested and fuzzed without a network.
 */
#ifndef WATCHSTAND_PROTO_H
#define WATCHSTAND_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 2     /* what this build speaks */
#define PROTO_VERSION_MIN 1 /* still accepted: samples only, no actions */
#define PROTO_HDR_LEN 5     /* u32 length + u8 type */
#define PROTO_FRAME_MAX (4u << 20) /* length field limit */
#define PROTO_NAME_MAX 64
#define PROTO_ROLE_MAX 32
#define PROTO_SOFTWARE_MAX 32
#define PROTO_SERIES_MAX 200
#define PROTO_TEXT_MAX 1024
#define PROTO_EVENT_MAX 2048  /* bytes of an event's text */
#define PROTO_ACTIONS_MAX 128 /* action names in a version 2 hello */
#define PROTO_STEP_MAX 128    /* bytes of a checklist step's name */
#define PROTO_OUTPUT_MAX 4096 /* bytes of an action's output tail */
#define PROTO_REASON_MAX 1024 /* bytes of a refusal's or error's reason */

enum proto_type {
	PROTO_HELLO = 1,     /* agent: version, name, role, software */
	PROTO_WELCOME = 2,   /* collector: version, last stored seq */
	PROTO_BATCH = 3,     /* agent: seq, samples */
	PROTO_ACK = 4,       /* collector: seq committed */
	PROTO_HEARTBEAT = 5, /* both: sender's clock */
	PROTO_ERROR = 6,     /* collector: why it is closing */
	PROTO_ACTION = 7,    /* collector (v2): run an action of the agent */
	PROTO_ACTION_RESULT = 8, /* agent (v2): how the action ended */
};

/* How an action ended (action-result's outcome byte). */
enum proto_outcome {
	PROTO_OUT_OK = 0,      /* exited 0 */
	PROTO_OUT_FAILED = 1,  /* exited non-zero, or killed by a signal */
	PROTO_OUT_REFUSED = 2, /* not run: unknown name, already running */
	PROTO_OUT_TIMEOUT = 3, /* killed at its timeout */
	PROTO_OUT_ERROR = 4,   /* could not be started */
};
#define PROTO_OUT_LAST PROTO_OUT_ERROR

/* A growable byte buffer that encoders append to. */
struct pbuf {
	uint8_t *pb_data;
	size_t pb_len;
	size_t pb_cap;
};

void pbuf_init(struct pbuf *pb);
void pbuf_free(struct pbuf *pb);
void pbuf_reset(struct pbuf *pb);
void pbuf_add(struct pbuf *pb, const void *data, size_t len);

struct proto_hello {
	uint16_t h_version;
	uint64_t h_stream; /* the agent spool's sequence stream */
	char h_name[PROTO_NAME_MAX + 1];
	char h_role[PROTO_ROLE_MAX + 1];
	char h_software[PROTO_SOFTWARE_MAX + 1];
	/* Version 2: the names in the agent's actions: (0 in version 1). */
	uint16_t h_nactions;
	char h_actions[PROTO_ACTIONS_MAX][PROTO_NAME_MAX + 1];
};

/* collector -> agent: run the action a_name for step a_step of run a_run. */
struct proto_action {
	uint64_t a_request; /* chosen by the collector, echoed in the result */
	char a_name[PROTO_NAME_MAX + 1];
	uint64_t a_run;
	char a_step[PROTO_STEP_MAX + 1];
	uint8_t a_flags; /* PROTO_ACTION_DRILL */
};
#define PROTO_ACTION_DRILL 0x01 /* a drill: run only actions with drill: */

/* agent -> collector: how the action of request ar_request ended. */
struct proto_action_result {
	uint64_t ar_request;
	uint8_t ar_outcome; /* enum proto_outcome */
	int32_t ar_status;  /* exit code, -N for signal N, 0 if not run */
	uint32_t ar_duration_ms;
	char ar_output[PROTO_OUTPUT_MAX + 1]; /* last bytes of stdout+stderr */
	char ar_reason[PROTO_REASON_MAX + 1]; /* for refused and error */
};

struct proto_sample {
	int64_t s_ts_us; /* Unix epoch, microseconds */
	double s_value;
	const char *s_series; /* not NUL-terminated when decoded */
	uint16_t s_series_len;
};

/* A key event (a matched log line, a plugin's summary). */
struct proto_event {
	int64_t e_ts_us;
	const char *e_probe; /* not NUL-terminated when decoded */
	uint16_t e_probe_len;
	const char *e_text;
	uint16_t e_text_len;
};

/* Cursor over a received BATCH payload: samples, then events. */
struct proto_batch {
	uint64_t b_seq;
	uint32_t b_count;
	uint32_t b_read;
	int b_in_events;
	uint32_t b_nevents;
	uint32_t b_events_read;
	const uint8_t *b_p;
	const uint8_t *b_end;
};

/*
 * Looks at the start of a receive buffer. Returns 1 and the whole frame's
 * length when a frame is complete, 0 when more bytes are needed, -1 with a
 * reason when the header is unacceptable (the peer must be dropped).
 */
int proto_frame_check(const uint8_t *buf, size_t len, size_t *frame_len,
                      const char **why);

/* Encoders append one whole frame to pb. */
void proto_put_hello(struct pbuf *pb, const struct proto_hello *h);
void proto_put_welcome(struct pbuf *pb, uint16_t version, uint64_t last_seq);
void proto_put_ack(struct pbuf *pb, uint64_t seq);
void proto_put_heartbeat(struct pbuf *pb, int64_t ts_us);
void proto_put_error(struct pbuf *pb, const char *text);
void proto_put_action(struct pbuf *pb, const struct proto_action *a);
/* Output and reason are cut to their limits at whole UTF-8 characters and
 * must already be valid UTF-8 (see proto_text_clean). */
void proto_put_action_result(struct pbuf *pb,
                             const struct proto_action_result *r);

/* A batch is built in place: begin, add samples, end (patches the header). */
size_t proto_batch_begin(struct pbuf *pb, uint64_t seq);
int proto_batch_add(struct pbuf *pb, int64_t ts_us, const char *series,
                    double value);
/* Events are collected apart (they follow all samples on the wire). */
int proto_event_add(struct pbuf *events, int64_t ts_us, const char *probe,
                    const char *text);
void proto_batch_end(struct pbuf *pb, size_t start, uint32_t count,
                     const struct pbuf *events, uint32_t nevents);

/* Decoders take a frame's payload (after the 5-byte header). */
int proto_get_hello(const uint8_t *p, size_t len, struct proto_hello *h,
                    const char **why);
int proto_get_welcome(const uint8_t *p, size_t len, uint16_t *version,
                      uint64_t *last_seq, const char **why);
int proto_get_u64(const uint8_t *p, size_t len, uint64_t *v, const char **why);
int proto_get_error(const uint8_t *p, size_t len, char *text, size_t textlen);
int proto_get_action(const uint8_t *p, size_t len, struct proto_action *a,
                     const char **why);
int proto_get_action_result(const uint8_t *p, size_t len,
                            struct proto_action_result *r, const char **why);
const char *proto_outcome_name(int outcome);
int proto_batch_open(struct proto_batch *b, const uint8_t *p, size_t len,
                     const char **why);
/* 1 with the next sample, 0 at the end, -1 on a malformed sample (then
 * s_series names it when its name could be read, else it is NULL). A
 * value that is NaN or infinite is malformed. */
int proto_batch_next(struct proto_batch *b, struct proto_sample *s,
                     const char **why);

/* 1 with the next event, 0 at the end (all samples must be read first). */
int proto_batch_next_event(struct proto_batch *b, struct proto_event *e,
                           const char **why);
/* Makes text valid UTF-8 without NUL, in place; returns its length. */
size_t proto_text_clean(char *text, size_t len);
int proto_text_valid(const char *s, size_t len);

/* Series names: printable ASCII without spaces or backslashes, 1..200. */
int proto_series_valid(const char *s, size_t len);
int proto_name_valid(const char *s);

const char *proto_type_name(int type);

#endif
