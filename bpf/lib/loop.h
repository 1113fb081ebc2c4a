/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Loop records the data path emits too (a loop thread's foreign reads).
 */
#pragma once

#include "lib/stash.h"
#include "lib/submit.h"

static __always_inline void emit_loop(__u16 sys, long ret, __u64 enter_ns, __s32 timeout_ms)
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
	ev->nready = (__s32)ret;
	ev->timeout_ms = timeout_ms;
	ev->syscall = sys;
	ev->_pad0 = 0;
	ev->_pad1 = 0;
	rb_submit(ev);
	cnt_inc(WS_CNT_LOOP_EVENTS);
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
