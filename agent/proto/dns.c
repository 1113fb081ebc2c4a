/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DNS exchange parser (see dns.h for the model, docs/proto-dns.md for every case).
 *
 * Shape:
 *  - framing: a UDP chunk is one message; a TCP direction is a stream of 2-byte
 *    length-prefixed messages, stepped over by length (uncaptured bytes included) and
 *    resynchronised at a chunk whose first bytes parse as a whole DNS message head;
 *  - pairing: a small table of the queries awaiting their answer, matched by ID and
 *    question, not by order (a UDP socket talks to several servers, TCP may pipeline
 *    and answer out of order). The table is allocated while a query waits and freed
 *    when none does;
 *  - time: the parser never reads the clock; "now" is the latest chunk's exit time,
 *    and queries older than DNS_TIMEOUT_NS are failed when a later chunk arrives.
 */
#include "dns.h"
#include "stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../headers/wirespan_abi.h"
#include "../span.h"

enum tcp_phase {
	TCP_LEN = 0,      /* reading the 2-byte length prefix */
	TCP_BODY,         /* inside a message of msg_len bytes */
	TCP_SYNC,         /* framing lost: wait for a chunk that starts with a message */
};

struct tcp_dir {
	uint8_t phase;
	uint8_t len_have;         /* prefix bytes read */
	uint8_t len_buf[2];
	uint32_t msg_len;
	uint32_t msg_have;        /* body bytes stepped over (captured or not) */
	struct ws_unitbuf head;   /* the body's first captured bytes, when it spans chunks */
	struct ws_msg_times t;
};

struct pending {
	uint32_t req_index;
	uint32_t _pad;
	uint64_t last_sent_ns;    /* the latest (re)transmission: the timeout runs from it */
	struct ws_msg_times t;    /* the first transmission */
	bool truncated;
	uint8_t _pad2[7];
	struct dns_record rec;
};

struct dns_conn {
	uint8_t role;             /* enum ws_prole */
	uint8_t transport;        /* enum dns_transport */
	bool dead;
	bool closed;
	bool parsed_one;          /* a message parsed: a later bad one is not "not DNS" */
	uint8_t _pad;
	uint16_t n_pending;
	uint16_t cap_pending;
	uint16_t _pad2;
	uint32_t next_index;
	uint64_t now_ns;          /* the latest chunk's exit time */
	struct pending *pending;  /* n_pending in arrival order; NULL when none */
	struct ws_stream st;
	struct tcp_dir tcp[2];    /* by enum ws_pdir */
};

struct out {
	ws_x_emit_fn emit;
	void *ctx;
};

static const char *const err_names[DNS_ERR__MAX] = {
	[DNS_ERR_NONE] = "none",
	[DNS_ERR_NOT_DNS] = "not_dns",
	[DNS_ERR_SHORT] = "short",
	[DNS_ERR_BAD_NAME] = "bad_name",
	[DNS_ERR_BAD_LENGTH] = "bad_length",
	[DNS_ERR_UNCAPTURED] = "uncaptured",
	[DNS_ERR_GAP] = "gap",
	[DNS_ERR_WRONG_DIRECTION] = "wrong_direction",
	[DNS_ERR_ANSWER_WITHOUT_QUERY] = "answer_without_query",
	[DNS_ERR_TOO_MANY_PENDING] = "too_many_pending",
	[DNS_ERR_TIMEOUT] = "timeout",
	[DNS_ERR_NO_MEMORY] = "no_memory",
	[DNS_ERR_CLOSED] = "closed",
};

const char *dns_error_name(unsigned err)
{
	return err < DNS_ERR__MAX ? err_names[err] : "unknown";
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static unsigned wire_err(int r)
{
	switch (r) {
	case DNS_WIRE_SHORT: return DNS_ERR_SHORT;
	case DNS_WIRE_UNCAPTURED: return DNS_ERR_UNCAPTURED;
	case DNS_WIRE_BAD_NAME: return DNS_ERR_BAD_NAME;
	default: return DNS_ERR_BAD_LENGTH;
	}
}

/* ---- records --------------------------------------------------------------------- */

static void emit_loss(const struct out *o, unsigned err)
{
	struct ws_exchange x = { .type = WS_X_ERROR, .proto = WS_PROTO_DNS, .err = (uint16_t)err };

	x.closed = err == DNS_ERR_CLOSED;
	if (o->emit)
		o->emit(o->ctx, &x);
}

/* End pending entry i: an exchange (resp != NULL, err 0) or an error; removes it. */
static void end_pending(struct dns_conn *c, uint16_t i, const struct ws_msg_times *resp, unsigned err,
			const struct out *o)
{
	struct pending *e = &c->pending[i];
	struct ws_exchange x = {
		.type = err ? WS_X_ERROR : WS_X_EXCHANGE,
		.proto = WS_PROTO_DNS,
		.err = (uint16_t)err,
		.req_index = e->req_index,
		.has_request = true,
		.has_response = resp != NULL,
		.truncated = e->truncated,
		.closed = err == DNS_ERR_CLOSED,
		.outcome = err == DNS_ERR_TIMEOUT,   /* no answer is an answer: an error span */
		.req = e->t,
		.detail = &e->rec,
	};

	if (resp)
		x.resp = *resp;
	if (o->emit)
		o->emit(o->ctx, &x);
	memmove(&c->pending[i], &c->pending[i + 1], (size_t)(c->n_pending - i - 1) * sizeof(*e));
	if (--c->n_pending == 0) {
		free(c->pending);
		c->pending = NULL;
		c->cap_pending = 0;
	}
}

static bool timed_out(uint64_t now, uint64_t sent)
{
	return now > sent && now - sent > DNS_TIMEOUT_NS;
}

static void expire(struct dns_conn *c, const struct out *o)
{
	uint16_t i = 0;

	while (i < c->n_pending) {
		if (timed_out(c->now_ns, c->pending[i].last_sent_ns))
			end_pending(c, i, NULL, DNS_ERR_TIMEOUT, o);
		else
			i++;
	}
}

/* ---- messages -------------------------------------------------------------------- */

static bool same_question(const struct dns_record *r, const struct dns_msg *m)
{
	if (r->has_question != m->has_question)
		return false;
	return !m->has_question || dns_question_equal(&r->q, &m->q);
}

static void on_query(struct dns_conn *c, const struct dns_msg *m, const struct ws_msg_times *t,
		     const struct out *o)
{
	struct pending *e;

	expire(c, o);
	/* A retransmission (same ID and question while the first waits): one exchange,
	 * from the first send, counted; its timeout restarts. */
	for (uint16_t i = 0; i < c->n_pending; i++) {
		e = &c->pending[i];
		if (e->rec.id == m->id && same_question(&e->rec, m)) {
			if (e->rec.retransmits < UINT16_MAX)
				e->rec.retransmits++;
			e->last_sent_ns = t->last_exit_ns;
			return;
		}
	}
	if (c->n_pending >= DNS_MAX_PENDING) {
		emit_loss(o, DNS_ERR_TOO_MANY_PENDING);
		return;
	}
	if (c->n_pending == c->cap_pending) {
		uint16_t cap = c->cap_pending ? (uint16_t)(c->cap_pending * 2) : 4;
		struct pending *np;

		if (cap > DNS_MAX_PENDING)
			cap = DNS_MAX_PENDING;
		np = realloc(c->pending, cap * sizeof(*np));
		if (!np) {
			emit_loss(o, DNS_ERR_NO_MEMORY);
			return;
		}
		c->pending = np;
		c->cap_pending = cap;
	}
	e = &c->pending[c->n_pending++];
	memset(e, 0, sizeof(*e));
	e->req_index = ++c->next_index;
	e->t = *t;
	e->last_sent_ns = t->last_exit_ns;
	e->truncated = m->question_cut;
	e->rec.q = m->q;
	e->rec.has_question = m->has_question;
	e->rec.id = m->id;
	e->rec.opcode = m->opcode;
	e->rec.transport = c->transport;

	struct ws_exchange x = {
		.type = WS_X_REQUEST,
		.proto = WS_PROTO_DNS,
		.req_index = e->req_index,
		.has_request = true,
		.truncated = e->truncated,
		.req = e->t,
		.detail = &e->rec,
	};
	if (o->emit)
		o->emit(o->ctx, &x);
}

/* err != 0: the answer's header and question parsed but its records did not. */
static void on_answer(struct dns_conn *c, const struct dns_msg *m, const struct ws_msg_times *t,
		      unsigned err, const struct out *o)
{
	int exact = -1, loose = -1;

	/* An answer is offered to the waiting queries before they expire at its time. */
	for (uint16_t i = 0; i < c->n_pending; i++) {
		const struct dns_record *r = &c->pending[i].rec;

		if (r->id != m->id)
			continue;
		if (r->has_question && m->has_question) {
			if (dns_question_equal(&r->q, &m->q)) {
				exact = i;
				break;
			}
		} else if (loose < 0) {
			loose = i;   /* one side's question was not seen: the ID alone */
		}
	}
	if (exact < 0)
		exact = loose;
	if (exact < 0) {
		emit_loss(o, DNS_ERR_ANSWER_WITHOUT_QUERY);
	} else {
		struct dns_record *r = &c->pending[exact].rec;

		r->has_answer = !err;
		r->rcode = m->rcode;
		r->ancount = m->ancount;
		r->tc = m->tc;
		r->aa = m->aa;
		end_pending(c, (uint16_t)exact, err ? NULL : t, err, o);
	}
	expire(c, o);
}

static bool is_query_dir(const struct dns_conn *c, enum ws_pdir dir)
{
	return c->role == WS_PROLE_CLIENT ? dir == WS_PDIR_EGRESS : dir == WS_PDIR_INGRESS;
}

/* One whole message (its first avail of len bytes at p). Returns 0, 1 when it did not
 * parse (a TCP stream then resynchronises), or -DNS_ERR_NOT_DNS. */
static int on_message(struct dns_conn *c, enum ws_pdir dir, const uint8_t *p, uint32_t avail, uint32_t len,
		      const struct ws_msg_times *t, const struct out *o)
{
	struct dns_msg m;
	int r = dns_parse(p, avail, len, &m);

	if (r == DNS_WIRE_UNCAPTURED) {
		emit_loss(o, DNS_ERR_UNCAPTURED);
		return 0;
	}
	if (r != DNS_WIRE_OK) {
		if (!c->parsed_one) {
			emit_loss(o, DNS_ERR_NOT_DNS);
			c->dead = true;
			return -DNS_ERR_NOT_DNS;
		}
		/* An answer whose header and question parsed but not its records still
		 * ends its query, with the reason. */
		if (m.qr == 1 && m.has_question && c->role != WS_PROLE_UNKNOWN && !is_query_dir(c, dir))
			on_answer(c, &m, t, wire_err(r), o);
		else
			emit_loss(o, wire_err(r));
		return 1;
	}
	c->parsed_one = true;
	if (c->role == WS_PROLE_UNKNOWN)
		c->role = (m.qr == 0) == (dir == WS_PDIR_EGRESS) ? WS_PROLE_CLIENT : WS_PROLE_SERVER;
	if ((m.qr == 0) != is_query_dir(c, dir))
		emit_loss(o, DNS_ERR_WRONG_DIRECTION);
	else if (m.qr == 0)
		on_query(c, &m, t, o);
	else
		on_answer(c, &m, t, 0, o);
	return 0;
}

/* ---- framing --------------------------------------------------------------------- */

static int feed_udp(struct dns_conn *c, enum ws_pdir dir, const struct ws_chunk *ch, const struct out *o)
{
	struct ws_msg_times t = { 0 };

	ws_msg_times_add(&t, ch, 0);
	return on_message(c, dir, ch->data, ch->data ? ch->captured : 0, ch->len, &t, o) < 0 ? -DNS_ERR_NOT_DNS : 0;
}

/* Do cap captured bytes at p start the body of an l-byte DNS message (header and
 * whole question) that flows in this direction? */
static bool head_ok(const struct dns_conn *c, enum ws_pdir dir, const uint8_t *p, uint32_t cap, uint32_t l)
{
	struct dns_msg m;

	if (!p || l < DNS_HDR_LEN || cap < DNS_HDR_LEN)
		return false;
	if (dns_parse(p, cap < l ? cap : l, l, &m) != DNS_WIRE_OK || !m.has_question || m.qdcount != 1)
		return false;
	return c->role == WS_PROLE_UNKNOWN || (m.qr == 0) == is_query_dir(c, dir);
}

/*
 * Framing lost: does this chunk start a message? Either it holds a length prefix and
 * a message head, or the previous chunk was a lone 2-byte length (a reader that reads
 * the length first, as glibc does) and this one starts the message it announced.
 * Returns true with the direction ready to parse from the chunk's first byte.
 */
static bool tcp_resync(struct dns_conn *c, enum ws_pdir dir, const struct ws_chunk *ch)
{
	struct tcp_dir *d = &c->tcp[dir];
	uint32_t cap = ch->data ? ch->captured : 0;

	if (d->len_have == 2) {
		uint32_t l = be16(d->len_buf);

		d->len_have = 0;
		if (head_ok(c, dir, ch->data, cap, l)) {
			d->phase = TCP_BODY;
			d->msg_len = l;
			d->msg_have = 0;
			return true;
		}
		memset(&d->t, 0, sizeof(d->t));
	}
	if (cap == 2 && ch->len == 2) {
		memcpy(d->len_buf, ch->data, 2);
		d->len_have = 2;
		ws_msg_times_add(&d->t, ch, 0);
		return false;
	}
	if (cap >= 2 && head_ok(c, dir, ch->data + 2, cap - 2, be16(ch->data))) {
		d->phase = TCP_LEN;
		return true;
	}
	return false;
}

static void tcp_lost(struct tcp_dir *d, unsigned err, const struct out *o)
{
	emit_loss(o, err);
	ws_unitbuf_free(&d->head);
	memset(&d->t, 0, sizeof(d->t));
	d->phase = TCP_SYNC;
	d->len_have = 0;
	d->msg_have = d->msg_len = 0;
}

static int tcp_complete(struct dns_conn *c, enum ws_pdir dir, const uint8_t *p, uint32_t avail,
			const struct out *o)
{
	struct tcp_dir *d = &c->tcp[dir];
	struct ws_msg_times t = d->t;
	int rc;

	rc = on_message(c, dir, p, avail, d->msg_len, &t, o);
	ws_unitbuf_free(&d->head);   /* a connection at rest keeps no message bytes */
	memset(&d->t, 0, sizeof(d->t));
	/* A message that does not parse most likely had a wrong length: the next one
	 * is looked for at a chunk start rather than at that length. */
	d->phase = rc > 0 ? TCP_SYNC : TCP_LEN;
	d->len_have = 0;
	d->msg_have = d->msg_len = 0;
	return rc < 0 ? rc : 0;
}

static int feed_tcp(struct dns_conn *c, enum ws_pdir dir, const struct ws_chunk *ch, unsigned fl,
		    uint32_t lost, const struct out *o)
{
	struct tcp_dir *d = &c->tcp[dir];
	uint32_t pos = 0, cap = ch->data ? ch->captured : 0;

	if (fl & WS_STREAM_GAP) {
		/* Bytes inside a message body can be stepped over when their count is
		 * known; anything else loses the framing. */
		if (d->phase == TCP_BODY && lost && d->msg_have + (uint64_t)lost < d->msg_len)
			d->msg_have += lost;
		else if (d->phase != TCP_SYNC)
			tcp_lost(d, DNS_ERR_GAP, o);
		else if (d->len_have) {
			d->len_have = 0;   /* a length read alone, then a gap: forget it */
			memset(&d->t, 0, sizeof(d->t));
		}
	}
	if (d->phase == TCP_SYNC && !tcp_resync(c, dir, ch))
		return 0;
	while (pos < ch->len) {
		if (d->phase == TCP_SYNC)
			return 0;   /* the rest of this chunk cannot be framed */
		if (d->phase == TCP_LEN) {
			if (pos >= cap) {
				tcp_lost(d, DNS_ERR_UNCAPTURED, o);
				return 0;
			}
			if (d->len_have == 0)
				ws_msg_times_add(&d->t, ch, pos);
			d->len_buf[d->len_have++] = ch->data[pos++];
			if (d->len_have < 2)
				continue;
			d->msg_len = be16(d->len_buf);
			d->msg_have = 0;
			d->phase = TCP_BODY;
		}
		/* TCP_BODY */
		uint32_t n = ch->len - pos, cn;

		if (n > d->msg_len - d->msg_have)
			n = d->msg_len - d->msg_have;
		cn = pos < cap ? (cap - pos < n ? cap - pos : n) : 0;
		if (d->msg_have == 0 && n == d->msg_len) {
			/* the whole message is in this chunk: parse it in place */
			pos += n;
			ws_msg_times_add(&d->t, ch, pos);
			if (tcp_complete(c, dir, ch->data ? ch->data + pos - n : NULL, cn, o) < 0)
				return -DNS_ERR_NOT_DNS;
			continue;
		}
		if (d->head.len == d->msg_have && d->head.len < DNS_TCP_HEAD_MAX && cn) {
			uint32_t k = DNS_TCP_HEAD_MAX - d->head.len < cn ? DNS_TCP_HEAD_MAX - d->head.len : cn;

			if (ws_unitbuf_append(&d->head, ch->data + pos, k, DNS_TCP_HEAD_MAX) != 0) {
				tcp_lost(d, DNS_ERR_NO_MEMORY, o);
				return 0;
			}
		}
		pos += n;
		d->msg_have += n;
		if (d->msg_have == d->msg_len) {
			ws_msg_times_add(&d->t, ch, pos);
			if (tcp_complete(c, dir, d->head.buf, d->head.len, o) < 0)
				return -DNS_ERR_NOT_DNS;
		}
	}
	return 0;
}

/* ---- ops ------------------------------------------------------------------------- */

static void *dns_init(enum ws_prole role)
{
	struct dns_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->role = (uint8_t)role;
	ws_stream_init(&c->st);
	return c;
}

static int dns_feed(void *st, enum ws_pdir dir, const struct ws_chunk *ch, ws_x_emit_fn emit, void *ctx)
{
	struct dns_conn *c = st;
	struct out o = { emit, ctx };
	uint32_t lost = 0;
	unsigned fl;

	if (!c || !ch)
		return -EINVAL;
	if (c->dead)
		return -DNS_ERR_NOT_DNS;
	if (c->closed || ch->len == 0)
		return 0;
	dir = dir == WS_PDIR_INGRESS ? WS_PDIR_INGRESS : WS_PDIR_EGRESS;
	if (ch->exit_ns > c->now_ns)
		c->now_ns = ch->exit_ns;
	if (c->transport == DNS_TRANSPORT_UNKNOWN)
		c->transport = ch->datagram ? DNS_TRANSPORT_UDP : DNS_TRANSPORT_TCP;
	fl = ws_stream_note(&c->st, dir, ch, &lost);
	if (c->transport == DNS_TRANSPORT_UDP)
		return feed_udp(c, dir, ch, &o);
	return feed_tcp(c, dir, ch, fl, lost, &o);
}

/* No datagram for a while: queries older than the timeout end as timeouts now. */
static void dns_expire(void *st, uint64_t now_ns, ws_x_emit_fn emit, void *ctx)
{
	struct dns_conn *c = st;
	struct out o = { emit, ctx };

	if (!c || c->closed || c->dead)
		return;
	if (now_ns > c->now_ns)
		c->now_ns = now_ns;
	expire(c, &o);
}

static void dns_close(void *st, uint64_t ts_ns, ws_x_emit_fn emit, void *ctx)
{
	struct dns_conn *c = st;
	struct out o = { emit, ctx };

	if (!c || c->closed)
		return;
	c->closed = true;
	for (int dir = 0; dir < 2; dir++) {
		struct tcp_dir *d = &c->tcp[dir];

		if (!c->dead && (d->len_have || d->phase == TCP_BODY))
			emit_loss(&o, DNS_ERR_CLOSED);   /* a message cut by the close */
		ws_unitbuf_free(&d->head);
	}
	if (ts_ns < c->now_ns)
		ts_ns = c->now_ns;
	while (c->n_pending)
		end_pending(c, 0, NULL, timed_out(ts_ns, c->pending[0].last_sent_ns) ? DNS_ERR_TIMEOUT : DNS_ERR_CLOSED,
			    &o);
}

static void dns_free(void *st)
{
	struct dns_conn *c = st;

	if (!c)
		return;
	free(c->pending);
	ws_unitbuf_free(&c->tcp[0].head);
	ws_unitbuf_free(&c->tcp[1].head);
	free(c);
}

static enum ws_prole dns_role(const void *st)
{
	const struct dns_conn *c = st;

	return c ? (enum ws_prole)c->role : WS_PROLE_UNKNOWN;
}

/* ---- detection ------------------------------------------------------------------- */

static bool class_ok(uint16_t cls, uint16_t port)
{
	if (port == 5353)
		cls &= 0x7fff;   /* mDNS: the unicast-response / cache-flush bit */
	return cls == 1 || cls == 3 || cls == 4 || cls == 254 || cls == 255;
}

/*
 * One message: the first avail of its len bytes. A plausible header (opcode QUERY,
 * or NOTIFY/UPDATE on the DNS ports; Z zero; QDCOUNT 1; a query with RCODE 0, no
 * answers or authority, few additional records; a response whose counts fit its
 * length), one question that parses with a known class, and every section ending
 * exactly at the message's end (a response may run past what was captured).
 */
static int detect_msg(const uint8_t *p, uint32_t avail, uint32_t len, enum ws_pdir dir, enum ws_prole role,
		      uint16_t port)
{
	bool hinted = port == 53 || port == 5353;
	struct dns_msg m;
	uint16_t flags, opcode;
	int qr;

	if (avail >= 4) {
		flags = be16(p + 2);
		opcode = (flags >> 11) & 0xf;
		qr = flags >> 15;
		if (flags & 0x0040)
			return WS_DETECT_NO;
		if (opcode != 0 && !(hinted && (opcode == 4 || opcode == 5)))
			return WS_DETECT_NO;
		if (qr == 0 && (flags & 0x060f))
			return WS_DETECT_NO;   /* a query with AA, TC or an RCODE */
		if (role != WS_PROLE_UNKNOWN &&
		    (qr == 0) != (role == WS_PROLE_CLIENT ? dir == WS_PDIR_EGRESS : dir == WS_PDIR_INGRESS))
			return WS_DETECT_NO;
	}
	if (avail >= 6 && be16(p + 4) != 1)
		return WS_DETECT_NO;
	if (avail < DNS_HDR_LEN)
		return WS_DETECT_MORE;
	if (dns_parse(p, avail, len, &m) != DNS_WIRE_OK)
		return WS_DETECT_NO;
	if (m.qr == 0 && m.opcode == 0 && (m.ancount || m.nscount || m.arcount > 2))
		return WS_DETECT_NO;
	/* every record takes 11 bytes at least, the question 5 */
	if (((uint64_t)m.ancount + m.nscount + m.arcount) * 11 + 5 > len - DNS_HDR_LEN)
		return WS_DETECT_NO;
	if (!m.has_question)
		return m.question_cut ? WS_DETECT_MORE : WS_DETECT_NO;
	if (m.q.type == 0 || !class_ok(m.q.cls, port))
		return WS_DETECT_NO;
	if (m.rrs_complete)
		return m.end == len ? WS_DETECT_YES : WS_DETECT_NO;
	return m.qr ? WS_DETECT_YES : WS_DETECT_MORE;
}

/* Text protocols never start with a DNS header (bytes 4-5 of one are 00 01), but a
 * short start could be read as a TCP length prefix: reject printable starts outright. */
static bool looks_text(const uint8_t *d, uint32_t n)
{
	if (n > 8)
		n = 8;
	if (n < 2)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if ((d[i] < 0x20 && d[i] != '\r' && d[i] != '\n' && d[i] != '\t') || d[i] > 0x7e)
			return false;
	return true;
}

static int dns_detect(const uint8_t *data, uint32_t len, enum ws_pdir dir, enum ws_prole role, uint16_t port)
{
	int udp, tcp = WS_DETECT_MORE;

	if (!data || len == 0)
		return WS_DETECT_MORE;
	if (looks_text(data, len))
		return WS_DETECT_NO;
	/* A datagram is the message; a stream starts with its length. The caller does
	 * not say which, and both readings are tried. */
	udp = detect_msg(data, len, len, dir, role, port);
	if (len >= 2) {
		uint32_t l = be16(data), avail = len - 2 < l ? len - 2 : l;

		tcp = l < DNS_HDR_LEN ? WS_DETECT_NO : detect_msg(data + 2, avail, l, dir, role, port);
	}
	if (udp == WS_DETECT_YES || tcp == WS_DETECT_YES)
		return WS_DETECT_YES;
	if (udp == WS_DETECT_MORE || tcp == WS_DETECT_MORE)
		return WS_DETECT_MORE;
	return WS_DETECT_NO;
}

/* ---- spans ----------------------------------------------------------------------- */

static void dns_span_request(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct dns_record *r = x->detail;
	char buf[16];

	if (!r)
		return;
	/* Semantic conventions define no DNS span name: "DNS {type}" keeps it low in
	 * cardinality (the name is an attribute); other opcodes are named by opcode. */
	if (r->opcode != 0)
		snprintf(s->name, sizeof(s->name), "DNS %s", dns_opcode_name(r->opcode));
	else if (r->has_question)
		snprintf(s->name, sizeof(s->name), "DNS %s", dns_type_name(r->q.type, buf, sizeof(buf)));
	else
		snprintf(s->name, sizeof(s->name), "DNS");
	if (r->has_question) {
		ws_span_set_str(s, "dns.question.name", r->q.name);
		ws_span_set_str(s, "dns.question.type", dns_type_name(r->q.type, buf, sizeof(buf)));
	}
	if (r->transport == DNS_TRANSPORT_UDP)
		ws_span_set_str(s, "network.transport", "udp");
	else if (r->transport == DNS_TRANSPORT_TCP)
		ws_span_set_str(s, "network.transport", "tcp");
	ws_span_set_str(s, "network.protocol.name", "dns");
	/* An unconnected UDP socket has no remote end in its tuple (sendto names one per
	 * datagram): no peer attributes rather than a wrong one. */
	if (si && si->tuple && si->tuple->dport != 0)
		ws_proto_set_peer_attrs(si, s);
}

/* Which answers fail the span. A client asked and did not get what it wanted for any
 * code but NOERROR and NXDOMAIN (a definite "no such name": search-list expansion makes
 * it a routine answer). A server failed only when it could not do its job (SERVFAIL,
 * NOTIMP); FORMERR, REFUSED and the rest are the client's doing, like HTTP 4xx. */
static bool rcode_fails(uint16_t rcode, uint8_t role)
{
	if (role == WS_PROLE_SERVER)
		return rcode == 2 || rcode == 4;
	return rcode != 0 && rcode != 3;
}

static void dns_span_response(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct dns_record *r = x->detail;
	char buf[16];
	const char *rc;

	if (!r || !r->has_answer)
		return;
	rc = dns_rcode_name(r->rcode, buf, sizeof(buf));
	ws_span_set_str(s, "dns.response_code", rc);
	ws_span_set_int(s, "dns.answer.count", r->ancount);
	if (r->retransmits)
		ws_span_set_int(s, "wirespan.dns.retransmits", r->retransmits);
	if (rcode_fails(r->rcode, si ? si->role : WS_PROLE_CLIENT)) {
		s->status_code = WS_STATUS_ERROR;
		snprintf(s->status_message, sizeof(s->status_message), "DNS %s", rc);
		ws_span_set_str(s, "error.type", rc);
	}
}

const struct ws_proto_ops ws_proto_dns = {
	.id = WS_PROTO_DNS,
	.name = "dns",
	.detect = dns_detect,
	.init = dns_init,
	.feed = dns_feed,
	.close = dns_close,
	.free = dns_free,
	.role = dns_role,
	.capture = NULL,
	.span_request = dns_span_request,
	.span_response = dns_span_response,
	.expire = dns_expire,
	.error_name = dns_error_name,
	.n_errors = DNS_ERR__MAX,
	.err_closed = DNS_ERR_CLOSED,
};
