/* The protocol layer: shared machinery (stream continuity, the request FIFO, message
 * times), the registry, and the centre's side of the interface: detection with
 * bounded replay, connections no parser claims, the per-socket capture policy. */
#include <errno.h>

#include "asm_harness.h"
#include "agent/conn.h"
#include "agent/proto/pairing.h"
#include "agent/proto/stream.h"

static struct ws_chunk chunk(uint32_t seq, uint32_t len, uint32_t captured, bool has_seq)
{
	static const uint8_t zeros[4096];
	struct ws_chunk c = { .data = zeros, .captured = captured, .len = len, .seq = seq, .has_seq = has_seq };

	return c;
}

static void test_stream_gaps_flips_truncation(void **state)
{
	struct ws_stream s;
	struct ws_chunk c;
	uint32_t lost = 99;

	ws_stream_init(&s);
	c = chunk(1000, 100, 100, true);
	assert_int_equal(ws_stream_note(&s, WS_PDIR_EGRESS, &c, &lost), WS_STREAM_FIRST);
	assert_int_equal(lost, 0);
	c = chunk(1100, 50, 50, true);
	assert_int_equal(ws_stream_note(&s, WS_PDIR_EGRESS, &c, &lost), 0);
	/* 30 bytes missing */
	c = chunk(1180, 10, 4, true);
	assert_int_equal(ws_stream_note(&s, WS_PDIR_EGRESS, &c, &lost), WS_STREAM_GAP | WS_STREAM_TRUNC);
	assert_int_equal(lost, 30);
	/* the other direction: its first chunk, and a flip */
	c = chunk(5, 10, 10, true);
	assert_int_equal(ws_stream_note(&s, WS_PDIR_INGRESS, &c, &lost), WS_STREAM_FIRST | WS_STREAM_FLIP);
	/* back: continuity of egress was kept per direction */
	c = chunk(1190, 10, 10, true);
	assert_int_equal(ws_stream_note(&s, WS_PDIR_EGRESS, &c, &lost), WS_STREAM_FLIP);
	/* a chunk without seq: no gap can be seen, and none after it either */
	c = chunk(0, 10, 10, false);
	assert_int_equal(ws_stream_note(&s, WS_PDIR_EGRESS, &c, &lost), 0);
	c = chunk(7777, 10, 10, true);
	assert_int_equal(ws_stream_note(&s, WS_PDIR_EGRESS, &c, &lost), 0);
	/* sequence wrap-around is continuity, not a gap */
	c = chunk(0xfffffff0u, 0x20, 0x20, true);
	ws_stream_note(&s, WS_PDIR_INGRESS, &c, NULL);
	c = chunk(0x10, 8, 8, true);
	assert_int_equal(ws_stream_note(&s, WS_PDIR_INGRESS, &c, &lost), 0);
	/* datagrams: no continuity */
	c = chunk(0, 10, 10, false);
	c.datagram = true;
	assert_int_equal(ws_stream_note(&s, WS_PDIR_INGRESS, &c, &lost), 0);
}

static void test_unitbuf_bounded(void **state)
{
	struct ws_unitbuf u = { 0 };
	uint8_t b[300];

	memset(b, 'x', sizeof(b));
	assert_int_equal(ws_unitbuf_append(&u, b, 100, 256), 0);
	assert_int_equal(ws_unitbuf_append(&u, b, 156, 256), 0);
	assert_int_equal(u.len, 256);
	assert_int_equal(ws_unitbuf_append(&u, b, 1, 256), -ENOSPC);
	assert_int_equal(u.len, 256);   /* nothing appended */
	ws_unitbuf_reset(&u);
	assert_int_equal(u.len, 0);
	assert_int_equal(ws_unitbuf_append(&u, b, 0, 0), 0);
	ws_unitbuf_free(&u);
	assert_null(u.buf);
}

static void test_fifo_order_bound_and_trim(void **state)
{
	struct ws_fifo q;
	struct ws_fifo_item *it;
	int err;

	ws_fifo_init(&q, 5);
	assert_null(ws_fifo_front(&q));
	assert_null(q.items);            /* at rest: no memory */
	for (int i = 0; i < 5; i++) {
		it = ws_fifo_push(&q, &err);
		assert_non_null(it);
		assert_int_equal(err, 0);
		assert_int_equal(it->req_index, (uint32_t)i + 1);
	}
	assert_null(ws_fifo_push(&q, &err));   /* bounded */
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(ws_fifo_len(&q), 5);
	assert_int_equal(ws_fifo_at(&q, 2)->req_index, 3);
	assert_null(ws_fifo_at(&q, 5));
	ws_fifo_pop(&q);
	ws_fifo_pop(&q);
	assert_int_equal(ws_fifo_front(&q)->req_index, 3);
	/* wrap around the ring */
	assert_int_equal(ws_fifo_push(&q, NULL)->req_index, 6);
	assert_int_equal(ws_fifo_push(&q, NULL)->req_index, 7);
	for (uint32_t want = 3; want <= 7; want++) {
		assert_int_equal(ws_fifo_front(&q)->req_index, want);
		ws_fifo_pop(&q);
	}
	assert_null(ws_fifo_front(&q));
	ws_fifo_trim(&q);
	assert_null(q.items);
	assert_int_equal(ws_fifo_push(&q, NULL)->req_index, 8);   /* indexes keep rising */
	ws_fifo_free(&q);
}

static void test_msg_times(void **state)
{
	struct ws_msg_times t = { 0 };
	struct ws_chunk a = chunk(1000, 100, 100, true), b = chunk(1100, 50, 50, true);

	a.enter_ns = 10;
	a.exit_ns = 11;
	a.tid = 7;
	b.enter_ns = 20;
	b.exit_ns = 21;
	b.tid = 8;
	ws_msg_times_add(&t, &a, 40);
	ws_msg_times_add(&t, &b, 0);
	assert_int_equal(t.seq, 1040);      /* the message starts 40 bytes into its chunk */
	assert_true(t.has_seq);
	assert_int_equal(t.first_enter_ns, 10);
	assert_int_equal(t.first_exit_ns, 11);
	assert_int_equal(t.first_tid, 7);
	assert_int_equal(t.last_enter_ns, 20);
	assert_int_equal(t.last_exit_ns, 21);
	assert_int_equal(t.last_tid, 8);
}

static void test_registry(void **state)
{
	assert_true(ws_proto_count() >= 1);
	for (size_t i = 0; i < ws_proto_count(); i++) {
		const struct ws_proto_ops *o = ws_proto_at(i);

		assert_non_null(o);
		assert_ptr_equal(ws_proto_by_id(o->id), o);
		assert_true(o->id > WS_PROTO_UNKNOWN && o->id < WS_PROTO__COUNT);
		assert_non_null(o->name);
		assert_non_null(o->detect);
		assert_non_null(o->init);
		assert_non_null(o->feed);
		assert_non_null(o->close);
		assert_non_null(o->free);
		assert_non_null(o->role);
		assert_non_null(o->span_request);
		assert_non_null(o->span_response);
		/* placement is all or nothing */
		assert_true((o->init_at == NULL) == (o->fini == NULL));
		assert_true(!o->init_at || o->state_size > 0);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(ws_proto_at(j)->id, o->id);
	}
	assert_null(ws_proto_at(ws_proto_count()));
	assert_null(ws_proto_by_id(WS_PROTO_NONE));
	assert_non_null(ws_proto_by_id(WS_PROTO_HTTP1));
}

/* ---- the centre ------------------------------------------------------------------ */

struct policy_log {
	int n;
	uint64_t sock[16];
	int mode[16];
};

static void log_policy(void *ctx, uint64_t sock_id, enum ws_capture mode, uint8_t role)
{
	(void)role;
	struct policy_log *l = ctx;

	if (l->n < 16) {
		l->sock[l->n] = sock_id;
		l->mode[l->n] = (int)mode;
	}
	l->n++;
}

static struct ws_asm *new_asm(struct captured *out, struct policy_log *pl)
{
	struct ws_asm_config cfg;

	harness_config(&cfg);
	cfg.capture_fn = log_policy;
	cfg.capture_ctx = pl;
	return ws_asm_new(&cfg, res_for, NULL, capture, out);
}

static const char REQ[] = "GET /orders/42 HTTP/1.1\r\nHost: shop\r\n\r\n";
static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* A request whose first read returned two bytes: no parser can tell yet, so the chunk
 * is held and replayed to HTTP/1 once the rest shows it: one whole span, no loss. */
static void test_detect_holds_and_replays(void **state)
{
	struct captured out = { .n = 0 };
	struct policy_log pl = { 0 };
	struct ws_asm *a = new_asm(&out, &pl);
	struct sock srv = mksock(0x2000, 200, WS_ROLE_SERVER, 8080, 50000, 1);

	feed(a, &srv, 201, WS_DIR_INGRESS, 100, 1 * MS, 2 * MS, "GE");
	assert_int_equal(ws_asm_stats(a)->proto[WS_PROTO_HTTP1].connections, 0);
	feed(a, &srv, 201, WS_DIR_INGRESS, 102, 3 * MS, 4 * MS, REQ + 2);
	assert_int_equal(ws_asm_stats(a)->proto[WS_PROTO_HTTP1].connections, 1);
	feed(a, &srv, 201, WS_DIR_EGRESS, 900, 5 * MS, 6 * MS, RESP);
	ws_asm_tick(a, 7 * MS);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.spans[0].name, "GET /orders/{id}");
	assert_null(ws_span_find_attr(&out.spans[0], "wirespan.capture.tls"));   /* cleartext */
	assert_int_equal(out.spans[0].start_ns, 2 * MS);   /* the held chunk's times survive */
	assert_int_equal(ws_asm_stats(a)->proto[WS_PROTO_HTTP1].exchanges, 1);
	assert_int_equal(pl.n, 0);                           /* HTTP/1 wants the default */
	ws_asm_free(a, 10 * MS);
}

/* Bytes no parser claims: counted, no span, and the kernel is told to stop copying. A
 * connection joined mid-message gets a few chunks to show a message start first. */
static void test_unclaimed_connection_turns_capture_off(void **state)
{
	struct captured out = { .n = 0 };
	struct policy_log pl = { 0 };
	struct ws_asm *a = new_asm(&out, &pl);
	struct sock s1 = mksock(0x3000, 300, WS_ROLE_CLIENT, 40000, 5000, 1);
	struct sock s2 = mksock(0x3100, 300, WS_ROLE_SERVER, 8080, 40001, 1);
	uint32_t seq = 1;

	for (int i = 0; i < WS_DETECT_CHUNKS; i++, seq += 16)
		feed(a, &s1, 301, WS_DIR_EGRESS, seq, 1 * MS, 2 * MS, "\x01\x7f\x02\x00\x01\x00\x01\xfc\x03\x03zzzzzz");
	assert_int_equal(pl.n, 0);                           /* still trying */
	feed(a, &s1, 301, WS_DIR_EGRESS, seq, 3 * MS, 4 * MS, "\x01\x7f\x02\x00\x01\x00\x01\xfc\x03\x03zzzzzz");
	assert_int_equal(ws_asm_stats(a)->conns_undetected, 1);
	assert_int_equal(pl.n, 1);
	assert_int_equal(pl.sock[0], 0x3000);
	assert_int_equal(pl.mode[0], WS_CAPTURE_OFF);
	uint64_t unparsed = ws_asm_stats(a)->bytes_unparsed;
	feed(a, &s1, 301, WS_DIR_EGRESS, seq + 16, 5 * MS, 6 * MS, REQ);   /* too late: stays unparsed */
	assert_true(ws_asm_stats(a)->bytes_unparsed > unparsed);
	assert_int_equal(ws_asm_stats(a)->requests, 0);

	/* Joined mid-body: the body's tail, then a real request. */
	feed(a, &s2, 302, WS_DIR_INGRESS, 10, 7 * MS, 8 * MS, "ody bytes of an earlier request");
	feed(a, &s2, 302, WS_DIR_INGRESS, 41, 9 * MS, 10 * MS, REQ);
	feed(a, &s2, 302, WS_DIR_EGRESS, 500, 11 * MS, 12 * MS, RESP);
	ws_asm_tick(a, 13 * MS);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.spans[0].kind, WS_KIND_SERVER);
	ws_asm_free(a, 20 * MS);
}

/* A parser that gives up (HTTP/1 after a 101 Switching Protocols) stops costing copies:
 * the kernel is told OFF; a connection that ends is forgotten (DEFAULT). */
static void test_given_up_parser_turns_capture_off(void **state)
{
	struct captured out = { .n = 0 };
	struct policy_log pl = { 0 };
	struct ws_asm *a = new_asm(&out, &pl);
	struct sock srv = mksock(0x4000, 400, WS_ROLE_SERVER, 8080, 50000, 1);

	feed(a, &srv, 401, WS_DIR_INGRESS, 1, 1 * MS, 2 * MS,
	     "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
	feed(a, &srv, 401, WS_DIR_EGRESS, 1, 3 * MS, 4 * MS,
	     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
	feed(a, &srv, 401, WS_DIR_EGRESS, 80, 5 * MS, 6 * MS, "\x81\x05hello");
	assert_int_equal(ws_asm_stats(a)->proto[WS_PROTO_HTTP1].given_up, 1);
	assert_int_equal(pl.n, 1);
	assert_int_equal(pl.mode[0], WS_CAPTURE_OFF);
	/* the entry leaves the table (close + grace): its policy is forgotten */
	sock_event(a, &srv, WS_SOCK_STATE, 0, 7 /* TCP_CLOSE */, 7 * MS);
	ws_asm_tick(a, 500 * MS);
	assert_int_equal(pl.n, 2);
	assert_int_equal(pl.mode[1], WS_CAPTURE_DEFAULT);
	ws_asm_free(a, 600 * MS);
}

/* A data record with extra flags (TLS plaintext, ciphertext inside a TLS call). */
static void feed_bin(struct ws_asm *a, const struct sock *s, uint16_t flags, uint8_t dir, uint32_t seq,
		     uint64_t t, const void *payload, size_t n, uint32_t bytes)
{
	uint8_t buf[sizeof(struct ws_data_event) + 512];
	struct ws_data_event *e = (void *)buf;

	memset(e, 0, sizeof(*e));
	e->hdr.type = WS_EV_DATA;
	e->hdr.flags = flags;
	e->hdr.size = (uint32_t)(sizeof(*e) + n);
	e->hdr.ts_ns = t;
	e->sock_id = s->id;
	e->pid = s->pid;
	e->tid = s->pid + 1;
	e->enter_ns = t;
	e->exit_ns = t + 1000;
	e->seq = seq;
	e->bytes = bytes ? bytes : (uint32_t)n;
	e->captured = (uint32_t)n;
	e->fd = 7;
	e->dir = dir;
	e->role = s->role;
	e->tuple = s->t;
	memcpy(buf + sizeof(*e), payload, n);
	assert_int_equal(ws_asm_record(a, buf, e->hdr.size), 0);
}

static void feed_flags(struct ws_asm *a, const struct sock *s, uint16_t flags, uint8_t dir, uint32_t seq,
		       uint64_t t, const char *payload, uint32_t bytes)
{
	feed_bin(a, s, flags, dir, seq, t, payload, strlen(payload), bytes);
}

/* TLS: the handshake's ciphertext is recognised at once (no parser sees it, the kernel
 * stops copying it); the library's plaintext (WS_F_TLS) restarts detection and becomes
 * an https span; ciphertext moved inside the library's calls is never parsed. */
static void test_tls_plaintext_replaces_ciphertext(void **state)
{
	struct captured out = { .n = 0 };
	struct policy_log pl = { 0 };
	struct ws_asm *a = new_asm(&out, &pl);
	struct sock srv = mksock(0x6000, 600, WS_ROLE_SERVER, 8443, 50000, 1);

	feed(a, &srv, 601, WS_DIR_INGRESS, 1, 1 * MS, 2 * MS, "\x16\x03\x01\x01\x10\x01\x01\x01\xfc\x03\x03zzzz");
	assert_int_equal(ws_asm_stats(a)->conns_tls, 1);
	assert_int_equal(pl.n, 1);
	assert_int_equal(pl.mode[0], WS_CAPTURE_OFF);
	/* the request: its ciphertext inside SSL_read, then the plaintext */
	feed_flags(a, &srv, WS_F_CIPHER, WS_DIR_INGRESS, 700, 3 * MS, "", 90);
	feed_flags(a, &srv, WS_F_TLS, WS_DIR_INGRESS, 700, 3 * MS, REQ, 0);
	feed_flags(a, &srv, WS_F_CIPHER, WS_DIR_EGRESS, 900, 5 * MS, "", 80);
	feed_flags(a, &srv, WS_F_TLS, WS_DIR_EGRESS, 900, 5 * MS, RESP, 0);
	/* a plain record on the TLS connection is ciphertext the library's hooks missed */
	feed(a, &srv, 601, WS_DIR_INGRESS, 800, 6 * MS, 7 * MS, "GET /not/plaintext HTTP/1.1\r\n\r\n");
	ws_asm_tick(a, 8 * MS);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.spans[0].name, "GET /orders/{id}");
	assert_string_equal(attr_str(&out.spans[0], "url.scheme"), "https");
	const struct ws_attr *m = ws_span_find_attr(&out.spans[0], "wirespan.capture.tls");
	assert_non_null(m);
	assert_int_equal(m->type, WS_ATTR_BOOL);
	assert_true(m->v.b);
	assert_int_equal(ws_asm_stats(a)->tls_records, 2);
	assert_int_equal(ws_asm_stats(a)->tls_cipher_records, 3);
	assert_int_equal(ws_asm_stats(a)->parse_errors, 0);
	assert_int_equal(ws_asm_stats(a)->tls_seq_reused, 0);
	/* a second read naming the ciphertext position the first one named: no seq (it
	 * would link this request to the other request's client span) */
	feed_flags(a, &srv, WS_F_TLS, WS_DIR_INGRESS, 700, 9 * MS, REQ, 0);
	assert_int_equal(ws_asm_stats(a)->tls_seq_reused, 1);
	ws_asm_free(a, 20 * MS);
}

/* TLS keep-alive: the plaintext's seq is the ciphertext's, which runs ahead of the
 * plaintext by every record's header and tag. The second request on the connection is
 * no gap (it was counted as one: proto_http1_error_gap, a parse error per request after
 * the first in each direction, found by test_tls_agent.sh). */
static void test_tls_keepalive_no_gap(void **state)
{
	struct captured out = { .n = 0 };
	struct policy_log pl = { 0 };
	struct ws_asm *a = new_asm(&out, &pl);
	struct sock srv = mksock(0x6100, 610, WS_ROLE_SERVER, 8443, 50001, 1);
	uint32_t rq = (uint32_t)strlen(REQ), rs = (uint32_t)strlen(RESP);

	for (uint32_t i = 0; i < 3; i++) {
		uint32_t in = 700 + i * (rq + 22), outq = 900 + i * (rs + 22 + (i == 0 ? 250 : 0));

		feed_flags(a, &srv, WS_F_CIPHER, WS_DIR_INGRESS, in, (3 + 4 * i) * MS, "", rq + 22);
		feed_flags(a, &srv, WS_F_TLS, WS_DIR_INGRESS, in, (3 + 4 * i) * MS, REQ, 0);
		feed_flags(a, &srv, WS_F_CIPHER, WS_DIR_EGRESS, outq, (5 + 4 * i) * MS, "", rs + 22);
		feed_flags(a, &srv, WS_F_TLS, WS_DIR_EGRESS, outq, (5 + 4 * i) * MS, RESP, 0);
	}
	ws_asm_tick(a, 20 * MS);
	assert_int_equal(out.n, 3);
	assert_int_equal(ws_asm_stats(a)->parse_errors, 0);
	assert_int_equal(ws_asm_stats(a)->proto[WS_PROTO_HTTP1].exchanges, 3);
	ws_asm_free(a, 40 * MS);
}

/* A memory-BIO client (node): SSL_write's plaintext has no seq, its ciphertext is
 * written after the call. The connection's next ciphertext write names the request, so
 * the server's span (its SSL_read reports that seq) is the client span's child. */
static void test_tls_memory_bio_client_seq_from_cipher(void **state)
{
	struct captured out = { .n = 0 };
	struct policy_log pl = { 0 };
	struct ws_asm *a = new_asm(&out, &pl);
	struct sock cli = mksock(0x6200, 620, WS_ROLE_CLIENT, 50002, 8443, 0);
	struct sock srv = mksock(0x6300, 630, WS_ROLE_SERVER, 8443, 50002, 0);

	/* the client: plaintext without seq, then the ciphertext write (seq 4000) with its
	 * one record's length (WS_F_TLS_RECS), a second ciphertext write of the same
	 * connection names nothing */
	uint16_t rec = (uint16_t)(sizeof(REQ) - 1 + 17);
	feed_flags(a, &cli, WS_F_TLS | WS_F_NO_SEQ, WS_DIR_EGRESS, 0, 1 * MS, REQ, 0);
	feed_bin(a, &cli, WS_F_CIPHER | WS_F_TLS_RECS, WS_DIR_EGRESS, 4000, 1 * MS + 5000, &rec, sizeof(rec), rec + 5);
	feed_flags(a, &cli, WS_F_CIPHER, WS_DIR_EGRESS, 4090, 1 * MS + 9000, "", 30);
	/* the server (socket BIO): its SSL_read reports the ciphertext's seq */
	feed_flags(a, &srv, WS_F_CIPHER, WS_DIR_INGRESS, 4000, 2 * MS, "", 90);
	feed_flags(a, &srv, WS_F_TLS, WS_DIR_INGRESS, 4000, 2 * MS, REQ, 0);
	feed_flags(a, &srv, WS_F_CIPHER, WS_DIR_EGRESS, 9000, 3 * MS, "", 80);
	feed_flags(a, &srv, WS_F_TLS, WS_DIR_EGRESS, 9000, 3 * MS, RESP, 0);
	feed_flags(a, &cli, WS_F_CIPHER, WS_DIR_INGRESS, 9000, 4 * MS, "", 80);
	feed_flags(a, &cli, WS_F_TLS, WS_DIR_INGRESS, 9000, 4 * MS, RESP, 0);
	ws_asm_tick(a, 10 * MS);
	ws_asm_free(a, 1000 * MS);
	assert_int_equal(out.n, 2);
	const struct ws_span *c = out.spans[0].kind == WS_KIND_CLIENT ? &out.spans[0] : &out.spans[1];
	const struct ws_span *s = c == &out.spans[0] ? &out.spans[1] : &out.spans[0];
	assert_int_equal(s->kind, WS_KIND_SERVER);
	assert_memory_equal(s->parent_span_id, c->span_id, 8);
	assert_memory_equal(s->trace_id, c->trace_id, 16);
}

/* The stream's continuity ignores TLS plaintext's seq (cleartext keeps it). */
static void test_stream_tls_seq_is_no_gap(void **state)
{
	struct ws_stream s;
	struct ws_chunk c;

	ws_stream_init(&s);
	c = chunk(1000, 100, 100, true);
	c.tls = true;
	ws_stream_note(&s, WS_PDIR_INGRESS, &c, NULL);
	c = chunk(1129, 50, 50, true);   /* 1100 + a record's 29 bytes of overhead */
	c.tls = true;
	assert_false(ws_stream_note(&s, WS_PDIR_INGRESS, &c, NULL) & WS_STREAM_GAP);
	c.tls = false;
	ws_stream_note(&s, WS_PDIR_INGRESS, &c, NULL);
	c = chunk(1300, 10, 10, true);   /* cleartext: 1179 expected */
	assert_true(ws_stream_note(&s, WS_PDIR_INGRESS, &c, NULL) & WS_STREAM_GAP);
}

/* TLS plaintext's seq is the ciphertext record's: seq + offset is a key both ends share
 * while the chunk fits one record (a pipeline in one write); beyond that it names
 * nothing. */
static void test_tls_seq_only_at_chunk_start(void **state)
{
	struct ws_msg_times t1 = { 0 }, t2 = { 0 }, t3 = { 0 }, t4 = { 0 };
	struct ws_chunk c = chunk(5000, 100, 100, true);
	struct ws_chunk big = chunk(9000, WS_TLS_MAX_PLAINTEXT + 1, 100, true);

	c.tls = true;
	big.tls = true;
	ws_msg_times_add(&t1, &c, 0);
	ws_msg_times_add(&t2, &c, 40);
	ws_msg_times_add(&t3, &big, 0);
	ws_msg_times_add(&t4, &big, 40);
	assert_true(t1.has_seq);
	assert_int_equal(t1.seq, 5000);
	assert_true(t2.has_seq);
	assert_int_equal(t2.seq, 5040);
	assert_true(t3.has_seq);
	assert_false(t4.has_seq);
}

/* One datagram record (WS_F_DGRAM): raw bytes, the peer in the tuple. */
static void feed_dgram(struct ws_asm *a, uint64_t sock_id, uint32_t pid, uint8_t dir, uint8_t peer_last,
		       uint16_t peer_port, uint64_t t, const uint8_t *p, size_t n)
{
	uint8_t buf[sizeof(struct ws_data_event) + 512];
	struct ws_data_event *e = (void *)buf;

	memset(e, 0, sizeof(*e));
	e->hdr.type = WS_EV_DATA;
	e->hdr.flags = WS_F_DGRAM | WS_F_NO_SEQ;
	e->hdr.size = (uint32_t)(sizeof(*e) + n);
	e->hdr.ts_ns = t;
	e->sock_id = sock_id;
	e->pid = pid;
	e->tid = pid;
	e->enter_ns = t;
	e->exit_ns = t + 1000;
	e->bytes = e->captured = (uint32_t)n;
	e->dir = dir;
	e->role = WS_ROLE_CLIENT;
	addr4(e->tuple.saddr, 0, 0, 0, 0);
	addr4(e->tuple.daddr, 127, 0, 0, peer_last);
	e->tuple.sport = 41000;
	e->tuple.dport = peer_port;
	e->tuple.family = 2;
	memcpy(buf + sizeof(*e), p, n);
	assert_int_equal(ws_asm_record(a, buf, e->hdr.size), 0);
}

/* A DNS query for a.test (type A) with id, or its answer (qr) with one address. */
static size_t dns_msg(uint8_t *out, uint16_t id, bool qr)
{
	static const uint8_t q[] = { 1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1 };
	static const uint8_t ans[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1 };
	size_t n = 0;

	out[n++] = (uint8_t)(id >> 8);
	out[n++] = (uint8_t)id;
	out[n++] = qr ? 0x81 : 0x01;
	out[n++] = qr ? 0x80 : 0x00;
	out[n++] = 0; out[n++] = 1;              /* QDCOUNT */
	out[n++] = 0; out[n++] = qr ? 1 : 0;     /* ANCOUNT */
	out[n++] = 0; out[n++] = 0;
	out[n++] = 0; out[n++] = 0;
	memcpy(out + n, q, sizeof(q));
	n += sizeof(q);
	if (qr) {
		memcpy(out + n, ans, sizeof(ans));
		n += sizeof(ans);
	}
	return n;
}

/* One unconnected UDP socket asks two resolvers with the same DNS id: each (socket,
 * peer) pair is its own exchange stream, so each answer pairs with its own query; a
 * pair with nothing pending is let go, and comes back when the peer is asked again. */
static void test_datagrams_keyed_by_peer(void **state)
{
	struct captured out = { .n = 0 };
	struct policy_log pl = { 0 };
	struct ws_asm *a = new_asm(&out, &pl);
	uint8_t m[128];
	size_t n;

	n = dns_msg(m, 0x4242, false);
	feed_dgram(a, 0x5000, 500, WS_DIR_EGRESS, 53, 5353, 1 * MS, m, n);
	feed_dgram(a, 0x5000, 500, WS_DIR_EGRESS, 54, 5353, 2 * MS, m, n);
	n = dns_msg(m, 0x4242, true);
	feed_dgram(a, 0x5000, 500, WS_DIR_INGRESS, 54, 5353, 3 * MS, m, n);
	feed_dgram(a, 0x5000, 500, WS_DIR_INGRESS, 53, 5353, 9 * MS, m, n);
	ws_asm_tick(a, 10 * MS);
	assert_int_equal(ws_asm_stats(a)->datagrams, 4);
	assert_int_equal(ws_asm_stats(a)->proto[WS_PROTO_DNS].exchanges, 2);
	assert_int_equal(out.n, 2);
	for (int i = 0; i < 2; i++) {
		const struct ws_span *s = &out.spans[i];

		assert_int_equal(s->kind, WS_KIND_CLIENT);
		assert_string_equal(attr_str(s, "dns.question.name"), "a.test");
		/* the span from the .53 query ends at the .53 answer (9 ms), the other at 3 ms */
		if (strcmp(attr_str(s, "network.peer.address"), "127.0.0.53") == 0)
			assert_int_equal(s->end_ns, 9 * MS + 1000);
		else
			assert_int_equal(s->end_ns, 3 * MS + 1000);
	}
	assert_int_equal(pl.n, 0);   /* datagram pairs have no kernel policy */
	/* both pairs were let go after the grace; asking again starts afresh */
	ws_asm_tick(a, 500 * MS);
	assert_int_equal(ws_asm_conn_stats(a)->active, 0);
	n = dns_msg(m, 0x4343, false);
	feed_dgram(a, 0x5000, 500, WS_DIR_EGRESS, 53, 5353, 600 * MS, m, n);
	n = dns_msg(m, 0x4343, true);
	feed_dgram(a, 0x5000, 500, WS_DIR_INGRESS, 53, 5353, 601 * MS, m, n);
	ws_asm_tick(a, 700 * MS);
	assert_int_equal(out.n, 3);
	ws_asm_free(a, 800 * MS);
}

/* A query nobody answers on a socket never used again: no close comes for UDP, so the
 * centre's tick lets the parser end it (ops->expire): an error span, not a query held
 * until the connection's idle expiry. */
static void test_unanswered_datagram_times_out(void **state)
{
	struct captured out = { .n = 0 };
	struct policy_log pl = { 0 };
	struct ws_asm *a = new_asm(&out, &pl);
	uint8_t m[128];
	size_t n = dns_msg(m, 0x5151, false);

	feed_dgram(a, 0x7000, 700, WS_DIR_EGRESS, 53, 5353, 1 * MS, m, n);
	ws_asm_tick(a, 1000 * MS);
	assert_int_equal(out.n, 0);                    /* within the timeout: still waiting */
	ws_asm_tick(a, 6100 * MS);
	ws_asm_tick(a, 6200 * MS);                     /* the ended span is emitted */
	assert_int_equal(out.n, 1);
	assert_int_equal(out.spans[0].status_code, WS_STATUS_ERROR);
	assert_string_equal(attr_str(&out.spans[0], "error.type"), "timeout");
	ws_asm_tick(a, 6500 * MS);
	assert_int_equal(ws_asm_conn_stats(a)->active, 0);   /* and the pair let go */
	ws_asm_free(a, 7000 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_gaps_flips_truncation),
		cmocka_unit_test(test_unitbuf_bounded),
		cmocka_unit_test(test_fifo_order_bound_and_trim),
		cmocka_unit_test(test_msg_times),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_detect_holds_and_replays),
		cmocka_unit_test(test_unclaimed_connection_turns_capture_off),
		cmocka_unit_test(test_given_up_parser_turns_capture_off),
		cmocka_unit_test(test_datagrams_keyed_by_peer),
		cmocka_unit_test(test_unanswered_datagram_times_out),
		cmocka_unit_test(test_tls_plaintext_replaces_ciphertext),
		cmocka_unit_test(test_tls_seq_only_at_chunk_start),
		cmocka_unit_test(test_tls_keepalive_no_gap),
		cmocka_unit_test(test_stream_tls_seq_is_no_gap),
		cmocka_unit_test(test_tls_memory_bio_client_seq_from_cipher),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
