/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Connection lifecycle: accept, connect, close and TCP state changes.
 */
#pragma once

#include "lib/conn.h"
#include "lib/inj_srv.h"
#include "lib/scope.h"
#include "lib/sock.h"
#include "lib/stash.h"

/* ---- connection lifecycle ------------------------------------------------------- */

/* accept/accept4: everything needed is there at exit (the new fd is the return value),
 * so there is no entry hook. That also catches the accept a server was already blocked
 * in when the programs were attached. */
static __always_inline int accept_exit(long ret, __u16 sys)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ws_stash *st;
	int task_ok;
	struct ws_conn *c;
	struct sock *sk;

	if (ret < 0)
		return 0;
	task_ok = scope_task(id >> 32);
	if (task_ok < 0)
		return 0;
	sk = fd_to_tcp_sock((int)ret);
	if (!sk)
		return 0;
	if (!task_ok && sock_port_excluded(sk)) {
		cnt_inc(WS_CNT_FILTERED);
		return 0;
	}
	c = conn_create(sk, WS_ROLE_SERVER, BPF_ANY);
	if (!c)
		return 0;
	if (!conn_traced(c, task_ok)) {
		cnt_inc(WS_CNT_FILTERED);
		return 0;
	}
	st = bpf_task_storage_get(&ws_stash, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (st)
		mark_traced(st);
	else
		cnt_inc(WS_CNT_STASH_FULL);
	conn_announce((__u64)sk, c, sys, (int)ret, id, 0);
	/* The peer connected and reset before the accept (health checks do this): the
	 * child sock reached TCP_CLOSE in the accept queue, unknown to us. A peer that
	 * only sent its FIN leaves it in CLOSE_WAIT: its LAST_ACK and CLOSE transitions
	 * come later, from the application's close, and are reported as usual. */
	conn_end_if_closed((__u64)sk, c);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int sys_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret, WS_SYS_ACCEPT);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int sys_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret, WS_SYS_ACCEPT4);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int sys_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	int fd = (int)ctx->args[0]; /* ctx loads first: clang must not offset ctx */
	__u64 id = bpf_get_current_pid_tgid();
	int task_ok = scope_task(id >> 32);
	struct ws_stash *st;
	struct sock *sk;

	if (task_ok < 0)
		return 0;
	sk = fd_to_tcp_sock(fd);
	if (!sk)
		return 0;
	st = stash_slot();
	if (!st)
		return 0;
	st->enter_ns = bpf_ktime_get_ns();
	st->sk = (__u64)sk;
	st->fd = fd;
	st->sys = WS_SYS_CONNECT;
	st->task_ok = task_ok;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int sys_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	long ret = ctx->ret;
	struct ws_stash st, *sp;
	struct ws_conn *c;
	sp = stash_take(WS_SYS_CONNECT, &st);
	if (!sp)
		return 0;
	/* A non-blocking connect has its tuple set once it returns EINPROGRESS. */
	if (ret != 0 && ret != -WS_EINPROGRESS)
		return 0;
	c = bpf_map_lookup_elem(&ws_conns, &st.sk);
	/* connect() again after EINPROGRESS is the same connection: keep its entry. Any
	 * other entry under this address belongs to an earlier sock. */
	if (!c || c->role != WS_ROLE_CLIENT || !tuple_unchanged((struct sock *)st.sk, c))
		c = conn_create((struct sock *)st.sk, WS_ROLE_CLIENT, BPF_ANY);
	if (!c)
		return 0;
	if (!conn_traced(c, st.task_ok)) {
		cnt_inc(WS_CNT_FILTERED);
		return 0;
	}
	mark_traced(sp);
	conn_announce(st.sk, c, WS_SYS_CONNECT, st.fd, id, st.enter_ns);
	return 0;
}

/* close(fd): reported at entry, when the fd still names the socket. The state entry
 * stays: other fds (dup, fork) may still use the socket; TCP_CLOSE removes it. */
SEC("tracepoint/syscalls/sys_enter_close")
int sys_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	int fd = (int)ctx->args[0];
	__u64 id = bpf_get_current_pid_tgid();
	int task_ok = scope_task(id >> 32);
	struct ws_conn *c;
	struct sock *sk;
	__u64 key;

	if (task_ok < 0)
		return 0;
	sk = fd_to_tcp_sock(fd);
	if (!sk || (!task_ok && sock_port_excluded(sk)))
		return 0;
	key = (__u64)sk;
	c = bpf_map_lookup_elem(&ws_conns, &key);
	if (!c || !(c->flags & WS_CONN_REPORTED) || !conn_traced(c, task_ok))
		return 0;
	emit_sock(key, c, WS_SOCK_FD_CLOSE, WS_SYS_CLOSE, fd, id, 0, 0, 0);
	return 0;
}

/* TCP state changes of tracked connections. Many transitions run in softirq (the
 * peer's segment arrives) on whatever task the CPU was running: pid/tid are 0 then
 * (and whenever the actor cannot be told, see sock_owned_by_task). */
/* A raw tracepoint, not the perf-event one: a perf-event tracepoint program is skipped
 * whenever any other such program runs on the CPU (one shared per-CPU guard), and the
 * state changes that come from softirq land often enough inside our own syscall
 * programs that 0.3-2% of closes went missing under load (their entries then waited
 * for the idle expiry). A raw tracepoint program is skipped only when it interrupts
 * itself. args: (const struct sock *sk, int oldstate, int newstate). */
SEC("raw_tracepoint/inet_sock_set_state")
int inet_sock_set_state(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock *sk = (struct sock *)ctx->args[0];
	int old_state = (int)ctx->args[1];
	int new_state = (int)ctx->args[2];
	__u64 key = (__u64)sk;
	struct ws_conn *c;
	__u64 id = 0;

	if (sock_softirq_excluded(sk))
		return 0;   /* never in the map */
	c = bpf_map_lookup_elem(&ws_conns, &key);
	if (!c)
		return 0;   /* only TCP socks are ever in the map */
	/* Only the end is reported: the agent ends the connection at TCP_CLOSE and uses no
	 * other transition (EOF and resets come with the data path). A short connection
	 * goes through about three transitions a side while known (FIN_WAIT1, FIN_WAIT2,
	 * CLOSE; CLOSE_WAIT, LAST_ACK, CLOSE): two records of six, each a ring
	 * reservation here and a record to read in the agent. */
	if (new_state != WS_TCP_CLOSE)
		return 0;
	if ((c->flags & WS_CONN_REPORTED) && old_state != new_state) {
		if (sock_owned_by_task(sk))
			id = bpf_get_current_pid_tgid();
		emit_sock(key, c, WS_SOCK_STATE, WS_SYS_STATE, -1, id, (__u8)old_state, (__u8)new_state, 0);
	}
	/* The sock is about to be freed and its address reused: its state and any capture
	 * policy the agent gave it go. */
	if (inj_enabled)
		inj_srv_end(c);
	bpf_map_delete_elem(&ws_conns, &key);
	capture_forget(&key);
	return 0;
}
