/* Agent connections: TLS accept, hello, batches, acknowledgements. */
#ifndef WATCHSTAND_INGEST_H
#define WATCHSTAND_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct collector_stats;
struct event_base;
struct evbuffer;
struct events;
struct ingest;
struct store;

/* How an agent's action ended (an action-result frame, docs/protocol.md).
 * Strings are valid during the callback only. */
struct action_result {
	const char *ax_host; /* the agent that answered */
	uint64_t ax_request;
	int ax_outcome;    /* enum proto_outcome: ok, failed, refused, ... */
	int32_t ax_status; /* exit code, -N for signal N, 0 if not run */
	uint32_t ax_duration_ms;
	const char *ax_output; /* the last 4 KiB of stdout and stderr */
	const char *ax_reason; /* why it was refused or could not run */
	/* What was asked; NULL and 0 for a request this process did not
	 * send (ih_action_result). */
	const char *ax_action;
	uint64_t ax_run_id;
	const char *ax_step;
};

typedef void (*ingest_action_fn)(void *arg, const struct action_result *r);

/* What the ingest tells whoever owns the rules and alarms. */
struct ingest_hooks {
	/* A batch of host was committed (not a replay stored before). */
	void (*ih_batch)(void *arg, const char *host, const char *role,
	                 const uint8_t *payload, size_t len);
	/* host sent nothing for agent_silence (1, why says more), or sent
	 * again (0). */
	void (*ih_silent)(void *arg, const char *host, int silent,
	                  const char *why);
	void *ih_arg;
	/* An action result whose request id this process does not know (it
	 * was sent before a restart): match it by ax_request and ax_host.
	 * After ih_arg so that positional initialisers stay valid. */
	void (*ih_action_result)(void *arg, const struct action_result *r);
};

struct ingest_deps {
	struct event_base *id_base;
	SSL_CTX *id_ctx;
	struct store *id_store; /* main's; the ingest takes its callbacks */
	struct events *id_events;
	struct collector_stats *id_stats;
	const char *id_listen;  /* IP:port */
	uint64_t id_silence_ms; /* collector.agent_silence */
	struct ingest_hooks id_hooks;
};

struct ingest *ingest_new(const struct ingest_deps *d);
void ingest_free(struct ingest *in);
/* host sent a batch age_s ago through another collector (the follower's
 * feed, or agents.last_seen when this collector takes the lead): its
 * silence is judged from the newest batch, whichever collector had it. */
void ingest_note_batch(struct ingest *in, const char *host, const char *role,
                       double age_s);
/* host is known silent (its alarm was open when this collector took
 * the lead): its next batch reports it back. */
void ingest_note_silent(struct ingest *in, const char *host);
/* A reload: collector.agent_silence from now on. */
void ingest_set_silence(struct ingest *in, uint64_t ms);
/* Appends the per-agent metrics in Prometheus text format. */
void ingest_metrics(struct ingest *in, struct evbuffer *out);
int ingest_connected(struct ingest *in);

/*
 * Asks agent host to run its action for step of run run_id. -1 at once,
 * with the reason in err ("agent X is not connected"), when it cannot be
 * sent. Otherwise 0, the request id in *request (unique across restarts:
 * store it to match a late result), and done(arg, r) once when the result
 * arrives, on this or a later connection of the agent. drill: the run is
 * a drill, and the agent refuses actions without drill: true.
 */
int ingest_action(struct ingest *in, const char *host, const char *action,
                  uint64_t run_id, const char *step, int drill,
                  ingest_action_fn done, void *arg, uint64_t *request,
                  char *err, size_t errlen);
/*
 * The leader of a pair: an action for an agent not connected here goes to
 * fn (ingest/relay.c), which hands it to the other collector through
 * the database; -1 with err when it cannot. Its result comes back through
 * ingest_action_resolve. NULL: not connected is an error at once.
 */
struct proto_action;
typedef int (*ingest_relay_fn)(void *arg, const char *host,
                               const struct proto_action *a, char *err,
                               size_t errlen);
void ingest_set_relay(struct ingest *in, ingest_relay_fn fn, void *arg);
/* The follower's side of a relayed action: sends a (its request id the
 * leader's) to connected agent host; done as for ingest_action. */
int ingest_action_send(struct ingest *in, const char *host,
                       const struct proto_action *a, ingest_action_fn done,
                       void *arg, char *err, size_t errlen);
/* A result: to the request waiting for it (by request id and host), else
 * to ih_action_result; from an agent here, or relayed by the other
 * collector. */
void ingest_action_resolve(struct ingest *in, const struct action_result *r);
/* The names of the agents connected here, a JSON array (malloc'd). */
char *ingest_connected_json(struct ingest *in);
/* Forgets a request (a run given up): done will not be called; a late
 * result goes to ih_action_result. */
void ingest_action_cancel(struct ingest *in, uint64_t request);
/* 1 if connected host said in its hello it has action, 0 if it said it
 * has not, -1 when it is not known (not connected, or protocol 1). */
int ingest_agent_has_action(struct ingest *in, const char *host,
                            const char *action);

#endif
