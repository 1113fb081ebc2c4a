/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Bumping the per-CPU counters.
 */
#pragma once

#include "maps/counters.h"

static __always_inline void cnt_add(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&ws_counters, &idx);

	if (c)
		*c += v;
}

static __always_inline void cnt_inc(__u32 idx)
{
	cnt_add(idx, 1);
}
