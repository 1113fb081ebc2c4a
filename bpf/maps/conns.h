/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-connection state, keyed by struct sock address.
 */
#pragma once

#include "lib/common.h"

/* ws_conn.flags */
#define WS_CONN_PORT_OK (1u << 0)   /* the port filter matches this connection */
#define WS_CONN_REPORTED (1u << 1)  /* a WS_SOCK_OPEN went out: userspace knows it */
#define WS_CONN_TLS (1u << 2)       /* TLS plaintext was reported for it: every syscall
				     * on it carries ciphertext (WS_F_CIPHER, no payload) */
#define WS_CONN_DATA_OUT (1u << 3)  /* a payload was copied in this direction */
#define WS_CONN_DATA_IN (1u << 5)
#define WS_CONN_H2 (1u << 4)        /* its first payload (plaintext: ws_conn.tls_seen) in
				     * either direction was the HTTP/2
				     * client preface (a client writes it, a server reads it,
				     * possibly after writing its own SETTINGS): copy every
				     * byte (as policy ALL) before the agent has had time to
				     * say so; HPACK state needs every header block */
#define WS_CONN_SRV_OPEN (1u << 6)  /* server side: a request was read and not yet
				     * answered, by thread srv_tid (bpf/lib/inj_srv.h) */
#define WS_CONN_SRV_MANY (1u << 7)  /* ... and it counts as several for that thread: HTTP/2
				     * (streams), or a Go process (goroutines share threads) */

/* Per-connection state, keyed by struct sock address. */
struct ws_conn {
	struct ws_tuple tuple;
	__u32 run_captured;  /* payload bytes captured in the current run */
	__u8 role;           /* enum ws_role */
	__u8 flags;          /* WS_CONN_* */
	__u8 run_dir;        /* enum ws_dir of the current run */
	__u8 cap_mode;       /* enum ws_capture_mode, cached from ws_capture */
	__u32 cap_gen;       /* ws_capture_gen when cap_mode was read; 0: never */
	__u32 tls_run_captured; /* plaintext (WS_F_TLS) bytes captured in the current run */
	__u8 tls_run_dir;    /* enum ws_dir of the current plaintext run */
	__u8 tls_seen;       /* WS_CONN_DATA_IN/OUT for plaintext (WS_F_TLS) payloads: a
			      * memory BIO's handshake reads carry ciphertext payload first */
	__u8 rt_none;        /* WS_RT_NONE_*: rt_pid is not a registered Go / CPython
			      * process, as of generation rt_gen (lib/config.h ws_rt_gen) */
	__u8 _pad;
	__u32 srv_tid;       /* with WS_CONN_SRV_OPEN: the thread that read the request */
	__u32 rt_pid;
	__u32 rt_gen;        /* 0: never looked */
};

#define WS_RT_NONE_GO (1u << 0)
#define WS_RT_NONE_PY (1u << 1)
/* ws_go_ctx / ws_py_ctx: the process is not registered (or its entry is stale) */
#define WS_RT_UNREGISTERED (~0ULL)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* the loader sets max_conns */
	__type(key, __u64);
	__type(value, struct ws_conn);
} ws_conns SEC(".maps");
