/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The terminal's per-span breakdown bar (docs/waits.md): where a span's time went, one
 * letter per cell: q queue (accept + receive), r run queue, c on CPU, b blocked
 * (downstream calls, locks, I/O), n network wait, . not attributed.
 */
#ifndef WS_WAITBAR_H
#define WS_WAITBAR_H

#include <stddef.h>

#include "agent/span.h"

#define WS_WAITBAR_CELLS 20

/* Writes "[" + cells + "]" into out (cap >= WS_WAITBAR_CELLS + 3) from the span's
 * wirespan.* wait attributes. Returns the length, or 0 (out = "") when the span carries
 * none of them or has no duration. */
size_t ws_waitbar(const struct ws_span *s, char *out, size_t cap);

#endif /* WS_WAITBAR_H */
