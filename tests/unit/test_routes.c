/* The API's route matcher (pure): literal and typed segments, captures,
 * 404 against 405 with the methods allowed; the table's own lines; and
 * the session cookie found by its name in a Cookie header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/http.h>

#include "duty/users.h"
#include "web/routes.h"

static void
h_a(struct api_req *ar)
{
	(void)ar;
}
static void
h_b(struct api_req *ar)
{
	(void)ar;
}
static void
h_c(struct api_req *ar)
{
	(void)ar;
}
static void
h_d(struct api_req *ar)
{
	(void)ar;
}
static void
h_e(struct api_req *ar)
{
	(void)ar;
}

static const struct route table[] = {
    {EVHTTP_REQ_GET, "/alarms", ROLE_VIEWER, h_a, NULL, 0},
    {EVHTTP_REQ_POST, "/alarms/{id}/ack", ROLE_WATCHSTANDER, h_b, "no", 0},
    {EVHTTP_REQ_POST, "/hosts/{name}/in-service", ROLE_WATCHSTANDER, h_c, "no",
     0},
    {EVHTTP_REQ_GET, "/log", ROLE_VIEWER, h_d, NULL, 0},
    {EVHTTP_REQ_POST, "/log", ROLE_WATCHSTANDER, h_e, "no", 0},
};
#define N (sizeof(table) / sizeof(table[0]))

static enum route_result
match(unsigned method, const char *path, struct route_caps *caps,
      const struct route **rt, unsigned *allow)
{
	memset(caps, 0, sizeof(*caps));
	return route_match(table, N, method, path, caps, rt, allow);
}

static void
test_literal(void **state)
{
	struct route_caps caps;
	const struct route *rt;
	unsigned allow;

	(void)state;
	assert_int_equal(match(EVHTTP_REQ_GET, "/alarms", &caps, &rt, &allow),
	                 ROUTE_FOUND);
	assert_ptr_equal(rt->r_fn, h_a);
	assert_int_equal(match(EVHTTP_REQ_GET, "/log", &caps, &rt, &allow),
	                 ROUTE_FOUND);
	assert_ptr_equal(rt->r_fn, h_d);
	assert_int_equal(match(EVHTTP_REQ_POST, "/log", &caps, &rt, &allow),
	                 ROUTE_FOUND);
	assert_ptr_equal(rt->r_fn, h_e);
	/* No prefix, suffix, trailing slash or doubled slash matches. */
	assert_int_equal(match(EVHTTP_REQ_GET, "/alarm", &caps, &rt, &allow),
	                 ROUTE_NO_PATH);
	assert_null(rt);
	assert_int_equal(match(EVHTTP_REQ_GET, "/alarmsx", &caps, &rt, &allow),
	                 ROUTE_NO_PATH);
	assert_int_equal(match(EVHTTP_REQ_GET, "/alarms/", &caps, &rt, &allow),
	                 ROUTE_NO_PATH);
	assert_int_equal(match(EVHTTP_REQ_GET, "//log", &caps, &rt, &allow),
	                 ROUTE_NO_PATH);
	assert_int_equal(match(EVHTTP_REQ_GET, "", &caps, &rt, &allow),
	                 ROUTE_NO_PATH);
	assert_int_equal(match(EVHTTP_REQ_GET, "/", &caps, &rt, &allow),
	                 ROUTE_NO_PATH);
}

static void
test_id(void **state)
{
	struct route_caps caps;
	const struct route *rt;
	unsigned allow;

	(void)state;
	assert_int_equal(
	    match(EVHTTP_REQ_POST, "/alarms/42/ack", &caps, &rt, &allow),
	    ROUTE_FOUND);
	assert_ptr_equal(rt->r_fn, h_b);
	assert_int_equal(caps.rc_id, 42);
	assert_int_equal(match(EVHTTP_REQ_POST, "/alarms/999999999999/ack",
	                       &caps, &rt, &allow),
	                 ROUTE_FOUND);
	assert_int_equal(caps.rc_id, 999999999999LL);
	/* {id} is digits only, and not too many for an int64. */
	assert_int_equal(
	    match(EVHTTP_REQ_POST, "/alarms/4x/ack", &caps, &rt, &allow),
	    ROUTE_NO_PATH);
	assert_int_equal(
	    match(EVHTTP_REQ_POST, "/alarms/-4/ack", &caps, &rt, &allow),
	    ROUTE_NO_PATH);
	assert_int_equal(
	    match(EVHTTP_REQ_POST, "/alarms//ack", &caps, &rt, &allow),
	    ROUTE_NO_PATH);
	assert_int_equal(match(EVHTTP_REQ_POST,
	                       "/alarms/1234567890123456789/ack", &caps, &rt,
	                       &allow),
	                 ROUTE_NO_PATH);
	assert_int_equal(
	    match(EVHTTP_REQ_POST, "/alarms/4/ack/x", &caps, &rt, &allow),
	    ROUTE_NO_PATH);
	assert_int_equal(
	    match(EVHTTP_REQ_POST, "/alarms/4/acks", &caps, &rt, &allow),
	    ROUTE_NO_PATH);
}

static void
test_name(void **state)
{
	struct route_caps caps;
	const struct route *rt;
	unsigned allow;
	char path[200];

	(void)state;
	assert_int_equal(match(EVHTTP_REQ_POST, "/hosts/md-gw.sh_1/in-service",
	                       &caps, &rt, &allow),
	                 ROUTE_FOUND);
	assert_ptr_equal(rt->r_fn, h_c);
	assert_string_equal(caps.rc_name, "md-gw.sh_1");
	assert_int_equal(match(EVHTTP_REQ_POST, "/hosts/a%20b/in-service",
	                       &caps, &rt, &allow),
	                 ROUTE_NO_PATH);
	assert_int_equal(
	    match(EVHTTP_REQ_POST, "/hosts//in-service", &caps, &rt, &allow),
	    ROUTE_NO_PATH);
	snprintf(path, sizeof(path), "/hosts/%0*d/in-service", ROUTE_NAME_MAX,
	         0);
	assert_int_equal(match(EVHTTP_REQ_POST, path, &caps, &rt, &allow),
	                 ROUTE_FOUND);
	assert_int_equal(strlen(caps.rc_name), ROUTE_NAME_MAX);
	snprintf(path, sizeof(path), "/hosts/%0*d/in-service",
	         ROUTE_NAME_MAX + 1, 0);
	assert_int_equal(match(EVHTTP_REQ_POST, path, &caps, &rt, &allow),
	                 ROUTE_NO_PATH);
}

static void
test_method(void **state)
{
	struct route_caps caps;
	const struct route *rt;
	unsigned allow;
	char text[64];

	(void)state;
	assert_int_equal(
	    match(EVHTTP_REQ_GET, "/alarms/7/ack", &caps, &rt, &allow),
	    ROUTE_NO_METHOD);
	assert_ptr_equal(rt->r_fn, h_b);
	assert_int_equal(allow, EVHTTP_REQ_POST);
	assert_int_equal(match(EVHTTP_REQ_DELETE, "/log", &caps, &rt, &allow),
	                 ROUTE_NO_METHOD);
	assert_int_equal(allow, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	route_methods(allow, ", ", text, sizeof(text));
	assert_string_equal(text, "GET, POST");
	route_methods(allow, " or ", text, sizeof(text));
	assert_string_equal(text, "GET or POST");
	route_methods(EVHTTP_REQ_POST, ", ", text, sizeof(text));
	assert_string_equal(text, "POST");
	assert_int_equal(match(EVHTTP_REQ_HEAD, "/alarms", &caps, &rt, &allow),
	                 ROUTE_NO_METHOD);
	assert_int_equal(allow, EVHTTP_REQ_GET);
}

/* The collector's own table: every line well-formed, no two alike. */
static void
test_table(void **state)
{
	struct route_caps caps;
	const struct route *rt;
	unsigned allow;
	size_t i, j;

	(void)state;
	assert_true(routes_n > 10);
	for (i = 0; i < routes_n; i++) {
		assert_non_null(routes[i].r_fn);
		assert_int_equal(routes[i].r_path[0], '/');
		if (routes[i].r_role > ROLE_VIEWER)
			assert_non_null(routes[i].r_denied);
		for (j = 0; j < i; j++)
			assert_false(
			    routes[i].r_method == routes[j].r_method &&
			    strcmp(routes[i].r_path, routes[j].r_path) == 0);
	}
	memset(&caps, 0, sizeof(caps));
	assert_int_equal(route_match(routes, routes_n, EVHTTP_REQ_POST,
	                             "/login", &caps, &rt, &allow),
	                 ROUTE_FOUND);
	assert_int_equal(rt->r_role, ROUTE_PUBLIC);
	assert_int_equal(route_match(routes, routes_n, EVHTTP_REQ_GET, "/login",
	                             &caps, &rt, &allow),
	                 ROUTE_NO_METHOD);
	assert_int_equal(route_match(routes, routes_n, EVHTTP_REQ_POST,
	                             "/alarms/3/unshelve", &caps, &rt, &allow),
	                 ROUTE_FOUND);
	assert_int_equal(caps.rc_id, 3);
	assert_int_equal(rt->r_role, ROLE_WATCHSTANDER);
	assert_int_equal(route_match(routes, routes_n, EVHTTP_REQ_POST,
	                             "/hosts/host-a/out-of-service", &caps, &rt,
	                             &allow),
	                 ROUTE_FOUND);
	assert_string_equal(caps.rc_name, "host-a");
	assert_int_equal(route_match(routes, routes_n, EVHTTP_REQ_GET,
	                             "/nothing", &caps, &rt, &allow),
	                 ROUTE_NO_PATH);
}

static void
test_cookie(void **state)
{
	char v[64];

	(void)state;
	assert_int_equal(
	    route_cookie("ws_session=abc", "ws_session", v, sizeof(v)), 0);
	assert_string_equal(v, "abc");
	assert_int_equal(route_cookie("a=1; ws_session=abc; b=2", "ws_session",
	                              v, sizeof(v)),
	                 0);
	assert_string_equal(v, "abc");
	/* Another cookie whose name ends the same is not it. */
	assert_int_equal(
	    route_cookie("xws_session=evil", "ws_session", v, sizeof(v)), -1);
	assert_int_equal(route_cookie("xws_session=evil; ws_session=good",
	                              "ws_session", v, sizeof(v)),
	                 0);
	assert_string_equal(v, "good");
	/* Nor a value that holds the name. */
	assert_int_equal(
	    route_cookie("a=ws_session=evil", "ws_session", v, sizeof(v)), -1);
	assert_int_equal(
	    route_cookie("ws_sessionx=1", "ws_session", v, sizeof(v)), -1);
	assert_int_equal(route_cookie("ws_session", "ws_session", v, sizeof(v)),
	                 -1);
	assert_int_equal(route_cookie("", "ws_session", v, sizeof(v)), -1);
	assert_int_equal(route_cookie(NULL, "ws_session", v, sizeof(v)), -1);
	/* Empty, quoted, and spaced leniently. */
	assert_int_equal(
	    route_cookie("ws_session=", "ws_session", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(
	    route_cookie("ws_session=\"q\"", "ws_session", v, sizeof(v)), 0);
	assert_string_equal(v, "q");
	assert_int_equal(
	    route_cookie("a=1;ws_session=t2 ;b", "ws_session", v, sizeof(v)),
	    0);
	assert_string_equal(v, "t2");
	/* The first of two wins; a long value is cut to the buffer. */
	assert_int_equal(route_cookie("ws_session=1; ws_session=2",
	                              "ws_session", v, sizeof(v)),
	                 0);
	assert_string_equal(v, "1");
	assert_int_equal(
	    route_cookie("ws_session=0123456789", "ws_session", v, 5), 0);
	assert_string_equal(v, "0123");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_literal), cmocka_unit_test(test_id),
	    cmocka_unit_test(test_name),    cmocka_unit_test(test_method),
	    cmocka_unit_test(test_table),   cmocka_unit_test(test_cookie),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
