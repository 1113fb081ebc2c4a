/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Redis RESP2/RESP3 parser (see redis.h, docs/proto-redis.md).
 *
 * Shape:
 *  - each direction runs one byte state machine over the captured bytes (a RESP value
 *    reader with a bounded stack of open aggregates) and steps over uncaptured bytes by
 *    count while the framing says how long they are (bulk payloads);
 *  - nothing is buffered: the few words looked at (command, subcommand, error code, ...)
 *    are copied into a 32-byte buffer as they stream, so a message split at any byte
 *    parses the same as one in a single chunk;
 *  - a request is announced when its last byte is read and waits in the FIFO; each reply
 *    pairs with the oldest waiting request. Push messages pair with nothing.
 *  - when the framing is lost (a header in uncaptured bytes, a gap, garbage) the
 *    direction resynchronises at the first chunk of its next run (after a direction
 *    change), where a message starts. A reply whose end is not visible and that is the
 *    only one expected ends at that direction change; otherwise the requests waiting
 *    are failed (counted), since which reply belongs to which is no longer known.
 */
#include "redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../span.h"
#include "pairing.h"
#include "stream.h"

enum st {
	ST_IDLE,          /* between messages */
	ST_TYPE,          /* a value's type byte (inside a message) */
	ST_NUM,           /* digits of a length, count or integer */
	ST_NUM_LF,
	ST_LINE,          /* a text line: simple string, error, double, big number, ... */
	ST_LINE_LF,
	ST_BULK,          /* bulk payload bytes */
	ST_BULK_CR,
	ST_BULK_LF,
	ST_CHUNK_SEMI,    /* streamed string ($?): the ';' of the next chunk */
	ST_INLINE,        /* an inline command line */
	ST_RESYNC,        /* framing lost: skip to the start of this direction's next run */
	ST_UNKNOWN_END,   /* a reply whose end was not captured: ends at the next flip */
};

/* What a value's first bytes are kept for. */
enum cap {
	CAP_NONE = 0,
	CAP_CMD,          /* request element 0: the command name */
	CAP_ARG1,         /* request element 1: subcommand, or SELECT's index */
	CAP_ARG2,         /* request element 2: CLIENT REPLY's mode */
	CAP_ERR,          /* a top-level error: its code word */
	CAP_STATUS,       /* a top-level simple string: OK / QUEUED / RESET */
	CAP_KIND,         /* element 0 of a top-level array or push: pub/sub kind */
};

enum status_word { SW_OTHER = 0, SW_OK, SW_QUEUED, SW_RESET };

#define KIND_MESSAGE 7    /* message / pmessage / smessage: after the six RESP_CMD_*SUBSCRIBE */

#define LEFT_STREAM UINT32_MAX
#define LV_ATTR 1u

struct rdir {
	uint8_t st;               /* enum st */
	uint8_t depth;            /* open aggregates */
	uint8_t vtype;            /* type byte of the value being read */
	uint8_t cap;              /* enum cap of the value being read */
	uint8_t ndig;
	uint8_t wlen;
	uint8_t first;            /* first byte of a line */
	bool neg;
	bool qmark;               /* '?': streamed length */
	bool in_msg;
	bool armed;               /* ST_RESYNC: this chunk starts a run */
	bool str_stream;          /* inside a streamed string's chunks */
	bool wover;               /* the word is longer than its buffer */
	bool wtrunc;              /* part of the word was not captured */
	bool inword;              /* inline: inside a word */
	bool confirmed;           /* a whole message was parsed in this direction */
	uint32_t elem;            /* element (inline: word) index at level 0 */
	uint32_t line_len;
	uint64_t num;
	uint64_t remaining;       /* bulk bytes left */
	uint32_t left[RESP_DEPTH_MAX];
	uint8_t lflags[RESP_DEPTH_MAX];
	char word[RESP_WORD_MAX];
	struct ws_msg_times t;
};

struct rconn {
	int8_t req_dir;           /* enum ws_pdir of requests, -1 until learned */
	uint8_t role0;            /* role given at init */
	bool dead;
	bool closed;
	bool req_uncertain;       /* requests may have been in bytes not seen */
	bool pubsub2;             /* RESP2 subscribed state: arrays may be pub/sub messages */
	bool reply_off;           /* CLIENT REPLY OFF in force */
	bool skip_next;           /* CLIENT REPLY SKIP: the next command has no reply */
	bool rep_has_count;
	uint8_t rep_kind;         /* pub/sub kind of the reply being read */
	uint8_t rep_status;       /* enum status_word of the reply being read */
	uint16_t dead_err;
	bool want_all;            /* a message started in bytes the budget withheld (a
				   * pipelined batch longer than --capture-bytes): ask the
				   * kernel for every byte of this connection from now on */
	uint8_t _pad;
	int32_t db;               /* the database index in force */
	int32_t multi_db;         /* a SELECT queued in MULTI, applied by EXEC; -1 none */
	uint32_t overflow;        /* requests not tracked (FIFO full): their replies are absorbed */
	int64_t rep_count;        /* pub/sub confirmation: subscriptions left */
	struct ws_stream stream;
	struct ws_fifo q;
	struct rdir d[2];
	struct redis_req req;     /* the request being read */
	struct redis_reply rep;   /* the reply being read */
	ws_x_emit_fn emit;
	void *ctx;
	const struct ws_chunk *ch;
};

static const char *const err_names[RESP_ERR__MAX] = {
	[RESP_ERR_NONE] = "none",
	[RESP_ERR_NOT_RESP] = "not_resp",
	[RESP_ERR_BAD_REQUEST] = "bad_request",
	[RESP_ERR_BAD_REPLY] = "bad_reply",
	[RESP_ERR_TOO_DEEP] = "too_deep",
	[RESP_ERR_UNCAPTURED] = "uncaptured",
	[RESP_ERR_GAP] = "gap",
	[RESP_ERR_REPLY_WITHOUT_REQUEST] = "reply_without_request",
	[RESP_ERR_TOO_MANY_PENDING] = "too_many_pending",
	[RESP_ERR_NO_MEMORY] = "no_memory",
	[RESP_ERR_MONITOR] = "monitor",
	[RESP_ERR_REPLICATION] = "replication",
	[RESP_ERR_CLOSED] = "closed",
};

const char *resp_error_name(unsigned err)
{
	return err < RESP_ERR__MAX ? err_names[err] : "unknown";
}

/* ---- commands ------------------------------------------------------------------ */

static const struct {
	const char *name;
	uint8_t cmd;
} cmd_table[] = {
	{ "SUBSCRIBE", RESP_CMD_SUBSCRIBE },   { "PSUBSCRIBE", RESP_CMD_PSUBSCRIBE },
	{ "SSUBSCRIBE", RESP_CMD_SSUBSCRIBE }, { "UNSUBSCRIBE", RESP_CMD_UNSUBSCRIBE },
	{ "PUNSUBSCRIBE", RESP_CMD_PUNSUBSCRIBE }, { "SUNSUBSCRIBE", RESP_CMD_SUNSUBSCRIBE },
	{ "SELECT", RESP_CMD_SELECT },         { "MULTI", RESP_CMD_MULTI },
	{ "EXEC", RESP_CMD_EXEC },             { "DISCARD", RESP_CMD_DISCARD },
	{ "RESET", RESP_CMD_RESET },           { "MONITOR", RESP_CMD_MONITOR },
	{ "SYNC", RESP_CMD_SYNC },             { "PSYNC", RESP_CMD_SYNC },
	{ "HELLO", RESP_CMD_HELLO },
};

/* Commands whose first argument is a subcommand: db.operation.name is both words. */
static const char *const containers[] = {
	"ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DEBUG", "FUNCTION", "LATENCY",
	"MEMORY", "MODULE", "OBJECT", "PUBSUB", "SCRIPT", "SLOWLOG", "XGROUP", "XINFO",
};

/* Pub/sub kind words, in enum resp_cmd order, then the message kinds. */
static const char *const kind_words[] = {
	"", "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe",
	"sunsubscribe", "message", "pmessage", "smessage",
};

static bool is_upper(uint8_t b) { return b >= 'A' && b <= 'Z'; }
static bool is_lower(uint8_t b) { return b >= 'a' && b <= 'z'; }
static bool is_alpha(uint8_t b) { return is_upper(b) || is_lower(b); }
static bool is_digit(uint8_t b) { return b >= '0' && b <= '9'; }
static uint8_t up(uint8_t b) { return is_lower(b) ? (uint8_t)(b - 32) : b; }

/* A command name: letters with '.', '_' or '-' inside (module commands: JSON.SET,
 * FT.SEARCH). No digits, quotes or spaces can reach an attribute. */
static bool name_ok(const char *w, size_t n, bool dots)
{
	if (n == 0 || n >= RESP_WORD_MAX || !is_alpha((uint8_t)w[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		uint8_t b = (uint8_t)w[i];

		if (!is_alpha(b) && b != '_' && b != '-' && !(dots && b == '.'))
			return false;
	}
	return true;
}

static bool is_container(const char *op)
{
	for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++)
		if (strcmp(op, containers[i]) == 0)
			return true;
	return false;
}

static bool word_is(const struct rdir *d, const char *s, bool nocase)
{
	size_t n = strlen(s);

	if (d->wover || d->wtrunc || d->wlen != n)
		return false;
	return nocase ? strncasecmp(d->word, s, n) == 0 : memcmp(d->word, s, n) == 0;
}

/* ---- records -------------------------------------------------------------------- */

static void emit_rec(struct rconn *c, uint8_t type, unsigned err, const struct ws_fifo_item *it,
		     const struct redis_reply *rep, const struct ws_msg_times *rt)
{
	struct ws_exchange x;
	struct redis_detail det;

	memset(&x, 0, sizeof(x));
	memset(&det, 0, sizeof(det));
	x.type = type;
	x.proto = WS_PROTO_REDIS;
	x.err = (uint16_t)err;
	if (it) {
		const struct redis_req *r = it->data;

		x.req_index = it->req_index;
		x.has_request = true;
		x.req = it->t;
		x.uncaptured = r->uncaptured;
		x.truncated = r->truncated || r->uncaptured;
		det.req = r;
	}
	if (rep) {
		x.has_response = true;
		x.resp = *rt;
		x.truncated |= rep->truncated;
		det.rep = rep;
	}
	x.closed = err == RESP_ERR_CLOSED;
	det.db = c->db;
	x.detail = &det;
	if (c->emit)
		c->emit(c->ctx, &x);
}

/* A loss no announced request waits for. */
static void count_err(struct rconn *c, unsigned err)
{
	emit_rec(c, WS_X_ERROR, err, NULL, NULL, NULL);
}

static void pop_front(struct rconn *c)
{
	struct ws_fifo_item *it = ws_fifo_front(&c->q);

	if (!it)
		return;
	free(it->data);
	it->data = NULL;
	ws_fifo_pop(&c->q);
}

static void fail_front(struct rconn *c, unsigned err)
{
	struct ws_fifo_item *it = ws_fifo_front(&c->q);

	if (!it)
		return;
	emit_rec(c, WS_X_ERROR, err, it, NULL, NULL);
	pop_front(c);
}

/* Every waiting request fails; untracked ones were counted when they came. Returns
 * whether anything was waiting. */
static bool fail_all(struct rconn *c, unsigned err)
{
	bool any = ws_fifo_len(&c->q) || c->overflow;

	while (ws_fifo_len(&c->q))
		fail_front(c, err);
	c->overflow = 0;
	return any;
}

static void go_dead(struct rconn *c, unsigned err)
{
	if (!fail_all(c, err))
		count_err(c, err);
	c->dead = true;
	c->dead_err = (uint16_t)err;
	for (int k = 0; k < 2; k++)
		c->d[k].in_msg = false;
}

/* Requests the server does not answer (CLIENT REPLY OFF/SKIP) end once every request
 * before them has its reply. */
static void drain_noreply(struct rconn *c)
{
	struct ws_fifo_item *it;

	while ((it = ws_fifo_front(&c->q)) && ((struct redis_req *)it->data)->no_reply) {
		emit_rec(c, WS_X_EXCHANGE, 0, it, NULL, NULL);
		pop_front(c);
	}
}

/* ---- requests ------------------------------------------------------------------- */

static void req_announce(struct rconn *c, struct rdir *d)
{
	struct redis_req *r = &c->req;
	struct ws_fifo_item *it;
	struct redis_req *copy;
	int e = 0;

	if (r->cmd == RESP_CMD_CLIENT_REPLY) {
		if (r->reply_mode == 2) {
			c->reply_off = true;
			r->no_reply = true;
		} else if (r->reply_mode == 3) {
			r->no_reply = true;
			c->skip_next = true;
			goto push;
		} else if (r->reply_mode == 1) {
			c->reply_off = false;
		}
	} else if (c->reply_off) {
		r->no_reply = true;
	}
	if (c->skip_next) {
		r->no_reply = true;
		c->skip_next = false;
	}
push:
	if (c->overflow) {
		c->overflow++;
		count_err(c, RESP_ERR_TOO_MANY_PENDING);
		return;
	}
	copy = malloc(sizeof(*copy));
	if (!copy) {
		c->overflow++;
		count_err(c, RESP_ERR_NO_MEMORY);
		return;
	}
	it = ws_fifo_push(&c->q, &e);
	if (!it) {
		free(copy);
		c->overflow++;
		count_err(c, e == -ENOSPC ? RESP_ERR_TOO_MANY_PENDING : RESP_ERR_NO_MEMORY);
		return;
	}
	*copy = *r;
	it->data = copy;
	it->t = d->t;
	emit_rec(c, WS_X_REQUEST, 0, it, NULL, NULL);
	if (r->cmd == RESP_CMD_SYNC) {
		/* What follows is an RDB file and the replication stream, not replies. */
		go_dead(c, RESP_ERR_REPLICATION);
		return;
	}
	drain_noreply(c);
}

/* A request element (bulk string or inline word) that was kept has ended. */
static void req_word(struct rconn *c, struct rdir *d)
{
	struct redis_req *r = &c->req;
	bool whole = !d->wover && !d->wtrunc;

	if (d->wtrunc)
		r->truncated = true;
	switch (d->cap) {
	case CAP_CMD:
		if (!whole || !name_ok(d->word, d->wlen, true))
			return;
		for (size_t i = 0; i < d->wlen; i++)
			r->op[i] = (char)up((uint8_t)d->word[i]);
		r->op[d->wlen] = '\0';
		for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
			if (strcmp(r->op, cmd_table[i].name) == 0)
				r->cmd = cmd_table[i].cmd;
		return;
	case CAP_ARG1:
		if (r->cmd == RESP_CMD_SELECT) {
			int64_t v = 0;

			if (!whole || d->wlen == 0 || d->wlen > 9)
				return;
			for (size_t i = 0; i < d->wlen; i++) {
				if (!is_digit((uint8_t)d->word[i]))
					return;
				v = v * 10 + (d->word[i] - '0');
			}
			r->select_db = (int32_t)v;
		} else if (whole && name_ok(d->word, d->wlen, false)) {
			size_t l = strlen(r->op);

			r->op[l++] = ' ';
			for (size_t i = 0; i < d->wlen; i++)
				r->op[l++] = (char)up((uint8_t)d->word[i]);
			r->op[l] = '\0';
			if (strcmp(r->op, "CLIENT REPLY") == 0)
				r->cmd = RESP_CMD_CLIENT_REPLY;
		}
		return;
	case CAP_ARG2:
		if (word_is(d, "ON", true))
			r->reply_mode = 1;
		else if (word_is(d, "OFF", true))
			r->reply_mode = 2;
		else if (word_is(d, "SKIP", true))
			r->reply_mode = 3;
		return;
	default:
		return;
	}
}

static uint8_t req_cap(const struct rconn *c, uint32_t elem)
{
	if (elem == 0)
		return CAP_CMD;
	if (elem == 1 && (c->req.cmd == RESP_CMD_SELECT || (c->req.op[0] && is_container(c->req.op))))
		return CAP_ARG1;
	if (elem == 2 && c->req.cmd == RESP_CMD_CLIENT_REPLY)
		return CAP_ARG2;
	return CAP_NONE;
}

/* ---- replies -------------------------------------------------------------------- */

static void rep_word(struct rconn *c, struct rdir *d)
{
	struct redis_reply *rp = &c->rep;
	size_t n = 0;

	switch (d->cap) {
	case CAP_ERR:
		/* The code is the first word; the rest may echo keys or values. */
		while (n < d->wlen && d->word[n] != ' ')
			n++;
		if (n == d->wlen && (d->wover || d->wtrunc))
			return;  /* the word did not end inside what was seen */
		if (n == 0 || n >= RESP_WORD_MAX)
			return;
		for (size_t i = 0; i < n; i++)
			if (!is_upper((uint8_t)d->word[i]) && d->word[i] != '_')
				return;
		memcpy(rp->err_code, d->word, n);
		rp->err_code[n] = '\0';
		return;
	case CAP_STATUS:
		c->rep_status = word_is(d, "OK", false) ? SW_OK : word_is(d, "QUEUED", false) ? SW_QUEUED
			      : word_is(d, "RESET", false) ? SW_RESET : SW_OTHER;
		return;
	case CAP_KIND:
		for (size_t i = 1; i < sizeof(kind_words) / sizeof(kind_words[0]); i++)
			if (word_is(d, kind_words[i], true))
				c->rep_kind = (uint8_t)(i < KIND_MESSAGE ? i : KIND_MESSAGE);
		return;
	default:
		return;
	}
}

/* A request's reply (or its inferred end) has arrived: state it changes, then the
 * exchange. */
static void pair(struct rconn *c, struct rdir *d)
{
	struct ws_fifo_item *it = ws_fifo_front(&c->q);
	struct redis_req *r = it->data;
	struct redis_reply *rp = &c->rep;
	bool ok = !rp->error && !rp->truncated && rp->type;
	uint8_t cmd = r->cmd;

	switch (cmd) {
	case RESP_CMD_SELECT:
		if (ok && r->select_db >= 0 && c->rep_status == SW_QUEUED)
			c->multi_db = r->select_db;
		else if (ok && r->select_db >= 0 && c->rep_status == SW_OK)
			c->db = r->select_db;
		break;
	case RESP_CMD_EXEC:
		if (ok && !rp->null && (rp->type == '*') && c->multi_db >= 0)
			c->db = c->multi_db;
		c->multi_db = -1;
		break;
	case RESP_CMD_DISCARD:
	case RESP_CMD_MULTI:
		c->multi_db = -1;
		break;
	case RESP_CMD_RESET:
		if (ok && c->rep_status == SW_RESET) {
			c->db = 0;
			c->multi_db = -1;
			c->pubsub2 = false;
			c->reply_off = false;
			c->skip_next = false;
		}
		break;
	default:
		break;
	}
	emit_rec(c, WS_X_EXCHANGE, 0, it, rp, &d->t);
	pop_front(c);
	if (cmd == RESP_CMD_MONITOR && ok) {
		/* From here the server streams every other client's commands, values
		 * included: nothing to pair, nothing to keep. */
		go_dead(c, RESP_ERR_MONITOR);
		return;
	}
	drain_noreply(c);
}

static void reply_done(struct rconn *c, struct rdir *d)
{
	struct ws_fifo_item *it = ws_fifo_front(&c->q);
	struct redis_req *fr = it ? it->data : NULL;
	uint8_t top = c->rep.type;
	bool front_sub = fr && fr->cmd >= RESP_CMD_SUBSCRIBE && fr->cmd <= RESP_CMD_SUNSUBSCRIBE;

	if (top == '>' || (top == '*' && (c->pubsub2 || front_sub))) {
		uint8_t kind = c->rep_kind;

		if (kind >= RESP_CMD_SUBSCRIBE && kind <= RESP_CMD_SUNSUBSCRIBE) {
			/* A (un)subscribe confirmation: one per channel. The first answers the
			 * command, the others pair with nothing. */
			if (top == '*') {
				if (kind <= RESP_CMD_SSUBSCRIBE)
					c->pubsub2 = true;
				else if (c->rep_has_count && c->rep_count == 0)
					c->pubsub2 = false;
			}
			if (fr && fr->cmd == kind)
				pair(c, d);
			return;
		}
		if (kind == KIND_MESSAGE || top == '>')
			return;  /* a published message or another push: not a reply */
	}
	if (it) {
		pair(c, d);
	} else if (c->overflow) {
		c->overflow--;   /* the reply of a request counted as not tracked */
	} else {
		count_err(c, c->req_uncertain ? RESP_ERR_UNCAPTURED : RESP_ERR_REPLY_WITHOUT_REQUEST);
	}
}

/* ---- messages ------------------------------------------------------------------- */

static bool is_req(const struct rconn *c, const struct rdir *d)
{
	return c->req_dir >= 0 && d == &c->d[c->req_dir];
}

static void msg_begin(struct rconn *c, struct rdir *d, uint32_t off)
{
	d->in_msg = true;
	d->depth = 0;
	d->elem = 0;
	d->str_stream = false;
	d->inword = false;
	d->line_len = 0;
	memset(&d->t, 0, sizeof(d->t));
	ws_msg_times_add(&d->t, c->ch, off);
	if (is_req(c, d)) {
		memset(&c->req, 0, sizeof(c->req));
		c->req.select_db = -1;
	} else {
		memset(&c->rep, 0, sizeof(c->rep));
		c->rep_kind = 0;
		c->rep_status = SW_OTHER;
		c->rep_has_count = false;
		c->rep_count = 0;
	}
}

static void msg_end(struct rconn *c, struct rdir *d)
{
	ws_msg_times_add(&d->t, c->ch, 0);
	d->in_msg = false;
	d->st = ST_IDLE;
	d->confirmed = true;
	if (!is_req(c, d)) {
		reply_done(c, d);
	} else if (c->req.nargs) {
		req_announce(c, d);
	}
}

/* Framing is lost in direction d (bytes not captured, a gap). What was being read is
 * cut where the loss is. */
static void lost(struct rconn *c, struct rdir *d, unsigned err)
{
	if (is_req(c, d)) {
		if (d->in_msg) {
			/* The request's start was seen (or its position, when uncaptured): it
			 * exists and will be answered. */
			c->req.truncated = true;
			if (!c->req.nargs)
				c->req.nargs = 1;
			d->in_msg = false;
			req_announce(c, d);
		}
		c->req_uncertain = true;
	} else {
		uint32_t waiting = ws_fifo_len(&c->q) + c->overflow;

		if (d->in_msg && err == RESP_ERR_UNCAPTURED && waiting == 1 && !c->overflow &&
		    !c->req_uncertain) {
			/* Nothing is pipelined: this reply is the only one expected, and it
			 * ends where the requests resume. */
			c->rep.truncated = true;
			d->st = ST_UNKNOWN_END;
			return;
		}
		if (!fail_all(c, err))
			count_err(c, err);
		d->in_msg = false;
	}
	d->st = ST_RESYNC;
	d->armed = false;
}

/* Bytes that break the protocol. Before the first whole message in this direction, it
 * was never RESP (a request that looks like one does not make the answers RESP). */
static void proto_error(struct rconn *c, struct rdir *d, unsigned err)
{
	if (!d->confirmed) {
		go_dead(c, RESP_ERR_NOT_RESP);
		return;
	}
	if (is_req(c, d)) {
		count_err(c, err);   /* the server answers it with an error: an orphan reply */
	} else if (!fail_all(c, err)) {
		count_err(c, err);
	}
	d->in_msg = false;
	d->st = ST_RESYNC;
	d->armed = false;
}

static void word_reset(struct rdir *d, uint8_t cap)
{
	d->cap = cap;
	d->wlen = 0;
	d->wover = false;
	d->wtrunc = false;
}

static void word_put(struct rdir *d, const uint8_t *p, uint32_t n)
{
	uint32_t room = RESP_WORD_MAX - 1 - d->wlen;

	if (n > room) {
		d->wover = true;
		n = room;
	}
	memcpy(d->word + d->wlen, p, n);
	d->wlen = (uint8_t)(d->wlen + n);
}

static void value_done(struct rconn *c, struct rdir *d);

static void word_done(struct rconn *c, struct rdir *d)
{
	if (d->cap == CAP_NONE)
		return;
	if (is_req(c, d))
		req_word(c, d);
	else
		rep_word(c, d);
	d->cap = CAP_NONE;
}

/* The aggregate at the top of the stack has all its elements. */
static void agg_closed(struct rconn *c, struct rdir *d)
{
	bool attr = d->lflags[d->depth - 1] & LV_ATTR;

	d->depth--;
	if (attr)
		d->st = ST_TYPE;   /* the value it annotates follows */
	else
		value_done(c, d);
}

static void value_done(struct rconn *c, struct rdir *d)
{
	for (;;) {
		unsigned l;

		if (d->depth == 0) {
			msg_end(c, d);
			return;
		}
		l = d->depth - 1u;
		if (l == 0)
			d->elem++;
		if (d->left[l] == LEFT_STREAM || --d->left[l] > 0) {
			d->st = ST_TYPE;
			return;
		}
		if (d->lflags[l] & LV_ATTR) {
			d->depth--;
			d->st = ST_TYPE;
			return;
		}
		d->depth--;
	}
}

static bool reply_type(uint8_t b)
{
	return b && strchr("+-:$*_,#(=!%~>|", b) != NULL;
}

/* The type byte b of a value starts at offset off. */
static void value_start(struct rconn *c, struct rdir *d, uint8_t b, uint32_t off)
{
	bool req = is_req(c, d);
	uint8_t cap = CAP_NONE;

	if (!d->in_msg)
		msg_begin(c, d, off);
	if (req) {
		if ((d->depth == 0 && b != '*') || (d->depth == 1 && b != '$') || d->depth > 1) {
			proto_error(c, d, RESP_ERR_BAD_REQUEST);
			return;
		}
		if (d->depth == 1)
			cap = req_cap(c, d->elem);
	} else {
		bool main_agg = d->depth == 1 && !(d->lflags[0] & LV_ATTR) &&
				(c->rep.type == '*' || c->rep.type == '>');

		if (!reply_type(b) && !(b == '.' && d->depth && d->left[d->depth - 1] == LEFT_STREAM)) {
			proto_error(c, d, RESP_ERR_BAD_REPLY);
			return;
		}
		if (d->depth == 0 && b != '|') {
			c->rep.type = b;
			c->rep.error = b == '-' || b == '!';
			cap = c->rep.error ? CAP_ERR : b == '+' ? CAP_STATUS : CAP_NONE;
		} else if (main_agg && d->elem == 0 && (b == '$' || b == '+')) {
			cap = CAP_KIND;
		}
	}
	d->vtype = b;
	word_reset(d, cap);
	d->ndig = 0;
	d->neg = false;
	d->qmark = false;
	d->num = 0;
	d->line_len = 0;
	d->st = strchr("+-,(#_.", b) ? ST_LINE : ST_NUM;
}

static void push_level(struct rconn *c, struct rdir *d, uint32_t left, bool attr)
{
	if (d->depth >= RESP_DEPTH_MAX) {
		proto_error(c, d, RESP_ERR_TOO_DEEP);
		return;
	}
	if (d->depth == 0)
		d->elem = 0;
	d->left[d->depth] = left;
	d->lflags[d->depth] = attr ? LV_ATTR : 0;
	d->depth++;
	d->st = ST_TYPE;
}

static void bad(struct rconn *c, struct rdir *d)
{
	proto_error(c, d, is_req(c, d) ? RESP_ERR_BAD_REQUEST : RESP_ERR_BAD_REPLY);
}

/* A length, count or integer line ended. */
static void num_done(struct rconn *c, struct rdir *d)
{
	uint8_t t = d->vtype;
	bool req = is_req(c, d);

	if (d->ndig == 0 && !d->qmark) {
		bad(c, d);
		return;
	}
	switch (t) {
	case ':':
		if (d->qmark) {
			bad(c, d);
			return;
		}
		if (d->depth == 1 && !(d->lflags[0] & LV_ATTR) && d->elem == 2 && d->num <= INT64_MAX) {
			c->rep_has_count = true;
			c->rep_count = d->neg ? -(int64_t)d->num : (int64_t)d->num;
		}
		value_done(c, d);
		return;
	case '$':
	case '=':
	case '!':
		if (d->qmark) {
			if (t != '$' || req) {
				bad(c, d);
				return;
			}
			d->str_stream = true;
			d->st = ST_CHUNK_SEMI;
			return;
		}
		if (d->neg) {
			if (t != '$' || req || d->num != 1) {
				bad(c, d);
				return;
			}
			if (d->depth == 0)
				c->rep.null = true;
			word_done(c, d);
			value_done(c, d);
			return;
		}
		d->remaining = d->num;
		d->st = d->num ? ST_BULK : ST_BULK_CR;
		return;
	case ';':
		if (d->qmark || d->neg) {
			bad(c, d);
			return;
		}
		if (d->num == 0) {
			d->str_stream = false;
			word_done(c, d);
			value_done(c, d);
			return;
		}
		d->remaining = d->num;
		d->st = ST_BULK;
		return;
	default: /* '*' '%' '~' '>' '|' */
		if (d->qmark) {
			if (req || t == '|') {
				bad(c, d);
				return;
			}
			push_level(c, d, LEFT_STREAM, false);
			return;
		}
		if (d->neg) {
			if ((t != '*' && t != '%') || d->num != 1) {
				bad(c, d);
				return;
			}
			if (req) {          /* the server ignores it */
				d->in_msg = false;
				d->st = ST_IDLE;
				return;
			}
			if (d->depth == 0)
				c->rep.null = true;
			value_done(c, d);
			return;
		}
		if (d->num > ((t == '%' || t == '|') ? RESP_COUNT_MAX / 2 : RESP_COUNT_MAX)) {
			bad(c, d);
			return;
		}
		if (req) {
			if (d->num == 0) {  /* an empty command: ignored, no reply */
				d->in_msg = false;
				d->st = ST_IDLE;
				return;
			}
			c->req.nargs = (uint32_t)d->num;
		}
		if (d->num == 0) {
			if (t == '|')
				d->st = ST_TYPE;
			else
				value_done(c, d);
			return;
		}
		push_level(c, d, (uint32_t)d->num * ((t == '%' || t == '|') ? 2u : 1u), t == '|');
		return;
	}
}

/* A text line ended (its CR LF read). */
static void line_done(struct rconn *c, struct rdir *d)
{
	switch (d->vtype) {
	case '_':
		if (d->line_len != 0) {
			bad(c, d);
			return;
		}
		if (d->depth == 0)
			c->rep.null = true;
		break;
	case '#':
		if (d->line_len != 1 || (d->first != 't' && d->first != 'f')) {
			bad(c, d);
			return;
		}
		break;
	case '.':
		if (d->line_len != 0) {
			bad(c, d);
			return;
		}
		agg_closed(c, d);
		return;
	default:
		break;
	}
	word_done(c, d);
	value_done(c, d);
}

static void bulk_done(struct rconn *c, struct rdir *d)
{
	if (d->str_stream) {
		d->st = ST_CHUNK_SEMI;
		return;
	}
	word_done(c, d);
	value_done(c, d);
}

/* Inline command line: words split at spaces, ended by LF (a CR before it is trimmed). */
static void inline_byte(struct rconn *c, struct rdir *d, uint8_t b)
{
	if (++d->line_len > RESP_INLINE_MAX) {
		proto_error(c, d, RESP_ERR_BAD_REQUEST);
		return;
	}
	if (b == '\n' || b == ' ' || b == '\t' || b == '\r') {
		if (d->inword) {
			d->inword = false;
			word_done(c, d);
			d->elem++;
		}
		if (b == '\n') {
			if (d->elem == 0) {  /* an empty line: ignored */
				d->in_msg = false;
				d->st = ST_IDLE;
				return;
			}
			c->req.nargs = d->elem;
			msg_end(c, d);
		}
		return;
	}
	if (b < 0x20 || b == 0x7f) {
		proto_error(c, d, RESP_ERR_BAD_REQUEST);
		return;
	}
	if (!d->inword) {
		d->inword = true;
		word_reset(d, req_cap(c, d->elem));
	}
	if (d->cap != CAP_NONE)
		word_put(d, &b, 1);
}

/* Resynchronise at a chunk start: does it begin a message of this direction? */
static bool resync_ok(struct rconn *c, struct rdir *d, uint8_t b)
{
	if (!is_req(c, d))
		return reply_type(b);
	if (b != '*' && !is_alpha(b))
		return false;
	/* Requests resume: if some still wait, which of the next replies are theirs and
	 * which belong to requests that were not seen is unknown. */
	if (fail_all(c, RESP_ERR_UNCAPTURED)) {
		struct rdir *o = &c->d[c->req_dir ^ 1];

		if (o->in_msg || o->st == ST_UNKNOWN_END) {
			o->in_msg = false;
			o->st = ST_RESYNC;
			o->armed = false;
		}
	}
	c->req_uncertain = false;
	return true;
}

static void parse(struct rconn *c, struct rdir *d, const uint8_t *p, uint32_t n)
{
	uint32_t i = 0;

	while (i < n && !c->dead) {
		uint8_t b = p[i];
		uint64_t k;

		switch (d->st) {
		case ST_RESYNC:
			if (i != 0 || !d->armed)
				return;
			d->armed = false;
			if (!resync_ok(c, d, b))
				return;
			d->st = ST_IDLE;
			continue;
		case ST_UNKNOWN_END:
			return;
		case ST_IDLE:
			if (is_req(c, d)) {
				if (b == '\r' || b == '\n') {
					i++;
					continue;
				}
				if (b != '*') {
					msg_begin(c, d, i);
					d->st = ST_INLINE;
					continue;
				}
			}
			value_start(c, d, b, i);
			i++;
			continue;
		case ST_TYPE:
			value_start(c, d, b, i);
			i++;
			continue;
		case ST_NUM:
			i++;
			if (b == '\r') {
				d->st = ST_NUM_LF;
			} else if (b == '-' && d->ndig == 0 && !d->neg && !d->qmark) {
				d->neg = true;
			} else if (b == '?' && d->ndig == 0 && !d->neg && !d->qmark) {
				d->qmark = true;
			} else if (is_digit(b) && !d->qmark && d->ndig < 19) {
				d->num = d->num * 10 + (uint64_t)(b - '0');
				d->ndig++;
			} else {
				bad(c, d);
			}
			continue;
		case ST_NUM_LF:
			i++;
			if (b == '\n')
				num_done(c, d);
			else
				bad(c, d);
			continue;
		case ST_LINE: {
			const uint8_t *cr = memchr(p + i, '\r', n - i);
			const uint8_t *lf;
			uint32_t end = cr ? (uint32_t)(cr - p) : n;

			/* a bare LF cannot be inside a line */
			lf = memchr(p + i, '\n', end - i);
			if (lf) {
				bad(c, d);
				continue;
			}
			if (end > i) {
				if (d->line_len == 0)
					d->first = p[i];
				if (d->cap != CAP_NONE && !d->wover)
					word_put(d, p + i, end - i);
				d->line_len += end - i;
			}
			i = end;
			if (cr) {
				i++;
				d->st = ST_LINE_LF;
			}
			continue;
		}
		case ST_LINE_LF:
			i++;
			if (b == '\n')
				line_done(c, d);
			else
				bad(c, d);
			continue;
		case ST_BULK:
			k = n - i;
			if (k > d->remaining)
				k = d->remaining;
			if (d->cap != CAP_NONE && !d->wover)
				word_put(d, p + i, (uint32_t)k);
			i += (uint32_t)k;
			d->remaining -= k;
			if (d->remaining == 0)
				d->st = ST_BULK_CR;
			continue;
		case ST_BULK_CR:
			i++;
			if (b == '\r')
				d->st = ST_BULK_LF;
			else
				bad(c, d);
			continue;
		case ST_BULK_LF:
			i++;
			if (b == '\n')
				bulk_done(c, d);
			else
				bad(c, d);
			continue;
		case ST_CHUNK_SEMI:
			i++;
			if (b != ';') {
				bad(c, d);
				continue;
			}
			d->vtype = ';';
			d->ndig = 0;
			d->neg = d->qmark = false;
			d->num = 0;
			d->st = ST_NUM;
			continue;
		case ST_INLINE:
			i++;
			inline_byte(c, d, b);
			continue;
		default:
			return;
		}
	}
}

/* n bytes at offset off of the current chunk were not captured. */
static void skip_uncaptured(struct rconn *c, struct rdir *d, uint32_t off, uint32_t n)
{
	while (n && !c->dead) {
		uint64_t k;

		switch (d->st) {
		case ST_BULK:
			k = n < d->remaining ? n : d->remaining;
			/* A value nobody keeps loses nothing; a kept word is cut. */
			if (d->cap != CAP_NONE && k) {
				d->wtrunc = true;
				if (is_req(c, d))
					c->req.truncated = true;
				else
					c->rep.truncated = true;
			}
			d->remaining -= k;
			n -= (uint32_t)k;
			off += (uint32_t)k;
			if (d->remaining == 0)
				d->st = ST_BULK_CR;
			continue;
		case ST_BULK_CR:
			/* The framing says a CR LF is there. */
			d->st = ST_BULK_LF;
			n--;
			off++;
			continue;
		case ST_BULK_LF:
			n--;
			off++;
			bulk_done(c, d);
			continue;
		case ST_RESYNC:
		case ST_UNKNOWN_END:
			return;
		case ST_IDLE:
			/* A message starts here, none of it captured: its position is exact,
			 * its content unknown. */
			msg_begin(c, d, off);
			if (is_req(c, d))
				c->req.uncaptured = true;
			c->want_all = true;
			lost(c, d, RESP_ERR_UNCAPTURED);
			return;
		default:
			ws_msg_times_add(&d->t, c->ch, 0);
			lost(c, d, RESP_ERR_UNCAPTURED);
			return;
		}
	}
}

/* The UNKNOWN_END reply ends here: the requests resumed, or the connection closed. */
static void unknown_end(struct rconn *c, struct rdir *d)
{
	d->in_msg = false;
	d->st = ST_RESYNC;
	d->armed = false;
	if (ws_fifo_len(&c->q))
		pair(c, d);
}

/* Bytes are missing before this chunk in direction d. */
static void on_gap(struct rconn *c, struct rdir *d, bool run_start)
{
	if (is_req(c, d)) {
		/* A request cut by the gap was sent: it is announced, truncated. */
		if (d->st != ST_RESYNC && d->in_msg)
			lost(c, d, RESP_ERR_GAP);
		count_err(c, RESP_ERR_GAP);
		c->req_uncertain = true;
		/* Within a run, requests in the missing bytes would be answered before
		 * this chunk's: wait for the next run. At a run start, try this chunk. */
		d->st = ST_RESYNC;
		d->armed = run_start;
		return;
	}
	if (d->st == ST_UNKNOWN_END)
		return;  /* it ends at the next flip either way */
	/* Any waiting request may have had its reply in the missing bytes (a lost read
	 * shows no direction change either): none can be paired with certainty. */
	if (!fail_all(c, RESP_ERR_GAP))
		count_err(c, RESP_ERR_GAP);
	d->in_msg = false;
	d->st = ST_RESYNC;
	d->armed = false;
}

/* The first captured byte of the connection tells which way requests go. */
static bool learn_role(struct rconn *c, enum ws_pdir dir, const struct ws_chunk *ch)
{
	uint8_t b;

	if (!ch->captured)
		return false;
	b = ch->data[0];
	if (b == '*' || is_alpha(b)) {
		c->req_dir = (int8_t)dir;
	} else if (reply_type(b)) {
		c->req_dir = (int8_t)(dir ^ 1);
	} else {
		go_dead(c, RESP_ERR_NOT_RESP);
		return false;
	}
	return true;
}

/* ---- ops ------------------------------------------------------------------------ */

static void *r_init(enum ws_prole role)
{
	struct rconn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->role0 = (uint8_t)role;
	c->req_dir = role == WS_PROLE_CLIENT ? WS_PDIR_EGRESS : role == WS_PROLE_SERVER ? WS_PDIR_INGRESS : -1;
	c->multi_db = -1;
	ws_stream_init(&c->stream);
	ws_fifo_init(&c->q, RESP_MAX_PENDING);
	return c;
}

static void r_free(void *st)
{
	struct rconn *c = st;

	if (!c)
		return;
	while (ws_fifo_len(&c->q))
		pop_front(c);
	ws_fifo_free(&c->q);
	free(c);
}

static int r_feed(void *st, enum ws_pdir dir, const struct ws_chunk *ch, ws_x_emit_fn emit, void *ctx)
{
	struct rconn *c = st;
	struct ws_chunk cc;
	struct rdir *d;
	unsigned fl;

	if (!c || !ch)
		return -EINVAL;
	if (c->dead)
		return -(int)c->dead_err;
	if (c->closed || ch->len == 0)
		return 0;
	cc = *ch;
	if (!cc.data)
		cc.captured = 0;
	if (cc.captured > cc.len)
		cc.captured = cc.len;
	dir = (enum ws_pdir)(dir & 1);
	c->emit = emit;
	c->ctx = ctx;
	c->ch = &cc;
	fl = ws_stream_note(&c->stream, dir, &cc, NULL);
	if (c->req_dir < 0 && !learn_role(c, dir, &cc))
		goto out;
	d = &c->d[dir];
	if (fl & WS_STREAM_FLIP) {
		struct rdir *o = &c->d[dir ^ 1];

		if (o->st == ST_UNKNOWN_END)
			unknown_end(c, o);
		if (d->st == ST_RESYNC)
			d->armed = true;
	}
	if ((fl & WS_STREAM_GAP) && !c->dead)
		on_gap(c, d, (fl & WS_STREAM_FLIP) != 0);
	if (d->st == ST_UNKNOWN_END)
		ws_msg_times_add(&d->t, &cc, 0);
	if (cc.captured && !c->dead)
		parse(c, d, cc.data, cc.captured);
	if (cc.len > cc.captured && !c->dead)
		skip_uncaptured(c, d, cc.captured, cc.len - cc.captured);
out:
	ws_fifo_trim(&c->q);
	c->ch = NULL;
	return c->dead ? -(int)c->dead_err : 0;
}

static void r_close(void *st, uint64_t ts_ns, ws_x_emit_fn emit, void *ctx)
{
	struct rconn *c = st;

	(void)ts_ns;
	if (!c || c->closed)
		return;
	c->closed = true;
	if (c->dead || c->req_dir < 0)
		return;
	c->emit = emit;
	c->ctx = ctx;
	struct rdir *rd = &c->d[c->req_dir];
	struct rdir *sd = &c->d[c->req_dir ^ 1];

	if (sd->st == ST_UNKNOWN_END)
		unknown_end(c, sd);
	if (rd->in_msg)
		count_err(c, RESP_ERR_CLOSED);   /* a command cut short is not executed */
	fail_all(c, RESP_ERR_CLOSED);
	rd->in_msg = sd->in_msg = false;
	ws_fifo_trim(&c->q);
}

static enum ws_prole r_role(const void *st)
{
	const struct rconn *c = st;

	if (c->req_dir == WS_PDIR_EGRESS)
		return WS_PROLE_CLIENT;
	if (c->req_dir == WS_PDIR_INGRESS)
		return WS_PROLE_SERVER;
	return (enum ws_prole)c->role0;
}

static enum ws_capture r_capture(const void *st)
{
	const struct rconn *c = st;

	if (c->dead)
		return WS_CAPTURE_OFF;
	return c->want_all ? WS_CAPTURE_ALL : WS_CAPTURE_DEFAULT;
}

/* ---- detection ------------------------------------------------------------------ */

/* Commands accepted as the first inline line (redis-cli in a terminal, nc, health
 * checks). Lower case is memcached's syntax too: it needs the port hint. */
static const char *const inline_cmds[] = {
	"PING", "INFO", "GET", "SET", "DEL", "EXISTS", "KEYS", "SCAN", "AUTH", "SELECT", "HELLO",
	"DBSIZE", "FLUSHDB", "FLUSHALL", "INCR", "DECR", "EXPIRE", "TTL", "TYPE", "HGET",
	"HSET", "HGETALL", "LPUSH", "RPUSH", "LPOP", "RPOP", "LRANGE", "LLEN", "SADD",
	"SMEMBERS", "ZADD", "ZRANGE", "MGET", "MSET", "CONFIG", "CLIENT", "CLUSTER", "COMMAND",
	"MONITOR", "SUBSCRIBE", "PSUBSCRIBE", "PUBLISH", "ROLE", "SLOWLOG", "MEMORY",
	"LASTSAVE", "SAVE", "BGSAVE", "TIME", "ECHO", "REPLCONF", "PSYNC", "SYNC", "MULTI",
	"XADD", "XRANGE", "XREAD", "EVAL", "EVALSHA", "SCRIPT", "QUIT",
};

/* Error codes a server opens a reply with. */
static const char *const detect_codes[] = {
	"ERR", "WRONGTYPE", "NOAUTH", "NOPERM", "WRONGPASS", "MOVED", "ASK", "LOADING",
	"READONLY", "BUSY", "NOSCRIPT", "EXECABORT", "CROSSSLOT", "CLUSTERDOWN", "TRYAGAIN",
	"MISCONF", "OOM", "NOPROTO", "MASTERDOWN",
};

static bool redis_port(uint16_t port)
{
	return port == 6379 || port == 6380 || port == 26379;
}

/* Match p[0..n) against a pattern: 'D' one or more digits (at most 10), '-'? allowed
 * before them when 'N'; other characters literally. Returns 1 match, 0 no, -1 more. */
static int pmatch(const uint8_t *p, uint32_t n, const char *pat)
{
	uint32_t i = 0;

	for (; *pat; pat++) {
		if (*pat == 'D' || *pat == 'N') {
			uint32_t k = 0;

			if (*pat == 'N' && i < n && p[i] == '-')
				i++;
			while (i < n && is_digit(p[i]) && k < 10) {
				i++;
				k++;
			}
			if (i == n)
				return -1;
			if (k == 0 || k == 10)
				return 0;
			continue;
		}
		if (i == n)
			return -1;
		if (p[i++] != (uint8_t)*pat)
			return 0;
	}
	return 1;
}

static int detect_inline(const uint8_t *p, uint32_t n, uint16_t port)
{
	char w[16];
	uint32_t i = 0;
	bool lower = false;

	while (i < n && is_alpha(p[i])) {
		if (i >= sizeof(w) - 1)
			return WS_DETECT_NO;
		lower |= is_lower(p[i]);
		w[i] = (char)up(p[i]);
		i++;
	}
	if (i == n)
		return WS_DETECT_MORE;
	w[i] = '\0';
	if (p[i] != ' ' && p[i] != '\r' && p[i] != '\n')
		return WS_DETECT_NO;
	bool known = false;

	for (size_t k = 0; k < sizeof(inline_cmds) / sizeof(inline_cmds[0]); k++)
		if (strcmp(w, inline_cmds[k]) == 0)
			known = true;
	if (!known)
		return WS_DETECT_NO;
	/* Never an HTTP request line (GET /x HTTP/1.1, or HTTP/0.9's GET /x). */
	if (p[i] == ' ' && i + 1 < n && p[i + 1] == '/')
		return WS_DETECT_NO;
	for (uint32_t j = i; j + 5 <= n && p[j] != '\n'; j++)
		if (memcmp(p + j, " HTTP/", j + 6 <= n ? 6 : 5) == 0)
			return WS_DETECT_NO;
	if (strcmp(w, "PING") == 0 || redis_port(port))
		return WS_DETECT_YES;
	if (lower || strcmp(w, "QUIT") == 0 || strcmp(w, "AUTH") == 0)
		return WS_DETECT_NO;   /* memcached, mail and FTP commands look the same */
	return WS_DETECT_YES;
}

static int detect_reply(const uint8_t *p, uint32_t n, uint16_t port)
{
	static const char *const strong[] = { "+OK\r\n", "+PONG\r\n", "+QUEUED\r\n", "%D\r\n$" };
	static const char *const hinted[] = { ":N\r\n", "$N\r\n", "*D\r\n", "_\r\n", "#t\r\n", "#f\r\n",
					       ",", "(N\r\n", "~D\r\n", ">D\r\n", "|D\r\n", "=D\r\n", "!D\r\n" };
	bool more = false;

	for (size_t k = 0; k < sizeof(strong) / sizeof(strong[0]); k++) {
		int m = pmatch(p, n, strong[k]);

		if (m == 1)
			return WS_DETECT_YES;
		more |= m < 0;
	}
	if (p[0] == '-') {
		uint32_t have = n - 1;   /* bytes after '-' */

		for (size_t k = 0; k < sizeof(detect_codes) / sizeof(detect_codes[0]); k++) {
			uint32_t l = (uint32_t)strlen(detect_codes[k]);

			if (memcmp(p + 1, detect_codes[k], have < l ? have : l) != 0)
				continue;
			if (have <= l)
				more = true;
			else if (p[1 + l] == ' ')
				return WS_DETECT_YES;
		}
	}
	if (redis_port(port)) {
		for (size_t k = 0; k < sizeof(hinted) / sizeof(hinted[0]); k++) {
			int m = pmatch(p, n, hinted[k]);

			if (m == 1)
				return WS_DETECT_YES;
			more |= m < 0;
		}
	}
	return more ? WS_DETECT_MORE : WS_DETECT_NO;
}

static int r_detect(const uint8_t *data, uint32_t len, enum ws_pdir dir, enum ws_prole role, uint16_t port)
{
	bool req_side = role == WS_PROLE_UNKNOWN || (role == WS_PROLE_CLIENT) == (dir == WS_PDIR_EGRESS);

	if (!data || len == 0)
		return WS_DETECT_MORE;
	if (data[0] == '*') {
		/* A command: an array of bulk strings. (Also a reply's shape, so either way.) */
		int m = pmatch(data, len, "*D\r\n$D\r\n");

		if (m == 1)
			return WS_DETECT_YES;
		if (m < 0)
			return WS_DETECT_MORE;
		return req_side ? WS_DETECT_NO : detect_reply(data, len, port);
	}
	if (is_alpha(data[0]))
		return req_side ? detect_inline(data, len, port) : WS_DETECT_NO;
	return detect_reply(data, len, port);
}

/* ---- span content --------------------------------------------------------------- */

static void set_ns(const struct redis_detail *det, struct ws_span *s)
{
	char ns[16];

	if (det->db < 0)
		return;
	snprintf(ns, sizeof(ns), "%d", (int)det->db);
	ws_span_set_str(s, "db.namespace", ns);
}

static void r_span_request(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct redis_detail *det = x->detail;
	const char *op = det && det->req && det->req->op[0] ? det->req->op : NULL;

	snprintf(s->name, sizeof(s->name), "%s", op ? op : "redis");
	ws_span_set_str(s, "db.system.name", "redis");
	if (op)
		ws_span_set_str(s, "db.operation.name", op);
	if (det)
		set_ns(det, s);
	ws_proto_set_peer_attrs(si, s);
}

static void r_span_response(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct redis_detail *det = x->detail;
	const struct redis_reply *rp = det ? det->rep : NULL;

	(void)si;
	if (!det)
		return;
	set_ns(det, s);
	if (!rp || !rp->error)
		return;
	s->status_code = WS_STATUS_ERROR;
	snprintf(s->status_message, sizeof(s->status_message), "%s", rp->err_code);
	if (rp->err_code[0]) {
		ws_span_set_str(s, "db.response.status_code", rp->err_code);
		ws_span_set_str(s, "error.type", rp->err_code);
	} else {
		ws_span_set_str(s, "error.type", "_OTHER");
	}
}

static const char *r_error_name(unsigned err)
{
	return resp_error_name(err);
}

const struct ws_proto_ops ws_proto_redis = {
	.id = WS_PROTO_REDIS,
	.name = "redis",
	.detect = r_detect,
	.init = r_init,
	.feed = r_feed,
	.close = r_close,
	.free = r_free,
	.role = r_role,
	.capture = r_capture,
	.span_request = r_span_request,
	.span_response = r_span_response,
	.error_name = r_error_name,
	.n_errors = RESP_ERR__MAX,
	.err_closed = RESP_ERR_CLOSED,
};
