/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Actors: what each thread (or, in Go processes, each goroutine) and each process is
 * doing, as far as the parentage rules need to know. A pure core: records in, state
 * out; no I/O, time passed in.
 *
 * An actor holds three kinds of cause, each filled by a different observation:
 *  - serving: the SERVER exchanges whose request it read and that are not answered yet
 *    (the same-thread rule);
 *  - loop: for an event-loop thread, what it read in the current readiness batch (the
 *    event-loop rule);
 *  - handoff: what the thread that woke or created it was handling (the hand-off rule).
 * A process holds the cause it inherited from the thread that forked it.
 *
 * Nothing is capped silently: an actor serving more requests than it can name, a
 * cause that stands for several requests, a table that is full, all read as
 * "ambiguous" to the rules, and are counted.
 */
#ifndef WS_ACTORS_H
#define WS_ACTORS_H

#include <stdbool.h>
#include <stdint.h>

#include "context.h"

enum ws_cause_state {
	WS_CAUSE_NONE = 0,      /* nothing known */
	WS_CAUSE_ONE,           /* exactly one request: ref */
	WS_CAUSE_MANY,          /* more than one request could be the cause */
};

struct ws_cause {
	uint8_t state;          /* enum ws_cause_state */
	bool egress_since;      /* the actor wrote bytes after the cause was set */
	bool tentative;         /* ONE from a loop's latest read, for an act not yet known to
				 * be that read's (parentage.c: settled by the loop's next read
				 * or batch) */
	bool loop_none;         /* NONE from a loop that knew it had read nothing (a timer's
				 * act): a connect cause that says "anyone's" */
	uint32_t loop_tid;      /* a connect cause: the loop thread that connected (0: none)... */
	uint32_t loop_batch;    /* ... and its batch then (ws_actor.batch_seq) */
	uint8_t _pad[4];
	uint64_t via_sock;      /* passed on by a response read on this connection (0: read
				 * as a request): it does not cover that connection's next
				 * request, which may be a pooled connection handed to another
				 * caller */
	struct ws_node_ref ref;
};

/* Names held per actor for the same-thread rule; past this the actor is ambiguous
 * until it has answered them all (counted: actors_serving_overflow). */
#define WS_ACTOR_SERVING 8

/* An outgoing request written by a thread that was serving nothing, whose cause the
 * answer rule decides once the thread answers a request (parentage.c). */
struct ws_deferred {
	struct ws_node_ref ref;         /* the CLIENT span */
	uint64_t start_ns;              /* its span's start (first write, or its connect) */
	uint64_t end_ns;                /* its response's last read (0: not complete) */
	uint32_t resp_tid;              /* the thread that read its response's end */
	uint32_t _pad;
};

/* An act of a loop thread (a call written, a connect) after the batch's latest read,
 * that the loop rule names that read's cause for, when that cannot be sure yet: a
 * later read in the same batch shows the act was part of the batch's I/O phase (that
 * read's handler), the next batch leaves it to after-poll work (timers, immediates)
 * that anything may have queued (parentage.c). */
struct ws_tentative {
	struct ws_node_ref ref;         /* the CLIENT span (call), or none (connect) */
	struct ws_node_ref parent;      /* the cause named (held while tentative) */
	uint64_t sock_id;               /* the connection connected (connect) */
};

/* Tentative acts a loop thread holds per batch; past this they are unconfirmed at once
 * (counted: parentage_loop_tentative_full). */
#define WS_ACTOR_TENTATIVE 8

/* Calls a thread may hold for the answer rule; past this the newest become roots
 * (counted: parentage_root_answer_full). */
#define WS_ACTOR_DEFERRED 8

enum ws_runtime {
	WS_RUNTIME_NATIVE = 0,  /* one OS thread runs one flow of control at a time */
	WS_RUNTIME_GO,          /* goroutines multiplexed over threads: thread evidence is void */
	WS_RUNTIME_UNKNOWN,     /* not yet known (resolved on first use) */
};

struct ws_actor {
	uint32_t pid;
	uint32_t tid;                   /* 0 for a goroutine */
	uint64_t goid;                  /* 0 for a thread */
	bool loop;                      /* has had readiness batches: an event-loop thread */
	uint32_t batch_seq;             /* readiness batches begun (wraps) */
	uint8_t n_refs;                 /* names held in serving[] */
	uint16_t n_serving;             /* open SERVER exchanges it read (named or not) */
	int32_t batch_timeout_ms;       /* the current batch's wait timeout (-1 none, -2 unknown) */
	uint64_t batch_anchor_ns;       /* the current batch's wait timeout counts from no earlier
					 * than this (the wait before it returned; 0 unknown) */
	struct ws_node_ref serving[WS_ACTOR_SERVING];
	struct ws_cause loop_cause;     /* what this batch read (loop threads) */
	struct ws_cause loop_carried;   /* what the batch before read, when this one began with
					 * a non-blocking wait: work that batch queued runs now */
	struct ws_cause handoff;        /* what the waking/creating thread was handling */
	uint8_t n_deferred;             /* calls waiting for this thread's next answer */
	/* The answer rule on a loop thread (parentage.h): the window after the read of a
	 * deferred call's response, until the loop reads anything else or waits again. */
	bool batch_in_other;            /* this batch read from more than one connection */
	bool back_set;                  /* a window is open for back_ref */
	bool back_srv_other;            /* it wrote to more than one server connection */
	uint8_t back_answers;           /* answers it began */
	bool back_after_other;          /* its batch had read other things before it */
	bool wait_nonblocking;          /* the latest wait had timeout 0: when the loop's next
					 * timer is due is unknown */
	bool carried_nonblocking;       /* ... and so had the wait of the batch loop_carried
					 * was read in */
	bool phases;                    /* its runtime reports the end of each batch's I/O phase
					 * (WS_BATCH_PHASES: Node's loop-phase uprobe) ... */
	bool after_io;                  /* ... and this batch's had ended at its latest record */
	bool back_after_io;             /* an answer of the answer-rule window came after it */
	bool batch_mixed;               /* this batch read more than one cause (or an unknown one) */
	bool carried_mixed;             /* ... and so had the batch loop_carried was read in */
	uint8_t n_tent;                 /* tentative acts in tent[] */
	struct ws_node_ref batch_cause; /* the cause its reads named, while only one */
	struct ws_tentative tent[WS_ACTOR_TENTATIVE];
	uint64_t batch_in_sock;         /* the connection this batch read from first (0: none) */
	struct ws_node_ref back_ref;    /* the deferred call whose response opened it */
	uint64_t back_start_ns;         /* that call's span start */
	uint64_t back_end_ns;           /* its response's last read */
	uint64_t back_last_ns;          /* the window's latest activity */
	uint64_t back_srv_sock;         /* the first server connection written in it */
	struct ws_node_ref back_x;      /* the first request answered in it ... */
	uint64_t back_x_opened_ns;
	uint64_t back_x_answer_ns;      /* ... its answer's first write */
	uint64_t back_x_sock;
	struct ws_deferred deferred[WS_ACTOR_DEFERRED];
	uint64_t last_ns;
	/* table linkage */
	struct ws_actor *hnext;
	struct ws_actor *lru_prev, *lru_next;
};

struct ws_proc {
	uint32_t pid;
	uint8_t runtime;                /* enum ws_runtime */
	uint8_t _pad[3];
	uint32_t open_server;           /* SERVER exchanges of this process not answered yet */
	uint32_t _pad1;
	struct ws_cause inherited;      /* from the thread that forked it, while that request is open */
	uint64_t last_ns;
	struct ws_proc *hnext;
	struct ws_proc *lru_prev, *lru_next;
};

struct ws_actor_stats {
	uint64_t actors_opened;
	uint64_t actors_expired;        /* idle and holding nothing: forgotten */
	uint64_t actors_exited;         /* the thread exited */
	uint64_t actors_full;           /* not created: table full of busy actors (rules say ambiguous) */
	uint64_t actors_active;
	uint64_t serving_overflow;      /* requests an actor could not name (it reads as ambiguous) */
	uint64_t procs_opened;
	uint64_t procs_expired;
	uint64_t procs_exited;
	uint64_t procs_full;
	uint64_t procs_active;
};

struct ws_actors;

struct ws_actors *ws_actors_new(uint32_t max_actors, uint32_t max_procs, uint64_t idle_ns);
void ws_actors_free(struct ws_actors *t);

/* Find, or create when create is set. NULL when absent (or the table is full: counted,
 * and *full is set so the caller can tell "unknown" from "could not know"). */
struct ws_actor *ws_actor_get(struct ws_actors *t, uint32_t pid, uint32_t tid, uint64_t goid,
			      uint64_t now_ns, bool create, bool *full);
struct ws_proc *ws_proc_get(struct ws_actors *t, uint32_t pid, uint64_t now_ns, bool create, bool *full);

/* The thread exited: forget it (and its process, when it is the main thread). */
void ws_actor_exit(struct ws_actors *t, uint32_t pid, uint32_t tid);

/* Forget a goroutine actor that serves nothing any more: goroutines come and go by the
 * thousand (one per connection in Go's net/http) and hold no other state. */
void ws_actor_release(struct ws_actors *t, struct ws_actor *a);

/* The actor read the request of open SERVER exchange ref / answered it. */
void ws_actor_serve(struct ws_actors *t, struct ws_actor *a, struct ws_node_ref ref);
void ws_actor_unserve(struct ws_actors *t, struct ws_actor *a, struct ws_node_ref ref);

/* Cause bookkeeping shared by the loop, hand-off and inherited causes.
 * ws_cause_read: a read names ref as a cause (via_sock: the connection a response was
 * read on, 0 for a request). Two causes read with no write between them make MANY. */
void ws_cause_read(struct ws_cause *c, struct ws_node_ref ref, uint64_t via_sock);
/* ws_cause_read_next: the same for a read the runtime says is an I/O handler's on a loop
 * that runs each handler's own work to its end before the next read (Node.js before its
 * I/O phase ended): whatever an earlier read's handler did at once it did before this
 * read, so this read's cause replaces the earlier one instead of making MANY. */
void ws_cause_read_next(struct ws_cause *c, struct ws_node_ref ref, uint64_t via_sock);
void ws_cause_clear(struct ws_cause *c);
void ws_cause_many(struct ws_cause *c);

/* A loop thread's batch began / it read something, whose cause is now a->loop_cause
 * (a foreign read: unknown): tracks whether the batch read one cause only. */
void ws_actor_batch_begin(struct ws_actor *a);
void ws_actor_batch_read(struct ws_actor *a, bool foreign);

/* Expire idle actors and processes that hold nothing. */
void ws_actors_tick(struct ws_actors *t, uint64_t now_ns);

const struct ws_actor_stats *ws_actors_stats(const struct ws_actors *t);

#endif /* WS_ACTORS_H */
