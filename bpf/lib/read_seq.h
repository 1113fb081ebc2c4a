/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The TCP sequence number at the end of the bytes a data syscall moved.
 */
#pragma once

#include "lib/config.h"
#include "lib/sock.h"

/*
 * The sequence number just past the bytes moved: write_seq after a send, copied_seq
 * after a receive. A receive that reaches the peer's FIN consumes it too (in the same
 * call when the FIN rides on the last data segment or follows it in the queue), and
 * copied_seq counts the FIN as one: then the data ends one before copied_seq. The FIN
 * has been consumed exactly when it was received (RCV_SHUTDOWN) and copied_seq has
 * caught up with rcv_nxt, which counts it as well. The extra reads happen only on
 * connections whose peer has closed.
 */
static __always_inline int read_seq(struct sock *sk, __u8 dir, __u32 *seq)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	__u32 rcv_nxt;
	__u8 shut;

	if (fast_read) {
		tp = WS_CAST(struct tcp_sock, sk);
		if (dir == WS_DIR_EGRESS) {
			*seq = tp->write_seq;
			return 0;
		}
		*seq = tp->copied_seq;
		shut = BPF_CORE_READ_BITFIELD(&tp->inet_conn.icsk_inet.sk, sk_shutdown);
		if ((shut & WS_RCV_SHUTDOWN) && tp->rcv_nxt == *seq)
			*seq -= 1;
		return 0;
	}
	if (dir == WS_DIR_EGRESS)
		return bpf_core_read(seq, sizeof(*seq), &tp->write_seq);
	if (bpf_core_read(seq, sizeof(*seq), &tp->copied_seq))
		return -1;
	shut = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_shutdown);
	if ((shut & WS_RCV_SHUTDOWN) && !bpf_core_read(&rcv_nxt, sizeof(rcv_nxt), &tp->rcv_nxt) &&
	    rcv_nxt == *seq)
		*seq -= 1;
	return 0;
}
