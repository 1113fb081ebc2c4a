/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libFuzzer target: the HTTP/2 parser fed conversations that a small generator builds
 * from the input with nghttp2's HPACK deflater (so header blocks are real and the
 * dynamic tables fill), delivered in chunks with random splits, uncaptured tails and
 * sequence gaps; optionally with raw bytes mixed in.
 *
 * Input layout (docs/proto-http2.md):
 *   byte 0: role (value % 3: unknown, server, client)
 *   byte 1: bit 0: raw-byte ops allowed (then the path oracle below is off)
 *   then ops: one byte (value % 10) and its parameters, each taken from the bytes that
 *   follow (0 once the input is used up); every write also takes one delivery byte:
 *     bits 0-1: 0 one chunk, 1 split in two, 2 split in three, 3 one byte per chunk
 *               (at most 64 chunks)
 *     bit 2: the chunk's tail is not captured (param byte: how much)
 *     bit 3: some bytes before it never arrive (a sequence gap of 1 + bits 5-7)
 *
 * Checks beyond "no crash, no leak, no UB": the record contract of proto.h, every
 * string NUL-terminated, and, unless raw bytes were mixed in, that every announced
 * request carries exactly the method and path its stream was sent with: a header block
 * that was not seen whole must never yield a guessed path. The span callbacks run on
 * every record; unless raw bytes were mixed in, no attribute or span name may carry
 * the secret query value.
 */
#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/proto/http2.h"
#include "agent/span.h"
#include "headers/wirespan_abi.h"

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_http2: check failed: %s (line %d)\n", #cond, __LINE__); \
			abort();                                                      \
		}                                                                     \
	} while (0)

#define OPS (&ws_proto_http2)
#define MAXREQ 512
#define MAXW 256
#define BUFCAP (1u << 18)
#define SECRET "s3cr3t"

struct write {
	uint8_t from;     /* 'c' or 's' */
	uint8_t ctl;
	uint8_t param;
	uint32_t off;
	uint32_t len;
};

struct gen {
	const uint8_t *in;
	size_t n, pos;
	bool raw;
	nghttp2_hd_deflater *enc[2];   /* 0 client, 1 server */
	uint8_t *buf[2];
	uint32_t len[2];
	struct write w[MAXW];
	int nw;
	uint32_t nreq;
	char path[MAXREQ][48];
	char method[MAXREQ][8];
};

struct fstate {
	uint8_t st[MAXREQ * 2 + 8];    /* per req_index: 0 unseen, 1 announced, 2 ended */
	struct ws_span span[8];
	uint32_t span_of[8];
	struct ws_span_info si;
	struct ws_tuple tup;
	void *conn;
	struct gen *g;
};

static struct gen G;
static struct fstate F;

static uint8_t take(struct gen *g)
{
	return g->pos < g->n ? g->in[g->pos++] : 0;
}

static void put(struct gen *g, int e, const void *p, uint32_t n)
{
	if (g->len[e] + n > BUFCAP)
		return;
	if (n)
		memcpy(g->buf[e] + g->len[e], p, n);
	g->len[e] += n;
}

static void frame(struct gen *g, int e, uint8_t type, uint8_t flags, uint32_t sid, const void *p, uint32_t n)
{
	uint8_t h[9] = { (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
			 (uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid };

	if (g->len[e] + 9 + n > BUFCAP)
		return;
	put(g, e, h, 9);
	put(g, e, p, n);
}

/* One write: what was appended to e since start. */
static void write_done(struct gen *g, int e, uint32_t start)
{
	struct write *w;

	if (g->nw >= MAXW || g->len[e] == start)
		return;
	w = &g->w[g->nw++];
	w->from = e ? 's' : 'c';
	w->ctl = take(g);
	w->param = take(g);
	w->off = start;
	w->len = g->len[e] - start;
}

/* A header block, split into HEADERS (+ PADDED/PRIORITY) or PUSH_PROMISE and
 * CONTINUATION frames as the input says. */
static void header_block(struct gen *g, int e, uint8_t type, uint32_t sid, uint8_t flags, uint32_t promised,
			 const nghttp2_nv *nv, size_t nnv)
{
	static uint8_t blk[8192], pay[8192 + 300];
	ssize_t bl = nghttp2_hd_deflate_hd(g->enc[e], blk, sizeof(blk), nv, nnv);
	uint8_t how = take(g);
	uint32_t first, pre = 0, pad = (how & 1) ? how >> 4 : 0;

	if (bl < 0)
		return;
	first = (how & 2) && bl > 0 ? (uint32_t)(take(g) % (bl + 1)) : (uint32_t)bl;
	if (how & 1)
		pay[pre++] = (uint8_t)pad;
	if (type == 1 && (how & 4)) {
		memset(pay + pre, 0, 5);
		pre += 5;
	}
	if (type == 5) {
		pay[pre++] = (uint8_t)(promised >> 24);
		pay[pre++] = (uint8_t)(promised >> 16);
		pay[pre++] = (uint8_t)(promised >> 8);
		pay[pre++] = (uint8_t)promised;
	}
	memcpy(pay + pre, blk, first);
	memset(pay + pre + first, 0, pad);
	flags |= (how & 1 ? 0x8 : 0) | (type == 1 && (how & 4) ? 0x20 : 0);
	if (first == (uint32_t)bl)
		flags |= 0x4;
	frame(g, e, type, flags, sid, pay, pre + first + pad);
	while (first < (uint32_t)bl) {
		uint32_t k = (uint32_t)bl - first;

		if (k > 1 && (how & 8))
			k = 1 + take(g) % k;
		frame(g, e, 9, first + k == (uint32_t)bl ? 0x4 : 0, sid, blk + first, k);
		first += k;
	}
}

static void nv_set(nghttp2_nv *nv, const char *n, const char *v)
{
	nv->name = (uint8_t *)(uintptr_t)n;
	nv->namelen = strlen(n);
	nv->value = (uint8_t *)(uintptr_t)v;
	nv->valuelen = strlen(v);
	nv->flags = NGHTTP2_NV_FLAG_NONE;
}

static uint32_t pick_sid(struct gen *g)
{
	return g->nreq ? 1 + 2 * (take(g) % g->nreq) : 1;
}

static void op(struct gen *g)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "BREW" };
	static const char *const statuses[] = { "200", "404", "503", "100", "204", "500" };
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789/._-";
	uint8_t code = take(g) % 10, b = take(g);
	int e = b & 1;
	uint32_t start, sid;
	uint8_t p[16] = { 0 };
	nghttp2_nv nv[8];
	size_t n = 0;
	char status[8];

	switch (code) {
	case 0: {   /* a request on the next client stream */
		uint32_t k = g->nreq;
		char *path = g->path[k < MAXREQ ? k : 0];
		uint8_t len = take(g) % 24;

		if (k >= MAXREQ)
			return;
		e = 0;
		path[0] = '/';
		for (uint8_t i = 0; i < len; i++)
			path[1 + i] = chars[take(g) % (sizeof(chars) - 1)];
		path[1 + len] = '\0';
		if (b & 2)
			strcat(path, "?token=" SECRET);
		snprintf(g->method[k], sizeof(g->method[k]), "%s", methods[(b >> 2) & 3]);
		sid = 1 + 2 * k;
		g->nreq++;
		nv_set(&nv[n++], ":method", g->method[k]);
		nv_set(&nv[n++], ":scheme", "http");
		nv_set(&nv[n++], ":authority", (b & 16) ? "u:pw@svc.local:50051" : "svc.local");
		nv_set(&nv[n++], ":path", path);
		if (b & 32)
			nv_set(&nv[n++], "content-type", "application/grpc");
		if (b & 64)
			nv_set(&nv[n++], "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
		start = g->len[0];
		header_block(g, 0, 1, sid, (b & 128) ? 1 : 0, 0, nv, n);
		write_done(g, 0, start);
		return;
	}
	case 1:     /* response headers or trailers */
		e = 1;
		sid = pick_sid(g);
		snprintf(status, sizeof(status), "%s", statuses[take(g) % 6]);
		if (!(b & 2))
			nv_set(&nv[n++], ":status", status);
		if (b & 4) {
			static const char *const gs[] = { "0", "5", "13", "14", "99" };

			nv_set(&nv[n++], "grpc-status", gs[(b >> 4) % 5]);
			nv_set(&nv[n++], "grpc-message", "not%20found: " SECRET);
		}
		start = g->len[1];
		header_block(g, 1, 1, sid, (b & 8) ? 1 : 0, 0, nv, n);
		write_done(g, 1, start);
		return;
	case 2: {   /* DATA */
		static const uint8_t zeros[600];
		uint32_t len = take(g) * 2u;

		sid = pick_sid(g);
		start = g->len[e];
		frame(g, e, 0, (b & 2) ? 1 : 0, sid, zeros, len);
		write_done(g, e, start);
		return;
	}
	case 3:     /* RST_STREAM */
		sid = pick_sid(g);
		p[3] = take(g) % 14;
		start = g->len[e];
		frame(g, e, 3, 0, sid, p, 4);
		write_done(g, e, start);
		return;
	case 4:     /* GOAWAY */
		sid = pick_sid(g);
		p[0] = (uint8_t)(sid >> 24);
		p[1] = (uint8_t)(sid >> 16);
		p[2] = (uint8_t)(sid >> 8);
		p[3] = (uint8_t)sid;
		start = g->len[e];
		frame(g, e, 7, 0, 0, p, 8 + (b >> 5));
		write_done(g, e, start);
		return;
	case 5: {   /* SETTINGS_HEADER_TABLE_SIZE; the peer's encoder may use it */
		static const uint32_t sizes[] = { 4096, 8192, 256, 65536, 65537 };
		uint32_t v = sizes[(b >> 1) % 5];

		p[1] = 1;
		p[2] = (uint8_t)(v >> 24);
		p[3] = (uint8_t)(v >> 16);
		p[4] = (uint8_t)(v >> 8);
		p[5] = (uint8_t)v;
		start = g->len[e];
		frame(g, e, 4, 0, 0, p, 6);
		write_done(g, e, start);
		if (v <= 65536 && (b & 16))
			nghttp2_hd_deflate_change_table_size(g->enc[e ^ 1], v);
		return;
	}
	case 6: {   /* frames that change nothing */
		static const struct { uint8_t type, len; uint32_t sid; } f[] = {
			{ 6, 8, 0 }, { 8, 4, 0 }, { 8, 4, 1 }, { 2, 5, 1 }, { 0xbe, 3, 5 }, { 4, 0, 0 },
		};
		int i = (b >> 1) % 6;

		start = g->len[e];
		frame(g, e, f[i].type, f[i].type == 4 ? 1 : 0, f[i].sid, p, f[i].len);
		write_done(g, e, start);
		return;
	}
	case 7:     /* PUSH_PROMISE: a header block for the server's table */
		sid = pick_sid(g);
		nv_set(&nv[n++], ":method", "GET");
		nv_set(&nv[n++], ":path", "/pushed.css");
		nv_set(&nv[n++], "x-marker", "pushpushpush");
		start = g->len[1];
		header_block(g, 1, 5, sid, 0, 2u + 2u * (b >> 1), nv, n);
		write_done(g, 1, start);
		return;
	case 8: {   /* raw bytes */
		uint8_t len = take(g);

		if (!g->raw)
			return;
		start = g->len[e];
		for (uint8_t i = 0; i < len; i++) {
			uint8_t c = take(g);

			put(g, e, &c, 1);
		}
		write_done(g, e, start);
		return;
	}
	default:    /* SETTINGS ACK */
		start = g->len[e];
		frame(g, e, 4, 1, 0, NULL, 0);
		write_done(g, e, start);
		return;
	}
}

/* The secret is the query token and the grpc-message the generator writes; raw bytes
 * can spell it anywhere else (a literal :authority), so only without them is it
 * checked. */
static void check_span(const struct ws_span *s, bool raw)
{
	CHECK(memchr(s->name, '\0', sizeof(s->name)) != NULL);
	CHECK(raw || strstr(s->name, SECRET) == NULL);
	CHECK(memchr(s->status_message, '\0', sizeof(s->status_message)) != NULL);
	for (uint16_t i = 0; i < s->n_attrs; i++)
		if (s->attrs[i].type == WS_ATTR_STR)
			CHECK(raw || strstr(ws_span_attr_str(s, &s->attrs[i]), SECRET) == NULL);
}

static void on_x(void *ctx, const struct ws_exchange *x)
{
	struct fstate *f = ctx;
	const struct h2_exchange *e = x->detail;

	CHECK(x->proto == WS_PROTO_HTTP2);
	CHECK(x->err < H2_ERR__MAX);
	if (e) {
		CHECK(memchr(e->method, '\0', sizeof(e->method)));
		CHECK(memchr(e->scheme, '\0', sizeof(e->scheme)));
		CHECK(memchr(e->authority, '\0', sizeof(e->authority)));
		CHECK(memchr(e->path, '\0', sizeof(e->path)));
		CHECK(memchr(e->traceparent, '\0', sizeof(e->traceparent)));
		CHECK(memchr(e->tracestate, '\0', sizeof(e->tracestate)));
		CHECK(memchr(e->grpc_message, '\0', sizeof(e->grpc_message)));
		CHECK(e->stream_id & 1);
	}
	if (x->traceparent)
		CHECK(strlen(x->traceparent) < H2_TRACEPARENT_MAX);
	f->si.role = (uint8_t)OPS->role(f->conn);
	if (x->type == WS_X_REQUEST) {
		CHECK(x->has_request && !x->has_response && e);
		CHECK(x->req_index > 0 && x->req_index < sizeof(f->st));
		CHECK(f->st[x->req_index] == 0);
		f->st[x->req_index] = 1;
		if (!f->g->raw) {
			/* the oracle: exactly what was sent on that stream */
			uint32_t k = (e->stream_id - 1) / 2;

			CHECK(k < f->g->nreq && k < MAXREQ);
			CHECK(strcmp(e->path, f->g->path[k]) == 0);
			CHECK(strcmp(e->method, f->g->method[k]) == 0);
		}
		struct ws_span *s = &f->span[x->req_index & 7];

		memset(s, 0, sizeof(*s));
		f->span_of[x->req_index & 7] = x->req_index;
		OPS->span_request(x, &f->si, s);
		check_span(s, f->g->raw);
	} else if (x->has_request) {
		CHECK(x->type == WS_X_EXCHANGE || x->type == WS_X_ERROR);
		CHECK(x->req_index > 0 && x->req_index < sizeof(f->st));
		CHECK(f->st[x->req_index] == 1);
		f->st[x->req_index] = 2;
		CHECK(x->type == WS_X_ERROR ? x->err != 0 : (x->err == 0 && x->has_response));
		CHECK(e != NULL);
		if (f->span_of[x->req_index & 7] == x->req_index) {
			struct ws_span *s = &f->span[x->req_index & 7];

			OPS->span_response(x, &f->si, s);
			check_span(s, f->g->raw);
		}
	} else {
		CHECK(x->type == WS_X_ERROR && x->req_index == 0 && x->err != 0 && !e);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t magic[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct gen *g = &G;
	struct fstate *f = &F;
	enum ws_prole role;
	uint32_t seq[2];
	uint64_t ts = 1;
	void *st;

	if (size < 2)
		return 0;
	role = (enum ws_prole)(data[0] % 3);
	if (!g->buf[0]) {
		g->buf[0] = malloc(BUFCAP);
		g->buf[1] = malloc(BUFCAP);
		if (!g->buf[0] || !g->buf[1])
			return 0;
	}
	g->in = data;
	g->n = size;
	g->pos = 2;
	g->raw = data[1] & 1;
	g->len[0] = g->len[1] = 0;
	g->nw = 0;
	g->nreq = 0;
	if (nghttp2_hd_deflate_new(&g->enc[0], 65536) || nghttp2_hd_deflate_new(&g->enc[1], 65536))
		abort();

	/* both prefaces, then the ops */
	put(g, 0, magic, 24);
	frame(g, 0, 4, 0, 0, NULL, 0);
	g->w[g->nw++] = (struct write){ .from = 'c', .off = 0, .len = g->len[0] };
	frame(g, 1, 4, 0, 0, NULL, 0);
	g->w[g->nw++] = (struct write){ .from = 's', .off = 0, .len = g->len[1] };
	while (g->pos < g->n && g->nw < MAXW)
		op(g);

	memset(f->st, 0, sizeof(f->st));
	memset(f->span_of, 0, sizeof(f->span_of));
	memset(&f->tup, 0, sizeof(f->tup));
	f->tup.saddr[15] = 1;
	f->tup.daddr[15] = 2;
	f->tup.sport = 40000;
	f->tup.dport = 50051;
	f->si.tuple = &f->tup;
	f->g = g;
	st = OPS->init(role);
	if (!st)
		abort();
	f->conn = st;
	seq[0] = 1000;
	seq[1] = 0xffffff00u;

	for (int i = 0; i < g->nw; i++) {
		const struct write *w = &g->w[i];
		int e = w->from == 's';
		enum ws_pdir dir = (role == WS_PROLE_CLIENT) == !e ? WS_PDIR_EGRESS : WS_PDIR_INGRESS;
		const uint8_t *p = g->buf[e] + w->off;
		uint32_t len = w->len, parts, done = 0, nchunks = 0;

		if (w->ctl & 8) {
			uint32_t skip = 1 + (w->ctl >> 5);

			if (skip > len)
				skip = len;
			seq[e] += skip;   /* these bytes never arrive */
			p += skip;
			len -= skip;
		}
		parts = (w->ctl & 3) == 3 ? len : (w->ctl & 3) + 1u;
		while (done < len && nchunks < 64) {
			uint32_t k = (w->ctl & 3) == 3 ? 1 : (len - done + parts - nchunks - 1) / (parts - nchunks);
			struct ws_chunk ch = {
				.data = p + done,
				.len = k,
				.captured = k,
				.seq = seq[e],
				.tid = (uint32_t)i,
				.enter_ns = ts,
				.exit_ns = ts + 1,
				.has_seq = true,
			};

			if (nchunks == 63 || k > len - done)
				ch.len = ch.captured = k = len - done;
			if ((w->ctl & 4) && done + k == len)
				ch.captured = k - (uint32_t)(w->param % (k + 1));
			ts += 2;
			int rc = OPS->feed(st, dir, &ch, on_x, f);
			CHECK(rc <= 0);
			CHECK(rc == 0 || OPS->capture(st) == WS_CAPTURE_OFF);
			seq[e] += k;
			done += k;
			nchunks++;
		}
	}
	OPS->close(st, ts, on_x, f);
	CHECK(OPS->capture(st) == WS_CAPTURE_OFF);
	for (size_t k = 0; k < sizeof(f->st); k++)
		CHECK(f->st[k] != 1);
	OPS->free(st);
	nghttp2_hd_deflate_del(g->enc[0]);
	nghttp2_hd_deflate_del(g->enc[1]);

	/* detect on raw input: any answer is one of the three */
	for (uint32_t k = 0; k + 2 <= size && k < 40; k++) {
		int d = OPS->detect(data + 2, k, (enum ws_pdir)(data[1] >> 1 & 1), role, 0);

		CHECK(d == WS_DETECT_NO || d == WS_DETECT_YES || d == WS_DETECT_MORE);
	}
	return 0;
}
