/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Coexisting with OpenTelemetry SDKs (issue 12): which processes make their own spans.
 * A pure core: evidence in, a verdict per process out, no I/O but an optional log.
 *
 * Evidence that a process is SDK-instrumented (any one suffices, it is strong):
 *  - it sends OTLP: an HTTP request to .../v1/traces (v1/metrics, v1/logs), a gRPC call
 *    to opentelemetry.proto.collector.*, or a connection to port 4317;
 *  - an outgoing request carries a traceparent that wirespan did not write and that is
 *    not merely one the process received (a forwarder copies the parent id it read; an
 *    SDK writes the id of its own CLIENT span).
 * An instrumented process gets no wirespan spans unless keep is set (its spans are
 * still built and linked, then hidden: context.h ws_ctx_hide).
 */
#ifndef WS_SDK_H
#define WS_SDK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define WS_SDK_PROCS 4096      /* processes remembered (open addressing, LRU-ish reuse) */
#define WS_SDK_SEEN 16         /* parent ids a process received lately (forward check) */

enum ws_sdk_why {
	WS_SDK_NONE = 0,
	WS_SDK_OTLP_HTTP,          /* POST .../v1/{traces,metrics,logs} */
	WS_SDK_OTLP_GRPC,          /* gRPC to opentelemetry.proto.collector.* or port 4317 */
	WS_SDK_TRACEPARENT,        /* wrote a traceparent of its own */
	WS_SDK__MAX,
};

struct ws_sdk_proc {
	uint32_t pid;              /* 0: free */
	uint8_t why;               /* enum ws_sdk_why; NONE while not recognised */
	uint8_t seen_next;
	uint8_t applied;           /* the assembler acted on the recognition (ws_sdk_take_new) */
	uint8_t _pad[1];
	uint64_t last_ns;
	uint64_t seen[WS_SDK_SEEN]; /* parent span ids of traceparents it received */
};

struct ws_sdk_stats {
	uint64_t procs;                    /* processes recognised */
	uint64_t by_why[WS_SDK__MAX];
	uint64_t foreign_traceparents;     /* outgoing requests with a traceparent not ours */
	uint64_t forwarded_traceparents;   /* ... that only repeated a received one */
	uint64_t otlp_requests;            /* OTLP export requests seen (their spans hidden) */
	uint64_t table_full;
};

struct ws_sdk {
	bool keep;                 /* keep wirespan's spans for instrumented processes */
	FILE *log;                 /* one line per recognised process; NULL: silent */
	struct ws_sdk_proc procs[WS_SDK_PROCS];
	struct ws_sdk_stats st;
};

void ws_sdk_init(struct ws_sdk *s, bool keep, FILE *log);

/* A SERVER request of pid carried a valid traceparent with this parent span id. */
void ws_sdk_note_received(struct ws_sdk *s, uint32_t pid, const uint8_t span_id[8], uint64_t now_ns);
/* A CLIENT request of pid carries a traceparent wirespan did not write. Returns true when
 * it is the process's own (not forwarded). */
bool ws_sdk_note_sent(struct ws_sdk *s, uint32_t pid, const uint8_t span_id[8], uint64_t now_ns);
/* pid sends OTLP. */
void ws_sdk_note_otlp(struct ws_sdk *s, uint32_t pid, enum ws_sdk_why why, uint64_t now_ns);

/* True once per recognised process, the first time it is asked: the caller hides the
 * process's open spans and selects its ports then. Recognition can come from outside a
 * request (a connection to 4317), so "recognised during this request" is not enough. */
bool ws_sdk_take_new(struct ws_sdk *s, uint32_t pid);
/* Is pid recognised as SDK-instrumented? */
bool ws_sdk_instrumented(const struct ws_sdk *s, uint32_t pid);
/* Should wirespan's spans of pid be hidden (recognised, and keep is off)? */
bool ws_sdk_hide(const struct ws_sdk *s, uint32_t pid);

/* Is this an OTLP export request? method/path of HTTP (path without query), or a gRPC
 * method ("/opentelemetry.proto.collector.trace.v1.TraceService/Export"). */
bool ws_sdk_is_otlp_path(const char *method, const char *path);

const char *ws_sdk_why_name(enum ws_sdk_why w);
void ws_sdk_report(const struct ws_sdk *s, FILE *out);

#endif /* WS_SDK_H */
