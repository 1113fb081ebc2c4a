/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Go runtime evidence: which goroutine made a socket syscall (rt_ctx of data events),
 * which goroutine created which (WS_RT_GO_SPAWN), and which goroutine asked for the
 * next request on an HTTP client connection (WS_RT_GO_CALL).
 *
 * Go runs goroutines on a few OS threads, so the thread of a syscall says nothing of
 * the request being served. The goroutine does: net/http serves each connection on
 * its own goroutine, and the goroutine that calls http.Client.Do hands the request to
 * the transport's writeLoop goroutine, which writes it. Only processes the agent put in
 * ws_go_procs are looked at (the agent inspected their executable: rt_go_elf.c).
 * amd64 only: the TLS slot of g and Go's register ABI are amd64's.
 */
#pragma once

#include "lib/go_ctx.h"
#include "lib/scope.h"
#include "lib/submit.h"
#include "maps/go_spawning.h"

static __always_inline void go_emit(__u8 kind, __u64 id, __u64 ctx, __u64 other, __s32 fd)
{
	struct ws_rt_event *ev = bpf_ringbuf_reserve(&rb, sizeof(*ev), 0);

	if (!ev) {
		go_cnt(WS_GO_CNT_RB_DROP);
		cnt_inc(WS_CNT_RB_DROP);
		return;
	}
	ev->hdr.type = WS_EV_RT;
	ev->hdr.flags = 0;
	ev->hdr.size = sizeof(*ev);
	ev->hdr.ts_ns = bpf_ktime_get_ns();
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->ctx = ctx;
	ev->other = other;
	ev->fd = fd;
	ev->kind = kind;
	ev->_pad[0] = ev->_pad[1] = ev->_pad[2] = 0;
	rb_submit(ev);
}

/* The probes fire for every process running the executable: only traced Go processes
 * (in ws_go_procs, which the agent fills within its scoping) go further. */
static __always_inline struct ws_go_proc *go_proc(__u64 id)
{
	__u32 tgid = id >> 32;

	if (scope_task(tgid) < 0)
		return NULL;
	return go_lookup(tgid);
}

#if defined(__TARGET_ARCH_x86)
/*
 * runtime.newproc1(fn *funcval, callergp *g, callerpc uintptr, ...) *g: the `go`
 * statement (newproc -> systemstack -> newproc1). Register ABI (go1.17+): arguments
 * in RAX, RBX, RCX..., results in RAX; R14 is the current g, here g0 because newproc1
 * runs on the system stack, so the parent is callergp (RBX), not R14.
 */
SEC("uprobe")
int BPF_KPROBE(ws_go_newproc1)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ws_go_proc *p = go_proc(id);
	__u64 parent;

	if (!p)
		return 0;
	parent = go_goid(p, ctx->bx);
	bpf_map_update_elem(&ws_go_spawning, &id, &parent, BPF_ANY);
	return 0;
}

/*
 * Its return: the new g in RAX, its goid already assigned. A uretprobe replaces the
 * return address on the stack with a trampoline; on a goroutine stack that would break
 * stack copying and tracebacks, but newproc1 runs on g0's stack, which Go never moves
 * or scans (docs/kernel.md, "Go runtime").
 */
SEC("uretprobe")
int BPF_KRETPROBE(ws_go_newproc1_ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ws_go_proc *p;
	__u64 *parent, pgoid, child;

	parent = bpf_map_lookup_elem(&ws_go_spawning, &id);
	if (!parent)
		return 0;
	pgoid = *parent;
	bpf_map_delete_elem(&ws_go_spawning, &id);
	p = go_proc(id);
	if (!p)
		return 0;
	child = go_goid(p, ctx->ax);
	if (!child || !pgoid) {
		go_cnt(WS_GO_CNT_SPAWN_LOST);
		return 0;
	}
	go_cnt(WS_GO_CNT_SPAWN);
	go_emit(WS_RT_GO_SPAWN, id, pgoid, child, -1);
	return 0;
}

/*
 * net/http.(*persistConn).roundTrip(req *transportRequest): runs on the goroutine that
 * called Client.Do (R14), receiver in RAX. It queues the request to writeLoop, which
 * writes it on pc.conn's fd: the next request written on that fd is this goroutine's.
 * pc.conn is a net.Conn interface; only a *net.TCPConn (itab compared) is followed to
 * its fd — a TLS or custom conn has another layout behind the same interface.
 */
SEC("uprobe")
int BPF_KPROBE(ws_go_roundtrip)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ws_go_proc *p = go_proc(id);
	__u64 goid, pc, tab, data, netfd, sysfd;

	if (!p || !(p->flags & WS_GO_F_HTTP))
		return 0;
	goid = go_goid(p, ctx->r14);
	pc = ctx->ax;
	if (!goid || !pc || go_read_u64(&tab, pc + p->pc_conn))
		return 0;
	if (tab != p->itab_tcpconn) {
		go_cnt(WS_GO_CNT_CALL_NOT_TCP);
		return 0;
	}
	if (go_read_u64(&data, pc + p->pc_conn + 8) || !data ||
	    go_read_u64(&netfd, data + p->tcpconn_fd) || !netfd ||
	    go_read_u64(&sysfd, netfd + p->netfd_pfd + p->pfd_sysfd))
		return 0;
	go_cnt(WS_GO_CNT_CALL);
	go_emit(WS_RT_GO_CALL, id, goid, 0, (__s32)sysfd);
	return 0;
}
#endif /* __TARGET_ARCH_x86 */
