/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/1 exchange parser (see http1.h for the contract, docs/http1.md for the model).
 *
 * Shape:
 *  - each direction runs a byte-at-a-time state machine over the captured bytes and
 *    steps over uncaptured bytes by count, so framing stays exact for as long as it
 *    depends only on lengths (Content-Length, chunk data);
 *  - no header block is buffered: the few fields we keep are written straight into
 *    the request being built, so memory per connection is fixed and a message split
 *    at any byte parses the same as one in a single chunk;
 *  - memory a message needs only while it is parsed or awaits its answer (the kept
 *    fields, the FIFO below) comes from a bounded pool of fixed-size blocks, taken
 *    when the message starts and given back when it ends: a connection at rest holds
 *    only its small state machine (docs/memory.md). When the pool is exhausted the
 *    message is parsed without its kept fields (counted), never dropped;
 *  - a request is announced (H1_EV_REQUEST) when its header block ends and then waits
 *    in a FIFO; the exchange is emitted once both its request and response ended.
 */
#include "http1.h"
#include "stream.h"
#include "http_util.h"
#include "../pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Parse states of one direction. The order matters: see is_field_state() and
 * is_framing_state(). */
enum st {
	ST_IDLE,          /* between messages: CR/LF skipped, anything else starts one */
	ST_RESYNC,        /* lost: wait for a chunk whose first bytes start a message */
	ST_TOKEN,         /* first token of the start line: a method or HTTP-version */
	ST_TARGET,
	ST_REQ_VERSION,
	ST_STATUS_CODE,
	ST_REASON,
	ST_START_LF,      /* CR seen at the end of the start line */
	ST_HDR_LINE,      /* at the first byte of a field line (or the empty line) */
	ST_HDR_NAME,
	ST_HDR_OWS,
	ST_HDR_VALUE,
	ST_HDR_LF,        /* CR seen at the end of a field line */
	ST_HDR_FOLD,      /* leading whitespace of an obs-fold continuation line */
	ST_HDR_END_LF,    /* CR of the empty line that ends the block */
	ST_CHUNK_SIZE,
	ST_CHUNK_EXT,
	ST_CHUNK_SIZE_LF,
	ST_CHUNK_DATA,
	ST_CHUNK_DATA_CR,
	ST_CHUNK_DATA_LF,
	ST_BODY_CL,
	ST_BODY_CLOSE,    /* body runs to connection close */
	ST_UNKNOWN_END,   /* framing not captured: ends at the next direction change or close */
};

enum kind { K_EITHER = 0, K_REQ = 1, K_RESP = 2 };

enum hf {
	HF_NONE = 0,
	HF_HOST,
	HF_TRACEPARENT,
	HF_TRACESTATE,
	HF_CONTENT_LENGTH,
	HF_TRANSFER_ENCODING,
	HF_CONNECTION,
};

/* What a response belongs to. */
enum pair {
	PAIR_NONE = 0,    /* not decided yet (status line / fields still coming) */
	PAIR_REQ,         /* the request at the head of the FIFO (pair_index) */
	PAIR_ABSORB,      /* a request we could not track (overflow, loss): dropped quietly */
	PAIR_ORPHAN,      /* no request at all: counted as RESPONSE_WITHOUT_REQUEST */
	PAIR_INTERIM,     /* 1xx other than 101: skipped, pairs with nothing */
};

#define NAME_KEPT 24          /* longest name we look for is "transfer-encoding" */
#define LIST_TOK_MAX 16
#define CHUNK_EXT_MAX 4096    /* chunk extensions are never this long in practice */

/* A comma-separated token list (Transfer-Encoding, Connection), scanned as it streams. */
struct list_scan {
	char tok[LIST_TOK_MAX];
	uint8_t len;
	bool overflow;
	bool params;          /* after ';': parameters are ignored */
	bool ended;           /* whitespace after the token: another char makes it bad */
	bool bad;
};

/* The message being parsed in one direction; zeroed at each message start. */
struct msg {
	struct h1_request *req;    /* request strings as parsed (a pool block; NULL for
				    * responses, or when the pool was exhausted); numbers
				    * are set by build_req */
	char method[H1_METHOD_MAX];
	struct ws_msg_times t;
	uint64_t wire;
	uint64_t body;
	uint64_t remaining;        /* Content-Length body or chunk-data bytes left; chunk size while parsed */
	int64_t content_length;
	uint64_t cl_cur;           /* Content-Length list element being parsed */
	uint32_t hdr_bytes;        /* header block (or trailer section) bytes so far */
	uint32_t ext_len;
	uint32_t tlen;
	uint32_t vlen;
	uint32_t ws_pending;       /* whitespace inside a kept value, written only if more follows */
	uint32_t index;            /* req_index once announced */
	uint32_t pair_index;
	uint16_t status;
	uint8_t kind;              /* enum kind, decided by the first token */
	uint8_t tok_len;
	bool tok_not_ver;          /* the token so far is no prefix of "HTTP/1.x" */
	bool tok_not_meth;         /* ... it holds a '/': no method */
	uint8_t digits;
	uint8_t version_minor;
	uint8_t name_len;
	uint8_t hf;                /* enum hf of the open field */
	uint8_t pair;              /* enum pair */
	uint8_t cl_el;             /* 0: before digits, 1: in digits, 2: after digits */
	uint8_t te_chunked;        /* times "chunked" appeared in Transfer-Encoding */
	bool start_line;           /* start line not finished: failure may mean "not a message" */
	bool from_resync;          /* started at a chunk start while resynchronizing */
	bool have_version;
	bool in_trailers;
	bool name_long;
	bool field_open;           /* a field line was read; finalized when the next line is not a fold */
	bool line_done;            /* the open field's line ended (CR or LF seen) */
	bool v_overflow;
	bool hdr_trunc;
	bool target_trunc;
	bool chunked;
	bool close_delimited;
	bool end_inferred;
	bool announced;
	bool untracked;            /* request over H1_MAX_PENDING: parsed for framing only */
	bool cl_bad;
	bool te_present;
	bool te_last_chunked;
	bool conn_close;
	bool conn_keepalive;
	bool seen_host;
	bool seen_tp;
	bool seen_ts;
	bool pair_head;            /* paired request is HEAD: no body */
	bool pair_connect;         /* paired request is CONNECT: 2xx is a tunnel */
	char tok[H1_METHOD_MAX];
	char name[NAME_KEPT];
	struct list_scan ls;
};

struct dstate {
	struct msg m;
	uint8_t st;                /* enum st */
	bool resync_armed;         /* in ST_RESYNC at the first bytes of a chunk */
};

/* A request announced and waiting for its response (or for its own end). */
struct pend {
	struct h1_request req;
	struct h1_response resp;
	uint32_t req_index;
	uint32_t skip_after;       /* untracked requests sent right after this one */
	bool req_done;
	bool resp_done;
};

struct h1_impl {
	struct h1_conn *c;
	h1_emit_fn emit;
	void *ctx;
	const struct ws_chunk *ch; /* the chunk being fed */
	int req_dir;               /* enum h1_dir carrying requests, -1 until known */
	struct ws_stream stream;   /* continuity: gaps and direction flips (stream.h) */
	bool confirmed;            /* a complete HTTP/1 start line was seen */
	bool closed;
	uint8_t dead_err;
	uint32_t absorb;           /* responses to drop before the FIFO head's (untracked requests) */
	uint32_t orphans_since_req;/* orphan responses since the last request-direction chunk */
	unsigned q_head;
	unsigned q_len;
	struct dstate d[2];
	/* The FIFO, a ring of q_cap entries: most connections never have more than one
	 * request pending, so it starts small and doubles up to H1_MAX_PENDING only when
	 * requests are pipelined (an entry is ~1.4 KB; 32 of them per connection would be
	 * ~44 KB of memory for every connection tracked). */
	unsigned q_cap;
	bool q_pooled;             /* q is one pool block (q_cap == 1) */
	struct pend *q;
};

/* The FIFO starts with one entry, a pool block, taken at the first request and given
 * back as soon as no request is pending. */
#define Q_INITIAL 1

/* One pool for every connection: a block holds a FIFO entry or a request's kept fields. */
#define H1_BLOCK_SIZE (sizeof(struct pend) > sizeof(struct h1_request) ? sizeof(struct pend) : sizeof(struct h1_request))
static struct ws_pool h1_pool;
static bool h1_pool_ready;
static uint64_t h1_fields_dropped;
/* Whole lines at once (scan_start, scan_line, unkept values in bulk); off only to test
 * them against the byte machine (h1_line_scan). */
static bool h1_whole_lines = true;

static struct ws_pool *pool(void)
{
	if (!h1_pool_ready) {
		ws_pool_init(&h1_pool, H1_BLOCK_SIZE, H1_POOL_MAX_DEFAULT, H1_POOL_KEEP_DEFAULT);
		h1_pool_ready = true;
	}
	return &h1_pool;
}

void h1_line_scan(bool on)
{
	h1_whole_lines = on;
}

void h1_pool_limits(uint64_t max_blocks, uint64_t keep_free)
{
	ws_pool_set_limits(pool(), max_blocks, keep_free);
}

void h1_pool_shrink(void)
{
	ws_pool_shrink(pool());
}

void h1_pool_get_stats(struct h1_pool_stats *out)
{
	const struct ws_pool *p = pool();

	memset(out, 0, sizeof(*out));
	out->block_size = p->block_size;
	out->max_blocks = p->max_blocks;
	out->in_use = p->st.in_use;
	out->in_use_max = p->st.in_use_max;
	out->free_blocks = p->st.free_blocks;
	out->gets = p->st.gets;
	out->exhausted = p->st.exhausted + p->st.alloc_fail;
	out->fields_dropped = h1_fields_dropped;
}

static const char *const err_names[H1_ERR__MAX] = {
	[H1_ERR_NONE] = "none",
	[H1_ERR_NOT_HTTP] = "not_http",
	[H1_ERR_BAD_REQUEST_LINE] = "bad_request_line",
	[H1_ERR_BAD_STATUS_LINE] = "bad_status_line",
	[H1_ERR_BAD_HEADER] = "bad_header",
	[H1_ERR_HEADERS_TOO_LONG] = "headers_too_long",
	[H1_ERR_BAD_CONTENT_LENGTH] = "bad_content_length",
	[H1_ERR_BAD_CHUNK] = "bad_chunk",
	[H1_ERR_UNCAPTURED] = "uncaptured",
	[H1_ERR_GAP] = "gap",
	[H1_ERR_RESPONSE_WITHOUT_REQUEST] = "response_without_request",
	[H1_ERR_TOO_MANY_PENDING] = "too_many_pending",
	[H1_ERR_CLOSED_INCOMPLETE] = "closed_incomplete",
	[H1_ERR_UPGRADE] = "upgrade",
	[H1_ERR_NO_MEMORY] = "no_memory",
};

const char *h1_error_name(enum h1_error e)
{
	if ((unsigned)e >= H1_ERR__MAX || !err_names[e])
		return "unknown";
	return err_names[e];
}

/* ---- characters ----------------------------------------------------------------- */

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(uint8_t c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* RFC 9110 5.6.2 token characters. */
static const bool tchar_tab[256] = {
	['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
	['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true, ['\''] = true,
	['*'] = true, ['+'] = true, ['-'] = true, ['.'] = true, ['^'] = true, ['_'] = true,
	['`'] = true, ['|'] = true, ['~'] = true,
};

static bool is_tchar(uint8_t c)
{
	return tchar_tab[c];
}

static bool is_ctl(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

static int hexval(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

/* Does c fit position pos of "HTTP/1.x" (x a digit)? */
static bool ver_char_ok(unsigned pos, uint8_t c)
{
	static const char pfx[] = "HTTP/1.";

	if (pos < 7)
		return c == (uint8_t)pfx[pos];
	return pos == 7 && is_digit(c);
}

/* ---- small helpers -------------------------------------------------------------- */

static int dir_of(const struct h1_impl *im, const struct dstate *d)
{
	return (int)(d - im->d);
}

static int kind_of(const struct h1_impl *im, const struct dstate *d)
{
	if (im->req_dir < 0)
		return K_EITHER;
	return dir_of(im, d) == im->req_dir ? K_REQ : K_RESP;
}

static bool in_message(const struct dstate *d)
{
	return d->st != ST_IDLE && d->st != ST_RESYNC;
}

static bool is_field_state(uint8_t st)
{
	return st >= ST_TOKEN && st <= ST_HDR_END_LF;
}

static bool is_framing_state(uint8_t st)
{
	return st >= ST_CHUNK_SIZE && st <= ST_CHUNK_DATA_LF && st != ST_CHUNK_DATA;
}

static void emit(struct h1_impl *im, uint8_t type, enum h1_error err, const struct h1_request *rq,
		 uint32_t idx, const struct h1_response *rs)
{
	struct h1_event ev;

	if (!im->emit)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.err = (uint8_t)err;
	if (rq) {
		ev.req = *rq;
		ev.has_request = true;
		ev.req_index = idx;
	}
	if (rs) {
		ev.resp = *rs;
		ev.has_response = true;
	}
	im->emit(im->ctx, &ev);
}

static void emit_err(struct h1_impl *im, enum h1_error err)
{
	emit(im, H1_EV_ERROR, err, NULL, 0, NULL);
}

static void touch(struct h1_impl *im, struct dstate *d)
{
	struct ws_msg_times *t = &d->m.t;

	t->last_enter_ns = im->ch->enter_ns;
	t->last_exit_ns = im->ch->exit_ns;
	t->last_tid = im->ch->tid;
}

static bool conn_close_of(const struct msg *m)
{
	return m->conn_close || (m->have_version && m->version_minor == 0 && !m->conn_keepalive);
}

static void build_req(const struct dstate *d, struct h1_request *out)
{
	const struct msg *m = &d->m;

	if (m->req)
		*out = *m->req;
	else
		memset(out, 0, sizeof(*out));
	memcpy(out->method, m->method, sizeof(out->method));
	out->version_minor = m->version_minor;
	out->target_truncated = m->target_trunc;
	out->headers_truncated = m->hdr_trunc;
	out->chunked = m->chunked;
	out->end_inferred = m->end_inferred;
	out->connection_close = conn_close_of(m);
	out->content_length = m->content_length;
	out->body_bytes = m->body;
	out->wire_bytes = m->wire;
	out->t = m->t;
}

static void build_resp(const struct dstate *d, struct h1_response *out)
{
	const struct msg *m = &d->m;

	memset(out, 0, sizeof(*out));
	out->status = m->status;
	out->version_minor = m->version_minor;
	out->headers_truncated = m->hdr_trunc;
	out->chunked = m->chunked;
	out->close_delimited = m->close_delimited;
	out->end_inferred = m->end_inferred;
	out->connection_close = conn_close_of(m);
	out->content_length = m->content_length;
	out->body_bytes = m->body;
	out->wire_bytes = m->wire;
	out->t = m->t;
}

/* ---- the FIFO of announced requests --------------------------------------------- */

static struct pend *q_at(struct h1_impl *im, unsigned k)
{
	return &im->q[(im->q_head + k) % im->q_cap];
}

static struct pend *q_first(struct h1_impl *im)
{
	return im->q_len ? q_at(im, 0) : NULL;
}

static struct pend *q_find(struct h1_impl *im, uint32_t idx, unsigned *pos)
{
	for (unsigned k = 0; k < im->q_len; k++) {
		struct pend *e = q_at(im, k);

		if (e->req_index == idx) {
			if (pos)
				*pos = k;
			return e;
		}
	}
	return NULL;
}

static void q_pop_head(struct h1_impl *im)
{
	struct pend *e = q_at(im, 0);

	/* Responses of the untracked requests that followed it come next. */
	im->absorb += e->skip_after;
	im->q_head = (im->q_head + 1) % im->q_cap;
	im->q_len--;
}

/* Remove the entry at position k; its response (if still due) and the untracked
 * requests after it become responses to drop at the same place in the order. */
static void q_remove(struct h1_impl *im, unsigned k, bool absorb_its_response)
{
	uint32_t carry = q_at(im, k)->skip_after + (absorb_its_response ? 1 : 0);

	if (k == 0)
		im->absorb += carry;
	else
		q_at(im, k - 1)->skip_after += carry;
	for (unsigned j = k; j + 1 < im->q_len; j++)
		*q_at(im, j) = *q_at(im, j + 1);
	im->q_len--;
}

/* A request was sent that we do not track: drop its response when it comes. */
static void add_untracked(struct h1_impl *im)
{
	if (im->q_len)
		q_at(im, im->q_len - 1)->skip_after++;
	else
		im->absorb++;
}

/* If the request direction is still parsing e's message, bring e->req up to date. */
static void sync_entry(struct h1_impl *im, struct pend *e)
{
	struct dstate *rd;

	if (im->req_dir < 0 || e->req_done)
		return;
	rd = &im->d[im->req_dir];
	if (in_message(rd) && rd->m.announced && rd->m.index == e->req_index)
		build_req(rd, &e->req);
}

static struct dstate *resp_dstate(struct h1_impl *im)
{
	return im->req_dir < 0 ? NULL : &im->d[im->req_dir ^ 1];
}

/* ---- message lifecycle ---------------------------------------------------------- */

static void go_dead(struct h1_impl *im, enum h1_error err)
{
	im->c->dead = true;
	im->dead_err = (uint8_t)err;
}

static void msg_begin(struct h1_impl *im, struct dstate *d, uint64_t off)
{
	struct msg *m = &d->m;
	bool from_resync = d->st == ST_RESYNC;
	struct h1_request *rq = m->req;

	memset(m, 0, sizeof(*m));
	/* Only requests keep fields: a message known to be a response needs no block. */
	if (kind_of(im, d) == K_RESP) {
		ws_pool_put(pool(), rq);
		rq = NULL;
	} else if (!rq && !(rq = ws_pool_get(pool()))) {
		h1_fields_dropped++;
	}
	if (rq)
		memset(rq, 0, sizeof(*rq));
	m->req = rq;
	m->content_length = -1;
	m->start_line = true;
	m->from_resync = from_resync;
	m->t.first_enter_ns = im->ch->enter_ns;
	m->t.first_exit_ns = im->ch->exit_ns;
	m->t.first_tid = im->ch->tid;
	/* Pipelined messages in one chunk each get the sequence number of their own first byte. */
	m->t.seq = im->ch->seq + (uint32_t)off;
	/* TLS plaintext: the seq is the ciphertext's record's (ws_tls_offset_seq_ok). */
	m->t.has_seq = im->ch->has_seq && ws_tls_offset_seq_ok(im->ch, (uint32_t)off);
	touch(im, d);
	d->st = ST_TOKEN;
}

static void msg_clear(struct dstate *d, uint8_t next_state)
{
	d->m.announced = false;
	d->m.untracked = false;
	d->m.pair = PAIR_NONE;
	d->st = next_state;
	d->resync_armed = false;
}

static void skip_rest(struct dstate *d)
{
	msg_clear(d, ST_RESYNC);
}

static void q_free(struct h1_impl *im)
{
	if (im->q_pooled)
		ws_pool_put(pool(), im->q);
	else
		free(im->q);
	im->q = NULL;
	im->q_cap = 0;
	im->q_head = 0;
	im->q_pooled = false;
}

/* At the end of a call into the parser: give back what no message holds any more. */
static void release_idle(struct h1_impl *im)
{
	if (!im->q_len && im->q)
		q_free(im);
	for (int k = 0; k < 2; k++) {
		struct dstate *d = &im->d[k];

		if (d->m.req && (!in_message(d) || im->c->dead)) {
			ws_pool_put(pool(), d->m.req);
			d->m.req = NULL;
		}
	}
}

/* Double the FIFO (up to H1_MAX_PENDING), keeping its order. 0 or -ENOSPC/-ENOMEM. */
static int q_grow(struct h1_impl *im)
{
	unsigned cap = im->q_cap ? im->q_cap * 2 : Q_INITIAL;
	struct pend *q;

	if (im->q_cap >= H1_MAX_PENDING)
		return -ENOSPC;
	if (cap > H1_MAX_PENDING)
		cap = H1_MAX_PENDING;
	q = cap == 1 ? ws_pool_get(pool()) : malloc(cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (unsigned k = 0; k < im->q_len; k++)
		q[k] = *q_at(im, k);
	q_free(im);
	im->q = q;
	im->q_cap = cap;
	im->q_pooled = cap == 1;
	im->q_head = 0;
	return 0;
}

static void req_announce(struct h1_impl *im, struct dstate *d)
{
	struct msg *m = &d->m;
	struct pend *e;
	int rc;

	if (im->q_len == im->q_cap && (rc = q_grow(im)) != 0) {
		emit_err(im, rc == -ENOSPC ? H1_ERR_TOO_MANY_PENDING : H1_ERR_NO_MEMORY);
		add_untracked(im);
		m->untracked = true;
		return;
	}
	e = q_at(im, im->q_len);
	im->q_len++;
	memset(e, 0, sizeof(*e));
	e->req_index = im->c->next_req_index++;
	if (im->c->next_req_index == 0)
		im->c->next_req_index = 1;
	build_req(d, &e->req);
	m->announced = true;
	m->index = e->req_index;
	emit(im, H1_EV_REQUEST, H1_ERR_NONE, &e->req, e->req_index, NULL);
}

/* The request in d ended (delimited, or inferred). */
static void req_done(struct h1_impl *im, struct dstate *d)
{
	struct pend *e;

	if (!d->m.announced || !(e = q_find(im, d->m.index, NULL)))
		return;
	build_req(d, &e->req);
	e->req_done = true;
	if (e->resp_done && e == q_first(im)) {
		emit(im, H1_EV_EXCHANGE, H1_ERR_NONE, &e->req, e->req_index, &e->resp);
		q_pop_head(im);
	}
}

/* The response in d ended. */
static void resp_done(struct h1_impl *im, struct dstate *d)
{
	struct msg *m = &d->m;
	struct pend *e = q_first(im);

	if (m->pair != PAIR_REQ || !e || e->req_index != m->pair_index)
		return;  /* interim, absorbed, orphan, or its request was dropped meanwhile */
	build_resp(d, &e->resp);
	e->resp_done = true;
	if (m->status == 0) {
		/* Its status line was never captured: a real exchange we cannot describe. */
		sync_entry(im, e);
		emit(im, H1_EV_ERROR, H1_ERR_UNCAPTURED, &e->req, e->req_index, &e->resp);
		q_pop_head(im);
	} else if (e->req_done) {
		emit(im, H1_EV_EXCHANGE, H1_ERR_NONE, &e->req, e->req_index, &e->resp);
		q_pop_head(im);
	}
	/* else: an early response (e.g. 413 while the body is still sent); the exchange is
	 * emitted when the request ends. */
}

static void msg_complete(struct h1_impl *im, struct dstate *d, bool inferred)
{
	d->m.end_inferred = inferred;
	if (d->m.kind == K_REQ)
		req_done(im, d);
	else
		resp_done(im, d);
	/* After an inferred end we do not know where the next message starts. */
	msg_clear(d, inferred ? ST_RESYNC : ST_IDLE);
}

/* The request being parsed in d is abandoned for reason err. absorb_unannounced: the
 * peer will likely answer it (e.g. 400), so drop that answer when it comes. */
static void req_lost(struct h1_impl *im, struct dstate *d, enum h1_error err, bool absorb_unannounced)
{
	struct msg *m = &d->m;
	struct pend *e;
	unsigned pos;

	if (m->announced && (e = q_find(im, m->index, &pos))) {
		struct dstate *sd = resp_dstate(im);
		bool resp_running = sd && in_message(sd) && sd->m.pair == PAIR_REQ && sd->m.pair_index == e->req_index;

		build_req(d, &e->req);
		emit(im, H1_EV_ERROR, err, &e->req, e->req_index, e->resp_done ? &e->resp : NULL);
		/* A response under way for it is dropped when it ends (its index no longer
		 * matches the FIFO head); one not yet started must be absorbed. */
		q_remove(im, pos, !e->resp_done && !resp_running);
		return;
	}
	emit_err(im, err);
	if (!m->announced && !m->untracked && absorb_unannounced)
		add_untracked(im);
}

/* A response in d is abandoned for reason err: end whichever request it belonged to. */
static void resp_lost(struct h1_impl *im, struct dstate *d, enum h1_error err)
{
	struct msg *m = &d->m;
	struct pend *e = q_first(im);

	switch (m->pair) {
	case PAIR_REQ:
		if (e && e->req_index == m->pair_index) {
			struct h1_response rs;

			sync_entry(im, e);
			build_resp(d, &rs);
			emit(im, H1_EV_ERROR, err, &e->req, e->req_index, &rs);
			q_pop_head(im);
			return;
		}
		break;
	case PAIR_NONE:
		/* Not paired yet: it is the answer to the next request in line. */
		if (im->absorb) {
			im->absorb--;
			break;
		}
		if (e && !e->resp_done) {
			sync_entry(im, e);
			emit(im, H1_EV_ERROR, err, &e->req, e->req_index, NULL);
			q_pop_head(im);
			return;
		}
		break;
	default:
		break;
	}
	emit_err(im, err);
}

/* A malformed message (or not HTTP at all). */
static void msg_fail(struct h1_impl *im, struct dstate *d, enum h1_error err)
{
	struct msg *m = &d->m;

	if (m->start_line) {
		if (!im->confirmed) {
			/* The connection's first bytes are not HTTP/1: leave it to other parsers. */
			emit_err(im, H1_ERR_NOT_HTTP);
			go_dead(im, H1_ERR_NOT_HTTP);
			skip_rest(d);
			return;
		}
		if (m->from_resync) {
			/* A chunk that did not start a message after all: keep looking. */
			im->c->skipped_bytes += m->wire;
			skip_rest(d);
			return;
		}
	}
	if (m->kind == K_REQ || (m->kind == K_EITHER && kind_of(im, d) == K_REQ))
		req_lost(im, d, err, true);
	else
		resp_lost(im, d, err);
	skip_rest(d);
}

static void start_fail(struct h1_impl *im, struct dstate *d)
{
	int k = d->m.kind ? d->m.kind : kind_of(im, d);

	msg_fail(im, d, k == K_RESP ? H1_ERR_BAD_STATUS_LINE : H1_ERR_BAD_REQUEST_LINE);
}

/* 101, or a 2xx to CONNECT: the bytes that follow are another protocol. */
static void upgrade(struct h1_impl *im, struct dstate *d)
{
	struct msg *m = &d->m;
	bool any = false;

	for (unsigned k = 0; k < im->q_len; k++) {
		struct pend *e = q_at(im, k);

		sync_entry(im, e);
		if (m->pair == PAIR_REQ && e->req_index == m->pair_index) {
			build_resp(d, &e->resp);
			emit(im, H1_EV_ERROR, H1_ERR_UPGRADE, &e->req, e->req_index, &e->resp);
		} else {
			emit(im, H1_EV_ERROR, H1_ERR_UPGRADE, &e->req, e->req_index, NULL);
		}
		any = true;
	}
	if (!any)
		emit_err(im, H1_ERR_UPGRADE);
	im->q_len = 0;
	im->absorb = 0;
	go_dead(im, H1_ERR_UPGRADE);
}

static void resp_pair(struct h1_impl *im, struct dstate *d)
{
	struct msg *m = &d->m;
	struct pend *e = q_first(im);

	if (m->status >= 100 && m->status < 200 && m->status != 101) {
		m->pair = PAIR_INTERIM;  /* 100 Continue, 103 Early Hints: the final response follows */
		return;
	}
	if (im->absorb) {
		im->absorb--;
		m->pair = PAIR_ABSORB;
		return;
	}
	if (e && !e->resp_done) {
		m->pair = PAIR_REQ;
		m->pair_index = e->req_index;
		m->pair_head = strcmp(e->req.method, "HEAD") == 0;
		m->pair_connect = strcmp(e->req.method, "CONNECT") == 0;
		return;
	}
	m->pair = PAIR_ORPHAN;
	im->orphans_since_req++;
	emit_err(im, H1_ERR_RESPONSE_WITHOUT_REQUEST);
}

static bool is_upgrade(const struct msg *m)
{
	return m->status == 101 || (m->pair == PAIR_REQ && m->pair_connect && m->status / 100 == 2);
}

static void confirm(struct h1_impl *im, struct dstate *d)
{
	if (im->req_dir < 0) {
		im->req_dir = d->m.kind == K_REQ ? dir_of(im, d) : dir_of(im, d) ^ 1;
		im->c->role = im->req_dir == H1_DIR_INGRESS ? H1_ROLE_SERVER : H1_ROLE_CLIENT;
	}
	im->confirmed = true;
	d->m.start_line = false;
}

/* ---- header fields -------------------------------------------------------------- */

static char *field_dst(struct msg *m, size_t *cap)
{
	if (!m->req) {
		*cap = 0;
		return NULL;
	}
	switch (m->hf) {
	case HF_HOST:
		*cap = sizeof(m->req->host);
		return m->req->host;
	case HF_TRACEPARENT:
		*cap = sizeof(m->req->traceparent);
		return m->req->traceparent;
	case HF_TRACESTATE:
		*cap = sizeof(m->req->tracestate);
		return m->req->tracestate;
	default:
		*cap = 0;
		return NULL;
	}
}

static void put_char(struct msg *m, char c)
{
	size_t cap;
	char *dst = field_dst(m, &cap);

	if (m->vlen + 1 < cap) {
		dst[m->vlen++] = c;
		dst[m->vlen] = '\0';
	} else {
		m->v_overflow = true;
	}
}

static void cl_elem_end(struct msg *m)
{
	if (m->cl_el == 0)
		m->cl_bad = true;  /* empty value or empty list element */
	else if (m->content_length >= 0 && (uint64_t)m->content_length != m->cl_cur)
		m->cl_bad = true;  /* "5, 6" or two fields that disagree (RFC 9112 6.3) */
	else
		m->content_length = (int64_t)m->cl_cur;
	m->cl_cur = 0;
	m->cl_el = 0;
}

/* Content-Length = 1*DIGIT, or a list of identical values (RFC 9110 8.6). */
static void cl_char(struct msg *m, uint8_t c)
{
	if (m->cl_bad)
		return;
	if (is_digit(c)) {
		if (m->cl_el == 2 || m->cl_cur > ((uint64_t)INT64_MAX - (c - '0')) / 10) {
			m->cl_bad = true;
			return;
		}
		m->cl_el = 1;
		m->cl_cur = m->cl_cur * 10 + (c - '0');
	} else if (c == ' ' || c == '\t') {
		if (m->cl_el == 1)
			m->cl_el = 2;
	} else if (c == ',') {
		cl_elem_end(m);
	} else {
		m->cl_bad = true;
	}
}

static void ls_commit(struct msg *m)
{
	struct list_scan *l = &m->ls;

	if (l->len || l->bad) {
		bool valid = !l->bad && !l->overflow;

		if (m->hf == HF_TRANSFER_ENCODING) {
			m->te_last_chunked = valid && strcmp(l->tok, "chunked") == 0;
			if (m->te_last_chunked && m->te_chunked < 255)
				m->te_chunked++;
		} else if (m->hf == HF_CONNECTION && valid) {
			if (strcmp(l->tok, "close") == 0)
				m->conn_close = true;
			else if (strcmp(l->tok, "keep-alive") == 0)
				m->conn_keepalive = true;
		}
	}
	memset(l, 0, sizeof(*l));
}

static void ls_char(struct msg *m, uint8_t c)
{
	struct list_scan *l = &m->ls;

	if (c == ',') {
		ls_commit(m);
		return;
	}
	if (l->params)
		return;
	if (c == ';') {
		l->params = true;
		return;
	}
	if (c == ' ' || c == '\t') {
		if (l->len)
			l->ended = true;
		return;
	}
	if (l->ended || !is_tchar(c)) {
		l->bad = true;
		return;
	}
	if (l->len + 1 < LIST_TOK_MAX) {
		l->tok[l->len++] = (char)lower(c);
		l->tok[l->len] = '\0';
	} else {
		l->overflow = true;
	}
}

static void value_char(struct msg *m, uint8_t c)
{
	switch (m->hf) {
	case HF_HOST:
	case HF_TRACEPARENT:
	case HF_TRACESTATE:
		if (c == ' ' || c == '\t') {
			/* Inner whitespace is kept (as SP); trailing whitespace never is. */
			if (m->vlen)
				m->ws_pending++;
			return;
		}
		for (; m->ws_pending && !m->v_overflow; m->ws_pending--)
			put_char(m, ' ');
		m->ws_pending = 0;
		put_char(m, (char)c);
		return;
	case HF_CONTENT_LENGTH:
		cl_char(m, c);
		return;
	case HF_TRANSFER_ENCODING:
	case HF_CONNECTION:
		ls_char(m, c);
		return;
	default:
		return;
	}
}

static void name_put(struct msg *m, uint8_t c)
{
	if (m->name_len + 1 < NAME_KEPT) {
		m->name[m->name_len++] = (char)lower(c);
		m->name[m->name_len] = '\0';
	} else {
		m->name_long = true;
	}
}

/* Does the field name s[0..n) equal lit (lower case, n bytes), ignoring case? */
static bool name_is(const uint8_t *s, const char *lit, size_t n)
{
	for (size_t j = 0; j < n; j++)
		if (lower(s[j]) != (uint8_t)lit[j])
			return false;
	return true;
}

/* The field a name stands for, if it is one the parser keeps: a switch on the length
 * first, so most names are rejected without reading them. */
static uint8_t field_lookup(const uint8_t *s, size_t n)
{
	switch (n) {
	case 4:
		return name_is(s, "host", 4) ? HF_HOST : HF_NONE;
	case 10:
		if (name_is(s, "connection", 10))
			return HF_CONNECTION;
		return name_is(s, "tracestate", 10) ? HF_TRACESTATE : HF_NONE;
	case 11:
		return name_is(s, "traceparent", 11) ? HF_TRACEPARENT : HF_NONE;
	case 14:
		return name_is(s, "content-length", 14) ? HF_CONTENT_LENGTH : HF_NONE;
	case 17:
		return name_is(s, "transfer-encoding", 17) ? HF_TRANSFER_ENCODING : HF_NONE;
	default:
		return HF_NONE;
	}
}

/* The name of a field line (name[0..len), any case) ended at ':'; decide whether its
 * value is kept. name_long: longer than any name kept. */
static void field_start(struct msg *m, const uint8_t *name, size_t len, bool name_long)
{
	uint8_t hf;

	m->hf = HF_NONE;
	m->vlen = 0;
	m->ws_pending = 0;
	m->v_overflow = false;
	m->field_open = true;
	m->line_done = false;
	m->cl_cur = 0;
	m->cl_el = 0;
	memset(&m->ls, 0, sizeof(m->ls));
	if (m->in_trailers || name_long)
		return;  /* trailer fields never change framing or identity */
	hf = field_lookup(name, len);
	switch (hf) {
	/* First occurrence only: a second Host/traceparent is not allowed to override.
	 * Responses keep none of these. */
	case HF_HOST:
		if (m->kind == K_REQ && !m->seen_host)
			m->hf = hf;
		m->seen_host = true;
		return;
	case HF_TRACEPARENT:
		if (m->kind == K_REQ && !m->seen_tp)
			m->hf = hf;
		m->seen_tp = true;
		return;
	case HF_TRACESTATE:
		if (m->kind == K_REQ && !m->seen_ts)
			m->hf = hf;
		m->seen_ts = true;
		return;
	case HF_TRANSFER_ENCODING:
		m->te_present = true;
		/* fall through */
	default:
		m->hf = hf;
		return;
	}
}

/* Drop a field whose line was cut by the capture: a partial value is not a value. */
static void field_discard(struct msg *m)
{
	size_t cap;
	char *dst = field_dst(m, &cap);

	if (dst)
		dst[0] = '\0';
	m->hf = HF_NONE;
	m->field_open = false;
}

/* The open field is complete. Returns -1 when it made the message fail. */
static int field_finalize(struct h1_impl *im, struct dstate *d)
{
	struct msg *m = &d->m;

	if (!m->field_open)
		return 0;
	m->field_open = false;
	switch (m->hf) {
	case HF_HOST:
		if (m->v_overflow && m->req)
			m->req->host[0] = '\0';  /* a cut host name would name another host */
		break;
	case HF_TRACESTATE:
		if (m->v_overflow && m->req) {
			/* Keep whole list members only (W3C allows dropping members). */
			char *comma = strrchr(m->req->tracestate, ',');

			if (comma)
				*comma = '\0';
			else
				m->req->tracestate[0] = '\0';
		}
		break;
	case HF_CONTENT_LENGTH:
		cl_elem_end(m);
		if (m->cl_bad) {
			msg_fail(im, d, H1_ERR_BAD_CONTENT_LENGTH);
			return -1;
		}
		break;
	case HF_TRANSFER_ENCODING:
	case HF_CONNECTION:
		ls_commit(m);
		break;
	default:
		/* traceparent keeps its prefix: a version-00 value that long is invalid anyway
		 * and ws_traceparent_parse rejects it; a future version needs only the prefix. */
		break;
	}
	m->hf = HF_NONE;
	return 0;
}

/* ---- end of a header block ------------------------------------------------------ */

static bool chunked_ok(const struct msg *m)
{
	/* chunked must be the final coding, applied once, and HTTP/1.0 has no
	 * Transfer-Encoding at all (RFC 9112 6.1). */
	return m->te_last_chunked && m->te_chunked == 1 && m->version_minor >= 1;
}

static void body_chunked(struct dstate *d)
{
	d->m.chunked = true;
	d->m.remaining = 0;
	d->m.digits = 0;
	d->st = ST_CHUNK_SIZE;
}

static void req_headers_done(struct h1_impl *im, struct dstate *d)
{
	struct msg *m = &d->m;

	/* RFC 9112 6.3: Transfer-Encoding wins over Content-Length; a request whose final
	 * coding is not chunked cannot be delimited and gets a 400. */
	if (m->te_present && !chunked_ok(m)) {
		msg_fail(im, d, H1_ERR_BAD_HEADER);
		return;
	}
	req_announce(im, d);
	if (m->te_present)
		body_chunked(d);
	else if (m->content_length > 0) {
		m->remaining = (uint64_t)m->content_length;
		d->st = ST_BODY_CL;
	} else {
		msg_complete(im, d, false);
	}
}

static void resp_headers_done(struct h1_impl *im, struct dstate *d)
{
	struct msg *m = &d->m;

	resp_pair(im, d);
	if (is_upgrade(m)) {
		upgrade(im, d);
		return;
	}
	/* RFC 9112 6.3 in order: 1xx/204/304 and answers to HEAD have no body. */
	if (m->pair == PAIR_INTERIM || m->pair_head || m->status == 204 || m->status == 304) {
		msg_complete(im, d, false);
		return;
	}
	if (m->te_present) {
		if (chunked_ok(m)) {
			body_chunked(d);
			return;
		}
		m->close_delimited = true;
		d->st = ST_BODY_CLOSE;
		return;
	}
	if (m->content_length == 0) {
		msg_complete(im, d, false);
	} else if (m->content_length > 0) {
		m->remaining = (uint64_t)m->content_length;
		d->st = ST_BODY_CL;
	} else {
		m->close_delimited = true;
		d->st = ST_BODY_CLOSE;
	}
}

static void headers_done(struct h1_impl *im, struct dstate *d)
{
	if (field_finalize(im, d))
		return;
	if (d->m.in_trailers)
		msg_complete(im, d, false);
	else if (d->m.kind == K_REQ)
		req_headers_done(im, d);
	else
		resp_headers_done(im, d);
}

/* ---- the byte machine ----------------------------------------------------------- */

static bool token_prefix_ok(const struct msg *m, int want)
{
	bool ver = !m->tok_not_ver, meth = !m->tok_not_meth;

	if (want == K_REQ)
		return meth;
	if (want == K_RESP)
		return ver;
	return ver || meth;
}

static void token_done(struct h1_impl *im, struct dstate *d)
{
	struct msg *m = &d->m;
	int want = kind_of(im, d);
	bool ver = m->tok_len == 8 && token_prefix_ok(m, K_RESP);
	bool meth = m->tok_len > 0 && token_prefix_ok(m, K_REQ);

	if (ver && want != K_REQ) {
		m->kind = K_RESP;
		m->version_minor = (uint8_t)(m->tok[7] - '0');
		m->have_version = true;
		m->digits = 0;
		d->st = ST_STATUS_CODE;
	} else if (meth && want != K_RESP) {
		m->kind = K_REQ;
		memcpy(m->method, m->tok, m->tok_len);
		m->method[m->tok_len] = '\0';
		d->st = ST_TARGET;
	} else {
		start_fail(im, d);
	}
}

static void start_line_done(struct h1_impl *im, struct dstate *d)
{
	int want = kind_of(im, d);

	/* The other direction may have settled the roles while this line streamed in. */
	if (want != K_EITHER && want != d->m.kind) {
		start_fail(im, d);
		return;
	}
	confirm(im, d);
	d->st = ST_HDR_LINE;
}

static void chunk_size_done(struct dstate *d)
{
	struct msg *m = &d->m;

	if (m->remaining == 0) {
		/* last-chunk: trailer section, parsed like a header block, ends the message */
		m->in_trailers = true;
		m->hdr_bytes = 0;
		m->field_open = false;
		d->st = ST_HDR_LINE;
	} else {
		d->st = ST_CHUNK_DATA;
	}
}

static void chunk_next(struct dstate *d)
{
	d->m.remaining = 0;
	d->m.digits = 0;
	d->m.ext_len = 0;
	d->st = ST_CHUNK_SIZE;
}

static void fail_field(struct h1_impl *im, struct dstate *d)
{
	msg_fail(im, d, H1_ERR_BAD_HEADER);
}

static void fail_chunk(struct h1_impl *im, struct dstate *d)
{
	msg_fail(im, d, H1_ERR_BAD_CHUNK);
}

/* One byte of a start line, a field line or chunk framing. */
static void step(struct h1_impl *im, struct dstate *d, uint8_t c)
{
	struct msg *m = &d->m;
	int v;

	switch (d->st) {
	case ST_TOKEN:
		if (c == ' ') {
			token_done(im, d);
			return;
		}
		if (!(is_tchar(c) || c == '/') || m->tok_len >= H1_METHOD_MAX - 1) {
			start_fail(im, d);
			return;
		}
		/* what the token can still be: a prefix of HTTP/1.x, a method (no '/') */
		if (!ver_char_ok(m->tok_len, c))
			m->tok_not_ver = true;
		if (c == '/')
			m->tok_not_meth = true;
		m->tok[m->tok_len++] = (char)c;
		/* Fail at the first impossible byte: binary protocols are rejected at once. */
		if (!token_prefix_ok(m, kind_of(im, d)))
			start_fail(im, d);
		return;
	case ST_TARGET:
		if (c == ' ') {
			if (!m->tlen) {
				start_fail(im, d);
				return;
			}
			m->digits = 0;
			d->st = ST_REQ_VERSION;
			return;
		}
		if (c <= 0x20 || c == 0x7f) {  /* CR/LF here would be HTTP/0.9 */
			start_fail(im, d);
			return;
		}
		if (m->tlen + 1 < H1_TARGET_MAX && m->req)
			m->req->target[m->tlen] = (char)c;
		else
			m->target_trunc = true;
		if (m->tlen < UINT32_MAX)
			m->tlen++;
		return;
	case ST_REQ_VERSION:
		if (m->digits < 8) {
			if (!ver_char_ok(m->digits, c)) {
				start_fail(im, d);
				return;
			}
			if (m->digits == 7) {
				m->version_minor = (uint8_t)(c - '0');
				m->have_version = true;
			}
			m->digits++;
			return;
		}
		if (c == '\r')
			d->st = ST_START_LF;
		else if (c == '\n')
			start_line_done(im, d);
		else
			start_fail(im, d);
		return;
	case ST_STATUS_CODE:
		if (m->digits < 3) {
			if (!is_digit(c) || (m->digits == 0 && c == '0')) {
				start_fail(im, d);
				return;
			}
			m->status = (uint16_t)(m->status * 10 + (c - '0'));
			m->digits++;
			return;
		}
		/* A missing reason phrase (and even its SP) is common enough to accept. */
		if (c == ' ')
			d->st = ST_REASON;
		else if (c == '\r')
			d->st = ST_START_LF;
		else if (c == '\n')
			start_line_done(im, d);
		else
			start_fail(im, d);
		return;
	case ST_REASON:
		if (c == '\r')
			d->st = ST_START_LF;
		else if (c == '\n')
			start_line_done(im, d);
		else if (is_ctl(c) && c != '\t')
			start_fail(im, d);
		return;
	case ST_START_LF:
		if (c == '\n')
			start_line_done(im, d);
		else
			start_fail(im, d);
		return;
	case ST_HDR_LINE:
		if (c == ' ' || c == '\t') {
			/* obs-fold: the previous field's value continues (RFC 9112 5.2); a first
			 * line starting with whitespace has nothing to continue. */
			if (!m->field_open) {
				fail_field(im, d);
				return;
			}
			if (m->vlen)
				m->ws_pending = 1;
			else if (m->hf != HF_NONE)
				value_char(m, ' ');
			m->line_done = false;
			d->st = ST_HDR_FOLD;
			return;
		}
		if (field_finalize(im, d))
			return;
		if (c == '\r') {
			d->st = ST_HDR_END_LF;
		} else if (c == '\n') {
			headers_done(im, d);  /* bare LF tolerated, as common servers do */
		} else if (is_tchar(c)) {
			m->name_len = 0;
			m->name_long = false;
			name_put(m, c);
			d->st = ST_HDR_NAME;
		} else {
			fail_field(im, d);
		}
		return;
	case ST_HDR_NAME:
		if (c == ':') {
			field_start(m, (const uint8_t *)m->name, m->name_len, m->name_long);
			d->st = ST_HDR_OWS;
		} else if (is_tchar(c)) {
			name_put(m, c);
		} else {
			fail_field(im, d);  /* includes whitespace before ':' (RFC 9112 5.1) */
		}
		return;
	case ST_HDR_OWS:
	case ST_HDR_FOLD:
		if (c == ' ' || c == '\t')
			return;
		if (c == '\r') {
			m->line_done = true;
			d->st = ST_HDR_LF;
		} else if (c == '\n') {
			m->line_done = true;
			d->st = ST_HDR_LINE;
		} else if (is_ctl(c)) {
			fail_field(im, d);
		} else {
			d->st = ST_HDR_VALUE;
			value_char(m, c);
		}
		return;
	case ST_HDR_VALUE:
		if (c == '\r') {
			m->line_done = true;
			d->st = ST_HDR_LF;
		} else if (c == '\n') {
			m->line_done = true;
			d->st = ST_HDR_LINE;
		} else if (is_ctl(c) && c != '\t') {
			fail_field(im, d);  /* NUL and other controls are rejected by servers too */
		} else {
			value_char(m, c);
		}
		return;
	case ST_HDR_LF:
		if (c == '\n')
			d->st = ST_HDR_LINE;
		else
			fail_field(im, d);
		return;
	case ST_HDR_END_LF:
		if (c == '\n')
			headers_done(im, d);
		else
			fail_field(im, d);
		return;
	case ST_CHUNK_SIZE:
		v = hexval(c);
		if (v >= 0) {
			if (m->remaining > ((uint64_t)INT64_MAX >> 4)) {
				fail_chunk(im, d);
				return;
			}
			m->remaining = m->remaining << 4 | (uint64_t)v;
			m->digits = 1;
			return;
		}
		if (!m->digits) {
			fail_chunk(im, d);
		} else if (c == ';' || c == ' ' || c == '\t') {
			m->ext_len = 0;
			d->st = ST_CHUNK_EXT;
		} else if (c == '\r') {
			d->st = ST_CHUNK_SIZE_LF;
		} else if (c == '\n') {
			chunk_size_done(d);
		} else {
			fail_chunk(im, d);
		}
		return;
	case ST_CHUNK_EXT:
		if (c == '\r')
			d->st = ST_CHUNK_SIZE_LF;
		else if (c == '\n')
			chunk_size_done(d);
		else if ((is_ctl(c) && c != '\t') || ++m->ext_len > CHUNK_EXT_MAX)
			fail_chunk(im, d);
		return;
	case ST_CHUNK_SIZE_LF:
		if (c == '\n')
			chunk_size_done(d);
		else
			fail_chunk(im, d);
		return;
	case ST_CHUNK_DATA_CR:
		if (c == '\r')
			d->st = ST_CHUNK_DATA_LF;
		else if (c == '\n')
			chunk_next(d);
		else
			fail_chunk(im, d);
		return;
	case ST_CHUNK_DATA_LF:
		if (c == '\n')
			chunk_next(d);
		else
			fail_chunk(im, d);
		return;
	default:
		return;
	}
}

/* Resynchronize only on a chunk whose captured bytes begin with a start line of the
 * kind this direction carries: a guess that spans chunks could glue body bytes of a
 * lost message onto the next one. */
static bool resync_starts(struct h1_impl *im, struct dstate *d, const uint8_t *p, uint32_t n)
{
	int got = h1_detect(p, n), want = kind_of(im, d);

	if (want == K_REQ)
		return got == 1;
	if (want == K_RESP)
		return got == 2;
	return got == 1 || got == 2;
}

/* ---- the line scanner ----------------------------------------------------------- */

/* Length of the run of field-value text at p (bytes other than controls, HTAB
 * allowed): the index of the first control byte or DEL, or n. Eight bytes at a time
 * while none of them can be one. */
static uint32_t text_run(const uint8_t *p, uint32_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint32_t k = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (n - k >= 8) {
		uint64_t x, del, hit;

		memcpy(&x, p + k, 8);
		del = x ^ (0x7f * ones);
		/* a byte below 0x20, or equal to 0x7f, sets its high bit here (bytes >= 0x80
		 * are obs-text and never do); a borrow only ever flags bytes after a real
		 * one, so the lowest flag is a real byte */
		hit = ((x - 0x20 * ones) & ~x & highs) | ((del - ones) & ~del & highs);
		if (!hit) {
			k += 8;
			continue;
		}
		k += (uint32_t)__builtin_ctzll(hit) / 8;
		if (p[k] != '\t')
			return k;
		k++;
	}
#else
	(void)ones;
	(void)highs;
#endif
	for (; k < n; k++) {
		uint8_t c = p[k];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return k;
	}
	return n;
}

/* Count n header-block bytes of the message in d (what parse() does per byte). */
static void account_hdr(struct msg *m, uint32_t n)
{
	m->wire += n;
	m->hdr_bytes += n;
	if (m->in_trailers)
		m->body += n;
}

/* Kept string values (Host, traceparent, tracestate) of a whole line: inner whitespace
 * as one SP per byte, trailing whitespace dropped, cut at the field's size (as
 * value_char would, byte by byte). v starts after the OWS. */
static void value_str(struct msg *m, const uint8_t *v, uint32_t n)
{
	size_t cap;
	char *dst = field_dst(m, &cap);

	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (!dst) {
		m->v_overflow = n > 0;
		return;
	}
	for (uint32_t j = 0; j < n; j++) {
		if (m->vlen + 1 >= cap) {
			m->v_overflow = true;
			break;
		}
		dst[m->vlen++] = v[j] == '\t' ? ' ' : (char)v[j];
	}
	dst[m->vlen] = '\0';
}

/* Length of the run of request-target bytes at p (visible ASCII and obs-text: anything
 * above SP but DEL): the index of the first other byte, or n. */
static uint32_t target_run(const uint8_t *p, uint32_t n)
{
	uint32_t k = 0;

	while (k < n && p[k] > 0x20 && p[k] != 0x7f)
		k++;
	return k;
}

/* At the first byte of a start line: take the whole line at once when it is all in
 * p[0..n) and well formed, leaving the message exactly as the byte machine (step) would
 * byte by byte. Returns the bytes consumed, or 0: the byte machine takes the line
 * instead (it is cut by the chunk's end, is malformed, is of the wrong kind for this
 * direction, or would pass H1_HEADER_BLOCK_MAX), and fails or resumes exactly as it
 * always did. Nothing of the message changes before the whole line is known good. */
static uint32_t scan_start(struct h1_impl *im, struct dstate *d, const uint8_t *p, uint32_t n)
{
	struct msg *m = &d->m;
	int want = kind_of(im, d);
	bool not_ver = false, not_meth = false, resp;
	uint32_t t, s, e, tl = 0, len;
	uint16_t status = 0;

	/* the first token: a method, or HTTP/1.x */
	for (t = 0; t < n && t < H1_METHOD_MAX - 1 && (is_tchar(p[t]) || p[t] == '/'); t++) {
		if (!ver_char_ok(t, p[t]))
			not_ver = true;
		if (p[t] == '/')
			not_meth = true;
	}
	if (t == 0 || t == n || p[t] != ' ')
		return 0;
	/* as token_done decides; the flags only grow, so the whole token passing is every
	 * prefix passing (token_prefix_ok, byte by byte) */
	resp = t == 8 && !not_ver && want != K_REQ;
	if (!resp && (not_meth || want == K_RESP))
		return 0;
	s = t + 1;
	if (resp) {
		/* status-code: three digits, no leading zero; then SP reason, or the end */
		if (n - s < 4 || p[s] == '0')
			return 0;
		for (e = s; e < s + 3; e++) {
			if (!is_digit(p[e]))
				return 0;
			status = (uint16_t)(status * 10 + (p[e] - '0'));
		}
		if (p[e] == ' ') {
			e++;
			e += text_run(p + e, n - e);
		}
	} else {
		/* request-target SP HTTP/1.x */
		tl = target_run(p + s, n - s);
		e = s + tl;
		if (!tl || n - e < 9 || p[e] != ' ')
			return 0;
		for (uint32_t j = 0; j < 8; j++)
			if (!ver_char_ok(j, p[e + 1 + j]))
				return 0;
		e += 9;
	}
	/* CRLF, or a bare LF */
	if (e == n)
		return 0;
	if (p[e] == '\n')
		len = e + 1;
	else if (p[e] == '\r' && e + 1 < n && p[e + 1] == '\n')
		len = e + 2;
	else
		return 0;
	if ((uint64_t)m->hdr_bytes + len > H1_HEADER_BLOCK_MAX)
		return 0;

	m->wire += len;
	m->hdr_bytes += len;
	memcpy(m->tok, p, t);
	m->tok_len = (uint8_t)t;
	m->tok_not_ver = not_ver;
	m->tok_not_meth = not_meth;
	token_done(im, d);
	if (resp) {
		m->status = status;
		m->digits = 3;
	} else {
		uint32_t keep = m->req ? tl : 0;

		if (keep > H1_TARGET_MAX - 1)
			keep = H1_TARGET_MAX - 1;
		if (keep)
			memcpy(m->req->target, p + s, keep);
		m->target_trunc = keep < tl;
		m->tlen = tl;
		m->version_minor = (uint8_t)(p[s + tl + 8] - '0');
		m->have_version = true;
		m->digits = 8;
	}
	start_line_done(im, d);
	return len;
}

/* At the first byte of a line of a header block (or trailer section): take the whole
 * line at once when it is all in p[0..n) and well formed. Returns the bytes consumed,
 * or 0: the byte machine takes the line instead (it is cut by the chunk's end, is a
 * continuation line, is malformed, or would pass H1_HEADER_BLOCK_MAX), and it then
 * fails or resumes exactly as it always did. */
static uint32_t scan_line(struct h1_impl *im, struct dstate *d, const uint8_t *p, uint32_t n)
{
	struct msg *m = &d->m;
	uint32_t name_len, vs, ve, len;
	uint8_t c0 = p[0];

	if (c0 == '\r' || c0 == '\n') {
		/* the empty line that ends the block */
		len = c0 == '\n' ? 1 : 2;
		if (len > n || (len == 2 && p[1] != '\n') || (uint64_t)m->hdr_bytes + len > H1_HEADER_BLOCK_MAX)
			return 0;
		account_hdr(m, 1);
		if (field_finalize(im, d))
			return 1;
		account_hdr(m, len - 1);
		headers_done(im, d);
		return len;
	}
	/* name ':' OWS value OWS CRLF */
	for (name_len = 0; name_len < n && is_tchar(p[name_len]); name_len++)
		;
	if (name_len == 0 || name_len == n || p[name_len] != ':')
		return 0;
	vs = name_len + 1;
	ve = vs + text_run(p + vs, n - vs);
	if (ve == n)
		return 0;
	if (p[ve] == '\n')
		len = ve + 1;
	else if (p[ve] == '\r' && ve + 1 < n && p[ve + 1] == '\n')
		len = ve + 2;
	else
		return 0;
	if ((uint64_t)m->hdr_bytes + len > H1_HEADER_BLOCK_MAX)
		return 0;
	/* The previous field is complete now that this line is not its continuation. */
	account_hdr(m, 1);
	if (field_finalize(im, d))
		return 1;
	account_hdr(m, len - 1);
	field_start(m, p, name_len, name_len >= NAME_KEPT);
	while (vs < ve && (p[vs] == ' ' || p[vs] == '\t'))
		vs++;
	switch (m->hf) {
	case HF_NONE:
		break;
	case HF_HOST:
	case HF_TRACEPARENT:
	case HF_TRACESTATE:
		value_str(m, p + vs, ve - vs);
		break;
	default:
		for (uint32_t j = vs; j < ve; j++)
			value_char(m, p[j]);
		break;
	}
	m->line_done = true;
	d->st = ST_HDR_LINE;
	return len;
}

static void parse(struct h1_impl *im, struct dstate *d, const uint8_t *p, uint32_t n)
{
	uint32_t i = 0;

	while (i < n && !im->c->dead) {
		struct msg *m = &d->m;
		uint64_t k;
		uint8_t c;

		switch (d->st) {
		case ST_IDLE:
			/* Empty lines before a message are ignored (RFC 9112 2.2). */
			if (p[i] == '\r' || p[i] == '\n') {
				i++;
				continue;
			}
			msg_begin(im, d, i);
			continue;
		case ST_RESYNC:
			if (d->resync_armed) {
				if (p[i] == '\r' || p[i] == '\n') {
					i++;
					im->c->skipped_bytes++;
					continue;
				}
				d->resync_armed = false;
				if (resync_starts(im, d, p + i, n - i)) {
					msg_begin(im, d, i);
					continue;
				}
			}
			im->c->skipped_bytes += n - i;
			return;
		case ST_TOKEN:
			/* Whole start lines at once, as header lines below. */
			if (h1_whole_lines && m->tok_len == 0) {
				k = scan_start(im, d, p + i, n - i);
				if (k) {
					i += (uint32_t)k;
					continue;
				}
			}
			break;
		case ST_HDR_LINE:
			/* Whole lines at once; a line the chunk cuts goes byte by byte. */
			k = h1_whole_lines ? scan_line(im, d, p + i, n - i) : 0;
			if (k) {
				i += (uint32_t)k;
				continue;
			}
			break;
		case ST_HDR_VALUE:
			/* The rest of a value nobody keeps (Date, User-Agent, ...), in a line
			 * the previous chunk cut: only its end and control bytes matter, so run
			 * to the first one and let step() see it. Same accounting as byte by
			 * byte. */
			if (h1_whole_lines && m->hf == HF_NONE && m->hdr_bytes < H1_HEADER_BLOCK_MAX) {
				uint32_t lim = n - i;

				if (lim > H1_HEADER_BLOCK_MAX - m->hdr_bytes)
					lim = H1_HEADER_BLOCK_MAX - m->hdr_bytes;
				k = text_run(p + i, lim);
				if (k) {
					account_hdr(m, (uint32_t)k);
					i += (uint32_t)k;
					continue;
				}
			}
			break;
		case ST_BODY_CL:
		case ST_CHUNK_DATA:
			k = n - i;
			if (k > m->remaining)
				k = m->remaining;
			i += (uint32_t)k;
			m->wire += k;
			m->body += k;
			m->remaining -= k;
			if (m->remaining == 0) {
				if (d->st == ST_BODY_CL)
					msg_complete(im, d, false);
				else
					d->st = ST_CHUNK_DATA_CR;
			}
			continue;
		case ST_BODY_CLOSE:
		case ST_UNKNOWN_END:
			k = n - i;
			i = n;
			m->wire += k;
			if (!m->hdr_trunc)
				m->body += k;
			continue;
		default:
			break;
		}
		c = p[i++];
		m->wire++;
		if (is_framing_state(d->st) || m->in_trailers)
			m->body++;
		if (is_field_state(d->st) && ++m->hdr_bytes > H1_HEADER_BLOCK_MAX) {
			msg_fail(im, d, H1_ERR_HEADERS_TOO_LONG);
			continue;
		}
		step(im, d, c);
	}
}

/* ---- uncaptured bytes ----------------------------------------------------------- */

/* The capture ended inside a start line or header block: report what was seen,
 * with headers_truncated, and wait for the direction change to end the message. */
static void trunc_headers(struct h1_impl *im, struct dstate *d)
{
	struct msg *m = &d->m;
	int want = kind_of(im, d);
	bool tentative = !im->confirmed || m->from_resync;

	if (m->start_line) {
		bool enough;

		if (d->st == ST_TOKEN) {
			/* Not even the first token: only a known position makes this a message. */
			enough = !tentative && want != K_EITHER;
			if (enough)
				m->kind = (uint8_t)want;
		} else if (m->kind == K_REQ) {
			enough = !tentative || ws_http_method_known(m->method);
			if (d->st == ST_TARGET)
				m->target_trunc = true;
		} else {
			bool status_known = d->st != ST_STATUS_CODE || m->digits == 3;

			enough = !tentative || status_known;
			if (!status_known)
				m->status = 0;
		}
		if (!enough || (want != K_EITHER && want != m->kind)) {
			im->c->skipped_bytes += m->wire;
			skip_rest(d);
			return;
		}
		confirm(im, d);
	} else if (m->field_open) {
		if (!m->line_done)
			field_discard(m);
		else if (field_finalize(im, d))
			return;
	}
	m->hdr_trunc = true;
	if (m->kind == K_REQ) {
		req_announce(im, d);
	} else {
		resp_pair(im, d);
		if (is_upgrade(m)) {
			upgrade(im, d);
			return;
		}
	}
	d->st = ST_UNKNOWN_END;
}

static void skip_uncaptured(struct h1_impl *im, struct dstate *d, uint64_t off, uint64_t n)
{
	while (n && !im->c->dead) {
		struct msg *m = &d->m;
		uint64_t k;

		switch (d->st) {
		case ST_RESYNC:
			im->c->skipped_bytes += n;
			return;
		case ST_IDLE:
			if (!im->confirmed || kind_of(im, d) == K_EITHER) {
				/* No role yet: nothing to attach these bytes to, nor a known next start. */
				im->c->skipped_bytes += n;
				msg_clear(d, ST_RESYNC);
				return;
			}
			/* A message starts here but none of it was captured: its position (seq)
			 * is exact, its content unknown. */
			msg_begin(im, d, off);
			trunc_headers(im, d);
			continue;
		case ST_BODY_CL:
		case ST_CHUNK_DATA:
			k = n < m->remaining ? n : m->remaining;
			m->wire += k;
			m->body += k;
			m->remaining -= k;
			n -= k;
			off += k;
			if (m->remaining == 0) {
				if (d->st == ST_BODY_CL)
					msg_complete(im, d, false);
				else
					d->st = ST_CHUNK_DATA_CR;
			}
			continue;
		case ST_BODY_CLOSE:
		case ST_UNKNOWN_END:
			m->wire += n;
			if (!m->hdr_trunc)
				m->body += n;
			return;
		default:
			if (is_framing_state(d->st) || m->in_trailers) {
				/* Chunk framing is in bytes we do not have. */
				d->st = ST_UNKNOWN_END;
				continue;
			}
			trunc_headers(im, d);
			continue;
		}
	}
}

/* ---- losses --------------------------------------------------------------------- */

/* The previous chunk in this direction left a message with uncaptured framing: a chunk
 * in the other direction means that message is over. */
static void on_flip(struct h1_impl *im, struct dstate *d)
{
	if (d->st != ST_UNKNOWN_END)
		return;
	if (d->m.kind == K_REQ) {
		msg_complete(im, d, true);
		return;
	}
	msg_complete(im, d, true);
	/* Responses to later requests may have been in those uncaptured bytes too: pairing
	 * restarts with the requests sent from now on. */
	while (im->q_len && q_at(im, 0)->req_done && !q_at(im, 0)->resp_done) {
		struct pend *e = q_at(im, 0);

		emit(im, H1_EV_ERROR, H1_ERR_UNCAPTURED, &e->req, e->req_index, NULL);
		q_pop_head(im);
	}
	im->absorb = 0;
}

/* Bytes are missing before this chunk (sequence jump). */
static void on_gap(struct h1_impl *im, struct dstate *d)
{
	struct msg *m = &d->m;
	int kind = kind_of(im, d);

	if (kind == K_EITHER || d->st == ST_RESYNC) {
		emit_err(im, H1_ERR_GAP);
	} else if (kind == K_REQ) {
		if (in_message(d) && (m->announced || m->untracked)) {
			req_lost(im, d, H1_ERR_GAP, false);
		} else {
			/* The missing bytes held (the rest of) a request whose response is due,
			 * unless a response already came without a request since the last
			 * request chunk: that one was it. */
			emit_err(im, H1_ERR_GAP);
			if (!im->orphans_since_req)
				add_untracked(im);
		}
	} else {
		if (!in_message(d))
			d->m.pair = PAIR_NONE;
		resp_lost(im, d, H1_ERR_GAP);
	}
	skip_rest(d);
}

/* ---- API ------------------------------------------------------------------------ */

_Static_assert(sizeof(struct h1_impl) <= H1_IMPL_MAX, "struct h1_impl outgrew H1_IMPL_MAX (http1.h)");

size_t h1_impl_size(void)
{
	return sizeof(struct h1_impl);
}

static int conn_init(struct h1_conn *c, enum h1_role role, struct h1_impl *im, bool inl)
{
	if (!c || (role != H1_ROLE_DETECT && role != H1_ROLE_SERVER && role != H1_ROLE_CLIENT))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	if (!im)
		im = calloc(1, sizeof(*im));
	else
		memset(im, 0, sizeof(*im));
	if (!im)
		return -ENOMEM;
	c->impl_inline = inl;
	im->req_dir = role == H1_ROLE_SERVER ? H1_DIR_INGRESS : role == H1_ROLE_CLIENT ? H1_DIR_EGRESS : -1;
	ws_stream_init(&im->stream);
	c->role = (uint8_t)role;
	c->next_req_index = 1;
	c->impl = im;
	return 0;
}

int h1_conn_init(struct h1_conn *c, enum h1_role role)
{
	return conn_init(c, role, NULL, false);
}

int h1_conn_init_in(struct h1_conn *c, enum h1_role role, void *impl_mem)
{
	return impl_mem ? conn_init(c, role, impl_mem, true) : -EINVAL;
}

void h1_conn_free(struct h1_conn *c)
{
	if (!c)
		return;
	if (c->impl) {
		struct h1_impl *im = c->impl;

		q_free(im);
		for (int k = 0; k < 2; k++)
			ws_pool_put(pool(), im->d[k].m.req);
	}
	if (!c->impl_inline)
		free(c->impl);
	c->impl = NULL;
}

int h1_conn_feed(struct h1_conn *c, enum h1_dir dir, const struct ws_chunk *ch, h1_emit_fn emit_fn, void *ctx)
{
	struct h1_impl *im;
	struct ws_chunk cc;
	struct dstate *d;

	if (!c || !c->impl || !ch || (dir != H1_DIR_EGRESS && dir != H1_DIR_INGRESS))
		return -EINVAL;
	im = c->impl;
	im->c = c;  /* the caller may have moved struct h1_conn */
	if (c->dead)
		return -(int)im->dead_err;
	if (im->closed || ch->len == 0)
		return 0;
	cc = *ch;
	if (!cc.data)
		cc.captured = 0;
	if (cc.captured > cc.len)
		cc.captured = cc.len;
	im->emit = emit_fn;
	im->ctx = ctx;
	im->ch = &cc;

	unsigned cont = ws_stream_note(&im->stream, (enum ws_pdir)dir, &cc, NULL);

	if (cont & WS_STREAM_FLIP)
		on_flip(im, &im->d[dir ^ 1]);
	d = &im->d[dir];
	if (cont & WS_STREAM_GAP)
		on_gap(im, d);
	if (d->st == ST_RESYNC)
		d->resync_armed = true;
	if (in_message(d))
		touch(im, d);
	if (cc.captured)
		parse(im, d, cc.data, cc.captured);
	if (!c->dead && cc.len > cc.captured)
		skip_uncaptured(im, d, cc.captured, cc.len - cc.captured);
	if (kind_of(im, d) == K_REQ)
		im->orphans_since_req = 0;
	release_idle(im);
	im->ch = NULL;
	return c->dead ? -(int)im->dead_err : 0;
}

void h1_conn_close(struct h1_conn *c, uint64_t ts_ns, h1_emit_fn emit_fn, void *ctx)
{
	struct h1_impl *im;
	struct dstate *rd, *sd;
	struct pend *e;

	if (!c || !c->impl)
		return;
	im = c->impl;
	im->c = c;
	if (im->closed)
		return;
	im->closed = true;
	if (c->dead || im->req_dir < 0) {
		release_idle(im);
		return;  /* nothing was announced */
	}
	im->emit = emit_fn;
	im->ctx = ctx;
	rd = &im->d[im->req_dir];
	sd = &im->d[im->req_dir ^ 1];

	/* Responses first: a close-delimited one ends exactly here. */
	switch (sd->st) {
	case ST_IDLE:
	case ST_RESYNC:
		break;
	case ST_BODY_CLOSE:
		msg_complete(im, sd, false);
		break;
	case ST_UNKNOWN_END:
		msg_complete(im, sd, true);
		break;
	default:
		resp_lost(im, sd, H1_ERR_CLOSED_INCOMPLETE);
		msg_clear(sd, ST_IDLE);
		break;
	}
	if (rd->st == ST_UNKNOWN_END) {
		msg_complete(im, rd, true);
	} else if (in_message(rd)) {
		e = rd->m.announced ? q_find(im, rd->m.index, NULL) : NULL;
		if (e && e->resp_done)
			msg_complete(im, rd, true);  /* answered early (e.g. 413), then closed */
		else
			req_lost(im, rd, H1_ERR_CLOSED_INCOMPLETE, false);
		msg_clear(rd, ST_IDLE);
	}
	while (im->q_len) {
		e = q_at(im, 0);
		emit(im, H1_EV_ERROR, H1_ERR_CLOSED_INCOMPLETE, &e->req, e->req_index,
		     e->resp_done ? &e->resp : NULL);
		q_pop_head(im);
	}
	im->absorb = 0;
	release_idle(im);
}

/* ---- detection ------------------------------------------------------------------ */

int h1_detect(const uint8_t *data, size_t len)
{
	size_t i, mlen;
	char method[H1_METHOD_MAX];

	if (!data || len == 0)
		return -1;
	/* Status line: HTTP/1.x SP 3DIGIT */
	for (i = 0; i < len && i < 12; i++) {
		uint8_t c = data[i];
		bool ok = i < 8 ? ver_char_ok((unsigned)i, c) : i == 8 ? c == ' ' : is_digit(c);

		if (!ok)
			break;
	}
	if (i == 12)
		return 2;
	if (i == len)
		return -1;  /* a prefix of a status line */
	if (i >= 5)
		return 0;   /* "HTTP/" then something else: not HTTP/1 */

	/* Request line: token SP target SP HTTP/1.x CRLF */
	for (mlen = 0; mlen < len && is_tchar(data[mlen]); mlen++)
		if (mlen >= H1_METHOD_MAX - 1)
			return 0;
	if (mlen == len)
		return -1;
	if (mlen == 0 || data[mlen] != ' ')
		return 0;
	memcpy(method, data, mlen);
	method[mlen] = '\0';
	i = mlen + 1;
	if (i == len)
		return -1;
	if (data[i] != '/' && data[i] != '*' && !is_alpha(data[i]))
		return 0;
	for (; i < len && data[i] > 0x20 && data[i] != 0x7f; i++)
		;
	if (i == len)
		return ws_http_method_known(method) ? 1 : -1;
	if (data[i] != ' ')
		return 0;
	i++;
	for (size_t j = 0; j < 8; j++, i++) {
		if (i == len)
			return ws_http_method_known(method) ? 1 : -1;
		if (!ver_char_ok((unsigned)j, data[i]))
			return 0;
	}
	if (i == len)
		return 1;
	return data[i] == '\r' || data[i] == '\n' ? 1 : 0;
}
