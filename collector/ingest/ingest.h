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
/* A reload: collector.agent_silence from now on. */
void ingest_set_silence(struct ingest *in, uint64_t ms);
/* Appends the per-agent metrics in Prometheus text format. */
void ingest_metrics(struct ingest *in, struct evbuffer *out);
int ingest_connected(struct ingest *in);

#endif
