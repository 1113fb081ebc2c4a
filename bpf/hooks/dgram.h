/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * UDP datagrams on sockets that talk to a port of the UDP port set (--udp-ports).
 */
#pragma once

#include "lib/conn.h"
#include "lib/gather.h"
#include "lib/loop.h"
#include "lib/scope.h"
#include "lib/sock.h"
#include "lib/stash.h"
#include "maps/dgram_scratch.h"
#include "maps/udp_socks.h"
#include "lib/errors.h"

/* helper failures here are counted as this file (lib/errors.h) */
#define WS_FILE_ID WS_ERRF_HOOKS_DGRAM

/* The port of a user sockaddr_in/sockaddr_in6 (sin_port and sin6_port share an offset),
 * host order; 0 when absent, unreadable or not inet. */
static __always_inline __u16 user_sa_port(__u64 uaddr)
{
	__u16 sa[2];

	if (!uaddr || bpf_probe_read_user(sa, sizeof(sa), (const void *)uaddr))
		return 0;
	if (sa[0] != WS_AF_INET && sa[0] != WS_AF_INET6)
		return 0;
	return bpf_ntohs(sa[1]);
}

/* The destination sockaddr of a send on an unconnected socket: sendto's argument,
 * sendmsg's msg_name, sendmmsg's first message's msg_name. */
static __always_inline __u64 send_name(__u16 sys, __u64 buf, __u64 addr)
{
	__u64 name = 0;

	if (sys == WS_SYS_SENDTO)
		return addr;
	if (sys == WS_SYS_SENDMSG)
		bpf_core_read_user(&name, sizeof(name), &((struct user_msghdr *)buf)->msg_name);
	else if (sys == WS_SYS_SENDMMSG)
		bpf_core_read_user(&name, sizeof(name), &((struct mmsghdr *)buf)->msg_hdr.msg_name);
	return name;
}

/*
 * Entry of a data syscall on a UDP socket (only with a UDP port set). Stashed when the
 * datagram(s) may involve a port of the set:
 *  - the socket's local port (a DNS server) or its connected peer's port (glibc's
 *    resolver connects) is in the set: one port check decides, and decides "no" for
 *    every connected socket talking to another port;
 *  - unconnected, sending: the destination port from the user's sockaddr (a 4-byte
 *    user read); a match remembers the socket in ws_udp_socks for its answers;
 *  - unconnected, receiving with a peer address to fill: only a socket in
 *    ws_udp_socks (one lookup); the sender's port is checked at exit.
 * A task scoped out by pid/comm (only the TCP port filter could select it) reports
 * datagrams only from threads already traced. Returns 1 when stashed.
 */
static __always_inline int dgram_enter(__u16 sys, int fd, struct sock *sk, __u64 buf, __u64 len,
				       __u64 addr, int task_ok, __u64 msg_flags)
{
	bool egress = sys == WS_SYS_WRITE || sys == WS_SYS_WRITEV || sys == WS_SYS_SENDTO ||
		      sys == WS_SYS_SENDMSG || sys == WS_SYS_SENDMMSG;
	__u64 key = (__u64)sk;
	struct ws_stash *st;
	__u16 sport, dport;

	if (sys == WS_SYS_SENDFILE)
		return 0;
	if (fast_read) {
		struct sock *s = WS_CAST(struct sock, sk);

		sport = s->__sk_common.skc_num;
		dport = bpf_ntohs(s->__sk_common.skc_dport);
	} else {
		sport = BPF_CORE_READ(sk, __sk_common.skc_num);
		dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	}
	if (!udp_port_selected(sport, dport)) {
		if (dport)
			return 0;
		if (egress) {
			__u16 p = user_sa_port(send_name(sys, buf, addr));
			__u8 one = 1;

			if (!udp_port_selected(p, p))
				return 0;
			if (!bpf_map_lookup_elem(&ws_udp_socks, &key))
				bpf_map_update_elem(&ws_udp_socks, &key, &one, BPF_ANY);
		} else {
			if (sys == WS_SYS_READ || sys == WS_SYS_READV ||
			    (sys == WS_SYS_RECVFROM && !addr))
				return 0;   /* unconnected, no peer address: cannot tell */
			if (!bpf_map_lookup_elem(&ws_udp_socks, &key))
				return 0;
		}
	}
	if (task_ok == 0 && !traced_slot(bpf_get_current_task_btf()))
		return 0;
	st = stash_slot();
	if (!st)
		return 0;
	st->enter_ns = bpf_ktime_get_ns();
	st->sk = key;
	st->buf = buf;
	st->len = len;
	st->fd = fd;
	st->sys = sys;
	st->task_ok = task_ok;
	st->trunc = (msg_flags & WS_MSG_TRUNC) != 0;
	st->seq_ok = 0;
	st->dgram = 1;
	st->addr = addr;
	return 1;
}

/*
 * One datagram's peer: the user's sockaddr when there is one (unconnected sockets;
 * filled by the kernel for receives, so read at exit), the socket's connected peer
 * otherwise. Returns 1 when its local or peer port is in the set, with the payload to
 * copy (up to the capture size: each datagram is a whole message) in e->want.
 * Global: verified once, not once per call site of the mmsg loop. The caller emits, so
 * that the call chain stays within 6.1's 512-byte combined stack.
 */
__noinline int ws_dgram_peer(struct ws_emit *e, struct ws_conn *c, __u64 name)
{
	struct sockaddr_in6 sa;
	__u32 cap = capture_bytes;

	if (!e || !c)
		return 0;
	if (name && !bpf_probe_read_user(&sa, sizeof(sa), (const void *)name)) {
		if (sa.sin6_family == WS_AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;

			v4_mapped(c->tuple.daddr, s4->sin_addr.s_addr);
			c->tuple.dport = bpf_ntohs(s4->sin_port);
		} else if (sa.sin6_family == WS_AF_INET6) {
			__builtin_memcpy(c->tuple.daddr, sa.sin6_addr.in6_u.u6_addr8, 16);
			c->tuple.dport = bpf_ntohs(sa.sin6_port);
		}
	}
	if (!udp_port_selected(c->tuple.sport, c->tuple.dport))
		return 0;
	if (cap > WS_MAX_PAYLOAD)
		cap = WS_MAX_PAYLOAD;
	e->want = e->bytes < cap ? e->bytes : cap;
	return 1;
}

/* Report one datagram whose peer ws_dgram_peer() accepted. */
static __always_inline void dgram_emit(struct ws_emit *e, struct ws_conn *c, __u64 name)
{
	if (!ws_dgram_peer(e, c, name))
		return;
	cnt_inc(WS_CNT_DGRAMS);
	if (e->iov)
		EMIT_IOV(e, c);
	else
		emit_data(e, c);
}

/*
 * Exit of a stashed UDP call: one record per datagram (per message for the mmsg calls).
 * A loop thread's receive is also a foreign read (WS_LOOP_FOREIGN), DNS or not: the
 * callback it runs is for whoever asked, not for the request the batch read before.
 * Datagrams do not mark the thread traced: loop and task evidence stays tied to TCP.
 */

static __always_inline int dgram_exit(struct ws_stash *st, __u8 loop, long ret, __u16 sys,
				      __u8 dir)
{
	long err;
	struct ws_dgram_scratch *d;
	struct user_msghdr *mh;
	struct ws_emit *e;
	struct ws_conn *c;
	__u64 name = st->addr;
	__u32 zero = 0;

	if (dir == WS_DIR_INGRESS && loop)
		emit_foreign(sys, st->enter_ns);
	d = bpf_map_lookup_elem(&ws_dgram_scratch, &zero);
	if (!d)
		return 0;
	__builtin_memset(d, 0, sizeof(*d));
	e = &d->e;
	c = &d->c;
	mh = &d->mh;
	read_tuple((struct sock *)st->sk, &c->tuple);
	c->role = udp_port_selected(c->tuple.sport, c->tuple.sport) ? WS_ROLE_SERVER : WS_ROLE_CLIENT;
	e->sk = st->sk;
	e->pid_tgid = bpf_get_current_pid_tgid();
	e->enter_ns = st->enter_ns;
	e->exit_ns = bpf_ktime_get_ns();
	e->fd = st->fd;
	e->sys = sys;
	e->dir = dir;
	e->flags = WS_F_DGRAM | WS_F_NO_SEQ;
	e->loop = st->loop;
	if (sys == WS_SYS_SENDMMSG || sys == WS_SYS_RECVMMSG) {
		const struct mmsghdr *m = (const struct mmsghdr *)st->buf;

		__builtin_memcpy(d->daddr, c->tuple.daddr, 16);
		d->dport = c->tuple.dport;
		for (int i = 0; i < WS_MAX_MMSG; i++) {
			__u32 len;

			if (i >= ret)
				break;
			err = bpf_probe_read_user(mh, sizeof(*mh), &m[i].msg_hdr);
			if (!err)
				err = bpf_probe_read_user(&len, sizeof(len), &m[i].msg_len);
			if (err) {
				ws_err(err);
				break;
			}
			__builtin_memcpy(c->tuple.daddr, d->daddr, 16);
			c->tuple.dport = d->dport;
			e->flags = WS_F_DGRAM | WS_F_NO_SEQ;
			e->bytes = len;
			e->src = 0;
			e->iov = st->trunc ? 0 : (__u64)mh->msg_iov;   /* MSG_TRUNC: buffers not filled */
			e->iovcnt = iov_cap(mh->msg_iovlen);
			dgram_emit(e, c, (__u64)mh->msg_name);
		}
		return 0;
	}
	e->bytes = ret;
	switch (sys) {
	case WS_SYS_READV:
	case WS_SYS_WRITEV:
		e->iov = st->buf;
		e->iovcnt = iov_cap(st->len);
		break;
	case WS_SYS_RECVMSG:
	case WS_SYS_SENDMSG:
		err = bpf_probe_read_user(mh, sizeof(*mh), (const void *)st->buf);
		if (err) {
			ws_err(err);
			__builtin_memset(mh, 0, sizeof(*mh));
		}
		e->iov = (__u64)mh->msg_iov;
		e->iovcnt = iov_cap(mh->msg_iovlen);
		name = (__u64)mh->msg_name;
		break;
	default:
		e->src = st->buf;
	}
	if (st->trunc) {
		/* MSG_TRUNC: ret is the datagram's full length, not what the buffer holds */
		e->iov = 0;
		e->src = 0;
	}
	dgram_emit(e, c, name);
	return 0;
}

#undef WS_FILE_ID
