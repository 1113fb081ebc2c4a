/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Destinations whose requests get a traceparent (unless inj_all).
 */
#pragma once

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ws_inj_dst_key);
	__type(value, __u8);
} ws_inj_dst SEC(".maps");
