/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The thin shell around the kernel: checks privileges and features, mounts tracefs,
 * opens/configures/loads/attaches the BPF object, exposes the ring buffer and the
 * kernel counters, detaches everything on destroy.
 */
#ifndef WS_LOADER_H
#define WS_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../headers/wirespan_abi.h"

struct ws_bpf;

/* Called for every ring-buffer record (data points into the ring; valid during the call). */
typedef int (*ws_event_fn)(void *ctx, void *data, size_t size);

struct ws_bpf_config {
	uint32_t capture_bytes;        /* payload budget per message run, <= WS_MAX_PAYLOAD */
	uint32_t ringbuf_bytes;        /* ring buffer size, power of two */
	uint32_t wakeup_bytes;         /* wake the agent when this much data is pending */
	uint32_t max_conns;            /* connection-state map entries */
	pid_t agent_pid;               /* never traced */
	/* scoping: see WS_FILTER_* in wirespan_abi.h */
	const pid_t *pids; int n_pids;
	const char *const *comms; int n_comms;
	const uint16_t *ports; int n_ports;
	bool verbose;                  /* libbpf debug output */
	bool go_runtime;               /* Go goroutine evidence (agent/rt_go_attach.h): WS_EV_RT
					* records and ws_data_event.rt_ctx for Go processes */
};

/* Run the start-up checks: privileges (CAP_BPF/CAP_SYS_ADMIN, CAP_PERFMON), BTF,
 * tracefs mounted (mount it when missing), bpffs. Prints what is missing and what it
 * prevents. Returns 0 when wirespan can run, -errno otherwise. */
int ws_bpf_preflight(FILE *log);

/* Open, configure, load and attach. On failure prints which program failed and why,
 * cleans up and returns -errno. */
int ws_bpf_start(const struct ws_bpf_config *cfg, ws_event_fn fn, void *ctx, struct ws_bpf **out);

/* The ring buffer's epoll fd, for the agent's event loop. */
int ws_bpf_epoll_fd(struct ws_bpf *b);
/* Consume what is in the ring buffer now (callback per record). Returns records or -errno. */
int ws_bpf_consume(struct ws_bpf *b);
/* Sum the per-CPU kernel counters (enum ws_counter). */
int ws_bpf_read_counters(struct ws_bpf *b, uint64_t out[WS_CNT__MAX]);
const char *ws_counter_name(enum ws_counter c);
/* Number of programs attached / list them. */
int ws_bpf_attached(struct ws_bpf *b);
void ws_bpf_destroy(struct ws_bpf *b);

/* For agent/rt_go_attach.c: the skeleton, and its state (NULL when go_runtime is off). */
struct wirespan_bpf *ws_bpf_skel(struct ws_bpf *b);
struct ws_go_attach *ws_bpf_go_state(struct ws_bpf *b);

#endif /* WS_LOADER_H */
