/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Connection table keyed by socket identity (the kernel's struct sock address), not by
 * (pid, fd): a connection survives fd reuse, dup, fork and the exit of the process that
 * opened it. Bounded: least recently active entries are evicted (counted) when full,
 * idle entries expire, closed ones are finalised after a short grace period (their last
 * data events may still be on another CPU's ring-buffer slots).
 */
#ifndef WS_CONN_H
#define WS_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "../headers/wirespan_abi.h"
#include "actors.h"
#include "context.h"
#include "proto/proto.h"

/* Chunks a connection holds while no parser has claimed it yet (bounded): replayed to
 * the parser that does. Freed at the decision, so a decided connection holds none. */
#define WS_CONN_PSTATE_INLINE 640   /* HTTP/1's state (http1_ops.c) fits */
#define WS_DETECT_CHUNKS 4
#define WS_DETECT_BYTES 256
struct ws_detect_buf {
	uint8_t n;
	uint8_t dir[WS_DETECT_CHUNKS];
	uint8_t _pad[3];
	struct ws_chunk ch[WS_DETECT_CHUNKS];   /* data points into bytes[i] */
	uint8_t bytes[WS_DETECT_CHUNKS][WS_DETECT_BYTES];
};

/* Requests one connection may have awaiting their exchange (HTTP/2 runs ~100 streams
 * at once; HTTP/1 pipelines at most 32): more are counted as spans_dropped_table_full. */
#define WS_CONN_MAX_PENDING 256

struct ws_conn_pending {
	uint32_t req_index;
	uint32_t pid;             /* process that read (SERVER) or wrote (CLIENT) the request */
	uint32_t tid;             /* SERVER: the actor registered as serving it (tid, or 0 and goid);
				   * CLIENT: the thread that wrote it, when deferred */
	bool served;              /* SERVER: registered with that actor and its process */
	bool seq_wanted;          /* CLIENT over TLS: the request's plaintext had no seq (a
				   * memory BIO writes the ciphertext after SSL_write): the
				   * connection's next ciphertext write names it (rule 3) */
	bool deferred;            /* CLIENT: its parent waits for the answer rule; tid is the
				   * thread that wrote it (parentage.h ws_parentage_defer) */
	uint8_t _pad;
	uint32_t tls_off;         /* with seq_wanted: the request's offset in its plaintext write */
	uint64_t goid;
	uint64_t task;            /* CLIENT, deferred: the task whose answer decides it (0: the
				   * thread's, tid) */
	uint64_t connect_start;   /* CLIENT: its span starts at this connect() entry (0: at its
				   * first write; waits.c ws_waits_client_connect) */
	struct ws_node_ref ref;
	struct ws_node_ref cause; /* CLIENT: the local request that caused it, if one did */
};

/* Where a connection's bytes are in its TCP sequence space when the records do not say
 * it plainly: TLS records served from the library's buffer, traceparents the kernel
 * inserted. Only TLS and injected connections have one (ws_conn_pos_get). */
struct ws_conn_pos {
	uint32_t tls_seq[2];      /* the seq the last plaintext record of each direction
				   * carried: a second record naming the same ciphertext
				   * position gets none (docs/protocols.md) */
	uint8_t tls_seq_set;      /* bit per direction: tls_seq[dir] holds a seq */
	/* A plaintext record the library served from what an earlier read brought has no
	 * ciphertext position of its own: it is the previous record's end plus the
	 * connection's record overhead (assemble.c tls_record_seq). */
	uint8_t tls_ov;           /* ciphertext bytes a record adds to its plaintext, 0 unknown */
	uint8_t tls_ov_seen;      /* the overhead measured first; 0xff: measurements disagreed */
	uint8_t tls_pos_set;      /* bits per direction: tls_rec_end[d] (d), tls_cipher_end[d] (2+d) */
	uint32_t tls_rec_end[2];  /* previous plaintext record's seq + its length */
	uint32_t tls_cipher_end[2]; /* end of the last ciphertext syscall */
	uint32_t tls_cout_seq, tls_cout_len; /* the last ciphertext write (learns tls_ov) */
	/* Plaintext a memory BIO wrote (no seq) since the connection's last ciphertext
	 * write: the first such write's entry and length, and how many there were. That
	 * ciphertext write begins with the first one's record (assemble.c
	 * cipher_names_request). */
	uint64_t tls_nw_enter;
	uint32_t tls_nw_len;
	uint32_t tls_nw_count;
	/* traceparents the kernel inserted into its requests (issue 12): the sender's
	 * records count only what it wrote, the TCP sequence space counts these too. Egress
	 * seqs are given to the parser without them (a contiguous stream) and added back for
	 * rule 3 (the receiver's numbering). */
	uint32_t inj_out;         /* bytes inserted so far */
	uint32_t inj_last_start;  /* parser seq of the last injected write's first byte */
	uint32_t inj_last_len;    /* ... and what was inserted into it (after that byte) */
	/* asyncio tasks (records with WS_F_RT_PY; the task rule, parentage.h), kept here so
	 * that connections of other processes pay nothing: the task that moved the first
	 * egress chunk since the last ingress one and that chunk's entry (which names the
	 * first chunk of a request or an answer), and the task that began the latest answer
	 * on a server connection, and when; hist_ns: since when the connection's answers
	 * are known (1: all it had; else when this state began). */
	bool eg_open;
	uint64_t eg_task, eg_enter_ns;
	uint64_t answer_task, answer_ns;
	uint64_t hist_ns;
};

struct ws_conn {
	uint64_t sock_id;
	struct ws_tuple tuple;
	uint32_t pid;             /* last process that moved bytes on it */
	char comm[16];            /* comm of the task that announced it (WS_SOCK_OPEN) */
	uint8_t role;             /* enum ws_role from the kernel */
	uint8_t proto;            /* enum ws_proto_id: UNKNOWN until a parser claims it, NONE
				   * when none does (or its parser gave up): bytes counted only */
	bool closing;             /* TCP_CLOSE seen: finalise at close_deadline */
	uint8_t capture;          /* enum ws_capture the kernel was last told */
	bool dg_watched;          /* a datagram pair on the centre's timeout watch list */
	bool tls;                 /* TLS: parsers see only the library's plaintext (WS_F_TLS),
				   * never the socket's ciphertext */
	bool inj_known;           /* in the kernel's injection sockhash, or needs not be: its
				   * connect was seen with its destination selected, it was
				   * accepted, or it was adopted (assemble.c maybe_adopt) */
	bool role_told;           /* the kernel was told it is a server connection */
	bool egress_seen;         /* a record written on it has been parsed (assemble.c note_task) */
	struct ws_conn_pos *pos;  /* sequence bookkeeping of TLS and injected connections,
				   * NULL on the others (most): allocated on first need */
	uint64_t last_ns;
	uint64_t close_deadline;
	uint32_t requests;        /* requests opened on it (its first one may inherit connect_cause) */
	int32_t fd1;              /* fd + 1 of its last data record in process pid; 0 unknown */
	struct ws_cause connect_cause; /* what the connecting thread was handling (client role) */
	const struct ws_proto_ops *ops;   /* the connection's parser, once detected */
	void *pst;                /* its state (ops->free) */
	struct ws_detect_buf *det;/* while undecided, NULL otherwise */
	/* table linkage */
	struct ws_conn *hnext;
	struct ws_conn *lru_prev, *lru_next;
	struct ws_conn *close_prev, *close_next;   /* closing list, in deadline order */
	/* A small parser state lives here (ops->init_at), pst pointing at it: one
	 * allocation per connection (proto.h). */
	_Alignas(16) unsigned char pinline[WS_CONN_PSTATE_INLINE];
	/* Requests awaiting their exchange: an array grown on demand (most connections
	 * have at most one), freed when none is pending, so an idle entry holds none. */
	uint32_t n_pending;
	uint32_t pending_cap;
	struct ws_conn_pending *pending;
};

struct ws_conn_stats {
	uint64_t opened;          /* entries created */
	uint64_t closed;          /* finalised after TCP_CLOSE (at the end of the grace, or
				   * sooner when the sock id is reopened) */
	uint64_t evicted;         /* removed because the table was full */
	uint64_t expired;         /* removed after idle_ns without activity */
	uint64_t removed;         /* removed directly: replaced by a new connection under the
				   * same sock id, setup failures, ws_conn_remove */
	uint64_t replaced;        /* of removed: an entry whose end was never reported,
				   * found to be over by a reopen of its sock id (ws_conn_open) */
	uint64_t alloc_fail;
	uint64_t active;          /* entries in the table now */
};
/* Every entry created leaves exactly one way, so at any moment
 *   opened == active + closed + evicted + expired + removed. */

/* Called before an entry is removed (finalise parsing, drop pending spans). */
typedef void (*ws_conn_fini_fn)(void *ctx, struct ws_conn *c, uint64_t now_ns);

struct ws_conn_table;

struct ws_conn_table *ws_conn_table_new(uint32_t max_conns, uint64_t idle_ns, uint64_t close_grace_ns,
					ws_conn_fini_fn fini, void *fini_ctx);
void ws_conn_table_free(struct ws_conn_table *t, uint64_t now_ns);

struct ws_conn *ws_conn_find(struct ws_conn_table *t, uint64_t sock_id);
/* Find or create; *created tells which. NULL when no memory. Touches LRU order. */
struct ws_conn *ws_conn_get(struct ws_conn_table *t, uint64_t sock_id, uint64_t now_ns, bool *created);
/*
 * A record announces the connection on sock_id (WS_SOCK_OPEN, or a data record naming
 * it): returns the entry to use, a fresh one (*created) when the connection is new.
 * The kernel reuses a freed struct sock for later connections, and does not always say
 * that the old one ended (a connection reset while still in the accept queue is
 * TCP_CLOSE before the server accepts it: no state change follows). So:
 *  - an open produced by accept/accept4/connect (syscall) always starts a new
 *    connection: an entry still under sock_id is finalised and removed first;
 *  - an entry whose tuple differs from the record's belongs to an earlier connection;
 *  - otherwise (a socket learned on first use, a data record) the entry is kept, also
 *    while it waits out its close grace: those are its own late records.
 * A replaced entry counts as closed when its TCP_CLOSE was seen, else as removed (and
 * replaced). NULL when no memory.
 */
struct ws_conn *ws_conn_open(struct ws_conn_table *t, uint64_t sock_id, const struct ws_tuple *tuple,
			     uint16_t syscall, uint64_t now_ns, bool *created);
/* A new zeroed pending slot (n_pending grows by one), or NULL when no memory. */
struct ws_conn_pending *ws_conn_pending_add(struct ws_conn_table *t, struct ws_conn *c);
/* Give the pending array back once no request is pending (a connection at rest). */
void ws_conn_pending_trim(struct ws_conn_table *t, struct ws_conn *c);
/* The pool of single-entry pending arrays (conn.c). */
struct ws_pool_stats;
const struct ws_pool_stats *ws_conn_pending_pool_stats(const struct ws_conn_table *t);

/* Finalise and remove now (counted as removed). */
void ws_conn_remove(struct ws_conn_table *t, struct ws_conn *c, uint64_t now_ns);
/* TCP_CLOSE seen: remove after the grace period. */
void ws_conn_mark_closed(struct ws_conn_table *t, struct ws_conn *c, uint64_t now_ns);
/* Take an entry off the closing list: it is in use again (a datagram peer that
 * sends again within the grace). */
void ws_conn_unmark_closed(struct ws_conn_table *t, struct ws_conn *c);
/* Expire idle and closed entries. */
void ws_conn_table_tick(struct ws_conn_table *t, uint64_t now_ns);
/* The connection's sequence bookkeeping, allocated on first use; NULL when out of memory. */
struct ws_conn_pos *ws_conn_pos_get(struct ws_conn *c);

/* Every connection in the table, most recently used first; fn must not add or remove. */
void ws_conn_for_each(struct ws_conn_table *t, void (*fn)(void *ctx, struct ws_conn *c), void *ctx);
const struct ws_conn_stats *ws_conn_table_stats(const struct ws_conn_table *t);

#endif /* WS_CONN_H */
