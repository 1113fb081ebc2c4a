/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The runtime context a data record carries (rt_ctx): Go's goroutine or CPython's task
 * Context, with the per-connection memory of "neither" (tested through
 * BPF_PROG_TEST_RUN, tests/bpf/helpers_test.bpf.c).
 */
#pragma once

#include "lib/emit_args.h"
#include "lib/go_ctx.h"
#include "lib/py_ctx.h"
#include "maps/conns.h"

/*
 * The record's runtime context (e->rt): the goroutine (Go), or on an event loop's
 * writes the CPython task's Context (WS_F_RT_PY added to e->flags), or 0. A process
 * registered in neither map is remembered on the connection until the agent registers
 * another process (ws_rt_gen): most records then skip both hash lookups.
 *
 * A subprogram of its own, called by the emit wrappers (lib/emit.h, EMIT_IOV) before
 * the record's subprogram, not from inside it: the verifier adds up the frames of a
 * call chain (512 bytes on 6.1), and the vectored exits were at exactly 512 with the
 * lookups inside the record's subprogram (sys_exit_readv 416 + ws_emit_iov 64 + 32).
 * Inlined into the programs, its spills took sys_exit_readv past a 32-byte step.
 */
static __noinline void rt_fill(struct ws_emit *e, struct ws_conn *c)
{
	__u32 gen = *(volatile __u32 *)&ws_rt_gen;
	__u32 pid = e->pid_tgid >> 32;
	__u64 v = 0;

	/* the generation is read before any lookup: a registration during them is seen
	 * at the next record */
	if (c->rt_gen != gen || c->rt_pid != pid) {
		c->rt_gen = gen;
		c->rt_pid = pid;
		c->rt_none = 0;
	}
	if (!(c->rt_none & WS_RT_NONE_GO)) {
		v = ws_go_ctx(pid);
		if (v == WS_RT_UNREGISTERED) {
			c->rt_none |= WS_RT_NONE_GO;
			v = 0;
		}
	}
	/* CPython contexts matter on event loops only, and for what a task writes (the task
	 * rule): threads that never waited on several descriptors, and reads, pay nothing */
	if (!v && e->loop && e->dir == WS_DIR_EGRESS && !(c->rt_none & WS_RT_NONE_PY)) {
		v = ws_py_ctx(pid, (__u32)e->pid_tgid);
		if (v == WS_RT_UNREGISTERED) {
			c->rt_none |= WS_RT_NONE_PY;
			v = 0;
		} else if (v) {
			e->flags |= WS_F_RT_PY;
		}
	}
	e->rt = v;
}
