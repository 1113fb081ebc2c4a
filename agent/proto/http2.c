/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/2 framing, HPACK state and stream exchanges (see http2.h, docs/proto-http2.md).
 * Span attributes are in http2_span.c.
 *
 * Shape:
 *  - each direction runs a small frame machine over the captured bytes: a 9-byte
 *    header, then the payload, which is either skipped by length (DATA, PING, ...),
 *    read a few bytes at a time (SETTINGS entries, RST_STREAM, GOAWAY's first 8 bytes)
 *    or, for header blocks, collected whole in a bounded ws_unitbuf and inflated at
 *    END_HEADERS with one nghttp2 HPACK inflater per direction;
 *  - uncaptured bytes are skipped by length where the frame is skippable; anywhere
 *    else they (like gaps) end the connection's parsing: a header block not seen whole
 *    leaves the HPACK table unknown, and then every later field could be wrong;
 *  - streams live in a small table allocated on demand (bounded by H2_MAX_STREAMS) and
 *    freed when their exchange ends: a connection at rest holds its two HPACK tables
 *    and nothing per request.
 */
#include "http2.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stream.h"

#define FRAME_HDR 9
#define PREFACE_LEN 24
static const uint8_t preface[PREFACE_LEN] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum ftype {
	F_DATA = 0,
	F_HEADERS = 1,
	F_PRIORITY = 2,
	F_RST_STREAM = 3,
	F_SETTINGS = 4,
	F_PUSH_PROMISE = 5,
	F_PING = 6,
	F_GOAWAY = 7,
	F_WINDOW_UPDATE = 8,
	F_CONTINUATION = 9,
};

enum {
	FL_END_STREAM = 0x1,
	FL_ACK = 0x1,
	FL_END_HEADERS = 0x4,
	FL_PADDED = 0x8,
	FL_PRIORITY = 0x20,
};

#define SETTINGS_HEADER_TABLE_SIZE 1
#define HPACK_DEFAULT_TABLE 4096

/* What a direction does with the bytes in front of it. */
enum dst {
	D_PREFACE,        /* client magic */
	D_HDR,            /* frame header */
	D_BLOCK,          /* header block payload: collected */
	D_SMALL,          /* RST_STREAM, GOAWAY (first 8 bytes), SETTINGS entries: read */
	D_SKIP,           /* anything else: stepped over by length */
	D_DEAD,
};

struct h2_stream {
	struct h2_exchange x;
	struct ws_msg_times req;
	struct ws_msg_times resp;
	uint32_t req_index;
};

struct h2_dir {
	nghttp2_hd_inflater *inf;
	uint32_t table_max;        /* HPACK table size the inflater allows */
	uint8_t st;                /* enum dst */
	uint8_t hlen;
	uint8_t hdr[FRAME_HDR];
	uint8_t type;
	uint8_t flags;
	uint8_t small_len;
	uint8_t small[8];
	bool seen_frame;           /* the first frame (SETTINGS) was checked */
	bool in_block;             /* a header block waits for CONTINUATION */
	uint8_t block_type;        /* HEADERS or PUSH_PROMISE */
	uint8_t block_flags;       /* the first frame's flags (END_STREAM) */
	uint8_t preface_got;
	uint32_t sid;
	uint32_t plen;             /* payload length of the current frame */
	uint32_t pgot;             /* payload bytes consumed */
	uint32_t block_sid;
	uint32_t frame_start;      /* where the current frame's payload starts in hb */
	struct ws_msg_times ft;    /* the current frame's first byte */
	struct ws_msg_times bt;    /* the header block's first frame's first byte */
	struct ws_unitbuf hb;      /* header block fragments (and the frame being read) */
};

struct h2_conn {
	struct ws_stream cont;
	struct h2_dir d[2];        /* indexed by enum ws_pdir */
	int8_t cdir;               /* the client's direction (requests), -1 not known yet */
	bool dead;
	bool closed;
	bool joined;               /* the client's side began after its magic (parse) */
	uint16_t dead_err;
	uint16_t n;                /* streams in the table */
	uint16_t cap;
	uint32_t next_index;       /* req_index of the next announced request */
	uint32_t last_csid;        /* highest client stream id seen */
	uint32_t pushes;
	struct h2_stream **tab;
	/* during feed/close */
	const struct ws_chunk *ch;
	ws_x_emit_fn emit;
	void *ctx;
};

static const char *const err_names[H2_ERR__MAX] = {
	[H2_ERR_NONE] = "none",
	[H2_ERR_NO_PREFACE] = "no_preface",
	[H2_ERR_GAP] = "gap",
	[H2_ERR_UNCAPTURED] = "uncaptured",
	[H2_ERR_BAD_FRAME] = "bad_frame",
	[H2_ERR_HEADERS_TOO_LONG] = "headers_too_long",
	[H2_ERR_CONTINUATION] = "continuation",
	[H2_ERR_HPACK] = "hpack",
	[H2_ERR_TABLE_SIZE] = "table_size",
	[H2_ERR_BAD_REQUEST] = "bad_request",
	[H2_ERR_TOO_MANY_STREAMS] = "too_many_streams",
	[H2_ERR_STREAM_RESET] = "stream_reset",
	[H2_ERR_GOAWAY] = "goaway",
	[H2_ERR_NO_MEMORY] = "no_memory",
	[H2_ERR_CLOSED] = "closed",
};

const char *h2_error_name(unsigned err)
{
	return err < H2_ERR__MAX ? err_names[err] : "unknown";
}

/* ---- records -------------------------------------------------------------------- */

static void emit_x(struct h2_conn *c, uint8_t type, uint16_t err, const struct h2_stream *s, bool closed)
{
	struct ws_exchange x;

	if (!c->emit)
		return;
	memset(&x, 0, sizeof(x));
	x.type = type;
	x.proto = WS_PROTO_HTTP2;
	x.err = err;
	x.closed = closed;
	/* A reset or a GOAWAY is how the stream ended, not a parse failure. */
	x.outcome = err == H2_ERR_STREAM_RESET || err == H2_ERR_GOAWAY;
	if (s) {
		x.req_index = s->req_index;
		x.has_request = true;
		x.has_response = s->x.resp_headers;
		x.req = s->req;
		x.resp = s->resp;
		x.traceparent = s->x.traceparent[0] ? s->x.traceparent : NULL;
		x.tracestate = s->x.tracestate[0] ? s->x.tracestate : NULL;
		x.detail = &s->x;
	}
	c->emit(c->ctx, &x);
}

static struct h2_stream *stream_find(struct h2_conn *c, uint32_t sid, uint16_t *pos)
{
	for (uint16_t i = 0; i < c->n; i++) {
		if (c->tab[i]->x.stream_id == sid) {
			if (pos)
				*pos = i;
			return c->tab[i];
		}
	}
	return NULL;
}

/* Remove (and free) the stream at pos; the table goes when it is empty. */
static void stream_del(struct h2_conn *c, uint16_t pos)
{
	free(c->tab[pos]);
	memmove(&c->tab[pos], &c->tab[pos + 1], (size_t)(c->n - pos - 1) * sizeof(c->tab[0]));
	if (--c->n == 0) {
		free(c->tab);
		c->tab = NULL;
		c->cap = 0;
	}
}

static struct h2_stream *stream_new(struct h2_conn *c, uint32_t sid)
{
	struct h2_stream *s;

	if (c->n >= H2_MAX_STREAMS)
		return NULL;
	if (c->n == c->cap) {
		uint16_t cap = c->cap ? (uint16_t)(c->cap * 2) : 4;
		struct h2_stream **t;

		if (cap > H2_MAX_STREAMS)
			cap = H2_MAX_STREAMS;
		t = realloc(c->tab, cap * sizeof(*t));
		if (!t)
			return NULL;
		c->tab = t;
		c->cap = cap;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->x.stream_id = sid;
	s->x.grpc_status = -1;
	c->tab[c->n++] = s;
	return s;
}

/* Both ends closed the stream: the exchange is complete. */
static void stream_check_done(struct h2_conn *c, struct h2_stream *s)
{
	uint16_t pos;

	if (!s->x.req_ended || !s->x.resp_ended || !stream_find(c, s->x.stream_id, &pos))
		return;
	if (s->x.resp_headers)
		emit_x(c, WS_X_EXCHANGE, 0, s, false);
	else
		emit_x(c, WS_X_ERROR, H2_ERR_BAD_FRAME, s, false);  /* END_STREAM without a response */
	stream_del(c, pos);
}

/* ---- giving up ------------------------------------------------------------------ */

static void dir_free(struct h2_dir *d)
{
	if (d->inf)
		nghttp2_hd_inflate_del(d->inf);
	d->inf = NULL;
	ws_unitbuf_free(&d->hb);
}

/* HPACK state (or framing) is lost: nothing pending can end well and nothing later can
 * be trusted. Fail every stream with the reason and stop. */
static void conn_die(struct h2_conn *c, enum h2_error err)
{
	if (c->dead)
		return;
	c->dead = true;
	c->dead_err = (uint16_t)err;
	while (c->n) {
		emit_x(c, WS_X_ERROR, (uint16_t)err, c->tab[0], false);
		stream_del(c, 0);
	}
	for (int k = 0; k < 2; k++) {
		dir_free(&c->d[k]);
		c->d[k].st = D_DEAD;
	}
}

/* ---- header fields -------------------------------------------------------------- */

/* What one header block's fields go to. */
struct hctx {
	struct h2_stream *s;   /* NULL: inflate only (HPACK state), keep nothing */
	bool request;
	bool has_method;
	bool has_path;
	bool has_authority;
	bool traceparent_seen;
	int status;            /* :status of a response block, -1 none */
};

static bool name_is(const nghttp2_nv *nv, const char *n)
{
	size_t l = strlen(n);

	return nv->namelen == l && memcmp(nv->name, n, l) == 0;
}

/* Copy a value, NUL-terminated, flagging a cut. Control bytes become '?'. */
static void keep(struct h2_stream *s, char *dst, size_t cap, const uint8_t *v, size_t vlen)
{
	size_t n = vlen < cap - 1 ? vlen : cap - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = v[i] < 0x20 || v[i] == 0x7f ? '?' : (char)v[i];
	dst[n] = '\0';
	if (n < vlen)
		s->x.field_truncated = true;
}

static int hexv(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* grpc-message is percent-encoded UTF-8: decoded, then anything but printable ASCII
 * becomes '?', so a cut never leaves half a character. */
static void keep_grpc_message(struct h2_stream *s, const uint8_t *v, size_t vlen)
{
	char *out = s->x.grpc_message;
	size_t o = 0;

	for (size_t i = 0; i < vlen && o < H2_GRPC_MESSAGE_MAX - 1; i++) {
		int c = v[i];

		if (c == '%' && i + 2 < vlen && hexv(v[i + 1]) >= 0 && hexv(v[i + 2]) >= 0) {
			c = hexv(v[i + 1]) << 4 | hexv(v[i + 2]);
			i += 2;
		}
		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[o] = '\0';
}

static bool is_grpc_ctype(const uint8_t *v, size_t n)
{
	static const char p[] = "application/grpc";
	size_t pl = sizeof(p) - 1;

	if (n < pl || strncasecmp((const char *)v, p, pl) != 0)
		return false;
	return n == pl || v[pl] == '+' || v[pl] == ';' || v[pl] == '-';
}

static int parse_uint(const uint8_t *v, size_t n, int max)
{
	int r = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		r = r * 10 + (v[i] - '0');
	}
	return r <= max ? r : -1;
}

static void on_field(struct hctx *h, const nghttp2_nv *nv)
{
	struct h2_stream *s = h->s;

	if (!s)
		return;
	if (h->request) {
		if (name_is(nv, ":method")) {
			if (!h->has_method)
				keep(s, s->x.method, sizeof(s->x.method), nv->value, nv->valuelen);
			h->has_method = true;
		} else if (name_is(nv, ":path")) {
			if (!h->has_path)
				keep(s, s->x.path, sizeof(s->x.path), nv->value, nv->valuelen);
			h->has_path = true;
		} else if (name_is(nv, ":scheme")) {
			if (!s->x.scheme[0])
				keep(s, s->x.scheme, sizeof(s->x.scheme), nv->value, nv->valuelen);
		} else if (name_is(nv, ":authority")) {
			keep(s, s->x.authority, sizeof(s->x.authority), nv->value, nv->valuelen);
			h->has_authority = true;
		} else if (name_is(nv, "host")) {
			if (!h->has_authority)
				keep(s, s->x.authority, sizeof(s->x.authority), nv->value, nv->valuelen);
		} else if (name_is(nv, "content-type")) {
			s->x.grpc = is_grpc_ctype(nv->value, nv->valuelen);
		} else if (name_is(nv, "traceparent")) {
			/* Two traceparent fields: neither can be trusted (W3C: ignore). */
			if (h->traceparent_seen)
				s->x.traceparent[0] = '\0';
			else if (nv->valuelen < sizeof(s->x.traceparent))
				keep(s, s->x.traceparent, sizeof(s->x.traceparent), nv->value, nv->valuelen);
			h->traceparent_seen = true;
		} else if (name_is(nv, "tracestate")) {
			size_t l = strlen(s->x.tracestate);

			/* Several fields combine with ',' (RFC 9110 5.3); one that does not fit
			 * whole is dropped rather than cut mid-member. */
			if (l + (l ? 1 : 0) + nv->valuelen < sizeof(s->x.tracestate)) {
				if (l)
					s->x.tracestate[l++] = ',';
				keep(s, s->x.tracestate + l, sizeof(s->x.tracestate) - l, nv->value, nv->valuelen);
			} else {
				s->x.field_truncated = true;
			}
		}
		return;
	}
	if (name_is(nv, ":status")) {
		h->status = parse_uint(nv->value, nv->valuelen, 999);
		if (h->status < 100)
			h->status = -1;
	} else if (name_is(nv, "grpc-status")) {
		s->x.grpc_status = (int16_t)parse_uint(nv->value, nv->valuelen, 9999);
	} else if (name_is(nv, "grpc-message")) {
		keep_grpc_message(s, nv->value, nv->valuelen);
	}
}

/* Inflate the whole block in hb. 0, or an h2_error. */
static int inflate_block(struct h2_dir *d, struct hctx *h)
{
	static const uint8_t none[1];
	const uint8_t *in = d->hb.buf ? d->hb.buf : none;   /* never arithmetic on NULL */
	size_t left = d->hb.buf ? d->hb.len : 0;

	for (;;) {
		nghttp2_nv nv;
		int fl = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(d->inf, &nv, &fl, in, left, 1);

		if (rv < 0)
			return rv == NGHTTP2_ERR_NOMEM ? H2_ERR_NO_MEMORY : H2_ERR_HPACK;
		if ((size_t)rv > left)
			return H2_ERR_HPACK;
		in += rv;
		left -= (size_t)rv;
		if (fl & NGHTTP2_HD_INFLATE_EMIT)
			on_field(h, &nv);
		if (fl & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->inf);
			return 0;
		}
		if (!(fl & NGHTTP2_HD_INFLATE_EMIT) && rv == 0)
			return H2_ERR_HPACK;  /* no progress: never loop */
	}
}

/* ---- header blocks -------------------------------------------------------------- */

static void request_block(struct h2_conn *c, struct h2_dir *d)
{
	struct hctx h = { .request = true, .status = -1 };
	uint32_t sid = d->block_sid;
	struct h2_stream *s = NULL;
	bool fresh = (sid & 1) && sid > c->last_csid;
	int err;

	if (fresh) {
		c->last_csid = sid;
		s = stream_new(c, sid);
		if (!s)
			emit_x(c, WS_X_ERROR, c->n >= H2_MAX_STREAMS ? H2_ERR_TOO_MANY_STREAMS : H2_ERR_NO_MEMORY,
			       NULL, false);
		h.s = s;
	} else {
		s = stream_find(c, sid, NULL);   /* request trailers: fields not kept */
	}
	err = inflate_block(d, &h);
	if (err) {
		if (fresh && s)
			stream_del(c, (uint16_t)(c->n - 1));   /* never announced */
		conn_die(c, (enum h2_error)err);
		return;
	}
	if (fresh && s) {
		if (!h.has_method) {
			stream_del(c, (uint16_t)(c->n - 1));   /* the one just added */
			emit_x(c, WS_X_ERROR, H2_ERR_BAD_REQUEST, NULL, false);
			return;
		}
		s->req_index = c->next_index++;
		s->req = d->bt;
		ws_msg_times_add(&s->req, c->ch, 0);
		emit_x(c, WS_X_REQUEST, 0, s, false);
	} else if (s) {
		ws_msg_times_add(&s->req, c->ch, 0);
	}
	if (s && (d->block_flags & FL_END_STREAM)) {
		s->x.req_ended = true;
		stream_check_done(c, s);
	}
}

static void response_block(struct h2_conn *c, struct h2_dir *d)
{
	struct hctx h = { .request = false, .status = -1 };
	struct h2_stream *s = (d->block_sid & 1) ? stream_find(c, d->block_sid, NULL) : NULL;
	int err;

	h.s = s;
	err = inflate_block(d, &h);
	if (err) {
		conn_die(c, (enum h2_error)err);
		return;
	}
	if (!s)
		return;
	if (!s->x.resp_headers) {
		if (h.status >= 100 && h.status < 200 && !(d->block_flags & FL_END_STREAM))
			return;  /* interim (100-continue, 103): the final response follows */
		s->x.resp_headers = true;
		s->x.status = h.status > 0 ? (uint16_t)h.status : 0;
		s->resp = d->bt;
	}
	ws_msg_times_add(&s->resp, c->ch, 0);
	if (d->block_flags & FL_END_STREAM) {
		s->x.resp_ended = true;
		stream_check_done(c, s);
	}
}

static void block_done(struct h2_conn *c, struct h2_dir *d, int dir)
{
	d->in_block = false;
	if (d->block_type == F_PUSH_PROMISE) {
		struct hctx h = { .status = -1 };   /* kept for HPACK state only */
		int err = inflate_block(d, &h);

		if (err)
			conn_die(c, (enum h2_error)err);
	} else if (dir == c->cdir) {
		request_block(c, d);
	} else {
		response_block(c, d);
	}
	if (!c->dead)
		ws_unitbuf_free(&d->hb);   /* nothing per request kept at rest */
}

/* ---- frames --------------------------------------------------------------------- */

static void settings_entry(struct h2_conn *c, int dir, const uint8_t *e)
{
	uint16_t id = (uint16_t)(e[0] << 8 | e[1]);
	uint32_t v = (uint32_t)e[2] << 24 | (uint32_t)e[3] << 16 | (uint32_t)e[4] << 8 | e[5];
	struct h2_dir *peer = &c->d[dir ^ 1];   /* this end decodes what the peer encodes */

	if (id != SETTINGS_HEADER_TABLE_SIZE)
		return;
	if (v > H2_TABLE_SIZE_MAX) {
		conn_die(c, H2_ERR_TABLE_SIZE);
		return;
	}
	/* The table only ever grows here: a decoder that allows more than the encoder uses
	 * holds a few extra old entries but resolves every index the same; one that allows
	 * less would fail (safely) on a size update the encoder may legally send. Header
	 * blocks are inflated whole, so the inflater is always between blocks now. */
	if (v > peer->table_max && peer->inf) {
		if (nghttp2_hd_inflate_change_table_size(peer->inf, v) != 0) {
			conn_die(c, H2_ERR_NO_MEMORY);
			return;
		}
		peer->table_max = v;
	}
}

static void rst_stream(struct h2_conn *c, uint32_t sid, uint32_t code)
{
	uint16_t pos;
	struct h2_stream *s = stream_find(c, sid, &pos);

	if (!s)
		return;
	s->x.reset = true;
	s->x.rst_code = code;
	/* A response the server completed before the reset (e.g. it answered without
	 * reading the whole request, then reset with NO_ERROR) is a complete exchange. */
	if (s->x.resp_ended && s->x.resp_headers)
		emit_x(c, WS_X_EXCHANGE, 0, s, false);
	else
		emit_x(c, WS_X_ERROR, H2_ERR_STREAM_RESET, s, false);
	stream_del(c, pos);
}

static void goaway(struct h2_conn *c, int dir, uint32_t last_sid)
{
	if (dir == c->cdir)
		return;  /* the client's GOAWAY concerns pushed streams */
	for (uint16_t i = 0; i < c->n;) {
		struct h2_stream *s = c->tab[i];

		if (s->x.stream_id > last_sid) {
			emit_x(c, WS_X_ERROR, H2_ERR_GOAWAY, s, false);
			stream_del(c, i);
		} else {
			i++;
		}
	}
}

/* DATA frame's last byte is in the current chunk. */
static void data_end(struct h2_conn *c, struct h2_dir *d, int dir)
{
	struct h2_stream *s = (d->sid & 1) ? stream_find(c, d->sid, NULL) : NULL;

	if (!s)
		return;
	if (dir == c->cdir) {
		s->x.req_body_bytes += d->plen;
		ws_msg_times_add(&s->req, c->ch, 0);
		if (d->flags & FL_END_STREAM)
			s->x.req_ended = true;
	} else {
		s->x.resp_body_bytes += d->plen;
		if (s->x.resp_headers)
			ws_msg_times_add(&s->resp, c->ch, 0);
		if (d->flags & FL_END_STREAM)
			s->x.resp_ended = true;
	}
	if (d->flags & FL_END_STREAM)
		stream_check_done(c, s);
}

/* A header frame's payload is complete in hb[frame_start..]: keep its fragment only. */
static void header_frame_end(struct h2_conn *c, struct h2_dir *d, int dir)
{
	uint8_t *p = d->hb.buf ? d->hb.buf + d->frame_start : NULL;
	uint32_t pre = 0, pad = 0;

	if (d->type != F_CONTINUATION) {
		if (d->flags & FL_PADDED) {
			if (d->plen < 1) {
				conn_die(c, H2_ERR_BAD_FRAME);
				return;
			}
			pad = p[0];
			pre = 1;
		}
		if (d->type == F_HEADERS && (d->flags & FL_PRIORITY))
			pre += 5;
		if (d->type == F_PUSH_PROMISE) {
			pre += 4;
			c->pushes++;
		}
		if ((uint64_t)pre + pad > d->plen) {
			conn_die(c, H2_ERR_BAD_FRAME);
			return;
		}
		if (d->plen - pre - pad)
			memmove(p, p + pre, d->plen - pre - pad);
		d->in_block = true;
		d->block_sid = d->sid;
		d->block_type = d->type;
		d->block_flags = d->flags;
		d->bt = d->ft;
	}
	d->hb.len = d->frame_start + (d->plen - pre - pad);
	if (d->flags & FL_END_HEADERS)
		block_done(c, d, dir);
}

static void frame_end(struct h2_conn *c, struct h2_dir *d, int dir)
{
	uint32_t v;

	d->st = D_HDR;
	d->hlen = 0;
	switch (d->type) {
	case F_DATA:
		data_end(c, d, dir);
		break;
	case F_HEADERS:
	case F_PUSH_PROMISE:
	case F_CONTINUATION:
		header_frame_end(c, d, dir);
		break;
	case F_RST_STREAM:
		v = (uint32_t)d->small[0] << 24 | (uint32_t)d->small[1] << 16 | (uint32_t)d->small[2] << 8 | d->small[3];
		rst_stream(c, d->sid, v);
		break;
	case F_GOAWAY:
		v = ((uint32_t)d->small[0] << 24 | (uint32_t)d->small[1] << 16 | (uint32_t)d->small[2] << 8 | d->small[3]) & 0x7fffffffu;
		goaway(c, dir, v);
		break;
	default:
		break;
	}
}

/* The 9th header byte arrived: decide what the payload is. */
static void frame_begin(struct h2_conn *c, struct h2_dir *d, int dir)
{
	const uint8_t *h = d->hdr;

	d->plen = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
	d->type = h[3];
	d->flags = h[4];
	d->sid = ((uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8]) & 0x7fffffffu;
	d->pgot = 0;
	d->small_len = 0;

	/* Both prefaces end with a SETTINGS frame (RFC 9113 3.4): a direction whose first
	 * frame is something else was not seen from its start. */
	if (!d->seen_frame) {
		d->seen_frame = true;
		if (d->type != F_SETTINGS || (d->flags & FL_ACK)) {
			conn_die(c, H2_ERR_NO_PREFACE);
			return;
		}
	}
	if (d->in_block && (d->type != F_CONTINUATION || d->sid != d->block_sid)) {
		conn_die(c, H2_ERR_CONTINUATION);
		return;
	}
	if (!d->in_block && d->type == F_CONTINUATION) {
		conn_die(c, H2_ERR_CONTINUATION);
		return;
	}
	switch (d->type) {
	case F_HEADERS:
	case F_PUSH_PROMISE:
	case F_CONTINUATION:
		if (d->sid == 0) {
			conn_die(c, H2_ERR_BAD_FRAME);
			return;
		}
		if ((uint64_t)d->hb.len + d->plen > H2_HEADER_BLOCK_MAX) {
			conn_die(c, H2_ERR_HEADERS_TOO_LONG);
			return;
		}
		d->frame_start = d->hb.len;
		d->st = D_BLOCK;
		break;
	case F_SETTINGS:
		if (d->sid != 0 || ((d->flags & FL_ACK) ? d->plen != 0 : d->plen % 6 != 0)) {
			conn_die(c, H2_ERR_BAD_FRAME);
			return;
		}
		d->st = D_SMALL;
		break;
	case F_RST_STREAM:
		if (d->sid == 0 || d->plen != 4) {
			conn_die(c, H2_ERR_BAD_FRAME);
			return;
		}
		d->st = D_SMALL;
		break;
	case F_GOAWAY:
		if (d->sid != 0 || d->plen < 8) {
			conn_die(c, H2_ERR_BAD_FRAME);
			return;
		}
		d->st = D_SMALL;
		break;
	case F_PING:
		if (d->sid != 0 || d->plen != 8) {
			conn_die(c, H2_ERR_BAD_FRAME);
			return;
		}
		d->st = D_SKIP;
		break;
	case F_WINDOW_UPDATE:
		if (d->plen != 4) {
			conn_die(c, H2_ERR_BAD_FRAME);
			return;
		}
		d->st = D_SKIP;
		break;
	case F_PRIORITY:
		if (d->sid == 0 || d->plen != 5) {
			conn_die(c, H2_ERR_BAD_FRAME);
			return;
		}
		d->st = D_SKIP;
		break;
	case F_DATA:
		if (d->sid == 0) {
			conn_die(c, H2_ERR_BAD_FRAME);
			return;
		}
		d->st = D_SKIP;
		break;
	default:
		d->st = D_SKIP;  /* unknown types are ignored (RFC 9113 4.1) */
		break;
	}
	if (d->plen == 0)
		frame_end(c, d, dir);
}

/* n payload bytes of a D_SMALL frame. */
static void small_bytes(struct h2_conn *c, struct h2_dir *d, int dir, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n && !c->dead; i++) {
		if (d->type == F_SETTINGS) {
			d->small[d->small_len++] = p[i];
			if (d->small_len == 6) {
				settings_entry(c, dir, d->small);
				d->small_len = 0;
			}
		} else if (d->small_len < sizeof(d->small)) {
			d->small[d->small_len++] = p[i];
		}
	}
}

/*
 * A client's bytes that begin with frames instead of the magic: frame headers valid
 * for their type (RFC 9113 6) whose frames fill the chunk exactly, starting with a
 * frame a client
 * sends after its preface (SETTINGS, WINDOW_UPDATE, HEADERS, PING, PRIORITY,
 * RST_STREAM). HTTP/1, TLS, PostgreSQL, MySQL or Redis starts fail the first header.
 * Whole frames filling the chunk exactly: at most 64 looked at.
 */
static bool h2_client_frames(const uint8_t *data, uint32_t len)
{
	uint32_t off = 0, n = 0;

	while (off + FRAME_HDR <= len && n < 64) {
		const uint8_t *h = data + off;
		uint32_t plen = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
		uint32_t sid = (uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8];
		bool ok;

		if (plen > 16384 || (sid & 0x80000000u))
			return false;
		switch (h[3]) {
		case F_DATA:
			ok = sid && n;
			break;
		case F_HEADERS:
			ok = (sid & 1) && (h[4] & ~(FL_END_STREAM | FL_END_HEADERS | FL_PADDED | FL_PRIORITY)) == 0;
			break;
		case F_PRIORITY:
			ok = sid && plen == 5;
			break;
		case F_RST_STREAM:
			ok = sid && plen == 4;
			break;
		case F_SETTINGS:
			ok = !sid && ((h[4] & FL_ACK) ? plen == 0 : plen % 6 == 0) && (h[4] & ~FL_ACK) == 0;
			break;
		case F_PING:
			ok = !sid && plen == 8 && (h[4] & ~FL_ACK) == 0;
			break;
		case F_GOAWAY:
			ok = !sid && plen >= 8 && n;
			break;
		case F_WINDOW_UPDATE:
			ok = plen == 4 && h[4] == 0;
			break;
		case F_CONTINUATION:
			ok = sid && n;
			break;
		default:
			ok = false;
			break;
		}
		if (!ok)
			return false;
		off += FRAME_HDR + plen;
		n++;
	}
	return n && off == len;
}

static void parse(struct h2_conn *c, int dir, const uint8_t *p, uint32_t n)
{
	struct h2_dir *d = &c->d[dir];
	uint32_t i = 0;

	while (i < n && !c->dead) {
		uint32_t k;

		switch (d->st) {
		case D_PREFACE:
			if (d->preface_got == 0 && i == 0 && dir == c->cdir && p[0] != preface[0] &&
			    h2_client_frames(p, n)) {
				/* The client's side begins with frames: its first write (the magic,
				 * SETTINGS) was not seen, the way a TLS library's first write is lost
				 * when its SSL object had no socket yet: accepted only when whole
				 * valid frames fill the chunk (h2_client_frames). The HPACK table
				 * misses nothing: the magic's write carries no header block, and a
				 * lost header block would only make later references fail (the
				 * newest entries keep their indices), never decode to other
				 * fields. The server's side must still begin with its SETTINGS. */
				d->st = D_HDR;
				d->seen_frame = true;
				c->joined = true;
				continue;
			}
			if (p[i] != preface[d->preface_got]) {
				conn_die(c, H2_ERR_NO_PREFACE);
				return;
			}
			i++;
			if (++d->preface_got == PREFACE_LEN)
				d->st = D_HDR;
			continue;
		case D_HDR:
			if (d->hlen == 0) {
				memset(&d->ft, 0, sizeof(d->ft));
				ws_msg_times_add(&d->ft, c->ch, i);
			}
			d->hdr[d->hlen++] = p[i++];
			if (d->hlen == FRAME_HDR)
				frame_begin(c, d, dir);
			continue;
		default:
			break;
		}
		k = n - i;
		if (k > d->plen - d->pgot)
			k = d->plen - d->pgot;
		if (d->st == D_BLOCK) {
			int rc = ws_unitbuf_append(&d->hb, p + i, k, H2_HEADER_BLOCK_MAX);

			if (rc) {
				conn_die(c, rc == -ENOMEM ? H2_ERR_NO_MEMORY : H2_ERR_HEADERS_TOO_LONG);
				return;
			}
		} else if (d->st == D_SMALL) {
			small_bytes(c, d, dir, p + i, k);
			if (c->dead)
				return;
		}
		i += k;
		d->pgot += k;
		if (d->pgot == d->plen)
			frame_end(c, d, dir);
	}
}

/* n bytes nobody captured, in the current chunk. */
static void skip_uncaptured(struct h2_conn *c, int dir, uint64_t n)
{
	struct h2_dir *d = &c->d[dir];

	while (n && !c->dead) {
		uint32_t k;

		if (d->st != D_SKIP) {
			/* A frame header, a header block, SETTINGS, RST_STREAM or GOAWAY we
			 * cannot read: framing or HPACK state (or a stream's fate) is lost. */
			conn_die(c, H2_ERR_UNCAPTURED);
			return;
		}
		k = n < d->plen - d->pgot ? (uint32_t)n : d->plen - d->pgot;
		d->pgot += k;
		n -= k;
		if (d->pgot == d->plen)
			frame_end(c, d, dir);
	}
}

/* ---- ops ------------------------------------------------------------------------ */

static int h2_detect_server_first(const uint8_t *data, uint32_t len)
{
	/* The server's preface is a SETTINGS frame on stream 0 (often written before the
	 * client's magic is read): not proof, but a reason to wait for the other side. */
	static const uint8_t want[9] = { 0, 0, 0, F_SETTINGS, 0, 0, 0, 0, 0 };

	for (uint32_t i = 0; i < len && i < FRAME_HDR; i++) {
		if (i == 0 || i == 1 || i == 2)
			continue;
		if (data[i] != want[i])
			return WS_DETECT_NO;
	}
	if (len >= 3) {
		uint32_t l = (uint32_t)data[0] << 16 | (uint32_t)data[1] << 8 | data[2];

		if (l % 6 != 0 || l > 16384)
			return WS_DETECT_NO;
	}
	return WS_DETECT_MORE;
}

static int h2_detect(const uint8_t *data, uint32_t len, enum ws_pdir dir, enum ws_prole role, uint16_t server_port)
{
	bool server_dir = (role == WS_PROLE_CLIENT && dir == WS_PDIR_INGRESS) ||
			  (role == WS_PROLE_SERVER && dir == WS_PDIR_EGRESS);
	uint32_t n = len < PREFACE_LEN ? len : PREFACE_LEN;

	(void)server_port;
	if (!data || len == 0)
		return WS_DETECT_MORE;
	if (!server_dir && memcmp(data, preface, n) == 0)
		return len >= PREFACE_LEN ? WS_DETECT_YES : WS_DETECT_MORE;
	if (role != WS_PROLE_UNKNOWN && !server_dir && h2_client_frames(data, len))
		return WS_DETECT_YES;   /* its magic's write was not seen (see parse) */
	if (server_dir || role == WS_PROLE_UNKNOWN)
		return h2_detect_server_first(data, len);
	return WS_DETECT_NO;
}

static void *h2_init(enum ws_prole role)
{
	struct h2_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	ws_stream_init(&c->cont);
	c->cdir = role == WS_PROLE_CLIENT ? WS_PDIR_EGRESS : role == WS_PROLE_SERVER ? WS_PDIR_INGRESS : -1;
	c->next_index = 1;
	for (int k = 0; k < 2; k++) {
		if (nghttp2_hd_inflate_new(&c->d[k].inf) != 0) {
			dir_free(&c->d[0]);
			free(c);
			return NULL;
		}
		c->d[k].table_max = HPACK_DEFAULT_TABLE;
		c->d[k].st = D_HDR;
	}
	if (c->cdir >= 0)
		c->d[c->cdir].st = D_PREFACE;
	return c;
}

static void h2_free(void *st)
{
	struct h2_conn *c = st;

	if (!c)
		return;
	while (c->n)
		stream_del(c, 0);
	for (int k = 0; k < 2; k++)
		dir_free(&c->d[k]);
	free(c);
}

/* With no kernel role, the direction that starts with the magic is the client's. */
static void learn_role(struct h2_conn *c, int dir, const struct ws_chunk *ch)
{
	uint32_t n = ch->captured < PREFACE_LEN ? ch->captured : PREFACE_LEN;

	if (n && memcmp(ch->data, preface, n) == 0)
		c->cdir = (int8_t)dir;
	else
		c->cdir = (int8_t)(dir ^ 1);
	c->d[c->cdir].st = D_PREFACE;
	c->d[c->cdir ^ 1].st = D_HDR;
}

static int h2_feed(void *st, enum ws_pdir pdir, const struct ws_chunk *chin, ws_x_emit_fn emit, void *ctx)
{
	struct h2_conn *c = st;
	int dir = pdir & 1;
	struct ws_chunk ch;
	uint32_t lost = 0;
	unsigned fl;

	if (!c || !chin)
		return -EINVAL;
	if (c->dead)
		return -(int)c->dead_err;
	if (c->closed || chin->len == 0)
		return 0;
	ch = *chin;
	if (!ch.data)
		ch.captured = 0;
	if (ch.captured > ch.len)
		ch.captured = ch.len;
	c->ch = &ch;
	c->emit = emit;
	c->ctx = ctx;

	fl = ws_stream_note(&c->cont, (enum ws_pdir)dir, &ch, &lost);
	if (c->cdir < 0)
		learn_role(c, dir, &ch);
	if (fl & WS_STREAM_GAP) {
		struct h2_dir *d = &c->d[dir];

		/* Bytes lost inside a frame we skip anyway change nothing; anywhere else
		 * the framing or the HPACK table is gone. */
		if (d->st == D_SKIP && lost > 0 && lost <= d->plen - d->pgot)
			skip_uncaptured(c, dir, lost);
		else
			conn_die(c, H2_ERR_GAP);
	}
	if (!c->dead && ch.captured)
		parse(c, dir, ch.data, ch.captured);
	if (!c->dead && ch.len > ch.captured)
		skip_uncaptured(c, dir, ch.len - ch.captured);
	c->ch = NULL;
	return c->dead ? -(int)c->dead_err : 0;
}

static void h2_close(void *st, uint64_t ts_ns, ws_x_emit_fn emit, void *ctx)
{
	struct h2_conn *c = st;

	(void)ts_ns;
	if (!c || c->closed)
		return;
	c->closed = true;
	c->emit = emit;
	c->ctx = ctx;
	while (c->n) {
		struct h2_stream *s = c->tab[0];

		if (s->x.resp_ended && s->x.resp_headers)
			emit_x(c, WS_X_EXCHANGE, 0, s, false);   /* answered; request never ended */
		else
			emit_x(c, WS_X_ERROR, H2_ERR_CLOSED, s, true);
		stream_del(c, 0);
	}
	for (int k = 0; k < 2; k++)
		ws_unitbuf_free(&c->d[k].hb);
}

static enum ws_prole h2_role(const void *st)
{
	const struct h2_conn *c = st;

	if (!c || c->cdir < 0)
		return WS_PROLE_UNKNOWN;
	return c->cdir == WS_PDIR_EGRESS ? WS_PROLE_CLIENT : WS_PROLE_SERVER;
}

static enum ws_capture h2_capture(const void *st)
{
	const struct h2_conn *c = st;

	/* HPACK: every byte of every header block, or nothing at all. */
	return !c || c->dead || c->closed ? WS_CAPTURE_OFF : WS_CAPTURE_ALL;
}

uint32_t h2_pushes(const void *st)
{
	const struct h2_conn *c = st;

	return c ? c->pushes : 0;
}

const struct ws_proto_ops ws_proto_http2 = {
	.id = WS_PROTO_HTTP2,
	.name = "http2",
	.detect = h2_detect,
	.init = h2_init,
	.feed = h2_feed,
	.close = h2_close,
	.free = h2_free,
	.role = h2_role,
	.capture = h2_capture,
	.span_request = h2_span_request,
	.span_response = h2_span_response,
	.error_name = h2_error_name,
	.n_errors = H2_ERR__MAX,
	.err_closed = H2_ERR_CLOSED,
};
