/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One data event, gathered on the stack before its record is reserved.
 */
#pragma once

#include "lib/common.h"

/* One data event, gathered on the stack before its record is reserved. */
struct ws_emit {
	__u64 sk;
	__u64 pid_tgid;
	__u64 enter_ns;
	__u64 exit_ns;
	__u64 src;         /* payload source: user buffer */
	__u64 iov;         /* vectored I/O: user iovec array */
	__u64 rt;          /* runtime context (lib/rt_ctx.h rt_fill), set by the emit wrappers */
	__u32 seq;
	__u32 bytes;
	__u32 want;        /* payload bytes to copy, budget already applied */
	__s32 fd;
	__u16 sys;
	__u16 flags;
	__u8 dir;
	__u8 loop;         /* the thread is an event loop: its pending batches ride on the record */
	__u16 iovcnt;      /* vectored I/O: iovec count, capped at 0xffff (iov_cap): only
			    * "more than WS_MAX_IOV" matters past that; a u16 keeps this
			    * struct, which every exit program holds, at 80 bytes */
};

/* An iovec count as ws_emit keeps it. */
static __always_inline __u16 iov_cap(__u64 n)
{
	return n > 0xffff ? 0xffff : (__u16)n;
}
