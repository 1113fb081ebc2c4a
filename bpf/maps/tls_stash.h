/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The thread's TLS library call in progress (task storage).
 */
#pragma once

#include "lib/common.h"

/* ws_tls_call.kind */
#define WS_TLS_K_READ 1
#define WS_TLS_K_WRITE 2
#define WS_TLS_K_OTHER 3   /* SSL_do_handshake, SSL_shutdown: ciphertext only */

/* The thread's TLS call in progress, and the read that may feed its next one. */
struct ws_tls_call {
	__u64 ssl;
	__u64 buf;        /* plaintext buffer */
	__u64 n_ptr;      /* _ex calls: size_t *readbytes or *written; 0 otherwise */
	__u64 enter_ns;
	__u64 sp;         /* stack pointer at entry: matches its return, tells nesting */
	__u64 sk;         /* the first socket a syscall inside the call used; 0: none yet */
	__u64 pend_sk;    /* the thread's last read outside TLS calls that began with a TLS
			   * record header, until a TLS read or handshake binds by it */
	__u64 pend_data_sk; /* that read's socket while its application-data record at
			     * pend_seq waits for the TLS read that decrypts it; 0: none */
	__s32 fd;
	__s32 pend_fd;
	__u32 seq;        /* TCP seq of the first ciphertext byte moved in the call's direction */
	__u32 pend_seq;   /* seq of the first application-data record of pend_sk's read */
	__u16 pend_rec;   /* that record's length (header excluded) */
	__u8 active;
	__u8 kind;        /* WS_TLS_K_* */
	__u8 has_seq;
	__u8 task_ok;     /* scope_task() at entry */
	__u8 _pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ws_tls_call);
} ws_tls_stash SEC(".maps");
