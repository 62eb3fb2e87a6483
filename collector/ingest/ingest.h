/* Agent connections: TLS accept, hello, batches, acknowledgements. */
#ifndef WATCHSTAND_INGEST_H
#define WATCHSTAND_INGEST_H

#include <stdint.h>

struct collector;
struct ingest;
struct evbuffer;

struct ingest *ingest_new(struct collector *c);
void ingest_free(struct ingest *in);
/* Appends the per-agent metrics in Prometheus text format. */
void ingest_metrics(struct ingest *in, struct evbuffer *out);
int ingest_connected(struct ingest *in);

#endif
