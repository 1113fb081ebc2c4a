/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-CPU scratch space of the vectored-I/O paths (too big for the BPF stack).
 */
#pragma once

#include "lib/common.h"

/* Vectored I/O: the user's iovec array is read here in one go (too big for the
 * 512-byte BPF stack next to the rest of the exit path). */
struct ws_scratch {
	struct iovec iov[WS_MAX_IOV];
	/* Many-iovec writes (ws_emit_iov_many): the pieces are gathered here first, at an
	 * offset masked to WS_MAX_PAYLOAD with a piece capped at WS_MAX_PAYLOAD, so twice
	 * the size provably holds any piece at any offset. */
	__u8 buf[2 * WS_MAX_PAYLOAD];
	/* ... and the walk's state, here rather than on a stack the exit path has
	 * nearly used up (the verifier's 512-byte limit over the whole call chain). */
	__u64 g_uiov;
	__u64 g_want;
	__u64 g_off;
	__u64 g_n_iov;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ws_scratch);
} ws_scratch SEC(".maps");
