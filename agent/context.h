/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Parentage: who called whom. A pure core (no I/O, time passed in).
 *
 * Every span being built is a node here. A node's trace id and parent are decided by
 * the first rule that applies (docs/parentage.md):
 *   1. a valid W3C traceparent in its request         -> ws_ctx_parent_remote()
 *   2. a CLIENT request written by a thread serving
 *      exactly one SERVER span                         -> ws_ctx_parent_local()
 *   3. a SERVER request whose bytes a local CLIENT
 *      span wrote (same connection, same TCP seq)      -> ws_ctx_await_peer()
 *   4. otherwise a new root                            -> ws_ctx_make_root()
 * Rule 3 cannot be decided when the server's request is seen: the client's record of
 * the same bytes may still be on its way (another CPU's ring-buffer slot). The node
 * then waits, at most link_wait_ns, for a client node indexed under the same key
 * (ws_ctx_index_client()). Nodes whose parent is undecided make their own children wait.
 *
 * A node's span is emitted once it is finished AND its trace id is decided. The node is
 * freed then, unless children still wait on it (they hold a reference). Client
 * requests are indexed in a separate ring of recent entries that outlive their nodes:
 * a server span that looks its client up after the client's node is gone still finds
 * the client's decided identity there.
 */
#ifndef WS_CONTEXT_H
#define WS_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "span.h"

#define WS_NODE_NONE UINT32_MAX

struct ws_node_ref {
	uint32_t idx;      /* WS_NODE_NONE: no node */
	uint32_t gen;
};

static inline bool ws_node_ref_valid(struct ws_node_ref r) { return r.idx != WS_NODE_NONE; }

/* The bytes of one request, named the same way by both ends of a connection on this
 * host: client address/port, server address/port (16-byte v4-mapped addresses) and
 * the TCP sequence number of the request's first byte. */
struct ws_seq_key {
	uint8_t caddr[16];
	uint8_t saddr[16];
	uint16_t cport;
	uint16_t sport;
	uint32_t seq;
};

enum ws_parent_rule {
	WS_RULE_NONE = 0,        /* not decided yet */
	WS_RULE_TRACEPARENT,
	WS_RULE_THREAD,
	WS_RULE_SEQ,
	WS_RULE_IN_PROCESS,      /* inside a process: parentage.c decided (which provider: its counters) */
	WS_RULE_ROOT,            /* no evidence: new trace */
	WS_RULE_ROOT_TIMEOUT,    /* waited for a local client that never showed */
	WS_RULE_ROOT_AMBIGUOUS,  /* evidence pointed at more than one parent */
	WS_RULE_ROOT_LOST,       /* the parent node was gone (or never became a span) before it was decided */
	WS_RULE_ROOT_BOUNDED,    /* a traceparent repeated past the adoption bound: new trace, linked */
	WS_RULE__MAX,
};

struct ws_ctx_stats {
	uint64_t nodes_opened;
	uint64_t nodes_full;          /* span dropped: no free node */
	uint64_t spans_emitted;
	uint64_t spans_abandoned;     /* opened, then dropped by the caller (parse error) */
	uint64_t rule[WS_RULE__MAX];  /* how each emitted span's parent was decided */
	uint64_t index_collisions;    /* two client nodes claimed the same key: neither is used */
	uint64_t index_overwritten;   /* ring entries reused while their client was still open */
	uint64_t nodes_in_use;
	uint64_t spans_hidden;        /* decided but not exported (ws_ctx_hide) */
	uint64_t through_hidden;      /* children that took a hidden node's own parent */
	uint64_t forced_mismatch;     /* forced ids in another trace than the parent's: roots */
	uint64_t pressure_reclaims;   /* walks between ticks because the table was nearly full */
	uint64_t nodes_in_use_max;
	uint64_t defer_timeouts;      /* deferred decisions that timed out into roots */
};

struct ws_ctx_config {
	uint32_t max_nodes;           /* spans being built (or waited on) at once */
	uint32_t index_slots;         /* recent client requests findable by rule 3 (ring) */
	uint64_t link_wait_ns;        /* how long a server span waits for its local client */
	uint64_t max_open_ns;         /* a span never finished after this is dropped (counted) */
	uint64_t tick_ns;             /* record time between walks in ws_ctx_reclaim (0: 100 ms) */
	uint64_t rng_seed;            /* 0: seed from getrandom() */
	uint64_t derive_key[2];       /* for derived root trace ids; 0: from the rng */
	int64_t mono_to_unix_ns;      /* added to monotonic times to get unix epoch times */
	/* Called for each span as it is emitted, with its rule (enum ws_parent_rule) and the
	 * codes ws_ctx_explain gave its node (0, 0 when none): may add attributes. */
	void (*explain)(struct ws_span *s, uint8_t rule, uint8_t how, uint8_t why);
};

/* Called with batches of finished, decided spans. */
typedef void (*ws_emit_fn)(void *ctx, const struct ws_span *const *spans, size_t n);

struct ws_ctx;

struct ws_ctx *ws_ctx_new(const struct ws_ctx_config *cfg);
void ws_ctx_free(struct ws_ctx *c);

/* Open a node for a new span; *span points to its zeroed record (fill name, kind,
 * attributes, res; times are set by ws_ctx_finish). Returns an invalid ref when full. */
struct ws_node_ref ws_ctx_open(struct ws_ctx *c, uint64_t now_ns, struct ws_span **span);
struct ws_span *ws_ctx_span(struct ws_ctx *c, struct ws_node_ref r);

void ws_ctx_parent_remote(struct ws_ctx *c, struct ws_node_ref r, const uint8_t trace_id[16],
			  const uint8_t span_id[8], uint8_t flags);
void ws_ctx_parent_local(struct ws_ctx *c, struct ws_node_ref r, struct ws_node_ref parent,
			 enum ws_parent_rule rule);
/* The parent inside its process node r was given (ws_ctx_parent_local; the ref may be
 * stale once that node is gone). False when it has none of that kind. */
bool ws_ctx_local_parent(struct ws_ctx *c, struct ws_node_ref r, struct ws_node_ref *out);
/* Is the span still open (its request not answered yet)? */
bool ws_ctx_is_open(struct ws_ctx *c, struct ws_node_ref r);
/* CLIENT node r's span starts at its connection's connect() (docs/waits.md). */
void ws_ctx_set_from_connect(struct ws_ctx *c, struct ws_node_ref r);
/* For SERVER node r, linked or waiting by the client bytes it read: whether that local
 * CLIENT's span starts at its connect() (1) or not (0); -1 when no local client is
 * known (remote, departed from the index). A SERVER span may start at the handshake
 * only when its client's span does not start after it. */
int ws_ctx_peer_from_connect(struct ws_ctx *c, struct ws_node_ref r);
/* When node r was opened (monotonic ns; a SERVER span's start only moves earlier than
 * this). False when r names no live node. */
bool ws_ctx_opened_ns(struct ws_ctx *c, struct ws_node_ref r, uint64_t *ns);
/* Node r's parent is decided later, by a rule that needs what its process does next
 * (parentage.c, the answer rule): until then it is undecided and its children wait.
 * Past deadline_ns (monotonic) it becomes a root (counted defer_timeouts). Called
 * again, the deadline moves. ws_ctx_parent_local or ws_ctx_make_root end the wait. */
void ws_ctx_defer(struct ws_ctx *c, struct ws_node_ref r, uint64_t deadline_ns);
bool ws_ctx_is_deferred(struct ws_ctx *c, struct ws_node_ref r);
/* Keep node r (its ids) after it is emitted, until released: a deferred decision may
 * still name it as a parent. */
void ws_ctx_hold(struct ws_ctx *c, struct ws_node_ref r);
void ws_ctx_release(struct ws_ctx *c, struct ws_node_ref r);
void ws_ctx_await_peer(struct ws_ctx *c, struct ws_node_ref r, const struct ws_seq_key *key, uint64_t now_ns);
void ws_ctx_make_root(struct ws_ctx *c, struct ws_node_ref r, enum ws_parent_rule why);
/* How the decision about to be made for undecided node r came about, in the caller's
 * codes (parentage.c: provider and reason), handed to cfg.explain at emit. The latest
 * call before the decision counts; after it, calls are ignored. */
void ws_ctx_explain(struct ws_ctx *c, struct ws_node_ref r, uint8_t how, uint8_t why);
/* If r becomes a root (and its ids were not forced), its trace id is derived from the
 * first byte of its request, key (headers/ws_derive.h): the kernel gives a call the
 * thread serving that request makes the same one, before the agent has decided
 * anything (bpf/lib/inj_srv.h). */
void ws_ctx_derive_from(struct ws_ctx *c, struct ws_node_ref r, const struct ws_seq_key *key);
/* The key of ws_ctx_derive_from, for the kernel. */
void ws_ctx_derive_key(const struct ws_ctx *c, uint64_t out[2]);
/* Register r as the client that wrote the request named by key (for rule 3). */
void ws_ctx_index_client(struct ws_ctx *c, struct ws_node_ref r, const struct ws_seq_key *key);

/* The span is complete (times in monotonic ns). It is emitted once decided. */
void ws_ctx_finish(struct ws_ctx *c, struct ws_node_ref r, uint64_t start_mono_ns, uint64_t end_mono_ns);
/* Has another span named this one as its parent (it must then become a span)? */
bool ws_ctx_has_children(struct ws_ctx *c, struct ws_node_ref r);
/* Drop a node that will not become a span (its bytes did not parse). Its children,
 * if it has any, become roots. */
void ws_ctx_abandon(struct ws_ctx *c, struct ws_node_ref r);

/* Keep the node for bookkeeping (rule 3 lookups, waits, in-process causes) but never
 * export its span: another instrumentation (an OpenTelemetry SDK) makes this span.
 * Children linked to it take its own parent instead (it is transparent). */
void ws_ctx_hide(struct ws_ctx *c, struct ws_node_ref r);
bool ws_ctx_is_hidden(struct ws_ctx *c, struct ws_node_ref r);
/* The process a node's span belongs to, so that all of a process's unexported spans can
 * be hidden at once (ws_ctx_hide_owner, returns how many; spans with forced ids stay). */
void ws_ctx_set_owner(struct ws_ctx *c, struct ws_node_ref r, uint32_t pid);
uint32_t ws_ctx_hide_owner(struct ws_ctx *c, uint32_t pid);
/* The span's ids were put on the wire (an injected traceparent): span_id becomes its
 * id; trace_id (NULL: any) the trace it must be in. A parent in another trace is then
 * a span link, not its parent (counted forced_mismatch). */
void ws_ctx_force_ids(struct ws_ctx *c, struct ws_node_ref r, const uint8_t trace_id[16],
		      const uint8_t span_id[8]);
/* The node's trace id when decided. */
bool ws_ctx_trace_id(struct ws_ctx *c, struct ws_node_ref r, uint8_t out[16]);

/* Decide what can be decided, time out waits, emit ready spans, free what is done. */
void ws_ctx_tick(struct ws_ctx *c, uint64_t now_ns, ws_emit_fn emit, void *emit_ctx);
/* Between ticks, called with each record's time: a backlog of records consumed at once
 * (the ring buffer filled while the agent was busy) spans seconds of record time but
 * no timer tick, and its finished, decided spans would wait in the table for the next
 * one. This walks as a tick does once record time passed tick_ns since the last walk,
 * or when more than 7/8 of the nodes are in use (then at most once per max_nodes/16
 * nodes opened, so a table full of spans that cannot go yet costs no walk per record).
 * Returns whether it walked (walks under pressure: pressure_reclaims). */
bool ws_ctx_reclaim(struct ws_ctx *c, uint64_t now_ns, ws_emit_fn emit, void *emit_ctx);
/* Every few seconds (the agent's heap trim): the free list of spans kept for reuse
 * shrinks to twice the spans in flight now (at least SPAN_POOL_MIN): a burst that is
 * over gives its spans back to the heap; steady load keeps what a tick releases. */
void ws_ctx_trim(struct ws_ctx *c);
/* Shutdown: every wait ends now; finished spans are emitted; open ones are dropped (counted). */
void ws_ctx_flush(struct ws_ctx *c, uint64_t now_ns, ws_emit_fn emit, void *emit_ctx);

const struct ws_ctx_stats *ws_ctx_stats(const struct ws_ctx *c);
/* Released spans on the free list now (memory held for reuse, see ws_ctx_trim). */
uint64_t ws_ctx_spans_cached(const struct ws_ctx *c);
const char *ws_parent_rule_name(enum ws_parent_rule r);

/* Random ids from the context's generator (never all-zero). */
void ws_ctx_random_id(struct ws_ctx *c, uint8_t *out, size_t n);

#endif /* WS_CONTEXT_H */
