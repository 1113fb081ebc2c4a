/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The request each server thread is serving, for the trace id an injected traceparent
 * continues (bpf/lib/inj_srv.h writes it, bpf/hooks/inject.h reads it). Kernel-only:
 * the agent never reads it. Present only while injection is on (the loader shrinks it
 * to one entry otherwise).
 */
#pragma once

#include "lib/common.h"

#define WS_INJ_SRV_BYTES 1024   /* of the request's first read: where its traceparent is looked for */

struct ws_inj_srv {
	__u64 sk;             /* the connection of the newest request it read */
	__u64 ts;             /* when it read it */
	struct ws_tuple tuple;/* that connection, from the server's side */
	__u32 seq;            /* the request's first byte */
	__u32 n;              /* bytes of it in buf */
	__u32 open;           /* requests it read whose connection has not been answered since */
	__u32 has_seq;        /* seq is known */
	char buf[WS_INJ_SRV_BYTES];
};

/* A plain hash, not LRU: evicting a thread's slot would forget requests it has open
 * and let a later one look like its only one. A full map is counted (WS_INJ_SRV_FULL)
 * and the thread's calls get new traces; slots go at the thread's exit
 * (sched_process_exit). Allocated as threads need them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);   /* threads; the loader sets 1 when injection is off */
	__type(key, __u32);          /* tid */
	__type(value, struct ws_inj_srv);
} ws_inj_srv SEC(".maps");

/* Never written: the zeroed value a thread's slot is made from (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ws_inj_srv);
} ws_inj_srv_zero SEC(".maps");
