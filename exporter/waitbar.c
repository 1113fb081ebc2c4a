/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdint.h>
#include <string.h>

#include "waitbar.h"

static uint64_t attr_ns(const struct ws_span *s, const char *key, int *have)
{
	const struct ws_attr *a = ws_span_find_attr(s, key);

	if (!a || a->type != WS_ATTR_INT || a->v.i < 0)
		return 0;
	(*have)++;
	return (uint64_t)a->v.i;
}

size_t ws_waitbar(const struct ws_span *s, char *out, size_t cap)
{
	uint64_t dur = s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
	int have = 0;
	struct { char ch; uint64_t ns; } part[5] = {
		{ 'q', attr_ns(s, "wirespan.queue.accept_ns", &have) +
		       attr_ns(s, "wirespan.queue.receive_ns", &have) },
		{ 'n', attr_ns(s, "wirespan.net.wait_ns", &have) },
		{ 'r', attr_ns(s, "wirespan.sched.runqueue_ns", &have) },
		{ 'c', attr_ns(s, "wirespan.sched.oncpu_ns", &have) },
		{ 'b', attr_ns(s, "wirespan.sched.blocked_ns", &have) },
	};
	uint64_t cum = 0;
	size_t n = 0, at = 1;

	if (cap)
		out[0] = '\0';
	if (!have || !dur || cap < WS_WAITBAR_CELLS + 3)
		return 0;
	out[0] = '[';
	/* Cells from cumulative boundaries, so rounding never adds up past the bar. */
	for (int i = 0; i < 5; i++) {
		uint64_t end = cum + part[i].ns > dur ? dur : cum + part[i].ns;
		size_t to = (size_t)((end * WS_WAITBAR_CELLS + dur / 2) / dur);

		while (n < to && n < WS_WAITBAR_CELLS)
			out[at + n++] = part[i].ch;
		cum = end;
	}
	while (n < WS_WAITBAR_CELLS)
		out[at + n++] = '.';
	out[at + n] = ']';
	out[at + n + 1] = '\0';
	return at + n + 1;
}
