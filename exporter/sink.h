/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One small interface for every output: terminal, OTLP JSON-lines file, OTLP/HTTP, null.
 *
 * The agent's event loop calls emit() with spans whose parentage is final (trace id,
 * parent id decided). emit() must not block: a sink that does I/O that can stall
 * (network) queues and works on its own thread. Spans passed to emit() are valid only
 * during the call; a sink that keeps them copies them and takes a resource reference.
 *
 * tick() is called from the event loop about every 100 ms (flush timers, trace
 * grouping). flush() is called at shutdown with a deadline; after it, destroy().
 */
#ifndef WS_SINK_H
#define WS_SINK_H

#include <stdint.h>
#include <stdio.h>

#include "../agent/span.h"

struct ws_sink;

struct ws_sink_ops {
	const char *name;
	void (*emit)(struct ws_sink *s, const struct ws_span *const *spans, size_t n);
	void (*tick)(struct ws_sink *s, uint64_t now_mono_ns);
	/* Deliver everything queued, giving up at deadline (CLOCK_MONOTONIC ns). 0 or -errno. */
	int (*flush)(struct ws_sink *s, uint64_t deadline_mono_ns);
	/* Print this sink's self-metrics as "name value" lines (the agent's counters report). */
	void (*report)(struct ws_sink *s, FILE *out);
	void (*destroy)(struct ws_sink *s);
};

struct ws_sink {
	const struct ws_sink_ops *ops;
	void *priv;
};

/* Constructors. Each returns NULL and prints why on stderr on failure. */
struct ws_sink *ws_sink_terminal_new(FILE *out);
struct ws_sink *ws_sink_file_new(const char *path);   /* OTLP/JSON lines, appended */
struct ws_sink *ws_sink_null_new(void);

#endif /* WS_SINK_H */
