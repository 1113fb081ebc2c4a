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

/* Drop sk's policy if it has one. Most sockets never get one: a lock-free lookup first
 * spares them the delete's bucket lock (irqsave, a paravirtual call in a VM). */
static __always_inline void capture_forget(__u64 *key)
{
	if (bpf_map_lookup_elem(&ws_capture, key))
		bpf_map_delete_elem(&ws_capture, key);
}
