/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-CPU counters of the injection programs, index = enum ws_inj_counter.
 */
#pragma once

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WS_INJ__MAX);
	__type(key, __u32);
	__type(value, __u64);
} ws_inj_counters SEC(".maps");
