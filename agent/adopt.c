/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The adoption bound for incoming trace context: see adopt.h. */
#include "adopt.h"

#include <string.h>

void ws_adopt_init(struct ws_adopt *a, uint32_t max_uses, uint64_t max_age_ns)
{
	memset(a, 0, sizeof(*a));
	a->max_uses = max_uses ? max_uses : 8;
	a->max_age_ns = max_age_ns ? max_age_ns : 300ULL * 1000000000ULL;
}

static uint64_t key_of(const uint8_t trace_id[16], const uint8_t span_id[8])
{
	uint64_t w[3], h = 0x9e3779b97f4a7c15ULL;

	memcpy(&w[0], trace_id, 8);
	memcpy(&w[1], trace_id + 8, 8);
	memcpy(&w[2], span_id, 8);
	for (int i = 0; i < 3; i++) {
		h ^= w[i];
		h *= 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	return h ? h : 1;
}

bool ws_adopt_allow(struct ws_adopt *a, const uint8_t trace_id[16], const uint8_t span_id[8], uint64_t now_ns)
{
	uint64_t k = key_of(trace_id, span_id);
	uint32_t base = (uint32_t)(k >> 40) & (WS_ADOPT_SLOTS - 1) & ~(uint32_t)(WS_ADOPT_WAYS - 1);
	struct ws_adopt_entry *victim = NULL;

	for (uint32_t i = 0; i < WS_ADOPT_WAYS; i++) {
		struct ws_adopt_entry *e = &a->e[base + i];

		if (e->key == k) {
			e->uses++;
			e->last_ns = now_ns;
			if (e->uses > a->max_uses || now_ns - e->first_ns > a->max_age_ns) {
				a->bounded++;
				return false;
			}
			return true;
		}
		if (!victim || e->key == 0 || (victim->key && e->last_ns < victim->last_ns))
			victim = e;
	}
	if (victim->key)
		a->replaced++;
	victim->key = k;
	victim->first_ns = victim->last_ns = now_ns;
	victim->uses = 1;
	return true;
}
