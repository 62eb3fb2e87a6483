/*
 * Channels: how one message (one or more pages to one recipient) becomes
 * a request of a webhook, an SMS gateway, WeCom, DingTalk, Feishu, Slack or
 * SMTP, and how the answer is judged (sent, worth a retry, or failed for
 * good). Pure apart from libcurl handles: nothing here reads a clock.
 */
#ifndef WATCHSTAND_CHANNEL_H
#define WATCHSTAND_CHANNEL_H

#include <stddef.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "notify/notify_types.h"

/* Placeholders a template may use. */
extern const char *const template_names[];

enum template_escape { ESC_NONE, ESC_JSON, ESC_URL };

/* -1 with a reason when a {{placeholder}} is unknown or unterminated. */
int template_check(const char *tmpl, char *err, size_t len);
/* {{name}} replaced by vars' member name (strings or numbers), escaped. */
char *template_render(const char *tmpl, json_t *vars, enum template_escape esc);

/*
 * A message: {"recipient", "phone", "email", "mentions": [phones],
 * "pages": [{alarm_id, rule, host, role, series, severity, value, phase,
 * state, summary, runbook, time, kind, ack_url}, ...]}; pages most severe
 * first. now is the send time (signatures, Date header).
 */
struct channel_request {
	char *cr_url;
	char *cr_method;
	struct curl_slist *cr_headers;
	char *cr_body; /* smtp: the text of the mail */
	size_t cr_len;
	char *cr_from; /* smtp */
	struct curl_slist *cr_rcpt;
	struct curl_slist *cr_mail_headers; /* smtp: Date, From, To, ... */
	curl_mime *cr_mime; /* smtp: built by libcurl at setup */
	char cr_resp[2048]; /* the start of the answer */
	size_t cr_resp_len;
	char cr_curl_error[CURL_ERROR_SIZE];
	char cr_error[256];
};

/* 0, or -1 with cr_error (e.g. an SMS recipient without a phone). */
int channel_render(const struct notify_channel *ch, json_t *msg, time_t now,
                   const char *message_id, struct channel_request *req);
void channel_request_free(struct channel_request *req);
/* Sets up easy for req (which must outlive the transfer). */
void channel_easy_setup(const struct notify_channel *ch, CURL *easy,
                        struct channel_request *req);

/*
 * Whether addr is a plausible addr-spec (dot-atom local part, a domain of
 * letter-digit-hyphen labels; no line breaks); why it is not in why.
 */
int channel_mail_addr_ok(const char *addr, char *why, size_t len);

enum channel_verdict { CV_SENT, CV_RETRY, CV_FAILED };
/* What the answer means; why in err. */
enum channel_verdict channel_judge(const struct notify_channel *ch, CURLcode rc,
                                   long code, const struct channel_request *req,
                                   char *err, size_t len);

/* The variables of a message for templates (a new object). */
json_t *channel_vars(const struct notify_channel *ch, json_t *msg);
/* Signature of a DingTalk / Feishu robot request at ts (ms / s). */
char *channel_sign_dingtalk(const char *secret, long long ts_ms);
char *channel_sign_feishu(const char *secret, long long ts_s);

#endif
