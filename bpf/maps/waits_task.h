/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A thread's scheduler totals at its current data syscall's entry (task storage).
 */
#pragma once

#include "lib/common.h"

/* The thread's totals at its current data syscall's entry, kept in its own task storage
 * and not in the syscall stash: the stash is copied onto the stack of the exit path,
 * where 16 more bytes broke 6.1's 512-byte limit for a call chain. */
struct ws_waits_task {
	__u64 enter_ns;     /* the syscall they belong to */
	__u64 oncpu_ns;     /* 0: not measured */
	__u64 runq_ns;
	__u64 arrive_ns;    /* ingress: arrival of its first byte, set at the exit; 0 unknown */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ws_waits_task);
} ws_waits_task SEC(".maps");
