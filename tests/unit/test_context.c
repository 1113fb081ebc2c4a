/* Parentage graph: the four rules, waits, timeouts, chains resolved out of order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/context.h"
#include "headers/ws_derive.h"

#define MS 1000000ULL

struct captured {
	struct ws_span spans[64];
	int n;
};

static void capture(void *ctx, const struct ws_span *const *spans, size_t n)
{
	struct captured *c = ctx;

	for (size_t i = 0; i < n && c->n < 64; i++)
		c->spans[c->n++] = *spans[i];
}

static struct ws_ctx *new_ctx(uint32_t max)
{
	struct ws_ctx_config cfg = {
		.max_nodes = max,
		.link_wait_ns = 300 * MS,
		.index_slots = 64,
		.max_open_ns = 60000 * MS,
		.rng_seed = 42,
		.mono_to_unix_ns = 1000,
	};
	return ws_ctx_new(&cfg);
}

static const struct ws_span *find(const struct captured *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->spans[i].name, name) == 0)
			return &c->spans[i];
	return NULL;
}

static struct ws_node_ref open_named(struct ws_ctx *c, uint64_t now, const char *name)
{
	struct ws_span *s;
	struct ws_node_ref r = ws_ctx_open(c, now, &s);

	assert_true(ws_node_ref_valid(r));
	strcpy(s->name, name);
	return r;
}

static struct ws_seq_key key(uint32_t seq)
{
	struct ws_seq_key k;

	memset(&k, 0, sizeof(k));
	k.caddr[10] = k.caddr[11] = 0xff;
	k.caddr[12] = 127;
	k.caddr[15] = 1;
	memcpy(k.saddr, k.caddr, 16);
	k.cport = 40000;
	k.sport = 8080;
	k.seq = seq;
	return k;
}

static void test_root(void **state)
{
	struct ws_ctx *c = new_ctx(16);
	struct captured out = { .n = 0 };
	struct ws_node_ref r = open_named(c, 0, "root");

	ws_ctx_make_root(c, r, WS_RULE_ROOT);
	ws_ctx_tick(c, 1 * MS, capture, &out);
	assert_int_equal(out.n, 0);   /* not finished yet */
	ws_ctx_finish(c, r, 10, 20);
	ws_ctx_tick(c, 2 * MS, capture, &out);
	assert_int_equal(out.n, 1);
	assert_false(ws_id_is_zero(out.spans[0].trace_id, 16));
	assert_true(ws_id_is_zero(out.spans[0].parent_span_id, 8));
	assert_int_equal(out.spans[0].start_ns, 1010);
	assert_int_equal(out.spans[0].end_ns, 1020);
	assert_int_equal(out.spans[0].trace_flags, 1);
	assert_int_equal(ws_ctx_stats(c)->rule[WS_RULE_ROOT], 1);
	/* emitted once only */
	ws_ctx_tick(c, 3 * MS, capture, &out);
	assert_int_equal(out.n, 1);
	ws_ctx_free(c);
}

static void test_remote_parent(void **state)
{
	struct ws_ctx *c = new_ctx(16);
	struct captured out = { .n = 0 };
	uint8_t tid[16], sid[8];
	struct ws_node_ref r = open_named(c, 0, "srv");

	memset(tid, 0xab, 16);
	memset(sid, 0xcd, 8);
	ws_ctx_parent_remote(c, r, tid, sid, 0);
	ws_ctx_finish(c, r, 1, 2);
	ws_ctx_tick(c, 1 * MS, capture, &out);
	assert_int_equal(out.n, 1);
	assert_memory_equal(out.spans[0].trace_id, tid, 16);
	assert_memory_equal(out.spans[0].parent_span_id, sid, 8);
	assert_int_equal(out.spans[0].trace_flags, 0);
	assert_true(out.spans[0].parent_remote);
	ws_ctx_free(c);
}

static void test_thread_parent_child_emitted_before_parent_ends(void **state)
{
	struct ws_ctx *c = new_ctx(16);
	struct captured out = { .n = 0 };
	struct ws_node_ref srv = open_named(c, 0, "srv");
	struct ws_node_ref cli = open_named(c, 0, "cli");

	ws_ctx_make_root(c, srv, WS_RULE_ROOT);
	ws_ctx_parent_local(c, cli, srv, WS_RULE_THREAD);
	ws_ctx_finish(c, cli, 5, 6);
	ws_ctx_tick(c, 1 * MS, capture, &out);
	assert_int_equal(out.n, 1);
	ws_ctx_finish(c, srv, 1, 9);
	ws_ctx_tick(c, 2 * MS, capture, &out);
	assert_int_equal(out.n, 2);
	const struct ws_span *s = find(&out, "srv"), *k = find(&out, "cli");
	assert_non_null(s);
	assert_non_null(k);
	assert_memory_equal(k->trace_id, s->trace_id, 16);
	assert_memory_equal(k->parent_span_id, s->span_id, 8);
	assert_int_equal(ws_ctx_stats(c)->rule[WS_RULE_THREAD], 1);
	ws_ctx_free(c);
}

static void test_seq_server_seen_before_client(void **state)
{
	struct ws_ctx *c = new_ctx(16);
	struct captured out = { .n = 0 };
	struct ws_seq_key k = key(1000);
	struct ws_node_ref srv = open_named(c, 0, "srv");

	ws_ctx_await_peer(c, srv, &k, 0);
	ws_ctx_finish(c, srv, 3, 4);
	ws_ctx_tick(c, 10 * MS, capture, &out);
	assert_int_equal(out.n, 0);   /* waiting for the client */

	struct ws_node_ref cli = open_named(c, 20 * MS, "cli");
	ws_ctx_make_root(c, cli, WS_RULE_ROOT);
	ws_ctx_index_client(c, cli, &k);
	ws_ctx_tick(c, 30 * MS, capture, &out);
	assert_int_equal(out.n, 1);
	ws_ctx_finish(c, cli, 1, 5);
	ws_ctx_tick(c, 40 * MS, capture, &out);
	assert_int_equal(out.n, 2);
	const struct ws_span *s = find(&out, "srv"), *k2 = find(&out, "cli");
	assert_memory_equal(s->trace_id, k2->trace_id, 16);
	assert_memory_equal(s->parent_span_id, k2->span_id, 8);
	assert_int_equal(ws_ctx_stats(c)->rule[WS_RULE_SEQ], 1);
	ws_ctx_free(c);
}

static void test_seq_mismatch_times_out_to_root(void **state)
{
	struct ws_ctx *c = new_ctx(16);
	struct captured out = { .n = 0 };
	struct ws_seq_key k = key(1000), other = key(1001);
	struct ws_node_ref srv = open_named(c, 0, "srv");
	struct ws_node_ref cli = open_named(c, 0, "cli");

	ws_ctx_make_root(c, cli, WS_RULE_ROOT);
	ws_ctx_index_client(c, cli, &other);   /* different bytes: not our client */
	ws_ctx_await_peer(c, srv, &k, 0);
	ws_ctx_finish(c, srv, 3, 4);
	ws_ctx_tick(c, 299 * MS, capture, &out);
	assert_int_equal(out.n, 0);
	ws_ctx_tick(c, 301 * MS, capture, &out);
	assert_int_equal(out.n, 1);
	assert_true(ws_id_is_zero(out.spans[0].parent_span_id, 8));
	assert_int_equal(ws_ctx_stats(c)->rule[WS_RULE_ROOT_TIMEOUT], 1);
	ws_ctx_free(c);
}

/* client -> A -> B, everything seen in the worst order: deepest first, root last. */
static void test_chain_out_of_order(void **state)
{
	struct ws_ctx *c = new_ctx(32);
	struct captured out = { .n = 0 };
	struct ws_seq_key k1 = key(100), k2 = key(200);
	struct ws_node_ref bsrv = open_named(c, 0, "B server");
	ws_ctx_await_peer(c, bsrv, &k2, 0);
	ws_ctx_finish(c, bsrv, 30, 40);

	struct ws_node_ref asrv = open_named(c, 0, "A server");
	ws_ctx_await_peer(c, asrv, &k1, 0);
	struct ws_node_ref acli = open_named(c, 0, "A client");
	ws_ctx_parent_local(c, acli, asrv, WS_RULE_THREAD);
	ws_ctx_index_client(c, acli, &k2);
	ws_ctx_finish(c, acli, 25, 45);
	ws_ctx_finish(c, asrv, 20, 50);
	ws_ctx_tick(c, 100 * MS, capture, &out);
	assert_int_equal(out.n, 0);   /* all wait on the root client */

	struct ws_node_ref root = open_named(c, 110 * MS, "root client");
	ws_ctx_make_root(c, root, WS_RULE_ROOT);
	ws_ctx_index_client(c, root, &k1);
	ws_ctx_finish(c, root, 10, 60);
	ws_ctx_tick(c, 120 * MS, capture, &out);
	assert_int_equal(out.n, 4);
	const struct ws_span *r = find(&out, "root client"), *as = find(&out, "A server"),
			     *ac = find(&out, "A client"), *bs = find(&out, "B server");
	assert_true(ws_id_is_zero(r->parent_span_id, 8));
	assert_memory_equal(as->parent_span_id, r->span_id, 8);
	assert_memory_equal(ac->parent_span_id, as->span_id, 8);
	assert_memory_equal(bs->parent_span_id, ac->span_id, 8);
	assert_memory_equal(as->trace_id, r->trace_id, 16);
	assert_memory_equal(ac->trace_id, r->trace_id, 16);
	assert_memory_equal(bs->trace_id, r->trace_id, 16);
	ws_ctx_free(c);
}

static void test_index_collision_uses_neither(void **state)
{
	struct ws_ctx *c = new_ctx(16);
	struct captured out = { .n = 0 };
	struct ws_seq_key k = key(7);
	struct ws_node_ref c1 = open_named(c, 0, "c1"), c2 = open_named(c, 0, "c2");
	struct ws_node_ref srv = open_named(c, 0, "srv");

	ws_ctx_make_root(c, c1, WS_RULE_ROOT);
	ws_ctx_make_root(c, c2, WS_RULE_ROOT);
	ws_ctx_index_client(c, c1, &k);
	ws_ctx_index_client(c, c2, &k);
	ws_ctx_await_peer(c, srv, &k, 0);
	ws_ctx_finish(c, srv, 1, 2);
	ws_ctx_tick(c, 400 * MS, capture, &out);
	const struct ws_span *s = find(&out, "srv");
	assert_non_null(s);
	assert_true(ws_id_is_zero(s->parent_span_id, 8));
	assert_int_equal(ws_ctx_stats(c)->index_collisions, 1);
	ws_ctx_free(c);
}

/* A parent that never becomes a span must not be named by its children (a dangling
 * parent id, OBI #3481): they become roots, counted as parent lost. */
static void test_abandoned_parent_leaves_children_roots(void **state)
{
	struct ws_ctx *c = new_ctx(16);
	struct captured out = { .n = 0 };
	struct ws_node_ref srv = open_named(c, 0, "srv");
	struct ws_node_ref cli = open_named(c, 0, "cli");

	ws_ctx_make_root(c, srv, WS_RULE_ROOT);
	ws_ctx_parent_local(c, cli, srv, WS_RULE_THREAD);
	ws_ctx_abandon(c, srv);
	ws_ctx_finish(c, cli, 1, 2);
	ws_ctx_tick(c, 1 * MS, capture, &out);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.spans[0].name, "cli");
	assert_true(ws_id_is_zero(out.spans[0].parent_span_id, 8));
	assert_int_equal(ws_ctx_stats(c)->rule[WS_RULE_ROOT_LOST], 1);
	assert_int_equal(ws_ctx_stats(c)->spans_abandoned, 1);
	ws_ctx_free(c);
}

static void test_flush_ends_waits_and_drops_open(void **state)
{
	struct ws_ctx *c = new_ctx(16);
	struct captured out = { .n = 0 };
	struct ws_seq_key k = key(5);
	struct ws_node_ref srv = open_named(c, 0, "srv");
	struct ws_node_ref open_one = open_named(c, 0, "open");

	ws_ctx_make_root(c, open_one, WS_RULE_ROOT);
	ws_ctx_await_peer(c, srv, &k, 0);
	ws_ctx_finish(c, srv, 1, 2);
	ws_ctx_flush(c, 1 * MS, capture, &out);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.spans[0].name, "srv");
	assert_int_equal(ws_ctx_stats(c)->spans_abandoned, 1);
	ws_ctx_free(c);
}

static void test_table_full_is_counted_and_recovers(void **state)
{
	struct ws_ctx *c = new_ctx(2);
	struct captured out = { .n = 0 };
	struct ws_span *s;
	struct ws_node_ref a = open_named(c, 0, "a"), b = open_named(c, 0, "b");

	assert_false(ws_node_ref_valid(ws_ctx_open(c, 0, &s)));
	assert_null(s);
	assert_int_equal(ws_ctx_stats(c)->nodes_full, 1);
	ws_ctx_make_root(c, a, WS_RULE_ROOT);
	ws_ctx_make_root(c, b, WS_RULE_ROOT);
	ws_ctx_finish(c, a, 1, 2);
	ws_ctx_finish(c, b, 1, 2);
	ws_ctx_tick(c, 1 * MS, capture, &out);   /* emitted and freed: nothing waits on them */
	assert_true(ws_node_ref_valid(ws_ctx_open(c, 1 * MS, &s)));
	/* a stale ref to a freed node is not confused with its successor */
	assert_null(ws_ctx_span(c, a));
	ws_ctx_free(c);
}

/* The client's node is emitted and freed before the server's record is even seen: its
 * index entry still carries the identity, so the server links to it. */
static void test_seq_client_gone_before_server_seen(void **state)
{
	struct ws_ctx *c = new_ctx(4);
	struct captured out = { .n = 0 };
	struct ws_seq_key k = key(77);
	struct ws_node_ref cli = open_named(c, 0, "cli");

	ws_ctx_make_root(c, cli, WS_RULE_ROOT);
	ws_ctx_index_client(c, cli, &k);
	ws_ctx_finish(c, cli, 1, 9);
	ws_ctx_tick(c, 1 * MS, capture, &out);
	assert_int_equal(out.n, 1);
	assert_int_equal(ws_ctx_stats(c)->nodes_in_use, 0);

	struct ws_node_ref srv = open_named(c, 2 * MS, "srv");
	ws_ctx_await_peer(c, srv, &k, 2 * MS);
	ws_ctx_finish(c, srv, 2, 8);
	ws_ctx_tick(c, 3 * MS, capture, &out);
	assert_int_equal(out.n, 2);
	assert_memory_equal(out.spans[1].trace_id, out.spans[0].trace_id, 16);
	assert_memory_equal(out.spans[1].parent_span_id, out.spans[0].span_id, 8);
	assert_int_equal(ws_ctx_stats(c)->rule[WS_RULE_SEQ], 1);
	ws_ctx_free(c);
}

/* A parent decided late (its own wait timed out) decides its waiting child in the same
 * pass; the child, finished later, still names it. */
static void test_parent_kept_while_child_waits(void **state)
{
	struct ws_ctx *c = new_ctx(4);
	struct captured out = { .n = 0 };
	struct ws_seq_key k = key(5);
	struct ws_node_ref srv = open_named(c, 0, "srv");
	struct ws_node_ref cli = open_named(c, 0, "cli");

	ws_ctx_await_peer(c, srv, &k, 0);
	ws_ctx_parent_local(c, cli, srv, WS_RULE_THREAD);
	ws_ctx_finish(c, srv, 1, 9);
	ws_ctx_tick(c, 1 * MS, capture, &out);
	assert_int_equal(out.n, 0);
	ws_ctx_tick(c, 400 * MS, capture, &out);   /* srv times out into a root, is emitted */
	assert_int_equal(out.n, 1);
	assert_int_equal(ws_ctx_stats(c)->nodes_in_use, 1);   /* srv freed: cli was decided with it */
	ws_ctx_finish(c, cli, 2, 3);
	ws_ctx_tick(c, 401 * MS, capture, &out);
	assert_int_equal(out.n, 2);
	assert_memory_equal(out.spans[1].parent_span_id, out.spans[0].span_id, 8);
	assert_int_equal(ws_ctx_stats(c)->nodes_in_use, 0);
	ws_ctx_free(c);
}

/* Sustained load through a small table: nodes are freed as soon as they are emitted,
 * so nothing is dropped whatever the rate. */
static void test_throughput_small_table_no_drops(void **state)
{
	struct ws_ctx *c = new_ctx(8);
	struct captured out = { .n = 0 };

	for (uint32_t i = 0; i < 100000; i++) {
		struct ws_seq_key k = key(i);
		struct ws_span *s;
		struct ws_node_ref cli = ws_ctx_open(c, i, &s), srv;

		assert_true(ws_node_ref_valid(cli));
		ws_ctx_make_root(c, cli, WS_RULE_ROOT);
		ws_ctx_index_client(c, cli, &k);
		srv = ws_ctx_open(c, i, &s);
		assert_true(ws_node_ref_valid(srv));
		ws_ctx_await_peer(c, srv, &k, i);
		ws_ctx_finish(c, srv, i, i + 1);
		ws_ctx_finish(c, cli, i, i + 2);
		if (i % 3 == 0) {
			out.n = 0;
			ws_ctx_tick(c, i + 10, capture, &out);
		}
	}
	ws_ctx_tick(c, 200000, capture, &out);
	assert_int_equal(ws_ctx_stats(c)->nodes_full, 0);
	assert_int_equal(ws_ctx_stats(c)->spans_emitted, 200000);
	assert_int_equal(ws_ctx_stats(c)->rule[WS_RULE_SEQ], 100000);
	assert_int_equal(ws_ctx_stats(c)->nodes_in_use, 0);
	ws_ctx_free(c);
}

/* A backlog consumed at once: record time moves on but no timer tick comes. The spans
 * that are ready go out as record time passes tick_ns, so a small table never fills. */
static void test_backlog_reclaimed_in_record_time(void **state)
{
	struct ws_ctx *c = new_ctx(64);
	struct captured out = { .n = 0 };

	for (uint32_t i = 0; i < 2000; i++) {
		uint64_t ts = (uint64_t)i * 4 * MS;   /* 250 spans a second of record time */
		struct ws_span *s;
		struct ws_node_ref r;

		ws_ctx_reclaim(c, ts, capture, &out);
		out.n = 0;
		r = ws_ctx_open(c, ts, &s);
		assert_true(ws_node_ref_valid(r));
		ws_ctx_make_root(c, r, WS_RULE_ROOT);
		ws_ctx_finish(c, r, ts, ts + 1);
	}
	assert_int_equal(ws_ctx_stats(c)->nodes_full, 0);
	assert_true(ws_ctx_stats(c)->spans_emitted >= 2000 - 64);
	assert_true(ws_ctx_stats(c)->nodes_in_use_max <= 64);
	assert_int_equal(ws_ctx_stats(c)->pressure_reclaims, 0);   /* time alone was enough */
	ws_ctx_free(c);
}

/* All at one instant (no record time passes): a nearly full table is walked, but at
 * most once per max_nodes/16 opens, and a table of spans that cannot go yet fills and
 * counts it. */
static void test_pressure_walk_bounded(void **state)
{
	struct ws_ctx *c = new_ctx(64);
	struct captured out = { .n = 0 };
	struct ws_span *s;
	struct ws_node_ref open[64];

	ws_ctx_tick(c, 5 * MS, capture, &out);
	for (int i = 0; i < 64; i++) {
		ws_ctx_reclaim(c, 5 * MS, capture, &out);
		open[i] = ws_ctx_open(c, 5 * MS, &s);
		assert_true(ws_node_ref_valid(open[i]));
	}
	/* 56 in use first reached at the 57th open; then every 4 opens: 57, 61 */
	assert_int_equal(ws_ctx_stats(c)->pressure_reclaims, 2);
	for (int i = 0; i < 100; i++)
		ws_ctx_reclaim(c, 5 * MS, capture, &out);
	/* the 64th open reached the next step: one walk, then none without opens */
	assert_int_equal(ws_ctx_stats(c)->pressure_reclaims, 3);
	assert_false(ws_node_ref_valid(ws_ctx_open(c, 5 * MS, &s)));
	assert_int_equal(ws_ctx_stats(c)->nodes_full, 1);
	/* Half of them finish. Refused opens count as tries: after 4 of them (max/16) the
	 * next pressure walk emits the finished half and frees their nodes. */
	for (int i = 0; i < 32; i++) {
		ws_ctx_make_root(c, open[i], WS_RULE_ROOT);
		ws_ctx_finish(c, open[i], 5 * MS, 5 * MS);
	}
	for (int i = 0; i < 3; i++) {
		ws_ctx_reclaim(c, 5 * MS, capture, &out);
		assert_false(ws_node_ref_valid(ws_ctx_open(c, 5 * MS, &s)));
	}
	assert_int_equal(ws_ctx_stats(c)->nodes_full, 4);
	ws_ctx_reclaim(c, 5 * MS, capture, &out);
	assert_int_equal(ws_ctx_stats(c)->pressure_reclaims, 4);
	assert_int_equal(ws_ctx_stats(c)->nodes_in_use, 32);
	assert_true(ws_node_ref_valid(ws_ctx_open(c, 5 * MS, &s)));
	ws_ctx_free(c);
}

/* After a burst the free list of spans shrinks back; under load it keeps twice the
 * spans in flight. */
static void test_trim_follows_load(void **state)
{
	struct ws_ctx *c = new_ctx(8192);   /* free list up to 2048 spans */
	struct captured out = { .n = 0 };
	struct ws_node_ref r[1500];
	struct ws_span *s;

	for (int i = 0; i < 1500; i++) {
		r[i] = ws_ctx_open(c, 0, &s);
		ws_ctx_make_root(c, r[i], WS_RULE_ROOT);
		ws_ctx_finish(c, r[i], 0, 1);
	}
	ws_ctx_tick(c, 1 * MS, capture, &out);
	assert_int_equal(ws_ctx_spans_cached(c), 1500);   /* kept for the next burst */
	for (int i = 0; i < 300; i++)
		r[i] = ws_ctx_open(c, 2 * MS, &s);          /* 300 in flight */
	assert_int_equal(ws_ctx_spans_cached(c), 1200);
	ws_ctx_trim(c);
	assert_int_equal(ws_ctx_spans_cached(c), 600);
	for (int i = 0; i < 300; i++) {
		ws_ctx_make_root(c, r[i], WS_RULE_ROOT);
		ws_ctx_finish(c, r[i], 2 * MS, 3 * MS);
	}
	ws_ctx_tick(c, 4 * MS, capture, &out);
	ws_ctx_trim(c);                                     /* quiet: down to the floor */
	assert_int_equal(ws_ctx_spans_cached(c), 256);
	ws_ctx_free(c);
}

/* A root's trace id comes from its request's first byte (ws_ctx_derive_from): what the
 * kernel computes for the server thread's call (bpf/hooks/inject.h) from the server's
 * own view of the connection. Ids that were forced (injected) win; a span that gets a
 * parent keeps the parent's trace. */
static void test_derived_root_trace(void **state)
{
	struct ws_ctx *c = new_ctx(16);
	struct captured out = { .n = 0 };
	struct ws_seq_key k = key(777), k2 = key(778);
	uint64_t dk[2];
	uint8_t want[16], other[16], forced[16], sid[8];

	ws_ctx_derive_key(c, dk);
	assert_true(dk[0] != 0 || dk[1] != 0);
	/* The kernel's side: the server sees saddr = its own, daddr = the client. */
	ws_derive_trace((const __u64 *)dk, k.caddr, k.saddr, k.cport, k.sport, k.seq, want);
	ws_derive_trace((const __u64 *)dk, k2.caddr, k2.saddr, k2.cport, k2.sport, k2.seq, other);
	assert_memory_not_equal(want, other, 16);   /* the next byte names another trace */

	struct ws_node_ref root = open_named(c, 0, "root");
	ws_ctx_derive_from(c, root, &k);
	ws_ctx_make_root(c, root, WS_RULE_ROOT);
	ws_ctx_finish(c, root, 1, 9);

	/* a child of it keeps the parent's trace, not its own derived one */
	struct ws_node_ref child = open_named(c, 1 * MS, "child");
	ws_ctx_derive_from(c, child, &k2);
	ws_ctx_parent_local(c, child, root, WS_RULE_THREAD);
	ws_ctx_finish(c, child, 2, 3);

	/* forced ids win over the derived trace */
	struct ws_node_ref inj = open_named(c, 2 * MS, "inj");
	memset(forced, 0x5a, 16);
	memset(sid, 0x33, 8);
	ws_ctx_derive_from(c, inj, &k2);
	ws_ctx_force_ids(c, inj, forced, sid);
	ws_ctx_make_root(c, inj, WS_RULE_ROOT);
	ws_ctx_finish(c, inj, 2, 3);

	/* a different key (another run) gives another trace for the same byte */
	struct ws_ctx_config cfg = { .max_nodes = 4, .rng_seed = 7, .derive_key = { 1, 2 } };
	struct ws_ctx *c2 = ws_ctx_new(&cfg);
	uint64_t dk2[2];
	ws_ctx_derive_key(c2, dk2);
	assert_int_equal(dk2[0], 1);
	assert_int_equal(dk2[1], 2);
	ws_derive_trace((const __u64 *)dk2, k.caddr, k.saddr, k.cport, k.sport, k.seq, other);
	assert_memory_not_equal(want, other, 16);
	ws_ctx_free(c2);

	ws_ctx_tick(c, 10 * MS, capture, &out);
	assert_int_equal(out.n, 3);
	assert_memory_equal(find(&out, "root")->trace_id, want, 16);
	assert_memory_equal(find(&out, "child")->trace_id, want, 16);
	assert_memory_equal(find(&out, "inj")->trace_id, forced, 16);
	assert_memory_equal(find(&out, "inj")->span_id, sid, 8);
	assert_true(want[0] & 1);   /* never all zero */
	ws_ctx_free(c);
}

static void test_ids_random_and_nonzero(void **state)
{
	struct ws_ctx *c = new_ctx(4);
	uint8_t a[16], b[16];

	ws_ctx_random_id(c, a, 16);
	ws_ctx_random_id(c, b, 16);
	assert_false(ws_id_is_zero(a, 16));
	assert_memory_not_equal(a, b, 16);
	ws_ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_remote_parent),
		cmocka_unit_test(test_thread_parent_child_emitted_before_parent_ends),
		cmocka_unit_test(test_seq_server_seen_before_client),
		cmocka_unit_test(test_seq_mismatch_times_out_to_root),
		cmocka_unit_test(test_chain_out_of_order),
		cmocka_unit_test(test_index_collision_uses_neither),
		cmocka_unit_test(test_abandoned_parent_leaves_children_roots),
		cmocka_unit_test(test_flush_ends_waits_and_drops_open),
		cmocka_unit_test(test_table_full_is_counted_and_recovers),
		cmocka_unit_test(test_seq_client_gone_before_server_seen),
		cmocka_unit_test(test_parent_kept_while_child_waits),
		cmocka_unit_test(test_throughput_small_table_no_drops),
		cmocka_unit_test(test_backlog_reclaimed_in_record_time),
		cmocka_unit_test(test_pressure_walk_bounded),
		cmocka_unit_test(test_trim_follows_load),
		cmocka_unit_test(test_ids_random_and_nonzero),
		cmocka_unit_test(test_derived_root_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
