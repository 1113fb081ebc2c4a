/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Data records from one contiguous user buffer (or none): reserve, copy, fill, submit.
 */
#pragma once

#include "lib/emit_args.h"
#include "lib/rt_ctx.h"
#include "lib/inj_srv.h"
#include "lib/loop.h"
#include "lib/submit.h"
#include "lib/waits.h"
#include "maps/conns.h"
#include "lib/errors.h"

/* helper failures here are counted as this file (lib/errors.h) */
#define WS_FILE_ID WS_ERRF_LIB_EMIT

#define WS_EV_SIZE sizeof(struct ws_data_event)

static __always_inline long copy_in(void *dst, __u64 n, __u64 cap, const struct ws_emit *e)
{
	/* Opaque to the compiler before and after the clamp, so the bound is checked on
	 * the very register the helper receives (clang would otherwise reuse a copy
	 * from before an earlier, wider check). */
	barrier_var(n);
	if (n > cap)
		n = cap;
	barrier_var(n);
	return bpf_probe_read_user(dst, n, (const void *)e->src);
}

/* Fill the fixed part of a reserved data record (n payload bytes already in place)
 * and submit it. */
static __always_inline void data_submit(struct ws_data_event *ev, const struct ws_emit *e,
					struct ws_conn *c, __u32 n)
{
	__u16 flags = e->flags;
	__u64 goid;

	/* The first payload of a direction: the HTTP/2 client preface ("PRI * HTTP/2.0")
	 * switches the connection to copy-everything at once. Its first header blocks
	 * follow in the next syscalls, long before the agent's policy (ALL) could reach
	 * the kernel. TLS plaintext keeps its own first-payload bits: a memory BIO
	 * reports its handshake's ciphertext with payload before any plaintext. */
	__u8 seen = e->dir == WS_DIR_INGRESS ? WS_CONN_DATA_IN : WS_CONN_DATA_OUT;
	__u8 *seenp = (flags & WS_F_TLS) ? &c->tls_seen : &c->flags;

	if (n && !(flags & WS_F_CIPHER) && !(*seenp & seen)) {
		*seenp |= seen;
		if (n >= 4) {
			const __u8 *p = (const __u8 *)(ev + 1);

			if (p[0] == 'P' && p[1] == 'R' && p[2] == 'I' && p[3] == ' ')
				c->flags |= WS_CONN_H2;
			/* TLS plaintext that begins with a server's SETTINGS frame (stream 0,
			 * no flags, whole entries): HTTP/2, also when the client's first write,
			 * the magic, was not seen (a TLS write lost for want of a socket).
			 * A wrong guess only copies more of that connection. */
			else if ((flags & WS_F_TLS) && n >= 9 && p[3] == 4 && p[4] == 0 &&
				 !(p[5] | p[6] | p[7] | p[8]) &&
				 (((__u32)p[0] << 16 | (__u32)p[1] << 8 | p[2]) % 6) == 0)
				c->flags |= WS_CONN_H2;
		}
	}

	if (n < e->bytes && !(flags & WS_F_TLS_RECS))
		flags |= WS_F_TRUNCATED;
	ev->hdr.type = WS_EV_DATA;
	ev->hdr.flags = flags;
	ev->hdr.size = WS_EV_SIZE + n;
	ev->hdr.ts_ns = e->exit_ns;
	ev->sock_id = e->sk;
	ev->pid = e->pid_tgid >> 32;
	ev->tid = (__u32)e->pid_tgid;
	ev->enter_ns = e->enter_ns;
	ev->exit_ns = e->exit_ns;
	ev->seq = e->seq;
	ev->bytes = e->bytes;
	ev->captured = n;
	ev->fd = e->fd;
	ev->dir = e->dir;
	ev->role = c->role;
	ev->syscall = e->sys;
	ev->_pad = 0;
	ev->rt_ctx = e->rt;
	goid = (flags & WS_F_RT_PY) ? 0 : e->rt;
	ev->tuple = c->tuple;
	waits_fill(ev, e->enter_ns);
	if (e->loop)
		batch_take(&ev->batch);
	else
		__builtin_memset(&ev->batch, 0, sizeof(ev->batch));
	/* Which request this thread serves, for injected traceparents (lib/inj_srv.h):
	 * plain TCP only (a TLS connection's requests are in its plaintext records). */
	if (inj_enabled && ws_inj_track && c->role == WS_ROLE_SERVER &&
	    !(flags & (WS_F_TLS | WS_F_CIPHER | WS_F_DGRAM | WS_F_EOF)))
		inj_srv_note(e, c, ev + 1, n, goid != 0);
	rb_submit(ev);
	cnt_add(WS_CNT_BYTES_CAPTURED, n);
}

/* Reserve a constant-size bucket big enough for the payload so the verifier sees a
 * constant size; hdr.size tells userspace what is really used. */
#define RESERVE_AND_COPY(bucket)                                                   \
	do {                                                                       \
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE + (bucket), 0);            \
		if (!ev)                                                           \
			goto drop;                                                 \
		err = copy_in((void *)(ev + 1), n, (bucket), e);                   \
		if (err) {                                                         \
			ws_err(err);                                               \
			n = 0;                                                     \
		}                                                                  \
	} while (0)

/* One contiguous user buffer (read, write, recvfrom, sendto) or no payload. */
static __noinline int emit_data_rec(struct ws_emit *e, struct ws_conn *c)
{
	struct ws_data_event *ev;
	long err;
	__u64 n = e->want; /* 64-bit: a 32-bit copy would be zero-extended into another
			    * register and the verifier would lose the bound */

	cnt_add(WS_CNT_BYTES_SEEN, e->bytes);
	if (n > e->bytes)
		n = e->bytes;
	if (n > WS_MAX_PAYLOAD)
		n = WS_MAX_PAYLOAD;
	if (n == 0) {
		ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE, 0);
		if (!ev)
			goto drop;
	} else if (n <= WS_PAYLOAD_BUCKET_S) {
		RESERVE_AND_COPY(WS_PAYLOAD_BUCKET_S);
	} else if (n <= WS_PAYLOAD_BUCKET_M) {
		RESERVE_AND_COPY(WS_PAYLOAD_BUCKET_M);
	} else {
		RESERVE_AND_COPY(WS_PAYLOAD_BUCKET_L);
	}
	data_submit(ev, e, c, n);
	return n;
drop:
	cnt_inc(WS_CNT_RB_DROP);
	return 0;
}

/* A data record from one contiguous user buffer (or none). */
static __always_inline int emit_data(struct ws_emit *e, struct ws_conn *c)
{
	rt_fill(e, c);
	return emit_data_rec(e, c);
}

/* A ciphertext record whose payload is the write's TLS record lengths (WS_F_TLS_RECS). */
static __noinline int emit_cipher_recs_rec(struct ws_emit *e, struct ws_conn *c, const __u16 *lens, int k)
{
	struct ws_data_event *ev;

	cnt_add(WS_CNT_BYTES_SEEN, e->bytes);
	if (k < 1 || k > WS_TLS_MAX_RECS)
		return 0;
	ev = bpf_ringbuf_reserve(&rb, WS_EV_SIZE + WS_TLS_MAX_RECS * sizeof(__u16), 0);
	if (!ev) {
		cnt_inc(WS_CNT_RB_DROP);
		return 0;
	}
	__builtin_memcpy((void *)(ev + 1), lens, WS_TLS_MAX_RECS * sizeof(__u16));
	e->flags |= WS_F_TLS_RECS;
	data_submit(ev, e, c, (__u32)k * sizeof(__u16));
	return k;
}

static __always_inline int emit_cipher_recs(struct ws_emit *e, struct ws_conn *c, const __u16 *lens, int k)
{
	rt_fill(e, c);
	return emit_cipher_recs_rec(e, c, lens, k);
}

#undef WS_FILE_ID
