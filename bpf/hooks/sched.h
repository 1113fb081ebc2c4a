/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Scheduler and process lifecycle of traced threads (WS_EV_TASK): wakeups within a
 * process (hand-offs from a reading thread to a worker), fork/clone, exec and exit.
 *
 * Where: raw tracepoints (no tracefs, no per-event buffer formatting, cheaper than the
 * sched:* tracepoints); their arguments are untyped u64 task pointers, read with
 * BPF_CORE_READ. Every hook first looks up the current thread's stash slot without
 * creating it and stops unless the thread is traced, so the busy sched_waking hook costs
 * an untraced process one task-storage lookup per wakeup.
 */
#pragma once

#include "lib/inj_srv.h"
#include "lib/loop.h"
#include "lib/sock.h"
#include "lib/stash.h"
#include "maps/heirs.h"
#include "maps/pid_filter.h"

/* Kernel stack size (THREAD_SIZE) on x86-64 and arm64 without KASAN. */
#define WS_THREAD_SIZE 16384

static __always_inline void emit_task(__u8 kind, __u32 other_pid, __u32 other_tid)
{
	struct ws_task_event *ev;
	__u64 id = bpf_get_current_pid_tgid();

	batch_flush();   /* the agent reads the waking/forking thread's cause */
	ev = bpf_ringbuf_reserve(&rb, sizeof(*ev), 0);
	if (!ev) {
		cnt_inc(WS_CNT_RB_DROP);
		return;
	}
	ev->hdr.type = WS_EV_TASK;
	ev->hdr.flags = 0;
	ev->hdr.size = sizeof(*ev);
	ev->hdr.ts_ns = bpf_ktime_get_ns();
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->other_pid = other_pid;
	ev->other_tid = other_tid;
	ev->kind = kind;
	__builtin_memset(ev->_pad0, 0, sizeof(ev->_pad0));
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	rb_submit(ev);
	cnt_inc(WS_CNT_TASK_EVENTS);
}

/*
 * Is this program running on the current task's own kernel stack? Hard and soft
 * interrupts run on the per-CPU interrupt stacks (x86-64 switches to them for both,
 * including softirqs run at local_bh_enable), and there "current" is just the task the
 * CPU happened to be running, not the one doing the work. The BPF stack frame lives on
 * whichever stack the CPU uses, so the address of a local tells. preempt_count would say
 * it directly, but its per-CPU symbol needs kallsyms data symbols (absent on the
 * baseline kernel) and moves between versions; task->stack is plain BTF.
 */
static __always_inline bool on_task_stack(struct task_struct *task)
{
	volatile __u64 marker = 0;
	__u64 lo = (__u64)task->stack;
	__u64 sp = (__u64)&marker;

	return sp >= lo && sp < lo + WS_THREAD_SIZE;
}

/* Mark the current thread traced if a traced thread created it (see ws_heirs). */
static __always_inline struct ws_stash *heir_claim(struct task_struct *task)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ws_stash *st;

	if (!bpf_map_lookup_elem(&ws_heirs, &tid))
		return NULL;
	bpf_map_delete_elem(&ws_heirs, &tid);
	st = bpf_task_storage_get(&ws_stash, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		cnt_inc(WS_CNT_STASH_FULL);
		return NULL;
	}
	st->traced = 1;
	return st;
}

/*
 * sched_waking(p): at the start of try_to_wake_up, in the waker's context. Not
 * sched_wakeup: with remote wake-up queueing (TTWU_QUEUE) that one fires on the wakee's
 * CPU from the IPI, where current is whatever that CPU runs, often another thread of the
 * same process. sched_waking fires once per real wakeup (the task was sleeping in a
 * matching state). Reported: a traced current task, on its own stack (not an interrupt
 * that happens to run on top of it: timer expiry, network receive), waking another
 * thread of its own process.
 */
SEC("raw_tracepoint/sched_waking")
int sched_waking(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *p = (struct task_struct *)ctx->args[0];
	struct task_struct *cur = bpf_get_current_task_btf();
	__u64 id;
	__u32 tgid, pid;

	if (!traced_slot(cur))
		return 0;
	if (!on_task_stack(cur)) {
		cnt_inc(WS_CNT_WAKE_IRQ);
		return 0;
	}
	id = bpf_get_current_pid_tgid();
	if (fast_read) {
		struct task_struct *t = WS_CAST(struct task_struct, p);

		tgid = t->tgid;
		pid = t->pid;
	} else {
		tgid = BPF_CORE_READ(p, tgid);
		pid = BPF_CORE_READ(p, pid);
	}
	if (tgid != id >> 32 || pid == (__u32)id)
		return 0;
	emit_task(WS_TASK_WAKE, tgid, pid);
	return 0;
}

/* A child process of a pid-scoped process is scoped too (bounded by the map size). */
static __always_inline void pid_inherit(__u32 parent_tgid, __u32 child_tgid)
{
	__u8 v = WS_PID_CHILD;
	long err;

	if (child_tgid == parent_tgid || !bpf_map_lookup_elem(&ws_pid_filter, &parent_tgid))
		return;
	err = bpf_map_update_elem(&ws_pid_filter, &child_tgid, &v, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST */)
		cnt_inc(WS_CNT_PID_INHERIT_FAIL);
}

/*
 * sched_process_fork(parent, child): in kernel_clone, in the parent's context, after
 * the child is complete but before it first runs. FORK when the child is a new process,
 * CLONE when it is a thread of the parent's. The child inherits the traced bit through
 * ws_heirs: its socket calls, loop batches, exec and exit are then reported even when
 * it never touches a traced connection itself.
 */
SEC("raw_tracepoint/sched_process_fork")
int sched_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u64 id = bpf_get_current_pid_tgid();
	__u32 ctgid, ctid;
	__u8 one = 1;

	if (filter_mode & WS_FILTER_PID)
		pid_inherit(id >> 32, BPF_CORE_READ(child, tgid));
	if (!traced_slot(bpf_get_current_task_btf()))
		return 0;
	ctgid = BPF_CORE_READ(child, tgid);
	ctid = BPF_CORE_READ(child, pid);
	if (bpf_map_update_elem(&ws_heirs, &ctid, &one, BPF_ANY))
		cnt_inc(WS_CNT_HEIR_FAIL);
	emit_task(ctgid != id >> 32 ? WS_TASK_FORK : WS_TASK_CLONE, ctgid, ctid);
	return 0;
}

/* The child's return from clone/fork/vfork/clone3 (ret 0, in the child's context): its
 * first moment to take up the traced bit left for it by the fork hook. */
#define CLONE_EXIT_HOOK(name)                                                           \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                     \
	int sys_exit_##name(struct trace_event_raw_sys_exit *ctx)                      \
	{                                                                              \
		if (ctx->ret == 0)                                                     \
			heir_claim(bpf_get_current_task_btf());                        \
		return 0;                                                              \
	}

CLONE_EXIT_HOOK(clone)
CLONE_EXIT_HOOK(clone3)
CLONE_EXIT_HOOK(fork)
CLONE_EXIT_HOOK(vfork)

/*
 * sched_process_exec(p, old_pid, bprm): after the new image is in place (comm already
 * set to the new name), in the exec'ing task. Task storage belongs to the task_struct,
 * which exec keeps (a non-leader thread that execs keeps its own and takes the leader's
 * pid), so a traced thread is still traced after exec and the agent learns the new comm
 * of pid X. A child that execs before its clone exit was seen claims its bit here.
 */
SEC("raw_tracepoint/sched_process_exec")
int sched_process_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ws_stash *st = traced_slot(task);

	if (!st)
		st = heir_claim(task);
	if (!st)
		return 0;
	emit_task(WS_TASK_EXEC, 0, 0);
	return 0;
}

/*
 * sched_process_exit(p): in do_exit of every exiting thread, in its own context, after
 * signal->live was decremented. A child pid the fork hook added to the pid filter is
 * removed once its whole process is gone, so the filter holds live processes only (and
 * a reused pid is not traced by accident).
 */
SEC("raw_tracepoint/sched_process_exit")
int sched_process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (filter_mode & WS_FILTER_PID) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		__u8 *v;

		if (task->signal->live.counter == 0) {
			v = bpf_map_lookup_elem(&ws_pid_filter, &tgid);
			if (v && *v == WS_PID_CHILD)
				bpf_map_delete_elem(&ws_pid_filter, &tgid);
		}
	}
	if (inj_enabled) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();

		bpf_map_delete_elem(&ws_inj_srv, &tid);
	}
	if (!traced_slot(task))
		return 0;
	emit_task(WS_TASK_EXIT, 0, 0);
	return 0;
}
