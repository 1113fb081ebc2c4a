/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython evidence: what the agent tells the kernel about each CPython process it traces
 * (map ws_py_procs, tgid -> struct ws_py_proc), and the counters of the lookup. With it
 * an egress data record of such a process carries, in rt_ctx with WS_F_RT_PY, the address
 * of the calling thread's current contextvars Context when a task step made the call:
 * asyncio runs every step of a task inside that task's own Context, so on an event-loop
 * thread it names the task that wrote (docs/parentage.md, "asyncio tasks"). Kept apart
 * from wirespan_abi.h like ws_go_abi.h.
 */
#ifndef WS_PY_ABI_H
#define WS_PY_ABI_H

#include "wirespan_abi.h"

#define WS_PY_MAX_PROCS 4096     /* ws_py_procs entries: CPython processes traced at once */
#define WS_PY_MAX_THREADS 32     /* thread states walked to find the caller's; a thread
				  * further down the list gets no context (counted) */
#define WS_PY_MAX_FRAMES 12      /* Python frames walked down from the caller's for a
				  * coroutine's; deeper, the record gets no context (counted) */
/* _PyCodeObject.co_flags of code a task step runs: a coroutine (async def or
 * @types.coroutine) or an async generator it iterates. Stable since 3.5/3.6. */
#define WS_PY_CO_TASK_CODE (0x0080 | 0x0100 | 0x0200)

struct ws_py_proc {
	__u64 runtime;        /* run-time address of _PyRuntime */
	__u64 exe_ino;        /* the executable's inode and device (kernel encoding), as in */
	__u32 exe_dev;        /* ws_go_proc: a pid reused or exec'd is never read with these */
	__u16 rt_interp_head; /* _PyRuntimeState.interpreters.head */
	__u16 is_threads_head;/* PyInterpreterState.threads.head */
	__u16 ts_next;        /* PyThreadState.next */
	__u16 ts_native_tid;  /* PyThreadState.native_thread_id (the kernel tid) */
	__u16 ts_context;     /* PyThreadState.context (PyContext *, NULL until first used) */
	__u16 ctx_entered;    /* PyContext.ctx_entered: set while a Context.run is in it; the
			       * thread's base context is not entered and names no task */
	/* The Python stack at the call: a Context names a task only while a coroutine runs
	 * in it. Loops enter long-lived Contexts of their own around internal callbacks
	 * (uvloop flushes every transport's queued writes from one; asyncio runs reader
	 * and writer callbacks in per-handle copies), and those write for every task. */
	__u16 ts_cframe;      /* PyThreadState.cframe (_PyCFrame *) */
	__u16 cf_frame;       /* _PyCFrame.current_frame (_PyInterpreterFrame *) */
	__u16 fr_previous;    /* _PyInterpreterFrame.previous */
	__u16 fr_code;        /* _PyInterpreterFrame.f_code (PyCodeObject *) */
	__u16 fr_owner;       /* _PyInterpreterFrame.owner (char) */
	__u16 co_flags;       /* PyCodeObject.co_flags (int) */
	__u8 owner_gen;       /* the owner value of a generator's or coroutine's frame */
	__u8 pad[3];
};
WS_STATIC_ASSERT(sizeof(struct ws_py_proc) == 48, "ws_py_proc size");

/* Per-CPU counters of the lookup (map ws_py_counters). */
enum ws_py_counter {
	WS_PY_CNT_CTX = 0,        /* data records given a context */
	WS_PY_CNT_NO_CTX,         /* the caller's thread state has none (contextvars unused), or
				   * one that no Context.run entered (no task runs) */
	WS_PY_CNT_NO_TASK,        /* an entered Context, but no coroutine frame within
				   * WS_PY_MAX_FRAMES of the caller: a loop's own callback */
	WS_PY_CNT_READ_FAIL,      /* user memory read failed */
	WS_PY_CNT_NOT_FOUND,      /* the caller's thread state is not among the first
				   * WS_PY_MAX_THREADS (or not there at all: a thread that
				   * never ran Python) */
	WS_PY_CNT_STALE,          /* tgid in ws_py_procs runs another executable */
	WS_PY_CNT__MAX,
};

#endif /* WS_PY_ABI_H */
