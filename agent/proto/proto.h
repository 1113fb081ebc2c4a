/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The protocol layer: every parser (HTTP/1, HTTP/2, Redis, PostgreSQL, MySQL, DNS, ...)
 * sits behind this one interface, and the centre of the agent (connections, span
 * assembly, parentage, exporters) sees nothing else.
 *
 * A parser is a pure core: bytes in, protocol-neutral exchange records out. It never
 * reads the clock, never allocates without a bound, and never trusts its input.
 *
 *   detect(first bytes) -> init(role) -> feed(chunk)* -> close(ts) -> free
 *
 * Record contract (the same for every protocol; the fuzzers check it):
 *   - every WS_X_REQUEST (req_index N, per connection, increasing from 1) is followed
 *     by exactly one WS_X_EXCHANGE or WS_X_ERROR with has_request and req_index N, at
 *     the latest from close();
 *   - a WS_X_ERROR without has_request is a counted loss no announced request waits for;
 *   - x->detail (and every pointer in the record) is valid only during the callback.
 *
 * The centre turns WS_X_REQUEST into an open span (calling span_request to name it and
 * set its attributes), then WS_X_EXCHANGE into a finished one (span_response adds the
 * response's attributes and status). An exchange without a response (a command the
 * protocol does not answer) ends at its request's end. A WS_X_ERROR ends the span as an
 * error when the connection closed first or the record is an outcome; a parse failure
 * drops it (counted). docs/protocols.md describes how to add a protocol.
 */
#ifndef WS_PROTO_PROTO_H
#define WS_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ws_span;
struct ws_tuple;

/* Protocol ids: one connection has exactly one. Values are stable (counters, tests). */
enum ws_proto_id {
	WS_PROTO_UNKNOWN = 0,   /* not decided yet */
	WS_PROTO_HTTP1 = 1,
	WS_PROTO_HTTP2 = 2,     /* h2c / h2 (and gRPC over it) */
	WS_PROTO_REDIS = 3,
	WS_PROTO_POSTGRES = 4,
	WS_PROTO_MYSQL = 5,
	WS_PROTO_DNS = 6,
	WS_PROTO__COUNT,        /* ids below this are parsers */
	WS_PROTO_NONE = 255,    /* no parser claims it: bytes are counted only */
};

/* Direction of a chunk, as the traced process saw it (same values as enum ws_dir). */
enum ws_pdir {
	WS_PDIR_EGRESS = 0,     /* the traced process wrote these bytes */
	WS_PDIR_INGRESS = 1,    /* the traced process read these bytes */
};

/* Which end of the connection the traced process is (same values as enum ws_role). */
enum ws_prole {
	WS_PROLE_UNKNOWN = 0,   /* socket learned on first use: the parser may learn it */
	WS_PROLE_SERVER = 1,    /* accepted: requests are ingress */
	WS_PROLE_CLIENT = 2,    /* connected: requests are egress */
};

/* One chunk of bytes moved by one syscall (a datagram for UDP). */
struct ws_chunk {
	const uint8_t *data;    /* captured bytes (NULL when captured == 0) */
	uint32_t captured;      /* bytes available at data (<= len) */
	uint32_t len;           /* real length of the chunk */
	uint32_t seq;           /* TCP sequence number of the first byte (when has_seq) */
	uint32_t tid;           /* thread that moved it */
	uint64_t enter_ns;      /* syscall entry (CLOCK_MONOTONIC) */
	uint64_t exit_ns;       /* syscall exit */
	bool has_seq;
	bool datagram;          /* one message per chunk (UDP): no stream continuity */
	bool tls;               /* plaintext from a TLS library call: seq is the ciphertext's
				 * and names only the chunk's first byte (ws_tls_offset_seq_ok) */
	uint8_t _pad[5];
};

/* The most plaintext one TLS record carries. */
#define WS_TLS_MAX_PLAINTEXT 16384

/*
 * TLS plaintext: may a message starting at off in the chunk carry seq + off as its key?
 * At off 0 the seq is the first ciphertext byte of the record that carried it. A chunk
 * of at most one record's plaintext came in one record on both ends (OpenSSL writes
 * one record per call up to 16384 bytes, and SSL_read returns one record's data at
 * most), so seq + off names the same message on both ends; it never equals another
 * record's seq either, since ciphertext is longer than its plaintext. Pipelined
 * requests in one write (Redis pipelines, MULTI/EXEC) keep their link that way.
 */
static inline bool ws_tls_offset_seq_ok(const struct ws_chunk *ch, uint32_t off)
{
	return !ch->tls || off == 0 || ch->len <= WS_TLS_MAX_PLAINTEXT;
}

/* Where a message starts and ends in time, and who moved its bytes. */
struct ws_msg_times {
	uint64_t first_enter_ns;  /* the chunk holding the message's first byte */
	uint64_t first_exit_ns;
	uint64_t last_enter_ns;   /* the chunk holding its last byte */
	uint64_t last_exit_ns;
	uint32_t first_tid;
	uint32_t last_tid;
	uint32_t seq;             /* TCP sequence number of the message's first byte */
	bool has_seq;
	uint8_t _pad[3];
};

/* Fold a chunk into a message's times. The first call (t->first_enter_ns == 0) sets the
 * start; off is the offset in the chunk of the message's first byte (its seq is the
 * chunk's seq + off). Every call sets the end. */
void ws_msg_times_add(struct ws_msg_times *t, const struct ws_chunk *ch, uint32_t off);

enum ws_x_type {
	WS_X_REQUEST = 1,       /* a request is known (its reply is still to come) */
	WS_X_EXCHANGE = 2,      /* its reply is complete: request + response */
	WS_X_ERROR = 3,         /* the exchange was abandoned; err says why */
};

/* ops->feed's answer when the connection continues in TLS (see feed). */
#define WS_FEED_TLS (-0x10000)

/* The protocol-neutral exchange record. */
struct ws_exchange {
	uint8_t type;           /* enum ws_x_type */
	uint8_t proto;          /* enum ws_proto_id */
	uint16_t err;           /* parser-specific reason (ops->error_name), 0 = none */
	uint32_t req_index;
	bool has_request;
	bool has_response;
	bool uncaptured;        /* WS_X_REQUEST: the request's start was not captured, nothing
				 * about it is known: the centre counts it and opens no span */
	bool truncated;         /* fields are missing because bytes were not captured */
	bool closed;            /* WS_X_ERROR: the connection ended before the reply */
	bool outcome;           /* WS_X_ERROR: not a parse failure but how the request really
				 * ended (timeout, stream reset, aborted pipeline): the centre
				 * emits the span with status ERROR and error.type the reason's
				 * name, then calls span_response, which may refine both */
	uint8_t _pad[2];
	struct ws_msg_times req;
	struct ws_msg_times resp;
	/* Propagated context carried by the request (W3C traceparent/tracestate), NUL
	 * terminated, or NULL when it carries none. */
	const char *traceparent;
	const char *tracestate;
	const void *detail;     /* the parser's own record, for its span_* callbacks */
};

typedef void (*ws_x_emit_fn)(void *ctx, const struct ws_exchange *x);

/* What span_* callbacks may use besides the record. */
struct ws_span_info {
	const struct ws_tuple *tuple;  /* local (s*) and remote (d*) ends of the connection */
	uint8_t role;                  /* enum ws_prole as resolved by the parser */
	bool sanitize;                 /* query texts: literals become '?' (default true) */
	bool tls;                      /* the bytes were TLS plaintext (https, rediss, ...) */
	uint8_t _pad[5];
};

/* detect() answers. */
enum ws_detect {
	WS_DETECT_NO = 0,       /* these bytes are not this protocol */
	WS_DETECT_YES = 1,      /* they are */
	WS_DETECT_MORE = 2,     /* too few bytes to say */
};

/* What a connection's parser needs the kernel to copy (the per-socket capture policy). */
enum ws_capture {
	WS_CAPTURE_DEFAULT = 0, /* the global per-message budget (--capture-bytes) */
	WS_CAPTURE_OFF = 1,     /* nothing: the parser gave up, lengths still count */
	WS_CAPTURE_ALL = 2,     /* every byte up to the per-syscall cap (HTTP/2's HPACK state) */
};

struct ws_proto_ops {
	uint8_t id;             /* enum ws_proto_id */
	const char *name;       /* lowercase, used in counter names: proto_<name>_... */
	/*
	 * Do these bytes (the start of the connection in direction dir) begin this
	 * protocol? role is the kernel's, port the server's port (a hint for ambiguous
	 * byte patterns only: never the sole reason for WS_DETECT_YES). Pure, cheap.
	 */
	int (*detect)(const uint8_t *data, uint32_t len, enum ws_pdir dir, enum ws_prole role,
		      uint16_t server_port);
	/* Parser state for one connection, or NULL when out of memory. */
	void *(*init)(enum ws_prole role);
	/*
	 * One chunk in direction dir. Emits records through emit. Returns 0, or a negative
	 * value once the connection's parsing is abandoned for good (the centre stops
	 * feeding it, counts it and sets WS_CAPTURE_OFF). len == 0 is ignored.
	 * WS_FEED_TLS instead: the protocol upgraded the connection to TLS in band (a
	 * PostgreSQL or MySQL SSLRequest that was accepted). Not an error: the centre drops
	 * the parser (counted proto_<name>_tls_upgrades), the ciphertext that follows is
	 * never parsed, and the TLS library's plaintext restarts detection.
	 */
	int (*feed)(void *st, enum ws_pdir dir, const struct ws_chunk *ch, ws_x_emit_fn emit, void *ctx);
	/* The connection ended at ts: end or fail whatever is pending. Final. */
	void (*close)(void *st, uint64_t ts_ns, ws_x_emit_fn emit, void *ctx);
	void (*free)(void *st);
	/*
	 * Optional placement: a parser whose state is small and fixed says its size; the
	 * centre then places it inside the connection's own allocation (init_at on
	 * state_size bytes aligned to 16, released with fini, which frees what the state
	 * holds but not the state itself). One allocation per connection keeps long-lived
	 * memory together instead of scattered between short-lived spans.
	 */
	size_t state_size;
	int (*init_at)(void *mem, enum ws_prole role);   /* 0, or -ENOMEM */
	void (*fini)(void *st);
	/* Time passed with no bytes (optional): end what waits past the protocol's own
	 * timeout as of now_ns (a DNS query nobody answered on a socket that is never
	 * used again). The centre calls it for datagram pairs with requests pending. */
	void (*expire)(void *st, uint64_t now_ns, ws_x_emit_fn emit, void *ctx);
	/* The role the parser settled on (a WS_PROLE_UNKNOWN start may learn it). */
	enum ws_prole (*role)(const void *st);
	/* What the kernel should copy for this connection now. NULL: WS_CAPTURE_DEFAULT. */
	enum ws_capture (*capture)(const void *st);
	/*
	 * Span content. span_request (at WS_X_REQUEST) names the span and sets its
	 * request attributes; span_response (at WS_X_EXCHANGE) adds the response's
	 * attributes and, on failure, status_code/status_message and error.type.
	 * Kind, times, ids and parentage belong to the centre.
	 */
	void (*span_request)(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s);
	void (*span_response)(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s);
	/* Reason names for err values 1 .. n_errors-1 (counters proto_<name>_error_<reason>). */
	const char *(*error_name)(unsigned err);
	unsigned n_errors;
	/* Reasons that are not parse errors (the connection closed before the reply):
	 * counted under their name but not in proto_<name>_parse_errors. 0: none. */
	unsigned err_closed;
	/* Process-wide counters of the parser (its memory pools, ...) as "  name value"
	 * lines, names prefixed proto_<name>_. NULL: none. */
	void (*report)(FILE *out);
};

/* A 16-byte address (v4-mapped for IPv4) as text: dotted quad or RFC 5952 IPv6. */
void ws_proto_addr_str(const uint8_t a[16], char *out, size_t len);

/* Attributes of the connection's ends, the same for every protocol: network.peer.address
 * and network.peer.port; a CLIENT span gets server.address/server.port (the remote end),
 * a SERVER span client.address/client.port (remote) and server.port (local). A parser
 * that knows better (HTTP's Host) sets its own instead of calling this. */
void ws_proto_set_peer_attrs(const struct ws_span_info *si, struct ws_span *s);

/* The registry: every parser, in the order detection tries them. */
const struct ws_proto_ops *ws_proto_by_id(unsigned id);
size_t ws_proto_count(void);
const struct ws_proto_ops *ws_proto_at(size_t i);

#endif /* WS_PROTO_PROTO_H */
