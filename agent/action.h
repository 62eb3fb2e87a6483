/*
 * Checklist actions: the collector names an action of agent.yaml's
 * actions:, the agent runs it (argv, no shell, its own process group, a
 * clean environment, maybe another user) and answers with an action-result.
 * The agent never runs a name it does not have.
 */
#ifndef WATCHSTAND_ACTION_H
#define WATCHSTAND_ACTION_H

#include <stddef.h>

#include <event2/event.h>

#include "watchstand/proto.h"

struct agent_action;
struct agent_conf;
struct child_result;
struct action_runner;

#define ACTION_GRACE_MS 5000 /* SIGTERM at the timeout, SIGKILL after */

/* Where results go (the uplink sends them or keeps them for later). */
typedef void (*action_send_fn)(void *arg, const struct proto_action_result *r);

struct action_runner *action_runner_new(struct event_base *base,
                                        const struct agent_conf *conf,
                                        action_send_fn send, void *arg);
/* Kills what still runs (as a group) and frees. */
void action_runner_free(struct action_runner *ar);
/* An action frame: runs it, or refuses at once through send. */
void action_request(struct action_runner *ar, const struct proto_action *a);
/* For the uplink's frame handler, which knows only a void pointer. */
void action_request_cb(void *arg, const struct proto_action *a);

/* Pure parts, unit-tested. */
const struct agent_action *action_find(const struct agent_conf *conf,
                                       const char *name);
/* A child's end as an action-result (outcome, status, duration, tail). */
void action_result_from(const struct child_result *cr, uint64_t timeout_ms,
                        struct proto_action_result *r);
/* The last PROTO_OUTPUT_MAX bytes of out, from a character boundary,
 * made valid UTF-8; returns the length copied into dst. */
size_t action_tail(const char *out, size_t len, char *dst, size_t dstlen);
/* "PATH=..." and, when lang is set, "LANG=..."; NULL-terminated. */
char **action_env(const char *path, const char *lang);

#endif
