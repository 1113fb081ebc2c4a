/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Processes selected by --pid (and their children).
 */
#pragma once

#include "lib/common.h"

#define WS_PID_FILTER_ENTRIES 1024

/* ws_pid_filter values: given by the user, or added by the fork hook for a child of a
 * process in the filter (removed again when that child process is gone). */
#define WS_PID_USER 1
#define WS_PID_CHILD 2

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WS_PID_FILTER_ENTRIES);
	__type(key, __u32);
	__type(value, __u8);
} ws_pid_filter SEC(".maps");
