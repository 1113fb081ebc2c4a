/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The goroutine of the current thread (rt_ctx of data events), and the Go process
 * lookups the Go probes share (hooks/go.h says why).
 */
#pragma once

#include "lib/config.h"
#include "maps/conns.h"
#include "maps/go_procs.h"
#include "maps/go_counters.h"

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
 * thread.fsbase, and does not use wrfsbase. WS_RT_UNREGISTERED when not a registered Go
 * process (or Go support is off), 0 when unreadable.
 */
static __noinline __u64 ws_go_ctx(__u32 tgid)
{
#if defined(__TARGET_ARCH_x86)
	struct ws_go_proc *p;
	struct task_struct *task;
	__u64 fsbase, g, goid;

	if (!go_enabled)
		return WS_RT_UNREGISTERED;
	p = go_lookup(tgid);
	if (!p)
		return WS_RT_UNREGISTERED;
	task = bpf_get_current_task_btf();
	fsbase = task->thread.fsbase;
	if (!fsbase || bpf_probe_read_user(&g, sizeof(g), (const void *)(fsbase + (__s64)p->tls_g)) ||
	    !g || bpf_probe_read_user(&goid, sizeof(goid), (const void *)(g + p->g_goid))) {
		go_cnt(WS_GO_CNT_GOID_FAIL);
		return 0;
	}
	return goid;
#else
	return WS_RT_UNREGISTERED;
#endif
}
