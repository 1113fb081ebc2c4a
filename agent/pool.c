/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

void ws_pool_init(struct ws_pool *p, size_t block_size, uint64_t max_blocks, uint64_t keep_free)
{
	memset(p, 0, sizeof(*p));
	p->block_size = block_size < sizeof(void *) ? sizeof(void *) : block_size;
	p->max_blocks = max_blocks;
	p->keep_free = keep_free;
}

void *ws_pool_get(struct ws_pool *p)
{
	void *b;

	if (p->max_blocks && p->st.in_use >= p->max_blocks) {
		p->st.exhausted++;
		return NULL;
	}
	if (p->free_list) {
		b = p->free_list;
		memcpy(&p->free_list, b, sizeof(void *));
		p->st.free_blocks--;
	} else if (!(b = malloc(p->block_size))) {
		p->st.alloc_fail++;
		return NULL;
	}
	p->st.gets++;
	if (++p->st.in_use > p->st.in_use_max)
		p->st.in_use_max = p->st.in_use;
	return b;
}

void ws_pool_put(struct ws_pool *p, void *b)
{
	if (!b)
		return;
	p->st.puts++;
	p->st.in_use--;
	if (p->st.free_blocks >= p->keep_free) {
		free(b);
		return;
	}
	memcpy(b, &p->free_list, sizeof(void *));
	p->free_list = b;
	p->st.free_blocks++;
}

void ws_pool_shrink(struct ws_pool *p)
{
	while (p->free_list) {
		void *b = p->free_list;

		memcpy(&p->free_list, b, sizeof(void *));
		free(b);
	}
	p->st.free_blocks = 0;
}

void ws_pool_set_limits(struct ws_pool *p, uint64_t max_blocks, uint64_t keep_free)
{
	p->max_blocks = max_blocks;
	p->keep_free = keep_free;
	while (p->free_list && p->st.free_blocks > keep_free) {
		void *b = p->free_list;

		memcpy(&p->free_list, b, sizeof(void *));
		free(b);
		p->st.free_blocks--;
	}
}
