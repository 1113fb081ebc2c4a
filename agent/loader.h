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
#include "bpf_errors.h"

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
	/* UDP ports whose datagrams become data records (WS_F_DGRAM), local or remote;
	 * none: no UDP path at all. The agent's default is {53} (--udp-ports). */
	const uint16_t *udp_ports; int n_udp_ports;
	bool verbose;                  /* libbpf debug output */
	uint8_t inject;                /* enum ws_inject_mode (agent/inject.h) */
	uint64_t inj_key[2];           /* key of derived trace ids (ws_asm_derive_key) */
	bool go_runtime;               /* Go goroutine evidence (agent/rt_go_attach.h): WS_EV_RT
					* records and ws_data_event.rt_ctx for Go processes */
	bool py_runtime;               /* CPython contexts (agent/rt_py_attach.h): rt_ctx with
					* WS_F_RT_PY for CPython processes */
	bool waits;                    /* queue/scheduler/network waits (docs/waits.md) */
	bool tls;                      /* TLS plaintext (agent/tls_attach.h): WS_F_TLS records
					* from SSL_read/SSL_write uprobes, WS_F_CIPHER syscalls */
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
/* The kernel's helper failures (map ws_errors): up to max entries, summed over CPUs and
 * sorted (agent/bpf_errors.h), count in *n. Returns 0 or -errno. */
int ws_bpf_read_errors(struct ws_bpf *b, struct ws_err_entry *out, size_t max, size_t *n);
/*
 * Per-connection capture policy (agent -> kernel): what the kernel copies from now on
 * for the TCP connection sock_id (ws_data_event.sock_id). mode is enum ws_capture of
 * agent/proto/proto.h (== enum ws_capture_mode): DEFAULT (the per-run budget; deletes
 * the entry), OFF (no payload, lengths and seq still reported), ALL (every byte up to
 * WS_MAX_PAYLOAD per syscall, no run budget). Takes effect at the connection's next
 * syscall. Call it when a parser decides, and with DEFAULT when the connection ends
 * (the kernel also drops the entry at TCP_CLOSE; a call made after that, from records
 * read late, leaves an entry that the next accept/connect at that address removes, or
 * LRU eviction). Each call costs one map syscall; DEFAULT on a connection that has no
 * entry costs one failed delete and nothing in the kernel. Returns 0 or -errno.
 * Not for datagram records: the sock id of an unconnected UDP socket is shared by
 * all its peers, and datagrams are captured per datagram anyway.
 */
int ws_bpf_set_capture(struct ws_bpf *b, uint64_t sock_id, uint8_t mode, uint8_t role);
/* Entries in the kernel's capture policy map (tests). */
int ws_bpf_capture_entries(struct ws_bpf *b);
/* Number of programs attached / list them. */
int ws_bpf_attached(struct ws_bpf *b);
void ws_bpf_destroy(struct ws_bpf *b);

/* For agent/rt_go_attach.c: the skeleton, and its state (NULL when go_runtime is off). */
struct wirespan_bpf *ws_bpf_skel(struct ws_bpf *b);
struct ws_go_attach *ws_bpf_go_state(struct ws_bpf *b);
/* For agent/rt_py_attach.c: its state (NULL when py_runtime is off). */
struct ws_py_attach *ws_bpf_py_state(struct ws_bpf *b);
/* For agent/tls_attach.c: its state (NULL when tls is off). */
struct ws_tls_attach *ws_bpf_tls_state(struct ws_bpf *b);

/* traceparent injection state (agent/inject.h); NULL when off or unsupported. */
struct ws_inject *ws_bpf_inject(struct ws_bpf *b);

#endif /* WS_LOADER_H */
