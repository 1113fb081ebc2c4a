/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libFuzzer target: the DNS parser (ws_proto_dns) fed arbitrary chunk streams, its span
 * callbacks fed what it produced, and the wire reader and detection fed raw input.
 *
 * Input layout (so seeds can be written by hand, see docs/proto-dns.md):
 *   byte 0: role (value % 3: unknown, server, client)
 *   byte 1: bit 0 transport (0 UDP datagrams, 1 TCP stream); bits 1-2 the server port
 *           given to detect (0: 53, 1: 5353, else 8053)
 *   then records: ctl, n, n bytes of chunk data (fewer if the input ends)
 *     ctl == 0xff: close the connection (feeds after it must be ignored)
 *     bit 0: direction (0 egress, 1 ingress)
 *     bits 1-2: capture: 0 all of the data, 1 first half, 2 none, 3 all plus an
 *               uncaptured tail of n << (bits 5-7) bytes
 *     bit 3: bytes missing before this chunk (seq jump of 1 + bits 5-7)
 *     bit 4: time jumps (1 + bits 5-7) seconds before this chunk
 *
 * Beyond "no crash, no leak, no UB" it checks the record contract of proto.h, that no
 * more than DNS_MAX_PENDING queries wait at once, that names are NUL-terminated and
 * bounded, that detection's YES is backed by a message that parses, and the spans.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/proto/dns.h"
#include "agent/proto/dns_wire.h"
#include "agent/span.h"
#include "headers/wirespan_abi.h"

#define MAX_INDEX 4096

struct fstate {
	uint8_t st[MAX_INDEX];      /* 0 unseen, 1 announced, 2 ended */
	uint32_t max_index;
	uint32_t waiting;
	uint8_t role;
	bool dead;
	struct ws_span span;
	struct ws_tuple tuple;
};

static struct fstate fs;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_dns: check failed: %s (line %d)\n", #cond, __LINE__); \
			abort();                                                      \
		}                                                                     \
	} while (0)

static void check_name(const char *s)
{
	const char *z = memchr(s, '\0', DNS_NAME_TEXT_MAX);

	CHECK(z != NULL);
	CHECK(z - s <= DNS_NAME_TEXT_MAX - 1);
}

static void check_span(const struct ws_span *s)
{
	CHECK(memchr(s->name, '\0', sizeof(s->name)) != NULL);
	CHECK(strncmp(s->name, "DNS", 3) == 0);
	CHECK(memchr(s->status_message, '\0', sizeof(s->status_message)) != NULL);
	CHECK(s->n_attrs <= WS_SPAN_MAX_ATTRS);
	for (unsigned i = 0; i < s->n_attrs; i++)
		if (s->attrs[i].type == WS_ATTR_STR)
			CHECK(s->attrs[i].str_off < WS_SPAN_ARENA);
}

static void on_x(void *ctx, const struct ws_exchange *x)
{
	const struct dns_record *r = x->detail;
	struct ws_span_info si = { .tuple = &fs.tuple, .role = fs.role, .sanitize = true };

	(void)ctx;
	CHECK(x->proto == WS_PROTO_DNS);
	if (x->type == WS_X_REQUEST) {
		CHECK(x->has_request && !x->has_response && !x->err && r);
		CHECK(x->req_index == fs.max_index + 1 && x->req_index < MAX_INDEX);
		CHECK(fs.st[x->req_index] == 0);
		fs.st[x->req_index] = 1;
		fs.max_index = x->req_index;
		CHECK(++fs.waiting <= DNS_MAX_PENDING);
		CHECK(x->req.first_enter_ns && x->req.first_enter_ns <= x->req.last_enter_ns);
		check_name(r->q.name);
		CHECK(!r->has_answer);
		memset(&fs.span, 0, sizeof(fs.span));
		ws_proto_dns.span_request(x, &si, &fs.span);
		check_span(&fs.span);
	} else if (x->type == WS_X_EXCHANGE || x->has_request) {
		CHECK(x->has_request && r);
		CHECK(x->req_index > 0 && x->req_index < MAX_INDEX);
		CHECK(fs.st[x->req_index] == 1);
		fs.st[x->req_index] = 2;
		fs.waiting--;
		check_name(r->q.name);
		if (x->type == WS_X_EXCHANGE) {
			CHECK(x->has_response && !x->err && r->has_answer);
			CHECK(r->rcode < 4096);
			CHECK(x->resp.first_enter_ns && x->resp.first_enter_ns <= x->resp.last_enter_ns);
			ws_proto_dns.span_response(x, &si, &fs.span);
			check_span(&fs.span);
		} else {
			CHECK(x->type == WS_X_ERROR && x->err > 0 && x->err < DNS_ERR__MAX);
			CHECK(x->closed == (x->err == DNS_ERR_CLOSED));
		}
	} else {
		CHECK(x->type == WS_X_ERROR && x->req_index == 0 && !r);
		CHECK(x->err > 0 && x->err < DNS_ERR__MAX);
	}
	CHECK(ws_proto_dns.error_name(x->err) != NULL);
}

/* Raw input through the wire reader and detection. */
static void raw_checks(const uint8_t *d, size_t n, uint16_t port)
{
	struct dns_msg m;
	uint32_t len = n > 70000 ? 70000 : (uint32_t)n;

	if (dns_parse(d, len, len, &m) == DNS_WIRE_OK && m.has_question)
		check_name(m.q.name);
	for (uint32_t off = 0; off < len && off < 48; off++) {
		char out[DNS_NAME_TEXT_MAX];
		uint32_t next = 0;
		bool cut;

		if (dns_name_read(d, len, len, off, &next, out, sizeof(out), &cut) == DNS_WIRE_OK) {
			check_name(out);
			CHECK(next > off && next <= len);
		}
	}
	for (uint32_t k = 0; k <= len && k < 64; k++) {
		for (int dir = 0; dir < 2; dir++) {
			int r = ws_proto_dns.detect(d, k, (enum ws_pdir)dir, (enum ws_prole)fs.role, port);

			CHECK(r == WS_DETECT_NO || r == WS_DETECT_YES || r == WS_DETECT_MORE);
			if (r == WS_DETECT_YES) {
				/* backed by a message that parses in one of the two framings */
				bool udp = dns_parse(d, k, k, &m) == DNS_WIRE_OK && m.has_question;
				bool tcp = false;

				if (k >= 2 + DNS_HDR_LEN) {
					uint32_t l = (uint32_t)(d[0] << 8 | d[1]);

					tcp = dns_parse(d + 2, k - 2 < l ? k - 2 : l, l, &m) == DNS_WIRE_OK && m.has_question;
				}
				CHECK(udp || tcp);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seq[2] = { 1000, 0xffffff00u };
	uint64_t ts = 1000000000ull;
	size_t pos = 2;
	bool tcp;
	uint16_t port;
	void *st;

	if (size < 2)
		return 0;
	memset(fs.st, 0, sizeof(fs.st));
	fs.max_index = 0;
	fs.waiting = 0;
	fs.dead = false;
	fs.role = (uint8_t)(data[0] % 3);
	tcp = data[1] & 1;
	port = ((data[1] >> 1) & 3) == 0 ? 53 : ((data[1] >> 1) & 3) == 1 ? 5353 : 8053;
	memset(&fs.tuple, 0, sizeof(fs.tuple));
	fs.tuple.sport = 40000;
	fs.tuple.dport = (data[1] & 8) ? 0 : port;   /* 0: an unconnected UDP socket */
	st = ws_proto_dns.init((enum ws_prole)fs.role);
	if (!st)
		return 0;
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos], n = data[pos + 1];
		size_t avail;

		pos += 2;
		if (ctl == 0xff) {
			ws_proto_dns.close(st, ts, on_x, NULL);
			CHECK(fs.waiting == 0);
			continue;
		}
		avail = size - pos < n ? size - pos : n;
		unsigned hi = ctl >> 5;
		enum ws_pdir dir = (ctl & 1) ? WS_PDIR_INGRESS : WS_PDIR_EGRESS;

		if (ctl & 0x10)
			ts += (1ull + hi) * 1000000000ull;
		struct ws_chunk ch = {
			.data = data + pos,
			.len = (uint32_t)avail,
			.tid = (uint32_t)(pos & 7),
			.enter_ns = ts,
			.exit_ns = ts + 1,
			.has_seq = tcp,
			.datagram = !tcp,
		};

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
		if (!ch.captured)
			ch.data = NULL;
		ts += 2;
		pos += avail;
		if (ctl & 0x08)
			seq[dir] += 1 + hi;
		ch.seq = seq[dir];
		seq[dir] += ch.len;
		int rc = ws_proto_dns.feed(st, dir, &ch, on_x, NULL);

		CHECK(rc == 0 || rc == -DNS_ERR_NOT_DNS);
		CHECK(!fs.dead || rc != 0 || ch.len == 0);
		if (rc)
			fs.dead = true;
		fs.role = (uint8_t)ws_proto_dns.role(st);
	}
	ws_proto_dns.close(st, ts, on_x, NULL);
	/* every announced request ended */
	for (uint32_t k = 0; k <= fs.max_index; k++)
		CHECK(fs.st[k] != 1);
	CHECK(fs.waiting == 0);
	ws_proto_dns.free(st);

	raw_checks(data + 2, size - 2, port);
	return 0;
}
