/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * OTLP protobuf encoding of spans: one opentelemetry.proto.collector.trace.v1.
 * ExportTraceServiceRequest per call, and decoding of its response.
 *
 * Field numbers follow opentelemetry-proto (trace.proto, common.proto, resource.proto,
 * trace_service.proto); tests/integration/test_otlp_wire.sh has a third-party decoder
 * judge the bytes. docs/otlp-export.md lists the choices below.
 *
 * Grouping: spans of one process (same ws_resource pointer, or same pid + start_time)
 * share one ResourceSpans with one ScopeSpans (scope "wirespan", version WS_VERSION);
 * spans without a resource share one whose service.name is "unknown_service".
 *
 * Span.flags (fixed32): the W3C trace flags in bits 0-7, bit 8 (has is_remote) always
 * set as the OTel SDKs do, bit 9 when the parent came from another process. Link.flags
 * is built the same way from the link's own context. Same values as otlp_json.c.
 * Resource groups come in order of their first span, spans in batch order.
 */
#ifndef WS_OTLP_PROTO_H
#define WS_OTLP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "../agent/span.h"
#include "buf.h"

#ifndef WS_VERSION
#define WS_VERSION "0.0.0"
#endif

#define WS_SCOPE_NAME "wirespan"

/* SpanFlags bits of opentelemetry-proto trace.proto */
#define WS_OTLP_FLAGS_TRACE_MASK 0xffu
#define WS_OTLP_FLAGS_HAS_IS_REMOTE 0x100u
#define WS_OTLP_FLAGS_IS_REMOTE 0x200u

/* Append one ExportTraceServiceRequest holding spans[0..n) to out.
 * 0, -EINVAL (NULL span), -ENOMEM, or -E2BIG when it does not fit out->max; on error
 * out->len is restored to what it was, so a caller may retry with fewer spans. */
int ws_otlp_proto_encode(const struct ws_span *const *spans, size_t n, struct ws_buf *out);

/* The flags value written for a span. */
uint32_t ws_otlp_span_flags(const struct ws_span *s);

struct ws_otlp_partial {
	int64_t rejected_spans;
	char error_message[256];   /* truncated to fit, NUL-terminated */
};

/* Decode an ExportTraceServiceResponse body (protobuf). An empty body is a valid
 * response with nothing rejected. 0 or -EBADMSG. */
int ws_otlp_proto_decode_response(const void *body, size_t len, struct ws_otlp_partial *out);

#endif /* WS_OTLP_PROTO_H */
