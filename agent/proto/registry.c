/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The parser registry (proto.h) and the helpers every parser shares. Adding a protocol:
 * its ops here, in the order detection tries them (most specific byte patterns first;
 * HTTP/1 last among the text protocols because its detection is the loosest).
 */
#include "proto.h"

#include <stddef.h>

/* Each parser's ops (defined in its own file). */

static const struct ws_proto_ops *const registry[] = {
	NULL,   /* end */
};

size_t ws_proto_count(void)
{
	return sizeof(registry) / sizeof(registry[0]) - 1;
}

const struct ws_proto_ops *ws_proto_at(size_t i)
{
	return i < ws_proto_count() ? registry[i] : NULL;
}

const struct ws_proto_ops *ws_proto_by_id(unsigned id)
{
	for (size_t i = 0; i < ws_proto_count(); i++)
		if (registry[i]->id == id)
			return registry[i];
	return NULL;
}

void ws_msg_times_add(struct ws_msg_times *t, const struct ws_chunk *ch, uint32_t off)
{
	if (!t->first_enter_ns && !t->first_exit_ns) {
		t->first_enter_ns = ch->enter_ns;
		t->first_exit_ns = ch->exit_ns;
		t->first_tid = ch->tid;
		t->has_seq = ch->has_seq && !ch->datagram;
		t->seq = ch->seq + off;
	}
	t->last_enter_ns = ch->enter_ns;
	t->last_exit_ns = ch->exit_ns;
	t->last_tid = ch->tid;
}
