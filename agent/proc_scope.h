/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Whether a process is in the agent's scope, for the shells that attach uprobes per
 * executable (Go runtime, TLS libraries): the kernel programs scope by pid, comm and
 * port themselves; these shells decide which files are worth attaching to.
 */
#ifndef WS_PROC_SCOPE_H
#define WS_PROC_SCOPE_H

#include <stdbool.h>
#include <stdint.h>

#include "../headers/wirespan_abi.h"

struct ws_proc_scope {
	uint32_t agent_pid;
	uint32_t *pids;
	int n_pids;
	char (*comms)[WS_COMM_LEN];
	int n_comms;
	bool port_scoped;
};

/* Not the agent; with no pid or comm scope, any process (ports are decided by the
 * kernel per connection); else a listed pid, a listed comm (/proc/PID/comm), or, when
 * ports are scoped too, any process (a child of a pid-scoped process is traced by the
 * kernel without being listed here). */
bool ws_proc_in_scope(const struct ws_proc_scope *s, uint32_t pid);

#endif /* WS_PROC_SCOPE_H */
