/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libFuzzer target: the Redis parser (ws_proto_redis) fed arbitrary chunk streams,
 * and its span callbacks on every record it produces.
 *
 * Input layout (the same as fuzz_http1, so seeds can be written by hand):
 *   byte 0: role (value % 3: unknown, server, client)
 *   then records: ctl, n, n bytes of chunk data (fewer if the input ends)
 *     ctl == 0xff: close the connection (feeds after it must be ignored)
 *     bit 0: direction (0 egress, 1 ingress)
 *     bits 1-2: capture: 0 all of the data, 1 first half, 2 none, 3 all plus an
 *               uncaptured tail of n << (bits 5-7) bytes
 *     bit 3: bytes missing before this chunk (seq jump of 1 + bits 5-7)
 *     bit 4: no seq for this chunk
 *
 * Beyond "no crash, no leak, no UB", it checks the record contract of proto.h, that
 * every string is NUL-terminated inside its array, that nothing from the wire but a
 * command word, an error code or the database index reaches a span: no digit or quote
 * in db.operation.name, the span name, the error code or the status message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/proto/redis.h"
#include "agent/span.h"
#include "headers/wirespan_abi.h"

#define MAX_INDEX 8192

struct fstate {
	uint8_t st[MAX_INDEX];      /* 0 unseen, 1 announced, 2 ended */
	uint32_t max_index;
	void *conn;
};

static struct fstate fs;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_redis: check failed: %s (line %d)\n", #cond, __LINE__); \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* A word that came from the wire: letters and . _ - and spaces only. */
static void check_word(const char *s, size_t cap, bool dots, bool spaces)
{
	const char *e = memchr(s, '\0', cap);

	CHECK(e != NULL);
	for (const char *p = s; p < e; p++) {
		char c = *p;
		bool ok = (c >= 'A' && c <= 'Z') || c == '_' || c == '-' || (dots && c == '.') ||
			  (spaces && c == ' ');

		CHECK(ok);
	}
}

static void check_span(const struct ws_span *s)
{
	const struct ws_attr *a;

	if (strcmp(s->name, "redis") != 0)
		check_word(s->name, sizeof(s->name), true, true);
	check_word(s->status_message, sizeof(s->status_message), false, false);
	if ((a = ws_span_find_attr(s, "db.operation.name")))
		check_word(ws_span_attr_str(s, a), RESP_OP_MAX, true, true);
	if ((a = ws_span_find_attr(s, "db.response.status_code")))
		check_word(ws_span_attr_str(s, a), RESP_WORD_MAX, false, false);
	if ((a = ws_span_find_attr(s, "db.namespace"))) {
		const char *v = ws_span_attr_str(s, a);

		CHECK(*v);
		for (; *v; v++)
			CHECK(*v >= '0' && *v <= '9');
	}
	a = ws_span_find_attr(s, "db.system.name");
	CHECK(a && strcmp(ws_span_attr_str(s, a), "redis") == 0);
}

static void on_x(void *ctx, const struct ws_exchange *x)
{
	const struct redis_detail *det = x->detail;
	static struct ws_tuple tu;
	struct ws_span_info si = { .tuple = &tu, .role = WS_PROLE_CLIENT, .sanitize = true };
	static struct ws_span sp;

	(void)ctx;
	CHECK(det != NULL);
	CHECK(x->proto == WS_PROTO_REDIS);
	CHECK((det->req != NULL) == x->has_request);
	CHECK((det->rep != NULL) == x->has_response);
	if (det->req) {
		check_word(det->req->op, sizeof(det->req->op), true, true);
		CHECK(det->req->op[0] != ' ');
	}
	if (det->rep) {
		check_word(det->rep->err_code, sizeof(det->rep->err_code), false, false);
		CHECK(!det->rep->err_code[0] || det->rep->error);
	}
	CHECK(det->db >= 0);
	if (x->type == WS_X_REQUEST) {
		CHECK(x->has_request && !x->has_response);
		CHECK(x->req_index > 0 && x->req_index < MAX_INDEX);
		CHECK(fs.st[x->req_index] == 0);
		fs.st[x->req_index] = 1;
		if (x->req_index > fs.max_index)
			fs.max_index = x->req_index;
		CHECK(x->req.first_enter_ns <= x->req.last_enter_ns);
		memset(&sp, 0, sizeof(sp));
		ws_proto_redis.span_request(x, &si, &sp);
		check_span(&sp);
	} else if (x->type == WS_X_EXCHANGE || (x->type == WS_X_ERROR && x->has_request)) {
		CHECK(x->has_request);
		CHECK(x->req_index > 0 && x->req_index < MAX_INDEX);
		CHECK(fs.st[x->req_index] == 1);
		fs.st[x->req_index] = 2;
		if (x->type == WS_X_EXCHANGE) {
			CHECK(x->err == 0);
			CHECK(!x->has_response || x->resp.first_enter_ns <= x->resp.last_enter_ns);
			memset(&sp, 0, sizeof(sp));
			ws_proto_redis.span_request(x, &si, &sp);
			ws_proto_redis.span_response(x, &si, &sp);
			check_span(&sp);
		} else {
			CHECK(x->err > 0 && x->err < RESP_ERR__MAX);
			CHECK(x->closed == (x->err == RESP_ERR_CLOSED));
		}
	} else {
		CHECK(x->type == WS_X_ERROR);
		CHECK(x->req_index == 0 && !x->has_request);
		CHECK(x->err > 0 && x->err < RESP_ERR__MAX);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum ws_prole roles[3] = { WS_PROLE_UNKNOWN, WS_PROLE_SERVER, WS_PROLE_CLIENT };
	uint32_t seq[2] = { 1000, 0xffffff00u };
	uint64_t ts = 1;
	size_t pos = 1;
	bool dead = false;
	void *st;

	if (size < 1)
		return 0;
	memset(fs.st, 0, sizeof(fs.st));
	fs.max_index = 0;
	st = ws_proto_redis.init(roles[data[0] % 3]);
	if (!st)
		return 0;
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos], n = data[pos + 1];
		size_t avail;

		pos += 2;
		if (ctl == 0xff) {
			ws_proto_redis.close(st, ts++, on_x, NULL);
			continue;
		}
		avail = size - pos < n ? size - pos : n;
		unsigned hi = ctl >> 5;
		struct ws_chunk ch = {
			.data = data + pos,
			.len = (uint32_t)avail,
			.tid = (uint32_t)(pos & 7),
			.enter_ns = ts,
			.exit_ns = ts + 1,
			.has_seq = !(ctl & 0x10),
		};
		enum ws_pdir dir = (ctl & 1) ? WS_PDIR_INGRESS : WS_PDIR_EGRESS;

		switch ((ctl >> 1) & 3) {
		case 0:
			ch.captured = (uint32_t)avail;
			break;
		case 1:
			ch.captured = (uint32_t)avail / 2;
			break;
		case 2:
			ch.captured = 0;
			break;
		default:
			ch.captured = (uint32_t)avail;
			ch.len = (uint32_t)avail + ((uint32_t)n << hi);
			break;
		}
		ts += 2;
		pos += avail;
		if (ctl & 0x08)
			seq[dir] += 1 + hi;
		ch.seq = seq[dir];
		seq[dir] += ch.len;
		int rc = ws_proto_redis.feed(st, dir, &ch, on_x, NULL);

		CHECK(rc <= 0);
		if (rc < 0) {
			CHECK(rc > -RESP_ERR__MAX);
			CHECK(ws_proto_redis.capture(st) == WS_CAPTURE_OFF);
			dead = true;
		} else {
			CHECK(!dead);
			/* ALL once a pipelined batch was cut by the budget, never OFF while alive */
			CHECK(ws_proto_redis.capture(st) == WS_CAPTURE_DEFAULT || ws_proto_redis.capture(st) == WS_CAPTURE_ALL);
		}
		(void)ws_proto_redis.role(st);
	}
	ws_proto_redis.close(st, ts, on_x, NULL);
	for (uint32_t k = 0; k <= fs.max_index; k++)
		CHECK(fs.st[k] != 1);
	ws_proto_redis.free(st);

	/* detect on every prefix of the input, both directions and roles */
	for (uint32_t k = 0; k + 1 <= size && k < 64; k++)
		for (int r = 0; r < 3; r++) {
			int d = ws_proto_redis.detect(data + 1, k, (enum ws_pdir)(r & 1), roles[r],
						      (uint16_t)(data[0] * 97));

			CHECK(d == WS_DETECT_NO || d == WS_DETECT_YES || d == WS_DETECT_MORE);
		}
	return 0;
}
