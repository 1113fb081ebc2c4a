/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Submitting a reserved ring-buffer record.
 */
#pragma once

#include "lib/config.h"
#include "lib/counters.h"
#include "maps/ringbuf.h"

/* Submit without waking the agent unless enough data is pending: one wakeup per
 * wakeup_bytes instead of one per event (the agent also polls with a timeout). */
static __always_inline void rb_submit(void *rec)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(rec, flags);
	cnt_inc(WS_CNT_EVENTS);
}
