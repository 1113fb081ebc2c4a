/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Null sink: counts and discards. For benchmarks that run the full pipeline (ring
 * buffer, parsing, span assembly) without paying for any output.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sink.h"

struct null_sink {
	struct ws_sink sink;
	uint64_t spans, batches;
};

static void null_emit(struct ws_sink *s, const struct ws_span *const *spans, size_t n)
{
	struct null_sink *ns = s->priv;

	ns->spans += n;
	ns->batches++;
}

static void null_tick(struct ws_sink *s, uint64_t now_mono_ns)
{
}

static int null_flush(struct ws_sink *s, uint64_t deadline_mono_ns)
{
	return 0;
}

static void null_report(struct ws_sink *s, FILE *out)
{
	struct null_sink *ns = s->priv;

	fprintf(out, "null_spans %llu\n", (unsigned long long)ns->spans);
	fprintf(out, "null_batches %llu\n", (unsigned long long)ns->batches);
}

static void null_destroy(struct ws_sink *s)
{
	if (s)
		free(s->priv);
}

static const struct ws_sink_ops null_ops = {
	.name = "null",
	.emit = null_emit,
	.tick = null_tick,
	.flush = null_flush,
	.report = null_report,
	.destroy = null_destroy,
};

struct ws_sink *ws_sink_null_new(void)
{
	struct null_sink *ns = calloc(1, sizeof(*ns));

	if (!ns) {
		fprintf(stderr, "wirespan: null sink: out of memory\n");
		return NULL;
	}
	ns->sink.ops = &null_ops;
	ns->sink.priv = ns;
	return &ns->sink;
}
