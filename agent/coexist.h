/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Coexisting with OpenTelemetry SDKs, the assembler's side (issue 12, docs/parentage.md
 * "With SDK-instrumented services"). A pure core called once per request opened:
 *  - a CLIENT request that carries a traceparent wirespan did not write: its span is
 *    hidden (the sender made its own), and the sender is evidence for sdk.c;
 *  - OTLP export requests: hidden on both ends, and the sender is instrumented;
 *  - every span of a recognised process is hidden (unless --sdk-spans keep), including
 *    those opened before the recognition and not yet exported;
 *  - a CLIENT request whose traceparent the kernel inserted (ws_inject_event) gets the
 *    inserted ids, and its rule-3 key the sequence number the receiver saw;
 *  - the server ports of recognised local processes are handed to the kernel as
 *    injection destinations.
 */
#ifndef WS_COEXIST_H
#define WS_COEXIST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../headers/wirespan_abi.h"
#include "context.h"
#include "sdk.h"

/* Select (or drop) a local destination port for traceparent injection. */
typedef void (*ws_inject_dst_fn)(void *ctx, uint16_t port, bool on);

#define WS_COEXIST_INJ_SLOTS 256
#define WS_COEXIST_PORTS 8

struct ws_coexist_stats {
	uint64_t inject_records;      /* ws_inject_event seen */
	uint64_t injected_spans;      /* CLIENT spans that took injected ids */
	uint64_t inject_trace_received; /* ... whose trace the kernel took from the request its
				       * thread served (its traceparent) */
	uint64_t inject_trace_derived;  /* ... derived from that request's first byte */
	uint64_t inject_unmatched;    /* records no CLIENT request claimed within 5 s */
	uint64_t client_tp_hidden;    /* CLIENT spans hidden: the request had its own traceparent */
	uint64_t sdk_hidden;          /* spans hidden: their process is instrumented */
	uint64_t sdk_hidden_late;     /* ... of which hidden at the recognition, already open */
	uint64_t otlp_hidden;         /* spans of OTLP export requests hidden */
	uint64_t dst_selected;        /* destination ports handed to the kernel */
};

struct ws_coexist_inj {
	uint32_t pid, tid;
	uint16_t lport, rport;
	uint32_t len;
	uint64_t ts;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint16_t flags;           /* WS_INJ_F_TRACE_* */
	bool used;
	bool written;             /* its write's data record was matched (ws_coexist_inserted) */
};

struct ws_coexist_port {
	uint32_t pid;
	uint16_t port;
	bool selected;
};

struct ws_coexist {
	struct ws_sdk sdk;
	ws_inject_dst_fn dst_fn;
	void *dst_ctx;
	struct ws_coexist_inj inj[WS_COEXIST_INJ_SLOTS];
	uint32_t inj_next;
	struct ws_coexist_port ports[256];
	uint64_t dst_bits[65536 / 64];   /* ports handed to the kernel as destinations */
	uint64_t dst_changed_ns;         /* when the last one was */
	bool dst_changed;                /* ... not yet taken (ws_coexist_take_dst_change) */
	uint64_t now_ns;                 /* time of the newest request or connect seen */
	struct ws_coexist_stats st;
};

/* One request, as open_span sees it. */
struct ws_coexist_req {
	uint32_t pid;
	uint32_t tid;             /* the thread that wrote (CLIENT) or read (SERVER) it */
	uint16_t lport, rport;    /* the connection's local and remote ports */
	bool server;
	bool local_peer;          /* the peer address is on this host */
	const char *traceparent;  /* as the parser gave it, may be NULL */
	const char *method;       /* span attributes, may be NULL */
	const char *path;
	uint64_t ts;
};

struct ws_coexist *ws_coexist_new(bool keep_sdk_spans, FILE *log, ws_inject_dst_fn dst_fn, void *dst_ctx);
void ws_coexist_free(struct ws_coexist *co);

/* A ws_inject_event (the caller checked its size). */
void ws_coexist_inject_record(struct ws_coexist *co, const struct ws_inject_event *e);

/* The request's node was just opened. Hides it or gives it injected ids as above.
 * Returns how many bytes the kernel inserted into this request (after its request
 * line), 0 normally. */
uint32_t ws_coexist_open(struct ws_coexist *co, struct ws_ctx *ctx, struct ws_node_ref ref,
			 const struct ws_coexist_req *r);

/* How many bytes the kernel inserted into the write (pid/tid, local and remote port,
 * between enter and exit) whose data record this is, 0 when none. Each injection is
 * matched to one write once. The sender's records count only the bytes it wrote; the
 * connection's sequence numbers count the inserted ones too (conn.h inj_out). */
uint32_t ws_coexist_inserted(struct ws_coexist *co, uint32_t pid, uint32_t tid, uint16_t lport,
			     uint16_t rport, uint64_t enter_ns, uint64_t exit_ns);

/* Was this port handed to the kernel as an injection destination? */
bool ws_coexist_dst_selected(const struct ws_coexist *co, uint16_t port);
/* True once after new destinations were selected: the caller adopts the open
 * connections to them that the kernel's sockhash does not hold. */
bool ws_coexist_take_dst_change(struct ws_coexist *co);
/* Did the kernel certainly know port as a destination when a connection to it was
 * established at ts (the sockops program added it to the sockhash then)? */
bool ws_coexist_dst_known_at(const struct ws_coexist *co, uint16_t port, uint64_t ts);

/* A CLIENT connection to this port was opened by pid (OTLP/gRPC's 4317). */
void ws_coexist_connect(struct ws_coexist *co, uint32_t pid, uint16_t rport, uint64_t ts);

void ws_coexist_report(const struct ws_coexist *co, FILE *out);

#endif /* WS_COEXIST_H */
