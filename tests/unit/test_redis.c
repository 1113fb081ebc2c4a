/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Redis (RESP2/RESP3) parser tests. Most cases are a table: a script of chunks (request
 * or reply direction, bytes, real length, captured length, bytes missing before it) and
 * the expected record summary; every fully captured chunk is also fed split at every
 * byte. Byte vectors marked "real" were recorded between redis-server 7.0 and
 * redis-cli / a raw socket client through a recording proxy.
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

#include "agent/proto/redis.h"
#include "agent/span.h"
#include "headers/wirespan_abi.h"

#define MAXREC 2048

struct rec1 {
	struct ws_exchange x;
	struct redis_req req;
	struct redis_reply rep;
	int32_t db;
	bool has_req, has_rep;
};

struct rec {
	int n;
	struct rec1 r[MAXREC];
};

static void on_x(void *ctx, const struct ws_exchange *x)
{
	struct rec *r = ctx;
	const struct redis_detail *det = x->detail;
	struct rec1 *o;

	assert_true(r->n < MAXREC);
	o = &r->r[r->n++];
	memset(o, 0, sizeof(*o));
	o->x = *x;
	o->x.detail = NULL;
	assert_non_null(det);
	assert_int_equal(x->proto, WS_PROTO_REDIS);
	if (det->req) {
		o->req = *det->req;
		o->has_req = true;
	}
	if (det->rep) {
		o->rep = *det->rep;
		o->has_rep = true;
	}
	o->db = det->db;
	assert_int_equal(o->has_req, x->has_request);
	assert_int_equal(o->has_rep, x->has_response);
}

/* ---- script runner -------------------------------------------------------------- */

struct step {
	char dir;              /* 'q' request direction, 'r' reply direction, 'c' close, 0 end */
	const char *data;
	int64_t len;           /* real length; -1: the data's length */
	int64_t cap;           /* captured bytes; -1: all of the data */
	uint32_t gap;          /* bytes missing before this chunk (sequence jump) */
	size_t dlen;           /* data length when it holds NUL bytes; 0: strlen */
};

#define REQ_SEQ0 1000u
#define RESP_SEQ0 0xfffffff0u  /* wraps around zero */

struct runner {
	void *st;
	enum ws_prole role;
	uint32_t seq[2];
	int stepno;
	int last_rc;
	struct rec *r;
};

static enum ws_pdir dir_for(enum ws_prole role, char d)
{
	bool req = d == 'q';

	if (role == WS_PROLE_SERVER)
		return req ? WS_PDIR_INGRESS : WS_PDIR_EGRESS;
	return req ? WS_PDIR_EGRESS : WS_PDIR_INGRESS;   /* client, and unknown: egress first */
}

static void runner_init(struct runner *u, enum ws_prole role)
{
	memset(u, 0, sizeof(*u));
	u->role = role;
	u->st = ws_proto_redis.init(role);
	assert_non_null(u->st);
	u->seq[dir_for(role, 'q')] = REQ_SEQ0;
	u->seq[dir_for(role, 'r')] = RESP_SEQ0;
	u->r = calloc(1, sizeof(*u->r));
	assert_non_null(u->r);
}

static void runner_fini(struct runner *u)
{
	ws_proto_redis.free(u->st);
	free(u->r);
}

static void feed_raw(struct runner *u, char d, const char *data, uint32_t dl, uint32_t len, uint32_t cap,
		     uint32_t gap)
{
	int i = ++u->stepno;
	enum ws_pdir dir = dir_for(u->role, d);
	struct ws_chunk ch = {
		.data = (const uint8_t *)data,
		.captured = cap,
		.len = len,
		.tid = 100 + (uint32_t)i,
		.enter_ns = 1000ull * (uint64_t)i,
		.exit_ns = 1000ull * (uint64_t)i + 500,
		.has_seq = true,
	};

	assert_true(cap <= dl);
	u->seq[dir] += gap;
	ch.seq = u->seq[dir];
	u->seq[dir] += len;
	u->last_rc = ws_proto_redis.feed(u->st, dir, &ch, on_x, u->r);
}

/* Chunk number i (1-based) has enter 1000*i, exit 1000*i+500, tid 100+i. */
static void run_step(struct runner *u, const struct step *s)
{
	size_t dl = s->dlen ? s->dlen : (s->data ? strlen(s->data) : 0);

	if (s->dir == 'c') {
		u->stepno++;
		ws_proto_redis.close(u->st, 1000ull * (uint64_t)u->stepno, on_x, u->r);
		return;
	}
	feed_raw(u, s->dir, s->data, (uint32_t)dl, (uint32_t)(s->len >= 0 ? (size_t)s->len : dl),
		 (uint32_t)(s->cap >= 0 ? (size_t)s->cap : dl), s->gap);
}

static void append(char *out, size_t n, const char *fmt, ...)
{
	size_t l = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + l, n - l, fmt, ap);
	va_end(ap);
}

/* One item per record: "R1 GET", "X1 GET $", "X2 LPUSH -WRONGTYPE", "E:gap#1", "E:gap";
 * "?" for an unknown command, "@N" a database index other than 0, flags in brackets:
 * t truncated, u uncaptured, n no response. */
static void summarize(const struct rec *r, int from, int to, char *out, size_t n)
{
	out[0] = '\0';
	for (int i = from; i < to; i++) {
		const struct rec1 *e = &r->r[i];
		char fl[16] = "";

		if (i > from)
			append(out, n, "; ");
		if (e->x.truncated)
			strcat(fl, "t");
		if (e->x.uncaptured)
			strcat(fl, "u");
		switch (e->x.type) {
		case WS_X_REQUEST:
			append(out, n, "R%u %s", e->x.req_index, e->req.op[0] ? e->req.op : "?");
			break;
		case WS_X_EXCHANGE:
			append(out, n, "X%u %s ", e->x.req_index, e->req.op[0] ? e->req.op : "?");
			if (!e->has_rep)
				strcat(fl, "n");
			else if (e->rep.type)
				append(out, n, "%c%s", e->rep.type, e->rep.error ? e->rep.err_code : "");
			else
				append(out, n, "0");
			if (e->db != 0)
				append(out, n, "@%d", e->db);
			break;
		case WS_X_ERROR:
			append(out, n, "E:%s", resp_error_name(e->x.err));
			if (e->x.has_request)
				append(out, n, "#%u", e->x.req_index);
			fl[0] = '\0';
			break;
		default:
			append(out, n, "?%u", e->x.type);
		}
		if (fl[0])
			append(out, n, "[%s]", fl);
	}
}

/* The record contract of proto.h. */
static void check_contract(const struct rec *r)
{
	static uint8_t state[4096];   /* 0 unseen, 1 announced, 2 ended */

	memset(state, 0, sizeof(state));
	for (int i = 0; i < r->n; i++) {
		const struct ws_exchange *x = &r->r[i].x;

		assert_true(x->req_index < sizeof(state));
		if (x->type == WS_X_REQUEST) {
			assert_true(x->has_request && !x->has_response);
			assert_int_equal(state[x->req_index], 0);
			state[x->req_index] = 1;
		} else if (x->type == WS_X_EXCHANGE || (x->type == WS_X_ERROR && x->has_request)) {
			assert_int_equal(state[x->req_index], 1);
			state[x->req_index] = 2;
		} else {
			assert_int_equal(x->type, WS_X_ERROR);
			assert_int_equal(x->req_index, 0);
			assert_true(x->err > 0 && x->err < RESP_ERR__MAX);
		}
	}
	for (size_t k = 0; k < sizeof(state); k++)
		assert_int_not_equal(state[k], 1);
}

struct tcase {
	const char *name;
	enum ws_prole role;
	struct step steps[20];
	const char *expect;
	int rc;                /* return of the last feed */
};

#define Q(s) { 'q', (s), -1, -1, 0, 0 }
#define R(s) { 'r', (s), -1, -1, 0, 0 }
#define CLOSE { 'c', NULL, -1, -1, 0, 0 }

#define SET_K1 "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$5\r\nhello\r\n"
#define GET_A "*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
#define PING "*1\r\n$4\r\nPING\r\n"
#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define HELLO3 "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
#define HELLO3_REPLY "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n" \
	"$2\r\nid\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
#define DBG(t) "*3\r\n$5\r\nDEBUG\r\n$8\r\nPROTOCOL\r\n$" #t "\r\n"
#define COMMAND_DOCS_HEAD "*480\r\n$6\r\ngetdel\r\n*10\r\n$7\r\nsummary\r\n$41\r\nGet the value of a key and " \
	"delete the key\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n"

static const struct tcase cases[] = {
	{ "real: SET +OK", WS_PROLE_CLIENT, { Q(SET_K1), R("+OK\r\n") }, "R1 SET; X1 SET +", 0 },
	{ "real: keep-alive, bulk, integer, array, error", WS_PROLE_CLIENT,
	  { Q(GET_A), R("$1\r\n1\r\n"), Q("*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\nv\r\n"), R(":1\r\n"),
	    Q("*2\r\n$7\r\nHGETALL\r\n$1\r\nh\r\n"), R("*2\r\n$1\r\nf\r\n$1\r\nv\r\n"),
	    Q("*3\r\n$5\r\nLPUSH\r\n$1\r\na\r\n$1\r\nx\r\n"), R(WRONGTYPE) },
	  "R1 GET; X1 GET $; R2 HSET; X2 HSET :; R3 HGETALL; X3 HGETALL *; R4 LPUSH; X4 LPUSH -WRONGTYPE", 0 },
	{ "real: server role, requests are ingress", WS_PROLE_SERVER,
	  { Q(SET_K1), R("+OK\r\n"), Q(GET_A), R("$-1\r\n") }, "R1 SET; X1 SET +; R2 GET; X2 GET $", 0 },
	{ "real: pipelining with SELECT, one chunk each way", WS_PROLE_CLIENT,
	  { Q("*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
	      "*3\r\n$4\r\nHGET\r\n$1\r\nk\r\n$1\r\nf\r\n*3\r\n$4\r\nEVAL\r\n$8\r\nreturn 1\r\n$1\r\n0\r\n"),
	    R("+OK\r\n+OK\r\n$1\r\nv\r\n" WRONGTYPE ":1\r\n") },
	  "R1 SELECT; R2 SET; R3 GET; R4 HGET; R5 EVAL; X1 SELECT +@2; X2 SET +@2; X3 GET $@2; "
	  "X4 HGET -WRONGTYPE@2; X5 EVAL :@2", 0 },
	{ "replies split oddly across chunks", WS_PROLE_CLIENT,
	  { Q(GET_A GET_A GET_A), R("$5\r\nhel"), R("lo\r\n$-"), R("1\r\n*2\r\n:1"), R("\r\n$0\r\n\r\n") },
	  "R1 GET; R2 GET; R3 GET; X1 GET $; X2 GET $; X3 GET *", 0 },
	{ "real: MULTI/EXEC, every command its own exchange", WS_PROLE_CLIENT,
	  { Q("*1\r\n$5\r\nMULTI\r\n"), R("+OK\r\n"), Q("*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"), R("+QUEUED\r\n"),
	    Q("*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n"), R("+QUEUED\r\n"), Q("*3\r\n$5\r\nLPUSH\r\n$1\r\nb\r\n$1\r\nz\r\n"),
	    R("+QUEUED\r\n"), Q("*1\r\n$4\r\nEXEC\r\n"), R("*3\r\n+OK\r\n:3\r\n" WRONGTYPE) },
	  "R1 MULTI; X1 MULTI +; R2 SET; X2 SET +; R3 INCR; X3 INCR +; R4 LPUSH; X4 LPUSH +; R5 EXEC; X5 EXEC *", 0 },
	{ "real: EXECABORT", WS_PROLE_CLIENT,
	  { Q("*1\r\n$5\r\nMULTI\r\n"), R("+OK\r\n"), Q("*2\r\n$3\r\nSET\r\n$1\r\na\r\n"),
	    R("-ERR wrong number of arguments for 'set' command\r\n"), Q("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"),
	    R("+QUEUED\r\n"), Q("*1\r\n$4\r\nEXEC\r\n"), R("-EXECABORT Transaction discarded because of previous errors.\r\n") },
	  "R1 MULTI; X1 MULTI +; R2 SET; X2 SET -ERR; R3 SET; X3 SET +; R4 EXEC; X4 EXEC -EXECABORT", 0 },
	{ "SELECT queued in MULTI takes effect at EXEC", WS_PROLE_CLIENT,
	  { Q("*1\r\n$5\r\nMULTI\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*1\r\n$4\r\nEXEC\r\n" GET_A),
	    R("+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n$-1\r\n") },
	  "R1 MULTI; R2 SELECT; R3 EXEC; R4 GET; X1 MULTI +; X2 SELECT +; X3 EXEC *@5; X4 GET $@5", 0 },
	{ "SELECT queued then DISCARD, or EXEC aborted by WATCH", WS_PROLE_CLIENT,
	  { Q("*1\r\n$5\r\nMULTI\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*1\r\n$7\r\nDISCARD\r\n"),
	    R("+OK\r\n+QUEUED\r\n+OK\r\n"), Q("*1\r\n$5\r\nMULTI\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n6\r\n*1\r\n$4\r\nEXEC\r\n"),
	    R("+OK\r\n+QUEUED\r\n*-1\r\n"), Q(GET_A), R("$-1\r\n") },
	  "R1 MULTI; R2 SELECT; R3 DISCARD; X1 MULTI +; X2 SELECT +; X3 DISCARD +; R4 MULTI; R5 SELECT; R6 EXEC; "
	  "X4 MULTI +; X5 SELECT +; X6 EXEC *; R7 GET; X7 GET $", 0 },
	{ "failed SELECT keeps the database", WS_PROLE_CLIENT,
	  { Q("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"), R("+OK\r\n"), Q("*2\r\n$6\r\nSELECT\r\n$2\r\n99\r\n"),
	    R("-ERR DB index is out of range\r\n"), Q(GET_A), R("$-1\r\n") },
	  "R1 SELECT; X1 SELECT +@3; R2 SELECT; X2 SELECT -ERR@3; R3 GET; X3 GET $@3", 0 },
	{ "RESET returns to database 0", WS_PROLE_CLIENT,
	  { Q("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"), R("+OK\r\n"), Q("*1\r\n$5\r\nRESET\r\n"), R("+RESET\r\n"),
	    Q(GET_A), R("$-1\r\n") },
	  "R1 SELECT; X1 SELECT +@3; R2 RESET; X2 RESET +; R3 GET; X3 GET $", 0 },
	{ "real: HELLO 3 and RESP3 types", WS_PROLE_CLIENT,
	  { Q(HELLO3), R(HELLO3_REPLY), Q(DBG(6) "double\r\n"), R(",3.141\r\n"), Q(DBG(6) "bignum\r\n"),
	    R("(1234567999999999999999999999999999999\r\n"), Q(DBG(4) "null\r\n"), R("_\r\n"),
	    Q(DBG(3) "set\r\n"), R("~3\r\n:0\r\n:1\r\n:2\r\n"), Q(DBG(3) "map\r\n"),
	    R("%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"), Q(DBG(8) "verbatim\r\n"),
	    R("=29\r\ntxt:This is a verbatim\nstring\r\n"), Q(DBG(4) "true\r\n"), R("#t\r\n") },
	  "R1 HELLO; X1 HELLO %; R2 DEBUG PROTOCOL; X2 DEBUG PROTOCOL ,; R3 DEBUG PROTOCOL; X3 DEBUG PROTOCOL (; "
	  "R4 DEBUG PROTOCOL; X4 DEBUG PROTOCOL _; R5 DEBUG PROTOCOL; X5 DEBUG PROTOCOL ~; R6 DEBUG PROTOCOL; "
	  "X6 DEBUG PROTOCOL %; R7 DEBUG PROTOCOL; X7 DEBUG PROTOCOL =; R8 DEBUG PROTOCOL; X8 DEBUG PROTOCOL #", 0 },
	{ "real: attribute before the reply", WS_PROLE_CLIENT,
	  { Q(DBG(6) "attrib\r\n"),
	    R("|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n") },
	  "R1 DEBUG PROTOCOL; X1 DEBUG PROTOCOL $", 0 },
	{ "attribute on a nested element", WS_PROLE_CLIENT,
	  { Q(GET_A), R("*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nx\r\n:2\r\n") }, "R1 GET; X1 GET *", 0 },
	{ "real: push before the real reply is not paired", WS_PROLE_CLIENT,
	  { Q(DBG(4) "push\r\n"), R(">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push reply\r\n") },
	  "R1 DEBUG PROTOCOL; X1 DEBUG PROTOCOL $", 0 },
	{ "real: client tracking invalidation after the reply", WS_PROLE_CLIENT,
	  { Q("*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n"), R("+OK\r\n"), Q("*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$1\r\nx\r\n"),
	    R("+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk1\r\n"), Q(PING), R("+PONG\r\n") },
	  "R1 CLIENT TRACKING; X1 CLIENT TRACKING +; R2 SET; X2 SET +; R3 PING; X3 PING +", 0 },
	{ "invalidation push with nothing pending", WS_PROLE_CLIENT,
	  { Q(PING), R("+PONG\r\n"), R(">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk1\r\n"), Q(PING), R("+PONG\r\n") },
	  "R1 PING; X1 PING +; R2 PING; X2 PING +", 0 },
	{ "real: RESP2 subscribe mode", WS_PROLE_CLIENT,
	  { Q("*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nc1\r\n*3\r\n$10\r\nPSUBSCRIBE\r\n$2\r\np*\r\n$2\r\nq*\r\n"),
	    R("*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n"
	      "*3\r\n$10\r\npsubscribe\r\n$2\r\nq*\r\n:3\r\n"),
	    R("*3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$3\r\nmsg\r\n"), Q(PING), R("*2\r\n$4\r\npong\r\n$0\r\n\r\n"),
	    Q("*1\r\n$11\r\nUNSUBSCRIBE\r\n*1\r\n$12\r\nPUNSUBSCRIBE\r\n"),
	    R("*3\r\n$11\r\nunsubscribe\r\n$2\r\nc1\r\n:2\r\n*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:1\r\n"
	      "*3\r\n$12\r\npunsubscribe\r\n$2\r\nq*\r\n:0\r\n"),
	    Q(PING), R("+PONG\r\n") },
	  "R1 SUBSCRIBE; R2 PSUBSCRIBE; X1 SUBSCRIBE *; X2 PSUBSCRIBE *; R3 PING; X3 PING *; R4 UNSUBSCRIBE; "
	  "R5 PUNSUBSCRIBE; X4 UNSUBSCRIBE *; X5 PUNSUBSCRIBE *; R6 PING; X6 PING +", 0 },
	{ "RESP2: after the last unsubscribe an array reply is a reply again", WS_PROLE_CLIENT,
	  { Q("*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nc1\r\n"), R("*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n"),
	    Q("*1\r\n$11\r\nUNSUBSCRIBE\r\n"), R("*3\r\n$11\r\nunsubscribe\r\n$2\r\nc1\r\n:0\r\n"),
	    Q("*2\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n"), R("*2\r\n$7\r\nmessage\r\n$1\r\nx\r\n") },
	  "R1 SUBSCRIBE; X1 SUBSCRIBE *; R2 UNSUBSCRIBE; X2 UNSUBSCRIBE *; R3 LRANGE; X3 LRANGE *", 0 },
	{ "real: RESP3 subscribe: pushes", WS_PROLE_CLIENT,
	  { Q(HELLO3), R(HELLO3_REPLY), Q("*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nc1\r\n"), R(">3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n"),
	    R(">3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$3\r\nmsg\r\n"), Q("*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n"), R("$1\r\nx\r\n"),
	    Q(PING), R("+PONG\r\n"), Q("*1\r\n$5\r\nRESET\r\n"), R("+RESET\r\n") },
	  "R1 HELLO; X1 HELLO %; R2 SUBSCRIBE; X2 SUBSCRIBE >; R3 GET; X3 GET $; R4 PING; X4 PING +; R5 RESET; X5 RESET +", 0 },
	{ "RESP3: an array whose first element is \"message\" is a reply", WS_PROLE_CLIENT,
	  { Q("*2\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n"), R("*2\r\n$7\r\nmessage\r\n$1\r\nx\r\n") },
	  "R1 LRANGE; X1 LRANGE *", 0 },
	{ "real: inline commands", WS_PROLE_CLIENT,
	  { Q("PING\r\nSET x 5\r\nGET x\r\n"), R("+PONG\r\n+OK\r\n$1\r\n5\r\n") },
	  "R1 PING; R2 SET; R3 GET; X1 PING +; X2 SET +; X3 GET $", 0 },
	{ "inline: empty lines ignored, LF only, lower case, SELECT", WS_PROLE_SERVER,
	  { Q("\r\n\r\nselect 4\n  \r\nget \"a b\"\r\n"), R("+OK\r\n$-1\r\n") },
	  "R1 SELECT; R2 GET; X1 SELECT +@4; X2 GET $@4", 0 },
	{ "inline: control byte is a bad request", WS_PROLE_SERVER,
	  { Q(PING), R("+PONG\r\n"), Q("GET \x01x\r\n"), R("-ERR unknown command\r\n"), Q(PING), R("+PONG\r\n") },
	  "R1 PING; X1 PING +; E:bad_request; E:reply_without_request; R2 PING; X2 PING +", 0 },
	{ "two-word commands", WS_PROLE_CLIENT,
	  { Q("*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$3\r\nfoo\r\n*3\r\n$6\r\nCONFIG\r\n$3\r\nget\r\n$9\r\nmaxmemory\r\n"
	      "*3\r\n$6\r\nOBJECT\r\n$8\r\nENCODING\r\n$1\r\na\r\n*1\r\n$7\r\nCOMMAND\r\n*2\r\n$6\r\nCONFIG\r\n$4\r\nG3T!\r\n"),
	    R("+OK\r\n*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n$3\r\nint\r\n*0\r\n-ERR unknown subcommand\r\n") },
	  "R1 CLIENT SETNAME; R2 CONFIG GET; R3 OBJECT ENCODING; R4 COMMAND; R5 CONFIG; X1 CLIENT SETNAME +; "
	  "X2 CONFIG GET *; X3 OBJECT ENCODING $; X4 COMMAND *; X5 CONFIG -ERR", 0 },
	{ "command names with digits, quotes or too long are not kept", WS_PROLE_CLIENT,
	  { Q("*1\r\n$4\r\nGET2\r\n*1\r\n$5\r\n'GET'\r\n*1\r\n$40\r\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n*1\r\n$8\r\nJSON.SET\r\n"),
	    R("-ERR unknown command\r\n-ERR unknown command\r\n-ERR unknown command\r\n+OK\r\n") },
	  "R1 ?; R2 ?; R3 ?; R4 JSON.SET; X1 ? -ERR; X2 ? -ERR; X3 ? -ERR; X4 JSON.SET +", 0 },
	{ "error codes: only an upper-case first word", WS_PROLE_CLIENT,
	  { Q(GET_A GET_A GET_A GET_A), R("-ERR\r\n-Bad thing happened\r\n!21\r\nSYNTAX invalid syntax\r\n-MOVED 3999 127.0.0.1:6381\r\n") },
	  "R1 GET; R2 GET; R3 GET; R4 GET; X1 GET -ERR; X2 GET -; X3 GET !SYNTAX; X4 GET -MOVED", 0 },
	{ "empty and negative command arrays are ignored", WS_PROLE_CLIENT,
	  { Q("*0\r\n*-1\r\n" PING), R("+PONG\r\n") }, "R1 PING; X1 PING +", 0 },
	{ "nulls and empty aggregates", WS_PROLE_CLIENT,
	  { Q(GET_A GET_A GET_A GET_A), R("$-1\r\n*-1\r\n*0\r\n%0\r\n") },
	  "R1 GET; R2 GET; R3 GET; R4 GET; X1 GET $; X2 GET *; X3 GET *; X4 GET %", 0 },
	{ "nested aggregates", WS_PROLE_CLIENT,
	  { Q(GET_A), R("*2\r\n*2\r\n%1\r\n+a\r\n~1\r\n*1\r\n:1\r\n$1\r\nx\r\n*0\r\n"), Q(GET_A), R("$-1\r\n") },
	  "R1 GET; X1 GET *; R2 GET; X2 GET $", 0 },
	{ "streamed string and streamed aggregates", WS_PROLE_CLIENT,
	  { Q(GET_A GET_A GET_A), R("$?\r\n;4\r\nHell\r\n;1\r\no\r\n;0\r\n*?\r\n:1\r\n*?\r\n.\r\n.\r\n%?\r\n+a\r\n:1\r\n.\r\n") },
	  "R1 GET; R2 GET; R3 GET; X1 GET $; X2 GET *; X3 GET %", 0 },
	{ "nesting deeper than the stack fails the pending requests", WS_PROLE_CLIENT,
	  { Q(PING), R("+PONG\r\n"), Q(GET_A GET_A), R("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"),
	    Q(PING), R("+PONG\r\n") },
	  "R1 PING; X1 PING +; R2 GET; R3 GET; E:too_deep#2; E:too_deep#3; R4 PING; X4 PING +", 0 },
	{ "bad reply: fails what is pending, resync at the next run", WS_PROLE_CLIENT,
	  { Q(PING), R("+PONG\r\n"), Q(GET_A GET_A), R("$1\r\nab\r\n+OK\r\n"), Q(PING), R("+PONG\r\n") },
	  "R1 PING; X1 PING +; R2 GET; R3 GET; E:bad_reply#2; E:bad_reply#3; R4 PING; X4 PING +", 0 },
	{ "bad request: protocol error reply counted", WS_PROLE_CLIENT,
	  { Q(PING), R("+PONG\r\n"), Q("*2\r\n$8\r\nXINFO\r\n$4\r\nHELP\r\n"),
	    R("-ERR Protocol error: expected '$', got ' '\r\n"), Q(PING), R("+PONG\r\n") },
	  "R1 PING; X1 PING +; E:bad_request; E:reply_without_request; R2 PING; X2 PING +", 0 },
	{ "bad $ length in a request", WS_PROLE_CLIENT,
	  { Q(PING), R("+PONG\r\n"), Q("*1\r\n$-1\r\n"), Q("*1\r\n:5\r\n"), R("-ERR Protocol error\r\n"), Q(PING), R("+PONG\r\n") },
	  "R1 PING; X1 PING +; E:bad_request; E:reply_without_request; R2 PING; X2 PING +", 0 },
	{ "reply without request", WS_PROLE_CLIENT,
	  { R("+OK\r\n"), Q(PING), R("+PONG\r\n") }, "E:reply_without_request; R1 PING; X1 PING +", 0 },
	{ "garbage first bytes: not RESP", WS_PROLE_SERVER,
	  { { 'q', "\x16\x03\x01\x00\xa5\x01\x00", -1, -1, 0, 7 }, Q(PING) }, "E:not_resp", -RESP_ERR_NOT_RESP },
	{ "garbage first reply: not RESP", WS_PROLE_CLIENT,
	  { Q(PING), R("HTTP/1.1 200 OK\r\n\r\n") }, "R1 PING; E:not_resp#1", -RESP_ERR_NOT_RESP },
	{ "unknown role learned from a request", WS_PROLE_UNKNOWN,
	  { Q(PING), R("+PONG\r\n") }, "R1 PING; X1 PING +", 0 },
	{ "unknown role learned from a reply-typed first chunk", WS_PROLE_UNKNOWN,
	  { R("+OK\r\n"), Q(PING), R("+PONG\r\n") }, "E:reply_without_request; R1 PING; X1 PING +", 0 },
	{ "real: MONITOR ends parsing after its +OK", WS_PROLE_CLIENT,
	  { Q("*1\r\n$7\r\nMONITOR\r\n"), R("+OK\r\n"),
	    R("+1796104712.989189 [0 127.0.0.1:40532] \"SET\" \"secret\" \"hunter2\"\r\n") },
	  "R1 MONITOR; X1 MONITOR +; E:monitor", -RESP_ERR_MONITOR },
	{ "PSYNC ends parsing", WS_PROLE_SERVER,
	  { Q("*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n"), R("+FULLRESYNC 0123 0\r\n$5\r\nREDIS") },
	  "R1 PSYNC; E:replication#1", -RESP_ERR_REPLICATION },
	{ "CLIENT REPLY OFF / SKIP / ON", WS_PROLE_CLIENT,
	  { Q("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n" GET_A "*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n"),
	    R("+OK\r\n"), Q(PING "*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nskip\r\n" GET_A PING), R("+PONG\r\n+PONG\r\n") },
	  "R1 CLIENT REPLY; X1 CLIENT REPLY [n]; R2 GET; X2 GET [n]; R3 CLIENT REPLY; X3 CLIENT REPLY +; R4 PING; "
	  "R5 CLIENT REPLY; R6 GET; R7 PING; X4 PING +; X5 CLIENT REPLY [n]; X6 GET [n]; X7 PING +", 0 },
	{ "close with requests pending", WS_PROLE_CLIENT,
	  { Q(GET_A GET_A), R("$-1\r\n"), CLOSE }, "R1 GET; R2 GET; X1 GET $; E:closed#2", 0 },
	{ "close inside a reply and inside a request", WS_PROLE_CLIENT,
	  { Q(GET_A), R("$5\r\nab"), Q("*2\r\n$3\r\nG"), CLOSE }, "R1 GET; E:closed; E:closed#1", 0 },
	/* partial captures */
	{ "bulk longer than captured is skipped by length", WS_PROLE_CLIENT,
	  { { 'q', "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5000\r\nxxxxxxxx", 5029, -1, 0, 0 }, R("+OK\r\n"),
	    Q(GET_A), { 'r', "$5000\r\nyyyy", 5009, -1, 0, 0 }, Q(PING), R("+PONG\r\n") },
	  "R1 SET; X1 SET +; R2 GET; X2 GET $; R3 PING; X3 PING +", 0 },
	{ "bulk spread over uncaptured chunks", WS_PROLE_CLIENT,
	  { Q(GET_A), { 'r', "$10000\r\nyyyy", 4000, -1, 0, 0 }, { 'r', NULL, 4000, 0, 0, 0 },
	    { 'r', "zz", 2010, 2, 0, 0 }, Q(PING), R("+PONG\r\n") },
	  "R1 GET; X1 GET $; R2 PING; X2 PING +", 0 },
	{ "command name not captured", WS_PROLE_CLIENT,
	  { { 'q', "*2\r\n$3\r\nGE", 22, -1, 0, 0 }, R("$-1\r\n"), Q(PING), R("+PONG\r\n") },
	  "R1 ?[t]; X1 ? $[t]; R2 PING; X2 PING +", 0 },
	{ "real: big reply cut by the capture ends at the next request", WS_PROLE_CLIENT,
	  { Q("*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n"), { 'r', COMMAND_DOCS_HEAD, 65536, -1, 0, 0 },
	    { 'r', NULL, 65536, 0, 0, 0 }, { 'r', NULL, 41226, 0, 0, 0 },
	    Q("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"), R("+OK\r\n") },
	  "R1 COMMAND DOCS; X1 COMMAND DOCS *[t]; R2 SELECT; X2 SELECT +@3", 0 },
	{ "reply cut with pipelined requests fails them all", WS_PROLE_CLIENT,
	  { Q(GET_A GET_A GET_A), { 'r', "$1\r\nx\r\n*3\r\n$1\r\na\r\n", 200, -1, 0, 0 }, Q(PING), R("+PONG\r\n") },
	  "R1 GET; R2 GET; R3 GET; X1 GET $; E:uncaptured#2; E:uncaptured#3; R4 PING; X4 PING +", 0 },
	{ "requests cut by the capture: more replies than requests seen", WS_PROLE_CLIENT,
	  { { 'q', GET_A "*2\r\n$3\r\nGET\r\n$1", 200, -1, 0, 0 }, R("$-1\r\n$-1\r\n$-1\r\n$-1\r\n"), Q(PING), R("+PONG\r\n") },
	  "R1 GET; R2 GET[t]; X1 GET $; X2 GET $[t]; E:uncaptured; E:uncaptured; R3 PING; X3 PING +", 0 },
	{ "a request starting in uncaptured bytes", WS_PROLE_CLIENT,
	  { { 'q', GET_A, 100, -1, 0, 0 }, R("$-1\r\n$-1\r\n"), Q(PING), R("+PONG\r\n") },
	  "R1 GET; R2 ?[tu]; X1 GET $; X2 ? $[tu]; R3 PING; X3 PING +", 0 },
	{ "requests resume while some still wait: they fail", WS_PROLE_CLIENT,
	  { { 'q', GET_A "*2\r\n$3\r\nGET\r\n$1", 200, -1, 0, 0 }, R("$-1\r\n"), Q(PING), R("+PONG\r\n"), Q(PING), R("+PONG\r\n") },
	  "R1 GET; R2 GET[t]; X1 GET $; E:uncaptured#2; R3 PING; X3 PING +; R4 PING; X4 PING +", 0 },
	{ "reply cut after a request was cut: no guess at its end", WS_PROLE_CLIENT,
	  { { 'q', "*2\r\n$3\r\nGET\r\n$1", 200, -1, 0, 0 }, { 'r', "*3\r\n$1\r\n", 3000, -1, 0, 0 }, Q(PING), R("+PONG\r\n") },
	  "R1 GET[t]; E:uncaptured#1; R2 PING; X2 PING +", 0 },
	{ "reply start uncaptured, nothing pipelined", WS_PROLE_CLIENT,
	  { Q(GET_A), { 'r', NULL, 3000, 0, 0, 0 }, Q(PING), R("+PONG\r\n") },
	  "R1 GET; X1 GET 0[t]; R2 PING; X2 PING +", 0 },
	{ "error code cut by the capture is not kept", WS_PROLE_CLIENT,
	  { Q(GET_A), { 'r', "-WRONG", 70, -1, 0, 0 }, Q(PING), R("+PONG\r\n") },
	  "R1 GET; X1 GET -[t]; R2 PING; X2 PING +", 0 },
	{ "close while the reply's end is unknown", WS_PROLE_CLIENT,
	  { Q(GET_A), { 'r', "*5\r\n$1\r\n", 3000, -1, 0, 0 }, CLOSE }, "R1 GET; X1 GET *[t]", 0 },
	/* gaps */
	{ "gap in replies: waiting requests fail, resync at the next run", WS_PROLE_CLIENT,
	  { Q(GET_A), R("$-1\r\n"), Q(GET_A GET_A), { 'r', "$-1\r\n", -1, -1, 5, 0 }, Q(PING), R("+PONG\r\n") },
	  "R1 GET; X1 GET $; R2 GET; R3 GET; E:gap#2; E:gap#3; R4 PING; X4 PING +", 0 },
	{ "gap in replies inside a run", WS_PROLE_CLIENT,
	  { Q(GET_A GET_A), R("$-1\r\n"), { 'r', "$-1\r\n", -1, -1, 5, 0 }, Q(PING), R("+PONG\r\n") },
	  "R1 GET; R2 GET; X1 GET $; E:gap#2; R3 PING; X3 PING +", 0 },
	{ "gap in requests: a lost request's reply, then resync", WS_PROLE_CLIENT,
	  { Q(PING), R("+PONG\r\n"), R("$-1\r\n"), { 'q', PING, -1, -1, 22, 0 }, R("+PONG\r\n") },
	  "R1 PING; X1 PING +; E:reply_without_request; E:gap; R2 PING; X2 PING +", 0 },
	{ "gap inside a request", WS_PROLE_CLIENT,
	  { Q("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab"), { 'q', PING, -1, -1, 100, 0 }, R("+OK\r\n+PONG\r\n"),
	    Q(PING), R("+PONG\r\n") },
	  "R1 SET[t]; E:gap; X1 SET +[t]; E:uncaptured; R2 PING; X2 PING +", 0 },
};

static void run_case(const struct tcase *tc, int split_step, uint32_t split_at, char *out, size_t outn, int *rc)
{
	struct runner u;

	runner_init(&u, tc->role);
	for (int i = 0; tc->steps[i].dir; i++) {
		const struct step *s = &tc->steps[i];

		if (i == split_step) {
			size_t dl = s->dlen ? s->dlen : strlen(s->data);

			feed_raw(&u, s->dir, s->data, split_at, split_at, split_at, s->gap);
			feed_raw(&u, s->dir, s->data + split_at, (uint32_t)dl - split_at, (uint32_t)dl - split_at,
				 (uint32_t)dl - split_at, 0);
			continue;
		}
		run_step(&u, s);
	}
	ws_proto_redis.close(u.st, 999999, on_x, u.r);
	check_contract(u.r);
	summarize(u.r, 0, u.r->n, out, outn);
	*rc = u.last_rc;
	runner_fini(&u);
}

static void test_table(void **state)
{
	char got[4096];
	int rc;

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct tcase *tc = &cases[k];

		run_case(tc, -1, 0, got, sizeof(got), &rc);
		if (strcmp(got, tc->expect) != 0 || rc != tc->rc) {
			print_error("case '%s':\n  want %s (rc %d)\n  got  %s (rc %d)\n", tc->name, tc->expect, tc->rc, got, rc);
			fail();
		}
	}
}

/* Every fully captured chunk split in two at every byte gives the same records (times
 * aside), except where the split itself is a run boundary the script relies on. */
static void test_table_split(void **state)
{
	char got[4096];
	int rc;

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct tcase *tc = &cases[k];

		for (int i = 0; tc->steps[i].dir; i++) {
			const struct step *s = &tc->steps[i];
			size_t dl;

			if (s->dir == 'c' || !s->data || s->len >= 0 || s->cap >= 0)
				continue;
			dl = s->dlen ? s->dlen : strlen(s->data);
			for (uint32_t at = 1; at < dl; at++) {
				run_case(tc, i, at, got, sizeof(got), &rc);
				if (strcmp(got, tc->expect) != 0) {
					print_error("case '%s' split step %d at %u:\n  want %s\n  got  %s\n", tc->name, i, at,
						    tc->expect, got);
					fail();
				}
			}
		}
	}
}

/* ---- times, seqs, state ------------------------------------------------------------ */

static void test_times_and_seq(void **state)
{
	struct runner u;
	const struct rec1 *e;

	(void)state;
	runner_init(&u, WS_PROLE_CLIENT);
	/* step 1: two requests in one chunk; step 2: the first byte of the reply;
	 * step 3: the rest of both replies */
	feed_raw(&u, 'q', GET_A PING, 34, 34, 34, 0);
	feed_raw(&u, 'r', "$", 1, 1, 1, 0);
	feed_raw(&u, 'r', "-1\r\n+PONG\r\n", 11, 11, 11, 0);
	assert_int_equal(u.r->n, 4);
	e = &u.r->r[0];
	assert_int_equal(e->x.type, WS_X_REQUEST);
	assert_true(e->x.req.has_seq);
	assert_int_equal(e->x.req.seq, REQ_SEQ0);
	assert_int_equal(e->x.req.first_enter_ns, 1000);
	assert_int_equal(e->x.req.last_exit_ns, 1500);
	e = &u.r->r[1];
	assert_int_equal(e->x.req.seq, REQ_SEQ0 + 20);   /* the PING starts at offset 20 */
	assert_int_equal(e->x.req.first_tid, 101);
	e = &u.r->r[2];
	assert_int_equal(e->x.type, WS_X_EXCHANGE);
	assert_int_equal(e->x.resp.seq, RESP_SEQ0);
	assert_int_equal(e->x.resp.first_enter_ns, 2000);
	assert_int_equal(e->x.resp.last_enter_ns, 3000);
	assert_int_equal(e->x.resp.last_tid, 103);
	e = &u.r->r[3];
	assert_int_equal(e->x.resp.seq, RESP_SEQ0 + 5);  /* wraps past zero */
	assert_int_equal(e->x.resp.first_enter_ns, 3000);
	assert_int_equal(ws_proto_redis.role(u.st), WS_PROLE_CLIENT);
	assert_int_equal(ws_proto_redis.capture(u.st), WS_CAPTURE_DEFAULT);
	runner_fini(&u);
}

/* A pipelined batch longer than the capture budget: the second command starts in bytes
 * the kernel did not copy. Its span is lost (counted), and the parser asks the kernel
 * for every byte of this connection from then on, so the next batch is whole. */
static void test_budget_cut_batch_asks_for_all(void **state)
{
	struct runner u;

	(void)state;
	runner_init(&u, WS_PROLE_CLIENT);
	assert_int_equal(ws_proto_redis.capture(u.st), WS_CAPTURE_DEFAULT);
	feed_raw(&u, 'q', GET_A PING, 34, 34, 20, 0);   /* the PING was not captured */
	assert_int_equal(ws_proto_redis.capture(u.st), WS_CAPTURE_ALL);
	runner_fini(&u);
	/* A cut inside a value nobody keeps loses nothing: no reason to copy more. */
	runner_init(&u, WS_PROLE_CLIENT);
	feed_raw(&u, 'q', "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\n", 37, 37, 30, 0);
	assert_int_equal(ws_proto_redis.capture(u.st), WS_CAPTURE_DEFAULT);
	runner_fini(&u);
}

static void test_unknown_end_times(void **state)
{
	struct runner u;
	const struct rec1 *e;

	(void)state;
	runner_init(&u, WS_PROLE_CLIENT);
	feed_raw(&u, 'q', GET_A, 20, 20, 20, 0);
	feed_raw(&u, 'r', "*9\r\n", 4, 5000, 4, 0);
	feed_raw(&u, 'r', NULL, 0, 5000, 0, 0);
	feed_raw(&u, 'q', PING, 14, 14, 14, 0);
	assert_int_equal(u.r->n, 3);
	e = &u.r->r[1];
	assert_int_equal(e->x.type, WS_X_EXCHANGE);
	assert_true(e->x.truncated);
	assert_int_equal(e->x.resp.first_enter_ns, 2000);
	assert_int_equal(e->x.resp.last_enter_ns, 3000);  /* the last chunk before the flip */
	runner_fini(&u);
}

static void test_role_learning(void **state)
{
	struct runner u;
	void *st;
	struct rec *r = calloc(1, sizeof(*r));
	struct ws_chunk ch = { .data = (const uint8_t *)PING, .captured = 14, .len = 14, .enter_ns = 1, .exit_ns = 2 };

	(void)state;
	assert_non_null(r);
	/* a request read by the traced process: it is the server */
	st = ws_proto_redis.init(WS_PROLE_UNKNOWN);
	assert_int_equal(ws_proto_redis.role(st), WS_PROLE_UNKNOWN);
	assert_int_equal(ws_proto_redis.feed(st, WS_PDIR_INGRESS, &ch, on_x, r), 0);
	assert_int_equal(ws_proto_redis.role(st), WS_PROLE_SERVER);
	ws_proto_redis.close(st, 10, on_x, r);
	ws_proto_redis.free(st);
	/* a reply written first: also the server */
	runner_init(&u, WS_PROLE_UNKNOWN);
	ch.data = (const uint8_t *)"+OK\r\n";
	ch.captured = ch.len = 5;
	assert_int_equal(ws_proto_redis.feed(u.st, WS_PDIR_EGRESS, &ch, on_x, u.r), 0);
	assert_int_equal(ws_proto_redis.role(u.st), WS_PROLE_SERVER);
	runner_fini(&u);
	/* dead: capture off */
	runner_init(&u, WS_PROLE_CLIENT);
	feed_raw(&u, 'q', "\x16\x03", 2, 2, 2, 0);
	assert_int_equal(u.last_rc, -RESP_ERR_NOT_RESP);
	assert_int_equal(ws_proto_redis.capture(u.st), WS_CAPTURE_OFF);
	feed_raw(&u, 'q', PING, 14, 14, 14, 0);
	assert_int_equal(u.last_rc, -RESP_ERR_NOT_RESP);
	runner_fini(&u);
	free(r);
}

/* More pipelined requests than the FIFO holds: the rest are counted, their replies
 * absorbed in order, and pairing is right again afterwards. */
static void test_overflow(void **state)
{
	const unsigned n = RESP_MAX_PENDING + 10;
	size_t ql = 14 * n, rl = 7 * n;
	char *q = malloc(ql + 1), *rp = malloc(rl + 1);
	struct runner u;
	int req = 0, x = 0, err = 0;

	(void)state;
	assert_non_null(q);
	assert_non_null(rp);
	for (unsigned i = 0; i < n; i++) {
		memcpy(q + 14 * i, PING, 14);
		memcpy(rp + 7 * i, "+PONG\r\n", 7);
	}
	runner_init(&u, WS_PROLE_CLIENT);
	feed_raw(&u, 'q', q, (uint32_t)ql, (uint32_t)ql, (uint32_t)ql, 0);
	feed_raw(&u, 'r', rp, (uint32_t)rl, (uint32_t)rl, (uint32_t)rl, 0);
	feed_raw(&u, 'q', GET_A, 20, 20, 20, 0);
	feed_raw(&u, 'r', "$-1\r\n", 5, 5, 5, 0);
	ws_proto_redis.close(u.st, 1, on_x, u.r);
	check_contract(u.r);
	for (int i = 0; i < u.r->n; i++) {
		const struct rec1 *e = &u.r->r[i];

		req += e->x.type == WS_X_REQUEST;
		x += e->x.type == WS_X_EXCHANGE;
		if (e->x.type == WS_X_ERROR) {
			assert_int_equal(e->x.err, RESP_ERR_TOO_MANY_PENDING);
			err++;
		}
	}
	assert_int_equal(req, RESP_MAX_PENDING + 1);
	assert_int_equal(x, RESP_MAX_PENDING + 1);
	assert_int_equal(err, 10);
	assert_string_equal(u.r->r[u.r->n - 1].req.op, "GET");
	runner_fini(&u);
	free(q);
	free(rp);
}

/* ---- span attributes -------------------------------------------------------------- */

static void fill_tuple(struct ws_tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->saddr[10] = t->saddr[11] = 0xff;
	t->saddr[12] = 10;
	t->saddr[15] = 1;
	t->daddr[10] = t->daddr[11] = 0xff;
	t->daddr[12] = 10;
	t->daddr[15] = 2;
	t->sport = 40000;
	t->dport = 6379;
}

static const char *attr(const struct ws_span *s, const char *key)
{
	const struct ws_attr *a = ws_span_find_attr(s, key);

	if (!a)
		return NULL;
	assert_int_equal(a->type, WS_ATTR_STR);
	return ws_span_attr_str(s, a);
}

struct spanrun {
	struct ws_span req[8];
	int n;
};

static void on_span(void *ctx, const struct ws_exchange *x)
{
	struct spanrun *sr = ctx;
	static struct ws_tuple tu;
	struct ws_span_info si = { .tuple = &tu, .role = WS_PROLE_CLIENT, .sanitize = true };

	fill_tuple(&tu);
	if (x->type == WS_X_REQUEST) {
		assert_true(x->req_index <= 8);
		memset(&sr->req[x->req_index - 1], 0, sizeof(sr->req[0]));
		ws_proto_redis.span_request(x, &si, &sr->req[x->req_index - 1]);
		sr->n++;
	} else if (x->type == WS_X_EXCHANGE) {
		ws_proto_redis.span_response(x, &si, &sr->req[x->req_index - 1]);
	}
}

static void test_span_attributes(void **state)
{
	struct spanrun *sr = calloc(1, sizeof(*sr));
	void *st = ws_proto_redis.init(WS_PROLE_CLIENT);
	const char *q = "*2\r\n$6\r\nSELECT\r\n$1\r\n7\r\n*3\r\n$6\r\nCONFIG\r\n$3\r\nget\r\n$8\r\npassword\r\n"
			"*3\r\n$5\r\nLPUSH\r\n$6\r\nsecret\r\n$7\r\nhunter2\r\n*1\r\n$6\r\nFOO123\r\n";
	const char *r = "+OK\r\n*0\r\n-WRONGTYPE key secret holds hunter2\r\n-weird error 42 'x'\r\n";
	struct ws_chunk ch = { .data = (const uint8_t *)q, .captured = (uint32_t)strlen(q), .len = (uint32_t)strlen(q),
			       .enter_ns = 1, .exit_ns = 2, .has_seq = true };
	const struct ws_span *s;

	(void)state;
	assert_non_null(sr);
	assert_int_equal(ws_proto_redis.feed(st, WS_PDIR_EGRESS, &ch, on_span, sr), 0);
	ch.data = (const uint8_t *)r;
	ch.captured = ch.len = (uint32_t)strlen(r);
	ch.enter_ns = 3;
	assert_int_equal(ws_proto_redis.feed(st, WS_PDIR_INGRESS, &ch, on_span, sr), 0);
	assert_int_equal(sr->n, 4);

	s = &sr->req[0];
	assert_string_equal(s->name, "SELECT");
	assert_string_equal(attr(s, "db.system.name"), "redis");
	assert_string_equal(attr(s, "db.operation.name"), "SELECT");
	assert_string_equal(attr(s, "db.namespace"), "7");   /* the reply made it so */
	assert_string_equal(attr(s, "server.address"), "10.0.0.2");
	assert_int_equal(ws_span_find_attr(s, "server.port")->v.i, 6379);
	assert_string_equal(attr(s, "network.peer.address"), "10.0.0.2");
	assert_int_equal(s->status_code, WS_STATUS_UNSET);

	s = &sr->req[1];
	assert_string_equal(s->name, "CONFIG GET");
	assert_string_equal(attr(s, "db.operation.name"), "CONFIG GET");
	assert_string_equal(attr(s, "db.namespace"), "7");

	s = &sr->req[2];
	assert_string_equal(s->name, "LPUSH");
	assert_int_equal(s->status_code, WS_STATUS_ERROR);
	assert_string_equal(s->status_message, "WRONGTYPE");
	assert_string_equal(attr(s, "db.response.status_code"), "WRONGTYPE");
	assert_string_equal(attr(s, "error.type"), "WRONGTYPE");

	s = &sr->req[3];
	assert_string_equal(s->name, "redis");
	assert_null(ws_span_find_attr(s, "db.operation.name"));
	assert_int_equal(s->status_code, WS_STATUS_ERROR);
	assert_string_equal(s->status_message, "");
	assert_null(ws_span_find_attr(s, "db.response.status_code"));
	assert_string_equal(attr(s, "error.type"), "_OTHER");

	/* No argument value or error text reached any span. */
	for (int i = 0; i < 4; i++) {
		s = &sr->req[i];
		for (int k = 0; k < s->n_attrs; k++) {
			const struct ws_attr *a = &s->attrs[k];

			if (a->type != WS_ATTR_STR)
				continue;
			assert_null(strstr(ws_span_attr_str(s, a), "secret"));
			assert_null(strstr(ws_span_attr_str(s, a), "hunter2"));
			assert_null(strstr(ws_span_attr_str(s, a), "password"));
			assert_null(strstr(ws_span_attr_str(s, a), "42"));
		}
		assert_null(strstr(s->status_message, "hunter2"));
	}
	ws_proto_redis.close(st, 9, on_span, sr);
	ws_proto_redis.free(st);
	free(sr);
}

static void test_server_peer_attrs(void **state)
{
	struct ws_tuple tu;
	struct ws_span_info si = { .tuple = &tu, .role = WS_PROLE_SERVER, .sanitize = true };
	struct redis_req rq = { .op = "GET", .select_db = -1 };
	struct redis_detail det = { .req = &rq, .db = 0 };
	struct ws_exchange x = { .type = WS_X_REQUEST, .proto = WS_PROTO_REDIS, .req_index = 1, .has_request = true,
				 .detail = &det };
	struct ws_span s;

	(void)state;
	fill_tuple(&tu);
	memset(&s, 0, sizeof(s));
	ws_proto_redis.span_request(&x, &si, &s);
	assert_string_equal(attr(&s, "client.address"), "10.0.0.2");
	assert_int_equal(ws_span_find_attr(&s, "server.port")->v.i, 40000);
	assert_string_equal(attr(&s, "db.namespace"), "0");
}

/* ---- detection ---------------------------------------------------------------------- */

struct dcase {
	const char *bytes;
	enum ws_pdir dir;
	enum ws_prole role;
	uint16_t port;
	int want;
};

static void test_detect(void **state)
{
	static const struct dcase dc[] = {
		{ "*1\r\n$4\r\nPING\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 12345, WS_DETECT_YES },
		{ "*3\r\n$3\r\nSET\r\n", WS_PDIR_INGRESS, WS_PROLE_SERVER, 0, WS_DETECT_YES },
		{ "*3\r\n$", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 0, WS_DETECT_MORE },
		{ "*", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 0, WS_DETECT_MORE },
		{ "*3\r\n:1\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_NO },
		{ "*3\r\n:1\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_YES },
		{ "* OK IMAP4rev1 ready\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 143, WS_DETECT_NO },
		{ "PING\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_YES },
		{ "ping\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_YES },
		{ "PIN", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_MORE },
		{ "SET k v\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_YES },
		{ "set k 0 0 5\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 11211, WS_DETECT_NO },
		{ "get k\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_YES },
		{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_NO },
		{ "GET /index.html\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 80, WS_DETECT_NO },
		{ "GET http://x/ HTTP/1.1\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_NO },
		{ "POST /x HTTP/1.1\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_NO },
		{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_NO },
		{ "EHLO mail.example\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 25, WS_DETECT_NO },
		{ "QUIT\r\n", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 21, WS_DETECT_NO },
		{ "PING\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_NO },
		{ "+OK\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_YES },
		{ "+OK POP3 server ready\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 110, WS_DETECT_NO },
		{ "+O", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_MORE },
		{ "-ERR unknown command\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_YES },
		{ "-ERR", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_MORE },
		{ "-ERRx", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_NO },
		{ "-WRONGTYPE Operation\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_YES },
		{ "%7\r\n$6\r\nserver\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_YES },
		{ ":1\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 1234, WS_DETECT_NO },
		{ ":1\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_YES },
		{ "$5\r\nhello\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 6380, WS_DETECT_YES },
		{ "HTTP/1.1 200 OK\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_NO },
		{ "\x16\x03\x01\x00", WS_PDIR_EGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_NO },
		{ "220 smtp ready\r\n", WS_PDIR_INGRESS, WS_PROLE_CLIENT, 6379, WS_DETECT_NO },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(dc) / sizeof(dc[0]); k++) {
		int got = ws_proto_redis.detect((const uint8_t *)dc[k].bytes, (uint32_t)strlen(dc[k].bytes), dc[k].dir,
						dc[k].role, dc[k].port);

		if (got != dc[k].want) {
			print_error("detect '%s' dir %d port %u: want %d got %d\n", dc[k].bytes, dc[k].dir, dc[k].port,
				    dc[k].want, got);
			fail();
		}
	}
	assert_int_equal(ws_proto_redis.detect(NULL, 0, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 0), WS_DETECT_MORE);
}

static void test_registry_and_names(void **state)
{
	(void)state;
	assert_ptr_equal(ws_proto_by_id(WS_PROTO_REDIS), &ws_proto_redis);
	assert_string_equal(ws_proto_redis.name, "redis");
	for (unsigned e = 1; e < ws_proto_redis.n_errors; e++) {
		const char *n = ws_proto_redis.error_name(e);

		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (const char *p = n; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
	}
	assert_string_equal(ws_proto_redis.error_name(ws_proto_redis.err_closed), "closed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_split),
		cmocka_unit_test(test_times_and_seq),
		cmocka_unit_test(test_unknown_end_times),
		cmocka_unit_test(test_budget_cut_batch_asks_for_all),
		cmocka_unit_test(test_role_learning),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_span_attributes),
		cmocka_unit_test(test_server_peer_attrs),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_registry_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
