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
 */
#pragma once

#include "lib/conn.h"
#include "lib/waits.h"

#define WS_TCP_ESTABLISHED 1
#define WS_TCP_SYN_SENT 2
#define WS_TCP_SYN_RECV 3

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
