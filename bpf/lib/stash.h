/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The calling thread's stash slot: create, take at exit, mark traced.
 */
#pragma once

#include "lib/counters.h"
#include "maps/stash.h"

/* The calling thread's stash slot, created on its first traced syscall. */
static __always_inline struct ws_stash *stash_slot(void)
{
	struct ws_stash *st = bpf_task_storage_get(&ws_stash, bpf_get_current_task_btf(), 0,
						   BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!st)
		cnt_inc(WS_CNT_STASH_FULL);
	return st;
}

/* The thread's slot, or NULL when it has none yet (no traced entry since attach). */
static __always_inline struct ws_stash *stash_thread(void)
{
	return bpf_task_storage_get(&ws_stash, bpf_get_current_task_btf(), 0, 0);
}

/* Take this syscall's entry out of the thread's slot. sys must match: a slot left by
 * another syscall (entry seen, exit not), consumed already, or not written because the
 * entry was ruled out (out-of-scope fast path) is ignored. */
static __always_inline bool stash_take_from(struct ws_stash *sp, __u16 sys, struct ws_stash *out)
{
	if (sp->sys != sys)
		return false;
	*out = *sp;
	sp->sys = 0;
	return true;
}

/* Returns the thread's slot (for marking it traced) when it held this syscall's entry. */
static __always_inline struct ws_stash *stash_take(__u16 sys, struct ws_stash *out)
{
	struct ws_stash *sp = stash_thread();

	return sp && stash_take_from(sp, sys, out) ? sp : NULL;
}

/* The thread took part in a traced connection: from now on its event loop, hand-offs,
 * children and exit are reported too. A load and a branch per traced syscall; the
 * store happens once per thread. */
static __always_inline void mark_traced(struct ws_stash *sp)
{
	if (!sp->traced)
		sp->traced = 1;
}

/* The slot of the current thread if it is traced; never creates one. Most threads on a
 * host have no task-local storage at all: a NULL task->bpf_storage, one plain load,
 * says so without the helper call (which in a raw tracepoint also takes a per-CPU
 * recursion guard). */
static __always_inline struct ws_stash *traced_slot(struct task_struct *task)
{
	struct ws_stash *st;

	if (!task->bpf_storage)
		return NULL;
	st = bpf_task_storage_get(&ws_stash, task, 0, 0);
	return st && st->traced ? st : NULL;
}
