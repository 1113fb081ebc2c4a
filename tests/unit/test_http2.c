/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/2 / gRPC parser tests. Conversations are either real byte sequences
 * (h2_vectors.h: python3-grpcio and curl through a recording proxy) or built here with
 * nghttp2's HPACK deflater, and fed through the ops table as the centre would. Every
 * record is checked against the contract as it arrives, and spans are built from the
 * records on real struct ws_span, like the centre does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include <nghttp2/nghttp2.h>

#include "agent/proto/http2.h"
#include "agent/span.h"
#include "headers/wirespan_abi.h"
#include "tests/unit/h2_vectors.h"

#define OPS (&ws_proto_http2)
#define MAXX 600
#define MAXSPANS 160

/* ---- records -------------------------------------------------------------------- */

struct xrec {
	uint8_t type;
	uint16_t err;
	uint32_t req_index;
	bool has_request;
	bool has_response;
	bool closed;
	bool has_detail;
	struct ws_msg_times req;
	struct ws_msg_times resp;
	struct h2_exchange e;
	char tp[80];
};

struct rec {
	int n;
	struct xrec x[MAXX];
	uint8_t st[1024];                 /* per req_index: 0 unseen, 1 announced, 2 ended */
	struct ws_span *spans[MAXSPANS];
	struct ws_span_info si;
	struct ws_tuple tup;
	void *conn;
};

static void check_str(const char *s, size_t cap)
{
	assert_non_null(memchr(s, '\0', cap));
}

static void on_x(void *ctx, const struct ws_exchange *x)
{
	struct rec *r = ctx;
	struct xrec *o;

	assert_true(r->n < MAXX);
	o = &r->x[r->n++];
	memset(o, 0, sizeof(*o));
	o->type = x->type;
	o->err = x->err;
	o->req_index = x->req_index;
	o->has_request = x->has_request;
	o->has_response = x->has_response;
	o->closed = x->closed;
	o->req = x->req;
	o->resp = x->resp;
	assert_int_equal(x->proto, WS_PROTO_HTTP2);
	assert_true(x->err < H2_ERR__MAX);
	if (x->detail) {
		const struct h2_exchange *e = x->detail;

		check_str(e->method, sizeof(e->method));
		check_str(e->scheme, sizeof(e->scheme));
		check_str(e->authority, sizeof(e->authority));
		check_str(e->path, sizeof(e->path));
		check_str(e->traceparent, sizeof(e->traceparent));
		check_str(e->tracestate, sizeof(e->tracestate));
		check_str(e->grpc_message, sizeof(e->grpc_message));
		o->has_detail = true;
		o->e = *e;
	}
	if (x->traceparent)
		snprintf(o->tp, sizeof(o->tp), "%s", x->traceparent);

	r->si.role = (uint8_t)OPS->role(r->conn);
	if (x->type == WS_X_REQUEST) {
		assert_true(x->has_request && !x->has_response && x->detail);
		assert_true(x->req_index > 0 && x->req_index < sizeof(r->st));
		assert_int_equal(r->st[x->req_index], 0);
		r->st[x->req_index] = 1;
		if (x->req_index < MAXSPANS) {
			r->spans[x->req_index] = calloc(1, sizeof(struct ws_span));
			assert_non_null(r->spans[x->req_index]);
			OPS->span_request(x, &r->si, r->spans[x->req_index]);
		}
	} else if (x->has_request) {
		assert_true(x->type == WS_X_EXCHANGE || x->type == WS_X_ERROR);
		assert_true(x->req_index > 0 && x->req_index < sizeof(r->st));
		assert_int_equal(r->st[x->req_index], 1);
		r->st[x->req_index] = 2;
		if (x->type == WS_X_EXCHANGE)
			assert_true(x->has_response && x->err == 0);
		else
			assert_true(x->err != 0);
		if (x->req_index < MAXSPANS && r->spans[x->req_index])
			OPS->span_response(x, &r->si, r->spans[x->req_index]);
	} else {
		assert_int_equal(x->type, WS_X_ERROR);
		assert_int_equal(x->req_index, 0);
		assert_true(x->err != 0);
		assert_null(x->detail);
	}
}

static void check_all_ended(const struct rec *r)
{
	for (size_t k = 0; k < sizeof(r->st); k++)
		assert_int_not_equal(r->st[k], 1);
}

static void append(char *out, size_t n, const char *fmt, ...)
{
	size_t l = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + l, n - l, fmt, ap);
	va_end(ap);
}

/* "R1 GET /x s1", "X1 200 g0", "E:gap#1"; with seqs when asked (split runs compare
 * those too: the request's first byte must not move when chunks do). */
static void summarize(const struct rec *r, bool seqs, char *out, size_t n)
{
	out[0] = '\0';
	for (int i = 0; i < r->n; i++) {
		const struct xrec *o = &r->x[i];

		if (i)
			append(out, n, "; ");
		if (o->type == WS_X_REQUEST) {
			append(out, n, "R%u %s %s s%u", o->req_index, o->e.method, o->e.path, o->e.stream_id);
			if (seqs)
				append(out, n, " @%u", o->req.seq);
		} else if (o->type == WS_X_EXCHANGE) {
			append(out, n, "X%u %u", o->req_index, o->e.status);
			if (o->e.grpc_status >= 0)
				append(out, n, " g%d", o->e.grpc_status);
			if (seqs)
				append(out, n, " @%u", o->resp.seq);
		} else {
			append(out, n, "E:%s", h2_error_name(o->err));
			if (o->has_request)
				append(out, n, "#%u", o->req_index);
		}
	}
}

/* ---- runner --------------------------------------------------------------------- */

#define C_SEQ0 1000u
#define S_SEQ0 0xfffffff0u   /* wraps: seq arithmetic must be modular */

struct run {
	void *st;
	enum ws_prole role;
	uint32_t seq[2];
	int step;
	int rc;
	int dead_at;            /* records before the first negative feed, -1 none */
	struct rec *r;
};

static enum ws_pdir dir_of(const struct run *u, char from)
{
	bool c = from == 'c';

	if (u->role == WS_PROLE_CLIENT)
		return c ? WS_PDIR_EGRESS : WS_PDIR_INGRESS;
	return c ? WS_PDIR_INGRESS : WS_PDIR_EGRESS;   /* server, and unknown as a server */
}

static void run_init(struct run *u, enum ws_prole role)
{
	memset(u, 0, sizeof(*u));
	u->role = role;
	u->dead_at = -1;
	u->st = OPS->init(role);
	assert_non_null(u->st);
	u->r = calloc(1, sizeof(*u->r));
	assert_non_null(u->r);
	u->r->conn = u->st;
	u->seq[dir_of(u, 'c')] = C_SEQ0;
	u->seq[dir_of(u, 's')] = S_SEQ0;
	/* local 10.0.0.1:50000 for a client (remote 10.0.0.2:8080); a server sees it the
	 * other way round */
	u->r->tup.saddr[10] = u->r->tup.saddr[11] = 0xff;
	u->r->tup.daddr[10] = u->r->tup.daddr[11] = 0xff;
	u->r->tup.saddr[12] = 10;
	u->r->tup.saddr[15] = role == WS_PROLE_CLIENT ? 1 : 2;
	u->r->tup.daddr[12] = 10;
	u->r->tup.daddr[15] = role == WS_PROLE_CLIENT ? 2 : 1;
	u->r->tup.sport = role == WS_PROLE_CLIENT ? 50000 : 8080;
	u->r->tup.dport = role == WS_PROLE_CLIENT ? 8080 : 50000;
	u->r->si.tuple = &u->r->tup;
	u->r->si.sanitize = true;
}

static void run_fini(struct run *u)
{
	for (int i = 0; i < MAXSPANS; i++)
		free(u->r->spans[i]);
	OPS->free(u->st);
	free(u->r);
}

/* Chunk number i (1-based) has enter 1000*i, exit 1000*i+500, tid 100+i. */
static int feed(struct run *u, char from, const uint8_t *p, uint32_t len, uint32_t captured, uint32_t gap)
{
	int i = ++u->step;
	enum ws_pdir dir = dir_of(u, from);
	struct ws_chunk ch = {
		.data = p,
		.captured = captured,
		.len = len,
		.tid = 100 + (uint32_t)i,
		.enter_ns = 1000ull * (uint64_t)i,
		.exit_ns = 1000ull * (uint64_t)i + 500,
		.has_seq = true,
	};

	u->seq[dir] += gap;
	ch.seq = u->seq[dir];
	u->seq[dir] += len;
	u->rc = OPS->feed(u->st, dir, &ch, on_x, u->r);
	if (u->rc < 0 && u->dead_at < 0)
		u->dead_at = u->r->n;
	return u->rc;
}

static int feed_all(struct run *u, char from, const uint8_t *p, uint32_t len)
{
	return feed(u, from, p, len, len, 0);
}

static void run_close(struct run *u)
{
	OPS->close(u->st, 1000ull * (uint64_t)(++u->step), on_x, u->r);
	check_all_ended(u->r);
}

static const char *attr(const struct ws_span *s, const char *key)
{
	const struct ws_attr *a = ws_span_find_attr(s, key);

	if (!a)
		return NULL;
	if (a->type == WS_ATTR_STR)
		return ws_span_attr_str(s, a);
	return "(non-string)";
}

static int64_t attr_int(const struct ws_span *s, const char *key)
{
	const struct ws_attr *a = ws_span_find_attr(s, key);

	assert_non_null(a);
	assert_int_equal(a->type, WS_ATTR_INT);
	return a->v.i;
}

static void no_attr_contains(const struct ws_span *s, const char *needle)
{
	for (uint16_t i = 0; i < s->n_attrs; i++)
		if (s->attrs[i].type == WS_ATTR_STR)
			assert_null(strstr(ws_span_attr_str(s, &s->attrs[i]), needle));
	assert_null(strstr(s->name, needle));
}

/* ---- building conversations with nghttp2's deflater ----------------------------- */

#define SEG_CAP (1u << 18)
#define MAXSEG 400

struct seg {
	char from;
	uint32_t len;
	uint8_t *data;
};

struct conv {
	int n;
	struct seg s[MAXSEG];
	nghttp2_hd_deflater *dc;   /* the client's encoder */
	nghttp2_hd_deflater *ds;   /* the server's */
};

static const uint8_t magic[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static struct seg *seg(struct conv *v, char from)
{
	struct seg *g;

	assert_true(v->n < MAXSEG);
	g = &v->s[v->n++];
	g->from = from;
	g->len = 0;
	g->data = malloc(SEG_CAP);
	assert_non_null(g->data);
	return g;
}

static void put(struct seg *g, const void *p, uint32_t n)
{
	assert_true(g->len + n <= SEG_CAP);
	if (n)
		memcpy(g->data + g->len, p, n);
	g->len += n;
}

static void frame(struct seg *g, uint8_t type, uint8_t flags, uint32_t sid, const void *p, uint32_t n)
{
	uint8_t h[9] = { (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
			 (uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid };

	put(g, h, 9);
	put(g, p, n);
}

/* Encode name/value pairs (NULL-terminated list) with the encoder of g's end. */
static uint32_t hpack(struct conv *v, char from, const char *const *kv, uint8_t *out, size_t cap)
{
	nghttp2_nv nva[32];
	size_t n = 0;
	ssize_t rv;

	for (; kv[2 * n]; n++) {
		assert_true(n < 32);
		nva[n].name = (uint8_t *)(uintptr_t)kv[2 * n];
		nva[n].namelen = strlen(kv[2 * n]);
		nva[n].value = (uint8_t *)(uintptr_t)kv[2 * n + 1];
		nva[n].valuelen = strlen(kv[2 * n + 1]);
		nva[n].flags = NGHTTP2_NV_FLAG_NONE;
	}
	rv = nghttp2_hd_deflate_hd(from == 'c' ? v->dc : v->ds, out, cap, nva, n);
	assert_true(rv >= 0);
	return (uint32_t)rv;
}

#define F_DATA 0
#define F_HEADERS 1
#define F_PRIORITY 2
#define F_RST 3
#define F_SETTINGS 4
#define F_PUSH 5
#define F_PING 6
#define F_GOAWAY 7
#define F_WINUPD 8
#define F_CONT 9
#define END_STREAM 0x1
#define END_HEADERS 0x4
#define PADDED 0x8
#define PRIORITY 0x20

static void headers(struct conv *v, struct seg *g, uint32_t sid, uint8_t flags, const char *const *kv)
{
	static uint8_t blk[SEG_CAP];
	uint32_t n = hpack(v, g->from, kv, blk, sizeof(blk));

	frame(g, F_HEADERS, (uint8_t)(flags | END_HEADERS), sid, blk, n);
}

static void data(struct seg *g, uint32_t sid, uint8_t flags, uint32_t n)
{
	static uint8_t zeros[65536];

	frame(g, F_DATA, flags, sid, zeros, n);
}

static void u32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void rst(struct seg *g, uint32_t sid, uint32_t code)
{
	uint8_t p[4];

	u32be(p, code);
	frame(g, F_RST, 0, sid, p, 4);
}

static void settings_table(struct seg *g, uint32_t size)
{
	uint8_t p[6] = { 0, 1 };

	u32be(p + 2, size);
	frame(g, F_SETTINGS, 0, 0, p, 6);
}

/* Both prefaces. */
static void conv_init(struct conv *v)
{
	memset(v, 0, sizeof(*v));
	/* may grow to 64 KiB when told to; 4096 (no size update) until then */
	assert_int_equal(nghttp2_hd_deflate_new(&v->dc, 65536), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&v->ds, 65536), 0);
	struct seg *c = seg(v, 'c');

	put(c, magic, 24);
	frame(c, F_SETTINGS, 0, 0, NULL, 0);
	frame(seg(v, 's'), F_SETTINGS, 0, 0, NULL, 0);
}

static void conv_fini(struct conv *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->s[i].data);
	nghttp2_hd_deflate_del(v->dc);
	nghttp2_hd_deflate_del(v->ds);
}

static void feed_conv(struct run *u, const struct conv *v)
{
	for (int i = 0; i < v->n; i++)
		feed_all(u, v->s[i].from, v->s[i].data, v->s[i].len);
}

static const char *const req_get[] = { ":method", "GET", ":scheme", "http", ":authority", "api.example:8443",
				       ":path", "/users/42?token=s3cret&page=2", NULL };
static const char *const resp_200[] = { ":status", "200", "content-type", "text/plain", NULL };

/* ---- real vectors --------------------------------------------------------------- */

static void feed_vec(struct run *u, const struct h2v_chunk *vec, size_t n)
{
	for (size_t i = 0; i < n; i++)
		feed_all(u, vec[i].from, vec[i].data, vec[i].len);
}

#define NV(a) (sizeof(a) / sizeof(a[0]))

static const char grpc_summary[] =
	"R1 POST /demo.Echo/Say s1; X1 200 g0; R2 POST /demo.Echo/Say s3; X2 200 g5; "
	"R3 POST /demo.Echo/Say s5; X3 200 g0; R4 POST /demo.Echo/Nope s7; X4 200 g12";

static void test_real_grpc_client(void **state)
{
	struct run u;
	char sum[2048];
	const struct ws_span *s;

	(void)state;
	run_init(&u, WS_PROLE_CLIENT);
	assert_int_equal(OPS->capture(u.st), WS_CAPTURE_ALL);
	feed_vec(&u, h2v_grpc, NV(h2v_grpc));
	assert_int_equal(u.rc, 0);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, grpc_summary);
	assert_int_equal(OPS->role(u.st), WS_PROLE_CLIENT);

	/* The first request: its HEADERS frame header is byte 9 of the client's second
	 * chunk (after SETTINGS ACK); the first chunk was 82 bytes (magic, SETTINGS,
	 * WINDOW_UPDATE). */
	const struct xrec *r1 = &u.r->x[0];
	assert_true(r1->req.has_seq);
	assert_int_equal(r1->req.seq, C_SEQ0 + 82 + 9);
	assert_int_equal(r1->req.first_enter_ns, 3000);
	assert_int_equal(r1->req.last_enter_ns, 3000);
	assert_int_equal(r1->req.first_tid, 103);
	assert_string_equal(r1->tp, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
	assert_true(r1->e.grpc);
	/* Its response: the server's third chunk (55 + 17 bytes before it). */
	const struct xrec *x1 = &u.r->x[1];
	assert_int_equal(x1->resp.seq, S_SEQ0 + 55 + 17);
	assert_int_equal(x1->resp.first_enter_ns, 6000);
	assert_int_equal(x1->resp.last_enter_ns, 6000);
	assert_int_equal(x1->req.last_enter_ns, 3000);
	/* The third request is almost all dynamic-table references: its fields prove the
	 * HPACK state carried over. */
	assert_string_equal(u.r->x[4].e.authority, u.r->x[0].e.authority);
	assert_string_equal(u.r->x[4].tp, "");

	s = u.r->spans[1];
	assert_string_equal(s->name, "demo.Echo/Say");
	assert_string_equal(attr(s, "rpc.system.name"), "grpc");
	assert_string_equal(attr(s, "rpc.method"), "demo.Echo/Say");
	assert_string_equal(attr(s, "rpc.response.status_code"), "OK");
	assert_string_equal(attr(s, "server.address"), "127.0.0.1");
	assert_true(attr_int(s, "server.port") > 0);
	assert_string_equal(attr(s, "network.protocol.name"), "http");
	assert_string_equal(attr(s, "network.protocol.version"), "2");
	assert_string_equal(attr(s, "network.peer.address"), "10.0.0.2");
	assert_null(attr(s, "http.request.method"));
	assert_int_equal(s->status_code, WS_STATUS_UNSET);
	/* A client span: NOT_FOUND is an error; grpc-message is only the status message. */
	s = u.r->spans[2];
	assert_string_equal(attr(s, "rpc.response.status_code"), "NOT_FOUND");
	assert_int_equal(s->status_code, WS_STATUS_ERROR);
	assert_string_equal(attr(s, "error.type"), "NOT_FOUND");
	assert_string_equal(s->status_message, "no such thing: item 42");
	no_attr_contains(s, "no such thing");
	s = u.r->spans[4];
	assert_string_equal(s->name, "demo.Echo/Nope");
	assert_string_equal(attr(s, "rpc.response.status_code"), "UNIMPLEMENTED");
	assert_int_equal(s->status_code, WS_STATUS_ERROR);
	run_fini(&u);
}

static void test_real_grpc_server(void **state)
{
	struct run u;
	char sum[2048];

	(void)state;
	run_init(&u, WS_PROLE_SERVER);
	feed_vec(&u, h2v_grpc, NV(h2v_grpc));
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, grpc_summary);
	assert_int_equal(OPS->role(u.st), WS_PROLE_SERVER);
	/* Server spans: NOT_FOUND is the caller's problem; UNIMPLEMENTED is the server's. */
	assert_int_equal(u.r->spans[2]->status_code, WS_STATUS_UNSET);
	assert_string_equal(attr(u.r->spans[2], "rpc.response.status_code"), "NOT_FOUND");
	assert_null(attr(u.r->spans[2], "error.type"));
	assert_int_equal(u.r->spans[4]->status_code, WS_STATUS_ERROR);
	assert_string_equal(attr(u.r->spans[1], "client.address"), "10.0.0.1");
	assert_string_equal(attr(u.r->spans[1], "server.address"), "127.0.0.1");
	run_fini(&u);
}

/* The client's first write (magic, SETTINGS, WINDOW_UPDATE: 82 bytes) lost, as when a
 * TLS library's SSL object had no socket yet: the client's side begins with whole
 * frames, and every call is still read, with the same fields (no header block was in
 * the lost write), from either end. The server's side must still begin with its
 * SETTINGS: without it the connection is given up. And a client start that is not
 * whole frames (the magic cut after its first byte) is not taken for one. */
static void test_client_magic_lost(void **state)
{
	static const enum ws_prole roles[] = { WS_PROLE_CLIENT, WS_PROLE_SERVER };
	struct run u;
	char sum[2048];

	(void)state;
	assert_int_equal(h2v_grpc[0].from, 'c');
	assert_int_equal(h2v_grpc[0].len, 82);
	for (int k = 0; k < 2; k++) {
		run_init(&u, roles[k]);
		feed_vec(&u, h2v_grpc + 1, NV(h2v_grpc) - 1);
		assert_int_equal(u.rc, 0);
		run_close(&u);
		summarize(u.r, false, sum, sizeof(sum));
		assert_string_equal(sum, grpc_summary);
		run_fini(&u);
	}
	/* the server's SETTINGS not seen either: not followed from its start */
	run_init(&u, WS_PROLE_CLIENT);
	feed_vec(&u, h2v_grpc + 2, NV(h2v_grpc) - 2);
	assert_true(u.rc < 0);
	run_fini(&u);
	/* the magic without its first byte: neither magic nor frames */
	run_init(&u, WS_PROLE_CLIENT);
	assert_int_equal(feed_all(&u, 'c', h2v_grpc[0].data + 1, h2v_grpc[0].len - 1), -H2_ERR_NO_PREFACE);
	run_fini(&u);
}

static void test_real_grpc_role_learned(void **state)
{
	struct run u;
	char sum[2048];

	(void)state;
	run_init(&u, WS_PROLE_UNKNOWN);
	assert_int_equal(OPS->role(u.st), WS_PROLE_UNKNOWN);
	feed_vec(&u, h2v_grpc, NV(h2v_grpc));
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, grpc_summary);
	/* The magic came in: this end is the server. */
	assert_int_equal(OPS->role(u.st), WS_PROLE_SERVER);
	run_fini(&u);
}

static void test_real_curl(void **state)
{
	struct run u;
	char sum[1024];
	const struct ws_span *s;

	(void)state;
	run_init(&u, WS_PROLE_CLIENT);
	feed_vec(&u, h2v_curl, NV(h2v_curl));
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	/* The response ends (END_STREAM on HEADERS) before the server's RST_STREAM. The
	 * gRPC server answers a non-gRPC request with grpc-status 2 (UNKNOWN): still an
	 * HTTP span, the request's content type was not gRPC's. */
	assert_string_equal(sum, "R1 GET /users/123?token=secret&x=1 s1; X1 200 g2");
	assert_string_equal(u.r->x[0].tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	s = u.r->spans[1];
	assert_string_equal(s->name, "GET /users/{id}");
	assert_string_equal(attr(s, "http.request.method"), "GET");
	assert_string_equal(attr(s, "url.path"), "/users/123");
	assert_string_equal(attr(s, "url.scheme"), "http");
	assert_non_null(attr(s, "url.query"));
	assert_int_equal(attr_int(s, "http.response.status_code"), 200);
	assert_string_equal(attr(s, "network.protocol.version"), "2");
	assert_non_null(strstr(attr(s, "url.full"), "http://127.0.0.1:"));
	assert_non_null(strstr(attr(s, "url.full"), "/users/123?"));
	assert_null(attr(s, "rpc.system.name"));
	no_attr_contains(s, "secret");
	assert_int_equal(s->status_code, WS_STATUS_UNSET);
	run_fini(&u);
}

/* Every chunk of a conversation split in two at every byte boundary, and the whole of
 * it fed a byte at a time: records (and request/response seqs) do not change. */
static void check_splits(const struct h2v_chunk *vec, size_t n, enum ws_prole role)
{
	struct run u;
	char ref[4096], got[4096];

	run_init(&u, role);
	feed_vec(&u, vec, n);
	run_close(&u);
	summarize(u.r, true, ref, sizeof(ref));
	run_fini(&u);

	for (size_t i = 0; i < n; i++) {
		for (uint32_t k = 1; k < vec[i].len; k++) {
			run_init(&u, role);
			for (size_t j = 0; j < n; j++) {
				if (j != i) {
					feed_all(&u, vec[j].from, vec[j].data, vec[j].len);
					continue;
				}
				feed_all(&u, vec[j].from, vec[j].data, k);
				feed_all(&u, vec[j].from, vec[j].data + k, vec[j].len - k);
			}
			run_close(&u);
			summarize(u.r, true, got, sizeof(got));
			assert_string_equal(got, ref);
			run_fini(&u);
		}
	}
	run_init(&u, role);
	for (size_t j = 0; j < n; j++)
		for (uint32_t k = 0; k < vec[j].len; k++)
			feed_all(&u, vec[j].from, vec[j].data + k, 1);
	run_close(&u);
	summarize(u.r, true, got, sizeof(got));
	assert_string_equal(got, ref);
	run_fini(&u);
}

static void test_split_every_byte(void **state)
{
	(void)state;
	check_splits(h2v_grpc, NV(h2v_grpc), WS_PROLE_CLIENT);
	check_splits(h2v_grpc, NV(h2v_grpc), WS_PROLE_SERVER);
	check_splits(h2v_curl, NV(h2v_curl), WS_PROLE_CLIENT);
	check_splits(h2v_curl, NV(h2v_curl), WS_PROLE_UNKNOWN);
}

/* Frame map of one direction of a vector: is byte k of chunk i inside a frame whose
 * payload matters for HPACK or framing (anything but DATA and skippable payloads)? */
static bool byte_is_critical(const struct h2v_chunk *vec, size_t n, size_t ci, uint32_t k)
{
	uint64_t pos = 0, target = 0, at = 0;
	char from = vec[ci].from;

	for (size_t i = 0; i < n; i++) {
		if (vec[i].from != from)
			continue;
		if (i == ci)
			target = pos + k;
		pos += vec[i].len;
	}
	/* walk the frames of this direction */
	uint8_t *all = malloc(pos);
	uint64_t off = 0;

	assert_non_null(all);
	for (size_t i = 0; i < n; i++) {
		if (vec[i].from == from) {
			memcpy(all + off, vec[i].data, vec[i].len);
			off += vec[i].len;
		}
	}
	at = (from == 'c') ? 24 : 0;
	bool crit = target < at;
	while (!crit && at + 9 <= pos) {
		uint32_t len = (uint32_t)all[at] << 16 | (uint32_t)all[at + 1] << 8 | all[at + 2];
		uint8_t type = all[at + 3];

		if (target < at + 9) {
			crit = true;
			break;
		}
		if (target < at + 9 + len) {
			crit = type == F_HEADERS || type == F_CONT || type == F_PUSH || type == F_SETTINGS ||
			       type == F_RST || type == F_GOAWAY;
			break;
		}
		at += 9 + len;
	}
	free(all);
	return crit;
}

/* One byte withheld anywhere (uncaptured from there on, or missing by a sequence gap):
 * no record ever carries a path other than the one its stream really had, and once a
 * frame header or header block byte is missing, no request that starts after it is
 * announced, and nothing at all once the loss was seen (a gap shows with the next
 * chunk of its direction; requests of the other direction before that are sound). */
static void check_withheld(const struct h2v_chunk *vec, size_t n, enum ws_prole role, bool gap)
{
	struct run u;
	char ref_path[16][H2_PATH_MAX];
	int deaths = 0;

	memset(ref_path, 0, sizeof(ref_path));
	run_init(&u, role);
	feed_vec(&u, vec, n);
	run_close(&u);
	for (int i = 0; i < u.r->n; i++)
		if (u.r->x[i].type == WS_X_REQUEST && u.r->x[i].e.stream_id < 16)
			snprintf(ref_path[u.r->x[i].e.stream_id], H2_PATH_MAX, "%s", u.r->x[i].e.path);
	run_fini(&u);

	for (size_t ci = 0; ci < n; ci++) {
		for (uint32_t k = 0; k < vec[ci].len; k++) {
			bool crit = byte_is_critical(vec, n, ci, k);
			uint32_t wseq = 0;

			run_init(&u, role);
			for (size_t j = 0; j < n; j++) {
				const struct h2v_chunk *c = &vec[j];
				enum ws_pdir d = dir_of(&u, c->from);

				if (j != ci) {
					feed_all(&u, c->from, c->data, c->len);
					continue;
				}
				wseq = u.seq[d] + k;
				if (!gap) {
					feed(&u, c->from, c->data, c->len, k, 0);   /* from k on: not captured */
				} else {
					/* byte k never arrives: the next chunk of this direction
					 * starts one sequence number later than expected */
					if (k)
						feed_all(&u, c->from, c->data, k);
					u.seq[d] += 1;
					if (k + 1 < c->len)
						feed_all(&u, c->from, c->data + k + 1, c->len - k - 1);
				}
			}
			run_close(&u);
			for (int i = 0; i < u.r->n; i++) {
				const struct xrec *o = &u.r->x[i];

				if (o->type != WS_X_REQUEST)
					continue;
				assert_true(o->e.stream_id < 16);
				assert_string_equal(o->e.path, ref_path[o->e.stream_id]);
				if (crit && i >= u.dead_at)
					fail_msg("chunk %zu byte %u: R%u after the loss", ci, k, o->req_index);
				if (crit && vec[ci].from == 'c')
					assert_true((int32_t)(o->req.seq - wseq) < 0);
			}
			if (crit) {
				assert_true(u.rc < 0);
				assert_int_equal(OPS->capture(u.st), WS_CAPTURE_OFF);
				deaths++;
			}
			run_fini(&u);
		}
	}
	assert_true(deaths > 100);
}

static void test_withheld_byte(void **state)
{
	(void)state;
	check_withheld(h2v_grpc, NV(h2v_grpc), WS_PROLE_CLIENT, false);
	check_withheld(h2v_grpc, NV(h2v_grpc), WS_PROLE_SERVER, true);
}

/* The concrete case: the first request's header block loses its tail; the later ones
 * (dynamic-table references to it) must not become spans. */
static void test_uncaptured_headers_gives_up(void **state)
{
	struct run u;
	char sum[512];

	(void)state;
	run_init(&u, WS_PROLE_CLIENT);
	feed_all(&u, 'c', h2v_grpc[0].data, h2v_grpc[0].len);
	feed_all(&u, 's', h2v_grpc[1].data, h2v_grpc[1].len);
	/* 9 (SETTINGS ACK) + 9 (frame header) + 100 of 272 header block bytes */
	assert_true(feed(&u, 'c', h2v_grpc[2].data, h2v_grpc[2].len, 118, 0) < 0);
	assert_int_equal(u.rc, -H2_ERR_UNCAPTURED);
	assert_int_equal(OPS->capture(u.st), WS_CAPTURE_OFF);
	for (size_t i = 3; i < NV(h2v_grpc); i++)
		assert_int_equal(feed_all(&u, h2v_grpc[i].from, h2v_grpc[i].data, h2v_grpc[i].len), -H2_ERR_UNCAPTURED);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "");
	run_fini(&u);
}

/* A header block whose last bytes were not captured, at the end of its chunk (nothing
 * after it in the chunk to trip over): never inflated, never a request. */
static void test_uncaptured_block_tail(void **state)
{
	struct conv v;
	struct run u;
	struct seg *g;

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	headers(&v, g, 1, END_STREAM, req_get);
	headers(&v, seg(&v, 'c'), 3, END_STREAM, req_get);
	run_init(&u, WS_PROLE_CLIENT);
	feed_all(&u, 'c', v.s[0].data, v.s[0].len);
	assert_int_equal(feed(&u, 'c', g->data, g->len, g->len - 3, 0), -H2_ERR_UNCAPTURED);
	assert_int_equal(feed_all(&u, 'c', v.s[3].data, v.s[3].len), -H2_ERR_UNCAPTURED);
	run_close(&u);
	assert_int_equal(u.r->n, 0);
	run_fini(&u);
	conv_fini(&v);
}

/* A request announced, then the server's direction loses a response header block:
 * the pending request fails with the reason, nothing after it is reported. */
static void test_gap_fails_pending(void **state)
{
	struct run u;
	char sum[512];

	(void)state;
	run_init(&u, WS_PROLE_SERVER);
	for (int i = 0; i < 5; i++)
		feed_all(&u, h2v_grpc[i].from, h2v_grpc[i].data, h2v_grpc[i].len);
	/* the server chunk with the response HEADERS: 10 bytes of it missing */
	feed(&u, 's', h2v_grpc[5].data + 10, h2v_grpc[5].len - 10, h2v_grpc[5].len - 10, 10);
	assert_int_equal(u.rc, -H2_ERR_GAP);
	for (size_t i = 6; i < NV(h2v_grpc); i++)
		feed_all(&u, h2v_grpc[i].from, h2v_grpc[i].data, h2v_grpc[i].len);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 POST /demo.Echo/Say s1; E:gap#1");
	run_fini(&u);
}

/* ---- built conversations -------------------------------------------------------- */

static void test_get_times_and_seq(void **state)
{
	struct conv v;
	struct run u;
	struct seg *g;
	char sum[512];

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	frame(g, F_PING, 0, 0, "12345678", 8);            /* 17 bytes before the request */
	headers(&v, g, 1, END_STREAM, req_get);
	g = seg(&v, 's');
	headers(&v, g, 1, 0, resp_200);
	data(seg(&v, 's'), 1, 0, 100);
	data(seg(&v, 's'), 1, END_STREAM, 0);
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 GET /users/42?token=s3cret&page=2 s1; X1 200");
	const struct xrec *x = &u.r->x[1];
	assert_int_equal(x->req.seq, C_SEQ0 + 24 + 9 + 17);
	assert_int_equal(x->req.first_enter_ns, 3000);
	assert_int_equal(x->req.last_exit_ns, 3500);
	assert_int_equal(x->resp.seq, S_SEQ0 + 9);
	assert_int_equal(x->resp.first_enter_ns, 4000);
	assert_int_equal(x->resp.last_enter_ns, 6000);   /* the empty END_STREAM DATA frame */
	assert_int_equal(x->e.resp_body_bytes, 100);

	const struct ws_span *s = u.r->spans[1];
	assert_string_equal(s->name, "GET /users/{id}");
	assert_string_equal(attr(s, "server.address"), "api.example");
	assert_int_equal(attr_int(s, "server.port"), 8443);
	assert_string_equal(attr(s, "url.full"), "http://api.example:8443/users/42?token=REDACTED&page=2");
	assert_int_equal(attr_int(s, "http.response.body.size"), 100);
	no_attr_contains(s, "s3cret");
	run_fini(&u);
	conv_fini(&v);
}

static void test_url_full_no_credentials(void **state)
{
	static const char *const req[] = { ":method", "GET", ":scheme", "https", ":authority", "bob:pw@[::1]:9443",
					   ":path", "/a?password=hunter2", NULL };
	struct conv v;
	struct run u;

	(void)state;
	conv_init(&v);
	headers(&v, seg(&v, 'c'), 1, END_STREAM, req);
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	const struct ws_span *s = u.r->spans[1];
	assert_string_equal(attr(s, "url.full"), "https://[::1]:9443/a?password=REDACTED");
	assert_string_equal(attr(s, "server.address"), "::1");
	assert_string_equal(attr(s, "url.scheme"), "https");
	no_attr_contains(s, "hunter2");
	no_attr_contains(s, "pw@");
	run_close(&u);
	run_fini(&u);
	conv_fini(&v);
}

static void test_http_status_errors(void **state)
{
	static const char *const r404[] = { ":status", "404", NULL };
	static const char *const r503[] = { ":status", "503", NULL };

	(void)state;
	for (int role = WS_PROLE_SERVER; role <= WS_PROLE_CLIENT; role++) {
		struct conv v;
		struct run u;
		struct seg *g;

		conv_init(&v);
		g = seg(&v, 'c');
		headers(&v, g, 1, END_STREAM, req_get);
		headers(&v, g, 3, END_STREAM, req_get);
		g = seg(&v, 's');
		headers(&v, g, 1, END_STREAM, r404);
		headers(&v, g, 3, END_STREAM, r503);
		run_init(&u, (enum ws_prole)role);
		feed_conv(&u, &v);
		run_close(&u);
		/* 4xx is an error for the client only; 5xx for both */
		assert_int_equal(u.r->spans[1]->status_code, role == WS_PROLE_CLIENT ? WS_STATUS_ERROR : WS_STATUS_UNSET);
		assert_int_equal(u.r->spans[2]->status_code, WS_STATUS_ERROR);
		assert_string_equal(attr(u.r->spans[2], "error.type"), "503");
		assert_string_equal(u.r->spans[2]->status_message, "HTTP 503");
		run_fini(&u);
		conv_fini(&v);
	}
}

/* Streams interleave: responses come back in another order, each pairs by stream. */
static void test_interleaved_streams(void **state)
{
	static const char *const r201[] = { ":status", "201", NULL };
	static const char *const r202[] = { ":status", "202", NULL };
	static const char *const r203[] = { ":status", "203", NULL };
	static const char *const q1[] = { ":method", "GET", ":scheme", "http", ":path", "/one", NULL };
	static const char *const q2[] = { ":method", "POST", ":scheme", "http", ":path", "/two", NULL };
	static const char *const q3[] = { ":method", "PUT", ":scheme", "http", ":path", "/three", NULL };
	struct conv v;
	struct run u;
	struct seg *g;
	char sum[512];

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	headers(&v, g, 1, END_STREAM, q1);
	headers(&v, g, 3, 0, q2);
	headers(&v, g, 5, END_STREAM, q3);
	g = seg(&v, 's');
	headers(&v, g, 5, END_STREAM, r203);
	headers(&v, g, 1, 0, r201);
	headers(&v, g, 3, END_STREAM, r202);   /* answered before the request ended */
	g = seg(&v, 'c');
	data(g, 3, END_STREAM, 5);
	data(seg(&v, 's'), 1, END_STREAM, 7);
	run_init(&u, WS_PROLE_SERVER);
	feed_conv(&u, &v);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 GET /one s1; R2 POST /two s3; R3 PUT /three s5; X3 203; X2 202; X1 201");
	assert_int_equal(u.r->x[4].e.req_body_bytes, 5);
	run_fini(&u);
	conv_fini(&v);
}

static void test_continuation_padding_priority(void **state)
{
	static uint8_t blk[4096], pay[8192];
	struct conv v;
	struct run u;
	struct seg *g;
	uint32_t n;
	char sum[512];

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	/* HEADERS (PADDED, PRIORITY, 5 bytes of block, 3 of padding) + 2 CONTINUATIONs */
	n = hpack(&v, 'c', req_get, blk, sizeof(blk));
	assert_true(n > 12);
	pay[0] = 3;
	memset(pay + 1, 0, 5);
	memcpy(pay + 6, blk, 5);
	memset(pay + 11, 0, 3);
	frame(g, F_HEADERS, PADDED | PRIORITY | END_STREAM, 1, pay, 14);
	frame(g, F_CONT, 0, 1, blk + 5, 4);
	frame(g, F_CONT, END_HEADERS, 1, blk + 9, n - 9);
	headers(&v, seg(&v, 's'), 1, END_STREAM, resp_200);
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 GET /users/42?token=s3cret&page=2 s1; X1 200");
	run_fini(&u);
	conv_fini(&v);
}

static void check_dies(struct conv *v, enum ws_prole role, int err, const char *want)
{
	struct run u;
	char sum[512];

	run_init(&u, role);
	feed_conv(&u, v);
	assert_int_equal(u.rc, -err);
	assert_int_equal(OPS->capture(u.st), WS_CAPTURE_OFF);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, want);
	run_fini(&u);
}

static void test_continuation_out_of_order(void **state)
{
	static uint8_t blk[4096];
	struct conv v;
	struct seg *g;
	uint32_t n;

	(void)state;
	/* another frame between HEADERS and its CONTINUATION */
	conv_init(&v);
	g = seg(&v, 'c');
	n = hpack(&v, 'c', req_get, blk, sizeof(blk));
	frame(g, F_HEADERS, END_STREAM, 1, blk, 4);
	frame(g, F_PING, 0, 0, "12345678", 8);
	frame(g, F_CONT, END_HEADERS, 1, blk + 4, n - 4);
	check_dies(&v, WS_PROLE_CLIENT, H2_ERR_CONTINUATION, "");
	conv_fini(&v);

	/* CONTINUATION on another stream */
	conv_init(&v);
	g = seg(&v, 'c');
	n = hpack(&v, 'c', req_get, blk, sizeof(blk));
	frame(g, F_HEADERS, END_STREAM, 1, blk, 4);
	frame(g, F_CONT, END_HEADERS, 3, blk + 4, n - 4);
	check_dies(&v, WS_PROLE_CLIENT, H2_ERR_CONTINUATION, "");
	conv_fini(&v);

	/* CONTINUATION with no header block open; an earlier request fails with it */
	conv_init(&v);
	g = seg(&v, 'c');
	headers(&v, g, 1, END_STREAM, req_get);
	frame(g, F_CONT, END_HEADERS, 1, "\x82", 1);
	check_dies(&v, WS_PROLE_CLIENT, H2_ERR_CONTINUATION, "R1 GET /users/42?token=s3cret&page=2 s1; E:continuation#1");
	conv_fini(&v);
}

static void test_bad_frames(void **state)
{
	struct conv v;
	struct seg *g;

	(void)state;
	/* padding longer than the frame */
	conv_init(&v);
	frame(seg(&v, 'c'), F_HEADERS, PADDED | END_HEADERS, 1, "\x09\x82\x84", 3);
	check_dies(&v, WS_PROLE_CLIENT, H2_ERR_BAD_FRAME, "");
	conv_fini(&v);
	/* RST_STREAM of 3 bytes, SETTINGS of 5, SETTINGS on a stream, PING of 4 */
	static const struct { uint8_t type, flags; uint32_t sid, len; } bad[] = {
		{ F_RST, 0, 1, 3 }, { F_SETTINGS, 0, 0, 5 }, { F_SETTINGS, 0, 1, 6 }, { F_SETTINGS, 1, 0, 6 },
		{ F_PING, 0, 0, 4 }, { F_WINUPD, 0, 0, 3 }, { F_PRIORITY, 0, 1, 4 }, { F_GOAWAY, 0, 0, 7 },
		{ F_DATA, 0, 0, 1 }, { F_HEADERS, END_HEADERS, 0, 1 },
	};
	for (size_t i = 0; i < NV(bad); i++) {
		static const uint8_t zero[8];

		conv_init(&v);
		g = seg(&v, 'c');
		frame(g, bad[i].type, bad[i].flags, bad[i].sid, zero, bad[i].len);
		check_dies(&v, WS_PROLE_CLIENT, H2_ERR_BAD_FRAME, "");
		conv_fini(&v);
	}
	/* a header block the inflater rejects (index 127 + 2^21: not in any table) */
	conv_init(&v);
	frame(seg(&v, 'c'), F_HEADERS, END_HEADERS | END_STREAM, 1, "\xff\xff\xff\x7f", 4);
	check_dies(&v, WS_PROLE_CLIENT, H2_ERR_HPACK, "");
	conv_fini(&v);
}

static void test_ignored_frames(void **state)
{
	struct conv v;
	struct run u;
	struct seg *g;
	char sum[512];

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	frame(g, F_WINUPD, 0, 0, "\0\0\1\0", 4);
	frame(g, 0x42, 0xff, 7, "whatever", 8);           /* unknown type: skipped */
	frame(g, F_PRIORITY, 0, 1, "\0\0\0\0\x10", 5);
	headers(&v, g, 1, END_STREAM, req_get);
	frame(g, F_SETTINGS, 1, 0, NULL, 0);
	g = seg(&v, 's');
	frame(g, F_PING, 1, 0, "12345678", 8);
	frame(g, 0xfa, 0, 0, NULL, 0);
	headers(&v, g, 1, END_STREAM, resp_200);
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 GET /users/42?token=s3cret&page=2 s1; X1 200");
	run_fini(&u);
	conv_fini(&v);
}

/* A gap inside a DATA frame (known length) changes nothing; uncaptured DATA is skipped
 * by length; a gap anywhere else gives up. */
static void test_data_losses(void **state)
{
	struct conv v;
	struct run u;
	struct seg *g;
	char sum[512];
	uint32_t cut;

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	headers(&v, g, 1, 0, req_get);
	cut = g->len + 9 + 40;
	data(g, 1, END_STREAM, 100);
	g = seg(&v, 'c');
	headers(&v, g, 3, END_STREAM, req_get);
	g = seg(&v, 's');
	headers(&v, g, 1, END_STREAM, resp_200);
	headers(&v, g, 3, END_STREAM, resp_200);

	run_init(&u, WS_PROLE_CLIENT);
	feed_all(&u, 'c', v.s[0].data, v.s[0].len);
	feed_all(&u, 's', v.s[1].data, v.s[1].len);
	feed_all(&u, 'c', v.s[2].data, cut);
	/* 10 bytes of the DATA payload never arrive */
	feed(&u, 'c', v.s[2].data + cut + 10, v.s[2].len - cut - 10, v.s[2].len - cut - 10, 10);
	assert_int_equal(u.rc, 0);
	feed_all(&u, 'c', v.s[3].data, v.s[3].len);
	feed_all(&u, 's', v.s[4].data, v.s[4].len);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 GET /users/42?token=s3cret&page=2 s1; R2 GET /users/42?token=s3cret&page=2 s3; "
				 "X1 200; X2 200");
	assert_int_equal(u.r->x[2].e.req_body_bytes, 100);
	run_fini(&u);

	/* DATA payload uncaptured (the kernel's cap): skipped by length */
	run_init(&u, WS_PROLE_CLIENT);
	feed_all(&u, 'c', v.s[0].data, v.s[0].len);
	feed_all(&u, 's', v.s[1].data, v.s[1].len);
	feed(&u, 'c', v.s[2].data, v.s[2].len, cut, 0);
	feed_all(&u, 'c', v.s[3].data, v.s[3].len);
	feed_all(&u, 's', v.s[4].data, v.s[4].len);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 GET /users/42?token=s3cret&page=2 s1; R2 GET /users/42?token=s3cret&page=2 s3; "
				 "X1 200; X2 200");
	run_fini(&u);

	/* a gap longer than what is left of the DATA frame: the next frame header is lost */
	run_init(&u, WS_PROLE_CLIENT);
	feed_all(&u, 'c', v.s[0].data, v.s[0].len);
	feed_all(&u, 's', v.s[1].data, v.s[1].len);
	feed_all(&u, 'c', v.s[2].data, cut);
	feed(&u, 'c', v.s[3].data, v.s[3].len, v.s[3].len, v.s[2].len - cut + 1);
	assert_int_equal(u.rc, -H2_ERR_GAP);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 GET /users/42?token=s3cret&page=2 s1; E:gap#1");
	run_fini(&u);

	/* a gap at a frame boundary is still a gap (a header block may have been in it) */
	run_init(&u, WS_PROLE_CLIENT);
	feed_all(&u, 'c', v.s[0].data, v.s[0].len);
	feed(&u, 'c', v.s[3].data, v.s[3].len, v.s[3].len, 1);
	assert_int_equal(u.rc, -H2_ERR_GAP);
	run_close(&u);
	run_fini(&u);
	conv_fini(&v);
}

/* SETTINGS_HEADER_TABLE_SIZE from one end sizes the inflater of the other direction. */
static void test_table_size(void **state)
{
	static const char *const big[] = { ":method", "GET", ":scheme", "http", ":path", "/big",
					   "x-a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL };
	struct conv v;
	struct run u;
	struct seg *g;
	char sum[512];

	(void)state;
	/* The server allows 65536: the client's encoder announces it and uses it. */
	conv_init(&v);
	settings_table(seg(&v, 's'), 65536);
	assert_int_equal(nghttp2_hd_deflate_change_table_size(v.dc, 65536), 0);
	g = seg(&v, 'c');
	headers(&v, g, 1, END_STREAM, big);
	headers(&v, g, 3, END_STREAM, req_get);
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	assert_int_equal(u.rc, 0);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 GET /big s1; R2 GET /users/42?token=s3cret&page=2 s3; E:closed#1; E:closed#2");
	run_fini(&u);
	conv_fini(&v);

	/* The same setting from the client sizes the server's direction, not the client's:
	 * a client encoder that grows its table anyway breaks the (safe) inflater. */
	conv_init(&v);
	settings_table(seg(&v, 'c'), 65536);
	assert_int_equal(nghttp2_hd_deflate_change_table_size(v.dc, 65536), 0);
	headers(&v, seg(&v, 'c'), 1, END_STREAM, big);
	check_dies(&v, WS_PROLE_CLIENT, H2_ERR_HPACK, "");
	conv_fini(&v);

	/* Above 64 KiB: refused, the connection is not followed. */
	conv_init(&v);
	settings_table(seg(&v, 's'), 65537);
	check_dies(&v, WS_PROLE_CLIENT, H2_ERR_TABLE_SIZE, "");
	conv_fini(&v);
}

static void test_header_block_too_long(void **state)
{
	static uint8_t junk[16384];
	struct conv v;
	struct seg *g;

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	frame(g, F_HEADERS, 0, 1, junk, sizeof(junk));
	for (int i = 0; i < 3; i++)
		frame(g, F_CONT, 0, 1, junk, sizeof(junk));
	frame(g, F_CONT, END_HEADERS, 1, junk, 1);   /* 65537 bytes */
	check_dies(&v, WS_PROLE_CLIENT, H2_ERR_HEADERS_TOO_LONG, "");
	conv_fini(&v);
}

static void test_rst_stream(void **state)
{
	static const char *const greq[] = { ":method", "POST", ":scheme", "http", ":path", "/pkg.Svc/Slow",
					    "content-type", "application/grpc+proto", NULL };
	struct conv v;
	struct run u;
	struct seg *g;
	char sum[512];

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	headers(&v, g, 1, 0, greq);
	data(g, 1, END_STREAM, 12);
	headers(&v, seg(&v, 's'), 1, 0, resp_200);
	rst(seg(&v, 'c'), 1, 8);   /* CANCEL: the deadline passed */
	rst(seg(&v, 'c'), 9, 8);   /* an unknown stream: nothing */
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 POST /pkg.Svc/Slow s1; E:stream_reset#1");
	assert_true(u.r->x[1].has_response);
	const struct ws_span *s = u.r->spans[1];
	assert_string_equal(s->name, "pkg.Svc/Slow");
	assert_string_equal(attr(s, "rpc.response.status_code"), "CANCELLED");
	assert_string_equal(attr(s, "error.type"), "CANCELLED");
	assert_int_equal(s->status_code, WS_STATUS_ERROR);
	run_fini(&u);
	conv_fini(&v);

	/* plain HTTP: error.type is the HTTP/2 error code */
	conv_init(&v);
	headers(&v, seg(&v, 'c'), 1, END_STREAM, req_get);
	rst(seg(&v, 's'), 1, 7);
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	run_close(&u);
	assert_string_equal(attr(u.r->spans[1], "error.type"), "REFUSED_STREAM");
	assert_string_equal(u.r->spans[1]->status_message, "stream reset: REFUSED_STREAM");
	run_fini(&u);
	conv_fini(&v);
}

static void test_goaway(void **state)
{
	struct conv v;
	struct run u;
	struct seg *g;
	char sum[512];
	uint8_t ga[8 + 5] = { 0, 0, 0, 3, 0, 0, 0, 0, 'b', 'y', 'e', '!', '!' };

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	headers(&v, g, 1, END_STREAM, req_get);
	headers(&v, g, 3, END_STREAM, req_get);
	headers(&v, g, 5, END_STREAM, req_get);
	frame(seg(&v, 'c'), F_GOAWAY, 0, 0, ga, 8);   /* the client's: about pushes */
	frame(seg(&v, 's'), F_GOAWAY, 0, 0, ga, sizeof(ga));
	g = seg(&v, 's');
	headers(&v, g, 3, END_STREAM, resp_200);
	headers(&v, g, 1, END_STREAM, resp_200);
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 GET /users/42?token=s3cret&page=2 s1; R2 GET /users/42?token=s3cret&page=2 s3; "
				 "R3 GET /users/42?token=s3cret&page=2 s5; E:goaway#3; X2 200; X1 200");
	assert_string_equal(attr(u.r->spans[3], "error.type"), "goaway");
	run_fini(&u);
	conv_fini(&v);
}

static void test_close(void **state)
{
	static const char *const r_mid[] = { ":status", "200", NULL };
	struct conv v;
	struct run u;
	struct seg *g;
	char sum[512];

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	headers(&v, g, 1, END_STREAM, req_get);
	headers(&v, g, 3, 0, req_get);        /* request never ends ... */
	headers(&v, g, 5, END_STREAM, req_get);
	g = seg(&v, 's');
	headers(&v, g, 3, END_STREAM, r_mid); /* ... but its response does */
	headers(&v, g, 5, 0, r_mid);          /* response started, not ended */
	run_init(&u, WS_PROLE_SERVER);
	feed_conv(&u, &v);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 GET /users/42?token=s3cret&page=2 s1; R2 GET /users/42?token=s3cret&page=2 s3; "
				 "R3 GET /users/42?token=s3cret&page=2 s5; E:closed#1; X2 200; E:closed#3");
	assert_true(u.r->x[3].closed);
	assert_false(u.r->x[3].has_response);
	assert_true(u.r->x[5].has_response);
	assert_string_equal(attr(u.r->spans[1], "error.type"), "connection_closed");
	assert_int_equal(OPS->capture(u.st), WS_CAPTURE_OFF);
	/* after close, feeds are ignored */
	assert_int_equal(feed_all(&u, 'c', v.s[2].data, v.s[2].len), 0);
	assert_int_equal(u.r->n, 6);
	OPS->close(u.st, 1, on_x, u.r);   /* twice: nothing */
	assert_int_equal(u.r->n, 6);
	run_fini(&u);
	conv_fini(&v);
}

static void test_too_many_streams(void **state)
{
	static const char *const q[] = { ":method", "GET", ":scheme", "http", ":path", "/s", NULL };
	struct conv v;
	struct run u;
	struct seg *g;
	int nx = 0, nr = 0, nover = 0;

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	for (uint32_t i = 0; i < H2_MAX_STREAMS + 2; i++)
		headers(&v, g, 1 + 2 * i, END_STREAM, q);
	g = seg(&v, 's');
	for (uint32_t i = 0; i < H2_MAX_STREAMS + 2; i++)
		headers(&v, g, 1 + 2 * i, END_STREAM, resp_200);
	headers(&v, seg(&v, 'c'), 1001, END_STREAM, q);
	headers(&v, seg(&v, 's'), 1001, END_STREAM, resp_200);
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	run_close(&u);
	for (int i = 0; i < u.r->n; i++) {
		if (u.r->x[i].type == WS_X_REQUEST)
			nr++;
		else if (u.r->x[i].type == WS_X_EXCHANGE)
			nx++;
		else if (u.r->x[i].err == H2_ERR_TOO_MANY_STREAMS && !u.r->x[i].has_request)
			nover++;
	}
	assert_int_equal(nr, H2_MAX_STREAMS + 1);
	assert_int_equal(nx, H2_MAX_STREAMS + 1);
	assert_int_equal(nover, 2);
	/* the overflowed streams' header blocks were still inflated: the last request's
	 * fields (from the dynamic table) are right */
	assert_int_equal(u.r->x[u.r->n - 2].e.stream_id, 1001);
	assert_string_equal(u.r->x[u.r->n - 2].e.path, "/s");
	assert_int_equal(u.r->x[u.r->n - 2].req_index, H2_MAX_STREAMS + 1);
	run_fini(&u);
	conv_fini(&v);
}

/* PUSH_PROMISE header blocks feed the server's HPACK table: the response after it
 * (which references those entries) decodes only if they were inflated. */
static void test_push_promise(void **state)
{
	static const char *const push[] = { ":method", "GET", ":scheme", "http", ":path", "/style.css",
					     ":authority", "push.example", "x-pushed-marker", "abcdefghijklmnop", NULL };
	static const char *const resp[] = { ":status", "200", "x-pushed-marker", "abcdefghijklmnop", NULL };
	static const char *const presp[] = { ":status", "200", NULL };
	static uint8_t blk[4096], pay[4200];
	struct conv v;
	struct run u;
	struct seg *g;
	uint32_t n;
	char sum[512];

	(void)state;
	conv_init(&v);
	headers(&v, seg(&v, 'c'), 1, END_STREAM, req_get);
	g = seg(&v, 's');
	n = hpack(&v, 's', push, blk, sizeof(blk));
	pay[0] = 0;
	u32be(pay + 1, 2);
	memcpy(pay + 5, blk, n);
	frame(g, F_PUSH, PADDED, 1, pay, 5 + 4);    /* padding 0, promised 2, 4 bytes ... */
	frame(g, F_CONT, END_HEADERS, 1, blk + 4, n - 4);
	headers(&v, g, 1, END_STREAM, resp);
	headers(&v, g, 2, 0, presp);                /* the pushed stream: not a span */
	data(g, 2, END_STREAM, 3);
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	assert_int_equal(u.rc, 0);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 GET /users/42?token=s3cret&page=2 s1; X1 200");
	assert_int_equal(h2_pushes(u.st), 1);
	run_fini(&u);
	conv_fini(&v);
}

static void test_interim_and_trailers(void **state)
{
	static const char *const r100[] = { ":status", "100", NULL };
	static const char *const greq[] = { ":method", "POST", ":scheme", "http", ":path", "/a.B/C",
					    "content-type", "application/grpc", "tracestate", "k1=v1", "tracestate", "k2=v2", NULL };
	static const char *const trail[] = { "grpc-status", "14", "grpc-message", "upstream%20gone%0A%E2%9C%93", NULL };
	struct conv v;
	struct run u;
	struct seg *g;
	char sum[512];

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	headers(&v, g, 1, 0, greq);
	data(g, 1, END_STREAM, 5);
	g = seg(&v, 's');
	headers(&v, g, 1, 0, r100);
	headers(&v, seg(&v, 's'), 1, 0, resp_200);
	data(seg(&v, 's'), 1, 0, 20);
	headers(&v, seg(&v, 's'), 1, END_STREAM, trail);
	run_init(&u, WS_PROLE_SERVER);
	feed_conv(&u, &v);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "R1 POST /a.B/C s1; X1 200 g14");
	const struct xrec *x = &u.r->x[1];
	assert_int_equal(x->resp.first_enter_ns, 5000);  /* the 200, not the 100 */
	assert_int_equal(x->resp.last_enter_ns, 7000);   /* the trailers */
	assert_string_equal(x->e.grpc_message, "upstream gone????");
	assert_string_equal(x->e.tracestate, "k1=v1,k2=v2");
	const struct ws_span *s = u.r->spans[1];
	assert_string_equal(attr(s, "rpc.response.status_code"), "UNAVAILABLE");
	assert_int_equal(s->status_code, WS_STATUS_ERROR);   /* on a server span too */
	assert_string_equal(s->status_message, "upstream gone????");
	run_fini(&u);
	conv_fini(&v);
}

/* gRPC status when the server sent no grpc-status: the HTTP status maps (gRPC's
 * table), a long grpc-message is cut for the status message only. */
static void test_grpc_status_sources(void **state)
{
	static const char *const greq[] = { ":method", "POST", ":scheme", "http", ":path", "/a.B/C",
					    "content-type", "application/grpc", NULL };
	static const char *const r503[] = { ":status", "503", NULL };
	static char longmsg[300];
	const char *const trail[] = { ":status", "200", "grpc-status", "13", "grpc-message", longmsg, NULL };
	struct conv v;
	struct run u;
	struct seg *g;

	(void)state;
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	conv_init(&v);
	g = seg(&v, 'c');
	headers(&v, g, 1, END_STREAM, greq);
	headers(&v, g, 3, END_STREAM, greq);
	g = seg(&v, 's');
	headers(&v, g, 1, END_STREAM, r503);
	headers(&v, g, 3, END_STREAM, trail);
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	run_close(&u);
	assert_string_equal(attr(u.r->spans[1], "rpc.response.status_code"), "UNAVAILABLE");
	assert_string_equal(attr(u.r->spans[2], "rpc.response.status_code"), "INTERNAL");
	assert_int_equal(strlen(u.r->spans[2]->status_message), 63);
	no_attr_contains(u.r->spans[2], "mmmm");
	run_fini(&u);
	conv_fini(&v);
}

static void test_bad_request_and_ids(void **state)
{
	static const char *const nomethod[] = { ":scheme", "http", ":path", "/x", NULL };
	struct conv v;
	struct run u;
	struct seg *g;
	char sum[512];

	(void)state;
	conv_init(&v);
	g = seg(&v, 'c');
	headers(&v, g, 1, END_STREAM, nomethod);
	headers(&v, g, 2, END_STREAM, req_get);    /* even: not a client stream */
	headers(&v, g, 5, END_STREAM, req_get);
	headers(&v, g, 3, END_STREAM, req_get);    /* below the last id: not new */
	g = seg(&v, 's');
	headers(&v, g, 1, END_STREAM, resp_200);
	headers(&v, g, 5, END_STREAM, resp_200);
	run_init(&u, WS_PROLE_CLIENT);
	feed_conv(&u, &v);
	run_close(&u);
	summarize(u.r, false, sum, sizeof(sum));
	assert_string_equal(sum, "E:bad_request; R1 GET /users/42?token=s3cret&page=2 s5; X1 200");
	run_fini(&u);
	conv_fini(&v);
}

static void test_preface_required(void **state)
{
	struct run u;
	static const uint8_t h1[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const uint8_t settings[] = { 0, 0, 0, 4, 0, 0, 0, 0, 0 };
	static const uint8_t ack_first[] = { 0, 0, 0, 4, 1, 0, 0, 0, 0 };

	(void)state;
	run_init(&u, WS_PROLE_CLIENT);
	assert_int_equal(feed_all(&u, 'c', h1, sizeof(h1) - 1), -H2_ERR_NO_PREFACE);
	run_close(&u);
	run_fini(&u);
	/* the magic without a SETTINGS frame after it */
	run_init(&u, WS_PROLE_CLIENT);
	feed_all(&u, 'c', magic, 24);
	assert_int_equal(u.rc, 0);
	assert_int_equal(feed_all(&u, 'c', ack_first, 9), -H2_ERR_NO_PREFACE);
	run_fini(&u);
	/* the server's side must start with its SETTINGS too (not joined mid-stream) */
	run_init(&u, WS_PROLE_SERVER);
	assert_int_equal(feed_all(&u, 's', settings, 9), 0);
	run_fini(&u);
	run_init(&u, WS_PROLE_SERVER);
	assert_int_equal(feed_all(&u, 's', ack_first, 9), -H2_ERR_NO_PREFACE);
	run_fini(&u);
	/* no role: the server's SETTINGS first (egress), then the magic (ingress) */
	run_init(&u, WS_PROLE_UNKNOWN);
	assert_int_equal(feed_all(&u, 's', settings, 9), 0);
	assert_int_equal(OPS->role(u.st), WS_PROLE_SERVER);
	assert_int_equal(feed_all(&u, 'c', magic, 24), 0);
	run_fini(&u);
	/* no role, a client: the magic goes out first */
	run_init(&u, WS_PROLE_UNKNOWN);
	u.role = WS_PROLE_CLIENT;   /* so 'c' means egress */
	assert_int_equal(feed_all(&u, 'c', magic, 10), 0);
	assert_int_equal(OPS->role(u.st), WS_PROLE_CLIENT);
	run_fini(&u);
}

static void test_detect(void **state)
{
	static const uint8_t settings[] = { 0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x10, 0 };
	static const uint8_t h1[] = "GET / HTTP/1.1\r\n";
	static const uint8_t tls[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 };

	(void)state;
	assert_int_equal(OPS->detect(magic, 24, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 8080), WS_DETECT_YES);
	assert_int_equal(OPS->detect(magic, 24, WS_PDIR_INGRESS, WS_PROLE_SERVER, 8080), WS_DETECT_YES);
	assert_int_equal(OPS->detect(magic, 24, WS_PDIR_INGRESS, WS_PROLE_UNKNOWN, 0), WS_DETECT_YES);
	for (uint32_t k = 1; k < 24; k++)
		assert_int_equal(OPS->detect(magic, k, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 0), WS_DETECT_MORE);
	/* the magic in the server's direction is not HTTP/2's order */
	assert_int_equal(OPS->detect(magic, 24, WS_PDIR_INGRESS, WS_PROLE_CLIENT, 0), WS_DETECT_NO);
	/* the server's SETTINGS, written before the magic was read: wait for the other side */
	assert_int_equal(OPS->detect(settings, sizeof(settings), WS_PDIR_EGRESS, WS_PROLE_SERVER, 0), WS_DETECT_MORE);
	assert_int_equal(OPS->detect(settings, sizeof(settings), WS_PDIR_INGRESS, WS_PROLE_CLIENT, 0), WS_DETECT_MORE);
	assert_int_equal(OPS->detect(settings, sizeof(settings), WS_PDIR_EGRESS, WS_PROLE_CLIENT, 0), WS_DETECT_NO);
	assert_int_equal(OPS->detect(h1, sizeof(h1) - 1, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 80), WS_DETECT_NO);
	assert_int_equal(OPS->detect(h1, sizeof(h1) - 1, WS_PDIR_INGRESS, WS_PROLE_SERVER, 80), WS_DETECT_NO);
	assert_int_equal(OPS->detect(h1, sizeof(h1) - 1, WS_PDIR_EGRESS, WS_PROLE_UNKNOWN, 80), WS_DETECT_NO);
	assert_int_equal(OPS->detect(tls, sizeof(tls), WS_PDIR_EGRESS, WS_PROLE_CLIENT, 443), WS_DETECT_NO);
	/* a port is never a reason */
	assert_int_equal(OPS->detect(h1, 3, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 50051), WS_DETECT_NO);
	/* a client's side that begins after its magic: whole valid frames filling the chunk */
	static const uint8_t frames[] = { 0, 0, 0, 4, 1, 0, 0, 0, 0,              /* SETTINGS ACK */
					  0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0x10, 0 }; /* WINDOW_UPDATE */
	static const uint8_t pg_ssl[] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
	static const uint8_t resp_start[] = "*2\r\n$3\r\nGET\r\n";
	assert_int_equal(OPS->detect(frames, sizeof(frames), WS_PDIR_EGRESS, WS_PROLE_CLIENT, 0), WS_DETECT_YES);
	assert_int_equal(OPS->detect(frames, sizeof(frames) - 1, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 0), WS_DETECT_NO);
	assert_int_equal(OPS->detect(frames, 9, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 0), WS_DETECT_YES);
	assert_int_equal(OPS->detect(frames + 9, 13, WS_PDIR_INGRESS, WS_PROLE_SERVER, 0), WS_DETECT_YES);
	/* ... only with the kernel's role, and never in the server's direction */
	assert_int_equal(OPS->detect(frames, sizeof(frames), WS_PDIR_EGRESS, WS_PROLE_UNKNOWN, 0), WS_DETECT_NO);
	assert_int_equal(OPS->detect(frames, sizeof(frames), WS_PDIR_INGRESS, WS_PROLE_CLIENT, 0), WS_DETECT_NO);
	assert_int_equal(OPS->detect(pg_ssl, sizeof(pg_ssl), WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_NO);
	assert_int_equal(OPS->detect(resp_start, sizeof(resp_start) - 1, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 6379), WS_DETECT_NO);
	/* DATA cannot come first */
	static const uint8_t data_first[] = { 0, 0, 1, 0, 0, 0, 0, 0, 1, 'x' };
	assert_int_equal(OPS->detect(data_first, sizeof(data_first), WS_PDIR_EGRESS, WS_PROLE_CLIENT, 0), WS_DETECT_NO);
}

static void test_ops_and_names(void **state)
{
	(void)state;
	assert_int_equal(OPS->id, WS_PROTO_HTTP2);
	assert_string_equal(OPS->name, "http2");
	assert_ptr_equal(ws_proto_by_id(WS_PROTO_HTTP2), OPS);
	assert_int_equal(OPS->n_errors, H2_ERR__MAX);
	assert_int_equal(OPS->err_closed, H2_ERR_CLOSED);
	for (unsigned e = 1; e < OPS->n_errors; e++) {
		const char *n = OPS->error_name(e);

		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (unsigned f = 1; f < e; f++)
			assert_string_not_equal(n, OPS->error_name(f));
	}
	assert_string_equal(h2_grpc_status_name(0), "OK");
	assert_string_equal(h2_grpc_status_name(16), "UNAUTHENTICATED");
	assert_null(h2_grpc_status_name(17));
	assert_null(h2_grpc_status_name(-1));
	assert_string_equal(h2_error_code_name(8), "CANCEL");
	assert_null(h2_error_code_name(99));
	assert_int_equal(OPS->feed(NULL, WS_PDIR_EGRESS, NULL, on_x, NULL), -EINVAL);
	OPS->free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_ops_and_names),
		cmocka_unit_test(test_real_grpc_client),
		cmocka_unit_test(test_real_grpc_server),
		cmocka_unit_test(test_real_grpc_role_learned),
		cmocka_unit_test(test_client_magic_lost),
		cmocka_unit_test(test_real_curl),
		cmocka_unit_test(test_split_every_byte),
		cmocka_unit_test(test_withheld_byte),
		cmocka_unit_test(test_uncaptured_headers_gives_up),
		cmocka_unit_test(test_uncaptured_block_tail),
		cmocka_unit_test(test_gap_fails_pending),
		cmocka_unit_test(test_get_times_and_seq),
		cmocka_unit_test(test_url_full_no_credentials),
		cmocka_unit_test(test_http_status_errors),
		cmocka_unit_test(test_interleaved_streams),
		cmocka_unit_test(test_continuation_padding_priority),
		cmocka_unit_test(test_continuation_out_of_order),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_ignored_frames),
		cmocka_unit_test(test_data_losses),
		cmocka_unit_test(test_table_size),
		cmocka_unit_test(test_header_block_too_long),
		cmocka_unit_test(test_rst_stream),
		cmocka_unit_test(test_goaway),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_too_many_streams),
		cmocka_unit_test(test_push_promise),
		cmocka_unit_test(test_interim_and_trailers),
		cmocka_unit_test(test_grpc_status_sources),
		cmocka_unit_test(test_bad_request_and_ids),
		cmocka_unit_test(test_preface_required),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
