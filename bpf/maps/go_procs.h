/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Go processes the agent inspected (agent/rt_go_elf.c), with their offsets.
 */
#pragma once

#include "lib/common.h"
#include "headers/ws_go_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WS_GO_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct ws_go_proc);
} ws_go_procs SEC(".maps");
