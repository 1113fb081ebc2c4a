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

#include "ws_common.bpf.h"
#include "headers/ws_go_abi.h"

/* Set by the loader when Go support is on (ws_bpf_config.go_runtime). When 0 the
 * verifier drops the goid lookup from every data event. */
const volatile __u32 go_enabled = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WS_GO_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct ws_go_proc);
} ws_go_procs SEC(".maps");

/* newproc1 entry -> return, per thread: the parent goroutine's id. newproc1 runs on
 * the thread's g0 and does not block, so entry and return are on one thread with
 * nothing of the same thread in between. LRU: an entry whose return never came
 * (process killed in between) ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} ws_go_spawning SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WS_GO_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} ws_go_counters SEC(".maps");

static __always_inline void go_cnt(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&ws_go_counters, &idx);

	if (c)
		*c += 1;
}

static __always_inline int go_read_u64(__u64 *dst, __u64 addr)
{
	if (bpf_probe_read_user(dst, sizeof(*dst), (const void *)addr)) {
		go_cnt(WS_GO_CNT_READ_FAIL);
		return -1;
	}
	return 0;
}

/*
 * The entry of the current process, if it still runs the executable the agent
 * inspected: a pid can be reused, or exec another program, before the agent drops the
 * entry, and reading a non-Go process's memory with Go offsets would give wrong ids.
 */
static __always_inline struct ws_go_proc *go_lookup(__u32 tgid)
{
	struct ws_go_proc *p = bpf_map_lookup_elem(&ws_go_procs, &tgid);
	struct task_struct *task;
	struct inode *ino;

	if (!p)
		return NULL;
	task = bpf_get_current_task_btf();
	if (fast_read) {
		ino = task->mm->exe_file->f_inode;
		if (ino->i_ino == p->exe_ino && ino->i_sb->s_dev == p->exe_dev)
			return p;
	} else {
		ino = BPF_CORE_READ(task, mm, exe_file, f_inode);
		if (BPF_CORE_READ(ino, i_ino) == p->exe_ino && BPF_CORE_READ(ino, i_sb, s_dev) == p->exe_dev)
			return p;
	}
	go_cnt(WS_GO_CNT_STALE);
	return NULL;
}

/* The id of goroutine g (0 for g0 and gsignal, whose goid is 0). */
static __always_inline __u64 go_goid(const struct ws_go_proc *p, __u64 g)
{
	__u64 goid;

	if (!g || go_read_u64(&goid, g + p->g_goid))
		return 0;
	return goid;
}

/*
 * The goroutine running on the current thread, for data events: Go keeps the current
 * g in thread-local storage, at fsbase - 8 on linux/amd64 (runtime.settls points
 * fsbase just past m.tls[0]; with cgo the ELF TLS block holds only runtime.tlsg, same
 * slot). During a syscall made by a goroutine (syscall.Syscall -> entersyscall), g
 * stays that goroutine, so the value at the syscall's exit names it. fsbase is read
 * from the task: Go sets it with arch_prctl(ARCH_SET_FS), which updates
 * thread.fsbase, and does not use wrfsbase. 0 when not a Go process or unreadable.
 */
static __always_inline __u64 ws_go_ctx(__u32 tgid)
{
#if defined(__TARGET_ARCH_x86)
	struct ws_go_proc *p;
	struct task_struct *task;
	__u64 fsbase, g, goid;

	if (!go_enabled)
		return 0;
	p = go_lookup(tgid);
	if (!p)
		return 0;
	task = bpf_get_current_task_btf();
	fsbase = task->thread.fsbase;
	if (!fsbase || bpf_probe_read_user(&g, sizeof(g), (const void *)(fsbase + (__s64)p->tls_g)) ||
	    !g || bpf_probe_read_user(&goid, sizeof(goid), (const void *)(g + p->g_goid))) {
		go_cnt(WS_GO_CNT_GOID_FAIL);
		return 0;
	}
	return goid;
#else
	return 0;
#endif
}

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
