/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Counting a helper failure under its {error, file, line}: ws_err(err) in a header that
 * has defined WS_FILE_ID (an enum ws_err_file) after its includes, and undefines it at
 * its end, so that a header which forgets to name itself does not build instead of
 * borrowing another file's name.
 *
 * Off the hot path: only a failure pays (a lookup, and an update for its first time on
 * a CPU).
 */
#pragma once

#include "lib/counters.h"
#include "maps/errors.h"

#define WS_EEXIST 17

/* Where a failure's key and first count are built: not on the stack, because the exit
 * programs' call chains sit at 6.1's 512-byte limit and every failure site would add
 * its 16 bytes to its frame. One slot per CPU (a program is not migrated while it runs);
 * with more CPUs than slots two may share one, and a failure recorded on both at the
 * same instant could land under the other's key. */
#define WS_ERR_SLOTS 1024
struct ws_err_slot {
	struct ws_err_key key;
	__u64 one;
};
static struct ws_err_slot ws_err_slots[WS_ERR_SLOTS];

static __always_inline void ws_err_record(long err, __u16 file, __u16 line)
{
	struct ws_err_slot *s = &ws_err_slots[bpf_get_smp_processor_id() & (WS_ERR_SLOTS - 1)];
	__u64 *v;
	long rc;

	s->key.err = (__s32)err;
	s->key.file = file;
	s->key.line = line;
	s->one = 1;
	v = bpf_map_lookup_elem(&ws_errors, &s->key);
	if (v) {
		*v += 1;
		return;
	}
	/* A new key: this CPU's slot gets 1, the others 0. Another CPU may insert the same
	 * key first (EEXIST): then it is there to count on. */
	rc = bpf_map_update_elem(&ws_errors, &s->key, &s->one, BPF_NOEXIST);
	if (rc == -WS_EEXIST) {
		v = bpf_map_lookup_elem(&ws_errors, &s->key);
		if (v)
			*v += 1;
	} else if (rc) {
		cnt_inc(WS_CNT_ERR_FULL);
	}
}

#define ws_err(err) ws_err_record((err), WS_FILE_ID, __LINE__)
