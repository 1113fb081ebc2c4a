/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * How many payload bytes a data event may copy: the per-run capture budget. Pure (the
 * connection's state entry in, the cap as an argument), so that it runs under
 * BPF_PROG_TEST_RUN (tests/bpf/); the callers pass the capture_bytes tunable.
 */
#pragma once

#include "lib/common.h"
#include "maps/conns.h"

/*
 * Capture budget of the current message run: a run is consecutive data syscalls in
 * one direction and restarts when the direction flips. Returns how many payload
 * bytes this event may copy and charges them to the run. The connection's policy
 * overrides the budget: OFF copies nothing, ALL everything up to WS_MAX_PAYLOAD.
 */
static __always_inline __u32 budget_take(struct ws_conn *c, __u8 dir, __u32 bytes, __u32 cap,
					 __u16 *flags)
{
	__u32 used, avail, n;

	if (cap > WS_MAX_PAYLOAD)
		cap = WS_MAX_PAYLOAD;
	if (c->run_dir != dir) {
		c->run_dir = dir;
		c->run_captured = 0;
	}
	if (c->cap_mode == WS_CAPMODE_OFF) {
		*flags |= WS_F_BUDGET;
		return 0;
	}
	if (c->cap_mode == WS_CAPMODE_ALL || (c->cap_mode == WS_CAPMODE_DEFAULT && (c->flags & WS_CONN_H2)))
		return bytes < WS_MAX_PAYLOAD ? bytes : WS_MAX_PAYLOAD;
	used = c->run_captured;
	avail = used < cap ? cap - used : 0;
	n = bytes < avail ? bytes : avail;
	if (n < bytes)
		*flags |= WS_F_BUDGET;
	c->run_captured = used + n;
	return n;
}

/* Direction bookkeeping for events that carry no payload (sendfile, MSG_TRUNC). */
static __always_inline void budget_dir(struct ws_conn *c, __u8 dir)
{
	if (c->run_dir != dir) {
		c->run_dir = dir;
		c->run_captured = 0;
	}
}

/* Payload bytes this event may copy. A MSG_TRUNC receive did not fill the user buffer:
 * nothing to copy, but the run's direction still counts. */
static __always_inline __u32 payload_budget(struct ws_conn *c, __u8 dir, __u32 bytes, bool trunc,
					    __u32 cap, __u16 *flags)
{
	/* Ciphertext: no payload, and the run budget is the plaintext's business. */
	if (*flags & WS_F_CIPHER)
		return 0;
	if (trunc) {
		budget_dir(c, dir);
		return 0;
	}
	return budget_take(c, dir, bytes, cap, flags);
}
