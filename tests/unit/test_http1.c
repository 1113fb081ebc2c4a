/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/1 exchange parser tests. Most cases are a table: a script of chunks (request or
 * response direction, bytes, real length, captured length, missing bytes before it)
 * and the expected event summary. Detailed tests check times, seqs and fields.
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

#include "agent/proto/http1.h"

#define MAXEV 128

struct rec {
	int n;
	struct h1_event ev[MAXEV];
};

static void on_ev(void *ctx, const struct h1_event *ev)
{
	struct rec *r = ctx;

	assert_true(r->n < MAXEV);
	r->ev[r->n++] = *ev;
}

static struct rec *rec_new(void)
{
	struct rec *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	return r;
}

/* ---- script runner -------------------------------------------------------------- */

struct step {
	char dir;              /* 'q' request direction, 'r' response direction, 'c' close, 0 end */
	const char *data;
	int64_t len;           /* real length; -1: the data's length */
	int64_t cap;           /* captured bytes; -1: all of the data */
	uint32_t gap;          /* bytes missing before this chunk (sequence jump) */
	size_t dlen;           /* data length when it holds NUL bytes; 0: strlen */
};

#define REQ_SEQ0 1000u
#define RESP_SEQ0 0xfffffff0u   /* wraps around zero: seq arithmetic must be modular */

struct runner {
	struct h1_conn c;
	enum h1_role role;
	uint32_t seq[2];
	int stepno;
	int last_rc;
	struct rec *r;
};

static enum h1_dir dir_for(enum h1_role role, char d)
{
	bool req = d == 'q';

	if (role == H1_ROLE_CLIENT)
		return req ? H1_DIR_EGRESS : H1_DIR_INGRESS;
	return req ? H1_DIR_INGRESS : H1_DIR_EGRESS;
}

static void runner_init(struct runner *u, enum h1_role role)
{
	memset(u, 0, sizeof(*u));
	u->role = role;
	assert_int_equal(h1_conn_init(&u->c, role), 0);
	u->seq[dir_for(role, 'q')] = REQ_SEQ0;
	u->seq[dir_for(role, 'r')] = RESP_SEQ0;
	u->r = rec_new();
}

static void runner_fini(struct runner *u)
{
	h1_conn_free(&u->c);
	assert_null(u->c.impl);
	free(u->r);
}

/* Chunk number i (1-based) has enter 1000*i, exit 1000*i+500, tid 100+i. */
static void run_step(struct runner *u, const struct step *s)
{
	int i = ++u->stepno;

	if (s->dir == 'c') {
		h1_conn_close(&u->c, 1000ull * i, on_ev, u->r);
		return;
	}
	enum h1_dir dir = dir_for(u->role, s->dir);
	size_t dl = s->dlen ? s->dlen : (s->data ? strlen(s->data) : 0);
	struct ws_chunk ch = {
		.data = (const uint8_t *)s->data,
		.captured = (uint32_t)(s->cap >= 0 ? (size_t)s->cap : dl),
		.len = (uint32_t)(s->len >= 0 ? (size_t)s->len : dl),
		.tid = 100 + i,
		.enter_ns = 1000ull * i,
		.exit_ns = 1000ull * i + 500,
		.has_seq = true,
	};

	assert_true(ch.captured <= dl);
	u->seq[dir] += s->gap;
	ch.seq = u->seq[dir];
	u->seq[dir] += ch.len;
	u->last_rc = h1_conn_feed(&u->c, dir, &ch, on_ev, u->r);
}

static void append(char *out, size_t n, const char *fmt, ...)
{
	size_t l = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + l, n - l, fmt, ap);
	va_end(ap);
}

/* One line per event: "R1 GET /x", "X1 200", "E:gap#1", with flags in brackets:
 * ht = headers truncated, ri/si = request/response end inferred, sc = close-delimited. */
static void summarize(const struct rec *r, int from, int to, char *out, size_t n)
{
	out[0] = '\0';
	for (int i = from; i < to; i++) {
		const struct h1_event *e = &r->ev[i];
		char fl[64] = "";

		if (i > from)
			append(out, n, "; ");
		switch (e->type) {
		case H1_EV_REQUEST:
			append(out, n, "R%u %s %s", e->req_index, e->req.method, e->req.target);
			if (e->req.headers_truncated)
				append(fl, sizeof(fl), "%sht", fl[0] ? "," : "");
			break;
		case H1_EV_EXCHANGE:
			append(out, n, "X%u %u", e->req_index, e->resp.status);
			if (e->req.headers_truncated)
				append(fl, sizeof(fl), "%sht", fl[0] ? "," : "");
			if (e->req.end_inferred)
				append(fl, sizeof(fl), "%sri", fl[0] ? "," : "");
			if (e->resp.end_inferred)
				append(fl, sizeof(fl), "%ssi", fl[0] ? "," : "");
			if (e->resp.close_delimited)
				append(fl, sizeof(fl), "%ssc", fl[0] ? "," : "");
			break;
		case H1_EV_ERROR:
			append(out, n, "E:%s", h1_error_name(e->err));
			if (e->has_request)
				append(out, n, "#%u", e->req_index);
			break;
		default:
			append(out, n, "?%u", e->type);
		}
		if (fl[0])
			append(out, n, "[%s]", fl);
	}
}

/* The event contract of http1.h: every announced request gets exactly one terminal
 * event (after close at the latest), and terminal events name announced requests. */
static void check_contract(const struct rec *r)
{
	static uint8_t state[1 << 12];   /* 0 unseen, 1 announced, 2 ended */

	memset(state, 0, sizeof(state));
	for (int i = 0; i < r->n; i++) {
		const struct h1_event *e = &r->ev[i];

		assert_true(e->req_index < sizeof(state));
		if (e->type == H1_EV_REQUEST) {
			assert_true(e->has_request);
			assert_int_equal(state[e->req_index], 0);
			state[e->req_index] = 1;
		} else if (e->type == H1_EV_EXCHANGE || (e->type == H1_EV_ERROR && e->has_request)) {
			assert_true(e->has_request);
			assert_int_equal(state[e->req_index], 1);
			state[e->req_index] = 2;
		} else {
			assert_int_equal(e->type, H1_EV_ERROR);
			assert_int_equal(e->req_index, 0);
		}
		if (e->type == H1_EV_EXCHANGE)
			assert_true(e->has_response && e->resp.status >= 100);
	}
	for (size_t k = 0; k < sizeof(state); k++)
		assert_int_not_equal(state[k], 1);
}

struct tcase {
	const char *name;
	enum h1_role role;
	struct step steps[12];
	const char *expect;
	int rc;                /* return of the last feed */
};

#define Q(s) { 'q', (s), -1, -1, 0, 0 }
#define R(s) { 'r', (s), -1, -1, 0, 0 }
#define CLOSE { 'c', NULL, -1, -1, 0, 0 }

static const char GET1[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
static const char OK0[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

static const struct tcase cases[] = {
	{ "simple exchange", H1_ROLE_SERVER,
	  { Q(GET1), R("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello") },
	  "R1 GET /a; X1 200", 0 },
	{ "keep-alive", H1_ROLE_SERVER,
	  { Q(GET1), R(OK0), Q("GET /b HTTP/1.1\r\n\r\n"), R("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!"),
	    Q("DELETE /c HTTP/1.1\r\n\r\n"), R(OK0) },
	  "R1 GET /a; X1 200; R2 GET /b; X2 404; R3 DELETE /c; X3 200", 0 },
	{ "pipelining, responses split oddly", H1_ROLE_SERVER,
	  { Q("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"),
	    R("HTTP/1.1 200 OK\r\nContent-Le"),
	    R("ngth: 2\r\n\r\naaHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r"),
	    R("\nbHTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r"),
	    R("\n0\r\n\r\n") },
	  "R1 GET /1; R2 GET /2; R3 GET /3; X1 200; X2 201; X3 202", 0 },
	{ "chunked with extensions and trailers", H1_ROLE_SERVER,
	  { Q(GET1),
	    R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=val\r\nhello\r\n6 ; a=\"b\";c\r\n world\r\n"
	      "A\r\n0123456789\r\n0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"),
	    Q("GET /next HTTP/1.1\r\n\r\n"), R(OK0) },
	  "R1 GET /a; X1 200; R2 GET /next; X2 200", 0 },
	{ "chunked request body", H1_ROLE_SERVER,
	  { Q("POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"), Q("0\r\n\r\n"),
	    R(OK0) },
	  "R1 POST /up; X1 200", 0 },
	{ "100-continue then 200", H1_ROLE_SERVER,
	  { Q("POST /u HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"),
	    R("HTTP/1.1 100 Continue\r\n\r\n"), Q("data"), R(OK0) },
	  "R1 POST /u; X1 200", 0 },
	{ "103 early hints then 200", H1_ROLE_SERVER,
	  { Q(GET1), R("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
	  "R1 GET /a; X1 200", 0 },
	{ "HEAD with Content-Length but no body", H1_ROLE_SERVER,
	  { Q("HEAD / HTTP/1.1\r\n\r\n"), R("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
	    Q("GET /n HTTP/1.1\r\n\r\n"), R(OK0) },
	  "R1 HEAD /; X1 200; R2 GET /n; X2 200", 0 },
	{ "204 and 304 have no body", H1_ROLE_SERVER,
	  { Q("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"),
	    R("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
	      "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n"
	      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
	  "R1 GET /1; R2 GET /2; R3 GET /3; X1 204; X2 304; X3 200", 0 },
	{ "close-delimited HTTP/1.0 response", H1_ROLE_SERVER,
	  { Q("GET / HTTP/1.0\r\n\r\n"), R("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome"), R(" more body"),
	    CLOSE },
	  "R1 GET /; X1 200[sc]", 0 },
	{ "HTTP/1.1 response without length ends at close", H1_ROLE_SERVER,
	  { Q(GET1), R("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nxyz"), CLOSE },
	  "R1 GET /a; X1 200[sc]", 0 },
	{ "Transfer-Encoding chunked wins over Content-Length", H1_ROLE_SERVER,
	  { Q("POST /p HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"),
	    R(OK0) },
	  "R1 POST /p; X1 200", 0 },
	{ "response TE not ending in chunked is close-delimited", H1_ROLE_SERVER,
	  { Q(GET1), R("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabcdef"), CLOSE },
	  "R1 GET /a; X1 200[sc]", 0 },
	{ "request TE not ending in chunked is an error", H1_ROLE_SERVER,
	  { Q("POST /p HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
	    R("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), Q(GET1), R(OK0) },
	  "E:bad_header; R1 GET /a; X1 200", 0 },
	{ "HTTP/1.0 request with Transfer-Encoding is an error", H1_ROLE_SERVER,
	  { Q("POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") },
	  "E:bad_header", 0 },
	{ "bare LF line endings", H1_ROLE_SERVER,
	  { Q("GET /lf HTTP/1.1\nHost: x\n\n"), R("HTTP/1.1 200 OK\nContent-Length: 1\n\nz") },
	  "R1 GET /lf; X1 200", 0 },
	{ "empty lines before a request are ignored", H1_ROLE_SERVER,
	  { Q("\r\n\r\nGET /e HTTP/1.1\r\n\r\n"), R(OK0) },
	  "R1 GET /e; X1 200", 0 },
	{ "absolute-form and asterisk targets", H1_ROLE_SERVER,
	  { Q("GET http://u:p@h.example:8080/x?y=1 HTTP/1.1\r\n\r\nOPTIONS * HTTP/1.1\r\n\r\n"), R(OK0), R(OK0) },
	  "R1 GET http://u:p@h.example:8080/x?y=1; R2 OPTIONS *; X1 200; X2 200", 0 },
	{ "status line without reason phrase", H1_ROLE_SERVER,
	  { Q(GET1), R("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), Q(GET1), R("HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n") },
	  "R1 GET /a; X1 200; R2 GET /a; X2 500", 0 },
	{ "upgrade 101 ends parsing", H1_ROLE_SERVER,
	  { Q("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
	    R("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"),
	    Q("\x81\x85mask!") },
	  "R1 GET /ws; E:upgrade#1", -H1_ERR_UPGRADE },
	{ "CONNECT 200 becomes a tunnel", H1_ROLE_CLIENT,
	  { Q("CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n"),
	    R("HTTP/1.1 200 Connection established\r\n\r\n"), Q("\x16\x03\x01\x02\x00") },
	  "R1 CONNECT db.example:5432; E:upgrade#1", -H1_ERR_UPGRADE },
	{ "CONNECT refused stays HTTP", H1_ROLE_CLIENT,
	  { Q("CONNECT db.example:5432 HTTP/1.1\r\n\r\n"),
	    R("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"), Q(GET1), R(OK0) },
	  "R1 CONNECT db.example:5432; X1 403; R2 GET /a; X2 200", 0 },
	{ "response without request", H1_ROLE_SERVER,
	  { R("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), Q(GET1), R(OK0) },
	  "E:response_without_request; R1 GET /a; X1 200", 0 },
	{ "close with requests pending", H1_ROLE_SERVER,
	  { Q("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"), R(OK0), CLOSE },
	  "R1 GET /1; R2 GET /2; X1 200; E:closed_incomplete#2", 0 },
	{ "close inside a response", H1_ROLE_SERVER,
	  { Q(GET1), R("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), CLOSE },
	  "R1 GET /a; E:closed_incomplete#1", 0 },
	{ "close inside a request header block", H1_ROLE_SERVER,
	  { Q(GET1), R(OK0), Q("GET /b HTTP/1.1\r\nHo"), CLOSE },
	  "R1 GET /a; X1 200; E:closed_incomplete", 0 },
	{ "early 413 while the body is sent, then close", H1_ROLE_SERVER,
	  { Q("POST /big HTTP/1.1\r\nContent-Length: 1000\r\n\r\nxxxx"),
	    R("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), Q("yyyy"), CLOSE },
	  "R1 POST /big; X1 413[ri]", 0 },
	{ "early response, body then completes", H1_ROLE_SERVER,
	  { Q("POST /p HTTP/1.1\r\nContent-Length: 8\r\n\r\nxxxx"), R("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"),
	    Q("yyyy"), Q(GET1), R(OK0) },
	  "R1 POST /p; X1 401; R2 GET /a; X2 200", 0 },
	{ "garbage first bytes: not HTTP", H1_ROLE_SERVER,
	  { Q("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"), Q(GET1) },
	  "E:not_http", -H1_ERR_NOT_HTTP },
	{ "binary input with NUL bytes", H1_ROLE_DETECT,
	  { { 'q', "\x00\x00\x00\x08\x04\xd2\x16\x2f", -1, -1, 0, 8 } },
	  "E:not_http", -H1_ERR_NOT_HTTP },
	{ "redis inline command is not HTTP", H1_ROLE_DETECT,
	  { Q("PING\r\n") },
	  "E:not_http", -H1_ERR_NOT_HTTP },
	{ "server-first protocol is not HTTP", H1_ROLE_SERVER,
	  { R("220 mail.example ESMTP ready\r\n") },
	  "E:not_http", -H1_ERR_NOT_HTTP },
	{ "HTTP/2 preface is not HTTP/1", H1_ROLE_DETECT,
	  { Q("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") },
	  "E:not_http", -H1_ERR_NOT_HTTP },
	{ "garbage after a good exchange is a bad request line", H1_ROLE_SERVER,
	  { Q(GET1), R(OK0), Q("\x01\x02garbage\r\n\r\n"), R("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
	    Q(GET1), R(OK0) },
	  "R1 GET /a; X1 200; E:bad_request_line; R2 GET /a; X2 200", 0 },
	{ "bad status line", H1_ROLE_SERVER,
	  { Q(GET1), R("HTTP/1.1 2x0 OK\r\n\r\n"), Q(GET1), R(OK0) },
	  "R1 GET /a; E:bad_status_line#1; R2 GET /a; X2 200", 0 },
	{ "header without colon", H1_ROLE_SERVER,
	  { Q("GET / HTTP/1.1\r\nHost x\r\n\r\n") },
	  "E:bad_header", 0 },
	{ "space before colon", H1_ROLE_SERVER,
	  { Q("GET / HTTP/1.1\r\nHost : x\r\n\r\n") },
	  "E:bad_header", 0 },
	{ "NUL in a header value", H1_ROLE_SERVER,
	  { { 'q', "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", -1, -1, 0, 26 } },
	  "E:bad_header", 0 },
	{ "whitespace line before the first field", H1_ROLE_SERVER,
	  { Q("GET / HTTP/1.1\r\n  x\r\n\r\n") },
	  "E:bad_header", 0 },
	{ "absurd content-length", H1_ROLE_SERVER,
	  { Q("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n") },
	  "E:bad_content_length", 0 },
	{ "negative content-length", H1_ROLE_SERVER,
	  { Q("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n") },
	  "E:bad_content_length", 0 },
	{ "content-length with exponent", H1_ROLE_SERVER,
	  { Q("POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n") },
	  "E:bad_content_length", 0 },
	{ "empty content-length", H1_ROLE_SERVER,
	  { Q("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n") },
	  "E:bad_content_length", 0 },
	{ "conflicting content-length fields", H1_ROLE_SERVER,
	  { Q("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!") },
	  "E:bad_content_length", 0 },
	{ "conflicting content-length list", H1_ROLE_SERVER,
	  { Q("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\nhello!") },
	  "E:bad_content_length", 0 },
	{ "identical content-length values are accepted", H1_ROLE_SERVER,
	  { Q("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\ncontent-length: 5\r\n\r\nhello"), R(OK0) },
	  "R1 POST /; X1 200", 0 },
	{ "huge but valid content-length waits for the body", H1_ROLE_SERVER,
	  { Q("POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\nabc"), CLOSE },
	  "R1 POST /; E:closed_incomplete#1", 0 },
	{ "bad chunk size", H1_ROLE_SERVER,
	  { Q(GET1), R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), Q(GET1), R(OK0) },
	  "R1 GET /a; E:bad_chunk#1; R2 GET /a; X2 200", 0 },
	{ "chunk data without CRLF", H1_ROLE_SERVER,
	  { Q(GET1), R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n") },
	  "R1 GET /a; E:bad_chunk#1", 0 },
	{ "chunk size overflow", H1_ROLE_SERVER,
	  { Q(GET1), R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n") },
	  "R1 GET /a; E:bad_chunk#1", 0 },
	{ "obs-fold is joined", H1_ROLE_SERVER,
	  { Q("GET / HTTP/1.1\r\nX-Long: a\r\n  b\r\nHost: x\r\n\r\n"), R(OK0) },
	  "R1 GET /; X1 200", 0 },
	{ "detect: server learned from a request", H1_ROLE_DETECT,
	  { Q(GET1), R(OK0) },
	  "R1 GET /a; X1 200", 0 },
	{ "detect: first bytes are a response", H1_ROLE_DETECT,
	  { R("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), Q(GET1), R(OK0) },
	  "E:response_without_request; R1 GET /a; X1 200", 0 },
	{ "request truncated in its header block", H1_ROLE_SERVER,
	  { { 'q', "GET /t HTTP/1.1\r\nHost: example.com\r\nCookie: aaaaaaaaa", 200, -1, 0, 0 },
	    R("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), Q(GET1), R(OK0) },
	  "R1 GET /t[ht]; X1 200[ht,ri]; R2 GET /a; X2 200", 0 },
	{ "request truncated in its request line", H1_ROLE_SERVER,
	  { Q(GET1), R(OK0), { 'q', "GET /very/long/pa", 3000, -1, 0, 0 }, R(OK0) },
	  "R1 GET /a; X1 200; R2 GET /very/long/pa[ht]; X2 200[ht,ri]", 0 },
	{ "response truncated in its header block", H1_ROLE_SERVER,
	  { Q(GET1), { 'r', "HTTP/1.1 200 OK\r\nContent-Ty", 4000, -1, 0, 0 }, { 'r', NULL, 3000, 0, 0, 0 },
	    Q(GET1), R(OK0) },
	  "R1 GET /a; X1 200[si]; R2 GET /a; X2 200", 0 },
	{ "response status line not captured", H1_ROLE_SERVER,
	  { Q(GET1), { 'r', "HTTP/1.1 2", 4000, -1, 0, 0 }, Q(GET1), R(OK0) },
	  "R1 GET /a; E:uncaptured#1; R2 GET /a; X2 200", 0 },
	{ "budget-truncated Content-Length body ends exactly", H1_ROLE_SERVER,
	  { { 'q', "POST /big HTTP/1.1\r\nContent-Length: 100000\r\n\r\nxxxxxxxxxx", 60046, -1, 0, 0 },
	    { 'q', NULL, 40000, 0, 0, 0 }, R(OK0), Q(GET1), R(OK0) },
	  "R1 POST /big; X1 200; R2 GET /a; X2 200", 0 },
	{ "second pipelined response entirely uncaptured", H1_ROLE_SERVER,
	  { Q("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
	    { 'r', "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\nabc", 5038, -1, 0, 0 },
	    { 'r', NULL, 5044, 0, 0, 0 }, CLOSE },
	  "R1 GET /1; R2 GET /2; X1 200; E:uncaptured#2", 0 },
	{ "request starting in uncaptured bytes", H1_ROLE_SERVER,
	  { { 'q', "POST /big HTTP/1.1\r\nContent-Length: 10000\r\n\r\nxxxx", 10100, -1, 0, 0 },
	    R(OK0), R("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"), Q(GET1), R(OK0) },
	  "R1 POST /big; R2  [ht]; X1 200; X2 201[ht,ri]; R3 GET /a; X3 200", 0 },
	{ "truncated chunked response ends at the direction change", H1_ROLE_SERVER,
	  { Q(GET1), { 'r', "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\nabcdef", 9000, -1, 0, 0 },
	    { 'r', NULL, 5000, 0, 0, 0 }, Q(GET1), R(OK0) },
	  "R1 GET /a; X1 200[si]; R2 GET /a; X2 200", 0 },
	{ "truncated chunked response ends at close", H1_ROLE_SERVER,
	  { Q(GET1), { 'r', "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", 900, -1, 0, 0 }, CLOSE },
	  "R1 GET /a; X1 200[si]", 0 },
	{ "chunked framing exact over uncaptured chunk data", H1_ROLE_SERVER,
	  { Q(GET1), { 'r', "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\nabc", 4149, -1, 0, 0 },
	    R("\r\n0\r\n\r\n"), Q(GET1), R(OK0) },
	  "R1 GET /a; X1 200; R2 GET /a; X2 200", 0 },
	{ "truncated chunked request ends at the response", H1_ROLE_SERVER,
	  { { 'q', "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\nxx", 5000, -1, 0, 0 },
	    R(OK0), Q("more body bytes"), Q(GET1), R(OK0) },
	  "R1 POST /up; X1 200[ri]; R2 GET /a; X2 200", 0 },
	{ "gap inside a request body", H1_ROLE_SERVER,
	  { Q("POST /p HTTP/1.1\r\nContent-Length: 100\r\n\r\nxxxx"), { 'q', "yyyy", -1, -1, 50, 0 },
	    R(OK0), Q(GET1), R(OK0) },
	  "R1 POST /p; E:gap#1; R2 GET /a; X2 200", 0 },
	{ "gap between requests, resync on the next request line", H1_ROLE_SERVER,
	  { Q(GET1), R(OK0), { 'q', "ody of a lost request\r\n", -1, -1, 300, 0 },
	    R("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"), Q("GET /z HTTP/1.1\r\n\r\n"), R(OK0) },
	  "R1 GET /a; X1 200; E:gap; R2 GET /z; X2 200", 0 },
	{ "gap after an orphan response does not drop the next response", H1_ROLE_SERVER,
	  { Q(GET1), R(OK0), R("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
	    { 'q', "GET /z HTTP/1.1\r\n\r\n", -1, -1, 300, 0 }, R(OK0) },
	  "R1 GET /a; X1 200; E:response_without_request; E:gap; R2 GET /z; X2 200", 0 },
	{ "gap in the response direction", H1_ROLE_SERVER,
	  { Q(GET1), R("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"), Q(GET1),
	    { 'r', "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", -1, -1, 77, 0 } },
	  "R1 GET /a; R2 GET /a; E:gap#1; X2 200", 0 },
	{ "resync skips chunks that do not start a message", H1_ROLE_SERVER,
	  { Q("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"), R("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nbo"),
	    { 'r', "dy tail", -1, -1, 10, 0 }, R("more tail"), R(OK0), Q(GET1), R(OK0) },
	  "R1 GET /a; R2 GET /b; E:gap#1; X2 200; R3 GET /a; X3 200", 0 },
	{ "gap in a request body while its response is under way", H1_ROLE_SERVER,
	  { Q("POST /p HTTP/1.1\r\nContent-Length: 100\r\n\r\nxx"), R("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"),
	    { 'q', "yy", -1, -1, 5, 0 }, R("cdefghij"), Q(GET1), R(OK0) },
	  "R1 POST /p; E:gap#1; R2 GET /a; X2 200", 0 },
	{ "response gap ends a request whose body is still sent", H1_ROLE_SERVER,
	  { Q("POST /p HTTP/1.1\r\nContent-Length: 100\r\n\r\nxx"), R("HTTP/1.1 100 Continue\r\n\r\n"),
	    { 'r', "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", -1, -1, 9, 0 }, Q("yy") },
	  "R1 POST /p; E:gap#1; E:response_without_request", 0 },
	{ "gap in the second of two pipelined requests", H1_ROLE_SERVER,
	  { Q("GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 50\r\n\r\nxx"), { 'q', "yy", -1, -1, 5, 0 },
	    R("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
	    Q(GET1), R(OK0) },
	  "R1 GET /1; R2 POST /2; E:gap#2; X1 200; R3 GET /a; X3 200", 0 },
	{ "upgrade with a pipelined request pending", H1_ROLE_SERVER,
	  { Q("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nGET /x HTTP/1.1\r\n\r\n"),
	    R("HTTP/1.1 101 Switching Protocols\r\n\r\n") },
	  "R1 GET /ws; R2 GET /x; E:upgrade#1; E:upgrade#2", -H1_ERR_UPGRADE },
	{ "bad response to a rejected request", H1_ROLE_SERVER,
	  { Q(GET1), R(OK0), Q("\x01" "bad\r\n\r\n"), R("HTTP/1.1 4x0 Bad\r\n\r\n"), Q(GET1), R(OK0) },
	  "R1 GET /a; X1 200; E:bad_request_line; E:bad_status_line; R2 GET /a; X2 200", 0 },
	{ "Transfer-Encoding list with parameters", H1_ROLE_SERVER,
	  { Q("POST /p HTTP/1.1\r\nTransfer-Encoding: gzip;q=1 , chunked\r\nX-A-Header-Name-Longer-Than-Kept: 1\r\n\r\n"
	      "1\r\nz\r\n0\r\n\r\n"), R(OK0) },
	  "R1 POST /p; X1 200", 0 },
	{ "Transfer-Encoding token with inner space", H1_ROLE_SERVER,
	  { Q("POST /p HTTP/1.1\r\nTransfer-Encoding: chun ked\r\n\r\n") },
	  "E:bad_header", 0 },
	{ "Transfer-Encoding chunked twice", H1_ROLE_SERVER,
	  { Q("POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") },
	  "E:bad_header", 0 },
	{ "resync ignores a partial token that spans chunks", H1_ROLE_SERVER,
	  { Q("POST /p HTTP/1.1\r\nContent-Length: 100\r\n\r\nxxxx"), { 'q', "yyyy", -1, -1, 50, 0 },
	    R(OK0), Q(GET1), R(OK0) },
	  "R1 POST /p; E:gap#1; R2 GET /a; X2 200", 0 },
};

static void run_case(const struct tcase *tc)
{
	struct runner u;
	char got[4096];

	runner_init(&u, tc->role);
	for (int i = 0; tc->steps[i].dir; i++)
		run_step(&u, &tc->steps[i]);
	summarize(u.r, 0, u.r->n, got, sizeof(got));
	if (strcmp(got, tc->expect) != 0 || u.last_rc != tc->rc) {
		int rc = u.last_rc;

		runner_fini(&u);
		fail_msg("case \"%s\":\n  expected: %s (rc %d)\n  got:      %s (rc %d)", tc->name, tc->expect, tc->rc, got,
			 rc);
	}
	h1_conn_close(&u.c, 1ull << 40, on_ev, u.r);
	check_contract(u.r);
	runner_fini(&u);
}

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* ---- detailed checks ------------------------------------------------------------ */

static const struct h1_event *find_ev(const struct rec *r, uint8_t type, uint32_t idx)
{
	for (int i = 0; i < r->n; i++)
		if (r->ev[i].type == type && r->ev[i].req_index == idx)
			return &r->ev[i];
	return NULL;
}

static void check_times(const struct ws_msg_times *t, int first, int last)
{
	assert_int_equal(t->first_enter_ns, 1000ull * first);
	assert_int_equal(t->first_exit_ns, 1000ull * first + 500);
	assert_int_equal(t->first_tid, 100 + first);
	assert_int_equal(t->last_enter_ns, 1000ull * last);
	assert_int_equal(t->last_exit_ns, 1000ull * last + 500);
	assert_int_equal(t->last_tid, 100 + last);
}

static const char SPLIT_REQ[] =
	"POST /orders/42?token=abc HTTP/1.1\r\n"
	"Host: shop.example:8080\r\n"
	"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
	"TraceState: vendor=a,other=b\r\n"
	"Content-Length: 5\r\n"
	"\r\n"
	"hello";
static const char SPLIT_RESP[] =
	"HTTP/1.1 201 Created\r\n"
	"Transfer-Encoding: chunked\r\n"
	"\r\n"
	"3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n";

static void check_split_result(const struct rec *r, size_t hdr_end, size_t k1, size_t k2, int nchunks)
{
	const struct h1_event *rq = find_ev(r, H1_EV_REQUEST, 1), *ex = find_ev(r, H1_EV_EXCHANGE, 1);
	char got[512];

	summarize(r, 0, r->n, got, sizeof(got));
	if (r->n != 2 || !rq || !ex)
		fail_msg("split at %zu/%zu: %s", k1, k2, got);
	assert_string_equal(rq->req.method, "POST");
	assert_string_equal(rq->req.target, "/orders/42?token=abc");
	assert_string_equal(rq->req.host, "shop.example:8080");
	assert_string_equal(rq->req.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	assert_string_equal(rq->req.tracestate, "vendor=a,other=b");
	assert_int_equal(rq->req.version_minor, 1);
	assert_int_equal(rq->req.content_length, 5);
	assert_false(rq->req.headers_truncated);
	assert_int_equal(rq->req.t.seq, REQ_SEQ0);
	assert_true(rq->req.t.has_seq);
	/* REQUEST is emitted with the chunk that completed the header block. */
	int hdr_chunk = hdr_end <= k1 ? 1 : (nchunks == 3 && hdr_end <= k2) ? 2 : nchunks;
	check_times(&rq->req.t, 1, hdr_chunk);
	check_times(&ex->req.t, 1, nchunks);
	assert_int_equal(ex->req.body_bytes, 5);
	assert_int_equal(ex->req.wire_bytes, strlen(SPLIT_REQ));
	assert_int_equal(ex->resp.status, 201);
	assert_true(ex->resp.chunked);
	assert_int_equal(ex->resp.wire_bytes, strlen(SPLIT_RESP));
	assert_int_equal(ex->resp.t.seq, RESP_SEQ0);
	assert_false(ex->req.end_inferred || ex->resp.end_inferred);
}

/* Every split point of a request across two chunks, and every pair of split points
 * across three chunks, parses the same. */
static void test_split_every_point(void **state)
{
	size_t n = strlen(SPLIT_REQ), hdr_end = strstr(SPLIT_REQ, "\r\n\r\n") + 4 - SPLIT_REQ;

	for (size_t k = 1; k < n; k++) {
		struct runner u;
		char a[256], b[256];

		runner_init(&u, H1_ROLE_SERVER);
		memcpy(a, SPLIT_REQ, k);
		a[k] = '\0';
		strcpy(b, SPLIT_REQ + k);
		struct step s1 = Q(a), s2 = Q(b), s3 = R(SPLIT_RESP);
		run_step(&u, &s1);
		run_step(&u, &s2);
		run_step(&u, &s3);
		/* the response lands in chunk 3: times of the response are checked elsewhere */
		check_split_result(u.r, hdr_end, k, k, 2);
		runner_fini(&u);
	}
	for (size_t k1 = 1; k1 < n; k1++) {
		for (size_t k2 = k1 + 1; k2 < n; k2++) {
			struct runner u;
			char a[256], b[256], c[256];

			runner_init(&u, H1_ROLE_SERVER);
			memcpy(a, SPLIT_REQ, k1);
			a[k1] = '\0';
			memcpy(b, SPLIT_REQ + k1, k2 - k1);
			b[k2 - k1] = '\0';
			strcpy(c, SPLIT_REQ + k2);
			struct step s1 = Q(a), s2 = Q(b), s3 = Q(c), s4 = R(SPLIT_RESP);
			run_step(&u, &s1);
			run_step(&u, &s2);
			run_step(&u, &s3);
			run_step(&u, &s4);
			check_split_result(u.r, hdr_end, k1, k2, 3);
			runner_fini(&u);
		}
	}
}

/* The response split at every point too, with its times. */
static void test_split_response_every_point(void **state)
{
	size_t n = strlen(SPLIT_RESP);

	for (size_t k = 1; k < n; k++) {
		struct runner u;
		char a[256], b[256];

		runner_init(&u, H1_ROLE_CLIENT);
		memcpy(a, SPLIT_RESP, k);
		a[k] = '\0';
		strcpy(b, SPLIT_RESP + k);
		struct step s1 = Q(SPLIT_REQ), s2 = R(a), s3 = R(b);
		run_step(&u, &s1);
		run_step(&u, &s2);
		run_step(&u, &s3);
		const struct h1_event *ex = find_ev(u.r, H1_EV_EXCHANGE, 1);
		assert_non_null(ex);
		assert_int_equal(u.r->n, 2);
		assert_int_equal(ex->resp.status, 201);
		assert_int_equal(ex->resp.t.seq, RESP_SEQ0);
		check_times(&ex->resp.t, 2, 3);
		check_times(&ex->req.t, 1, 1);
		assert_int_equal(ex->resp.body_bytes, n - (strstr(SPLIT_RESP, "\r\n\r\n") + 4 - SPLIT_RESP));
		runner_fini(&u);
	}
}

/* Three pipelined requests in one chunk get the seqs of their own first bytes; the
 * responses, split at odd points, pair in order with their own seqs and times. */
static void test_pipeline_seq(void **state)
{
	static const char reqs[] = "GET /1 HTTP/1.1\r\n\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\n\r\n";
	static const char resps[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\naa"
				    "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nb"
				    "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
	size_t o2 = strstr(reqs, "POST") - reqs, o3 = strstr(reqs, "GET /3") - reqs;
	size_t r2 = strstr(resps, "HTTP/1.1 201") - resps, r3 = strstr(resps, "HTTP/1.1 202") - resps;
	struct runner u;
	char p1[128], p2[128], p3[128];

	runner_init(&u, H1_ROLE_SERVER);
	struct step s = Q(reqs);
	run_step(&u, &s);
	assert_int_equal(u.r->n, 3);
	assert_int_equal(u.r->ev[0].req.t.seq, REQ_SEQ0);
	assert_int_equal(u.r->ev[1].req.t.seq, REQ_SEQ0 + o2);
	assert_int_equal(u.r->ev[2].req.t.seq, REQ_SEQ0 + o3);
	for (int i = 0; i < 3; i++)
		check_times(&u.r->ev[i].req.t, 1, 1);
	/* split: [0,7) [7, r2+3) [r2+3, end) */
	memcpy(p1, resps, 7);
	p1[7] = '\0';
	memcpy(p2, resps + 7, r2 + 3 - 7);
	p2[r2 + 3 - 7] = '\0';
	strcpy(p3, resps + r2 + 3);
	struct step a = R(p1), b = R(p2), c = R(p3);
	run_step(&u, &a);
	run_step(&u, &b);
	run_step(&u, &c);
	char got[512];
	summarize(u.r, 0, u.r->n, got, sizeof(got));
	assert_string_equal(got, "R1 GET /1; R2 POST /2; R3 GET /3; X1 200; X2 201; X3 202");
	assert_int_equal(u.r->ev[3].resp.t.seq, RESP_SEQ0);
	assert_int_equal(u.r->ev[4].resp.t.seq, RESP_SEQ0 + (uint32_t)r2);
	assert_int_equal(u.r->ev[5].resp.t.seq, RESP_SEQ0 + (uint32_t)r3);
	check_times(&u.r->ev[3].resp.t, 2, 3);
	check_times(&u.r->ev[4].resp.t, 3, 4);
	check_times(&u.r->ev[5].resp.t, 4, 4);
	assert_int_equal(u.r->ev[4].req.body_bytes, 3);
	runner_fini(&u);
}

/* A client's request seq is its write seq: the same number the server reading it sees,
 * even when the two sides cut the stream differently. */
static void test_client_server_seq_match(void **state)
{
	static const char a[] = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n", b[] = "GET /b HTTP/1.1\r\nHost: b\r\n\r\n";
	char both[128], tail[128];
	struct runner cl, sv;

	runner_init(&cl, H1_ROLE_CLIENT);
	runner_init(&sv, H1_ROLE_SERVER);
	/* client: two writes; server: one read with A and half of B, one with the rest */
	struct step w1 = Q(a), w2 = Q(b);
	run_step(&cl, &w1);
	run_step(&cl, &w2);
	snprintf(both, sizeof(both), "%s%.9s", a, b);
	snprintf(tail, sizeof(tail), "%s", b + 9);
	struct step r1 = Q(both), r2 = Q(tail);
	run_step(&sv, &r1);
	run_step(&sv, &r2);
	assert_int_equal(cl.r->n, 2);
	assert_int_equal(sv.r->n, 2);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(cl.r->ev[i].req.target, sv.r->ev[i].req.target);
		assert_int_equal(cl.r->ev[i].req.t.seq, sv.r->ev[i].req.t.seq);
	}
	assert_int_equal(sv.r->ev[1].req.t.seq, REQ_SEQ0 + strlen(a));
	check_times(&sv.r->ev[1].req.t, 1, 2);
	check_times(&cl.r->ev[1].req.t, 2, 2);
	assert_int_equal(cl.c.role, H1_ROLE_CLIENT);
	runner_fini(&cl);
	runner_fini(&sv);
}

static void test_budget_body_exact(void **state)
{
	static const char hdr[] = "POST /big HTTP/1.1\r\nContent-Length: 100000\r\n\r\n";
	size_t h = strlen(hdr);
	struct runner u;
	/* run 1: the header block and 10 body bytes captured, 60000 bytes moved; run 2
	 * continues the body, nothing captured; then the response. */
	char buf[128];

	snprintf(buf, sizeof(buf), "%sxxxxxxxxxx", hdr);
	runner_init(&u, H1_ROLE_SERVER);
	struct step s1 = { 'q', buf, (int64_t)h + 60000, -1, 0, 0 }, s2 = { 'q', NULL, 40000 - 1, 0, 0, 0 },
		    s3 = { 'q', NULL, 1, 0, 0, 0 }, s4 = R(OK0);
	run_step(&u, &s1);
	run_step(&u, &s2);
	run_step(&u, &s3);
	run_step(&u, &s4);
	const struct h1_event *ex = find_ev(u.r, H1_EV_EXCHANGE, 1);
	assert_non_null(ex);
	assert_int_equal(ex->req.body_bytes, 100000);
	assert_int_equal(ex->req.wire_bytes, h + 100000);
	check_times(&ex->req.t, 1, 3);  /* the last body byte came in chunk 3 */
	assert_false(ex->req.end_inferred);
	runner_fini(&u);
}

static void test_truncated_headers_fields(void **state)
{
	static const char part[] = "GET /t?x=1 HTTP/1.1\r\nHost: example.com\r\ntraceparent: 00-4bf92f3577b34da6a3ce9";
	struct runner u;

	runner_init(&u, H1_ROLE_SERVER);
	struct step s1 = { 'q', part, 300, -1, 0, 0 }, s2 = R("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	run_step(&u, &s1);
	assert_int_equal(u.r->n, 1);
	const struct h1_event *rq = &u.r->ev[0];
	assert_int_equal(rq->type, H1_EV_REQUEST);
	assert_true(rq->req.headers_truncated);
	assert_string_equal(rq->req.method, "GET");
	assert_string_equal(rq->req.target, "/t?x=1");
	assert_string_equal(rq->req.host, "example.com");
	assert_string_equal(rq->req.traceparent, "");  /* cut in the middle: not a value */
	run_step(&u, &s2);
	const struct h1_event *ex = find_ev(u.r, H1_EV_EXCHANGE, 1);
	assert_non_null(ex);
	assert_true(ex->req.end_inferred);
	assert_int_equal(ex->req.wire_bytes, 300);
	check_times(&ex->req.t, 1, 1);
	assert_int_equal(ex->resp.status, 200);
	runner_fini(&u);
}

static void test_lost_start_seq(void **state)
{
	static const char first[] = "POST /big HTTP/1.1\r\nContent-Length: 1000\r\n\r\nxxxx";
	size_t h = strlen(first) - 4;
	struct runner u;

	runner_init(&u, H1_ROLE_SERVER);
	struct step s1 = { 'q', first, (int64_t)h + 1000 + 500, -1, 0, 0 };
	run_step(&u, &s1);
	assert_int_equal(u.r->n, 2);
	const struct h1_event *r2 = &u.r->ev[1];
	assert_int_equal(r2->type, H1_EV_REQUEST);
	assert_string_equal(r2->req.method, "");
	assert_true(r2->req.headers_truncated);
	assert_int_equal(r2->req.t.seq, REQ_SEQ0 + h + 1000);
	runner_fini(&u);
}

/* An error that ends a request mid-body reports the request as far as it got. */
static void test_error_carries_request_progress(void **state)
{
	struct runner u;

	runner_init(&u, H1_ROLE_SERVER);
	struct step s1 = Q("POST /p HTTP/1.1\r\nContent-Length: 100\r\n\r\nxx"), s2 = R("HTTP/1.1 100 Continue\r\n\r\n"),
		    s3 = Q("yyy"), s4 = { 'r', OK0, -1, -1, 9, 0 };
	run_step(&u, &s1);
	run_step(&u, &s2);
	run_step(&u, &s3);
	run_step(&u, &s4);
	const struct h1_event *e = &u.r->ev[1];
	assert_int_equal(e->type, H1_EV_ERROR);
	assert_int_equal(e->err, H1_ERR_GAP);
	assert_true(e->has_request);
	assert_int_equal(e->req.body_bytes, 5);
	check_times(&e->req.t, 1, 3);
	runner_fini(&u);
}

static void test_header_values(void **state)
{
	static const char req[] =
		"GET / HTTP/1.0\r\n"
		"HOST:   first.example  \r\n"
		"host: second.example\r\n"
		"Connection: Keep-Alive\r\n"
		"tracestate: a=1,\r\n\t b=2\r\n"
		"traceparent:00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
		"traceparent: 00-11111111111111111111111111111111-2222222222222222-00\r\n"
		"\r\n";
	struct runner u;

	runner_init(&u, H1_ROLE_SERVER);
	struct step s = Q(req);
	run_step(&u, &s);
	assert_int_equal(u.r->n, 1);
	const struct h1_request *rq = &u.r->ev[0].req;
	assert_string_equal(rq->host, "first.example");
	assert_string_equal(rq->tracestate, "a=1, b=2");
	assert_string_equal(rq->traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	assert_int_equal(rq->version_minor, 0);
	assert_false(rq->connection_close);  /* HTTP/1.0 with keep-alive */
	assert_int_equal(rq->content_length, -1);
	runner_fini(&u);

	runner_init(&u, H1_ROLE_SERVER);
	struct step s2 = Q("GET / HTTP/1.0\r\n\r\n"), s3 = R("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
	run_step(&u, &s2);
	run_step(&u, &s3);
	const struct h1_event *ex = find_ev(u.r, H1_EV_EXCHANGE, 1);
	assert_non_null(ex);
	assert_true(ex->req.connection_close);   /* HTTP/1.0 default */
	assert_true(ex->resp.connection_close);
	assert_int_equal(ex->resp.content_length, 0);
	runner_fini(&u);
}

static void test_value_overflow(void **state)
{
	char req[2048];
	char longhost[400];
	char ts[600];
	size_t o = 0;
	struct runner u;

	memset(longhost, 'h', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	/* 40 members of 9 characters: longer than H1_TRACESTATE_MAX */
	ts[0] = '\0';
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(ts + o, sizeof(ts) - o, "%sk%02d=vvvvv", i ? "," : "", i);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\ntracestate: %s\r\n\r\n", longhost, ts);
	runner_init(&u, H1_ROLE_SERVER);
	struct step s = Q(req);
	run_step(&u, &s);
	assert_int_equal(u.r->n, 1);
	const struct h1_request *rq = &u.r->ev[0].req;
	assert_string_equal(rq->host, "");  /* no cut host names */
	size_t tl = strlen(rq->tracestate);
	assert_true(tl > 0 && tl < H1_TRACESTATE_MAX);
	assert_memory_equal(rq->tracestate, ts, tl);
	assert_true(ts[tl] == ',');  /* cut at a member boundary */
	runner_fini(&u);
}

static void test_target_truncated(void **state)
{
	char req[H1_TARGET_MAX + 200];
	struct runner u;

	strcpy(req, "GET /");
	memset(req + 5, 'p', H1_TARGET_MAX + 50);
	strcpy(req + 5 + H1_TARGET_MAX + 50, " HTTP/1.1\r\n\r\n");
	runner_init(&u, H1_ROLE_SERVER);
	struct step s = Q(req);
	run_step(&u, &s);
	assert_int_equal(u.r->n, 1);
	assert_true(u.r->ev[0].req.target_truncated);
	assert_false(u.r->ev[0].req.headers_truncated);
	assert_int_equal(strlen(u.r->ev[0].req.target), H1_TARGET_MAX - 1);
	runner_fini(&u);
}

static void test_oversize_header_block(void **state)
{
	size_t n = H1_HEADER_BLOCK_MAX + 100;
	char *req = malloc(n + 64);
	struct runner u;

	assert_non_null(req);
	strcpy(req, "GET / HTTP/1.1\r\nX-Big: ");
	size_t o = strlen(req);
	memset(req + o, 'a', n - o);
	strcpy(req + n, "\r\n\r\n");
	runner_init(&u, H1_ROLE_SERVER);
	struct step s = Q(req), s2 = R("HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\n"), s3 = Q(GET1), s4 = R(OK0);
	run_step(&u, &s);
	run_step(&u, &s2);
	run_step(&u, &s3);
	run_step(&u, &s4);
	char got[256];
	summarize(u.r, 0, u.r->n, got, sizeof(got));
	/* the 431 answers the rejected request and is dropped; pairing stays right */
	assert_string_equal(got, "E:headers_too_long; R1 GET /a; X1 200");
	runner_fini(&u);
	free(req);

	/* exactly H1_HEADER_BLOCK_MAX bytes is accepted */
	req = malloc(H1_HEADER_BLOCK_MAX + 1);
	assert_non_null(req);
	strcpy(req, "GET / HTTP/1.1\r\nX-Big: ");
	o = strlen(req);
	memset(req + o, 'a', H1_HEADER_BLOCK_MAX - o - 4);
	strcpy(req + H1_HEADER_BLOCK_MAX - 4, "\r\n\r\n");
	assert_int_equal(strlen(req), H1_HEADER_BLOCK_MAX);
	runner_init(&u, H1_ROLE_SERVER);
	struct step t = Q(req);
	run_step(&u, &t);
	summarize(u.r, 0, u.r->n, got, sizeof(got));
	assert_string_equal(got, "R1 GET /");
	runner_fini(&u);
	free(req);
}

static void test_too_many_pending(void **state)
{
	char reqs[64 * 40], resps[64 * 40], want[4096];
	struct runner u;
	int n = H1_MAX_PENDING + 1;

	reqs[0] = resps[0] = want[0] = '\0';
	for (int i = 0; i < n; i++) {
		append(reqs, sizeof(reqs), "GET /%d HTTP/1.1\r\n\r\n", i + 1);
		append(resps, sizeof(resps), "HTTP/1.1 %d OK\r\nContent-Length: 0\r\n\r\n", 200 + i);
	}
	runner_init(&u, H1_ROLE_SERVER);
	struct step s1 = Q(reqs), s2 = R(resps), s3 = Q("GET /last HTTP/1.1\r\n\r\n"), s4 = R("HTTP/1.1 299 OK\r\nContent-Length: 0\r\n\r\n");
	run_step(&u, &s1);
	run_step(&u, &s2);
	run_step(&u, &s3);
	run_step(&u, &s4);
	for (int i = 0; i < H1_MAX_PENDING; i++)
		append(want, sizeof(want), "R%d GET /%d; ", i + 1, i + 1);
	append(want, sizeof(want), "E:too_many_pending; ");
	for (int i = 0; i < H1_MAX_PENDING; i++)
		append(want, sizeof(want), "X%d %d; ", i + 1, 200 + i);
	/* the 33rd response belongs to the untracked request and is dropped */
	append(want, sizeof(want), "R%d GET /last; X%d 299", H1_MAX_PENDING + 1, H1_MAX_PENDING + 1);
	char got[8192];
	summarize(u.r, 0, u.r->n, got, sizeof(got));
	assert_string_equal(got, want);
	runner_fini(&u);
}

static void test_dead_stays_dead(void **state)
{
	struct runner u;

	runner_init(&u, H1_ROLE_DETECT);
	struct step s = Q("\x16\x03\x01\x00\x10"), s2 = Q(GET1);
	run_step(&u, &s);
	assert_true(u.c.dead);
	assert_int_equal(u.last_rc, -H1_ERR_NOT_HTTP);
	run_step(&u, &s2);
	assert_int_equal(u.last_rc, -H1_ERR_NOT_HTTP);
	assert_int_equal(u.r->n, 1);
	h1_conn_close(&u.c, 5, on_ev, u.r);
	assert_int_equal(u.r->n, 1);
	runner_fini(&u);
}

static void test_detect_role(void **state)
{
	struct runner u;

	runner_init(&u, H1_ROLE_DETECT);
	assert_int_equal(u.c.role, H1_ROLE_DETECT);
	/* egress request: this side is a client */
	struct ws_chunk ch = { .data = (const uint8_t *)GET1, .captured = sizeof(GET1) - 1, .len = sizeof(GET1) - 1,
			       .seq = 7, .has_seq = true };
	assert_int_equal(h1_conn_feed(&u.c, H1_DIR_EGRESS, &ch, on_ev, u.r), 0);
	assert_int_equal(u.c.role, H1_ROLE_CLIENT);
	assert_int_equal(u.r->n, 1);
	assert_int_equal(u.r->ev[0].req.t.seq, 7);
	runner_fini(&u);

	/* nothing captured yet: undecided, nothing emitted, bytes counted as skipped */
	runner_init(&u, H1_ROLE_DETECT);
	struct ws_chunk e = { .data = NULL, .captured = 0, .len = 100 };
	assert_int_equal(h1_conn_feed(&u.c, H1_DIR_INGRESS, &e, on_ev, u.r), 0);
	assert_int_equal(u.c.role, H1_ROLE_DETECT);
	assert_int_equal(u.c.skipped_bytes, 100);
	assert_int_equal(u.r->n, 0);
	runner_fini(&u);
}

static void test_closed_ignores_feeds(void **state)
{
	struct runner u;

	runner_init(&u, H1_ROLE_SERVER);
	struct step s = Q(GET1), c = CLOSE, s2 = Q(GET1);
	run_step(&u, &s);
	run_step(&u, &c);
	run_step(&u, &s2);
	assert_int_equal(u.last_rc, 0);
	char got[256];
	summarize(u.r, 0, u.r->n, got, sizeof(got));
	assert_string_equal(got, "R1 GET /a; E:closed_incomplete#1");
	runner_fini(&u);
}

static void test_api_args(void **state)
{
	struct h1_conn c;
	struct ws_chunk ch = { 0 };

	assert_int_equal(h1_conn_init(NULL, H1_ROLE_SERVER), -EINVAL);
	assert_int_equal(h1_conn_init(&c, (enum h1_role)7), -EINVAL);
	assert_int_equal(h1_conn_init(&c, H1_ROLE_SERVER), 0);
	assert_int_equal(h1_conn_feed(&c, H1_DIR_INGRESS, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(h1_conn_feed(&c, (enum h1_dir)2, &ch, NULL, NULL), -EINVAL);
	assert_int_equal(h1_conn_feed(NULL, H1_DIR_INGRESS, &ch, NULL, NULL), -EINVAL);
	/* no callback: parsing still works; captured > len is clamped */
	ch.data = (const uint8_t *)GET1;
	ch.captured = 1000;
	ch.len = sizeof(GET1) - 1;
	assert_int_equal(h1_conn_feed(&c, H1_DIR_INGRESS, &ch, NULL, NULL), 0);
	assert_int_equal(c.next_req_index, 2);
	h1_conn_close(&c, 0, NULL, NULL);
	h1_conn_free(&c);
	h1_conn_free(&c);  /* twice is harmless */
	h1_conn_free(NULL);
	h1_conn_close(NULL, 0, NULL, NULL);
}

static void test_error_names(void **state)
{
	for (int e = 0; e < H1_ERR__MAX; e++)
		assert_string_not_equal(h1_error_name((enum h1_error)e), "unknown");
	assert_string_equal(h1_error_name(H1_ERR_GAP), "gap");
	assert_string_equal(h1_error_name(H1_ERR__MAX), "unknown");
	assert_string_equal(h1_error_name((enum h1_error)-1), "unknown");
}

static void test_detect(void **state)
{
	static const struct {
		const char *in;
		int want;
	} t[] = {
		{ "GET / HTTP/1.1\r\n", 1 },
		{ "GET /x HTTP/1.0\n", 1 },
		{ "PURGE /x HTTP/1.1\r\n", 1 },
		{ "GET /very/long/path/that/goes/on", 1 },   /* known method, line not finished */
		{ "PURGE /very/long/path", -1 },             /* unknown method: wait for the version */
		{ "HTTP/1.1 200 OK\r\n", 2 },
		{ "HTTP/1.0 404", 2 },
		{ "HTTP/1.1 2", -1 },
		{ "HTT", -1 },
		{ "G", -1 },
		{ "GET", -1 },
		{ "GET ", -1 },
		{ "HTTP/2 200", 0 },
		{ "HTTP/1.1 abc", 0 },
		{ "PRI * HTTP/2.0\r\n", 0 },
		{ "PING\r\n", 0 },
		{ "SET key value\r\n", 0 },
		{ "\x16\x03\x01", 0 },
		{ "GET  / HTTP/1.1", 0 },
		{ "get / HTTP/1.1\r\n", 1 },  /* methods are case-sensitive tokens; any token passes */
		{ "GET / HTTP/1.1 x", 0 },
		{ "GET / FTP/1.1\r\n", 0 },
		{ "VERYLONGMETHODNAMEXX / HTTP/1.1\r\n", 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int got = h1_detect((const uint8_t *)t[i].in, strlen(t[i].in));

		if (got != t[i].want)
			fail_msg("h1_detect(\"%s\") = %d, want %d", t[i].in, got, t[i].want);
	}
	assert_int_equal(h1_detect(NULL, 5), -1);
	assert_int_equal(h1_detect((const uint8_t *)"GET", 0), -1);
}

/* Whole start and header lines (the default) give exactly the events of the byte
 * machine, also for what the fuzzer cannot reach (its chunks are under 256 bytes):
 * targets around H1_TARGET_MAX, lines near H1_HEADER_BLOCK_MAX, each kind of bad line. */
static void run_both(enum h1_role role, const char *req, size_t req_len, const char *resp)
{
	struct runner u[2];

	for (int k = 0; k < 2; k++) {
		h1_line_scan(k == 1);
		runner_init(&u[k], role);
		struct step s1 = { 'q', req, -1, -1, 0, req_len }, s2 = R(resp), s3 = { 'c', NULL, 0, 0, 0, 0 };
		run_step(&u[k], &s1);
		run_step(&u[k], &s2);
		run_step(&u[k], &s3);
	}
	h1_line_scan(true);
	if (u[0].r->n != u[1].r->n || memcmp(u[0].r->ev, u[1].r->ev, sizeof(struct h1_event) * (size_t)u[0].r->n) ||
	    u[0].last_rc != u[1].last_rc || u[0].c.skipped_bytes != u[1].c.skipped_bytes) {
		char a[512] = "", b[512] = "";

		summarize(u[0].r, 0, u[0].r->n, a, sizeof(a));
		summarize(u[1].r, 0, u[1].r->n, b, sizeof(b));
		fail_msg("request of %zu bytes, response \"%.20s\": byte machine %s, whole lines %s",
			 req_len, resp, a, b);
	}
	runner_fini(&u[0]);
	runner_fini(&u[1]);
}

static void test_whole_lines_match_byte_machine(void **state)
{
	static const size_t tlens[] = { 1, 2, H1_TARGET_MAX - 2, H1_TARGET_MAX - 1, H1_TARGET_MAX,
					H1_TARGET_MAX + 1, 4000, H1_HEADER_BLOCK_MAX - 40,
					H1_HEADER_BLOCK_MAX - 20, H1_HEADER_BLOCK_MAX };
	static const char *const resps[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 204\r\n\r\n",
		"HTTP/1.0 200 \tfine\x80\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno",
		"HTTP/1.1 099 x\r\n\r\n",
		"HTTP/1.1 20x OK\r\n\r\n",
		"HTTP/1.1 200 O\x01K\r\n\r\n",
		"HTTP/1.1 200 OK\rX\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
	};
	static const char *const reqs[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\n\n",
		"M-SEARCH * HTTP/1.1\r\n\r\n",
		"GET /a\x7f HTTP/1.1\r\n\r\n",
		"GET /\xff\xfe HTTP/1.1\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1 \r\n\r\n",
		"GET / HTTP/1.x\r\n\r\n",
		"GET / HTTP/1.1\rX\r\n\r\n",
		"ABCDEFGHIJKLMNO / HTTP/1.1\r\n\r\n",
		"ABCDEFGHIJKLMNOP / HTTP/1.1\r\n\r\n",
		"HTTP/1.1 / HTTP/1.1\r\n\r\n",
		"G/T / HTTP/1.1\r\n\r\n",
		" GET / HTTP/1.1\r\n\r\n",
		"\r\n\r\nGET /after-blank-lines HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /p HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
	};
	char *buf = malloc(H1_HEADER_BLOCK_MAX + 64);

	assert_non_null(buf);
	for (int role = H1_ROLE_DETECT; role <= H1_ROLE_CLIENT; role++) {
		for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
			for (size_t j = 0; j < sizeof(resps) / sizeof(resps[0]); j++)
				run_both((enum h1_role)role, reqs[i], strlen(reqs[i]), resps[j]);
		for (size_t i = 0; i < sizeof(tlens) / sizeof(tlens[0]); i++) {
			size_t n = 0;

			n += (size_t)sprintf(buf, "GET /");
			memset(buf + n, 'a', tlens[i] - 1);
			n += tlens[i] - 1;
			n += (size_t)sprintf(buf + n, " HTTP/1.1\r\nHost: h\r\n\r\n");
			run_both((enum h1_role)role, buf, n, resps[0]);
		}
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_split_every_point),
		cmocka_unit_test(test_whole_lines_match_byte_machine),
		cmocka_unit_test(test_split_response_every_point),
		cmocka_unit_test(test_pipeline_seq),
		cmocka_unit_test(test_client_server_seq_match),
		cmocka_unit_test(test_budget_body_exact),
		cmocka_unit_test(test_truncated_headers_fields),
		cmocka_unit_test(test_lost_start_seq),
		cmocka_unit_test(test_error_carries_request_progress),
		cmocka_unit_test(test_header_values),
		cmocka_unit_test(test_value_overflow),
		cmocka_unit_test(test_target_truncated),
		cmocka_unit_test(test_oversize_header_block),
		cmocka_unit_test(test_too_many_pending),
		cmocka_unit_test(test_dead_stays_dead),
		cmocka_unit_test(test_detect_role),
		cmocka_unit_test(test_closed_ignores_feeds),
		cmocka_unit_test(test_api_args),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_detect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
