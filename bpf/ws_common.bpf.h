/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps, tunables and small helpers shared by the wirespan kernel programs.
 * Included once, by wirespan.bpf.c.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "headers/wirespan_abi.h"

/* Constants that vmlinux.h (enums only, no macros) does not carry. */
#define WS_AF_INET 2
#define WS_AF_INET6 10
#define WS_S_IFMT 00170000
#define WS_S_IFSOCK 0140000
#define WS_MSG_PEEK 0x2
#define WS_MSG_TRUNC 0x20
#define WS_EINPROGRESS 115
#define WS_IPPROTO_UDP 17
#define WS_TCP_CLOSE 7
#define WS_RCV_SHUTDOWN 1

#define WS_PID_FILTER_ENTRIES 1024
#define WS_HEIR_ENTRIES 4096
#define WS_UDP_SOCK_ENTRIES 4096

/* ws_pid_filter values: given by the user, or added by the fork hook for a child of a
 * process in the filter (removed again when that child process is gone). */
#define WS_PID_USER 1
#define WS_PID_CHILD 2

/* ---- tunables, written by the loader between open and load ---------------- */
const volatile __u32 agent_tgid = 0;
const volatile __u32 capture_bytes = 256;
const volatile __u32 wakeup_bytes = 0;
const volatile __u32 filter_mode = 0;
const volatile __u32 n_comm_filters = 0;
const volatile char comm_filter[WS_MAX_COMM_FILTERS][WS_COMM_LEN] = {};
const volatile __u32 n_port_filters = 0;
const volatile __u16 port_filter[WS_MAX_PORT_FILTERS] = {};
/* UDP ports whose datagrams are reported (--udp-ports); 0 entries: no UDP path at all
 * (the verifier drops it). */
const volatile __u32 n_udp_ports = 0;
const volatile __u16 udp_port[WS_MAX_UDP_PORTS] = {};
/* Set by the loader when the kernel has the bpf_rdonly_cast kfunc (6.2+): kernel
 * objects reached from an fd are then read with plain guarded loads instead of one
 * bpf_probe_read_kernel call each. When 0 the verifier drops the fast branches. */
const volatile __u32 fast_read = 0;

/* f_op of socket files, learned from the first fd proven to be a TCP socket.
 * Every socket file shares one file_operations (sockfs), so once known a single
 * pointer compare tells "not a socket" without reading the inode. The symbol itself
 * is static in net/socket.c and often hidden from kallsyms, hence learning it. */
__u64 ws_sock_fops = 0;

/* Bumped by the agent after each change to ws_capture (ws_bpf_set_capture). A connection
 * caches the policy with the generation it read it at, so the map is looked up once per
 * connection and once per change, not per syscall: a syscall pays one load and compare.
 * Starts at 1: a new connection (generation 0) looks its policy up on first use. */
__u32 ws_capture_gen = 1;

/* ---- maps ------------------------------------------------------------------ */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* the loader sets the real size */
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WS_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} ws_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WS_PID_FILTER_ENTRIES);
	__type(key, __u32);
	__type(value, __u8);
} ws_pid_filter SEC(".maps");

/* Threads created by a traced thread that have not run yet: the fork hook cannot reach
 * the child's task storage (a raw tracepoint's task pointers are untyped), so it leaves
 * the child's tid here and the child claims the traced bit in its own context, at the
 * exit of clone/fork/vfork/clone3 (ret 0), its first instructions back from the kernel.
 * LRU: a child that never gets there must not hold an entry forever. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WS_HEIR_ENTRIES);
	__type(key, __u32);
	__type(value, __u8);
} ws_heirs SEC(".maps");

/* Per-socket capture policy set by the agent (ws_bpf_set_capture). LRU, sized with
 * ws_conns by the loader; entries are also deleted at TCP_CLOSE and when accept/connect
 * make a new connection at an address that had one. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* the loader sets max_conns */
	__type(key, __u64);
	__type(value, struct ws_capture_policy);
} ws_capture SEC(".maps");

/* Unconnected UDP sockets that sent a datagram to a port in udp_port[]: their receives
 * are stashed and the sender's port checked at exit (a client's answer comes from the
 * port it asked, to its own ephemeral port). UDP has no close event here: LRU bounds
 * it, and a stale entry only costs a stash, since every datagram's port is checked. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WS_UDP_SOCK_ENTRIES);
	__type(key, __u64);
	__type(value, __u8);
} ws_udp_socks SEC(".maps");

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
	 * call (bpf/ws_tls.bpf.h), WS_TLS_SEEN once it made one. Read from the copy the
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

/* ws_conn.flags */
#define WS_CONN_PORT_OK (1u << 0)   /* the port filter matches this connection */
#define WS_CONN_REPORTED (1u << 1)  /* a WS_SOCK_OPEN went out: userspace knows it */
#define WS_CONN_TLS (1u << 2)       /* TLS plaintext was reported for it: every syscall
				     * on it carries ciphertext (WS_F_CIPHER, no payload) */
#define WS_CONN_DATA_OUT (1u << 3)  /* a payload was copied in this direction */
#define WS_CONN_DATA_IN (1u << 5)
#define WS_CONN_H2 (1u << 4)        /* its first payload in either direction was the HTTP/2
				     * client preface (a client writes it, a server reads it,
				     * possibly after writing its own SETTINGS): copy every
				     * byte (as policy ALL) before the agent has had time to
				     * say so; HPACK state needs every header block */

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
	__u8 _pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* the loader sets max_conns */
	__type(key, __u64);
	__type(value, struct ws_conn);
} ws_conns SEC(".maps");

/* Vectored I/O: the user's iovec array is read here in one go (too big for the
 * 512-byte BPF stack next to the rest of the exit path). */
struct ws_scratch {
	struct iovec iov[WS_MAX_IOV];
	/* Many-iovec writes (ws_emit_iov_many): the pieces are gathered here first, at an
	 * offset masked to WS_MAX_PAYLOAD with a piece capped at WS_MAX_PAYLOAD, so twice
	 * the size provably holds any piece at any offset. */
	__u8 buf[2 * WS_MAX_PAYLOAD];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ws_scratch);
} ws_scratch SEC(".maps");

/* ---- helpers ----------------------------------------------------------------- */
static __always_inline void cnt_add(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&ws_counters, &idx);

	if (c)
		*c += v;
}

static __always_inline void cnt_inc(__u32 idx)
{
	cnt_add(idx, 1);
}

/* Submit without waking the agent unless enough data is pending: one wakeup per
 * wakeup_bytes instead of one per event (the agent also polls with a timeout). */
static __always_inline void rb_submit(void *rec)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(rec, flags);
	cnt_inc(WS_CNT_EVENTS);
}

static __always_inline bool comm_eq(const char *a, const volatile char *b)
{
#pragma unroll
	for (int i = 0; i < WS_COMM_LEN; i++) {
		if (a[i] != b[i])
			return false;
		if (!a[i])
			return true;
	}
	return true;
}

/*
 * Task scoping, done first thing at sys_enter before any pointer walk.
 * Returns 1 when the task is selected (or nothing is scoped), 0 when only the port
 * filter can still select the syscall, -1 when it is not traced.
 */
static __always_inline int scope_task(__u32 tgid)
{
	__u32 mode = filter_mode;

	if (tgid == agent_tgid)
		return -1;
	if (!mode)
		return 1;
	if ((mode & WS_FILTER_PID) && bpf_map_lookup_elem(&ws_pid_filter, &tgid))
		return 1;
	if (mode & WS_FILTER_COMM) {
		char comm[WS_COMM_LEN];
		__u32 n = n_comm_filters;

		bpf_get_current_comm(comm, sizeof(comm));
		for (__u32 i = 0; i < WS_MAX_COMM_FILTERS; i++) {
			if (i >= n)
				break;
			if (comm_eq(comm, comm_filter[i]))
				return 1;
		}
	}
	if (mode & WS_FILTER_PORT)
		return 0;
	return -1;
}

/* Is either port in the UDP port set? n_udp_ports is a load-time constant: with the
 * default {53} this is one compare per port. */
static __always_inline bool udp_port_selected(__u16 sport, __u16 dport)
{
	__u32 n = n_udp_ports;

	for (__u32 i = 0; i < WS_MAX_UDP_PORTS; i++) {
		if (i >= n)
			break;
		if (udp_port[i] == sport || udp_port[i] == dport)
			return true;
	}
	return false;
}

static __always_inline bool port_selected(__u16 sport, __u16 dport)
{
	__u32 n = n_port_filters;

	for (__u32 i = 0; i < WS_MAX_PORT_FILTERS; i++) {
		if (i >= n)
			break;
		if (port_filter[i] == sport || port_filter[i] == dport)
			return true;
	}
	return false;
}
