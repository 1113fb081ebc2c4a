/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Request/response pairing shared by the parsers of in-order protocols (HTTP/1,
 * RESP, PostgreSQL, MySQL): a FIFO of the requests awaiting their reply, so pipelined
 * requests pair with replies in order. Bounded: a push past max fails (the parser
 * reports the request as lost, counted, and stops pairing that connection until the
 * queue drains or gives up). The array grows on demand and is freed by ws_fifo_trim
 * when empty, so a connection at rest holds none.
 *
 * Each item carries the request's req_index (assigned at push, increasing from 1 per
 * connection), its times, and a pointer the parser owns (its per-request fields).
 */
#ifndef WS_PROTO_PAIRING_H
#define WS_PROTO_PAIRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct ws_fifo_item {
	uint32_t req_index;
	uint32_t _pad;
	struct ws_msg_times t;      /* the request's times */
	void *data;                 /* parser-owned: free it before ws_fifo_pop */
};

struct ws_fifo {
	struct ws_fifo_item *items; /* ring of cap items */
	uint16_t head;
	uint16_t n;
	uint16_t cap;
	uint16_t max;               /* most items pending at once */
	uint32_t next_index;        /* req_index of the next push (starts at 1) */
	uint32_t _pad;
};

void ws_fifo_init(struct ws_fifo *q, uint16_t max);
/* A new item at the back with its req_index set (times zeroed, data NULL), or NULL
 * when max items are pending (-ENOSPC in *err) or out of memory (-ENOMEM). */
struct ws_fifo_item *ws_fifo_push(struct ws_fifo *q, int *err);
/* The oldest pending item, or NULL. */
struct ws_fifo_item *ws_fifo_front(struct ws_fifo *q);
/* The i-th pending item from the front (0 = front), or NULL. */
struct ws_fifo_item *ws_fifo_at(struct ws_fifo *q, uint16_t i);
/* Remove the front item (its data must already be released). */
void ws_fifo_pop(struct ws_fifo *q);
static inline uint16_t ws_fifo_len(const struct ws_fifo *q) { return q->n; }
/* Free the array when nothing is pending. */
void ws_fifo_trim(struct ws_fifo *q);
/* Free the array (items' data must already be released). */
void ws_fifo_free(struct ws_fifo *q);

#endif /* WS_PROTO_PAIRING_H */
