/* The agent: probes on timers feeding one uplink through an on-disk spool. */
#ifndef WATCHSTAND_AGENT_H
#define WATCHSTAND_AGENT_H

#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "watchstand/yconf.h"

#define AGENT_VERSION "0.1.0"

struct uplink;
struct probe;
struct evdns_base;

/* One probe type: an entry in probe.c's static table. */
struct probe_type {
	const char *pt_name;
	const char *const *pt_keys; /* config keys beyond name/type/interval */
	/* Reads its keys under path; reports errors through yc, returns -1. */
	int (*pt_configure)(struct probe *, struct yconf *, yaml_node_t *,
	                    const char *path);
	/* Called by the probe's timer; emits with probe_sample(). */
	void (*pt_run)(struct probe *);
	void (*pt_free)(struct probe *);
};

struct probe {
	char *pr_name;
	const struct probe_type *pr_type;
	uint64_t pr_interval_ms;
	void *pr_state;
	struct event *pr_timer;
	struct event_base *pr_base; /* for probes that work asynchronously */
	struct evdns_base *pr_dns;
	/* Where samples go: the uplink, or a test's or benchmark's sink. */
	void (*pr_emit)(void *arg, int64_t ts_us, const char *series,
	                double value);
	void (*pr_emit_event)(void *arg, int64_t ts_us, const char *probe,
	                      const char *text);
	void *pr_emit_arg;
	int pr_every;      /* the timer runs every interval (after the first) */
	int64_t pr_now_us; /* wall-clock time of the current run */
	double pr_mono_s;  /* monotonic time of the current run */
};

struct agent_action {
	char *ac_name;
	char **ac_run;
	uint64_t ac_timeout_ms;
	char *ac_user; /* NULL: the agent's own user */
	int ac_drill;  /* may run in a drill (see docs/agent.md) */
};

struct agent_conf {
	char *ac_name;
	char *ac_role;
	char **ac_collectors;
	size_t ac_ncollectors;
	char *ac_tls_ca;
	char *ac_tls_cert;
	char *ac_tls_key;
	char *ac_spool_dir;
	uint64_t ac_spool_max_size;
	uint64_t ac_spool_max_age_ms;
	uint64_t ac_spool_sync_ms; /* fdatasync period of the spool */
	uint64_t ac_flush_ms;
	struct probe **ac_probes;
	size_t ac_nprobes;
	struct agent_action *ac_actions;
	size_t ac_nactions;
};

/* config.c */
int agent_conf_load(const char *file, struct agent_conf *conf);
/* The same; with err, the first error (and how many more) goes there and
 * no "not starting" line is printed. */
int agent_conf_read(const char *file, struct agent_conf *conf, char *err,
                    size_t errlen);
void agent_conf_free(struct agent_conf *conf);

/* reload.c: SIGHUP. The new file is read and checked whole; on an error,
 * or a change only a restart applies (agent.name, role, collectors, tls,
 * spool, flush), the running probes stay. Otherwise the old probes stop,
 * the new ones start and the actions are swapped; the uplink (its
 * connection, spool and sequence numbers) is not touched. 0 with a
 * summary in msg, -1 with the reason. */
int agent_reload(struct agent_conf *conf, const char *file,
                 struct event_base *base, struct uplink *up, char *msg,
                 size_t len);
/* Keys only a restart applies that differ ("agent.collectors, agent.tls"):
 * -1 with their names in buf, else 0. */
int agent_reload_fixed(const struct agent_conf *run,
                       const struct agent_conf *next, char *buf, size_t len);
/* "probes 4 (+1 -0), actions 2 (+0 -1)". */
void agent_reload_summary(const struct agent_conf *run,
                          const struct agent_conf *next, char *buf, size_t len);

/* probe.c */
/* The type, loading its module on first use; NULL with why in err. */
const struct probe_type *probe_type_find(const char *name, char *err,
                                         size_t errlen);
struct probe *probe_configure(struct yconf *yc, yaml_node_t *node,
                              const char *path);
int probe_start(struct probe *p, struct event_base *base, struct uplink *up);
/* Runs the probe once now, as its timer would. */
void probe_run_now(struct probe *p);
void probe_free(struct probe *p);
/* Emits "<probe>[.<instance>].<metric>" = value at the run's time. */
void probe_sample(struct probe *p, const char *instance, const char *metric,
                  double value);
/* Emits a key event of this probe (a matched line, a plugin summary). */
void probe_event(struct probe *p, const char *text);
/* Where /proc lives: "/proc", or a fixture tree in tests. */
const char *probe_proc_root(void);

/* counter.c: per-interval deltas of monotonically increasing counters. */
int counter_delta(uint64_t prev, uint64_t cur, uint64_t *delta);

/* probe_proc.c: parsing helpers exposed for unit tests. */
struct proc_stat {
	pid_t ps_pid;
	pid_t ps_ppid;
	pid_t ps_pgrp;
	char ps_comm[64];
	char ps_state;
	uint64_t ps_utime;
	uint64_t ps_stime;
	uint64_t ps_starttime;
	uint64_t ps_rss_pages;
};
int probe_proc_parse_stat(const char *buf, struct proc_stat *ps);
int probe_proc_read_uid(const char *root, pid_t pid, uid_t *uid);

/* probe_netif.c */
struct netif_counters {
	char nc_name[32];
	uint64_t nc_rx_bytes, nc_rx_errs, nc_rx_drop;
	uint64_t nc_tx_bytes, nc_tx_errs, nc_tx_drop;
};
/* Parses /proc/net/dev text; returns the number of interfaces or -1. */
int probe_netif_parse(const char *text, struct netif_counters *out, int max);

extern const struct probe_type probe_type_process;
extern const struct probe_type probe_type_netif;
extern const struct probe_type probe_type_filesystem;
extern const struct probe_type probe_type_tcp;
extern const struct probe_type probe_type_file_age;
extern const struct probe_type probe_type_logfile;
extern const struct probe_type probe_type_exec;
/* In modules (module.h), found by name: probe_type_http (http),
 * probe_type_postgres (pg), probe_type_snmp_{if,storage,get,trap} (snmp). */
extern const struct probe_type probe_type_http;
extern const struct probe_type probe_type_postgres;
extern const struct probe_type probe_type_snmp_if;
extern const struct probe_type probe_type_snmp_storage;
extern const struct probe_type probe_type_snmp_get;
extern const struct probe_type probe_type_snmp_trap;

#endif
