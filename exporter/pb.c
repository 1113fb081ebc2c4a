/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Protobuf wire format: writer over ws_buf, bounds-checked reader. */
#include "pb.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

size_t pb_varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t pb_varint_write(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

int pb_put_varint(struct ws_buf *b, uint64_t v)
{
	/* written in place: no staging copy, one room check (exact, so the size limit
	 * means the same as for any append) */
	if (ws_buf_reserve(b, pb_varint_size(v)))
		return b->err;
	b->len += pb_varint_write(b->data + b->len, v);
	return 0;
}

static bool bad_field(struct ws_buf *b, uint32_t field)
{
	/* A bad field number is a bug in the encoder: make it fail the whole message
	 * rather than emit bytes no decoder accepts. */
	if (field == 0 || field > PB_MAX_FIELD) {
		if (!b->err)
			b->err = -EINVAL;
		return true;
	}
	return false;
}

int pb_put_tag(struct ws_buf *b, uint32_t field, enum pb_wire wt)
{
	if (bad_field(b, field))
		return b->err;
	return pb_put_varint(b, ((uint64_t)field << 3) | (uint64_t)wt);
}

int pb_put_uint64(struct ws_buf *b, uint32_t field, uint64_t v)
{
	pb_put_tag(b, field, PB_VARINT);
	return pb_put_varint(b, v);
}

int pb_put_int64(struct ws_buf *b, uint32_t field, int64_t v)
{
	/* int32 and int64 share this: a negative value is sign-extended to 64 bits. */
	return pb_put_uint64(b, field, (uint64_t)v);
}

int pb_put_sint64(struct ws_buf *b, uint32_t field, int64_t v)
{
	return pb_put_uint64(b, field, pb_zigzag(v));
}

int pb_put_bool(struct ws_buf *b, uint32_t field, bool v)
{
	return pb_put_uint64(b, field, v ? 1 : 0);
}

int pb_put_fixed64(struct ws_buf *b, uint32_t field, uint64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pb_put_tag(b, field, PB_I64);
	return ws_buf_append(b, le, sizeof(le));
}

int pb_put_fixed32(struct ws_buf *b, uint32_t field, uint32_t v)
{
	uint8_t le[4];

	for (int i = 0; i < 4; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pb_put_tag(b, field, PB_I32);
	return ws_buf_append(b, le, sizeof(le));
}

int pb_put_double(struct ws_buf *b, uint32_t field, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));   /* IEEE 754 binary64, little-endian on the wire */
	return pb_put_fixed64(b, field, bits);
}

int pb_put_bytes(struct ws_buf *b, uint32_t field, const void *p, size_t n)
{
	uint64_t key = ((uint64_t)field << 3) | PB_LEN;
	uint8_t *o;

	/* tag, length and body with one exact room check */
	if (bad_field(b, field))
		return b->err;
	if (n > SIZE_MAX - 20)
		return b->err ? b->err : (b->err = -E2BIG);
	if (ws_buf_reserve(b, pb_varint_size(key) + pb_varint_size(n) + n))
		return b->err;
	o = b->data + b->len;
	o += pb_varint_write(o, key);
	o += pb_varint_write(o, n);
	if (n)
		memcpy(o, p, n);
	b->len = (size_t)(o - b->data) + n;
	return 0;
}

int pb_put_string(struct ws_buf *b, uint32_t field, const char *s)
{
	return pb_put_bytes(b, field, s ? s : "", s ? strlen(s) : 0);
}

size_t pb_utf8_seq(const uint8_t *p, size_t n, size_t *skip)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	*skip = 1;
	if (c < 0x80)
		return 1;
	/* Unicode Table 3-7: the second byte's range excludes overlongs, surrogates and
	 * code points past U+10FFFF. */
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	for (i = 1; i < len && i < n; i++) {
		uint8_t lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xbf;

		if (p[i] < lo_i || p[i] > hi_i)
			break;
	}
	if (i == len)
		return len;
	/* The maximal subpart (Unicode's recommended practice): one U+FFFD for the
	 * valid prefix, the same policy as the JSON encoder. */
	*skip = i;
	return 0;
}

bool pb_utf8_valid(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, skip;

	/* ASCII, most of what is traced, needs no decoding: skip it 8 bytes at a time */
	while (n - i >= 8) {
		uint64_t w;

		memcpy(&w, p + i, sizeof(w));
		if (w & 0x8080808080808080ull)
			break;
		i += 8;
	}
	while (i < n) {
		size_t k = pb_utf8_seq(p + i, n - i, &skip);

		if (!k)
			return false;
		i += k;
	}
	return true;
}

int pb_put_utf8(struct ws_buf *b, uint32_t field, const char *s, size_t n)
{
	static const uint8_t repl[3] = { 0xef, 0xbf, 0xbd };
	const uint8_t *p = (const uint8_t *)s;
	size_t i, run = 0, mark, skip;

	if (pb_utf8_valid(s, n))
		return pb_put_bytes(b, field, s, n);   /* the common case: one copy */
	mark = pb_begin(b, field);
	for (i = 0; i < n;) {
		size_t k = pb_utf8_seq(p + i, n - i, &skip);

		if (k) {
			i += k;
			run += k;
			continue;
		}
		ws_buf_append(b, p + i - run, run);
		ws_buf_append(b, repl, sizeof(repl));
		run = 0;
		i += skip;
	}
	ws_buf_append(b, p + n - run, run);
	return pb_end(b, mark);
}

size_t pb_begin(struct ws_buf *b, uint32_t field)
{
	uint64_t key = ((uint64_t)field << 3) | PB_LEN;

	/* One byte for the length: most nested messages (attributes, values) are short,
	 * and pb_end() makes room when this one was not. */
	if (!bad_field(b, field) && !ws_buf_reserve(b, pb_varint_size(key) + 1)) {
		b->len += pb_varint_write(b->data + b->len, key);
		b->data[b->len++] = 0;
	}
	return b->len - 1;
}

int pb_end(struct ws_buf *b, size_t mark)
{
	uint8_t tmp[10];
	size_t body, k;

	if (b->err)
		return b->err;
	if (mark >= b->len)
		return b->err = -EINVAL;
	body = b->len - mark - 1;
	k = pb_varint_write(tmp, body);
	if (k > 1) {
		if (ws_buf_reserve(b, k - 1))
			return b->err;
		memmove(b->data + mark + k, b->data + mark + 1, body);
		b->len += k - 1;
	}
	memcpy(b->data + mark, tmp, k);
	return 0;
}

/* ---- reader ---------------------------------------------------------------- */

int pb_get_varint(struct pb_reader *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned i = 0; i < 10; i++) {
		if (r->p >= r->end)
			return -EBADMSG;
		uint8_t c = *r->p++;
		/* The 10th byte may only carry the top bit of a 64-bit value. */
		if (i == 9 && c > 1)
			return -EBADMSG;
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EBADMSG;
}

int pb_next(struct pb_reader *r, struct pb_field *f)
{
	uint64_t key, v;

	if (r->p >= r->end)
		return 0;
	if (pb_get_varint(r, &key))
		return -EBADMSG;
	if ((key >> 3) == 0 || (key >> 3) > PB_MAX_FIELD)
		return -EBADMSG;
	memset(f, 0, sizeof(*f));
	f->field = (uint32_t)(key >> 3);
	f->wt = (enum pb_wire)(key & 7);
	switch (key & 7) {
	case PB_VARINT:
		if (pb_get_varint(r, &f->u))
			return -EBADMSG;
		return 1;
	case PB_I64:
	case PB_I32: {
		size_t n = (key & 7) == PB_I64 ? 8 : 4;

		if ((size_t)(r->end - r->p) < n)
			return -EBADMSG;
		for (size_t i = 0; i < n; i++)
			f->u |= (uint64_t)r->p[i] << (8 * i);
		r->p += n;
		return 1;
	}
	case PB_LEN:
		if (pb_get_varint(r, &v))
			return -EBADMSG;
		if (v > (uint64_t)(r->end - r->p))
			return -EBADMSG;
		f->data = r->p;
		f->len = (size_t)v;
		r->p += v;
		return 1;
	default:
		return -EBADMSG;
	}
}
