/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go runtime evidence, kernel-facing shell: finds Go processes (at start by scanning
 * /proc, later one pid at a time), tells the kernel their offsets (map ws_go_procs) and
 * attaches the goroutine uprobes once per executable. Enabled by
 * ws_bpf_config.go_runtime; all of it is torn down by ws_bpf_destroy.
 */
#ifndef WS_RT_GO_ATTACH_H
#define WS_RT_GO_ATTACH_H

#include <stdint.h>

#include "../headers/ws_go_abi.h"
#include "loader.h"

#define WS_GO_MAX_EXES 32        /* executables with uprobes at once; more are counted */
#define WS_GO_EXE_CACHE 256      /* executables inspected and remembered (Go or not) */
#define WS_GO_PID_CACHE 4096     /* pids remembered (direct-mapped; a clash re-checks) */

struct ws_go_attach;

struct ws_go_attach_stats {
	uint64_t pids_checked;      /* cache misses: /proc/PID/exe looked at */
	uint64_t procs_go;          /* Go processes registered in the kernel */
	uint64_t procs_unsupported; /* Go processes left without evidence (see log) */
	uint64_t procs_map_full;    /* not registered: ws_go_procs full */
	uint64_t exes_attached;     /* executables with uprobes */
	uint64_t exes_skipped;      /* Go executables without uprobes: WS_GO_MAX_EXES reached */
	uint64_t attach_failed;     /* uprobe attach errors (goids still reported) */
	uint64_t kernel[WS_GO_CNT__MAX]; /* enum ws_go_counter, summed over CPUs */
};

/*
 * A pid the agent sees for the first time (call from the record loop for each new
 * pid; cheap when repeated: answers, negative ones included, are cached per pid).
 * Registers a traced Go process with the kernel and attaches the uprobes of its
 * executable when not done yet. Returns 1 for a registered Go process, 0 for anything
 * else (not Go, unsupported, out of scope, Go support off), -errno on failure.
 */
int ws_go_discover(struct ws_bpf *b, uint32_t pid);
/* The process exited (or exec'd): drop it from the kernel map and the pid cache. */
void ws_go_forget(struct ws_bpf *b, uint32_t pid);
int ws_go_read_stats(struct ws_bpf *b, struct ws_go_attach_stats *out);
const char *ws_go_counter_name(enum ws_go_counter c);

/* For loader.c: set up (scan the running processes) and tear down. */
int ws_go_attach_init(struct ws_bpf *b, const struct ws_bpf_config *cfg, struct ws_go_attach **out);
void ws_go_attach_free(struct ws_go_attach *g);

#endif /* WS_RT_GO_ATTACH_H */
