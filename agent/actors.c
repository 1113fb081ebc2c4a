/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Actors and processes for the parentage rules: see actors.h. */
#include "actors.h"

#include <stdlib.h>
#include <string.h>

/* Two tables of the same shape (hash chains + LRU list, oldest at the tail). Only idle
 * entries holding nothing are dropped: an actor that is serving requests is never
 * evicted, because a thread that forgot what it serves would look like one serving
 * nothing, and a later rule could then guess. A full table refuses new entries instead
 * (counted), and the rules read that as ambiguous. */
struct ws_actors {
	struct ws_actor **abuckets;
	uint32_t amask;
	uint32_t amax;
	struct ws_actor *alru_head, *alru_tail;
	struct ws_proc **pbuckets;
	uint32_t pmask;
	uint32_t pmax;
	struct ws_proc *plru_head, *plru_tail;
	uint64_t idle_ns;
	struct ws_actor_stats st;
};

static uint32_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xbf58476d1ce4e5b9ULL;

	h ^= h >> 31;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 29;
	return (uint32_t)h;
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;

	while (p < n && p < (1u << 24))
		p <<= 1;
	return p;
}

struct ws_actors *ws_actors_new(uint32_t max_actors, uint32_t max_procs, uint64_t idle_ns)
{
	struct ws_actors *t = calloc(1, sizeof(*t));
	uint32_t na, np;

	if (!t)
		return NULL;
	t->amax = max_actors ? max_actors : 65536;
	t->pmax = max_procs ? max_procs : 16384;
	na = pow2_at_least(t->amax);
	np = pow2_at_least(t->pmax);
	t->abuckets = calloc(na, sizeof(*t->abuckets));
	t->pbuckets = calloc(np, sizeof(*t->pbuckets));
	if (!t->abuckets || !t->pbuckets) {
		ws_actors_free(t);
		return NULL;
	}
	t->amask = na - 1;
	t->pmask = np - 1;
	t->idle_ns = idle_ns ? idle_ns : 60ULL * 1000000000ULL;
	return t;
}

void ws_actors_free(struct ws_actors *t)
{
	if (!t)
		return;
	while (t->alru_head) {
		struct ws_actor *a = t->alru_head;

		t->alru_head = a->lru_next;
		free(a);
	}
	while (t->plru_head) {
		struct ws_proc *p = t->plru_head;

		t->plru_head = p->lru_next;
		free(p);
	}
	free(t->abuckets);
	free(t->pbuckets);
	free(t);
}

/* ---- LRU lists (one pair of helpers per table, written out: the types differ) ---- */

#define LRU_UNLINK(head, tail, e)                              \
	do {                                                   \
		if ((e)->lru_prev)                             \
			(e)->lru_prev->lru_next = (e)->lru_next; \
		else                                           \
			(head) = (e)->lru_next;                \
		if ((e)->lru_next)                             \
			(e)->lru_next->lru_prev = (e)->lru_prev; \
		else                                           \
			(tail) = (e)->lru_prev;                \
		(e)->lru_prev = (e)->lru_next = NULL;          \
	} while (0)

#define LRU_PUSH(head, tail, e)                                \
	do {                                                   \
		(e)->lru_prev = NULL;                          \
		(e)->lru_next = (head);                        \
		if (head)                                      \
			(head)->lru_prev = (e);                \
		(head) = (e);                                  \
		if (!(tail))                                   \
			(tail) = (e);                          \
	} while (0)

/* ---- actors ---------------------------------------------------------------------- */

static struct ws_actor **actor_slot(struct ws_actors *t, uint32_t pid, uint32_t tid, uint64_t goid)
{
	struct ws_actor **pp = &t->abuckets[mix(((uint64_t)pid << 32) | tid, goid) & t->amask];

	while (*pp && ((*pp)->pid != pid || (*pp)->tid != tid || (*pp)->goid != goid))
		pp = &(*pp)->hnext;
	return pp;
}

static void actor_remove(struct ws_actors *t, struct ws_actor *a)
{
	struct ws_actor **pp = actor_slot(t, a->pid, a->tid, a->goid);

	if (*pp == a)
		*pp = a->hnext;
	LRU_UNLINK(t->alru_head, t->alru_tail, a);
	free(a);
	t->st.actors_active--;
}

struct ws_actor *ws_actor_get(struct ws_actors *t, uint32_t pid, uint32_t tid, uint64_t goid,
			      uint64_t now_ns, bool create, bool *full)
{
	struct ws_actor **pp = actor_slot(t, pid, tid, goid);
	struct ws_actor *a = *pp;

	if (full)
		*full = false;
	if (a) {
		a->last_ns = now_ns;
		if (t->alru_head != a) {
			LRU_UNLINK(t->alru_head, t->alru_tail, a);
			LRU_PUSH(t->alru_head, t->alru_tail, a);
		}
		return a;
	}
	if (!create)
		return NULL;
	if (t->st.actors_active >= t->amax) {
		ws_actors_tick(t, now_ns);
		pp = actor_slot(t, pid, tid, goid);
	}
	if (t->st.actors_active >= t->amax || !(a = calloc(1, sizeof(*a)))) {
		t->st.actors_full++;
		if (full)
			*full = true;
		return NULL;
	}
	a->pid = pid;
	a->tid = tid;
	a->goid = goid;
	a->last_ns = now_ns;
	a->batch_cause.idx = WS_NODE_NONE;
	*pp = a;
	LRU_PUSH(t->alru_head, t->alru_tail, a);
	t->st.actors_opened++;
	t->st.actors_active++;
	return a;
}

static void proc_remove(struct ws_actors *t, struct ws_proc *p);
static struct ws_proc **proc_slot(struct ws_actors *t, uint32_t pid);

void ws_actor_exit(struct ws_actors *t, uint32_t pid, uint32_t tid)
{
	struct ws_actor *a = *actor_slot(t, pid, tid, 0);

	if (a) {
		t->st.actors_exited++;
		actor_remove(t, a);
	}
	/* The main thread's exit is (almost always) the process's: short-lived children
	 * (a curl per request) must not fill the table until they age out. A process whose
	 * other threads live on is simply met again (its runtime asked again). */
	if (tid == pid) {
		struct ws_proc *p = *proc_slot(t, pid);

		if (p && p->open_server == 0) {
			t->st.procs_exited++;
			proc_remove(t, p);
		}
	}
}

void ws_actor_release(struct ws_actors *t, struct ws_actor *a)
{
	if (a->goid && a->n_serving == 0) {
		t->st.actors_expired++;
		actor_remove(t, a);
	}
}

void ws_actor_serve(struct ws_actors *t, struct ws_actor *a, struct ws_node_ref ref)
{
	a->n_serving++;
	if (a->n_refs < WS_ACTOR_SERVING)
		a->serving[a->n_refs++] = ref;
	else
		t->st.serving_overflow++;
}

void ws_actor_unserve(struct ws_actors *t, struct ws_actor *a, struct ws_node_ref ref)
{
	(void)t;
	for (uint32_t i = 0; i < a->n_refs; i++) {
		if (a->serving[i].idx == ref.idx && a->serving[i].gen == ref.gen) {
			a->serving[i] = a->serving[--a->n_refs];
			break;
		}
	}
	/* A request it could not name still counts: only when all are answered does the
	 * actor read as serving nothing again. */
	if (a->n_serving)
		a->n_serving--;
}

/* ---- causes ----------------------------------------------------------------------- */

void ws_cause_read(struct ws_cause *c, struct ws_node_ref ref, uint64_t via_sock)
{
	switch (c->state) {
	case WS_CAUSE_ONE:
		if (c->ref.idx == ref.idx && c->ref.gen == ref.gen) {
			c->via_sock = c->via_sock && via_sock ? c->via_sock : 0;
			return;           /* more bytes of the same request */
		}
		if (!c->egress_since) {
			/* Two requests read with nothing written in between: what the
			 * actor writes next may belong to either. */
			ws_cause_many(c);
			return;
		}
		break;
	case WS_CAUSE_MANY:
		return;   /* stays ambiguous until the batch (or hand-off) ends */
	default:
		break;
	}
	c->state = WS_CAUSE_ONE;
	c->ref = ref;
	c->via_sock = via_sock;
	c->egress_since = false;
}

void ws_cause_read_next(struct ws_cause *c, struct ws_node_ref ref, uint64_t via_sock)
{
	if (c->state == WS_CAUSE_ONE && c->ref.idx == ref.idx && c->ref.gen == ref.gen) {
		c->via_sock = c->via_sock && via_sock ? c->via_sock : 0;
		return;   /* more bytes of the same request */
	}
	c->state = WS_CAUSE_ONE;
	c->ref = ref;
	c->via_sock = via_sock;
	c->egress_since = false;
}

void ws_actor_batch_begin(struct ws_actor *a)
{
	a->batch_mixed = false;
	a->batch_cause.idx = WS_NODE_NONE;
	a->batch_cause.gen = 0;
}

void ws_actor_batch_read(struct ws_actor *a, bool foreign)
{
	const struct ws_cause *c = &a->loop_cause;

	if (foreign || c->state != WS_CAUSE_ONE || !ws_node_ref_valid(c->ref)) {
		a->batch_mixed = true;
		return;
	}
	if (!ws_node_ref_valid(a->batch_cause))
		a->batch_cause = c->ref;
	else if (a->batch_cause.idx != c->ref.idx || a->batch_cause.gen != c->ref.gen)
		a->batch_mixed = true;
}

void ws_cause_clear(struct ws_cause *c)
{
	memset(c, 0, sizeof(*c));
	c->ref.idx = WS_NODE_NONE;
}

void ws_cause_many(struct ws_cause *c)
{
	c->state = WS_CAUSE_MANY;
	c->ref.idx = WS_NODE_NONE;
	c->via_sock = 0;
}

/* ---- processes --------------------------------------------------------------------- */

static struct ws_proc **proc_slot(struct ws_actors *t, uint32_t pid)
{
	struct ws_proc **pp = &t->pbuckets[mix(pid, 0) & t->pmask];

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->hnext;
	return pp;
}

static void proc_remove(struct ws_actors *t, struct ws_proc *p)
{
	struct ws_proc **pp = proc_slot(t, p->pid);

	if (*pp == p)
		*pp = p->hnext;
	LRU_UNLINK(t->plru_head, t->plru_tail, p);
	free(p);
	t->st.procs_active--;
}

struct ws_proc *ws_proc_get(struct ws_actors *t, uint32_t pid, uint64_t now_ns, bool create, bool *full)
{
	struct ws_proc **pp = proc_slot(t, pid);
	struct ws_proc *p = *pp;

	if (full)
		*full = false;
	if (p) {
		p->last_ns = now_ns;
		if (t->plru_head != p) {
			LRU_UNLINK(t->plru_head, t->plru_tail, p);
			LRU_PUSH(t->plru_head, t->plru_tail, p);
		}
		return p;
	}
	if (!create)
		return NULL;
	if (t->st.procs_active >= t->pmax) {
		ws_actors_tick(t, now_ns);
		pp = proc_slot(t, pid);
	}
	if (t->st.procs_active >= t->pmax || !(p = calloc(1, sizeof(*p)))) {
		t->st.procs_full++;
		if (full)
			*full = true;
		return NULL;
	}
	p->pid = pid;
	p->runtime = WS_RUNTIME_UNKNOWN;
	p->inherited.ref.idx = WS_NODE_NONE;
	p->last_ns = now_ns;
	*pp = p;
	LRU_PUSH(t->plru_head, t->plru_tail, p);
	t->st.procs_opened++;
	t->st.procs_active++;
	return p;
}

/* ---- expiry ------------------------------------------------------------------------- */

static bool actor_idle(const struct ws_actor *a)
{
	/* an answer-rule window or a tentative act holds a node */
	return a->n_serving == 0 && !a->back_set && !a->n_tent;
}

void ws_actors_tick(struct ws_actors *t, uint64_t now_ns)
{
	/* Oldest first; an entry still holding requests is skipped over (it is rare and
	 * its requests end or time out, after which it goes too). */
	struct ws_actor *a = t->alru_tail;

	while (a && now_ns > a->last_ns && now_ns - a->last_ns > t->idle_ns) {
		struct ws_actor *prev = a->lru_prev;

		if (actor_idle(a)) {
			t->st.actors_expired++;
			actor_remove(t, a);
		}
		a = prev;
	}
	struct ws_proc *p = t->plru_tail;

	while (p && now_ns > p->last_ns && now_ns - p->last_ns > t->idle_ns) {
		struct ws_proc *prev = p->lru_prev;

		if (p->open_server == 0) {
			t->st.procs_expired++;
			proc_remove(t, p);
		}
		p = prev;
	}
}

const struct ws_actor_stats *ws_actors_stats(const struct ws_actors *t)
{
	return &t->st;
}
