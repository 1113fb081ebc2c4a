/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Client sockets the sk_msg injection program runs on.
 */
#pragma once

#include "lib/common.h"

#define WS_INJ_SOCK_ENTRIES 65536

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, WS_INJ_SOCK_ENTRIES);
	__type(key, __u64);   /* socket cookie */
	__type(value, __u64);
} ws_inj_socks SEC(".maps");
