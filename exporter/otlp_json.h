/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * OTLP/JSON encoding of finished spans: one ExportTraceServiceRequest per call, in the
 * shape the OpenTelemetry Collector's file exporter writes and OTLP/HTTP (http/json)
 * accepts. Used by the JSON-lines file sink and the OTLP/HTTP exporter.
 */
#ifndef WS_OTLP_JSON_H
#define WS_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "../agent/span.h"
#include "buf.h"

/* OTLP Span.flags bits above the W3C trace flags: whether the parent context's
 * remoteness is known, and whether it is remote (opentelemetry-proto SpanFlags). */
#define WS_OTLP_FLAG_HAS_IS_REMOTE 0x100u
#define WS_OTLP_FLAG_IS_REMOTE     0x200u

/*
 * Append ONE ExportTraceServiceRequest for spans[0..n) to out as a single-line JSON
 * object (no trailing newline). Spans are grouped per resource (same pointer, or same
 * pid + start_time), groups in order of first appearance, spans in input order within
 * a group. All text is escaped; invalid UTF-8 becomes U+FFFD, so the output is valid
 * JSON for any span content. No allocation besides growing out.
 *
 * Returns 0, or the buffer's -errno (-E2BIG when out's limit is reached, -ENOMEM). On
 * error out is put back as it was on entry (length and no error), so a caller may retry
 * with fewer spans; a buffer already in error on entry is left alone and its error
 * returned.
 */
int ws_otlp_json_encode(const struct ws_span *const *spans, size_t n, struct ws_buf *out);

/* Append s (len bytes, arbitrary bytes) as a JSON string literal with quotes. Exposed
 * for tests and for other JSON writers. */
void ws_json_put_str(struct ws_buf *b, const char *s, size_t len);

/*
 * Length (2..4) of the well-formed UTF-8 sequence at p (p < end, *p >= 0x80), or 0
 * when ill-formed; then *skip is the length of the maximal ill-formed subpart (to be
 * replaced by one U+FFFD, Unicode's recommended practice). Shared with the terminal
 * sink, which must not pass broken or control sequences to a terminal either.
 */
size_t ws_utf8_seq(const uint8_t *p, const uint8_t *end, size_t *skip);

/* The JSON-lines file sink with an explicit line limit (ws_sink_file_new uses
 * WS_FILE_MAX_LINE). Batches whose line would exceed it are split into several lines. */
#define WS_FILE_MAX_LINE (4u << 20)
struct ws_sink;
struct ws_sink *ws_sink_file_new_max_line(const char *path, size_t max_line);

#endif /* WS_OTLP_JSON_H */
