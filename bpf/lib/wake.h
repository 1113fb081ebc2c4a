/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * When a ring-buffer submit wakes the agent (lib/submit.h). Pure: tested through
 * BPF_PROG_TEST_RUN (tests/bpf/helpers_test.bpf.c).
 */
#pragma once

#include "lib/common.h"

/*
 * Whether this submit wakes the agent. Pure: the ring's pending bytes and consumer
 * position in; the consumer position before which no forced wake-up is needed in and
 * out (0 at start).
 *
 * Below wakeup_bytes pending the agent is left asleep (it also polls with a timeout).
 * From wakeup_bytes to 4 x wakeup_bytes, a submit forces a wake-up only if the agent
 * has consumed wakeup_bytes since the last one was forced: every forced wake-up is an
 * irq_work, a self-IPI, a write to the APIC's MSR, which in a VM exits to the
 * hypervisor. Forcing one on every submit while the agent had not yet run or was still
 * catching up (as before 2026-12-03) cost about a tenth of all BPF time at 16k req/s.
 *
 * From 4 x wakeup_bytes on, every submit forces one again, as before, on purpose: the
 * storm was also backpressure. Each forced wake-up costs the traced process a VM exit
 * in its syscall, so an agent that lags slows the bursts that make it lag. Without it,
 * test_idle_conns (39 600 connections opened in a burst) overflowed the 8 MiB ring in 2
 * of 3 runs (1 126-3 693 records dropped) while the agent was busy consuming (717 ms for
 * 71 647 records, never asleep for more than its 100 ms tick: no wake-up was missed).
 * With the storm kept for backlogs past 4 x, the test passes and irq_work stays at
 * 0.1-0.2 % of samples at 16k req/s (1.5 % before). Two CPUs that pass the test at once
 * both wake it: harmless.
 */
static __always_inline bool rb_should_wake(__u64 avail, __u64 cons, __u64 threshold, __u64 *next_cons)
{
	if (avail < threshold || (cons < *next_cons && avail < 4 * threshold))
		return false;   /* below, or woken since and not yet caught up */
	*next_cons = cons + threshold;
	return true;
}
