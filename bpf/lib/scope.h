/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which processes and ports are traced: the --pid, --comm and --port scoping, and the
 * UDP port set. The decisions themselves (comm_eq, ports_match, scope_verdict) are
 * pure, apart from the lookups and tunables that feed them, so that they run under
 * BPF_PROG_TEST_RUN (tests/bpf/).
 */
#pragma once

#include "lib/config.h"
#include "maps/pid_filter.h"

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

/* Is either port one of the first n of set (max entries)? With n a load-time constant
 * the verifier walks only those: with one port configured this is one compare per port. */
static __always_inline bool ports_match(const volatile __u16 *set, __u32 n, __u32 max,
					__u16 sport, __u16 dport)
{
	for (__u32 i = 0; i < max; i++) {
		if (i >= n)
			break;
		if (set[i] == sport || set[i] == dport)
			return true;
	}
	return false;
}

/* Does the port filter rule this connection out? Only with both ports known: a zero
 * port (unconnected socket, or a closing sock whose local port went to its time-wait
 * successor) leaves the decision to the connection's state entry. */
static __always_inline bool ports_exclude(const volatile __u16 *set, __u32 n, __u32 max,
					  __u16 sport, __u16 dport)
{
	return sport && dport && !ports_match(set, n, max, sport, dport);
}

/*
 * Task scoping from what is known about the task: 1 when it is selected (or nothing is
 * scoped), 0 when only the port filter can still select its syscalls, -1 when it is not
 * traced. The agent itself is never traced.
 */
static __always_inline int scope_verdict(__u32 mode, bool is_agent, bool pid_hit, bool comm_hit)
{
	if (is_agent)
		return -1;
	if (!mode)
		return 1;
	if (((mode & WS_FILTER_PID) && pid_hit) || ((mode & WS_FILTER_COMM) && comm_hit))
		return 1;
	if (mode & WS_FILTER_PORT)
		return 0;
	return -1;
}

/* The current task's comm is one of the --comm names. */
static __always_inline bool comm_selected(void)
{
	char comm[WS_COMM_LEN];
	__u32 n = n_comm_filters;

	bpf_get_current_comm(comm, sizeof(comm));
	for (__u32 i = 0; i < WS_MAX_COMM_FILTERS; i++) {
		if (i >= n)
			break;
		if (comm_eq(comm, comm_filter[i]))
			return true;
	}
	return false;
}

/*
 * Task scoping, done first thing at sys_enter before any pointer walk: scope_verdict()
 * of the task, with the pid lookup and the comm read made only when the mode asks and
 * nothing selected the task yet.
 */
static __always_inline int scope_task(__u32 tgid)
{
	__u32 mode = filter_mode;
	bool pid_hit, comm_hit;

	if (tgid == agent_tgid)
		return -1;
	if (!mode)
		return 1;
	pid_hit = (mode & WS_FILTER_PID) && bpf_map_lookup_elem(&ws_pid_filter, &tgid);
	comm_hit = !pid_hit && (mode & WS_FILTER_COMM) && comm_selected();
	return scope_verdict(mode, false, pid_hit, comm_hit);
}

/* Is either port in the UDP port set (--udp-ports)? */
static __always_inline bool udp_port_selected(__u16 sport, __u16 dport)
{
	return ports_match(udp_port, n_udp_ports, WS_MAX_UDP_PORTS, sport, dport);
}

/* Is either port in the TCP port filter (--port)? */
static __always_inline bool port_selected(__u16 sport, __u16 dport)
{
	return ports_match(port_filter, n_port_filters, WS_MAX_PORT_FILTERS, sport, dport);
}
