/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * MySQL / MariaDB parser tests. Real sessions recorded from MariaDB 10.11
 * (mysql_vectors.h) and synthetic scripts built from the protocol's packet layouts are
 * fed as chunks (client or server direction, real length, captured bytes, bytes missing
 * before it); the records are summarised as a string ("R1 X1 E!gap ...") and the span
 * callbacks run on real struct ws_span values whose attributes are checked. Every
 * session is also fed with each chunk split at every byte boundary.
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

#include "agent/proto/mysql.h"
#include "agent/proto/proto.h"
#include "agent/span.h"
#include "headers/wirespan_abi.h"

#include "mysql_vectors.h"

#define MAXX 512
#define MAXIDX 128

static const struct ws_proto_ops *ops = &ws_proto_mysql;

struct xrec {
	uint8_t type;
	uint16_t err;
	uint32_t idx;
	bool has_req, has_resp, trunc, uncapt, closed;
	struct ws_msg_times req, resp;
	char tp[64];
};

struct run {
	void *st;
	bool proc_client;        /* the traced process is the client (direction mapping) */
	enum ws_prole role;      /* given to init */
	uint32_t seq[2];
	int stepno;
	int rc;
	uint32_t budget;         /* capture model: bytes per direction run (0: everything) */
	uint32_t left;
	int last_dir;
	int n;
	struct xrec x[MAXX];
	uint8_t state[MAXIDX];   /* 0 unseen, 1 announced, 2 ended */
	struct ws_span span[MAXIDX];
	struct ws_tuple tuple;
	struct ws_span_info si;
	char sum[4096];
};

static void on_x(void *ctx, const struct ws_exchange *x)
{
	struct run *u = ctx;
	struct xrec *r;

	assert_true(u->n < MAXX);
	assert_int_equal(x->proto, WS_PROTO_MYSQL);
	r = &u->x[u->n++];
	memset(r, 0, sizeof(*r));
	r->type = x->type;
	r->err = x->err;
	r->idx = x->req_index;
	r->has_req = x->has_request;
	r->has_resp = x->has_response;
	r->trunc = x->truncated;
	r->uncapt = x->uncaptured;
	r->closed = x->closed;
	r->req = x->req;
	r->resp = x->resp;
	if (x->traceparent)
		snprintf(r->tp, sizeof(r->tp), "%s", x->traceparent);
	assert_true(x->err < ops->n_errors);
	if (x->type == WS_X_REQUEST) {
		assert_true(x->has_request && !x->has_response);
		assert_true(x->req_index > 0 && x->req_index < MAXIDX);
		assert_int_equal(u->state[x->req_index], 0);
		u->state[x->req_index] = 1;
		assert_non_null(x->detail);
		memset(&u->span[x->req_index], 0, sizeof(u->span[0]));
		ops->span_request(x, &u->si, &u->span[x->req_index]);
	} else if (x->has_request) {
		assert_true(x->req_index > 0 && x->req_index < MAXIDX);
		assert_int_equal(u->state[x->req_index], 1);
		u->state[x->req_index] = 2;
		assert_non_null(x->detail);
		if (x->type == WS_X_EXCHANGE) {
			assert_true(x->has_response);
			ops->span_response(x, &u->si, &u->span[x->req_index]);
		} else {
			assert_int_equal(x->type, WS_X_ERROR);
			assert_true(x->err > 0);
		}
	} else {
		assert_int_equal(x->type, WS_X_ERROR);
		assert_int_equal(x->req_index, 0);
		assert_true(x->err > 0);
	}
}

static struct run *run_new(bool proc_client, enum ws_prole role)
{
	struct run *u = calloc(1, sizeof(*u));

	assert_non_null(u);
	u->proc_client = proc_client;
	u->role = role;
	u->st = ops->init(role);
	assert_non_null(u->st);
	u->seq[0] = 1000;
	u->seq[1] = 0xfffffff0u;   /* wraps: seq arithmetic must be modular */
	u->last_dir = -1;
	u->tuple.daddr[10] = u->tuple.daddr[11] = 0xff;
	u->tuple.daddr[12] = 10;
	u->tuple.daddr[15] = 7;
	u->tuple.dport = proc_client ? 3306 : 40000;
	u->tuple.sport = proc_client ? 40000 : 3306;
	u->si.tuple = &u->tuple;
	u->si.role = proc_client ? WS_PROLE_CLIENT : WS_PROLE_SERVER;
	u->si.sanitize = true;
	return u;
}

static void run_free(struct run *u)
{
	ops->free(u->st);
	free(u);
}

static enum ws_pdir dir_of(const struct run *u, char d)
{
	bool from_client = d == 'c';

	return from_client == u->proc_client ? WS_PDIR_EGRESS : WS_PDIR_INGRESS;
}

/* One chunk: d 'c' (client wrote) or 's'; len real bytes, cap captured (-1: by the
 * capture model), gap bytes missing before it. Chunk i: enter 1000i, exit 1000i+500. */
static void feed_ex(struct run *u, char d, const void *data, uint32_t len, int64_t cap, uint32_t gap)
{
	enum ws_pdir dir = dir_of(u, d);
	int i = ++u->stepno;
	struct ws_chunk ch = {
		.data = data,
		.len = len,
		.tid = 100 + (uint32_t)i,
		.enter_ns = 1000ull * (uint64_t)i,
		.exit_ns = 1000ull * (uint64_t)i + 500,
		.has_seq = true,
	};

	if (cap >= 0) {
		ch.captured = (uint32_t)cap;
	} else if (u->budget) {
		if (u->last_dir != (int)dir)
			u->left = u->budget;
		ch.captured = len < u->left ? len : u->left;
		u->left -= ch.captured;
	} else {
		ch.captured = len;
	}
	u->last_dir = (int)dir;
	if (!ch.captured)
		ch.data = NULL;
	u->seq[dir] += gap;
	ch.seq = u->seq[dir];
	u->seq[dir] += len;
	u->rc = ops->feed(u->st, dir, &ch, on_x, u);
}

static void feed(struct run *u, char d, const void *data, uint32_t len)
{
	feed_ex(u, d, data, len, -1, 0);
}

static void run_close(struct run *u)
{
	ops->close(u->st, 1000ull * (uint64_t)(++u->stepno), on_x, u);
	for (int k = 0; k < MAXIDX; k++)
		assert_int_not_equal(u->state[k], 1);   /* every announced request ended */
}

static const char *summary(struct run *u)
{
	size_t o = 0;

	u->sum[0] = '\0';
	for (int i = 0; i < u->n; i++) {
		const struct xrec *r = &u->x[i];
		char t[64];

		if (r->type == WS_X_REQUEST)
			snprintf(t, sizeof(t), "R%u%s", r->idx, r->uncapt ? "u" : "");
		else if (r->type == WS_X_EXCHANGE)
			snprintf(t, sizeof(t), "X%u%s%s%s", r->idx, r->trunc ? "t" : "", r->err ? "!" : "",
				 r->err ? mysql_error_name(r->err) : "");
		else if (r->has_req)
			snprintf(t, sizeof(t), "E%u!%s", r->idx, mysql_error_name(r->err));
		else
			snprintf(t, sizeof(t), "E!%s", mysql_error_name(r->err));
		o += (size_t)snprintf(u->sum + o, sizeof(u->sum) - o, "%s%s", o ? " " : "", t);
		assert_true(o < sizeof(u->sum));
	}
	return u->sum;
}

/* An attribute of request idx's span as text, or NULL. */
static const char *attr(struct run *u, uint32_t idx, const char *key)
{
	static char buf[2048];
	const struct ws_attr *a = ws_span_find_attr(&u->span[idx], key);

	if (!a)
		return NULL;
	if (a->type == WS_ATTR_STR)
		return ws_span_attr_str(&u->span[idx], a);
	if (a->type == WS_ATTR_INT)
		snprintf(buf, sizeof(buf), "%lld", (long long)a->v.i);
	else
		snprintf(buf, sizeof(buf), "?");
	return buf;
}

#define assert_attr(u, idx, key, val)                                                  \
	do {                                                                               \
		const char *v_ = attr(u, idx, key);                                        \
		if ((val) == NULL) {                                                       \
			if (v_)                                                            \
				fail_msg("%s=%s, expected absent", key, v_);               \
		} else {                                                                   \
			if (!v_)                                                           \
				fail_msg("%s absent, expected %s", key, (const char *)(val)); \
			assert_string_equal(v_, (val));                                    \
		}                                                                          \
	} while (0)

/* ---- packet builder ------------------------------------------------------------- */

struct bb {
	uint8_t b[8192];
	uint32_t n;
};

static void put(struct bb *b, const void *p, uint32_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void pkt(struct bb *b, uint8_t seq, const void *payload, uint32_t n)
{
	uint8_t h[4] = { (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), seq };

	put(b, h, 4);
	put(b, payload, n);
}

#define PKT(b, seq, lit) pkt(b, seq, lit, (uint32_t)(sizeof(lit) - 1))

static void query(struct bb *b, uint8_t cmd, const char *sql)
{
	uint8_t tmp[4096];
	uint32_t n = (uint32_t)strlen(sql);

	tmp[0] = cmd;
	memcpy(tmp + 1, sql, n);
	pkt(b, 0, tmp, n + 1);
}

static void bb_reset(struct bb *b)
{
	b->n = 0;
}

/* the common replies */
#define OK_PKT "\x00\x00\x00\x02\x00\x00\x00"
#define OK_MORE "\x00\x00\x00\x0a\x00\x00\x00"
#define EOF_PKT "\xfe\x00\x00\x02\x00"
#define EOF_MORE "\xfe\x00\x00\x0a\x00"
#define OKEOF_PKT "\xfe\x00\x00\x02\x00\x00\x00"
#define COLDEF "\x03" "def\x00\x00\x00\x01" "a\x00\x0c\x3f\x00\x01\x00\x00\x00\x03\x81\x00\x00\x00\x00"
#define ERR_1146 "\xff\x7a\x04#42S02Table 'shop.t' doesn't exist"

/* A handshake (server greeting, client response with db, OK) with or without
 * CLIENT_DEPRECATE_EOF; version is the greeting's server version. */
static void handshake(struct run *u, const char *version, bool deprecate, uint32_t extra_caps)
{
	struct bb b = { .n = 0 };
	uint8_t g[256], r[128];
	uint32_t n = 0, caps = 0x200 | 0x8000 | 0x80000 | 0x8 | 0x10000 | 0x20000 | extra_caps;
	uint32_t scaps = 0x81fff7feu | extra_caps | 0x1000000u;

	g[n++] = 10;
	memcpy(g + n, version, strlen(version) + 1);
	n += (uint32_t)strlen(version) + 1;
	memcpy(g + n, "\x01\x00\x00\x00" "abcdefgh" "\x00", 13);
	n += 13;
	g[n++] = (uint8_t)scaps;
	g[n++] = (uint8_t)(scaps >> 8);
	g[n++] = 33;
	g[n++] = 2;
	g[n++] = 0;
	g[n++] = (uint8_t)(scaps >> 16);
	g[n++] = (uint8_t)(scaps >> 24);
	g[n++] = 21;
	memset(g + n, 0, 10);
	n += 10;
	memcpy(g + n, "ijklmnopqrst\0mysql_native_password\0", 35);
	n += 35;
	pkt(&b, 0, g, n);
	feed(u, 's', b.b, b.n);
	if (deprecate)
		caps |= 0x1000000u;
	n = 0;
	memcpy(r, &caps, 4);
	memcpy(r + 4, "\x00\x00\x00\x01\x21", 5);
	memset(r + 9, 0, 23);
	n = 32;
	memcpy(r + n, "app\0\x14" "01234567890123456789" "shop\0mysql_native_password\0", 52);
	n += 52;
	bb_reset(&b);
	pkt(&b, 1, r, n);
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 2, OK_PKT);
	feed(u, 's', b.b, b.n);
}

/* A text result set of one column and rows rows, starting at sequence id 1. */
static void resultset(struct bb *b, uint8_t *seq, int rows, bool deprecate, bool more)
{
	PKT(b, (*seq)++, "\x01");
	PKT(b, (*seq)++, COLDEF);
	if (!deprecate)
		PKT(b, (*seq)++, EOF_PKT);
	for (int i = 0; i < rows; i++)
		PKT(b, (*seq)++, "\x01" "7");
	if (deprecate)
		pkt(b, (*seq)++, more ? "\xfe\x00\x00\x0a\x00\x00\x00" : OKEOF_PKT, 7);
	else
		pkt(b, (*seq)++, more ? EOF_MORE : EOF_PKT, 5);
}

/* ---- the recorded sessions ------------------------------------------------------ */

/* Feed a recorded session; split_step >= 0 cuts that chunk in two at split_at. */
static void feed_vec(struct run *u, const struct vchunk *v, int split_step, uint32_t split_at)
{
	for (int i = 0; v[i].dir; i++) {
		if (i == split_step && split_at > 0 && split_at < v[i].len) {
			feed(u, v[i].dir, v[i].data, split_at);
			feed(u, v[i].dir, v[i].data + split_at, v[i].len - split_at);
		} else {
			feed(u, v[i].dir, v[i].data, v[i].len);
		}
		assert_int_equal(u->rc, 0);
	}
	run_close(u);
}

static const char cli_expect[] = "R1 X1 R2 X2 R3 X3 R4 X4 R5 X5 R6 X6 R7 X7";

static void check_cli(struct run *u)
{
	assert_string_equal(summary(u), cli_expect);
	assert_attr(u, 1, "db.system.name", "mariadb");
	assert_attr(u, 1, "db.operation.name", "CREATE");
	assert_attr(u, 1, "db.namespace", NULL);        /* no db at connect */
	assert_attr(u, 2, "db.query.text", "SELECT DATABASE()");
	assert_attr(u, 2, "db.response.returned_rows", "1");
	assert_attr(u, 3, "db.operation.name", "INIT_DB");
	assert_attr(u, 3, "db.namespace", "shop");
	assert_attr(u, 4, "db.namespace", "shop");      /* applied on COM_INIT_DB's OK */
	assert_attr(u, 5, "db.query.text", "INSERT INTO users VALUES (?,?),(?,?)");
	assert_attr(u, 5, "db.query.summary", "INSERT users");
	assert_string_equal(u->span[5].name, "INSERT users");
	assert_attr(u, 6, "db.query.text", "SELECT * FROM users WHERE id = ?");
	assert_attr(u, 6, "db.response.returned_rows", "1");
	assert_int_equal(u->span[6].status_code, WS_STATUS_UNSET);
	assert_attr(u, 7, "db.response.status_code", "1054");
	assert_attr(u, 7, "error.type", "1054");
	assert_int_equal(u->span[7].status_code, WS_STATUS_ERROR);
	assert_string_equal(u->span[7].status_message, "1054 (42S22)");
	assert_attr(u, 7, "db.response.returned_rows", NULL);
	for (int i = 1; i <= 7; i++) {
		/* never the error message text or a literal */
		assert_null(strstr(u->span[i].arena, "alice"));
		assert_null(strstr(u->span[i].arena, "Unknown column"));
	}
}

static void test_cli_session(void **state)
{
	(void)state;
	/* as the client, as the server, and with the role learned from the greeting */
	for (int mode = 0; mode < 3; mode++) {
		bool client = mode != 1;
		struct run *u = run_new(client, mode == 2 ? WS_PROLE_UNKNOWN : client ? WS_PROLE_CLIENT : WS_PROLE_SERVER);

		feed_vec(u, v_cli, -1, 0);
		check_cli(u);
		assert_int_equal(ops->role(u->st), client ? WS_PROLE_CLIENT : WS_PROLE_SERVER);
		if (client) {
			assert_attr(u, 1, "server.address", "10.0.0.7");
			assert_attr(u, 1, "server.port", "3306");
		} else {
			assert_attr(u, 1, "client.address", "10.0.0.7");
			assert_attr(u, 1, "server.port", "3306");
		}
		run_free(u);
	}
}

static void test_cli_times(void **state)
{
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	feed_vec(u, v_cli, -1, 0);
	/* chunk 4 is the first query, chunk 5 its reply; seqs count from 1000 (egress) */
	assert_int_equal(u->x[0].type, WS_X_REQUEST);
	assert_int_equal(u->x[0].req.first_enter_ns, 4000);
	assert_int_equal(u->x[0].req.last_exit_ns, 4500);
	assert_int_equal(u->x[0].req.first_tid, 104);
	assert_true(u->x[0].req.has_seq);
	assert_int_equal(u->x[0].req.seq, 1000 + 192);
	assert_int_equal(u->x[1].resp.first_enter_ns, 5000);
	assert_int_equal(u->x[1].resp.last_exit_ns, 5500);
	run_free(u);
}

static const char raw_expect[] =
	"R1 X1 R2 X2 R3 X3 R4 X4 R5 X5 R6 X6 R7 X7 R8 X8 R9 X9 R10 X10 R11 X11 R12 X12 "
	"R13 X13 R14 X14 R15 X15 R16 X16 R17 X17 R18 X18 R19 X19 E!unknown_command R21 X21";

/* rows: the users table held 2 rows when v_raw1 was recorded, 4 for v_raw0 */
static void check_raw(struct run *u, const char *rows)
{
	assert_string_equal(summary(u), raw_expect);
	assert_attr(u, 1, "db.namespace", "shop");      /* from the handshake response */
	assert_attr(u, 1, "db.query.summary", "SELECT users");
	assert_attr(u, 1, "db.response.returned_rows", rows);
	/* multi-statement: three results in one exchange */
	assert_attr(u, 2, "db.response.returned_rows", "2");
	assert_attr(u, 2, "db.query.text", "SELECT ?; SELECT ? AS a; UPDATE users SET name=? WHERE id=?");
	/* CALL: two result sets and the final OK */
	assert_attr(u, 5, "db.operation.name", "CALL");
	assert_attr(u, 5, "db.response.returned_rows", "2");
	/* COM_STMT_PREPARE then two COM_STMT_EXECUTE of it */
	assert_attr(u, 6, "db.operation.name", "PREPARE");
	assert_attr(u, 6, "db.query.summary", "PREPARE SELECT users");
	assert_string_equal(u->span[6].name, "PREPARE SELECT users");
	assert_attr(u, 7, "db.operation.name", "SELECT");
	assert_attr(u, 7, "db.query.text", "SELECT name FROM users WHERE id = ?");
	assert_string_equal(u->span[7].name, "SELECT users");
	assert_attr(u, 7, "db.response.returned_rows", "1");
	assert_attr(u, 8, "db.query.text", "SELECT name FROM users WHERE id = ?");
	assert_attr(u, 9, "db.query.summary", "PREPARE INSERT users");
	/* a PREPARE failing */
	assert_attr(u, 10, "db.response.status_code", "1064");
	assert_string_equal(u->span[10].status_message, "1064 (42000)");
	assert_attr(u, 11, "db.operation.name", "STMT_RESET");
	/* COM_STMT_CLOSE has no reply and no exchange: 12 is COM_PING */
	assert_attr(u, 12, "db.operation.name", "PING");
	assert_string_equal(u->span[12].name, "PING");
	assert_attr(u, 13, "db.operation.name", "SET_OPTION");
	assert_attr(u, 14, "db.operation.name", "RESET_CONNECTION");
	assert_attr(u, 15, "db.operation.name", "INIT_DB");
	assert_attr(u, 15, "db.response.status_code", "1049");
	assert_attr(u, 16, "db.namespace", "mysql");
	assert_attr(u, 17, "db.namespace", "mysql");    /* the failed INIT_DB changed nothing, this did */
	assert_attr(u, 17, "db.operation.name", "STATISTICS");
	assert_attr(u, 18, "db.operation.name", "FIELD_LIST");
	/* LOAD DATA LOCAL INFILE: request, 0xFB, upload, OK in one exchange */
	assert_attr(u, 19, "db.operation.name", "LOAD");
	assert_int_equal(u->span[19].status_code, WS_STATUS_UNSET);
	/* 20: the unknown command 0xee is counted, its ERR skipped, never announced */
	assert_int_equal(u->state[20], 0);
	assert_attr(u, 21, "db.query.text", "SELECT @@version");
	assert_attr(u, 21, "db.response.returned_rows", "1");
}

static void test_raw_sessions(void **state)
{
	(void)state;
	for (int dep = 0; dep < 2; dep++) {
		struct run *u = run_new(true, WS_PROLE_CLIENT);

		feed_vec(u, dep ? v_raw1 : v_raw0, -1, 0);
		check_raw(u, dep ? "2" : "4");
		run_free(u);
	}
}

static void test_split_everywhere(void **state)
{
	static const struct vchunk *const vecs[] = { v_cli, v_raw0, v_raw1 };

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		const struct vchunk *v = vecs[k];

		for (int i = 0; v[i].dir; i++) {
			/* a mid-way start is only recognised on a whole first header */
			for (uint32_t at = i == 0 ? 5 : 1; at < v[i].len; at++) {
				struct run *u = run_new(true, WS_PROLE_CLIENT);

				feed_vec(u, v, i, at);
				if (k == 0)
					check_cli(u);
				else
					check_raw(u, k == 2 ? "2" : "4");
				run_free(u);
			}
		}
	}
}


/* ---- synthetic scripts ---------------------------------------------------------- */

/* A connection seen mid-way: no handshake, capabilities unknown. The first chunk being a
 * reply (to a request not seen) is skipped; parsing starts at the client's command. */
static void test_midstream(void **state)
{
	struct bb b = { .n = 0 };
	uint8_t seq = 1;

	(void)state;
	for (int role = 0; role < 2; role++) {
		struct run *u = run_new(true, role ? WS_PROLE_CLIENT : WS_PROLE_UNKNOWN);

		bb_reset(&b);
		PKT(&b, 1, OK_PKT);
		feed(u, 's', b.b, b.n);
		bb_reset(&b);
		query(&b, 3, "SELECT a FROM t WHERE b = 42");
		feed(u, 'c', b.b, b.n);
		bb_reset(&b);
		seq = 1;
		resultset(&b, &seq, 3, false, false);
		feed(u, 's', b.b, b.n);
		run_close(u);
		assert_string_equal(summary(u), "R1 X1");
		assert_int_equal(ops->role(u->st), WS_PROLE_CLIENT);
		assert_attr(u, 1, "db.system.name", "mysql");   /* no greeting: mysql */
		assert_attr(u, 1, "db.namespace", NULL);
		assert_attr(u, 1, "db.query.text", "SELECT a FROM t WHERE b = ?");
		assert_attr(u, 1, "db.response.returned_rows", "3");
		run_free(u);
	}
	/* the traced process is the server, learned from an ingress command */
	{
		struct run *u = run_new(false, WS_PROLE_UNKNOWN);

		bb_reset(&b);
		query(&b, 3, "DELETE FROM t");
		feed(u, 'c', b.b, b.n);
		bb_reset(&b);
		PKT(&b, 1, OK_PKT);
		feed(u, 's', b.b, b.n);
		run_close(u);
		assert_string_equal(summary(u), "R1 X1");
		assert_int_equal(ops->role(u->st), WS_PROLE_SERVER);
		assert_attr(u, 1, "client.address", "10.0.0.7");
		run_free(u);
	}
}

/* Unknown capabilities: whether EOFs follow definitions is learned from the lengths
 * (EOF 5 bytes, an OK terminator at least 7) and sequence ids. */
static void test_midstream_eof_learning(void **state)
{
	struct bb b = { .n = 0 };
	uint8_t seq;

	(void)state;
	/* 1. PREPARE (1 param, 1 column) with EOFs, then an empty result with EOFs */
	{
		struct run *u = run_new(true, WS_PROLE_CLIENT);

		query(&b, 0x16, "SELECT a FROM t WHERE b = ?");
		feed(u, 'c', b.b, b.n);
		bb_reset(&b);
		PKT(&b, 1, "\x00\x07\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00");
		PKT(&b, 2, COLDEF);
		PKT(&b, 3, EOF_PKT);
		PKT(&b, 4, COLDEF);
		PKT(&b, 5, EOF_PKT);
		feed(u, 's', b.b, b.n);
		bb_reset(&b);
		query(&b, 3, "SELECT a FROM t");
		feed(u, 'c', b.b, b.n);
		bb_reset(&b);
		seq = 1;
		resultset(&b, &seq, 0, false, false);
		feed(u, 's', b.b, b.n);
		run_close(u);
		assert_string_equal(summary(u), "R1 X1 R2 X2");
		assert_attr(u, 2, "db.response.returned_rows", "0");
		run_free(u);
	}
	/* 2. the same PREPARE without EOFs (CLIENT_DEPRECATE_EOF), then an empty result
	 * ended by a 7-byte OK */
	{
		struct run *u = run_new(true, WS_PROLE_CLIENT);

		bb_reset(&b);
		query(&b, 0x16, "SELECT a FROM t WHERE b = ?");
		feed(u, 'c', b.b, b.n);
		bb_reset(&b);
		PKT(&b, 1, "\x00\x07\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00");
		PKT(&b, 2, COLDEF);
		PKT(&b, 3, COLDEF);
		feed(u, 's', b.b, b.n);
		bb_reset(&b);
		query(&b, 3, "SELECT a FROM t");
		feed(u, 'c', b.b, b.n);
		bb_reset(&b);
		seq = 1;
		resultset(&b, &seq, 0, true, false);
		feed(u, 's', b.b, b.n);
		run_close(u);
		assert_string_equal(summary(u), "R1 X1 R2 X2");
		assert_attr(u, 2, "db.response.returned_rows", "0");
		run_free(u);
	}
	/* 3. PREPARE with columns only: the exchange ends at the last definition and the
	 * EOF that follows (sequence id 3, not a reply's 1) is swallowed */
	{
		struct run *u = run_new(true, WS_PROLE_CLIENT);

		bb_reset(&b);
		query(&b, 0x16, "SELECT a FROM t");
		feed(u, 'c', b.b, b.n);
		bb_reset(&b);
		PKT(&b, 1, "\x00\x07\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00");
		PKT(&b, 2, COLDEF);
		feed(u, 's', b.b, b.n);
		bb_reset(&b);
		PKT(&b, 3, EOF_PKT);
		feed(u, 's', b.b, b.n);
		bb_reset(&b);
		query(&b, 3, "COMMIT");
		feed(u, 'c', b.b, b.n);
		bb_reset(&b);
		PKT(&b, 1, OK_PKT);
		feed(u, 's', b.b, b.n);
		run_close(u);
		assert_string_equal(summary(u), "R1 X1 R2 X2");
		run_free(u);
	}
}

/* Requests written back to back pair with replies in order; MariaDB's pipelined
 * PREPARE + EXECUTE of statement id 0xffffffff takes the PREPARE's text. */
static void test_pipelining(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	handshake(u, "10.11.6-MariaDB", true, 0);
	query(&b, 3, "UPDATE t SET a = 1");
	query(&b, 3, "SELECT a FROM t");
	query(&b, 0x16, "SELECT b FROM u WHERE c = ?");
	put(&b, "\x0b\x00\x00\x00\x17\xff\xff\xff\xff\x00\x01\x00\x00\x00\x00", 15);
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	PKT(&b, 1, "\x01");
	PKT(&b, 2, COLDEF);
	PKT(&b, 3, "\x01" "1");
	PKT(&b, 4, OKEOF_PKT);
	PKT(&b, 1, "\x00\x09\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00");
	PKT(&b, 2, COLDEF);
	PKT(&b, 3, COLDEF);
	PKT(&b, 1, "\x01");
	PKT(&b, 2, COLDEF);
	PKT(&b, 3, "\x00\x00\x01" "x");
	PKT(&b, 4, OKEOF_PKT);
	/* the reply arrives in pieces of 7 bytes */
	for (uint32_t o = 0; o < b.n; o += 7)
		feed(u, 's', b.b + o, b.n - o < 7 ? b.n - o : 7);
	/* a later EXECUTE by the id from PREPARE_OK */
	bb_reset(&b);
	put(&b, "\x0b\x00\x00\x00\x17\x09\x00\x00\x00\x00\x01\x00\x00\x00\x00", 15);
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, ERR_1146);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "R1 R2 R3 R4 X1 X2 X3 X4 R5 X5");
	assert_attr(u, 2, "db.response.returned_rows", "1");
	assert_attr(u, 4, "db.query.text", "SELECT b FROM u WHERE c = ?");
	assert_attr(u, 4, "db.response.returned_rows", "1");
	assert_attr(u, 5, "db.query.summary", "SELECT u");
	assert_attr(u, 5, "db.response.status_code", "1146");
	/* the requests' first bytes: seqs of one chunk, in order */
	assert_int_equal(u->x[1].req.seq, u->x[0].req.seq + 4 + 19);
	run_free(u);
}

/* A result set far larger than the capture budget: the headers after the first 1 KiB
 * are not seen, so the reply ends at the client's next command, marked inferred. */
static void big_result(struct run *u, bool then_query)
{
	static uint8_t rs[40000];
	uint32_t n = 0;
	struct bb b = { .n = 0 };
	uint8_t seq = 1;

	handshake(u, "10.11.6-MariaDB", true, 0);
	query(&b, 3, "SELECT seq, REPEAT(?, 100) FROM seq_1_to_300");
	feed(u, 'c', b.b, b.n);
	memcpy(rs + n, "\x01\x00\x00\x01\x01", 5);
	n += 5;
	rs[n] = sizeof(COLDEF) - 1;
	rs[n + 1] = rs[n + 2] = 0;
	rs[n + 3] = 2;
	memcpy(rs + n + 4, COLDEF, sizeof(COLDEF) - 1);
	n += 4 + (uint32_t)sizeof(COLDEF) - 1;
	seq = 3;
	for (int i = 0; i < 300; i++) {
		uint8_t row[105] = { 100 };

		memset(row + 1, 'x', 100);
		rs[n] = 101;
		rs[n + 1] = rs[n + 2] = 0;
		rs[n + 3] = seq++;
		memcpy(rs + n + 4, row, 101);
		n += 105;
	}
	memcpy(rs + n, "\x07\x00\x00", 3);
	rs[n + 3] = seq;
	memcpy(rs + n + 4, OKEOF_PKT, 7);
	n += 11;
	feed(u, 's', rs, 16384);
	feed(u, 's', rs + 16384, n - 16384);
	if (then_query) {
		bb_reset(&b);
		query(&b, 3, "SELECT 1");
		feed(u, 'c', b.b, b.n);
		bb_reset(&b);
		seq = 1;
		resultset(&b, &seq, 1, true, false);
		feed(u, 's', b.b, b.n);
	}
	run_close(u);
}

static void test_big_result(void **state)
{
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	u->budget = 1024;
	big_result(u, true);
	assert_string_equal(summary(u), "R1 X1t!end_inferred R2 X2");
	/* the reply's last byte is in the last server chunk before the flip (chunk 5) */
	assert_int_equal(u->x[1].resp.first_enter_ns, 5000);
	assert_int_equal(u->x[1].resp.last_enter_ns, 6000);
	assert_attr(u, 1, "db.response.returned_rows", NULL);
	assert_attr(u, 2, "db.response.returned_rows", "1");
	run_free(u);

	/* the same, ended by close */
	u = run_new(true, WS_PROLE_CLIENT);
	u->budget = 1024;
	big_result(u, false);
	assert_string_equal(summary(u), "R1 X1t!end_inferred");
	run_free(u);

	/* fully captured: every row counted */
	u = run_new(true, WS_PROLE_CLIENT);
	big_result(u, true);
	assert_string_equal(summary(u), "R1 X1 R2 X2");
	assert_attr(u, 1, "db.response.returned_rows", "300");
	run_free(u);
}

/* A query longer than 0xffffff bytes: two packets (sequence ids 0 and 1), mostly not
 * captured; the lengths carry the framing and the reply starts at sequence id 2. */
static void test_multi_packet_query(void **state)
{
	static uint8_t q[1024];
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);
	uint8_t hdr2[4] = { 100, 0, 0, 1 };

	(void)state;
	handshake(u, "8.0.36", false, 0);
	memcpy(q, "\xff\xff\xff\x00\x03SELECT 'aaaa", 16);
	memset(q + 16, 'a', sizeof(q) - 16);
	feed_ex(u, 'c', q, 0xffffff + 4 - 100000, sizeof(q), 0);
	feed_ex(u, 'c', NULL, 100000, 0, 0);
	feed_ex(u, 'c', hdr2, 4, 4, 0);
	feed_ex(u, 'c', NULL, 100, 0, 0);
	PKT(&b, 2, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "R1 X1t");
	assert_attr(u, 1, "db.system.name", "mysql");
	assert_attr(u, 1, "db.query.text", "SELECT ?");
	assert_attr(u, 1, "db.operation.name", "SELECT");
	assert_int_equal(u->x[0].req.last_enter_ns, 1000ull * 7);
	run_free(u);
}

/* Bytes lost by the kernel: inside a body of known length they are skipped; at a
 * header the reply is lost and ends at the client's next command. */
static void test_gaps(void **state)
{
	static uint8_t row[3004];
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	handshake(u, "10.11.6-MariaDB", false, 0);
	query(&b, 3, "SELECT a FROM t");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, "\x01");
	PKT(&b, 2, COLDEF);
	PKT(&b, 3, EOF_PKT);
	row[0] = 0xb8;   /* 3000 = 0x0bb8 */
	row[1] = 0x0b;
	row[3] = 4;
	row[4] = 0xfc;
	row[5] = 0xb5;
	row[6] = 0x0b;
	put(&b, row, 104);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	put(&b, row + 604, 2400);
	PKT(&b, 5, EOF_PKT);
	feed_ex(u, 's', b.b, b.n, b.n, 500);
	/* a gap over a header */
	bb_reset(&b);
	query(&b, 3, "SELECT a FROM t");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 5, EOF_PKT);
	feed_ex(u, 's', b.b, b.n, b.n, 40);
	bb_reset(&b);
	query(&b, 3, "SELECT 2");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	/* request direction: a gap inside a command's body is skipped (its text is cut);
	 * a gap over a header loses the request framing until a command follows a reply */
	bb_reset(&b);
	query(&b, 3, "SELECT 3");
	feed(u, 'c', b.b, 6);
	feed_ex(u, 'c', b.b + 8, b.n - 8, b.n - 8, 2);
	bb_reset(&b);
	query(&b, 3, "SELECT 4");
	feed_ex(u, 'c', b.b, b.n, b.n, 10);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "SELECT 5");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	/* at a flip, a chunk after a gap that starts with a command resyncs at once */
	bb_reset(&b);
	query(&b, 3, "SELECT 6");
	feed_ex(u, 'c', b.b, b.n, b.n, 7);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u),
			    "R1 E!gap X1 R2 E!gap X2t!end_inferred R3 X3 E!gap R4 E!gap X4t "
			    "E!response_without_request R5 X5 E!gap R6 X6");
	assert_attr(u, 1, "db.response.returned_rows", "1");
	assert_attr(u, 4, "db.query.text", "S");
	assert_attr(u, 5, "db.query.text", "SELECT ?");
	run_free(u);
}

static void test_bad_sequence(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	handshake(u, "10.11.6-MariaDB", false, 0);
	query(&b, 3, "SELECT 1");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 5, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "SELECT 2");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	/* a command that does not start at sequence id 0 */
	bb_reset(&b);
	PKT(&b, 3, "\x03SELECT 3");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u),
			    "R1 E!bad_sequence X1t!end_inferred R2 X2 E!bad_sequence E!response_without_request");
	run_free(u);
}

/* TLS, compression and replication streams end parsing for good. */
static void test_give_up(void **state)
{
	struct bb b = { .n = 0 };
	uint8_t ssl[32] = { 0x00, 0x8a, 0x00, 0x00, 0, 0, 0, 1, 33 };   /* PROTOCOL_41 | SSL | SECURE */
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	/* SSLRequest */
	PKT(&b, 0, "\x0a" "10.11.6-MariaDB\0" "\x01\x00\x00\x00" "abcdefgh\0" "\xfe\xff" "\x21\x02\x00\xff\x81");
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	pkt(&b, 1, ssl, sizeof(ssl));
	feed(u, 'c', b.b, b.n);
	/* not a loss: the connection continues in TLS, whose plaintext a new parser gets */
	assert_int_equal(u->rc, WS_FEED_TLS);
	assert_int_equal(ops->capture(u->st), WS_CAPTURE_OFF);
	feed(u, 'c', "\x16\x03\x01\x02\x00", 5);
	assert_int_equal(u->rc, WS_FEED_TLS);
	run_close(u);
	assert_string_equal(summary(u), "");
	run_free(u);

	/* compression negotiated */
	u = run_new(true, WS_PROLE_CLIENT);
	handshake(u, "10.11.6-MariaDB", false, 0x20);
	assert_int_equal(u->rc, -MYSQL_ERR_COMPRESSED);
	assert_int_equal(ops->capture(u->st), WS_CAPTURE_OFF);
	run_close(u);
	assert_string_equal(summary(u), "E!compressed");
	run_free(u);

	/* COM_BINLOG_DUMP behind a pending query */
	u = run_new(true, WS_PROLE_CLIENT);
	handshake(u, "10.11.6-MariaDB", false, 0);
	assert_int_equal(ops->capture(u->st), WS_CAPTURE_DEFAULT);
	bb_reset(&b);
	query(&b, 3, "SELECT 1");
	put(&b, "\x0b\x00\x00\x00\x12\x04\x00\x00\x00\x00\x00\x01\x00\x00\x00", 15);
	feed(u, 'c', b.b, b.n);
	assert_int_equal(u->rc, -MYSQL_ERR_REPLICATION);
	run_close(u);
	assert_string_equal(summary(u), "R1 E1!replication E!replication");
	run_free(u);
}

/* The connection ends before replies: every pending request fails, closed. */
static void test_close_pending(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	handshake(u, "10.11.6-MariaDB", false, 0);
	query(&b, 3, "SELECT a FROM t");
	query(&b, 3, "SELECT b FROM t");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, "\x01");
	PKT(&b, 2, COLDEF);
	feed(u, 's', b.b, b.n);
	/* a command cut by the close */
	feed(u, 'c', "\x20\x00\x00\x00\x03SELE", 9);
	run_close(u);
	assert_string_equal(summary(u), "R1 R2 E!closed E1!closed E2!closed");
	assert_true(u->x[3].closed && u->x[4].closed);
	/* after close, feeds are ignored */
	feed(u, 's', "\x07\x00\x00\x01" OK_PKT, 11);
	assert_int_equal(u->n, 5);
	run_free(u);
}

static void test_bounds(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);
	char want[1024];
	size_t o = 0;

	(void)state;
	/* MYSQL_PENDING_MAX requests awaiting replies, then one more */
	handshake(u, "10.11.6-MariaDB", false, 0);
	for (int i = 0; i <= MYSQL_PENDING_MAX; i++)
		PKT(&b, 0, "\x0e");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	for (int i = 0; i <= MYSQL_PENDING_MAX; i++)
		PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 0, "\x0e");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	for (int i = 1; i <= MYSQL_PENDING_MAX; i++)
		o += (size_t)snprintf(want + o, sizeof(want) - o, "R%d ", i);
	o += (size_t)snprintf(want + o, sizeof(want) - o, "E!too_many_pending X1t!end_inferred");
	for (int i = 2; i <= MYSQL_PENDING_MAX; i++)
		o += (size_t)snprintf(want + o, sizeof(want) - o, " E%d!framing_lost", i);
	snprintf(want + o, sizeof(want) - o, " R%d X%d", MYSQL_PENDING_MAX + 1, MYSQL_PENDING_MAX + 1);
	assert_string_equal(summary(u), want);
	run_free(u);

	/* MYSQL_STMT_MAX prepared statements kept, the next counted and not kept */
	u = run_new(true, WS_PROLE_CLIENT);
	handshake(u, "10.11.6-MariaDB", true, 0);
	for (uint32_t i = 1; i <= MYSQL_STMT_MAX + 1; i++) {
		uint8_t ok[12] = { 0, (uint8_t)i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
		char sql[64];

		bb_reset(&b);
		snprintf(sql, sizeof(sql), "SELECT * FROM t%u", i);
		query(&b, 0x16, sql);
		feed(u, 'c', b.b, b.n);
		bb_reset(&b);
		pkt(&b, 1, ok, sizeof(ok));
		feed(u, 's', b.b, b.n);
	}
	for (uint8_t id = 1; id <= MYSQL_STMT_MAX + 1; id += MYSQL_STMT_MAX) {
		uint8_t ex[10] = { 0x17, id, 0, 0, 0, 0, 1, 0, 0, 0 };

		bb_reset(&b);
		pkt(&b, 0, ex, sizeof(ex));
		feed(u, 'c', b.b, b.n);
		bb_reset(&b);
		PKT(&b, 1, OKEOF_PKT);
		feed(u, 's', b.b, b.n);
	}
	/* COM_STMT_CLOSE (no reply) forgets statement 1 */
	bb_reset(&b);
	PKT(&b, 0, "\x19\x01\x00\x00\x00");
	PKT(&b, 0, "\x17\x01\x00\x00\x00\x00\x01\x00\x00\x00");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	/* COM_RESET_CONNECTION forgets every statement */
	bb_reset(&b);
	PKT(&b, 0, "\x1f");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 0, "\x17\x02\x00\x00\x00\x00\x01\x00\x00\x00");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	{
		uint32_t n = MYSQL_STMT_MAX + 1;

		assert_attr(u, n + 5, "db.operation.name", "EXECUTE");

		assert_attr(u, n, "db.query.summary", "PREPARE SELECT t65");
		assert_attr(u, n + 1, "db.query.summary", "SELECT t1");
		assert_attr(u, n + 2, "db.operation.name", "EXECUTE");   /* not kept */
		assert_attr(u, n + 2, "db.query.text", NULL);
		assert_string_equal(u->span[n + 2].name, "EXECUTE");
		assert_attr(u, n + 3, "db.operation.name", "EXECUTE");   /* closed */
		assert_non_null(strstr(summary(u), "R65 E!stmt_map_full X65 R66 X66"));
	}
	run_free(u);
}

/* MySQL 8 CLIENT_QUERY_ATTRIBUTES: a parameter block before the SQL text. */
static void test_query_attributes(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	handshake(u, "8.0.36", true, 0x08000000u);
	PKT(&b, 0, "\x03\x00\x01SELECT 1");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	/* two attributes: a LONG "id" = 7 and a VAR_STRING "tp" = "xyz" */
	PKT(&b, 0, "\x03\x02\x01\x00\x01\x03\x00\x02id\xfd\x00\x02tp\x07\x00\x00\x00\x03xyzUPDATE t SET a = 'q'");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "R1 X1 R2 X2");
	assert_attr(u, 1, "db.query.text", "SELECT ?");
	assert_attr(u, 2, "db.query.text", "UPDATE t SET a = ?");
	assert_null(strstr(u->span[2].arena, "xyz"));
	run_free(u);

	/* capabilities unknown: a count byte below 0x09 then a set count of 1 */
	u = run_new(true, WS_PROLE_CLIENT);
	u->si.sanitize = false;
	bb_reset(&b);
	PKT(&b, 0, "\x03\x00\x01SELECT 1");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_attr(u, 1, "db.query.text", "SELECT 1");
	run_free(u);
}

/* A command whose first payload byte is past the capture: announced as uncaptured, its
 * reply (grammar unknown) ends at the next command. */
static void test_uncaptured_command(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	handshake(u, "10.11.6-MariaDB", false, 0);
	query(&b, 3, "SELECT 1");
	feed_ex(u, 'c', b.b, b.n, 4, 0);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "SELECT 2");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "R1u X1t!end_inferred R2 X2");
	run_free(u);
}

/* Authentication: an auth switch round trip, then commands; a refused login. */
static void test_auth(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	PKT(&b, 0, "\x0a" "8.0.36\0" "\x01\x00\x00\x00" "abcdefgh\0" "\xff\xff" "\x21\x02\x00\xff\xdf");
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, "\x0d\xa2\x0a\x00" "\0\0\0\1" "\x21" "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
		   "app\0" "\x00" "db2\0" "caching_sha2_password\0");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 2, "\xfe" "mysql_native_password\0" "0123456789abcdefghij\0");
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 3, "secretsecretsecretse");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 4, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "SELECT 1");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "R1 X1");
	assert_attr(u, 1, "db.namespace", "db2");
	run_free(u);

	/* access denied: nothing after it is parsed */
	u = run_new(true, WS_PROLE_CLIENT);
	bb_reset(&b);
	PKT(&b, 0, "\x0a" "8.0.36\0" "\x01\x00\x00\x00" "abcdefgh\0" "\xff\xff" "\x21\x02\x00\xff\xdf");
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, "\x0d\xa2\x0a\x00" "\0\0\0\1" "\x21" "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0" "app\0\x00");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 2, "\xff\x15\x04#28000Access denied for user 'app'");
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "");
	run_free(u);

	/* a greeting that is an error (too many connections) */
	u = run_new(true, WS_PROLE_CLIENT);
	bb_reset(&b);
	PKT(&b, 0, "\x0a" "5.7.44\0" "\x01\x00\x00\x00" "abcdefgh\0" "\xff\xf7" "\x21\x02\x00\xff\x81");
	feed(u, 's', b.b, b.n);
	run_close(u);
	run_free(u);
}

/* The namespace follows COM_CHANGE_USER, USE and COM_INIT_DB on success only. */
static void test_namespace(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	handshake(u, "10.11.6-MariaDB", true, 0);
	query(&b, 0x16, "SELECT 1");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, "\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00");
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 0, "\x11" "bob\0" "\x03" "abc" "other\0" "\x21\x00");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "SELECT 1");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "use `third`");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "USE fourth");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, "\xff\x19\x04#42000Unknown database 'fourth'");
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "SELECT 2");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 0, "\x17\x05\x00\x00\x00\x00\x01\x00\x00\x00");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "R1 X1 R2 X2 R3 X3 R4 X4 R5 X5 R6 X6");
	assert_attr(u, 1, "db.namespace", "shop");
	assert_attr(u, 2, "db.namespace", "other");
	assert_attr(u, 3, "db.namespace", "third");
	assert_attr(u, 4, "db.namespace", "fourth");
	assert_attr(u, 5, "db.namespace", "third");
	/* COM_CHANGE_USER reset the session: statement 5 is gone */
	assert_attr(u, 6, "db.operation.name", "EXECUTE");
	run_free(u);
}

/* sqlcommenter's traceparent comment is handed to the centre; the comment never reaches
 * db.query.text; sanitising can be turned off. */
static void test_traceparent_and_text(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	handshake(u, "10.11.6-MariaDB", false, 0);
	query(&b, 3, "SELECT * FROM orders WHERE id = 5 /*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "SELECT * FROM orders WHERE id = 6 /*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0'*/");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(u->x[0].tp, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
	assert_string_equal(u->x[1].tp, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
	assert_string_equal(u->x[2].tp, "");   /* malformed: none */
	assert_attr(u, 1, "db.query.text", "SELECT * FROM orders WHERE id = ?");
	run_free(u);

	u = run_new(true, WS_PROLE_CLIENT);
	u->si.sanitize = false;
	bb_reset(&b);
	query(&b, 3, "SELECT * FROM orders WHERE id = 5");
	feed(u, 'c', b.b, b.n);
	run_close(u);
	assert_attr(u, 1, "db.query.text", "SELECT * FROM orders WHERE id = 5");
	run_free(u);
}

/* Server-side cursors: the EXECUTE's reply stops after the definitions (CURSOR_EXISTS),
 * rows come with COM_STMT_FETCH. Multi-results ending in an error. */
static void test_cursor_and_multi_error(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);
	uint8_t seq = 1;

	(void)state;
	handshake(u, "10.11.6-MariaDB", false, 0);
	query(&b, 0x16, "SELECT a FROM t");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, "\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00");
	PKT(&b, 2, COLDEF);
	PKT(&b, 3, EOF_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 0, "\x17\x03\x00\x00\x00\x01\x01\x00\x00\x00");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, "\x01");
	PKT(&b, 2, COLDEF);
	PKT(&b, 3, "\xfe\x00\x00\x42\x00");
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 0, "\x1c\x03\x00\x00\x00\x02\x00\x00\x00");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, "\x00\x00\x01" "1");
	PKT(&b, 2, "\x00\x00\x01" "2");
	PKT(&b, 3, "\xfe\x00\x00\x82\x00");
	feed(u, 's', b.b, b.n);
	/* an OK with SERVER_MORE_RESULTS_EXISTS, then a result set */
	bb_reset(&b);
	query(&b, 3, "UPDATE t SET a = 1; SELECT 1");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_MORE);
	seq = 2;
	resultset(&b, &seq, 1, false, false);
	feed(u, 's', b.b, b.n);
	seq = 1;
	bb_reset(&b);
	query(&b, 3, "SELECT 1; SELECT * FROM nosuch");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	resultset(&b, &seq, 1, false, true);
	pkt(&b, seq, ERR_1146, sizeof(ERR_1146) - 1);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "R1 X1 R2 X2 R3 X3 R4 X4 R5 X5");
	assert_attr(u, 2, "db.query.text", "SELECT a FROM t");
	assert_attr(u, 4, "db.response.returned_rows", "1");
	assert_attr(u, 3, "db.operation.name", "STMT_FETCH");
	assert_attr(u, 3, "db.response.returned_rows", "2");
	assert_attr(u, 5, "db.response.status_code", "1146");
	assert_string_equal(u->span[5].status_message, "1146 (42S02)");
	run_free(u);
}


/* MariaDB's cached metadata: a column count followed by metadata_follows = 0 has no
 * definitions. COM_STMT_SEND_LONG_DATA has no reply and no exchange. */
static void test_no_metadata_long_data(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	handshake(u, "10.11.6-MariaDB", false, 0);
	query(&b, 0x16, "INSERT INTO t VALUES (?)");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, "\x00\x04\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00");
	PKT(&b, 2, COLDEF);
	PKT(&b, 3, EOF_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 0, "\x18\x04\x00\x00\x00\x00\x00" "blob");
	PKT(&b, 0, "\x17\x04\x00\x00\x00\x00\x01\x00\x00\x00");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, "\x01\x00");
	PKT(&b, 2, EOF_PKT);
	PKT(&b, 3, EOF_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "COMMIT");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "R1 X1 R2 X2 R3 X3");
	assert_attr(u, 2, "db.query.summary", "INSERT t");
	assert_attr(u, 2, "db.response.returned_rows", "0");
	run_free(u);
}


/* A reader that takes each packet's header and payload in two calls (4-byte chunks):
 * a mid-way start and a resync at the flip both accept a header-only chunk. */
static void test_header_only_reads(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(false, WS_PROLE_SERVER);

	(void)state;
	query(&b, 3, "SELECT 1");
	feed(u, 'c', b.b, 4);
	feed(u, 'c', b.b + 4, b.n - 4);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	/* lose the request framing (a gap over a header), then resync on a header chunk */
	bb_reset(&b);
	query(&b, 3, "SELECT 2");
	feed_ex(u, 'c', b.b, b.n, b.n, 9);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "SELECT 3");
	feed(u, 'c', b.b, 4);
	feed(u, 'c', b.b + 4, b.n - 4);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "R1 X1 E!gap R2 X2 R3 X3");
	assert_attr(u, 3, "db.query.text", "SELECT ?");
	run_free(u);

	/* a header-only first chunk followed by something that is not a v10 greeting */
	u = run_new(true, WS_PROLE_CLIENT);
	feed(u, 's', "\x30\x00\x00\x00", 4);
	assert_int_equal(u->rc, 0);
	feed(u, 's', "\x09" "01234567890123456789012345678901234567890123456", 48);
	assert_int_equal(u->rc, -MYSQL_ERR_NOT_MYSQL);
	run_close(u);
	assert_string_equal(summary(u), "E!not_mysql");
	run_free(u);
}

/* The HandshakeResponse41 a MariaDB client sends inside TLS after its SSLRequest
 * (sequence 2): CLIENT_MYSQL (bit 0) left out as a MariaDB server asks, MariaDB's own
 * capabilities in the filler's last 4 bytes, user "ws", 20 bytes of auth data, db
 * "shop". ssl=false: the same without CLIENT_SSL (not a TLS response). */
static uint32_t tls_hs_resp(uint8_t *out, bool ssl)
{
	/* PROTOCOL_41 | SSL | SECURE_CONNECTION | CONNECT_WITH_DB | PLUGIN_AUTH */
	uint32_t caps = 0x200u | (ssl ? 0x800u : 0) | 0x8000u | 0x8u | 0x80000u, n = 0;

	memset(out, 0, 128);
	memcpy(out, &caps, 4);                       /* little-endian here */
	out[4] = 0, out[5] = 0, out[6] = 0, out[7] = 1;   /* max packet */
	out[8] = 33;                                 /* charset */
	out[28] = 0x0d;                              /* MariaDB capabilities */
	n = 32;
	memcpy(out + n, "ws", 3), n += 3;
	out[n++] = 20;
	memset(out + n, 0x5a, 20), n += 20;          /* auth data: skipped, never kept */
	memcpy(out + n, "shop", 5), n += 5;
	memcpy(out + n, "mysql_native_password", 22), n += 22;
	return n;
}

/* A connection that went on in TLS (PostgreSQL-style in-band upgrade, issue 10): the
 * parser that saw the greeting and the SSLRequest returned WS_FEED_TLS; a new one gets
 * the TLS library's plaintext, which begins with the HandshakeResponse (sequence 2).
 * Detected, started there (whole, or its header read alone as mariadbd reads it), the
 * namespace and MariaDB read from it; the same bytes without CLIENT_SSL are not. */
static void test_tls_plaintext_start(void **state)
{
	uint8_t payload[128];
	struct bb b = { .n = 0 };
	uint32_t n = tls_hs_resp(payload, true);

	(void)state;
	pkt(&b, 2, payload, n);
	assert_int_equal(ops->detect(b.b, b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306), WS_DETECT_YES);
	assert_int_equal(ops->detect(b.b, b.n, WS_PDIR_INGRESS, WS_PROLE_SERVER, 3306), WS_DETECT_YES);
	assert_int_equal(ops->detect(b.b, 20, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306), WS_DETECT_MORE);
	assert_int_equal(ops->detect(b.b, b.n, WS_PDIR_INGRESS, WS_PROLE_CLIENT, 3306), WS_DETECT_NO);
	bb_reset(&b);
	pkt(&b, 2, payload, tls_hs_resp(payload, false));
	assert_int_equal(ops->detect(b.b, b.n, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306), WS_DETECT_NO);

	for (int split = 0; split < 2; split++) {
		for (int client = 0; client < 2; client++) {
			struct run *u = run_new(client, client ? WS_PROLE_CLIENT : WS_PROLE_SERVER);

			bb_reset(&b);
			pkt(&b, 2, payload, tls_hs_resp(payload, true));
			if (split) {
				feed(u, 'c', b.b, 4);
				feed(u, 'c', b.b + 4, b.n - 4);
			} else {
				feed(u, 'c', b.b, b.n);
			}
			bb_reset(&b);
			PKT(&b, 3, OK_PKT);
			feed(u, 's', b.b, b.n);
			bb_reset(&b);
			query(&b, 3, "SELECT 1");
			feed(u, 'c', b.b, b.n);
			bb_reset(&b);
			PKT(&b, 1, OK_PKT);
			feed(u, 's', b.b, b.n);
			assert_int_equal(u->rc, 0);
			run_close(u);
			assert_string_equal(summary(u), "R1 X1");
			assert_attr(u, 1, "db.namespace", "shop");
			assert_attr(u, 1, "db.system.name", "mariadb");
			run_free(u);
		}
	}
}

/* A connection the agent found already open (role unknown) where the traced process is
 * the server and reads each header and payload in two calls (mariadbd does): the first
 * chunk is a header alone, which a client reading a greeting would see too. The payload
 * decides; found by tests/integration/test_proto_parent.sh (pooled connections made
 * before the agent started lost every server span: not_mysql). */
static void test_header_only_role_unknown(void **state)
{
	struct bb b = { .n = 0 };
	struct run *u = run_new(false, WS_PROLE_UNKNOWN);

	(void)state;
	/* a command of 20..1024 bytes: its header alone looks like a greeting's */
	query(&b, 3, "SELECT count(*) AS req_1 FROM ws_log WHERE note <> 'x'");
	feed(u, 'c', b.b, 4);
	assert_int_equal(u->rc, 0);
	feed(u, 'c', b.b + 4, b.n - 4);
	assert_int_equal(u->rc, 0);
	assert_int_equal(ops->role(u->st), WS_PROLE_SERVER);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	bb_reset(&b);
	query(&b, 3, "SELECT 2");
	feed(u, 'c', b.b, 4);
	feed(u, 'c', b.b + 4, b.n - 4);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "R1 X1 R2 X2");
	assert_attr(u, 1, "db.query.text", "SELECT count(*) AS req_1 FROM ws_log WHERE note <> ?");
	assert_attr(u, 2, "db.query.text", "SELECT ?");
	run_free(u);

	/* the other reading of the same header: a client, role unknown, reading a greeting
	 * in two calls learns it is the client */
	u = run_new(true, WS_PROLE_UNKNOWN);
	feed(u, 's', "\x30\x00\x00\x00", 4);
	assert_int_equal(u->rc, 0);
	feed(u, 's', "\x0a" "10.11.19-MariaDB\0" "0123456789012345678901234567890", 48);
	assert_int_equal(u->rc, 0);
	assert_int_equal(ops->role(u->st), WS_PROLE_CLIENT);
	run_close(u);
	run_free(u);

	/* a header alone, then the other direction: the header is forgotten, the new chunk
	 * starts parsing as usual */
	u = run_new(false, WS_PROLE_UNKNOWN);
	feed(u, 's', "\x30\x00\x00\x00", 4);
	bb_reset(&b);
	query(&b, 3, "SELECT 3");
	feed(u, 'c', b.b, b.n);
	bb_reset(&b);
	PKT(&b, 1, OK_PKT);
	feed(u, 's', b.b, b.n);
	run_close(u);
	assert_string_equal(summary(u), "R1 X1");
	assert_int_equal(ops->role(u->st), WS_PROLE_SERVER);
	run_free(u);
}

static void test_detect(void **state)
{
	static const struct {
		const char *data;
		uint32_t len;
		enum ws_pdir dir;
		enum ws_prole role;
		uint16_t port;
		int want;
	} c[] = {
		/* greetings */
		{ "d\x00\x00\x00\x0a" "5.5.5-10.11.19-MariaDB\0\x03\x00\x00\x00" "abcdefgh\0\xfe\xf7", 47, WS_PDIR_INGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_YES },
		{ "d\x00\x00\x00\x0a" "8.0.36\0\x03\x00\x00\x00" "abcdefgh\0\xfe\xf7", 31, WS_PDIR_EGRESS, WS_PROLE_SERVER, 1234, WS_DETECT_YES },
		{ "d\x00\x00\x00\x0a" "8.0.36\0\x03\x00\x00\x00" "abcdefgh\0\xfe\xf7", 31, WS_PDIR_EGRESS, WS_PROLE_UNKNOWN, 1234, WS_DETECT_YES },
		{ "d\x00\x00\x00\x0a" "8.0.36\0\x03\x00\x00\x00" "abcdefgh\0\xfe\xf7", 31, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_NO },
		{ "d\x00\x00\x00\x0a" "8.0", 8, WS_PDIR_INGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_MORE },
		{ "d\x00\x00", 3, WS_PDIR_INGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_MORE },
		{ "d\x00\x00\x00\x09" "8.0.36\0\x03\x00\x00\x00" "abcdefgh\0\xfe\xf7", 31, WS_PDIR_INGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_NO },
		{ "d\x00\x00\x00\x0a" "v8.0.36\0\x03\x00\x00\x00" "abcdefgh\0\xfe\xf7", 32, WS_PDIR_INGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_NO },
		{ "\x10\x00\x00\x00\x0a" "8.0.36\0\x03\x00\x00\x00" "abcdefgh\0\xfe\xf7", 31, WS_PDIR_INGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_NO },
		/* a command seen mid-way */
		{ "\x09\x00\x00\x00\x03SELECT 1", 13, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5000, WS_DETECT_YES },
		{ "\x09\x00\x00\x00\x03select 1", 13, WS_PDIR_INGRESS, WS_PROLE_SERVER, 5000, WS_DETECT_YES },
		{ "\x20\x00\x00\x00\x03/* app */ insert into", 25, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5000, WS_DETECT_YES },
		{ "\x09\x00\x00\x00\x16SELECT 1", 13, WS_PDIR_EGRESS, WS_PROLE_UNKNOWN, 5000, WS_DETECT_YES },
		{ "\x09\x00\x00\x00\x03SELECT 1", 13, WS_PDIR_INGRESS, WS_PROLE_CLIENT, 5000, WS_DETECT_NO },
		{ "\x20\x00\x00\x00\x03SEL", 8, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5000, WS_DETECT_MORE },
		{ "\x09\x00\x00\x00\x03hello 1", 12, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5000, WS_DETECT_NO },
		{ "\x09\x00\x00\x00\x03hello 1", 12, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_YES },
		{ "\x09\x00\x00\x01\x03SELECT 1", 13, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_NO },
		/* other protocols */
		{ "GET / HTTP/1.1\r\n", 16, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_NO },
		{ "*1\r\n$4\r\nPING\r\n", 14, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_NO },
		{ "\x16\x03\x01\x00\x03\x01\x00\x00", 8, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_NO },
		{ "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432, WS_DETECT_NO },
		{ "\x00\x00\x00\x29\x00\x03\x00\x00user\0", 13, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 5432, WS_DETECT_NO },
		{ "Q\x00\x00\x00\x16SELECT * FROM tt\0", 23, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_NO },
		{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306, WS_DETECT_NO },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int got = ops->detect((const uint8_t *)c[i].data, c[i].len, c[i].dir, c[i].role, c[i].port);

		if (got != c[i].want)
			fail_msg("detect case %zu: got %d, want %d", i, got, c[i].want);
	}
	assert_int_equal(ops->detect(NULL, 0, WS_PDIR_EGRESS, WS_PROLE_CLIENT, 3306), WS_DETECT_MORE);
	/* the recorded greeting */
	assert_int_equal(ops->detect((const uint8_t *)v_cli[0].data, v_cli[0].len, WS_PDIR_INGRESS, WS_PROLE_CLIENT, 1), WS_DETECT_YES);
}

static void test_ops_and_errors(void **state)
{
	(void)state;
	assert_int_equal(ops->id, WS_PROTO_MYSQL);
	assert_string_equal(ops->name, "mysql");
	assert_ptr_equal(ws_proto_by_id(WS_PROTO_MYSQL), ops);
	assert_int_equal(ops->n_errors, MYSQL_ERR__MAX);
	assert_int_equal(ops->err_closed, MYSQL_ERR_CLOSED);
	for (unsigned e = 1; e < MYSQL_ERR__MAX; e++) {
		const char *n = ops->error_name(e);

		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (unsigned f = 1; f < e; f++)
			assert_string_not_equal(n, ops->error_name(f));
	}
	assert_string_equal(ops->error_name(MYSQL_ERR__MAX), "unknown");
	assert_int_equal(ops->feed(NULL, WS_PDIR_EGRESS, NULL, NULL, NULL), -EINVAL);
	ops->free(NULL);
	ops->span_request(NULL, NULL, NULL);
	ops->span_response(NULL, NULL, NULL);
	assert_int_equal(ops->role(NULL), WS_PROLE_UNKNOWN);
}

/* Garbage never starts parsing; no crash on any prefix. */
static void test_garbage(void **state)
{
	static const char junk[] = "\x05\x00\x00\x00\x99\x01\x02\x03\x04 hello world \xff\xff\xff\xff";
	struct run *u = run_new(true, WS_PROLE_CLIENT);

	(void)state;
	for (int i = 0; i < 4; i++) {
		feed(u, i & 1 ? 's' : 'c', junk, sizeof(junk) - 1);
		assert_int_equal(u->rc, 0);
	}
	run_close(u);
	assert_string_equal(summary(u), "");
	run_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_session),
		cmocka_unit_test(test_cli_times),
		cmocka_unit_test(test_raw_sessions),
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_midstream_eof_learning),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_big_result),
		cmocka_unit_test(test_multi_packet_query),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_bad_sequence),
		cmocka_unit_test(test_give_up),
		cmocka_unit_test(test_close_pending),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_query_attributes),
		cmocka_unit_test(test_uncaptured_command),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_namespace),
		cmocka_unit_test(test_tls_plaintext_start),
		cmocka_unit_test(test_traceparent_and_text),
		cmocka_unit_test(test_cursor_and_multi_error),
		cmocka_unit_test(test_no_metadata_long_data),
		cmocka_unit_test(test_header_only_reads),
		cmocka_unit_test(test_header_only_role_unknown),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_ops_and_errors),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
