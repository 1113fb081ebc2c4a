/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Handshake and first-arrival times of every TCP connection (docs/waits.md).
 */
#pragma once

#include "lib/common.h"

#define WS_WAITS_SOCKS 65536

struct ws_waits_sk {
	__u64 estab_ns;     /* handshake completed */
	__u64 arrive_ns;    /* the first unread byte entered the receive queue */
	__u32 arrive_seq;   /* ... and its sequence number */
	__u32 _pad;
};

/* Every TCP connection of the host from its handshake (scope is unknown in softirq,
 * where handshakes complete), deleted at TCP_CLOSE; LRU bounds what a missed close
 * leaves. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WS_WAITS_SOCKS);
	__type(key, __u64);
	__type(value, struct ws_waits_sk);
} ws_waits_sk SEC(".maps");
