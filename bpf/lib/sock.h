/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * From a file descriptor of the current task to its struct sock, and reads of the
 * sock (tuple, state, owner).
 */
#pragma once

#include "lib/config.h"
#include "lib/counters.h"
#include "lib/scope.h"
#include "maps/conns.h"

/*
 * Reading kernel objects. A probe-read helper call costs tens of ns here, a plain
 * load from a BTF-typed pointer a few. Pointers the verifier cannot type (the fd
 * array's entries, file->private_data, addresses kept in maps) become typed again
 * with bpf_rdonly_cast where the kernel has it (fast_read); the loads are guarded
 * like probe reads (a bad address reads as 0) and the pointers stay read-only.
 * Weak: on kernels without it the call is never reached and never checked.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
#define WS_CAST(type, p) ((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))

static __always_inline __u64 file_fops(struct file *file)
{
	if (fast_read)
		return (__u64)WS_CAST(struct file, file)->f_op;
	return (__u64)BPF_CORE_READ(file, f_op);
}

static __always_inline __u16 file_mode(struct file *file)
{
	if (fast_read)
		return WS_CAST(struct file, file)->f_inode->i_mode;
	return BPF_CORE_READ(file, f_inode, i_mode);
}

static __always_inline struct sock *file_sock(struct file *file)
{
	struct socket *sock;

	if (fast_read) {
		sock = WS_CAST(struct socket, WS_CAST(struct file, file)->private_data);
		return (struct sock *)(__u64)sock->sk;
	}
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

/* The kernel's sock is validated as TCP over IPv4/IPv6 once, when its state entry is
 * created; afterwards the state entry itself is the proof. */
static __always_inline bool sock_is_tcp(struct sock *sk)
{
	__u16 family, type, proto;

	if (fast_read) {
		struct sock *s = WS_CAST(struct sock, sk);

		family = s->__sk_common.skc_family;
		type = s->sk_type;
		proto = s->sk_protocol;
	} else {
		family = BPF_CORE_READ(sk, __sk_common.skc_family);
		type = BPF_CORE_READ(sk, sk_type);
		proto = BPF_CORE_READ(sk, sk_protocol);
	}
	/* SOCK_RAW sockets may carry protocol 6 too, so the type is checked as well. */
	return (family == WS_AF_INET || family == WS_AF_INET6) && type == SOCK_STREAM &&
	       proto == IPPROTO_TCP;
}

static __always_inline bool sock_is_udp(struct sock *sk)
{
	__u16 family, type, proto;

	if (fast_read) {
		struct sock *s = WS_CAST(struct sock, sk);

		family = s->__sk_common.skc_family;
		type = s->sk_type;
		proto = s->sk_protocol;
	} else {
		family = BPF_CORE_READ(sk, __sk_common.skc_family);
		type = BPF_CORE_READ(sk, sk_type);
		proto = BPF_CORE_READ(sk, sk_protocol);
	}
	return (family == WS_AF_INET || family == WS_AF_INET6) && type == SOCK_DGRAM &&
	       proto == WS_IPPROTO_UDP;
}

/*
 * fd -> struct file -> struct socket -> struct sock of the current task.
 * Returns the sock when the fd is a TCP socket, NULL otherwise (counted as not_tcp
 * when the fd exists but is something else). With udp non-NULL (a constant at every
 * call site, so the others compile without it) and a UDP port set configured, a UDP
 * socket is returned there instead: the checks cost only fds that are not TCP.
 */
static __always_inline struct sock *fd_to_sock(int fd, struct sock **udp)
{
	/* The BTF-typed task pointer lets the verifier turn task->files->fdt->... into
	 * plain guarded loads instead of one probe-read helper call per hop; pointers it
	 * cannot type (the fd array, file->private_data) still go through probe reads. */
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files;
	struct fdtable *fdt;
	struct file **fds;
	struct file *file = NULL;
	struct sock *sk;
	__u64 fops, known_fops;

	if (fd < 0)
		return NULL;
	files = task->files;
	if (!files)
		return NULL;
	fdt = files->fdt;
	if (!fdt || (__u32)fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	if (bpf_core_read(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;

	fops = file_fops(file);
	known_fops = ws_sock_fops;
	if (known_fops) {
		if (fops != known_fops)
			goto not_tcp;
	} else if ((file_mode(file) & WS_S_IFMT) != WS_S_IFSOCK) {
		goto not_tcp;
	}
	sk = file_sock(file);
	if (!sk)
		goto not_tcp;
	/* With plain loads the three field checks cost less than the hash lookup that
	 * would skip them for known connections. */
	if (!fast_read) {
		__u64 key = (__u64)sk;

		if (bpf_map_lookup_elem(&ws_conns, &key))
			return sk;
	}
	if (!sock_is_tcp(sk)) {
		if (udp && n_udp_ports && sock_is_udp(sk))
			*udp = sk;
		goto not_tcp;
	}
	/* Learn the socket f_op only from a file proven to be a TCP socket: an O_PATH
	 * fd on a socket inode has S_IFSOCK too but another f_op and no socket. */
	if (!known_fops)
		ws_sock_fops = fops;
	return sk;
not_tcp:
	cnt_inc(WS_CNT_NOT_TCP);
	return NULL;
}

static __always_inline struct sock *fd_to_tcp_sock(int fd)
{
	return fd_to_sock(fd, NULL);
}

static __always_inline void v4_mapped(__u8 out[16], __be32 a)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(&out[12], &a, 4);
}

static __always_inline void read_tuple(struct sock *sk, struct ws_tuple *t)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	t->family = family;
	t->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	t->_pad = 0;
	if (family == WS_AF_INET) {
		v4_mapped(t->saddr, BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
		v4_mapped(t->daddr, BPF_CORE_READ(sk, __sk_common.skc_daddr));
	} else {
		/* An AF_INET6 socket talking to an IPv4 peer already holds v4-mapped
		 * addresses here. */
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
}

/*
 * Under a port filter a task that is not selected by itself (scope_task() == 0) traces
 * only connections with a selected port, and a connected socket's ports are known at a
 * syscall's entry. Deciding there keeps an untraced process at the fd walk: no stash,
 * no connection entry, no waits bookkeeping, nothing at exit but one storage lookup.
 * Unconnected sockets (dport 0: TCP fast open's first sendto) are decided at exit.
 */
static __always_inline bool sock_port_excluded(struct sock *sk)
{
	__u16 sport, dport;

	if (!(filter_mode & WS_FILTER_PORT))
		return false;
	if (fast_read) {
		sport = WS_CAST(struct sock, sk)->__sk_common.skc_num;
		dport = WS_CAST(struct sock, sk)->__sk_common.skc_dport;
	} else {
		sport = BPF_CORE_READ(sk, __sk_common.skc_num);
		dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	}
	return ports_exclude(port_filter, n_port_filters, WS_MAX_PORT_FILTERS, sport,
			     bpf_ntohs(dport));
}

/* In softirq the task is unknown: a sock can be ruled out there only when ports are
 * the only filter. */
static __always_inline bool sock_softirq_excluded(struct sock *sk)
{
	return filter_mode == WS_FILTER_PORT && sock_port_excluded(sk);
}

static __always_inline bool tuple_unchanged(struct sock *sk, const struct ws_conn *c)
{
	struct ws_tuple t;
	const __u64 *a = (const __u64 *)&t, *b = (const __u64 *)&c->tuple;

	read_tuple(sk, &t);
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4];
}

/*
 * Whether the current task is the one changing the socket's state. A TCP state change
 * happens either in the socket owner's process context, with the socket locked by it
 * (lock_sock: sk_lock.owned set), or in softirq/timer context, where the kernel only
 * touches a socket that no task owns (otherwise the segment goes to the backlog and
 * the owner processes it at release_sock, again in its own context). So "owned" means
 * the current task is the actor; "not owned" means an interrupt ran on whatever task
 * the CPU had, and that task must not be reported. Ownership is a core invariant of
 * the TCP stack, unlike preempt_count, whose per-CPU symbol needs kallsyms data
 * symbols (absent on the baseline kernel) and moves between kernel versions.
 */
static __always_inline bool sock_owned_by_task(struct sock *sk)
{
	if (fast_read)
		return WS_CAST(struct sock, sk)->sk_lock.owned != 0;
	return BPF_CORE_READ(sk, sk_lock.owned) != 0;
}

/* The sock's TCP state (TCP_*). */
static __always_inline __u8 sock_state(struct sock *sk)
{
	if (fast_read)
		return WS_CAST(struct sock, sk)->__sk_common.skc_state;
	return BPF_CORE_READ(sk, __sk_common.skc_state);
}
