/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-CPU scratch of the injection program: the scanned bytes and the header.
 */
#pragma once

#include "lib/common.h"

struct ws_inj_scratch {
	char buf[WS_INJ_SCAN];
	char hdr[WS_INJ_HDR_LEN + 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ws_inj_scratch);
} ws_inj_scratch SEC(".maps");
