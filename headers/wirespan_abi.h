/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event ABI between the kernel programs (bpf/) and the agent (agent/).
 *
 * This is the only place where structs shared by both sides live. Rules:
 *  - fixed-width types only, every struct padded by hand (_pad fields), no implicit holes;
 *  - every struct has its size asserted here, so a change on one side that the other
 *    side did not see fails the build of both;
 *  - every record on the ring buffer starts with struct ws_event_header.
 *
 * docs/event-abi.md explains each field and why it is there.
 */
#ifndef WIRESPAN_ABI_H
#define WIRESPAN_ABI_H

#ifdef __bpf__
/* vmlinux.h provides __u8 .. __u64 and __s32 for the BPF side. */
#define WS_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#else
#include <linux/types.h>
#define WS_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* 2: UDP datagram records (WS_F_DGRAM, tuple = that datagram's peer), the capture
 * policy map (struct ws_capture_policy), counter WS_CNT_DGRAMS.
 * 3: waits (issue 11): ws_data_event grows arrive_ns/oncpu_ns/runq_ns (120 -> 144),
 * ws_sock_event grows estab_ns (104 -> 112), record WS_EV_TCP (struct ws_tcp_event),
 * counters WS_CNT_WAITS_*.
 * 4: traceparent injection (issue 12): record WS_EV_INJECT (struct ws_inject_event),
 * the injection maps and counters.
 * 5: helper failures per {error, file, line} in map ws_errors (headers/ws_err_abi.h);
 * counter WS_CNT_READ_FAIL becomes WS_CNT_ERR_FULL.
 * 6: the injected trace id continues the sending thread's request (WS_INJ_F_TRACE_*
 * in ws_inject_event.hdr.flags, headers/ws_derive.h); map ws_inj_hint gives way to the
 * kernel-only ws_inj_srv; counters WS_INJ_TRACE_*; ws_capture_policy.role.
 * 7: readiness batches cost no record of their own (issue 9): their summary (struct
 * ws_loop_batch) rides on the thread's next data record (ws_data_event 144 -> 160) or
 * on a WS_EV_LOOP record before its next record of another kind (ws_loop_event 48 ->
 * 64, nready WS_LOOP_BATCHES). */
/* 8: loop phases (WS_BATCH_PHASES, WS_BATCH_AFTER_IO) on the batch summaries of
 * records of loop threads and in the hdr.flags of their sock records, from a uprobe at
 * the end of a loop's I/O phase.
 * 9: CPython contexts: WS_F_RT_PY on data records, map ws_py_procs (headers/ws_py_abi.h).
 * 10: ws_loop_batch.blk_enter_ns becomes blk_anchor_ns: the exit of the wait before
 * the latest blocking one, the earliest moment the loop can have read the clock it
 * computed that wait's timeout from (a loop preempted between the two made the entry
 * a deadline too late: docs/parentage.md).
 * 11: WS_F_RT_PY on egress data records only, and only while a coroutine is on the
 * caller's Python stack (a task step); ws_py_proc grows the frame offsets (32 -> 48),
 * counter WS_PY_CNT_NO_TASK.
 * 12: WS_F_TLS_RECS: a ciphertext write a memory BIO's runtime made carries the lengths
 * of its first TLS records as payload. */
#define WS_ABI_VERSION 12

/* Upper bound of payload bytes carried by one data event. The runtime cap
 * (--capture-bytes) is at most this. Payload is reserved in buckets of
 * WS_PAYLOAD_BUCKET_* bytes so that the ring-buffer reserve size is a constant. */
#define WS_MAX_PAYLOAD 4096
#define WS_PAYLOAD_BUCKET_S 256
#define WS_PAYLOAD_BUCKET_M 1024
#define WS_PAYLOAD_BUCKET_L 4096

/* At most this many iovecs of one readv/writev/sendmsg/recvmsg are copied from,
 * and at most this many messages of one sendmmsg/recvmmsg are reported. */
#define WS_MAX_IOV 8
#define WS_MAX_MMSG 8

/* Comm filter entries (executable name scoping in the kernel). */
#define WS_MAX_COMM_FILTERS 8
#define WS_COMM_LEN 16
/* Port filter entries. */
#define WS_MAX_PORT_FILTERS 16
/* UDP ports whose datagrams are reported (--udp-ports; DNS by default). */
#define WS_MAX_UDP_PORTS 16

enum ws_event_type {
	WS_EV_DATA = 1,       /* struct ws_data_event (+ payload) */
	WS_EV_SOCK = 2,       /* struct ws_sock_event */
	WS_EV_LOOP = 3,       /* struct ws_loop_event: an event loop's batches, or a foreign read */
	WS_EV_TASK = 4,       /* struct ws_task_event: wakeup, fork, clone, exec, exit of a traced task */
	WS_EV_RT = 5,         /* struct ws_rt_event: language-runtime context (goroutines, ...) */
	WS_EV_TCP = 6,        /* struct ws_tcp_event: a TCP-level happening on a reported connection */
	WS_EV_INJECT = 7,     /* struct ws_inject_event: a traceparent was inserted into an
			       * outgoing HTTP/1 request (sk_msg, bpf/hooks/inject.h) */
};

enum ws_dir {
	WS_DIR_EGRESS = 0,    /* the traced process wrote these bytes */
	WS_DIR_INGRESS = 1,   /* the traced process read these bytes */
};

/* What the kernel knows of who opened the connection. */
enum ws_role {
	WS_ROLE_UNKNOWN = 0,  /* socket learned from an fd on first use */
	WS_ROLE_SERVER = 1,   /* returned by accept/accept4 */
	WS_ROLE_CLIENT = 2,   /* passed to connect */
};

enum ws_syscall {
	WS_SYS_READ = 1,
	WS_SYS_WRITE,
	WS_SYS_READV,
	WS_SYS_WRITEV,
	WS_SYS_SENDTO,
	WS_SYS_RECVFROM,
	WS_SYS_SENDMSG,
	WS_SYS_RECVMSG,
	WS_SYS_SENDMMSG,
	WS_SYS_RECVMMSG,
	WS_SYS_SENDFILE,
	WS_SYS_ACCEPT,
	WS_SYS_ACCEPT4,
	WS_SYS_CONNECT,
	WS_SYS_CLOSE,
	WS_SYS_STATE,         /* sock:inet_sock_set_state, not a syscall */
	WS_SYS_EPOLL_WAIT,
	WS_SYS_EPOLL_PWAIT,
	WS_SYS_EPOLL_PWAIT2,
	WS_SYS_POLL,
	WS_SYS_PPOLL,
	WS_SYS_SELECT,
	WS_SYS_PSELECT6,
	WS_SYS__MAX,
};

/* ws_data_event.flags */
#define WS_F_TRUNCATED (1u << 0)   /* captured < bytes */
#define WS_F_EOF (1u << 1)         /* a read returned 0: the peer closed its side */
#define WS_F_NO_SEQ (1u << 2)      /* seq could not be read; do not use it */
#define WS_F_IOV_LIMIT (1u << 3)   /* more iovecs than WS_MAX_IOV held data: payload stops early */
#define WS_F_BUDGET (1u << 4)      /* payload withheld: the message run's capture budget is spent,
				    * or the connection's capture policy is WS_CAPMODE_OFF */
#define WS_F_DGRAM (1u << 5)       /* one UDP datagram: tuple.daddr/dport is this datagram's peer,
				    * sock_id the UDP socket (shared by all its peers); no seq */
#define WS_F_TLS (1u << 6)         /* plaintext from a TLS library call (SSL_read/SSL_write uprobes):
				    * sock_id/tuple are the socket the library's own syscalls used,
				    * seq that of the ciphertext written/read inside the call */
#define WS_F_CIPHER (1u << 7)      /* this syscall ran inside a TLS library call: its bytes are
				    * ciphertext (no payload is copied); the agent never parses them */
#define WS_F_RT_PY (1u << 8)       /* rt_ctx is the CPython thread's current contextvars Context
				    * (headers/ws_py_abi.h), not a goroutine id (ABI 9) */
#define WS_F_TLS_RECS (1u << 9)    /* with WS_F_CIPHER on an egress record made outside the TLS
				    * library's calls (a memory BIO's runtime writing what the
				    * library produced): the payload is not the bytes but the
				    * lengths of the write's first TLS records (header excluded),
				    * one __u16 each, at most WS_TLS_MAX_RECS, read from their
				    * headers in the write's first contiguous block, with
				    * WS_TLS_REC_NOT_APP set on a record that carries no
				    * application data (ABI 12) */
#define WS_TLS_MAX_RECS 4
#define WS_TLS_REC_NOT_APP 0x8000  /* content type not 23, or the record right after a
				    * ChangeCipherSpec (a handshake's Finished) */
#define WS_SYS_SSL_READ 64         /* syscall field of WS_F_TLS records */
#define WS_SYS_SSL_WRITE 65

/* ws_sock_event.kind */
enum ws_sock_kind {
	WS_SOCK_OPEN = 1,     /* accept/connect returned, or a socket first seen on an fd */
	WS_SOCK_FD_CLOSE = 2, /* close(fd) on a tracked socket by the traced process */
	WS_SOCK_STATE = 3,    /* TCP state change; state_old/state_new are TCP_* */
};

/* Counters kept per CPU by the kernel programs (map ws_counters, index = enum). */
enum ws_counter {
	WS_CNT_EVENTS = 0,        /* records submitted to the ring buffer */
	WS_CNT_RB_DROP,           /* bpf_ringbuf_reserve failed: record lost */
	WS_CNT_BYTES_SEEN,        /* bytes moved by traced data syscalls */
	WS_CNT_BYTES_CAPTURED,    /* payload bytes copied into events */
	WS_CNT_STASH_FULL,        /* syscall-entry stash map full: syscall not traced */
	WS_CNT_CONN_FULL,         /* connection state map update failed */
	WS_CNT_ERR_FULL,          /* a helper failure at a new {error, file, line} not counted:
				   * ws_errors full (headers/ws_err_abi.h) */
	WS_CNT_FILTERED,          /* socket syscalls skipped by scoping */
	WS_CNT_NOT_TCP,           /* syscalls on fds that are not TCP sockets */
	WS_CNT_RECOVERED,         /* exits of calls in progress at attach, recovered from registers */
	WS_CNT_LOOP_EVENTS,       /* readiness batches of traced loop threads (ABI 7: not records) */
	WS_CNT_TASK_EVENTS,       /* ws_task_event records submitted */
	WS_CNT_WAKE_IRQ,          /* wakeups by a traced thread's CPU in interrupt context: not reported */
	WS_CNT_PID_INHERIT_FAIL,  /* child of a pid-scoped process not added to ws_pid_filter (full) */
	WS_CNT_HEIR_FAIL,         /* child of a traced thread not marked to inherit the traced bit */
	WS_CNT_DGRAMS,            /* UDP datagram records (WS_F_DGRAM) submitted */
	WS_CNT_TLS_DATA,          /* TLS plaintext records (WS_F_TLS) submitted */
	WS_CNT_TLS_CIPHER,        /* syscall records flagged WS_F_CIPHER (no payload copied) */
	WS_CNT_TLS_NO_SOCK,       /* TLS calls that moved plaintext on no known socket: dropped */
	WS_CNT_TLS_STASH_FULL,    /* TLS call not followed: its thread's call slot not created */
	WS_CNT_TLS_BIND_READ,     /* SSL* bound to the socket of the thread's preceding read
				   * (memory-BIO libraries: docs/kernel.md, "TLS plaintext") */
	WS_CNT_WAITS_THR_FULL,    /* ws_waits_thr full: a thread's scheduler times not measured */
	WS_CNT_WAITS_SK_FULL,     /* ws_waits_sk update failed: a connection's arrivals not measured */
	WS_CNT_TCP_EVENTS,        /* ws_tcp_event records submitted */
	WS_CNT_TLS_BIND_STALE,    /* SSL* bindings found stale: the bound socket's address
				   * holds another connection now (ports differ) */
	WS_CNT_LOOP_RECORDS,      /* ws_loop_event records: batches sent ahead of a record of
				   * another kind, foreign reads (ABI 7) */
	WS_CNT_BATCH_FULL,        /* a loop thread's batch slot not created: its batches not
				   * reported (its cause stays the previous batch's) */
	WS_CNT__MAX,
};

/* Connection tuple. Addresses are always 16 bytes: IPv4 is stored v4-mapped
 * (::ffff:a.b.c.d), so one comparison works for v4, v6 and v4-mapped v6. */
struct ws_tuple {
	__u8 saddr[16];   /* local address */
	__u8 daddr[16];   /* remote address */
	__u16 sport;      /* local port, host byte order */
	__u16 dport;      /* remote port, host byte order */
	__u16 family;     /* AF_INET or AF_INET6: the socket's own family */
	__u16 _pad;
};
WS_STATIC_ASSERT(sizeof(struct ws_tuple) == 40, "ws_tuple size");

struct ws_event_header {
	__u16 type;       /* enum ws_event_type */
	__u16 flags;      /* WS_F_* for data events, 0 otherwise */
	__u32 size;       /* bytes of this record, header and payload included */
	__u64 ts_ns;      /* bpf_ktime_get_ns() when the record was built (CLOCK_MONOTONIC) */
};
WS_STATIC_ASSERT(sizeof(struct ws_event_header) == 16, "ws_event_header size");

/* One data syscall (or one message of sendmmsg/recvmmsg) on a TCP socket. */
/*
 * The readiness batches an event-loop thread began since its previous record: the
 * return of epoll_wait/epoll_pwait/epoll_pwait2, or of poll/ppoll/select/pselect6 over
 * more than one descriptor (a wait on a single fd is a blocking call with a timeout,
 * not a loop). Only for threads the kernel already traces. What the thread reads next,
 * within a batch, is what its next writes are caused by (docs/parentage.md).
 *
 * A batch costs no record of its own (ABI 7): the kernel counts it in the thread's task
 * storage, and the summary rides on the thread's next data record, or on a WS_EV_LOOP
 * record emitted just before the thread's next record of another kind (a connect, a
 * wakeup, a foreign read): everything the agent reads a thread's cause for. How the
 * cause evolves over several batches with no record between depends only on how many
 * there were, whether the last one did not block, and the last blocking one's wait
 * (agent/assemble.c on_batches).
 */
struct ws_loop_batch {
	__u64 blk_anchor_ns;   /* WS_BATCH_BLOCKING: exit of the wait before the latest
				* blocking one among them (its timeout counts from no
				* earlier); 0 unknown (the thread's first wait seen, or one
				* in progress when the programs attached) */
	__s32 blk_timeout_ms;  /* ... and its timeout: -1 infinite, >0 ms, WS_TIMEOUT_UNKNOWN */
	__u16 count;           /* batches begun (saturates at 0xffff); 0: none */
	__u8 flags;            /* WS_BATCH_* */
	__u8 _pad;
};
WS_STATIC_ASSERT(sizeof(struct ws_loop_batch) == 16, "ws_loop_batch size");
#define WS_BATCH_LAST_NONBLOCKING 0x1  /* the latest wait had timeout 0 */
#define WS_BATCH_BLOCKING 0x2          /* blk_* hold the latest blocking wait */
/* Loop phases (ABI 8), on every record of a loop thread whose runtime reports them (a
 * uprobe at the end of the I/O phase: Node.js's CheckImmediate), count 0 or not; on a
 * WS_EV_SOCK record made in a thread's context, the same bits in hdr.flags: */
#define WS_BATCH_PHASES 0x4            /* this thread reports its phases */
#define WS_BATCH_AFTER_IO 0x8          /* its current batch's I/O phase had ended before
					* this record's syscall (after-poll work runs) */

struct ws_data_event {
	struct ws_event_header hdr;
	__u64 sock_id;    /* kernel address of struct sock: the connection's identity */
	__u32 pid;        /* tgid */
	__u32 tid;
	__u64 enter_ns;   /* syscall entry (CLOCK_MONOTONIC) */
	__u64 exit_ns;    /* syscall exit */
	__u32 seq;        /* TCP sequence number of the first byte (write_seq / copied_seq based) */
	__u32 bytes;      /* real byte count moved by this syscall (0 with WS_F_EOF) */
	__u32 captured;   /* payload bytes that follow this struct (<= bytes) */
	__s32 fd;
	__u8 dir;         /* enum ws_dir */
	__u8 role;        /* enum ws_role as the kernel knows it */
	__u16 syscall;    /* enum ws_syscall */
	__u32 _pad;
	struct ws_tuple tuple;
	__u64 rt_ctx;     /* language-runtime context of the caller, 0 when unknown: for Go
			   * processes the goroutine id (goid) that made the syscall */
	/* Waits (ABI 3, docs/waits.md). 0 = not measured. */
	__u64 arrive_ns;  /* INGRESS: when the first byte returned entered the socket's receive
			   * queue (tcp_probe, the queue was empty before it) */
	__u64 oncpu_ns;   /* the calling thread's total on-CPU ns at the syscall's entry */
	__u64 runq_ns;    /* ... and its total run-queue wait ns at the entry (sched_info
			   * run_delay); meaningful only when oncpu_ns != 0 */
	struct ws_loop_batch batch;  /* batches the thread began since its previous record,
				      * before this syscall (ABI 7) */
	/* __u8 payload[captured] follows; the record is reserved with a bucket size */
};
WS_STATIC_ASSERT(sizeof(struct ws_data_event) == 160, "ws_data_event size");

/* Connection lifecycle. */
struct ws_sock_event {
	struct ws_event_header hdr;
	__u64 sock_id;
	__u32 pid;        /* tgid of the current task; 0 when the event comes from softirq context */
	__u32 tid;
	__s32 fd;         /* -1 when unknown */
	__u8 kind;        /* enum ws_sock_kind */
	__u8 role;        /* enum ws_role */
	__u8 state_old;   /* TCP_* for WS_SOCK_STATE */
	__u8 state_new;
	__u16 syscall;    /* enum ws_syscall that produced it */
	__u16 _pad0;
	__u32 _pad1;
	struct ws_tuple tuple;
	char comm[WS_COMM_LEN]; /* the task's comm; empty when pid is 0. Names a process that
				 * is gone before the agent reads its /proc entry (curl, fork-per-
				 * connection servers) */
	__u64 estab_ns;   /* WS_SOCK_OPEN from accept: when the kernel completed the
			   * handshake (SYN_RECV -> ESTABLISHED) (ABI 3); from connect: the
			   * connect() entry (0 from programs before 2026-12-02: same ABI,
			   * read as unknown); 0 unknown */
};
WS_STATIC_ASSERT(sizeof(struct ws_sock_event) == 112, "ws_sock_event size");

/*
 * An event-loop thread's batches (struct ws_loop_batch), sent on their own because the
 * thread's next record is not a data record, or a foreign read: the loop thread read
 * from a descriptor that is not a TCP socket (eventfd, pipe, UDP, timerfd): the
 * callback that runs now is for whoever queued that work. The batches, if any, come
 * before the foreign read.
 */
struct ws_loop_event {
	struct ws_event_header hdr;  /* ts_ns: when it was emitted */
	__u32 pid;
	__u32 tid;
	__u64 enter_ns;   /* WS_LOOP_FOREIGN: the read's entry */
	__s32 nready;     /* WS_LOOP_FOREIGN or WS_LOOP_BATCHES (only the batches) */
	__s32 timeout_ms; /* unused (0) */
	__u16 syscall;    /* WS_LOOP_FOREIGN: the read (enum ws_syscall) */
	__u16 _pad0;
	__u32 _pad1;
	struct ws_loop_batch batch;
};
WS_STATIC_ASSERT(sizeof(struct ws_loop_event) == 64, "ws_loop_event size");
#define WS_TIMEOUT_UNKNOWN (-2)
#define WS_LOOP_FOREIGN (-1)
#define WS_LOOP_BATCHES (-3)

/* ws_task_event.kind */
enum ws_task_kind {
	WS_TASK_WAKE = 1,   /* task pid/tid woke other_tid of the same process (sched_wakeup) */
	WS_TASK_FORK = 2,   /* task pid/tid created process other_pid (fork, vfork, clone without CLONE_THREAD) */
	WS_TASK_CLONE = 3,  /* task pid/tid created thread other_tid of its own process */
	WS_TASK_EXEC = 4,   /* process pid (thread tid) exec'd; comm is the new one */
	WS_TASK_EXIT = 5,   /* thread tid of process pid exited */
};

/*
 * Scheduler and process lifecycle of traced tasks, for the parentage rules that follow
 * work from one thread to another (hand-offs) and into child processes. Reported only
 * when the acting task is traced (WAKE: the waker; FORK/CLONE: the parent; EXEC/EXIT:
 * the task itself), and WAKE only within one process.
 */
struct ws_task_event {
	struct ws_event_header hdr;  /* ts_ns: when it happened */
	__u32 pid;        /* acting task: tgid */
	__u32 tid;
	__u32 other_pid;  /* WAKE: wakee tgid (== pid); FORK: child tgid; CLONE: pid */
	__u32 other_tid;  /* WAKE: wakee tid; FORK/CLONE: child tid; 0 otherwise */
	__u8 kind;        /* enum ws_task_kind */
	__u8 _pad0[7];
	char comm[WS_COMM_LEN]; /* the acting task's comm (EXEC: after the exec) */
};
WS_STATIC_ASSERT(sizeof(struct ws_task_event) == 56, "ws_task_event size");

/* ws_rt_event.kind */
enum ws_rt_kind {
	WS_RT_GO_SPAWN = 1,  /* goroutine ctx created goroutine other (the `go` statement) */
	WS_RT_GO_CALL = 2,   /* goroutine ctx starts an outgoing request on connection fd
			      * (net/http persistConn.roundTrip): the next request written on
			      * (pid, fd), by whichever goroutine writes it, is that call */
};

/* Language-runtime context that the syscalls alone do not show (uprobes). */
struct ws_rt_event {
	struct ws_event_header hdr;
	__u32 pid;
	__u32 tid;
	__u64 ctx;        /* WS_RT_GO_*: goroutine id of the acting goroutine */
	__u64 other;      /* WS_RT_GO_SPAWN: the new goroutine's id */
	__s32 fd;         /* WS_RT_GO_CALL: the connection's fd, -1 otherwise */
	__u8 kind;        /* enum ws_rt_kind */
	__u8 _pad[3];
};
WS_STATIC_ASSERT(sizeof(struct ws_rt_event) == 48, "ws_rt_event size");

/* ws_tcp_event.kind */
enum ws_tcp_kind {
	WS_TCP_RETRANS = 1,   /* this host retransmitted a segment (tcp:tcp_retransmit_skb) */
};

/* A TCP-level happening on a connection the agent knows (WS_CONN_REPORTED). Rare by
 * nature (a retransmit is a loss), so one record each. */
struct ws_tcp_event {
	struct ws_event_header hdr;  /* ts_ns: when it happened */
	__u64 sock_id;
	__u32 seq;        /* WS_TCP_RETRANS: sequence number of the segment's first byte */
	__u8 kind;        /* enum ws_tcp_kind */
	__u8 state;       /* the connection's TCP state then */
	__u8 _pad[2];
};
WS_STATIC_ASSERT(sizeof(struct ws_tcp_event) == 32, "ws_tcp_event size");

/*
 * Per-socket capture policy, agent -> kernel: map ws_capture, key = sock_id (__u64) of a
 * TCP connection, value struct ws_capture_policy. The modes equal enum ws_capture of
 * agent/proto/proto.h (asserted in agent/loader.c). No entry = WS_CAPMODE_DEFAULT.
 */
enum ws_capture_mode {
	WS_CAPMODE_DEFAULT = 0,  /* the per-run budget (--capture-bytes) */
	WS_CAPMODE_OFF = 1,      /* copy no payload; bytes, times and seq still reported */
	WS_CAPMODE_ALL = 2,      /* copy every byte, up to WS_MAX_PAYLOAD per syscall, no run budget */
	WS_CAPMODE__MAX,
};

struct ws_capture_policy {
	__u8 mode;        /* enum ws_capture_mode */
	__u8 role;        /* enum ws_role the agent learned for a connection the kernel found
			   * open (WS_ROLE_UNKNOWN there); 0: none */
	__u8 _pad[6];
};
WS_STATIC_ASSERT(sizeof(struct ws_capture_policy) == 8, "ws_capture_policy size");

/* Filter mode bits (const volatile ws_filter_mode in the BPF object). With no bit set
 * everything except the agent's own process is traced. Bits are ORed: a syscall is
 * traced when it matches any enabled filter. */
#define WS_FILTER_PID (1u << 0)   /* tgid present in map ws_pid_filter */
#define WS_FILTER_COMM (1u << 1)  /* task comm equals one of ws_comm_filter[] */
#define WS_FILTER_PORT (1u << 2)  /* local or remote port in ws_port_filter[] */

/*
 * traceparent injection (bpf/hooks/inject.h, issue 12). An sk_msg program on client
 * sockets inserts "traceparent: 00-<trace>-<span>-01\r\n" after the request line of an
 * outgoing HTTP/1 request whose whole header block is in the message and that carries no
 * traceparent. The kernel chooses the ids (the trace id of the request the sending
 * thread is serving, when it serves exactly one: WS_INJ_F_TRACE_*) and reports them
 * before the syscall's data record:
 * the agent gives the CLIENT span exactly these ids. The sender's data record still
 * holds the bytes it wrote (not the inserted ones); the TCP sequence space the receiver
 * sees is longer by len from offset on.
 */
#define WS_INJ_HDR_LEN 70           /* "traceparent: " + 55 + "\r\n" */
#define WS_INJ_SCAN 2048            /* header block must end within this many bytes */

struct ws_inject_event {
	struct ws_event_header hdr;
	__u32 pid;
	__u32 tid;
	__u8 trace_id[16];
	__u8 span_id[8];
	__u32 offset;     /* where the bytes were inserted (after the request line) */
	__u32 len;        /* bytes inserted (WS_INJ_HDR_LEN) */
	__u32 msg_size;   /* the message as written, before insertion */
	__u16 lport;      /* local port, host order */
	__u16 rport;      /* remote port, host order */
};
WS_STATIC_ASSERT(sizeof(struct ws_inject_event) == 64, "ws_inject_event size");

/* Map ws_inj_dst: destinations (remote port, on this host) the agent selected for
 * injection (default: ports of local SDK-instrumented processes). */
struct ws_inj_dst_key {
	__u16 port;       /* host order */
	__u16 _pad;
};
WS_STATIC_ASSERT(sizeof(struct ws_inj_dst_key) == 4, "ws_inj_dst_key size");

/* ws_inject_event.hdr.flags: where the injected trace id came from. Neither: random
 * (the sending thread was serving no request, or several at once). */
#define WS_INJ_F_TRACE_RECEIVED (1u << 0) /* the traceparent of the request the thread serves */
#define WS_INJ_F_TRACE_DERIVED (1u << 1)  /* ws_derive_trace() of that request's first byte */

/* Counters of the injection program (per-CPU array ws_inj_counters). */
enum ws_inj_counter {
	WS_INJ_DONE = 0,          /* traceparent inserted */
	WS_INJ_SKIP_DEST,         /* destination not selected */
	WS_INJ_SKIP_SCOPE,        /* sender not traced (scoping) */
	WS_INJ_SKIP_NOT_HTTP1,    /* not the start of an HTTP/1 request (TLS, HTTP/2, body, other) */
	WS_INJ_SKIP_HAS_TP,       /* carries a traceparent already */
	WS_INJ_SKIP_PARTIAL,      /* header block not entirely in this message (or > WS_INJ_SCAN) */
	WS_INJ_SKIP_HELPER,       /* bpf_msg_pull_data/push_data failed */
	WS_INJ_RB_DROP,           /* injected, but its record was lost: no span will use its ids */
	WS_INJ_SOCKS,             /* client sockets added to the sockhash */
	WS_INJ_TRACE_RECEIVED,    /* injected with the trace of the request the thread serves */
	WS_INJ_TRACE_DERIVED,     /* ... that request had none: derived from its first byte */
	WS_INJ_TRACE_IDLE,        /* the thread served no request: a new trace */
	WS_INJ_TRACE_SEVERAL,     /* it had read several requests not yet answered: a new trace */
	WS_INJ_SRV_FULL,          /* a server thread could not be given a slot in ws_inj_srv */
	WS_INJ__MAX,
};

#endif /* WIRESPAN_ABI_H */
