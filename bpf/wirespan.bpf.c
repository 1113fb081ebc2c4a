// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wirespan kernel side: timing and first bytes of every data syscall on a TCP
 * socket, plus connection lifecycle, into one ring buffer.
 *
 * Only syscall tracepoints and raw tracepoints are used: kprobes and
 * BPF tracing programs are not available on the baseline kernel. At sys_enter the
 * task is scoped (cheap), the fd is resolved to its struct sock and the arguments
 * are stashed in the thread's slot; at sys_exit the real byte count is known, so the payload
 * actually moved is copied from user memory and the TCP sequence number of its
 * first byte is computed (write_seq/copied_seq have advanced by exactly ret).
 */
#include "ws_common.bpf.h"
#include "ws_sock.bpf.h"
#include "ws_go.bpf.h"
#include "ws_loop.bpf.h"
#include "ws_waits.bpf.h"
#include "ws_inject.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define WS_EV_SIZE sizeof(struct ws_data_event)

/* One data event, gathered on the stack before its record is reserved. */
struct ws_emit {
	__u64 sk;
	__u64 pid_tgid;
	__u64 enter_ns;
	__u64 exit_ns;
	__u64 src;         /* payload source: user buffer */
	__u64 iov;         /* vectored I/O: user iovec array */
	__u64 iovcnt;
	__u32 seq;
	__u32 bytes;
	__u32 want;        /* payload bytes to copy, budget already applied */
	__s32 fd;
	__u16 sys;
	__u16 flags;
	__u8 dir;
	__u8 _pad[3];
};

/*
 * The sequence number just past the bytes moved: write_seq after a send, copied_seq
 * after a receive. A receive that reaches the peer's FIN consumes it too (in the same
 * call when the FIN rides on the last data segment or follows it in the queue), and
 * copied_seq counts the FIN as one: then the data ends one before copied_seq. The FIN
 * has been consumed exactly when it was received (RCV_SHUTDOWN) and copied_seq has
 * caught up with rcv_nxt, which counts it as well. The extra reads happen only on
 * connections whose peer has closed.
 */
static __always_inline int read_seq(struct sock *sk, __u8 dir, __u32 *seq)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	__u32 rcv_nxt;
	__u8 shut;

	if (fast_read) {
		tp = WS_CAST(struct tcp_sock, sk);
		if (dir == WS_DIR_EGRESS) {
			*seq = tp->write_seq;
			return 0;
		}
		*seq = tp->copied_seq;
		shut = BPF_CORE_READ_BITFIELD(&tp->inet_conn.icsk_inet.sk, sk_shutdown);
		if ((shut & WS_RCV_SHUTDOWN) && tp->rcv_nxt == *seq)
			*seq -= 1;
		return 0;
	}
	if (dir == WS_DIR_EGRESS)
		return bpf_core_read(seq, sizeof(*seq), &tp->write_seq);
	if (bpf_core_read(seq, sizeof(*seq), &tp->copied_seq))
		return -1;
	shut = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_shutdown);
	if ((shut & WS_RCV_SHUTDOWN) && !bpf_core_read(&rcv_nxt, sizeof(rcv_nxt), &tp->rcv_nxt) &&
	    rcv_nxt == *seq)
		*seq -= 1;
	return 0;
}

/*
 * The connection's capture policy (ws_capture, set by the agent). Cached in the state
 * entry with the generation it was read at: the map is looked up on a connection's
 * first traced syscall and after the agent changed any policy, otherwise this is one
 * load and one compare. A change takes effect at the next syscall, mid-run too.
 */
static __always_inline void policy_refresh(__u64 key, struct ws_conn *c)
{
	__u32 gen = *(volatile __u32 *)&ws_capture_gen;
	struct ws_capture_policy *p;

	if (c->cap_gen == gen)
		return;
	p = bpf_map_lookup_elem(&ws_capture, &key);
	c->cap_mode = p ? p->mode : WS_CAPMODE_DEFAULT;
	c->cap_gen = gen;
}

/*
 * Capture budget of the current message run: a run is consecutive data syscalls in
 * one direction and restarts when the direction flips. Returns how many payload
 * bytes this event may copy and charges them to the run. The connection's policy
 * overrides the budget: OFF copies nothing, ALL everything up to WS_MAX_PAYLOAD.
 */
static __always_inline __u32 budget_take(struct ws_conn *c, __u8 dir, __u32 bytes, __u16 *flags)
{
	__u32 cap = capture_bytes;
	__u32 used, avail, n;

	if (cap > WS_MAX_PAYLOAD)
		cap = WS_MAX_PAYLOAD;
	if (c->run_dir != dir) {
		c->run_dir = dir;
		c->run_captured = 0;
	}
	if (c->cap_mode == WS_CAPMODE_OFF) {
		*flags |= WS_F_BUDGET;
		return 0;
	}
	if (c->cap_mode == WS_CAPMODE_ALL || (c->cap_mode == WS_CAPMODE_DEFAULT && (c->flags & WS_CONN_H2)))
		return bytes < WS_MAX_PAYLOAD ? bytes : WS_MAX_PAYLOAD;
	used = c->run_captured;
	avail = used < cap ? cap - used : 0;
	n = bytes < avail ? bytes : avail;
	if (n < bytes)
		*flags |= WS_F_BUDGET;
	c->run_captured = used + n;
	return n;
}

/* Direction bookkeeping for events that carry no payload (sendfile, MSG_TRUNC). */
static __always_inline void budget_dir(struct ws_conn *c, __u8 dir)
{
	if (c->run_dir != dir) {
		c->run_dir = dir;
		c->run_captured = 0;
	}
}

/* Payload bytes this event may copy. A MSG_TRUNC receive did not fill the user buffer:
 * nothing to copy, but the run's direction still counts. */
static __always_inline __u32 payload_budget(struct ws_conn *c, __u8 dir, __u32 bytes, bool trunc,
					    __u16 *flags)
{
	/* Ciphertext: no payload, and the run budget is the plaintext's business. */
	if (*flags & WS_F_CIPHER)
		return 0;
	if (trunc) {
		budget_dir(c, dir);
		return 0;
	}
	return budget_take(c, dir, bytes, flags);
}

static __always_inline long copy_in(void *dst, __u64 n, __u64 cap, const struct ws_emit *e)
{
	/* Opaque to the compiler before and after the clamp, so the bound is checked on
	 * the very register the helper receives (clang would otherwise reuse a copy
	 * from before an earlier, wider check). */
	barrier_var(n);
	if (n > cap)
		n = cap;
	barrier_var(n);
	return bpf_probe_read_user(dst, n, (const void *)e->src);
}

/* Fill the fixed part of a reserved data record (n payload bytes already in place)
 * and submit it. */
static __always_inline void data_submit(struct ws_data_event *ev, const struct ws_emit *e,
					struct ws_conn *c, __u32 n)
{
	__u16 flags = e->flags;

	/* The first payload of a direction: the HTTP/2 client preface ("PRI * HTTP/2.0")
	 * switches the connection to copy-everything at once. Its first header blocks
	 * follow in the next syscalls, long before the agent's policy (ALL) could reach
	 * the kernel. */
	__u8 seen = e->dir == WS_DIR_INGRESS ? WS_CONN_DATA_IN : WS_CONN_DATA_OUT;

	if (n && !(c->flags & seen)) {
		c->flags |= seen;
		if (n >= 4) {
			const __u8 *p = (const __u8 *)(ev + 1);

			if (p[0] == 'P' && p[1] == 'R' && p[2] == 'I' && p[3] == ' ')
				c->flags |= WS_CONN_H2;
		}
	}

	if (n < e->bytes)
		flags |= WS_F_TRUNCATED;
	ev->hdr.type = WS_EV_DATA;
	ev->hdr.flags = flags;
	ev->hdr.size = WS_EV_SIZE + n;
	ev->hdr.ts_ns = e->exit_ns;
	ev->sock_id = e->sk;
	ev->pid = e->pid_tgid >> 32;
	ev->tid = (__u32)e->pid_tgid;
	ev->enter_ns = e->enter_ns;
	ev->exit_ns = e->exit_ns;
	ev->seq = e->seq;
	ev->bytes = e->bytes;
	ev->captured = n;
	ev->fd = e->fd;
	ev->dir = e->dir;
	ev->role = c->role;
	ev->syscall = e->sys;
	ev->_pad = 0;
	ev->rt_ctx = ws_go_ctx(ev->pid);
	ev->tuple = c->tuple;
	waits_fill(ev, e->enter_ns);
	rb_submit(ev);
	cnt_add(WS_CNT_BYTES_CAPTURED, n);
}

/* Reserve a constant-size bucket big enough for the payload so the verifier sees a
 * constant size; hdr.size tells userspace what is really used. */
#define RESERVE_AND_COPY(bucket)                                                   \
	do {                                                                       \
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE + (bucket), 0);            \
		if (!ev)                                                           \
			goto drop;                                                 \
		if (copy_in((void *)(ev + 1), n, (bucket), e)) {                   \
			cnt_inc(WS_CNT_READ_FAIL);                                 \
			n = 0;                                                     \
		}                                                                  \
	} while (0)

/* One contiguous user buffer (read, write, recvfrom, sendto) or no payload. */
static __noinline int emit_data(struct ws_emit *e, struct ws_conn *c)
{
	struct ws_data_event *ev;
	__u64 n = e->want; /* 64-bit: a 32-bit copy would be zero-extended into another
			    * register and the verifier would lose the bound */

	cnt_add(WS_CNT_BYTES_SEEN, e->bytes);
	if (n > e->bytes)
		n = e->bytes;
	if (n > WS_MAX_PAYLOAD)
		n = WS_MAX_PAYLOAD;
	if (n == 0) {
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE, 0);
		if (!ev)
			goto drop;
	} else if (n <= WS_PAYLOAD_BUCKET_S) {
		RESERVE_AND_COPY(WS_PAYLOAD_BUCKET_S);
	} else if (n <= WS_PAYLOAD_BUCKET_M) {
		RESERVE_AND_COPY(WS_PAYLOAD_BUCKET_M);
	} else {
		RESERVE_AND_COPY(WS_PAYLOAD_BUCKET_L);
	}
	data_submit(ev, e, c, n);
	return n;
drop:
	cnt_inc(WS_CNT_RB_DROP);
	return 0;
}

/*
 * Vectored I/O: the pieces are copied straight from each iovec into the record, in
 * order. The record is reserved at twice the bucket so that "offset masked to the
 * bucket + length capped at the bucket" provably fits: the verifier cannot relate
 * offset and length, and the spare half costs ring space only, not copies.
 */
#define RESERVE_AND_GATHER(bucket)                                                  \
	do {                                                                        \
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE + 2 * (bucket), 0);         \
		if (!ev)                                                            \
			goto drop;                                                  \
		for (i = 0; i < WS_MAX_IOV; i++) {                                  \
			__u64 len, o, rem;                                          \
                                                                                    \
			if (off >= want || i >= n_iov)                              \
				break;                                              \
			len = s->iov[i].iov_len;                                    \
			if (!len)                                                   \
				continue;                                           \
			o = off & ((bucket) - 1); /* off < want <= bucket */        \
			/* Never past the bytes that are there: a receive       \
			 * buffer is often larger than what arrived, and its    \
			 * untouched pages fault (the whole piece then fails).  \
			 * The constant cap after it is the bound the verifier  \
			 * uses ("want - off" is a difference of two unknowns,  \
			 * which older verifiers do not bound). */                  \
			rem = (want - off) & (2 * (bucket) - 1); /* exact: 0 < want - off <= bucket */ \
			barrier_var(rem);                                           \
			if (len > rem)                                              \
				len = rem;                                          \
			barrier_var(len);                                           \
			if (len > (bucket))                                         \
				len = (bucket);                                     \
			barrier_var(len);                                           \
			if (bpf_probe_read_user((__u8 *)(ev + 1) + o, len,          \
						s->iov[i].iov_base)) {              \
				cnt_inc(WS_CNT_READ_FAIL);                          \
				break;                                              \
			}                                                           \
			off += len;                                                 \
		}                                                                   \
	} while (0)

/*
 * More iovecs than WS_MAX_IOV (grpcio writes an HTTP/2 header block as 9-28 pieces):
 * an unrolled loop that long does not verify, so bpf_loop (5.17+: on 6.1 and later)
 * walks up to WS_MAX_IOV_LOOP of them, reading each iovec and gathering its bytes into
 * the per-CPU scratch buffer; the record then gets one copy of what was gathered.
 */
#define WS_MAX_IOV_LOOP 128

/* bpf_loop's context must live on the stack: only the scratch pointer does. */
struct gather_ctx {
	struct ws_scratch *s;
};

static long gather_one(__u32 i, void *data)
{
	struct ws_scratch *s = ((struct gather_ctx *)data)->s;
	struct iovec v;
	__u64 len, o, rem;

	if (!s || s->g_off >= s->g_want || i >= s->g_n_iov)
		return 1;
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)(s->g_uiov + (__u64)i * sizeof(struct iovec)))) {
		s->g_fail = 1;
		return 1;
	}
	len = v.iov_len;
	if (!len)
		return 0;
	rem = (s->g_want - s->g_off) & (2 * WS_MAX_PAYLOAD - 1);   /* exact: 0 < want - off <= WS_MAX_PAYLOAD */
	barrier_var(rem);
	if (len > rem)
		len = rem;
	o = s->g_off & (WS_MAX_PAYLOAD - 1);   /* off < want <= WS_MAX_PAYLOAD */
	barrier_var(len);
	if (len > WS_MAX_PAYLOAD)
		len = WS_MAX_PAYLOAD;
	barrier_var(len);
	if (bpf_probe_read_user(s->buf + o, len, v.iov_base)) {
		s->g_fail = 1;
		return 1;
	}
	s->g_off += len;
	return 0;
}

__noinline int ws_emit_iov_many(struct ws_emit *e, struct ws_conn *c)
{
	struct ws_data_event *ev;
	struct gather_ctx g;
	struct ws_scratch *s;
	__u32 zero = 0;
	__u64 n = 0, want;

	if (!e || !c)
		return 0;
	s = bpf_map_lookup_elem(&ws_scratch, &zero);
	want = e->want < e->bytes ? e->want : e->bytes;
	if (want > WS_MAX_PAYLOAD)
		want = WS_MAX_PAYLOAD;
	cnt_add(WS_CNT_BYTES_SEEN, e->bytes);
	if (s && want) {
		s->g_uiov = e->iov;
		s->g_want = want;
		s->g_off = 0;
		s->g_n_iov = e->iovcnt < WS_MAX_IOV_LOOP ? e->iovcnt : WS_MAX_IOV_LOOP;
		s->g_fail = 0;
		g.s = s;
		bpf_loop(WS_MAX_IOV_LOOP, gather_one, &g, 0);
		if (s->g_fail)
			cnt_inc(WS_CNT_READ_FAIL);
		n = s->g_off;
		if (n < want && e->iovcnt > WS_MAX_IOV_LOOP)
			e->flags |= WS_F_IOV_LIMIT;
	}
	if (n > WS_MAX_PAYLOAD)
		n = WS_MAX_PAYLOAD;
	if (n == 0 || !s) {
		n = 0;
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE, 0);
		if (!ev)
			goto drop;
	} else if (n <= WS_PAYLOAD_BUCKET_S) {
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE + WS_PAYLOAD_BUCKET_S, 0);
		if (!ev)
			goto drop;
		barrier_var(n);
		if (n > WS_PAYLOAD_BUCKET_S)
			n = WS_PAYLOAD_BUCKET_S;
		barrier_var(n);
		bpf_probe_read_kernel((void *)(ev + 1), n, s->buf);
	} else {
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE + WS_PAYLOAD_BUCKET_L, 0);
		if (!ev)
			goto drop;
		barrier_var(n);
		if (n > WS_PAYLOAD_BUCKET_L)
			n = WS_PAYLOAD_BUCKET_L;
		barrier_var(n);
		bpf_probe_read_kernel((void *)(ev + 1), n, s->buf);
	}
	data_submit(ev, e, c, n);
	return n;
drop:
	cnt_inc(WS_CNT_RB_DROP);
	return 0;
}

/* Global (not static): the verifier checks it once on its own instead of once per
 * call site and caller state, which sendmmsg's per-message loop multiplied past the
 * 1M-instruction limit on 6.1. Its pointer arguments are then nullable memory. */
__noinline int ws_emit_iov(struct ws_emit *e, struct ws_conn *c)
{
	struct ws_data_event *ev;
	struct ws_scratch *s;
	__u64 want, n_iov, off = 0;
	__u32 zero = 0;
	int i = 0;

	if (!e || !c)
		return 0;
	want = e->want;
	n_iov = e->iovcnt;
	cnt_add(WS_CNT_BYTES_SEEN, e->bytes);
	if (want > e->bytes)
		want = e->bytes;
	if (want > WS_MAX_PAYLOAD)
		want = WS_MAX_PAYLOAD;
	if (n_iov > WS_MAX_IOV)
		n_iov = WS_MAX_IOV;
	s = bpf_map_lookup_elem(&ws_scratch, &zero);
	if (!s || !n_iov)
		want = 0;
	if (s && want) {
		/* the iovec array in one read instead of one per element */
		__u64 sz = n_iov * sizeof(struct iovec);

		barrier_var(sz);
		if (sz > sizeof(s->iov))
			sz = sizeof(s->iov);
		barrier_var(sz);
		if (bpf_probe_read_user(s->iov, sz, (const void *)e->iov)) {
			cnt_inc(WS_CNT_READ_FAIL);
			want = 0;
		}
	}
	if (!s || want == 0) {
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE, 0);
		if (!ev)
			goto drop;
	} else if (want <= WS_PAYLOAD_BUCKET_S) {
		RESERVE_AND_GATHER(WS_PAYLOAD_BUCKET_S);
	} else if (want <= WS_PAYLOAD_BUCKET_M) {
		RESERVE_AND_GATHER(WS_PAYLOAD_BUCKET_M);
	} else {
		RESERVE_AND_GATHER(WS_PAYLOAD_BUCKET_L);
	}
	if (off < want && i == WS_MAX_IOV && e->iovcnt > WS_MAX_IOV)
		e->flags |= WS_F_IOV_LIMIT;
	if (off > want)
		off = want;
	data_submit(ev, e, c, off);
	return off;
drop:
	cnt_inc(WS_CNT_RB_DROP);
	return 0;
}

/* The vectored paths, chosen by the caller so neither calls the other: the verifier
 * sums the stack of every frame in a call chain (512 bytes), and the exit programs
 * leave little. */
#define EMIT_IOV(e, c) ((e)->iovcnt > WS_MAX_IOV && (e)->want ? ws_emit_iov_many(e, c) : ws_emit_iov(e, c))

static __always_inline void emit_sock(__u64 sk, const struct ws_conn *c, __u8 kind, __u16 sys,
				      __s32 fd, __u64 pid_tgid, __u8 old_state, __u8 new_state)
{
	struct ws_sock_event *ev = bpf_ringbuf_reserve(&rb, sizeof(*ev), 0);

	if (!ev) {
		cnt_inc(WS_CNT_RB_DROP);
		return;
	}
	ev->hdr.type = WS_EV_SOCK;
	ev->hdr.flags = 0;
	ev->hdr.size = sizeof(*ev);
	ev->hdr.ts_ns = bpf_ktime_get_ns();
	ev->sock_id = sk;
	ev->pid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	ev->fd = fd;
	ev->kind = kind;
	ev->role = c->role;
	ev->state_old = old_state;
	ev->state_new = new_state;
	ev->syscall = sys;
	ev->_pad0 = 0;
	ev->_pad1 = 0;
	ev->tuple = c->tuple;
	ev->estab_ns = kind == WS_SOCK_OPEN && (sys == WS_SYS_ACCEPT || sys == WS_SYS_ACCEPT4) ?
		       waits_estab(sk) : 0;
	if (pid_tgid)
		bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	else
		__builtin_memset(ev->comm, 0, sizeof(ev->comm));
	rb_submit(ev);
}

/* The first traced syscall on a connection announces it to userspace. */
static __always_inline void conn_announce(__u64 sk, struct ws_conn *c, __u16 sys, __s32 fd,
					  __u64 pid_tgid)
{
	if (c->flags & WS_CONN_REPORTED)
		return;
	c->flags |= WS_CONN_REPORTED;
	emit_sock(sk, c, WS_SOCK_OPEN, sys, fd, pid_tgid, 0, 0);
}

/*
 * A sock that is already in TCP_CLOSE when its state entry is made (the peer reset it
 * before the accept, or before the read that first showed it to us) gets no further
 * inet_sock_set_state: its end is reported now (old == new: no transition was seen),
 * after its OPEN and data, and the entry dropped, or it would outlive the sock and be
 * mistaken for the next sock allocated at that address.
 */
static __always_inline void conn_end_if_closed(__u64 key, struct ws_conn *c)
{
	if (sock_state((struct sock *)key) != WS_TCP_CLOSE)
		return;
	if (c->flags & WS_CONN_REPORTED)
		emit_sock(key, c, WS_SOCK_STATE, WS_SYS_STATE, -1, 0, WS_TCP_CLOSE, WS_TCP_CLOSE);
	bpf_map_delete_elem(&ws_conns, &key);
}

/* TLS plaintext (uprobes) and the ciphertext check of the syscall exits. */
#include "ws_tls.bpf.h"

/* ---- UDP datagrams --------------------------------------------------------------- */

/* The calling thread's stash slot, created on its first traced syscall. */
static __always_inline struct ws_stash *stash_slot(void)
{
	struct ws_stash *st = bpf_task_storage_get(&ws_stash, bpf_get_current_task_btf(), 0,
						   BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!st)
		cnt_inc(WS_CNT_STASH_FULL);
	return st;
}


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

/* ---- sys_exit ----------------------------------------------------------------- */

/* Returns the thread's slot (for marking it traced) when it held this syscall's entry. */
static __always_inline struct ws_stash *stash_take(__u16 sys, struct ws_stash *out, bool *no_slot)
{
	struct ws_stash *sp = bpf_task_storage_get(&ws_stash, bpf_get_current_task_btf(), 0, 0);

	*no_slot = !sp;
	/* sys must match: a slot left by another syscall (entry seen, exit not) or
	 * already consumed is ignored. */
	if (!sp || sp->sys != sys)
		return NULL;
	*out = *sp;
	sp->sys = 0;
	return sp;
}

/* The thread took part in a traced connection: from now on its event loop, hand-offs,
 * children and exit are reported too. A load and a branch per traced syscall; the
 * store happens once per thread. */
static __always_inline void mark_traced(struct ws_stash *sp)
{
	if (!sp->traced)
		sp->traced = 1;
}

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

	/* Called only for a thread without a slot (stash_take's no_slot): one that has a
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
	struct ws_emit e = {};

	e.sk = st->sk;
	e.pid_tgid = id;
	e.enter_ns = st->enter_ns;
	e.exit_ns = now;
	e.fd = st->fd;
	e.sys = st->sys;
	e.dir = WS_DIR_INGRESS;
	e.flags = WS_F_EOF;
	/* seq: the FIN's own sequence number, the end of the peer's byte stream. */
	if (read_seq((struct sock *)st->sk, WS_DIR_INGRESS, &e.seq)) {
		cnt_inc(WS_CNT_READ_FAIL);
		e.flags |= WS_F_NO_SEQ;
	}
	emit_data(&e, c);
}

/* sendmmsg/recvmmsg: one event per message for the first WS_MAX_MMSG messages. */
static __always_inline void mmsg_exit(struct ws_emit *e, struct ws_conn *c, struct ws_stash *st,
				      __u32 nmsg, __u32 end_seq)
{
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
	if (nmsg <= WS_MAX_MMSG && !(e->flags & WS_F_NO_SEQ)) {
		seq = end_seq - total;
	} else if (st->seq_ok) {
		seq = st->seq_enter;
		e->flags &= ~WS_F_NO_SEQ;
	} else {
		seq = 0;
		e->flags |= WS_F_NO_SEQ;
	}

	for (i = 0; i < WS_MAX_MMSG; i++) {
		struct mmsghdr mh;
		__u16 base_flags = e->flags & (WS_F_NO_SEQ | WS_F_CIPHER);

		if (i >= nmsg)
			break;
		if (bpf_probe_read_user(&mh, sizeof(mh), &m[i])) {
			cnt_inc(WS_CNT_READ_FAIL);
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
		e->iovcnt = mh.msg_hdr.msg_iovlen;
		e->want = payload_budget(c, e->dir, mh.msg_len, st->trunc, &e->flags);
		EMIT_IOV(e, c);
		seq += mh.msg_len;
	}
}

/*
 * Exit of a stashed UDP call: one record per datagram (per message for the mmsg calls).
 * A loop thread's receive is also a foreign read (WS_LOOP_FOREIGN), DNS or not: the
 * callback it runs is for whoever asked, not for the request the batch read before.
 * Datagrams do not mark the thread traced: loop and task evidence stays tied to TCP.
 */
/* dgram_exit's working set, off the stack: inlined in data_exit, or as a call of its
 * own, it went past the 512 bytes that 6.1 allows for a call chain. */
struct ws_dgram_scratch {
	struct ws_emit e;
	struct ws_conn c;
	struct user_msghdr mh;
	__u8 daddr[16];   /* mmsg: the socket's own peer, restored before each message */
	__u16 dport;
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ws_dgram_scratch);
} ws_dgram_scratch SEC(".maps");

static __always_inline int dgram_exit(struct ws_stash *st, __u8 loop, long ret, __u16 sys,
				      __u8 dir)
{
	struct ws_dgram_scratch *d;
	struct user_msghdr *mh;
	struct ws_emit *e;
	struct ws_conn *c;
	__u64 name = st->addr;
	__u32 zero = 0;

	if (dir == WS_DIR_INGRESS && loop)
		emit_loop(sys, WS_LOOP_FOREIGN, st->enter_ns, WS_TIMEOUT_UNKNOWN);
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
	if (sys == WS_SYS_SENDMMSG || sys == WS_SYS_RECVMMSG) {
		const struct mmsghdr *m = (const struct mmsghdr *)st->buf;

		__builtin_memcpy(d->daddr, c->tuple.daddr, 16);
		d->dport = c->tuple.dport;
		for (int i = 0; i < WS_MAX_MMSG; i++) {
			__u32 len;

			if (i >= ret)
				break;
			if (bpf_probe_read_user(mh, sizeof(*mh), &m[i].msg_hdr) ||
			    bpf_probe_read_user(&len, sizeof(len), &m[i].msg_len)) {
				cnt_inc(WS_CNT_READ_FAIL);
				break;
			}
			__builtin_memcpy(c->tuple.daddr, d->daddr, 16);
			c->tuple.dport = d->dport;
			e->flags = WS_F_DGRAM | WS_F_NO_SEQ;
			e->bytes = len;
			e->src = 0;
			e->iov = st->trunc ? 0 : (__u64)mh->msg_iov;   /* MSG_TRUNC: buffers not filled */
			e->iovcnt = mh->msg_iovlen;
			dgram_emit(e, c, (__u64)mh->msg_name);
		}
		return 0;
	}
	e->bytes = ret;
	switch (sys) {
	case WS_SYS_READV:
	case WS_SYS_WRITEV:
		e->iov = st->buf;
		e->iovcnt = st->len;
		break;
	case WS_SYS_RECVMSG:
	case WS_SYS_SENDMSG:
		if (bpf_probe_read_user(mh, sizeof(*mh), (const void *)st->buf)) {
			cnt_inc(WS_CNT_READ_FAIL);
			__builtin_memset(mh, 0, sizeof(*mh));
		}
		e->iov = (__u64)mh->msg_iov;
		e->iovcnt = mh->msg_iovlen;
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

static __always_inline int data_exit(long ret, __u16 sys, __u8 dir, int flags_arg)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ws_stash st, *sp;
	struct ws_emit e = {};
	struct ws_conn *c;
	struct sock *sk;
	__u32 end_seq = 0;
	bool fresh = false;
	__u64 now;

	bool no_slot;

	sp = stash_take(sys, &st, &no_slot);
	if (!sp && no_slot)
		sp = stash_recover(sys, ret, flags_arg, &st);
	if (!sp)
		return 0;
	if (ret < 0)
		return 0;
	if (!st.sk) {
		/* a loop thread's read from a descriptor that is not a TCP socket */
		if (ret > 0)
			emit_loop(sys, WS_LOOP_FOREIGN, st.enter_ns, WS_TIMEOUT_UNKNOWN);
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
	conn_announce(st.sk, c, sys, st.fd, id);
	policy_refresh(st.sk, c);

	e.sk = st.sk;
	e.pid_tgid = id;
	e.enter_ns = st.enter_ns;
	e.exit_ns = now;
	e.fd = st.fd;
	e.sys = sys;
	e.dir = dir;
	if (read_seq(sk, dir, &end_seq)) {
		cnt_inc(WS_CNT_READ_FAIL);
		e.flags |= WS_F_NO_SEQ;
	} else if (dir == WS_DIR_INGRESS) {
		waits_exit(&st.sk, end_seq - (__u32)ret, st.enter_ns);
	}
	/* TLS: a syscall inside a TLS call of this thread, or any syscall on a connection
	 * whose plaintext the uprobes have reported, moves ciphertext: no payload. The
	 * test costs threads outside TLS calls nothing but the bit in their slot. */
	if (tls_enabled && st.tls) {
		bool seq_ok = !(e.flags & WS_F_NO_SEQ) && sys != WS_SYS_SENDMMSG &&
			      sys != WS_SYS_RECVMMSG;

		if ((st.tls & WS_TLS_IN_CALL) &&
		    tls_note_syscall(st.sk, st.fd, dir, end_seq - (__u32)ret, seq_ok))
			e.flags |= WS_F_CIPHER;
		else if (dir == WS_DIR_INGRESS)
			tls_note_read(st.sk, st.fd, sys, st.buf, end_seq - (__u32)ret, seq_ok,
				      (__u32)ret);
	}
	if (tls_enabled && (c->flags & WS_CONN_TLS))
		e.flags |= WS_F_CIPHER;
	if (e.flags & WS_F_CIPHER)
		cnt_inc(WS_CNT_TLS_CIPHER);

	switch (sys) {
	case WS_SYS_READ:
	case WS_SYS_WRITE:
	case WS_SYS_RECVFROM:
	case WS_SYS_SENDTO:
		e.seq = end_seq - (__u32)ret;
		e.bytes = ret;
		e.src = st.buf;
		e.want = payload_budget(c, dir, ret, st.trunc, &e.flags);
		emit_data(&e, c);
		break;
	case WS_SYS_READV:
	case WS_SYS_WRITEV:
	case WS_SYS_RECVMSG:
	case WS_SYS_SENDMSG:
		e.seq = end_seq - (__u32)ret;
		e.bytes = ret;
		if (sys == WS_SYS_READV || sys == WS_SYS_WRITEV) {
			e.iov = st.buf;
			e.iovcnt = st.len;
		} else {
			struct user_msghdr mh;

			if (bpf_probe_read_user(&mh, sizeof(mh), (const void *)st.buf)) {
				cnt_inc(WS_CNT_READ_FAIL);
				__builtin_memset(&mh, 0, sizeof(mh));
			}
			e.iov = (__u64)mh.msg_iov;
			e.iovcnt = mh.msg_iovlen;
		}
		e.want = payload_budget(c, dir, ret, st.trunc, &e.flags);
		EMIT_IOV(&e, c);
		break;
	case WS_SYS_SENDMMSG:
	case WS_SYS_RECVMMSG:
		mmsg_exit(&e, c, &st, ret, end_seq);
		break;
	case WS_SYS_SENDFILE:
		/* The bytes come from a file, not from user memory: timing and counts only. */
		e.seq = end_seq - (__u32)ret;
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

/* ---- connection lifecycle ------------------------------------------------------- */

/* accept/accept4: everything needed is there at exit (the new fd is the return value),
 * so there is no entry hook. That also catches the accept a server was already blocked
 * in when the programs were attached. */
static __always_inline int accept_exit(long ret, __u16 sys)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ws_stash *st;
	int task_ok;
	struct ws_conn *c;
	struct sock *sk;

	if (ret < 0)
		return 0;
	task_ok = scope_task(id >> 32);
	if (task_ok < 0)
		return 0;
	sk = fd_to_tcp_sock((int)ret);
	if (!sk)
		return 0;
	if (!task_ok && sock_port_excluded(sk)) {
		cnt_inc(WS_CNT_FILTERED);
		return 0;
	}
	c = conn_create(sk, WS_ROLE_SERVER, BPF_ANY);
	if (!c)
		return 0;
	if (!conn_traced(c, task_ok)) {
		cnt_inc(WS_CNT_FILTERED);
		return 0;
	}
	st = bpf_task_storage_get(&ws_stash, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (st)
		mark_traced(st);
	else
		cnt_inc(WS_CNT_STASH_FULL);
	conn_announce((__u64)sk, c, sys, (int)ret, id);
	/* The peer connected and reset before the accept (health checks do this): the
	 * child sock reached TCP_CLOSE in the accept queue, unknown to us. A peer that
	 * only sent its FIN leaves it in CLOSE_WAIT: its LAST_ACK and CLOSE transitions
	 * come later, from the application's close, and are reported as usual. */
	conn_end_if_closed((__u64)sk, c);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int sys_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret, WS_SYS_ACCEPT);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int sys_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret, WS_SYS_ACCEPT4);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int sys_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	int fd = (int)ctx->args[0]; /* ctx loads first: clang must not offset ctx */
	__u64 id = bpf_get_current_pid_tgid();
	int task_ok = scope_task(id >> 32);
	struct ws_stash *st;
	struct sock *sk;

	if (task_ok < 0)
		return 0;
	sk = fd_to_tcp_sock(fd);
	if (!sk)
		return 0;
	st = stash_slot();
	if (!st)
		return 0;
	st->enter_ns = bpf_ktime_get_ns();
	st->sk = (__u64)sk;
	st->fd = fd;
	st->sys = WS_SYS_CONNECT;
	st->task_ok = task_ok;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int sys_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	long ret = ctx->ret;
	struct ws_stash st, *sp;
	struct ws_conn *c;
	bool no_slot;

	sp = stash_take(WS_SYS_CONNECT, &st, &no_slot);
	if (!sp)
		return 0;
	/* A non-blocking connect has its tuple set once it returns EINPROGRESS. */
	if (ret != 0 && ret != -WS_EINPROGRESS)
		return 0;
	c = bpf_map_lookup_elem(&ws_conns, &st.sk);
	/* connect() again after EINPROGRESS is the same connection: keep its entry. Any
	 * other entry under this address belongs to an earlier sock. */
	if (!c || c->role != WS_ROLE_CLIENT || !tuple_unchanged((struct sock *)st.sk, c))
		c = conn_create((struct sock *)st.sk, WS_ROLE_CLIENT, BPF_ANY);
	if (!c)
		return 0;
	if (!conn_traced(c, st.task_ok)) {
		cnt_inc(WS_CNT_FILTERED);
		return 0;
	}
	mark_traced(sp);
	conn_announce(st.sk, c, WS_SYS_CONNECT, st.fd, id);
	return 0;
}

/* close(fd): reported at entry, when the fd still names the socket. The state entry
 * stays: other fds (dup, fork) may still use the socket; TCP_CLOSE removes it. */
SEC("tracepoint/syscalls/sys_enter_close")
int sys_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	int fd = (int)ctx->args[0];
	__u64 id = bpf_get_current_pid_tgid();
	int task_ok = scope_task(id >> 32);
	struct ws_conn *c;
	struct sock *sk;
	__u64 key;

	if (task_ok < 0)
		return 0;
	sk = fd_to_tcp_sock(fd);
	if (!sk || (!task_ok && sock_port_excluded(sk)))
		return 0;
	key = (__u64)sk;
	c = bpf_map_lookup_elem(&ws_conns, &key);
	if (!c || !(c->flags & WS_CONN_REPORTED) || !conn_traced(c, task_ok))
		return 0;
	emit_sock(key, c, WS_SOCK_FD_CLOSE, WS_SYS_CLOSE, fd, id, 0, 0);
	return 0;
}

/* TCP state changes of tracked connections. Many transitions run in softirq (the
 * peer's segment arrives) on whatever task the CPU was running: pid/tid are 0 then
 * (and whenever the actor cannot be told, see sock_owned_by_task). */
/* A raw tracepoint, not the perf-event one: a perf-event tracepoint program is skipped
 * whenever any other such program runs on the CPU (one shared per-CPU guard), and the
 * state changes that come from softirq land often enough inside our own syscall
 * programs that 0.3-2% of closes went missing under load (their entries then waited
 * for the idle expiry). A raw tracepoint program is skipped only when it interrupts
 * itself. args: (const struct sock *sk, int oldstate, int newstate). */
SEC("raw_tracepoint/inet_sock_set_state")
int inet_sock_set_state(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock *sk = (struct sock *)ctx->args[0];
	int old_state = (int)ctx->args[1];
	int new_state = (int)ctx->args[2];
	__u64 key = (__u64)sk;
	struct ws_conn *c;
	__u64 id = 0;

	if (sock_softirq_excluded(sk))
		return 0;   /* never in the map */
	c = bpf_map_lookup_elem(&ws_conns, &key);
	if (!c)
		return 0;   /* only TCP socks are ever in the map */
	/* tcp_close() re-sets FIN_WAIT1 after shutdown(): no change, no event. */
	if ((c->flags & WS_CONN_REPORTED) && old_state != new_state) {
		if (sock_owned_by_task(sk))
			id = bpf_get_current_pid_tgid();
		emit_sock(key, c, WS_SOCK_STATE, WS_SYS_STATE, -1, id, (__u8)old_state, (__u8)new_state);
	}
	/* The sock is about to be freed and its address reused: its state and any capture
	 * policy the agent gave it go. */
	if (new_state == WS_TCP_CLOSE) {
		bpf_map_delete_elem(&ws_conns, &key);
		bpf_map_delete_elem(&ws_capture, &key);
	}
	return 0;
}

/* Evidence for parentage beyond one connection: event-loop batches and the scheduler
 * and process lifecycle of traced threads. */
#include "ws_sched.bpf.h"
