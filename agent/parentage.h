/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who caused an outgoing request: the decision, made in one place, from an ordered set
 * of evidence providers. A pure core (no I/O).
 *
 * The question is asked for every CLIENT request a process writes ("which of this
 * process's open SERVER requests caused it?"), and, with the same answer, whenever a
 * thread passes its work on: when it connects a socket, wakes another thread, creates
 * a thread or forks a process. SERVER requests get their parents across processes
 * (traceparent, the same bytes) in assemble.c / context.c; this module is the inside
 * of a process.
 *
 * Providers, in order (docs/parentage.md has the why of each):
 *   runtime   Go: the goroutine that asked for the request, and its ancestors
 *   connect   the connection's first request: what its connecting thread was handling
 *   loop      an event-loop thread: the request it read in the current readiness batch
 *   thread    a thread that is serving exactly one request
 *   handoff   a thread woken or created by a thread that was handling a request (only
 *             for threads serving nothing themselves: a thread's own request outranks
 *             a wakeup, which in Python is as often a GIL hand-over as work)
 *   fork      a process forked by a thread that was handling a request
 *   answer    decided later: a thread serving nothing (a pool worker handed its request
 *             by another thread) that makes a call and then answers a request itself;
 *             see ws_parentage_defer
 * Each answers PARENT, AMBIGUOUS, NONE ("I know there is no cause": a loop thread
 * that read nothing in this batch) or UNKNOWN. The first AMBIGUOUS before any PARENT
 * ends the search with a root. After a PARENT the rest are still asked: one naming a
 * different parent makes it a conflict, and a root. A cause that was answered already
 * parents nothing. Every root carries a reason, counted.
 */
#ifndef WS_PARENTAGE_H
#define WS_PARENTAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "actors.h"
#include "context.h"

enum ws_verdict {
	WS_VERDICT_UNKNOWN = 0,
	WS_VERDICT_PARENT,
	WS_VERDICT_AMBIGUOUS,
	WS_VERDICT_NONE,
	WS_VERDICT_DEFER,        /* no evidence yet: the answer rule decides (ws_parentage_defer) */
};

enum ws_provider {
	WS_PROV_RUNTIME = 0,
	WS_PROV_CONNECT,
	WS_PROV_LOOP,
	WS_PROV_THREAD,
	WS_PROV_HANDOFF,
	WS_PROV_FORK,
	WS_PROV_ANSWER,          /* deferred: not asked in the ordered search */
	WS_PROV_TASK,            /* deferred to a task's answer: not asked either */
	WS_PROV__MAX,
};

/* Why an outgoing request got no parent. */
enum ws_why {
	WS_WHY_NONE = 0,
	WS_WHY_NO_EVIDENCE,      /* no provider knew anything */
	WS_WHY_THREAD_MANY,      /* the thread serves several requests */
	WS_WHY_LOOP_MANY,        /* the batch read several requests before writing */
	WS_WHY_LOOP_NO_CAUSE,    /* a loop thread wrote with nothing read in this batch (timer, ...) */
	WS_WHY_LOOP_TIMER_DUE,   /* the loop's next timer was due: the write may be the timer's */
	WS_WHY_LOOP_TIMER_UNKNOWN, /* the loop's latest wait did not block: when its timers are due
				    * is unknown, the write may be a timer's */
	WS_WHY_POOL_REUSE,       /* cause passed on by a response on the same connection (pool hand-off) */
	WS_WHY_CONNECT_MANY,     /* the connecting thread was handling several requests */
	WS_WHY_HANDOFF_MANY,     /* woken by threads handling different requests */
	WS_WHY_HANDOFF_BUSY,     /* woken with a cause, but the process had other open requests */
	WS_WHY_FORK_MANY,        /* forked by a thread handling several requests */
	WS_WHY_RUNTIME_UNKNOWN,  /* M:N runtime (Go) and no runtime evidence */
	WS_WHY_CONFLICT,         /* two providers named different parents */
	WS_WHY_TABLE_FULL,       /* actor or process table full: state unknown */
	WS_WHY_ANSWERED,         /* the cause had been answered already */
	WS_WHY_ANSWER_EARLY,     /* answer rule: the request the thread answered came after the call */
	WS_WHY_ANSWER_ASYNC,     /* answer rule: the call's response was not read by that thread first */
	WS_WHY_ANSWER_FULL,      /* answer rule: the thread held WS_ACTOR_DEFERRED calls already */
	WS_WHY_ANSWER_NOT_NEXT,  /* answer rule, loop: its batch read more than the call's response,
				  * or the loop answered nothing right after it */
	WS_WHY_ANSWER_MANY,      /* answer rule, loop: it answered several requests right after it */
	WS_WHY_LOOP_AFTER_READS, /* written after its batch's last read, which is where after-poll
				  * work (timers, immediates) queued by anyone runs (deferred) */
	WS_WHY_CONNECT_NO_CAUSE, /* the first request of a connection a loop opened with nothing
				  * read (a timer's): it may be anyone's, whatever the loop read since */
	WS_WHY_TASK_SHARED,      /* task rule: another task answered on the same connection
				  * between the call and this task's answer */
	WS_WHY_LOOP_CONNECTED,   /* the first request of a connection this loop connected in an
				  * earlier batch: written when the connect completed, after
				  * whatever the loop read then (deferred unless the connect
				  * rule placed it) */
	WS_WHY__MAX,
};

struct ws_decision {
	uint8_t verdict;         /* enum ws_verdict: PARENT, or NONE/AMBIGUOUS with why */
	uint8_t provider;        /* enum ws_provider that decided (PARENT) or stopped the search */
	uint8_t why;             /* enum ws_why when not PARENT */
	bool tentative;          /* PARENT, or DEFER naming parent: the loop rule's, settled by
				  * what the loop does next (ws_parentage_defer, _connected) */
	bool task;               /* DEFER: to the answer of the task that wrote it (the task
				  * rule), not of its thread */
	struct ws_node_ref parent;
};

/* The outgoing request (or hand-over) whose cause is asked for. */
struct ws_call {
	uint32_t pid;
	uint32_t tid;
	uint64_t goid;             /* Go: goroutine that wrote it (0: unknown / not Go) */
	uint64_t go_caller;        /* Go: goroutine that asked for it (roundTrip), 0: unknown */
	uint64_t sock_id;          /* its connection, 0 for a hand-over */
	uint64_t ts;               /* when its first byte was written */
	const struct ws_cause *connect_cause; /* the connection's first request only, else NULL */
	bool may_defer;            /* a CLIENT request: the answer rule may decide it later */
	uint64_t task;             /* the runtime task that wrote its first byte (CPython: the
				    * contextvars Context, WS_F_RT_PY), 0: unknown */
	bool phase_known;          /* made by the syscall of the thread's latest record, so its
				    * loop phase is the one that record reported (a connect, a
				    * wakeup or a fork is not) */
};

/* Go goroutine ancestry: self first, then parent, ...; returns how many were written. */
typedef size_t (*ws_lineage_fn)(void *ctx, uint32_t pid, uint64_t goid, uint64_t *out, size_t max);
/* The runtime of a process (enum ws_runtime), asked once per process. */
typedef uint8_t (*ws_runtime_fn)(void *ctx, uint32_t pid);
/* The connect cause of connection sock_id, NULL when it is not known any more. */
typedef struct ws_cause *(*ws_conn_cause_fn)(void *ctx, uint64_t sock_id);

struct ws_parentage_stats {
	uint64_t decisions;
	uint64_t won[WS_PROV__MAX];        /* PARENT decided by this provider */
	uint64_t why[WS_WHY__MAX];         /* roots, by reason */
	uint64_t deferred;                 /* decisions left to the answer rule */
	uint64_t deferred_why[WS_WHY__MAX]; /* ... by what the ordered providers had said */
	uint64_t tentative;                /* loop-rule acts left to the loop's next read or batch */
	uint64_t tentative_confirmed;      /* ... a later read of their batch showed them its */
	uint64_t tentative_full;           /* ... unconfirmed at once: the actor held too many */
};

/* Loop threads with an answer-rule window open (closed by ws_parentage_tick when idle). */
#define WS_WINDOWS 256

struct ws_parentage {
	struct ws_ctx *ctx;
	struct ws_actors *actors;
	ws_lineage_fn lineage;
	void *lineage_ctx;
	ws_runtime_fn runtime;
	void *runtime_ctx;
	ws_conn_cause_fn conn_cause;
	void *conn_cause_ctx;
	struct ws_parentage_stats st;
	uint32_t n_win;
	struct { uint32_t pid, tid; } win[WS_WINDOWS];
};

void ws_parentage_init(struct ws_parentage *p, struct ws_ctx *ctx, struct ws_actors *actors);

/* The runtime of pid (asked of the callback once, then remembered). */
uint8_t ws_parentage_runtime(struct ws_parentage *p, uint32_t pid, uint64_t now_ns);

/* Decide. count: add to the stats (client requests), or not (hand-overs). */
struct ws_decision ws_parent_decide(struct ws_parentage *p, const struct ws_call *c, bool count);

/*
 * The loop rule names the cause a loop thread read last in the current readiness
 * batch. Loops run a batch's I/O handlers first, one per ready descriptor, and what
 * the batch or the ones before it queued after them (libuv's timers, setImmediate and
 * closing callbacks; asyncio's due timer handles; nginx's posted events and timers).
 * An act followed by another read in the same batch was an I/O handler's, the latest
 * read's. One after the batch's last read may be after-poll work: it is the latest
 * read's only when the batch began with a blocking wait whose deadline had not passed
 * (no timer due, nothing queued before it) and read nothing but that cause (nothing
 * else could have queued work). Otherwise the act is tentative:
 *   - a call (verdict DEFER, tentative, parent named) waits in ws_parentage_defer;
 *   - a connect's cause (ws_parentage_cause_of: ONE, tentative) is registered with
 *     ws_parentage_connected; until settled the connect rule says nothing of it;
 * the loop's next read confirms them, its next batch (or exit) leaves the calls to the
 * answer rule read backwards (deferred_why loop_after_reads) and makes the connects'
 * causes MANY. A parent named is held until then.
 */
void ws_parentage_connected(struct ws_parentage *p, uint32_t pid, uint32_t tid, uint64_t sock_id,
			    struct ws_cause *cause);

/*
 * The answer rule. A thread that serves nothing (not an event loop, not Go) and writes
 * a call no provider can place gets WS_VERDICT_DEFER; the caller opens the span
 * undecided and hands it here with its start. When that thread next answers a request
 * (ws_parentage_answered: the first byte of a SERVER response it wrote), each call it
 * made before becomes that request's child if
 *   - the request was read before the call started (it was waiting for this thread),
 *   - the call's response was read completely, by this same thread, before the answer
 *     (the thread waited for it: the call was part of producing the answer),
 * and a root otherwise (answer_early, answer_async). A call whose thread answers
 * nothing within WS_ANSWER_WAIT_NS of its last activity becomes a root (defer_timeouts).
 * What this cannot tell: a pool thread that runs a job that answers nothing (a
 * background task) and then a request's job; the job's calls made after that request
 * arrived go to it (docs/parentage.md).
 * Returns false when the call cannot wait (table or list full: counted); the caller
 * makes it a root then.
 */
bool ws_parentage_defer(struct ws_parentage *p, const struct ws_call *c, const struct ws_decision *d,
			struct ws_node_ref ref, uint64_t start_ns);
/*
 * On an event-loop thread the same rule reads backwards, as the loop rule reads
 * forwards: what a loop does right after reading a call's response, before it reads
 * anything else or waits again, that response caused. A call the loop rule could not
 * place (two requests read in one batch, a pooled connection handed on, a timer) waits.
 * The read of its response opens a window, which closes at the thread's next read,
 * foreign read or readiness batch (or, idle, at the next tick past WS_WINDOW_IDLE_NS).
 * When the batch read other things before the response, only a window closed by a
 * read counts: one that ran into the loop's after-poll work (immediates, timers) may
 * hold what those earlier reads queued (answer_not_next); the same when the batch began
 * with a wait that did not block, so that when its timers were due is unknown
 * (loop_timer_unknown). The call is the child of
 * request X if in the window the loop began exactly one answer, X's, wrote to no other
 * server connection, X arrived before the call started, and the answer began before
 * the loop's next timer was due. Otherwise a root (answer_not_next: no answer;
 * answer_many: several, as when one response serves requests that waited on the same
 * call; answer_early; loop_timer_due). Calls it writes in the window (queued requests
 * given a freed pooled connection) do not matter.
 */

/* A deferred call's response ended: read by resp_tid at end_ns (0: it failed). The call
 * was written by tid and started at start_ns. True when it opened its loop's window
 * (ws_parentage_loop_ingress must not count this record's read against it). */
bool ws_parentage_call_done(struct ws_parentage *p, uint32_t pid, uint32_t tid, uint64_t task, struct ws_node_ref ref,
			    uint64_t start_ns, uint32_t resp_tid, uint64_t end_ns, uint64_t sock_id);
/* A loop thread's readiness batch began (its tentative acts are left unconfirmed), or
 * it read something that is not a message (a foreign read: they are confirmed): its
 * window closes. */
void ws_parentage_loop_batch(struct ws_parentage *p, struct ws_actor *a, bool foreign);
/* A loop thread read from sock_id (this_record_opened: this record opened the window);
 * it settles its tentative acts as confirmed. */
void ws_parentage_loop_ingress(struct ws_parentage *p, struct ws_actor *a, uint64_t sock_id, bool this_record_opened);
/* The thread exited: its window closes. */
void ws_parentage_thread_exit(struct ws_parentage *p, uint32_t pid, uint32_t tid);
/* Close the windows of loops that have been idle since (record time now_ns). */
void ws_parentage_tick(struct ws_parentage *p, uint64_t now_ns);
/* A loop thread wrote, at enter_ns, on sock_id (a server connection or not). */
void ws_parentage_loop_egress(struct ws_parentage *p, struct ws_actor *a, bool server_conn, uint64_t sock_id,
			      uint64_t enter_ns);
/* Thread tid answered SERVER request x (opened at x_opened_ns): the first byte of the
 * response written at answer_ns, the last at answered_ns. Calls it made after
 * answered_ns wait for its next answer; those made between the two are roots. */
void ws_parentage_answered(struct ws_parentage *p, uint32_t pid, uint32_t tid, struct ws_node_ref x,
			   uint64_t x_sock, uint64_t x_opened_ns, uint64_t answer_ns, uint64_t answered_ns);

/*
 * The task rule: the answer rule for the tasks of an event loop whose runtime names
 * them (CPython's asyncio: the contextvars Context each task step runs in, read by
 * the kernel at the socket call, WS_F_RT_PY). A call written on a loop thread inside a
 * task that the loop rules did not settle (several requests read in one round, timers,
 * a pooled connection) waits for that task's next answer: task `task` (of pid) began,
 * on thread tid, the answer to SERVER request x on connection x_sock. Each call the
 * task made before is x's child under the answer rule's conditions (x arrived before the
 * call; its response was read completely, by the loop thread, before the answer), and
 * not when another task began an answer on x_sock after the call (prev_task,
 * prev_answer_ns: the connection's answer before this one; task_shared), as when a
 * protocol callback answers requests another task's call was made for.
 * Context objects are reused once freed: a task that made a call and ended without
 * answering leaves it to whichever task gets its Context next. That task's answer
 * takes it only for a request read before the call, and a task is created after the
 * request it answers is read only in servers that hand a request read earlier to a
 * new task later (docs/parentage.md has the case).
 */
void ws_parentage_task_answered(struct ws_parentage *p, uint32_t pid, uint64_t task, uint32_t tid,
				struct ws_node_ref x, uint64_t x_opened_ns, uint64_t answer_ns,
				uint64_t answered_ns, uint64_t prev_task, uint64_t prev_answer_ns);

/* A thread hands its work over: the cause it passes on (ONE, MANY or NONE).
 * phase_known: the record of the hand-over carried the thread's loop phase (a connect
 * from a thread that reports phases). */
void ws_parentage_cause_of(struct ws_parentage *p, uint32_t pid, uint32_t tid, uint64_t ts, bool phase_known,
			   struct ws_cause *out);

const char *ws_provider_name(enum ws_provider v);
const char *ws_why_name(enum ws_why w);
/* ws_ctx_config.explain: the span's wirespan.parent.rule (how its parent was found: the
 * rule, or inside a process the provider) and, for a root that a provider or a deferred
 * rule left so, wirespan.parent.root_reason (the why counted for it). */
void ws_parentage_explain(struct ws_span *s, uint8_t rule, uint8_t how, uint8_t why);
/* Codes for ws_ctx_explain: provider v decided (why 0) or stopped with why. */
static inline uint8_t ws_how(enum ws_provider v)
{
	return (uint8_t)(v + 1);
}
void ws_parentage_report(const struct ws_parentage *p, FILE *out);

#endif /* WS_PARENTAGE_H */
