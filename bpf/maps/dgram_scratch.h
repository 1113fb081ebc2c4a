/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-CPU working set of the datagram exit path.
 */
#pragma once

#include "lib/common.h"
#include "lib/emit_args.h"
#include "maps/conns.h"

/* dgram_exit's working set, off the stack: inlined in data_exit, or as a call of its
 * own, it went past the 512 bytes that 6.1 allows for a call chain. */
struct ws_dgram_scratch {
	struct ws_emit e;
	struct ws_conn c;
	struct user_msghdr mh;
	__u8 daddr[16];   /* mmsg: the socket's own peer, restored before each message */
	__u16 dport;
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ws_dgram_scratch);
} ws_dgram_scratch SEC(".maps");
