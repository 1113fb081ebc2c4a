/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/1.0 and HTTP/1.1 exchange parser: a pure core with no I/O.
 *
 * Input: the chunks of one TCP connection as the traced process saw them, in order
 * per direction, each with its real length and the (possibly truncated) bytes that
 * were captured. Output: records (request seen, exchange complete, error) that span
 * assembly turns into spans. The parser never invents fields: what was not captured
 * is reported as unknown (empty string / 0) with a truncation flag.
 *
 * One struct h1_conn per connection. Requests travel in one direction and responses
 * in the other; which is which is given by the role (server: requests are ingress;
 * client: requests are egress) or, for H1_ROLE_DETECT, learned from the first bytes.
 *
 * Event contract: every H1_EV_REQUEST (req_index N) is followed by exactly one
 * H1_EV_EXCHANGE or H1_EV_ERROR with has_request and req_index N, at the latest from
 * h1_conn_close. An H1_EV_ERROR with has_request == false is a counted loss that no
 * announced request is waiting for. docs/http1.md describes every case.
 */
#ifndef WS_PROTO_HTTP1_H
#define WS_PROTO_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define H1_METHOD_MAX 16
#define H1_TARGET_MAX 512      /* request-target kept (truncated beyond; flag set) */
#define H1_HOST_MAX 256
#define H1_TRACEPARENT_MAX 64  /* a version-00 traceparent value is 55 characters */
#define H1_TRACESTATE_MAX 256
#define H1_HEADER_BLOCK_MAX 16384 /* a header block longer than this is malformed */
#define H1_MAX_PENDING 32      /* pipelined requests awaiting a response */

enum h1_role {
	H1_ROLE_DETECT = 0,    /* learn from the first message: a request line or a status line */
	H1_ROLE_SERVER = 1,    /* requests are read (ingress), responses written (egress) */
	H1_ROLE_CLIENT = 2,    /* requests are written (egress), responses read (ingress) */
};

enum h1_dir {
	H1_DIR_EGRESS = 0,     /* same values as enum ws_dir */
	H1_DIR_INGRESS = 1,
};

/* Why an exchange (or the connection's parsing) was abandoned. Counted by the agent. */
enum h1_error {
	H1_ERR_NONE = 0,
	H1_ERR_NOT_HTTP,           /* first bytes are not an HTTP/1 request or status line */
	H1_ERR_BAD_REQUEST_LINE,
	H1_ERR_BAD_STATUS_LINE,
	H1_ERR_BAD_HEADER,         /* header line without colon, bad characters, ... */
	H1_ERR_HEADERS_TOO_LONG,   /* header block longer than H1_HEADER_BLOCK_MAX */
	H1_ERR_BAD_CONTENT_LENGTH, /* unparsable or conflicting Content-Length */
	H1_ERR_BAD_CHUNK,          /* malformed chunk-size line or missing CRLF */
	H1_ERR_UNCAPTURED,         /* framing depends on bytes that were not captured */
	H1_ERR_GAP,                /* chunks are missing (sequence jump, lost events) */
	H1_ERR_RESPONSE_WITHOUT_REQUEST,
	H1_ERR_TOO_MANY_PENDING,   /* more than H1_MAX_PENDING pipelined requests */
	H1_ERR_CLOSED_INCOMPLETE,  /* connection ended in the middle of a message */
	H1_ERR_UPGRADE,            /* switched protocols (101 / CONNECT): no longer HTTP/1 */
	H1_ERR_NO_MEMORY,          /* the block pool was exhausted: request not tracked */
	H1_ERR__MAX,
};
const char *h1_error_name(enum h1_error e);

/* Chunks and message times are the protocol layer's (proto.h): struct ws_chunk and
 * struct ws_msg_times. */

struct h1_request {
	char method[H1_METHOD_MAX];
	char target[H1_TARGET_MAX];          /* raw request-target as sent (origin-form path?query, or absolute-form) */
	char host[H1_HOST_MAX];              /* Host header value, empty when absent/uncaptured */
	char traceparent[H1_TRACEPARENT_MAX];/* raw traceparent header value, empty when absent */
	char tracestate[H1_TRACESTATE_MAX];
	uint8_t version_minor;               /* HTTP/1.x */
	bool target_truncated;
	bool headers_truncated;              /* the header block was not fully captured */
	bool chunked;
	bool end_inferred;                   /* end not delimited by parsing (framing not captured, or
						cut by close): ended at a direction change or close */
	bool connection_close;               /* Connection: close, or HTTP/1.0 without keep-alive */
	int64_t content_length;              /* -1 when absent */
	uint64_t body_bytes;                 /* bytes after the header block (real counts; for chunked
						bodies the chunk framing and trailers included) */
	uint64_t wire_bytes;                 /* whole message bytes (start line to last byte) */
	struct ws_msg_times t;
};

struct h1_response {
	uint16_t status;                     /* 0 when the exchange has no response */
	uint8_t version_minor;
	bool headers_truncated;
	bool chunked;
	bool close_delimited;                /* body ended by connection close */
	bool end_inferred;                   /* as in h1_request */
	bool connection_close;
	int64_t content_length;              /* -1 when absent */
	uint64_t body_bytes;
	uint64_t wire_bytes;
	struct ws_msg_times t;
};

enum h1_event_type {
	H1_EV_REQUEST = 1,     /* a request's header block is complete (its response is yet to come) */
	H1_EV_EXCHANGE = 2,    /* a response is complete: request + response */
	H1_EV_ERROR = 3,       /* parsing of an exchange was abandoned; err says why */
};

struct h1_event {
	uint8_t type;          /* enum h1_event_type */
	uint8_t err;           /* enum h1_error, for H1_EV_ERROR (and H1_EV_EXCHANGE ended early) */
	uint16_t _pad;
	uint32_t req_index;    /* per-connection request counter: pairs H1_EV_REQUEST with H1_EV_EXCHANGE */
	struct h1_request req;    /* H1_EV_REQUEST, H1_EV_EXCHANGE (and H1_EV_ERROR when a request was known) */
	struct h1_response resp;  /* H1_EV_EXCHANGE */
	bool has_request;
	bool has_response;
};

/* Opaque-ish per-connection state; callers allocate it (sizeof is public) but do not touch fields. */
struct h1_dir_state;
struct h1_conn {
	uint8_t role;            /* enum h1_role, resolved after detection */
	bool dead;               /* parsing abandoned for good (not HTTP, upgrade) */
	bool impl_inline;        /* impl lives in the caller's memory (h1_conn_init_in) */
	uint8_t _pad;
	uint32_t next_req_index; /* req_index of the next announced request (starts at 1) */
	uint64_t skipped_bytes;  /* bytes not attributed to any message (resync, unknown role) */
	void *impl;              /* parser state, owned; freed by h1_conn_free */
};

/* Event sink the parser calls for every record it produces. */
typedef void (*h1_emit_fn)(void *ctx, const struct h1_event *ev);

int h1_conn_init(struct h1_conn *c, enum h1_role role);   /* 0 or -ENOMEM */
/* The same with the parser state placed in memory the caller provides (h1_impl_size()
 * bytes, aligned for any type) and frees: one allocation per connection. */
size_t h1_impl_size(void);
#define H1_IMPL_MAX 592   /* h1_impl_size() is at most this (checked at compile time) */
int h1_conn_init_in(struct h1_conn *c, enum h1_role role, void *impl_mem);

/*
 * Per-message memory. A connection at rest holds only its state machine; a message
 * takes a block from one process-wide pool when it starts (a request's kept fields:
 * target, host, traceparent, tracestate) and one for the requests awaiting their
 * response (the FIFO, when one is pending), and gives it back when it ends. At most
 * max_blocks are in use (0: unbounded); past that a request is parsed without its kept
 * fields (fields_dropped), or is not tracked (H1_ERR_NO_MEMORY). keep_free blocks wait
 * on a free list for reuse; the rest go back to malloc. Not thread-safe (one loop).
 */
#define H1_POOL_MAX_DEFAULT 65536
#define H1_POOL_KEEP_DEFAULT 4096
struct h1_pool_stats {
	uint64_t block_size;
	uint64_t max_blocks;
	uint64_t in_use;
	uint64_t in_use_max;
	uint64_t free_blocks;
	uint64_t gets;
	uint64_t exhausted;       /* blocks refused (limit reached or no memory) */
	uint64_t fields_dropped;  /* requests parsed without their kept fields */
};
void h1_pool_limits(uint64_t max_blocks, uint64_t keep_free);
void h1_pool_shrink(void);   /* free the blocks waiting on the free list */
/* Whole start and header lines at once (the default), or every byte through the byte
 * machine: the same events either way; off only to test the one against the other. */
void h1_line_scan(bool on);
void h1_pool_get_stats(struct h1_pool_stats *out);
void h1_conn_free(struct h1_conn *c);

/* Feed one chunk moved in direction dir. Calls emit (may be NULL) for every record
 * produced. A chunk with len == 0 is ignored (an EOF is h1_conn_close). captured is
 * clamped to len. Returns 0, a negative h1_error when the connection's parsing is
 * abandoned (now or before: -H1_ERR_NOT_HTTP, -H1_ERR_UPGRADE), or -EINVAL for NULL
 * arguments. After h1_conn_close, chunks are ignored (returns 0). */
int h1_conn_feed(struct h1_conn *c, enum h1_dir dir, const struct ws_chunk *ch, h1_emit_fn emit, void *ctx);

/* The peer closed (a read returned 0) or the connection ended, at time ts.
 * Ends a close-delimited response (H1_EV_EXCHANGE), reports what was left incomplete
 * (H1_EV_ERROR with H1_ERR_CLOSED_INCOMPLETE, one per pending request). Final: later
 * chunks are ignored. Message times come from the chunks, never from ts. */
void h1_conn_close(struct h1_conn *c, uint64_t ts_ns, h1_emit_fn emit, void *ctx);

/* Quick test used for protocol detection: do these bytes start like an HTTP/1 request
 * line (1) or status line (2), or neither (0)? Needs at least a few bytes; returns -1
 * when too few bytes are given to decide. */
int h1_detect(const uint8_t *data, size_t len);

#endif /* WS_PROTO_HTTP1_H */
