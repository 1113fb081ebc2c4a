/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * MySQL / MariaDB classic protocol parser: see mysql.h and docs/proto-mysql.md.
 *
 * Two framers (one per direction) cut the byte stream into messages (packets joined
 * while a payload is 0xffffff long), keeping only the first bytes of each message
 * (enough to classify a reply, the SQL text of a request). Requests wait in a FIFO;
 * replies are read with the grammar of the front request's command. When framing is
 * lost in the reply direction (a header in uncaptured bytes, a gap) the front request
 * ends at the client's next command (the direction flip), marked inferred.
 */
#include "mysql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../span.h"
#include "pairing.h"
#include "sql.h"
#include "stream.h"

/* Capability flags (the client's HandshakeResponse41 and the server's greeting). */
#define CAP_CONNECT_WITH_DB 0x00000008u
#define CAP_COMPRESS 0x00000020u
#define CAP_PROTOCOL_41 0x00000200u
#define CAP_SSL 0x00000800u
#define CAP_SECURE_CONNECTION 0x00008000u
#define CAP_PLUGIN_AUTH_LENENC 0x00200000u
#define CAP_DEPRECATE_EOF 0x01000000u
#define CAP_ZSTD 0x04000000u
#define CAP_QUERY_ATTRIBUTES 0x08000000u

/* Server status flags (OK and EOF packets). */
#define ST_MORE_RESULTS 0x0008u
#define ST_CURSOR_EXISTS 0x0040u

#define MAX_PKT 0xffffffu
#define STMT_LAST 0xffffffffu   /* MariaDB: COM_STMT_EXECUTE of "the statement just prepared" */

#define COM_QUIT 0x01
#define COM_INIT_DB 0x02
#define COM_QUERY 0x03
#define COM_STMT_PREPARE 0x16
#define COM_STMT_EXECUTE 0x17
#define COM_STMT_CLOSE 0x19
#define COM_RESET_CONNECTION 0x1f

/* How a command's reply is read. */
enum kind {
	K_UNKNOWN = 0,  /* not a command of the protocol */
	K_GENERIC,      /* OK | ERR | EOF | result set(s) | LOCAL INFILE request */
	K_NONE,         /* no reply (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA) */
	K_QUIT,         /* no reply, the connection ends */
	K_PREPARE,      /* PREPARE_OK + parameter and column definitions | ERR */
	K_FIELDS,       /* column definitions up to EOF | ERR (COM_FIELD_LIST) */
	K_ANY1,         /* one message of text (COM_STATISTICS) */
	K_ROWS,         /* rows up to a terminator | ERR (COM_STMT_FETCH) */
	K_AUTH,         /* COM_CHANGE_USER: authentication again */
	K_STREAM,       /* replication / clone stream: not followed */
};

struct cmd_info {
	const char *name;   /* protocol name; the operation is the name without "COM_" */
	uint8_t kind;
	uint8_t _pad[7];
};

static const struct cmd_info cmds[0x21] = {
	[0x00] = { "COM_SLEEP", K_GENERIC, { 0 } },
	[0x01] = { "COM_QUIT", K_QUIT, { 0 } },
	[0x02] = { "COM_INIT_DB", K_GENERIC, { 0 } },
	[0x03] = { "COM_QUERY", K_GENERIC, { 0 } },
	[0x04] = { "COM_FIELD_LIST", K_FIELDS, { 0 } },
	[0x05] = { "COM_CREATE_DB", K_GENERIC, { 0 } },
	[0x06] = { "COM_DROP_DB", K_GENERIC, { 0 } },
	[0x07] = { "COM_REFRESH", K_GENERIC, { 0 } },
	[0x08] = { "COM_SHUTDOWN", K_GENERIC, { 0 } },
	[0x09] = { "COM_STATISTICS", K_ANY1, { 0 } },
	[0x0a] = { "COM_PROCESS_INFO", K_GENERIC, { 0 } },
	[0x0b] = { "COM_CONNECT", K_GENERIC, { 0 } },
	[0x0c] = { "COM_PROCESS_KILL", K_GENERIC, { 0 } },
	[0x0d] = { "COM_DEBUG", K_GENERIC, { 0 } },
	[0x0e] = { "COM_PING", K_GENERIC, { 0 } },
	[0x0f] = { "COM_TIME", K_GENERIC, { 0 } },
	[0x10] = { "COM_DELAYED_INSERT", K_GENERIC, { 0 } },
	[0x11] = { "COM_CHANGE_USER", K_AUTH, { 0 } },
	[0x12] = { "COM_BINLOG_DUMP", K_STREAM, { 0 } },
	[0x13] = { "COM_TABLE_DUMP", K_STREAM, { 0 } },
	[0x14] = { "COM_CONNECT_OUT", K_GENERIC, { 0 } },
	[0x15] = { "COM_REGISTER_SLAVE", K_GENERIC, { 0 } },
	[0x16] = { "COM_STMT_PREPARE", K_PREPARE, { 0 } },
	[0x17] = { "COM_STMT_EXECUTE", K_GENERIC, { 0 } },
	[0x18] = { "COM_STMT_SEND_LONG_DATA", K_NONE, { 0 } },
	[0x19] = { "COM_STMT_CLOSE", K_NONE, { 0 } },
	[0x1a] = { "COM_STMT_RESET", K_GENERIC, { 0 } },
	[0x1b] = { "COM_SET_OPTION", K_GENERIC, { 0 } },
	[0x1c] = { "COM_STMT_FETCH", K_ROWS, { 0 } },
	[0x1d] = { "COM_DAEMON", K_GENERIC, { 0 } },
	[0x1e] = { "COM_BINLOG_DUMP_GTID", K_STREAM, { 0 } },
	[0x1f] = { "COM_RESET_CONNECTION", K_GENERIC, { 0 } },
	[0x20] = { "COM_CLONE", K_STREAM, { 0 } },
};
static const struct cmd_info cmd_bulk = { "COM_STMT_BULK_EXECUTE", K_GENERIC, { 0 } }; /* MariaDB 0xfa */
static const struct cmd_info cmd_unknown = { NULL, K_UNKNOWN, { 0 } };

static const struct cmd_info *cmd_lookup(uint8_t b)
{
	if (b < sizeof(cmds) / sizeof(cmds[0]))
		return &cmds[b];
	if (b == 0xfa)
		return &cmd_bulk;
	return &cmd_unknown;
}

static const char *const error_names[MYSQL_ERR__MAX] = {
	[MYSQL_ERR_NONE] = "none",
	[MYSQL_ERR_NOT_MYSQL] = "not_mysql",
	[MYSQL_ERR_TLS] = "tls",
	[MYSQL_ERR_COMPRESSED] = "compressed",
	[MYSQL_ERR_REPLICATION] = "replication",
	[MYSQL_ERR_BAD_PACKET] = "bad_packet",
	[MYSQL_ERR_BAD_SEQUENCE] = "bad_sequence",
	[MYSQL_ERR_UNCAPTURED] = "uncaptured",
	[MYSQL_ERR_GAP] = "gap",
	[MYSQL_ERR_END_INFERRED] = "end_inferred",
	[MYSQL_ERR_FRAMING_LOST] = "framing_lost",
	[MYSQL_ERR_RESPONSE_WITHOUT_REQUEST] = "response_without_request",
	[MYSQL_ERR_TOO_MANY_PENDING] = "too_many_pending",
	[MYSQL_ERR_STMT_MAP_FULL] = "stmt_map_full",
	[MYSQL_ERR_UNKNOWN_COMMAND] = "unknown_command",
	[MYSQL_ERR_NO_MEMORY] = "no_memory",
	[MYSQL_ERR_CLOSED] = "closed",
};

const char *mysql_error_name(unsigned err)
{
	return err < MYSQL_ERR__MAX ? error_names[err] : "unknown";
}

enum phase {
	PH_INIT = 0,     /* nothing recognised yet */
	PH_GREETING,     /* the server's handshake is being read */
	PH_HS_RESP,      /* waiting for the client's HandshakeResponse */
	PH_AUTH,         /* authentication exchange until the server's OK or ERR */
	PH_AUTH_FAILED,  /* the server refused: nothing more is parsed */
	PH_COMMAND,      /* the command phase */
};

/* Where in a reply the front request is. */
enum rstate {
	RS_FIRST = 0,    /* a result: OK | ERR | EOF | column count | 0xFB (LOCAL INFILE) */
	RS_COLDEFS,      /* cols_left column definitions */
	RS_COLEOF,       /* after the definitions: an EOF unless CLIENT_DEPRECATE_EOF */
	RS_ROWS,         /* rows up to EOF/OK | ERR */
	RS_INFILE_UP,    /* the client uploads the file; its empty packet ends it */
	RS_PREP_FIRST,   /* PREPARE_OK | ERR */
	RS_PREP_DEFS,    /* a section of parameter or column definitions */
	RS_PREP_EOF,     /* the EOF after a section (optional when capabilities are unknown) */
	RS_FIELDS,       /* COM_FIELD_LIST definitions up to EOF | ERR */
	RS_ANY1,         /* any one message */
};

/* One request (the FIFO item's data, and the record's detail). */
struct my_req {
	uint8_t cmd;
	uint8_t kind;          /* enum kind */
	uint8_t resp_seq;      /* sequence id the reply starts with */
	bool unknown;          /* the command byte was not captured: nothing is known */
	bool silent;           /* unknown command: the reply is skipped, no record */
	bool mariadb;
	bool has_text;         /* q holds SQL */
	bool text_trunc;       /* q is not the whole text */
	bool use_db;           /* COM_QUERY "USE db": arg holds the db */
	bool arg_ok;           /* arg is complete (COM_INIT_DB / USE) */
	bool is_error;
	bool rows_known;
	bool inferred;         /* the reply's end was inferred */
	char sqlstate[6];
	uint16_t err_code;
	uint8_t _pad[3];
	uint32_t stmt_id;
	uint64_t rows;
	char ns[MYSQL_NS_MAX];   /* db.namespace when the request was sent */
	char arg[MYSQL_NS_MAX];  /* COM_INIT_DB / USE: the new namespace */
	char traceparent[56];
	uint32_t qlen;
	char q[];                /* SQL text, raw, NUL terminated (sanitised at span time) */
};

struct my_stmt {
	uint32_t id;
	uint32_t len;
	bool trunc;
	uint8_t _pad[7];
	char *text;
};

/* One direction's framer. */
struct my_dir {
	struct ws_unitbuf pfx;   /* the first bytes of the current message's payload */
	struct ws_msg_times t;   /* the current message's times */
	uint64_t msg_len;        /* payload bytes of the message so far */
	uint32_t body_left;      /* payload bytes left in the current packet */
	uint32_t pkt_len;
	uint8_t hdr[4];
	uint8_t hdr_len;
	uint8_t seq;             /* sequence id of the current packet */
	uint8_t seq0;            /* of the message's first packet */
	bool synced;             /* packet boundaries are known */
	bool in_body;
	bool in_msg;
	bool hole;               /* payload bytes of the message were not captured */
	uint8_t _pad[3];
};

/* The reply being read (to the front request). */
struct my_resp {
	struct ws_msg_times t;
	uint64_t cols_left;
	uint64_t rows;
	uint32_t nmsgs;
	uint16_t prep_params;
	uint16_t prep_cols;
	uint8_t rs;              /* enum rstate */
	uint8_t exp_seq;
	bool resultset;          /* a result set was read */
	uint8_t _pad[5];
};

struct my_conn {
	struct ws_stream st;
	struct my_dir d[2];      /* by enum ws_pdir */
	struct ws_fifo q;
	struct my_resp r;
	struct my_stmt *stmts;
	uint16_t n_stmts;
	uint16_t cap_stmts;
	uint32_t last_stmt_id;
	uint32_t srv_caps;
	uint32_t caps;           /* negotiated (client & server) when caps_known */
	uint8_t role;
	uint8_t phase;
	int8_t deprecate_eof;    /* -1 unknown (connection seen mid-way), 0, 1 */
	uint8_t dead_reason;
	bool has_last_stmt;
	bool caps_known;
	bool srv_caps_known;
	bool mariadb;
	bool dead;
	bool tls_upgrade;        /* dead because an SSLRequest switched it to TLS (WS_FEED_TLS) */
	bool closed;
	bool rlost;              /* the reply cannot be followed: it ends at the next flip */
	bool trail_eof;          /* an optional EOF may follow the last reply (see RS_PREP_EOF) */
	uint8_t trail_eof_seq;
	bool has_pend_ns;
	bool held;               /* role unknown: a header-only first chunk waits (see start) */
	uint8_t held_dir;
	char ns[MYSQL_NS_MAX];
	char pend_ns[MYSQL_NS_MAX];
	uint8_t held_hdr[4];
	struct ws_chunk held_ch; /* its times and seq; data points at held_hdr when replayed */
};

/* ---- small readers -------------------------------------------------------------- */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A length-encoded integer at p (n bytes available): bytes used, 0 when more bytes are
 * needed, -1 when it is not an integer (0xfb NULL, 0xff). */
static int lenenc(const uint8_t *p, uint32_t n, uint64_t *v)
{
	unsigned k;

	if (n < 1)
		return 0;
	if (p[0] < 0xfb) {
		*v = p[0];
		return 1;
	}
	if (p[0] == 0xfc)
		k = 2;
	else if (p[0] == 0xfd)
		k = 3;
	else if (p[0] == 0xfe)
		k = 8;
	else
		return -1;
	if (n < 1 + k)
		return 0;
	*v = 0;
	for (unsigned i = 0; i < k; i++)
		*v |= (uint64_t)p[1 + i] << (8 * i);
	return (int)(1 + k);
}

static void copy_str(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void times_merge(struct ws_msg_times *dst, const struct ws_msg_times *src)
{
	if (!src->first_enter_ns && !src->first_exit_ns)
		return;
	if (!dst->first_enter_ns && !dst->first_exit_ns) {
		*dst = *src;
		return;
	}
	dst->last_enter_ns = src->last_enter_ns;
	dst->last_exit_ns = src->last_exit_ns;
	dst->last_tid = src->last_tid;
}

static bool times_set(const struct ws_msg_times *t)
{
	return t->first_enter_ns || t->first_exit_ns;
}

static enum ws_pdir req_dir(const struct my_conn *c)
{
	return c->role == WS_PROLE_SERVER ? WS_PDIR_INGRESS : WS_PDIR_EGRESS;
}

static enum ws_pdir resp_dir(const struct my_conn *c)
{
	return c->role == WS_PROLE_SERVER ? WS_PDIR_EGRESS : WS_PDIR_INGRESS;
}

/* ---- records -------------------------------------------------------------------- */

static void emit_err(unsigned err, ws_x_emit_fn emit, void *ctx)
{
	struct ws_exchange x = { .type = WS_X_ERROR, .proto = WS_PROTO_MYSQL, .err = (uint16_t)err };

	if (emit)
		emit(ctx, &x);
}

static void emit_item(uint8_t type, const struct ws_fifo_item *it, const struct ws_msg_times *resp,
		      unsigned err, bool truncated, bool closed, ws_x_emit_fn emit, void *ctx)
{
	const struct my_req *r = it->data;
	struct ws_exchange x = {
		.type = type,
		.proto = WS_PROTO_MYSQL,
		.err = (uint16_t)err,
		.req_index = it->req_index,
		.has_request = true,
		.has_response = type == WS_X_EXCHANGE,
		.uncaptured = r->unknown,
		.truncated = truncated || r->text_trunc || r->unknown,
		.closed = closed,
		.req = it->t,
		.traceparent = r->traceparent[0] ? r->traceparent : NULL,
		.detail = r,
	};

	if (resp)
		x.resp = *resp;
	if (emit && !r->silent)
		emit(ctx, &x);
}

/* Drop the front request (its record already emitted). */
static void pop_front(struct my_conn *c)
{
	struct ws_fifo_item *it = ws_fifo_front(&c->q);

	if (!it)
		return;
	free(it->data);
	it->data = NULL;
	ws_fifo_pop(&c->q);
	memset(&c->r, 0, sizeof(c->r));
	if (ws_fifo_len(&c->q) == 0) {
		ws_fifo_trim(&c->q);
		if (!c->d[resp_dir(c)].in_msg)
			ws_unitbuf_free(&c->d[resp_dir(c)].pfx);
	}
}

/* Every pending request fails with err (has_request). */
static void fail_all(struct my_conn *c, unsigned err, bool closed, ws_x_emit_fn emit, void *ctx)
{
	struct ws_fifo_item *it;

	while ((it = ws_fifo_front(&c->q)) != NULL) {
		emit_item(WS_X_ERROR, it, NULL, err, false, closed, emit, ctx);
		pop_front(c);
	}
	c->rlost = false;
}

static void give_up(struct my_conn *c, unsigned reason, ws_x_emit_fn emit, void *ctx)
{
	if (c->dead)
		return;
	fail_all(c, reason, false, emit, ctx);
	emit_err(reason, emit, ctx);
	c->dead = true;
	c->dead_reason = (uint8_t)reason;
}

/* ---- prepared statements -------------------------------------------------------- */

static struct my_stmt *stmt_find(struct my_conn *c, uint32_t id)
{
	for (uint16_t i = 0; i < c->n_stmts; i++)
		if (c->stmts[i].id == id)
			return &c->stmts[i];
	return NULL;
}

static void stmt_remove(struct my_conn *c, uint32_t id)
{
	struct my_stmt *s = stmt_find(c, id);

	if (!s)
		return;
	free(s->text);
	*s = c->stmts[--c->n_stmts];
	if (c->n_stmts == 0) {
		free(c->stmts);
		c->stmts = NULL;
		c->cap_stmts = 0;
	}
}

static void stmt_clear(struct my_conn *c)
{
	for (uint16_t i = 0; i < c->n_stmts; i++)
		free(c->stmts[i].text);
	free(c->stmts);
	c->stmts = NULL;
	c->n_stmts = c->cap_stmts = 0;
	c->has_last_stmt = false;
}

static void stmt_store(struct my_conn *c, uint32_t id, const struct my_req *r, ws_x_emit_fn emit, void *ctx)
{
	struct my_stmt *s = stmt_find(c, id);
	char *text;

	c->last_stmt_id = id;
	c->has_last_stmt = true;
	if (!s) {
		if (c->n_stmts >= MYSQL_STMT_MAX) {
			emit_err(MYSQL_ERR_STMT_MAP_FULL, emit, ctx);
			return;
		}
		if (c->n_stmts == c->cap_stmts) {
			uint16_t cap = c->cap_stmts ? (uint16_t)(c->cap_stmts * 2) : 4;
			struct my_stmt *ns;

			if (cap > MYSQL_STMT_MAX)
				cap = MYSQL_STMT_MAX;
			ns = realloc(c->stmts, cap * sizeof(*ns));
			if (!ns) {
				emit_err(MYSQL_ERR_NO_MEMORY, emit, ctx);
				return;
			}
			c->stmts = ns;
			c->cap_stmts = cap;
		}
		s = &c->stmts[c->n_stmts++];
		memset(s, 0, sizeof(*s));
		s->id = id;
	}
	text = malloc(r->qlen + 1);
	if (!text) {
		stmt_remove(c, id);
		emit_err(MYSQL_ERR_NO_MEMORY, emit, ctx);
		return;
	}
	memcpy(text, r->q, r->qlen);
	text[r->qlen] = '\0';
	free(s->text);
	s->text = text;
	s->len = r->qlen;
	s->trunc = r->text_trunc;
}

/* ---- request side --------------------------------------------------------------- */

/* Bytes of one binary-protocol value of type t at p (n available): 0 when unknown. */
static uint64_t bin_value_len(uint8_t t, const uint8_t *p, uint32_t n)
{
	uint64_t v;
	int k;

	switch (t) {
	case 0x06:                      /* NULL */
		return 0;
	case 0x01:                      /* TINY */
		return 1;
	case 0x02: case 0x0d:           /* SHORT, YEAR */
		return 2;
	case 0x03: case 0x09: case 0x04:  /* LONG, INT24, FLOAT */
		return 4;
	case 0x08: case 0x05:           /* LONGLONG, DOUBLE */
		return 8;
	case 0x07: case 0x0a: case 0x0b: case 0x0c:  /* TIMESTAMP, DATE, TIME, DATETIME */
		return n >= 1 ? 1u + p[0] : 0;
	default:                        /* strings, decimals, blobs, json, bit */
		k = lenenc(p, n, &v);
		return k > 0 ? (uint64_t)k + v : 0;
	}
}

/*
 * Where the SQL text of a COM_QUERY starts. With CLIENT_QUERY_ATTRIBUTES (MySQL 8) a
 * parameter block comes first: parameter count, parameter set count, and for each
 * parameter its type and name, then the values (skipped, never kept). When the
 * capabilities are unknown a count byte below 0x09 followed by a set count of 1 tells
 * the block (SQL never starts with such a byte). false: the text's start is unknown.
 */
static bool query_offset(const struct my_conn *c, const uint8_t *p, uint32_t n, uint32_t *off)
{
	uint64_t cnt, sets, v;
	uint32_t o = 1;
	int k;
	bool attrs;

	*off = 1;
	if (c->caps_known)
		attrs = (c->caps & CAP_QUERY_ATTRIBUTES) != 0;
	else
		attrs = n >= 3 && p[1] < 0x09 && p[2] == 0x01;
	if (!attrs)
		return true;
	k = lenenc(p + o, n - o, &cnt);
	if (k <= 0)
		return false;
	o += (uint32_t)k;
	k = lenenc(p + o, n - o, &sets);
	if (k <= 0)
		return false;
	o += (uint32_t)k;
	if (cnt > 0) {
		uint32_t nb = (uint32_t)((cnt + 7) / 8), types;
		const uint8_t *bitmap = p + o;

		if (cnt > 4096 || o + nb + 1 > n)
			return false;
		o += nb;
		if (p[o++] != 1)
			return false;   /* values without types: their sizes are unknown */
		types = o;
		for (uint64_t i = 0; i < cnt; i++) {
			if (o + 2 > n)
				return false;
			o += 2;
			k = lenenc(p + o, n - o, &v);
			if (k <= 0 || v > n)
				return false;
			o += (uint32_t)k + (uint32_t)v;
			if (o > n)
				return false;
		}
		for (uint64_t i = 0, t = types; i < cnt; i++) {
			uint8_t type = p[t];

			/* the next type/name pair */
			t += 2;
			k = lenenc(p + t, n - (uint32_t)t, &v);
			t += (uint64_t)k + v;
			if (bitmap[i / 8] & (1u << (i % 8)))
				continue;
			v = bin_value_len(type, p + o, n - o);
			if ((type != 0x06 && v == 0) || o + v > n)
				return false;
			o += (uint32_t)v;
		}
	}
	*off = o;
	return true;
}

/* sqlcommenter: a comment holding traceparent='00-<32 hex>-<16 hex>-<2 hex>'. */
static void find_traceparent(const char *q, uint32_t n, char out[56])
{
	static const char key[] = "traceparent='";
	const size_t kl = sizeof(key) - 1;

	out[0] = '\0';
	for (uint32_t i = 0; i + kl + 55 <= n; i++) {
		const char *v = q + i + kl;
		bool ok = true;

		if (memcmp(q + i, key, kl) != 0)
			continue;
		for (int j = 0; j < 55 && ok; j++) {
			char ch = v[j];

			if (j == 2 || j == 35 || j == 52)
				ok = ch == '-';
			else
				ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
		}
		if (ok && (i + kl + 55 == n || v[55] == '\'')) {
			memcpy(out, v, 55);
			out[55] = '\0';
			return;
		}
	}
}

/* "USE db" (case-insensitive, the db plain or `quoted`): the db, or false. */
static bool parse_use(const char *q, uint32_t n, bool whole, char *out, size_t cap)
{
	uint32_t i = 0, s, e;

	while (i < n && (q[i] == ' ' || q[i] == '\t' || q[i] == '\r' || q[i] == '\n'))
		i++;
	if (n - i < 4 || strncasecmp(q + i, "use", 3) != 0 ||
	    !(q[i + 3] == ' ' || q[i + 3] == '\t' || q[i + 3] == '\n' || q[i + 3] == '`'))
		return false;
	i += 3;
	while (i < n && (q[i] == ' ' || q[i] == '\t' || q[i] == '\r' || q[i] == '\n'))
		i++;
	if (i < n && q[i] == '`') {
		s = ++i;
		while (i < n && q[i] != '`')
			i++;
		if (i >= n)
			return false;
		e = i++;
	} else {
		s = i;
		while (i < n && (q[i] == '_' || q[i] == '$' || (q[i] >= '0' && q[i] <= '9') ||
				 ((q[i] | 0x20) >= 'a' && (q[i] | 0x20) <= 'z') || (uint8_t)q[i] >= 0x80))
			i++;
		e = i;
		if (i == n && !whole)
			return false;   /* the name may go on in uncaptured bytes */
	}
	while (i < n && (q[i] == ' ' || q[i] == ';' || q[i] == '\t' || q[i] == '\r' || q[i] == '\n'))
		i++;
	if (e == s || i != n || e - s >= cap)
		return false;
	memcpy(out, q + s, e - s);
	out[e - s] = '\0';
	return true;
}

/* The text of the statement an EXECUTE names: a stored one, or for MariaDB's "last
 * statement" id the latest PREPARE still waiting (pipelined) or the latest prepared. */
static bool exec_text(struct my_conn *c, uint32_t id, const char **text, uint32_t *len, bool *trunc)
{
	struct my_stmt *s;

	if (id == STMT_LAST) {
		for (int i = (int)ws_fifo_len(&c->q) - 1; i >= 0; i--) {
			const struct ws_fifo_item *it = ws_fifo_at(&c->q, (uint16_t)i);
			const struct my_req *r = it->data;

			if (r->cmd == COM_STMT_PREPARE && r->has_text) {
				*text = r->q;
				*len = r->qlen;
				*trunc = r->text_trunc;
				return true;
			}
		}
		if (!c->has_last_stmt)
			return false;
		id = c->last_stmt_id;
	}
	s = stmt_find(c, id);
	if (!s)
		return false;
	*text = s->text;
	*len = s->len;
	*trunc = s->trunc;
	return true;
}

/* A command message: the request record, pushed to the FIFO and announced. */
static void push_request(struct my_conn *c, struct my_dir *d, const struct cmd_info *info,
			 ws_x_emit_fn emit, void *ctx)
{
	const uint8_t *p = d->pfx.buf;
	uint32_t n = d->pfx.len, off = 0, tl = 0;
	bool whole = !d->hole && d->msg_len == n, trunc = false;
	const char *text = NULL;
	struct ws_fifo_item *it;
	struct my_req *r;
	int err = 0;

	if (n >= 1 && (p[0] == COM_QUERY || p[0] == COM_STMT_PREPARE)) {
		if (p[0] == COM_STMT_PREPARE || query_offset(c, p, n, &off)) {
			if (p[0] == COM_STMT_PREPARE)
				off = 1;
			text = (const char *)p + off;
			tl = n - off;
			trunc = !whole;
		} else {
			trunc = true;   /* the text's start is not in the kept bytes */
		}
	} else if (n >= 5 && p[0] == COM_STMT_EXECUTE) {
		if (!exec_text(c, le32(p + 1), &text, &tl, &trunc))
			text = NULL;
	}
	r = calloc(1, sizeof(*r) + tl + 1);
	if (!r) {
		emit_err(MYSQL_ERR_NO_MEMORY, emit, ctx);
		return;
	}
	if (text) {
		memcpy(r->q, text, tl);
		r->q[tl] = '\0';
		r->qlen = tl;
		r->has_text = true;
		r->text_trunc = trunc;
		find_traceparent(r->q, tl, r->traceparent);
	}
	r->text_trunc = trunc;
	r->unknown = n == 0;
	r->silent = info->kind == K_UNKNOWN;
	r->kind = info->kind == K_UNKNOWN ? K_GENERIC : info->kind;
	r->cmd = n ? p[0] : 0;
	r->resp_seq = (uint8_t)(d->seq + 1);
	r->mariadb = c->mariadb;
	memcpy(r->ns, c->ns, sizeof(r->ns));
	if (n >= 5 && (r->cmd == COM_STMT_EXECUTE || r->cmd == 0x1a || r->cmd == 0x1c))
		r->stmt_id = le32(p + 1);
	if (r->cmd == COM_INIT_DB && n >= 1) {
		copy_str(r->arg, sizeof(r->arg), p + 1, n - 1);
		r->arg_ok = whole && n - 1 < sizeof(r->arg);
	} else if (r->cmd == COM_QUERY && r->has_text) {
		r->use_db = parse_use(r->q, r->qlen, !r->text_trunc, r->arg, sizeof(r->arg));
		r->arg_ok = r->use_db;
	}
	it = ws_fifo_push(&c->q, &err);
	if (!it) {
		free(r);
		/* The reply to this request would pair with the wrong one: stop pairing until
		 * the client's next command after a reply (the flip). */
		emit_err(err == -ENOSPC ? MYSQL_ERR_TOO_MANY_PENDING : MYSQL_ERR_NO_MEMORY, emit, ctx);
		c->rlost = true;
		c->d[resp_dir(c)].synced = false;
		return;
	}
	it->t = d->t;
	it->data = r;
	if (!r->silent)
		emit_item(WS_X_REQUEST, it, NULL, 0, false, false, emit, ctx);
}

/* HandshakeResponse41 (or SSLRequest). */
static void on_hs_response(struct my_conn *c, struct my_dir *d, ws_x_emit_fn emit, void *ctx)
{
	const uint8_t *p = d->pfx.buf;
	uint32_t n = d->pfx.len, o, caps;
	uint64_t alen;
	const uint8_t *z;
	int k;

	c->phase = PH_AUTH;
	if (n < 4)
		return;
	caps = le32(p);
	if (!(caps & CAP_PROTOCOL_41))
		return;   /* HandshakeResponse320 (pre-4.1): capabilities and db not read */
	if ((caps & CAP_SSL) && d->msg_len <= 32) {
		/* SSLRequest: TLS from the next byte. Not a loss: the TLS library's
		 * plaintext, if it is hooked, comes back to a new parser (WS_FEED_TLS). */
		fail_all(c, MYSQL_ERR_TLS, false, emit, ctx);
		c->dead = true;
		c->dead_reason = MYSQL_ERR_TLS;
		c->tls_upgrade = true;
		return;
	}
	/* Inside TLS the greeting (and its "-MariaDB" version) went by before this parser
	 * started. A MariaDB server leaves CLIENT_MYSQL (bit 0) out of its capabilities and
	 * only then does a MariaDB client write its own in the filler's last 4 bytes. */
	if (!c->srv_caps_known && !(caps & 1) && n >= 32 && le32(p + 28) != 0)
		c->mariadb = true;
	c->caps = c->srv_caps_known ? caps & c->srv_caps : caps;
	c->caps_known = true;
	c->deprecate_eof = !c->srv_caps_known ? -1 : (c->caps & CAP_DEPRECATE_EOF) ? 1 : 0;
	if (c->caps & (CAP_COMPRESS | CAP_ZSTD)) {
		give_up(c, MYSQL_ERR_COMPRESSED, emit, ctx);
		return;
	}
	if (!(caps & CAP_CONNECT_WITH_DB) || n <= 32)
		return;
	o = 32;
	z = memchr(p + o, 0, n - o);   /* user name */
	if (!z)
		return;
	o = (uint32_t)(z - p) + 1;
	if (caps & CAP_PLUGIN_AUTH_LENENC) {
		k = lenenc(p + o, n - o, &alen);
		if (k <= 0)
			return;
		o += (uint32_t)k;
	} else if (caps & CAP_SECURE_CONNECTION) {
		if (o >= n)
			return;
		alen = p[o++];
	} else {
		z = memchr(p + o, 0, n - o);
		if (!z)
			return;
		alen = (uint64_t)(z - (p + o)) + 1;
	}
	if (alen > n - o)
		return;   /* auth data is skipped, never kept */
	o += (uint32_t)alen;
	z = memchr(p + o, 0, n - o);
	if (!z)
		return;   /* the db name goes on in bytes not kept: leave it unknown */
	copy_str(c->ns, sizeof(c->ns), p + o, (size_t)(z - (p + o)));
}

/* COM_CHANGE_USER: the db it names becomes the namespace once authentication succeeds. */
static void on_change_user(struct my_conn *c, struct my_dir *d, ws_x_emit_fn emit, void *ctx)
{
	const uint8_t *p = d->pfx.buf, *z;
	uint32_t n = d->pfx.len, o = 1;

	fail_all(c, MYSQL_ERR_FRAMING_LOST, false, emit, ctx);
	c->phase = PH_AUTH;
	c->has_pend_ns = false;
	stmt_clear(c);   /* the server resets the session: its statements are gone */
	z = n > o ? memchr(p + o, 0, n - o) : NULL;   /* user */
	if (!z)
		return;
	o = (uint32_t)(z - p) + 1;
	if (!c->caps_known || (c->caps & CAP_SECURE_CONNECTION)) {
		if (o >= n || p[o] > n - o - 1)
			return;
		o += 1u + p[o];
	} else {
		z = memchr(p + o, 0, n - o);
		if (!z)
			return;
		o = (uint32_t)(z - p) + 1;
	}
	z = o < n ? memchr(p + o, 0, n - o) : NULL;
	if (!z)
		return;
	copy_str(c->pend_ns, sizeof(c->pend_ns), p + o, (size_t)(z - (p + o)));
	c->has_pend_ns = true;
}

static void lose_dir(struct my_conn *c, enum ws_pdir dir, ws_x_emit_fn emit, void *ctx);

static void on_req_msg(struct my_conn *c, struct my_dir *d, ws_x_emit_fn emit, void *ctx)
{
	const uint8_t *p = d->pfx.buf;
	uint32_t n = d->pfx.len;
	const struct cmd_info *info;

	switch (c->phase) {
	case PH_HS_RESP:
		on_hs_response(c, d, emit, ctx);
		return;
	case PH_COMMAND:
		break;
	default:
		return;   /* auth data (never kept), or nothing to do */
	}
	if (ws_fifo_front(&c->q) && c->r.rs == RS_INFILE_UP && c->r.nmsgs > 0) {
		/* LOCAL INFILE: the file's contents, ended by an empty packet */
		if (d->msg_len == 0) {
			c->r.rs = RS_FIRST;
			c->r.exp_seq = (uint8_t)(d->seq + 1);
		}
		return;
	}
	if (d->seq0 != 0) {
		emit_err(MYSQL_ERR_BAD_SEQUENCE, emit, ctx);
		lose_dir(c, req_dir(c), emit, ctx);
		return;
	}
	if (d->msg_len == 0) {
		emit_err(MYSQL_ERR_BAD_PACKET, emit, ctx);
		return;
	}
	info = n ? cmd_lookup(p[0]) : &cmds[COM_QUERY];   /* uncaptured: a reply is likely */
	switch (info->kind) {
	case K_QUIT:
		return;
	case K_NONE:
		if (p[0] == COM_STMT_CLOSE && n >= 5)
			stmt_remove(c, le32(p + 1));
		return;
	case K_STREAM:
		give_up(c, MYSQL_ERR_REPLICATION, emit, ctx);
		return;
	case K_AUTH:
		on_change_user(c, d, emit, ctx);
		return;
	case K_UNKNOWN:
		emit_err(MYSQL_ERR_UNKNOWN_COMMAND, emit, ctx);
		break;
	default:
		break;
	}
	push_request(c, d, info, emit, ctx);
}

/* ---- response side -------------------------------------------------------------- */

/* The front request's reply is complete (or ended inferred). */
static void finish(struct my_conn *c, bool inferred, ws_x_emit_fn emit, void *ctx)
{
	struct ws_fifo_item *it = ws_fifo_front(&c->q);
	struct my_req *r;

	if (!it)
		return;
	r = it->data;
	r->inferred = inferred;
	r->rows = c->r.rows;
	r->rows_known = c->r.resultset && !inferred;
	emit_item(WS_X_EXCHANGE, it, &c->r.t, inferred ? MYSQL_ERR_END_INFERRED : 0, inferred,
		  false, emit, ctx);
	if (!inferred && !r->is_error) {
		if ((r->cmd == COM_INIT_DB || r->use_db) && !r->silent)
			memcpy(c->ns, r->arg_ok ? r->arg : "", r->arg_ok ? sizeof(c->ns) : 1);
		if (r->cmd == COM_RESET_CONNECTION)
			stmt_clear(c);
	}
	pop_front(c);
}

/* The reply can no longer be followed: the front request ends at the client's next
 * command (flip) or at close. */
static void resp_lost(struct my_conn *c)
{
	struct my_dir *d = &c->d[resp_dir(c)];

	if (d->in_msg)
		times_merge(&c->r.t, &d->t);
	if (ws_fifo_len(&c->q))
		c->rlost = true;
	d->synced = false;
}

/* At the flip: end what the lost reply left open. */
static void end_lost(struct my_conn *c, ws_x_emit_fn emit, void *ctx)
{
	struct ws_fifo_item *it = ws_fifo_front(&c->q);

	if (it) {
		if (times_set(&c->r.t))
			finish(c, true, emit, ctx);
		else {
			emit_item(WS_X_ERROR, it, NULL, MYSQL_ERR_FRAMING_LOST, true, false, emit, ctx);
			pop_front(c);
		}
	}
	fail_all(c, MYSQL_ERR_FRAMING_LOST, false, emit, ctx);
	c->rlost = false;
}

static void set_err(struct my_req *r, const uint8_t *p, uint32_t n)
{
	r->is_error = true;
	r->err_code = n >= 3 ? le16(p + 1) : 0;
	if (n >= 9 && p[3] == '#') {
		memcpy(r->sqlstate, p + 4, 5);
		r->sqlstate[5] = '\0';
		for (int i = 0; i < 5; i++)
			if (!((r->sqlstate[i] >= '0' && r->sqlstate[i] <= '9') ||
			      (r->sqlstate[i] >= 'A' && r->sqlstate[i] <= 'Z')))
				r->sqlstate[0] = '\0';
	}
}

/* Status flags of an OK packet (0x00 or 0xFE header) at p: 1, 0 need more, -1 bad. */
static int ok_status(const uint8_t *p, uint32_t n, uint16_t *status)
{
	uint64_t v;
	uint32_t o = 1;
	int k;

	for (int i = 0; i < 2; i++) {
		k = lenenc(p + o, n - o, &v);
		if (k <= 0)
			return k;
		o += (uint32_t)k;
	}
	if (o + 2 > n)
		return 0;
	*status = le16(p + o);
	return 1;
}

enum { M_OK, M_MORE_NEEDED, M_BAD };

/* A terminator (EOF: 0xFE + warnings + status, or with CLIENT_DEPRECATE_EOF an OK with a
 * 0xFE header): its status flags. */
static int term_status(const uint8_t *p, uint32_t n, uint64_t len, bool whole, uint16_t *st)
{
	int k;

	*st = 0;
	if (len <= 5) {
		if (len == 5 && n < 5)
			return M_MORE_NEEDED;
		if (len == 5)
			*st = le16(p + 3);
		return M_OK;
	}
	k = ok_status(p, n, st);
	if (k < 0)
		return M_BAD;
	if (k == 0)
		return whole ? M_BAD : M_MORE_NEEDED;
	return M_OK;
}

/* PREPARE_OK: the next section of definitions (parameters, then columns); false when
 * none is left. */
static bool prep_next_section(struct my_conn *c)
{
	if (c->r.prep_params) {
		c->r.cols_left = c->r.prep_params;
		c->r.prep_params = 0;
	} else if (c->r.prep_cols) {
		c->r.cols_left = c->r.prep_cols;
		c->r.prep_cols = 0;
	} else {
		return false;
	}
	c->r.rs = RS_PREP_DEFS;
	return true;
}

/* A reply message to the front request. Returns M_MORE_NEEDED when the kept bytes are
 * too few to classify it, M_BAD when it is malformed. */
static int on_resp_cmd(struct my_conn *c, struct my_dir *d, struct my_req *req, ws_x_emit_fn emit, void *ctx)
{
	const uint8_t *p = d->pfx.buf;
	uint32_t n = d->pfx.len;
	uint64_t len = d->msg_len, cnt;
	bool whole = !d->hole && n == len;
	uint16_t st;
	int k, rc;

	if (c->r.rs == RS_ANY1) {
		finish(c, false, emit, ctx);
		return M_OK;
	}
	if (n == 0)
		return len == 0 ? M_BAD : M_MORE_NEEDED;
again:
	switch (c->r.rs) {
	case RS_FIRST:
	case RS_INFILE_UP:
		c->r.rs = RS_FIRST;
		if (p[0] == 0x00) {
			k = ok_status(p, n, &st);
			if (k < 0)
				return M_BAD;
			if (k == 0 && !whole)
				return M_MORE_NEEDED;
			if (k == 0)
				st = 0;   /* a short OK */
			if (!(st & ST_MORE_RESULTS))
				finish(c, false, emit, ctx);
			return M_OK;
		}
		if (p[0] == 0xff) {
			if (n < 3)
				return whole ? M_BAD : M_MORE_NEEDED;
			set_err(req, p, n);
			finish(c, false, emit, ctx);
			return M_OK;
		}
		if (p[0] == 0xfe && len < MAX_PKT) {   /* EOF (COM_SET_OPTION, COM_DEBUG) or OK */
			rc = term_status(p, n, len, whole, &st);
			if (rc != M_OK)
				return rc;
			if (!(st & ST_MORE_RESULTS))
				finish(c, false, emit, ctx);
			return M_OK;
		}
		if (p[0] == 0xfb) {
			if (req->cmd != COM_QUERY)
				return M_BAD;
			c->r.rs = RS_INFILE_UP;   /* the file name is not kept */
			return M_OK;
		}
		k = lenenc(p, n, &cnt);
		if (k < 0 || (k == 0 && whole) || (k > 0 && cnt == 0))
			return M_BAD;
		if (k == 0)
			return M_MORE_NEEDED;
		c->r.resultset = true;
		c->r.cols_left = cnt;
		c->r.rs = RS_COLDEFS;
		/* MariaDB (cache metadata) / MySQL 8 (optional metadata): a metadata_follows
		 * byte after the count; 0 means no column definitions follow. */
		if (len == (uint64_t)k + 1) {
			if (n < (uint32_t)k + 1)
				return M_MORE_NEEDED;
			if (p[k] == 0)
				c->r.rs = RS_COLEOF;
		}
		return M_OK;
	case RS_COLDEFS:
		if (p[0] == 0xff) {
			set_err(req, p, n);
			finish(c, false, emit, ctx);
			return M_OK;
		}
		if (--c->r.cols_left == 0)
			c->r.rs = RS_COLEOF;
		return M_OK;
	case RS_COLEOF:
		/* An EOF is 5 bytes; with CLIENT_DEPRECATE_EOF nothing comes here and the OK
		 * that may end an empty result is at least 7: the length tells them apart
		 * when the capabilities were not seen. */
		if (p[0] == 0xfe && len <= 5) {
			if (c->deprecate_eof < 0)
				c->deprecate_eof = 0;
			if (len == 5 && n < 5)
				return M_MORE_NEEDED;
			c->r.rs = RS_ROWS;
			if (len == 5 && (le16(p + 3) & ST_CURSOR_EXISTS)) {
				/* a cursor: rows come with COM_STMT_FETCH */
				if (le16(p + 3) & ST_MORE_RESULTS)
					c->r.rs = RS_FIRST;
				else
					finish(c, false, emit, ctx);
			}
			return M_OK;
		}
		if (c->deprecate_eof < 0)
			c->deprecate_eof = 1;
		c->r.rs = RS_ROWS;
		goto again;
	case RS_ROWS:
		if (p[0] == 0xfe && len < MAX_PKT) {
			rc = term_status(p, n, len, whole, &st);
			if (rc != M_OK)
				return rc;
			if (st & ST_MORE_RESULTS)
				c->r.rs = RS_FIRST;
			else
				finish(c, false, emit, ctx);
			return M_OK;
		}
		if (p[0] == 0xff) {
			set_err(req, p, n);
			finish(c, false, emit, ctx);
			return M_OK;
		}
		c->r.rows++;
		return M_OK;
	case RS_PREP_FIRST:
		if (p[0] == 0xff) {
			if (n < 3)
				return whole ? M_BAD : M_MORE_NEEDED;
			set_err(req, p, n);
			finish(c, false, emit, ctx);
			return M_OK;
		}
		if (p[0] != 0x00 || len < 12)
			return M_BAD;
		if (n < 12 || (len >= 13 && n < 13))
			return M_MORE_NEEDED;
		req->stmt_id = le32(p + 1);
		if (req->has_text)
			stmt_store(c, req->stmt_id, req, emit, ctx);
		c->r.prep_cols = le16(p + 5);
		c->r.prep_params = le16(p + 7);
		if (len >= 13 && p[12] == 0)
			c->r.prep_cols = c->r.prep_params = 0;   /* MySQL 8: no metadata sent */
		if (!prep_next_section(c))
			finish(c, false, emit, ctx);
		return M_OK;
	case RS_PREP_DEFS:
		if (--c->r.cols_left > 0)
			return M_OK;
		if (c->deprecate_eof == 1) {
			if (!prep_next_section(c))
				finish(c, false, emit, ctx);
			return M_OK;
		}
		if (c->deprecate_eof < 0 && !c->r.prep_params && !c->r.prep_cols) {
			/* The last section, EOFs unknown: end now; an EOF carrying the next
			 * sequence id is swallowed if it comes (trail_eof). */
			c->trail_eof = true;
			c->trail_eof_seq = c->r.exp_seq;
			finish(c, false, emit, ctx);
			return M_OK;
		}
		c->r.rs = RS_PREP_EOF;
		return M_OK;
	case RS_PREP_EOF:
		if (p[0] == 0xfe && len <= 5) {
			if (c->deprecate_eof < 0)
				c->deprecate_eof = 0;
			if (!prep_next_section(c))
				finish(c, false, emit, ctx);
			return M_OK;
		}
		if (c->deprecate_eof == 0 || !prep_next_section(c))
			return M_BAD;
		c->deprecate_eof = 1;   /* no EOF between the sections: read it as a definition */
		goto again;
	case RS_FIELDS:
		if (p[0] == 0xff) {
			set_err(req, p, n);
			finish(c, false, emit, ctx);
		} else if (p[0] == 0xfe && len < MAX_PKT) {
			finish(c, false, emit, ctx);
		}
		return M_OK;
	default:
		finish(c, false, emit, ctx);
		return M_OK;
	}
}

static void on_greeting(struct my_conn *c, struct my_dir *d, ws_x_emit_fn emit, void *ctx)
{
	const uint8_t *p = d->pfx.buf, *z;
	uint32_t n = d->pfx.len, o;

	c->phase = PH_HS_RESP;
	if (n < 1)
		return;
	if (p[0] == 0xff) {
		c->phase = PH_AUTH_FAILED;   /* refused (too many connections, host blocked) */
		return;
	}
	if (p[0] != 10) {
		give_up(c, MYSQL_ERR_NOT_MYSQL, emit, ctx);
		return;
	}
	z = memchr(p + 1, 0, n - 1);
	if (!z)
		return;
	c->mariadb = memmem(p + 1, (size_t)(z - (p + 1)), "MariaDB", 7) != NULL;
	o = (uint32_t)(z - p) + 1;
	/* connection id (4), auth data part 1 (8), filler (1), capabilities low (2),
	 * charset (1), status (2), capabilities high (2) */
	if (o + 15 > n)
		return;
	c->srv_caps = le16(p + o + 13);
	if (o + 20 <= n)
		c->srv_caps |= (uint32_t)le16(p + o + 18) << 16;
	c->srv_caps_known = true;
}

static void on_resp_msg(struct my_conn *c, struct my_dir *d, ws_x_emit_fn emit, void *ctx)
{
	const uint8_t *p = d->pfx.buf;
	uint32_t n = d->pfx.len;
	struct ws_fifo_item *it;
	struct my_req *req;
	int rc;

	switch (c->phase) {
	case PH_GREETING:
		on_greeting(c, d, emit, ctx);
		return;
	case PH_AUTH:
		if (n >= 1 && p[0] == 0x00) {
			c->phase = PH_COMMAND;
			if (c->has_pend_ns) {
				memcpy(c->ns, c->pend_ns, sizeof(c->ns));
				c->has_pend_ns = false;
			}
		} else if (n >= 1 && p[0] == 0xff) {
			c->phase = PH_AUTH_FAILED;
		}
		return;   /* auth switch (0xfe), more data (0x01): not kept */
	case PH_COMMAND:
		break;
	default:
		return;
	}
	if (c->trail_eof) {
		c->trail_eof = false;
		if (d->seq0 == c->trail_eof_seq && n >= 1 && p[0] == 0xfe && d->msg_len <= 5) {
			c->deprecate_eof = 0;   /* the EOF after a PREPARE's last definitions */
			return;
		}
	}
	it = ws_fifo_front(&c->q);
	if (!it) {
		emit_err(MYSQL_ERR_RESPONSE_WITHOUT_REQUEST, emit, ctx);
		resp_lost(c);
		return;
	}
	req = it->data;
	if (req->unknown) {
		resp_lost(c);
		return;
	}
	if (c->r.nmsgs == 0) {
		c->r.exp_seq = req->resp_seq;
		switch (req->kind) {
		case K_PREPARE:
			c->r.rs = RS_PREP_FIRST;
			break;
		case K_FIELDS:
			c->r.rs = RS_FIELDS;
			break;
		case K_ANY1:
			c->r.rs = RS_ANY1;
			break;
		case K_ROWS:
			c->r.rs = RS_ROWS;
			c->r.resultset = true;
			break;
		default:
			c->r.rs = RS_FIRST;
			break;
		}
	}
	/* After an upload whose framing was lost the reply's sequence id is unknown. */
	if (d->seq0 != c->r.exp_seq && c->r.rs != RS_INFILE_UP) {
		emit_err(MYSQL_ERR_BAD_SEQUENCE, emit, ctx);
		resp_lost(c);
		return;
	}
	c->r.exp_seq = (uint8_t)(d->seq + 1);
	c->r.nmsgs++;
	times_merge(&c->r.t, &d->t);
	rc = on_resp_cmd(c, d, req, emit, ctx);
	if (rc == M_BAD)
		emit_err(MYSQL_ERR_BAD_PACKET, emit, ctx);
	if (rc != M_OK)
		resp_lost(c);
}

/* ---- framing -------------------------------------------------------------------- */

static void dir_reset(struct my_dir *d, bool synced)
{
	d->synced = synced;
	d->in_body = d->in_msg = d->hole = false;
	d->hdr_len = 0;
	d->body_left = d->pkt_len = 0;
	d->msg_len = 0;
	memset(&d->t, 0, sizeof(d->t));
	ws_unitbuf_reset(&d->pfx);
}

/* Framing is lost in dir: what the partial message leaves, then skip to a resync point. */
static void lose_dir(struct my_conn *c, enum ws_pdir dir, ws_x_emit_fn emit, void *ctx)
{
	struct my_dir *d = &c->d[dir];

	if (dir == req_dir(c)) {
		bool upload = ws_fifo_front(&c->q) && c->r.rs == RS_INFILE_UP && c->r.nmsgs > 0;

		if (upload) {
			c->r.rs = RS_INFILE_UP;   /* the server's OK/ERR ends it, seq unchecked */
		} else if (d->in_msg && d->seq0 == 0 && c->phase == PH_COMMAND && d->msg_len > 0) {
			/* A command whose end is not seen: announce what is known. */
			d->hole = true;
			d->in_msg = false;
			on_req_msg(c, d, emit, ctx);
		}
		dir_reset(d, false);
		ws_unitbuf_free(&d->pfx);
	} else {
		resp_lost(c);
		dir_reset(d, false);
	}
}

static uint32_t pfx_max(const struct my_conn *c, enum ws_pdir dir)
{
	if (c->phase != PH_COMMAND)
		return MYSQL_HS_PREFIX;
	return dir == req_dir(c) ? MYSQL_QUERY_MAX + 1 : MYSQL_RESP_PREFIX;
}

static void frame(struct my_conn *c, enum ws_pdir dir, const struct ws_chunk *ch, ws_x_emit_fn emit, void *ctx)
{
	struct my_dir *d = &c->d[dir];
	uint32_t cap = ch->captured < ch->len ? ch->captured : ch->len;
	uint32_t pos = 0;

	if (!ch->data)
		cap = 0;
	while (pos < ch->len && d->synced && !c->dead && !c->closed) {
		uint32_t n, cn;

		if (!d->in_body) {
			uint32_t take;

			if (pos >= cap) {
				/* a header in uncaptured bytes */
				if (dir == req_dir(c))
					emit_err(MYSQL_ERR_UNCAPTURED, emit, ctx);
				lose_dir(c, dir, emit, ctx);
				return;
			}
			if (d->hdr_len == 0 && !d->in_msg) {
				memset(&d->t, 0, sizeof(d->t));
				ws_msg_times_add(&d->t, ch, pos);
			}
			take = 4u - d->hdr_len;
			if (take > cap - pos)
				take = cap - pos;
			memcpy(d->hdr + d->hdr_len, ch->data + pos, take);
			d->hdr_len = (uint8_t)(d->hdr_len + take);
			pos += take;
			if (d->hdr_len < 4)
				continue;
			d->hdr_len = 0;
			d->pkt_len = (uint32_t)d->hdr[0] | (uint32_t)d->hdr[1] << 8 | (uint32_t)d->hdr[2] << 16;
			if (!d->in_msg) {
				d->in_msg = true;
				d->seq0 = d->hdr[3];
			} else if (d->hdr[3] != (uint8_t)(d->seq + 1)) {
				emit_err(MYSQL_ERR_BAD_SEQUENCE, emit, ctx);
				lose_dir(c, dir, emit, ctx);
				return;
			}
			d->seq = d->hdr[3];
			d->body_left = d->pkt_len;
			d->in_body = true;
		}
		n = d->body_left < ch->len - pos ? d->body_left : ch->len - pos;
		cn = pos < cap ? (n < cap - pos ? n : cap - pos) : 0;
		if (cn && !d->hole) {
			uint32_t room = pfx_max(c, dir) > d->pfx.len ? pfx_max(c, dir) - d->pfx.len : 0;

			if (room > cn)
				room = cn;
			if (room && ws_unitbuf_append(&d->pfx, ch->data + pos, room, pfx_max(c, dir)) != 0)
				d->hole = true;   /* out of memory: the message is treated as truncated */
		}
		if (cn < n)
			d->hole = true;
		d->msg_len += n;
		d->body_left -= n;
		pos += n;
		if (d->body_left > 0)
			break;
		d->in_body = false;
		if (d->pkt_len == MAX_PKT)
			continue;   /* the payload continues in the next packet */
		ws_msg_times_add(&d->t, ch, 0);
		d->in_msg = false;
		if (dir == req_dir(c)) {
			on_req_msg(c, d, emit, ctx);
			/* the request keeps its own copy: hold no buffer between requests */
			ws_unitbuf_free(&d->pfx);
		} else {
			on_resp_msg(c, d, emit, ctx);
		}
		d->hole = false;
		d->msg_len = 0;
		ws_unitbuf_reset(&d->pfx);
	}
}

/* Bytes are missing before this chunk in dir. */
static void on_gap(struct my_conn *c, enum ws_pdir dir, uint32_t lost, ws_x_emit_fn emit, void *ctx)
{
	struct my_dir *d = &c->d[dir];

	emit_err(MYSQL_ERR_GAP, emit, ctx);
	if (!d->synced)
		return;
	if (d->in_body && lost > 0 && lost < d->body_left) {
		/* inside a body whose length is known: skip the missing bytes */
		d->body_left -= lost;
		d->msg_len += lost;
		d->hole = true;
		return;
	}
	lose_dir(c, dir, emit, ctx);
}

/* A chunk of exactly one packet header (a reader that takes the 4-byte header and the
 * payload in two calls) with sequence id 0 and a payload length in [min, max]. */
static bool header_only(const struct ws_chunk *ch, uint32_t min, uint32_t max)
{
	const uint8_t *p = ch->data;
	uint32_t plen;

	if (!p || ch->len != 4 || ch->captured < 4 || p[3] != 0)
		return false;
	plen = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
	return plen >= min && plen <= max;
}

static bool looks_command(const struct ws_chunk *ch)
{
	const uint8_t *p = ch->data;
	uint32_t cap = ch->captured < ch->len ? ch->captured : ch->len;
	const struct cmd_info *info;

	if (header_only(ch, 1, MAX_PKT))
		return true;   /* the command byte comes next: an unknown one is counted */
	if (!p || cap < 5 || p[3] != 0)
		return false;
	info = cmd_lookup(p[4]);
	return info->kind != K_UNKNOWN && (p[0] | p[1] | p[2]) != 0;
}

static bool looks_greeting(const struct ws_chunk *ch)
{
	const uint8_t *p = ch->data;
	uint32_t cap = ch->captured < ch->len ? ch->captured : ch->len;

	if (header_only(ch, 20, 1024))
		return true;   /* a protocol byte other than 10 next gives up (not_mysql) */
	return p && cap >= 5 && p[3] == 0 && p[4] == 10 && (p[0] | p[1] | p[2]) != 0;
}

static int tls_hs_response(const uint8_t *p, uint32_t n);

/* The first packet of TLS plaintext after an SSLRequest: the HandshakeResponse, whole or
 * its header alone (a server reads the 4-byte header first; detection has seen the
 * rest, and a command is never sequence 2). */
static bool looks_tls_hs_response(const struct ws_chunk *ch)
{
	const uint8_t *p = ch->data;
	uint32_t cap = ch->captured < ch->len ? ch->captured : ch->len;

	if (!p || cap < 4 || p[3] != 2)
		return false;
	if (ch->len == 4)
		return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16) >= 33;
	return tls_hs_response(p, cap) == WS_DETECT_YES;
}

/* The first chunks: a greeting (handshake seen), a command (connection seen mid-way) or
 * the HandshakeResponse of a connection that went on in TLS.
 * Returns true once parsing starts (both framers synced at this chunk). */
static bool start(struct my_conn *c, enum ws_pdir dir, const struct ws_chunk *ch)
{
	bool srv_dir = c->role == WS_PROLE_UNKNOWN || dir == resp_dir(c);
	bool cli_dir = c->role == WS_PROLE_UNKNOWN || dir == req_dir(c);

	if (srv_dir && looks_greeting(ch)) {
		if (c->role == WS_PROLE_UNKNOWN)
			c->role = dir == WS_PDIR_EGRESS ? WS_PROLE_SERVER : WS_PROLE_CLIENT;
		c->phase = PH_GREETING;
	} else if (cli_dir && looks_tls_hs_response(ch)) {
		/* TLS plaintext: the greeting went by in clear to the parser before. The
		 * server's capabilities are unknown, so whether EOF packets are deprecated
		 * is learnt from the replies (as for a connection seen mid-way). */
		if (c->role == WS_PROLE_UNKNOWN)
			c->role = dir == WS_PDIR_EGRESS ? WS_PROLE_CLIENT : WS_PROLE_SERVER;
		c->phase = PH_HS_RESP;
	} else if (cli_dir && looks_command(ch)) {
		if (c->role == WS_PROLE_UNKNOWN)
			c->role = dir == WS_PDIR_EGRESS ? WS_PROLE_CLIENT : WS_PROLE_SERVER;
		c->phase = PH_COMMAND;
	} else {
		return false;
	}
	dir_reset(&c->d[0], true);
	dir_reset(&c->d[1], true);
	return true;
}

/* The client speaks again after the server: the classic protocol's safe point. */
static void on_flip_to_req(struct my_conn *c, const struct ws_chunk *ch, ws_x_emit_fn emit, void *ctx)
{
	struct my_dir *dq = &c->d[req_dir(c)], *dr = &c->d[resp_dir(c)];

	if (!dq->synced && looks_command(ch)) {
		dir_reset(dq, true);
		if (c->phase != PH_COMMAND && c->phase != PH_AUTH_FAILED)
			c->phase = PH_COMMAND;
	}
	if (c->rlost)
		end_lost(c, emit, ctx);
	if (!dr->synced && dq->synced && !dq->in_msg)
		dir_reset(dr, true);
}

/* ---- ops ------------------------------------------------------------------------ */

static void *my_init(enum ws_prole role)
{
	struct my_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	ws_stream_init(&c->st);
	ws_fifo_init(&c->q, MYSQL_PENDING_MAX);
	c->role = (uint8_t)role;
	c->deprecate_eof = -1;
	return c;
}

static int my_feed(void *st, enum ws_pdir dir, const struct ws_chunk *ch, ws_x_emit_fn emit, void *ctx)
{
	struct my_conn *c = st;
	unsigned fl;
	uint32_t lost = 0;
	bool started = false;

	if (!c || !ch)
		return -EINVAL;
	if (c->dead)
		return c->tls_upgrade ? WS_FEED_TLS : -(int)c->dead_reason;
	if (c->closed || ch->len == 0)
		return 0;
	dir = (enum ws_pdir)(dir & 1);
	fl = ws_stream_note(&c->st, dir, ch, &lost);
	if (c->phase == PH_INIT) {
		if (c->role == WS_PROLE_UNKNOWN && header_only(ch, 1, MAX_PKT)) {
			/* A header read alone is a greeting read by a client or a command read by
			 * a server: both arrive inbound, so the direction cannot tell. The
			 * payload's first byte will: keep the header until then. */
			c->held = true;
			c->held_dir = (uint8_t)dir;
			memcpy(c->held_hdr, ch->data, 4);
			c->held_ch = *ch;
			return 0;
		}
		if (c->held && c->held_dir == dir && ch->data && ch->captured > 0) {
			struct ws_chunk probe = *ch, h = c->held_ch;
			uint8_t buf[5];

			/* the header and the payload's first byte, as one chunk would have been */
			c->held = false;
			memcpy(buf, c->held_hdr, 4);
			buf[4] = ch->data[0];
			probe.data = buf;
			probe.captured = 5;
			probe.len = 4 + ch->len;
			if (!start(c, dir, &probe))
				return 0;
			h.data = c->held_hdr;
			frame(c, dir, &h, emit, ctx);
		} else {
			c->held = false;   /* the other side spoke: the header is forgotten */
			if (!start(c, dir, ch))
				return 0;
		}
		started = true;
	}
	if (!started) {
		if (fl & WS_STREAM_GAP)
			on_gap(c, dir, lost, emit, ctx);
		if ((fl & WS_STREAM_FLIP) && dir == req_dir(c))
			on_flip_to_req(c, ch, emit, ctx);
	}
	if (c->d[dir].synced)
		frame(c, dir, ch, emit, ctx);
	if (dir == resp_dir(c) && c->rlost)
		ws_msg_times_add(&c->r.t, ch, 0);
	if (c->dead)
		return c->tls_upgrade ? WS_FEED_TLS : -(int)c->dead_reason;
	return 0;
}

static void my_close(void *st, uint64_t ts_ns, ws_x_emit_fn emit, void *ctx)
{
	struct my_conn *c = st;
	struct my_dir *dq;

	(void)ts_ns;
	if (!c || c->closed)
		return;
	c->closed = true;
	if (c->dead)
		return;
	dq = &c->d[req_dir(c)];
	if (c->phase == PH_COMMAND && dq->synced && dq->in_msg && dq->seq0 == 0 &&
	    !(ws_fifo_front(&c->q) && c->r.rs == RS_INFILE_UP && c->r.nmsgs > 0))
		emit_err(MYSQL_ERR_CLOSED, emit, ctx);   /* a command cut by the close */
	if (c->rlost && ws_fifo_front(&c->q) && times_set(&c->r.t))
		finish(c, true, emit, ctx);
	fail_all(c, MYSQL_ERR_CLOSED, true, emit, ctx);
	c->trail_eof = false;
	ws_unitbuf_free(&c->d[0].pfx);
	ws_unitbuf_free(&c->d[1].pfx);
}

static void my_free(void *st)
{
	struct my_conn *c = st;
	struct ws_fifo_item *it;

	if (!c)
		return;
	while ((it = ws_fifo_front(&c->q)) != NULL) {
		free(it->data);
		it->data = NULL;
		ws_fifo_pop(&c->q);
	}
	ws_fifo_free(&c->q);
	stmt_clear(c);
	ws_unitbuf_free(&c->d[0].pfx);
	ws_unitbuf_free(&c->d[1].pfx);
	free(c);
}

static enum ws_prole my_role(const void *st)
{
	const struct my_conn *c = st;

	return c ? (enum ws_prole)c->role : WS_PROLE_UNKNOWN;
}

static enum ws_capture my_capture(const void *st)
{
	const struct my_conn *c = st;

	return c && c->dead ? WS_CAPTURE_OFF : WS_CAPTURE_DEFAULT;
}

/* ---- detection ------------------------------------------------------------------ */

static const char *const sql_keywords[] = {
	"SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "SET", "SHOW", "BEGIN", "START",
	"COMMIT", "ROLLBACK", "CALL", "WITH", "CREATE", "DROP", "ALTER", "USE", "DESCRIBE",
	"DESC", "EXPLAIN", "PREPARE", "EXECUTE", "DEALLOCATE", "LOCK", "UNLOCK", "TRUNCATE",
	"GRANT", "REVOKE", "FLUSH", "KILL", "ANALYZE", "OPTIMIZE", "SAVEPOINT", "RELEASE",
	"XA", "DO", "HANDLER", "LOAD", "RENAME", "VALUES", "TABLE",
};

/* Printable SQL after a COM_QUERY / COM_STMT_PREPARE byte: 1 a keyword starts it, 0 no
 * keyword (printable), -1 not SQL, -2 too few bytes. */
static int sql_start(const uint8_t *q, uint32_t n, uint32_t plen)
{
	uint32_t scan = n < plen ? n : plen, i = 0, w;

	if (scan > 64)
		scan = 64;
	for (uint32_t k = 0; k < scan; k++)
		if (q[k] < 0x20 && q[k] != '\t' && q[k] != '\n' && q[k] != '\r')
			return -1;
	while (i < scan && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r' || q[i] == '('))
		i++;
	if (i + 1 < scan && q[i] == '/' && q[i + 1] == '*') {
		for (i += 2; i + 1 < scan && !(q[i] == '*' && q[i + 1] == '/'); i++)
			;
		if (i + 1 >= scan)
			return scan < plen && n < plen ? -2 : 0;
		i += 2;
		while (i < scan && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r'))
			i++;
	}
	for (w = i; w < scan && ((q[w] | 0x20) >= 'a' && (q[w] | 0x20) <= 'z'); w++)
		;
	if (w == scan && n < plen && n < 64)
		return -2;   /* the word may go on */
	for (size_t k = 0; k < sizeof(sql_keywords) / sizeof(sql_keywords[0]); k++)
		if (strlen(sql_keywords[k]) == w - i && strncasecmp((const char *)q + i, sql_keywords[k], w - i) == 0)
			return 1;
	return 0;
}

/* The HandshakeResponse41 a client sends inside TLS, after its SSLRequest: sequence 2,
 * PROTOCOL_41 and SSL among its capabilities, then max packet size, charset and a
 * filler of zeros (MariaDB keeps its own capabilities in the filler's last 4 bytes).
 * n bytes of p are known (at least the 4-byte header). Returns WS_DETECT_*. */
static int tls_hs_response(const uint8_t *p, uint32_t n)
{
	uint32_t plen = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16, caps;

	if (p[3] != 2 || plen < 33)
		return WS_DETECT_NO;
	if (n < 4 + 32)
		return WS_DETECT_MORE;
	caps = le32(p + 4);
	if (!(caps & CAP_PROTOCOL_41) || !(caps & CAP_SSL))
		return WS_DETECT_NO;
	for (uint32_t i = 4 + 9; i < 4 + 28; i++)
		if (p[i])
			return WS_DETECT_NO;
	return WS_DETECT_YES;
}

static int my_detect(const uint8_t *p, uint32_t n, enum ws_pdir dir, enum ws_prole role, uint16_t server_port)
{
	bool srv_dir = role == WS_PROLE_UNKNOWN || (role == WS_PROLE_CLIENT) == (dir == WS_PDIR_INGRESS);
	bool cli_dir = role == WS_PROLE_UNKNOWN || (role == WS_PROLE_CLIENT) == (dir == WS_PDIR_EGRESS);
	uint32_t plen;

	if (!p || n < 5)
		return n >= 4 && p && p[3] != 0 ? WS_DETECT_NO : WS_DETECT_MORE;
	plen = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
	if (p[3] == 2 && cli_dir)
		return tls_hs_response(p, n);   /* TLS plaintext after an SSLRequest */
	if (p[3] != 0 || plen == 0)
		return WS_DETECT_NO;
	if (p[4] == 10 && srv_dir) {
		/* Initial Handshake v10: a version string of printable characters starting
		 * with a digit, NUL terminated, then at least 15 bytes of fixed fields. */
		uint32_t i;

		if (plen < 20 || plen > 1024)
			return WS_DETECT_NO;
		for (i = 5; i < n && i < 5 + 80; i++) {
			if (p[i] == 0)
				break;
			if (p[i] < 0x20 || p[i] > 0x7e || (i == 5 && (p[i] < '0' || p[i] > '9')))
				return WS_DETECT_NO;
		}
		if (i >= n)
			return n < 5 + 80 ? WS_DETECT_MORE : WS_DETECT_NO;
		/* version, NUL, then 15 bytes of fixed fields */
		if (p[i] != 0 || i == 5 || i + 12 > plen)
			return WS_DETECT_NO;
		return WS_DETECT_YES;
	}
	if ((p[4] == COM_QUERY || p[4] == COM_STMT_PREPARE) && plen >= 2 && cli_dir) {
		int s = sql_start(p + 5, n - 5, plen - 1);

		if (s == -2)
			return WS_DETECT_MORE;
		if (s == 1 || (s == 0 && server_port == 3306))
			return WS_DETECT_YES;
	}
	return WS_DETECT_NO;
}

/* ---- span content --------------------------------------------------------------- */

static void my_span_request(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct my_req *r = x ? x->detail : NULL;
	const struct cmd_info *info;
	char op[64] = "", sum[256] = "", text[MYSQL_TEXT_OUT_MAX];
	const char *ns, *sys, *name;

	if (!r || !s)
		return;
	sys = r->mariadb ? "mariadb" : "mysql";
	ws_span_set_str(s, "db.system.name", sys);
	ns = (r->cmd == COM_INIT_DB || r->use_db) ? (r->arg_ok ? r->arg : "") : r->ns;
	if (ns[0])
		ws_span_set_str(s, "db.namespace", ns);
	info = cmd_lookup(r->cmd);
	if (r->unknown) {
		op[0] = '\0';
	} else if (r->has_text) {
		ws_sql_summary(r->q, r->qlen, WS_SQL_MYSQL, op, sizeof(op), sum, sizeof(sum));
		if (r->cmd == COM_STMT_PREPARE) {
			char ps[sizeof(sum)];

			snprintf(ps, sizeof(ps), "PREPARE %s", sum[0] ? sum : op);
			if (!sum[0] && !op[0])
				ps[7] = '\0';
			snprintf(sum, sizeof(sum), "%s", ps);
			snprintf(op, sizeof(op), "PREPARE");
		}
	} else if (r->cmd == COM_STMT_EXECUTE) {
		snprintf(op, sizeof(op), "EXECUTE");
	} else if (info->name) {
		snprintf(op, sizeof(op), "%s", info->name + 4);
	}
	if (op[0])
		ws_span_set_str(s, "db.operation.name", op);
	if (sum[0])
		ws_span_set_str(s, "db.query.summary", sum);
	if (r->has_text) {
		if (!si || si->sanitize)
			ws_sql_text(r->q, r->qlen, WS_SQL_MYSQL, text, sizeof(text));
		else
			copy_str(text, sizeof(text), (const uint8_t *)r->q, r->qlen);
		ws_span_set_str(s, "db.query.text", text);
	}
	name = sum[0] ? sum : op[0] ? op : sys;
	snprintf(s->name, sizeof(s->name), "%s", name);
	ws_proto_set_peer_attrs(si, s);
}

static void my_span_response(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct my_req *r = x ? x->detail : NULL;
	char code[8];

	(void)si;
	if (!r || !s)
		return;
	if (r->is_error) {
		snprintf(code, sizeof(code), "%u", r->err_code);
		ws_span_set_str(s, "db.response.status_code", code);
		ws_span_set_str(s, "error.type", code);
		s->status_code = WS_STATUS_ERROR;
		/* SQLSTATE and code only: the message text may quote the query's literals */
		if (r->sqlstate[0])
			snprintf(s->status_message, sizeof(s->status_message), "%s (%s)", code, r->sqlstate);
		else
			snprintf(s->status_message, sizeof(s->status_message), "%s", code);
	}
	if (r->rows_known)
		ws_span_set_int(s, "db.response.returned_rows", (int64_t)r->rows);
}

const struct ws_proto_ops ws_proto_mysql = {
	.id = WS_PROTO_MYSQL,
	.name = "mysql",
	.detect = my_detect,
	.init = my_init,
	.feed = my_feed,
	.close = my_close,
	.free = my_free,
	.role = my_role,
	.capture = my_capture,
	.span_request = my_span_request,
	.span_response = my_span_response,
	.error_name = mysql_error_name,
	.n_errors = MYSQL_ERR__MAX,
	.err_closed = MYSQL_ERR_CLOSED,
};
