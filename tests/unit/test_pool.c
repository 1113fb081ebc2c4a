/* The per-message memory pool (agent/pool.c) and how the HTTP/1 parser uses it: blocks
 * are reused, the free list and the number in use are bounded, an exhausted pool is
 * counted and never a crash; a connection at rest holds no block, a request in flight
 * holds its blocks until it ends, and a request parsed while the pool is exhausted keeps
 * its method and framing but not its fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/pool.h"
#include "agent/proto/http1.h"

static void test_pool_reuse_and_bounds(void **state)
{
	struct ws_pool p;
	void *b[4];

	ws_pool_init(&p, 100, 3, 2);
	for (int i = 0; i < 3; i++) {
		b[i] = ws_pool_get(&p);
		assert_non_null(b[i]);
		memset(b[i], 0xab, 100);    /* the whole block is usable (ASan checks) */
	}
	assert_int_equal(p.st.in_use, 3);
	assert_null(ws_pool_get(&p));   /* bounded: refused and counted */
	assert_int_equal(p.st.exhausted, 1);
	ws_pool_put(&p, b[0]);
	ws_pool_put(&p, b[1]);
	ws_pool_put(&p, b[2]);          /* free list holds 2: the third goes to free() */
	assert_int_equal(p.st.in_use, 0);
	assert_int_equal(p.st.free_blocks, 2);
	assert_int_equal(p.st.in_use_max, 3);
	b[3] = ws_pool_get(&p);         /* reused from the free list, LIFO */
	assert_ptr_equal(b[3], b[1]);
	assert_int_equal(p.st.free_blocks, 1);
	ws_pool_put(&p, NULL);          /* ignored */
	assert_int_equal(p.st.in_use, 1);
	ws_pool_put(&p, b[3]);
	ws_pool_set_limits(&p, 0, 1);   /* unbounded, free list cut to 1 */
	assert_int_equal(p.st.free_blocks, 1);
	for (int i = 0; i < 4; i++)
		assert_non_null(b[i] = ws_pool_get(&p));
	assert_int_equal(p.st.exhausted, 1);
	for (int i = 0; i < 4; i++)
		ws_pool_put(&p, b[i]);
	ws_pool_shrink(&p);
	assert_int_equal(p.st.free_blocks, 0);
	assert_int_equal(p.st.gets, p.st.puts);
}

static void test_pool_tiny_block(void **state)
{
	struct ws_pool p;
	void *b;

	ws_pool_init(&p, 1, 0, 8);      /* raised to hold the free-list link */
	assert_true(p.block_size >= sizeof(void *));
	b = ws_pool_get(&p);
	ws_pool_put(&p, b);
	assert_ptr_equal(ws_pool_get(&p), b);
	ws_pool_put(&p, b);
	ws_pool_shrink(&p);
}

/* ---- the parser's use of the pool ---------------------------------------------- */

struct evlog {
	int requests, exchanges, errors;
	char target[H1_TARGET_MAX];
	char host[H1_HOST_MAX];
	char method[H1_METHOD_MAX];
	uint16_t status;
	uint8_t last_err;
};

static void on_ev(void *ctx, const struct h1_event *ev)
{
	struct evlog *l = ctx;

	if (ev->type == H1_EV_REQUEST)
		l->requests++;
	else if (ev->type == H1_EV_EXCHANGE)
		l->exchanges++;
	else {
		l->errors++;
		l->last_err = ev->err;
	}
	if (ev->has_request) {
		snprintf(l->target, sizeof(l->target), "%s", ev->req.target);
		snprintf(l->host, sizeof(l->host), "%s", ev->req.host);
		snprintf(l->method, sizeof(l->method), "%s", ev->req.method);
	}
	if (ev->has_response)
		l->status = ev->resp.status;
}

/* Without sequence numbers: several connections are fed here, gaps are not the point. */
static int feed(struct h1_conn *c, enum h1_dir dir, const char *s, struct evlog *l)
{
	struct ws_chunk ch = {
		.data = (const uint8_t *)s, .captured = (uint32_t)strlen(s), .len = (uint32_t)strlen(s),
		.has_seq = false, .enter_ns = 1, .exit_ns = 2, .tid = 7,
	};

	return h1_conn_feed(c, dir, &ch, on_ev, l);
}

static uint64_t in_use(void)
{
	struct h1_pool_stats ps;

	h1_pool_get_stats(&ps);
	return ps.in_use;
}

static void test_parser_blocks_only_in_flight(void **state)
{
	struct h1_conn c;
	struct evlog l = { 0 };
	uint64_t base = in_use();

	h1_pool_limits(H1_POOL_MAX_DEFAULT, H1_POOL_KEEP_DEFAULT);
	assert_int_equal(h1_conn_init(&c, H1_ROLE_SERVER), 0);
	assert_int_equal(in_use(), base);                     /* at rest: none */
	/* A request split inside its header block holds its field block. */
	feed(&c, H1_DIR_INGRESS, "GET /a/b?x=1 HTTP/1.1\r\nHo", &l);
	assert_int_equal(in_use(), base + 1);
	/* Complete: announced, waiting for its response (the FIFO's block). */
	feed(&c, H1_DIR_INGRESS, "st: example.org\r\n\r\n", &l);
	assert_int_equal(l.requests, 1);
	assert_int_equal(in_use(), base + 1);
	/* A response holds no field block; the exchange ends: back to nothing. */
	feed(&c, H1_DIR_EGRESS, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", &l);
	assert_int_equal(in_use(), base + 1);
	feed(&c, H1_DIR_EGRESS, "ok", &l);
	assert_int_equal(l.exchanges, 1);
	assert_string_equal(l.target, "/a/b?x=1");
	assert_string_equal(l.host, "example.org");
	assert_int_equal(in_use(), base);
	/* Pipelined requests grow the FIFO past its one pooled entry, then give it back. */
	feed(&c, H1_DIR_INGRESS, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n", &l);
	assert_int_equal(l.requests, 4);
	feed(&c, H1_DIR_EGRESS, "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
				"HTTP/1.1 204 No Content\r\n\r\n", &l);
	assert_int_equal(l.exchanges, 4);
	assert_string_equal(l.target, "/3");
	assert_int_equal(in_use(), base);
	/* Freed in the middle of a message: its blocks go back. */
	feed(&c, H1_DIR_INGRESS, "POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", &l);
	assert_true(in_use() > base);
	h1_conn_free(&c);
	assert_int_equal(in_use(), base);
}

static void test_parser_pool_exhausted(void **state)
{
	struct h1_conn c, hog;
	struct evlog l = { 0 }, lh = { 0 };
	struct h1_pool_stats before, after;

	h1_pool_get_stats(&before);
	/* Two blocks for the whole process. */
	h1_pool_limits(before.in_use + 2, H1_POOL_KEEP_DEFAULT);
	assert_int_equal(h1_conn_init(&c, H1_ROLE_SERVER), 0);
	assert_int_equal(h1_conn_init(&hog, H1_ROLE_SERVER), 0);
	/* A complete request: its fields' block went back, the FIFO holds one. */
	feed(&c, H1_DIR_INGRESS, "GET /one HTTP/1.1\r\nHost: h\r\n\r\n", &l);
	assert_int_equal(l.requests, 1);
	assert_string_equal(l.target, "/one");
	assert_int_equal(in_use(), before.in_use + 1);
	/* Another connection's request in flight takes the last block. */
	feed(&hog, H1_DIR_INGRESS, "GET /hog HTTP/1.1\r\n", &lh);
	assert_int_equal(in_use(), before.in_use + 2);
	/* A pipelined request finds no block for its fields: parsed anyway, tracked (the
	 * FIFO grows by malloc past its pooled entry), method and framing kept, fields
	 * empty, counted. */
	feed(&c, H1_DIR_INGRESS, "HEAD /two HTTP/1.1\r\nHost: h\r\n\r\n", &l);
	assert_int_equal(l.requests, 2);
	assert_string_equal(l.method, "HEAD");
	assert_string_equal(l.target, "");
	assert_string_equal(l.host, "");
	h1_pool_get_stats(&after);
	assert_int_equal(after.fields_dropped, before.fields_dropped + 1);
	assert_true(after.exhausted > before.exhausted);
	/* HEAD is still known for framing: its response has no body despite the length. */
	feed(&c, H1_DIR_EGRESS, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &l);
	feed(&c, H1_DIR_EGRESS, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", &l);
	assert_int_equal(l.exchanges, 2);
	assert_int_equal(l.errors, 0);
	assert_int_equal(l.status, 200);
	h1_conn_free(&c);
	h1_conn_free(&hog);
	h1_pool_limits(H1_POOL_MAX_DEFAULT, H1_POOL_KEEP_DEFAULT);
	assert_int_equal(in_use(), before.in_use);
}

/* No block at all: the first request's FIFO entry cannot be had. The request is not
 * tracked (H1_ERR_NO_MEMORY), its response is absorbed, the connection goes on. */
static void test_parser_no_block_for_fifo(void **state)
{
	struct h1_conn c;
	struct evlog l = { 0 };
	struct h1_pool_stats before;

	h1_pool_get_stats(&before);
	h1_pool_limits(before.in_use + 1, 0);
	assert_int_equal(h1_conn_init(&c, H1_ROLE_SERVER), 0);
	/* The request's fields take the only block; announcing it needs a FIFO entry. */
	feed(&c, H1_DIR_INGRESS, "GET /x HTTP/1.1\r\n\r\n", &l);
	assert_int_equal(l.requests, 0);
	assert_int_equal(l.errors, 1);
	assert_int_equal(l.last_err, H1_ERR_NO_MEMORY);
	feed(&c, H1_DIR_EGRESS, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &l);
	assert_int_equal(l.exchanges, 0);
	assert_int_equal(l.errors, 1);   /* absorbed, not an orphan */
	assert_int_equal(in_use(), before.in_use);
	h1_pool_limits(H1_POOL_MAX_DEFAULT, H1_POOL_KEEP_DEFAULT);
	/* With blocks again, the same connection tracks its next request. */
	feed(&c, H1_DIR_INGRESS, "GET /y HTTP/1.1\r\n\r\n", &l);
	feed(&c, H1_DIR_EGRESS, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &l);
	assert_int_equal(l.exchanges, 1);
	assert_string_equal(l.target, "/y");
	h1_conn_free(&c);
	h1_pool_shrink();
	assert_int_equal(in_use(), before.in_use);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_reuse_and_bounds),
		cmocka_unit_test(test_pool_tiny_block),
		cmocka_unit_test(test_parser_blocks_only_in_flight),
		cmocka_unit_test(test_parser_pool_exhausted),
		cmocka_unit_test(test_parser_no_block_for_fifo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
