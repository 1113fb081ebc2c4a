/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Tests of the HTTP span helpers: traceparent, target split, redaction, route guess. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "agent/proto/http_util.h"

#define TP_OK "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void test_traceparent_valid(void **state)
{
	static const uint8_t want_tid[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
					      0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
	static const uint8_t want_sid[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };
	uint8_t tid[16], sid[8], fl = 0;
	char out[56];

	assert_int_equal(ws_traceparent_parse(TP_OK, tid, sid, &fl), 0);
	assert_memory_equal(tid, want_tid, 16);
	assert_memory_equal(sid, want_sid, 8);
	assert_int_equal(fl, 1);
	assert_int_equal(ws_traceparent_format(out, tid, sid, fl), 0);
	assert_string_equal(out, TP_OK);
	assert_int_equal(strlen(out), WS_TRACEPARENT_LEN);

	/* future versions: exactly 55, or longer with '-' after the flags */
	assert_int_equal(ws_traceparent_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", tid, sid, &fl), 0);
	assert_int_equal(fl, 0);
	assert_int_equal(ws_traceparent_parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-ever", tid, sid, &fl), 0);
	assert_int_equal(fl, 9);
	/* unknown flag bits are reported as they are */
	assert_int_equal(ws_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", NULL, NULL, &fl), 0);
	assert_int_equal(fl, 0xff);
}

static void test_traceparent_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"00",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",          /* short */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",        /* 00 is exactly 55 */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",         /* uppercase */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         /* version ff */
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",         /* zero trace id */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",         /* zero span id */
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
		"0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",        /* future: '-' must follow */
		" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	};
	uint8_t tid[16], sid[8], fl = 0x5a;

	memset(tid, 0xaa, sizeof(tid));
	memset(sid, 0xbb, sizeof(sid));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ws_traceparent_parse(bad[i], tid, sid, &fl) != -EINVAL)
			fail_msg("accepted invalid traceparent \"%s\"", bad[i]);
	}
	assert_int_equal(ws_traceparent_parse(NULL, tid, sid, &fl), -EINVAL);
	/* outputs untouched on error */
	assert_int_equal(tid[0], 0xaa);
	assert_int_equal(sid[7], 0xbb);
	assert_int_equal(fl, 0x5a);

	uint8_t zt[16] = { 0 }, zs[8] = { 0 }, one[16] = { 1 };
	char out[56];
	assert_int_equal(ws_traceparent_format(out, zt, one, 1), -EINVAL);
	assert_int_equal(ws_traceparent_format(out, one, zs, 1), -EINVAL);
}

struct split_case {
	const char *in;
	int rc;
	const char *path, *query, *host;
};

static void test_target_split(void **state)
{
	static const struct split_case t[] = {
		{ "/p/a?q=1#frag", 0, "/p/a", "q=1", "" },
		{ "/", 0, "/", "", "" },
		{ "/a?", 0, "/a", "", "" },
		{ "/a#x?y", 0, "/a", "", "" },
		{ "http://user:pw@host.example:8080/x/y?z=1", 0, "/x/y", "z=1", "host.example:8080" },
		{ "https://h", 0, "/", "", "h" },
		{ "http://h?x=1", 0, "/", "x=1", "h" },
		{ "http://[::1]:8080/a", 0, "/a", "", "[::1]:8080" },
		{ "http://a@b@c/x", 0, "/x", "", "c" },
		{ "http://secret@/x", 0, "/x", "", "" },
		{ "*", 0, "*", "", "" },
		{ "db.example:5432", 0, "", "", "db.example:5432" },
		{ "", -EINVAL, "", "", "" },
	};
	char path[64], query[64], host[64];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = ws_http_target_split(t[i].in, path, sizeof(path), query, sizeof(query), host, sizeof(host));

		if (rc != t[i].rc || strcmp(path, t[i].path) || strcmp(query, t[i].query) || strcmp(host, t[i].host))
			fail_msg("split(\"%s\") = %d path \"%s\" query \"%s\" host \"%s\"", t[i].in, rc, path, query, host);
		/* credentials never reach any output */
		assert_null(strstr(path, "pw"));
		assert_null(strstr(host, "user"));
		assert_null(strstr(host, "secret"));
	}
	assert_int_equal(ws_http_target_split(NULL, path, sizeof(path), query, sizeof(query), host, sizeof(host)), -EINVAL);
	assert_string_equal(path, "");

	/* outputs not wanted */
	assert_int_equal(ws_http_target_split("http://h/p?q", NULL, 0, NULL, 0, host, sizeof(host)), 0);
	assert_string_equal(host, "h");

	/* truncation: NUL-terminated prefixes and -ENOSPC */
	char p4[4], q2[2], h3[3];
	assert_int_equal(ws_http_target_split("http://hostname/abcdef?xyz", p4, sizeof(p4), q2, sizeof(q2), h3, sizeof(h3)),
			 -ENOSPC);
	assert_string_equal(p4, "/ab");
	assert_string_equal(q2, "x");
	assert_string_equal(h3, "ho");
}

static void test_redact(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "a=1&token=abc&b=2", "a=1&token=REDACTED&b=2" },
		{ "Token=x&X-Amz-Signature=abc&x-amz-credential=y&X-Amz-Date=20240101",
		  "Token=REDACTED&X-Amz-Signature=REDACTED&x-amz-credential=REDACTED&X-Amz-Date=20240101" },
		{ "%74oken=x&api%5Fkey=k&q=%74oken", "%74oken=REDACTED&api%5Fkey=REDACTED&q=%74oken" },
		{ "keyx=1&key=2&monkey=3", "keyx=1&key=REDACTED&monkey=3" },
		{ "token&password=", "token&password=REDACTED" },
		{ "sig=a=b=c", "sig=REDACTED" },
		{ "", "" },
		{ "&&a=1&", "&&a=1&" },
		{ "code=xyz&state=abc", "code=REDACTED&state=abc" },
		{ "AWSAccessKeyId=AKIA&Signature=zz&Expires=1", "AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=1" },
	};
	static const char *const keys[] = {
		"token", "access_token", "refresh_token", "id_token", "password", "passwd", "pwd", "secret",
		"client_secret", "api_key", "apikey", "key", "sig", "signature", "Signature", "X-Amz-Signature",
		"X-Amz-Credential", "X-Amz-Security-Token", "X-Goog-Signature", "AWSAccessKeyId", "code", "auth",
		"session", "sessionid", "jwt", "credential", "PASSWORD", "Jwt",
	};
	char out[256], in[128], want[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ws_http_redact_query(t[i].in, out, sizeof(out));
		if (strcmp(out, t[i].out))
			fail_msg("redact(\"%s\") = \"%s\", want \"%s\"", t[i].in, out, t[i].out);
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(in, sizeof(in), "x=1&%s=hunter2", keys[i]);
		snprintf(want, sizeof(want), "x=1&%s=REDACTED", keys[i]);
		ws_http_redact_query(in, out, sizeof(out));
		assert_string_equal(out, want);
	}
	/* too small: whole pairs only, never a piece of a secret */
	ws_http_redact_query("a=1&password=supersecret&b=2", out, 10);
	assert_string_equal(out, "a=1");
	ws_http_redact_query("abcdefghijkl=1", out, 5);
	assert_string_equal(out, "");
	ws_http_redact_query(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	ws_http_redact_query("a=1", NULL, 0);
}

static void test_route_guess(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "/users/123/orders/9f86d081884c7d65", "/users/{id}/orders/{id}" },
		{ "/", "/" },
		{ "", "" },
		{ "*", "*" },
		{ "/items/550e8400-e29b-41d4-a716-446655440000", "/items/{id}" },
		{ "/items/550E8400-E29B-41D4-A716-446655440000/x", "/items/{id}/x" },
		{ "/c/deadbeef12", "/c/{id}" },
		{ "/c/deadbeef", "/c/deadbeef" },           /* no digit: a word */
		{ "/c/abc123", "/c/{id}" },                 /* half digits */
		{ "/t/eyJhbGciOiJIUzI1NiJ9xyzzy", "/t/{id}" }, /* token, > 20 chars */
		{ "/docs/getting-started-with-the-api", "/docs/getting-started-with-the-api" },
		{ "/v/2024-01-01", "/v/{id}" },
		{ "/api/v1/users", "/api/v1/users" },
		{ "/api/v2", "/api/v2" },
		{ "/a/b/c/d/e/f/g/h", "/a/b/c/d/e/f/*" },
		{ "/a/b/c/d/e/f", "/a/b/c/d/e/f" },
		{ "/a/1?x=2", "/a/{id}" },
		{ "/a//b/", "/a/b" },
		{ "/0", "/{id}" },
		{ "/index.html", "/index.html" },
		{ "no-slash/42", "/no-slash/{id}" },
	};
	char out[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ws_http_route_guess(t[i].in, out, sizeof(out));
		if (strcmp(out, t[i].out))
			fail_msg("route(\"%s\") = \"%s\", want \"%s\"", t[i].in, out, t[i].out);
	}
	/* too small: cut at a segment boundary, marked */
	char small[12];
	ws_http_route_guess("/alpha/beta/gamma", small, sizeof(small));
	assert_string_equal(small, "/alpha/*");
	ws_http_route_guess(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	ws_http_route_guess("/a", NULL, 0);
}

static void test_method_known(void **state)
{
	static const char *const yes[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH" };
	static const char *const no[] = { "get", "PURGE", "PROPFIND", "", "GETS", "GE" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(ws_http_method_known(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(ws_http_method_known(no[i]));
	assert_false(ws_http_method_known(NULL));
}

static void test_status_is_error(void **state)
{
	assert_true(ws_http_status_is_error(0, false));
	assert_true(ws_http_status_is_error(0, true));
	assert_false(ws_http_status_is_error(200, false));
	assert_false(ws_http_status_is_error(200, true));
	assert_false(ws_http_status_is_error(302, true));
	assert_false(ws_http_status_is_error(404, false));
	assert_true(ws_http_status_is_error(404, true));
	assert_false(ws_http_status_is_error(499, false));
	assert_true(ws_http_status_is_error(500, false));
	assert_true(ws_http_status_is_error(503, true));
	assert_true(ws_http_status_is_error(99, false));
	assert_true(ws_http_status_is_error(600, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traceparent_valid),
		cmocka_unit_test(test_traceparent_invalid),
		cmocka_unit_test(test_target_split),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_route_guess),
		cmocka_unit_test(test_method_known),
		cmocka_unit_test(test_status_is_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
