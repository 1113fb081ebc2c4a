/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Parentage graph: see context.h and docs/parentage.md. */
#include "context.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum node_state { N_FREE = 0, N_OPEN, N_FINISHED, N_LINGER };
enum node_wait { W_NONE = 0, W_LOCAL, W_PEER };

struct node {
	uint32_t gen;
	uint8_t state;          /* enum node_state */
	uint8_t rule;           /* enum ws_parent_rule once decided, WS_RULE_NONE before */
	uint8_t wait;           /* enum node_wait while undecided */
	uint8_t pending_rule;   /* the rule a W_LOCAL wait resolves to (THREAD or SEQ) */
	uint8_t flags;          /* W3C trace flags */
	bool parent_remote;
	bool indexed;
	uint8_t _pad;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8];
	struct ws_node_ref parent;      /* W_LOCAL */
	struct ws_seq_key peer_key;     /* W_PEER */
	struct ws_seq_key index_key;    /* when indexed */
	uint32_t index_next;            /* next node in the same index bucket */
	uint32_t next_free;
	uint64_t wait_deadline;
	uint64_t opened_ns;
	uint64_t linger_until;
	uint64_t start_mono, end_mono;
	struct ws_span *span;
};

#define EMIT_BATCH 256
#define SPAN_POOL_MAX 1024
#define MAX_DEPTH 64

struct ws_ctx {
	struct ws_ctx_config cfg;
	struct node *nodes;
	uint32_t free_head;
	uint32_t *buckets;
	uint32_t bucket_mask;
	uint64_t rng[4];
	struct ws_span *pool[SPAN_POOL_MAX];
	uint32_t pool_n;
	struct ws_ctx_stats st;
};

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

/* ---- index of client requests (rule 3) ------------------------------------ */

static uint32_t key_hash(const struct ws_seq_key *k)
{
	/* FNV-1a over the key; the key has no padding (asserted below). */
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}
_Static_assert(sizeof(struct ws_seq_key) == 40, "ws_seq_key must have no padding");

static bool key_eq(const struct ws_seq_key *a, const struct ws_seq_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void index_remove(struct ws_ctx *c, uint32_t idx)
{
	struct node *n = &c->nodes[idx];
	uint32_t *pp = &c->buckets[key_hash(&n->index_key) & c->bucket_mask];

	while (*pp != WS_NODE_NONE) {
		if (*pp == idx) {
			*pp = n->index_next;
			break;
		}
		pp = &c->nodes[*pp].index_next;
	}
	n->indexed = false;
	n->index_next = WS_NODE_NONE;
}

static uint32_t index_find(struct ws_ctx *c, const struct ws_seq_key *k)
{
	uint32_t i = c->buckets[key_hash(k) & c->bucket_mask];

	while (i != WS_NODE_NONE) {
		if (key_eq(&c->nodes[i].index_key, k))
			return i;
		i = c->nodes[i].index_next;
	}
	return WS_NODE_NONE;
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
	struct ws_span *s = c->pool_n ? c->pool[--c->pool_n] : malloc(sizeof(*s));

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
	if (c->pool_n < SPAN_POOL_MAX)
		c->pool[c->pool_n++] = s;
	else
		free(s);
}

static void node_free(struct ws_ctx *c, uint32_t idx)
{
	struct node *n = &c->nodes[idx];

	if (n->indexed)
		index_remove(c, idx);
	span_release(c, n->span);
	n->span = NULL;
	n->state = N_FREE;
	n->gen++;
	n->next_free = c->free_head;
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
	if (c->cfg.max_nodes == 0 || c->cfg.max_nodes >= WS_NODE_NONE)
		c->cfg.max_nodes = 16384;
	while (nb < c->cfg.max_nodes * 2)
		nb <<= 1;
	c->nodes = calloc(c->cfg.max_nodes, sizeof(*c->nodes));
	c->buckets = malloc(nb * sizeof(*c->buckets));
	if (!c->nodes || !c->buckets) {
		ws_ctx_free(c);
		return NULL;
	}
	c->bucket_mask = nb - 1;
	for (uint32_t i = 0; i < nb; i++)
		c->buckets[i] = WS_NODE_NONE;
	for (uint32_t i = 0; i < c->cfg.max_nodes; i++) {
		c->nodes[i].next_free = i + 1 < c->cfg.max_nodes ? i + 1 : WS_NODE_NONE;
		c->nodes[i].index_next = WS_NODE_NONE;
	}
	c->free_head = 0;

	uint64_t seed = cfg->rng_seed;
	if (!seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)(uintptr_t)c ^ 0x5851f42d4c957f2dULL;
	for (int i = 0; i < 4; i++)
		c->rng[i] = splitmix(&seed);
	return c;
}

void ws_ctx_free(struct ws_ctx *c)
{
	if (!c)
		return;
	if (c->nodes)
		for (uint32_t i = 0; i < c->cfg.max_nodes; i++)
			if (c->nodes[i].state != N_FREE) {
				ws_resource_unref(c->nodes[i].span ? c->nodes[i].span->res : NULL);
				free(c->nodes[i].span);
			}
	for (uint32_t i = 0; i < c->pool_n; i++)
		free(c->pool[i]);
	free(c->nodes);
	free(c->buckets);
	free(c);
}

struct ws_node_ref ws_ctx_open(struct ws_ctx *c, uint64_t now_ns, struct ws_span **span)
{
	struct ws_node_ref none = { WS_NODE_NONE, 0 };
	struct ws_span *s;
	uint32_t idx = c->free_head;

	*span = NULL;
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
	c->free_head = n->next_free;
	uint32_t gen = n->gen;
	memset(n, 0, sizeof(*n));
	n->gen = gen;
	n->state = N_OPEN;
	n->index_next = WS_NODE_NONE;
	n->parent.idx = WS_NODE_NONE;
	n->opened_ns = now_ns;
	n->span = s;
	ws_ctx_random_id(c, n->span_id, sizeof(n->span_id));
	memcpy(s->span_id, n->span_id, sizeof(n->span_id));
	c->st.nodes_opened++;
	c->st.nodes_in_use++;
	*span = s;
	return (struct ws_node_ref){ idx, gen };
}

struct ws_span *ws_ctx_span(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	return n && n->state == N_OPEN ? n->span : NULL;
}

static void decide(struct node *n, enum ws_parent_rule rule)
{
	n->rule = (uint8_t)rule;
	n->wait = W_NONE;
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
	decide(n, WS_RULE_TRACEPARENT);
}

void ws_ctx_make_root(struct ws_ctx *c, struct ws_node_ref r, enum ws_parent_rule why)
{
	struct node *n = get(c, r);

	if (!n || n->rule)
		return;
	ws_ctx_random_id(c, n->trace_id, sizeof(n->trace_id));
	memset(n->parent_span_id, 0, sizeof(n->parent_span_id));
	n->flags = 1;   /* sampled: wirespan records every span it builds */
	decide(n, why);
}

void ws_ctx_parent_local(struct ws_ctx *c, struct ws_node_ref r, struct ws_node_ref parent)
{
	struct node *n = get(c, r);

	if (!n || n->rule)
		return;
	n->wait = W_LOCAL;
	n->pending_rule = WS_RULE_THREAD;
	n->parent = parent;
}

void ws_ctx_await_peer(struct ws_ctx *c, struct ws_node_ref r, const struct ws_seq_key *key, uint64_t now_ns)
{
	struct node *n = get(c, r);

	if (!n || n->rule)
		return;
	n->wait = W_PEER;
	n->peer_key = *key;
	n->wait_deadline = now_ns + c->cfg.link_wait_ns;
}

void ws_ctx_index_client(struct ws_ctx *c, struct ws_node_ref r, const struct ws_seq_key *key)
{
	struct node *n = get(c, r);
	uint32_t other;

	if (!n || n->indexed)
		return;
	other = index_find(c, key);
	if (other != WS_NODE_NONE) {
		/* Two requests claim the same bytes (tuple reuse within the window, seq wrap):
		 * which one the server read is unknowable, so neither is used. */
		c->st.index_collisions++;
		index_remove(c, other);
		return;
	}
	n->index_key = *key;
	uint32_t *head = &c->buckets[key_hash(key) & c->bucket_mask];
	n->index_next = *head;
	*head = r.idx;
	n->indexed = true;
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

void ws_ctx_abandon(struct ws_ctx *c, struct ws_node_ref r)
{
	struct node *n = get(c, r);

	if (!n || n->state != N_OPEN)
		return;
	c->st.spans_abandoned++;
	/* Children may have named it as parent already: keep its identity lingering so
	 * they still resolve, but never emit it. */
	span_release(c, n->span);
	n->span = NULL;
	n->state = N_LINGER;
	n->linger_until = n->opened_ns + c->cfg.linger_ns + c->cfg.link_wait_ns;
}

/* Try to decide n's trace id. True when decided. */
static bool resolve(struct ws_ctx *c, uint32_t idx, uint64_t now_ns, int depth)
{
	struct node *n = &c->nodes[idx];

	if (n->rule)
		return true;
	if (depth > MAX_DEPTH)
		return false;
	if (n->wait == W_PEER) {
		uint32_t p = index_find(c, &n->peer_key);

		if (p != WS_NODE_NONE && p != idx) {
			n->wait = W_LOCAL;
			n->pending_rule = WS_RULE_SEQ;
			n->parent = (struct ws_node_ref){ p, c->nodes[p].gen };
			memcpy(n->parent_span_id, c->nodes[p].span_id, 8);
		} else if (now_ns >= n->wait_deadline) {
			ws_ctx_make_root(c, (struct ws_node_ref){ idx, n->gen }, WS_RULE_ROOT_TIMEOUT);
			return true;
		} else {
			return false;
		}
	}
	if (n->wait == W_LOCAL) {
		struct node *p = get(c, n->parent);

		if (!p) {
			ws_ctx_make_root(c, (struct ws_node_ref){ idx, n->gen }, WS_RULE_ROOT_LOST);
			return true;
		}
		if (!resolve(c, n->parent.idx, now_ns, depth + 1))
			return false;
		memcpy(n->trace_id, p->trace_id, 16);
		memcpy(n->parent_span_id, p->span_id, 8);
		n->flags = p->flags;
		decide(n, (enum ws_parent_rule)n->pending_rule);
		return true;
	}
	return false;
}

struct batch {
	const struct ws_span *spans[EMIT_BATCH];
	uint32_t idx[EMIT_BATCH];
	size_t n;
};

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
	}
	b->n = 0;
}

static void emit_node(struct ws_ctx *c, struct batch *b, uint32_t idx, uint64_t now_ns,
		      ws_emit_fn emit, void *ctx)
{
	struct node *n = &c->nodes[idx];
	struct ws_span *s = n->span;

	memcpy(s->trace_id, n->trace_id, 16);
	memcpy(s->span_id, n->span_id, 8);
	if (n->rule == WS_RULE_TRACEPARENT || n->rule == WS_RULE_THREAD || n->rule == WS_RULE_SEQ)
		memcpy(s->parent_span_id, n->parent_span_id, 8);
	else
		memset(s->parent_span_id, 0, 8);
	s->trace_flags = n->flags;
	s->parent_remote = n->parent_remote;
	s->start_ns = (uint64_t)((int64_t)n->start_mono + c->cfg.mono_to_unix_ns);
	s->end_ns = (uint64_t)((int64_t)n->end_mono + c->cfg.mono_to_unix_ns);
	c->st.spans_emitted++;
	c->st.rule[n->rule]++;
	n->state = N_LINGER;
	n->linger_until = now_ns + c->cfg.linger_ns;
	b->spans[b->n] = s;
	b->idx[b->n++] = idx;
	if (b->n == EMIT_BATCH)
		batch_flush(c, b, emit, ctx);
}

static void run(struct ws_ctx *c, uint64_t now_ns, bool final, ws_emit_fn emit, void *ctx)
{
	struct batch *b = malloc(sizeof(*b));

	if (!b)
		return;   /* retried next tick */
	b->n = 0;
	for (uint32_t i = 0; i < c->cfg.max_nodes; i++) {
		struct node *n = &c->nodes[i];

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
				emit_node(c, b, i, now_ns, emit, ctx);
			break;
		case N_LINGER:
			if (!final && now_ns >= n->linger_until)
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
	run(c, now_ns, false, emit, emit_ctx);
}

void ws_ctx_flush(struct ws_ctx *c, uint64_t now_ns, ws_emit_fn emit, void *emit_ctx)
{
	/* End every wait: a peer that has not shown by now will not. Two passes so that
	 * children of spans decided in the first pass are emitted too. */
	for (uint32_t i = 0; i < c->cfg.max_nodes; i++)
		if (c->nodes[i].state != N_FREE && c->nodes[i].wait == W_PEER)
			c->nodes[i].wait_deadline = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < c->cfg.max_nodes; i++)
			if (c->nodes[i].state == N_FINISHED || c->nodes[i].state == N_OPEN)
				resolve(c, i, now_ns, 0);
	}
	run(c, now_ns, true, emit, emit_ctx);
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
		[WS_RULE_ROOT] = "root",
		[WS_RULE_ROOT_TIMEOUT] = "root_peer_timeout",
		[WS_RULE_ROOT_AMBIGUOUS] = "root_ambiguous",
		[WS_RULE_ROOT_LOST] = "root_parent_lost",
	};
	return r < WS_RULE__MAX && names[r] ? names[r] : "unknown";
}
