/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The syscall side of TLS tracking, called from the data exits (hooks/tls.h has the
 * uprobes and says how a call is followed).
 */
#pragma once

#include "lib/config.h"
#include "maps/conns.h"
#include "maps/tls_socks.h"
#include "maps/tls_stash.h"

/* Ciphertext a record adds to its plaintext, at most: TLS 1.3 17 (tag, inner type)
 * plus any padding the sender chose, TLS 1.2 AES-GCM 24, CBC up to 16 (IV) + 48 (MAC)
 * + 256 (padding). */
#define WS_TLS_MAX_RECORD_OVERHEAD 320

/* ws_stash.tls */
#define WS_TLS_IN_CALL (1u << 0)
#define WS_TLS_SEEN (1u << 1)

/* Bind the call's SSL object to sk, with the ports of sk's connection now. */
static __always_inline void tls_bind(struct ws_tls_key *key, __u64 sk, __s32 fd)
{
	struct ws_tls_bind bind = { .sk = sk, .fd = fd };
	struct ws_conn *c = bpf_map_lookup_elem(&ws_conns, &sk);

	if (c) {
		bind.sport = c->tuple.sport;
		bind.dport = c->tuple.dport;
	}
	bpf_map_update_elem(&ws_tls_socks, key, &bind, BPF_ANY);
}

/* ---- the syscall side (called from data_exit) ------------------------------------- */

/*
 * A data syscall that ran inside a TLS call of this thread: note its socket, and the
 * sequence number of its first byte when it moved bytes in the call's direction and
 * the call has none yet. Returns true when the syscall is ciphertext (report it with
 * WS_F_CIPHER, no payload).
 */
static __always_inline bool tls_note_syscall(__u64 sk, __s32 fd, __u8 dir, __u32 seq, bool seq_ok)
{
	struct ws_tls_call *t = bpf_task_storage_get(&ws_tls_stash, bpf_get_current_task_btf(), 0, 0);
	__u8 want;

	if (!t || !t->active)
		return false;
	if (!t->sk) {
		t->sk = sk;
		t->fd = fd;
	}
	want = t->kind == WS_TLS_K_READ ? WS_DIR_INGRESS :
	       t->kind == WS_TLS_K_WRITE ? WS_DIR_EGRESS : 0xff;
	if (!t->has_seq && seq_ok && dir == want && t->sk == sk) {
		t->seq = seq;
		t->has_seq = 1;
	}
	return true;
}

/*
 * The first contiguous block a data syscall moved: the buffer of read/recvfrom/write/
 * sendto, the first iovec of readv/recvmsg/writev/sendmsg (grpc's endpoints read into
 * several slices at once). Its length is capped by the bytes moved. False for anything
 * else or an unreadable iovec.
 */
static __always_inline bool tls_first_block(__u16 sys, __u64 buf, __u32 ret, __u64 *base, __u32 *n)
{
	struct iovec v;
	__u64 iov = buf;

	if (sys == WS_SYS_READ || sys == WS_SYS_RECVFROM || sys == WS_SYS_WRITE || sys == WS_SYS_SENDTO) {
		*base = buf;
		*n = ret;
		return true;
	}
	if (sys != WS_SYS_READV && sys != WS_SYS_RECVMSG && sys != WS_SYS_WRITEV && sys != WS_SYS_SENDMSG)
		return false;
	if ((sys == WS_SYS_RECVMSG || sys == WS_SYS_SENDMSG) &&
	    bpf_probe_read_user(&iov, sizeof(iov), &((struct user_msghdr *)buf)->msg_iov))
		return false;
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)iov))
		return false;
	*base = (__u64)v.iov_base;
	*n = v.iov_len < ret ? (__u32)v.iov_len : ret;
	return true;
}

/*
 * The first application-data record of a read whose first record header is h (block
 * buf of n bytes, seq its first byte's): noted for the TLS read that will decrypt it.
 * A read that begins with ChangeCipherSpec (20) ends a handshake: the peer's Finished
 * record follows, then its first data, the record the peer's write began with (TLS
 * 1.2, and 1.3 in the middlebox-compatible mode OpenSSL uses by default). Any other
 * first record that is not application data (a handshake flight) gives no position.
 */
static __always_inline void tls_pending_record(struct ws_tls_call *t, __u64 sk, __u64 buf, __u32 n, __u32 seq,
					       __u8 h[5])
{
	__u32 off = 0;

	if (h[0] == 20) {
		/* skip ChangeCipherSpec and the Finished record after it */
		off = 5 + ((__u32)h[3] << 8 | h[4]);
		if (off + 5 > n || bpf_probe_read_user(h, 5, (const void *)(buf + off)))
			return;
		off += 5 + ((__u32)h[3] << 8 | h[4]);
		if (off + 5 > n || bpf_probe_read_user(h, 5, (const void *)(buf + off)))
			return;
	}
	if (h[0] != 23 || h[1] != 3)
		return;
	t->pend_data_sk = sk;
	t->pend_seq = seq + off;
	t->pend_rec = (__u16)h[3] << 8 | h[4];
}

/*
 * The thread's readiness wait returned: what it read before belongs to the batch that
 * ended. node, asyncio and grpc feed what they read to the library in the same batch;
 * a read whose bytes another thread decrypted (grpc hands callbacks to other threads
 * under load) must not name a record for a later TLS read of this thread, which would
 * then take another record's position.
 */
static __always_inline void tls_wait_returned(struct task_struct *task)
{
	struct ws_tls_call *t = bpf_task_storage_get(&ws_tls_stash, task, 0, 0);

	if (t) {
		t->pend_sk = 0;
		t->pend_data_sk = 0;
	}
}

/*
 * A read inside a handshake call (a socket BIO's SSL_do_handshake): OpenSSL may read
 * the peer's first data with its Finished (a resumed TLS 1.2 session, TLS 1.3: node
 * writes ChangeCipherSpec, Finished and its first request at once). The SSL_read that
 * returns that data is then served from the library's buffer, with no syscall and so
 * no seq of its own: it takes the record noted here.
 */
static __always_inline void tls_note_call_read(__u64 sk, __u16 sys, __u64 rbuf, __u32 seq, __u32 ret)
{
	struct ws_tls_call *t = bpf_task_storage_get(&ws_tls_stash, bpf_get_current_task_btf(), 0, 0);
	__u64 buf;
	__u8 h[5];
	__u32 n;

	if (!t || !t->active || t->kind != WS_TLS_K_OTHER)
		return;
	t->pend_data_sk = 0;
	if (!tls_first_block(sys, rbuf, ret, &buf, &n) || n < sizeof(h))
		return;
	if (bpf_probe_read_user(h, sizeof(h), (const void *)buf) || h[0] < 20 || h[0] > 23 || h[1] != 3)
		return;
	tls_pending_record(t, sk, buf, n, seq, h);
}

/*
 * A read outside TLS calls by a thread that uses the TLS library: remembered when its
 * bytes begin with a TLS record header (content type 20..23, version major 3), the
 * ciphertext a memory-BIO library is about to be fed (libuv, Python asyncio, grpc).
 * Only the first contiguous block of the read is looked at.
 *
 * Two things are kept: the socket, for the binding of an SSL object that has none
 * (pend_sk), and the position and length of the first application-data record the
 * read brought (tls_pending_record), for the TLS read that decrypts it.
 */
static __always_inline void tls_note_read(__u64 sk, __s32 fd, __u16 sys, __u64 rbuf, __u32 seq,
					  bool seq_ok, __u32 ret)
{
	struct ws_tls_call *t = bpf_task_storage_get(&ws_tls_stash, bpf_get_current_task_btf(), 0, 0);
	__u64 buf;
	__u8 h[5];
	__u32 n;

	if (!t)
		return;
	t->pend_sk = 0;
	t->pend_data_sk = 0;
	if (!tls_first_block(sys, rbuf, ret, &buf, &n) || n < sizeof(h))
		return;
	if (bpf_probe_read_user(h, sizeof(h), (const void *)buf) || h[0] < 20 || h[0] > 23 || h[1] != 3)
		return;
	t->pend_sk = sk;
	t->pend_fd = fd;
	if (seq_ok)
		tls_pending_record(t, sk, buf, n, seq, h);
}

/*
 * A ciphertext write a memory BIO's runtime made (outside the library's calls): the
 * lengths of its first TLS records, from their headers in the write's first contiguous
 * block, marked WS_TLS_REC_NOT_APP when the record is not application data (its type,
 * or it follows a ChangeCipherSpec: a handshake's Finished, type 23 in TLS 1.3). The
 * agent finds in them the record of the plaintext write it waits for: node writes a
 * new TLS 1.3 connection's ChangeCipherSpec, Finished and first request in one write.
 * Returns how many (0: the block does not begin with a record header).
 */
static __always_inline int tls_write_recs(__u16 sys, __u64 ubuf, __u32 ret, __u16 lens[WS_TLS_MAX_RECS])
{
	__u64 buf;
	__u32 n, off = 0;
	bool after_ccs = false;
	int k = 0;

	if (!tls_first_block(sys, ubuf, ret, &buf, &n))
		return 0;
	for (int i = 0; i < WS_TLS_MAX_RECS; i++) {
		__u8 h[5];

		if (off + sizeof(h) > n || bpf_probe_read_user(h, sizeof(h), (const void *)(buf + off)))
			break;
		if (h[0] < 20 || h[0] > 23 || h[1] != 3)
			break;
		lens[k++] = ((__u16)h[3] << 8 | h[4]) |
			    (h[0] != 23 || after_ccs ? WS_TLS_REC_NOT_APP : 0);
		after_ccs = h[0] == 20;
		off += 5 + ((__u32)h[3] << 8 | h[4]);
	}
	return k;
}
