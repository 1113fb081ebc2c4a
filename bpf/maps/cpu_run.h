/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per CPU: the task switched in, when, with how much CPU time.
 */
#pragma once

#include "lib/common.h"

struct ws_cpu_run {
	__u64 t_in;         /* bpf_ktime_get_ns() at the switch-in */
	__u64 sum_in;       /* the task's se.sum_exec_runtime then (settled: it was not running) */
	__u32 tid;          /* the task switched in; 0 none */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ws_cpu_run);
} ws_cpu_run SEC(".maps");
