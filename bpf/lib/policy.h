/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The connection's capture policy, cached in its state entry.
 */
#pragma once

#include "lib/config.h"
#include "maps/capture.h"
#include "maps/conns.h"

/*
 * The connection's capture policy (ws_capture, set by the agent). Cached in the state
 * entry with the generation it was read at: the map is looked up on a connection's
 * first traced syscall and after the agent changed any policy, otherwise this is one
 * load and one compare. A change takes effect at the next syscall, mid-run too.
 */
static __always_inline void policy_refresh(__u64 key, struct ws_conn *c)
{
	__u32 gen = *(volatile __u32 *)&ws_capture_gen;
	struct ws_capture_policy *p;

	if (c->cap_gen == gen)
		return;
	p = bpf_map_lookup_elem(&ws_capture, &key);
	c->cap_mode = p ? p->mode : WS_CAPMODE_DEFAULT;
	c->cap_gen = gen;
	/* A connection found open (no accept or connect seen): the agent's parser knows
	 * which end it is (lib/inj_srv.h follows server requests). */
	if (p && p->role && c->role == WS_ROLE_UNKNOWN)
		c->role = p->role;
}
