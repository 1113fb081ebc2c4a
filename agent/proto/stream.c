/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Stream continuity and small-unit reassembly: see stream.h. */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ws_stream_init(struct ws_stream *s)
{
	memset(s, 0, sizeof(*s));
	s->last_dir = -1;
}

unsigned ws_stream_note(struct ws_stream *s, enum ws_pdir dir, const struct ws_chunk *ch, uint32_t *lost)
{
	struct ws_stream_dir *d = &s->d[dir & 1];
	unsigned fl = 0;
	uint32_t miss = 0;

	if (!d->seen)
		fl |= WS_STREAM_FIRST;
	if (s->last_dir >= 0 && s->last_dir != (int8_t)(dir & 1))
		fl |= WS_STREAM_FLIP;
	if (ch->captured < ch->len)
		fl |= WS_STREAM_TRUNC;
	/* TLS plaintext: its seq is the ciphertext's (record headers and tags, session
	 * tickets, alerts in between), so seq + plaintext length predicts nothing and a
	 * mismatch is no gap. The library hands over what it decrypted, in order: continuity
	 * by seq is unknown, not broken. */
	bool by_seq = !ch->datagram && ch->has_seq && !ch->tls;

	if (by_seq && d->has_next && ch->seq != d->next_seq) {
		/* Serial-number arithmetic: a chunk from before the expected point is a
		 * retransmission the kernel would not show a reader; treat any mismatch as
		 * a gap and count the forward distance only. */
		int32_t delta = (int32_t)(ch->seq - d->next_seq);

		fl |= WS_STREAM_GAP;
		miss = delta > 0 ? (uint32_t)delta : 0;
	}
	if (by_seq) {
		d->next_seq = ch->seq + ch->len;
		d->has_next = true;
	} else if (!ch->datagram) {
		d->has_next = false;   /* continuity unknown from here on */
	}
	d->seen = true;
	s->last_dir = (int8_t)(dir & 1);
	if (lost)
		*lost = miss;
	return fl;
}

#define UNITBUF_KEEP 4096   /* a buffer larger than this is freed at reset */

int ws_unitbuf_append(struct ws_unitbuf *u, const uint8_t *p, uint32_t n, uint32_t max)
{
	if (n == 0)
		return 0;
	if ((uint64_t)u->len + n > max)
		return -ENOSPC;
	if (u->len + n > u->cap) {
		uint32_t cap = u->cap ? u->cap : 64;
		uint8_t *nb;

		while (cap < u->len + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		nb = realloc(u->buf, cap);
		if (!nb)
			return -ENOMEM;
		u->buf = nb;
		u->cap = cap;
	}
	memcpy(u->buf + u->len, p, n);
	u->len += n;
	return 0;
}

void ws_unitbuf_reset(struct ws_unitbuf *u)
{
	u->len = 0;
	if (u->cap > UNITBUF_KEEP)
		ws_unitbuf_free(u);
}

void ws_unitbuf_free(struct ws_unitbuf *u)
{
	free(u->buf);
	u->buf = NULL;
	u->len = u->cap = 0;
}
