/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Request/response FIFO: see pairing.h. */
#include "pairing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ws_fifo_init(struct ws_fifo *q, uint16_t max)
{
	memset(q, 0, sizeof(*q));
	q->max = max ? max : 1;
	q->next_index = 1;
}

static int grow(struct ws_fifo *q)
{
	uint16_t cap = q->cap ? (uint16_t)(q->cap * 2) : 2;
	struct ws_fifo_item *ni;

	if (cap > q->max || cap < q->cap)
		cap = q->max;
	ni = malloc((size_t)cap * sizeof(*ni));
	if (!ni)
		return -ENOMEM;
	for (uint16_t i = 0; i < q->n; i++)
		ni[i] = q->items[(q->head + i) % q->cap];
	free(q->items);
	q->items = ni;
	q->cap = cap;
	q->head = 0;
	return 0;
}

struct ws_fifo_item *ws_fifo_push(struct ws_fifo *q, int *err)
{
	struct ws_fifo_item *it;
	int e;

	if (q->n >= q->max) {
		if (err)
			*err = -ENOSPC;
		return NULL;
	}
	if (q->n == q->cap && (e = grow(q)) != 0) {
		if (err)
			*err = e;
		return NULL;
	}
	it = &q->items[(q->head + q->n) % q->cap];
	memset(it, 0, sizeof(*it));
	it->req_index = q->next_index++;
	q->n++;
	if (err)
		*err = 0;
	return it;
}

struct ws_fifo_item *ws_fifo_front(struct ws_fifo *q)
{
	return q->n ? &q->items[q->head] : NULL;
}

struct ws_fifo_item *ws_fifo_at(struct ws_fifo *q, uint16_t i)
{
	return i < q->n ? &q->items[(q->head + i) % q->cap] : NULL;
}

void ws_fifo_pop(struct ws_fifo *q)
{
	if (!q->n)
		return;
	q->head = (uint16_t)((q->head + 1) % q->cap);
	q->n--;
	if (!q->n)
		q->head = 0;
}

void ws_fifo_trim(struct ws_fifo *q)
{
	if (q->n == 0 && q->items) {
		free(q->items);
		q->items = NULL;
		q->cap = 0;
		q->head = 0;
	}
}

void ws_fifo_free(struct ws_fifo *q)
{
	free(q->items);
	q->items = NULL;
	q->cap = q->n = q->head = 0;
}
