/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The parent goroutine of a newproc1 call in progress, per thread.
 */
#pragma once

#include "lib/common.h"

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
