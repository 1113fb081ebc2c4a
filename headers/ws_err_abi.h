/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Helper failures of the kernel programs, counted per {error, file, line} (Tetragon's
 * shape) in the per-CPU hash ws_errors, key struct ws_err_key, value a u64 count.
 * A failed bpf_probe_read_user of a user buffer and a failed CO-RE read of a socket
 * are different bugs; one shared "read failed" counter could not tell which, nor where.
 * The agent sums the CPUs and prints each entry (agent/bpf_errors.c).
 *
 * The file is a small id, not __FILE__: a string cannot be a cheap map key. Each bpf/
 * header that records failures names itself with WS_FILE_ID (one of the ids below);
 * the table gives the name the agent prints.
 */
#ifndef WS_ERR_ABI_H
#define WS_ERR_ABI_H

#include "wirespan_abi.h"

/* Bounded: when full, a new {error, file, line} is counted in WS_CNT_ERR_FULL instead. */
#define WS_ERR_ENTRIES 256

/* X(id, name printed by the agent). Append only: ids are in the key. */
#define WS_ERR_FILES(X)                         \
	X(WS_ERRF_LIB_EMIT, "lib/emit.h")       \
	X(WS_ERRF_LIB_GATHER, "lib/gather.h")   \
	X(WS_ERRF_HOOKS_DATA, "hooks/data.h")   \
	X(WS_ERRF_HOOKS_DGRAM, "hooks/dgram.h") \
	X(WS_ERRF_HOOKS_LOOP, "hooks/loop.h")   \
	X(WS_ERRF_HOOKS_TLS, "hooks/tls.h")     \
	X(WS_ERRF_TEST, "tests/bpf/helpers_test.bpf.c")

enum ws_err_file {
	WS_ERRF_NONE = 0,
#define WS_ERR_FILE_ENUM(id, name) id,
	WS_ERR_FILES(WS_ERR_FILE_ENUM)
#undef WS_ERR_FILE_ENUM
	WS_ERRF__MAX,
};

struct ws_err_key {
	__s32 err;    /* the helper's return value: -errno */
	__u16 file;   /* enum ws_err_file */
	__u16 line;   /* __LINE__ of the failure in that file */
};
WS_STATIC_ASSERT(sizeof(struct ws_err_key) == 8, "ws_err_key layout");

#endif
