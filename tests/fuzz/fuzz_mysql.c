/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libFuzzer target: the MySQL parser (ws_proto_mysql) fed arbitrary chunk streams, its
 * span callbacks run on every record, and detect() on the raw input.
 *
 * Input layout (seeds can be written by hand, see docs/proto-mysql.md):
 *   byte 0: bits 0-1 role (value % 3: unknown, server, client), bit 2: sanitising off
 *   then records: ctl, n, n bytes of chunk data (fewer if the input ends)
 *     ctl == 0xff: close the connection (feeds after it must be ignored)
 *     bit 0: direction (0 egress, 1 ingress)
 *     bits 1-2: capture: 0 all of the data, 1 first half, 2 none, 3 all plus an
 *               uncaptured tail of n << (3 * bits 5-7) bytes (up to ~500 MiB)
 *     bit 3: bytes missing before this chunk (seq jump of 1 + bits 5-7)
 *     bit 4: no seq for this chunk
 *
 * Checks beyond "no crash, no leak, no UB": the record contract of proto.h (every
 * WS_X_REQUEST ended exactly once, at the latest by close; errors without a request
 * have index 0), err values named, a negative feed() result is final and matches
 * WS_CAPTURE_OFF, and what reaches a span: strings NUL terminated, the traceparent
 * well formed, no literal in db.query.text / db.query.summary / the span name when
 * sanitising (no quote opening a string, no digit starting a number), and a status
 * message that holds only the error code and SQLSTATE.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/proto/mysql.h"
#include "agent/proto/proto.h"
#include "agent/span.h"
#include "headers/wirespan_abi.h"

#define MAX_INDEX 8192

static const struct ws_proto_ops *ops = &ws_proto_mysql;

struct fstate {
	uint8_t st[MAX_INDEX];      /* 0 unseen, 1 announced, 2 ended */
	uint32_t max_index;
	uint32_t last_index;
	struct ws_span_info si;
	struct ws_tuple tuple;
	struct ws_span span;
};

static struct fstate fs;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_mysql: check failed: %s (line %d)\n", #cond, __LINE__); \
			abort();                                                      \
		}                                                                     \
	} while (0)

static bool word_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

/* Outside `quoted` identifiers no quote opens a string and every digit belongs to a
 * word that does not start with a digit (MySQL dialect). */
static void check_no_literal(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c == '`') {
			for (i++; i < n; i++) {
				if (s[i] == '`') {
					if (i + 1 < n && s[i + 1] == '`')
						i++;
					else
						break;
				}
			}
			continue;
		}
		CHECK(c != '\'' && c != '"' && c != '#');
		if (c >= '0' && c <= '9') {
			size_t k = i;

			while (k > 0 && word_char((uint8_t)s[k - 1]))
				k--;
			CHECK(!(s[k] >= '0' && s[k] <= '9'));
		}
	}
}

static void check_span(const struct ws_span *s)
{
	const struct ws_attr *a;

	CHECK(memchr(s->name, '\0', sizeof(s->name)) != NULL);
	CHECK(memchr(s->status_message, '\0', sizeof(s->status_message)) != NULL);
	CHECK(s->n_attrs <= WS_SPAN_MAX_ATTRS);
	for (uint16_t i = 0; i < s->n_attrs; i++) {
		if (s->attrs[i].type == WS_ATTR_STR) {
			CHECK(s->attrs[i].str_off < WS_SPAN_ARENA);
			CHECK(memchr(s->arena + s->attrs[i].str_off, '\0', WS_SPAN_ARENA - s->attrs[i].str_off) != NULL);
		}
	}
	if (fs.si.sanitize) {
		if ((a = ws_span_find_attr(s, "db.query.text")) != NULL)
			check_no_literal(ws_span_attr_str(s, a));
		if ((a = ws_span_find_attr(s, "db.query.summary")) != NULL)
			check_no_literal(ws_span_attr_str(s, a));
		check_no_literal(s->name);
	}
	/* "<code>" or "<code> (<SQLSTATE>)": never the server's message text */
	if (s->status_message[0]) {
		const char *m = s->status_message;
		size_t k = 0;

		while (m[k] >= '0' && m[k] <= '9')
			k++;
		CHECK(k >= 1 && k <= 5);
		if (m[k]) {
			CHECK(m[k] == ' ' && m[k + 1] == '(' && strlen(m + k) == 8 && m[k + 7] == ')');
			for (int j = 2; j < 7; j++)
				CHECK((m[k + j] >= '0' && m[k + j] <= '9') || (m[k + j] >= 'A' && m[k + j] <= 'Z'));
		}
	}
}

static void on_x(void *ctx, const struct ws_exchange *x)
{
	(void)ctx;
	CHECK(x->proto == WS_PROTO_MYSQL);
	CHECK(x->err < ops->n_errors);
	CHECK(ops->error_name(x->err) != NULL);
	if (x->traceparent) {
		CHECK(strlen(x->traceparent) == 55);
		CHECK(x->traceparent[2] == '-' && x->traceparent[35] == '-' && x->traceparent[52] == '-');
	}
	if (x->type == WS_X_REQUEST) {
		CHECK(x->has_request && !x->has_response);
		CHECK(x->req_index > 0 && x->req_index < MAX_INDEX);
		CHECK(x->req_index > fs.last_index);   /* increasing */
		CHECK(fs.st[x->req_index] == 0);
		CHECK(x->detail != NULL);
		CHECK(x->req.first_enter_ns <= x->req.last_enter_ns);
		fs.st[x->req_index] = 1;
		fs.last_index = x->req_index;
		if (x->req_index > fs.max_index)
			fs.max_index = x->req_index;
		memset(&fs.span, 0, sizeof(fs.span));
		ops->span_request(x, &fs.si, &fs.span);
		check_span(&fs.span);
	} else if (x->has_request) {
		CHECK(x->type == WS_X_EXCHANGE || x->type == WS_X_ERROR);
		CHECK(x->req_index > 0 && x->req_index < MAX_INDEX);
		CHECK(fs.st[x->req_index] == 1);
		CHECK(x->detail != NULL);
		fs.st[x->req_index] = 2;
		if (x->type == WS_X_EXCHANGE) {
			CHECK(x->has_response);
			CHECK(x->resp.first_enter_ns <= x->resp.last_enter_ns);
			memset(&fs.span, 0, sizeof(fs.span));
			ops->span_request(x, &fs.si, &fs.span);
			ops->span_response(x, &fs.si, &fs.span);
			check_span(&fs.span);
		} else {
			CHECK(x->err > 0);
		}
	} else {
		CHECK(x->type == WS_X_ERROR);
		CHECK(x->req_index == 0 && x->err > 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seq[2] = { 1000, 0xffffff00u };
	uint64_t ts = 1;
	size_t pos = 1;
	int dead_rc = 0;
	void *st;

	if (size < 1)
		return 0;
	memset(fs.st, 0, sizeof(fs.st));
	fs.max_index = fs.last_index = 0;
	memset(&fs.tuple, 0, sizeof(fs.tuple));
	fs.tuple.dport = 3306;
	fs.si.tuple = &fs.tuple;
	fs.si.sanitize = !(data[0] & 4);
	st = ops->init((enum ws_prole)((data[0] & 3) % 3));
	if (!st)
		return 0;
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos], n = data[pos + 1];
		unsigned hi = ctl >> 5;
		size_t avail;
		int rc;

		pos += 2;
		if (ctl == 0xff) {
			ops->close(st, ts++, on_x, NULL);
			continue;
		}
		avail = size - pos < n ? size - pos : n;
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
			ch.len = (uint32_t)avail + ((uint32_t)n << (3 * hi));
			break;
		}
		ts += 2;
		pos += avail;
		if (ctl & 0x08)
			seq[dir] += 1 + hi;
		ch.seq = seq[dir];
		seq[dir] += ch.len;
		rc = ops->feed(st, dir, &ch, on_x, NULL);
		CHECK(rc <= 0);
		if (dead_rc)
			CHECK(rc == dead_rc);   /* abandoned for good */
		if (rc < 0) {
			CHECK(rc == WS_FEED_TLS || -rc < (int)ops->n_errors);
			dead_rc = rc;
		}
		CHECK((ops->capture(st) == WS_CAPTURE_OFF) == (dead_rc != 0));
		CHECK(ops->role(st) <= WS_PROLE_CLIENT);
	}
	ops->close(st, ts, on_x, NULL);
	ops->close(st, ts + 1, on_x, NULL);   /* final: a second close adds nothing */
	for (uint32_t k = 0; k <= fs.max_index; k++)
		CHECK(fs.st[k] != 1);
	ops->free(st);

	/* detect() on every prefix of the raw input, both directions and roles */
	for (size_t k = 0; k + 1 <= size && k < 96; k++) {
		for (int d = 0; d < 2; d++) {
			for (int r = 0; r < 3; r++) {
				int got = ops->detect(data + 1, (uint32_t)k, (enum ws_pdir)d, (enum ws_prole)r,
						      (uint16_t)(k & 1 ? 3306 : 5000));

				CHECK(got == WS_DETECT_NO || got == WS_DETECT_YES || got == WS_DETECT_MORE);
			}
		}
	}
	return 0;
}
