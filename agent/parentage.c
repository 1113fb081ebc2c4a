/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The parentage decision: see parentage.h and docs/parentage.md. */
#include "parentage.h"

#include <inttypes.h>
#include <string.h>

#define MS 1000000ULL
#define GO_LINEAGE_MAX 8        /* goroutine levels searched for the request's handler */
/* A loop's clock lags: milliseconds, truncated (libuv, nginx), from a coarse clock that
 * lags by up to a tick of 1 ms (libuv's CLOCK_MONOTONIC_COARSE when its resolution is
 * 1 ms). A timer due at anchor + timeout (ws_actor.batch_anchor_ns) may fire this much
 * earlier. */
#define TIMER_SLACK_NS (2 * MS)
/* The answer rule: how long a thread's finished calls wait for it to answer a request,
 * counted from its latest call activity, and how long a call may take at most. */
#define WS_ANSWER_WAIT_NS (2000 * MS)
#define WS_ANSWER_CALL_MAX_NS (60000 * MS)

struct answer {
	uint8_t verdict;
	uint8_t why;
	bool tentative;         /* PARENT: the loop rule's, not sure yet (parentage.h) */
	struct ws_node_ref ref;
};

static const struct answer unknown = { WS_VERDICT_UNKNOWN, WS_WHY_NONE, false, { WS_NODE_NONE, 0 } };

static struct answer say(uint8_t verdict, uint8_t why)
{
	return (struct answer){ verdict, why, false, { WS_NODE_NONE, 0 } };
}

static struct answer parent(struct ws_node_ref r)
{
	return (struct answer){ WS_VERDICT_PARENT, WS_WHY_NONE, false, r };
}

void ws_parentage_init(struct ws_parentage *p, struct ws_ctx *ctx, struct ws_actors *actors)
{
	memset(p, 0, sizeof(*p));
	p->ctx = ctx;
	p->actors = actors;
}

uint8_t ws_parentage_runtime(struct ws_parentage *p, uint32_t pid, uint64_t now_ns)
{
	struct ws_proc *pr = ws_proc_get(p->actors, pid, now_ns, true, NULL);

	if (!pr)
		return WS_RUNTIME_UNKNOWN;
	if (pr->runtime == WS_RUNTIME_UNKNOWN)
		pr->runtime = p->runtime ? p->runtime(p->runtime_ctx, pid) : WS_RUNTIME_NATIVE;
	return pr->runtime;
}

/* A cause as evidence: ONE names a parent while that request is still unanswered. */
static struct answer from_cause(struct ws_parentage *p, const struct ws_cause *c, uint8_t why_many)
{
	switch (c->state) {
	case WS_CAUSE_ONE:
		if (!ws_node_ref_valid(c->ref))
			return say(WS_VERDICT_NONE, WS_WHY_LOOP_NO_CAUSE);
		if (!ws_ctx_is_open(p->ctx, c->ref))
			return say(WS_VERDICT_NONE, WS_WHY_ANSWERED);
		return parent(c->ref);
	case WS_CAUSE_MANY:
		return say(WS_VERDICT_AMBIGUOUS, why_many);
	default:
		return unknown;
	}
}

/* ---- providers ---------------------------------------------------------------------- */

/* Go: the goroutine that asked for the request (or wrote it), then its ancestors; the
 * first one serving a request names it. */
static struct answer prov_runtime(struct ws_parentage *p, const struct ws_call *c)
{
	uint64_t line[GO_LINEAGE_MAX];
	uint64_t g = c->go_caller ? c->go_caller : c->goid;
	size_t n;

	if (!g)
		return unknown;
	n = p->lineage ? p->lineage(p->lineage_ctx, c->pid, g, line, GO_LINEAGE_MAX) : 0;
	if (n == 0) {
		line[0] = g;
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		bool full;
		struct ws_actor *a = ws_actor_get(p->actors, c->pid, 0, line[i], c->ts, false, &full);

		if (!a || a->n_serving == 0)
			continue;
		if (a->n_serving > 1 || a->n_refs != 1)
			return say(WS_VERDICT_AMBIGUOUS, WS_WHY_THREAD_MANY);
		if (!ws_ctx_is_open(p->ctx, a->serving[0]))
			return say(WS_VERDICT_NONE, WS_WHY_ANSWERED);
		return parent(a->serving[0]);
	}
	return unknown;
}

static struct answer prov_connect(struct ws_parentage *p, const struct ws_call *c, const struct ws_proc *pr)
{
	struct answer r;

	/* A tentative cause is the loop rule's, for a connect in this same batch: that
	 * rule answers for the write too. */
	if (!c->connect_cause || c->connect_cause->tentative)
		return unknown;
	/* Opened by a loop that had read nothing (a timer's work): its first request is
	 * written when the connect completes, in whatever batch that is, after whatever
	 * that batch read: the loop rule must not place it (in a process serving nothing
	 * there is nothing to place it under anyway). */
	if (c->connect_cause->state == WS_CAUSE_NONE && c->connect_cause->loop_none)
		return pr && pr->open_server ? say(WS_VERDICT_AMBIGUOUS, WS_WHY_CONNECT_NO_CAUSE) : unknown;
	r = from_cause(p, c->connect_cause, WS_WHY_CONNECT_MANY);
	/* An answered or empty connect cause says nothing about later use. */
	return r.verdict == WS_VERDICT_NONE ? unknown : r;
}

/* Sure that an act after the batch's latest read is that read's handler's, though no
 * read followed it (yet): the runtime says its I/O phase had not ended at the act, or
 * the batch read one cause only (no one else queued work to run after the reads) and
 * began with a blocking wait whose deadline had not passed (no timer due, nothing
 * queued before). */
static bool loop_settled(const struct ws_actor *a, const struct ws_call *c)
{
	uint64_t ts = c->ts;

	/* The runtime says the batch's I/O phase had not ended at this act: the handler's
	 * of the latest read (or a write callback's, which libuv runs among them), however
	 * many causes the batch read: there the latest read alone names the cause
	 * (ws_cause_read_next). Known for writes and connects, whose records carry the
	 * phase; not for wakeups or forks. */
	if (c->phase_known && a->phases && !a->after_io)
		return true;
	if (a->batch_mixed)
		return false;
	if (a->wait_nonblocking)
		return false;
	if (a->batch_timeout_ms == -1)
		return true;
	return a->batch_timeout_ms > 0 && a->batch_anchor_ns &&
	       ts + TIMER_SLACK_NS < a->batch_anchor_ns + (uint64_t)a->batch_timeout_ms * MS;
}

static struct answer prov_loop(struct ws_parentage *p, const struct ws_call *c, const struct ws_actor *a)
{
	const struct ws_cause *k;

	if (!a || !a->loop)
		return unknown;
	/* A connection this loop connected in an earlier batch: its first request is
	 * written when the connect completes, in the I/O phase of whatever batch that is,
	 * after whatever that batch read. Only the connect rule (asked before) can place
	 * it; when it could not, the answer rule may. */
	if (c->connect_cause && c->connect_cause->loop_tid == c->tid && c->connect_cause->loop_batch != a->batch_seq)
		return say(WS_VERDICT_AMBIGUOUS, WS_WHY_LOOP_CONNECTED);
	k = a->loop_cause.state != WS_CAUSE_NONE ? &a->loop_cause : &a->loop_carried;
	if (k->state == WS_CAUSE_NONE)
		return say(WS_VERDICT_NONE, WS_WHY_LOOP_NO_CAUSE);
	if (k->state == WS_CAUSE_ONE && c->sock_id && k->via_sock == c->sock_id)
		return say(WS_VERDICT_AMBIGUOUS, WS_WHY_POOL_REUSE);
	if (k == &a->loop_cause) {
		/* Read in this batch: sure now, or when the loop reads again (parentage.h). */
		struct answer r = from_cause(p, k, WS_WHY_LOOP_MANY);

		r.tentative = r.verdict == WS_VERDICT_PARENT && !loop_settled(a, c);
		return r;
	}
	/* Carried from the batch before: its handlers run before this batch's reads, so
	 * no read tells them from that batch's after-poll work. The loop runs its due
	 * timers between handling a batch and waiting again: past the wait's deadline a
	 * write may be a timer's, not the read request's. */
	if (k->state == WS_CAUSE_ONE && a->batch_timeout_ms > 0 && a->batch_anchor_ns &&
	    c->ts + TIMER_SLACK_NS >= a->batch_anchor_ns + (uint64_t)a->batch_timeout_ms * MS)
		return say(WS_VERDICT_AMBIGUOUS, WS_WHY_LOOP_TIMER_DUE);
	/* asyncio runs the task steps a round's reads woke in the next round, together
	 * with those its due timers woke (asyncio.sleep, call_later): when the round the
	 * cause was read in began with a wait that did not block, nothing tells when its
	 * timers were due, and a carried write may be a timer's. */
	if (k->state == WS_CAUSE_ONE && a->carried_nonblocking)
		return say(WS_VERDICT_AMBIGUOUS, WS_WHY_LOOP_TIMER_UNKNOWN);
	/* Work queued by any read of that batch runs now (asyncio's call_soon): the
	 * batch's last cause is only the right one when it read nothing else. */
	if (k->state == WS_CAUSE_ONE && a->carried_mixed)
		return say(WS_VERDICT_AMBIGUOUS, WS_WHY_LOOP_MANY);
	return from_cause(p, k, WS_WHY_LOOP_MANY);
}

/* A wakeup carries no work item: it counts only when the process had exactly one
 * request open, so the work handed over can only be that one. */
static struct answer prov_handoff(struct ws_parentage *p, const struct ws_call *c, const struct ws_actor *a,
				  const struct ws_proc *pr)
{
	struct answer r;

	if (!a || a->handoff.state == WS_CAUSE_NONE || a->n_serving)
		return unknown;
	r = from_cause(p, &a->handoff, WS_WHY_HANDOFF_MANY);
	if (r.verdict == WS_VERDICT_PARENT && (!pr || pr->open_server != 1))
		return say(WS_VERDICT_AMBIGUOUS, WS_WHY_HANDOFF_BUSY);
	return r.verdict == WS_VERDICT_NONE ? unknown : r;
}

/* Not for loop threads: their "serving" set is every request they have in flight. */
static struct answer prov_thread(struct ws_parentage *p, const struct ws_actor *a)
{
	if (!a || a->loop || a->n_serving == 0)
		return unknown;
	if (a->n_serving > 1 || a->n_refs != 1)
		return say(WS_VERDICT_AMBIGUOUS, WS_WHY_THREAD_MANY);
	if (!ws_ctx_is_open(p->ctx, a->serving[0]))
		return unknown;
	return parent(a->serving[0]);
}

static struct answer prov_fork(struct ws_parentage *p, const struct ws_proc *pr)
{
	struct answer r;

	if (!pr)
		return unknown;
	r = from_cause(p, &pr->inherited, WS_WHY_FORK_MANY);
	return r.verdict == WS_VERDICT_NONE ? unknown : r;
}

/* ---- the decision -------------------------------------------------------------------- */

struct ws_decision ws_parent_decide(struct ws_parentage *p, const struct ws_call *c, bool count)
{
	struct ws_decision d = { WS_VERDICT_NONE, WS_PROV__MAX, WS_WHY_NO_EVIDENCE, false, false, { WS_NODE_NONE, 0 } };
	bool go = ws_parentage_runtime(p, c->pid, c->ts) == WS_RUNTIME_GO;
	bool afull = false, pfull = false;
	struct ws_actor *a = NULL;
	struct ws_proc *pr = ws_proc_get(p->actors, c->pid, c->ts, false, &pfull);
	uint8_t none_why = WS_WHY_NONE;

	/* Threads mean nothing in an M:N runtime: only its own evidence counts there. */
	if (!go && c->tid)
		a = ws_actor_get(p->actors, c->pid, c->tid, 0, c->ts, false, &afull);

	for (int v = 0; v < WS_PROV__MAX; v++) {
		struct answer r;

		if (v == WS_PROV_ANSWER || v == WS_PROV_TASK || (go && v != WS_PROV_RUNTIME && v != WS_PROV_FORK))
			continue;
		switch (v) {
		case WS_PROV_RUNTIME: r = go ? prov_runtime(p, c) : unknown; break;
		case WS_PROV_CONNECT: r = prov_connect(p, c, pr); break;
		case WS_PROV_LOOP: r = prov_loop(p, c, a); break;
		case WS_PROV_HANDOFF: r = prov_handoff(p, c, a, pr); break;
		case WS_PROV_THREAD: r = prov_thread(p, a); break;
		default: r = prov_fork(p, pr); break;
		}
		if (r.verdict == WS_VERDICT_UNKNOWN)
			continue;
		if (d.verdict == WS_VERDICT_PARENT) {
			if (r.verdict == WS_VERDICT_PARENT &&
			    (r.ref.idx != d.parent.idx || r.ref.gen != d.parent.gen)) {
				d.verdict = WS_VERDICT_AMBIGUOUS;
				d.why = WS_WHY_CONFLICT;
				d.provider = (uint8_t)v;
				d.parent.idx = WS_NODE_NONE;
				d.tentative = false;
				break;
			}
			continue;
		}
		if (r.verdict == WS_VERDICT_PARENT) {
			d.verdict = WS_VERDICT_PARENT;
			d.provider = (uint8_t)v;
			d.why = WS_WHY_NONE;
			d.parent = r.ref;
			d.tentative = r.tentative;
			continue;
		}
		if (r.verdict == WS_VERDICT_AMBIGUOUS) {
			d.verdict = WS_VERDICT_AMBIGUOUS;
			d.provider = (uint8_t)v;
			d.why = r.why;
			break;
		}
		/* NONE: this provider knows there is no cause of its kind; later providers
		 * of other kinds may still know one. */
		if (none_why == WS_WHY_NONE)
			none_why = r.why;
	}
	if (d.verdict == WS_VERDICT_NONE) {
		if (afull || pfull)
			d.why = WS_WHY_TABLE_FULL;
		else if (none_why != WS_WHY_NONE)
			d.why = none_why;
		else if (go)
			d.why = WS_WHY_RUNTIME_UNKNOWN;
	}
	/* Nothing places it now; a thread that serves nothing may still answer the request
	 * it works for (a pool worker): the answer rule decides then. Only while the
	 * process has a request open (a client process's calls are roots at once), and not
	 * when a provider said anything but "no evidence", or "a wakeup (or the connect
	 * of a thread woken so) but from a busy process"; on a loop thread, when the loop
	 * rule could not place it, or it and the connect rule disagreed. */
	bool worker = !a || (!a->loop && a->n_serving == 0), loop = a && a->loop;

	/* The task rule (parentage.h): on a loop thread, a call from a task that the loop
	 * rules did not settle waits for that task's answer. */
	if (c->task && loop && c->may_defer && !afull && !pfull && pr && pr->open_server &&
	    !(d.verdict == WS_VERDICT_PARENT && !d.tentative)) {
		if (count)
			p->st.deferred_why[d.verdict == WS_VERDICT_PARENT ? WS_WHY_LOOP_AFTER_READS : d.why]++;
		d.verdict = WS_VERDICT_DEFER;
		d.provider = WS_PROV_ANSWER;
		d.why = WS_WHY_NONE;
		d.tentative = false;
		d.task = true;
		d.parent = (struct ws_node_ref){ WS_NODE_NONE, 0 };
	}

	if (c->may_defer && !go && c->tid && !afull && !pfull && pr && pr->open_server &&
	    ((worker && ((d.verdict == WS_VERDICT_NONE && d.why == WS_WHY_NO_EVIDENCE) ||
			 (d.verdict == WS_VERDICT_AMBIGUOUS &&
			  (d.why == WS_WHY_HANDOFF_MANY || d.why == WS_WHY_HANDOFF_BUSY || d.why == WS_WHY_CONNECT_MANY)))) ||
	     (loop && ((d.verdict == WS_VERDICT_NONE && d.why == WS_WHY_LOOP_NO_CAUSE) ||
		       (d.verdict == WS_VERDICT_AMBIGUOUS &&
			(d.why == WS_WHY_LOOP_MANY || d.why == WS_WHY_POOL_REUSE || d.why == WS_WHY_LOOP_TIMER_DUE ||
			 d.why == WS_WHY_LOOP_TIMER_UNKNOWN ||
			 d.why == WS_WHY_CONFLICT || d.why == WS_WHY_CONNECT_MANY ||
			 d.why == WS_WHY_CONNECT_NO_CAUSE || d.why == WS_WHY_LOOP_CONNECTED)))))) {
		if (count)
			p->st.deferred_why[d.why]++;
		d.verdict = WS_VERDICT_DEFER;
		d.provider = WS_PROV_ANSWER;
		d.why = WS_WHY_NONE;
	}
	/* The loop rule's parent, not sure yet: the call waits for the loop's next read or
	 * batch (ws_parentage_defer). */
	if (d.verdict == WS_VERDICT_PARENT && d.tentative && c->may_defer) {
		d.verdict = WS_VERDICT_DEFER;
		if (count)
			p->st.tentative++;
	}
	if (count) {
		p->st.decisions++;
		if (d.verdict == WS_VERDICT_DEFER && d.tentative)
			;   /* counted when settled */
		else if (d.verdict == WS_VERDICT_DEFER)
			p->st.deferred++;
		else if (d.verdict == WS_VERDICT_PARENT)
			p->st.won[d.provider]++;
		else
			p->st.why[d.why]++;
	}
	return d;
}

/* ---- the answer rule ------------------------------------------------------------------ */

/* The thread is active: its finished calls wait WS_ANSWER_WAIT_NS from now, the others
 * until they could not be running any more. Entries whose wait ended are dropped. */
static void defer_refresh(struct ws_parentage *p, struct ws_actor *a, uint64_t now_ns)
{
	uint8_t keep = 0;

	for (uint8_t i = 0; i < a->n_deferred; i++) {
		struct ws_deferred *e = &a->deferred[i];

		if (!ws_ctx_is_deferred(p->ctx, e->ref))
			continue;
		ws_ctx_defer(p->ctx, e->ref, e->end_ns ? now_ns + WS_ANSWER_WAIT_NS : e->start_ns + WS_ANSWER_CALL_MAX_NS);
		a->deferred[keep++] = *e;
	}
	a->n_deferred = keep;
}

/* ---- tentative acts of loops (parentage.h) ------------------------------------------ */

/* A call left to the answer rule read backwards, counted as deferred then. */
static void tent_unconfirmed_call(struct ws_parentage *p)
{
	p->st.deferred++;
	p->st.deferred_why[WS_WHY_LOOP_AFTER_READS]++;
}

static bool tent_add(struct ws_parentage *p, struct ws_actor *a, struct ws_node_ref ref, struct ws_node_ref parent,
		     uint64_t sock_id)
{
	if (a->n_tent >= WS_ACTOR_TENTATIVE) {
		p->st.tentative_full++;
		return false;
	}
	ws_ctx_hold(p->ctx, parent);   /* it may be answered and emitted before it is settled */
	a->tent[a->n_tent++] = (struct ws_tentative){ .ref = ref, .parent = parent, .sock_id = sock_id };
	return true;
}

/* Does the loop's read of a TCP socket now show that its tentative acts were I/O
 * handlers' (the latest read's)? Only where the read can be an I/O handler's: not when
 * the runtime says the batch's I/O phase had ended (a synchronous read in a timer).
 * Foreign reads never do: a timer's or an immediate's callback may read a file or a
 * pipe (Node did, in test_arch_node_jitter, right after a timer's call), and an I/O
 * handler's foreign read is not told apart from those without the runtime's phases. */
static bool read_confirms(const struct ws_actor *a)
{
	return !(a->phases && a->after_io);
}

/* The loop read again in the same batch (confirmed), or began a new one or exited (not). */
static void tent_settle(struct ws_parentage *p, struct ws_actor *a, bool confirmed)
{
	for (uint8_t i = 0; i < a->n_tent; i++) {
		struct ws_tentative *t = &a->tent[i];

		if (!ws_node_ref_valid(t->ref)) {
			struct ws_cause *k = p->conn_cause ? p->conn_cause(p->conn_cause_ctx, t->sock_id) : NULL;

			if (k && k->tentative && k->ref.idx == t->parent.idx && k->ref.gen == t->parent.gen) {
				k->tentative = false;
				if (!confirmed)
					ws_cause_many(k);
			}
		} else if (ws_ctx_is_deferred(p->ctx, t->ref)) {
			if (confirmed) {
				p->st.tentative_confirmed++;
				p->st.won[WS_PROV_LOOP]++;
				ws_ctx_explain(p->ctx, t->ref, ws_how(WS_PROV_LOOP), WS_WHY_NONE);
				ws_ctx_parent_local(p->ctx, t->ref, t->parent, WS_RULE_IN_PROCESS);
			} else {
				tent_unconfirmed_call(p);   /* decided when its response is read */
			}
		}
		ws_ctx_release(p->ctx, t->parent);
	}
	a->n_tent = 0;
}

void ws_parentage_connected(struct ws_parentage *p, uint32_t pid, uint32_t tid, uint64_t sock_id,
			    struct ws_cause *cause)
{
	struct ws_actor *a;

	if (!cause->tentative)
		return;
	a = ws_actor_get(p->actors, pid, tid, 0, 0, false, NULL);
	if (!a || !tent_add(p, a, (struct ws_node_ref){ WS_NODE_NONE, 0 }, cause->ref, sock_id)) {
		cause->tentative = false;
		ws_cause_many(cause);
	}
}

bool ws_parentage_defer(struct ws_parentage *p, const struct ws_call *c, const struct ws_decision *d,
			struct ws_node_ref ref, uint64_t start_ns)
{
	bool full = false;
	struct ws_actor *a = d->task ? ws_actor_get(p->actors, c->pid, 0, c->task, c->ts, true, &full)
				     : ws_actor_get(p->actors, c->pid, c->tid, 0, c->ts, true, &full);

	if (!a) {
		p->st.why[WS_WHY_TABLE_FULL]++;
		return false;
	}
	if (a->loop && !d->task) {
		/* Decided by the loop's next read, or when its response is read
		 * (ws_parentage_call_done). */
		ws_ctx_defer(p->ctx, ref, start_ns + WS_ANSWER_CALL_MAX_NS);
		if (d->tentative && !tent_add(p, a, ref, d->parent, 0))
			tent_unconfirmed_call(p);
		return true;
	}
	defer_refresh(p, a, c->ts);
	if (a->n_deferred >= WS_ACTOR_DEFERRED) {
		p->st.why[WS_WHY_ANSWER_FULL]++;
		return false;
	}
	a->deferred[a->n_deferred++] = (struct ws_deferred){ .ref = ref, .start_ns = start_ns };
	ws_ctx_defer(p->ctx, ref, start_ns + WS_ANSWER_CALL_MAX_NS);
	return true;
}

/* A root now, if it still waits (counted why). */
static void defer_root(struct ws_parentage *p, struct ws_node_ref ref, uint8_t why)
{
	if (!ws_ctx_is_deferred(p->ctx, ref))
		return;
	p->st.why[why]++;
	ws_ctx_explain(p->ctx, ref, ws_how(WS_PROV_ANSWER), why);
	ws_ctx_make_root(p->ctx, ref, WS_RULE_ROOT);
}

#define WS_WINDOW_IDLE_NS (20 * MS)

static void window_decide(struct ws_parentage *p, struct ws_actor *a);

/* Decide the call of a loop's window (see parentage.h) and close it. */
static void window_close(struct ws_parentage *p, struct ws_actor *a, bool by_read)
{
	if (!a->back_set)
		return;
	a->back_set = false;
	/* With the runtime's phases, an answer made in the I/O phase (the response's
	 * handler: nothing else runs between it and the next read or the phase's end) is
	 * certain wherever the window ended. */
	bool in_io = a->phases && a->back_answers && !a->back_after_io;

	if (!by_read && !in_io && (a->back_after_other || a->wait_nonblocking)) {
		/* The window ran on into the loop's after-poll work (immediates, due timers):
		 * what earlier reads of its batch queued, or timers whose due time is unknown
		 * (the batch began with a wait that did not block). */
		if (a->back_answers)
			ws_ctx_release(p->ctx, a->back_x);
		defer_root(p, a->back_ref, a->back_after_other ? WS_WHY_ANSWER_NOT_NEXT : WS_WHY_LOOP_TIMER_UNKNOWN);
		return;
	}
	if (a->back_answers) {
		/* decide, then let the answered request go (ws_ctx_hold in answered) */
		window_decide(p, a);
		ws_ctx_release(p->ctx, a->back_x);
		return;
	}
	defer_root(p, a->back_ref, WS_WHY_ANSWER_NOT_NEXT);
}

static void window_decide(struct ws_parentage *p, struct ws_actor *a)
{
	uint8_t why = WS_WHY_NONE;

	if (a->back_answers > 1 || a->back_srv_other || (a->back_srv_sock && a->back_srv_sock != a->back_x_sock))
		why = WS_WHY_ANSWER_MANY;
	else if (a->batch_timeout_ms > 0 && a->batch_anchor_ns &&
		 a->back_x_answer_ns + TIMER_SLACK_NS >= a->batch_anchor_ns + (uint64_t)a->batch_timeout_ms * MS)
		why = WS_WHY_LOOP_TIMER_DUE;   /* the answer may be a timer's */
	else if (a->back_x_opened_ns > a->back_start_ns)
		why = WS_WHY_ANSWER_EARLY;
	if (why != WS_WHY_NONE) {
		defer_root(p, a->back_ref, why);
		return;
	}
	if (ws_ctx_is_deferred(p->ctx, a->back_ref)) {
		p->st.won[WS_PROV_ANSWER]++;
		ws_ctx_explain(p->ctx, a->back_ref, ws_how(WS_PROV_ANSWER), WS_WHY_NONE);
		ws_ctx_parent_local(p->ctx, a->back_ref, a->back_x, WS_RULE_IN_PROCESS);
	}
}

void ws_parentage_loop_batch(struct ws_parentage *p, struct ws_actor *a, bool foreign)
{
	if (!foreign)
		tent_settle(p, a, false);   /* a foreign read leaves them unsure (read_confirms) */
	window_close(p, a, false);
	if (foreign) {
		a->batch_in_other = true;
		ws_actor_batch_read(a, true);
	} else {
		a->batch_in_sock = 0;
		a->batch_in_other = false;
		ws_actor_batch_begin(a);
	}
}

void ws_parentage_loop_ingress(struct ws_parentage *p, struct ws_actor *a, uint64_t sock_id, bool this_record_opened)
{
	if (read_confirms(a))
		tent_settle(p, a, true);
	if (!a->batch_in_sock)
		a->batch_in_sock = sock_id;
	else if (a->batch_in_sock != sock_id)
		a->batch_in_other = true;
	if (!this_record_opened)
		window_close(p, a, true);
}

void ws_parentage_loop_egress(struct ws_parentage *p, struct ws_actor *a, bool server_conn, uint64_t sock_id,
			      uint64_t enter_ns)
{
	(void)p;
	if (!a->back_set)
		return;
	a->back_last_ns = enter_ns;
	if (!server_conn)
		return;   /* a call (a queued one given a freed connection): no matter */
	if (!a->back_srv_sock)
		a->back_srv_sock = sock_id;
	else if (a->back_srv_sock != sock_id)
		a->back_srv_other = true;
}

void ws_parentage_thread_exit(struct ws_parentage *p, uint32_t pid, uint32_t tid)
{
	struct ws_actor *a = ws_actor_get(p->actors, pid, tid, 0, 0, false, NULL);

	if (a) {
		tent_settle(p, a, false);
		window_close(p, a, false);
	}
}

void ws_parentage_tick(struct ws_parentage *p, uint64_t now_ns)
{
	uint32_t keep = 0;

	for (uint32_t i = 0; i < p->n_win; i++) {
		struct ws_actor *a = ws_actor_get(p->actors, p->win[i].pid, p->win[i].tid, 0, now_ns, false, NULL);

		if (!a || !a->back_set)
			continue;
		if (now_ns > a->back_last_ns + WS_WINDOW_IDLE_NS) {
			window_close(p, a, false);
			continue;
		}
		p->win[keep++] = p->win[i];
	}
	p->n_win = keep;
}

/* Remember that a's window is open, for the tick; false when too many are. */
static bool window_register(struct ws_parentage *p, const struct ws_actor *a)
{
	for (uint32_t i = 0; i < p->n_win; i++)
		if (p->win[i].pid == a->pid && p->win[i].tid == a->tid)
			return true;
	if (p->n_win >= WS_WINDOWS)
		return false;
	p->win[p->n_win].pid = a->pid;
	p->win[p->n_win].tid = a->tid;
	p->n_win++;
	return true;
}

bool ws_parentage_call_done(struct ws_parentage *p, uint32_t pid, uint32_t tid, uint64_t task, struct ws_node_ref ref,
			    uint64_t start_ns, uint32_t resp_tid, uint64_t end_ns, uint64_t sock_id)
{
	struct ws_actor *a = task ? ws_actor_get(p->actors, pid, 0, task, end_ns, false, NULL)
				  : ws_actor_get(p->actors, pid, tid, 0, end_ns, false, NULL);

	if (!a) {
		defer_root(p, ref, WS_WHY_ANSWER_ASYNC);
		return false;
	}
	if (a->loop && !task) {
		/* Its read confirms the tentative acts and closes the window before (this
		 * record's read is counted after this call). */
		if (resp_tid == tid && end_ns && read_confirms(a))
			tent_settle(p, a, true);
		window_close(p, a, true);
		if (!ws_ctx_is_deferred(p->ctx, ref))
			return false;   /* confirmed just now */
		if (resp_tid != tid || !end_ns) {
			defer_root(p, ref, WS_WHY_ANSWER_NOT_NEXT);
			return false;
		}
		if (!window_register(p, a)) {
			defer_root(p, ref, WS_WHY_TABLE_FULL);
			return false;
		}
		a->back_set = true;
		a->back_ref = ref;
		a->back_start_ns = start_ns;
		a->back_end_ns = end_ns;
		a->back_last_ns = end_ns;
		a->back_answers = 0;
		a->back_after_io = false;
		a->back_srv_other = false;
		a->back_srv_sock = 0;
		a->back_after_other = a->batch_in_other || (a->batch_in_sock && a->batch_in_sock != sock_id);
		ws_ctx_defer(p->ctx, ref, end_ns + WS_ANSWER_WAIT_NS);
		return true;
	}
	for (uint8_t i = 0; i < a->n_deferred; i++) {
		struct ws_deferred *e = &a->deferred[i];

		if (e->ref.idx == ref.idx && e->ref.gen == ref.gen) {
			e->end_ns = end_ns ? end_ns : 1;
			e->resp_tid = resp_tid;
		}
	}
	defer_refresh(p, a, end_ns);
	return false;
}

static void answer_deferred(struct ws_parentage *p, struct ws_actor *a, uint32_t tid, struct ws_node_ref x,
			    uint64_t x_opened_ns, uint64_t answer_ns, uint64_t answered_ns, uint64_t shared_after);

void ws_parentage_answered(struct ws_parentage *p, uint32_t pid, uint32_t tid, struct ws_node_ref x,
			   uint64_t x_sock, uint64_t x_opened_ns, uint64_t answer_ns, uint64_t answered_ns)
{
	struct ws_actor *a = tid ? ws_actor_get(p->actors, pid, tid, 0, answer_ns, false, NULL) : NULL;

	if (a && a->loop) {
		/* Counted in the window it began in; decided when the window closes. */
		if (a->back_set && answer_ns >= a->back_end_ns) {
			if (!a->phases || a->after_io)
				a->back_after_io = true;
			if (a->back_answers++ == 0) {
				ws_ctx_hold(p->ctx, x);   /* it may be emitted before the window closes */
				a->back_x = x;
				a->back_x_sock = x_sock;
				a->back_x_opened_ns = x_opened_ns;
				a->back_x_answer_ns = answer_ns;
			}
			if (a->back_answers == 0)
				a->back_answers = 2;   /* wrapped: still many */
		}
		return;
	}
	if (!a || !a->n_deferred)
		return;
	answer_deferred(p, a, tid, x, x_opened_ns, answer_ns, answered_ns, 0);
}

void ws_parentage_task_answered(struct ws_parentage *p, uint32_t pid, uint64_t task, uint32_t tid,
				struct ws_node_ref x, uint64_t x_opened_ns, uint64_t answer_ns,
				uint64_t answered_ns, uint64_t prev_task, uint64_t prev_answer_ns)
{
	struct ws_actor *a = task ? ws_actor_get(p->actors, pid, 0, task, answer_ns, false, NULL) : NULL;

	if (!a)
		return;
	if (a->n_deferred)
		answer_deferred(p, a, tid, x, x_opened_ns, answer_ns, answered_ns,
				prev_task != task ? prev_answer_ns : 0);
	if (!a->n_deferred)
		ws_actor_release(p->actors, a);   /* tasks come and go by the thousand */
}

/* The answer rule proper, for a thread or a task (a) that began, on thread tid, the
 * answer to x. shared_after: another actor answered on x's connection then (0: none). */
static void answer_deferred(struct ws_parentage *p, struct ws_actor *a, uint32_t tid, struct ws_node_ref x,
			    uint64_t x_opened_ns, uint64_t answer_ns, uint64_t answered_ns, uint64_t shared_after)
{
	uint8_t keep = 0, how = ws_how(a->goid ? WS_PROV_TASK : WS_PROV_ANSWER);

	for (uint8_t i = 0; i < a->n_deferred; i++) {
		struct ws_deferred *e = &a->deferred[i];
		uint8_t why = WS_WHY_NONE;

		if (!ws_ctx_is_deferred(p->ctx, e->ref))
			continue;
		if (e->start_ns > answered_ns) {
			a->deferred[keep++] = *e;   /* made after this answer: the next one decides */
			continue;
		}
		if (!e->end_ns || e->resp_tid != tid || e->end_ns > answer_ns || e->start_ns >= answer_ns)
			why = WS_WHY_ANSWER_ASYNC;   /* not made and waited for by this thread before it began to answer */
		else if (x_opened_ns > e->start_ns)
			why = WS_WHY_ANSWER_EARLY;   /* the request answered came after the call */
		else if (shared_after > e->start_ns)
			why = WS_WHY_TASK_SHARED;    /* someone else answered on that connection since
						      * the call (or may have: earlier answers unknown) */
		ws_ctx_explain(p->ctx, e->ref, how, why);
		if (why != WS_WHY_NONE) {
			p->st.why[why]++;
			ws_ctx_make_root(p->ctx, e->ref, WS_RULE_ROOT);
		} else {
			p->st.won[how - 1]++;
			ws_ctx_parent_local(p->ctx, e->ref, x, WS_RULE_IN_PROCESS);
		}
	}
	a->n_deferred = keep;
}

void ws_parentage_cause_of(struct ws_parentage *p, uint32_t pid, uint32_t tid, uint64_t ts, bool phase_known,
			   struct ws_cause *out)
{
	struct ws_call c = { .pid = pid, .tid = tid, .ts = ts, .phase_known = phase_known };
	struct ws_decision d = ws_parent_decide(p, &c, false);

	ws_cause_clear(out);
	out->loop_none = d.verdict == WS_VERDICT_NONE && d.why == WS_WHY_LOOP_NO_CAUSE;
	if (d.verdict == WS_VERDICT_PARENT) {
		ws_cause_read(out, d.parent, 0);
		out->tentative = d.tentative;   /* ws_parentage_connected, or see the caller */
	} else if (d.verdict == WS_VERDICT_AMBIGUOUS) {
		ws_cause_many(out);
	}
}

const char *ws_provider_name(enum ws_provider v)
{
	static const char *const names[WS_PROV__MAX] = {
		[WS_PROV_RUNTIME] = "runtime", [WS_PROV_CONNECT] = "connect", [WS_PROV_LOOP] = "loop",
		[WS_PROV_HANDOFF] = "handoff", [WS_PROV_THREAD] = "thread", [WS_PROV_FORK] = "fork",
		[WS_PROV_ANSWER] = "answer", [WS_PROV_TASK] = "task",
	};
	return v < WS_PROV__MAX ? names[v] : "none";
}

const char *ws_why_name(enum ws_why w)
{
	static const char *const names[WS_WHY__MAX] = {
		[WS_WHY_NONE] = "none",
		[WS_WHY_NO_EVIDENCE] = "no_evidence",
		[WS_WHY_THREAD_MANY] = "thread_serves_many",
		[WS_WHY_LOOP_MANY] = "loop_read_many",
		[WS_WHY_LOOP_NO_CAUSE] = "loop_no_cause",
		[WS_WHY_LOOP_TIMER_DUE] = "loop_timer_due",
		[WS_WHY_LOOP_TIMER_UNKNOWN] = "loop_timer_unknown",
		[WS_WHY_POOL_REUSE] = "pool_reuse",
		[WS_WHY_CONNECT_MANY] = "connect_many",
		[WS_WHY_HANDOFF_MANY] = "handoff_many",
		[WS_WHY_HANDOFF_BUSY] = "handoff_busy",
		[WS_WHY_FORK_MANY] = "fork_many",
		[WS_WHY_RUNTIME_UNKNOWN] = "runtime_unknown",
		[WS_WHY_CONFLICT] = "conflict",
		[WS_WHY_TABLE_FULL] = "table_full",
		[WS_WHY_ANSWERED] = "cause_answered",
		[WS_WHY_ANSWER_EARLY] = "answer_early",
		[WS_WHY_ANSWER_ASYNC] = "answer_async",
		[WS_WHY_ANSWER_FULL] = "answer_full",
		[WS_WHY_ANSWER_NOT_NEXT] = "answer_not_next",
		[WS_WHY_ANSWER_MANY] = "answer_many",
		[WS_WHY_LOOP_AFTER_READS] = "loop_after_reads",
		[WS_WHY_CONNECT_NO_CAUSE] = "connect_no_cause",
		[WS_WHY_LOOP_CONNECTED] = "loop_connected_earlier",
		[WS_WHY_TASK_SHARED] = "task_shared",
	};
	return w < WS_WHY__MAX ? names[w] : "unknown";
}

void ws_parentage_explain(struct ws_span *s, uint8_t rule, uint8_t how, uint8_t why)
{
	const char *reason = NULL;

	if (rule == WS_RULE_IN_PROCESS) {
		ws_span_add_str(s, "wirespan.parent.rule",
				how ? ws_provider_name((enum ws_provider)(how - 1)) : "in_process");
		return;
	}
	ws_span_add_str(s, "wirespan.parent.rule", ws_parent_rule_name((enum ws_parent_rule)rule));
	if (rule != WS_RULE_ROOT && rule != WS_RULE_ROOT_AMBIGUOUS)
		return;
	if (why)
		reason = ws_why_name((enum ws_why)why);
	else if (how == ws_how(WS_PROV_ANSWER) || how == ws_how(WS_PROV_TASK))
		reason = "answer_unseen";   /* deferred, and no answer came in time */
	if (reason)
		ws_span_add_str(s, "wirespan.parent.root_reason", reason);
}

void ws_parentage_report(const struct ws_parentage *p, FILE *out)
{
	fprintf(out, "  parentage_decisions %" PRIu64 "\n", p->st.decisions);
	fprintf(out, "  parentage_deferred %" PRIu64 "\n", p->st.deferred);
	fprintf(out, "  parentage_loop_tentative %" PRIu64 "\n", p->st.tentative);
	fprintf(out, "  parentage_loop_tentative_confirmed %" PRIu64 "\n", p->st.tentative_confirmed);
	fprintf(out, "  parentage_loop_tentative_full %" PRIu64 "\n", p->st.tentative_full);
	for (int v = 0; v < WS_PROV__MAX; v++)
		fprintf(out, "  parentage_by_%s %" PRIu64 "\n", ws_provider_name((enum ws_provider)v), p->st.won[v]);
	for (int w = WS_WHY_NO_EVIDENCE; w < WS_WHY__MAX; w++)
		fprintf(out, "  parentage_root_%s %" PRIu64 "\n", ws_why_name((enum ws_why)w), p->st.why[w]);
	/* Why calls were left to the answer rule (each is then decided or rooted above). */
	for (int w = WS_WHY_NO_EVIDENCE; w < WS_WHY__MAX; w++)
		if (p->st.deferred_why[w])
			fprintf(out, "  parentage_deferred_%s %" PRIu64 "\n", ws_why_name((enum ws_why)w),
				p->st.deferred_why[w]);
}
