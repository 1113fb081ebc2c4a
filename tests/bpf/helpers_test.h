/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The contexts of tests/bpf/helpers_test.bpf.c's programs, shared with
 * tests/unit-bpf/test_bpf_helpers.c: each program reads its inputs from its context,
 * calls one bpf/lib helper and writes the outputs back into it (BPF_PROG_TEST_RUN of a
 * SEC("syscall") program copies the context in and out). Fixed width, padded by hand,
 * sizes asserted on both sides.
 */
#ifndef WS_HELPERS_TEST_H
#define WS_HELPERS_TEST_H

#include "headers/wirespan_abi.h"

/* seq_start(end, n), seq_rcv_end(copied, shutdown, rcv_nxt) */
struct ht_seq {
	__u32 end, n;                  /* in: seq_start */
	__u32 copied, rcv_nxt;         /* in: seq_rcv_end */
	__u8 shutdown;
	__u8 _pad[3];
	__u32 start;                   /* out: seq_start */
	__u32 rcv_end;                 /* out: seq_rcv_end */
	__u32 _pad2;
};
WS_STATIC_ASSERT(sizeof(struct ht_seq) == 32, "ht_seq layout");

/* seq_mmsg_start(nmsg, end_ok, end_seq, total, enter_ok, seq_enter, &flags) */
struct ht_mmsg {
	__u32 nmsg, end_seq, total, seq_enter;
	__u8 end_ok, enter_ok;
	__u16 flags;                   /* in and out */
	__u32 start;                   /* out */
};
WS_STATIC_ASSERT(sizeof(struct ht_mmsg) == 24, "ht_mmsg layout");

/* payload_budget(c, dir, bytes, trunc, cap, &flags) on a connection made of these
 * fields (ws_conn is kernel-side only); the connection's run fields come back. */
struct ht_budget {
	__u32 bytes, cap;
	__u32 run_captured;            /* in and out */
	__u32 n;                       /* out: bytes the event may copy */
	__u16 flags;                   /* in and out: WS_F_* of the event */
	__u8 dir;
	__u8 trunc;
	__u8 run_dir;                  /* in and out */
	__u8 cap_mode;                 /* enum ws_capture_mode */
	__u8 conn_flags;               /* WS_CONN_* (WS_CONN_H2 = 1 << 4) */
	__u8 _pad;
};
WS_STATIC_ASSERT(sizeof(struct ht_budget) == 24, "ht_budget layout");

#define HT_MAX_PORTS 16

/* ports_match and ports_exclude(set, n, HT_MAX_PORTS, sport, dport), scope_verdict(mode, is_agent, pid_hit,
 * comm_hit), comm_eq(comm, name) */
struct ht_scope {
	__u16 set[HT_MAX_PORTS];
	__u32 n;
	__u16 sport, dport;
	__u32 mode;
	__u8 is_agent, pid_hit, comm_hit;
	__u8 _pad;
	char comm[WS_COMM_LEN];
	char name[WS_COMM_LEN];
	__u8 match;                    /* out: ports_match */
	__u8 comm_eq;                  /* out: comm_eq */
	__u8 exclude;                  /* out: ports_exclude */
	__u8 _pad2;
	__s32 verdict;                 /* out: scope_verdict */
};
WS_STATIC_ASSERT(sizeof(struct ht_scope) == 88, "ht_scope layout");

/* ws_err(err) at a line the test knows: the program records -err_in there. */
struct ht_err {
	__s32 err;
	__u32 line;                    /* out: the __LINE__ it recorded under */
};
WS_STATIC_ASSERT(sizeof(struct ht_err) == 8, "ht_err layout");

/* rb_should_wake(avail, cons, threshold, &next_cons) */
struct ht_wake {
	__u64 avail, cons, threshold;
	__u64 next_cons;               /* in and out */
	__u8 wake;                     /* out */
	__u8 _pad[7];
};
WS_STATIC_ASSERT(sizeof(struct ht_wake) == 40, "ht_wake layout");

/* rt_ctx(ev, e, c) for the calling thread, on a connection made of these fields */
struct ht_rt {
	__u32 pid, tid;                /* in: the record's */
	__u32 rt_pid, rt_gen;          /* in and out: the connection's */
	__u8 rt_none;                  /* in and out: WS_RT_NONE_* */
	__u8 loop, egress;             /* in */
	__u8 py;                       /* out: WS_F_RT_PY set */
	__u32 _pad;
	__u64 ctx;                     /* out */
};
WS_STATIC_ASSERT(sizeof(struct ht_rt) == 32, "ht_rt layout");

#endif
