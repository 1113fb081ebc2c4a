/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The TCP sequence number at the end of the bytes a data syscall moved, read from the
 * sock (the arithmetic is lib/seq.h). Returns 0, or the failed read's -errno.
 */
#pragma once

#include "lib/config.h"
#include "lib/seq.h"
#include "lib/sock.h"

/*
 * The sequence number just past the bytes moved: write_seq after a send, copied_seq
 * after a receive, corrected for a consumed FIN (seq_rcv_end). The extra reads that
 * needs happen only on connections whose peer has closed.
 */
static __always_inline int read_seq(struct sock *sk, __u8 dir, __u32 *seq)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	__u32 rcv_nxt;
	__u8 shut;
	long err;

	if (fast_read) {
		tp = WS_CAST(struct tcp_sock, sk);
		if (dir == WS_DIR_EGRESS) {
			*seq = tp->write_seq;
			return 0;
		}
		*seq = tp->copied_seq;
		shut = BPF_CORE_READ_BITFIELD(&tp->inet_conn.icsk_inet.sk, sk_shutdown);
		if (shut & WS_RCV_SHUTDOWN)
			*seq = seq_rcv_end(*seq, shut, tp->rcv_nxt);
		return 0;
	}
	if (dir == WS_DIR_EGRESS)
		return bpf_core_read(seq, sizeof(*seq), &tp->write_seq);
	err = bpf_core_read(seq, sizeof(*seq), &tp->copied_seq);
	if (err)
		return err;
	shut = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_shutdown);
	if ((shut & WS_RCV_SHUTDOWN) && !bpf_core_read(&rcv_nxt, sizeof(rcv_nxt), &tp->rcv_nxt))
		*seq = seq_rcv_end(*seq, shut, rcv_nxt);
	return 0;
}
