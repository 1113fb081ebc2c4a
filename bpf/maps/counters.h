/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-CPU counters, index = enum ws_counter (headers/wirespan_abi.h); summed and
 * printed by the agent.
 */
#pragma once

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WS_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} ws_counters SEC(".maps");
