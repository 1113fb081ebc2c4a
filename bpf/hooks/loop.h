/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Readiness batches of event loops: epoll_wait, epoll_pwait, epoll_pwait2, poll, ppoll,
 * select, pselect6 of traced threads. Counted in the thread's batch slot and reported
 * with its next record (struct ws_loop_batch), not as records of their own.
 *
 * Why: a thread that serves many connections from one loop reads request B right after
 * the wait that reported it ready; what it writes next belongs to B, not to whatever it
 * read before the wait. The batch boundary is the evidence (docs/parentage.md).
 *
 * Where: the syscall tracepoints, as for the data path (nothing cheaper exists on the
 * baseline kernel). Entry keeps the entry time and timeout in the thread's stash slot,
 * exit counts. Both look the slot up without creating it and stop unless the thread is
 * traced, so a process that never touched a traced connection pays one task-storage
 * lookup (a NULL pointer on its task for threads without any slot).
 * The loop records the data path emits too (a loop thread's reads from non-TCP
 * descriptors) are in lib/loop.h.
 */
#pragma once

#include "lib/loop.h"
#include "lib/stash.h"
#include "lib/tls.h"
#include "maps/scratch.h"
#include "lib/errors.h"

/* helper failures here are counted as this file (lib/errors.h) */
#define WS_FILE_ID WS_ERRF_HOOKS_LOOP

#define WS_FDSET_WORDS 16   /* select: fds below 1024 (FD_SETSIZE) are looked at */
#define WS_INT_MAX 0x7fffffff

/* A timeout in ms given as an int: any negative value waits forever. */
static __always_inline __s32 ms_arg(__u64 a)
{
	int ms = (int)a;

	return ms < 0 ? -1 : ms;
}

/* sec + sub-second part -> ms, rounded up so that only a zero timeout reads as 0
 * (non-blocking); capped at INT_MAX. */
static __always_inline __s32 to_ms(__s64 sec, __s64 sub, __u64 sub_per_ms)
{
	__u64 ms;

	if (sec < 0 || sub < 0)
		return WS_TIMEOUT_UNKNOWN;   /* invalid: the call fails with EINVAL */
	if (sec > WS_INT_MAX / 1000)
		return WS_INT_MAX;
	ms = (__u64)sec * 1000 + ((__u64)sub + sub_per_ms - 1) / sub_per_ms;
	return ms > WS_INT_MAX ? WS_INT_MAX : (__s32)ms;
}

/* A timeout passed by pointer: struct __kernel_timespec (ppoll, pselect6,
 * epoll_pwait2) or struct __kernel_old_timeval (select). NULL waits forever. One user
 * read of 16 bytes, only for traced threads. */
static __always_inline __s32 ptr_timeout_ms(__u64 uptr, bool timeval)
{
	long err;
	__s64 t[2];

	if (!uptr)
		return -1;
	err = bpf_probe_read_user(t, sizeof(t), (const void *)uptr);
	if (err) {
		ws_err(err);
		return WS_TIMEOUT_UNKNOWN;
	}
	return timeval ? to_ms(t[0], t[1], 1000) : to_ms(t[0], t[1], 1000000);
}

/*
 * select/pselect6: whether more than one descriptor is watched. n is the highest fd + 1,
 * not a count, so the three sets are read (fds below 1024) and their union looked at:
 * one fd in both the read and except sets (connect with a timeout) is one fd.
 */
static __always_inline bool fdsets_many(__u64 n, __u64 in, __u64 out, __u64 ex)
{
	long err;
	__u64 acc[WS_FDSET_WORDS] = {};
	const __u64 sets[3] = { in, out, ex };
	struct ws_scratch *s;
	__u32 zero = 0, words, seen = 0;
	__u64 sz;

	if (n <= 1)
		return false;
	s = bpf_map_lookup_elem(&ws_scratch, &zero);
	if (!s)
		return true;  /* cannot tell: report it */
	words = n >= WS_FDSET_WORDS * 64 ? WS_FDSET_WORDS : (n + 63) / 64;
	sz = words * 8;
	for (int k = 0; k < 3; k++) {
		__u64 *w = (__u64 *)s->iov;

		if (!sets[k])
			continue;
		barrier_var(sz);
		if (sz > sizeof(s->iov))
			sz = sizeof(s->iov);
		barrier_var(sz);
		err = bpf_probe_read_user(w, sz, (const void *)sets[k]);
		if (err) {
			ws_err(err);
			return true;
		}
		for (int i = 0; i < WS_FDSET_WORDS; i++) {
			if (i >= words)
				break;
			acc[i] |= w[i];
		}
	}
	if (n < WS_FDSET_WORDS * 64 && (n & 63))
		acc[(words - 1) & (WS_FDSET_WORDS - 1)] &= (1ull << (n & 63)) - 1;
	for (int i = 0; i < WS_FDSET_WORDS; i++) {
		__u64 w = acc[i];

		if (!w)
			continue;
		if (seen || (w & (w - 1)))
			return true;
		seen = 1;
	}
	return false;
}

/* Is this call a batch: epoll always; poll/ppoll/select/pselect6 over more than one
 * descriptor (a wait on one fd is a blocking call with a timeout, not a loop). */
static __always_inline bool loop_is_batch(__u16 sys, __u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	switch (sys) {
	case WS_SYS_POLL:
	case WS_SYS_PPOLL:
		return a1 > 1;
	case WS_SYS_SELECT:
	case WS_SYS_PSELECT6:
		return fdsets_many(a0, a1, a2, a3);
	default:
		return true;
	}
}

static __always_inline __s32 loop_timeout(__u16 sys, __u64 a2, __u64 a3, __u64 a4)
{
	switch (sys) {
	case WS_SYS_EPOLL_WAIT:
	case WS_SYS_EPOLL_PWAIT:
		return ms_arg(a3);
	case WS_SYS_POLL:
		return ms_arg(a2);
	case WS_SYS_EPOLL_PWAIT2:
		return ptr_timeout_ms(a3, false);
	case WS_SYS_PPOLL:
		return ptr_timeout_ms(a2, false);
	case WS_SYS_PSELECT6:
		return ptr_timeout_ms(a4, false);
	case WS_SYS_SELECT:
		return ptr_timeout_ms(a4, true);
	}
	return WS_TIMEOUT_UNKNOWN;
}

static __always_inline int loop_enter(__u16 sys, const struct trace_event_raw_sys_enter *ctx)
{
	struct ws_stash *st = traced_slot(bpf_get_current_task_btf());
	__u64 a0, a1, a2, a3, a4;

	if (!st)
		return 0;
	a0 = ctx->args[0];
	a1 = ctx->args[1];
	a2 = ctx->args[2];
	a3 = ctx->args[3];
	a4 = ctx->args[4];
	st->sys = sys;
	st->loop_skip = !loop_is_batch(sys, a0, a1, a2, a3);
	if (st->loop_skip)
		return 0;
	st->enter_ns = bpf_ktime_get_ns();
	st->fd = loop_timeout(sys, a2, a3, a4);
	return 0;
}

/*
 * A slot stamped with this syscall holds its entry. Otherwise the call was already in
 * progress when the programs were attached (the thread is traced, and traced threads
 * always stamp their loop entries): it is reported with enter_ns 0 and an unknown
 * timeout, after checking from the registers saved at entry that it is a batch (for
 * select only n is checked: the kernel has rewritten the sets by now).
 */
static __always_inline int loop_exit(__u16 sys, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ws_stash *st = traced_slot(task);
	__u64 enter_ns = 0;
	__s32 timeout = WS_TIMEOUT_UNKNOWN;

	if (!st)
		return 0;
	if (tls_enabled && (st->tls & WS_TLS_SEEN))
		tls_wait_returned(task);
	if (st->sys == sys) {
		st->sys = 0;
		if (st->loop_skip)
			return 0;
		enter_ns = st->enter_ns;
		timeout = st->fd;
	} else if (sys != WS_SYS_EPOLL_WAIT && sys != WS_SYS_EPOLL_PWAIT &&
		   sys != WS_SYS_EPOLL_PWAIT2) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
		__u64 n;

		if (!regs)
			return 0;
		n = (sys == WS_SYS_POLL || sys == WS_SYS_PPOLL) ? PT_REGS_PARM2_CORE_SYSCALL(regs)
								  : PT_REGS_PARM1_CORE_SYSCALL(regs);
		if (n <= 1)
			return 0;
	}
	if (ret < 0)
		return 0;
	st->loop = 1;
	batch_note(task, enter_ns, timeout);
	return 0;
}

#define LOOP_HOOKS(name, SYS)                                                           \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                    \
	int sys_enter_##name(struct trace_event_raw_sys_enter *ctx)                    \
	{                                                                              \
		return loop_enter(SYS, ctx);                                           \
	}                                                                              \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                     \
	int sys_exit_##name(struct trace_event_raw_sys_exit *ctx)                      \
	{                                                                              \
		return loop_exit(SYS, ctx->ret);                                       \
	}

/* epoll_wait(epfd, events, maxevents, timeout_ms) */
LOOP_HOOKS(epoll_wait, WS_SYS_EPOLL_WAIT)
/* epoll_pwait(epfd, events, maxevents, timeout_ms, sigmask, sigsetsize) */
LOOP_HOOKS(epoll_pwait, WS_SYS_EPOLL_PWAIT)
/* epoll_pwait2(epfd, events, maxevents, const struct __kernel_timespec *, sigmask, size) */
LOOP_HOOKS(epoll_pwait2, WS_SYS_EPOLL_PWAIT2)
/* poll(fds, nfds, timeout_ms) */
LOOP_HOOKS(poll, WS_SYS_POLL)
/* ppoll(fds, nfds, const struct __kernel_timespec *, sigmask, sigsetsize) */
LOOP_HOOKS(ppoll, WS_SYS_PPOLL)
/* select(n, inp, outp, exp, struct __kernel_old_timeval *) */
LOOP_HOOKS(select, WS_SYS_SELECT)
/* pselect6(n, inp, outp, exp, const struct __kernel_timespec *, void *sigmask_and_size) */
LOOP_HOOKS(pselect6, WS_SYS_PSELECT6)

#undef WS_FILE_ID

/*
 * Node.js: node::Environment::CheckImmediate is libuv's check callback, which runs once
 * per loop iteration right after the poll phase's I/O callbacks (and the write
 * callbacks they queued), before setImmediate work, close callbacks and timers: its
 * entry ends the batch's I/O phase (agent/tls_attach.c attaches it per node
 * executable; docs/parentage.md says what the agent makes of it). It fires in every
 * process of that executable; threads that are not traced loops return at once.
 */
SEC("uprobe")
int ws_loop_io_done(struct pt_regs *ctx)
{
	loop_io_done();
	return 0;
}
