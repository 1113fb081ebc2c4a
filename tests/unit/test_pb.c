/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Protobuf wire writer/reader: every wire type against hand-computed bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "exporter/pb.h"

#define EXPECT_BYTES(buf, ...) do {                                              \
	static const uint8_t exp_[] = { __VA_ARGS__ };                           \
	assert_int_equal((buf)->err, 0);                                         \
	assert_int_equal((buf)->len, sizeof(exp_));                              \
	assert_memory_equal((buf)->data, exp_, sizeof(exp_));                    \
} while (0)

static void test_varint(void **state)
{
	struct ws_buf b;

	ws_buf_init(&b, 1024);
	pb_put_varint(&b, 0);
	pb_put_varint(&b, 1);
	pb_put_varint(&b, 127);
	pb_put_varint(&b, 128);
	pb_put_varint(&b, 300);
	pb_put_varint(&b, UINT64_MAX);
	EXPECT_BYTES(&b, 0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02,
		     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	assert_int_equal(pb_varint_size(0), 1);
	assert_int_equal(pb_varint_size(127), 1);
	assert_int_equal(pb_varint_size(128), 2);
	assert_int_equal(pb_varint_size(16383), 2);
	assert_int_equal(pb_varint_size(16384), 3);
	assert_int_equal(pb_varint_size(UINT64_MAX), 10);
	ws_buf_free(&b);
}

static void test_scalars(void **state)
{
	struct ws_buf b;

	ws_buf_init(&b, 1024);
	pb_put_uint64(&b, 1, 150);        /* the protobuf docs' example: 08 96 01 */
	pb_put_int64(&b, 2, -1);          /* negative int: 10-byte varint */
	pb_put_sint64(&b, 3, -2);         /* zigzag 3 */
	pb_put_bool(&b, 4, true);
	pb_put_fixed64(&b, 5, 0x0102030405060708ull);
	pb_put_fixed32(&b, 16, 0x201);    /* field 16 needs a 2-byte tag: 0x85 0x01 */
	pb_put_double(&b, 6, 0.5);
	pb_put_string(&b, 7, "hi");
	pb_put_bytes(&b, 8, "\x00\xff", 2);
	pb_put_string(&b, 9, NULL);
	EXPECT_BYTES(&b,
		     0x08, 0x96, 0x01,
		     0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
		     0x18, 0x03,
		     0x20, 0x01,
		     0x29, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		     0x85, 0x01, 0x01, 0x02, 0x00, 0x00,
		     0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f,
		     0x3a, 0x02, 'h', 'i',
		     0x42, 0x02, 0x00, 0xff,
		     0x4a, 0x00);
	ws_buf_free(&b);
}

static void test_zigzag(void **state)
{
	assert_int_equal(pb_zigzag(0), 0);
	assert_int_equal(pb_zigzag(-1), 1);
	assert_int_equal(pb_zigzag(1), 2);
	assert_int_equal(pb_zigzag(-2), 3);
	assert_true(pb_zigzag(INT64_MAX) == UINT64_MAX - 1);
	assert_true(pb_zigzag(INT64_MIN) == UINT64_MAX);
}

static void test_bad_field_number_is_sticky(void **state)
{
	struct ws_buf b;

	ws_buf_init(&b, 1024);
	assert_int_equal(pb_put_uint64(&b, 0, 1), -EINVAL);
	assert_int_equal(pb_put_uint64(&b, 1, 1), -EINVAL);   /* sticky */
	ws_buf_free(&b);
	ws_buf_init(&b, 1024);
	pb_put_tag(&b, PB_MAX_FIELD + 1, PB_VARINT);
	assert_int_equal(b.err, -EINVAL);
	ws_buf_free(&b);
	ws_buf_init(&b, 1024);
	pb_put_tag(&b, PB_MAX_FIELD, PB_VARINT);  /* the largest legal one: 5-byte tag */
	EXPECT_BYTES(&b, 0xf8, 0xff, 0xff, 0xff, 0x0f);
	ws_buf_free(&b);
}

static void test_nesting_short(void **state)
{
	struct ws_buf b;
	size_t m1, m2;

	ws_buf_init(&b, 1024);
	m1 = pb_begin(&b, 1);
	pb_put_uint64(&b, 1, 1);
	m2 = pb_begin(&b, 2);
	pb_end(&b, m2);                   /* an empty nested message: 12 00 */
	assert_int_equal(pb_end(&b, m1), 0);
	EXPECT_BYTES(&b, 0x0a, 0x04, 0x08, 0x01, 0x12, 0x00);
	ws_buf_free(&b);
}

static void test_nesting_grows_length(void **state)
{
	struct ws_buf b;
	uint8_t body[200];
	size_t outer, inner;

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)i;
	ws_buf_init(&b, 1 << 20);
	outer = pb_begin(&b, 1);
	pb_put_uint64(&b, 1, 7);
	inner = pb_begin(&b, 2);
	pb_put_bytes(&b, 3, body, sizeof(body));   /* 1 + 2 + 200 = 203 bytes */
	assert_int_equal(pb_end(&b, inner), 0);    /* 203 needs 2 length bytes: cb 01 */
	assert_int_equal(pb_end(&b, outer), 0);    /* 2 + 1 + 2 + 203 = 208: d0 01 */
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 3 + 208);
	static const uint8_t head[] = { 0x0a, 0xd0, 0x01, 0x08, 0x07, 0x12, 0xcb, 0x01, 0x1a, 0xc8, 0x01 };
	assert_memory_equal(b.data, head, sizeof(head));
	assert_memory_equal(b.data + sizeof(head), body, sizeof(body));

	/* and a body over 16 KiB: 3 length bytes */
	ws_buf_reset(&b);
	outer = pb_begin(&b, 1);
	for (int i = 0; i < 100; i++)
		pb_put_bytes(&b, 3, body, sizeof(body));   /* 100 * 203 = 20300 = 0xcc 0x9e 0x01 */
	pb_end(&b, outer);
	static const uint8_t head2[] = { 0x0a, 0xcc, 0x9e, 0x01, 0x1a, 0xc8, 0x01, 0x00, 0x01 };
	assert_int_equal(b.len, 4 + 20300);
	assert_memory_equal(b.data, head2, sizeof(head2));
	ws_buf_free(&b);
}

static void test_limit_is_sticky(void **state)
{
	struct ws_buf b;
	uint8_t body[100] = { 0 };
	size_t m;

	ws_buf_init(&b, 128);
	m = pb_begin(&b, 1);
	pb_put_bytes(&b, 2, body, sizeof(body));
	/* 2 + 2 + 100 = 104 fits, but the 2-byte length does not leave room for the next */
	pb_put_bytes(&b, 2, body, 30);
	assert_int_equal(b.err, -E2BIG);
	assert_int_equal(pb_end(&b, m), -E2BIG);
	ws_buf_free(&b);

	/* the moved length itself can be what crosses the limit */
	ws_buf_init(&b, 2 + 128);
	m = pb_begin(&b, 1);
	pb_put_bytes(&b, 2, body, 100);
	pb_put_bytes(&b, 2, body, 24);   /* body is 102 + 26 = 128 bytes: length needs 2 */
	assert_int_equal(b.err, 0);
	assert_int_equal(pb_end(&b, m), -E2BIG);
	ws_buf_free(&b);
}

static void test_utf8(void **state)
{
	struct ws_buf b;

	ws_buf_init(&b, 1024);
	pb_put_utf8(&b, 1, "h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10);   /* valid: copied as is */
	EXPECT_BYTES(&b, 0x0a, 0x0a, 'h', 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80);
	ws_buf_reset(&b);
	/* stray continuation, overlong '/', surrogate, truncated sequence at the end */
	pb_put_utf8(&b, 1, "a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82", 12);
	EXPECT_BYTES(&b, 0x0a, 25,
		     'a', 0xef, 0xbf, 0xbd,
		     'b', 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd,
		     'c', 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd,
		     'd', 0xef, 0xbf, 0xbd);   /* a truncated sequence is one maximal subpart */
	ws_buf_reset(&b);
	pb_put_utf8(&b, 1, "\xf4\x90\x80\x80", 4);   /* U+110000: past the last code point */
	assert_int_equal(b.len, 2 + 12);
	size_t skip;
	assert_int_equal(pb_utf8_seq((const uint8_t *)"\xf4\x8f\xbf\xbf", 4, &skip), 4);  /* U+10FFFF */
	assert_int_equal(pb_utf8_seq((const uint8_t *)"\xe0\x9f\xbf", 3, &skip), 0);      /* overlong */
	assert_int_equal(skip, 1);
	assert_int_equal(pb_utf8_seq((const uint8_t *)"\xf0\x9f\x98x", 4, &skip), 0);     /* cut short */
	assert_int_equal(skip, 3);
	ws_buf_free(&b);
}

static void test_reader_roundtrip(void **state)
{
	struct ws_buf b;
	struct pb_reader r, r2;
	struct pb_field f;
	size_t m;

	ws_buf_init(&b, 1024);
	pb_put_uint64(&b, 1, 300);
	pb_put_fixed64(&b, 2, 0x1122334455667788ull);
	pb_put_fixed32(&b, 3, 0xdeadbeef);
	m = pb_begin(&b, 4);
	pb_put_string(&b, 1, "abc");
	pb_end(&b, m);
	pb_put_int64(&b, 5, -5);

	pb_reader_init(&r, b.data, b.len);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.field, 1);
	assert_int_equal(f.wt, PB_VARINT);
	assert_int_equal(f.u, 300);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.wt, PB_I64);
	assert_true(f.u == 0x1122334455667788ull);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.wt, PB_I32);
	assert_int_equal(f.u, 0xdeadbeef);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.field, 4);
	assert_int_equal(f.wt, PB_LEN);
	pb_reader_init(&r2, f.data, f.len);
	assert_int_equal(pb_next(&r2, &f), 1);
	assert_int_equal(f.len, 3);
	assert_memory_equal(f.data, "abc", 3);
	assert_int_equal(pb_next(&r2, &f), 0);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal((int64_t)f.u, -5);
	assert_int_equal(pb_next(&r, &f), 0);
	ws_buf_free(&b);
}

static int read_all(const uint8_t *p, size_t n)
{
	struct pb_reader r;
	struct pb_field f;
	int rc;

	pb_reader_init(&r, p, n);
	while ((rc = pb_next(&r, &f)) == 1)
		;
	return rc;
}

static void test_reader_rejects_malformed(void **state)
{
	static const uint8_t trunc_varint[] = { 0x08, 0x96 };
	static const uint8_t trunc_fixed[] = { 0x09, 1, 2, 3 };
	static const uint8_t len_past_end[] = { 0x0a, 0x05, 'a', 'b' };
	static const uint8_t group[] = { 0x0b, 0x0c };
	static const uint8_t field0[] = { 0x00, 0x01 };
	static const uint8_t long_varint[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	static const uint8_t huge_len[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };

	assert_int_equal(read_all(trunc_varint, sizeof(trunc_varint)), -EBADMSG);
	assert_int_equal(read_all(trunc_fixed, sizeof(trunc_fixed)), -EBADMSG);
	assert_int_equal(read_all(len_past_end, sizeof(len_past_end)), -EBADMSG);
	assert_int_equal(read_all(group, sizeof(group)), -EBADMSG);
	assert_int_equal(read_all(field0, sizeof(field0)), -EBADMSG);
	assert_int_equal(read_all(long_varint, sizeof(long_varint)), -EBADMSG);
	assert_int_equal(read_all(huge_len, sizeof(huge_len)), -EBADMSG);
	assert_int_equal(read_all(NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_zigzag),
		cmocka_unit_test(test_bad_field_number_is_sticky),
		cmocka_unit_test(test_nesting_short),
		cmocka_unit_test(test_nesting_grows_length),
		cmocka_unit_test(test_limit_is_sticky),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_reader_roundtrip),
		cmocka_unit_test(test_reader_rejects_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
