/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * TLS plaintext at the library boundary: uprobes on SSL_read, SSL_write, SSL_read_ex,
 * SSL_write_ex (OpenSSL 1.1/3.x, BoringSSL, and binaries that link them statically and
 * keep the symbols, such as node), plus SSL_do_handshake and SSL_shutdown, whose
 * syscalls are ciphertext too. The agent attaches them per library or executable
 * inode (agent/tls_attach.c); they fire in every process mapping it, and the scoping
 * decides which ones go further.
 *
 * A call is followed per thread: its entry stores the arguments in the thread's TLS
 * slot (task storage) and sets WS_TLS_IN_CALL in the thread's syscall stash slot. The
 * data syscalls exit sees that bit in the copy of its slot it takes anyway, so threads
 * outside TLS calls pay one test; inside one, the syscall is reported with WS_F_CIPHER
 * and no payload, and its socket and first sequence number are noted in the call.
 * The return builds one WS_F_TLS record from the user's plaintext buffer.
 *
 * Which socket: the one the call's own syscalls used (a socket BIO); otherwise the
 * binding SSL* -> socket learned from an earlier call of the same SSL object (a read
 * served from OpenSSL's buffer; its socket must still carry the ports it had when
 * bound, or the SSL* and the sock were freed and reused: WS_CNT_TLS_BIND_STALE);
 * otherwise the socket of the thread's preceding read when that read began with a TLS
 * record header and no TLS read or handshake consumed it yet (a memory BIO: node,
 * Python asyncio feed the ciphertext they have just read into the library on the same
 * thread; a write binds that way too, and leaves the read pending). Anything else is
 * dropped and counted (WS_CNT_TLS_NO_SOCK): no record lands on a guessed connection.
 *
 * The syscall side (what the data exits do inside a TLS call) is lib/tls.h.
 */
#pragma once

#include "lib/budget.h"
#include "lib/conn.h"
#include "lib/emit.h"
#include "lib/policy.h"
#include "lib/scope.h"
#include "lib/tls.h"
#include "maps/stash.h"
#include "lib/errors.h"

/* helper failures here are counted as this file (lib/errors.h) */
#define WS_FILE_ID WS_ERRF_HOOKS_TLS

static __always_inline int tls_enter(struct pt_regs *ctx, __u8 kind, bool ex)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task;
	struct ws_tls_call *t;
	struct ws_stash *sp;
	__u64 rsp = PT_REGS_SP(ctx);
	int task_ok;

	if (!tls_enabled)
		return 0;
	task_ok = scope_task(id >> 32);
	if (task_ok < 0)
		return 0;
	task = bpf_get_current_task_btf();
	t = bpf_task_storage_get(&ws_tls_stash, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	sp = bpf_task_storage_get(&ws_stash, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t || !sp) {
		cnt_inc(WS_CNT_TLS_STASH_FULL);
		return 0;
	}
	/* A call entered from inside the one in progress (BoringSSL's SSL_read runs
	 * SSL_do_handshake) has a deeper stack: the outer call stays the one reported.
	 * One at the same depth or above means the previous call's return was never seen
	 * (longjmp, a uretprobe missed): it is replaced. */
	if (t->active && rsp < t->sp)
		return 0;
	t->ssl = PT_REGS_PARM1(ctx);
	t->buf = PT_REGS_PARM2(ctx);
	t->n_ptr = ex ? PT_REGS_PARM4(ctx) : 0;
	t->enter_ns = bpf_ktime_get_ns();
	t->sp = rsp;
	t->sk = 0;
	t->fd = -1;
	t->seq = 0;
	t->has_seq = 0;
	t->kind = kind;
	t->task_ok = (__u8)task_ok;
	t->active = 1;
	sp->tls = WS_TLS_IN_CALL | WS_TLS_SEEN;
	return 0;
}

/* The plaintext run budget: like the ciphertext's (budget_take), per connection and
 * direction, but the capture policy's OFF does not apply. OFF is what a parser decides
 * for bytes it cannot read, and a TLS connection's raw bytes are exactly that, often
 * before the first plaintext is seen (connections older than the probes, a memory
 * BIO's first flight). ALL (a parser that wants whole messages, HTTP/2) applies, and
 * so does a plaintext HTTP/2 preface (WS_CONN_H2), even after the agent set OFF for
 * the handshake's ciphertext: its ALL comes later than the first header blocks (a
 * grpcio run beside a CPU hog lost both connections to uncaptured header blocks). */
static __always_inline __u32 tls_budget(struct ws_conn *c, __u8 dir, __u32 bytes, __u16 *flags)
{
	__u32 cap = capture_bytes;
	__u32 used, avail, n;

	if (cap > WS_MAX_PAYLOAD)
		cap = WS_MAX_PAYLOAD;
	if (c->tls_run_dir != dir) {
		c->tls_run_dir = dir;
		c->tls_run_captured = 0;
	}
	if (c->cap_mode == WS_CAPMODE_ALL || (c->flags & WS_CONN_H2))
		return bytes < WS_MAX_PAYLOAD ? bytes : WS_MAX_PAYLOAD;
	used = c->tls_run_captured;
	avail = used < cap ? cap - used : 0;
	n = bytes < avail ? bytes : avail;
	if (n < bytes)
		*flags |= WS_F_BUDGET;
	c->tls_run_captured = used + n;
	return n;
}

/*
 * A memory-BIO read (no syscall inside) that returned the first plaintext since the
 * thread's preceding read of its socket decrypted the application-data record that
 * read brought, if the sizes agree: the plaintext is that record less its overhead
 * (tag, explicit IV, MAC, padding, TLS 1.3's inner type). Then its seq is the one the
 * peer's TLS write reported for its first ciphertext byte. Plaintext that does not fit
 * came from another record (one the library held from an earlier read): no seq.
 * Consumed either way. grpc calls SSL_read before it feeds what it read (WANT_READ,
 * no plaintext): such a call leaves the record waiting.
 */
static __always_inline void tls_take_pending_seq(struct ws_tls_call *t, __u64 n)
{
	__u32 rec = t->pend_rec;

	t->pend_data_sk = 0;
	if (t->sk || t->has_seq || n > rec || rec - n > WS_TLS_MAX_RECORD_OVERHEAD)
		return;
	t->seq = t->pend_seq;
	t->has_seq = 1;
}

/*
 * The call returned: bind its SSL object to the socket it used, and report the
 * plaintext moved (reads and writes that returned data). Global function: verified
 * once, and its stack is its own.
 */
__noinline int ws_tls_exit(struct ws_tls_call *t, __u64 id, long ret)
{
	struct ws_tls_key key = {};
	struct ws_tls_bind *b;
	struct ws_emit e = {};
	struct ws_conn *c = NULL;
	__u64 sk, n = 0;
	__s32 fd;

	if (!t)
		return 0;
	key.ssl = t->ssl;
	key.tgid = id >> 32;
	sk = t->sk;
	fd = t->fd;
	if (sk) {
		/* learned from the call's own syscalls: the binding, new or changed */
		b = bpf_map_lookup_elem(&ws_tls_socks, &key);
		c = bpf_map_lookup_elem(&ws_conns, &sk);
		if (!b || b->sk != sk || (c && (b->sport != c->tuple.sport || b->dport != c->tuple.dport)))
			tls_bind(&key, sk, fd);
		c = NULL;
	} else {
		b = bpf_map_lookup_elem(&ws_tls_socks, &key);
		if (b) {
			sk = b->sk;
			fd = b->fd;
			c = bpf_map_lookup_elem(&ws_conns, &sk);
			if (!c) {
				sk = 0;   /* its socket is gone: the SSL* was reused */
			} else if ((b->sport || b->dport) &&
				   (b->sport != c->tuple.sport || b->dport != c->tuple.dport)) {
				/* its socket's address now holds another connection (maybe of
				 * another process): the SSL* was freed and reused */
				sk = 0;
				c = NULL;
				cnt_inc(WS_CNT_TLS_BIND_STALE);
			}
		}
		/* Writes too: node's TLSWrap cycle after a read is ClearIn (SSL_write of
		 * what JS queued during the handshake) before ClearOut (SSL_read), so a new
		 * client connection's first request is written before any read binds it.
		 * Only an SSL object with no binding, and the read stays pending for the
		 * read that follows. */
		if (!sk && t->pend_sk) {
			sk = t->pend_sk;
			fd = t->pend_fd;
			tls_bind(&key, sk, fd);
			cnt_inc(WS_CNT_TLS_BIND_READ);
			c = NULL;
		}
	}
	if (t->kind != WS_TLS_K_WRITE)
		t->pend_sk = 0;
	/* From now on every syscall on the socket is ciphertext, also those a memory-BIO
	 * library makes outside its calls. */
	if (sk && !c)
		c = bpf_map_lookup_elem(&ws_conns, &sk);
	if (c && !(c->flags & WS_CONN_TLS) && conn_traced(c, t->task_ok))
		c->flags |= WS_CONN_TLS;
	if (t->kind == WS_TLS_K_OTHER)
		return 0;
	if (t->n_ptr) {
		/* SSL_read_ex/SSL_write_ex: 1 on success, the count in *readbytes or *written */
		if (ret == 1) {
			long err = bpf_probe_read_user(&n, sizeof(n), (const void *)t->n_ptr);

			if (err)
				ws_err(err);
		}
		if (ret != 1)
			n = 0;
	} else if ((int)ret > 0) {
		n = (__u32)(int)ret;
	}
	if (!n)
		return 0;   /* WANT_READ: the preceding read's record is still to come */
	if (t->kind == WS_TLS_K_READ && sk && t->pend_data_sk == sk)
		tls_take_pending_seq(t, n);
	if (sk && !c)
		c = bpf_map_lookup_elem(&ws_conns, &sk);
	if (!c) {
		/* Under port scoping alone (task_ok 0) a call with no traced socket is most
		 * likely out of scope: counted as filtered, not as a loss. */
		cnt_inc(t->task_ok ? WS_CNT_TLS_NO_SOCK : WS_CNT_FILTERED);
		return 0;
	}
	if (!conn_traced(c, t->task_ok)) {
		cnt_inc(WS_CNT_FILTERED);
		return 0;
	}
	e.sys = t->kind == WS_TLS_K_READ ? WS_SYS_SSL_READ : WS_SYS_SSL_WRITE;
	e.dir = t->kind == WS_TLS_K_READ ? WS_DIR_INGRESS : WS_DIR_EGRESS;
	conn_announce(sk, c, e.sys, fd, id, 0);
	policy_refresh(sk, c);
	e.sk = sk;
	e.pid_tgid = id;
	e.enter_ns = t->enter_ns;
	e.exit_ns = bpf_ktime_get_ns();
	e.fd = fd;
	e.src = t->buf;
	e.bytes = n > 0xffffffffULL ? 0xffffffffU : (__u32)n;
	e.seq = t->seq;
	e.flags = WS_F_TLS | (t->has_seq ? 0 : WS_F_NO_SEQ);
	e.loop = 1;   /* the thread's stash is not at hand: look its batches up */
	e.want = tls_budget(c, e.dir, e.bytes, &e.flags);
	emit_data(&e, c);
	cnt_inc(WS_CNT_TLS_DATA);
	return 0;
}

/* One return program for all six functions: the entry stored what differs. */
SEC("uretprobe")
int BPF_KRETPROBE(ws_tls_ret)
{
	struct task_struct *task;
	struct ws_tls_call *t;
	struct ws_stash *sp;
	__u64 rsp = PT_REGS_SP(ctx);

	if (!tls_enabled)
		return 0;
	task = bpf_get_current_task_btf();
	t = bpf_task_storage_get(&ws_tls_stash, task, 0, 0);
	/* Only the return of the call that was entered: the stack pointer is back above
	 * the return address (+8 on x86-64, equal on arm64). Nested calls return below. */
	if (!t || !t->active || rsp < t->sp || rsp > t->sp + 16)
		return 0;
	t->active = 0;
	sp = bpf_task_storage_get(&ws_stash, task, 0, 0);
	if (sp)
		sp->tls = WS_TLS_SEEN;
	return ws_tls_exit(t, bpf_get_current_pid_tgid(), PT_REGS_RC(ctx));
}

/* int SSL_read(SSL *ssl, void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ws_tls_read)
{
	return tls_enter(ctx, WS_TLS_K_READ, false);
}

/* int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes) */
SEC("uprobe")
int BPF_KPROBE(ws_tls_read_ex)
{
	return tls_enter(ctx, WS_TLS_K_READ, true);
}

/* int SSL_write(SSL *ssl, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ws_tls_write)
{
	return tls_enter(ctx, WS_TLS_K_WRITE, false);
}

/* int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(ws_tls_write_ex)
{
	return tls_enter(ctx, WS_TLS_K_WRITE, true);
}

/* int SSL_do_handshake(SSL *ssl), int SSL_shutdown(SSL *ssl): no plaintext, but their
 * syscalls are ciphertext and bind the SSL object to its socket. */
SEC("uprobe")
int BPF_KPROBE(ws_tls_other)
{
	return tls_enter(ctx, WS_TLS_K_OTHER, false);
}

#undef WS_FILE_ID
