/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Data records from vectored I/O: the iovec pieces gathered into one record.
 */
#pragma once

#include "lib/emit.h"
#include "maps/scratch.h"
#include "lib/errors.h"

/* helper failures here are counted as this file (lib/errors.h) */
#define WS_FILE_ID WS_ERRF_LIB_GATHER

/*
 * Vectored I/O: the pieces are copied straight from each iovec into the record, in
 * order. The record is reserved at twice the bucket so that "offset masked to the
 * bucket + length capped at the bucket" provably fits: the verifier cannot relate
 * offset and length, and the spare half costs ring space only, not copies.
 */
#define RESERVE_AND_GATHER(bucket)                                                  \
	do {                                                                        \
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE + 2 * (bucket), 0);         \
		if (!ev)                                                            \
			goto drop;                                                  \
		for (i = 0; i < WS_MAX_IOV; i++) {                                  \
			__u64 len, o, rem;                                          \
                                                                                    \
			if (off >= want || i >= n_iov)                              \
				break;                                              \
			len = s->iov[i].iov_len;                                    \
			if (!len)                                                   \
				continue;                                           \
			o = off & ((bucket) - 1); /* off < want <= bucket */        \
			/* Never past the bytes that are there: a receive       \
			 * buffer is often larger than what arrived, and its    \
			 * untouched pages fault (the whole piece then fails).  \
			 * The constant cap after it is the bound the verifier  \
			 * uses ("want - off" is a difference of two unknowns,  \
			 * which older verifiers do not bound). */                  \
			rem = (want - off) & (2 * (bucket) - 1); /* exact: 0 < want - off <= bucket */ \
			barrier_var(rem);                                           \
			if (len > rem)                                              \
				len = rem;                                          \
			barrier_var(len);                                           \
			if (len > (bucket))                                         \
				len = (bucket);                                     \
			barrier_var(len);                                           \
			err = bpf_probe_read_user((__u8 *)(ev + 1) + o, len,        \
						  s->iov[i].iov_base);              \
			if (err) {                                                  \
				ws_err(err);                                        \
				break;                                              \
			}                                                           \
			off += len;                                                 \
		}                                                                   \
	} while (0)

/*
 * More iovecs than WS_MAX_IOV (grpcio writes an HTTP/2 header block as 9-28 pieces):
 * an unrolled loop that long does not verify, so bpf_loop (5.17+: on 6.1 and later)
 * walks up to WS_MAX_IOV_LOOP of them, reading each iovec and gathering its bytes into
 * the per-CPU scratch buffer; the record then gets one copy of what was gathered.
 */
#define WS_MAX_IOV_LOOP 128

/* bpf_loop's context must live on the stack: only the scratch pointer does. */
struct gather_ctx {
	struct ws_scratch *s;
};

static long gather_one(__u32 i, void *data)
{
	struct ws_scratch *s = ((struct gather_ctx *)data)->s;
	struct iovec v;
	__u64 len, o, rem;
	long err;

	if (!s || s->g_off >= s->g_want || i >= s->g_n_iov)
		return 1;
	err = bpf_probe_read_user(&v, sizeof(v), (const void *)(s->g_uiov + (__u64)i * sizeof(struct iovec)));
	if (err) {
		ws_err(err);
		return 1;
	}
	len = v.iov_len;
	if (!len)
		return 0;
	rem = (s->g_want - s->g_off) & (2 * WS_MAX_PAYLOAD - 1);   /* exact: 0 < want - off <= WS_MAX_PAYLOAD */
	barrier_var(rem);
	if (len > rem)
		len = rem;
	o = s->g_off & (WS_MAX_PAYLOAD - 1);   /* off < want <= WS_MAX_PAYLOAD */
	barrier_var(len);
	if (len > WS_MAX_PAYLOAD)
		len = WS_MAX_PAYLOAD;
	barrier_var(len);
	err = bpf_probe_read_user(s->buf + o, len, v.iov_base);
	if (err) {
		ws_err(err);
		return 1;
	}
	s->g_off += len;
	return 0;
}

__noinline int ws_emit_iov_many(struct ws_emit *e, struct ws_conn *c)
{
	struct ws_data_event *ev;
	struct gather_ctx g;
	struct ws_scratch *s;
	__u32 zero = 0;
	__u64 n = 0, want;

	if (!e || !c)
		return 0;
	s = bpf_map_lookup_elem(&ws_scratch, &zero);
	want = e->want < e->bytes ? e->want : e->bytes;
	if (want > WS_MAX_PAYLOAD)
		want = WS_MAX_PAYLOAD;
	cnt_add(WS_CNT_BYTES_SEEN, e->bytes);
	if (s && want) {
		s->g_uiov = e->iov;
		s->g_want = want;
		s->g_off = 0;
		s->g_n_iov = e->iovcnt < WS_MAX_IOV_LOOP ? e->iovcnt : WS_MAX_IOV_LOOP;
		g.s = s;
		bpf_loop(WS_MAX_IOV_LOOP, gather_one, &g, 0);
		n = s->g_off;
		if (n < want && e->iovcnt > WS_MAX_IOV_LOOP)
			e->flags |= WS_F_IOV_LIMIT;
	}
	if (n > WS_MAX_PAYLOAD)
		n = WS_MAX_PAYLOAD;
	if (n == 0 || !s) {
		n = 0;
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE, 0);
		if (!ev)
			goto drop;
	} else if (n <= WS_PAYLOAD_BUCKET_S) {
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE + WS_PAYLOAD_BUCKET_S, 0);
		if (!ev)
			goto drop;
		barrier_var(n);
		if (n > WS_PAYLOAD_BUCKET_S)
			n = WS_PAYLOAD_BUCKET_S;
		barrier_var(n);
		bpf_probe_read_kernel((void *)(ev + 1), n, s->buf);
	} else {
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE + WS_PAYLOAD_BUCKET_L, 0);
		if (!ev)
			goto drop;
		barrier_var(n);
		if (n > WS_PAYLOAD_BUCKET_L)
			n = WS_PAYLOAD_BUCKET_L;
		barrier_var(n);
		bpf_probe_read_kernel((void *)(ev + 1), n, s->buf);
	}
	data_submit(ev, e, c, n);
	return n;
drop:
	cnt_inc(WS_CNT_RB_DROP);
	return 0;
}

/* Global (not static): the verifier checks it once on its own instead of once per
 * call site and caller state, which sendmmsg's per-message loop multiplied past the
 * 1M-instruction limit on 6.1. Its pointer arguments are then nullable memory. */
__noinline int ws_emit_iov(struct ws_emit *e, struct ws_conn *c)
{
	struct ws_data_event *ev;
	struct ws_scratch *s;
	__u64 want, n_iov, off = 0;
	__u32 zero = 0;
	int i = 0;
	long err;

	if (!e || !c)
		return 0;
	want = e->want;
	n_iov = e->iovcnt;
	cnt_add(WS_CNT_BYTES_SEEN, e->bytes);
	if (want > e->bytes)
		want = e->bytes;
	if (want > WS_MAX_PAYLOAD)
		want = WS_MAX_PAYLOAD;
	if (n_iov > WS_MAX_IOV)
		n_iov = WS_MAX_IOV;
	s = bpf_map_lookup_elem(&ws_scratch, &zero);
	if (!s || !n_iov)
		want = 0;
	if (s && want) {
		/* the iovec array in one read instead of one per element */
		__u64 sz = n_iov * sizeof(struct iovec);

		barrier_var(sz);
		if (sz > sizeof(s->iov))
			sz = sizeof(s->iov);
		barrier_var(sz);
		err = bpf_probe_read_user(s->iov, sz, (const void *)e->iov);
		if (err) {
			ws_err(err);
			want = 0;
		}
	}
	if (!s || want == 0) {
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE, 0);
		if (!ev)
			goto drop;
	} else if (want <= WS_PAYLOAD_BUCKET_S) {
		RESERVE_AND_GATHER(WS_PAYLOAD_BUCKET_S);
	} else if (want <= WS_PAYLOAD_BUCKET_M) {
		RESERVE_AND_GATHER(WS_PAYLOAD_BUCKET_M);
	} else {
		RESERVE_AND_GATHER(WS_PAYLOAD_BUCKET_L);
	}
	if (off < want && i == WS_MAX_IOV && e->iovcnt > WS_MAX_IOV)
		e->flags |= WS_F_IOV_LIMIT;
	if (off > want)
		off = want;
	data_submit(ev, e, c, off);
	return off;
drop:
	cnt_inc(WS_CNT_RB_DROP);
	return 0;
}

/* The vectored paths, chosen by the caller so neither calls the other: the verifier
 * sums the stack of every frame in a call chain (512 bytes), and the exit programs
 * leave little. */
#define EMIT_IOV(e, c) (rt_fill(e, c), (e)->iovcnt > WS_MAX_IOV && (e)->want ? ws_emit_iov_many(e, c) : ws_emit_iov(e, c))

#undef WS_FILE_ID
