/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * PostgreSQL protocol v3 parser (see postgres.h for the model, docs/proto-postgresql.md
 * for the details).
 *
 * Shape:
 *  - each direction frames messages from their 5-byte header (type + length; the
 *    startup packets have an 8-byte untyped one, the answer to SSLRequest is a single
 *    byte) and steps over bodies by length, captured or not. Only the few bodies we
 *    read are kept, each up to a small bound, in a buffer freed when the connection
 *    goes idle; passwords (p) and Bind parameters are never kept;
 *  - requests wait in the shared FIFO (pairing.h) in order. Replies pair with the
 *    front request of the backend's current Sync batch: frontend Sync/Query (and the
 *    StartupMessage) open batches, backend ReadyForQuery closes them, so an error of
 *    one batch can never fail an Execute of the next;
 *  - statement texts are sanitised once, at Parse, into refcounted records shared by
 *    the statement map (bounded, LRU), the portals bound to them and the requests
 *    executing them: raw query text never outlives the message that carried it.
 */
#include "postgres.h"
#include "pairing.h"
#include "sql.h"
#include "stream.h"
#include "../span.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_STMT_MAX 64              /* named prepared statements remembered per connection */
#define PG_PORTAL_MAX 16            /* named portals (cursors) remembered */
#define PG_PENDING_MAX 128          /* requests awaiting their reply */
#define PG_QRAW_MAX 4096            /* raw query bytes kept for sanitising (Q, P) */
#define PG_STARTUP_KEEP 1024        /* startup parameters kept (user, database) */
#define PG_ERROR_KEEP 512           /* ErrorResponse bytes kept (to find field C) */
#define PG_TAG_KEEP 64              /* CommandComplete tag */
#define PG_MSG_LEN_MAX (1u << 30)   /* the server's own limit for a message */
#define PG_STARTUP_LEN_MAX 10000    /* the server's MAX_STARTUP_PACKET_LENGTH */
#define PG_DETECT_QLEN_MAX (1u << 24)

#define PG_CODE_SSL 80877103u
#define PG_CODE_GSS 80877104u
#define PG_CODE_CANCEL 80877102u

enum { FE = 0, BE = 1 };            /* sides: frontend (client) and backend (server) */

enum dstate {
	DS_HDR = 0,                 /* collecting a message header */
	DS_BODY,                    /* in a body: remain bytes to go */
	DS_LOST,                    /* framing lost: wait for the next direction flip */
};

/* A sanitised statement, shared by the map, portals and requests. */
struct pg_stmt {
	uint32_t refs;
	bool truncated;
	char op[WS_PG_OP_MAX];
	char summary[WS_PG_SUMMARY_MAX];
	char text[];
};

struct pg_named {
	uint64_t hash;              /* FNV-1a of the full name */
	uint32_t last_use;
	uint32_t _pad;
	struct pg_stmt *st;
};

struct pg_dir {
	uint8_t state;              /* enum dstate */
	uint8_t hdr_len;
	uint8_t hdr_need;           /* 5 typed, 8 startup packet, 1 SSL answer */
	uint8_t type;               /* 0: startup packet, 1: SSL answer byte */
	uint8_t hdr[8];
	uint8_t keep_nuls;          /* stop keeping after this many NULs (0: no such stop) */
	bool trunc;                 /* bytes within the kept range were not captured */
	bool resync;                /* the header being read follows a loss */
	uint8_t _pad;
	uint32_t remain;            /* body bytes to go */
	uint32_t keep;              /* body bytes still to keep */
	uint32_t nuls;
	struct ws_msg_times t;
	struct ws_unitbuf body;
};

struct pg_req {
	struct pg_stmt *st;         /* NULL: the statement is unknown */
	uint32_t batch;
	uint8_t kind;               /* 'Q' or 'E' */
	bool responded;
	bool error;
	bool aborted;
	bool has_rows;
	bool truncated;
	char sqlstate[6];
	char tag_op[WS_PG_OP_MAX];
	int64_t rows;
	int64_t datarows;
	struct ws_msg_times resp;
};

struct pg_conn {
	uint8_t role;               /* enum ws_prole, settled */
	int8_t fe_dir;              /* enum ws_pdir of the frontend, -1 until known */
	bool dead;                  /* gave up (encrypted, unsupported) */
	bool fe_expect_startup;     /* the next frontend packet may be untyped */
	bool be_ssl_answer;         /* the next backend byte answers SSL/GSSENC request */
	uint8_t enc_req;            /* WS_PG_ERR_TLS or WS_PG_ERR_GSSENC: what was asked */
	bool tls_upgrade;           /* SSLRequest answered 'S': TLS from here (WS_FEED_TLS) */
	bool be_discard;            /* ignore backend messages until its next ReadyForQuery */
	bool batch_failed;          /* the backend's current batch hit an ErrorResponse */
	bool be_lost_pending;       /* backend framing lost with requests pending */
	bool dropping;              /* queue overflowed: batches <= drop_upto untracked */
	bool seg_open;
	uint8_t n_portals;
	uint16_t n_stmts;
	uint16_t _pad;
	uint32_t drop_upto;
	uint32_t fe_sync;           /* batches the frontend opened */
	uint32_t be_sync;           /* batches the backend closed */
	uint32_t clock;             /* LRU clock of the statement map */
	struct ws_stream stream;
	struct pg_dir d[2];
	struct ws_fifo fifo;
	struct ws_msg_times seg;    /* frontend messages since the last Execute/Sync */
	struct ws_msg_times last_be;/* the last backend chunk (ends after a loss) */
	struct pg_stmt *unnamed;
	struct pg_stmt *unnamed_portal;
	struct pg_named *stmts;     /* PG_STMT_MAX entries once a named Parse is seen */
	struct {
		uint64_t hash;
		struct pg_stmt *st;
	} portals[PG_PORTAL_MAX];
	char user[WS_PG_NAME_MAX];
	char db[WS_PG_NAME_MAX];
};

static const char *const err_names[WS_PG_ERR__COUNT] = {
	[WS_PG_ERR_NONE] = "none",
	[WS_PG_ERR_CLOSED] = "closed",
	[WS_PG_ERR_FRAMING_LOST] = "framing_lost",
	[WS_PG_ERR_BAD_MESSAGE] = "bad_message",
	[WS_PG_ERR_QUEUE_FULL] = "queue_full",
	[WS_PG_ERR_UNANSWERED] = "unanswered",
	[WS_PG_ERR_TLS] = "tls",
	[WS_PG_ERR_GSSENC] = "gssenc",
	[WS_PG_ERR_UNSUPPORTED] = "unsupported_protocol",
	[WS_PG_ERR_NOMEM] = "nomem",
	[WS_PG_ERR_EVICTED] = "statement_evicted",
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The C string at *off in body[0..n): its length, or -1 when not terminated there. */
static long cstr_at(const uint8_t *b, uint32_t n, uint32_t off)
{
	const uint8_t *z;

	if (!b || off >= n)
		return -1;   /* (off == n: nothing left to hold the NUL) */
	z = memchr(b + off, 0, n - off);
	return z ? (long)(z - (b + off)) : -1;
}

/* ---- statements ---- */

static void stmt_unref(struct pg_stmt *st)
{
	if (st && --st->refs == 0)
		free(st);
}

static struct pg_stmt *stmt_ref(struct pg_stmt *st)
{
	if (st)
		st->refs++;
	return st;
}

/* Sanitise a raw text into a new statement record (refs 1), or NULL without memory. */
static struct pg_stmt *stmt_new(const uint8_t *raw, size_t n, bool trunc)
{
	char text[WS_PG_TEXT_MAX];
	struct pg_stmt *st;
	size_t tl;

	/* a capture cut inside a UTF-8 sequence: drop the partial character */
	if (trunc) {
		size_t k = n, cont = 0;

		while (k > 0 && cont < 3 && (raw[k - 1] & 0xc0) == 0x80) {
			k--;
			cont++;
		}
		if (k > 0 && raw[k - 1] >= 0xc0)
			n = k - 1;
	}
	tl = ws_sql_text((const char *)raw, n, WS_SQL_POSTGRES, text, sizeof(text));
	st = malloc(sizeof(*st) + tl + 1);
	if (!st)
		return NULL;
	st->refs = 1;
	st->truncated = trunc || tl + 1 >= sizeof(text);
	memcpy(st->text, text, tl + 1);
	ws_sql_summary((const char *)raw, n, WS_SQL_POSTGRES, st->op, sizeof(st->op), st->summary,
		       sizeof(st->summary));
	return st;
}

static struct pg_named *stmt_find(struct pg_conn *c, uint64_t h)
{
	for (uint16_t i = 0; c->stmts && i < c->n_stmts; i++)
		if (c->stmts[i].hash == h)
			return &c->stmts[i];
	return NULL;
}

static void emit_loss(struct pg_conn *c, unsigned err, ws_x_emit_fn emit, void *ctx)
{
	struct ws_exchange x = { .type = WS_X_ERROR, .proto = WS_PROTO_POSTGRES, .err = (uint16_t)err };

	(void)c;
	emit(ctx, &x);
}

/* Remember a named statement (takes the caller's reference). */
static void stmt_put(struct pg_conn *c, uint64_t h, struct pg_stmt *st, ws_x_emit_fn emit, void *ctx)
{
	struct pg_named *e = stmt_find(c, h);

	if (!e) {
		if (!c->stmts) {
			c->stmts = calloc(PG_STMT_MAX, sizeof(*c->stmts));
			if (!c->stmts) {
				stmt_unref(st);
				emit_loss(c, WS_PG_ERR_NOMEM, emit, ctx);
				return;
			}
		}
		if (c->n_stmts < PG_STMT_MAX) {
			e = &c->stmts[c->n_stmts++];
			e->st = NULL;
		} else {
			e = &c->stmts[0];
			for (uint16_t i = 1; i < c->n_stmts; i++)
				if (c->stmts[i].last_use < e->last_use)
					e = &c->stmts[i];
			emit_loss(c, WS_PG_ERR_EVICTED, emit, ctx);
		}
	}
	stmt_unref(e->st);
	e->hash = h;
	e->st = st;
	e->last_use = ++c->clock;
}

static void stmt_drop(struct pg_conn *c, uint64_t h)
{
	struct pg_named *e = stmt_find(c, h);

	if (!e)
		return;
	stmt_unref(e->st);
	*e = c->stmts[--c->n_stmts];
	c->stmts[c->n_stmts].st = NULL;
	if (c->n_stmts == 0) {
		free(c->stmts);
		c->stmts = NULL;
	}
}

static void portals_clear(struct pg_conn *c)
{
	for (uint8_t i = 0; i < c->n_portals; i++)
		stmt_unref(c->portals[i].st);
	c->n_portals = 0;
	stmt_unref(c->unnamed_portal);
	c->unnamed_portal = NULL;
}

static int portal_find(const struct pg_conn *c, uint64_t h)
{
	for (uint8_t i = 0; i < c->n_portals; i++)
		if (c->portals[i].hash == h)
			return i;
	return -1;
}

/* ---- records ---- */

static void fill_detail(const struct pg_conn *c, const struct pg_req *r, struct ws_pg_detail *d)
{
	memset(d, 0, sizeof(*d));
	d->database = c->db;
	d->query = r->st ? r->st->text : "";
	d->operation = r->st ? r->st->op : "";
	d->summary = r->st ? r->st->summary : "";
	d->tag_op = r->tag_op;
	d->sqlstate = r->sqlstate;
	d->rows = r->rows;
	d->has_rows = r->has_rows;
	d->error = r->error;
	d->aborted = r->aborted;
}

static void release_front(struct pg_conn *c)
{
	struct ws_fifo_item *it = ws_fifo_front(&c->fifo);
	struct pg_req *r;

	if (!it)
		return;
	r = it->data;
	if (r) {
		stmt_unref(r->st);
		free(r);
	}
	ws_fifo_pop(&c->fifo);
	if (ws_fifo_len(&c->fifo) == 0) {
		ws_fifo_trim(&c->fifo);
		ws_unitbuf_free(&c->d[FE].body);
		ws_unitbuf_free(&c->d[BE].body);
	}
}

/* End the front request: WS_X_EXCHANGE when err == 0, else WS_X_ERROR. */
static void end_front(struct pg_conn *c, unsigned err, bool closed, ws_x_emit_fn emit, void *ctx)
{
	struct ws_fifo_item *it = ws_fifo_front(&c->fifo);
	struct pg_req *r;
	struct ws_pg_detail d;
	struct ws_exchange x = { .proto = WS_PROTO_POSTGRES, .has_request = true };

	if (!it)
		return;
	r = it->data;
	fill_detail(c, r, &d);
	x.type = err ? WS_X_ERROR : WS_X_EXCHANGE;
	x.err = (uint16_t)err;
	x.closed = closed;
	x.req_index = it->req_index;
	x.req = it->t;
	x.resp = r->resp;
	x.has_response = r->responded;
	x.truncated = r->truncated || (r->st && r->st->truncated);
	x.detail = &d;
	emit(ctx, &x);
	release_front(c);
}

static void fail_all(struct pg_conn *c, unsigned err, bool closed, ws_x_emit_fn emit, void *ctx)
{
	while (ws_fifo_len(&c->fifo))
		end_front(c, err, closed, emit, ctx);
}

/* A new request (Q or Execute) with its times; takes the statement reference. */
static void push_req(struct pg_conn *c, uint8_t kind, struct pg_stmt *st, const struct ws_msg_times *t,
		     ws_x_emit_fn emit, void *ctx)
{
	struct ws_fifo_item *it;
	struct pg_req *r;
	struct ws_pg_detail d;
	struct ws_exchange x = { .type = WS_X_REQUEST, .proto = WS_PROTO_POSTGRES, .has_request = true };
	int err = 0;

	if (c->dropping && c->fe_sync <= c->drop_upto) {
		stmt_unref(st);
		emit_loss(c, WS_PG_ERR_QUEUE_FULL, emit, ctx);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		stmt_unref(st);
		emit_loss(c, WS_PG_ERR_NOMEM, emit, ctx);
		return;
	}
	it = ws_fifo_push(&c->fifo, &err);
	if (!it) {
		free(r);
		stmt_unref(st);
		/* untracked from here to the end of this batch: its replies are ignored */
		fail_all(c, WS_PG_ERR_QUEUE_FULL, false, emit, ctx);
		emit_loss(c, err == -ENOSPC ? WS_PG_ERR_QUEUE_FULL : WS_PG_ERR_NOMEM, emit, ctx);
		c->dropping = true;
		c->drop_upto = c->fe_sync;
		return;
	}
	r->st = st;
	r->kind = kind;
	r->batch = c->fe_sync;
	it->data = r;
	it->t = *t;
	fill_detail(c, r, &d);
	x.req_index = it->req_index;
	x.req = it->t;
	x.truncated = st && st->truncated;
	x.detail = &d;
	emit(ctx, &x);
}

/* ---- frontend messages ---- */

static void startup_params(struct pg_conn *c, const uint8_t *b, uint32_t n)
{
	uint32_t off = 0;

	c->user[0] = c->db[0] = '\0';
	while (off < n && b[off]) {
		long kl = cstr_at(b, n, off), vl;
		const uint8_t *k = b + off, *v;

		if (kl < 0)
			break;
		off += (uint32_t)kl + 1;
		vl = cstr_at(b, n, off);
		if (vl < 0)
			break;
		v = b + off;
		off += (uint32_t)vl + 1;
		if (kl == 4 && memcmp(k, "user", 4) == 0 && (size_t)vl < sizeof(c->user)) {
			memcpy(c->user, v, (size_t)vl);
			c->user[vl] = '\0';
		} else if (kl == 8 && memcmp(k, "database", 8) == 0 && (size_t)vl < sizeof(c->db)) {
			memcpy(c->db, v, (size_t)vl);
			c->db[vl] = '\0';
		}
	}
	if (!c->db[0])
		memcpy(c->db, c->user, sizeof(c->db));
}

static void seg_add(struct pg_conn *c, const struct ws_msg_times *t)
{
	if (!c->seg_open) {
		c->seg = *t;
		c->seg_open = true;
		return;
	}
	c->seg.last_enter_ns = t->last_enter_ns;
	c->seg.last_exit_ns = t->last_exit_ns;
	c->seg.last_tid = t->last_tid;
}

static int fe_message(struct pg_conn *c, struct pg_dir *d, ws_x_emit_fn emit, void *ctx)
{
	const uint8_t *b = d->body.buf;
	uint32_t n = d->body.len;
	long l1, l2;

	if (!b)
		n = 0;
	if (d->type == 0) {
		uint32_t code = be32(d->hdr + 4);

		if (code == PG_CODE_SSL || code == PG_CODE_GSS) {
			c->be_ssl_answer = true;
			c->enc_req = code == PG_CODE_SSL ? WS_PG_ERR_TLS : WS_PG_ERR_GSSENC;
		} else if (code == PG_CODE_CANCEL) {
			/* answered by closing the connection: nothing to pair */
		} else if (code >> 16 == 3) {
			startup_params(c, b, n);
			c->fe_expect_startup = false;
			c->fe_sync++;   /* answered by ReadyForQuery */
		} else {
			emit_loss(c, WS_PG_ERR_UNSUPPORTED, emit, ctx);
			return -1;
		}
		return 0;
	}
	switch (d->type) {
	case 'Q': {
		struct pg_stmt *st;
		long ql = cstr_at(b, n, 0);

		st = stmt_new(b, ql >= 0 ? (size_t)ql : n, ql < 0);
		if (!st) {
			emit_loss(c, WS_PG_ERR_NOMEM, emit, ctx);
			break;
		}
		c->seg_open = false;
		push_req(c, 'Q', st, &d->t, emit, ctx);
		c->fe_sync++;
		break;
	}
	case 'P':
		seg_add(c, &d->t);
		l1 = cstr_at(b, n, 0);
		if (l1 < 0)
			break;   /* the name was not captured: nothing to remember */
		l2 = cstr_at(b, n, (uint32_t)l1 + 1);
		{
			uint32_t qoff = (uint32_t)l1 + 1;
			struct pg_stmt *st = stmt_new(b + qoff, l2 >= 0 ? (size_t)l2 : n - qoff, l2 < 0);

			if (!st) {
				emit_loss(c, WS_PG_ERR_NOMEM, emit, ctx);
				break;
			}
			if (l1 == 0) {
				stmt_unref(c->unnamed);
				c->unnamed = st;
			} else {
				stmt_put(c, fnv1a(b, (size_t)l1), st, emit, ctx);
			}
		}
		break;
	case 'B': {
		struct pg_stmt *st = NULL;

		seg_add(c, &d->t);
		l1 = cstr_at(b, n, 0);
		l2 = l1 >= 0 ? cstr_at(b, n, (uint32_t)l1 + 1) : -1;
		if (l2 >= 0) {
			if (l2 == 0) {
				st = stmt_ref(c->unnamed);
			} else {
				struct pg_named *e = stmt_find(c, fnv1a(b + l1 + 1, (size_t)l2));

				if (e) {
					e->last_use = ++c->clock;
					st = stmt_ref(e->st);
				}
			}
		}
		if (l1 == 0 || l1 < 0) {
			/* an unreadable portal name is taken as the unnamed one: the next
			 * Execute of it then runs with an unknown statement, not a stale one */
			stmt_unref(c->unnamed_portal);
			c->unnamed_portal = st;
		} else {
			uint64_t h = fnv1a(b, (size_t)l1);
			int i = portal_find(c, h);

			if (i < 0) {
				if (c->n_portals == PG_PORTAL_MAX) {
					/* the oldest cursor is forgotten: it runs without its text */
					stmt_unref(c->portals[0].st);
					memmove(&c->portals[0], &c->portals[1],
						sizeof(c->portals[0]) * (PG_PORTAL_MAX - 1));
					c->n_portals--;
					emit_loss(c, WS_PG_ERR_EVICTED, emit, ctx);
				}
				i = c->n_portals++;
			} else {
				stmt_unref(c->portals[i].st);
			}
			c->portals[i].hash = h;
			c->portals[i].st = st;
		}
		break;
	}
	case 'E': {
		struct pg_stmt *st = NULL;
		struct ws_msg_times t;

		l1 = cstr_at(b, n, 0);
		if (l1 == 0) {
			st = stmt_ref(c->unnamed_portal);
		} else if (l1 > 0) {
			int i = portal_find(c, fnv1a(b, (size_t)l1));

			st = i >= 0 ? stmt_ref(c->portals[i].st) : NULL;
		}
		seg_add(c, &d->t);
		t = c->seg;
		c->seg_open = false;
		push_req(c, 'E', st, &t, emit, ctx);
		break;
	}
	case 'S':
		c->seg_open = false;
		c->fe_sync++;
		break;
	case 'F':
		c->fe_sync++;   /* FunctionCall: answered by ReadyForQuery */
		break;
	case 'C':
		seg_add(c, &d->t);
		l1 = cstr_at(b, n, 1);
		if (n < 1 || l1 < 0)
			break;
		if (b[0] == 'S') {
			if (l1 == 0) {
				stmt_unref(c->unnamed);
				c->unnamed = NULL;
			} else {
				stmt_drop(c, fnv1a(b + 1, (size_t)l1));
			}
		} else if (b[0] == 'P') {
			if (l1 == 0) {
				stmt_unref(c->unnamed_portal);
				c->unnamed_portal = NULL;
			} else {
				int i = portal_find(c, fnv1a(b + 1, (size_t)l1));

				if (i >= 0) {
					stmt_unref(c->portals[i].st);
					c->portals[i] = c->portals[--c->n_portals];
				}
			}
		}
		break;
	case 'D':
		seg_add(c, &d->t);
		break;
	default:
		break;   /* H, X, p, d, c, f: nothing to keep */
	}
	return 0;
}

/* ---- backend messages ---- */

static struct pg_req *current_req(struct pg_conn *c)
{
	struct ws_fifo_item *it = ws_fifo_front(&c->fifo);
	struct pg_req *r = it ? it->data : NULL;

	return r && r->batch == c->be_sync ? r : NULL;
}

static void resp_add(struct pg_req *r, const struct ws_msg_times *t)
{
	if (!r->responded) {
		r->resp = *t;
		r->responded = true;
		return;
	}
	r->resp.last_enter_ns = t->last_enter_ns;
	r->resp.last_exit_ns = t->last_exit_ns;
	r->resp.last_tid = t->last_tid;
}

static void command_tag(struct pg_req *r, const uint8_t *b, uint32_t n)
{
	long tl = cstr_at(b, n, 0);
	uint32_t wl = 0;

	if (tl < 0)
		tl = n;
	while (wl < (uint32_t)tl && ((b[wl] >= 'A' && b[wl] <= 'Z') || b[wl] == '_'))
		wl++;
	if (r->tag_op[0] || wl == 0 || wl >= sizeof(r->tag_op))
		return;   /* a multi-statement Query reports its first statement */
	memcpy(r->tag_op, b, wl);
	r->tag_op[wl] = '\0';
	/* rows returned: "SELECT n", "FETCH n" (INSERT/UPDATE/DELETE count affected rows) */
	if ((wl == 6 && memcmp(b, "SELECT", 6) == 0) || (wl == 5 && memcmp(b, "FETCH", 5) == 0)) {
		int64_t v = 0;
		uint32_t i = wl + 1;

		if (i >= (uint32_t)tl || b[wl] != ' ')
			return;
		for (; i < (uint32_t)tl && b[i] >= '0' && b[i] <= '9' && v < (INT64_MAX - 9) / 10; i++)
			v = v * 10 + (b[i] - '0');
		if (i == (uint32_t)tl) {
			r->rows = v;
			r->has_rows = true;
		}
	}
}

static void error_fields(struct pg_req *r, const uint8_t *b, uint32_t n)
{
	uint32_t off = 0;

	while (off < n && b[off]) {
		uint8_t f = b[off];
		long vl = cstr_at(b, n, off + 1);

		if (vl < 0)
			return;
		if (f == 'C' && vl == 5) {
			for (int i = 0; i < 5; i++) {
				uint8_t ch = b[off + 1 + i];

				if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z')))
					return;
			}
			memcpy(r->sqlstate, b + off + 1, 5);
			r->sqlstate[5] = '\0';
			return;
		}
		off += 1 + (uint32_t)vl + 1;
	}
}

static void ready_for_query(struct pg_conn *c, const struct pg_dir *d, ws_x_emit_fn emit, void *ctx)
{
	struct pg_req *r = current_req(c);
	uint8_t status = d->body.buf && d->body.len ? d->body.buf[0] : 0;

	if (r && r->kind == 'Q') {
		resp_add(r, &d->t);
		end_front(c, 0, false, emit, ctx);
	}
	/* Executes of this batch still waiting: the server skipped them after an error */
	while ((r = current_req(c)) != NULL) {
		resp_add(r, &d->t);
		if (c->batch_failed) {
			r->aborted = true;
			end_front(c, 0, false, emit, ctx);
		} else {
			end_front(c, WS_PG_ERR_UNANSWERED, false, emit, ctx);
		}
	}
	c->batch_failed = false;
	if (status == 'I')
		portals_clear(c);   /* out of a transaction: every portal is gone */
	/* a ReadyForQuery for a batch we never saw opened changes nothing */
	if (c->be_sync < c->fe_sync)
		c->be_sync++;
}

static void be_message(struct pg_conn *c, struct pg_dir *d, ws_x_emit_fn emit, void *ctx)
{
	const uint8_t *b = d->body.buf;
	uint32_t n = b ? d->body.len : 0;
	struct pg_req *r;

	if (c->be_discard) {
		if (d->type == 'Z') {
			c->be_discard = false;
			if (c->be_sync < c->fe_sync)
				c->be_sync++;
		}
		return;
	}
	if (c->dropping && c->be_sync <= c->drop_upto) {
		if (d->type == 'Z') {
			if (c->be_sync < c->fe_sync)
				c->be_sync++;
			if (c->be_sync > c->drop_upto)
				c->dropping = false;
		}
		return;
	}
	r = current_req(c);
	switch (d->type) {
	case 'Z':
		ready_for_query(c, d, emit, ctx);
		return;
	case 'C':
		if (!r)
			return;
		resp_add(r, &d->t);
		command_tag(r, b, n);
		r->truncated |= d->trunc;
		if (r->kind == 'E')
			end_front(c, 0, false, emit, ctx);
		return;
	case 'I':
	case 's':
		if (!r)
			return;
		resp_add(r, &d->t);
		if (d->type == 's' && !r->has_rows) {
			r->rows = r->datarows;
			r->has_rows = true;
		}
		if (r->kind == 'E')
			end_front(c, 0, false, emit, ctx);
		return;
	case 'E':
		c->batch_failed = true;
		if (!r)
			return;
		resp_add(r, &d->t);
		if (!r->error) {
			r->error = true;
			error_fields(r, b, n);
			r->truncated |= d->trunc && !r->sqlstate[0];
		}
		if (r->kind == 'E')
			end_front(c, 0, false, emit, ctx);
		return;
	case 'D':
		if (r) {
			r->datarows++;
			resp_add(r, &d->t);
		}
		return;
	default:
		if (r)
			resp_add(r, &d->t);
		return;
	}
}

/* ---- framing ---- */

static bool fe_type_ok(uint8_t t)
{
	return t && strchr("BCdcfDEHFpPQSX", t) != NULL;
}

static bool be_type_ok(uint8_t t)
{
	return t && strchr("RK23CdcGHWDIEVnNAtS1sZTv", t) != NULL;
}

/* Is this typed header plausible for its side? */
static bool hdr_ok(int side, uint8_t t, uint32_t len)
{
	if (len < 4 || len > PG_MSG_LEN_MAX)
		return false;
	if (side == FE) {
		if (!fe_type_ok(t))
			return false;
		if (strchr("SHXc", t))
			return len == 4;
		if (t == 'E')
			return len >= 9;
		if (t == 'Q' || t == 'C' || t == 'D')
			return len >= 5;
		return true;
	}
	if (!be_type_ok(t))
		return false;
	if (strchr("123nIsc", t))
		return len == 4;
	if (t == 'Z')
		return len == 5;
	if (t == 'K')
		return len >= 12 && len <= 264;
	return true;
}

static uint32_t keep_for(int side, uint8_t t, uint8_t *nuls)
{
	*nuls = 0;
	if (side == FE) {
		switch (t) {
		case 'Q':
		case 'P':
			return PG_QRAW_MAX;
		case 'B':
			*nuls = 2;      /* portal and statement names: never the parameters */
			return 1024;
		case 'E':
		case 'C':
			*nuls = 1;
			return 256;
		default:
			return 0;       /* p (passwords) and everything else: never kept */
		}
	}
	switch (t) {
	case 'C':
		return PG_TAG_KEEP;
	case 'E':
		return PG_ERROR_KEEP;
	case 'Z':
		return 1;
	default:
		return 0;
	}
}

static int end_message(struct pg_conn *c, int side, ws_x_emit_fn emit, void *ctx);
static void lose(struct pg_conn *c, int side, unsigned err, ws_x_emit_fn emit, void *ctx);

static void keep_bytes(struct pg_dir *d, const uint8_t *p, uint32_t n)
{
	uint32_t k = n < d->keep ? n : d->keep;

	if (k == 0)
		return;
	if (d->keep_nuls) {
		for (uint32_t i = 0; i < k; i++) {
			if (p[i] == 0 && ++d->nuls == d->keep_nuls) {
				k = i + 1;
				d->keep = k;    /* nothing after this */
				break;
			}
		}
	}
	if (ws_unitbuf_append(&d->body, p, k, PG_QRAW_MAX + 16) != 0) {
		d->trunc = true;
		d->keep = 0;
		return;
	}
	d->keep -= k;
}

/* The header is complete: validate it and start the body. Returns < 0 to give up. */
static int begin_message(struct pg_conn *c, int side, const struct ws_chunk *ch, ws_x_emit_fn emit, void *ctx)
{
	struct pg_dir *d = &c->d[side];
	bool resync = d->resync;
	uint32_t len;

	d->resync = false;
	if (d->hdr_need == 1) {
		uint8_t a = d->hdr[0];

		c->be_ssl_answer = false;
		if (a == 'N') {
			d->hdr_len = 0;
			return 0;
		}
		if (a == 'S' && c->enc_req != WS_PG_ERR_GSSENC) {
			/* TLS from the next byte: the TLS library's plaintext, if it is
			 * hooked, comes back to a new parser (WS_FEED_TLS). */
			c->tls_upgrade = true;
			return -1;
		}
		if (a == 'S' || a == 'G') {
			/* GSSAPI encryption: nothing after this can be read */
			emit_loss(c, c->enc_req ? c->enc_req : WS_PG_ERR_TLS, emit, ctx);
			return -1;
		}
		/* an old server answering with an ErrorResponse: a typed header */
		d->hdr_need = 5;
		return 0;
	}
	if (d->hdr_need == 8) {
		uint32_t code = be32(d->hdr + 4);

		len = be32(d->hdr);
		d->type = 0;
		if (len < 8 || len > PG_STARTUP_LEN_MAX ||
		    ((code == PG_CODE_SSL || code == PG_CODE_GSS) && len != 8)) {
			if (!resync)
				lose(c, side, WS_PG_ERR_BAD_MESSAGE, emit, ctx);
			d->state = DS_LOST;
			return 0;
		}
		d->remain = len - 8;
		d->keep = d->remain < PG_STARTUP_KEEP ? d->remain : PG_STARTUP_KEEP;
		d->keep_nuls = 0;
	} else {
		d->type = d->hdr[0];
		len = be32(d->hdr + 1);
		if (!hdr_ok(side, d->type, len)) {
			if (!resync)
				lose(c, side, WS_PG_ERR_BAD_MESSAGE, emit, ctx);
			d->state = DS_LOST;
			return 0;
		}
		d->remain = len - 4;
		d->keep = keep_for(side, d->type, &d->keep_nuls);
		if (d->keep > d->remain)
			d->keep = d->remain;
	}
	d->nuls = 0;
	d->trunc = false;
	ws_unitbuf_reset(&d->body);
	d->state = DS_BODY;
	if (d->remain == 0) {
		ws_msg_times_add(&d->t, ch, 0);
		return end_message(c, side, emit, ctx);
	}
	return 0;
}

static int end_message(struct pg_conn *c, int side, ws_x_emit_fn emit, void *ctx)
{
	struct pg_dir *d = &c->d[side];
	int rc = 0;

	if (side == FE)
		rc = fe_message(c, d, emit, ctx);
	else
		be_message(c, d, emit, ctx);
	d->state = DS_HDR;
	d->hdr_len = 0;
	ws_unitbuf_reset(&d->body);
	return rc;
}

/* Framing is lost on one side: account the requests it strands, then wait for a flip. */
static void lose(struct pg_conn *c, int side, unsigned err, ws_x_emit_fn emit, void *ctx)
{
	struct pg_dir *d = &c->d[side];

	d->state = DS_LOST;
	d->hdr_len = 0;
	ws_unitbuf_reset(&d->body);
	if (side == FE) {
		/* requests may be missing: nothing pending can be paired reliably */
		if (ws_fifo_len(&c->fifo))
			fail_all(c, err, false, emit, ctx);
		else
			emit_loss(c, err, emit, ctx);
		c->seg_open = false;
		/* the lost bytes are taken for one batch: its replies are skipped up to
		 * the backend's next ReadyForQuery */
		c->be_discard = true;
		c->batch_failed = false;
		c->fe_sync = c->be_sync + 1;
		return;
	}
	if (ws_fifo_len(&c->fifo))
		c->be_lost_pending = true;   /* resolved when the client speaks again */
	else
		emit_loss(c, err, emit, ctx);
}

/* The client spoke after the backend's framing was lost: its reply ended with the last
 * backend chunk. The front request (whose reply had begun) ends truncated; the rest
 * cannot be told apart and fail. */
static void resolve_be_loss(struct pg_conn *c, ws_x_emit_fn emit, void *ctx)
{
	struct ws_fifo_item *it = ws_fifo_front(&c->fifo);

	c->be_lost_pending = false;
	if (it && it->data && ((struct pg_req *)it->data)->responded) {
		struct pg_req *r = it->data;

		r->resp.last_enter_ns = c->last_be.last_enter_ns;
		r->resp.last_exit_ns = c->last_be.last_exit_ns;
		r->resp.last_tid = c->last_be.last_tid;
		r->truncated = true;
		end_front(c, 0, false, emit, ctx);
	}
	fail_all(c, WS_PG_ERR_FRAMING_LOST, false, emit, ctx);
	c->be_sync = c->fe_sync;
	c->batch_failed = false;
	c->be_discard = false;
}

/* n bytes of this side were not seen (a gap or an uncaptured tail). */
static int skip_unseen(struct pg_conn *c, int side, uint32_t n, const struct ws_chunk *ch,
		       ws_x_emit_fn emit, void *ctx)
{
	struct pg_dir *d = &c->d[side];

	if (n == 0 || d->state == DS_LOST)
		return 0;
	if (d->state == DS_BODY) {
		uint32_t k = n < d->remain ? n : d->remain;

		if (d->keep)
			d->trunc = true;
		d->keep = 0;
		d->remain -= k;
		n -= k;
		if (d->remain == 0) {
			int rc;

			ws_msg_times_add(&d->t, ch, 0);
			rc = end_message(c, side, emit, ctx);
			if (rc < 0)
				return rc;
		}
		if (n == 0)
			return 0;
	}
	lose(c, side, WS_PG_ERR_FRAMING_LOST, emit, ctx);
	return 0;
}

static int side_feed(struct pg_conn *c, int side, const struct ws_chunk *ch, ws_x_emit_fn emit, void *ctx)
{
	struct pg_dir *d = &c->d[side];
	const uint8_t *p = ch->data;
	uint32_t off = 0, cap = p ? ch->captured : 0;
	int rc;

	if (cap > ch->len)
		cap = ch->len;
	while (off < cap && d->state != DS_LOST) {
		if (d->state == DS_HDR) {
			if (d->hdr_len == 0) {
				memset(&d->t, 0, sizeof(d->t));
				ws_msg_times_add(&d->t, ch, off);
				if (side == BE && c->be_ssl_answer)
					d->hdr_need = 1;
				else if (side == FE && c->fe_expect_startup && p[off] == 0)
					d->hdr_need = 8;
				else
					d->hdr_need = 5;
			}
			d->hdr[d->hdr_len++] = p[off++];
			if (d->hdr_len < d->hdr_need)
				continue;
			if (side == FE && d->hdr_need == 5)
				c->fe_expect_startup = false;
			rc = begin_message(c, side, ch, emit, ctx);
			if (rc < 0)
				return rc;
			continue;
		}
		{
			uint32_t n = cap - off < d->remain ? cap - off : d->remain;

			keep_bytes(d, p + off, n);
			off += n;
			d->remain -= n;
			if (d->remain == 0) {
				ws_msg_times_add(&d->t, ch, 0);
				rc = end_message(c, side, emit, ctx);
				if (rc < 0)
					return rc;
			}
		}
	}
	if (ch->len > cap)
		return skip_unseen(c, side, ch->len - cap, ch, emit, ctx);
	return 0;
}

/* ---- detection ---- */

static const char *const sql_verbs[] = {
	"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "SET",
	"SHOW", "CREATE", "DROP", "ALTER", "TRUNCATE", "COPY", "CALL", "EXPLAIN", "VALUES",
	"START", "SAVEPOINT", "RELEASE", "PREPARE", "EXECUTE", "DEALLOCATE", "DISCARD",
	"LISTEN", "NOTIFY", "UNLISTEN", "LOCK", "GRANT", "REVOKE", "ANALYZE", "VACUUM",
	"REFRESH", "DO", "DECLARE", "FETCH", "CLOSE", "MOVE", "RESET", "COMMENT", "MERGE",
	"TABLE", "END", "ABORT", "REINDEX", "CLUSTER", "CHECKPOINT", "SECURITY", "IMPORT",
};

/* A query text in p[0..n) (complete when term: a NUL must end it exactly). */
static bool plausible_query(const uint8_t *p, uint32_t n, bool term)
{
	char op[WS_PG_OP_MAX];
	uint32_t tl = term ? n - 1 : n;

	if (term && (n < 2 || p[n - 1] != 0))
		return false;
	if (tl < 2)
		return false;
	for (uint32_t i = 0; i < tl; i++)
		if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] == 0x7f)
			return false;
	ws_sql_summary((const char *)p, tl, WS_SQL_POSTGRES, op, sizeof(op), NULL, 0);
	for (size_t k = 0; k < sizeof(sql_verbs) / sizeof(sql_verbs[0]); k++)
		if (strcmp(op, sql_verbs[k]) == 0)
			return true;
	return false;
}

/* Do these bytes start a frontend stream? YES for a startup packet; for a connection
 * seen mid-way, YES for a Query or Parse whose length is plausible and whose text is a
 * printable SQL statement starting with a known verb. */
static int fe_detect(const uint8_t *p, uint32_t n)
{
	uint32_t len, code, avail;

	if (n == 0)
		return WS_DETECT_MORE;
	if (p[0] == 0) {
		if (n >= 2 && p[1] != 0)
			return WS_DETECT_NO;    /* longer than any startup packet */
		if (n < 8)
			return WS_DETECT_MORE;
		len = be32(p);
		code = be32(p + 4);
		if (code == PG_CODE_SSL || code == PG_CODE_GSS)
			return len == 8 ? WS_DETECT_YES : WS_DETECT_NO;
		if (code == PG_CODE_CANCEL)
			return len >= 16 && len <= 264 ? WS_DETECT_YES : WS_DETECT_NO;
		if (code >> 16 != 3 || (code & 0xffff) > 2 || len < 9 || len > PG_STARTUP_LEN_MAX)
			return WS_DETECT_NO;
		/* parameters: lowercase keys ("user", "database", ...) or the final NUL */
		if (n > 8 && !(p[8] == 0 || (p[8] >= 'a' && p[8] <= 'z') || p[8] == '_'))
			return WS_DETECT_NO;
		return WS_DETECT_YES;
	}
	if (p[0] != 'Q' && p[0] != 'P')
		return WS_DETECT_NO;
	if (n < 5)
		return WS_DETECT_MORE;
	len = be32(p + 1);
	if (len < 6 || len > PG_DETECT_QLEN_MAX)
		return WS_DETECT_NO;
	avail = n - 5 < len - 4 ? n - 5 : len - 4;
	if (n > len + 1 && !fe_type_ok(p[len + 1]))
		return WS_DETECT_NO;
	if (p[0] == 'Q') {
		if (avail < 6 && avail < len - 4)
			return WS_DETECT_MORE;
		return plausible_query(p + 5, avail, avail == len - 4) ? WS_DETECT_YES : WS_DETECT_NO;
	}
	{
		const uint8_t *b = p + 5;
		long nl = cstr_at(b, avail, 0);
		uint32_t qo, qn;
		const uint8_t *z;

		if (nl < 0)
			return avail == len - 4 || avail > 128 ? WS_DETECT_NO : WS_DETECT_MORE;
		for (long i = 0; i < nl; i++)
			if (b[i] < 0x21 || b[i] == 0x7f)
				return WS_DETECT_NO;
		qo = (uint32_t)nl + 1;
		z = qo <= avail ? memchr(b + qo, 0, avail - qo) : NULL;
		if (z) {
			qn = (uint32_t)(z - (b + qo)) + 1;
			/* then the parameter type count and the types, exactly */
			if (avail == len - 4) {
				uint32_t rest = avail - qo - qn, np;

				if (rest < 2)
					return WS_DETECT_NO;
				np = (uint32_t)b[qo + qn] << 8 | b[qo + qn + 1];
				if (rest != 2 + 4 * np)
					return WS_DETECT_NO;
			}
			return plausible_query(b + qo, qn, true) ? WS_DETECT_YES : WS_DETECT_NO;
		}
		if (avail == len - 4)
			return WS_DETECT_NO;
		qn = avail - qo;
		if (qn < 6)
			return WS_DETECT_MORE;
		return plausible_query(b + qo, qn, false) ? WS_DETECT_YES : WS_DETECT_NO;
	}
}

static int pg_detect(const uint8_t *data, uint32_t len, enum ws_pdir dir, enum ws_prole role, uint16_t port)
{
	(void)port;
	/* requests travel egress from a client and ingress to a server */
	if (role == WS_PROLE_CLIENT && dir != WS_PDIR_EGRESS)
		return WS_DETECT_NO;
	if (role == WS_PROLE_SERVER && dir != WS_PDIR_INGRESS)
		return WS_DETECT_NO;
	return fe_detect(data, len);
}

/* ---- ops ---- */

static void *pg_init(enum ws_prole role)
{
	struct pg_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->role = (uint8_t)role;
	c->fe_dir = role == WS_PROLE_CLIENT ? WS_PDIR_EGRESS : role == WS_PROLE_SERVER ? WS_PDIR_INGRESS : -1;
	c->fe_expect_startup = true;
	ws_stream_init(&c->stream);
	ws_fifo_init(&c->fifo, PG_PENDING_MAX);
	return c;
}

/* Role unknown: the first chunk that is clearly a frontend's (or a backend's) decides. */
static void learn_role(struct pg_conn *c, enum ws_pdir dir, const struct ws_chunk *ch)
{
	const uint8_t *p = ch->data;
	uint32_t n = p ? ch->captured : 0;

	if (n && fe_detect(p, n) == WS_DETECT_YES) {
		c->fe_dir = (int8_t)dir;
	} else if (n >= 5 && p[0] != 'Q' && p[0] != 'P' && hdr_ok(BE, p[0], be32(p + 1)) &&
		   (p[0] == 'R' || p[0] == 'Z' || p[0] == 'T' || p[0] == 'C' || p[0] == 'E' || p[0] == '1')) {
		c->fe_dir = (int8_t)(dir ^ 1);
		c->fe_expect_startup = false;
	} else {
		return;
	}
	c->role = c->fe_dir == WS_PDIR_EGRESS ? WS_PROLE_CLIENT : WS_PROLE_SERVER;
}

static int pg_feed(void *st, enum ws_pdir dir, const struct ws_chunk *ch, ws_x_emit_fn emit, void *ctx)
{
	struct pg_conn *c = st;
	unsigned fl;
	uint32_t lost = 0;
	int side, rc;

	if (!c || !ch || ch->len == 0)
		return 0;
	if (c->dead)
		return c->tls_upgrade ? WS_FEED_TLS : -1;
	fl = ws_stream_note(&c->stream, dir, ch, &lost);
	if (c->fe_dir < 0) {
		learn_role(c, dir, ch);
		if (c->fe_dir < 0)
			return 0;
		fl &= ~(unsigned)WS_STREAM_GAP;   /* parsing starts here */
	}
	side = (int)(dir & 1) == c->fe_dir ? FE : BE;
	if (side == BE) {
		memset(&c->last_be, 0, sizeof(c->last_be));
		ws_msg_times_add(&c->last_be, ch, 0);
	}
	if ((fl & WS_STREAM_FLIP) && side == FE && c->be_lost_pending)
		resolve_be_loss(c, emit, ctx);
	if ((fl & WS_STREAM_FLIP) && c->d[side].state == DS_LOST) {
		c->d[side].state = DS_HDR;
		c->d[side].hdr_len = 0;
		c->d[side].resync = true;
		if (side == FE)
			c->fe_expect_startup = false;
	}
	if (fl & WS_STREAM_GAP) {
		if (lost)
			rc = skip_unseen(c, side, lost, ch, emit, ctx);
		else if (c->d[side].state != DS_LOST)
			lose(c, side, WS_PG_ERR_FRAMING_LOST, emit, ctx), rc = 0;
		else
			rc = 0;
		if (rc < 0)
			goto dead;
	}
	rc = side_feed(c, side, ch, emit, ctx);
	if (rc < 0)
		goto dead;
	return 0;
dead:
	c->dead = true;
	fail_all(c, WS_PG_ERR_CLOSED, false, emit, ctx);
	return c->tls_upgrade ? WS_FEED_TLS : -1;
}

static void pg_close(void *st, uint64_t ts_ns, ws_x_emit_fn emit, void *ctx)
{
	struct pg_conn *c = st;

	(void)ts_ns;
	if (!c)
		return;
	fail_all(c, WS_PG_ERR_CLOSED, true, emit, ctx);
}

static void pg_free(void *st)
{
	struct pg_conn *c = st;

	if (!c)
		return;
	while (ws_fifo_len(&c->fifo))
		release_front(c);
	ws_fifo_free(&c->fifo);
	for (uint16_t i = 0; i < c->n_stmts; i++)
		stmt_unref(c->stmts[i].st);
	free(c->stmts);
	portals_clear(c);
	stmt_unref(c->unnamed);
	ws_unitbuf_free(&c->d[FE].body);
	ws_unitbuf_free(&c->d[BE].body);
	free(c);
}

static enum ws_prole pg_role(const void *st)
{
	const struct pg_conn *c = st;

	return c ? (enum ws_prole)c->role : WS_PROLE_UNKNOWN;
}

static enum ws_capture pg_capture(const void *st)
{
	const struct pg_conn *c = st;

	return c && c->dead ? WS_CAPTURE_OFF : WS_CAPTURE_DEFAULT;
}

static void pg_span_request(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct ws_pg_detail *d = x->detail;
	const char *name = "postgresql";

	ws_span_set_str(s, "db.system.name", "postgresql");
	if (d) {
		if (d->database && d->database[0])
			ws_span_set_str(s, "db.namespace", d->database);
		if (d->operation && d->operation[0]) {
			ws_span_set_str(s, "db.operation.name", d->operation);
			name = d->operation;
		}
		if (d->summary && d->summary[0]) {
			ws_span_set_str(s, "db.query.summary", d->summary);
			name = d->summary;
		}
		if (d->query && d->query[0])
			ws_span_set_str(s, "db.query.text", d->query);
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	ws_proto_set_peer_attrs(si, s);
}

static void pg_span_response(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct ws_pg_detail *d = x->detail;

	(void)si;
	if (!d)
		return;
	/* a statement we never saw prepared: the reply's tag still names the operation */
	if ((!d->operation || !d->operation[0]) && d->tag_op && d->tag_op[0]) {
		ws_span_set_str(s, "db.operation.name", d->tag_op);
		if (strcmp(s->name, "postgresql") == 0)
			snprintf(s->name, sizeof(s->name), "%s", d->tag_op);
	}
	if (d->has_rows)
		ws_span_set_int(s, "db.response.returned_rows", d->rows);
	if (d->error) {
		const char *code = d->sqlstate && d->sqlstate[0] ? d->sqlstate : NULL;

		s->status_code = WS_STATUS_ERROR;
		/* the SQLSTATE only: the message text can echo values */
		snprintf(s->status_message, sizeof(s->status_message), "%s", code ? code : "error");
		if (code)
			ws_span_set_str(s, "db.response.status_code", code);
		ws_span_set_str(s, "error.type", code ? code : "_OTHER");
	} else if (d->aborted) {
		s->status_code = WS_STATUS_ERROR;
		snprintf(s->status_message, sizeof(s->status_message), "pipeline aborted");
		ws_span_set_str(s, "error.type", "pipeline_aborted");
	}
}

static const char *pg_error_name(unsigned err)
{
	return err < WS_PG_ERR__COUNT && err_names[err] ? err_names[err] : "unknown";
}

const struct ws_proto_ops ws_proto_postgres = {
	.id = WS_PROTO_POSTGRES,
	.name = "postgresql",
	.detect = pg_detect,
	.init = pg_init,
	.feed = pg_feed,
	.close = pg_close,
	.free = pg_free,
	.role = pg_role,
	.capture = pg_capture,
	.span_request = pg_span_request,
	.span_response = pg_span_response,
	.error_name = pg_error_name,
	.n_errors = WS_PG_ERR__COUNT,
	.err_closed = WS_PG_ERR_CLOSED,
};
