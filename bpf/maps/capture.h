/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-socket capture policy, set by the agent.
 */
#pragma once

#include "lib/common.h"

/* Per-socket capture policy set by the agent (ws_bpf_set_capture). LRU, sized with
 * ws_conns by the loader; entries are also deleted at TCP_CLOSE and when accept/connect
 * make a new connection at an address that had one. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* the loader sets max_conns */
	__type(key, __u64);
	__type(value, struct ws_capture_policy);
} ws_capture SEC(".maps");
