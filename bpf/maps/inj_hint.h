/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The agent's word on the trace a thread's request is in, per tid.
 */
#pragma once

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct ws_inj_hint);
} ws_inj_hint SEC(".maps");
