/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small protobuf wire-format writer and reader, shared by every OTLP encoder
 * (traces now; metrics and logs later use the same calls).
 *
 * Writer: appends to a ws_buf, so errors are sticky and the caller checks
 * ws_buf_error() once at the end. Nested messages: pb_begin() reserves one byte for
 * the length and returns a mark; pb_end() writes the varint length, moving the body
 * right when it needs more than one byte. Nothing is ever sized twice.
 *
 * The put functions always write their field; proto3 default omission (0, "", empty)
 * is the encoder's decision, not the writer's.
 *
 * Reader: walks the fields of one message in a byte range, never reading past it;
 * used to decode small responses (ExportTraceServiceResponse.partial_success).
 */
#ifndef WS_PB_H
#define WS_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum pb_wire {
	PB_VARINT = 0,
	PB_I64 = 1,
	PB_LEN = 2,
	PB_I32 = 5,
};

/* Largest field number protobuf allows (2^29 - 1). */
#define PB_MAX_FIELD 536870911u

int pb_put_varint(struct ws_buf *b, uint64_t v);         /* raw varint, no tag */
int pb_put_tag(struct ws_buf *b, uint32_t field, enum pb_wire wt);
int pb_put_uint64(struct ws_buf *b, uint32_t field, uint64_t v);  /* uint32/uint64/enum >= 0 */
int pb_put_int64(struct ws_buf *b, uint32_t field, int64_t v);    /* int32/int64: negatives take 10 bytes */
int pb_put_sint64(struct ws_buf *b, uint32_t field, int64_t v);   /* sint32/sint64: zigzag */
int pb_put_bool(struct ws_buf *b, uint32_t field, bool v);
int pb_put_fixed64(struct ws_buf *b, uint32_t field, uint64_t v);
int pb_put_fixed32(struct ws_buf *b, uint32_t field, uint32_t v);
int pb_put_double(struct ws_buf *b, uint32_t field, double v);
int pb_put_bytes(struct ws_buf *b, uint32_t field, const void *p, size_t n);
int pb_put_string(struct ws_buf *b, uint32_t field, const char *s);  /* NULL writes "" */

/* A proto3 string field must hold valid UTF-8 (the Collector rejects the whole request
 * otherwise) and traced bytes are not always UTF-8: invalid sequences become U+FFFD. */
int pb_put_utf8(struct ws_buf *b, uint32_t field, const char *s, size_t n);
/* Length of the well-formed UTF-8 sequence at p (1..4, n >= 1 bytes there), or 0 when
 * ill-formed; then *skip is the length of its maximal subpart, which one U+FFFD replaces. */
size_t pb_utf8_seq(const uint8_t *p, size_t n, size_t *skip);

/* Open a length-delimited field (embedded message). Returns the mark to give pb_end(). */
size_t pb_begin(struct ws_buf *b, uint32_t field);
/* Close the field opened at mark: write its length. 0 or the buffer's sticky -errno. */
int pb_end(struct ws_buf *b, size_t mark);

/* zigzag mapping of sint fields */
static inline uint64_t pb_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* Bytes a varint of v takes (1..10). */
size_t pb_varint_size(uint64_t v);
/* Write the varint of v at out (room for pb_varint_size(v) bytes); returns its size.
 * For encoders that size a small message first and write it with one room check. */
size_t pb_varint_write(uint8_t *out, uint64_t v);
/* Whether s[0..n) is well-formed UTF-8 (ASCII is checked 8 bytes at a time). */
bool pb_utf8_valid(const char *s, size_t n);

/* ---- reader ---------------------------------------------------------------- */

struct pb_reader {
	const uint8_t *p;
	const uint8_t *end;
};

struct pb_field {
	uint32_t field;
	enum pb_wire wt;
	uint64_t u;            /* PB_VARINT, PB_I64, PB_I32 value */
	const uint8_t *data;   /* PB_LEN body */
	size_t len;            /* PB_LEN body length */
};

static inline void pb_reader_init(struct pb_reader *r, const void *p, size_t n)
{
	r->p = p;
	r->end = (const uint8_t *)p + n;
}

int pb_get_varint(struct pb_reader *r, uint64_t *v);
/* Next field: 1 when one was read into f, 0 at the end of the message, -EBADMSG on a
 * truncated or malformed message (bad wire type, field 0, varint over 10 bytes,
 * length past the end). Groups (wire types 3/4) are rejected: OTLP never uses them. */
int pb_next(struct pb_reader *r, struct pb_field *f);

#endif /* WS_PB_H */
