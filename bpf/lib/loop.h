/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Readiness batches: counted per thread, reported with the thread's next record
 * (struct ws_loop_batch); a loop thread's foreign reads.
 */
#pragma once

#include "lib/stash.h"
#include "lib/submit.h"
#include "maps/loop_batch.h"

/* A readiness batch began (loop_exit): counted in the thread's batch slot, reported
 * with the thread's next record. A blocking wait's deadline counts from when the loop
 * last read its clock, which it does after a wait returns (libuv, asyncio, nginx), not
 * at the next wait's entry: a loop preempted in between enters late with a timeout
 * computed before. So the anchor is the previous wait's exit (0: none seen, or this
 * one was in progress when the programs attached). */
static __always_inline void batch_note(struct task_struct *task, __u64 enter_ns, __s32 timeout_ms)
{
	struct ws_loop_slot *sl = bpf_task_storage_get(&ws_loop_batch, task, 0,
						       BPF_LOCAL_STORAGE_GET_F_CREATE);
	struct ws_loop_batch *b;
	__u64 prev_exit;

	cnt_inc(WS_CNT_LOOP_EVENTS);
	if (!sl) {
		cnt_inc(WS_CNT_BATCH_FULL);
		return;
	}
	b = &sl->b;
	prev_exit = sl->last_exit_ns;
	sl->last_exit_ns = bpf_ktime_get_ns();
	if (b->count != 0xffff)
		b->count++;
	/* a new batch: its I/O phase begins */
	b->flags &= ~WS_BATCH_AFTER_IO;
	if (timeout_ms == 0) {
		b->flags |= WS_BATCH_LAST_NONBLOCKING;
		return;
	}
	b->flags = WS_BATCH_BLOCKING | (b->flags & WS_BATCH_PHASES);
	b->blk_anchor_ns = enter_ns && prev_exit < enter_ns ? prev_exit : 0;
	b->blk_timeout_ms = timeout_ms;
}

#define WS_BATCH_PHASE_BITS (WS_BATCH_PHASES | WS_BATCH_AFTER_IO)

/* Move the thread's unreported batches into a record being filled (zeroes when none):
 * they come before it. The phase bits describe the current batch: they stay, and go
 * on every record. */
static __always_inline void batch_take(struct ws_loop_batch *out)
{
	struct ws_loop_slot *sl = bpf_task_storage_get(&ws_loop_batch, bpf_get_current_task_btf(), 0, 0);
	struct ws_loop_batch *b;
	__u8 phase;

	if (!sl) {
		__builtin_memset(out, 0, sizeof(*out));
		return;
	}
	b = &sl->b;
	phase = b->flags & WS_BATCH_PHASE_BITS;
	if (!b->count) {
		__builtin_memset(out, 0, sizeof(*out));
		out->flags = phase;
		return;
	}
	*out = *b;
	__builtin_memset(b, 0, sizeof(*b));
	b->flags = phase;
}

/* The loop's I/O phase of the current batch ended (a runtime's uprobe): what the thread
 * does from now until its next batch is after-poll work. Only threads that have a
 * batch slot (traced loop threads) are marked. */
static __always_inline void loop_io_done(void)
{
	struct ws_loop_slot *sl = bpf_task_storage_get(&ws_loop_batch, bpf_get_current_task_btf(), 0, 0);

	if (sl)
		sl->b.flags |= WS_BATCH_PHASES | WS_BATCH_AFTER_IO;
}

static __always_inline void emit_loop(__s32 nready, __u16 sys, __u64 enter_ns, const struct ws_loop_batch *b)
{
	struct ws_loop_event *ev = bpf_ringbuf_reserve(&rb, sizeof(*ev), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!ev) {
		cnt_inc(WS_CNT_RB_DROP);
		return;
	}
	ev->hdr.type = WS_EV_LOOP;
	ev->hdr.flags = 0;
	ev->hdr.size = sizeof(*ev);
	ev->hdr.ts_ns = bpf_ktime_get_ns();
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->enter_ns = enter_ns;
	ev->nready = nready;
	ev->timeout_ms = 0;
	ev->syscall = sys;
	ev->_pad0 = 0;
	ev->_pad1 = 0;
	ev->batch = *b;
	rb_submit(ev);
	cnt_inc(WS_CNT_LOOP_RECORDS);
}

/* A loop thread's foreign read, after its pending batches. */
static __always_inline void emit_foreign(__u16 sys, __u64 enter_ns)
{
	struct ws_loop_batch b;

	batch_take(&b);
	emit_loop(WS_LOOP_FOREIGN, sys, enter_ns, &b);
}

/* Before a record of another kind from this thread (a connect, a wakeup, a fork): the
 * agent reads the thread's cause for it, so its batches go first. One task-storage
 * lookup; a record only when batches are pending. Returns the thread's loop phase bits
 * (WS_BATCH_PHASES, WS_BATCH_AFTER_IO) for the record that follows. */
static __always_inline __u8 batch_flush(void)
{
	struct ws_loop_batch b;

	batch_take(&b);
	if (b.count)
		emit_loop(WS_LOOP_BATCHES, 0, 0, &b);
	return b.flags & WS_BATCH_PHASE_BITS;
}

/*
 * A loop thread reads from a descriptor that is not a TCP socket: an eventfd or pipe
 * (a thread pool's completion: a DNS lookup, a file read, asyncio's
 * run_in_executor), a UDP socket (a DNS answer), a timerfd. The callback that read
 * runs for whoever queued that work, not for the request the batch read last, so the
 * agent must not let the batch's cause cover what it writes next. Entry marks the slot
 * (sk 0); data_exit reports the read if it returned bytes.
 */
static __always_inline void foreign_enter(__u16 sys, long fd)
{
	struct ws_stash *st = traced_slot(bpf_get_current_task_btf());

	if (!st || !st->loop)
		return;
	st->enter_ns = bpf_ktime_get_ns();
	st->sk = 0;
	st->fd = (int)fd;
	st->sys = sys;
}
