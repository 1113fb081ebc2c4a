/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "conn.h"
#include "pool.h"

#include <stdlib.h>
#include <string.h>

struct ws_conn_table {
	struct ws_conn **buckets;
	uint32_t mask;
	uint32_t max;
	uint64_t idle_ns;
	uint64_t close_grace_ns;
	/* LRU list: head = most recently active */
	struct ws_conn *lru_head, *lru_tail;
	/* closing connections; the grace period is constant, so deadlines are in order */
	struct ws_conn *close_head, *close_tail;
	ws_conn_fini_fn fini;
	void *fini_ctx;
	/* single-entry pending arrays (nearly every connection has at most one request
	 * pending): taken and given back once per request, reused instead of malloc'd */
	struct ws_pool pend_pool;
	struct ws_conn_stats st;
};

/* Free single-entry pending arrays kept for reuse: 1024 x 56 bytes. */
#define PEND_KEEP_FREE 1024

static uint32_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

struct ws_conn_table *ws_conn_table_new(uint32_t max_conns, uint64_t idle_ns, uint64_t close_grace_ns,
					ws_conn_fini_fn fini, void *fini_ctx)
{
	struct ws_conn_table *t = calloc(1, sizeof(*t));
	uint32_t nb = 1;

	if (!t)
		return NULL;
	t->max = max_conns ? max_conns : 16384;
	while (nb < t->max)
		nb <<= 1;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->mask = nb - 1;
	t->idle_ns = idle_ns;
	t->close_grace_ns = close_grace_ns;
	t->fini = fini;
	t->fini_ctx = fini_ctx;
	/* no limit of its own: at most one block per connection, and those are bounded */
	ws_pool_init(&t->pend_pool, sizeof(struct ws_conn_pending), 0, PEND_KEEP_FREE);
	return t;
}

/* Give c's pending array back (a pool block when it has one entry). */
static void pending_release(struct ws_conn_table *t, struct ws_conn *c)
{
	if (c->pending_cap == 1)
		ws_pool_put(&t->pend_pool, c->pending);
	else
		free(c->pending);
	c->pending = NULL;
	c->pending_cap = 0;
}

static void lru_unlink(struct ws_conn_table *t, struct ws_conn *c)
{
	if (c->lru_prev)
		c->lru_prev->lru_next = c->lru_next;
	else
		t->lru_head = c->lru_next;
	if (c->lru_next)
		c->lru_next->lru_prev = c->lru_prev;
	else
		t->lru_tail = c->lru_prev;
	c->lru_prev = c->lru_next = NULL;
}

static void lru_push_front(struct ws_conn_table *t, struct ws_conn *c)
{
	c->lru_prev = NULL;
	c->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = c;
	t->lru_head = c;
	if (!t->lru_tail)
		t->lru_tail = c;
}

struct ws_conn *ws_conn_find(struct ws_conn_table *t, uint64_t sock_id)
{
	struct ws_conn *c = t->buckets[hash64(sock_id) & t->mask];

	while (c && c->sock_id != sock_id)
		c = c->hnext;
	return c;
}

static void close_unlink(struct ws_conn_table *t, struct ws_conn *c)
{
	if (!c->closing)
		return;
	if (c->close_prev)
		c->close_prev->close_next = c->close_next;
	else
		t->close_head = c->close_next;
	if (c->close_next)
		c->close_next->close_prev = c->close_prev;
	else
		t->close_tail = c->close_prev;
	c->close_prev = c->close_next = NULL;
}

static void unlink_and_free(struct ws_conn_table *t, struct ws_conn *c, uint64_t now_ns)
{
	struct ws_conn **pp = &t->buckets[hash64(c->sock_id) & t->mask];

	if (t->fini)
		t->fini(t->fini_ctx, c, now_ns);
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	lru_unlink(t, c);
	close_unlink(t, c);
	if (c->ops && c->pst == c->pinline)
		c->ops->fini(c->pst);
	else if (c->ops && c->pst)
		c->ops->free(c->pst);
	free(c->det);
	free(c->pos);
	pending_release(t, c);
	free(c);
	t->st.active--;
}

static void touch(struct ws_conn_table *t, struct ws_conn *c, uint64_t now_ns)
{
	c->last_ns = now_ns;
	if (t->lru_head != c) {
		lru_unlink(t, c);
		lru_push_front(t, c);
	}
}

struct ws_conn *ws_conn_get(struct ws_conn_table *t, uint64_t sock_id, uint64_t now_ns, bool *created)
{
	struct ws_conn *c = ws_conn_find(t, sock_id);

	*created = false;
	if (c) {
		touch(t, c, now_ns);
		return c;
	}
	if (t->st.active >= t->max && t->lru_tail) {
		t->st.evicted++;
		unlink_and_free(t, t->lru_tail, now_ns);
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		t->st.alloc_fail++;
		return NULL;
	}
	c->sock_id = sock_id;
	c->last_ns = now_ns;
	uint32_t b = hash64(sock_id) & t->mask;
	c->hnext = t->buckets[b];
	t->buckets[b] = c;
	lru_push_front(t, c);
	t->st.opened++;
	t->st.active++;
	*created = true;
	return c;
}

struct ws_conn_pending *ws_conn_pending_add(struct ws_conn_table *t, struct ws_conn *c)
{
	struct ws_conn_pending *p;

	if (c->n_pending == c->pending_cap) {
		uint32_t cap = c->pending_cap ? c->pending_cap * 2 : 1;

		/* one entry: a pool block; more (pipelining): malloc'd */
		p = cap == 1 ? ws_pool_get(&t->pend_pool) : malloc(cap * sizeof(*p));
		if (!p)
			return NULL;
		if (c->n_pending)
			memcpy(p, c->pending, c->n_pending * sizeof(*p));
		pending_release(t, c);
		c->pending = p;
		c->pending_cap = cap;
	}
	p = &c->pending[c->n_pending++];
	memset(p, 0, sizeof(*p));
	return p;
}

void ws_conn_pending_trim(struct ws_conn_table *t, struct ws_conn *c)
{
	if (c->n_pending || !c->pending)
		return;
	pending_release(t, c);
}

const struct ws_pool_stats *ws_conn_pending_pool_stats(const struct ws_conn_table *t)
{
	return &t->pend_pool.st;
}

void ws_conn_remove(struct ws_conn_table *t, struct ws_conn *c, uint64_t now_ns)
{
	t->st.removed++;
	unlink_and_free(t, c, now_ns);
}

static bool tuple_equal(const struct ws_tuple *a, const struct ws_tuple *b)
{
	/* Field by field: _pad carries no meaning. */
	return a->sport == b->sport && a->dport == b->dport && a->family == b->family &&
	       memcmp(a->saddr, b->saddr, 16) == 0 && memcmp(a->daddr, b->daddr, 16) == 0;
}

static bool opens_connection(uint16_t syscall)
{
	return syscall == WS_SYS_ACCEPT || syscall == WS_SYS_ACCEPT4 || syscall == WS_SYS_CONNECT;
}

struct ws_conn *ws_conn_open(struct ws_conn_table *t, uint64_t sock_id, const struct ws_tuple *tuple,
			     uint16_t syscall, uint64_t now_ns, bool *created)
{
	struct ws_conn *c = ws_conn_find(t, sock_id);

	/* The common case, every data record: the same connection, one lookup. */
	if (c && !opens_connection(syscall) && tuple_equal(&c->tuple, tuple)) {
		*created = false;
		touch(t, c, now_ns);
		return c;
	}
	/* The kernel announces a connection once per socket it creates state for, so a
	 * second accept/connect open under one sock id is a later connection on a reused
	 * struct sock, whatever became of the first one; so is another tuple. Its tuple,
	 * parser state and pending requests must not carry over. */
	if (c) {
		if (c->closing) {
			/* Its end was seen; only the grace is cut short (the sock is reused,
			 * so no late record of it can follow). */
			t->st.closed++;
			unlink_and_free(t, c, now_ns);
		} else {
			/* Its end was never reported. */
			t->st.replaced++;
			ws_conn_remove(t, c, now_ns);
		}
	}
	c = ws_conn_get(t, sock_id, now_ns, created);
	if (c && *created)
		c->tuple = *tuple;
	return c;
}

void ws_conn_mark_closed(struct ws_conn_table *t, struct ws_conn *c, uint64_t now_ns)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_deadline = now_ns + t->close_grace_ns;
	c->close_next = NULL;
	c->close_prev = t->close_tail;
	if (t->close_tail)
		t->close_tail->close_next = c;
	else
		t->close_head = c;
	t->close_tail = c;
}

void ws_conn_unmark_closed(struct ws_conn_table *t, struct ws_conn *c)
{
	close_unlink(t, c);
	c->closing = false;
}

void ws_conn_table_tick(struct ws_conn_table *t, uint64_t now_ns)
{
	/* Closed entries wait in their own list, oldest first; idle ones are at the LRU
	 * tail. Each tick touches only what expires. */
	while (t->close_head && now_ns >= t->close_head->close_deadline) {
		t->st.closed++;
		unlink_and_free(t, t->close_head, now_ns);
	}
	while (t->lru_tail && now_ns > t->lru_tail->last_ns && now_ns - t->lru_tail->last_ns > t->idle_ns) {
		t->st.expired++;
		unlink_and_free(t, t->lru_tail, now_ns);
	}
}

void ws_conn_table_free(struct ws_conn_table *t, uint64_t now_ns)
{
	if (!t)
		return;
	while (t->lru_head)
		unlink_and_free(t, t->lru_head, now_ns);
	ws_pool_shrink(&t->pend_pool);
	free(t->buckets);
	free(t);
}

const struct ws_conn_stats *ws_conn_table_stats(const struct ws_conn_table *t)
{
	return &t->st;
}

void ws_conn_for_each(struct ws_conn_table *t, void (*fn)(void *ctx, struct ws_conn *c), void *ctx)
{
	for (struct ws_conn *c = t->lru_head; c; c = c->lru_next)
		fn(ctx, c);
}

struct ws_conn_pos *ws_conn_pos_get(struct ws_conn *c)
{
	if (!c->pos)
		c->pos = calloc(1, sizeof(*c->pos));
	return c->pos;
}
