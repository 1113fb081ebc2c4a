/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Stream continuity and small-unit reassembly, shared by every stream parser.
 *
 * ws_stream_note() tells a parser, per chunk, what it must know before it parses the
 * bytes: that bytes are missing before this chunk (the kernel lost records, or a
 * capture budget withheld them), that the direction changed since the last chunk, and
 * that the chunk's tail was not captured. A parser that loses sync on a gap resyncs or
 * gives up, but never guesses across it.
 *
 * ws_unitbuf keeps the bytes of one incomplete unit (a frame header, a length-prefixed
 * message) across chunks, bounded by the caller's max: a unit longer than that is the
 * parser's to skip or to fail, never a reason to grow without bound.
 */
#ifndef WS_PROTO_STREAM_H
#define WS_PROTO_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

enum ws_stream_flags {
	WS_STREAM_GAP = 1u << 0,    /* bytes missing before this chunk (in this direction) */
	WS_STREAM_FLIP = 1u << 1,   /* the direction differs from the previous chunk's */
	WS_STREAM_TRUNC = 1u << 2,  /* captured < len: the chunk's tail is not available */
	WS_STREAM_FIRST = 1u << 3,  /* the first chunk of this direction */
};

/* Small on purpose: it lives in every parsed connection's state. */
struct ws_stream_dir {
	uint32_t next_seq;          /* seq expected next in this direction */
	bool has_next;
	bool seen;
	uint8_t _pad[2];
};

struct ws_stream {
	struct ws_stream_dir d[2];  /* indexed by enum ws_pdir */
	int8_t last_dir;            /* -1 before the first chunk */
	uint8_t _pad[3];
};

void ws_stream_init(struct ws_stream *s);
/* Account one chunk; returns WS_STREAM_* flags, *lost (may be NULL) the bytes missing
 * before it when WS_STREAM_GAP (0 when unknown: a flag without seq numbers). */
unsigned ws_stream_note(struct ws_stream *s, enum ws_pdir dir, const struct ws_chunk *ch, uint32_t *lost);

struct ws_unitbuf {
	uint8_t *buf;
	uint32_t len;
	uint32_t cap;
};

/* Append n bytes; the unit may hold at most max bytes. 0, -ENOSPC (would exceed max:
 * nothing appended) or -ENOMEM. */
int ws_unitbuf_append(struct ws_unitbuf *u, const uint8_t *p, uint32_t n, uint32_t max);
/* Forget the bytes (memory kept for the next unit if small, freed when large). */
void ws_unitbuf_reset(struct ws_unitbuf *u);
void ws_unitbuf_free(struct ws_unitbuf *u);

#endif /* WS_PROTO_STREAM_H */
