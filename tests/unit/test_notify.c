/* Notifications, the pure parts: templates and their escaping, the short
 * SMS text, robot signatures (vectors computed with Python's hmac), how
 * answers are judged, routes, the notify config, and ack link tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "notify/acklink.h"
#include "notify/channel.h"
#include "notify/notify.h"
#include "alarm/rules.h"

static void
test_template_json(void **state)
{
	json_t *vars = json_pack("{s:s, s:i, s:f}", "summary",
	                         "quote \"feed\"\nline 2 \\ tab\t", "count", 3,
	                         "value", 0.5);
	char *out = template_render(
	    "{\"t\": \"{{summary}}\", \"n\": {{ count }}, \"v\": {{value}}, "
	    "\"x\": \"{{runbook}}\"}",
	    vars, ESC_JSON);
	json_t *doc = json_loads(out, 0, NULL);

	(void)state;
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "t")),
	                    "quote \"feed\"\nline 2 \\ tab\t");
	assert_int_equal(json_integer_value(json_object_get(doc, "n")), 3);
	assert_true(json_real_value(json_object_get(doc, "v")) == 0.5);
	/* A missing value is empty, not "null". */
	assert_string_equal(json_string_value(json_object_get(doc, "x")), "");
	json_decref(doc);
	free(out);
	json_decref(vars);
}

static void
test_template_url_and_check(void **state)
{
	json_t *vars =
	    json_pack("{s:s, s:s}", "phone", "+86 138", "text", "a&b=c");
	char *out = template_render("to={{phone}}&msg={{text}}", vars, ESC_URL);
	char err[256];

	(void)state;
	assert_string_equal(out, "to=%2B86%20138&msg=a%26b%3Dc");
	free(out);
	json_decref(vars);
	assert_int_equal(
	    template_check("{{severity}} {{ack_url}}", err, sizeof(err)), 0);
	assert_int_equal(template_check("{{severty}}", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "{{severty}}"));
	assert_int_equal(template_check("{{host", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not closed"));
}

static json_t *
message(const char *summary, const char *ack)
{
	return json_pack("{s:s, s:s, s:s, s:[], s:[{s:i, s:s, s:s, s:s, s:s, "
	                 "s:s, s:s, s:s, s:s}]}",
	                 "recipient", "alice", "phone", "+8613800000001",
	                 "email", "", "mentions", "pages", "alarm_id", 7,
	                 "rule", "quote-down", "host", "quote-01", "severity",
	                 "critical", "summary", summary, "kind", "page",
	                 "ack_url", ack, "state", "active-unacknowledged",
	                 "phase", "trading");
}

static void
test_sms_text(void **state)
{
	struct notify_channel ch = {.ch_type = CH_SMS, .ch_max_length = 60};
	const char *ack = "https://d.example/ack/7.1.YQ.abc";
	/* 40 characters of three bytes each: cut by characters, not bytes. */
	char summary[200] = "";
	json_t *msg, *vars;
	const char *text;
	size_t chars = 0, i;

	(void)state;
	for (i = 0; i < 40; i++)
		strcat(summary, "\xE8\xA1\x8C");
	msg = message(summary, ack);
	vars = channel_vars(&ch, msg);
	text = json_string_value(json_object_get(vars, "text"));
	for (i = 0; text[i]; i++)
		chars += ((unsigned char)text[i] & 0xC0) != 0x80;
	assert_true(chars <= 60);
	/* The link survives whole at the end; the summary gave way. */
	assert_non_null(strstr(text, ack));
	assert_string_equal(text + strlen(text) - strlen(ack), ack);
	assert_non_null(strstr(text, "\xE2\x80\xA6 "));
	json_decref(vars);
	json_decref(msg);
}

static void
test_signatures(void **state)
{
	char *d = channel_sign_dingtalk("SEC000test", 1700000000000LL);
	char *f = channel_sign_feishu("SEC000test", 1700000000LL);

	(void)state;
	assert_string_equal(d, "1hLl2KkRX3rps9FaitIUwaac+CtAFEaP345jvdrTL7c=");
	assert_string_equal(f, "VJoDIs2fdNFeN6NS/KG4L8NIxm+bN/FYQRhY2lP3Mf8=");
	free(d);
	free(f);
}

static enum channel_verdict
judge(enum channel_type t, CURLcode rc, long code, const char *body)
{
	struct notify_channel ch = {.ch_name = "c", .ch_type = t};
	struct channel_request req;
	char err[256];

	memset(&req, 0, sizeof(req));
	snprintf(req.cr_resp, sizeof(req.cr_resp), "%s", body);
	req.cr_resp_len = strlen(body);
	return channel_judge(&ch, rc, code, &req, err, sizeof(err));
}

static void
test_judge(void **state)
{
	(void)state;
	assert_int_equal(judge(CH_WEBHOOK, CURLE_OK, 200, ""), CV_SENT);
	assert_int_equal(judge(CH_WEBHOOK, CURLE_OK, 204, ""), CV_SENT);
	assert_int_equal(judge(CH_WEBHOOK, CURLE_OK, 500, ""), CV_RETRY);
	assert_int_equal(judge(CH_WEBHOOK, CURLE_OK, 503, ""), CV_RETRY);
	assert_int_equal(judge(CH_WEBHOOK, CURLE_OK, 429, ""), CV_RETRY);
	assert_int_equal(judge(CH_WEBHOOK, CURLE_OK, 400, ""), CV_FAILED);
	assert_int_equal(judge(CH_WEBHOOK, CURLE_OK, 404, ""), CV_FAILED);
	assert_int_equal(judge(CH_WEBHOOK, CURLE_OPERATION_TIMEDOUT, 0, ""),
	                 CV_RETRY);
	assert_int_equal(judge(CH_WEBHOOK, CURLE_COULDNT_CONNECT, 0, ""),
	                 CV_RETRY);
	assert_int_equal(judge(CH_DINGTALK, CURLE_OK, 200,
	                       "{\"errcode\":0,\"errmsg\":\"ok\"}"),
	                 CV_SENT);
	assert_int_equal(
	    judge(CH_DINGTALK, CURLE_OK, 200,
	          "{\"errcode\":310000,\"errmsg\":\"sign not match\"}"),
	    CV_FAILED);
	assert_int_equal(judge(CH_DINGTALK, CURLE_OK, 200,
	                       "{\"errcode\":130101,\"errmsg\":\"too fast\"}"),
	                 CV_RETRY);
	assert_int_equal(judge(CH_FEISHU, CURLE_OK, 200,
	                       "{\"code\":19021,\"msg\":\"sign match fail\"}"),
	                 CV_FAILED);
	assert_int_equal(judge(CH_SMTP, CURLE_OK, 250, ""), CV_SENT);
	assert_int_equal(judge(CH_SMTP, CURLE_SEND_ERROR, 451, ""), CV_RETRY);
	assert_int_equal(judge(CH_SMTP, CURLE_SEND_ERROR, 550, ""), CV_FAILED);
}

static int
phases(void *arg, const char *p)
{
	(void)arg;
	return strcmp(p, "trading") == 0 || strcmp(p, "closed") == 0;
}

/* Loads a notify: section; returns the number of errors. */
static int
load(const char *yaml, struct notify_conf *nc)
{
	char path[] = "/tmp/ws-notify-XXXXXX";
	int fd = mkstemp(path), errors;
	struct yconf yc;

	assert_true(write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
	close(fd);
	assert_int_equal(yconf_load(&yc, path), 0);
	notify_configure(nc, &yc, yconf_root(&yc), path, phases, NULL);
	errors = yc.yc_errors;
	yconf_free(&yc);
	unlink(path);
	return errors;
}

static void
test_routes(void **state)
{
	struct notify_conf nc;
	const struct notify_route *r;

	(void)state;
	assert_int_equal(
	    load("secret_file: k\n"
	         "channels: [{name: hook, type: webhook, url: "
	         "'http://127.0.0.1:1/x'}]\n"
	         "routes:\n"
	         "  - match: {severity: '>= major', phase: [trading], role: "
	         "'quote*'}\n"
	         "    escalation: [{channels: [hook]}, {after: 5m, channels: "
	         "[hook], to: ['role:lead']}]\n",
	         &nc),
	    0);
	r = &nc.nc_routes[0];
	assert_string_equal(r->nr_name, "route-1");
	assert_int_equal(r->nr_nsteps, 2);
	assert_int_equal(r->nr_steps[1].ns_after_ms, 300000);
	assert_true(r->nr_steps[1].ns_unacked);
	assert_true(notify_route_matches(r, SEV_CRITICAL, "trading", "quote",
	                                 "q1", "down"));
	assert_true(notify_route_matches(r, SEV_MAJOR, "trading", "quote-fx",
	                                 "q1", "down"));
	assert_false(notify_route_matches(r, SEV_MINOR, "trading", "quote",
	                                  "q1", "down"));
	assert_false(notify_route_matches(r, SEV_CRITICAL, "closed", "quote",
	                                  "q1", "down"));
	assert_false(notify_route_matches(r, SEV_CRITICAL, "trading", "db",
	                                  "q1", "down"));
	/* Defaults: 10 s groups, 10 per 10 minutes. */
	assert_int_equal(nc.nc_channels[0].ch_group_wait_ms, 10000);
	assert_int_equal(nc.nc_channels[0].ch_rate_count, 10);
	assert_int_equal(nc.nc_channels[0].ch_rate_per_ms, 600000);
	notify_conf_free(&nc);
}

static void
test_bad_config(void **state)
{
	struct notify_conf nc;

	(void)state;
	/* An unknown channel in a step, a bad severity, an unknown phase, an
	 * unknown placeholder, an SMS gateway without {{phone}}, a robot
	 * without its secret, steps out of order; on-duty and lead are fine
	 * (the shift roster), and so is no secret_file (the key then lives in
	 * collector.state_dir). */
	assert_int_equal(
	    load("channels:\n"
	         "  - {name: h, type: webhook, url: 'http://x/', body: "
	         "'{{nope}}'}\n"
	         "  - {name: s, type: sms, url: 'http://x/'}\n"
	         "  - {name: d, type: dingtalk, url: 'http://x/'}\n"
	         "  - {name: m, type: smtp, url: 'http://x/', from: a@b}\n"
	         "routes:\n"
	         "  - match: {severity: '>= huge', phase: [lunch]}\n"
	         "    escalation:\n"
	         "      - {after: 5m, channels: [h, pager]}\n"
	         "      - {after: 1m, channels: [h], to: [on-duty, lead]}\n",
	         &nc),
	    8);
	notify_conf_free(&nc);
}

static void
test_acklink(void **state)
{
	const unsigned char key[] = "0123456789abcdef0123456789abcdef";
	const unsigned char other[] = "fedcba9876543210fedcba9876543210";
	char *t = acklink_token(key, 32, 42, "bob", 2000000000);
	char who[ACKLINK_RECIPIENT_MAX + 1], sig[64], *bad;
	int64_t alarm = 0;

	(void)state;
	assert_int_equal(acklink_verify(key, 32, t, 1900000000, &alarm, who,
	                                sizeof(who), sig, sizeof(sig)),
	                 ACKLINK_OK);
	assert_int_equal(alarm, 42);
	assert_string_equal(who, "bob");
	assert_int_equal(strlen(sig), 22);
	assert_int_equal(acklink_verify(key, 32, t, 2000000001, &alarm, who,
	                                sizeof(who), sig, sizeof(sig)),
	                 ACKLINK_EXPIRED);
	assert_int_equal(acklink_verify(other, 32, t, 1900000000, &alarm, who,
	                                sizeof(who), sig, sizeof(sig)),
	                 ACKLINK_BAD);
	/* Another alarm, a later expiry, another recipient: all refused. */
	bad = strdup(t);
	bad[0] = '3';
	assert_int_equal(acklink_verify(key, 32, bad, 1900000000, &alarm, who,
	                                sizeof(who), sig, sizeof(sig)),
	                 ACKLINK_BAD);
	free(bad);
	bad = strdup(t);
	bad[3] = '3';
	assert_int_equal(acklink_verify(key, 32, bad, 1900000000, &alarm, who,
	                                sizeof(who), sig, sizeof(sig)),
	                 ACKLINK_BAD);
	free(bad);
	bad = strdup(t);
	*strchr(strchr(strchr(bad, '.') + 1, '.') + 1, 'Y') = 'Z';
	assert_int_equal(acklink_verify(key, 32, bad, 1900000000, &alarm, who,
	                                sizeof(who), sig, sizeof(sig)),
	                 ACKLINK_BAD);
	free(bad);
	assert_int_equal(acklink_verify(key, 32, "", 0, &alarm, who,
	                                sizeof(who), sig, sizeof(sig)),
	                 ACKLINK_BAD);
	assert_int_equal(acklink_verify(key, 32, "1.2.3.4.5", 0, &alarm, who,
	                                sizeof(who), sig, sizeof(sig)),
	                 ACKLINK_BAD);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_template_json),
	    cmocka_unit_test(test_template_url_and_check),
	    cmocka_unit_test(test_sms_text),
	    cmocka_unit_test(test_signatures),
	    cmocka_unit_test(test_judge),
	    cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_bad_config),
	    cmocka_unit_test(test_acklink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
