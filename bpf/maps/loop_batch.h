/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * An event-loop thread's readiness batches not yet reported (task storage).
 */
#pragma once

#include "lib/common.h"

/* The batches a loop thread began since its previous record (struct ws_loop_batch,
 * headers/wirespan_abi.h), in task storage of their own: the syscall stash is copied
 * onto the exit path's stack, which has no 16 bytes to spare on 6.1 (maps/waits_task.h),
 * and only loop threads ever get a slot here. Dies with its thread. */
struct ws_loop_slot {
	struct ws_loop_batch b;   /* reported, then cleared (batch_take) */
	__u64 last_exit_ns;       /* the thread's latest wait returned (kept across reports) */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ws_loop_slot);
} ws_loop_batch SEC(".maps");
