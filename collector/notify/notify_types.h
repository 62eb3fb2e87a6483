/* The notification config's types: channels, escalation steps, routes.
 * Types only, so channels and the config can share them without
 * including each other. */
#ifndef WATCHSTAND_NOTIFY_TYPES_H
#define WATCHSTAND_NOTIFY_TYPES_H

#include <stddef.h>
#include <stdint.h>

enum channel_type {
	CH_WEBHOOK,
	CH_SMS,
	CH_WECOM,
	CH_DINGTALK,
	CH_FEISHU,
	CH_SLACK,
	CH_SMTP,
};

struct notify_channel {
	char *ch_name;
	enum channel_type ch_type;
	char *ch_url;
	char *ch_method;   /* webhook, sms */
	char **ch_headers; /* "Name: value" */
	char *ch_body;     /* template; NULL: the channel's default */
	char *ch_secret;   /* dingtalk, feishu signing */
	uint64_t ch_max_length;
	char *ch_from; /* smtp */
	char **ch_to;  /* addresses used when a step names nobody */
	char *ch_username;
	char *ch_password;
	int ch_starttls;
	char *ch_ca;
	uint64_t ch_timeout_ms;
	uint64_t ch_group_wait_ms;
	uint64_t ch_rate_count;
	uint64_t ch_rate_per_ms;
};

struct notify_step {
	uint64_t ns_after_ms;
	char **ns_channels;
	char **ns_to; /* logins, role:NAME, +phone, mail@address */
	int ns_unacked;
};

enum sev_cmp {
	SEVCMP_ANY,
	SEVCMP_GE,
	SEVCMP_GT,
	SEVCMP_EQ,
	SEVCMP_LE,
	SEVCMP_LT
};

struct notify_route {
	char *nr_name;
	enum sev_cmp nr_sev_cmp;
	int nr_severity;
	char **nr_phases; /* NULL: any */
	char *nr_role;    /* globs; NULL: any */
	char *nr_host;
	char *nr_rule;
	struct notify_step *nr_steps;
	size_t nr_nsteps;
	uint64_t nr_repeat_ms;
	int nr_send_clear;
	int nr_continue;
};

struct notify_conf {
	char *nc_secret_file;
	uint64_t nc_ack_ttl_ms;
	uint64_t nc_group_wait_ms;
	uint64_t nc_rate_count;
	uint64_t nc_rate_per_ms;
	uint64_t nc_retry_first_ms;
	uint64_t nc_retry_max_ms;
	uint64_t nc_retry_deadline_ms;
	struct notify_channel *nc_channels;
	size_t nc_nchannels;
	struct notify_route *nc_routes;
	size_t nc_nroutes;
};

#endif
