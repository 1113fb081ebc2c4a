/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * traceparent injection into outgoing HTTP/1 requests (issue 12, docs/parentage.md).
 *
 * Why sk_msg: it is the one hook on this kernel (no kprobes, no fentry) that may change
 * the bytes of a TCP stream before they are queued: tcp_bpf_sendmsg() copies the
 * user's buffer into an sk_msg and runs the verdict program on it in the sending task's
 * context (bpf_get_current_pid_tgid is the writer), and bpf_msg_push_data() inserts
 * bytes. The socket must be in a sockhash with the program attached to the map: the
 * sockops program adds client sockets at ACTIVE_ESTABLISHED (after connect()).
 *
 * Which bytes: only a message that starts with an HTTP/1 request line ("METHOD target
 * HTTP/1.x\r\n") and holds the whole header block ("\r\n\r\n" within WS_INJ_SCAN bytes)
 * and no traceparent header. TLS ciphertext, HTTP/2 (its preface is "PRI * HTTP/2.0"),
 * a body written on its own and any other protocol fail the request-line test. The
 * header goes right after the request line; Content-Length counts the body only, so
 * the body and its length stay as they are.
 *
 * The ids: span id random; trace id that of the request the sending thread serves
 * (lib/inj_srv.h): the traceparent it came with, else derived from its first byte as
 * the agent derives its root's (headers/ws_derive.h), else (no request, or several)
 * random. They are reported in a ws_inject_event reserved before anything is changed,
 * so no injected id goes unreported.
 *
 * Programs are autoloaded only when the agent enables injection (agent/inject.c) and
 * the kernel has sk_msg and bpf_msg_push_data (probed first).
 */
#pragma once

#include "headers/ws_derive.h"
#include "lib/config.h"
#include "lib/counters.h"
#include "lib/inj_srv.h"
#include "lib/scope.h"
#include "maps/conns.h"
#include "maps/inj_counters.h"
#include "maps/inj_dst.h"
#include "maps/inj_scratch.h"
#include "maps/inj_socks.h"
#include "maps/ringbuf.h"

static __always_inline bool inj_loopback4(__u32 a_be)
{
	return (bpf_ntohl(a_be) >> 24) == 127;
}

/* The destination is on this host: 127/8, ::1 or ::ffff:127/104. */
static __always_inline bool inj_local(__u32 family, __u32 r4, const __u32 r6[4])
{
	if (family == WS_AF_INET)
		return inj_loopback4(r4);
	if (r6[0] == 0 && r6[1] == 0) {
		if (r6[2] == 0 && r6[3] == bpf_htonl(1))
			return true;
		if (r6[2] == bpf_htonl(0xffff))
			return inj_loopback4(r6[3]);
	}
	return false;
}

SEC("sockops")
int ws_inj_sockops(struct bpf_sock_ops *skops)
{
	__u32 r6[4];
	__u64 cookie;

	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		return 1;
	r6[0] = skops->remote_ip6[0];
	r6[1] = skops->remote_ip6[1];
	r6[2] = skops->remote_ip6[2];
	r6[3] = skops->remote_ip6[3];
	if (!inj_all) {
		/* Only connections to a selected destination: every socket in the sockhash
		 * pays the sk_msg send path on each message. One opened before its
		 * destination was selected is adopted by the agent (agent/inject.c). */
		struct ws_inj_dst_key k = { .port = bpf_ntohs((__u16)(skops->remote_port >> 16)) };

		if (!inj_local(skops->family, skops->remote_ip4, r6) || !bpf_map_lookup_elem(&ws_inj_dst, &k))
			return 1;
	}
	cookie = bpf_get_socket_cookie(skops);
	if (bpf_sock_hash_update(skops, &ws_inj_socks, &cookie, BPF_NOEXIST) == 0)
		inj_cnt(WS_INJ_SOCKS);
	return 1;
}

/* Is the sender traced? The comm filter cannot be read here (no bpf_get_current_comm
 * for sk_msg): a comm-scoped agent injects only for senders selected otherwise. */
static __always_inline bool inj_scope(__u32 tgid, __u16 lport, __u16 rport)
{
	__u32 mode = filter_mode;

	if (tgid == agent_tgid)
		return false;
	if (!mode)
		return true;
	if ((mode & WS_FILTER_PID) && bpf_map_lookup_elem(&ws_pid_filter, &tgid))
		return true;
	if ((mode & WS_FILTER_PORT) && port_selected(lport, rport))
		return true;
	return false;
}

static __always_inline bool inj_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static __always_inline char inj_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

struct inj_scan {
	const char *b;    /* the scratch copy */
	__u32 n;          /* bytes in it */
	__u32 i;          /* next index */
	__u32 line_end;   /* offset just past the request line's "\n" */
	__u32 hdr_end;    /* offset just past "\r\n\r\n" */
	int verdict;      /* 0 scanning/done, -1 not HTTP/1 */
	bool has_tp;
};

#define INJ_B(sc, k) ((sc)->b[(k) & (WS_INJ_SCAN - 1)])

/* One byte of the scan (bpf_loop callback: a plain loop over 2 KiB is more than the
 * verifier follows). Only line ends do work. */
static long inj_step(__u32 idx, void *ctx)
{
	struct inj_scan *sc = ctx;
	__u32 i = sc->i++;

	if (i >= sc->n || i >= WS_INJ_SCAN)
		return 1;
	if (INJ_B(sc, i) != '\n')
		return 0;
	if (!sc->line_end) {
		/* "... HTTP/1.x\r\n" */
		if (i < 10 || INJ_B(sc, i - 1) != '\r' || INJ_B(sc, i - 9) != 'H' ||
		    INJ_B(sc, i - 5) != '/' || INJ_B(sc, i - 4) != '1' || INJ_B(sc, i - 10) != ' ') {
			sc->verdict = -1;
			return 1;
		}
		sc->line_end = i + 1;
		/* the first header line is looked at below like every other */
	} else if (INJ_B(sc, i - 1) == '\r' && INJ_B(sc, i - 2) == '\n') {
		sc->hdr_end = i + 1;
		return 1;
	}
	if (i + 13 < sc->n && inj_lower(INJ_B(sc, i + 1)) == 't' && inj_lower(INJ_B(sc, i + 2)) == 'r' &&
	    inj_lower(INJ_B(sc, i + 6)) == 'p' && inj_lower(INJ_B(sc, i + 11)) == 't' &&
	    INJ_B(sc, i + 12) == ':')
		sc->has_tp = true;
	return 0;
}

/* The request line must be "TOKEN SP target SP HTTP/1.x CRLF" with an upper-case
 * token; then every header line is looked at for traceparent until the empty line.
 * Returns 0 (complete header block), 1 (no end within the bytes), -1 (not HTTP/1). */
static __always_inline int inj_parse(const char *b, __u32 n, struct inj_scan *sc)
{
	__u32 i, sp = 0;

	if (n < 16)
		return -1;
	for (i = 0; i < 16; i++) {
		char c = b[i];

		if (c == ' ') {
			sp = i;
			break;
		}
		if (!inj_upper(c) && c != '-' && c != '_')
			return -1;
	}
	if (sp == 0)
		return -1;
	/* "PRI * HTTP/2.0": the HTTP/2 preface */
	if (sp == 3 && b[0] == 'P' && b[1] == 'R' && b[2] == 'I')
		return -1;
	sc->b = b;
	sc->n = n;
	sc->i = sp + 1;
	sc->line_end = 0;
	sc->hdr_end = 0;
	sc->verdict = 0;
	sc->has_tp = false;
	bpf_loop(WS_INJ_SCAN, inj_step, sc, 0);
	if (sc->verdict < 0)
		return -1;
	return sc->hdr_end ? 0 : 1;
}

/* Looking for the traceparent header in a served request's first bytes. */
struct inj_tp_scan {
	const char *b;
	__u32 n;
	__u32 i;
	__u32 at;         /* offset of its value, 0: none */
};

#define INJ_S(sc, k) ((sc)->b[(k) & (WS_INJ_SRV_BYTES - 1)])

static long inj_tp_step(__u32 idx, void *ctx)
{
	struct inj_tp_scan *sc = ctx;
	__u32 i = sc->i++;

	if (i + 14 >= sc->n)
		return 1;
	if (INJ_S(sc, i) != '\n')
		return 0;
	if (INJ_S(sc, i + 1) == '\r')
		return 1;   /* the end of the header block */
	/* "traceparent:" (no string constant: BTF of a static in .rodata trips the kernel) */
	if (inj_lower(INJ_S(sc, i + 1)) != 't' || inj_lower(INJ_S(sc, i + 2)) != 'r' ||
	    inj_lower(INJ_S(sc, i + 3)) != 'a' || inj_lower(INJ_S(sc, i + 4)) != 'c' ||
	    inj_lower(INJ_S(sc, i + 5)) != 'e' || inj_lower(INJ_S(sc, i + 6)) != 'p' ||
	    inj_lower(INJ_S(sc, i + 7)) != 'a' || inj_lower(INJ_S(sc, i + 8)) != 'r' ||
	    inj_lower(INJ_S(sc, i + 9)) != 'e' || inj_lower(INJ_S(sc, i + 10)) != 'n' ||
	    inj_lower(INJ_S(sc, i + 11)) != 't' || INJ_S(sc, i + 12) != ':')
		return 0;
	sc->at = i + 13;
	return 1;
}

static __always_inline int inj_unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The trace id of a traceparent value at b[at..] (masked reads), checked as the agent's
 * parser checks it (agent/proto/http_util.c): lower-case hex, version not ff, version
 * 00 exactly 55 characters, trace and span id not zero. 0 when valid. */
static __always_inline int inj_tp_value(const struct inj_tp_scan *sc, __u32 at, __u8 out[16])
{
	__u8 any_t = 0, any_s = 0;
	int v, w, ver;

	for (int k = 0; k < 4; k++)
		if (INJ_S(sc, at) == ' ' || INJ_S(sc, at) == '\t')
			at++;
	if (at + 56 > sc->n || INJ_S(sc, at + 2) != '-' || INJ_S(sc, at + 35) != '-' ||
	    INJ_S(sc, at + 52) != '-')
		return -1;
	v = inj_unhex(INJ_S(sc, at));
	w = inj_unhex(INJ_S(sc, at + 1));
	if (v < 0 || w < 0)
		return -1;
	ver = v << 4 | w;
	if (ver == 0xff)
		return -1;
	for (int k = 0; k < 16; k++) {
		v = inj_unhex(INJ_S(sc, at + 3 + 2 * k));
		w = inj_unhex(INJ_S(sc, at + 4 + 2 * k));
		if (v < 0 || w < 0)
			return -1;
		out[k] = (__u8)(v << 4 | w);
		any_t |= out[k];
	}
	for (int k = 0; k < 17; k++) {
		char c = INJ_S(sc, at + 36 + k);

		if (k == 16 ? c != '-' : inj_unhex(c) < 0)
			return -1;
		any_s |= c != '0';
	}
	if (inj_unhex(INJ_S(sc, at + 53)) < 0 || inj_unhex(INJ_S(sc, at + 54)) < 0)
		return -1;
	w = INJ_S(sc, at + 55);
	if (!(w == '\r' || w == '\n' || w == ' ' || w == '\t' || (ver != 0 && w == '-')))
		return -1;
	return any_t && any_s ? 0 : -1;
}

/* The trace id the call continues (lib/inj_srv.h): returns WS_INJ_F_TRACE_* with out
 * set, or 0 (out untouched) when the thread serves no request or several. */
static __always_inline __u16 inj_trace(__u32 tid, __u8 out[16])
{
	struct ws_inj_srv *t = bpf_map_lookup_elem(&ws_inj_srv, &tid);
	__u64 key[2] = { inj_key[0], inj_key[1] };   /* volatile reads: set by the loader */
	struct inj_tp_scan sc;
	struct ws_conn *c;
	__u64 sk;

	if (!t || !t->open) {
		inj_cnt(WS_INJ_TRACE_IDLE);
		return 0;
	}
	sk = t->sk;
	c = bpf_map_lookup_elem(&ws_conns, &sk);
	/* The one open request must be the newest it read (whose bytes are kept). */
	if (t->open != 1 || !c || !(c->flags & WS_CONN_SRV_OPEN) || c->srv_tid != tid) {
		inj_cnt(WS_INJ_TRACE_SEVERAL);
		return 0;
	}
	sc.b = t->buf;
	sc.n = t->n < WS_INJ_SRV_BYTES ? t->n : WS_INJ_SRV_BYTES;
	sc.i = 0;
	sc.at = 0;
	bpf_loop(WS_INJ_SRV_BYTES, inj_tp_step, &sc, 0);
	if (sc.at && inj_tp_value(&sc, sc.at, out) == 0) {
		inj_cnt(WS_INJ_TRACE_RECEIVED);
		return WS_INJ_F_TRACE_RECEIVED;
	}
	if (!t->has_seq) {
		inj_cnt(WS_INJ_TRACE_IDLE);
		return 0;
	}
	/* The request's first byte as its client names it (rule 3's key). */
	ws_derive_trace(key, t->tuple.daddr, t->tuple.saddr, t->tuple.dport,
			t->tuple.sport, t->seq, out);
	inj_cnt(WS_INJ_TRACE_DERIVED);
	return WS_INJ_F_TRACE_DERIVED;
}

static __always_inline void inj_hex(char *out, const __u8 *in, __u32 n)
{
	const char digits[] = "0123456789abcdef";

	for (__u32 i = 0; i < n; i++) {
		out[2 * i] = digits[(in[i] >> 4) & 15];
		out[2 * i + 1] = digits[in[i] & 15];
	}
}

SEC("sk_msg")
int ws_inj_msg(struct sk_msg_md *msg)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id, zero = 0;
	__u16 lport = (__u16)msg->local_port;
	/* remote_port is the network-order port in the upper 16 bits (as in sock_ops) */
	__u16 rport = bpf_ntohs((__u16)(msg->remote_port >> 16));
	struct ws_inj_scratch *sc;
	struct ws_inject_event *ev;
	struct inj_scan scan;
	__u32 n = msg->size, r6[4];
	void *data, *end;
	int ret;

	r6[0] = msg->remote_ip6[0];
	r6[1] = msg->remote_ip6[1];
	r6[2] = msg->remote_ip6[2];
	r6[3] = msg->remote_ip6[3];
	if (!inj_all) {
		struct ws_inj_dst_key k = { .port = rport };

		if (!inj_local(msg->family, msg->remote_ip4, r6) || !bpf_map_lookup_elem(&ws_inj_dst, &k)) {
			inj_cnt(WS_INJ_SKIP_DEST);
			return SK_PASS;
		}
	}
	if (!inj_scope(tgid, lport, rport)) {
		inj_cnt(WS_INJ_SKIP_SCOPE);
		return SK_PASS;
	}
	sc = bpf_map_lookup_elem(&ws_inj_scratch, &zero);
	if (!sc)
		return SK_PASS;
	if (n > WS_INJ_SCAN)
		n = WS_INJ_SCAN;
	if (n < 16) {
		inj_cnt(WS_INJ_SKIP_NOT_HTTP1);
		return SK_PASS;
	}
	/* Make the scanned bytes linear, then copy them out: a plain buffer is easier on
	 * the verifier than packet pointers in a loop. */
	if (bpf_msg_pull_data(msg, 0, n, 0)) {
		inj_cnt(WS_INJ_SKIP_HELPER);
		return SK_PASS;
	}
	data = msg->data;
	end = msg->data_end;
	if (data + 16 > end) {
		inj_cnt(WS_INJ_SKIP_HELPER);
		return SK_PASS;
	}
	if ((__u64)(end - data) < n)
		n = (__u32)(end - data);
	if (bpf_probe_read_kernel(sc->buf, n & (WS_INJ_SCAN - 1) ? n & (WS_INJ_SCAN - 1) : WS_INJ_SCAN, data)) {
		inj_cnt(WS_INJ_SKIP_HELPER);
		return SK_PASS;
	}
	ret = inj_parse(sc->buf, n, &scan);
	if (ret < 0) {
		inj_cnt(WS_INJ_SKIP_NOT_HTTP1);
		return SK_PASS;
	}
	if (ret > 0) {
		inj_cnt(scan.has_tp ? WS_INJ_SKIP_HAS_TP : WS_INJ_SKIP_PARTIAL);
		return SK_PASS;
	}
	if (scan.has_tp) {
		inj_cnt(WS_INJ_SKIP_HAS_TP);
		return SK_PASS;
	}
	/* The record first: once it is reserved nothing can fail silently. */
	ev = bpf_ringbuf_reserve(&rb, sizeof(*ev), 0);
	if (!ev) {
		inj_cnt(WS_INJ_RB_DROP);
		return SK_PASS;
	}
	ev->hdr.type = WS_EV_INJECT;
	ev->hdr.flags = inj_trace(tid, ev->trace_id);
	ev->hdr.size = sizeof(*ev);
	ev->hdr.ts_ns = bpf_ktime_get_ns();
	ev->pid = tgid;
	ev->tid = tid;
	if (!ev->hdr.flags) {
		for (int i = 0; i < 16; i += 4) {
			__u32 v = bpf_get_prandom_u32();

			__builtin_memcpy(ev->trace_id + i, &v, 4);
		}
		ev->trace_id[0] |= 1;   /* never all zero */
	}
	for (int i = 0; i < 8; i += 4) {
		__u32 v = bpf_get_prandom_u32();

		__builtin_memcpy(ev->span_id + i, &v, 4);
	}
	ev->span_id[0] |= 1;   /* never all zero */
	ev->offset = scan.line_end;
	ev->len = WS_INJ_HDR_LEN;
	ev->msg_size = msg->size;
	ev->lport = lport;
	ev->rport = rport;

	__builtin_memcpy(sc->hdr, "traceparent: 00-", 16);
	inj_hex(sc->hdr + 16, ev->trace_id, 16);
	sc->hdr[48] = '-';
	inj_hex(sc->hdr + 49, ev->span_id, 8);
	__builtin_memcpy(sc->hdr + 65, "-01\r\n", 5);

	if (bpf_msg_push_data(msg, scan.line_end, WS_INJ_HDR_LEN, 0)) {
		bpf_ringbuf_discard(ev, 0);
		inj_cnt(WS_INJ_SKIP_HELPER);
		return SK_PASS;
	}
	if (bpf_msg_pull_data(msg, scan.line_end, scan.line_end + WS_INJ_HDR_LEN, 0) ||
	    msg->data + WS_INJ_HDR_LEN > msg->data_end) {
		bpf_msg_pop_data(msg, scan.line_end, WS_INJ_HDR_LEN, 0);
		bpf_ringbuf_discard(ev, 0);
		inj_cnt(WS_INJ_SKIP_HELPER);
		return SK_PASS;
	}
	data = msg->data;
	if (data + WS_INJ_HDR_LEN > msg->data_end) {
		bpf_msg_pop_data(msg, scan.line_end, WS_INJ_HDR_LEN, 0);
		bpf_ringbuf_discard(ev, 0);
		return SK_PASS;
	}
	__builtin_memcpy(data, sc->hdr, WS_INJ_HDR_LEN);
	bpf_ringbuf_submit(ev, 0);
	inj_cnt(WS_INJ_DONE);
	return SK_PASS;
}
