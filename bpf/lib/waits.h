/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The waits snapshots taken in the data path (docs/waits.md; the hooks that keep
 * the maps are in hooks/waits.h).
 */
#pragma once

#include "lib/counters.h"
#include "maps/waits_sk.h"
#include "maps/waits_thr.h"
#include "maps/cpu_run.h"
#include "maps/waits_task.h"

/* ---- pure helpers ----------------------------------------------------------------- */

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
	struct ws_cpu_run *r;
	struct ws_waits_task *wt;
	__u64 oncpu;

	if (!waits_enabled)
		return;
	r = bpf_map_lookup_elem(&ws_cpu_run, &zero);
	oncpu = waits_oncpu(r, tid, now, task->se.sum_exec_runtime);
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

	if (waits_enabled && task->bpf_storage)
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

	if (!waits_enabled || !task->bpf_storage)
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
	struct ws_waits_sk *w;

	if (!waits_enabled)
		return 0;
	w = bpf_map_lookup_elem(&ws_waits_sk, &sk);
	return w ? w->estab_ns : 0;
}
