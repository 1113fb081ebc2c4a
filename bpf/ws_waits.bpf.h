/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Waits (issue 11, docs/waits.md): what the agent needs to split a span's time into
 * accept queue, receive queue, run queue, on CPU, blocked and network.
 *
 *  - When a connection's handshake completed (SYN_RECV/SYN_SENT -> ESTABLISHED) and
 *    when the first unread byte entered its receive queue (tcp_probe): ws_waits_sk,
 *    read by the data and accept paths (arrive_ns, estab_ns of the ABI).
 *  - Each thread's on-CPU and run-queue totals at a data syscall's entry. The run-queue
 *    total is the kernel's own (task->sched_info.run_delay, complete whenever the task
 *    runs). The kernel's on-CPU total (se.sum_exec_runtime) lags for a running task by
 *    up to a tick, so it is taken exactly at the task's switch-in (sched_switch, where
 *    it is settled) and the time since is added: a per-CPU "who got this CPU, when, with
 *    how much CPU time" record. That record is written only for threads in ws_waits_thr
 *    (threads that have handled traced requests), so other switches cost one lookup.
 *  - Retransmits on connections the agent knows (tcp_retransmit_skb): WS_EV_TCP.
 *
 * Raw tracepoints throughout: no tracefs, no record formatting, and a raw tracepoint
 * program is not skipped when another BPF program runs on the CPU.
 * Included once, by wirespan.bpf.c, after ws_sock.bpf.h.
 */
#pragma once

#include "ws_common.bpf.h"
#include "ws_sock.bpf.h"

#define WS_WAITS_THREADS 16384
#define WS_WAITS_SOCKS 65536
#define WS_TCP_ESTABLISHED 1
#define WS_TCP_SYN_SENT 2
#define WS_TCP_SYN_RECV 3

struct ws_waits_sk {
	__u64 estab_ns;     /* handshake completed */
	__u64 arrive_ns;    /* the first unread byte entered the receive queue */
	__u32 arrive_seq;   /* ... and its sequence number */
	__u32 _pad;
};

/* Every TCP connection of the host from its handshake (scope is unknown in softirq,
 * where handshakes complete), deleted at TCP_CLOSE; LRU bounds what a missed close
 * leaves. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WS_WAITS_SOCKS);
	__type(key, __u64);
	__type(value, struct ws_waits_sk);
} ws_waits_sk SEC(".maps");

/* Threads whose scheduler times are measured: added at their first traced data syscall
 * (they handle requests), removed when they exit. A hash, not task storage: the switch
 * hook must test the incoming task, which a raw tracepoint only has as an untyped
 * pointer (task storage needs a typed one). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WS_WAITS_THREADS);
	__type(key, __u32);
	__type(value, __u8);
} ws_waits_thr SEC(".maps");

struct ws_cpu_run {
	__u64 t_in;         /* bpf_ktime_get_ns() at the switch-in */
	__u64 sum_in;       /* the task's se.sum_exec_runtime then (settled: it was not running) */
	__u32 tid;          /* the task switched in; 0 none */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ws_cpu_run);
} ws_cpu_run SEC(".maps");

/* The thread's totals at its current data syscall's entry, kept in its own task storage
 * and not in the syscall stash: the stash is copied onto the stack of the exit path,
 * where 16 more bytes broke 6.1's 512-byte limit for a call chain. */
struct ws_waits_task {
	__u64 enter_ns;     /* the syscall they belong to */
	__u64 oncpu_ns;     /* 0: not measured */
	__u64 runq_ns;
	__u64 arrive_ns;    /* ingress: arrival of its first byte, set at the exit; 0 unknown */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ws_waits_task);
} ws_waits_task SEC(".maps");

/* ---- pure helpers (also run under BPF_PROG_TEST_RUN, tests/unit/test_waits_bpf) ---- */

/* The current task's on-CPU total from its switch-in record: the record must be this
 * task's, and the kernel's own (lagging) total must lie between the record's and the
 * record's plus the time since (a record left by an earlier thread with this tid fails
 * that). Returns 0 when it cannot be told. */
static __always_inline __u64 waits_oncpu(const struct ws_cpu_run *r, __u32 tid, __u64 now,
					 __u64 kernel_sum)
{
	__u64 ran;

	if (!r || !tid || r->tid != tid || now < r->t_in)
		return 0;
	ran = now - r->t_in;
	if (kernel_sum < r->sum_in || kernel_sum - r->sum_in > ran)
		return 0;
	return r->sum_in + ran ? r->sum_in + ran : 1;
}

/* Was the receive queue empty when an in-order segment with data arrived? Then its
 * first byte is the next one a read will return. */
static __always_inline bool waits_queue_starts(__u32 rcv_nxt, __u32 copied_seq, __u32 seq,
					       __u32 end_seq)
{
	return rcv_nxt == copied_seq && seq == rcv_nxt && end_seq != seq;
}

/* ---- snapshots in the data path ------------------------------------------------- */

/* At a data syscall's entry: the thread's on-CPU and run-queue totals (0, 0 when not
 * measurable), and the thread joins ws_waits_thr on its first one. */
static __always_inline void waits_enter(__u64 now)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct ws_cpu_run *r = bpf_map_lookup_elem(&ws_cpu_run, &zero);
	struct ws_waits_task *wt;
	__u64 oncpu = waits_oncpu(r, tid, now, task->se.sum_exec_runtime);

	if (oncpu && !bpf_core_field_exists(task->sched_info.run_delay))
		oncpu = 0;
	wt = bpf_task_storage_get(&ws_waits_task, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (wt) {
		wt->enter_ns = now;
		wt->oncpu_ns = oncpu;
		wt->runq_ns = oncpu ? task->sched_info.run_delay : 0;
		wt->arrive_ns = 0;
	}
	if (oncpu)
		return;
	if (!bpf_map_lookup_elem(&ws_waits_thr, &tid)) {
		__u8 one = 1;

		if (bpf_map_update_elem(&ws_waits_thr, &tid, &one, BPF_NOEXIST) == -7 /* E2BIG */)
			cnt_inc(WS_CNT_WAITS_THR_FULL);
	}
}

/* The stamps of the syscall that entered at enter_ns (0s when they are not its). */
static __always_inline void waits_fill(struct ws_data_event *ev, __u64 enter_ns)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ws_waits_task *wt = NULL;

	if (task->bpf_storage)
		wt = bpf_task_storage_get(&ws_waits_task, task, 0, 0);
	if (wt && wt->enter_ns == enter_ns) {
		ev->oncpu_ns = wt->oncpu_ns;
		ev->runq_ns = wt->runq_ns;
		ev->arrive_ns = ev->dir == WS_DIR_INGRESS ? wt->arrive_ns : 0;
	} else {
		ev->oncpu_ns = 0;
		ev->runq_ns = 0;
		ev->arrive_ns = 0;
	}
}

/* The arrival of the first byte an ingress data event returns (seq), or 0. */
/* At an ingress exit: the arrival of its first byte (seq), for waits_fill. Called from
 * the exit program's own frame with the stash copy's key: a key on the emit functions'
 * stacks went past 6.1's 512 bytes, and their pointer arguments are no valid key there. */
static __always_inline void waits_exit(const __u64 *sk, __u32 seq, __u64 enter_ns)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ws_waits_task *wt;
	struct ws_waits_sk *w;

	if (!task->bpf_storage)
		return;
	wt = bpf_task_storage_get(&ws_waits_task, task, 0, 0);
	if (!wt || wt->enter_ns != enter_ns)
		return;
	w = bpf_map_lookup_elem(&ws_waits_sk, sk);
	wt->arrive_ns = w && w->arrive_ns && w->arrive_seq == seq ? w->arrive_ns : 0;
}

/* When an accepted sock's handshake completed, or 0. Its entry stays for arrivals. */
static __always_inline __u64 waits_estab(__u64 sk)
{
	struct ws_waits_sk *w = bpf_map_lookup_elem(&ws_waits_sk, &sk);

	return w ? w->estab_ns : 0;
}

/* ---- hooks ------------------------------------------------------------------------ */

/* sched_switch(preempt, prev, next[, prev_state]): in __schedule after pick_next_task,
 * whose put_prev_task settled next's sum_exec_runtime when it last ran. */
SEC("raw_tracepoint/sched_switch")
int waits_sched_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	struct ws_cpu_run *r;
	__u32 zero = 0, tid;
	__u64 sum;

	if (fast_read)
		tid = WS_CAST(struct task_struct, next)->pid;
	else
		tid = BPF_CORE_READ(next, pid);
	if (!bpf_map_lookup_elem(&ws_waits_thr, &tid))
		return 0;
	r = bpf_map_lookup_elem(&ws_cpu_run, &zero);
	if (!r)
		return 0;
	if (fast_read)
		sum = WS_CAST(struct task_struct, next)->se.sum_exec_runtime;
	else
		sum = BPF_CORE_READ(next, se.sum_exec_runtime);
	r->t_in = bpf_ktime_get_ns();
	r->sum_in = sum;
	r->tid = tid;
	return 0;
}

/* Threads and processes created by a measured thread are measured from their first
 * instruction: a thread-per-connection server's handler, or a pool's new worker, then
 * has its switch-in record before its first request, instead of after it. */
SEC("raw_tracepoint/sched_process_fork")
int waits_task_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u8 one = 1;

	if (!bpf_map_lookup_elem(&ws_waits_thr, &tid))
		return 0;
	tid = BPF_CORE_READ(child, pid);
	if (bpf_map_update_elem(&ws_waits_thr, &tid, &one, BPF_ANY))
		cnt_inc(WS_CNT_WAITS_THR_FULL);
	return 0;
}

/* A thread leaves the measured set when it exits (its tid may be reused). */
SEC("raw_tracepoint/sched_process_exit")
int waits_task_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&ws_waits_thr, &tid);
	return 0;
}

/* inet_sock_set_state(sk, old, new): the handshake's completion, for client and server
 * socks (a server's child sock is not yet known to anyone: it waits in the accept
 * queue), and the end of every sock. */
SEC("raw_tracepoint/inet_sock_set_state")
int waits_sock_state(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 key = ctx->args[0];
	int old_state = (int)ctx->args[1];
	int new_state = (int)ctx->args[2];

	if (sock_softirq_excluded((struct sock *)key))
		return 0;
	if (new_state == WS_TCP_ESTABLISHED &&
	    (old_state == WS_TCP_SYN_RECV || old_state == WS_TCP_SYN_SENT)) {
		struct ws_waits_sk w = { .estab_ns = bpf_ktime_get_ns() };

		if (bpf_map_update_elem(&ws_waits_sk, &key, &w, BPF_ANY))
			cnt_inc(WS_CNT_WAITS_SK_FULL);
	} else if (new_state == WS_TCP_CLOSE) {
		bpf_map_delete_elem(&ws_waits_sk, &key);
	}
	return 0;
}

/*
 * tcp_probe(sk, skb): first thing in tcp_rcv_established, for every segment of an
 * established connection, before its data is queued (in softirq, or at release_sock
 * when the owner held the socket: then the bytes reach the queue only now, too). When
 * the queue was empty, the segment's first byte is the next a read returns.
 */
SEC("raw_tracepoint/tcp_probe")
int waits_tcp_probe(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 key = ctx->args[0];
	struct sk_buff *skb = (struct sk_buff *)ctx->args[1];
	struct tcp_sock *tp = (struct tcp_sock *)key;
	struct ws_waits_sk *w;
	struct tcp_skb_cb *cb;
	__u32 rcv_nxt, copied, seq, end_seq;

	if (sock_softirq_excluded((struct sock *)key))
		return 0;
	w = bpf_map_lookup_elem(&ws_waits_sk, &key);
	if (!w)
		return 0;
	cb = (struct tcp_skb_cb *)((void *)skb + bpf_core_field_offset(struct sk_buff, cb));
	if (fast_read) {
		struct tcp_sock *t = WS_CAST(struct tcp_sock, tp);

		rcv_nxt = t->rcv_nxt;
		copied = t->copied_seq;
	} else {
		rcv_nxt = BPF_CORE_READ(tp, rcv_nxt);
		copied = BPF_CORE_READ(tp, copied_seq);
	}
	seq = BPF_CORE_READ(cb, seq);
	end_seq = BPF_CORE_READ(cb, end_seq);
	if (!waits_queue_starts(rcv_nxt, copied, seq, end_seq))
		return 0;
	w->arrive_ns = bpf_ktime_get_ns();
	w->arrive_seq = seq;
	return 0;
}

/* tcp_retransmit_skb(sk, skb[, err]): this host sent a segment again. */
SEC("raw_tracepoint/tcp_retransmit_skb")
int waits_tcp_retransmit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 key = ctx->args[0];
	struct sk_buff *skb = (struct sk_buff *)ctx->args[1];
	struct ws_conn *c = bpf_map_lookup_elem(&ws_conns, &key);
	struct ws_tcp_event *ev;
	struct tcp_skb_cb *cb;

	if (!c || !(c->flags & WS_CONN_REPORTED))
		return 0;
	ev = bpf_ringbuf_reserve(&rb, sizeof(*ev), 0);
	if (!ev) {
		cnt_inc(WS_CNT_RB_DROP);
		return 0;
	}
	cb = (struct tcp_skb_cb *)((void *)skb + bpf_core_field_offset(struct sk_buff, cb));
	ev->hdr.type = WS_EV_TCP;
	ev->hdr.flags = 0;
	ev->hdr.size = sizeof(*ev);
	ev->hdr.ts_ns = bpf_ktime_get_ns();
	ev->sock_id = key;
	ev->seq = BPF_CORE_READ(cb, seq);
	ev->kind = WS_TCP_RETRANS;
	ev->state = sock_state((struct sock *)key);
	ev->_pad[0] = 0;
	ev->_pad[1] = 0;
	rb_submit(ev);
	cnt_inc(WS_CNT_TCP_EVENTS);
	return 0;
}
