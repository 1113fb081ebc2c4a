/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where a span's time went (issue 11, docs/waits.md): accept queue, receive queue, run
 * queue, on CPU, blocked, network wait, retransmits.
 *
 * Two parts. ws_waits_compute() is pure: the kernel's stamps of one exchange in, the
 * span's new start and its wait attributes out. struct ws_waits is the side table that
 * keeps those stamps per connection between the records that bring them (data events,
 * accept, retransmits) and the moment assembly finishes the span.
 */
#ifndef WS_WAITS_H
#define WS_WAITS_H

#include <stdbool.h>
#include <stdint.h>

#include "headers/wirespan_abi.h"
#include "span.h"

/* The wait stamps of one data syscall (ws_data_event, ABI 3). */
struct ws_waits_snap {
	uint64_t enter_ns;       /* syscall entry: with tid, names the chunk */
	uint64_t arrive_ns;      /* ingress: first byte entered the receive queue; 0 unknown */
	uint64_t oncpu_ns;       /* thread's on-CPU total at entry; 0 unknown */
	uint64_t runq_ns;        /* thread's run-queue total at entry */
	uint32_t tid;
	uint32_t seq;            /* TCP seq of the chunk's first byte (when seq_ok) */
	uint8_t seq_ok;
	uint8_t _pad[7];
};

struct ws_waits_in {
	bool server;
	uint8_t _pad[7];
	uint64_t start_ns;       /* the span as assembly made it (monotonic): SERVER from the */
	uint64_t end_ns;         /* first request read's exit, CLIENT from the first request
				  * write's entry */
	/* SERVER, first request of an accepted connection only (else 0). */
	uint64_t estab_ns;       /* handshake completed */
	uint64_t accepted_ns;    /* accept returned it */
	/* CLIENT, first request of a connection this host connected (else 0). */
	uint64_t connect_ns;     /* connect() entry */
	uint64_t connected_ns;   /* connect() exit (EINPROGRESS for a non-blocking one) */
	uint64_t not_before_ns;  /* the local request that caused the call was opened then: a
				  * connect before it was not made for this call; 0 none */
	bool no_handshake;       /* SERVER: its local client's span does not start at its
				  * connect(): the span may not start at the handshake */
	uint8_t _pad3[7];
	struct ws_waits_snap first;  /* the chunk with the request's first byte */
	struct ws_waits_snap last;   /* SERVER: the response's last chunk; CLIENT: the response's last */
	/* CLIENT */
	uint64_t req_sent_ns;    /* exit of the write of the request's last byte */
	uint64_t resp_arrive_ns; /* arrival of the response's first byte; 0 unknown */
	/* Retransmit times of the connection (monotonic), as far as kept. */
	const uint64_t *retrans;
	uint32_t n_retrans;
	bool retrans_known;      /* the connection's retransmits were followed */
	uint8_t _pad2[3];
};

#define WS_W_ACCEPT (1u << 0)
#define WS_W_RECEIVE (1u << 1)
#define WS_W_SCHED (1u << 2)     /* runq, oncpu, blocked */
#define WS_W_NET (1u << 3)
#define WS_W_RETRANS (1u << 4)
#define WS_W_CONNECT (1u << 5)   /* CLIENT: the span starts at the connect() entry */

/* A connection is taken as opened for its first request when that request followed the
 * connect (client: first write after connect() returned; server: arrival after the
 * handshake) within this: its SERVER span then starts at the handshake and its CLIENT
 * span at the connect() entry. A pool's connection opened ahead and used later is not:
 * its spans start at the request. */
#define WS_WAITS_OPENED_FOR_NS 1000000000ull

struct ws_waits_out {
	uint64_t start_ns;       /* the span's start: moved back to the arrival or handshake
				  * (SERVER), to the connect() entry (CLIENT) */
	uint64_t pickup_ns;      /* SERVER: the application picked the request up (0: no event) */
	uint32_t have;           /* WS_W_*: what was measured */
	uint32_t retransmits;
	uint64_t accept_ns, receive_ns, runq_ns, oncpu_ns, blocked_ns, net_ns;
};

/* How far on-CPU + run queue may exceed the window they were measured over before the
 * measurement is taken as inconsistent and left out: per mille of the window, plus a
 * fixed slack for the clock domains (sched_clock vs CLOCK_MONOTONIC) and stamp order. */
#define WS_WAITS_TOL_PERMILLE 10
#define WS_WAITS_TOL_NS 50000

/* Pure: fills out from in. Returns the WS_W_* bits measured. */
uint32_t ws_waits_compute(const struct ws_waits_in *in, struct ws_waits_out *out);

/* The attribute names (other tools rely on them). */
#define WS_ATTR_QUEUE_ACCEPT "wirespan.queue.accept_ns"
#define WS_ATTR_QUEUE_RECEIVE "wirespan.queue.receive_ns"
#define WS_ATTR_SCHED_RUNQ "wirespan.sched.runqueue_ns"
#define WS_ATTR_SCHED_ONCPU "wirespan.sched.oncpu_ns"
#define WS_ATTR_SCHED_BLOCKED "wirespan.sched.blocked_ns"
#define WS_ATTR_NET_WAIT "wirespan.net.wait_ns"
#define WS_ATTR_TCP_RETRANS "wirespan.tcp.retransmits"
#define WS_EVENT_PICKUP "wirespan.request.picked_up"

/* Put what was measured on the span (attributes, the pick-up event at unix time). */
void ws_waits_to_span(const struct ws_waits_out *o, struct ws_span *s, int64_t mono_to_unix_ns);

/* ---- the side table ------------------------------------------------------------- */

struct ws_waits;

struct ws_waits_stats {
	uint64_t spans_measured;     /* spans given any wait attribute */
	uint64_t spans_moved;        /* SERVER spans whose start moved back to the arrival */
	uint64_t snaps_missing;      /* a chunk's stamps were no longer kept */
	uint64_t sched_inconsistent; /* on CPU + run queue exceeded the window: left out */
	uint64_t sched_other_thread; /* read and response on different threads: sched left out */
	uint64_t retransmits;        /* WS_TCP_RETRANS records */
	uint64_t conns_replaced;     /* a connection's stamps pushed out by another's */
};

struct ws_waits *ws_waits_new(uint32_t slots);
void ws_waits_free(struct ws_waits *w);
void ws_waits_on_data(struct ws_waits *w, const struct ws_data_event *e);
void ws_waits_on_sock(struct ws_waits *w, const struct ws_sock_event *e);
void ws_waits_on_tcp(struct ws_waits *w, const struct ws_tcp_event *e);

/* The times of one message of an exchange, as assembly knows them (proto.h
 * ws_msg_times, passed field by field so this file needs no protocol header). */
struct ws_waits_msg {
	uint64_t first_enter_ns, last_enter_ns, last_exit_ns;
	uint32_t first_tid, last_tid;
	uint32_t seq;            /* TCP seq of the message's first byte (when has_seq) */
	bool has_seq;
	uint8_t _pad[3];
};

/* A span of connection sock_id is finished: compute and set its waits; *start_ns may
 * move back (SERVER: to the arrival or, unless no_handshake, the handshake; CLIENT: to
 * connect_ns, from ws_waits_client_connect, 0 none). */
void ws_waits_span(struct ws_waits *w, uint64_t sock_id, bool server, const struct ws_waits_msg *req,
		   const struct ws_waits_msg *resp, uint64_t *start_ns, uint64_t end_ns, uint64_t connect_ns,
		   bool no_handshake, struct ws_span *s, int64_t mono_to_unix_ns);

/* A CLIENT request was written (its first write's entry first_enter_ns) by a thread
 * serving a local request opened at not_before_ns (0: none): whether its connection was
 * opened for it, so that its span starts at the connect() entry (*connect_ns). Decided
 * once per connection, when its first request is written, so that the SERVER span on
 * the other end can ask (ws_ctx_peer_from_connect) before this one finishes. */
bool ws_waits_client_connect(struct ws_waits *w, uint64_t sock_id, uint64_t first_enter_ns, uint64_t not_before_ns,
			     uint64_t *connect_ns);
const struct ws_waits_stats *ws_waits_stats(const struct ws_waits *w);

#endif /* WS_WAITS_H */
