/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Submitting a reserved ring-buffer record.
 */
#pragma once

#include "lib/config.h"
#include "lib/counters.h"
#include "lib/wake.h"
#include "maps/ringbuf.h"

/* Consumer position before which no forced wake-up is needed: shared by all CPUs,
 * racy by design (see rb_should_wake). */
__u64 ws_rb_next_wake SEC(".bss");

static __always_inline void rb_submit(void *rec)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (rb_should_wake(bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA),
			   bpf_ringbuf_query(&rb, BPF_RB_CONS_POS), wakeup_bytes, &ws_rb_next_wake))
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(rec, flags);
	cnt_inc(WS_CNT_EVENTS);
}
