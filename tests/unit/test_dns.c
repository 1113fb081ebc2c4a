/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DNS parser tests. Most cases are a table: a script of chunks (query or answer
 * direction, hex bytes, real length, captured length, bytes missing before it, time)
 * and the expected record summary; TCP cases are also fed with every chunk split at
 * every byte. Vectors marked "dnsmasq" were recorded from dnsmasq 2.90 answering
 * dnspython 2.3 on loopback (UDP and TCP); the others were encoded with dnspython or
 * by hand from RFC 1035.
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

#include "agent/proto/dns.h"
#include "agent/proto/dns_wire.h"
#include "agent/span.h"
#include "headers/wirespan_abi.h"

/* ---- vectors -------------------------------------------------------------------- */

/* dnsmasq, UDP: A www.example.test -> 10.0.0.1 */
#define RQ_A "d1e10100000100000000000003777777076578616d706c6504746573740000010001"
#define RA_A "d1e18580000100010000000003777777076578616d706c6504746573740000010001c00c000100010000000000040a000001"
/* dnsmasq: AAAA for a name it only has an A for (REFUSED, no upstream) */
#define RQ_AAAA "c37f0100000100000000000003777777076578616d706c65047465737400001c0001"
#define RA_AAAA "c37f8185000100000000000003777777076578616d706c65047465737400001c0001"
/* dnsmasq: foo.nx.test -> NXDOMAIN */
#define RQ_NX "efdb0100000100000000000003666f6f026e7804746573740000010001"
#define RA_NX "efdb8183000100000000000003666f6f026e7804746573740000010001"
/* dnsmasq: CNAME answer with a compressed owner */
#define RQ_CNAME "4d810100000100000000000005616c696173076578616d706c6504746573740000010001"
#define RA_CNAME "4d818580000100010000000005616c696173076578616d706c6504746573740000010001c00c0005000100000000001203777777076578616d706c65047465737400"
/* dnsmasq: SRV _http._tcp.example.test */
#define RQ_SRV "6d1d01000001000000000000055f68747470045f746370076578616d706c6504746573740000210001"
#define RA_SRV "6d1d85800001000100000000055f68747470045f746370076578616d706c6504746573740000210001c00c0021000100000000001800000000005003777777076578616d706c65047465737400"
/* dnsmasq: TXT */
#define RQ_TXT "f8a50100000100000000000003747874076578616d706c6504746573740000100001"
#define RA_TXT "f8a58580000100010000000003747874076578616d706c6504746573740000100001c00c0010000100000000000c0b68656c6c6f20776f726c64"
/* dnsmasq: AAAA with EDNS (DO bit) in both directions */
#define RQ_EDNS "3cc501000001000000000001027636076578616d706c65047465737400001c000100002904d0000080000000"
#define RA_EDNS "3cc585800001000100000001027636076578616d706c65047465737400001c0001c00c001c0001000000000010fd00000000000000000000000000000200002904d0000080000000"
/* dnsmasq: mixed case query name, echoed as sent */
#define RQ_CASE "4a6f0100000100000000000003577757074578416d506c4504546553740000010001"
#define RA_CASE "4a6f8580000100010000000003577757074578416d506c4504546553740000010001c00c000100010000000000040a000001"
/* dnsmasq, TCP: two pipelined queries in one write, both answers in one read */
#define TQ_PIPE "0022d77d0100000100000000000003777777076578616d706c6504746573740000010001" \
		"002c520901000001000000000001027636076578616d706c65047465737400001c000100002904d0000000000000"
#define TA_PIPE1 "0032d77d8580000100010000000003777777076578616d706c6504746573740000010001c00c000100010000000000040a000001"
#define TA_PIPE2 "0048520985800001000100000001027636076578616d706c65047465737400001c0001c00c001c0001000000000010fd00000000000000000000000000000200002904d0000000000000"

/* dnspython-encoded */
#define Q1 "11110100000100000000000003777777076578616d706c6504746573740000010001"
#define Q2 "22220100000100000000000003777777076578616d706c65047465737400001c0001"
#define A1 "11118100000100010000000003777777076578616d706c6504746573740000010001c00c000100010000003c00040a000001"
#define A2 "22228100000100020000000003777777076578616d706c65047465737400001c0001c00c001c00010000003c0010fd000000000000000000000000000001c00c001c00010000003c0010fd000000000000000000000000000002"
#define A1_SERVFAIL "11118102000100000000000003777777076578616d706c6504746573740000010001"
#define Q3 "111101000001000000000000056f74686572076578616d706c6504746573740000010001"
#define A3 "111181000001000100000000056f74686572076578616d706c6504746573740000010001c00c000100010000003c00040a000003"
#define Q4 "44440100000100000000000003777777076578616d706c6504746573740000010001"
#define A4 "44448100000100010000000003777777076578616d706c6504746573740000010001c00c000100010000003c00040a000004"
/* header RCODE 0, OPT EXTENDED-RCODE 1: BADVERS (16) */
#define A1_BADVERS "11118100000100000000000103777777076578616d706c65047465737400000100010000292000010000000000"
/* A1 whose answer RDLENGTH (0x0040) runs past the message */
#define A1_BADRR "11118100000100010000000003777777076578616d706c6504746573740000010001c00c000100010000003c00400a000001"
/* FORMERR without a question (QDCOUNT 0) */
#define A1_FORMERR_NOQ "111181010000000000000000"
/* A1 echoing the question in lower case only after 0x20 randomisation */
#define Q1_MIXED "11110100000100000000000003577757074578416d506c4504546553740000010001"
/* a query whose name's pointer points at itself */
#define Q_LOOP "555501000001000000000000" "03777777c00c" "00010001"
/* answer whose question name has a 64-byte label (0x40: an extended label type) */
#define A1_BADLABEL "11118100000100000000000040"

/* Length prefixes for the TCP forms of the dnspython messages. */
#define T34 "0022"
#define T50 "0032"
#define T90 "005a"

/* ---- records -------------------------------------------------------------------- */

#define MAXREC 256

struct recd {
	struct ws_exchange x;
	struct dns_record r;
	bool has_rec;
};

struct rec {
	int n;
	struct recd v[MAXREC];
};

static void on_x(void *ctx, const struct ws_exchange *x)
{
	struct rec *r = ctx;

	assert_true(r->n < MAXREC);
	assert_int_equal(x->proto, WS_PROTO_DNS);
	r->v[r->n].x = *x;
	r->v[r->n].has_rec = x->detail != NULL;
	if (x->detail)
		r->v[r->n].r = *(const struct dns_record *)x->detail;
	r->v[r->n].x.detail = NULL;
	r->n++;
}

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		assert_true(n < cap);
		assert_int_equal(sscanf(h, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* ---- script runner -------------------------------------------------------------- */

struct step {
	char dir;              /* 'q' query direction, 'a' answer direction, 'e'/'i' egress/ingress,
				* 'c' close, 0 end */
	const char *hex;
	int32_t len;           /* real length; -1: the data's */
	int32_t cap;           /* captured bytes; -1: all */
	uint32_t gap;          /* TCP bytes missing before this chunk */
	uint32_t at_ms;        /* time (ms after the start); 0: 1 us after the previous chunk */
};

#define T0 1000000000ull
#define REQ_SEQ0 1000u
#define RESP_SEQ0 0xfffffff0u   /* wraps: seq arithmetic must be modular */

struct runner {
	void *st;
	enum ws_prole role;
	bool tcp;
	uint32_t seq[2];
	uint64_t now;
	int stepno;
	int last_rc;
	struct rec *r;
};

static enum ws_pdir dir_for(enum ws_prole role, char d)
{
	if (d == 'e')
		return WS_PDIR_EGRESS;
	if (d == 'i')
		return WS_PDIR_INGRESS;
	if (role == WS_PROLE_SERVER)
		return d == 'q' ? WS_PDIR_INGRESS : WS_PDIR_EGRESS;
	return d == 'q' ? WS_PDIR_EGRESS : WS_PDIR_INGRESS;
}

static void runner_init(struct runner *u, enum ws_prole role, bool tcp)
{
	memset(u, 0, sizeof(*u));
	u->role = role;
	u->tcp = tcp;
	u->st = ws_proto_dns.init(role);
	assert_non_null(u->st);
	u->seq[dir_for(role, 'q')] = REQ_SEQ0;
	u->seq[dir_for(role, 'a')] = RESP_SEQ0;
	u->now = T0;
	u->r = calloc(1, sizeof(*u->r));
	assert_non_null(u->r);
}

static void runner_fini(struct runner *u)
{
	ws_proto_dns.free(u->st);
	free(u->r);
}

/* Feed bytes [off, off+n) of a step's data as one chunk (captured: the step's
 * captured bytes that fall in it, when they are a prefix of it). */
static void feed_part(struct runner *u, const struct step *s, const uint8_t *buf, size_t dl, size_t off, size_t n,
		      bool first)
{
	enum ws_pdir dir = dir_for(u->role, s->dir);
	uint32_t len = s->len >= 0 ? (uint32_t)s->len : (uint32_t)dl;
	uint32_t cap = s->cap >= 0 ? (uint32_t)s->cap : (uint32_t)dl;
	struct ws_chunk ch = { 0 };

	if (n != len) {   /* a split part: len == dl == cap for split steps */
		ch.len = (uint32_t)n;
		ch.captured = (uint32_t)n;
		ch.data = buf + off;
	} else {
		ch.len = len;
		ch.captured = cap;
		ch.data = cap ? buf : NULL;
	}
	if (s->at_ms && first)
		u->now = T0 + (uint64_t)s->at_ms * 1000000ull;
	else
		u->now += 1000;
	ch.enter_ns = u->now;
	ch.exit_ns = u->now + 500;
	ch.tid = 100 + (uint32_t)u->stepno;
	ch.datagram = !u->tcp;
	ch.has_seq = u->tcp;
	if (first)
		u->seq[dir] += s->gap;
	ch.seq = u->seq[dir];
	u->seq[dir] += ch.len;
	u->last_rc = ws_proto_dns.feed(u->st, dir, &ch, on_x, u->r);
}

/* split: -1 none, else feed step split_step as [0,split) and [split,n) */
static void run_step(struct runner *u, const struct step *s, int stepi, int split_step, size_t split)
{
	uint8_t buf[4096];
	size_t dl;

	u->stepno++;
	if (s->dir == 'c') {
		if (s->at_ms)
			u->now = T0 + (uint64_t)s->at_ms * 1000000ull;
		ws_proto_dns.close(u->st, u->now, on_x, u->r);
		return;
	}
	dl = s->hex ? unhex(s->hex, buf, sizeof(buf)) : 0;
	if (stepi == split_step && split > 0 && split < dl) {
		feed_part(u, s, buf, dl, 0, split, true);
		feed_part(u, s, buf, dl, split, dl - split, false);
		return;
	}
	feed_part(u, s, buf, dl, 0, s->len >= 0 ? (size_t)s->len : dl, true);
}

static void append(char *out, size_t n, const char *fmt, ...)
{
	size_t l = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + l, n - l, fmt, ap);
	va_end(ap);
}

/* "R1 A www.example.test", "X1 NOERROR an=1", "E:timeout#1", "E:gap"; [t] truncated,
 * [rt=N] retransmits. */
static void summarize(const struct rec *r, char *out, size_t n)
{
	char b[16];

	out[0] = '\0';
	for (int i = 0; i < r->n; i++) {
		const struct recd *d = &r->v[i];

		if (i)
			append(out, n, "; ");
		switch (d->x.type) {
		case WS_X_REQUEST:
			if (d->r.has_question)
				append(out, n, "R%u %s %s", d->x.req_index, dns_type_name(d->r.q.type, b, sizeof(b)),
				       d->r.q.name);
			else
				append(out, n, "R%u ?", d->x.req_index);
			break;
		case WS_X_EXCHANGE:
			append(out, n, "X%u %s an=%u", d->x.req_index, dns_rcode_name(d->r.rcode, b, sizeof(b)),
			       d->r.ancount);
			if (d->r.retransmits)
				append(out, n, "[rt=%u]", d->r.retransmits);
			break;
		default:
			append(out, n, "E:%s", dns_error_name(d->x.err));
			if (d->x.has_request)
				append(out, n, "#%u", d->x.req_index);
		}
		if (d->x.truncated)
			append(out, n, "[t]");
	}
}

/* The record contract of proto.h. */
static void check_contract(const struct rec *r)
{
	static uint8_t state[1 << 12];
	uint32_t last = 0;

	memset(state, 0, sizeof(state));
	for (int i = 0; i < r->n; i++) {
		const struct recd *d = &r->v[i];

		assert_true(d->x.req_index < sizeof(state));
		if (d->x.type == WS_X_REQUEST) {
			assert_true(d->x.has_request && !d->x.has_response && d->has_rec);
			assert_int_equal(state[d->x.req_index], 0);
			assert_true(d->x.req_index == last + 1);
			last = d->x.req_index;
			state[d->x.req_index] = 1;
		} else if (d->x.type == WS_X_EXCHANGE || d->x.has_request) {
			assert_true(d->x.has_request && d->has_rec);
			assert_int_equal(state[d->x.req_index], 1);
			state[d->x.req_index] = 2;
			if (d->x.type == WS_X_EXCHANGE)
				assert_true(d->x.has_response && d->r.has_answer && d->x.err == 0);
			else
				assert_true(d->x.err > 0 && d->x.err < DNS_ERR__MAX);
		} else {
			assert_int_equal(d->x.type, WS_X_ERROR);
			assert_int_equal(d->x.req_index, 0);
			assert_true(d->x.err > 0 && d->x.err < DNS_ERR__MAX);
		}
		if (d->has_rec)
			assert_non_null(memchr(d->r.q.name, '\0', sizeof(d->r.q.name)));
	}
	for (size_t k = 0; k < sizeof(state); k++)
		assert_int_not_equal(state[k], 1);
}

struct tcase {
	const char *name;
	enum ws_prole role;
	bool tcp;
	struct step steps[12];
	const char *expect;
	int rc;
	bool resyncs;          /* framing is recovered at a chunk start: splitting chunks may
				* recover it elsewhere, only the contract is checked then */
};

#define Q(h) { 'q', (h), -1, -1, 0, 0 }
#define A(h) { 'a', (h), -1, -1, 0, 0 }
#define QT(h, ms) { 'q', (h), -1, -1, 0, (ms) }
#define AT(h, ms) { 'a', (h), -1, -1, 0, (ms) }
#define CLOSE { 'c', NULL, -1, -1, 0, 0 }
#define CLOSET(ms) { 'c', NULL, -1, -1, 0, (ms) }

static const struct tcase cases[] = {
	/* real exchanges (dnsmasq) */
	{ "A", WS_PROLE_CLIENT, false, { Q(RQ_A), A(RA_A) },
	  "R1 A www.example.test; X1 NOERROR an=1", 0, false },
	{ "REFUSED", WS_PROLE_CLIENT, false, { Q(RQ_AAAA), A(RA_AAAA) },
	  "R1 AAAA www.example.test; X1 REFUSED an=0", 0, false },
	{ "NXDOMAIN", WS_PROLE_CLIENT, false, { Q(RQ_NX), A(RA_NX) },
	  "R1 A foo.nx.test; X1 NXDOMAIN an=0", 0, false },
	{ "CNAME", WS_PROLE_CLIENT, false, { Q(RQ_CNAME), A(RA_CNAME) },
	  "R1 A alias.example.test; X1 NOERROR an=1", 0, false },
	{ "SRV", WS_PROLE_CLIENT, false, { Q(RQ_SRV), A(RA_SRV) },
	  "R1 SRV _http._tcp.example.test; X1 NOERROR an=1", 0, false },
	{ "TXT", WS_PROLE_CLIENT, false, { Q(RQ_TXT), A(RA_TXT) },
	  "R1 TXT txt.example.test; X1 NOERROR an=1", 0, false },
	{ "EDNS both ways", WS_PROLE_CLIENT, false, { Q(RQ_EDNS), A(RA_EDNS) },
	  "R1 AAAA v6.example.test; X1 NOERROR an=1", 0, false },
	{ "name case kept as sent", WS_PROLE_CLIENT, false, { Q(RQ_CASE), A(RA_CASE) },
	  "R1 A WwW.ExAmPlE.TeSt; X1 NOERROR an=1", 0, false },
	{ "server role: queries are read", WS_PROLE_SERVER, false, { Q(RQ_A), A(RA_A), Q(RQ_NX), A(RA_NX) },
	  "R1 A www.example.test; X1 NOERROR an=1; R2 A foo.nx.test; X2 NXDOMAIN an=0", 0, false },
	{ "role learned: first message a query written", WS_PROLE_UNKNOWN, false,
	  { { 'e', RQ_A, -1, -1, 0, 0 }, { 'i', RA_A, -1, -1, 0, 0 } },
	  "R1 A www.example.test; X1 NOERROR an=1", 0, false },
	{ "role learned: first message a query read", WS_PROLE_UNKNOWN, false,
	  { { 'i', RQ_A, -1, -1, 0, 0 }, { 'e', RA_A, -1, -1, 0, 0 } },
	  "R1 A www.example.test; X1 NOERROR an=1", 0, false },
	{ "role learned: first message an answer read", WS_PROLE_UNKNOWN, false,
	  { { 'i', RA_A, -1, -1, 0, 0 }, { 'e', RQ_NX, -1, -1, 0, 0 }, { 'i', RA_NX, -1, -1, 0, 0 } },
	  "E:answer_without_query; R1 A foo.nx.test; X1 NXDOMAIN an=0", 0, false },
	/* pairing */
	{ "answers out of order", WS_PROLE_CLIENT, false, { Q(Q1), Q(Q2), A(A2), A(A1) },
	  "R1 A www.example.test; R2 AAAA www.example.test; X2 NOERROR an=2; X1 NOERROR an=1", 0, false },
	{ "same ID, two servers, two questions", WS_PROLE_CLIENT, false, { Q(Q1), Q(Q3), A(A3), A(A1) },
	  "R1 A www.example.test; R2 A other.example.test; X2 NOERROR an=1; X1 NOERROR an=1", 0, false },
	{ "same question, two IDs", WS_PROLE_CLIENT, false, { Q(Q1), Q(Q4), A(A4), A(A1) },
	  "R1 A www.example.test; R2 A www.example.test; X2 NOERROR an=1; X1 NOERROR an=1", 0, false },
	{ "retransmission is one exchange", WS_PROLE_CLIENT, false, { QT(Q1, 1), QT(Q1, 1001), AT(A1, 1500) },
	  "R1 A www.example.test; X1 NOERROR an=1[rt=1]", 0, false },
	{ "duplicate answer", WS_PROLE_CLIENT, false, { Q(Q1), A(A1), A(A1) },
	  "R1 A www.example.test; X1 NOERROR an=1; E:answer_without_query", 0, false },
	{ "answer with the ID but another question", WS_PROLE_CLIENT, false, { Q(Q1), A(A3), A(A1) },
	  "R1 A www.example.test; E:answer_without_query; X1 NOERROR an=1", 0, false },
	{ "question compared without case (0x20)", WS_PROLE_CLIENT, false, { Q(Q1_MIXED), A(A1) },
	  "R1 A WwW.ExAmPlE.TeSt; X1 NOERROR an=1", 0, false },
	{ "answer without question pairs by ID", WS_PROLE_CLIENT, false, { Q(Q2), Q(Q1), A(A1_FORMERR_NOQ) },
	  "R1 AAAA www.example.test; R2 A www.example.test; X2 FORMERR an=0", 0, false },
	{ "SERVFAIL", WS_PROLE_CLIENT, false, { Q(Q1), A(A1_SERVFAIL) },
	  "R1 A www.example.test; X1 SERVFAIL an=0", 0, false },
	{ "extended RCODE from OPT", WS_PROLE_CLIENT, false, { Q(Q1), A(A1_BADVERS) },
	  "R1 A www.example.test; X1 BADVERS an=0", 0, false },
	/* time */
	{ "timeout fails a query at a later chunk", WS_PROLE_CLIENT, false, { QT(Q1, 1), QT(Q2, 6002), AT(A2, 6010) },
	  "R1 A www.example.test; E:timeout#1; R2 AAAA www.example.test; X2 NOERROR an=2", 0, false },
	{ "late answer still pairs", WS_PROLE_CLIENT, false, { QT(Q1, 1), AT(A1, 5500) },
	  "R1 A www.example.test; X1 NOERROR an=1", 0, false },
	{ "an answer's time expires the others", WS_PROLE_CLIENT, false, { QT(Q1, 1), QT(Q2, 2), AT(A2, 5600) },
	  "R1 A www.example.test; R2 AAAA www.example.test; X2 NOERROR an=2; E:timeout#1", 0, false },
	{ "not yet timed out at 5 s", WS_PROLE_CLIENT, false, { QT(Q1, 1), QT(Q2, 5001), AT(A1, 5002), AT(A2, 5003) },
	  "R1 A www.example.test; R2 AAAA www.example.test; X1 NOERROR an=1; X2 NOERROR an=2", 0, false },
	{ "a retransmission restarts the timeout", WS_PROLE_CLIENT, false,
	  { QT(Q1, 1), QT(Q1, 4000), QT(Q2, 8000), AT(A1, 8500), AT(A2, 8600) },
	  "R1 A www.example.test; R2 AAAA www.example.test; X1 NOERROR an=1[rt=1]; X2 NOERROR an=2", 0, false },
	{ "a retransmission after the timeout is a new query", WS_PROLE_CLIENT, false,
	  { QT(Q1, 1), QT(Q1, 5100), AT(A1, 5200) },
	  "R1 A www.example.test; E:timeout#1; R2 A www.example.test; X2 NOERROR an=1", 0, false },
	{ "close with a query pending", WS_PROLE_CLIENT, false, { QT(Q1, 1), QT(Q2, 2), AT(A1, 3), CLOSET(4) },
	  "R1 A www.example.test; R2 AAAA www.example.test; X1 NOERROR an=1; E:closed#2", 0, false },
	{ "close long after a query: timeout", WS_PROLE_CLIENT, false, { QT(Q1, 1), CLOSET(7000) },
	  "R1 A www.example.test; E:timeout#1", 0, false },
	{ "feeds after close are ignored", WS_PROLE_CLIENT, false, { Q(Q1), CLOSE, A(A1), Q(Q2) },
	  "R1 A www.example.test; E:closed#1", 0, false },
	/* bad input */
	{ "first datagram not DNS", WS_PROLE_CLIENT, false, { Q("474554202f20485454502f312e310d0a0d0a"), Q(Q1) },
	  "E:not_dns", -DNS_ERR_NOT_DNS, false },
	{ "short datagram after a good one", WS_PROLE_CLIENT, false, { Q(Q1), A(A1), Q("0102030405") },
	  "R1 A www.example.test; X1 NOERROR an=1; E:short", 0, false },
	{ "pointer loop", WS_PROLE_CLIENT, false, { Q(Q1), A(A1), Q(Q_LOOP) },
	  "R1 A www.example.test; X1 NOERROR an=1; E:bad_name", 0, false },
	{ "bad label type in an answer: the query waits", WS_PROLE_CLIENT, false, { Q(Q1), A(A1_BADLABEL), CLOSE },
	  "R1 A www.example.test; E:bad_name; E:closed#1", 0, false },
	{ "answer records run past the message: pairs, then fails", WS_PROLE_CLIENT, false, { Q(Q1), A(A1_BADRR) },
	  "R1 A www.example.test; E:bad_length#1", 0, false },
	{ "query where answers flow", WS_PROLE_CLIENT, false, { Q(Q1), A(Q2), A(A1) },
	  "R1 A www.example.test; E:wrong_direction; X1 NOERROR an=1", 0, false },
	{ "answer where queries flow", WS_PROLE_CLIENT, false, { Q(Q1), Q(A1), A(A1) },
	  "R1 A www.example.test; E:wrong_direction; X1 NOERROR an=1", 0, false },
	/* partial captures */
	{ "query header only captured: pairs by ID", WS_PROLE_CLIENT, false,
	  { { 'q', Q1, -1, 14, 0, 0 }, A(A1) },
	  "R1 ?[t]; X1 NOERROR an=1[t]", 0, false },
	{ "query header not captured", WS_PROLE_CLIENT, false,
	  { Q(Q2), A(A2), { 'q', Q1, -1, 8, 0, 0 }, A(A1) },
	  "R1 AAAA www.example.test; X1 NOERROR an=2; E:uncaptured; E:answer_without_query", 0, false },
	{ "answer tail not captured", WS_PROLE_CLIENT, false,
	  { Q(Q2), { 'a', A2, 1200, 60, 0, 0 } },
	  "R1 AAAA www.example.test; X1 NOERROR an=2", 0, false },
	/* TCP */
	{ "TCP pipelined (dnsmasq)", WS_PROLE_CLIENT, true, { Q(TQ_PIPE), A(TA_PIPE1 TA_PIPE2) },
	  "R1 A www.example.test; R2 AAAA v6.example.test; X1 NOERROR an=1; X2 NOERROR an=1", 0, false },
	{ "TCP answers out of order", WS_PROLE_CLIENT, true, { Q(TQ_PIPE), A(TA_PIPE2), A(TA_PIPE1) },
	  "R1 A www.example.test; R2 AAAA v6.example.test; X2 NOERROR an=1; X1 NOERROR an=1", 0, false },
	{ "TCP length prefix written alone", WS_PROLE_CLIENT, true, { Q(T34), Q(Q1), A(T50), A(A1) },
	  "R1 A www.example.test; X1 NOERROR an=1", 0, false },
	{ "TCP server", WS_PROLE_SERVER, true, { Q(T34 Q1 T34 Q2), A(T90 A2 T50 A1) },
	  "R1 A www.example.test; R2 AAAA www.example.test; X2 NOERROR an=2; X1 NOERROR an=1", 0, false },
	{ "TCP answer mostly uncaptured, stepped over by length", WS_PROLE_CLIENT, true,
	  { Q(T34 Q1 T34 Q2), { 'a', "0bb8" A1, 3002, 52, 0, 0 }, A(T90 A2) },
	  "R1 A www.example.test; R2 AAAA www.example.test; X1 NOERROR an=1; X2 NOERROR an=2", 0, false },
	{ "TCP gap inside a body, stepped over", WS_PROLE_CLIENT, true,
	  { Q(T34 Q1 T34 Q2), { 'a', "0bb8" A1, -1, -1, 0, 0 }, { 'a', "", 100, 0, 0, 0 },
	    { 'a', NULL, 2000, 0, 850, 0 }, A(T90 A2) },
	  "R1 A www.example.test; R2 AAAA www.example.test; X1 NOERROR an=1; X2 NOERROR an=2", 0, false },
	{ "TCP gap across a prefix: resync at a message start", WS_PROLE_CLIENT, true,
	  { Q(T34 Q1 T34 Q2 T34 Q4), A(T50 A1), { 'a', "0000000000", -1, -1, 40, 0 }, A(T50 A4) },
	  "R1 A www.example.test; R2 AAAA www.example.test; R3 A www.example.test; X1 NOERROR an=1; E:gap; "
	  "X3 NOERROR an=1", 0, true },
	{ "TCP prefix in uncaptured bytes: resync", WS_PROLE_CLIENT, true,
	  { Q(T34 Q1 T34 Q2 T34 Q4), { 'a', T50 A1 T90, 52 + 92, 52, 0, 0 }, A(T50 A4) },
	  "R1 A www.example.test; R2 AAAA www.example.test; R3 A www.example.test; X1 NOERROR an=1; E:uncaptured; "
	  "X3 NOERROR an=1", 0, true },
	{ "TCP resync skips chunks that do not start a message", WS_PROLE_CLIENT, true,
	  { Q(T34 Q1 T34 Q2 T34 Q4), A(T50 A1), { 'a', "00", -1, -1, 7, 0 }, A("1234567890abcdef"), A(T50 A4) },
	  "R1 A www.example.test; R2 AAAA www.example.test; R3 A www.example.test; X1 NOERROR an=1; E:gap; "
	  "X3 NOERROR an=1", 0, true },
	{ "TCP resync ignores a message flowing the other way", WS_PROLE_CLIENT, true,
	  { Q(T34 Q1 T34 Q2 T34 Q4), A(T50 A1), { 'a', "0000", -1, -1, 40, 0 }, A(T34 Q2), A(T50 A4) },
	  "R1 A www.example.test; R2 AAAA www.example.test; R3 A www.example.test; X1 NOERROR an=1; E:gap; "
	  "X3 NOERROR an=1", 0, true },
	{ "TCP garbage message: resync at the next message start", WS_PROLE_CLIENT, true,
	  { Q(T34 Q1 T34 Q2), A("0012" "1234567890abcdef1234567890abcdef1234" T50 A1), A(T90 A2) },
	  "R1 A www.example.test; R2 AAAA www.example.test; E:bad_name; X2 NOERROR an=2", 0, true },
	{ "TCP resync on a length read alone", WS_PROLE_CLIENT, true,
	  { Q(T34 Q1 T34 Q2 T34 Q4), A(T50 A1), { 'a', "0000", -1, -1, 40, 0 }, A(T50), A(A4) },
	  "R1 A www.example.test; R2 AAAA www.example.test; R3 A www.example.test; X1 NOERROR an=1; E:gap; "
	  "X3 NOERROR an=1", 0, true },
	{ "TCP zero length prefix", WS_PROLE_CLIENT, true, { Q(T34 Q1), A("0000"), A(T50 A1) },
	  "R1 A www.example.test; E:short; X1 NOERROR an=1", 0, true },
	{ "TCP close inside a message", WS_PROLE_CLIENT, true, { Q(T34 Q1), A("0032" "1111"), CLOSE },
	  "R1 A www.example.test; E:closed; E:closed#1", 0, false },
	{ "TCP first message not DNS", WS_PROLE_CLIENT, true, { Q("000c47455420"), Q("2f20485454502f31") },
	  "E:not_dns", -DNS_ERR_NOT_DNS, false },
};

static void run_case(const struct tcase *tc, int split_step, size_t split, char *got, size_t n, int *rc)
{
	struct runner u;

	runner_init(&u, tc->role, tc->tcp);
	for (int i = 0; tc->steps[i].dir; i++)
		run_step(&u, &tc->steps[i], i, split_step, split);
	summarize(u.r, got, n);
	*rc = u.last_rc;
	ws_proto_dns.close(u.st, 1ull << 50, on_x, u.r);
	check_contract(u.r);
	runner_fini(&u);
}

static void test_table(void **state)
{
	char got[4096], split_got[4096];
	int rc, src;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *tc = &cases[i];

		run_case(tc, -1, 0, got, sizeof(got), &rc);
		if (strcmp(got, tc->expect) != 0 || rc != tc->rc)
			fail_msg("case \"%s\":\n  expected: %s (rc %d)\n  got:      %s (rc %d)", tc->name, tc->expect,
				 tc->rc, got, rc);
		if (!tc->tcp)
			continue;
		/* every fully captured chunk split at every byte parses the same */
		for (int s = 0; tc->steps[s].dir; s++) {
			const struct step *st = &tc->steps[s];
			size_t dl = st->hex ? strlen(st->hex) / 2 : 0;

			if (st->len >= 0 || st->cap >= 0 || st->gap || dl < 2)
				continue;
			for (size_t k = 1; k < dl; k++) {
				run_case(tc, s, k, split_got, sizeof(split_got), &src);
				if (!tc->resyncs && (strcmp(split_got, got) != 0 || src != rc))
					fail_msg("case \"%s\" split at step %d byte %zu:\n  expected: %s\n  got:      %s",
						 tc->name, s, k, got, split_got);
			}
		}
	}
}

/* ---- detailed checks ------------------------------------------------------------ */

static const struct recd *find_x(const struct rec *r, uint8_t type, uint32_t idx)
{
	for (int i = 0; i < r->n; i++)
		if (r->v[i].x.type == type && r->v[i].x.req_index == idx)
			return &r->v[i];
	return NULL;
}

/* Times and TCP sequence numbers: the second pipelined query starts 36 bytes into the
 * chunk, so its seq is the chunk's + 36 wherever the chunk is split. */
static void test_tcp_times_and_seq(void **state)
{
	uint8_t q[256], a[256];
	size_t qn = unhex(TQ_PIPE, q, sizeof(q)), an = unhex(TA_PIPE1 TA_PIPE2, a, sizeof(a));

	for (size_t k = 0; k < qn; k++) {
		void *st = ws_proto_dns.init(WS_PROLE_CLIENT);
		struct rec *r = calloc(1, sizeof(*r));
		struct ws_chunk c1 = { .data = q, .captured = (uint32_t)(k ? k : qn), .len = (uint32_t)(k ? k : qn),
				       .seq = REQ_SEQ0, .tid = 7, .enter_ns = T0 + 10, .exit_ns = T0 + 20, .has_seq = true };
		struct ws_chunk c2 = { .data = q + k, .captured = (uint32_t)(qn - k), .len = (uint32_t)(qn - k),
				       .seq = REQ_SEQ0 + (uint32_t)k, .tid = 8, .enter_ns = T0 + 30, .exit_ns = T0 + 40,
				       .has_seq = true };
		struct ws_chunk c3 = { .data = a, .captured = (uint32_t)an, .len = (uint32_t)an, .seq = RESP_SEQ0,
				       .tid = 9, .enter_ns = T0 + 50, .exit_ns = T0 + 60, .has_seq = true };
		const struct recd *x1, *x2;

		assert_non_null(st);
		assert_non_null(r);
		assert_int_equal(ws_proto_dns.feed(st, WS_PDIR_EGRESS, &c1, on_x, r), 0);
		if (k)
			assert_int_equal(ws_proto_dns.feed(st, WS_PDIR_EGRESS, &c2, on_x, r), 0);
		assert_int_equal(ws_proto_dns.feed(st, WS_PDIR_INGRESS, &c3, on_x, r), 0);
		x1 = find_x(r, WS_X_EXCHANGE, 1);
		x2 = find_x(r, WS_X_EXCHANGE, 2);
		assert_non_null(x1);
		assert_non_null(x2);
		assert_true(x1->x.req.has_seq && x2->x.req.has_seq);
		assert_int_equal(x1->x.req.seq, REQ_SEQ0);
		assert_int_equal(x2->x.req.seq, REQ_SEQ0 + 36);
		assert_int_equal(x1->x.resp.seq, RESP_SEQ0);
		assert_int_equal(x2->x.resp.seq, RESP_SEQ0 + 52);
		/* the first query ends in chunk 2 when the split falls inside it */
		assert_int_equal(x1->x.req.first_tid, 7);
		assert_int_equal(x1->x.req.last_tid, (k && k < 36) ? 8 : 7);
		assert_int_equal(x2->x.req.first_tid, (k && k <= 36) ? 8 : 7);
		assert_int_equal(x2->x.req.last_tid, k ? 8 : 7);
		assert_int_equal(x1->x.resp.first_enter_ns, T0 + 50);
		assert_int_equal(x1->x.resp.last_exit_ns, T0 + 60);
		ws_proto_dns.close(st, T0 + 100, on_x, r);
		check_contract(r);
		ws_proto_dns.free(st);
		free(r);
	}
}

/* UDP: times from the datagram, no sequence numbers. */
static void test_udp_times(void **state)
{
	uint8_t q[64], a[128];
	size_t qn = unhex(Q1, q, sizeof(q)), an = unhex(A1, a, sizeof(a));
	void *st = ws_proto_dns.init(WS_PROLE_CLIENT);
	struct rec *r = calloc(1, sizeof(*r));
	struct ws_chunk c1 = { .data = q, .captured = (uint32_t)qn, .len = (uint32_t)qn, .tid = 3, .enter_ns = T0 + 1,
			       .exit_ns = T0 + 2, .datagram = true, .has_seq = true, .seq = 55 };
	struct ws_chunk c2 = { .data = a, .captured = (uint32_t)an, .len = (uint32_t)an, .tid = 4, .enter_ns = T0 + 3,
			       .exit_ns = T0 + 4, .datagram = true };
	const struct recd *x;

	ws_proto_dns.feed(st, WS_PDIR_EGRESS, &c1, on_x, r);
	ws_proto_dns.feed(st, WS_PDIR_INGRESS, &c2, on_x, r);
	x = find_x(r, WS_X_EXCHANGE, 1);
	assert_non_null(x);
	assert_false(x->x.req.has_seq);
	assert_int_equal(x->x.req.first_enter_ns, T0 + 1);
	assert_int_equal(x->x.req.last_exit_ns, T0 + 2);
	assert_int_equal(x->x.resp.first_tid, 4);
	assert_int_equal(x->r.transport, DNS_TRANSPORT_UDP);
	assert_int_equal(x->r.id, 0x1111);
	assert_int_equal(x->r.q.cls, 1);
	assert_int_equal(ws_proto_dns.role(st), WS_PROLE_CLIENT);
	ws_proto_dns.free(st);
	free(r);
}

/* Every captured length of every real datagram: the contract holds, a query whose
 * header was captured is announced, and its answer pairs whenever the answer's header
 * was (by ID alone when a question was not seen). */
static void test_udp_capture_sweep(void **state)
{
	static const char *const pairs[][2] = {
		{ RQ_A, RA_A }, { RQ_AAAA, RA_AAAA }, { RQ_NX, RA_NX }, { RQ_CNAME, RA_CNAME },
		{ RQ_SRV, RA_SRV }, { RQ_TXT, RA_TXT }, { RQ_EDNS, RA_EDNS }, { RQ_CASE, RA_CASE },
	};

	for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
		uint8_t q[128], a[128];
		size_t qn = unhex(pairs[p][0], q, sizeof(q)), an = unhex(pairs[p][1], a, sizeof(a));
		uint32_t qend = 0;

		assert_int_equal(dns_name_read(q, (uint32_t)qn, (uint32_t)qn, DNS_HDR_LEN, &qend, NULL, 0, NULL), DNS_WIRE_OK);
		qend += 4;   /* type and class: the question ends here */
		for (size_t qc = 0; qc <= qn; qc++) {
			for (size_t ac = 0; ac <= an; ac += (qc == qn ? 1 : 7)) {
				void *st = ws_proto_dns.init(WS_PROLE_CLIENT);
				struct rec *r = calloc(1, sizeof(*r));
				struct ws_chunk c1 = { .data = qc ? q : NULL, .captured = (uint32_t)qc, .len = (uint32_t)qn,
						       .enter_ns = T0, .exit_ns = T0 + 1, .datagram = true };
				struct ws_chunk c2 = { .data = ac ? a : NULL, .captured = (uint32_t)ac, .len = (uint32_t)an,
						       .enter_ns = T0 + 2, .exit_ns = T0 + 3, .datagram = true };
				int rc = ws_proto_dns.feed(st, WS_PDIR_EGRESS, &c1, on_x, r);

				if (rc == 0)
					ws_proto_dns.feed(st, WS_PDIR_INGRESS, &c2, on_x, r);
				ws_proto_dns.close(st, T0 + 4, on_x, r);
				check_contract(r);
				if (qc >= DNS_HDR_LEN) {
					assert_int_equal(r->v[0].x.type, WS_X_REQUEST);
					assert_int_equal(r->v[0].x.truncated, qc < qend);
					if (ac >= DNS_HDR_LEN)
						assert_non_null(find_x(r, WS_X_EXCHANGE, 1));
				} else {
					assert_null(find_x(r, WS_X_REQUEST, 1));
				}
				ws_proto_dns.free(st);
				free(r);
			}
		}
	}
}

static size_t build_query(uint8_t *b, uint16_t id, const char *name, uint16_t type)
{
	size_t n = 12;
	const char *p = name;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01;
	b[5] = 1;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		b[n++] = (uint8_t)l;
		memcpy(b + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	b[n++] = 0;
	b[n++] = (uint8_t)(type >> 8);
	b[n++] = (uint8_t)type;
	b[n++] = 0;
	b[n++] = 1;
	return n;
}

/* 64 queries wait at most; the 65th is counted and not announced; once answers
 * free room, queries are tracked again. */
static void test_too_many_pending(void **state)
{
	void *st = ws_proto_dns.init(WS_PROLE_CLIENT);
	struct rec *r = calloc(1, sizeof(*r));
	uint8_t b[300];
	int reqs = 0, errs = 0;

	for (int i = 0; i < DNS_MAX_PENDING + 3; i++) {
		size_t n = build_query(b, (uint16_t)(0x100 + i), "q.example", 1);
		struct ws_chunk c = { .data = b, .captured = (uint32_t)n, .len = (uint32_t)n, .enter_ns = T0 + (uint64_t)i,
				      .exit_ns = T0 + (uint64_t)i, .datagram = true };

		assert_int_equal(ws_proto_dns.feed(st, WS_PDIR_EGRESS, &c, on_x, r), 0);
	}
	for (int i = 0; i < r->n; i++) {
		reqs += r->v[i].x.type == WS_X_REQUEST;
		if (r->v[i].x.type == WS_X_ERROR) {
			assert_int_equal(r->v[i].x.err, DNS_ERR_TOO_MANY_PENDING);
			assert_false(r->v[i].x.has_request);
			errs++;
		}
	}
	assert_int_equal(reqs, DNS_MAX_PENDING);
	assert_int_equal(errs, 3);
	/* answer the first: one more query fits */
	{
		size_t n = build_query(b, 0x100, "q.example", 1);
		struct ws_chunk c = { .data = b, .captured = (uint32_t)n, .len = (uint32_t)n, .enter_ns = T0 + 100,
				      .exit_ns = T0 + 100, .datagram = true };

		b[2] |= 0x80;
		assert_int_equal(ws_proto_dns.feed(st, WS_PDIR_INGRESS, &c, on_x, r), 0);
		assert_non_null(find_x(r, WS_X_EXCHANGE, 1));
		n = build_query(b, 0x999, "late.example", 28);
		c.len = c.captured = (uint32_t)n;
		assert_int_equal(ws_proto_dns.feed(st, WS_PDIR_EGRESS, &c, on_x, r), 0);
		assert_non_null(find_x(r, WS_X_REQUEST, DNS_MAX_PENDING + 1));
	}
	ws_proto_dns.close(st, T0 + 200, on_x, r);
	check_contract(r);
	ws_proto_dns.free(st);
	free(r);
}

static void test_dead_and_args(void **state)
{
	void *st = ws_proto_dns.init(WS_PROLE_CLIENT);
	struct rec *r = calloc(1, sizeof(*r));
	uint8_t junk[20] = { 1, 2, 3, 0, 0, 5 };   /* 5 questions in 8 bytes */
	struct ws_chunk c = { .data = junk, .captured = 20, .len = 20, .enter_ns = T0, .exit_ns = T0, .datagram = true };
	struct ws_chunk empty = { .enter_ns = T0, .exit_ns = T0, .datagram = true };

	assert_int_equal(ws_proto_dns.feed(st, WS_PDIR_EGRESS, &empty, on_x, r), 0);
	assert_int_equal(r->n, 0);
	assert_int_equal(ws_proto_dns.feed(st, WS_PDIR_EGRESS, &c, on_x, r), -DNS_ERR_NOT_DNS);
	assert_int_equal(ws_proto_dns.feed(st, WS_PDIR_EGRESS, &c, on_x, r), -DNS_ERR_NOT_DNS);
	assert_int_equal(r->n, 1);
	assert_int_equal(ws_proto_dns.feed(NULL, WS_PDIR_EGRESS, &c, on_x, r), -EINVAL);
	assert_int_equal(ws_proto_dns.feed(st, WS_PDIR_EGRESS, NULL, on_x, r), -EINVAL);
	ws_proto_dns.close(st, T0, on_x, r);
	ws_proto_dns.close(st, T0, on_x, r);
	assert_int_equal(r->n, 1);
	ws_proto_dns.free(st);
	ws_proto_dns.free(NULL);
	free(r);
}

static void test_error_names(void **state)
{
	assert_int_equal(ws_proto_dns.id, WS_PROTO_DNS);
	assert_string_equal(ws_proto_dns.name, "dns");
	assert_int_equal(ws_proto_dns.n_errors, DNS_ERR__MAX);
	assert_int_equal(ws_proto_dns.err_closed, DNS_ERR_CLOSED);
	for (unsigned e = 1; e < DNS_ERR__MAX; e++) {
		const char *n = ws_proto_dns.error_name(e);

		assert_non_null(n);
		assert_true(strlen(n) > 2);
		for (unsigned f = 1; f < e; f++)
			assert_string_not_equal(n, ws_proto_dns.error_name(f));
	}
	assert_string_equal(ws_proto_dns.error_name(DNS_ERR__MAX), "unknown");
	assert_ptr_equal(ws_proto_by_id(WS_PROTO_DNS), &ws_proto_dns);
}

/* ---- names ---------------------------------------------------------------------- */

struct name_case {
	const char *hex;       /* a message; the name is read at offset off */
	uint32_t off;
	int rc;
	const char *text;
	uint32_t next;
};

static const struct name_case names[] = {
	/* RFC 1035 4.1.4: F.ISI.ARPA at 12 (20 in the RFC, shifted), FOO.F.ISI.ARPA via a pointer, root */
	{ "000000000000000000000000" "01460349534904415250410003464f4fc00c00", 12, DNS_WIRE_OK, "F.ISI.ARPA", 24 },
	{ "000000000000000000000000" "01460349534904415250410003464f4fc00c00", 24, DNS_WIRE_OK, "FOO.F.ISI.ARPA", 30 },
	{ "000000000000000000000000" "01460349534904415250410003464f4fc00c00", 30, DNS_WIRE_OK, ".", 31 },
	/* pointer to a pointer, each strictly backwards */
	{ "000000000000000000000000" "0161000162c00cc00f", 12, DNS_WIRE_OK, "a", 15 },
	{ "000000000000000000000000" "0161000162c00cc00f", 19, DNS_WIRE_OK, "b.a", 21 },
	/* pointer to itself, forward, into the header */
	{ "000000000000000000000000" "c00c", 12, DNS_WIRE_BAD_NAME, "", 0 },
	{ "000000000000000000000000" "c00e0000", 12, DNS_WIRE_BAD_NAME, "", 0 },
	{ "000000000000000000000000" "c002", 12, DNS_WIRE_BAD_NAME, "", 0 },
	/* two pointers jumping back and forth: the second goes forward of the first run */
	{ "000000000000000000000000" "0161c012" "0162c00c", 16, DNS_WIRE_BAD_NAME, "", 0 },
	/* a pointer back into its own run, at bytes read as label data before: not a loop
	 * here, but overlapping names are refused all the same */
	{ "000000000000000000000000" "056100626364c00e", 12, DNS_WIRE_BAD_NAME, "", 0 },
	/* a run that points back to its own start */
	{ "000000000000000000000000" "0178c00c", 12, DNS_WIRE_BAD_NAME, "", 0 },
	/* reserved label types 0x40 and 0x80 */
	{ "000000000000000000000000" "4100", 12, DNS_WIRE_BAD_NAME, "", 0 },
	{ "000000000000000000000000" "8100", 12, DNS_WIRE_BAD_NAME, "", 0 },
	/* escapes: '.' inside a label, backslash, quote, space, control, high bytes, tab */
	{ "000000000000000000000000" "07612e625c2220ff" "0309410a" "00", 12, DNS_WIRE_OK, "a\\.b\\\\\\\" \\255.\\tA\\n", 25 },
	/* runs past the message */
	{ "000000000000000000000000" "0561626300", 12, DNS_WIRE_BAD_LENGTH, "", 0 },
	{ "000000000000000000000000" "0161", 12, DNS_WIRE_BAD_LENGTH, "", 0 },
	{ "000000000000000000000000" "c0", 12, DNS_WIRE_BAD_LENGTH, "", 0 },
};

static void test_names(void **state)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct name_case *nc = &names[i];
		uint8_t b[512];
		char out[DNS_NAME_TEXT_MAX];
		uint32_t n = (uint32_t)unhex(nc->hex, b, sizeof(b)), next = 0;
		bool cut = true;
		int rc = dns_name_read(b, n, n, nc->off, &next, out, sizeof(out), &cut);

		if (rc != nc->rc)
			fail_msg("name case %zu: rc %d, expected %d", i, rc, nc->rc);
		if (rc == DNS_WIRE_OK) {
			assert_string_equal(out, nc->text);
			assert_int_equal(next, nc->next);
			assert_false(cut);
		}
		/* captured short of the name: uncaptured, not bad */
		if (rc == DNS_WIRE_OK && nc->next > nc->off + 1) {
			rc = dns_name_read(b, nc->next - 1, n, nc->off, &next, out, sizeof(out), &cut);
			assert_int_equal(rc, DNS_WIRE_UNCAPTURED);
		}
	}
}

/* 255 wire bytes is the most a name may take; labels of 63 bytes. */
static void test_name_limits(void **state)
{
	uint8_t b[600];
	char out[DNS_NAME_TEXT_MAX];
	uint32_t n = 12, next;
	bool cut;

	memset(b, 0, sizeof(b));
	/* 3 labels of 63 + one of 62: 64*3 + 63 + 1 = 256: too long */
	for (int l = 0; l < 4; l++) {
		uint8_t len = l < 3 ? 63 : 62;

		b[n++] = len;
		memset(b + n, 'a', len);
		n += len;
	}
	b[n++] = 0;
	assert_int_equal(dns_name_read(b, n, n, 12, &next, out, sizeof(out), &cut), DNS_WIRE_BAD_NAME);
	/* one byte shorter: 255 exactly */
	b[12 + 64 * 3] = 61;
	memmove(b + 12 + 64 * 3 + 1 + 61, b + 12 + 64 * 3 + 1 + 62, 1);
	n--;
	assert_int_equal(dns_name_read(b, n, n, 12, &next, out, sizeof(out), &cut), DNS_WIRE_OK);
	assert_int_equal(next, n);
	assert_int_equal(strlen(out), 253);
	assert_false(cut);
	/* escapes that do not fit 255 characters: cut at a whole escape */
	n = 12;
	for (int l = 0; l < 3; l++) {
		b[n++] = 63;
		memset(b + n, 0x01, 63);
		n += 63;
	}
	b[n++] = 0;
	assert_int_equal(dns_name_read(b, n, n, 12, &next, out, sizeof(out), &cut), DNS_WIRE_OK);
	assert_true(cut);
	assert_int_equal(strlen(out), 63 * 4 + 1);   /* a whole escape or none: "\001...\001." */
	assert_int_equal(out[252], '.');
	/* a chain of pointers each one back: bounded by DNS_PTR_HOPS_MAX */
	n = 12;
	b[n++] = 0;
	for (int i = 0; i < DNS_PTR_HOPS_MAX + 2; i++) {
		b[n] = 0xc0;
		b[n + 1] = (uint8_t)(n - 2 < 12 ? 12 : n - 2);
		n += 2;
	}
	assert_int_equal(dns_name_read(b, n, n, n - 2, &next, out, sizeof(out), &cut), DNS_WIRE_BAD_NAME);
	assert_int_equal(dns_name_read(b, n, n, 12 + 1 + 2 * 10, &next, out, sizeof(out), &cut), DNS_WIRE_OK);
	assert_string_equal(out, ".");
}

/* ---- detection ------------------------------------------------------------------ */

static int detect_hex(const char *hex, enum ws_pdir dir, enum ws_prole role, uint16_t port)
{
	uint8_t b[512];
	size_t n = unhex(hex, b, sizeof(b));

	return ws_proto_dns.detect(b, (uint32_t)n, dir, role, port);
}

static int detect_str(const char *s)
{
	return ws_proto_dns.detect((const uint8_t *)s, (uint32_t)strlen(s), WS_PDIR_EGRESS, WS_PROLE_CLIENT, 8080);
}

static void test_detect(void **state)
{
	static const char *const yes_q[] = { RQ_A, RQ_NX, RQ_SRV, RQ_EDNS, RQ_CASE, Q1, T34 Q1, TQ_PIPE };
	static const char *const yes_a[] = { RA_A, RA_AAAA, RA_CNAME, RA_SRV, RA_EDNS, A2, T50 A1, TA_PIPE1 };

	for (size_t i = 0; i < sizeof(yes_q) / sizeof(yes_q[0]); i++) {
		assert_int_equal(detect_hex(yes_q[i], WS_PDIR_EGRESS, WS_PROLE_CLIENT, 40000), WS_DETECT_YES);
		assert_int_equal(detect_hex(yes_q[i], WS_PDIR_INGRESS, WS_PROLE_SERVER, 53), WS_DETECT_YES);
		assert_int_equal(detect_hex(yes_q[i], WS_PDIR_INGRESS, WS_PROLE_UNKNOWN, 53), WS_DETECT_YES);
		/* a query where the role says answers flow */
		assert_int_equal(detect_hex(yes_q[i], WS_PDIR_INGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_NO);
	}
	for (size_t i = 0; i < sizeof(yes_a) / sizeof(yes_a[0]); i++) {
		assert_int_equal(detect_hex(yes_a[i], WS_PDIR_INGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_YES);
		assert_int_equal(detect_hex(yes_a[i], WS_PDIR_EGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_NO);
	}
	/* a TCP query arriving a byte at a time: never NO before it is whole */
	{
		uint8_t b[64];
		size_t n = unhex(T34 Q1, b, sizeof(b));

		for (size_t k = 1; k < n; k++)
			assert_int_not_equal(ws_proto_dns.detect(b, (uint32_t)k, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 53),
					     WS_DETECT_NO);
		assert_int_equal(ws_proto_dns.detect(b, (uint32_t)n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_YES);
	}
	/* trailing bytes after a query's sections */
	assert_int_equal(detect_hex(Q1 "00", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_NO);
	/* QDCOUNT 2, opcode UPDATE (off and on port 53), Z bit, query with an RCODE */
	assert_int_equal(detect_hex("11110100000200000000000003777777076578616d706c6504746573740000010001",
				    WS_PDIR_EGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_NO);
	assert_int_equal(detect_hex("11112800000100000000000003777777076578616d706c6504746573740000060001",
				    WS_PDIR_EGRESS, WS_PROLE_CLIENT, 4000), WS_DETECT_NO);
	assert_int_equal(detect_hex("11112800000100000000000003777777076578616d706c6504746573740000060001",
				    WS_PDIR_EGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_YES);
	assert_int_equal(detect_hex("11110140000100000000000003777777076578616d706c6504746573740000010001",
				    WS_PDIR_EGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_NO);
	assert_int_equal(detect_hex("11110103000100000000000003777777076578616d706c6504746573740000010001",
				    WS_PDIR_EGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_NO);
	/* unknown class, type 0 */
	assert_int_equal(detect_hex("11110100000100000000000003777777076578616d706c6504746573740000010009",
				    WS_PDIR_EGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_NO);
	assert_int_equal(detect_hex("11110100000100000000000003777777076578616d706c6504746573740000000001",
				    WS_PDIR_EGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_NO);
	/* other protocols' first bytes */
	assert_int_equal(detect_str("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), WS_DETECT_NO);
	assert_int_equal(detect_str("GE"), WS_DETECT_NO);
	assert_int_equal(detect_str("HTTP/1.1 200 OK\r\n\r\n"), WS_DETECT_NO);
	assert_int_equal(detect_str("*1\r\n$4\r\nPING\r\n"), WS_DETECT_NO);
	assert_int_equal(detect_str("+OK\r\n"), WS_DETECT_NO);
	assert_int_equal(detect_str("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), WS_DETECT_NO);
	assert_int_equal(detect_hex("1603010200010001fc0303aabbccddeeff00112233445566778899", WS_PDIR_EGRESS,
				    WS_PROLE_CLIENT, 443), WS_DETECT_NO);                       /* TLS */
	assert_int_equal(detect_hex("0000000804d2162f", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_NO);
	assert_int_equal(detect_hex("000000290003000075736572007700646174616261736500770000", WS_PDIR_EGRESS,
				    WS_PROLE_CLIENT, 5432), WS_DETECT_NO);                      /* PG startup */
	assert_int_equal(detect_hex("4a0000000a382e302e3336000b000000", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 3306),
			 WS_DETECT_NO);                                                         /* MySQL greeting */
	assert_int_equal(detect_hex("505249202a20485454502f322e300d0a", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 80),
			 WS_DETECT_NO);
	assert_int_equal(ws_proto_dns.detect(NULL, 0, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 53), WS_DETECT_MORE);
}

/* ---- spans ---------------------------------------------------------------------- */

/* Run a query/answer pair and build both halves of the span from the records. */
static void span_of(const char *qhex, const char *ahex, enum ws_prole role, bool tcp, const struct ws_tuple *tu,
		    struct ws_span *s)
{
	void *st = ws_proto_dns.init(role);
	struct rec *r = calloc(1, sizeof(*r));
	uint8_t q[512], a[512];
	size_t qn = unhex(qhex, q, sizeof(q)), an = ahex ? unhex(ahex, a, sizeof(a)) : 0;
	struct ws_chunk c1 = { .data = q, .captured = (uint32_t)qn, .len = (uint32_t)qn, .enter_ns = T0,
			       .exit_ns = T0 + 1, .datagram = !tcp, .has_seq = tcp };
	struct ws_chunk c2 = { .data = a, .captured = (uint32_t)an, .len = (uint32_t)an, .enter_ns = T0 + 2,
			       .exit_ns = T0 + 3, .datagram = !tcp, .has_seq = tcp, .seq = 9 };
	struct ws_span_info si = { .tuple = tu, .role = (uint8_t)role, .sanitize = true };
	enum ws_pdir qd = role == WS_PROLE_SERVER ? WS_PDIR_INGRESS : WS_PDIR_EGRESS;

	memset(s, 0, sizeof(*s));
	assert_int_equal(ws_proto_dns.feed(st, qd, &c1, on_x, r), 0);
	if (an)
		assert_int_equal(ws_proto_dns.feed(st, !qd, &c2, on_x, r), 0);
	for (int i = 0; i < r->n; i++) {
		struct ws_exchange x = r->v[i].x;

		x.detail = &r->v[i].r;
		if (x.type == WS_X_REQUEST)
			ws_proto_dns.span_request(&x, &si, s);
		else if (x.type == WS_X_EXCHANGE)
			ws_proto_dns.span_response(&x, &si, s);
	}
	ws_proto_dns.free(st);
	free(r);
}

static const char *attr_str(const struct ws_span *s, const char *key)
{
	const struct ws_attr *a = ws_span_find_attr(s, key);

	if (!a)
		return NULL;
	assert_int_equal(a->type, WS_ATTR_STR);
	return ws_span_attr_str(s, a);
}

static int64_t attr_int(const struct ws_span *s, const char *key)
{
	const struct ws_attr *a = ws_span_find_attr(s, key);

	assert_non_null(a);
	assert_int_equal(a->type, WS_ATTR_INT);
	return a->v.i;
}

static void test_spans(void **state)
{
	struct ws_span *s = calloc(1, sizeof(*s));
	struct ws_tuple tu = { .sport = 41000, .dport = 53, .family = 2 };

	tu.saddr[10] = tu.saddr[11] = 0xff;
	tu.daddr[10] = tu.daddr[11] = 0xff;
	tu.saddr[12] = 127, tu.saddr[15] = 1;
	tu.daddr[12] = 127, tu.daddr[15] = 53;

	/* client, UDP, NOERROR */
	span_of(RQ_A, RA_A, WS_PROLE_CLIENT, false, &tu, s);
	assert_string_equal(s->name, "DNS A");
	assert_string_equal(attr_str(s, "dns.question.name"), "www.example.test");
	assert_string_equal(attr_str(s, "dns.question.type"), "A");
	assert_string_equal(attr_str(s, "dns.response_code"), "NOERROR");
	assert_int_equal(attr_int(s, "dns.answer.count"), 1);
	assert_string_equal(attr_str(s, "network.transport"), "udp");
	assert_string_equal(attr_str(s, "network.protocol.name"), "dns");
	assert_string_equal(attr_str(s, "server.address"), "127.0.0.53");
	assert_int_equal(attr_int(s, "server.port"), 53);
	assert_string_equal(attr_str(s, "network.peer.address"), "127.0.0.53");
	assert_int_equal(s->status_code, WS_STATUS_UNSET);
	assert_null(ws_span_find_attr(s, "error.type"));
	assert_null(ws_span_find_attr(s, "wirespan.dns.retransmits"));

	/* NXDOMAIN: not an error, for a client either */
	span_of(RQ_NX, RA_NX, WS_PROLE_CLIENT, false, &tu, s);
	assert_string_equal(attr_str(s, "dns.response_code"), "NXDOMAIN");
	assert_int_equal(s->status_code, WS_STATUS_UNSET);

	/* REFUSED: an error for the client, not for the server that refused */
	span_of(RQ_AAAA, RA_AAAA, WS_PROLE_CLIENT, false, &tu, s);
	assert_string_equal(s->name, "DNS AAAA");
	assert_int_equal(s->status_code, WS_STATUS_ERROR);
	assert_string_equal(s->status_message, "DNS REFUSED");
	assert_string_equal(attr_str(s, "error.type"), "REFUSED");
	span_of(RQ_AAAA, RA_AAAA, WS_PROLE_SERVER, false, &tu, s);
	assert_int_equal(s->status_code, WS_STATUS_UNSET);
	assert_string_equal(attr_str(s, "client.address"), "127.0.0.53");
	assert_int_equal(attr_int(s, "server.port"), 41000);

	/* SERVFAIL: an error on both sides */
	span_of(Q1, A1_SERVFAIL, WS_PROLE_CLIENT, false, &tu, s);
	assert_int_equal(s->status_code, WS_STATUS_ERROR);
	assert_string_equal(attr_str(s, "error.type"), "SERVFAIL");
	span_of(Q1, A1_SERVFAIL, WS_PROLE_SERVER, false, &tu, s);
	assert_int_equal(s->status_code, WS_STATUS_ERROR);

	/* TCP, SRV */
	span_of(T34 Q1, T50 A1, WS_PROLE_CLIENT, true, &tu, s);
	assert_string_equal(attr_str(s, "network.transport"), "tcp");
	span_of(RQ_SRV, RA_SRV, WS_PROLE_CLIENT, false, &tu, s);
	assert_string_equal(s->name, "DNS SRV");

	/* unconnected UDP socket: no remote end known, no peer attributes */
	tu.dport = 0;
	span_of(RQ_A, RA_A, WS_PROLE_CLIENT, false, &tu, s);
	assert_null(ws_span_find_attr(s, "server.address"));
	assert_null(ws_span_find_attr(s, "network.peer.address"));
	span_of(RQ_A, RA_A, WS_PROLE_CLIENT, false, NULL, s);
	assert_null(ws_span_find_attr(s, "server.address"));

	/* unknown type, unassigned rcode, header-only query (no question) */
	span_of("777701000001000000000000" "017800" "ff000001", "777781000001000000000000" "017800" "ff000001",
		WS_PROLE_CLIENT, false, NULL, s);
	assert_string_equal(s->name, "DNS TYPE65280");
	assert_string_equal(attr_str(s, "dns.question.type"), "TYPE65280");
	span_of(Q1, "1111810c000100000000000003777777076578616d706c6504746573740000010001", WS_PROLE_CLIENT, false,
		NULL, s);
	assert_string_equal(attr_str(s, "dns.response_code"), "12");
	assert_int_equal(s->status_code, WS_STATUS_ERROR);
	span_of("888801000000000000000000", "888881000000000000000000", WS_PROLE_CLIENT, false, NULL, s);
	assert_string_equal(s->name, "DNS");
	assert_null(ws_span_find_attr(s, "dns.question.name"));
	/* NOTIFY is named by its opcode */
	span_of("99992000000100000000000003777777076578616d706c6504746573740000060001", NULL, WS_PROLE_CLIENT, false,
		NULL, s);
	assert_string_equal(s->name, "DNS NOTIFY");
	free(s);
}

/* Retransmissions are reported on the span. */
static void test_span_retransmits(void **state)
{
	void *st = ws_proto_dns.init(WS_PROLE_CLIENT);
	struct rec *r = calloc(1, sizeof(*r));
	struct ws_span *s = calloc(1, sizeof(*s));
	uint8_t q[64], a[64];
	size_t qn = unhex(Q1, q, sizeof(q)), an = unhex(A1, a, sizeof(a));
	struct ws_span_info si = { .role = WS_PROLE_CLIENT };

	for (int i = 0; i < 3; i++) {
		struct ws_chunk c = { .data = q, .captured = (uint32_t)qn, .len = (uint32_t)qn,
				      .enter_ns = T0 + (uint64_t)i * 1000000000ull, .exit_ns = T0 + (uint64_t)i * 1000000000ull + 1,
				      .datagram = true };

		ws_proto_dns.feed(st, WS_PDIR_EGRESS, &c, on_x, r);
	}
	struct ws_chunk c2 = { .data = a, .captured = (uint32_t)an, .len = (uint32_t)an, .enter_ns = T0 + 2500000000ull,
			       .exit_ns = T0 + 2500000001ull, .datagram = true };
	ws_proto_dns.feed(st, WS_PDIR_INGRESS, &c2, on_x, r);
	assert_int_equal(r->n, 2);
	struct ws_exchange x = r->v[1].x;
	x.detail = &r->v[1].r;
	/* the exchange runs from the first send */
	assert_int_equal(x.req.first_enter_ns, T0);
	ws_proto_dns.span_response(&x, &si, s);
	assert_int_equal(attr_int(s, "wirespan.dns.retransmits"), 2);
	ws_proto_dns.free(st);
	free(r);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_tcp_times_and_seq),
		cmocka_unit_test(test_udp_times),
		cmocka_unit_test(test_udp_capture_sweep),
		cmocka_unit_test(test_too_many_pending),
		cmocka_unit_test(test_dead_and_args),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_name_limits),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_spans),
		cmocka_unit_test(test_span_retransmits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
