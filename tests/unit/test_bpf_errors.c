/* The kernel's helper-failure report (agent/bpf_errors.c): per-CPU counts summed, each
 * {error, file, line} on one line with the errno's name and the file's bpf/ path, in a
 * stable order; unknown ids and errors print as "?" rather than a wrong name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/bpf_errors.h"

static void test_sum(void **state)
{
	const uint64_t v[4] = { 1, 0, 5, UINT64_C(1) << 40 };

	assert_int_equal(ws_err_sum(v, 4), 6 + (UINT64_C(1) << 40));
	assert_int_equal(ws_err_sum(v, 1), 1);
	assert_int_equal(ws_err_sum(v, 0), 0);
	assert_int_equal(ws_err_sum(NULL, 4), 0);
}

static void test_format(void **state)
{
	static const struct {
		struct ws_err_entry e;
		const char *want;
	} cases[] = {
		{ { { -14, WS_ERRF_LIB_EMIT, 123 }, 5 }, "bpf_error{err=-14 (EFAULT),file=lib/emit.h,line=123} 5" },
		{ { { -2, WS_ERRF_HOOKS_LOOP, 48 }, 1 }, "bpf_error{err=-2 (ENOENT),file=hooks/loop.h,line=48} 1" },
		{ { { -14, WS_ERRF_HOOKS_TLS, 65535 }, UINT64_MAX },
		  "bpf_error{err=-14 (EFAULT),file=hooks/tls.h,line=65535} 18446744073709551615" },
		/* an id from a newer kernel side, an errno glibc has no name for, a positive value */
		{ { { -14, WS_ERRF__MAX, 1 }, 1 }, "bpf_error{err=-14 (EFAULT),file=?,line=1} 1" },
		{ { { -4095, WS_ERRF_HOOKS_DATA, 7 }, 2 }, "bpf_error{err=-4095 (?),file=hooks/data.h,line=7} 2" },
		{ { { 3, WS_ERRF_NONE, 7 }, 2 }, "bpf_error{err=3 (?),file=?,line=7} 2" },
	};
	char buf[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = ws_err_format(buf, sizeof(buf), &cases[i].e);

		assert_string_equal(buf, cases[i].want);
		assert_int_equal(n, (int)strlen(cases[i].want));
	}
	/* truncated, still terminated, and says how much it needed */
	assert_int_equal(ws_err_format(buf, 10, &cases[0].e), (int)strlen(cases[0].want));
	assert_int_equal(strlen(buf), 9);
}

static void test_every_file_has_a_name(void **state)
{
	for (uint16_t f = 1; f < WS_ERRF__MAX; f++) {
		const char *n = ws_err_file_name(f);

		assert_string_not_equal(n, "?");
		assert_non_null(strchr(n, '/'));
	}
	assert_string_equal(ws_err_file_name(WS_ERRF_NONE), "?");
	assert_string_equal(ws_err_file_name(WS_ERRF__MAX), "?");
}

static void test_sort(void **state)
{
	struct ws_err_entry v[] = {
		{ { -14, WS_ERRF_HOOKS_DATA, 10 }, 1 },
		{ { -14, WS_ERRF_LIB_EMIT, 90 }, 2 },
		{ { -22, WS_ERRF_LIB_EMIT, 90 }, 3 },
		{ { -14, WS_ERRF_LIB_EMIT, 7 }, 4 },
	};

	ws_err_sort(v, 4);
	/* file, then line, then error (-22 < -14) */
	assert_int_equal(v[0].count, 4);
	assert_int_equal(v[1].count, 3);
	assert_int_equal(v[2].count, 2);
	assert_int_equal(v[3].count, 1);
	ws_err_sort(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_every_file_has_a_name),
		cmocka_unit_test(test_sort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
