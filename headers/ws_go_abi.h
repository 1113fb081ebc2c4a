/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go runtime evidence: what the agent tells the kernel about each Go process it traces
 * (map ws_go_procs, tgid -> struct ws_go_proc) and the counters of the Go probes.
 * The records themselves are WS_EV_RT (struct ws_rt_event) and ws_data_event.rt_ctx in
 * wirespan_abi.h. Kept apart from wirespan_abi.h so the Go work merges on its own.
 */
#ifndef WS_GO_ABI_H
#define WS_GO_ABI_H

#include "wirespan_abi.h"

#define WS_GO_MAX_PROCS 4096  /* ws_go_procs entries: Go processes traced at once */

/* ws_go_proc.flags */
#define WS_GO_F_HTTP (1u << 0)   /* the net/http offsets and itab_tcpconn are valid */

struct ws_go_proc {
	__s32 tls_g;        /* current g = *(u64 *)(fsbase + tls_g) */
	__u32 g_goid;       /* runtime.g.goid */
	__u32 pc_conn;      /* net/http.persistConn.conn (iface: tab, data) */
	__u32 tcpconn_fd;   /* *net.TCPConn -> *net.netFD */
	__u32 netfd_pfd;    /* net.netFD.pfd (internal/poll.FD) */
	__u32 pfd_sysfd;    /* internal/poll.FD.Sysfd */
	__u64 itab_tcpconn; /* run-time address of the (*net.TCPConn, net.Conn) itab: the
			     * conn is followed to its fd only when it is a plain TCPConn */
	__u64 exe_ino;      /* the executable's inode and device (kernel encoding,
			     * MAJOR << 20 | MINOR): a pid reused, or exec'd into another */
	__u32 exe_dev;      /* program, no longer matches, so its memory is never read
			     * with these offsets */
	__u32 flags;        /* WS_GO_F_* */
};
WS_STATIC_ASSERT(sizeof(struct ws_go_proc) == 48, "ws_go_proc size");

/* Per-CPU counters of the Go probes (map ws_go_counters). */
enum ws_go_counter {
	WS_GO_CNT_GOID_FAIL = 0,  /* data event of a Go process whose g/goid could not be read */
	WS_GO_CNT_SPAWN,          /* WS_RT_GO_SPAWN records */
	WS_GO_CNT_SPAWN_LOST,     /* newproc1 returned without its entry (tmp map full/raced) */
	WS_GO_CNT_CALL,           /* WS_RT_GO_CALL records */
	WS_GO_CNT_CALL_NOT_TCP,   /* roundTrip on a conn that is not a *net.TCPConn (TLS, custom) */
	WS_GO_CNT_READ_FAIL,      /* user memory read failed in a Go probe */
	WS_GO_CNT_RB_DROP,        /* ring buffer full: Go record lost */
	WS_GO_CNT_STALE,          /* tgid in ws_go_procs runs another executable (pid reused
				   * or exec): ignored until the agent drops the entry */
	WS_GO_CNT__MAX,
};

#endif /* WS_GO_ABI_H */
