/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The OTLP/HTTP trace sink: spans go to a collector (OpenTelemetry Collector, Jaeger,
 * Tempo, ...) as ExportTraceServiceRequest POSTs, protobuf or JSON, optionally gzip.
 *
 * emit() only copies spans into a bounded queue under a mutex (never I/O, never a
 * wait on the network): the ring-buffer consumer keeps its pace whatever the
 * collector does. A worker thread sends batches (max_batch_spans, or whatever is
 * queued once the oldest span has waited schedule_delay_ms) over one keep-alive
 * connection, retries 429/502/503/504 and connection failures with full-jitter
 * backoff and Retry-After within export_timeout_ms per batch, and counts every span
 * that does not arrive (exporter/otlp_queue.h lists the counters and their identities).
 * flush(deadline) sends what is queued and counts what is left at the deadline as
 * dropped (shutdown). docs/otlp-export.md has the details.
 */
#ifndef WS_OTLP_HTTP_H
#define WS_OTLP_HTTP_H

#include "otlp_config.h"
#include "otlp_queue.h"
#include "sink.h"

/* A sink exporting to cfg->endpoint (cfg must be enabled and valid; it is copied).
 * NULL with a message on stderr on failure. */
struct ws_sink *ws_sink_otlp_http_new(const struct ws_otlp_config *cfg);

/* A consistent snapshot of the sink's counters (tests, benchmarks). s must be a sink
 * made by ws_sink_otlp_http_new. */
void ws_sink_otlp_http_stats(struct ws_sink *s, struct ws_otlp_stats *out);

#endif /* WS_OTLP_HTTP_H */
