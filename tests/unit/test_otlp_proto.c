/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OTLP trace protobuf encoder: a whole request against hand-computed bytes, grouping,
 * events/links, flags, limits, and the response decoder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exporter/otlp_proto.h"
#include "exporter/pb.h"

static void fill_span(struct ws_span *s, struct ws_resource *r)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 16; i++)
		s->trace_id[i] = (uint8_t)(i + 1);
	for (int i = 0; i < 8; i++)
		s->span_id[i] = (uint8_t)(0x11 + i);
	strcpy(s->name, "GET");
	s->kind = WS_KIND_SERVER;
	s->start_ns = 1000;
	s->end_ns = 2000;
	s->trace_flags = 1;
	s->res = r;
}

/* The expected request, byte by byte. Lengths are written out by hand; only the scope
 * version (WS_VERSION, from the VERSION file) enters them as VLEN. */
static size_t expected_small(uint8_t *o)
{
	const size_t vlen = strlen(WS_VERSION);
	size_t n = 0;
#define B(...) do { static const uint8_t b_[] = { __VA_ARGS__ }; memcpy(o + n, b_, sizeof(b_)); n += sizeof(b_); } while (0)
#define V2(x) do { size_t v_ = (x); assert_true(v_ >= 128 && v_ < 16384); o[n++] = (uint8_t)(v_ | 0x80); o[n++] = (uint8_t)(v_ >> 7); } while (0)
	assert_true(vlen < 100);
	B(0x0a); V2(163 + vlen);                      /* resource_spans (1) */
	B(0x0a, 23,                                    /* resource (1), 23 bytes */
	  0x0a, 21,                                    /*  attributes (1): KeyValue */
	  0x0a, 12, 's', 'e', 'r', 'v', 'i', 'c', 'e', '.', 'n', 'a', 'm', 'e',
	  0x12, 5, 0x0a, 3, 's', 'v', 'c');
	B(0x12); V2(135 + vlen);                       /* scope_spans (2) */
	B(0x0a); o[n++] = (uint8_t)(12 + vlen);          /*  scope (1) */
	B(0x0a, 8, 'w', 'i', 'r', 'e', 's', 'p', 'a', 'n');
	B(0x12); o[n++] = (uint8_t)vlen;
	memcpy(o + n, WS_VERSION, vlen);
	n += vlen;
	B(0x12, 119);                                  /*  spans (2), 119 bytes */
	B(0x0a, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);   /* trace_id */
	B(0x12, 8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18);          /* span_id */
	B(0x2a, 3, 'G', 'E', 'T');                                            /* name */
	B(0x30, 2);                                                           /* kind SERVER */
	B(0x39, 0xe8, 0x03, 0, 0, 0, 0, 0, 0);                                /* start 1000 */
	B(0x41, 0xd0, 0x07, 0, 0, 0, 0, 0, 0);                                /* end 2000 */
	B(0x4a, 8, 0x0a, 1, 'a', 0x12, 3, 0x0a, 1, 'x');                      /* a = "x" */
	B(0x4a, 16, 0x0a, 1, 'b', 0x12, 11, 0x18,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);        /* b = -1 */
	B(0x4a, 7, 0x0a, 1, 'c', 0x12, 2, 0x10, 1);                           /* c = true */
	B(0x4a, 14, 0x0a, 1, 'd', 0x12, 9, 0x21, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f); /* d = 0.5 */
	B(0x7a, 5, 0x12, 1, 'e', 0x18, 2);                                    /* status */
	B(0x85, 0x01, 0x01, 0x01, 0, 0);                                      /* flags 0x101 */
#undef B
#undef V2
	return n;
}

static void test_small_request_bytes(void **state)
{
	struct ws_resource *r = ws_resource_new(7);
	struct ws_span s;
	const struct ws_span *sp = &s;
	struct ws_buf b;
	uint8_t exp[512];
	size_t n;

	ws_resource_set_str(r, "service.name", "svc");
	fill_span(&s, r);
	ws_span_set_str(&s, "a", "x");
	ws_span_set_int(&s, "b", -1);
	ws_span_set_bool(&s, "c", true);
	ws_span_set_double(&s, "d", 0.5);
	s.status_code = WS_STATUS_ERROR;
	strcpy(s.status_message, "e");

	ws_buf_init(&b, 1 << 20);
	assert_int_equal(ws_otlp_proto_encode(&sp, 1, &b), 0);
	n = expected_small(exp);
	assert_int_equal(b.len, 166 + strlen(WS_VERSION));
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, exp, n);
	ws_buf_free(&b);
	ws_resource_unref(r);
}

/* Walk: request -> resource_spans[i] -> scope_spans[0] -> spans; count spans per group
 * and collect span ids' first byte in wire order. */
static int walk(const struct ws_buf *b, int *per_group, int max_groups, uint8_t *ids, uint32_t *pids)
{
	struct pb_reader r, rs, ss, sp, res, kv, av;
	struct pb_field f, g, h, k, x, y;
	int groups = 0, nid = 0;

	pb_reader_init(&r, b->data, b->len);
	while (pb_next(&r, &f) == 1) {
		assert_int_equal(f.field, 1);
		assert_true(groups < max_groups);
		per_group[groups] = 0;
		pids[groups] = 0;
		pb_reader_init(&rs, f.data, f.len);
		while (pb_next(&rs, &g) == 1) {
			if (g.field == 1) {
				pb_reader_init(&res, g.data, g.len);
				while (pb_next(&res, &k) == 1) {
					pb_reader_init(&kv, k.data, k.len);
					assert_int_equal(pb_next(&kv, &x), 1);
					if (x.len == 11 && memcmp(x.data, "process.pid", 11) == 0) {
						assert_int_equal(pb_next(&kv, &x), 1);
						pb_reader_init(&av, x.data, x.len);
						assert_int_equal(pb_next(&av, &y), 1);
						pids[groups] = (uint32_t)y.u;
					}
				}
				continue;
			}
			assert_int_equal(g.field, 2);
			pb_reader_init(&ss, g.data, g.len);
			while (pb_next(&ss, &h) == 1) {
				if (h.field != 2)
					continue;
				per_group[groups]++;
				pb_reader_init(&sp, h.data, h.len);
				while (pb_next(&sp, &k) == 1)
					if (k.field == 2)
						ids[nid++] = k.data[0];
			}
		}
		groups++;
	}
	return groups;
}

static void test_grouping_per_resource(void **state)
{
	struct ws_resource *a = ws_resource_new(100), *b2 = ws_resource_new(200);
	struct ws_resource *a_again = ws_resource_new(100);   /* same process, another record */
	struct ws_span s[5];
	const struct ws_span *sp[5];
	struct ws_buf b;
	int per[8];
	uint32_t pids[8];
	uint8_t ids[8];

	a->start_time = a_again->start_time = 55;
	b2->start_time = 55;
	ws_resource_set_int(a, "process.pid", 100);
	ws_resource_set_int(a_again, "process.pid", 100);
	ws_resource_set_int(b2, "process.pid", 200);
	struct ws_resource *order[5] = { b2, a, NULL, a_again, b2 };
	for (int i = 0; i < 5; i++) {
		fill_span(&s[i], order[i]);
		s[i].span_id[0] = (uint8_t)(i + 1);
		sp[i] = &s[i];
	}
	ws_buf_init(&b, 1 << 20);
	assert_int_equal(ws_otlp_proto_encode(sp, 5, &b), 0);
	assert_int_equal(walk(&b, per, 8, ids, pids), 3);
	/* groups in order of first appearance: pid 200 (spans 1, 5), pid 100 (2, 4), none (3) */
	assert_int_equal(per[0], 2);
	assert_int_equal(per[1], 2);
	assert_int_equal(per[2], 1);
	assert_int_equal(pids[0], 200);
	assert_int_equal(pids[1], 100);
	static const uint8_t exp_ids[] = { 1, 5, 2, 4, 3 };
	assert_memory_equal(ids, exp_ids, 5);
	ws_buf_free(&b);
	ws_resource_unref(a);
	ws_resource_unref(a_again);
	ws_resource_unref(b2);
}

static void test_events_links_flags(void **state)
{
	struct ws_span s;
	const struct ws_span *sp = &s;
	struct ws_buf b;
	struct pb_reader r;
	struct pb_field f;
	static const uint8_t tid[16] = { 0xaa, [15] = 0xbb };
	static const uint8_t sid[8] = { 0xcc, [7] = 0xdd };
	int ev, ln;

	fill_span(&s, NULL);
	s.parent_span_id[7] = 9;
	s.parent_remote = 1;
	ev = ws_span_add_event(&s, 1500, "retry");
	assert_int_equal(ev, 0);
	assert_int_equal(ws_span_event_set_str(&s, ev, "k", "v"), 0);
	assert_int_equal(ws_span_event_set_int(&s, ev, "n", 3), 0);
	ln = ws_span_add_link(&s, tid, sid, 1, true);
	assert_int_equal(ln, 0);
	assert_int_equal(ws_span_link_set_str(&s, ln, "lk", "lv"), 0);
	assert_int_equal(ws_span_event_set_int(&s, 3, "n", 3), -EINVAL);
	assert_int_equal(ws_otlp_span_flags(&s), 0x301);

	ws_buf_init(&b, 1 << 20);
	assert_int_equal(ws_otlp_proto_encode(&sp, 1, &b), 0);
	/* Find the span by descending request(1) > resource_spans... > spans(2). */
	const uint8_t *p = b.data;
	size_t len = b.len;
	const uint32_t path[] = { 1, 2, 2 };
	for (int d = 0; d < 3; d++) {
		bool found = false;

		pb_reader_init(&r, p, len);
		while (pb_next(&r, &f) == 1)
			if (f.field == path[d] && f.wt == PB_LEN) {
				found = true;
				break;
			}
		assert_true(found);
		p = f.data;
		len = f.len;
	}
	static const uint8_t ev_bytes[] = {
		0x09, 0xdc, 0x05, 0, 0, 0, 0, 0, 0,                          /* time 1500 */
		0x12, 5, 'r', 'e', 't', 'r', 'y',
		0x1a, 8, 0x0a, 1, 'k', 0x12, 3, 0x0a, 1, 'v',
		0x1a, 7, 0x0a, 1, 'n', 0x12, 2, 0x18, 3,
	};
	static const uint8_t link_bytes[] = {
		0x0a, 16, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbb,
		0x12, 8, 0xcc, 0, 0, 0, 0, 0, 0, 0xdd,
		0x22, 10, 0x0a, 2, 'l', 'k', 0x12, 4, 0x0a, 2, 'l', 'v',
		0x35, 0x01, 0x03, 0, 0,                                       /* flags 0x301 */
	};
	static const uint8_t parent[] = { 0, 0, 0, 0, 0, 0, 0, 9 };
	int seen = 0;
	pb_reader_init(&r, p, len);
	while (pb_next(&r, &f) == 1) {
		switch (f.field) {
		case 4:
			assert_int_equal(f.len, 8);
			assert_memory_equal(f.data, parent, 8);
			seen |= 1;
			break;
		case 11:
			assert_int_equal(f.len, sizeof(ev_bytes));
			assert_memory_equal(f.data, ev_bytes, sizeof(ev_bytes));
			seen |= 2;
			break;
		case 13:
			assert_int_equal(f.len, sizeof(link_bytes));
			assert_memory_equal(f.data, link_bytes, sizeof(link_bytes));
			seen |= 4;
			break;
		case 15:
			fail_msg("status written for an unset status");
			break;
		case 16:
			assert_int_equal(f.wt, PB_I32);
			assert_int_equal(f.u, 0x301);
			seen |= 8;
			break;
		}
	}
	assert_int_equal(seen, 15);
	ws_buf_free(&b);
}

static void test_event_link_tables_bounded(void **state)
{
	struct ws_span s;
	static const uint8_t id[16] = { 1 };

	fill_span(&s, NULL);
	for (int i = 0; i < WS_SPAN_MAX_EVENTS; i++)
		assert_int_equal(ws_span_add_event(&s, 1, "e"), i);
	assert_int_equal(ws_span_add_event(&s, 1, "e"), -ENOSPC);
	for (int i = 0; i < WS_SPAN_MAX_LINKS; i++)
		assert_int_equal(ws_span_add_link(&s, id, id, 0, false), i);
	assert_int_equal(ws_span_add_link(&s, id, id, 0, false), -ENOSPC);
	static const char *keys[] = { "a", "b", "c", "d", "e" };
	_Static_assert(WS_EVENT_MAX_ATTRS < 5, "more keys needed");
	for (int i = 0; i < WS_EVENT_MAX_ATTRS; i++)
		assert_int_equal(ws_span_event_set_int(&s, 0, keys[i], i), 0);
	assert_int_equal(ws_span_event_set_int(&s, 0, "z", 1), -ENOSPC);
	assert_int_equal(ws_span_link_set_int(&s, 2, "z", 1), -EINVAL);
}

static void test_invalid_utf8_name_and_attr(void **state)
{
	struct ws_span s;
	const struct ws_span *sp = &s;
	struct ws_buf b;

	fill_span(&s, NULL);
	strcpy(s.name, "GET /\xff");
	ws_span_set_str(&s, "url.path", "/\xc3");
	ws_buf_init(&b, 1 << 20);
	assert_int_equal(ws_otlp_proto_encode(&sp, 1, &b), 0);
	assert_non_null(memmem(b.data, b.len, "GET /\xef\xbf\xbd", 8));
	assert_non_null(memmem(b.data, b.len, "/\xef\xbf\xbd", 4));
	assert_null(memmem(b.data, b.len, "\xff", 1));     /* nothing else here has a 0xff byte */
	ws_buf_free(&b);
}

static void test_too_big_restores_buffer(void **state)
{
	struct ws_span s[4];
	const struct ws_span *sp[4];
	struct ws_buf b;

	for (int i = 0; i < 4; i++) {
		fill_span(&s[i], NULL);
		sp[i] = &s[i];
	}
	ws_buf_init(&b, 300);
	ws_buf_append(&b, "xyz", 3);
	assert_int_equal(ws_otlp_proto_encode(sp, 4, &b), -E2BIG);
	assert_int_equal(b.len, 3);
	assert_int_equal(b.err, 0);
	assert_int_equal(ws_otlp_proto_encode(sp, 1, &b), 0);   /* one fits */
	assert_true(b.len > 3);
	sp[1] = NULL;
	assert_int_equal(ws_otlp_proto_encode(sp, 2, &b), -EINVAL);
	ws_buf_free(&b);
}

static void test_empty_request(void **state)
{
	struct ws_buf b;

	ws_buf_init(&b, 100);
	assert_int_equal(ws_otlp_proto_encode(NULL, 0, &b), 0);
	assert_int_equal(b.len, 0);
	ws_buf_free(&b);
}

static void test_decode_response(void **state)
{
	static const uint8_t partial[] = { 0x0a, 0x07, 0x08, 0x03, 0x12, 0x03, 'b', 'a', 'd' };
	static const uint8_t unknown_then_partial[] = { 0x10, 0x01, 0x0a, 0x02, 0x08, 0x05 };
	static const uint8_t garbage[] = { 0x0a, 0x09, 0x08 };
	struct ws_otlp_partial p;

	assert_int_equal(ws_otlp_proto_decode_response(partial, sizeof(partial), &p), 0);
	assert_int_equal(p.rejected_spans, 3);
	assert_string_equal(p.error_message, "bad");
	assert_int_equal(ws_otlp_proto_decode_response(unknown_then_partial, sizeof(unknown_then_partial), &p), 0);
	assert_int_equal(p.rejected_spans, 5);
	assert_string_equal(p.error_message, "");
	assert_int_equal(ws_otlp_proto_decode_response("", 0, &p), 0);
	assert_int_equal(p.rejected_spans, 0);
	assert_int_equal(ws_otlp_proto_decode_response(garbage, sizeof(garbage), &p), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_request_bytes),
		cmocka_unit_test(test_grouping_per_resource),
		cmocka_unit_test(test_events_links_flags),
		cmocka_unit_test(test_event_link_tables_bounded),
		cmocka_unit_test(test_invalid_utf8_name_and_attr),
		cmocka_unit_test(test_too_big_restores_buffer),
		cmocka_unit_test(test_empty_request),
		cmocka_unit_test(test_decode_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
