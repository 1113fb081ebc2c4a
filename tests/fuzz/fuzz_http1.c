/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libFuzzer target: the HTTP/1 parser fed arbitrary chunk streams, and the HTTP span
 * helpers fed what the parser produced plus raw input.
 *
 * Input layout (so seeds can be written by hand, see docs/http1.md):
 *   byte 0: role (value % 3: detect, server, client)
 *   then records: ctl, n, n bytes of chunk data (fewer if the input ends)
 *     ctl == 0xff: close the connection (feeds after it must be ignored)
 *     bit 0: direction (0 egress, 1 ingress)
 *     bits 1-2: capture: 0 all of the data, 1 first half, 2 none, 3 all plus an
 *               uncaptured tail of n << (bits 5-7) bytes
 *     bit 3: bytes missing before this chunk (seq jump of 1 + bits 5-7)
 *     bit 4: no seq for this chunk
 *
 * Beyond "no crash, no leak, no UB", it checks the event contract of http1.h and that
 * every string in a record is NUL-terminated inside its array. And it feeds each input
 * twice, with whole-line scanning and with every byte through the byte machine
 * (h1_line_scan): the events, return codes and skipped bytes must be the same.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/proto/http1.h"
#include "agent/proto/http_util.h"

#define MAX_INDEX 4096

struct fstate {
	uint8_t st[MAX_INDEX];      /* 0 unseen, 1 announced, 2 ended */
	uint32_t max_index;
	uint64_t events;
	uint64_t hash;              /* FNV-1a over every event and return code */
};

static struct fstate fs;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_http1: check failed: %s (line %d)\n", #cond, __LINE__); \
			abort();                                                      \
		}                                                                     \
	} while (0)

static void fold(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t k = 0; k < n; k++)
		fs.hash = (fs.hash ^ b[k]) * 0x100000001b3ULL;
}

static void check_str(const char *s, size_t cap)
{
	CHECK(memchr(s, '\0', cap) != NULL);
}

static void helpers_on(const char *target, const char *traceparent, const char *query_src)
{
	char path[H1_TARGET_MAX], query[H1_TARGET_MAX], host[H1_HOST_MAX], route[256], red[H1_TARGET_MAX];
	uint8_t tid[16], sid[8], fl;

	ws_http_target_split(target, path, sizeof(path), query, sizeof(query), host, sizeof(host));
	check_str(path, sizeof(path));
	check_str(query, sizeof(query));
	check_str(host, sizeof(host));
	/* userinfo never reaches host (it ends at the last '@' of the authority) */
	CHECK(strchr(host, '@') == NULL);
	ws_http_route_guess(path, route, sizeof(route));
	check_str(route, sizeof(route));
	CHECK(route[0] == '\0' || route[0] == '/' || route[0] == '*');
	ws_http_redact_query(query_src ? query_src : query, red, sizeof(red));
	check_str(red, sizeof(red));
	if (ws_traceparent_parse(traceparent, tid, sid, &fl) == 0) {
		char out[56];

		CHECK(ws_traceparent_format(out, tid, sid, fl) == 0);
		/* a parsed value formats back to the same ids and flags */
		CHECK(memcmp(out + 2, traceparent + 2, 53) == 0);
	}
	(void)ws_http_method_known(target);
}

static void check_req(const struct h1_request *r)
{
	check_str(r->method, sizeof(r->method));
	check_str(r->target, sizeof(r->target));
	check_str(r->host, sizeof(r->host));
	check_str(r->traceparent, sizeof(r->traceparent));
	check_str(r->tracestate, sizeof(r->tracestate));
	CHECK(r->body_bytes <= r->wire_bytes);
	CHECK(r->t.first_enter_ns <= r->t.last_enter_ns);
	helpers_on(r->target, r->traceparent, NULL);
}

static void on_ev(void *ctx, const struct h1_event *e)
{
	struct h1_conn *c = ctx;

	fs.events++;
	fold(e, sizeof(*e));  /* emit() zeroes each event, padding included */
	if (e->type == H1_EV_REQUEST) {
		CHECK(e->has_request && !e->has_response);
		CHECK(e->req_index > 0 && e->req_index < MAX_INDEX && e->req_index < c->next_req_index);
		CHECK(fs.st[e->req_index] == 0);
		fs.st[e->req_index] = 1;
		if (e->req_index > fs.max_index)
			fs.max_index = e->req_index;
		check_req(&e->req);
	} else if (e->type == H1_EV_EXCHANGE || (e->type == H1_EV_ERROR && e->has_request)) {
		CHECK(e->has_request);
		CHECK(e->req_index > 0 && e->req_index < MAX_INDEX);
		CHECK(fs.st[e->req_index] == 1);
		fs.st[e->req_index] = 2;
		check_req(&e->req);
		if (e->type == H1_EV_EXCHANGE) {
			CHECK(e->has_response && e->resp.status >= 100 && e->resp.status <= 999);
			CHECK(e->resp.body_bytes <= e->resp.wire_bytes);
		} else {
			CHECK(e->err > H1_ERR_NONE && e->err < H1_ERR__MAX);
		}
	} else {
		CHECK(e->type == H1_EV_ERROR);
		CHECK(e->req_index == 0 && !e->has_request);
		CHECK(e->err > H1_ERR_NONE && e->err < H1_ERR__MAX);
	}
}

/* One pass over the input's chunk stream; fs.hash and fs.events say what came out. */
static void feed_all(const uint8_t *data, size_t size, bool whole_lines)
{
	struct h1_conn c;
	uint32_t seq[2] = { 1000, 0xffffff00u };
	uint64_t ts = 1;
	size_t pos = 1;

	memset(&fs, 0, sizeof(fs));
	fs.hash = 0xcbf29ce484222325ULL;
	h1_line_scan(whole_lines);
	if (h1_conn_init(&c, (enum h1_role)(data[0] % 3)) != 0)
		return;
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos], n = data[pos + 1];
		size_t avail;

		pos += 2;
		if (ctl == 0xff) {
			h1_conn_close(&c, ts++, on_ev, &c);
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
		enum h1_dir dir = (ctl & 1) ? H1_DIR_INGRESS : H1_DIR_EGRESS;

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
		int rc = h1_conn_feed(&c, dir, &ch, on_ev, &c);
		CHECK(rc == 0 || rc == -H1_ERR_NOT_HTTP || rc == -H1_ERR_UPGRADE);
		CHECK((rc != 0) == c.dead);
		fold(&rc, sizeof(rc));
	}
	h1_conn_close(&c, ts, on_ev, &c);
	/* every announced request ended */
	for (uint32_t k = 0; k <= fs.max_index; k++)
		CHECK(fs.st[k] != 1);
	fold(&c.skipped_bytes, sizeof(c.skipped_bytes));
	fold(&c.next_req_index, sizeof(c.next_req_index));
	h1_conn_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t hash, events;

	if (size < 1)
		return 0;
	/* the byte machine alone, then whole lines: the same events */
	feed_all(data, size, false);
	hash = fs.hash;
	events = fs.events;
	feed_all(data, size, true);
	CHECK(fs.events == events);
	CHECK(fs.hash == hash);

	/* The helpers on raw bytes, NUL-terminated. */
	char raw[600];
	size_t rn = size - 1 < sizeof(raw) - 1 ? size - 1 : sizeof(raw) - 1;

	memcpy(raw, data + 1, rn);
	raw[rn] = '\0';
	helpers_on(raw, raw, raw);
	/* and h1_detect on every prefix length of the start */
	for (size_t k = 0; k <= rn && k < 64; k++) {
		int d = h1_detect((const uint8_t *)raw, k);

		CHECK(d >= -1 && d <= 2);
	}
	return 0;
}
