/* channel: mail addresses taken from the users table before they become
 * a header and the SMTP envelope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "notify/channel.h"

static void
test_addr_good(void **state)
{
	const char *good[] = {"alice@example.test", "a.b+tag@mail.example.org",
	                      "x@localhost", "o'brien@ex-ample.test",
	                      "j\xc3\xb6rg@example.test"};
	char why[96];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(channel_mail_addr_ok(good[i], why, sizeof(why)));
}

static void
test_addr_bad(void **state)
{
	static const struct {
		const char *addr, *why;
	} bad[] = {
	    {"alice@example.test\r\nBcc: eve@evil.test", "line break"},
	    {"alice@example.test\n", "line break"},
	    {"alice", "not local@domain"},
	    {"@example.test", "not local@domain"},
	    {"alice@", "not local@domain"},
	    {"Alice <alice@example.test>", "before the @"},
	    {"a lice@example.test", "before the @"},
	    {".alice@example.test", "before the @"},
	    {"al..ice@example.test", "before the @"},
	    {"alice@exa mple.test", "domain"},
	    {"alice@example..test", "domain"},
	    {"alice@-example.test", "domain"},
	    {"alice@example.test.", "domain"},
	    {"alice@[127.0.0.1]", "domain"},
	    {"", "not local@domain"},
	};
	char why[96];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(
		    channel_mail_addr_ok(bad[i].addr, why, sizeof(why)));
		assert_non_null(strstr(why, bad[i].why));
	}
}

static json_t *
mail_msg(const char *email)
{
	return json_pack("{s:s, s:s, s:s, s:[], s:[{s:I, s:s, s:s, s:s, s:s, "
	                 "s:s, s:f, s:s, s:s, s:s, s:s, s:s, s:s, s:s}]}",
	                 "recipient", "alice", "phone", "", "email", email,
	                 "mentions", "pages", "alarm_id", (json_int_t)7, "rule",
	                 "disk", "host", "h1", "role", "db", "series",
	                 "fs.fill_pct", "severity", "critical", "value", 97.0,
	                 "phase", "", "state", "raised", "summary", "full",
	                 "runbook", "", "time", "2026-01-01T00:00:00Z", "kind",
	                 "page", "ack_url", "https://w/ack/x");
}

/* 1 when a header line starts with prefix. */
static int
has_header(const struct curl_slist *h, const char *prefix)
{
	for (; h != NULL; h = h->next)
		if (strncmp(h->data, prefix, strlen(prefix)) == 0)
			return 1;
	return 0;
}

static void
test_render_mail(void **state)
{
	struct notify_channel ch = {.ch_name = "mail",
	                            .ch_type = CH_SMTP,
	                            .ch_url = "smtp://localhost",
	                            .ch_from = "watchstand@example.test"};
	struct channel_request req;
	json_t *msg = mail_msg("alice@example.test");

	assert_int_equal(channel_render(&ch, msg, 0, "ws-1-1", &req), 0);
	assert_true(has_header(req.cr_mail_headers, "To: alice@example.test"));
	assert_true(has_header(req.cr_mail_headers, "Subject: =?UTF-8?B?"));
	assert_true(
	    has_header(req.cr_mail_headers, "Message-ID: <ws-1-1@watchstand>"));
	assert_true(
	    has_header(req.cr_mail_headers, "Auto-Submitted: auto-generated"));
	assert_non_null(strstr(req.cr_body, "https://w/ack/x"));
	assert_string_equal(req.cr_rcpt->data, "<alice@example.test>");
	channel_request_free(&req);
	json_decref(msg);

	/* A header smuggled into the users table goes nowhere. */
	msg = mail_msg("alice@example.test\r\nBcc: eve@evil.test");
	assert_int_equal(channel_render(&ch, msg, 0, "ws-1-2", &req), -1);
	assert_non_null(strstr(req.cr_error, "mail address of alice"));
	assert_null(req.cr_body);
	channel_request_free(&req);
	json_decref(msg);

	msg = mail_msg("alice@example.test");
	ch.ch_from = "watchstand";
	assert_int_equal(channel_render(&ch, msg, 0, "ws-1-3", &req), -1);
	assert_non_null(strstr(req.cr_error, "from address of channel mail"));
	channel_request_free(&req);
	json_decref(msg);
}

/* The default text says what was noted last time, only when there is a note. */
static void
test_render_last_note(void **state)
{
	struct notify_channel ch = {.ch_name = "mail",
	                            .ch_type = CH_SMTP,
	                            .ch_url = "smtp://localhost",
	                            .ch_from = "watchstand@example.test"};
	struct channel_request req;
	json_t *msg = mail_msg("alice@example.test");

	(void)state;
	assert_int_equal(channel_render(&ch, msg, 0, "ws-2-1", &req), 0);
	assert_null(strstr(req.cr_body, "last time:"));
	channel_request_free(&req);
	json_object_set_new(json_array_get(json_object_get(msg, "pages"), 0),
	                    "last_note", json_string("restarted the feed"));
	assert_int_equal(channel_render(&ch, msg, 0, "ws-2-2", &req), 0);
	assert_non_null(strstr(req.cr_body, "last time: restarted the feed"));
	channel_request_free(&req);
	json_decref(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_good),
	    cmocka_unit_test(test_addr_bad),
	    cmocka_unit_test(test_render_mail),
	    cmocka_unit_test(test_render_last_note),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
