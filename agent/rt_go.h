/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Goroutine evidence for Go processes, as the assembler needs it (pure: no I/O).
 *
 * Go runs goroutines over a few threads, so the thread rules of parentage say nothing
 * there. What the kernel reports instead (bpf/hooks/go.h):
 *  - ws_data_event.rt_ctx: the goroutine that made each socket syscall;
 *  - WS_RT_GO_SPAWN: goroutine ctx created goroutine other (ancestry);
 *  - WS_RT_GO_CALL: goroutine ctx asked net/http for the next request on (pid, fd);
 *    that request is written by the transport's writeLoop goroutine, not by ctx.
 * This module keeps ancestry per process and the pending call per client fd, and
 * answers "which goroutine asked for this request" and "whose child is it".
 *
 * Bounds: both tables are fixed-size and evict their least recently used entry when
 * full (counted). An evicted ancestor ends a lineage early: answers become shorter
 * ("unknown" past that point), never wrong. goids are never reused within a process;
 * a pid is, so ws_go_forget_pid must be called when a process exits or execs.
 */
#ifndef WS_RT_GO_H
#define WS_RT_GO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../headers/wirespan_abi.h"

#define WS_GO_DEFAULT_GOROUTINES 65536        /* ancestry entries, all processes */
#define WS_GO_DEFAULT_CALLS 4096              /* pending calls, all processes */
#define WS_GO_DEFAULT_CALL_TTL_NS 30000000000ull /* a call not written within 30 s is stale */

struct ws_go_config {
	uint32_t max_goroutines;   /* 0: WS_GO_DEFAULT_GOROUTINES */
	uint32_t max_calls;        /* 0: WS_GO_DEFAULT_CALLS */
	uint64_t call_ttl_ns;      /* 0: WS_GO_DEFAULT_CALL_TTL_NS */
};

struct ws_go_stats {
	uint64_t spawns;           /* ancestry entries recorded */
	uint64_t spawns_evicted;   /* ancestry entries dropped because the table was full */
	uint64_t calls;            /* pending calls recorded */
	uint64_t calls_taken;      /* consumed by a request write */
	uint64_t calls_replaced;   /* a newer call on the same (pid, fd) came first */
	uint64_t calls_expired;    /* older than call_ttl_ns when looked up */
	uint64_t calls_evicted;    /* dropped because the table was full */
	uint64_t calls_dropped;    /* fd closed with a call still pending */
	uint64_t rt_malformed;     /* ws_go_record: unknown kind or size */
};

struct ws_go;

struct ws_go *ws_go_new(const struct ws_go_config *cfg);
void ws_go_free(struct ws_go *g);

/* Goroutine child of process pid was created by goroutine parent. */
void ws_go_spawn(struct ws_go *g, uint32_t pid, uint64_t parent, uint64_t child, uint64_t now_ns);
/* Goroutine goid of pid asked for the next request on fd (replaces a pending one). */
void ws_go_call(struct ws_go *g, uint32_t pid, int32_t fd, uint64_t goid, uint64_t now_ns);
/* A request is being written on (pid, fd): which goroutine asked for it? Consumes the
 * pending call. false when none is pending or it is older than call_ttl_ns. */
bool ws_go_take_call(struct ws_go *g, uint32_t pid, int32_t fd, uint64_t now_ns, uint64_t *goid);
/* fd closed: a call still pending on it is dead (the fd number may be reused). */
void ws_go_drop_call(struct ws_go *g, uint32_t pid, int32_t fd);
/* goid, its parent, grandparent, ... into out (at most max); stops at the first
 * goroutine whose parent is unknown (or 0). Returns how many were written: 1 when only
 * goid itself is known, 0 when goid is 0 or max is 0. */
size_t ws_go_lineage(struct ws_go *g, uint32_t pid, uint64_t goid, uint64_t *out, size_t max);
/* Process exited or exec'd: forget its goroutines and calls. */
void ws_go_forget_pid(struct ws_go *g, uint32_t pid);

/* One WS_EV_RT record (size as received): dispatches to ws_go_spawn / ws_go_call.
 * Returns 0, or -EINVAL for a malformed or unknown record (counted). */
int ws_go_record(struct ws_go *g, const void *data, size_t size);

void ws_go_get_stats(const struct ws_go *g, struct ws_go_stats *out);

#endif /* WS_RT_GO_H */
