/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * traceparent injection, the loader's side (bpf/hooks/inject.h, issue 12): probe, enable
 * the programs before load, attach the sockops program to the cgroup v2 root and the
 * sk_msg program to the sockhash, and write the destination map. A thin shell.
 */
#ifndef WS_INJECT_H
#define WS_INJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "../headers/wirespan_abi.h"

enum ws_inject_mode {
	WS_INJECT_OFF = 0,
	WS_INJECT_SDK,    /* default: local destinations recognised as SDK-instrumented */
	WS_INJECT_ALL,    /* every destination */
};

struct wirespan_bpf;
struct ws_inject;

/* Does this kernel have sk_msg, sockops and bpf_msg_push_data? */
bool ws_inject_supported(void);
/* Between open and load: enable the programs (mode != OFF and supported) or not, and
 * give the kernel the key of derived trace ids (headers/ws_derive.h). Returns whether
 * they will load. */
bool ws_inject_configure(struct wirespan_bpf *skel, enum ws_inject_mode mode, const uint64_t key[2]);
/* After load: attach. On failure prints why and returns -errno (nothing stays attached). */
int ws_inject_attach(struct wirespan_bpf *skel, struct ws_inject **out);
void ws_inject_detach(struct ws_inject *in);
/* Select a destination port (on this host). */
int ws_inject_set_dst(struct ws_inject *in, uint16_t port, bool on);
/* A connection that was open before the agent started (the sockops program never saw
 * it established): put the socket into the sockhash, so that its next requests are
 * injected too. The socket is taken from the process (pidfd_getfd) and checked to be
 * the connection named (local and remote port) before it is added. */
int ws_inject_adopt(struct ws_inject *in, uint32_t pid, int fd, uint16_t lport, uint16_t rport);

struct ws_inject_adopt_stats {
	uint64_t adopted;         /* sockets added */
	uint64_t present;         /* already in the sockhash */
	uint64_t gone;            /* the process or its fd was gone, or the fd is another socket now */
	uint64_t failed;          /* pidfd/getsockopt/map update failed otherwise */
};
void ws_inject_adopt_stats(const struct ws_inject *in, struct ws_inject_adopt_stats *out);

int ws_inject_read_counters(struct ws_inject *in, uint64_t out[WS_INJ__MAX]);
const char *ws_inject_counter_name(enum ws_inj_counter c);

#endif /* WS_INJECT_H */
