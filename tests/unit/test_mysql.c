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

__attribute__((unused)) static void query(struct bb *b, uint8_t cmd, const char *sql)
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
__attribute__((unused)) static void handshake(struct run *u, const char *version, bool deprecate, uint32_t extra_caps)
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
__attribute__((unused)) static void resultset(struct bb *b, uint8_t *seq, int rows, bool deprecate, bool more)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_session),
		cmocka_unit_test(test_cli_times),
		cmocka_unit_test(test_raw_sessions),
		cmocka_unit_test(test_split_everywhere),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
