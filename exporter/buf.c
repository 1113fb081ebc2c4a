/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ws_buf_init(struct ws_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void ws_buf_free(struct ws_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void ws_buf_reset(struct ws_buf *b)
{
	b->len = 0;
	b->err = 0;
}

int ws_buf_grow(struct ws_buf *b, size_t extra)
{
	size_t need, ncap;
	uint8_t *p;

	if (b->err)
		return b->err;
	if (extra > b->max || b->len > b->max - extra)
		return b->err = -E2BIG;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max)
		ncap = b->max;
	p = realloc(b->data, ncap);
	if (!p)
		return b->err = -ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int ws_buf_putc(struct ws_buf *b, char c)
{
	return ws_buf_append(b, &c, 1);
}

int ws_buf_puts(struct ws_buf *b, const char *s)
{
	return ws_buf_append(b, s, strlen(s));
}

int ws_buf_printf(struct ws_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, err;

	if (b->err)
		return b->err;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return b->err = -EINVAL;
	err = ws_buf_reserve(b, (size_t)n + 1);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}
