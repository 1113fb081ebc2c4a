/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Goroutine ancestry and pending net/http calls (rt_go.h). Both are the same small
 * structure: a fixed pool of entries keyed by (pid, u64), chained in a power-of-two
 * hash, kept in least-recently-used order so a full pool gives up its stalest entry.
 */
#include "rt_go.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

struct ent {
	uint64_t key;      /* goid (ancestry) or fd (calls) */
	uint64_t val;      /* parent goid, or the calling goid */
	uint64_t ts;
	uint32_t pid;
	uint32_t hnext;    /* hash chain */
	uint32_t prev, next; /* LRU list: head = most recent; free entries chained by next */
	bool used;
};

struct tab {
	struct ent *e;
	uint32_t *bucket;
	uint32_t cap, mask;
	uint32_t head, tail, free;
	uint32_t fresh;     /* entries from here on were never used (free, untouched) */
};

struct ws_go {
	struct ws_go_config cfg;
	struct tab anc, calls;
	struct ws_go_stats st;
};

static uint32_t hash(uint32_t pid, uint64_t key)
{
	uint64_t h = (key ^ ((uint64_t)pid << 32 | pid)) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32);
}

static int tab_init(struct tab *t, uint32_t cap)
{
	uint32_t nb = 1;

	while (nb < cap && nb < (1u << 30))
		nb <<= 1;
	t->e = calloc(cap, sizeof(*t->e));
	t->bucket = malloc(nb * sizeof(*t->bucket));
	if (!t->e || !t->bucket)
		return -ENOMEM;
	t->cap = cap;
	t->mask = nb - 1;
	for (uint32_t i = 0; i < nb; i++)
		t->bucket[i] = NIL;
	/* Entries are taken from the free list, then from the never used ones: a table
	 * that is not chained through at start stays untouched (not resident) until used. */
	t->free = NIL;
	t->fresh = 0;
	t->head = t->tail = NIL;
	return 0;
}

static void tab_fini(struct tab *t)
{
	free(t->e);
	free(t->bucket);
}

static void lru_unlink(struct tab *t, uint32_t i)
{
	struct ent *x = &t->e[i];

	if (x->prev != NIL)
		t->e[x->prev].next = x->next;
	else
		t->head = x->next;
	if (x->next != NIL)
		t->e[x->next].prev = x->prev;
	else
		t->tail = x->prev;
}

static void lru_push(struct tab *t, uint32_t i)
{
	struct ent *x = &t->e[i];

	x->prev = NIL;
	x->next = t->head;
	if (t->head != NIL)
		t->e[t->head].prev = i;
	t->head = i;
	if (t->tail == NIL)
		t->tail = i;
}

static uint32_t tab_find(const struct tab *t, uint32_t pid, uint64_t key)
{
	for (uint32_t i = t->bucket[hash(pid, key) & t->mask]; i != NIL; i = t->e[i].hnext)
		if (t->e[i].pid == pid && t->e[i].key == key)
			return i;
	return NIL;
}

static void tab_remove(struct tab *t, uint32_t i)
{
	uint32_t *pp = &t->bucket[hash(t->e[i].pid, t->e[i].key) & t->mask];

	while (*pp != i)
		pp = &t->e[*pp].hnext;
	*pp = t->e[i].hnext;
	lru_unlink(t, i);
	t->e[i].used = false;
	t->e[i].next = t->free;
	t->free = i;
}

/* The entry for (pid, key), created when missing; *evicted tells whether the least
 * recently used entry had to go to make room. */
static uint32_t tab_put(struct tab *t, uint32_t pid, uint64_t key, bool *existed, bool *evicted)
{
	uint32_t i = tab_find(t, pid, key), b;

	*existed = i != NIL;
	*evicted = false;
	if (i != NIL) {
		lru_unlink(t, i);
		lru_push(t, i);
		return i;
	}
	if (t->free == NIL && t->fresh < t->cap) {
		i = t->fresh++;
	} else {
		if (t->free == NIL) {
			tab_remove(t, t->tail);
			*evicted = true;
		}
		i = t->free;
		t->free = t->e[i].next;
	}
	t->e[i].pid = pid;
	t->e[i].key = key;
	t->e[i].used = true;
	b = hash(pid, key) & t->mask;
	t->e[i].hnext = t->bucket[b];
	t->bucket[b] = i;
	lru_push(t, i);
	return i;
}

static void tab_forget_pid(struct tab *t, uint32_t pid)
{
	for (uint32_t i = 0; i < t->fresh; i++)
		if (t->e[i].used && t->e[i].pid == pid)
			tab_remove(t, i);
}

struct ws_go *ws_go_new(const struct ws_go_config *cfg)
{
	struct ws_go *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	if (cfg)
		g->cfg = *cfg;
	if (!g->cfg.max_goroutines)
		g->cfg.max_goroutines = WS_GO_DEFAULT_GOROUTINES;
	if (!g->cfg.max_calls)
		g->cfg.max_calls = WS_GO_DEFAULT_CALLS;
	if (!g->cfg.call_ttl_ns)
		g->cfg.call_ttl_ns = WS_GO_DEFAULT_CALL_TTL_NS;
	if (tab_init(&g->anc, g->cfg.max_goroutines) || tab_init(&g->calls, g->cfg.max_calls)) {
		ws_go_free(g);
		return NULL;
	}
	return g;
}

void ws_go_free(struct ws_go *g)
{
	if (!g)
		return;
	tab_fini(&g->anc);
	tab_fini(&g->calls);
	free(g);
}

void ws_go_spawn(struct ws_go *g, uint32_t pid, uint64_t parent, uint64_t child, uint64_t now_ns)
{
	bool existed, evicted;
	uint32_t i;

	/* goid 0 is g0/gsignal: no goroutine to follow; a self-parent would loop. */
	if (!g || !parent || !child || parent == child)
		return;
	i = tab_put(&g->anc, pid, child, &existed, &evicted);
	g->anc.e[i].val = parent;
	g->anc.e[i].ts = now_ns;
	g->st.spawns++;
	if (evicted)
		g->st.spawns_evicted++;
}

void ws_go_call(struct ws_go *g, uint32_t pid, int32_t fd, uint64_t goid, uint64_t now_ns)
{
	bool existed, evicted;
	uint32_t i;

	if (!g || fd < 0 || !goid)
		return;
	i = tab_put(&g->calls, pid, (uint64_t)(uint32_t)fd, &existed, &evicted);
	g->calls.e[i].val = goid;
	g->calls.e[i].ts = now_ns;
	g->st.calls++;
	if (existed)
		g->st.calls_replaced++;
	if (evicted)
		g->st.calls_evicted++;
}

bool ws_go_take_call(struct ws_go *g, uint32_t pid, int32_t fd, uint64_t now_ns, uint64_t *goid)
{
	uint32_t i;
	bool fresh;

	if (!g || fd < 0)
		return false;
	i = tab_find(&g->calls, pid, (uint64_t)(uint32_t)fd);
	if (i == NIL)
		return false;
	/* A call recorded "after" now (records from two CPUs out of order) is still the
	 * pending one; only age beyond the bound makes it stale. */
	fresh = now_ns < g->calls.e[i].ts || now_ns - g->calls.e[i].ts <= g->cfg.call_ttl_ns;
	if (fresh) {
		if (goid)
			*goid = g->calls.e[i].val;
		g->st.calls_taken++;
	} else {
		g->st.calls_expired++;
	}
	tab_remove(&g->calls, i);
	return fresh;
}

void ws_go_drop_call(struct ws_go *g, uint32_t pid, int32_t fd)
{
	uint32_t i;

	if (!g || fd < 0)
		return;
	i = tab_find(&g->calls, pid, (uint64_t)(uint32_t)fd);
	if (i == NIL)
		return;
	tab_remove(&g->calls, i);
	g->st.calls_dropped++;
}

size_t ws_go_lineage(struct ws_go *g, uint32_t pid, uint64_t goid, uint64_t *out, size_t max)
{
	size_t n = 0;

	if (!g || !goid || !out || !max)
		return 0;
	out[n++] = goid;
	while (n < max) {
		uint32_t i = tab_find(&g->anc, pid, goid);

		if (i == NIL)
			break;
		/* Used ancestry stays: a serving goroutine's parent chain is asked for
		 * again with each request it makes. */
		lru_unlink(&g->anc, i);
		lru_push(&g->anc, i);
		goid = g->anc.e[i].val;
		/* goids are not ordered by age (each P hands them out from its own batch),
		 * so a loop from corrupt records is caught by looking back instead. */
		for (size_t k = 0; k < n; k++)
			if (out[k] == goid)
				return n;
		out[n++] = goid;
	}
	return n;
}

void ws_go_forget_pid(struct ws_go *g, uint32_t pid)
{
	if (!g)
		return;
	tab_forget_pid(&g->anc, pid);
	tab_forget_pid(&g->calls, pid);
}

int ws_go_record(struct ws_go *g, const void *data, size_t size)
{
	const struct ws_rt_event *e = data;

	if (!g || !data || size < sizeof(*e) || e->hdr.type != WS_EV_RT || e->hdr.size < sizeof(*e))
		goto bad;
	switch (e->kind) {
	case WS_RT_GO_SPAWN:
		ws_go_spawn(g, e->pid, e->ctx, e->other, e->hdr.ts_ns);
		return 0;
	case WS_RT_GO_CALL:
		ws_go_call(g, e->pid, e->fd, e->ctx, e->hdr.ts_ns);
		return 0;
	default:
		break;
	}
bad:
	if (g)
		g->st.rt_malformed++;
	return -EINVAL;
}

void ws_go_get_stats(const struct ws_go *g, struct ws_go_stats *out)
{
	if (g && out)
		*out = g->st;
}
