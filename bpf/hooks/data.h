/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The data syscalls (read/write and their vectored, message and mmsg forms,
 * sendfile): entry stashes, exit reports.
 */
#pragma once

#include "hooks/dgram.h"
#include "lib/budget.h"
#include "lib/conn.h"
#include "lib/gather.h"
#include "lib/loop.h"
#include "lib/policy.h"
#include "lib/read_seq.h"
#include "lib/seq.h"
#include "lib/stash.h"
#include "lib/tls.h"
#include "lib/waits.h"
#include "lib/errors.h"

/* helper failures here are counted as this file (lib/errors.h) */
#define WS_FILE_ID WS_ERRF_HOOKS_DATA

/* The argument registers of the current syscall, as saved at its entry. */
static __always_inline __u64 sys_arg(struct pt_regs *regs, int i)
{
	switch (i) {
	case 0: return PT_REGS_PARM1_CORE_SYSCALL(regs);
	case 1: return PT_REGS_PARM2_CORE_SYSCALL(regs);
	case 2: return PT_REGS_PARM3_CORE_SYSCALL(regs);
	default: return PT_REGS_PARM4_CORE_SYSCALL(regs);
	}
}

/*
 * Exit without a stash slot for this thread. A thread gets its slot at its first
 * traced entry (or here), so having none means this thread entered no traced syscall
 * since the programs were attached: this exit ends a call that was already in progress
 * then — typically a server thread blocked in recv() on a keep-alive connection opened
 * before the agent. Its arguments are still in the registers saved at entry, so the
 * call is recovered from them (entry time unknown: 0, the exit time stands in). The
 * slot is created here so that every later exit of the thread takes the cheap path;
 * this runs at most once per thread.
 */
static __always_inline struct ws_stash *stash_recover(__u16 sys, long ret, int flags_arg,
						     struct ws_stash *out)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ws_stash *sp;
	struct pt_regs *regs;
	struct sock *sk;
	__u64 msg_flags;
	int task_ok;

	/* Called only for a thread without a slot (stash_thread() NULL): one that has a
	 * slot had its entry seen, and skipped if there is nothing in the slot. */
	sp = bpf_task_storage_get(&ws_stash, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!sp || ret <= 0)
		return NULL;
	task_ok = scope_task(bpf_get_current_pid_tgid() >> 32);
	if (task_ok < 0)
		return NULL;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return NULL;
	msg_flags = flags_arg >= 0 ? sys_arg(regs, flags_arg) : 0;
	if (msg_flags & WS_MSG_PEEK)
		return NULL;
	sk = fd_to_tcp_sock((int)sys_arg(regs, 0));
	if (!sk || (!task_ok && sock_port_excluded(sk)))
		return NULL;
	__builtin_memset(out, 0, sizeof(*out));
	out->sk = (__u64)sk;
	out->fd = (int)sys_arg(regs, 0);
	out->buf = sys_arg(regs, 1);
	out->len = sys_arg(regs, 2);
	out->sys = sys;
	out->task_ok = task_ok;
	out->trunc = (msg_flags & WS_MSG_TRUNC) != 0;
	cnt_inc(WS_CNT_RECOVERED);
	return sp;
}

static __always_inline void emit_eof(struct ws_stash *st, struct ws_conn *c, __u64 id, __u64 now)
{
	long err;
	struct ws_emit e = {};

	e.sk = st->sk;
	e.pid_tgid = id;
	e.enter_ns = st->enter_ns;
	e.exit_ns = now;
	e.fd = st->fd;
	e.sys = st->sys;
	e.dir = WS_DIR_INGRESS;
	e.flags = WS_F_EOF;
	e.loop = st->loop;
	/* seq: the FIN's own sequence number, the end of the peer's byte stream. */
	err = read_seq((struct sock *)st->sk, WS_DIR_INGRESS, &e.seq);
	if (err) {
		ws_err(err);
		e.flags |= WS_F_NO_SEQ;
	}
	emit_data(&e, c);
}

/* sendmmsg/recvmmsg: one event per message for the first WS_MAX_MMSG messages. */
static __always_inline void mmsg_exit(struct ws_emit *e, struct ws_conn *c, struct ws_stash *st,
				      __u32 nmsg, __u32 end_seq)
{
	long err;
	const struct mmsghdr *m = (const struct mmsghdr *)st->buf;
	__u32 total = 0, seq;
	int i;

	for (i = 0; i < WS_MAX_MMSG; i++) {
		__u32 len;

		if (i >= nmsg)
			break;
		if (bpf_core_read_user(&len, sizeof(len), &m[i].msg_len))
			break;
		total += len;
	}
	seq = seq_mmsg_start(nmsg, !(e->flags & WS_F_NO_SEQ), end_seq, total, st->seq_ok,
			     st->seq_enter, &e->flags);

	for (i = 0; i < WS_MAX_MMSG; i++) {
		struct mmsghdr mh;
		__u16 base_flags = e->flags & (WS_F_NO_SEQ | WS_F_CIPHER);

		if (i >= nmsg)
			break;
		err = bpf_probe_read_user(&mh, sizeof(mh), &m[i]);
		if (err) {
			ws_err(err);
			break;
		}
		e->flags = base_flags;
		e->seq = seq;
		e->bytes = mh.msg_len;
		if (mh.msg_len == 0) {
			if (e->dir == WS_DIR_INGRESS) {
				e->flags |= WS_F_EOF;
				e->want = 0;
				emit_data(e, c);
				break;
			}
			continue;
		}
		e->iov = (__u64)mh.msg_hdr.msg_iov;
		e->iovcnt = iov_cap(mh.msg_hdr.msg_iovlen);
		e->want = payload_budget(c, e->dir, mh.msg_len, st->trunc, capture_bytes, &e->flags);
		EMIT_IOV(e, c);
		seq += mh.msg_len;
	}
}

/* ---- sys_enter ---------------------------------------------------------------- */

static __always_inline int data_enter(__u16 sys, long fd, __u64 buf, __u64 len, __u64 msg_flags,
				      __u64 addr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock *sk, *udp = NULL;
	struct ws_stash *st;
	int task_ok;

	/* A peek does not consume: the same bytes come again with the real read. */
	if (msg_flags & WS_MSG_PEEK)
		return 0;
	task_ok = scope_task(id >> 32);
	if (task_ok < 0)
		return 0;
	sk = fd_to_sock((int)fd, &udp);
	if (!sk) {
		if (udp && dgram_enter(sys, (int)fd, udp, buf, len, addr, task_ok, msg_flags))
			return 0;
		if (sys == WS_SYS_READ || sys == WS_SYS_READV || sys == WS_SYS_RECVFROM ||
		    sys == WS_SYS_RECVMSG || sys == WS_SYS_RECVMMSG)
			foreign_enter(sys, fd);
		return 0;
	}
	if (!task_ok && sock_port_excluded(sk))
		return 0;
	st = stash_slot();
	if (!st)
		return 0;
	st->enter_ns = bpf_ktime_get_ns();
	st->sk = (__u64)sk;
	st->buf = buf;
	st->len = len;
	st->fd = (int)fd;
	st->sys = sys;
	st->task_ok = task_ok;
	st->trunc = (msg_flags & WS_MSG_TRUNC) != 0;
	st->seq_ok = 0;
	st->dgram = 0;
	waits_enter(st->enter_ns);
	if (sys == WS_SYS_SENDMMSG || sys == WS_SYS_RECVMMSG) {
		/* mmsg returns a message count: when more messages moved than are
		 * reported, the start sequence is taken here instead of from exit. */
		__u8 dir = sys == WS_SYS_SENDMMSG ? WS_DIR_EGRESS : WS_DIR_INGRESS;

		st->seq_ok = read_seq(sk, dir, &st->seq_enter) == 0;
	}
	return 0;
}

static __always_inline int data_exit(long ret, __u16 sys, __u8 dir, int flags_arg)
{
	long err;
	__u64 id = bpf_get_current_pid_tgid();
	struct ws_stash st, *sp;
	struct ws_emit e = {};
	struct ws_conn *c;
	struct sock *sk;
	__u32 end_seq = 0;
	bool fresh = false;
	__u64 now;

	/* A thread without a slot may be ending a call that began before attach; one
	 * with a slot had its entry seen (and written unless it was ruled out). */
	sp = stash_thread();
	if (sp) {
		if (!stash_take_from(sp, sys, &st))
			return 0;
	} else {
		sp = stash_recover(sys, ret, flags_arg, &st);
		if (!sp)
			return 0;
	}
	if (ret < 0)
		return 0;
	if (!st.sk) {
		/* a loop thread's read from a descriptor that is not a TCP socket */
		if (ret > 0)
			emit_foreign(sys, st.enter_ns);
		return 0;
	}
	if (st.dgram)
		return ret > 0 ? dgram_exit(&st, sp->loop, ret, sys, dir) : 0;
	now = bpf_ktime_get_ns();
	if (!st.enter_ns)
		st.enter_ns = now;   /* recovered: entered before the programs were attached */
	sk = (struct sock *)st.sk;
	c = bpf_map_lookup_elem(&ws_conns, &st.sk);
	if (ret == 0) {
		/* EOF only for connections userspace already knows. */
		if (dir == WS_DIR_INGRESS && sys != WS_SYS_RECVMMSG && c &&
		    (c->flags & WS_CONN_REPORTED) && conn_traced(c, st.task_ok))
			emit_eof(&st, c, id, now);
		return 0;
	}
	if (!c) {
		c = conn_create(sk, WS_ROLE_UNKNOWN, BPF_NOEXIST);
		if (!c)
			return 0;
		fresh = true;
	}
	if (!conn_traced(c, st.task_ok)) {
		cnt_inc(WS_CNT_FILTERED);
		if (fresh)
			conn_end_if_closed(st.sk, c);
		return 0;
	}
	mark_traced(sp);
	conn_announce(st.sk, c, sys, st.fd, id, 0);
	policy_refresh(st.sk, c);

	e.sk = st.sk;
	e.pid_tgid = id;
	e.enter_ns = st.enter_ns;
	e.exit_ns = now;
	e.fd = st.fd;
	e.sys = sys;
	e.dir = dir;
	e.loop = st.loop;
	err = read_seq(sk, dir, &end_seq);
	if (err) {
		ws_err(err);
		e.flags |= WS_F_NO_SEQ;
	} else if (dir == WS_DIR_INGRESS) {
		waits_exit(&st.sk, seq_start(end_seq, ret), st.enter_ns);
	}
	/* TLS: a syscall inside a TLS call of this thread, or any syscall on a connection
	 * whose plaintext the uprobes have reported, moves ciphertext: no payload. The
	 * test costs threads outside TLS calls nothing but the bit in their slot. */
	if (tls_enabled && st.tls) {
		bool seq_ok = !(e.flags & WS_F_NO_SEQ) && sys != WS_SYS_SENDMMSG &&
			      sys != WS_SYS_RECVMMSG;

		if ((st.tls & WS_TLS_IN_CALL) &&
		    tls_note_syscall(st.sk, st.fd, dir, seq_start(end_seq, ret), seq_ok)) {
			e.flags |= WS_F_CIPHER;
			if (dir == WS_DIR_INGRESS && seq_ok)
				tls_note_call_read(st.sk, sys, st.buf, seq_start(end_seq, ret), (__u32)ret);
		} else if (dir == WS_DIR_INGRESS)
			tls_note_read(st.sk, st.fd, sys, st.buf, seq_start(end_seq, ret), seq_ok,
				      (__u32)ret);
	}
	if (tls_enabled && (c->flags & WS_CONN_TLS))
		e.flags |= WS_F_CIPHER;
	if (e.flags & WS_F_CIPHER) {
		cnt_inc(WS_CNT_TLS_CIPHER);
		/* A memory BIO's runtime writing what the library produced: the agent needs
		 * the write's record lengths to find the record of the plaintext it waits for
		 * (lib/tls.h tls_write_recs). */
		if (dir == WS_DIR_EGRESS && !(st.tls & WS_TLS_IN_CALL) && sys != WS_SYS_SENDMMSG &&
		    sys != WS_SYS_SENDFILE) {
			__u16 lens[WS_TLS_MAX_RECS] = {};
			int k = tls_write_recs(sys, st.buf, (__u32)ret, lens);

			if (k) {
				e.seq = seq_start(end_seq, ret);
				e.bytes = ret;
				emit_cipher_recs(&e, c, lens, k);
				if (fresh)
					conn_end_if_closed(st.sk, c);
				return 0;
			}
		}
	}

	switch (sys) {
	case WS_SYS_READ:
	case WS_SYS_WRITE:
	case WS_SYS_RECVFROM:
	case WS_SYS_SENDTO:
		e.seq = seq_start(end_seq, ret);
		e.bytes = ret;
		e.src = st.buf;
		e.want = payload_budget(c, dir, ret, st.trunc, capture_bytes, &e.flags);
		emit_data(&e, c);
		break;
	case WS_SYS_READV:
	case WS_SYS_WRITEV:
	case WS_SYS_RECVMSG:
	case WS_SYS_SENDMSG:
		e.seq = seq_start(end_seq, ret);
		e.bytes = ret;
		if (sys == WS_SYS_READV || sys == WS_SYS_WRITEV) {
			e.iov = st.buf;
			e.iovcnt = iov_cap(st.len);
		} else {
			struct user_msghdr mh;

			err = bpf_probe_read_user(&mh, sizeof(mh), (const void *)st.buf);
			if (err) {
				ws_err(err);
				__builtin_memset(&mh, 0, sizeof(mh));
			}
			e.iov = (__u64)mh.msg_iov;
			e.iovcnt = iov_cap(mh.msg_iovlen);
		}
		e.want = payload_budget(c, dir, ret, st.trunc, capture_bytes, &e.flags);
		EMIT_IOV(&e, c);
		break;
	case WS_SYS_SENDMMSG:
	case WS_SYS_RECVMMSG:
		mmsg_exit(&e, c, &st, ret, end_seq);
		break;
	case WS_SYS_SENDFILE:
		/* The bytes come from a file, not from user memory: timing and counts only. */
		e.seq = seq_start(end_seq, ret);
		e.bytes = ret;
		budget_dir(c, dir);
		emit_data(&e, c);
		break;
	}
	if (fresh)
		conn_end_if_closed(st.sk, c);
	return 0;
}

/* ---- data syscalls -------------------------------------------------------------- */

/* FLAGS_ARG: index of the msg flags argument (for MSG_PEEK/MSG_TRUNC) when the call
 * has to be recovered from registers at exit, or -1. ADDR: the peer sockaddr argument
 * (sendto/recvfrom), used only for UDP sockets. */
#define DATA_HOOKS(name, SYS, DIR, FD, BUF, LEN, FLAGS, FLAGS_ARG, ADDR)                \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                    \
	int sys_enter_##name(struct trace_event_raw_sys_enter *ctx)                    \
	{                                                                              \
		return data_enter(SYS, (long)ctx->args[FD], BUF, LEN, FLAGS, ADDR);    \
	}                                                                              \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                     \
	int sys_exit_##name(struct trace_event_raw_sys_exit *ctx)                      \
	{                                                                              \
		return data_exit(ctx->ret, SYS, DIR, FLAGS_ARG);                       \
	}

/* read(fd, buf, count), write(fd, buf, count) */
DATA_HOOKS(read, WS_SYS_READ, WS_DIR_INGRESS, 0, ctx->args[1], ctx->args[2], 0, -1, 0)
DATA_HOOKS(write, WS_SYS_WRITE, WS_DIR_EGRESS, 0, ctx->args[1], ctx->args[2], 0, -1, 0)
/* readv(fd, iov, iovcnt), writev(fd, iov, iovcnt) */
DATA_HOOKS(readv, WS_SYS_READV, WS_DIR_INGRESS, 0, ctx->args[1], ctx->args[2], 0, -1, 0)
DATA_HOOKS(writev, WS_SYS_WRITEV, WS_DIR_EGRESS, 0, ctx->args[1], ctx->args[2], 0, -1, 0)
/* sendto(fd, buf, len, flags, addr, addrlen), recvfrom(fd, buf, size, flags, addr, addrlen) */
DATA_HOOKS(sendto, WS_SYS_SENDTO, WS_DIR_EGRESS, 0, ctx->args[1], ctx->args[2], 0, -1, ctx->args[4])
DATA_HOOKS(recvfrom, WS_SYS_RECVFROM, WS_DIR_INGRESS, 0, ctx->args[1], ctx->args[2], ctx->args[3], 3, ctx->args[4])
/* sendmsg(fd, msg, flags), recvmsg(fd, msg, flags) */
DATA_HOOKS(sendmsg, WS_SYS_SENDMSG, WS_DIR_EGRESS, 0, ctx->args[1], 0, 0, -1, 0)
DATA_HOOKS(recvmsg, WS_SYS_RECVMSG, WS_DIR_INGRESS, 0, ctx->args[1], 0, ctx->args[2], 2, 0)
/* sendmmsg(fd, msgvec, vlen, flags), recvmmsg(fd, msgvec, vlen, flags, timeout) */
DATA_HOOKS(sendmmsg, WS_SYS_SENDMMSG, WS_DIR_EGRESS, 0, ctx->args[1], ctx->args[2], 0, -1, 0)
DATA_HOOKS(recvmmsg, WS_SYS_RECVMMSG, WS_DIR_INGRESS, 0, ctx->args[1], ctx->args[2], ctx->args[3], 3, 0)
/* sendfile64(out_fd, in_fd, offset, count): out_fd is the socket */
DATA_HOOKS(sendfile64, WS_SYS_SENDFILE, WS_DIR_EGRESS, 0, 0, ctx->args[3], 0, -1, 0)

#undef WS_FILE_ID
