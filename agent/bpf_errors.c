// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The kernel programs' helper failures, formatted for the counters report. */
#include "bpf_errors.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t ws_err_sum(const uint64_t *percpu, int ncpu)
{
	uint64_t s = 0;

	for (int c = 0; percpu && c < ncpu; c++)
		s += percpu[c];
	return s;
}

const char *ws_err_file_name(uint16_t file)
{
	switch (file) {
#define WS_ERR_FILE_NAME(id, name) case id: return name;
	WS_ERR_FILES(WS_ERR_FILE_NAME)
#undef WS_ERR_FILE_NAME
	}
	return "?";
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct ws_err_key *a = &((const struct ws_err_entry *)pa)->key;
	const struct ws_err_key *b = &((const struct ws_err_entry *)pb)->key;

	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->err != b->err)
		return a->err < b->err ? -1 : 1;
	return 0;
}

void ws_err_sort(struct ws_err_entry *v, size_t n)
{
	if (v && n > 1)
		qsort(v, n, sizeof(*v), cmp_entry);
}

int ws_err_format(char *buf, size_t len, const struct ws_err_entry *e)
{
	/* The kernel returns -errno; a positive or unknown value prints as "?". */
	const char *name = e->key.err < 0 ? strerrorname_np(-e->key.err) : NULL;

	return snprintf(buf, len, "bpf_error{err=%" PRId32 " (%s),file=%s,line=%u} %" PRIu64,
			e->key.err, name ? name : "?", ws_err_file_name(e->key.file),
			(unsigned)e->key.line, e->count);
}
