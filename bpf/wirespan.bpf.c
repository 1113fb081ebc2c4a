// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wirespan kernel side: timing and first bytes of every data syscall on a TCP
 * socket, plus connection lifecycle, into one ring buffer.
 *
 * Only syscall tracepoints, raw tracepoints, uprobes and (for injection) sockops/sk_msg
 * are used: kprobes and BPF tracing programs are not available on the baseline kernel.
 * At sys_enter the task is scoped (cheap), the fd is resolved to its struct sock and
 * the arguments are stashed in the thread's slot; at sys_exit the real byte count is
 * known, so the payload actually moved is copied from user memory and the TCP sequence
 * number of its first byte is computed (write_seq/copied_seq have advanced by exactly
 * ret).
 *
 * One object, built from this list. The layout (docs/kernel.md has the file map):
 *   maps/   one map per header, with the struct of its values
 *   lib/    helpers the hook families share (tunables, counters, scoping, sequence
 *           numbers, the capture budget, sock reads, record emitters)
 *   hooks/  the programs, one family per header
 */
#include "hooks/data.h"            /* read/write/... enter and exit, UDP datagrams */
#include "hooks/sock_lifecycle.h"  /* accept, connect, close, TCP state changes */
#include "hooks/loop.h"            /* event-loop readiness batches */
#include "hooks/sched.h"           /* wakeups, fork/clone, exec, exit of traced threads */
#include "hooks/waits.h"           /* handshake/arrival times, sched_switch, retransmits */
#include "hooks/go.h"              /* Go runtime uprobes */
#include "hooks/tls.h"             /* TLS library uprobes */
#include "hooks/inject.h"          /* traceparent injection (sockops, sk_msg) */

char LICENSE[] SEC("license") = "Dual BSD/GPL";
