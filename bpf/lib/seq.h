/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * TCP sequence-number arithmetic of the data path, apart from the reads that feed it
 * (lib/read_seq.h), so that it runs under BPF_PROG_TEST_RUN (tests/bpf/). All of it is
 * modulo 2^32: u32 arithmetic wraps the way TCP sequence numbers do.
 */
#pragma once

#include "lib/common.h"

/* The first byte of n bytes that end just before end. */
static __always_inline __u32 seq_start(__u32 end, __u32 n)
{
	return end - n;
}

/*
 * The end of the bytes a receive returned, from copied_seq after it. A receive that
 * reaches the peer's FIN consumes it too (in the same call when the FIN rides on the
 * last data segment or follows it in the queue), and copied_seq counts the FIN as one:
 * then the data ends one before copied_seq. The FIN has been consumed exactly when it
 * was received (RCV_SHUTDOWN in sk_shutdown) and copied_seq has caught up with
 * rcv_nxt, which counts it as well.
 */
static __always_inline __u32 seq_rcv_end(__u32 copied_seq, __u8 shutdown, __u32 rcv_nxt)
{
	if ((shutdown & WS_RCV_SHUTDOWN) && rcv_nxt == copied_seq)
		return copied_seq - 1;
	return copied_seq;
}

/*
 * sendmmsg/recvmmsg: the first byte of the first message. mmsg returns a message count;
 * when every message is reported (nmsg <= WS_MAX_MMSG) their lengths add up to the
 * bytes moved and the exit's end sequence gives the start. Otherwise the sequence taken
 * at entry is used; without either the records carry WS_F_NO_SEQ (set or cleared in
 * *flags). end_ok: end_seq was read; enter_ok: seq_enter was.
 */
static __always_inline __u32 seq_mmsg_start(__u32 nmsg, bool end_ok, __u32 end_seq, __u32 total,
					    bool enter_ok, __u32 seq_enter, __u16 *flags)
{
	if (nmsg <= WS_MAX_MMSG && end_ok)
		return seq_start(end_seq, total);
	if (enter_ok) {
		*flags &= ~WS_F_NO_SEQ;
		return seq_enter;
	}
	*flags |= WS_F_NO_SEQ;
	return 0;
}
