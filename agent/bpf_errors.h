/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel programs' helper failures (map ws_errors, headers/ws_err_abi.h) as the
 * agent reports them: summed over CPUs, sorted, one line per {error, file, line}.
 * Pure: the loader reads the map (ws_bpf_read_errors), this formats.
 */
#ifndef WS_BPF_ERRORS_H
#define WS_BPF_ERRORS_H

#include <stddef.h>
#include <stdint.h>

#include "../headers/ws_err_abi.h"

struct ws_err_entry {
	struct ws_err_key key;
	uint64_t count;
};

/* The sum of one key's per-CPU counts. */
uint64_t ws_err_sum(const uint64_t *percpu, int ncpu);

/* The bpf/ file an enum ws_err_file names, "?" for an id this build does not know. */
const char *ws_err_file_name(uint16_t file);

/* Order by file, line, error: the same failures print in the same order every time. */
void ws_err_sort(struct ws_err_entry *v, size_t n);

/* "bpf_error{err=-14 (EFAULT),file=lib/emit.h,line=123} 5" into buf (always
 * terminated). Returns the length it needed, as snprintf does. */
int ws_err_format(char *buf, size_t len, const struct ws_err_entry *e);

#endif
