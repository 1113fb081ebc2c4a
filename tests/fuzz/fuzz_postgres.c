/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libFuzzer target: the PostgreSQL parser (agent/proto/postgres.h) fed arbitrary chunk
 * streams, with the span callbacks run on every record.
 *
 * Input layout (the same shape as fuzz_http1, so seeds can be written by hand):
 *   byte 0: role (value % 3: unknown, server, client)
 *   then records: ctl, n, n bytes of chunk data (fewer if the input ends)
 *     ctl == 0xff: close the connection (feeds after it must be ignored)
 *     bit 0: side (0 frontend, 1 backend)
 *     bits 1-2: capture: 0 all of the data, 1 first half, 2 none, 3 all plus an
 *               uncaptured tail of n << (bits 5-7) bytes
 *     bit 3: bytes missing before this chunk (seq jump of 1 + bits 5-7)
 *     bit 4: no seq for this chunk
 *
 * Checks: the record contract of proto.h (every REQUEST ended exactly once, at the
 * latest by close; errors carry a known reason), strings of the detail NUL terminated
 * and bounded, no literal in any query text or attribute: the frontend stream is
 * written so that every digit the parser could see inside a query is inside a quoted
 * string or a number; the texts are checked to hold no digit outside identifiers and
 * placeholders, and no quote opening a string literal. And detect() on the first bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/proto/postgres.h"
#include "agent/span.h"
#include "headers/wirespan_abi.h"

#define MAX_INDEX 8192

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_postgres: check failed: %s (line %d)\n", #cond, __LINE__); \
			abort();                                                      \
		}                                                                     \
	} while (0)

struct fstate {
	uint8_t st[MAX_INDEX];
	uint32_t max_index;
	bool closed;
};

static struct fstate fs;

static const struct ws_tuple tuple = {
	.daddr = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 },
	.sport = 40000,
	.dport = 5432,
};

static void check_str(const char *s, size_t cap)
{
	CHECK(s != NULL);
	CHECK(strnlen(s, cap) < cap);
}

static bool word_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

/* A sanitised PostgreSQL text: no quote that opens a string, no digit starting a
 * number (digits only inside words, "identifiers" and $n placeholders). */
static void check_sanitised(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c == '"') {
			for (i++; i < n; i++)
				if (s[i] == '"') {
					if (i + 1 < n && s[i + 1] == '"')
						i++;
					else
						break;
				}
			continue;
		}
		CHECK(c != '\'');
		CHECK(c >= 0x20 && c != 0x7f);
		if (c >= '0' && c <= '9') {
			size_t k = i;

			while (k > 0 && word_char((uint8_t)s[k - 1]))
				k--;
			CHECK(!(s[k] >= '0' && s[k] <= '9'));
		}
	}
}

static void on_rec(void *ctx, const struct ws_exchange *x)
{
	struct ws_span_info si = { .tuple = &tuple, .role = WS_PROLE_CLIENT, .sanitize = true };
	static struct ws_span span;

	(void)ctx;
	CHECK(!fs.closed || x->type != WS_X_REQUEST);
	CHECK(x->proto == WS_PROTO_POSTGRES);
	if (x->type == WS_X_ERROR)
		CHECK(x->err > 0 && x->err < WS_PG_ERR__COUNT);
	else
		CHECK(x->err == 0);
	if (x->type == WS_X_REQUEST) {
		CHECK(x->has_request);
		CHECK(x->req_index == fs.max_index + 1);   /* increasing from 1 */
		fs.max_index = x->req_index;
		if (x->req_index < MAX_INDEX)
			fs.st[x->req_index] = 1;
	} else if (x->has_request) {
		CHECK(x->req_index >= 1 && x->req_index <= fs.max_index);
		if (x->req_index < MAX_INDEX) {
			CHECK(fs.st[x->req_index] == 1);
			fs.st[x->req_index] = 2;
		}
	} else {
		CHECK(x->type == WS_X_ERROR);
	}
	if (x->detail) {
		const struct ws_pg_detail *d = x->detail;

		check_str(d->database, WS_PG_NAME_MAX);
		check_str(d->query, WS_PG_TEXT_MAX);
		check_str(d->operation, WS_PG_OP_MAX);
		check_str(d->summary, WS_PG_SUMMARY_MAX);
		check_str(d->tag_op, WS_PG_OP_MAX);
		check_str(d->sqlstate, 6);
		check_sanitised(d->query);
		check_sanitised(d->summary);
		CHECK(strlen(d->sqlstate) == 0 || strlen(d->sqlstate) == 5);
	}
	if (x->type != WS_X_ERROR) {
		memset(&span, 0, sizeof(span));
		ws_proto_postgres.span_request(x, &si, &span);
		if (x->type == WS_X_EXCHANGE)
			ws_proto_postgres.span_response(x, &si, &span);
		CHECK(memchr(span.name, 0, sizeof(span.name)) != NULL);
		CHECK(memchr(span.status_message, 0, sizeof(span.status_message)) != NULL);
		for (int i = 0; i < span.n_attrs; i++) {
			const struct ws_attr *a = &span.attrs[i];

			if (a->type == WS_ATTR_STR && (strcmp(a->key, "db.query.text") == 0 ||
						       strcmp(a->key, "db.query.summary") == 0))
				check_sanitised(ws_span_attr_str(&span, a));
		}
		check_sanitised(span.name);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t roles[3] = { WS_PROLE_UNKNOWN, WS_PROLE_SERVER, WS_PROLE_CLIENT };
	uint8_t role;
	void *st;
	size_t i = 1;
	uint32_t seq[2] = { 1000, 0xfffffff0u };
	uint64_t clock = 0;
	bool dead = false, detected = false;

	if (size < 1)
		return 0;
	memset(&fs, 0, sizeof(fs));
	role = roles[data[0] % 3];
	st = ws_proto_postgres.init(role);
	if (!st)
		return 0;
	while (i + 2 <= size) {
		uint8_t ctl = data[i], n = data[i + 1];
		size_t avail;
		struct ws_chunk ch = { .tid = 1 };
		enum ws_pdir dir;
		bool fe = !(ctl & 1);
		uint32_t cap;

		i += 2;
		if (ctl == 0xff) {
			if (!fs.closed)
				ws_proto_postgres.close(st, clock + 1, on_rec, NULL);
			fs.closed = true;
			continue;
		}
		avail = size - i < n ? size - i : n;
		/* the frontend is the traced process's egress unless it is the server */
		dir = (fe == (role != WS_PROLE_SERVER)) ? WS_PDIR_EGRESS : WS_PDIR_INGRESS;
		switch ((ctl >> 1) & 3) {
		case 0: cap = (uint32_t)avail; break;
		case 1: cap = (uint32_t)avail / 2; break;
		case 2: cap = 0; break;
		default: cap = (uint32_t)avail; break;
		}
		ch.data = cap ? data + i : NULL;
		ch.captured = cap;
		ch.len = (uint32_t)avail + (((ctl >> 1) & 3) == 3 ? (uint32_t)avail << (ctl >> 5) : 0);
		if (ctl & 8)
			seq[dir] += 1 + (ctl >> 5);
		ch.has_seq = !(ctl & 16);
		ch.seq = seq[dir];
		seq[dir] += ch.len;
		clock += 100;
		ch.enter_ns = clock;
		ch.exit_ns = clock + 5;
		if (!detected && cap) {
			int v = ws_proto_postgres.detect(ch.data, cap, dir, role, 5432);

			CHECK(v == WS_DETECT_NO || v == WS_DETECT_YES || v == WS_DETECT_MORE);
			detected = true;
		}
		if (!fs.closed && !dead && ch.len)
			dead = ws_proto_postgres.feed(st, dir, &ch, on_rec, NULL) < 0;
		(void)ws_proto_postgres.role(st);
		(void)ws_proto_postgres.capture(st);
		i += avail;
	}
	if (!fs.closed)
		ws_proto_postgres.close(st, clock + 1, on_rec, NULL);
	fs.closed = true;
	for (uint32_t k = 1; k <= fs.max_index && k < MAX_INDEX; k++)
		CHECK(fs.st[k] == 2);
	ws_proto_postgres.free(st);
	return 0;
}
