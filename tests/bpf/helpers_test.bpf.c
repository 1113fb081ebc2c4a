// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The pure bpf/lib helpers, compiled from the same headers as wirespan.bpf.o and run
 * by tests/unit-bpf/test_bpf_helpers.c through BPF_PROG_TEST_RUN: what the verifier
 * and the BPF backend make of them is what is tested, not a userspace copy. Each
 * program wraps one helper; its context (tests/bpf/helpers_test.h) carries the inputs
 * in and the outputs out.
 */
#include "lib/budget.h"
#include "lib/errors.h"
#include "lib/scope.h"
#include "lib/seq.h"
#include "lib/wake.h"
#include "lib/rt_ctx.h"

#include "tests/bpf/helpers_test.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("syscall")
int test_seq(struct ht_seq *t)
{
	t->start = seq_start(t->end, t->n);
	t->rcv_end = seq_rcv_end(t->copied, t->shutdown, t->rcv_nxt);
	return 0;
}

SEC("syscall")
int test_mmsg(struct ht_mmsg *t)
{
	__u16 flags = t->flags;

	t->start = seq_mmsg_start(t->nmsg, t->end_ok, t->end_seq, t->total, t->enter_ok,
				  t->seq_enter, &flags);
	t->flags = flags;
	return 0;
}

SEC("syscall")
int test_budget(struct ht_budget *t)
{
	struct ws_conn c = {};
	__u16 flags = t->flags;

	c.run_dir = t->run_dir;
	c.run_captured = t->run_captured;
	c.cap_mode = t->cap_mode;
	c.flags = t->conn_flags;
	t->n = payload_budget(&c, t->dir, t->bytes, t->trunc, t->cap, &flags);
	t->flags = flags;
	t->run_dir = c.run_dir;
	t->run_captured = c.run_captured;
	return 0;
}

SEC("syscall")
int test_scope(struct ht_scope *t)
{
	/* Copied to the stack: a context takes no variable-offset loads (the port loop). */
	char comm[WS_COMM_LEN], name[WS_COMM_LEN];
	__u16 set[HT_MAX_PORTS];

	__builtin_memcpy(comm, t->comm, sizeof(comm));
	__builtin_memcpy(name, t->name, sizeof(name));
	__builtin_memcpy(set, t->set, sizeof(set));
	t->match = ports_match(set, t->n, HT_MAX_PORTS, t->sport, t->dport);
	t->exclude = ports_exclude(set, t->n, HT_MAX_PORTS, t->sport, t->dport);
	t->verdict = scope_verdict(t->mode, t->is_agent, t->pid_hit, t->comm_hit);
	t->comm_eq = comm_eq(comm, name);
	return 0;
}

SEC("syscall")
int test_wake(struct ht_wake *t)
{
	__u64 next = t->next_cons;

	t->wake = rb_should_wake(t->avail, t->cons, t->threshold, &next);
	t->next_cons = next;
	return 0;
}

SEC("syscall")
int test_rt(struct ht_rt *t)
{
	struct ws_emit e = {};
	struct ws_conn c = {};

	e.pid_tgid = (__u64)t->pid << 32 | t->tid;
	e.loop = t->loop;
	e.dir = t->egress ? WS_DIR_EGRESS : WS_DIR_INGRESS;
	c.rt_pid = t->rt_pid;
	c.rt_gen = t->rt_gen;
	c.rt_none = t->rt_none;
	rt_fill(&e, &c);
	t->ctx = e.rt;
	t->py = (e.flags & WS_F_RT_PY) != 0;
	t->rt_pid = c.rt_pid;
	t->rt_gen = c.rt_gen;
	t->rt_none = c.rt_none;
	return 0;
}

#define WS_FILE_ID WS_ERRF_TEST
SEC("syscall")
int test_err(struct ht_err *t)
{
	t->line = __LINE__ + 1;
	ws_err(t->err);
	return 0;
}
#undef WS_FILE_ID
