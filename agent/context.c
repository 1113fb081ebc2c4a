/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Parentage graph: see context.h and docs/parentage.md. */
#include "context.h"
#include "pool.h"
#include "../headers/ws_derive.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum node_state { N_FREE = 0, N_OPEN, N_FINISHED, N_DONE };
enum node_wait { W_NONE = 0, W_LOCAL, W_PEER, W_DEFER };

struct node {
	uint32_t gen;
	uint8_t state;          /* enum node_state */
	uint8_t rule;           /* enum ws_parent_rule once decided, WS_RULE_NONE before */
	uint8_t wait;           /* enum node_wait while undecided */
	uint8_t pending_rule;   /* the rule a W_LOCAL wait resolves to (THREAD or SEQ) */
	uint8_t flags;          /* W3C trace flags */
	bool parent_remote;
	bool holds_parent;      /* counted in its parent's waiters */
	bool abandoned;         /* dropped before it became a span: parents nothing */
	bool named;             /* a child has named it as parent */
	bool hidden;            /* kept for bookkeeping, never emitted: its children see through
				 * it to its own parent (ws_ctx_hide) */
	bool from_connect;      /* CLIENT: its span starts at its connection's connect() */
	bool has_peer_key;      /* SERVER: peer_key names the client bytes it read */
	uint32_t owner;         /* process of the span (ws_ctx_set_owner), 0 unknown */
	bool forced;            /* forced_trace is the trace its span must be in (ws_ctx_force_ids) */
	bool derived;           /* derived_trace is its trace id if it becomes a root */
	uint8_t forced_trace[16];
	uint8_t derived_trace[16];
	uint8_t how, how_why;   /* ws_ctx_explain: the caller's codes, given back at emit */
	uint32_t waiters;       /* children waiting on this node's decision */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8];
	struct ws_node_ref parent;      /* W_LOCAL */
	struct ws_seq_key peer_key;     /* W_PEER */
	uint32_t index_slot;            /* its entry in the client index, or WS_NODE_NONE */
	uint32_t prev, next;            /* list of nodes in use */
	uint64_t wait_deadline;
	uint64_t opened_ns;
	uint64_t start_mono, end_mono;
	struct ws_span *span;
};

/* One client request in the rule-3 index. While its node lives the entry points at it;
 * when the node goes, its decided identity is copied here, so a late server lookup
 * still links. Entries are reused in ring order. */
struct index_entry {
	struct ws_seq_key key;
	struct ws_node_ref node;        /* invalid once the node is gone */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags;
	bool used;
	bool decided;                   /* identity valid (node gone after a decision) */
	bool hidden;                    /* the client was never emitted: link to its parent */
	uint8_t parent_span_id[8];      /* ... which is this (zero: none) */
	bool poisoned;                  /* two clients claimed this key: use neither */
	bool from_connect;              /* the client's span starts at its connect() */
	uint32_t next;                  /* hash chain */
};

#define EMIT_BATCH 256
/* Released spans kept for reuse: at least this many, and up to a quarter of the span
 * table (less after a quiet spell: ws_ctx_trim). Spans go back in bursts (a tick emits every span whose wait ended since the
 * last one, ~rate x 100 ms of them): a free list shorter than a burst sends most of it
 * to free() and the next 100 ms of requests to malloc(). */
#define SPAN_POOL_MIN 256
#define MAX_DEPTH 64

struct ws_ctx {
	struct ws_ctx_config cfg;
	struct node *nodes;
	uint32_t free_head;
	uint32_t fresh_node;            /* nodes from here on were never used (free, untouched) */
	uint32_t used_head;             /* list of nodes in use */
	struct index_entry *index;
	uint32_t index_next;            /* next ring slot to (re)use */
	uint32_t *buckets;
	uint32_t bucket_mask;
	uint64_t rng[4];
	uint64_t derive_key[2];         /* headers/ws_derive.h, shared with the kernel */
	struct ws_pool span_pool;
	uint64_t reclaim_at_opened;     /* no pressure walk before opens tried reach this */
	uint64_t last_walk_ns;          /* time of the last walk (tick or reclaim) */
	struct ws_ctx_stats st;
};

static uint64_t span_pool_max(const struct ws_ctx *c)
{
	return c->cfg.max_nodes / 4 > SPAN_POOL_MIN ? c->cfg.max_nodes / 4 : SPAN_POOL_MIN;
}

/* ---- ids ---------------------------------------------------------------- */

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: fast, good enough for trace ids (W3C asks for randomness, not secrecy). */
static uint64_t rng_next(struct ws_ctx *c)
{
	uint64_t *s = c->rng;
	uint64_t r = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void ws_ctx_random_id(struct ws_ctx *c, uint8_t *out, size_t n)
{
	do {
		for (size_t i = 0; i < n; i += 8) {
			uint64_t v = rng_next(c);
			size_t k = n - i < 8 ? n - i : 8;

			memcpy(out + i, &v, k);
		}
	} while (ws_id_is_zero(out, n));
}

/* ---- nodes ------------------------------------------------------------------ */

static struct node *get(struct ws_ctx *c, struct ws_node_ref r)
{
	if (r.idx >= c->cfg.max_nodes)
		return NULL;
	struct node *n = &c->nodes[r.idx];
	return n->gen == r.gen && n->state != N_FREE ? n : NULL;
}

static struct ws_span *span_alloc(struct ws_ctx *c)
{
	struct ws_span *s = ws_pool_get(&c->span_pool);

	if (s) {
		/* attrs/arena/events/links are only read up to their counts */
		memset(s, 0, offsetof(struct ws_span, attrs));
		s->n_events = 0;
		s->n_links = 0;
	}
	return s;
}

static void span_release(struct ws_ctx *c, struct ws_span *s)
{
	if (!s)
		return;
	ws_resource_unref(s->res);
	s->res = NULL;
	ws_pool_put(&c->span_pool, s);
}

/* ---- index of client requests (rule 3) ------------------------------------ */

static uint32_t key_hash(const struct ws_seq_key *k)
{
	/* Five 64-bit words, multiply-rotate mixed, then a final avalanche: the key has
	 * no padding (asserted below) and differs mostly in its last word (the seq). */
	uint64_t w[5], h = 0x9e3779b97f4a7c15ULL;

	memcpy(w, k, sizeof(w));
	for (int i = 0; i < 5; i++)
		h = rotl((h ^ w[i]) * 0xbf58476d1ce4e5b9ULL, 29);
	h ^= h >> 32;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 29;
	return (uint32_t)h;
}
_Static_assert(sizeof(struct ws_seq_key) == 40, "ws_seq_key must have no padding");

static void index_unlink(struct ws_ctx *c, uint32_t slot)
{
	struct index_entry *e = &c->index[slot];
	uint32_t *pp = &c->buckets[key_hash(&e->key) & c->bucket_mask];

	while (*pp != WS_NODE_NONE) {
		if (*pp == slot) {
			*pp = e->next;
			break;
		}
		pp = &c->index[*pp].next;
	}
	/* a live node pointing here loses its entry */
	struct node *n = get(c, e->node);
	if (n && n->index_slot == slot)
		n->index_slot = WS_NODE_NONE;
	e->used = false;
	e->next = WS_NODE_NONE;
}

static uint32_t index_find(struct ws_ctx *c, const struct ws_seq_key *k)
{
	uint32_t i = c->buckets[key_hash(k) & c->bucket_mask];

	while (i != WS_NODE_NONE) {
		if (memcmp(&c->index[i].key, k, sizeof(*k)) == 0)
			return i;
		i = c->index[i].next;
	}
	return WS_NODE_NONE;
}

/* The node leaves: keep its decided identity in its index entry. */
static void index_detach(struct ws_ctx *c, struct node *n)
{
	struct index_entry *e;

	if (n->index_slot == WS_NODE_NONE)
		return;
	e = &c->index[n->index_slot];
	n->index_slot = WS_NODE_NONE;
	e->node.idx = WS_NODE_NONE;
	if (n->rule) {
		memcpy(e->trace_id, n->trace_id, 16);
		memcpy(e->span_id, n->span_id, 8);
		e->flags = n->flags;
		e->decided = true;
		e->hidden = n->hidden;
		memcpy(e->parent_span_id, n->parent_span_id, 8);
	}
}

static void list_del(struct ws_ctx *c, uint32_t idx)
{
	struct node *n = &c->nodes[idx];

	if (n->prev != WS_NODE_NONE)
		c->nodes[n->prev].next = n->next;
	else
		c->used_head = n->next;
	if (n->next != WS_NODE_NONE)
		c->nodes[n->next].prev = n->prev;
}

static void release_parent(struct ws_ctx *c, struct node *n)
{
	struct node *p;

	if (!n->holds_parent)
		return;
	n->holds_parent = false;
	p = get(c, n->parent);
	if (p && p->waiters)
		p->waiters--;
}

static void node_free(struct ws_ctx *c, uint32_t idx)
{
	struct node *n = &c->nodes[idx];

	index_detach(c, n);
	release_parent(c, n);
	span_release(c, n->span);
	n->span = NULL;
	list_del(c, idx);
	n->state = N_FREE;
	n->gen++;
	n->next = c->free_head;
	c->free_head = idx;
	c->st.nodes_in_use--;
}

struct ws_ctx *ws_ctx_new(const struct ws_ctx_config *cfg)
{
	struct ws_ctx *c = calloc(1, sizeof(*c));
	uint32_t nb = 1;

	if (!c)
		return NULL;
	c->cfg = *cfg;
	if (c->cfg.tick_ns == 0)
		c->cfg.tick_ns = 100 * 1000000ULL;
	if (c->cfg.max_nodes == 0 || c->cfg.max_nodes >= WS_NODE_NONE)
		c->cfg.max_nodes = 16384;
	if (c->cfg.index_slots == 0 || c->cfg.index_slots >= WS_NODE_NONE)
		c->cfg.index_slots = 4 * c->cfg.max_nodes;
	while (nb < c->cfg.index_slots)
		nb <<= 1;
	/* no limit of its own: a span is always a node's, and nodes are max_nodes */
	ws_pool_init(&c->span_pool, sizeof(struct ws_span), 0, span_pool_max(c));
	c->nodes = calloc(c->cfg.max_nodes, sizeof(*c->nodes));
	c->index = calloc(c->cfg.index_slots, sizeof(*c->index));
	c->buckets = malloc(nb * sizeof(*c->buckets));
	if (!c->nodes || !c->index || !c->buckets) {
		ws_ctx_free(c);
		return NULL;
	}
	c->bucket_mask = nb - 1;
	for (uint32_t i = 0; i < nb; i++)
		c->buckets[i] = WS_NODE_NONE;
	for (uint32_t i = 0; i < c->cfg.index_slots; i++)
		c->index[i].next = WS_NODE_NONE;
	/* Nodes come from the free list, then from the never used ones (calloc'ed: free,
	 * generation 0), so the table is resident only as far as it was ever used. */
	c->free_head = WS_NODE_NONE;
	c->fresh_node = 0;
	c->used_head = WS_NODE_NONE;

	uint64_t seed = cfg->rng_seed;
	if (!seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)(uintptr_t)c ^ 0x5851f42d4c957f2dULL;
	for (int i = 0; i < 4; i++)
		c->rng[i] = splitmix(&seed);
	c->derive_key[0] = cfg->derive_key[0] ? cfg->derive_key[0] : rng_next(c);
	c->derive_key[1] = cfg->derive_key[1] ? cfg->derive_key[1] : rng_next(c);
	return c;
}

void ws_ctx_free(struct ws_ctx *c)
{
	if (!c)
		return;
	if (c->nodes)
		for (uint32_t i = 0; i < c->fresh_node; i++)
			if (c->nodes[i].state != N_FREE && c->nodes[i].span) {
				ws_resource_unref(c->nodes[i].span->res);
				ws_pool_put(&c->span_pool, c->nodes[i].span);
			}
	ws_pool_shrink(&c->span_pool);
	free(c->nodes);
	free(c->index);
	free(c->buckets);
	free(c);
}

struct ws_node_ref ws_ctx_open(struct ws_ctx *c, uint64_t now_ns, struct ws_span **span)
{
	struct ws_node_ref none = { WS_NODE_NONE, 0 };
	struct ws_span *s;
	uint32_t idx = c->free_head;

	*span = NULL;
	if (idx == WS_NODE_NONE && c->fresh_node < c->cfg.max_nodes)
		idx = c->fresh_node;
	if (idx == WS_NODE_NONE) {
		c->st.nodes_full++;
		return none;
	}
	s = span_alloc(c);
	if (!s) {
		c->st.nodes_full++;
		return none;
	}
	struct node *n = &c->nodes[idx];
	if (idx == c->free_head)
		c->free_head = n->next;
	else
		c->fresh_node++;
	uint32_t gen = n->gen;
	memset(n, 0, sizeof(*n));
	n->gen = gen;
	n->state = N_OPEN;
	n->index_slot = WS_NODE_NONE;
	n->parent.idx = WS_NODE_NONE;
	n->opened_ns = now_ns;
	n->span = s;
	n->prev = WS_NODE_NONE;
	n->next = c->used_head;
	if (c->used_head != WS_NODE_NONE)
		c->nodes[c->used_head].prev = idx;
	c->used_head = idx;
	ws_ctx_random_id(c, n->span_id, sizeof(n->span_id));
	memcpy(s->span_id, n->span_id, sizeof(n->span_id));
	c->st.nodes_opened++;
	c->st.nodes_in_use++;
	if (c->st.nodes_in_use > c->st.nodes_in_use_max)
		c->st.nodes_in_use_max = c->st.nodes_in_use;
	*span = s;
	return (struct ws_node_ref){ idx, gen };
}

struct ws_span *ws_ctx_span(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	return n && n->state == N_OPEN ? n->span : NULL;
}

static void decide(struct ws_ctx *c, struct node *n, enum ws_parent_rule rule)
{
	n->rule = (uint8_t)rule;
	n->wait = W_NONE;
	release_parent(c, n);
}

void ws_ctx_parent_remote(struct ws_ctx *c, struct ws_node_ref r, const uint8_t trace_id[16],
			  const uint8_t span_id[8], uint8_t flags)
{
	struct node *n = get(c, r);

	if (!n || n->rule)
		return;
	memcpy(n->trace_id, trace_id, 16);
	memcpy(n->parent_span_id, span_id, 8);
	n->flags = flags;
	n->parent_remote = true;
	decide(c, n, WS_RULE_TRACEPARENT);
}

void ws_ctx_explain(struct ws_ctx *c, struct ws_node_ref r, uint8_t how, uint8_t why)
{
	struct node *n = get(c, r);

	if (n && !n->rule) {
		n->how = how;
		n->how_why = why;
	}
}

void ws_ctx_make_root(struct ws_ctx *c, struct ws_node_ref r, enum ws_parent_rule why)
{
	struct node *n = get(c, r);

	if (!n || n->rule)
		return;
	if (n->forced)
		memcpy(n->trace_id, n->forced_trace, 16);
	else if (n->derived)
		memcpy(n->trace_id, n->derived_trace, 16);
	else
		ws_ctx_random_id(c, n->trace_id, sizeof(n->trace_id));
	memset(n->parent_span_id, 0, sizeof(n->parent_span_id));
	n->flags = 1;   /* sampled: wirespan records every span it builds */
	decide(c, n, why);
}

/* n waits for the node at parent (rule 2, or rule 3 once its client is found). */
static void wait_on(struct ws_ctx *c, struct node *n, struct ws_node_ref parent, enum ws_parent_rule rule)
{
	struct node *p = get(c, parent);

	n->wait = W_LOCAL;
	n->pending_rule = (uint8_t)rule;
	n->parent = parent;
	if (p) {
		p->named = true;
		memcpy(n->parent_span_id, p->span_id, 8);
		p->waiters++;
		n->holds_parent = true;
	}
}

void ws_ctx_parent_local(struct ws_ctx *c, struct ws_node_ref r, struct ws_node_ref parent,
			 enum ws_parent_rule rule)
{
	struct node *n = get(c, r);

	if (!n || n->rule || (n->wait && n->wait != W_DEFER))
		return;
	wait_on(c, n, parent, rule);
}

bool ws_ctx_local_parent(struct ws_ctx *c, struct ws_node_ref r, struct ws_node_ref *out)
{
	struct node *n = get(c, r);
	uint8_t rule;

	if (!n || n->parent_remote || !ws_node_ref_valid(n->parent))
		return false;
	rule = n->wait == W_LOCAL ? n->pending_rule : n->rule;
	if (rule != WS_RULE_IN_PROCESS && rule != WS_RULE_THREAD)
		return false;
	*out = n->parent;
	return true;
}

void ws_ctx_defer(struct ws_ctx *c, struct ws_node_ref r, uint64_t deadline_ns)
{
	struct node *n = get(c, r);

	if (!n || n->rule || n->abandoned || (n->wait && n->wait != W_DEFER))
		return;
	n->wait = W_DEFER;
	n->wait_deadline = deadline_ns;
}

void ws_ctx_hold(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	if (n)
		n->waiters++;
}

void ws_ctx_release(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	if (n && n->waiters)
		n->waiters--;   /* an emitted node with none left is freed by the next walk */
}

bool ws_ctx_is_deferred(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	return n && !n->rule && !n->abandoned && n->wait == W_DEFER;
}

bool ws_ctx_has_children(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	return n && n->named;
}

bool ws_ctx_is_open(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	return n && n->state == N_OPEN;
}

void ws_ctx_set_from_connect(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	if (!n)
		return;
	n->from_connect = true;
	if (n->index_slot != WS_NODE_NONE)
		c->index[n->index_slot].from_connect = true;
}

int ws_ctx_peer_from_connect(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r), *cn;
	uint32_t slot;

	if (!n || !n->has_peer_key)
		return -1;
	slot = index_find(c, &n->peer_key);
	if (slot == WS_NODE_NONE)
		return -1;
	cn = get(c, c->index[slot].node);
	return cn ? cn->from_connect : c->index[slot].from_connect;
}

bool ws_ctx_opened_ns(struct ws_ctx *c, struct ws_node_ref r, uint64_t *ns)
{
	struct node *n = get(c, r);

	if (!n)
		return false;
	*ns = n->opened_ns;
	return true;
}

/* Link n to the client entry named by its peer key, if there is one. True when the
 * wait is over (linked to a live node, or decided from a departed one). */
static bool peer_lookup(struct ws_ctx *c, uint32_t idx)
{
	struct node *n = &c->nodes[idx];
	uint32_t slot = index_find(c, &n->peer_key);
	struct index_entry *e;

	if (slot == WS_NODE_NONE)
		return false;
	e = &c->index[slot];
	if (e->poisoned)
		return false;   /* ambiguous: let the wait time out into a root */
	if (get(c, e->node) && e->node.idx != idx) {
		wait_on(c, n, e->node, WS_RULE_SEQ);
		return true;
	}
	if (e->decided) {
		memcpy(n->trace_id, e->trace_id, 16);
		memcpy(n->parent_span_id, e->hidden ? e->parent_span_id : e->span_id, 8);
		n->flags = e->flags;
		if (e->hidden)
			c->st.through_hidden++;
		decide(c, n, WS_RULE_SEQ);
		return true;
	}
	return false;
}

void ws_ctx_await_peer(struct ws_ctx *c, struct ws_node_ref r, const struct ws_seq_key *key, uint64_t now_ns)
{
	struct node *n = get(c, r);

	if (!n || n->rule || n->wait)
		return;
	n->wait = W_PEER;
	n->peer_key = *key;
	n->has_peer_key = true;
	n->wait_deadline = now_ns + c->cfg.link_wait_ns;
	peer_lookup(c, r.idx);   /* usually the client's record came first */
}

void ws_ctx_index_client(struct ws_ctx *c, struct ws_node_ref r, const struct ws_seq_key *key)
{
	struct node *n = get(c, r);
	uint32_t other, slot;
	struct index_entry *e;

	if (!n || n->index_slot != WS_NODE_NONE)
		return;
	other = index_find(c, key);
	if (other != WS_NODE_NONE) {
		/* Two requests claim the same bytes (tuple reuse within the window, seq wrap):
		 * which one the server read is unknowable, so neither is used. */
		c->st.index_collisions++;
		c->index[other].poisoned = true;
		return;
	}
	slot = c->index_next;
	c->index_next = (slot + 1) % c->cfg.index_slots;
	e = &c->index[slot];
	if (e->used) {
		if (get(c, e->node))
			c->st.index_overwritten++;
		index_unlink(c, slot);
	}
	memset(e, 0, sizeof(*e));
	e->key = *key;
	e->node = r;
	e->from_connect = n->from_connect;
	e->used = true;
	uint32_t *head = &c->buckets[key_hash(key) & c->bucket_mask];
	e->next = *head;
	*head = slot;
	n->index_slot = slot;
}

void ws_ctx_finish(struct ws_ctx *c, struct ws_node_ref r, uint64_t start_mono_ns, uint64_t end_mono_ns)
{
	struct node *n = get(c, r);

	if (!n || n->state != N_OPEN)
		return;
	n->start_mono = start_mono_ns;
	n->end_mono = end_mono_ns < start_mono_ns ? start_mono_ns : end_mono_ns;
	n->state = N_FINISHED;
}

void ws_ctx_hide(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	if (n && (n->state == N_OPEN || n->state == N_FINISHED))
		n->hidden = true;
}

void ws_ctx_set_owner(struct ws_ctx *c, struct ws_node_ref r, uint32_t pid)
{
	struct node *n = get(c, r);

	if (n)
		n->owner = pid;
}

uint32_t ws_ctx_hide_owner(struct ws_ctx *c, uint32_t pid)
{
	uint32_t hidden = 0;

	if (!pid)
		return 0;
	for (uint32_t i = c->used_head; i != WS_NODE_NONE; i = c->nodes[i].next) {
		struct node *n = &c->nodes[i];

		if (n->owner == pid && !n->hidden && !n->forced &&
		    (n->state == N_OPEN || n->state == N_FINISHED)) {
			n->hidden = true;
			hidden++;
		}
	}
	return hidden;
}

bool ws_ctx_is_hidden(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	return n && n->hidden;
}

void ws_ctx_force_ids(struct ws_ctx *c, struct ws_node_ref r, const uint8_t trace_id[16],
		      const uint8_t span_id[8])
{
	struct node *n = get(c, r);

	if (!n || n->state != N_OPEN || ws_id_is_zero(span_id, 8))
		return;
	memcpy(n->span_id, span_id, 8);
	if (n->span)
		memcpy(n->span->span_id, span_id, 8);
	if (trace_id && !ws_id_is_zero(trace_id, 16)) {
		memcpy(n->forced_trace, trace_id, 16);
		n->forced = true;
		if (n->rule && memcmp(n->trace_id, trace_id, 16) != 0) {
			/* decided already (rare: forced after a decision): follow the wire */
			c->st.forced_mismatch++;
			memcpy(n->trace_id, trace_id, 16);
			memset(n->parent_span_id, 0, 8);
			n->rule = WS_RULE_ROOT;
		}
	}
}

void ws_ctx_derive_from(struct ws_ctx *c, struct ws_node_ref r, const struct ws_seq_key *key)
{
	struct node *n = get(c, r);

	if (!n || n->rule)
		return;
	ws_derive_trace((const __u64 *)c->derive_key, key->caddr, key->saddr, key->cport, key->sport, key->seq,
			n->derived_trace);
	n->derived = true;
}

void ws_ctx_derive_key(const struct ws_ctx *c, uint64_t out[2])
{
	out[0] = c->derive_key[0];
	out[1] = c->derive_key[1];
}

bool ws_ctx_trace_id(struct ws_ctx *c, struct ws_node_ref r, uint8_t out[16])
{
	struct node *n = get(c, r);

	if (!n || !n->rule)
		return false;
	memcpy(out, n->trace_id, 16);
	return true;
}

void ws_ctx_abandon(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	if (!n || n->state != N_OPEN)
		return;
	c->st.spans_abandoned++;
	n->abandoned = true;
	/* Children may have named it as parent already: it stays until they are decided
	 * (they become roots: it is never emitted), and its index entry links nothing. */
	if (n->index_slot != WS_NODE_NONE)
		c->index[n->index_slot].poisoned = true;
	span_release(c, n->span);
	n->span = NULL;
	n->state = N_DONE;
}

/* Try to decide n's trace id. True when decided. */
static bool resolve(struct ws_ctx *c, uint32_t idx, uint64_t now_ns, int depth)
{
	struct node *n = &c->nodes[idx];

	if (n->rule)
		return true;
	if (depth > MAX_DEPTH)
		return false;
	if (n->wait == W_PEER && !peer_lookup(c, idx)) {
		if (now_ns < n->wait_deadline)
			return false;
		ws_ctx_make_root(c, (struct ws_node_ref){ idx, n->gen }, WS_RULE_ROOT_TIMEOUT);
		return true;
	}
	if (n->rule)
		return true;    /* decided by the lookup */
	if (n->wait == W_DEFER) {
		if (now_ns < n->wait_deadline)
			return false;
		c->st.defer_timeouts++;
		ws_ctx_make_root(c, (struct ws_node_ref){ idx, n->gen }, WS_RULE_ROOT);
		return true;
	}
	if (n->wait == W_LOCAL) {
		struct node *p = get(c, n->parent);

		if (!p || p->abandoned) {
			/* A parent that never becomes a span would leave a dangling link. */
			ws_ctx_make_root(c, (struct ws_node_ref){ idx, n->gen }, WS_RULE_ROOT_LOST);
			return true;
		}
		if (!resolve(c, n->parent.idx, now_ns, depth + 1))
			return false;
		if (n->forced && memcmp(n->forced_trace, p->trace_id, 16) != 0) {
			/* Its ids went out on the wire (injected) in another trace than its
			 * parent's: the receiver continues that trace, so the span stays in it as
			 * a root, linked to the parent it would have had. */
			if (n->span) {
				int l = ws_span_add_link(n->span, p->trace_id,
							 p->hidden ? p->parent_span_id : p->span_id, p->flags, false);

				if (l >= 0)
					ws_span_link_set_str(n->span, l, "wirespan.link.reason", "injected_other_trace");
			}
			c->st.forced_mismatch++;
			ws_ctx_make_root(c, (struct ws_node_ref){ idx, n->gen }, WS_RULE_ROOT);
			return true;
		}
		memcpy(n->trace_id, p->trace_id, 16);
		memcpy(n->parent_span_id, p->hidden ? p->parent_span_id : p->span_id, 8);
		if (p->hidden)
			c->st.through_hidden++;
		n->flags = p->flags;
		decide(c, n, (enum ws_parent_rule)n->pending_rule);
		return true;
	}
	return false;
}

struct batch {
	const struct ws_span *spans[EMIT_BATCH];
	uint32_t idx[EMIT_BATCH];
	size_t n;
};

/* Emitted nodes are freed here, after the sinks have seen their spans, unless a child
 * still waits on them. */
static void batch_flush(struct ws_ctx *c, struct batch *b, ws_emit_fn emit, void *ctx)
{
	if (!b->n)
		return;
	if (emit)
		emit(ctx, b->spans, b->n);
	for (size_t i = 0; i < b->n; i++) {
		struct node *n = &c->nodes[b->idx[i]];

		span_release(c, n->span);
		n->span = NULL;
		if (!n->waiters)
			node_free(c, b->idx[i]);
	}
	b->n = 0;
}

static void emit_node(struct ws_ctx *c, struct batch *b, uint32_t idx, ws_emit_fn emit, void *ctx)
{
	struct node *n = &c->nodes[idx];
	struct ws_span *s = n->span;

	if (n->hidden) {
		/* Decided (its children could copy its identity), never exported. */
		c->st.spans_hidden++;
		n->state = N_DONE;
		span_release(c, s);
		n->span = NULL;
		if (!n->waiters)
			node_free(c, idx);
		return;
	}
	memcpy(s->trace_id, n->trace_id, 16);
	memcpy(s->span_id, n->span_id, 8);
	if (n->rule == WS_RULE_TRACEPARENT || n->rule == WS_RULE_THREAD || n->rule == WS_RULE_SEQ ||
	    n->rule == WS_RULE_IN_PROCESS)
		memcpy(s->parent_span_id, n->parent_span_id, 8);
	else
		memset(s->parent_span_id, 0, 8);
	s->trace_flags = n->flags;
	s->parent_remote = n->parent_remote;
	s->start_ns = (uint64_t)((int64_t)n->start_mono + c->cfg.mono_to_unix_ns);
	s->end_ns = (uint64_t)((int64_t)n->end_mono + c->cfg.mono_to_unix_ns);
	if (c->cfg.explain)
		c->cfg.explain(s, n->rule, n->how, n->how_why);
	c->st.spans_emitted++;
	c->st.rule[n->rule]++;
	n->state = N_DONE;
	b->spans[b->n] = s;
	b->idx[b->n++] = idx;
	if (b->n == EMIT_BATCH)
		batch_flush(c, b, emit, ctx);
}

static void run(struct ws_ctx *c, uint64_t now_ns, bool final, ws_emit_fn emit, void *ctx)
{
	struct batch *b;
	uint32_t i, next;

	if (c->used_head == WS_NODE_NONE)
		return;   /* idle: nothing to walk */
	b = malloc(sizeof(*b));
	if (!b)
		return;   /* retried next tick */
	b->n = 0;
	/* next is read before a node is handled; a flush during the walk frees only nodes
	 * already handled, which leaves the indices of the ones ahead valid. */
	for (i = c->used_head; i != WS_NODE_NONE; i = next) {
		struct node *n = &c->nodes[i];

		next = n->next;
		switch (n->state) {
		case N_OPEN:
			if (final || (now_ns > n->opened_ns && now_ns - n->opened_ns > c->cfg.max_open_ns)) {
				ws_ctx_abandon(c, (struct ws_node_ref){ i, n->gen });
				break;
			}
			resolve(c, i, now_ns, 0);   /* lets its children proceed */
			break;
		case N_FINISHED:
			if (resolve(c, i, now_ns, 0))
				emit_node(c, b, i, emit, ctx);
			break;
		case N_DONE:
			/* Abandoned, or emitted while children waited: freed when none are left.
			 * (Nodes emitted in this walk still hold their span until batch_flush.) */
			if (!n->waiters && !n->span)
				node_free(c, i);
			break;
		default:
			break;
		}
	}
	batch_flush(c, b, emit, ctx);
	free(b);
}

void ws_ctx_tick(struct ws_ctx *c, uint64_t now_ns, ws_emit_fn emit, void *emit_ctx)
{
	if (now_ns > c->last_walk_ns)
		c->last_walk_ns = now_ns;
	run(c, now_ns, false, emit, emit_ctx);
}

void ws_ctx_trim(struct ws_ctx *c)
{
	/* Under steady load a tick releases about as many spans as are in flight; twice
	 * that is kept. A burst that is over keeps nothing beyond the floor. */
	uint64_t keep = 2 * c->st.nodes_in_use, max = span_pool_max(c);

	if (keep < SPAN_POOL_MIN)
		keep = SPAN_POOL_MIN;
	if (keep > max)
		keep = max;
	ws_pool_set_limits(&c->span_pool, 0, keep);
}

bool ws_ctx_reclaim(struct ws_ctx *c, uint64_t now_ns, ws_emit_fn emit, void *emit_ctx)
{
	uint32_t max = c->cfg.max_nodes;
	bool due = now_ns >= c->last_walk_ns + c->cfg.tick_ns;

	/* Opens tried, not only those that got a node: a full table is walked again after
	 * max_nodes/16 more refusals, not never. */
	uint64_t tried = c->st.nodes_opened + c->st.nodes_full;

	if (!due) {
		if (c->st.nodes_in_use < max - max / 8 || tried < c->reclaim_at_opened)
			return false;
		c->reclaim_at_opened = tried + (max / 16 ? max / 16 : 1);
		c->st.pressure_reclaims++;
	}
	ws_ctx_tick(c, now_ns, emit, emit_ctx);
	return true;
}

void ws_ctx_flush(struct ws_ctx *c, uint64_t now_ns, ws_emit_fn emit, void *emit_ctx)
{
	/* End every wait: a peer that has not shown by now will not. */
	for (uint32_t i = c->used_head; i != WS_NODE_NONE; i = c->nodes[i].next)
		if (c->nodes[i].wait == W_PEER || c->nodes[i].wait == W_DEFER)
			c->nodes[i].wait_deadline = 0;
	for (uint32_t i = c->used_head; i != WS_NODE_NONE; i = c->nodes[i].next)
		resolve(c, i, now_ns, 0);
	run(c, now_ns, true, emit, emit_ctx);
	run(c, now_ns, true, emit, emit_ctx);   /* nodes whose last waiter went in the first pass */
}

uint64_t ws_ctx_spans_cached(const struct ws_ctx *c)
{
	return c->span_pool.st.free_blocks;
}

const struct ws_ctx_stats *ws_ctx_stats(const struct ws_ctx *c)
{
	return &c->st;
}

const char *ws_parent_rule_name(enum ws_parent_rule r)
{
	static const char *const names[WS_RULE__MAX] = {
		[WS_RULE_NONE] = "undecided",
		[WS_RULE_TRACEPARENT] = "traceparent",
		[WS_RULE_THREAD] = "same_thread",
		[WS_RULE_SEQ] = "tcp_seq",
		[WS_RULE_IN_PROCESS] = "in_process",
		[WS_RULE_ROOT] = "root",
		[WS_RULE_ROOT_TIMEOUT] = "root_peer_timeout",
		[WS_RULE_ROOT_AMBIGUOUS] = "root_ambiguous",
		[WS_RULE_ROOT_LOST] = "root_parent_lost",
		[WS_RULE_ROOT_BOUNDED] = "root_traceparent_bounded",
	};
	return r < WS_RULE__MAX && names[r] ? names[r] : "unknown";
}
