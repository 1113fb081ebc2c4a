/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Span assembly: ring-buffer records in, finished spans out. A pure core: it never reads
 * /proc or the clock itself (resources come from a callback, time from the caller), so
 * unit tests drive it with synthetic event sequences.
 *
 *   record -> connection (conn.c) -> protocol parser (proto/) -> span under construction
 *          -> parentage (context.c) -> emit callback (the sinks)
 */
#ifndef WS_ASSEMBLE_H
#define WS_ASSEMBLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "context.h"
#include "proto/proto.h"
#include "parentage.h"
#include "span.h"

/* Tell the kernel what to copy of a connection's payload (proto.h enum ws_capture):
 * WS_CAPTURE_DEFAULT forgets what was set before. */
/* role: enum ws_role the agent learned for a connection the kernel found open (0: none) */
typedef void (*ws_capture_fn)(void *ctx, uint64_t sock_id, enum ws_capture mode, uint8_t role);

/* Returns the resource of a process (borrowed; the assembler takes its own ref), or NULL.
 * comm: the kernel's name for a task that used the connection (may be empty), for
 * processes gone before /proc could be read. */
typedef struct ws_resource *(*ws_resource_fn)(void *ctx, uint32_t pid, const char *comm);

struct ws_asm_config {
	struct ws_ctx_config ctx;
	uint32_t max_conns;
	uint64_t conn_idle_ns;       /* forget connections idle this long */
	uint64_t close_grace_ns;     /* keep a closed connection this long for late records */
	uint32_t max_threads;        /* threads and goroutines tracked for parentage (actors.h) */
	uint32_t max_procs;          /* processes tracked for parentage */
	uint64_t actor_idle_ns;      /* forget an idle thread holding nothing after this */
	uint32_t adopt_max_uses;     /* requests that may adopt one incoming context (adopt.h) */
	uint64_t adopt_max_age_ns;   /* ... and for how long after its first */
	ws_runtime_fn runtime_fn;    /* the runtime of a process (Go or not); NULL: native */
	void *runtime_ctx;
	ws_capture_fn capture_fn;    /* per-socket capture policy; NULL: not told */
	void *capture_ctx;
	bool keep_sdk_spans;         /* spans of SDK-instrumented processes exported too (coexist.h) */
	FILE *sdk_log;               /* one line per recognised process; NULL: silent */
	void (*inject_dst_fn)(void *ctx, uint16_t port, bool on); /* injection destinations; NULL: none */
	void *inject_dst_ctx;
	/* A client connection the kernel's injection cannot know (open before the agent):
	 * called once, at its first write to an injection destination. NULL: never. */
	void (*inject_adopt_fn)(void *ctx, uint32_t pid, int32_t fd, const struct ws_tuple *t);
	void *inject_adopt_ctx;
	bool inject_all;             /* --inject all: every destination is one */
};

#define WS_PROTO_MAX_ERRORS 32
/* Counters of one protocol (index: enum ws_proto_id). */
struct ws_proto_stats {
	uint64_t connections;        /* connections its parser claimed */
	uint64_t requests;
	uint64_t exchanges;
	uint64_t parse_errors;       /* sum of the reasons that are parse errors */
	uint64_t no_response;        /* requests whose connection ended before the reply */
	uint64_t uncaptured;         /* request start not captured: no span (counted) */
	uint64_t given_up;           /* connections whose parsing was abandoned */
	uint64_t tls_upgrades;       /* connections the protocol switched to TLS (WS_FEED_TLS) */
	uint64_t error_reason[WS_PROTO_MAX_ERRORS];
};

struct ws_asm_stats {
	uint64_t records;            /* ring-buffer records seen */
	uint64_t records_malformed;  /* wrong size/type: dropped */
	uint64_t data_events;
	uint64_t sock_events;
	uint64_t bytes_seen;
	uint64_t bytes_captured;
	uint64_t bytes_unparsed;     /* on connections no parser claims */
	uint64_t requests;           /* every protocol's */
	uint64_t exchanges;
	uint64_t parse_errors;
	uint64_t requests_uncaptured;
	uint64_t conns_undetected;   /* connections no parser claimed (bytes counted only) */
	uint64_t capture_changes;    /* capture policies told to the kernel */
	uint64_t roles_told;         /* server roles told to the kernel for connections found open */
	uint64_t datagrams;          /* UDP data records (WS_F_DGRAM) */
	uint64_t dgram_watch_full;   /* datagram pairs with requests pending not put on the
				      * timeout watch (list full): they end at idle expiry */
	uint64_t tls_records;        /* TLS plaintext records (WS_F_TLS) */
	uint64_t tls_seq_from_record;  /* TLS records served from an earlier read, placed after the
				       * previous record (assemble.c tls_record_seq) */
	uint64_t tls_seq_not_first;  /* TLS CLIENT requests whose plaintext had no seq and did not
				      * begin in the first plaintext write since the last
				      * ciphertext write: no position (rule 3 cannot link them) */
	uint64_t tls_seq_no_record;  /* ... and whose ciphertext write did not show one record
				      * that fits their plaintext write (none, several, or no
				      * record lengths): no position */
	uint64_t tls_seq_from_cipher; /* TLS CLIENT requests whose plaintext had no seq, given
				   * the seq of the connection's next ciphertext write */
	uint64_t tls_cipher_records; /* ciphertext syscalls, never parsed (WS_F_CIPHER, or
				      * plain records on a connection seen in TLS) */
	uint64_t conns_tls;          /* connections whose bytes began a TLS handshake */
	uint64_t tls_seq_reused;     /* plaintext records naming a ciphertext position an
				      * earlier one named: their seq is dropped */
	struct ws_proto_stats proto[WS_PROTO__COUNT];
	uint64_t spans_no_node;      /* requests seen while the span table was full */
	uint64_t loop_events;            /* readiness batches (ws_loop_batch counts) */
	uint64_t loop_records;           /* WS_EV_LOOP records */
	uint64_t task_events;
	uint64_t rt_events;
	uint64_t conn_alloc_fail;
};

struct ws_asm;

struct ws_asm *ws_asm_new(const struct ws_asm_config *cfg, ws_resource_fn res_fn, void *res_ctx,
			  ws_emit_fn emit, void *emit_ctx);
/* The key of derived root trace ids (context.h ws_ctx_derive_from), for the kernel's
 * injection (ws_bpf_config.inj_key). */
void ws_asm_derive_key(const struct ws_asm *a, uint64_t out[2]);
void ws_asm_free(struct ws_asm *a, uint64_t now_ns);

/* One ring-buffer record (struct ws_data_event + payload or struct ws_sock_event).
 * Returns 0, or -EINVAL for a malformed record (counted, nothing else happens). */
int ws_asm_record(struct ws_asm *a, const void *data, size_t size);

/* Addresses of this host (16-byte, v4-mapped for IPv4), besides loopback which is
 * always local. Server spans whose peer is local wait for the peer's client span. */
void ws_asm_set_local_addrs(struct ws_asm *a, const uint8_t (*addrs)[16], size_t n);

void ws_asm_tick(struct ws_asm *a, uint64_t now_ns);
/* Shutdown: finalise what is complete and emit it. */
void ws_asm_flush(struct ws_asm *a, uint64_t now_ns);
/* Every few seconds, before the heap is trimmed: caches that held a burst shrink. */
void ws_asm_trim(struct ws_asm *a);

const struct ws_asm_stats *ws_asm_stats(const struct ws_asm *a);
struct ws_conn_stats;
const struct ws_conn_stats *ws_asm_conn_stats(const struct ws_asm *a);
/* The parentage module (its stats; tests install evidence callbacks through it). */
struct ws_parentage *ws_asm_parentage(struct ws_asm *a);
/* "name value" lines: assembly, connection and parentage counters. */
void ws_asm_report(const struct ws_asm *a, FILE *out);

/* Format a 16-byte (v4-mapped for IPv4) address. */
void ws_addr_str(const uint8_t addr[16], char *out, size_t outlen);

#endif /* WS_ASSEMBLE_H */
