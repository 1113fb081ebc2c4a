/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A bounded pool of fixed-size blocks for memory that a message needs only while it is
 * in flight (the HTTP/1 parser's kept fields, its queue of announced requests): taken
 * when a message starts, given back when it ends, so a connection at rest holds none.
 *
 * Blocks come from malloc and go back to a free list, where up to keep_free of them
 * wait to be reused; beyond that they are freed. At most max_blocks are in use at once:
 * past that ws_pool_get returns NULL and counts it (exhausted), and the caller carries
 * on without the block. Not thread-safe: one pool per thread (the agent has one loop).
 */
#ifndef WS_POOL_H
#define WS_POOL_H

#include <stddef.h>
#include <stdint.h>

struct ws_pool_stats {
	uint64_t gets;            /* blocks handed out */
	uint64_t puts;            /* blocks given back */
	uint64_t exhausted;       /* gets refused: max_blocks in use */
	uint64_t alloc_fail;      /* gets refused: malloc failed */
	uint64_t in_use;          /* blocks handed out and not given back */
	uint64_t in_use_max;      /* high-water mark of in_use */
	uint64_t free_blocks;     /* blocks on the free list */
};

struct ws_pool {
	size_t block_size;
	uint64_t max_blocks;      /* 0: unbounded */
	uint64_t keep_free;       /* free-list length kept for reuse */
	void *free_list;
	struct ws_pool_stats st;
};

/* block_size is raised to hold a pointer. */
void ws_pool_init(struct ws_pool *p, size_t block_size, uint64_t max_blocks, uint64_t keep_free);
/* A block of block_size bytes (contents undefined), or NULL (counted). */
void *ws_pool_get(struct ws_pool *p);
/* Give a block back (NULL is ignored). */
void ws_pool_put(struct ws_pool *p, void *block);
/* Free every block on the free list (blocks in use stay valid). */
void ws_pool_shrink(struct ws_pool *p);
/* Change the limits; a smaller keep_free shrinks the free list now. */
void ws_pool_set_limits(struct ws_pool *p, uint64_t max_blocks, uint64_t keep_free);

#endif /* WS_POOL_H */
