/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tunables written by the loader between open and load (const volatile: the verifier
 * prunes what they switch off), and the few globals the programs write themselves.
 */
#pragma once

#include "lib/common.h"

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

/* Bumped by the agent after it registers a process in ws_go_procs or ws_py_procs
 * (ws_bpf_rt_changed). A connection caches "its process is registered in neither" with
 * the generation it looked at (ws_conn.rt_none), so processes that are neither Go nor
 * registered CPython pay one load and compare per record instead of a hash lookup.
 * Removals need no bump: they cannot make a "not registered" answer wrong. */
__u32 ws_rt_gen = 1;

/* Set by the loader when Go support is on (ws_bpf_config.go_runtime). When 0 the
 * verifier drops the goid lookup from every data event. */
const volatile __u32 go_enabled = 0;

/* Set by the loader when CPython contexts are on (ws_bpf_config.py_runtime): when 0
 * the verifier drops the thread-state walk from every data event (lib/py_ctx.h). */
const volatile __u32 py_enabled = 0;

/* Set by the loader (ws_bpf_config.tls). When 0 the verifier drops every TLS check
 * from the syscall programs. */
const volatile __u32 tls_enabled = 0;

/* Set by the loader (ws_bpf_config.waits; --no-waits clears it). When 0 the verifier
 * drops the waits bookkeeping from the data path and the waits_* programs are not
 * loaded: records carry no on-CPU/run-queue/arrival stamps. */
const volatile __u32 waits_enabled = 1;

/* Set by the loader: every destination (--inject all), not only ws_inj_dst. */
const volatile __u32 inj_all = 0;
