/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OTLP exporter core: queue accounting, retry decisions, backoff, Retry-After, partial success. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exporter/otlp_proto.h"
#include "exporter/otlp_queue.h"

static void test_classify(void **state)
{
	assert_int_equal(ws_otlp_classify(WS_OTLP_NET_OK, 200), WS_OTLP_DELIVERED);
	assert_int_equal(ws_otlp_classify(WS_OTLP_NET_OK, 202), WS_OTLP_DELIVERED);
	assert_int_equal(ws_otlp_classify(WS_OTLP_NET_OK, 429), WS_OTLP_RETRY);
	assert_int_equal(ws_otlp_classify(WS_OTLP_NET_OK, 502), WS_OTLP_RETRY);
	assert_int_equal(ws_otlp_classify(WS_OTLP_NET_OK, 503), WS_OTLP_RETRY);
	assert_int_equal(ws_otlp_classify(WS_OTLP_NET_OK, 504), WS_OTLP_RETRY);
	static const long drops[] = { 100, 301, 400, 401, 403, 404, 408, 413, 415, 500, 501, 505, 599 };
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
		assert_int_equal(ws_otlp_classify(WS_OTLP_NET_OK, drops[i]), WS_OTLP_DROP);
	assert_int_equal(ws_otlp_classify(WS_OTLP_NET_RETRYABLE, 0), WS_OTLP_RETRY);
	assert_int_equal(ws_otlp_classify(WS_OTLP_NET_FATAL, 0), WS_OTLP_DROP);
}

static const struct ws_otlp_retry_policy pol = {
	.initial_ms = 1000, .max_ms = 30000, .retry_after_max_ms = 60000, .budget_ms = 100000,
};

static void test_backoff(void **state)
{
	assert_int_equal(ws_otlp_backoff_ms(&pol, 0, 999), 999);
	assert_int_equal(ws_otlp_backoff_ms(&pol, 0, 1000), 1000);
	assert_int_equal(ws_otlp_backoff_ms(&pol, 0, 1001), 0);        /* window [0, 1000] */
	assert_int_equal(ws_otlp_backoff_ms(&pol, 1, 2000), 2000);
	assert_int_equal(ws_otlp_backoff_ms(&pol, 3, 8000), 8000);
	assert_int_equal(ws_otlp_backoff_ms(&pol, 4, 16001), 0);       /* [0, 16000] */
	assert_int_equal(ws_otlp_backoff_ms(&pol, 5, 30000), 30000);   /* capped at max */
	assert_int_equal(ws_otlp_backoff_ms(&pol, 5, 30001), 0);
	assert_int_equal(ws_otlp_backoff_ms(&pol, 1000, 30000), 30000); /* no overflow */
	/* every draw stays in its window, and the windows really are used */
	uint64_t x = 88172645463325252ull, max_seen = 0;
	for (int i = 0; i < 10000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t d = ws_otlp_backoff_ms(&pol, 2, x);
		assert_true(d <= 4000);
		if (d > max_seen)
			max_seen = d;
	}
	assert_true(max_seen > 3900);
}

static void test_next_retry(void **state)
{
	uint64_t d = 12345;

	assert_true(ws_otlp_next_retry(&pol, 0, -1, 0, 500, &d));
	assert_int_equal(d, 500);
	assert_true(ws_otlp_next_retry(&pol, 0, 7000, 0, 500, &d));   /* Retry-After replaces backoff */
	assert_int_equal(d, 7000);
	assert_true(ws_otlp_next_retry(&pol, 0, 0, 0, 500, &d));
	assert_int_equal(d, 0);
	assert_false(ws_otlp_next_retry(&pol, 0, 60001, 0, 500, &d)); /* longer than we wait for */
	assert_true(ws_otlp_next_retry(&pol, 0, 5000, 95000, 0, &d)); /* ends exactly at the budget */
	assert_false(ws_otlp_next_retry(&pol, 0, 5001, 95000, 0, &d));
	assert_false(ws_otlp_next_retry(&pol, 0, -1, 100000, 0, &d)); /* budget spent */
	assert_false(ws_otlp_next_retry(&pol, 9, -1, 99000, 29999, &d));
}

static void test_retry_after_seconds(void **state)
{
	uint64_t d;

	assert_int_equal(ws_otlp_parse_retry_after("120", 0, &d), 0);
	assert_int_equal(d, 120000);
	assert_int_equal(ws_otlp_parse_retry_after(" 3 \r\n", 0, &d), 0);
	assert_int_equal(d, 3000);
	assert_int_equal(ws_otlp_parse_retry_after("0", 0, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(ws_otlp_parse_retry_after("99999999999999999999999", 0, &d), 0);
	assert_true(d >= 100000000000ull);                             /* saturated, not wrapped */
	assert_int_equal(ws_otlp_parse_retry_after("-1", 0, &d), -EINVAL);
	assert_int_equal(ws_otlp_parse_retry_after("1.5", 0, &d), -EINVAL);
	assert_int_equal(ws_otlp_parse_retry_after("5s", 0, &d), -EINVAL);
	assert_int_equal(ws_otlp_parse_retry_after("", 0, &d), -EINVAL);
	assert_int_equal(ws_otlp_parse_retry_after(NULL, 0, &d), -EINVAL);
}

static void test_retry_after_dates(void **state)
{
	const int64_t t = 784111777;   /* Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example */
	int64_t u;
	uint64_t d;

	assert_int_equal(ws_otlp_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &u), 0);
	assert_int_equal(u, t);
	assert_int_equal(ws_otlp_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &u), 0);
	assert_int_equal(u, t);
	assert_int_equal(ws_otlp_parse_http_date("Sun Nov  6 08:49:37 1994", &u), 0);
	assert_int_equal(u, t);
	assert_int_equal(ws_otlp_parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", &u), 0);
	assert_int_equal(u, 0);
	assert_int_equal(ws_otlp_parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT", &u), 0);
	assert_int_equal(u, 1835481599);
	assert_int_equal(ws_otlp_parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT", &u), -EINVAL);
	assert_int_equal(ws_otlp_parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC", &u), -EINVAL);
	assert_int_equal(ws_otlp_parse_http_date("Sun, 6 Nov 1994 08:49:37 GMT", &u), -EINVAL);
	assert_int_equal(ws_otlp_parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT", &u), -EINVAL);
	assert_int_equal(ws_otlp_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT junk", &u), -EINVAL);
	assert_int_equal(ws_otlp_parse_http_date("tomorrow", &u), -EINVAL);

	assert_int_equal(ws_otlp_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t - 10, &d), 0);
	assert_int_equal(d, 10000);
	assert_int_equal(ws_otlp_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t + 10, &d), 0);
	assert_int_equal(d, 0);                                        /* in the past: now */
	assert_int_equal(ws_otlp_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", t - 2, &d), 0);
	assert_int_equal(d, 2000);
	assert_int_equal(ws_otlp_parse_retry_after("next week", t, &d), -EINVAL);
}

static void mk(struct ws_span *s, struct ws_resource *r, uint8_t id)
{
	memset(s, 0, sizeof(*s));
	s->span_id[0] = id;
	s->res = r;
}

static void test_queue_accounting(void **state)
{
	struct ws_otlp_queue q;
	struct ws_resource *r = ws_resource_new(1);
	struct ws_span in[6], out[6];
	const struct ws_span *p[6];

	assert_int_equal(ws_otlp_queue_init(&q, 0, 1 << 20), -EINVAL);
	assert_int_equal(ws_otlp_queue_init(&q, 4, 1 << 20), 0);
	for (int i = 0; i < 6; i++) {
		mk(&in[i], r, (uint8_t)(i + 1));
		p[i] = &in[i];
	}
	/* full: the newest two are refused */
	assert_int_equal(ws_otlp_queue_push(&q, p, 6), 4);
	assert_int_equal(q.st.spans_queued, 4);
	assert_int_equal(q.st.spans_dropped_queue_full, 2);
	assert_int_equal(q.st.queue_depth, 4);
	assert_int_equal(r->refs, 5);
	assert_true(ws_otlp_stats_consistent(&q.st));

	assert_int_equal(ws_otlp_queue_take(&q, out, 3), 3);
	assert_int_equal(out[0].span_id[0], 1);
	assert_int_equal(out[2].span_id[0], 3);
	assert_int_equal(q.st.in_flight, 3);
	assert_int_equal(q.st.queue_depth, 1);
	assert_true(ws_otlp_stats_consistent(&q.st));

	/* wrap around the ring: 4 then 5, 6, 1 (pushed again) */
	const struct ws_span *again[3] = { &in[4], &in[5], &in[0] };
	assert_int_equal(ws_otlp_queue_push(&q, again, 3), 3);
	assert_int_equal(q.st.queue_depth, 4);
	ws_otlp_queue_done(&q, 2, WS_OTLP_OUT_SENT, 1);
	ws_otlp_queue_done(&q, 1, WS_OTLP_OUT_RETRY_EXHAUSTED, 0);
	for (int i = 0; i < 3; i++)
		ws_resource_unref(out[i].res);
	assert_int_equal(q.st.spans_sent, 2);
	assert_int_equal(q.st.partial_success_rejected, 1);
	assert_int_equal(q.st.spans_failed, 1);
	assert_int_equal(q.st.in_flight, 0);
	assert_true(ws_otlp_stats_consistent(&q.st));

	assert_int_equal(ws_otlp_queue_take(&q, out, 10), 4);
	static const uint8_t order[] = { 4, 5, 6, 1 };
	for (int i = 0; i < 4; i++)
		assert_int_equal(out[i].span_id[0], order[i]);
	ws_otlp_queue_done(&q, 2, WS_OTLP_OUT_NON_RETRYABLE, 0);
	ws_otlp_queue_done(&q, 2, WS_OTLP_OUT_SHUTDOWN, 0);
	for (int i = 0; i < 4; i++)
		ws_resource_unref(out[i].res);
	assert_int_equal(q.st.spans_dropped_non_retryable, 2);
	assert_int_equal(q.st.spans_dropped_shutdown, 2);
	assert_int_equal(q.st.spans_failed, 3);
	assert_true(ws_otlp_stats_consistent(&q.st));

	/* what is left at the end counts as dropped at shutdown, and releases its refs */
	assert_int_equal(ws_otlp_queue_push(&q, p, 2), 2);
	assert_int_equal(r->refs, 3);
	ws_otlp_queue_free(&q);
	assert_int_equal(q.st.spans_dropped_shutdown, 4);
	assert_int_equal(r->refs, 1);
	assert_true(ws_otlp_stats_consistent(&q.st));
	assert_int_equal(q.st.spans_queued + q.st.spans_dropped_queue_full, 6 + 3 + 2);
	ws_resource_unref(r);
}

/* Memory follows the queue's depth: chunks are mapped as spans come and unmapped once
 * read, but for WS_OTLP_SPARE_CHUNKS kept for the next burst; a drained queue holds at
 * most those and the one it goes on writing. */
static void test_queue_memory_follows_depth(void **state)
{
	struct ws_otlp_queue q;
	struct ws_resource *r = ws_resource_new(1);
	struct ws_span *in = calloc(1, sizeof(*in)), *out = calloc(512, sizeof(*out));
	const struct ws_span *p[512];
	size_t per_chunk;

	assert_non_null(in);
	assert_non_null(out);
	memset(in, 0, sizeof(*in));
	in->res = r;
	for (int i = 0; i < 512; i++)
		p[i] = in;
	per_chunk = (WS_OTLP_CHUNK_BYTES - 16) / ws_span_packed_size(in);
	assert_int_equal(ws_otlp_queue_init(&q, 100000, 64u << 20), 0);
	assert_int_equal(q.chunks, 0);
	/* a burst of 40 batches: as many chunks as it needs, not more */
	for (int b = 0; b < 40; b++)
		assert_int_equal(ws_otlp_queue_push(&q, p, 512), 512);
	assert_int_equal(q.chunks, (40 * 512 + per_chunk - 1) / per_chunk);
	assert_int_equal(q.st.queue_bytes, (uint64_t)q.chunks * WS_OTLP_CHUNK_BYTES);
	/* drained: all but the spares and the last go back */
	for (int b = 0; b < 40; b++) {
		assert_int_equal(ws_otlp_queue_take(&q, out, 512), 512);
		for (int i = 0; i < 512; i++)
			ws_resource_unref(out[i].res);
		ws_otlp_queue_done(&q, 512, WS_OTLP_OUT_SENT, 0);
	}
	assert_true(q.chunks <= 1 + WS_OTLP_SPARE_CHUNKS);
	assert_int_equal(q.st.queue_bytes, (uint64_t)q.chunks * WS_OTLP_CHUNK_BYTES);
	/* steady small batches stay in what is mapped */
	for (int round = 0; round < 1000; round++) {
		assert_int_equal(ws_otlp_queue_push(&q, p, 100), 100);
		assert_int_equal(ws_otlp_queue_take(&q, out, 100), 100);
		for (int i = 0; i < 100; i++)
			ws_resource_unref(out[i].res);
		ws_otlp_queue_done(&q, 100, WS_OTLP_OUT_SENT, 0);
		assert_true(q.chunks <= 1 + WS_OTLP_SPARE_CHUNKS);
	}
	assert_true(ws_otlp_stats_consistent(&q.st));
	ws_otlp_queue_free(&q);
	assert_int_equal(q.chunks, 0);
	assert_int_equal(r->refs, 1);
	ws_resource_unref(r);
	free(in);
	free(out);
}

/* A span like the agent's HTTP spans (a dozen attributes, ~300 arena bytes) takes a
 * third of sizeof(struct ws_span) in the ring, or less. */
static void fill_http(struct ws_span *s, struct ws_resource *r, uint16_t id)
{
	char v[64];

	memset(s, 0, sizeof(*s));
	memcpy(s->span_id, &id, sizeof(id));
	s->res = r;
	snprintf(s->name, sizeof(s->name), "GET /api/items/{id}");
	for (int i = 0; i < 12; i++) {
		snprintf(v, sizeof(v), "value-%d-of-an-attribute", i);
		ws_span_set_str(s, i % 2 ? "url.path" : "server.address", v);
		ws_span_set_int(s, i % 3 ? "http.response.status_code" : "server.port", i);
	}
}

static void test_queue_packs_spans(void **state)
{
	struct ws_otlp_queue q;
	struct ws_resource *r = ws_resource_new(1);
	struct ws_span *in = calloc(64, sizeof(*in)), *out = calloc(64, sizeof(*out));
	const struct ws_span *p[64];
	size_t sum = 0;

	assert_non_null(in);
	assert_non_null(out);
	for (int i = 0; i < 64; i++) {
		fill_http(&in[i], r, (uint16_t)i);
		p[i] = &in[i];
		sum += ws_span_packed_size(&in[i]);
		assert_true(ws_span_packed_size(&in[i]) <= WS_SPAN_PACKED_MAX);
		assert_int_equal(ws_span_packed_size(&in[i]) % 8, 0);
	}
	assert_int_equal(ws_otlp_queue_init(&q, 64, 64u << 20), 0);
	assert_int_equal(ws_otlp_queue_push(&q, p, 64), 64);
	assert_int_equal(q.chunks, 1);
	assert_true(sum * 3 <= 64 * sizeof(struct ws_span));
	assert_int_equal(ws_otlp_queue_take(&q, out, 64), 64);
	for (int i = 0; i < 64; i++) {
		assert_memory_equal(out[i].span_id, in[i].span_id, 8);
		assert_string_equal(out[i].name, in[i].name);
		assert_int_equal(out[i].n_attrs, in[i].n_attrs);
		assert_string_equal(ws_span_attr_str(&out[i], &out[i].attrs[0]), ws_span_attr_str(&in[i], &in[i].attrs[0]));
		ws_resource_unref(out[i].res);
	}
	ws_otlp_queue_done(&q, 64, WS_OTLP_OUT_SENT, 0);
	ws_otlp_queue_free(&q);
	assert_int_equal(r->refs, 1);
	ws_resource_unref(r);
	free(in);
	free(out);
}

/* The byte bound refuses spans (counted) before the span bound does; spans keep their
 * order across chunks; a read chunk makes room again; what is left at the end releases
 * its references. */
static void test_queue_byte_bound(void **state)
{
	struct ws_otlp_queue q;
	struct ws_resource *r = ws_resource_new(1);
	struct ws_span *in = calloc(16, sizeof(*in)), *out = calloc(1, sizeof(*out));
	const struct ws_span *p[16];
	size_t per_chunk, fit, took = 0;
	uint16_t got;

	assert_non_null(in);
	assert_non_null(out);
	for (int i = 0; i < 16; i++) {
		fill_http(&in[i], r, (uint16_t)i);
		p[i] = &in[i];
	}
	per_chunk = (WS_OTLP_CHUNK_BYTES - 16) / ws_span_packed_size(&in[0]);
	fit = 2 * per_chunk;
	assert_int_equal(ws_otlp_queue_init(&q, 1000000, 2 * WS_OTLP_CHUNK_BYTES + 100), 0);
	assert_int_equal(q.max_chunks, 2);
	for (size_t i = 0; i < fit; i++)
		assert_int_equal(ws_otlp_queue_push(&q, &p[i % 16], 1), 1);
	assert_int_equal(ws_otlp_queue_push(&q, p, 16), 0);
	assert_int_equal(q.st.spans_dropped_queue_full, 16);
	assert_int_equal(q.chunks, 2);
	/* reading the first chunk frees it for the next spans, in order throughout */
	for (; took < per_chunk; took++) {
		assert_int_equal(ws_otlp_queue_take(&q, out, 1), 1);
		memcpy(&got, out->span_id, sizeof(got));
		assert_int_equal(got, took % 16);
		ws_resource_unref(out->res);
	}
	ws_otlp_queue_done(&q, per_chunk, WS_OTLP_OUT_SENT, 0);
	assert_int_equal(ws_otlp_queue_push(&q, p, 16), 16);
	for (; took < per_chunk + 20; took++) {
		assert_int_equal(ws_otlp_queue_take(&q, out, 1), 1);
		memcpy(&got, out->span_id, sizeof(got));
		assert_int_equal(got, took % 16);
		assert_string_equal(out->name, "GET /api/items/{id}");
		ws_resource_unref(out->res);
	}
	ws_otlp_queue_done(&q, 20, WS_OTLP_OUT_SENT, 0);
	assert_true(ws_otlp_stats_consistent(&q.st));
	ws_otlp_queue_free(&q);
	assert_int_equal(r->refs, 1);
	assert_true(ws_otlp_stats_consistent(&q.st));
	ws_resource_unref(r);
	free(in);
	free(out);
}

/* A span through the queue encodes to the same bytes as the span itself, though the
 * queue copies only what the span uses and the slot and the taken copy held other
 * spans' tables before (ws_span_copy). */
static void test_queue_copies_what_is_used(void **state)
{
	struct ws_otlp_queue q;
	struct ws_resource *r = ws_resource_new(7);
	struct ws_span *in = calloc(1, sizeof(*in)), *junk = malloc(sizeof(*junk)), *out = malloc(sizeof(*out));
	const struct ws_span *p[1] = { in };
	const struct ws_span *po[1] = { out };
	static const uint8_t tid[16] = { 1, 2, 3 }, sid[8] = { 4, 5 };
	struct ws_buf a, b;
	int ev, ln;

	assert_non_null(in);
	assert_non_null(junk);
	assert_non_null(out);
	ws_resource_set_str(r, "service.name", "svc");
	memset(in->trace_id, 0x11, 16);
	memset(in->span_id, 0x22, 8);
	in->kind = 2;
	in->start_ns = 1000;
	in->end_ns = 2000;
	in->res = r;
	strcpy(in->name, "GET /x");
	assert_int_equal(ws_span_set_str(in, "http.request.method", "GET"), 0);
	assert_int_equal(ws_span_set_int(in, "http.response.status_code", 200), 0);
	assert_int_equal(ws_span_set_str(in, "url.path", "/x"), 0);
	ev = ws_span_add_event(in, 1500, "exception");
	assert_true(ev >= 0);
	assert_int_equal(ws_span_event_set_str(in, ev, "exception.message", "boom"), 0);
	ln = ws_span_add_link(in, tid, sid, 1, true);
	assert_true(ln >= 0);
	assert_int_equal(ws_span_link_set_int(in, ln, "n", 3), 0);

	/* every slot and the output first hold a different, fuller span */
	memset(junk, 0x5a, sizeof(*junk));
	junk->res = r;
	assert_int_equal(ws_otlp_queue_init(&q, 2, 1 << 20), 0);
	/* the queue's memory held the junk span before */
	const struct ws_span *pj[1] = { junk };
	assert_int_equal(ws_otlp_queue_push(&q, pj, 1), 1);
	assert_int_equal(ws_otlp_queue_take(&q, out, 1), 1);
	ws_otlp_queue_done(&q, 1, WS_OTLP_OUT_SENT, 0);
	ws_resource_unref(out->res);
	memcpy(out, junk, sizeof(*junk));

	assert_int_equal(ws_otlp_queue_push(&q, p, 1), 1);
	assert_int_equal(ws_otlp_queue_take(&q, out, 1), 1);
	ws_otlp_queue_done(&q, 1, WS_OTLP_OUT_SENT, 0);
	ws_buf_init(&a, 1 << 20);
	ws_buf_init(&b, 1 << 20);
	assert_int_equal(ws_otlp_proto_encode(p, 1, &a), 0);
	assert_int_equal(ws_otlp_proto_encode(po, 1, &b), 0);
	assert_true(a.len > 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	ws_buf_free(&a);
	ws_buf_free(&b);
	ws_resource_unref(out->res);
	ws_otlp_queue_free(&q);
	free(in);
	free(junk);
	free(out);
	ws_resource_unref(r);
}

static void test_report(void **state)
{
	struct ws_otlp_stats st = { .spans_queued = 7, .spans_sent = 5, .retries = 2, .bytes_sent = 99 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	strcpy(st.last_error, "HTTP 400 \"bad\"\n\\x");
	ws_otlp_stats_report(&st, f);
	fclose(f);
	assert_non_null(strstr(buf, "otlp_spans_queued 7\n"));
	assert_non_null(strstr(buf, "otlp_spans_sent 5\n"));
	assert_non_null(strstr(buf, "otlp_spans_failed 0\n"));
	assert_non_null(strstr(buf, "otlp_spans_dropped_queue_full 0\n"));
	assert_non_null(strstr(buf, "otlp_spans_dropped_non_retryable 0\n"));
	assert_non_null(strstr(buf, "otlp_spans_dropped_retry_exhausted 0\n"));
	assert_non_null(strstr(buf, "otlp_spans_dropped_shutdown 0\n"));
	assert_non_null(strstr(buf, "otlp_retries 2\n"));
	assert_non_null(strstr(buf, "otlp_queue_depth 0\n"));
	assert_non_null(strstr(buf, "otlp_partial_success_rejected 0\n"));
	assert_non_null(strstr(buf, "otlp_bytes_sent 99\n"));
	assert_non_null(strstr(buf, "otlp_last_error \"HTTP 400 \\\"bad\\\" \\\\x\"\n"));
	free(buf);
}

static void test_json_partial(void **state)
{
	struct ws_otlp_partial p;
	const char *b;

	b = "{\"partialSuccess\":{\"rejectedSpans\":\"2\",\"errorMessage\":\"bad \\\"x\\\"\"}}";
	assert_int_equal(ws_otlp_json_decode_response(b, strlen(b), &p), 0);
	assert_int_equal(p.rejected_spans, 2);
	assert_string_equal(p.error_message, "bad \"x\"");
	b = "{ \"partial_success\" : { \"rejected_spans\" : 3 } }";
	assert_int_equal(ws_otlp_json_decode_response(b, strlen(b), &p), 0);
	assert_int_equal(p.rejected_spans, 3);
	assert_string_equal(p.error_message, "");
	b = "{}";
	assert_int_equal(ws_otlp_json_decode_response(b, strlen(b), &p), 0);
	assert_int_equal(p.rejected_spans, 0);
	assert_int_equal(ws_otlp_json_decode_response("", 0, &p), 0);
	b = "{\"partialSuccess\":{\"rejectedSpans\":x}}";
	assert_int_equal(ws_otlp_json_decode_response(b, strlen(b), &p), -EBADMSG);
	b = "{\"partialSuccess\":{\"errorMessage\":\"unterminated";
	assert_int_equal(ws_otlp_json_decode_response(b, strlen(b), &p), -EBADMSG);
	/* a value that merely contains the key's text is not the key */
	b = "{\"partialSuccess\":{\"errorMessage\":\"rejectedSpans\"}}";
	assert_int_equal(ws_otlp_json_decode_response(b, strlen(b), &p), 0);
	assert_int_equal(p.rejected_spans, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_next_retry),
		cmocka_unit_test(test_retry_after_seconds),
		cmocka_unit_test(test_retry_after_dates),
		cmocka_unit_test(test_queue_accounting),
		cmocka_unit_test(test_queue_memory_follows_depth),
		cmocka_unit_test(test_queue_packs_spans),
		cmocka_unit_test(test_queue_byte_bound),
		cmocka_unit_test(test_queue_copies_what_is_used),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_json_partial),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
