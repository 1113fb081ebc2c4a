/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Creating a connection's state entry, deciding whether it is traced, announcing it
 * and ending it.
 */
#pragma once

#include "lib/scope.h"
#include "lib/sock.h"
#include "lib/sock_event.h"
#include "maps/capture.h"
#include "maps/conns.h"

/* Build a fresh state entry for sk (overwriting any stale one) and return it. */
static __always_inline struct ws_conn *conn_create(struct sock *sk, __u8 role, __u64 flags)
{
	__u64 key = (__u64)sk;
	struct ws_conn c = {};
	struct ws_conn *p;

	read_tuple(sk, &c.tuple);
	c.role = role;
	c.run_dir = WS_DIR_EGRESS;
	/* cap_gen 0: the policy is looked up on first use. accept and connect make a new
	 * sock: a policy left at its address (set by the agent after the old sock's
	 * TCP_CLOSE, or whose close was missed) is not its own. */
	if (role != WS_ROLE_UNKNOWN)
		capture_forget(&key);
	if ((filter_mode & WS_FILTER_PORT) && port_selected(c.tuple.sport, c.tuple.dport))
		c.flags |= WS_CONN_PORT_OK;
	/* BPF_NOEXIST loses a race with another CPU creating the same entry: then the
	 * winner's entry is used. */
	if (bpf_map_update_elem(&ws_conns, &key, &c, flags) && flags != BPF_NOEXIST) {
		cnt_inc(WS_CNT_CONN_FULL);
		return NULL;
	}
	p = bpf_map_lookup_elem(&ws_conns, &key);
	if (!p)
		cnt_inc(WS_CNT_CONN_FULL);
	return p;
}

/* Is this syscall on this connection traced? task_ok comes from scope_task(). */
static __always_inline bool conn_traced(const struct ws_conn *c, __u8 task_ok)
{
	return task_ok || (c->flags & WS_CONN_PORT_OK);
}

/* The first traced syscall on a connection announces it to userspace. */
static __always_inline void conn_announce(__u64 sk, struct ws_conn *c, __u16 sys, __s32 fd,
					  __u64 pid_tgid, __u64 t0)
{
	if (c->flags & WS_CONN_REPORTED)
		return;
	c->flags |= WS_CONN_REPORTED;
	emit_sock(sk, c, WS_SOCK_OPEN, sys, fd, pid_tgid, 0, 0, t0);
}

/*
 * A sock that is already in TCP_CLOSE when its state entry is made (the peer reset it
 * before the accept, or before the read that first showed it to us) gets no further
 * inet_sock_set_state: its end is reported now (old == new: no transition was seen),
 * after its OPEN and data, and the entry dropped, or it would outlive the sock and be
 * mistaken for the next sock allocated at that address.
 */
static __always_inline void conn_end_if_closed(__u64 key, struct ws_conn *c)
{
	if (sock_state((struct sock *)key) != WS_TCP_CLOSE)
		return;
	if (c->flags & WS_CONN_REPORTED)
		emit_sock(key, c, WS_SOCK_STATE, WS_SYS_STATE, -1, 0, WS_TCP_CLOSE, WS_TCP_CLOSE, 0);
	bpf_map_delete_elem(&ws_conns, &key);
}
