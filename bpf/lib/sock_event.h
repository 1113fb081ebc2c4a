/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * WS_EV_SOCK records: a connection opened, closed its fd, changed TCP state.
 */
#pragma once

#include "lib/loop.h"
#include "lib/submit.h"
#include "lib/waits.h"
#include "maps/conns.h"

static __always_inline void emit_sock(__u64 sk, const struct ws_conn *c, __u8 kind, __u16 sys,
				      __s32 fd, __u64 pid_tgid, __u8 old_state, __u8 new_state,
				      __u64 t0)
{
	struct ws_sock_event *ev;
	__u8 phase = 0;

	/* In the thread's context (not softirq), its readiness batches come first: the
	 * agent reads the thread's cause for a connect, in the loop phase it was made in. */
	if (pid_tgid)
		phase = batch_flush();
	ev = bpf_ringbuf_reserve(&rb, sizeof(*ev), 0);
	if (!ev) {
		cnt_inc(WS_CNT_RB_DROP);
		return;
	}
	ev->hdr.type = WS_EV_SOCK;
	ev->hdr.flags = phase;
	ev->hdr.size = sizeof(*ev);
	ev->hdr.ts_ns = bpf_ktime_get_ns();
	ev->sock_id = sk;
	ev->pid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	ev->fd = fd;
	ev->kind = kind;
	ev->role = c->role;
	ev->state_old = old_state;
	ev->state_new = new_state;
	ev->syscall = sys;
	ev->_pad0 = 0;
	ev->_pad1 = 0;
	ev->tuple = c->tuple;
	/* OPEN from accept: the handshake's completion; from connect: the connect() entry
	 * (t0), where the first request's CLIENT span begins (docs/waits.md). */
	ev->estab_ns = kind != WS_SOCK_OPEN ? 0 :
		       (sys == WS_SYS_ACCEPT || sys == WS_SYS_ACCEPT4) ? waits_estab(sk) :
		       sys == WS_SYS_CONNECT ? t0 : 0;
	if (pid_tgid)
		bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	else
		__builtin_memset(ev->comm, 0, sizeof(ev->comm));
	rb_submit(ev);
}
