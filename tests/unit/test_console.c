/* The console's pure parts: a request's path cleaned to a file name (or
 * refused), the Content-Type by extension, and the embedded table as
 * built from dashboards/console/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "web/console.h"

static void
clean_is(const char *raw, const char *want)
{
	char out[64];

	assert_int_equal(console_path_clean(raw, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
refused(const char *raw)
{
	char out[64];

	if (console_path_clean(raw, out, sizeof(out)) != -1)
		fail_msg("%s was not refused (gave '%s')", raw, out);
}

static void
test_clean(void **state)
{
	(void)state;
	clean_is("/", "");
	clean_is("/index.html", "index.html");
	clean_is("//vendor///uplot.js", "vendor/uplot.js");
	clean_is("/hosts/q1/", "hosts/q1");
	clean_is("/a%20b.js", "a b.js");
	clean_is("/%61pp.js", "app.js");
	clean_is("/a+b", "a+b"); /* a path is not a form: + stays */
	clean_is("/x..y.js", "x..y.js");
}

static void
test_refused(void **state)
{
	(void)state;
	refused("");
	refused("index.html");
	refused("/..");
	refused("/../etc/passwd");
	refused("/a/../../etc/passwd");
	refused("/%2e%2e/etc/passwd");
	refused("/%2E%2E%2Fetc%2Fpasswd");
	refused("/a/%2e");
	refused("/.git/config");
	refused("/..%5c..%5cwin.ini");
	refused("/a\\b");
	refused("/index.html%00.js");
	refused("/a%0ab");
	refused("/a%7fb");
}

static void
test_too_long(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(console_path_clean("/abcdefg", out, sizeof(out)), 0);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(console_path_clean("/abcdefgh", out, sizeof(out)), -1);
	assert_int_equal(console_path_clean("/abc/defg", out, sizeof(out)), -1);
}

static void
test_types(void **state)
{
	(void)state;
	assert_string_equal(console_content_type("index.html"),
	                    "text/html; charset=utf-8");
	assert_string_equal(console_content_type("vendor/u.min.js"),
	                    "text/javascript; charset=utf-8");
	assert_string_equal(console_content_type("STYLE.CSS"),
	                    "text/css; charset=utf-8");
	assert_string_equal(console_content_type("i/logo.svg"),
	                    "image/svg+xml");
	assert_string_equal(console_content_type("f.woff2"), "font/woff2");
	assert_string_equal(console_content_type("LICENSE"),
	                    "application/octet-stream");
	assert_string_equal(console_content_type("v.1/LICENSE"),
	                    "application/octet-stream");
	assert_string_equal(console_content_type("x.exe"),
	                    "application/octet-stream");
}

/* The build embedded index.html; each file with a quoted hash as ETag. */
static void
test_embedded(void **state)
{
	int i, index = 0;

	(void)state;
	assert_true(console_files_n > 0);
	assert_null(console_files[console_files_n].cf_path);
	for (i = 0; i < console_files_n; i++) {
		const struct console_file *f = &console_files[i];
		assert_int_equal(strlen(f->cf_etag), 34);
		assert_true(f->cf_etag[0] == '"' && f->cf_etag[33] == '"');
		assert_int_equal(f->cf_data[f->cf_len], 0);
		assert_true(f->cf_path[0] != '.' && f->cf_path[0] != '/');
		if (strcmp(f->cf_path, "index.html") == 0)
			index = f->cf_len > 0;
	}
	assert_true(index);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean),    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_too_long), cmocka_unit_test(test_types),
	    cmocka_unit_test(test_embedded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
