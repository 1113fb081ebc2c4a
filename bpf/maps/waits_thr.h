/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Threads whose scheduler times are measured.
 */
#pragma once

#include "lib/common.h"

#define WS_WAITS_THREADS 16384

/* Threads whose scheduler times are measured: added at their first traced data syscall
 * (they handle requests), removed when they exit. A hash, not task storage: the switch
 * hook must test the incoming task, which a raw tracepoint only has as an untyped
 * pointer (task storage needs a typed one). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WS_WAITS_THREADS);
	__type(key, __u32);
	__type(value, __u8);
} ws_waits_thr SEC(".maps");
