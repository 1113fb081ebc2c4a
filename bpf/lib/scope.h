/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which processes and ports are traced: the --pid, --comm and --port scoping.
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
