/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Coexisting with OpenTelemetry SDKs (issue 12): which processes make their own spans
 * (agent/sdk.c) and what the assembler hides, takes over or selects for injection
 * (agent/coexist.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agent/coexist.h"
#include "agent/context.h"
#include "agent/sdk.h"

#define MS 1000000ULL
#define S (1000 * MS)

/* A traceparent and its parent span id as bytes. */
#define TP_A "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
static const uint8_t SID_A[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };
#define TP_B "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"

static uint8_t sid(uint8_t v)
{
	return v;
}

static void id_of(uint8_t out[8], uint32_t v)
{
	memset(out, 0, 8);
	memcpy(out, &v, sizeof(v));
	out[7] = sid(0x5a);
}

/* ---- sdk.c ------------------------------------------------------------------- */

static void test_otlp_paths(void **state)
{
	(void)state;
	assert_true(ws_sdk_is_otlp_path("POST", "/v1/traces"));
	assert_true(ws_sdk_is_otlp_path("POST", "/otlp/v1/metrics"));
	assert_true(ws_sdk_is_otlp_path("POST", "/v1/logs"));
	assert_true(ws_sdk_is_otlp_path(NULL, "/opentelemetry.proto.collector.trace.v1.TraceService/Export"));
	assert_true(ws_sdk_is_otlp_path("POST", "/opentelemetry.proto.collector.logs.v1.LogsService/Export"));
	/* Reading traces back (a query API) is not an export. */
	assert_false(ws_sdk_is_otlp_path("GET", "/v1/traces"));
	assert_false(ws_sdk_is_otlp_path("POST", "/v1/tracesx"));
	assert_false(ws_sdk_is_otlp_path("POST", "/v1/traces/123"));
	assert_false(ws_sdk_is_otlp_path("POST", "/api/orders"));
	assert_false(ws_sdk_is_otlp_path("POST", NULL));
}

static void test_forwarded_is_not_own(void **state)
{
	struct ws_sdk s;
	uint8_t own[8];

	(void)state;
	ws_sdk_init(&s, false, NULL);
	ws_sdk_note_received(&s, 10, SID_A, 1);
	/* A proxy repeats the parent id it was given: not an SDK. */
	assert_false(ws_sdk_note_sent(&s, 10, SID_A, 2));
	assert_false(ws_sdk_instrumented(&s, 10));
	assert_false(ws_sdk_hide(&s, 10));
	assert_int_equal(s.st.forwarded_traceparents, 1);
	assert_int_equal(s.st.foreign_traceparents, 0);
	/* An SDK writes its own CLIENT span's id. */
	id_of(own, 77);
	assert_true(ws_sdk_note_sent(&s, 10, own, 3));
	assert_true(ws_sdk_instrumented(&s, 10));
	assert_true(ws_sdk_hide(&s, 10));
	assert_int_equal(s.st.procs, 1);
	assert_int_equal(s.st.by_why[WS_SDK_TRACEPARENT], 1);
	/* Recognised once: more evidence counts no second process. */
	ws_sdk_note_otlp(&s, 10, WS_SDK_OTLP_HTTP, 4);
	assert_int_equal(s.st.procs, 1);
	/* Another process is unaffected. */
	assert_false(ws_sdk_instrumented(&s, 11));
}

static void test_keep_shows_spans(void **state)
{
	struct ws_sdk s;

	(void)state;
	ws_sdk_init(&s, true, NULL);
	ws_sdk_note_otlp(&s, 20, WS_SDK_OTLP_GRPC, 1);
	assert_true(ws_sdk_instrumented(&s, 20));
	assert_false(ws_sdk_hide(&s, 20));
	assert_int_equal(s.st.by_why[WS_SDK_OTLP_GRPC], 1);
}

/* A process remembers the last WS_SDK_SEEN parent ids it received: an id older than that
 * is no longer recognised as forwarded. */
static void test_seen_window(void **state)
{
	struct ws_sdk s;
	uint8_t id[8], first[8];

	(void)state;
	ws_sdk_init(&s, false, NULL);
	id_of(first, 1000);
	ws_sdk_note_received(&s, 30, first, 1);
	for (uint32_t i = 1; i < WS_SDK_SEEN; i++) {
		id_of(id, 1000 + i);
		ws_sdk_note_received(&s, 30, id, 1 + i);
	}
	assert_false(ws_sdk_note_sent(&s, 30, first, 100));
	id_of(id, 2000);
	ws_sdk_note_received(&s, 30, id, 101);   /* pushes "first" out */
	assert_true(ws_sdk_note_sent(&s, 30, first, 102));
}

static uint32_t slot(uint32_t pid)
{
	return (pid * 2654435761u) % WS_SDK_PROCS;
}

/* Processes whose slots collide: 8 probes, then the oldest unrecognised one is forgotten;
 * recognised ones are never forgotten, and a full neighbourhood is counted. */
static void test_table_bounds(void **state)
{
	struct ws_sdk s;
	uint32_t pids[10], n = 0;

	(void)state;
	for (uint32_t p = 2; n < 10; p++)
		if (slot(p) == slot(1))
			pids[n++] = p;
	ws_sdk_init(&s, false, NULL);
	for (int i = 0; i < 8; i++)
		ws_sdk_note_received(&s, pids[i], SID_A, 10 + i);
	/* A ninth colliding process replaces the oldest unrecognised one. */
	ws_sdk_note_received(&s, pids[8], SID_A, 100);
	assert_int_equal(s.st.table_full, 0);
	assert_false(ws_sdk_note_sent(&s, pids[8], SID_A, 101));   /* it remembers */
	assert_true(ws_sdk_note_sent(&s, pids[0], SID_A, 102));    /* pids[0] was forgotten */
	/* Recognising pids[1..8] in turn: each new one replaces the oldest unrecognised
	 * entry (pids[2], [3], ... and finally pids[8] itself), so when pids[8]'s turn comes
	 * all eight slots hold recognised processes (pids[0..7]): no room, counted, and a
	 * recognised process is never the one forgotten. */
	for (int i = 1; i <= 8; i++)
		ws_sdk_note_otlp(&s, pids[i], WS_SDK_OTLP_HTTP, 200 + i);
	assert_int_equal(s.st.table_full, 1);
	for (int i = 0; i <= 7; i++)
		assert_true(ws_sdk_instrumented(&s, pids[i]));
	assert_false(ws_sdk_instrumented(&s, pids[8]));
	ws_sdk_note_otlp(&s, pids[9], WS_SDK_OTLP_HTTP, 300);
	assert_int_equal(s.st.table_full, 2);
	assert_false(ws_sdk_instrumented(&s, pids[9]));
	assert_int_equal(s.st.procs, 8);
}

/* ---- coexist.c --------------------------------------------------------------- */

struct dst_calls {
	uint16_t port[8];
	bool on[8];
	int n;
};

static void on_dst(void *ctx, uint16_t port, bool on)
{
	struct dst_calls *d = ctx;

	if (d->n < 8) {
		d->port[d->n] = port;
		d->on[d->n] = on;
	}
	d->n++;
}

struct fixture {
	struct ws_ctx *ctx;
	struct ws_coexist *co;
	struct dst_calls dst;
};

static struct fixture *fx_new(bool keep)
{
	static struct fixture f;
	struct ws_ctx_config cfg = {
		.max_nodes = 64,
		.link_wait_ns = 300 * MS,
		.index_slots = 64,
		.max_open_ns = 60 * S,
		.rng_seed = 7,
		.mono_to_unix_ns = 1000,
	};

	memset(&f, 0, sizeof(f));
	f.ctx = ws_ctx_new(&cfg);
	f.co = ws_coexist_new(keep, NULL, on_dst, &f.dst);
	assert_non_null(f.ctx);
	assert_non_null(f.co);
	return &f;
}

static void drop(void *ctx, const struct ws_span *const *spans, size_t n)
{
	(void)ctx;
	(void)spans;
	(void)n;
}

static void fx_free(struct fixture *f)
{
	ws_ctx_flush(f->ctx, 1000 * S, drop, NULL);
	ws_coexist_free(f->co);
	ws_ctx_free(f->ctx);
}

/* Open a node and tell coexist about its request. */
static struct ws_node_ref req(struct fixture *f, uint32_t pid, bool server, const char *tp,
			      const char *method, const char *path, uint64_t ts, uint32_t *shift)
{
	struct ws_span *s;
	struct ws_node_ref r = ws_ctx_open(f->ctx, ts, &s);
	struct ws_coexist_req q = {
		.pid = pid, .tid = pid, .lport = server ? 8080 : 40000, .rport = server ? 40000 : 8080,
		.server = server, .local_peer = true, .traceparent = tp, .method = method,
		.path = path, .ts = ts,
	};
	uint32_t sh;

	assert_true(ws_node_ref_valid(r));
	sh = ws_coexist_open(f->co, f->ctx, r, &q);
	if (shift)
		*shift = sh;
	return r;
}

/* A CLIENT request with a traceparent of the process's own: its span is hidden, the
 * process is recognised, its open and later spans are hidden, and its server port is
 * handed to the kernel for injection. */
static void test_sdk_process_hidden(void **state)
{
	struct fixture *f = fx_new(false);
	struct ws_node_ref srv, cli, later, other;

	(void)state;
	srv = req(f, 10, true, NULL, "GET", "/a", 1 * MS, NULL);
	assert_false(ws_ctx_is_hidden(f->ctx, srv));
	assert_int_equal(f->dst.n, 0);                /* not known as an SDK process yet */
	cli = req(f, 10, false, TP_B, "GET", "/down", 2 * MS, NULL);
	assert_true(ws_ctx_is_hidden(f->ctx, cli));
	assert_true(ws_ctx_is_hidden(f->ctx, srv));   /* hidden late, at the recognition */
	assert_int_equal(f->co->st.client_tp_hidden, 1);
	assert_int_equal(f->co->st.sdk_hidden_late, 1);
	assert_int_equal(f->dst.n, 1);
	assert_int_equal(f->dst.port[0], 8080);
	assert_true(f->dst.on[0]);
	later = req(f, 10, true, NULL, "GET", "/b", 3 * MS, NULL);
	assert_true(ws_ctx_is_hidden(f->ctx, later));
	other = req(f, 11, true, NULL, "GET", "/c", 4 * MS, NULL);
	assert_false(ws_ctx_is_hidden(f->ctx, other));
	fx_free(f);
}

/* Recognised outside any request (a connection to the OTLP/gRPC port): the process's
 * open spans are hidden at its next request, once, and its port selected then. */
static void test_recognised_by_connect(void **state)
{
	struct fixture *f = fx_new(false);
	struct ws_node_ref open1, next;

	(void)state;
	open1 = req(f, 70, true, NULL, "GET", "/a", 1 * MS, NULL);
	ws_coexist_connect(f->co, 70, 4317, 2 * MS);
	assert_false(ws_ctx_is_hidden(f->ctx, open1));
	assert_int_equal(f->dst.n, 0);
	next = req(f, 70, true, NULL, "GET", "/b", 3 * MS, NULL);
	assert_true(ws_ctx_is_hidden(f->ctx, next));
	assert_true(ws_ctx_is_hidden(f->ctx, open1));
	assert_int_equal(f->co->st.sdk_hidden_late, 2);   /* open1 and next, at the recognition */
	assert_int_equal(f->co->st.sdk_hidden, 2);
	assert_int_equal(f->dst.n, 1);
	assert_int_equal(f->dst.port[0], 8080);
	next = req(f, 70, true, NULL, "GET", "/c", 4 * MS, NULL);
	assert_true(ws_ctx_is_hidden(f->ctx, next));
	assert_int_equal(f->co->st.sdk_hidden, 3);
	assert_int_equal(f->dst.n, 1);
	fx_free(f);
}

/* A proxy that forwards the traceparent it received is not an SDK: its SERVER spans stay. */
static void test_forwarding_proxy(void **state)
{
	struct fixture *f = fx_new(false);
	struct ws_node_ref srv, cli, next;

	(void)state;
	srv = req(f, 20, true, TP_A, "GET", "/a", 1 * MS, NULL);
	cli = req(f, 20, false, TP_A, "GET", "/a", 2 * MS, NULL);
	assert_false(ws_ctx_is_hidden(f->ctx, srv));
	assert_false(ws_sdk_instrumented(&f->co->sdk, 20));
	assert_int_equal(f->co->sdk.st.forwarded_traceparents, 1);
	(void)cli;
	next = req(f, 20, true, NULL, "GET", "/b", 3 * MS, NULL);
	assert_false(ws_ctx_is_hidden(f->ctx, next));
	assert_int_equal(f->dst.n, 0);
	fx_free(f);
}

/* OTLP exports are hidden on both ends; only the sender is recognised. */
static void test_otlp_export_hidden(void **state)
{
	struct fixture *f = fx_new(false);
	struct ws_node_ref cli, srv, app;

	(void)state;
	cli = req(f, 30, false, NULL, "POST", "/v1/traces", 1 * MS, NULL);
	srv = req(f, 31, true, NULL, "POST", "/v1/traces", 2 * MS, NULL);
	assert_true(ws_ctx_is_hidden(f->ctx, cli));
	assert_true(ws_ctx_is_hidden(f->ctx, srv));
	assert_true(ws_sdk_instrumented(&f->co->sdk, 30));
	assert_false(ws_sdk_instrumented(&f->co->sdk, 31));
	assert_int_equal(f->co->sdk.st.by_why[WS_SDK_OTLP_HTTP], 1);
	assert_int_equal(f->co->st.otlp_hidden, 2);
	app = req(f, 31, true, NULL, "GET", "/app", 3 * MS, NULL);   /* the collector's own API */
	assert_false(ws_ctx_is_hidden(f->ctx, app));
	/* A connection to 4317 is OTLP/gRPC evidence by itself. */
	ws_coexist_connect(f->co, 32, 4317, 4 * MS);
	assert_true(ws_sdk_instrumented(&f->co->sdk, 32));
	ws_coexist_connect(f->co, 33, 4318, 4 * MS);
	assert_false(ws_sdk_instrumented(&f->co->sdk, 33));
	fx_free(f);
}

/* --sdk-spans keep: an SDK process's spans stay; a CLIENT request carrying its own
 * traceparent is still hidden (the SDK made that CLIENT span). */
static void test_keep_mode(void **state)
{
	struct fixture *f = fx_new(true);
	struct ws_node_ref srv, cli, later;

	(void)state;
	srv = req(f, 40, true, NULL, "GET", "/a", 1 * MS, NULL);
	cli = req(f, 40, false, TP_B, "GET", "/down", 2 * MS, NULL);
	later = req(f, 40, true, NULL, "GET", "/b", 3 * MS, NULL);
	assert_true(ws_sdk_instrumented(&f->co->sdk, 40));
	assert_true(ws_ctx_is_hidden(f->ctx, cli));
	assert_false(ws_ctx_is_hidden(f->ctx, srv));
	assert_false(ws_ctx_is_hidden(f->ctx, later));
	fx_free(f);
}

static void inj_event(struct ws_inject_event *e, uint32_t pid, uint64_t ts, uint8_t tag)
{
	memset(e, 0, sizeof(*e));
	e->hdr.ts_ns = ts;
	e->pid = pid;
	e->tid = pid;
	e->lport = 40000;
	e->rport = 8080;
	e->len = 70;
	memset(e->trace_id, tag, 16);
	memset(e->span_id, tag, 8);
}

/* A traceparent the kernel inserted: the CLIENT span takes its ids (and is not hidden),
 * the caller learns the sequence shift; one record is claimed once; stale ones are not
 * claimed and are counted when their slot is reused. */
static void test_injected_ids(void **state)
{
	struct fixture *f = fx_new(false);
	struct ws_inject_event e;
	struct ws_node_ref cli, again, late;
	uint8_t trace[16], want[16];
	uint32_t shift = 0;

	(void)state;
	inj_event(&e, 50, 1 * MS, 0xab);
	ws_coexist_inject_record(f->co, &e);
	cli = req(f, 50, false, NULL, "GET", "/down", 1 * MS, &shift);
	assert_int_equal(shift, 70);
	assert_false(ws_ctx_is_hidden(f->ctx, cli));
	ws_ctx_make_root(f->ctx, cli, WS_RULE_ROOT);
	assert_true(ws_ctx_trace_id(f->ctx, cli, trace));
	memset(want, 0xab, 16);
	assert_memory_equal(trace, want, 16);
	assert_memory_equal(ws_ctx_span(f->ctx, cli)->span_id, want, 8);
	assert_int_equal(f->co->st.injected_spans, 1);
	again = req(f, 50, false, NULL, "GET", "/down", 2 * MS, &shift);
	assert_int_equal(shift, 0);
	(void)again;
	/* Another thread's record is not ours. */
	inj_event(&e, 51, 3 * MS, 0xcd);
	ws_coexist_inject_record(f->co, &e);
	late = req(f, 50, false, NULL, "GET", "/down", 3 * MS, &shift);
	assert_int_equal(shift, 0);
	/* Too old: more than 5 s before the request. */
	inj_event(&e, 50, 4 * MS, 0xef);
	ws_coexist_inject_record(f->co, &e);
	late = req(f, 50, false, NULL, "GET", "/down", 4 * MS + 6 * S, &shift);
	assert_int_equal(shift, 0);
	(void)late;
	/* Slots are reused in ring order: unclaimed records are counted then. */
	for (int i = 0; i < WS_COEXIST_INJ_SLOTS; i++) {
		inj_event(&e, 60, 10 * S, 1);
		ws_coexist_inject_record(f->co, &e);
	}
	assert_int_equal(f->co->st.inject_unmatched, 2);
	fx_free(f);
}

/* Each injection is matched to the one write it was made in (same thread and ports,
 * inside the syscall), once: the assembler takes its bytes out of the sender's stream.
 * The trace's origin is counted. */
static void test_inserted_matches_its_write(void **state)
{
	struct fixture *f = fx_new(false);
	struct ws_inject_event e;

	(void)state;
	assert_int_equal(ws_coexist_inserted(f->co, 50, 50, 40000, 8080, 0, 10 * MS), 0);
	inj_event(&e, 50, 5 * MS, 0xab);
	e.hdr.flags = WS_INJ_F_TRACE_RECEIVED;
	ws_coexist_inject_record(f->co, &e);
	/* another write: other thread, other port, or a syscall that ended before it */
	assert_int_equal(ws_coexist_inserted(f->co, 50, 51, 40000, 8080, 4 * MS, 6 * MS), 0);
	assert_int_equal(ws_coexist_inserted(f->co, 50, 50, 40001, 8080, 4 * MS, 6 * MS), 0);
	assert_int_equal(ws_coexist_inserted(f->co, 50, 50, 40000, 8080, 1 * MS, 4 * MS), 0);
	assert_int_equal(ws_coexist_inserted(f->co, 50, 50, 40000, 8080, 6 * MS, 7 * MS), 0);
	/* its write, once */
	assert_int_equal(ws_coexist_inserted(f->co, 50, 50, 40000, 8080, 4 * MS, 6 * MS), 70);
	assert_int_equal(ws_coexist_inserted(f->co, 50, 50, 40000, 8080, 4 * MS, 6 * MS), 0);
	/* its span still takes the ids, and the trace's origin is counted */
	req(f, 50, false, NULL, "GET", "/down", 6 * MS, NULL);
	assert_int_equal(f->co->st.injected_spans, 1);
	assert_int_equal(f->co->st.inject_trace_received, 1);
	assert_int_equal(f->co->st.inject_trace_derived, 0);
	fx_free(f);
}

/* A server port of a recognised process becomes a destination: the change is taken
 * once (the assembler then adopts the open connections to it), and a connection
 * established less than a second after the selection may have missed the kernel's
 * sockhash (it is adopted, not assumed). */
static void test_destination_selection(void **state)
{
	struct fixture *f = fx_new(false);

	(void)state;
	req(f, 60, true, NULL, "GET", "/x", 1 * S, NULL);   /* pid 60 serves port 8080 */
	assert_false(ws_coexist_dst_selected(f->co, 8080));
	assert_false(ws_coexist_take_dst_change(f->co));
	/* it exports OTLP: recognised at its next request, its port selected */
	req(f, 60, false, NULL, "POST", "/v1/traces", 2 * S, NULL);
	assert_true(ws_coexist_dst_selected(f->co, 8080));
	assert_false(ws_coexist_dst_selected(f->co, 8081));
	assert_true(ws_coexist_take_dst_change(f->co));
	assert_false(ws_coexist_take_dst_change(f->co));
	assert_false(ws_coexist_dst_known_at(f->co, 8080, 2 * S + 500 * MS));
	assert_true(ws_coexist_dst_known_at(f->co, 8080, 4 * S));
	assert_false(ws_coexist_dst_known_at(f->co, 8081, 4 * S));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_otlp_paths),
		cmocka_unit_test(test_forwarded_is_not_own),
		cmocka_unit_test(test_keep_shows_spans),
		cmocka_unit_test(test_seen_window),
		cmocka_unit_test(test_table_bounds),
		cmocka_unit_test(test_sdk_process_hidden),
		cmocka_unit_test(test_recognised_by_connect),
		cmocka_unit_test(test_forwarding_proxy),
		cmocka_unit_test(test_otlp_export_hidden),
		cmocka_unit_test(test_keep_mode),
		cmocka_unit_test(test_injected_ids),
		cmocka_unit_test(test_inserted_matches_its_write),
		cmocka_unit_test(test_destination_selection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
