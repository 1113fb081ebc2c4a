/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/2 (h2c; h2 once TLS plaintext reaches the same parser) and gRPC over it: a pure
 * core behind struct ws_proto_ops (proto.h). docs/proto-http2.md describes the model.
 *
 * One exchange per client stream: the client's header block announces the request
 * (WS_X_REQUEST), the exchange ends when both ends closed the stream (END_STREAM each
 * way), or it fails on RST_STREAM, on a GOAWAY that does not cover it, or at close().
 *
 * HPACK makes every header block depend on all earlier ones of its direction. Once a
 * block was not seen whole (uncaptured bytes, a gap, a broken CONTINUATION sequence, an
 * inflate error), no later path can be trusted: the parser fails what is pending and
 * gives the connection up (feed returns negative, capture() says WS_CAPTURE_OFF). It
 * never reports a field from a table it lost.
 */
#ifndef WS_PROTO_HTTP2_H
#define WS_PROTO_HTTP2_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

#define H2_METHOD_MAX 16
#define H2_SCHEME_MAX 16
#define H2_AUTHORITY_MAX 256
#define H2_PATH_MAX 512
#define H2_TRACEPARENT_MAX 64       /* a version-00 traceparent is 55 characters */
#define H2_TRACESTATE_MAX 256
#define H2_GRPC_MESSAGE_MAX 64      /* grpc-message kept for the status message only */

#define H2_HEADER_BLOCK_MAX 65536   /* one header block (HEADERS + CONTINUATION) */
#define H2_TABLE_SIZE_MAX 65536     /* SETTINGS_HEADER_TABLE_SIZE accepted per direction */
#define H2_MAX_STREAMS 128          /* open exchanges per connection */

/* Why an exchange, or the connection's parsing, was abandoned (ops->error_name). */
enum h2_error {
	H2_ERR_NONE = 0,
	H2_ERR_NO_PREFACE,          /* a direction does not start as HTTP/2 does */
	H2_ERR_GAP,                 /* bytes missing (sequence jump) where framing needs them */
	H2_ERR_UNCAPTURED,          /* a frame header or header block was not captured */
	H2_ERR_BAD_FRAME,           /* impossible frame (length, stream id, padding) */
	H2_ERR_HEADERS_TOO_LONG,    /* header block above H2_HEADER_BLOCK_MAX */
	H2_ERR_CONTINUATION,        /* CONTINUATION missing or out of order */
	H2_ERR_HPACK,               /* the inflater rejected a header block */
	H2_ERR_TABLE_SIZE,          /* SETTINGS_HEADER_TABLE_SIZE above H2_TABLE_SIZE_MAX */
	H2_ERR_BAD_REQUEST,         /* a request header block without :method */
	H2_ERR_TOO_MANY_STREAMS,    /* more than H2_MAX_STREAMS open: not tracked */
	H2_ERR_STREAM_RESET,        /* RST_STREAM before the exchange completed */
	H2_ERR_GOAWAY,              /* the server's GOAWAY did not cover the stream */
	H2_ERR_NO_MEMORY,
	H2_ERR_CLOSED,              /* the connection ended before the exchange did */
	H2_ERR__MAX,
};
const char *h2_error_name(unsigned err);

/* The parser's record of one exchange (ws_exchange.detail). */
struct h2_exchange {
	uint32_t stream_id;
	uint32_t rst_code;                      /* RST_STREAM error code when reset */
	uint16_t status;                        /* final :status, 0 when none was seen */
	int16_t grpc_status;                    /* grpc-status, -1 when none was seen */
	bool grpc;                              /* request content-type application/grpc[+-;] */
	bool reset;                             /* ended by RST_STREAM */
	bool field_truncated;                   /* a kept value was longer than its array */
	bool req_ended;                         /* the client sent END_STREAM */
	bool resp_ended;                        /* the server sent END_STREAM */
	bool resp_headers;                      /* a final response header block was seen */
	uint8_t _pad[2];
	uint64_t req_body_bytes;                /* DATA payload bytes each way (padding included) */
	uint64_t resp_body_bytes;
	char method[H2_METHOD_MAX];
	char scheme[H2_SCHEME_MAX];
	char authority[H2_AUTHORITY_MAX];       /* :authority, else Host */
	char path[H2_PATH_MAX];
	char traceparent[H2_TRACEPARENT_MAX];
	char tracestate[H2_TRACESTATE_MAX];
	char grpc_message[H2_GRPC_MESSAGE_MAX]; /* percent-decoded, printable ASCII only */
};

/* gRPC status code name (OK, CANCELLED, ...), NULL beyond 16. */
const char *h2_grpc_status_name(int code);
/* HTTP/2 error code name (NO_ERROR, CANCEL, ...), NULL when unknown. */
const char *h2_error_code_name(uint32_t code);

/* Span content (http2_span.c): the ops' span_request / span_response. */
struct ws_span;
void h2_span_request(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s);
void h2_span_response(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s);

/* PUSH_PROMISE frames seen on this connection (pushed streams are not spans). */
uint32_t h2_pushes(const void *st);

extern const struct ws_proto_ops ws_proto_http2;

#endif /* WS_PROTO_HTTP2_H */
