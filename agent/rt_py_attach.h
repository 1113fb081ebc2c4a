/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython contexts, kernel-facing shell: tells the kernel where each traced CPython
 * process keeps its thread states (map ws_py_procs), so that its data records carry
 * the thread's current contextvars Context (headers/ws_py_abi.h). No uprobes: the
 * kernel reads the interpreter's memory at the socket syscalls it traces anyway.
 * Enabled by ws_bpf_config.py_runtime; torn down by ws_bpf_destroy.
 */
#ifndef WS_RT_PY_ATTACH_H
#define WS_RT_PY_ATTACH_H

#include <stdint.h>

#include "../headers/ws_py_abi.h"
#include "loader.h"

#define WS_PY_EXE_CACHE 64       /* executables inspected and remembered */

struct ws_py_attach;

struct ws_py_attach_stats {
	uint64_t pids_checked;       /* processes looked at */
	uint64_t procs_registered;   /* CPython processes given contexts */
	uint64_t procs_unsupported;  /* CPython processes left without (see the log) */
	uint64_t procs_layout_failed;/* ... whose memory did not match the offsets */
	uint64_t procs_map_full;     /* not registered: ws_py_procs full */
	uint64_t kernel[WS_PY_CNT__MAX]; /* enum ws_py_counter, summed over CPUs */
};

/* A process the agent sees for the first time (its first record; it is in scope).
 * 1 when registered as a CPython process with contexts, 0 otherwise, -errno. */
int ws_py_discover(struct ws_bpf *b, uint32_t pid);
/* The process exited or exec'd. */
void ws_py_forget(struct ws_bpf *b, uint32_t pid);
int ws_py_read_stats(struct ws_bpf *b, struct ws_py_attach_stats *out);
const char *ws_py_counter_name(enum ws_py_counter c);

/* For loader.c. */
int ws_py_attach_init(struct ws_bpf *b, const struct ws_bpf_config *cfg, struct ws_py_attach **out);
void ws_py_attach_free(struct ws_py_attach *p);

#endif /* WS_RT_PY_ATTACH_H */
