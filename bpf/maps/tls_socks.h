/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * SSL object -> socket bindings, per process.
 */
#pragma once

#include "lib/common.h"

/* SSL* -> socket, per process: forked workers (nginx) share heap layouts, so the same
 * SSL* address names different objects in different processes. LRU: SSL objects are
 * freed without a hook; a stale binding is only used while its socket is still tracked
 * and is replaced by the next call that makes a syscall. */
struct ws_tls_key {
	__u64 ssl;
	__u32 tgid;
	__u32 _pad;
};

struct ws_tls_bind {
	__u64 sk;
	__s32 fd;
	/* The connection's ports when bound (0: its entry was not there). A struct sock's
	 * address is reused by later connections, of any process: a binding whose socket
	 * now carries other ports belongs to a freed SSL object and a closed connection. */
	__u16 sport;
	__u16 dport;
};


struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* the loader sets max_conns */
	__type(key, struct ws_tls_key);
	__type(value, struct ws_tls_bind);
} ws_tls_socks SEC(".maps");
