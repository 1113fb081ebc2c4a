/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A growable byte buffer with a hard size limit, for encoders (OTLP JSON, protobuf).
 * Errors are sticky: after the first failure (limit reached, no memory) every append
 * is a no-op and ws_buf_error() returns the first -errno, so encoders check once at the end.
 */
#ifndef WS_BUF_H
#define WS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct ws_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;     /* hard limit on len */
	int err;        /* 0 or the first -errno */
};

void ws_buf_init(struct ws_buf *b, size_t max);
void ws_buf_free(struct ws_buf *b);
void ws_buf_reset(struct ws_buf *b);                 /* len = 0, err = 0, keeps memory */
int ws_buf_grow(struct ws_buf *b, size_t extra);     /* the slow path of ws_buf_reserve */

/* Make room for extra more bytes. Inline: encoders call it for every field, and the
 * common case (room already there) is two compares (bench/otlp_cost.c measured the
 * out-of-line call at a fifth of the protobuf encoder's instructions). */
static inline int ws_buf_reserve(struct ws_buf *b, size_t extra)
{
	if (!b->err && extra <= b->cap - b->len)
		return 0;
	return ws_buf_grow(b, extra);
}

static inline int ws_buf_append(struct ws_buf *b, const void *p, size_t n)
{
	int err = ws_buf_reserve(b, n);

	if (err)
		return err;
	if (n)
		__builtin_memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int ws_buf_putc(struct ws_buf *b, char c);
int ws_buf_puts(struct ws_buf *b, const char *s);
int ws_buf_printf(struct ws_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int ws_buf_error(const struct ws_buf *b) { return b->err; }

#endif /* WS_BUF_H */
