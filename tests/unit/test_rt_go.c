/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Goroutine ancestry and pending net/http calls (agent/rt_go.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/rt_go.h"

#define SEC_NS 1000000000ull

static struct ws_go *mk(uint32_t gor, uint32_t calls)
{
	struct ws_go_config c = { .max_goroutines = gor, .max_calls = calls, .call_ttl_ns = 5 * SEC_NS };
	struct ws_go *g = ws_go_new(&c);

	assert_non_null(g);
	return g;
}

/* The shape the kernel reported for a net/http server (bpf_dump -G): main (1) spawns
 * the connection's serve goroutine (5), which spawns fan-out goroutines 25, 26, 27;
 * goids come from per-P batches, so a child may have a smaller id (25 -> 6). */
static void test_lineage(void **state)
{
	struct ws_go *g = mk(64, 16);
	uint64_t out[8];

	ws_go_spawn(g, 100, 1, 5, 10);
	ws_go_spawn(g, 100, 5, 25, 11);
	ws_go_spawn(g, 100, 25, 6, 12);
	assert_int_equal(ws_go_lineage(g, 100, 6, out, 8), 4);
	assert_true(out[0] == 6 && out[1] == 25 && out[2] == 5 && out[3] == 1);
	/* bounded by max, self first */
	assert_int_equal(ws_go_lineage(g, 100, 6, out, 2), 2);
	assert_true(out[0] == 6 && out[1] == 25);
	/* unknown goroutine: only itself; goid 0 or max 0: nothing */
	assert_int_equal(ws_go_lineage(g, 100, 77, out, 8), 1);
	assert_true(out[0] == 77);
	assert_int_equal(ws_go_lineage(g, 100, 0, out, 8), 0);
	assert_int_equal(ws_go_lineage(g, 100, 6, out, 0), 0);
	/* another process with the same goids shares nothing */
	assert_int_equal(ws_go_lineage(g, 101, 6, out, 8), 1);
	/* g0 (0) and self-parents are not recorded */
	ws_go_spawn(g, 100, 0, 9, 13);
	ws_go_spawn(g, 100, 9, 9, 13);
	assert_int_equal(ws_go_lineage(g, 100, 9, out, 8), 1);
	ws_go_free(g);
}

static void test_lineage_cycle(void **state)
{
	struct ws_go *g = mk(64, 16);
	uint64_t out[8];

	/* corrupt records: 3 -> 4 -> 3; the answer stops before repeating */
	ws_go_spawn(g, 1, 4, 3, 0);
	ws_go_spawn(g, 1, 3, 4, 0);
	assert_int_equal(ws_go_lineage(g, 1, 3, out, 8), 2);
	assert_true(out[0] == 3 && out[1] == 4);
	ws_go_free(g);
}

/* A full table forgets its least recently used entries: lineages get shorter, never
 * wrong. Without the LRU bound the table would grow without limit. */
static void test_ancestry_full(void **state)
{
	struct ws_go *g = mk(4, 4);
	struct ws_go_stats st;
	uint64_t out[8];

	ws_go_spawn(g, 1, 1, 2, 0);
	ws_go_spawn(g, 1, 2, 3, 0);
	ws_go_spawn(g, 1, 3, 4, 0);
	ws_go_spawn(g, 1, 4, 5, 0);
	/* use 2's entry: it becomes most recent, 3's is now the oldest */
	assert_int_equal(ws_go_lineage(g, 1, 2, out, 8), 2);
	ws_go_spawn(g, 1, 5, 6, 0); /* evicts 3's entry (3 -> parent 2) */
	ws_go_get_stats(g, &st);
	assert_int_equal(st.spawns, 5);
	assert_int_equal(st.spawns_evicted, 1);
	assert_int_equal(ws_go_lineage(g, 1, 6, out, 8), 4);
	assert_true(out[0] == 6 && out[1] == 5 && out[2] == 4 && out[3] == 3);
	assert_int_equal(ws_go_lineage(g, 1, 2, out, 8), 2);
	/* many more than the table holds: every answer still a true prefix of the real lineage */
	for (uint64_t i = 10; i < 1000; i++)
		ws_go_spawn(g, 1, i, i + 1, 0);
	assert_int_equal(ws_go_lineage(g, 1, 1000, out, 8), 5);
	for (int k = 0; k < 5; k++)
		assert_true(out[k] == 1000 - (uint64_t)k);
	ws_go_free(g);
}

static void test_calls(void **state)
{
	struct ws_go *g = mk(16, 16);
	struct ws_go_stats st;
	uint64_t goid = 0;

	assert_false(ws_go_take_call(g, 7, 8, 0, &goid));
	ws_go_call(g, 7, 8, 25, 100);
	ws_go_call(g, 7, 9, 26, 100);
	/* another pid, same fd: separate */
	assert_false(ws_go_take_call(g, 8, 8, 150, &goid));
	assert_true(ws_go_take_call(g, 7, 8, 150, &goid));
	assert_true(goid == 25);
	/* consumed: the next request on that fd is not this call */
	assert_false(ws_go_take_call(g, 7, 8, 160, &goid));
	/* a newer call on the same connection replaces an unconsumed one */
	ws_go_call(g, 7, 9, 27, 200);
	assert_true(ws_go_take_call(g, 7, 9, 210, &goid));
	assert_true(goid == 27);
	/* stale beyond the bound: not used */
	ws_go_call(g, 7, 10, 30, 1000);
	assert_false(ws_go_take_call(g, 7, 10, 1000 + 6 * SEC_NS, &goid));
	/* records out of order across CPUs (write seen before the call's timestamp) */
	ws_go_call(g, 7, 11, 31, 5000);
	assert_true(ws_go_take_call(g, 7, 11, 4000, &goid));
	assert_true(goid == 31);
	/* closing the fd drops a pending call */
	ws_go_call(g, 7, 12, 32, 0);
	ws_go_drop_call(g, 7, 12);
	assert_false(ws_go_take_call(g, 7, 12, 1, &goid));
	/* invalid inputs are ignored */
	ws_go_call(g, 7, -1, 33, 0);
	ws_go_call(g, 7, 13, 0, 0);
	assert_false(ws_go_take_call(g, 7, 13, 1, &goid));
	assert_false(ws_go_take_call(g, 7, -1, 1, &goid));
	ws_go_get_stats(g, &st);
	assert_int_equal(st.calls, 6);
	assert_int_equal(st.calls_taken, 3);
	assert_int_equal(st.calls_replaced, 1);
	assert_int_equal(st.calls_expired, 1);
	assert_int_equal(st.calls_dropped, 1);
	ws_go_free(g);
}

static void test_calls_full(void **state)
{
	struct ws_go *g = mk(16, 2);
	struct ws_go_stats st;
	uint64_t goid;

	ws_go_call(g, 1, 3, 10, 0);
	ws_go_call(g, 1, 4, 11, 0);
	ws_go_call(g, 1, 5, 12, 0); /* evicts fd 3's */
	assert_false(ws_go_take_call(g, 1, 3, 1, &goid));
	assert_true(ws_go_take_call(g, 1, 4, 1, &goid));
	assert_true(goid == 11);
	ws_go_get_stats(g, &st);
	assert_int_equal(st.calls_evicted, 1);
	ws_go_free(g);
}

static void test_forget_pid(void **state)
{
	struct ws_go *g = mk(16, 16);
	uint64_t out[4], goid;

	ws_go_spawn(g, 1, 1, 2, 0);
	ws_go_spawn(g, 2, 1, 2, 0);
	ws_go_call(g, 1, 5, 2, 0);
	ws_go_call(g, 2, 5, 2, 0);
	ws_go_forget_pid(g, 1);
	/* a new process under pid 1 inherits nothing */
	assert_int_equal(ws_go_lineage(g, 1, 2, out, 4), 1);
	assert_false(ws_go_take_call(g, 1, 5, 1, &goid));
	assert_int_equal(ws_go_lineage(g, 2, 2, out, 4), 2);
	assert_true(ws_go_take_call(g, 2, 5, 1, &goid));
	/* the freed entries are reusable */
	for (uint64_t i = 10; i < 40; i++)
		ws_go_spawn(g, 3, i, i + 1, 0);
	assert_int_equal(ws_go_lineage(g, 3, 40, out, 4), 4);
	ws_go_free(g);
}

static void test_record(void **state)
{
	struct ws_go *g = mk(16, 16);
	struct ws_rt_event e;
	struct ws_go_stats st;
	uint64_t out[4], goid;

	memset(&e, 0, sizeof(e));
	e.hdr.type = WS_EV_RT;
	e.hdr.size = sizeof(e);
	e.hdr.ts_ns = 50;
	e.pid = 9;
	e.kind = WS_RT_GO_SPAWN;
	e.ctx = 5;
	e.other = 25;
	e.fd = -1;
	assert_int_equal(ws_go_record(g, &e, sizeof(e)), 0);
	assert_int_equal(ws_go_lineage(g, 9, 25, out, 4), 2);
	e.kind = WS_RT_GO_CALL;
	e.ctx = 25;
	e.fd = 8;
	assert_int_equal(ws_go_record(g, &e, sizeof(e)), 0);
	assert_true(ws_go_take_call(g, 9, 8, 60, &goid));
	assert_true(goid == 25);
	e.kind = 99;
	assert_int_equal(ws_go_record(g, &e, sizeof(e)), -EINVAL);
	e.kind = WS_RT_GO_CALL;
	assert_int_equal(ws_go_record(g, &e, sizeof(e) - 1), -EINVAL);
	e.hdr.type = WS_EV_DATA;
	assert_int_equal(ws_go_record(g, &e, sizeof(e)), -EINVAL);
	ws_go_get_stats(g, &st);
	assert_int_equal(st.rt_malformed, 3);
	/* NULL-safe */
	assert_int_equal(ws_go_lineage(NULL, 1, 1, out, 4), 0);
	ws_go_spawn(NULL, 1, 1, 2, 0);
	ws_go_free(NULL);
	ws_go_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lineage),
		cmocka_unit_test(test_lineage_cycle),
		cmocka_unit_test(test_ancestry_full),
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_calls_full),
		cmocka_unit_test(test_forget_pid),
		cmocka_unit_test(test_record),
	};

	return cmocka_run_group_tests_name("rt_go", tests, NULL, NULL);
}
