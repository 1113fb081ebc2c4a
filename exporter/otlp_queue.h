/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pure core of the OTLP/HTTP exporter: the bounded span queue with its accounting,
 * the retry policy (what to retry, how long to wait, when to give up), Retry-After and
 * partial_success parsing. No threads, clocks, sockets or randomness of its own: the
 * shell (otlp_http.c) passes time and random numbers in, so all of it is unit-tested.
 *
 * Queue: packed spans (ws_span_pack: only what a span uses, ~0.6-1 KB of its 2.8 KB) in
 * a FIFO of fixed-size chunks, bounded both in spans and in bytes (chunks). When either
 * bound is reached, the NEWEST spans are refused and counted (spans_dropped_queue_full):
 * what is queued is never touched again until sent, the worker can hold a batch without
 * a lock, and the count means the same as the SDK batch processors' queue-full drops.
 * docs/otlp-export.md discusses the trade-off against dropping the oldest. Memory
 * follows the queue's depth: a chunk is mapped when the last one is full and unmapped
 * once read (WS_OTLP_SPARE_CHUNKS stay mapped for the next burst), so a queue that a
 * burst filled once does not keep that memory (a ring would keep every page it ever
 * touched, and under steady load goes round all of them).
 *
 * Accounting, kept exact at all times:
 *   emitted = spans_queued + spans_dropped_queue_full
 *   spans_queued = spans_sent + spans_failed + spans_dropped_shutdown + queue_depth + in_flight
 *   spans_failed = spans_dropped_non_retryable + spans_dropped_retry_exhausted
 * partial_success_rejected counts spans the collector reported rejecting in a 200
 * response; those spans are in spans_sent (the request was delivered, not retried).
 */
#ifndef WS_OTLP_QUEUE_H
#define WS_OTLP_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../agent/span.h"

/* ---- queue and accounting ---------------------------------------------------- */

struct ws_otlp_stats {
	uint64_t spans_queued;
	uint64_t spans_sent;
	uint64_t spans_failed;
	uint64_t spans_dropped_queue_full;
	uint64_t spans_dropped_non_retryable;
	uint64_t spans_dropped_retry_exhausted;
	uint64_t spans_dropped_shutdown;
	uint64_t retries;
	uint64_t partial_success_rejected;
	uint64_t bytes_sent;          /* request bodies as sent (after gzip) */
	uint64_t requests;            /* HTTP requests attempted */
	uint64_t queue_depth;
	uint64_t in_flight;           /* taken by the worker, outcome not known yet */
	uint64_t queue_bytes;         /* memory the queue has mapped now (chunks, spares included) */
	char last_error[256];
};

enum ws_otlp_outcome {
	WS_OTLP_OUT_SENT,
	WS_OTLP_OUT_NON_RETRYABLE,
	WS_OTLP_OUT_RETRY_EXHAUSTED,
	WS_OTLP_OUT_SHUTDOWN,
};

#define WS_OTLP_CHUNK_BYTES (256u << 10)
#define WS_OTLP_SPARE_CHUNKS 2

struct ws_otlp_chunk;

struct ws_otlp_queue {
	struct ws_otlp_chunk *first;   /* oldest: read from here */
	struct ws_otlp_chunk *last;    /* newest: written here */
	struct ws_otlp_chunk *spare;   /* mapped, empty, at most WS_OTLP_SPARE_CHUNKS */
	uint32_t n_spare;
	uint32_t chunks;               /* mapped now, spares included */
	uint32_t max_chunks;           /* the byte bound */
	uint32_t chunks_max_seen;      /* the most ever mapped at once */
	uint32_t cap;                  /* spans at most */
	uint32_t count;
	struct ws_otlp_stats st;
};

/* At most cap spans (>= 1) in at most max_bytes bytes of chunks (at least one chunk).
 * Maps nothing yet. 0 or -EINVAL. */
int ws_otlp_queue_init(struct ws_otlp_queue *q, uint32_t cap, size_t max_bytes);
/* Unmaps the chunks; spans still queued are counted as dropped at shutdown. */
void ws_otlp_queue_free(struct ws_otlp_queue *q);
/* Copy spans in (taking a resource reference each) while there is room; the rest are
 * counted as dropped (queue full). Returns how many were accepted. */
size_t ws_otlp_queue_push(struct ws_otlp_queue *q, const struct ws_span *const *spans, size_t n);
/* Move up to max of the oldest spans to out (their resource references move too);
 * they are in flight until ws_otlp_queue_done(). */
size_t ws_otlp_queue_take(struct ws_otlp_queue *q, struct ws_span *out, size_t max);
/* Record the outcome of n in-flight spans (rejected: partial_success count, SENT only). */
void ws_otlp_queue_done(struct ws_otlp_queue *q, size_t n, enum ws_otlp_outcome out, int64_t rejected);
/* Drop everything still queued, counted as dropped at shutdown. Returns how many. */
size_t ws_otlp_queue_drop_all(struct ws_otlp_queue *q);
/* The accounting identities above; false means a bug. */
bool ws_otlp_stats_consistent(const struct ws_otlp_stats *st);
/* The otlp_* counter lines of the agent's report. */
void ws_otlp_stats_report(const struct ws_otlp_stats *st, FILE *out);

/* ---- retry policy -------------------------------------------------------------- */

/* What the transport said, before any HTTP status. */
enum ws_otlp_net {
	WS_OTLP_NET_OK,          /* a response arrived */
	WS_OTLP_NET_RETRYABLE,   /* connection refused/reset, timeout, DNS: the collector may come back */
	WS_OTLP_NET_FATAL,       /* bad URL, TLS verification, out of memory: retrying cannot help */
};

enum ws_otlp_verdict {
	WS_OTLP_DELIVERED,
	WS_OTLP_RETRY,
	WS_OTLP_DROP,
};

/* The OTLP/HTTP rules: 2xx delivered; 429, 502, 503, 504 and connection failures
 * retried; everything else dropped. */
enum ws_otlp_verdict ws_otlp_classify(enum ws_otlp_net net, long http_status);

struct ws_otlp_retry_policy {
	uint32_t initial_ms;       /* first backoff ceiling */
	uint32_t max_ms;           /* backoff ceiling never exceeds this */
	uint32_t retry_after_max_ms;
	uint32_t budget_ms;        /* one batch, from its first attempt to giving up */
};

/* Full-jitter exponential backoff: uniform in [0, min(max, initial * 2^attempt)],
 * drawn from rnd (any 64-bit random number). attempt 0 is the first retry. */
uint64_t ws_otlp_backoff_ms(const struct ws_otlp_retry_policy *p, unsigned attempt, uint64_t rnd);

/*
 * Decide whether to retry and after how long. retry_after_ms is the server's
 * Retry-After converted to ms, or -1 when absent; it replaces the backoff (the server
 * knows when it will be ready). elapsed_ms: time since the batch's first attempt.
 * Returns true with *delay_ms set, or false when the batch must be given up: the wait
 * would end past the budget, or Retry-After exceeds retry_after_max_ms.
 */
bool ws_otlp_next_retry(const struct ws_otlp_retry_policy *p, unsigned attempt, int64_t retry_after_ms,
			uint64_t elapsed_ms, uint64_t rnd, uint64_t *delay_ms);

/*
 * Retry-After (RFC 9110 10.2.3): delay-seconds, or an HTTP-date in any of the three
 * formats recipients must accept (IMF-fixdate, RFC 850, asctime). now_unix is the
 * current time in seconds. *delay_ms gets the wait (0 for a date in the past).
 * 0, or -EINVAL for a value that is neither.
 */
int ws_otlp_parse_retry_after(const char *v, int64_t now_unix, uint64_t *delay_ms);
/* An HTTP-date to unix seconds. 0 or -EINVAL. */
int ws_otlp_parse_http_date(const char *v, int64_t *unix_s);

/* partial_success of an OTLP/JSON ExportTraceServiceResponse (the keys
 * partialSuccess.rejectedSpans / errorMessage, or their snake_case forms). Not a full
 * JSON parser: it looks for those keys. 0 (absent keys mean 0 / "") or -EBADMSG. */
struct ws_otlp_partial;
int ws_otlp_json_decode_response(const char *body, size_t len, struct ws_otlp_partial *out);

#endif /* WS_OTLP_QUEUE_H */
