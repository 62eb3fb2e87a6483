/* The agent's link to its collectors: batching, TLS, replay from spool. */
#ifndef WATCHSTAND_UPLINK_H
#define WATCHSTAND_UPLINK_H

#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

struct agent_conf;
struct proto_action;
struct proto_action_result;
struct spool;
struct uplink;

struct uplink *uplink_new(struct event_base *base,
                          const struct agent_conf *conf, struct spool *sp,
                          SSL_CTX *ctx);
void uplink_free(struct uplink *up);
void uplink_start(struct uplink *up);
/* The agent's one asynchronous resolver, shared with probes. */
struct evdns_base *uplink_dns(struct uplink *up);
/* Seals the open batch into the spool (at shutdown too). */
void uplink_flush(struct uplink *up);
void uplink_add(struct uplink *up, int64_t ts_us, const char *series,
                double value);
/* A key event of a probe (text cut to 2 KiB, made valid UTF-8). */
void uplink_add_event(struct uplink *up, int64_t ts_us, const char *probe,
                      const char *text);

/* Where action frames from the collector go (the action runner). */
void uplink_set_action_handler(struct uplink *up,
                               void (*fn)(void *arg,
                                          const struct proto_action *a),
                               void *arg);
/* Sends an action's result now, or after the next welcome when the link
 * is down (the newest UPLINK_RESULTS_MAX are kept). */
void uplink_action_result(void *up, const struct proto_action_result *r);

#endif
