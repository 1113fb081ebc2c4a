/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The adoption bound for incoming trace context. A caller's span id names one call:
 * a few requests carrying it are retries, many are a context replayed by something
 * that is not a call (a pooled connection or a tunnel repeating one header, a poll
 * loop). Adopting those without bound grows one trace for hours (OBI #2551: 45,000
 * spans over 2.5 h). Past max_uses requests, or max_age after the first, the same
 * (trace id, span id) starts a new trace that links to it instead.
 *
 * A bounded table (oldest entry replaced, counted): a forgotten context is adopted
 * afresh, which is what a table without the bound would do, never a wrong parent.
 */
#ifndef WS_ADOPT_H
#define WS_ADOPT_H

#include <stdbool.h>
#include <stdint.h>

#define WS_ADOPT_SLOTS 4096     /* power of two */
#define WS_ADOPT_WAYS 4         /* entries searched per key */

struct ws_adopt_entry {
	uint64_t key;               /* hash of trace id and span id; 0 = free */
	uint64_t first_ns;
	uint64_t last_ns;
	uint32_t uses;
	uint32_t _pad;
};

struct ws_adopt {
	uint32_t max_uses;          /* adoptions of one context allowed (default 8) */
	uint32_t _pad;
	uint64_t max_age_ns;        /* and for this long after its first (default 300 s) */
	uint64_t bounded;           /* requests that started a new trace instead */
	uint64_t replaced;          /* live entries replaced by newer contexts */
	struct ws_adopt_entry e[WS_ADOPT_SLOTS];
};

void ws_adopt_init(struct ws_adopt *a, uint32_t max_uses, uint64_t max_age_ns);
/* May a request carrying this context adopt it (true), or must it start a new trace
 * linked to it (false, counted)? */
bool ws_adopt_allow(struct ws_adopt *a, const uint8_t trace_id[16], const uint8_t span_id[8], uint64_t now_ns);

#endif /* WS_ADOPT_H */
