/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which request a server thread is serving, for the trace id an injected traceparent
 * continues (issue 12, docs/parentage.md "With SDK-instrumented services").
 *
 * The sk_msg program writes a traceparent into a call before the agent has read the
 * request that caused it, so the kernel itself must know which request the calling
 * thread serves. It knows what rule 2 (same thread) knows, and says "I don't know" in
 * the same cases:
 *  - a server connection's request starts at its first read after the connection was
 *    answered (WS_CONN_SRV_OPEN set, srv_tid = the reader) and ends at the next write
 *    on it, by any thread, or at its close (cleared, the reader's count goes down);
 *  - per thread (ws_inj_srv): how many such requests are open, and the newest one's
 *    connection, first byte and first bytes read.
 * A call injected while its thread has exactly one open request, and that is the
 * newest one it read, continues that request's trace; otherwise it gets a new trace
 * (the agent then keeps the CLIENT span a root linked to its parent, as before).
 *
 * Costs one lookup per server-side read that starts a request and per answering
 * write, only while the agent has an injection destination (ws_inj_track): the
 * verifier drops all of it when injection is off (inj_enabled).
 */
#pragma once

#include "lib/common.h"
#include "lib/emit_args.h"
#include "maps/conns.h"
#include "maps/inj_counters.h"
#include "maps/inj_srv.h"

/* Set by the loader when the injection programs load. */
const volatile __u32 inj_enabled = 0;
/* Set by the agent while some destination is selected (always with --inject all). */
__u32 ws_inj_track = 0;
/* The agent's key for derived trace ids (headers/ws_derive.h), set by the loader. */
const volatile __u64 inj_key[2] = {};

static __always_inline void inj_cnt(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&ws_inj_counters, &idx);

	if (v)
		*v += 1;
}

/* The connection was answered or ends: its request is no longer open. */
static __always_inline void inj_srv_end(struct ws_conn *c)
{
	struct ws_inj_srv *t;
	__u32 tid;

	int w;

	if (!(c->flags & WS_CONN_SRV_OPEN))
		return;
	w = (c->flags & WS_CONN_SRV_MANY) ? 2 : 1;
	c->flags &= ~(WS_CONN_SRV_OPEN | WS_CONN_SRV_MANY);
	tid = c->srv_tid;
	t = bpf_map_lookup_elem(&ws_inj_srv, &tid);
	if (t && t->open >= (__u32)w)
		__sync_fetch_and_add(&t->open, -w);   /* xadd: no fetch_sub before cpu v3 */
}

/* A server-side read (INGRESS) or write (EGRESS) of a plain TCP connection, n payload
 * bytes of it at p (ring-buffer memory). go: the process runs Go (its goroutines share
 * threads: a thread that read one request may write another's call). */
static __noinline void inj_srv_note(const struct ws_emit *e, struct ws_conn *c, const void *p, __u32 n,
				    bool go)
{
	__u32 tid = (__u32)e->pid_tgid;
	struct ws_inj_srv *t, *zv;
	__u32 zero = 0;

	if (!c)
		return;
	if (e->dir == WS_DIR_EGRESS) {
		inj_srv_end(c);
		return;
	}
	if (c->flags & WS_CONN_SRV_OPEN)
		return;   /* more of the request already open */
	t = bpf_map_lookup_elem(&ws_inj_srv, &tid);
	if (!t) {
		zv = bpf_map_lookup_elem(&ws_inj_srv_zero, &zero);
		if (!zv)
			return;
		/* Only this thread makes its own slot: NOEXIST cannot lose a race. */
		bpf_map_update_elem(&ws_inj_srv, &tid, zv, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&ws_inj_srv, &tid);
		if (!t) {
			inj_cnt(WS_INJ_SRV_FULL);
			return;
		}
	}
	c->flags |= WS_CONN_SRV_OPEN;
	c->srv_tid = tid;
	/* Several requests may be open behind one read (HTTP/2 streams), or the thread is
	 * not the request's (Go): it counts twice, so the thread's calls get new traces
	 * while it is open, never one of these requests' by a guess. */
	if (go || (c->flags & WS_CONN_H2)) {
		c->flags |= WS_CONN_SRV_MANY;
		__sync_fetch_and_add(&t->open, 2);
	} else {
		__sync_fetch_and_add(&t->open, 1);
	}
	t->sk = e->sk;
	t->ts = e->exit_ns;
	t->tuple = c->tuple;
	t->seq = e->seq;
	t->has_seq = !(e->flags & WS_F_NO_SEQ);
	/* The mask after the barrier is what the verifier sees on the helper's register
	 * (a clamp alone gets lost to a copy made before it). */
	if (n > WS_INJ_SRV_BYTES - 1)
		n = WS_INJ_SRV_BYTES - 1;
	barrier_var(n);
	n &= WS_INJ_SRV_BYTES - 1;
	if (bpf_probe_read_kernel(t->buf, n, p))
		n = 0;
	t->n = n;
}
