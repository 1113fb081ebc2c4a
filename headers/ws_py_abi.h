/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython evidence: what the agent tells the kernel about each CPython process it traces
 * (map ws_py_procs, tgid -> struct ws_py_proc), and the counters of the lookup. With it
 * a data record of such a process carries, in rt_ctx with WS_F_RT_PY, the address of the
 * calling thread's current contextvars Context: asyncio runs every step of a task inside
 * that task's own Context, so on an event-loop thread it names the task that wrote
 * (docs/parentage.md, "asyncio tasks"). Kept apart from wirespan_abi.h like ws_go_abi.h.
 */
#ifndef WS_PY_ABI_H
#define WS_PY_ABI_H

#include "wirespan_abi.h"

#define WS_PY_MAX_PROCS 4096     /* ws_py_procs entries: CPython processes traced at once */
#define WS_PY_MAX_THREADS 32     /* thread states walked to find the caller's; a thread
				  * further down the list gets no context (counted) */

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
			       * thread's base context (uvloop's own callbacks run there, for
			       * every task alike) is not entered and names no task */
};
WS_STATIC_ASSERT(sizeof(struct ws_py_proc) == 32, "ws_py_proc size");

/* Per-CPU counters of the lookup (map ws_py_counters). */
enum ws_py_counter {
	WS_PY_CNT_CTX = 0,        /* data records given a context */
	WS_PY_CNT_NO_CTX,         /* the caller's thread state has none (contextvars unused), or
				   * one that no Context.run entered (no task runs) */
	WS_PY_CNT_READ_FAIL,      /* user memory read failed */
	WS_PY_CNT_NOT_FOUND,      /* the caller's thread state is not among the first
				   * WS_PY_MAX_THREADS (or not there at all: a thread that
				   * never ran Python) */
	WS_PY_CNT_STALE,          /* tgid in ws_py_procs runs another executable */
	WS_PY_CNT__MAX,
};

#endif /* WS_PY_ABI_H */
