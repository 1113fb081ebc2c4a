/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The current contextvars Context of a CPython thread (rt_ctx of data events with
 * WS_F_RT_PY): in an asyncio loop, the running task's (headers/ws_py_abi.h).
 *
 * The interpreter releases the GIL around a socket call, so "the thread holding the
 * GIL" names nobody at the syscall; the caller's own PyThreadState is found instead by
 * walking the main interpreter's thread list for the one whose native_thread_id is the
 * calling tid. Its context field is left as it was when the GIL was released: the
 * Context entered for the running task step (Handle._run -> Context.run). It names a
 * task only when a coroutine is on the thread's Python stack: loops run their own
 * callbacks in entered Contexts too (uvloop writes every transport's queued data from
 * one long-lived Context), and those are nobody's task.
 */
#pragma once

#include "lib/config.h"
#include "maps/conns.h"
#include "maps/py_procs.h"

static __always_inline void py_cnt(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&ws_py_counters, &idx);

	if (c)
		*c += 1;
}

/* The entry of the current process while it still runs the executable inspected. One
 * word of stack for the whole chain of reads (see ws_py_ctx). */
static __always_inline struct ws_py_proc *py_lookup(__u32 tgid)
{
	struct ws_py_proc *p = bpf_map_lookup_elem(&ws_py_procs, &tgid);
	struct task_struct *task = bpf_get_current_task_btf();
	const struct inode *ino;
	__u64 v = 0;

	if (!p)
		return NULL;
	if (fast_read) {
		/* plain loads through the task's BTF pointers (lib/config.h) */
		ino = task->mm->exe_file->f_inode;
		if (ino->i_ino == p->exe_ino && ino->i_sb->s_dev == p->exe_dev)
			return p;
		goto stale;
	}
	if (bpf_core_read(&v, sizeof(v), &task->mm) || !v ||
	    bpf_core_read(&v, sizeof(v), &((struct mm_struct *)v)->exe_file) || !v ||
	    bpf_core_read(&v, sizeof(v), &((struct file *)v)->f_inode) || !v)
		return NULL;
	ino = (const struct inode *)v;
	if (bpf_core_read(&v, sizeof(v), &ino->i_ino) || v != p->exe_ino ||
	    bpf_core_read(&v, sizeof(v), &ino->i_sb) || !v)
		goto stale;
	v = BPF_CORE_READ((struct super_block *)v, s_dev);
	if ((__u32)v == p->exe_dev)
		return p;
stale:
	py_cnt(WS_PY_CNT_STALE);
	return NULL;
}

/*
 * WS_RT_UNREGISTERED when not a registered CPython process (or the support is off), 0
 * when no context is known (counted). A global
 * function: the verifier checks it once, not at each of the data path's call sites
 * (the walk's loop would multiply them past the kernel's limit on 6.1), and its frame
 * holds one word, since it sits at the deepest point of the data path's call chain.
 * The thread state found is kept in the thread's slot of ws_py_ts: while its native tid is
 * still the caller's, the next record reads two words instead of walking the list.
 */
__noinline __u64 ws_py_ctx(__u32 tgid, __u32 tid)
{
	struct ws_py_proc *p;
	__u64 *st;
	__u64 v = 0, ts, ctx;

	if (!py_enabled)
		return WS_RT_UNREGISTERED;
	p = py_lookup(tgid);
	if (!p)
		return WS_RT_UNREGISTERED;
	st = bpf_task_storage_get(&ws_py_ts, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (st && *st) {
		ts = *st;
		if (!bpf_probe_read_user(&v, sizeof(v), (const void *)(ts + p->ts_native_tid)) && v == tid)
			goto found;
	}
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)(p->runtime + p->rt_interp_head)) || !v ||
	    bpf_probe_read_user(&v, sizeof(v), (const void *)(v + p->is_threads_head)))
		goto fail;
	ts = v;
	for (int i = 0; i < WS_PY_MAX_THREADS && ts; i++) {
		if (bpf_probe_read_user(&v, sizeof(v), (const void *)(ts + p->ts_native_tid)))
			goto fail;
		if (v == tid) {
			if (st)
				*st = ts;
			goto found;
		}
		if (bpf_probe_read_user(&v, sizeof(v), (const void *)(ts + p->ts_next)))
			goto fail;
		ts = v;
	}
	py_cnt(WS_PY_CNT_NOT_FOUND);
	return 0;
found:
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)(ts + p->ts_context)))
		goto fail;
	ctx = v;
	v = 0;
	if (ctx && bpf_probe_read_user(&v, 1, (const void *)(ctx + p->ctx_entered)))
		goto fail;
	if (!ctx || !v) {
		py_cnt(WS_PY_CNT_NO_CTX);
		return 0;
	}
	/* A task step runs its coroutine: look for a coroutine's frame down the caller's
	 * Python stack (C functions, the socket call's included, have no frame there). */
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)(ts + p->ts_cframe)) || !v ||
	    bpf_probe_read_user(&v, sizeof(v), (const void *)(v + p->cf_frame)))
		goto fail;
	for (int i = 0; i < WS_PY_MAX_FRAMES && v; i++) {
		ts = v;   /* the frame */
		v = 0;
		if (bpf_probe_read_user(&v, 1, (const void *)(ts + p->fr_owner)))
			goto fail;
		if (v == p->owner_gen) {
			if (bpf_probe_read_user(&v, sizeof(v), (const void *)(ts + p->fr_code)) || !v ||
			    bpf_probe_read_user(&v, 4, (const void *)(v + p->co_flags)))
				goto fail;
			if ((__u32)v & WS_PY_CO_TASK_CODE) {
				py_cnt(WS_PY_CNT_CTX);
				return ctx;
			}
		}
		if (bpf_probe_read_user(&v, sizeof(v), (const void *)(ts + p->fr_previous)))
			goto fail;
	}
	py_cnt(WS_PY_CNT_NO_TASK);
	return 0;
fail:
	py_cnt(WS_PY_CNT_READ_FAIL);
	return 0;
}
