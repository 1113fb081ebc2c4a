/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * CPython processes the agent inspected (agent/rt_py.c), with their offsets, and the
 * per-CPU counters of the context lookup (index = enum ws_py_counter).
 */
#pragma once

#include "lib/common.h"
#include "headers/ws_py_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WS_PY_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct ws_py_proc);
} ws_py_procs SEC(".maps");

/* Per thread of a registered CPython process that has had a context read: the address
 * of its PyThreadState (lib/py_ctx.h). Not in ws_stash: the exits copy their stash slot
 * onto the stack, which 6.1 has no room left for (docs/kernel.md, "Stack"). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} ws_py_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WS_PY_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} ws_py_counters SEC(".maps");
