/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-CPU counters of the Go probes, index = enum ws_go_counter.
 */
#pragma once

#include "lib/common.h"
#include "headers/ws_go_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WS_GO_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} ws_go_counters SEC(".maps");
