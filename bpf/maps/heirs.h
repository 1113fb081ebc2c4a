/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Threads that inherit the traced bit from the thread that created them.
 */
#pragma once

#include "lib/common.h"

#define WS_HEIR_ENTRIES 4096

/* Threads created by a traced thread that have not run yet: the fork hook cannot reach
 * the child's task storage (a raw tracepoint's task pointers are untyped), so it leaves
 * the child's tid here and the child claims the traced bit in its own context, at the
 * exit of clone/fork/vfork/clone3 (ret 0), its first instructions back from the kernel.
 * LRU: a child that never gets there must not hold an entry forever. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WS_HEIR_ENTRIES);
	__type(key, __u32);
	__type(value, __u8);
} ws_heirs SEC(".maps");
