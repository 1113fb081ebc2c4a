/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The per-thread syscall stash: a data syscall's arguments from entry to exit, and
 * bits that outlive the syscalls (traced, loop, tls).
 */
#pragma once

#include "lib/common.h"

/* Arguments of a traced syscall between sys_enter and sys_exit. */
struct ws_stash {
	__u64 enter_ns;
	__u64 sk;        /* struct sock * resolved at entry; 0 for accept */
	__u64 buf;       /* user buffer, iovec array, msghdr or mmsghdr array */
	__u64 len;       /* buffer size or iovec count */
	__s32 fd;
	__u16 sys;       /* enum ws_syscall, checked at exit; 0 = consumed */
	__u8 task_ok;    /* pid/comm scoping (or no scoping) selected the task */
	__u8 trunc;      /* MSG_TRUNC receive: the user buffer was not filled */
	__u32 seq_enter; /* sendmmsg/recvmmsg only: sequence number at entry */
	__u8 seq_ok;     /* seq_enter is valid */
	/* Outlives the syscalls: the thread moved bytes on, accepted or connected a
	 * traced connection (or was created by a traced thread). The loop and task
	 * hooks report only such threads, so they cost untraced ones one lookup. */
	__u8 traced;
	__u8 loop_skip;  /* loop syscalls: not a batch (poll/select on one fd) */
	/* Outlives the syscalls: the thread has reported a readiness batch (an event
	 * loop). Its reads from descriptors that are not TCP sockets are then reported
	 * too (WS_LOOP_FOREIGN): they run callbacks that no traced request caused. */
	__u8 loop;
	__u8 dgram;      /* sk is a UDP socket: one record per datagram */
	/* Outlives the syscalls: WS_TLS_IN_CALL while the thread is inside a TLS library
	 * call (bpf/hooks/tls.h), WS_TLS_SEEN once it made one. Read from the copy the
	 * exit takes anyway: threads that never call the TLS library pay nothing more. */
	__u8 tls;
	__u8 _pad[6];
	__u64 addr;      /* dgram sendto/recvfrom: the user sockaddr of the peer, or 0 */
};

/* Loop syscalls (epoll_wait, poll, select, ...) keep enter_ns and sys in the same slot
 * (a thread is in one syscall at a time) and their timeout in ms in fd. */

/* One stash per thread, in task-local storage: a lookup there is a pointer chase on
 * the task instead of a hash operation (an LRU hash update + delete per syscall was
 * ~40% of the per-syscall cost measured here), and the entry dies with its thread, so
 * nothing can leak or fill up. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ws_stash);
} ws_stash SEC(".maps");
