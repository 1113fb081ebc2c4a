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
 * One wake-up per wakeup_bytes consumed, not one per record. Below the threshold the
 * agent is left asleep (it also polls with a timeout). At or above it, a submit forces
 * a wake-up only if the agent has consumed wakeup_bytes since the last one was forced:
 * every forced wake-up is an irq_work, a self-IPI, a write to the APIC's MSR, which in
 * a VM exits to the hypervisor. Forcing one on every submit while the agent had not
 * yet run or was still catching up (as before) cost 17 % of all BPF time at 16k req/s.
 *
 * Nothing waits for the timeout because of it: a woken agent reads until the ring is
 * empty (its epoll on the ring is level-triggered and it consumes everything it finds),
 * so it can only go back to sleep with its consumer position at or past the record
 * that forced the last wake-up, which was at least wakeup_bytes past the position seen
 * then. Two CPUs that pass the test at once both wake it: harmless, and rare.
 */
static __always_inline bool rb_should_wake(__u64 avail, __u64 cons, __u64 threshold, __u64 *next_cons)
{
	if (avail < threshold || cons < *next_cons)
		return false;
	*next_cons = cons + threshold;
	return true;
}
