/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The trace id a root span takes from the first byte of its request, computed the same
 * way by the kernel (bpf/hooks/inject.h) and the agent (agent/context.c), issue 12.
 *
 * Why: when a thread serves a request that came without a traceparent and calls an
 * SDK-instrumented service, the kernel writes a traceparent into that call before the
 * agent has seen the request. The trace id it writes must be the one the agent will
 * give the request's trace. Both ends of a TCP connection name a byte the same way
 * (client address and port, server address and port, sequence number: rule 3's key),
 * so the root of the trace (the SERVER span, or the local CLIENT span that wrote the
 * request) derives its trace id from that name, and so does the kernel.
 *
 * A keyed mix (key chosen at random per agent run, given to the kernel as rodata): ids
 * stay unpredictable from outside and differ between runs. Not a MAC: uniqueness is
 * what a trace id needs. Plain 64-bit arithmetic, so it runs unchanged in BPF.
 */
#ifndef WS_DERIVE_H
#define WS_DERIVE_H

#ifndef __bpf__
#include <linux/types.h>
#endif

static inline __u64 ws_derive_mix(__u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline __u64 ws_derive_load(const __u8 *p)
{
	__u64 v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* caddr/saddr as in struct ws_tuple (16 bytes, IPv4 as the kernel stores it there),
 * ports in host order, seq the sequence number of the request's first byte. */
static inline void ws_derive_trace(const __u64 key[2], const __u8 caddr[16], const __u8 saddr[16],
				   __u16 cport, __u16 sport, __u32 seq, __u8 out[16])
{
	__u64 h = ws_derive_mix(key[0] ^ ws_derive_load(caddr));
	__u64 g;

	h = ws_derive_mix(h ^ ws_derive_load(caddr + 8));
	h = ws_derive_mix(h ^ ws_derive_load(saddr) ^ key[1]);
	h = ws_derive_mix(h ^ ws_derive_load(saddr + 8));
	h = ws_derive_mix(h ^ (((__u64)cport << 48) | ((__u64)sport << 32) | seq));
	g = ws_derive_mix(h ^ key[1] ^ 0x9e3779b97f4a7c15ULL);
	for (int i = 0; i < 8; i++) {
		out[i] = (__u8)(h >> (8 * i));
		out[8 + i] = (__u8)(g >> (8 * i));
	}
	out[0] |= 1;   /* never all zero (W3C: an all-zero trace id is invalid) */
}

#endif /* WS_DERIVE_H */
