/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * PostgreSQL parser tests (agent/proto/postgres.h). Cases are scripts of chunks in a
 * small notation (below) with the expected record summary; every case is also fed with
 * each chunk split at every byte, and byte by byte. Real captures (pg_vectors.h) are
 * run the same way, and the attributes are checked on a real struct ws_span.
 *
 * Message notation: messages separated by '|'; the first character is the type ('!'
 * for an untyped startup packet, '=' for raw bytes with no framing at all); '~' is a
 * NUL byte; {2:N} and {4:N} are big-endian integers; {1:N} one byte. The length field
 * is computed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/proto/postgres.h"
#include "agent/proto/proto.h"
#include "agent/span.h"
#include "headers/wirespan_abi.h"
#include "pg_vectors.h"

/* ---- message builder ---- */

struct buf {
	uint8_t b[16384];
	size_t n;
};

static void put(struct buf *o, const void *p, size_t n)
{
	assert_true(o->n + n <= sizeof(o->b));
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void put_be(struct buf *o, uint32_t v, int w)
{
	for (int i = w - 1; i >= 0; i--) {
		uint8_t c = (uint8_t)(v >> (8 * i));

		put(o, &c, 1);
	}
}

/* One message of the notation (s up to e) appended to o. */
static void build_one(struct buf *o, const char *s, const char *e)
{
	struct buf body = { .n = 0 };
	char type = *s++;

	while (s < e) {
		if (*s == '~') {
			put(&body, "", 1);
			s++;
		} else if (*s == '{' && s + 2 < e && s[2] == ':') {
			int w = s[1] - '0';
			char *end;
			unsigned long v = strtoul(s + 3, &end, 10);

			assert_true(*end == '}');
			put_be(&body, (uint32_t)v, w);
			s = end + 1;
		} else {
			put(&body, s++, 1);
		}
	}
	if (type == '=') {
		put(o, body.b, body.n);
	} else if (type == '!') {
		put_be(o, (uint32_t)(body.n + 4), 4);
		put(o, body.b, body.n);
	} else {
		put(o, &type, 1);
		put_be(o, (uint32_t)(body.n + 4), 4);
		put(o, body.b, body.n);
	}
}

static void build(struct buf *o, const char *spec)
{
	o->n = 0;
	while (*spec) {
		const char *e = strchr(spec, '|');

		if (!e)
			e = spec + strlen(spec);
		build_one(o, spec, e);
		spec = *e ? e + 1 : e;
	}
}

/* ---- record sink and contract ---- */

#define MAXREC 512

struct rec {
	struct ws_exchange x;
	struct ws_pg_detail d;
	bool has_detail;
	char query[WS_PG_TEXT_MAX], op[WS_PG_OP_MAX], summary[WS_PG_SUMMARY_MAX];
	char tag[WS_PG_OP_MAX], sqlstate[8], db[WS_PG_NAME_MAX];
	struct ws_span span;       /* span_request (+ span_response) applied */
};

struct sink {
	int n;
	struct rec r[MAXREC];
	uint8_t st[4096];          /* per req_index: 0 unseen, 1 announced, 2 ended */
};

static const struct ws_tuple tuple = {
	.saddr = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 },
	.daddr = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2 },
	.sport = 40000,
	.dport = 5432,
};

static void copy_str(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

static void on_rec(void *ctx, const struct ws_exchange *x)
{
	struct sink *k = ctx;
	struct rec *r;
	struct ws_span_info si = { .tuple = &tuple, .role = WS_PROLE_CLIENT, .sanitize = true };

	assert_true(k->n < MAXREC);
	r = &k->r[k->n++];
	memset(r, 0, sizeof(*r));
	r->x = *x;
	assert_int_equal(x->proto, WS_PROTO_POSTGRES);
	if (x->detail) {
		const struct ws_pg_detail *d = x->detail;

		r->has_detail = true;
		r->d = *d;
		copy_str(r->query, sizeof(r->query), d->query);
		copy_str(r->op, sizeof(r->op), d->operation);
		copy_str(r->summary, sizeof(r->summary), d->summary);
		copy_str(r->tag, sizeof(r->tag), d->tag_op);
		copy_str(r->sqlstate, sizeof(r->sqlstate), d->sqlstate);
		copy_str(r->db, sizeof(r->db), d->database);
	}
	r->x.detail = NULL;
	/* the record contract of proto.h */
	if (x->type == WS_X_REQUEST) {
		assert_true(x->has_request);
		assert_true(x->req_index > 0 && x->req_index < 4096);
		assert_int_equal(k->st[x->req_index], 0);
		k->st[x->req_index] = 1;
		ws_proto_postgres.span_request(x, &si, &r->span);
	} else if (x->has_request) {
		assert_int_equal(k->st[x->req_index], 1);
		k->st[x->req_index] = 2;
		if (x->type == WS_X_EXCHANGE) {
			ws_proto_postgres.span_request(x, &si, &r->span);
			ws_proto_postgres.span_response(x, &si, &r->span);
		}
	} else {
		assert_int_equal(x->type, WS_X_ERROR);
		assert_int_not_equal(x->err, 0);
	}
	if (x->type == WS_X_ERROR)
		assert_true(x->err > 0 && x->err < ws_proto_postgres.n_errors);
}

static void sink_all_ended(const struct sink *k)
{
	for (int i = 0; i < 4096; i++)
		assert_int_not_equal(k->st[i], 1);
}

/* Compact summary of the records. */
static void summarise(const struct sink *k, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < k->n && n < cap; i++) {
		const struct rec *r = &k->r[i];
		const struct ws_exchange *x = &r->x;
		char one[256];

		if (x->type == WS_X_REQUEST)
			snprintf(one, sizeof(one), "R%u:%s%s", x->req_index, r->summary[0] ? r->summary : "?",
				 x->truncated ? "~" : "");
		else if (x->type == WS_X_EXCHANGE) {
			char rows[32] = "";

			if (r->d.has_rows)
				snprintf(rows, sizeof(rows), "#%lld", (long long)r->d.rows);
			snprintf(one, sizeof(one), "X%u%s%s%s%s%s%s%s", x->req_index, r->tag[0] ? ":" : "", r->tag,
				 rows, r->d.error ? "!" : "", r->d.error ? r->sqlstate : "",
				 r->d.aborted ? "!aborted" : "", x->truncated ? "~" : "");
		} else {
			snprintf(one, sizeof(one), "E%u:%s%s", x->has_request ? x->req_index : 0,
				 ws_proto_postgres.error_name(x->err), x->closed ? "/closed" : "");
		}
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? " " : "", one);
	}
}

/* ---- script runner ---- */

struct step {
	uint8_t fe;             /* 1 frontend, 0 backend, 2 close */
	const char *spec;
	int cap;                /* captured bytes; -1 all */
	uint32_t gap;           /* bytes missing before it (seq jump); 0xffffffff: no seq */
	int extra;              /* real length beyond the spec's bytes (uncaptured tail) */
};

#define MAXSTEPS 24

struct tcase {
	const char *name;
	uint8_t role;           /* enum ws_prole */
	struct step s[MAXSTEPS];
	const char *want;
};

struct runner {
	void *st;
	uint8_t role;
	uint32_t seq[2];
	uint64_t clock;
	struct sink *k;
	int rc;
};

static void runner_init(struct runner *u, uint8_t role, struct sink *k)
{
	memset(u, 0, sizeof(*u));
	memset(k, 0, sizeof(*k));
	u->role = role;
	u->k = k;
	u->st = ws_proto_postgres.init(role);
	assert_non_null(u->st);
	u->seq[0] = 1000;
	u->seq[1] = 0xfffffff0u;  /* wraps: seq arithmetic must be modular */
}

static enum ws_pdir dir_of(const struct runner *u, uint8_t fe)
{
	bool client = u->role != WS_PROLE_SERVER;

	return (fe ? client : !client) ? WS_PDIR_EGRESS : WS_PDIR_INGRESS;
}

/* Feed data[0..n) as one chunk with real length n + extra, captured cap. */
static void feed_chunk(struct runner *u, uint8_t fe, const uint8_t *data, uint32_t n, uint32_t cap,
		       uint32_t extra, uint32_t gap)
{
	enum ws_pdir dir = dir_of(u, fe);
	struct ws_chunk ch = {
		.data = cap ? data : NULL,
		.captured = cap,
		.len = n + extra,
		.has_seq = gap != 0xffffffffu,
		.tid = 7,
	};

	if (gap && gap != 0xffffffffu)
		u->seq[dir] += gap;
	ch.seq = u->seq[dir];
	u->clock += 1000;
	ch.enter_ns = u->clock;
	ch.exit_ns = u->clock + 10;
	u->seq[dir] += ch.len;
	if (u->rc < 0)
		return;   /* the centre stops feeding a parser that gave up */
	u->rc = ws_proto_postgres.feed(u->st, dir, &ch, on_rec, u->k);
}

static void runner_close(struct runner *u)
{
	ws_proto_postgres.close(u->st, u->clock + 1, on_rec, u->k);
	ws_proto_postgres.free(u->st);
	u->st = NULL;
	sink_all_ended(u->k);
}

/* split: -1 whole chunks; -2 byte by byte; k >= 0: chunk number split_step at k */
static void run_case(const struct tcase *t, int split_step, int split_at, struct sink *k)
{
	struct runner u;
	struct buf b;

	runner_init(&u, t->role, k);
	for (int i = 0; i < MAXSTEPS && t->s[i].spec; i++) {
		const struct step *s = &t->s[i];
		uint32_t cap;

		if (s->fe == 2)
			break;
		build(&b, s->spec);
		cap = s->cap < 0 ? (uint32_t)b.n : (uint32_t)s->cap;
		if (split_step == -2 && s->cap < 0 && !s->extra) {
			for (size_t j = 0; j < b.n; j++)
				feed_chunk(&u, s->fe, b.b + j, 1, 1, 0, j == 0 ? s->gap : 0);
		} else if (split_step == i && s->cap < 0 && !s->extra && split_at > 0 && (size_t)split_at < b.n) {
			feed_chunk(&u, s->fe, b.b, (uint32_t)split_at, (uint32_t)split_at, 0, s->gap);
			feed_chunk(&u, s->fe, b.b + split_at, (uint32_t)(b.n - (size_t)split_at),
				   (uint32_t)(b.n - (size_t)split_at), 0, 0);
		} else {
			feed_chunk(&u, s->fe, b.b, (uint32_t)b.n, cap, (uint32_t)s->extra, s->gap);
		}
	}
	runner_close(&u);
}

static void check_case(const struct tcase *t)
{
	static struct sink k;
	static char got[8192];
	struct buf b;

	run_case(t, -1, 0, &k);
	summarise(&k, got, sizeof(got));
	if (strcmp(got, t->want) != 0)
		fail_msg("%s:\n  got  %s\n  want %s", t->name, got, t->want);
	run_case(t, -2, 0, &k);
	summarise(&k, got, sizeof(got));
	if (strcmp(got, t->want) != 0)
		fail_msg("%s (byte by byte):\n  got  %s\n  want %s", t->name, got, t->want);
	for (int i = 0; i < MAXSTEPS && t->s[i].spec; i++) {
		if (t->s[i].fe == 2)
			break;
		build(&b, t->s[i].spec);
		for (size_t j = 1; j < b.n; j++) {
			run_case(t, i, (int)j, &k);
			summarise(&k, got, sizeof(got));
			if (strcmp(got, t->want) != 0)
				fail_msg("%s (step %d split at %zu):\n  got  %s\n  want %s", t->name, i, j, got, t->want);
		}
	}
}

#define F(spec) { 1, spec, -1, 0, 0 }
#define B(spec) { 0, spec, -1, 0, 0 }
#define STARTUP "!{4:196608}user~app~database~shop~~"
#define AUTH_OK "R{4:0}|Sserver_version~15.8~|K{4:42}{4:99}|ZI"

static const struct tcase cases[] = {
	{ "simple query", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("QSELECT * FROM users WHERE id = 1~"),
	    B("T{2:0}|D{2:0}|CSELECT 1~|ZI") },
	  "R1:SELECT users X1:SELECT#1" },
	{ "simple query, server side", WS_PROLE_SERVER,
	  { F(STARTUP), B(AUTH_OK), F("QUPDATE t SET a = 'x'~"), B("CUPDATE 3~|ZI") },
	  "R1:UPDATE t X1:UPDATE" },
	{ "error: SQLSTATE only", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("QSELECT * FROM nosuch~"),
	    B("ESERROR~VERROR~C42P01~Mrelation \"nosuch\" does not exist~~|ZI") },
	  "R1:SELECT nosuch X1!42P01" },
	{ "multi-statement query ends at ReadyForQuery", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("QBEGIN; SELECT 1; COMMIT~"),
	    B("CBEGIN~|T{2:0}|D{2:0}|CSELECT 1~|CCOMMIT~|ZI"), F("QSELECT 2~"), B("CSELECT 1~|ZI") },
	  "R1:BEGIN X1:BEGIN R2:SELECT X2:SELECT#1" },
	{ "empty query", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("Q~"), B("I|ZI") },
	  "R1:? X1" },
	{ "SSLRequest refused, then startup", WS_PROLE_CLIENT,
	  { F("!{4:80877103}"), B("=N"), F(STARTUP), B(AUTH_OK), F("QSELECT 1~"), B("CSELECT 1~|ZI") },
	  "R1:SELECT X1:SELECT#1" },
	{ "SSLRequest accepted: TLS follows, no error (WS_FEED_TLS)", WS_PROLE_CLIENT,
	  { F("!{4:80877103}"), B("=S"), F("=\x16\x03\x01"), F("QSELECT 1~") },
	  "" },
	{ "GSSENCRequest accepted: gives up", WS_PROLE_CLIENT,
	  { F("!{4:80877104}"), B("=G") },
	  "E0:gssenc" },
	{ "GSSENCRequest refused, SSLRequest refused", WS_PROLE_CLIENT,
	  { F("!{4:80877104}"), B("=N"), F("!{4:80877103}"), B("=N"), F(STARTUP), B(AUTH_OK),
	    F("QSELECT 1~"), B("CSELECT 1~|ZI") },
	  "R1:SELECT X1:SELECT#1" },
	{ "protocol 2 is not supported", WS_PROLE_CLIENT,
	  { F("!{4:131072}user~app~~"), F("QSELECT 1~") },
	  "E0:unsupported_protocol" },
	{ "cancel request: nothing to pair", WS_PROLE_CLIENT,
	  { F("!{4:80877102}{4:42}{4:99}") },
	  "" },
	{ "extended, unnamed statement", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK),
	    F("P~SELECT name FROM users WHERE id = $1~{2:0}|B~~{2:0}{2:1}{4:1}7{2:0}|DP~|E~{4:0}|S"),
	    B("1|2|T{2:0}|D{2:0}|CSELECT 1~|ZI") },
	  "R1:SELECT users X1:SELECT#1" },
	{ "named statement prepared once, executed twice", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK),
	    F("Ps1~UPDATE users SET name = $2 WHERE id = $1~{2:0}|S"), B("1|ZI"),
	    F("B~s1~{2:0}{2:2}{4:1}1{4:5}bobby{2:0}|E~{4:0}|S"), B("2|CUPDATE 1~|ZI"),
	    F("B~s1~{2:0}{2:2}{4:1}2{4:4}alan{2:0}|E~{4:0}|S"), B("2|CUPDATE 1~|ZI") },
	  "R1:UPDATE users X1:UPDATE R2:UPDATE users X2:UPDATE" },
	{ "pipelined batch: several Executes, one Sync", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK),
	    F("P~SELECT id FROM users~{2:0}|Bp1~~{2:0}{2:0}{2:0}|Ep1~{4:1}|Ep1~{4:0}"
	      "|Ps2~INSERT INTO users VALUES ($1, $2)~{2:0}|B~s2~{2:0}{2:2}{4:1}7{4:1}z{2:0}|E~{4:0}|S"),
	    B("1|2|D{2:0}|s|D{2:0}|CSELECT 1~|1|2|CINSERT 0 1~|ZT") },
	  "R1:SELECT users R2:SELECT users R3:INSERT users X1#1 X2:SELECT#1 X3:INSERT" },
	{ "error in a batch: the rest is aborted, the next batch is fine", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK),
	    F("Ps1~UPDATE t SET a = $1~{2:0}|Ps2~INSERT INTO t VALUES ($1)~{2:0}|S"), B("1|1|ZI"),
	    F("B~s2~{2:0}{2:1}{4:1}7{2:0}|E~{4:0}|B~s1~{2:0}{2:1}{4:1}1{2:0}|E~{4:0}|S"
	      "|B~s1~{2:0}{2:1}{4:1}2{2:0}|E~{4:0}|S"),
	    B("2|ESERROR~C23505~Mduplicate key~DKey (id)=(7) already exists.~~|ZI|2|CUPDATE 1~|ZI") },
	  "R1:INSERT t R2:UPDATE t R3:UPDATE t X1!23505 X2!aborted X3:UPDATE" },
	{ "parse error fails the Execute of its segment", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("P~SELEC oops~{2:0}|B~~{2:0}{2:0}{2:0}|E~{4:0}|S"),
	    B("ESERROR~VERROR~C42601~Msyntax error~~|ZI") },
	  "R1:SELEC X1!42601" },
	{ "statement map: a closed slot is reused", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK),
	    F("Ps1~SELECT 1~{2:0}|Ps2~SELECT * FROM b~{2:0}|CSs1~|Ps3~SELECT * FROM c~{2:0}"
	      "|B~s2~{2:0}{2:0}{2:0}|E~{4:0}|B~s3~{2:0}{2:0}{2:0}|E~{4:0}|S"),
	    B("1|1|3|1|2|CSELECT 0~|2|CSELECT 0~|ZI") },
	  "R1:SELECT b R2:SELECT c X1:SELECT#0 X2:SELECT#0" },
	{ "Close of a statement: executed later without text", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("Ps1~SELECT 1~{2:0}|S"), B("1|ZI"), F("CSs1~|S"), B("3|ZI"),
	    F("B~s1~{2:0}{2:0}{2:0}|E~{4:0}|S"), B("ESERROR~C26000~~|ZI") },
	  "R1:? X1!26000" },
	{ "named portal kept until the transaction ends", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("QBEGIN~"), B("CBEGIN~|ZT"),
	    F("P~SELECT x FROM big~{2:0}|Bcur~~{2:0}{2:0}{2:0}|Ecur~{4:2}|S"), B("1|2|D{2:0}|D{2:0}|s|ZT"),
	    F("Ecur~{4:2}|S"), B("D{2:0}|CSELECT 1~|ZT"), F("QCOMMIT~"), B("CCOMMIT~|ZI"),
	    F("Ecur~{4:2}|S"), B("ESERROR~C34000~~|ZI") },
	  "R1:BEGIN X1:BEGIN R2:SELECT big X2#2 R3:SELECT big X3:SELECT#1 R4:COMMIT X4:COMMIT R5:? X5!34000" },
	{ "Execute without Sync is answered at Flush", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("P~DELETE FROM t~{2:0}|B~~{2:0}{2:0}{2:0}|E~{4:0}|H"),
	    B("1|2|CDELETE 2~"), { 2, "", 0, 0, 0 } },
	  "R1:DELETE t X1:DELETE" },
	{ "closed before the reply", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("QSELECT pg_sleep(10)~") },
	  "R1:SELECT E1:closed/closed" },
	{ "a batch that ends without the completion", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("P~SELECT 1~{2:0}|B~~{2:0}{2:0}{2:0}|E~{4:0}|S"), B("1|2|ZI") },
	  "R1:SELECT E1:unanswered" },
	{ "mid-stream: no startup seen", WS_PROLE_CLIENT,
	  { F("QSELECT * FROM t~"), B("CSELECT 0~|ZI") },
	  "R1:SELECT t X1:SELECT#0" },
	{ "mid-stream: a ReadyForQuery of a batch we never saw is ignored", WS_PROLE_CLIENT,
	  { B("CSELECT 5~|ZI"), F("QSELECT * FROM t~"), B("CSELECT 0~|ZI") },
	  "R1:SELECT t X1:SELECT#0" },
	{ "garbage from the frontend", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("=GET / HTTP/1.1\r\n\r\n") },
	  "E0:bad_message" },
	{ "bad backend length fails the pending request at the next flip", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("QSELECT 1~"), B("=Z{4:9}II"), F("QSELECT 2~"),
	    B("CSELECT 1~|ZI") },
	  "R1:SELECT E1:framing_lost R2:SELECT X2:SELECT#1" },
	{ "startup error (auth failure): nothing pending", WS_PROLE_CLIENT,
	  { F(STARTUP), B("ESFATAL~C28P01~Mpassword authentication failed~~") },
	  "" },
	{ "COPY FROM STDIN inside a simple query", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("QCOPY t FROM STDIN~"), B("G{1:0}{2:0}"), F("d1,2\n|d3,4\n|c"),
	    B("CCOPY 2~|ZI") },
	  "R1:COPY t X1:COPY" },
	{ "notices and parameter status inside a reply", WS_PROLE_CLIENT,
	  { F(STARTUP), B(AUTH_OK), F("QSET x = 1~"), B("NSNOTICE~C00000~~|SDateStyle~ISO~|CSET~|ZI") },
	  "R1:SET X1:SET" },
	{ NULL, 0, { { 0 } }, NULL },
};

static void test_cases(void **state)
{
	for (const struct tcase *t = cases; t->name; t++)
		check_case(t);
}

/* ---- partial captures and gaps (not split: the capture shape is the point) ---- */

static void run_raw(uint8_t role, const struct step *s, int n, struct sink *k, char *got, size_t cap)
{
	struct runner u;
	struct buf b;

	runner_init(&u, role, k);
	for (int i = 0; i < n; i++) {
		build(&b, s[i].spec);
		feed_chunk(&u, s[i].fe, b.b, (uint32_t)b.n, s[i].cap < 0 ? (uint32_t)b.n : (uint32_t)s[i].cap,
			   (uint32_t)s[i].extra, s[i].gap);
	}
	runner_close(&u);
	summarise(k, got, cap);
}

static void test_partial_captures(void **state)
{
	static struct sink k;
	char got[2048];

	/* a long query cut by the capture: text sanitised as far as seen, truncated */
	{
		const struct step s[] = {
			F(STARTUP), B(AUTH_OK),
			{ 1, "QSELECT * FROM users WHERE name = 'secret value' AND id = 12345~", 40, 0, 0 },
			B("CSELECT 1~|ZI"),
		};

		run_raw(WS_PROLE_CLIENT, s, 4, &k, got, sizeof(got));
		assert_string_equal(got, "R1:SELECT users~ X1:SELECT#1~");
		assert_string_equal(k.r[0].query, "SELECT * FROM users WHERE name = ?");
		assert_null(strstr(k.r[0].query, "secret"));
	}
	/* an uncaptured tail inside a body is skipped by length: framing holds */
	{
		const struct step s[] = {
			F(STARTUP), B(AUTH_OK), F("QSELECT * FROM t~"),
			{ 0, "T{2:0}|D{2:0}|=D{4:3010}{2:1}{4:3000}", -1, 0, 3000 },
			B("D{2:0}|CSELECT 3~|ZI"), F("QSELECT 2~"), B("CSELECT 1~|ZI"),
		};

		run_raw(WS_PROLE_CLIENT, s, 7, &k, got, sizeof(got));
		assert_string_equal(got, "R1:SELECT t X1:SELECT#3 R2:SELECT X2:SELECT#1");
	}
	/* a large reply whose tail (CommandComplete, ReadyForQuery) was not captured: the
	 * next request shows it ended; it completes truncated at the last server chunk */
	{
		const struct step s[] = {
			F(STARTUP), B(AUTH_OK), F("QSELECT * FROM big~"),
			{ 0, "T{2:0}|D{2:0}|D{2:0}", -1, 0, 9000 },
			F("QSELECT 2~"), B("CSELECT 1~|ZI"),
		};

		run_raw(WS_PROLE_CLIENT, s, 6, &k, got, sizeof(got));
		assert_string_equal(got, "R1:SELECT big X1~ R2:SELECT X2:SELECT#1");
		assert_int_equal(k.r[1].x.resp.last_enter_ns, 4000);  /* the 4th chunk */
	}
	/* a gap of known size inside a body: skipped */
	{
		const struct step s[] = {
			F(STARTUP), B(AUTH_OK), F("QSELECT * FROM t~"),
			B("T{2:0}|=D{4:110}{2:1}{4:100}"),
			{ 0, "D{2:0}|CSELECT 2~|ZI", -1, 100, 0 },
		};

		run_raw(WS_PROLE_CLIENT, s, 5, &k, got, sizeof(got));
		assert_string_equal(got, "R1:SELECT t X1:SELECT#2");
	}
	/* a gap larger than the body: the next header is lost */
	{
		const struct step s[] = {
			F(STARTUP), B(AUTH_OK), F("QSELECT * FROM t~"),
			B("T{2:0}|=D{4:110}{2:1}{4:100}"),
			{ 0, "D{2:0}|CSELECT 2~|ZI", -1, 120, 0 },
			F("QSELECT 1~"), B("CSELECT 1~|ZI"),
		};

		run_raw(WS_PROLE_CLIENT, s, 7, &k, got, sizeof(got));
		assert_string_equal(got, "R1:SELECT t X1~ R2:SELECT X2:SELECT#1");
	}
	/* bytes missing between frontend messages: pending requests fail, the reply to the
	 * lost bytes is skipped up to its ReadyForQuery, parsing resumes at the next flip */
	{
		const struct step s[] = {
			F(STARTUP), B(AUTH_OK), F("QSELECT 1~"),
			{ 1, "QSELECT 3~", -1, 5, 0 },
			B("CSELECT 1~|ZI|CSELECT 1~|ZI"),
			F("QSELECT * FROM t~"), B("CSELECT 4~|ZI"),
		};

		run_raw(WS_PROLE_CLIENT, s, 7, &k, got, sizeof(got));
		assert_string_equal(got, "R1:SELECT E1:framing_lost R2:SELECT t X2:SELECT#4");
	}
	/* no seq numbers: continuity is unknown, parsing goes on */
	{
		const struct step s[] = {
			F(STARTUP), B(AUTH_OK), { 1, "QSELECT 1~", -1, 0xffffffffu, 0 },
			{ 0, "CSELECT 1~|ZI", -1, 0xffffffffu, 0 },
		};

		run_raw(WS_PROLE_CLIENT, s, 4, &k, got, sizeof(got));
		assert_string_equal(got, "R1:SELECT X1:SELECT#1");
	}
	/* a header that was not captured at all (captured 0) */
	{
		const struct step s[] = {
			F(STARTUP), B(AUTH_OK), F("QSELECT 1~"),
			{ 0, "CSELECT 1~|ZI", 0, 0, 0 },
			F("QSELECT 2~"), B("CSELECT 1~|ZI"),
		};

		run_raw(WS_PROLE_CLIENT, s, 6, &k, got, sizeof(got));
		assert_string_equal(got, "R1:SELECT E1:framing_lost R2:SELECT X2:SELECT#1");
	}
	/* the password message is skipped unread, even when cut */
	{
		const struct step s[] = {
			F(STARTUP), B("R{4:3}"), { 1, "phunter2~", 6, 0, 0 }, B(AUTH_OK),
			F("QSELECT 1~"), B("CSELECT 1~|ZI"),
		};

		run_raw(WS_PROLE_CLIENT, s, 6, &k, got, sizeof(got));
		assert_string_equal(got, "R1:SELECT X1:SELECT#1");
	}
}

/* ---- attributes on a real span ---- */

static const struct ws_attr *attr(const struct ws_span *s, const char *key)
{
	return ws_span_find_attr(s, key);
}

static const char *attr_str(const struct ws_span *s, const char *key)
{
	const struct ws_attr *a = attr(s, key);

	return a ? ws_span_attr_str(s, a) : NULL;
}

static void test_attributes(void **state)
{
	static struct sink k;
	char got[2048];
	const struct step s[] = {
		F(STARTUP), B(AUTH_OK),
		F("QSELECT id FROM public.users WHERE name = 'bob' AND n IN (1, 2)~"),
		B("CSELECT 2~|ZI"),
		F("QDELETE FROM t WHERE secret = 'x'~"),
		B("ESERROR~VERROR~C23503~Mupdate or delete violates foreign key: value 'x' is used~~|ZI"),
	};
	const struct ws_span *sp;

	run_raw(WS_PROLE_CLIENT, s, 6, &k, got, sizeof(got));
	assert_string_equal(got, "R1:SELECT public.users X1:SELECT#2 R2:DELETE t X2!23503");
	sp = &k.r[1].span;
	assert_string_equal(sp->name, "SELECT public.users");
	assert_string_equal(attr_str(sp, "db.system.name"), "postgresql");
	assert_string_equal(attr_str(sp, "db.namespace"), "shop");
	assert_string_equal(attr_str(sp, "db.operation.name"), "SELECT");
	assert_string_equal(attr_str(sp, "db.query.summary"), "SELECT public.users");
	assert_string_equal(attr_str(sp, "db.query.text"), "SELECT id FROM public.users WHERE name = ? AND n IN (?, ?)");
	assert_int_equal(attr(sp, "db.response.returned_rows")->v.i, 2);
	assert_string_equal(attr_str(sp, "server.address"), "10.0.0.2");
	assert_int_equal(attr(sp, "server.port")->v.i, 5432);
	assert_int_equal(sp->status_code, WS_STATUS_UNSET);
	assert_null(attr(sp, "db.response.status_code"));

	sp = &k.r[3].span;
	assert_int_equal(sp->status_code, WS_STATUS_ERROR);
	assert_string_equal(sp->status_message, "23503");
	assert_string_equal(attr_str(sp, "db.response.status_code"), "23503");
	assert_string_equal(attr_str(sp, "error.type"), "23503");
	assert_string_equal(attr_str(sp, "db.query.text"), "DELETE FROM t WHERE secret = ?");
	/* no attribute carries the message text or a literal */
	for (int i = 0; i < sp->n_attrs; i++) {
		const struct ws_attr *a = &sp->attrs[i];

		if (a->type == WS_ATTR_STR) {
			assert_null(strstr(ws_span_attr_str(sp, a), "'x'"));
			assert_null(strstr(ws_span_attr_str(sp, a), "foreign"));
		}
	}
	assert_null(strstr(sp->status_message, "foreign"));
}

static void test_attributes_extended(void **state)
{
	static struct sink k;
	char got[2048];
	const struct step s[] = {
		{ 1, "!{4:196608}user~bob~~", -1, 0, 0 }, B(AUTH_OK),
		F("Pq~SELECT * FROM orders WHERE total > 100~{2:0}|B~q~{2:0}{2:0}{2:0}|E~{4:0}|S"),
		B("1|2|CSELECT 0~|ZI"),
		/* unknown statement (prepared before we looked): the tag names the operation */
		F("B~other~{2:0}{2:0}{2:0}|E~{4:0}|S"), B("2|CINSERT 0 1~|ZI"),
		/* the rest of the batch after an error */
		F("B~q~{2:0}{2:0}{2:0}|E~{4:0}|B~q~{2:0}{2:0}{2:0}|E~{4:0}|S"),
		B("2|ESERROR~C57014~Mcanceling statement~~|ZI"),
	};
	const struct ws_span *sp;

	run_raw(WS_PROLE_CLIENT, s, 8, &k, got, sizeof(got));
	assert_string_equal(got, "R1:SELECT orders X1:SELECT#0 R2:? X2:INSERT R3:SELECT orders R4:SELECT orders X3!57014 X4!aborted");
	sp = &k.r[1].span;
	assert_string_equal(attr_str(sp, "db.namespace"), "bob");   /* database defaults to user */
	assert_string_equal(attr_str(sp, "db.query.text"), "SELECT * FROM orders WHERE total > ?");
	sp = &k.r[3].span;
	assert_string_equal(sp->name, "INSERT");
	assert_string_equal(attr_str(sp, "db.operation.name"), "INSERT");
	assert_null(attr(sp, "db.query.text"));
	sp = &k.r[7].span;
	assert_int_equal(sp->status_code, WS_STATUS_ERROR);
	assert_string_equal(attr_str(sp, "error.type"), "pipeline_aborted");
	assert_null(attr(sp, "db.response.status_code"));
	assert_string_equal(sp->name, "SELECT orders");
}

/* Request times and seqs: an Execute's request starts at the first message of its
 * segment (its Parse/Bind), a Q at its own first byte. */
static void test_times(void **state)
{
	static struct sink k;
	struct runner u;
	struct buf b;
	uint32_t fe_seq0, q_seq;

	runner_init(&u, WS_PROLE_CLIENT, &k);
	build(&b, STARTUP);
	feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	build(&b, AUTH_OK);
	feed_chunk(&u, 0, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	fe_seq0 = u.seq[WS_PDIR_EGRESS];
	/* two chunks: Parse|Bind, then Execute|Sync; the Execute starts at the Parse */
	build(&b, "P~SELECT 1~{2:0}|B~~{2:0}{2:0}{2:0}");
	feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);      /* t=3000 */
	build(&b, "E~{4:0}|S");
	feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);      /* t=4000 */
	build(&b, "1|2");
	feed_chunk(&u, 0, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);      /* t=5000 */
	build(&b, "CSELECT 1~|ZI");
	feed_chunk(&u, 0, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);      /* t=6000 */
	build(&b, "QSELECT 2~");
	q_seq = u.seq[WS_PDIR_EGRESS];
	feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);      /* t=7000 */
	build(&b, "CSELECT 1~|ZI");
	feed_chunk(&u, 0, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);      /* t=8000 */
	runner_close(&u);

	assert_int_equal(k.n, 4);
	assert_int_equal(k.r[0].x.type, WS_X_REQUEST);
	assert_true(k.r[0].x.req.has_seq);
	assert_int_equal(k.r[0].x.req.seq, fe_seq0);
	assert_int_equal(k.r[0].x.req.first_enter_ns, 3000);
	assert_int_equal(k.r[0].x.req.last_enter_ns, 4000);
	assert_int_equal(k.r[1].x.resp.first_enter_ns, 5000);
	assert_int_equal(k.r[1].x.resp.last_enter_ns, 6000);
	assert_int_equal(k.r[2].x.req.first_enter_ns, 7000);
	assert_int_equal(k.r[2].x.req.seq, q_seq);
}

/* A message's first byte in the middle of a chunk: seq = chunk seq + offset. */
static void test_seq_offset(void **state)
{
	static struct sink k;
	struct runner u;
	struct buf b, b2;
	uint32_t base;

	runner_init(&u, WS_PROLE_CLIENT, &k);
	build(&b, STARTUP);
	feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	build(&b, AUTH_OK);
	feed_chunk(&u, 0, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	/* Sync, then a Query in the same chunk: the Q starts 5 bytes in */
	build(&b, "S|QSELECT 1~");
	base = u.seq[WS_PDIR_EGRESS];
	feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	build(&b2, "ZI|CSELECT 1~|ZI");
	feed_chunk(&u, 0, b2.b, (uint32_t)b2.n, (uint32_t)b2.n, 0, 0);
	runner_close(&u);
	assert_int_equal(k.r[0].x.type, WS_X_REQUEST);
	assert_int_equal(k.r[0].x.req.seq, base + 5);
	assert_string_equal(k.r[1].tag, "SELECT");
}

/* ---- real captures ---- */

static void run_capture(const struct pg_step *st, size_t n, int split_i, size_t split_at, struct sink *k,
			char *got, size_t cap)
{
	struct runner u;

	runner_init(&u, WS_PROLE_CLIENT, k);
	for (size_t i = 0; i < n; i++) {
		if ((int)i == split_i && split_at > 0 && split_at < st[i].len) {
			feed_chunk(&u, st[i].fe, st[i].data, (uint32_t)split_at, (uint32_t)split_at, 0, 0);
			feed_chunk(&u, st[i].fe, st[i].data + split_at, (uint32_t)(st[i].len - split_at),
				   (uint32_t)(st[i].len - split_at), 0, 0);
		} else {
			feed_chunk(&u, st[i].fe, st[i].data, (uint32_t)st[i].len, (uint32_t)st[i].len, 0, 0);
		}
	}
	runner_close(&u);
	summarise(k, got, cap);
}

static void check_capture(const char *name, const struct pg_step *st, size_t n, const char *want)
{
	static struct sink k;
	static char got[4096];

	run_capture(st, n, -1, 0, &k, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s:\n  got  %s\n  want %s", name, got, want);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 1; j < st[i].len; j++) {
			run_capture(st, n, (int)i, j, &k, got, sizeof(got));
			if (strcmp(got, want) != 0)
				fail_msg("%s split %zu@%zu:\n  got  %s\n  want %s", name, i, j, got, want);
		}
	}
}

static void test_real_captures(void **state)
{
	static struct sink k;
	static char got[4096];

	check_capture("psql", cap_psql, sizeof(cap_psql) / sizeof(cap_psql[0]),
		      "R1:SELECT users X1:SELECT#1");
	check_capture("simple", cap_simple, sizeof(cap_simple) / sizeof(cap_simple[0]),
		      "R1:SELECT users X1:SELECT#1 R2:INSERT users X2:INSERT R3:UPDATE users X3:UPDATE "
		      "R4:SELECT nosuch X4!42P01 R5:BEGIN X5:BEGIN R6:? X6 R7:DELETE users X7:DELETE");
	check_capture("extended", cap_extended, sizeof(cap_extended) / sizeof(cap_extended[0]),
		      "R1:SELECT users X1:SELECT#1 R2:UPDATE users X2:UPDATE R3:UPDATE users X3:UPDATE "
		      "R4:SELECT users R5:SELECT users R6:INSERT users X4#1 X5:SELECT#1 X6:INSERT "
		      "R7:INSERT users R8:UPDATE users X7!23505 X8!aborted R9:SELEC X9!42601");
	/* texts: sanitised, never a literal */
	run_capture(cap_simple, sizeof(cap_simple) / sizeof(cap_simple[0]), -1, 0, &k, got, sizeof(got));
	assert_string_equal(k.r[0].query, "SELECT id, name FROM users WHERE id = ?");
	assert_string_equal(k.r[2].query, "INSERT INTO users VALUES (?, ?)");
	assert_string_equal(k.r[0].db, "shop");
	run_capture(cap_extended, sizeof(cap_extended) / sizeof(cap_extended[0]), -1, 0, &k, got, sizeof(got));
	assert_string_equal(k.r[2].query, "UPDATE users SET name = $2 WHERE id = $1");
	for (int i = 0; i < k.n; i++) {
		assert_null(strstr(k.r[i].query, "bobby"));
		assert_null(strstr(k.r[i].query, "dup"));
	}
}

/* ---- detection ---- */

static void test_detect(void **state)
{
	struct buf b;
	const struct ws_proto_ops *o = &ws_proto_postgres;

	build(&b, STARTUP);
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_YES);
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_INGRESS, WS_PROLE_SERVER, 5432), WS_DETECT_YES);
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_UNKNOWN, 1), WS_DETECT_YES);
	/* a server does not write startup packets */
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_INGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_NO);
	assert_int_equal(o->detect(b.b, 4, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_MORE);
	build(&b, "!{4:80877103}");
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_YES);
	build(&b, "!{4:80877104}");
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_YES);
	build(&b, "!{4:80877102}{4:1}{4:2}");
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_YES);
	build(&b, "!{4:80877103}xx");   /* SSLRequest is exactly 8 bytes */
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_NO);
	build(&b, "!{4:131072}user~x~~");
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_NO);
	/* mid-stream: Q / P with a plausible SQL text */
	build(&b, "QSELECT 1~");
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_YES);
	build(&b, "Q  /* c */ select * from t~");
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_YES);
	build(&b, "P~SELECT $1~{2:1}{4:23}|B~~{2:0}{2:0}{2:0}|E~{4:0}|S");
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_YES);
	build(&b, "Pstmt_1~INSERT INTO t VALUES ($1)~{2:0}");
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_YES);
	build(&b, "P~SELECT $1~{2:2}{4:23}");   /* type count does not match the length */
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_NO);
	build(&b, "QHELLO world~");
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_NO);
	build(&b, "QSELECT\x01 1~");
	assert_int_equal(o->detect(b.b, (uint32_t)b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_NO);
	/* other protocols are not stolen */
	{
		static const char *const other[] = {
			"POST /v1/traces HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET / HTTP/1.1\r\n\r\n",
			"QUIT\r\n",
			"*1\r\n$4\r\nPING\r\n",
			"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
			"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		};

		for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
			assert_int_equal(o->detect((const uint8_t *)other[i], (uint32_t)strlen(other[i]), WS_PDIR_EGRESS,
						   WS_PROLE_CLIENT, 5432), WS_DETECT_NO);
		/* MySQL COM_QUERY with a 0x51-byte length */
		{
			uint8_t my[0x55] = { 0x51, 0, 0, 0, 3, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1' };

			assert_int_equal(o->detect(my, sizeof(my), WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306), WS_DETECT_NO);
		}
	}
	assert_int_equal(o->detect((const uint8_t *)"Q", 1, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_MORE);
	assert_int_equal(o->detect(NULL, 0, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432), WS_DETECT_MORE);
}

static void test_ops(void **state)
{
	const struct ws_proto_ops *o = ws_proto_by_id(WS_PROTO_POSTGRES);
	void *st;

	assert_ptr_equal(o, &ws_proto_postgres);
	assert_string_equal(o->name, "postgresql");
	assert_int_equal(o->err_closed, WS_PG_ERR_CLOSED);
	for (unsigned i = 1; i < o->n_errors; i++)
		assert_string_not_equal(o->error_name(i), "unknown");
	st = o->init(WS_PROLE_UNKNOWN);
	assert_int_equal(o->role(st), WS_PROLE_UNKNOWN);
	assert_int_equal(o->capture(st), WS_CAPTURE_DEFAULT);
	o->free(st);
}

/* A role learned from the bytes: startup seen ingress makes the traced process the server. */
static void test_role_learning(void **state)
{
	static struct sink k;
	struct buf b;
	struct ws_chunk ch = { .tid = 1, .enter_ns = 1, .exit_ns = 2 };
	void *st = ws_proto_postgres.init(WS_PROLE_UNKNOWN);

	memset(&k, 0, sizeof(k));
	build(&b, STARTUP);
	ch.data = b.b;
	ch.captured = ch.len = (uint32_t)b.n;
	ws_proto_postgres.feed(st, WS_PDIR_INGRESS, &ch, on_rec, &k);
	assert_int_equal(ws_proto_postgres.role(st), WS_PROLE_SERVER);
	ws_proto_postgres.free(st);

	st = ws_proto_postgres.init(WS_PROLE_UNKNOWN);
	build(&b, "CSELECT 1~|ZI");
	ch.data = b.b;
	ch.captured = ch.len = (uint32_t)b.n;
	ws_proto_postgres.feed(st, WS_PDIR_INGRESS, &ch, on_rec, &k);
	assert_int_equal(ws_proto_postgres.role(st), WS_PROLE_CLIENT);
	ws_proto_postgres.free(st);
}

/* TLS accepted: the parser is done with the connection (capture off, feed refuses
 * more) and says the connection continues in TLS, which is not a loss: no record. A
 * GSSAPI-encrypted connection is a loss (nothing after it can be read). */
static void test_tls_capture_off(void **state)
{
	static struct sink k;
	struct runner u;
	struct buf b;

	runner_init(&u, WS_PROLE_CLIENT, &k);
	build(&b, "!{4:80877103}");
	feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	assert_int_equal(ws_proto_postgres.capture(u.st), WS_CAPTURE_DEFAULT);
	build(&b, "=S");
	feed_chunk(&u, 0, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	assert_int_equal(u.rc, WS_FEED_TLS);
	assert_int_equal(k.n, 0);
	assert_int_equal(ws_proto_postgres.capture(u.st), WS_CAPTURE_OFF);
	runner_close(&u);

	runner_init(&u, WS_PROLE_CLIENT, &k);
	build(&b, "!{4:80877104}");
	feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	build(&b, "=G");
	feed_chunk(&u, 0, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	assert_int_equal(u.rc, -1);
	assert_int_equal(k.n, 1);
	runner_close(&u);
}

/* Bounds: the statement map evicts (counted), the queue overflows (counted) and the
 * requests after it in the same batch are not tracked, while the next batch is. */
static void test_bounds(void **state)
{
	static struct sink k;
	static struct buf b;
	struct runner u;
	char spec[128];
	int evicted = 0, full = 0, x = 0;

	runner_init(&u, WS_PROLE_CLIENT, &k);
	build(&b, STARTUP);
	feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	build(&b, AUTH_OK);
	feed_chunk(&u, 0, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	for (int i = 0; i < 70; i++) {
		snprintf(spec, sizeof(spec), "Ps%d~SELECT * FROM t%d~{2:0}|S", i, i);
		build(&b, spec);
		feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
		build(&b, "1|ZI");
		feed_chunk(&u, 0, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	}
	/* s0..s5 were evicted (least recently used), s69 is still known */
	build(&b, "B~s69~{2:0}{2:0}{2:0}|E~{4:0}|B~s0~{2:0}{2:0}{2:0}|E~{4:0}|S");
	feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	build(&b, "2|CSELECT 0~|2|CSELECT 0~|ZI");
	feed_chunk(&u, 0, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	/* 130 Executes in one batch: the queue holds 128 */
	{
		struct buf *big = calloc(1, sizeof(*big));
		struct buf one;

		assert_non_null(big);
		build(big, "P~SELECT 1~{2:0}|B~~{2:0}{2:0}{2:0}");
		for (int i = 0; i < 130; i++) {
			build(&one, "E~{4:0}");
			put(big, one.b, one.n);
		}
		build(&one, "S");
		put(big, one.b, one.n);
		feed_chunk(&u, 1, big->b, (uint32_t)big->n, (uint32_t)big->n, 0, 0);
		build(big, "1|2");
		for (int i = 0; i < 130; i++) {
			build(&one, "CSELECT 1~");
			put(big, one.b, one.n);
		}
		build(&one, "ZI");
		put(big, one.b, one.n);
		feed_chunk(&u, 0, big->b, (uint32_t)big->n, (uint32_t)big->n, 0, 0);
		free(big);
	}
	/* the next batch is tracked again */
	build(&b, "QSELECT 2~");
	feed_chunk(&u, 1, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	build(&b, "CSELECT 1~|ZI");
	feed_chunk(&u, 0, b.b, (uint32_t)b.n, (uint32_t)b.n, 0, 0);
	runner_close(&u);
	for (int i = 0; i < k.n; i++) {
		if (k.r[i].x.type == WS_X_ERROR && k.r[i].x.err == WS_PG_ERR_EVICTED)
			evicted++;
		if (k.r[i].x.type == WS_X_ERROR && k.r[i].x.err == WS_PG_ERR_QUEUE_FULL)
			full++;
		if (k.r[i].x.type == WS_X_EXCHANGE)
			x++;
	}
	assert_int_equal(evicted, 6);
	/* 128 pending failed + the 129th and 130th not tracked */
	assert_int_equal(full, 130);
	assert_int_equal(x, 3);
	assert_string_equal(k.r[k.n - 1].summary, "SELECT");
	assert_string_equal(k.r[k.n - 1].tag, "SELECT");
	/* s69 kept its text; s0 was forgotten */
	for (int i = 0; i < k.n; i++) {
		if (k.r[i].x.type == WS_X_REQUEST && k.r[i].x.req_index == 1)
			assert_string_equal(k.r[i].summary, "SELECT t69");
		if (k.r[i].x.type == WS_X_REQUEST && k.r[i].x.req_index == 2)
			assert_string_equal(k.r[i].summary, "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_partial_captures),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_attributes_extended),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_seq_offset),
		cmocka_unit_test(test_real_captures),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_ops),
		cmocka_unit_test(test_role_learning),
		cmocka_unit_test(test_tls_capture_off),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
