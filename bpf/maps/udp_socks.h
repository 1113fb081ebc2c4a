/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Unconnected UDP sockets that talk to a port of the UDP port set.
 */
#pragma once

#include "lib/common.h"

#define WS_UDP_SOCK_ENTRIES 4096

/* Unconnected UDP sockets that sent a datagram to a port in udp_port[]: their receives
 * are stashed and the sender's port checked at exit (a client's answer comes from the
 * port it asked, to its own ephemeral port). UDP has no close event here: LRU bounds
 * it, and a stale entry only costs a stash, since every datagram's port is checked. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WS_UDP_SOCK_ENTRIES);
	__type(key, __u64);
	__type(value, __u8);
} ws_udp_socks SEC(".maps");
