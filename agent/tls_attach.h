/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * TLS plaintext, kernel-facing shell: finds the TLS libraries (libssl.so.*) and the
 * executables that carry the OpenSSL/BoringSSL API themselves (node), and attaches the
 * uprobes of bpf/hooks/tls.h once per file (inode). At start the in-scope processes
 * are scanned (/proc/PID/exe and /proc/PID/maps); later ones one pid at a time
 * (ws_tls_discover, from the record loop and at exec). Enabled by ws_bpf_config.tls;
 * all of it is torn down by ws_bpf_destroy.
 */
#ifndef WS_TLS_ATTACH_H
#define WS_TLS_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"

#define WS_TLS_MAX_OBJS 64       /* files with uprobes at once; more are counted, not attached */
#define WS_TLS_OBJ_CACHE 512     /* files inspected and remembered (TLS or not) */
#define WS_TLS_PID_CACHE 4096    /* pids remembered (direct-mapped; a clash re-checks) */

/* The functions probed, in attach order of struct ws_tls_syms.off[]. */
enum ws_tls_func {
	WS_TLS_FN_READ = 0,       /* SSL_read */
	WS_TLS_FN_WRITE,          /* SSL_write */
	WS_TLS_FN_READ_EX,        /* SSL_read_ex (OpenSSL 1.1.1+) */
	WS_TLS_FN_WRITE_EX,       /* SSL_write_ex */
	WS_TLS_FN_HANDSHAKE,      /* SSL_do_handshake (SSL_connect/SSL_accept call it) */
	WS_TLS_FN_SHUTDOWN,       /* SSL_shutdown */
	WS_TLS_FN__MAX,
};

struct ws_tls_attach;

struct ws_tls_attach_stats {
	uint64_t pids_checked;    /* pid cache misses: exe and maps looked at */
	uint64_t files_checked;   /* files whose symbols were read */
	uint64_t objs_attached;   /* libraries/executables with uprobes */
	uint64_t objs_skipped;    /* TLS files left without uprobes: WS_TLS_MAX_OBJS reached */
	uint64_t attach_failed;   /* files whose uprobes failed to attach (see log) */
	uint64_t probes;          /* uprobes + uretprobes attached now */
	uint64_t loop_probes;     /* of which loop-phase uprobes (node executables) */
};

/* Function name of f ("SSL_read", ...). */
const char *ws_tls_func_name(enum ws_tls_func f);

/* File offsets of the probed functions in one ELF file (0: absent). */
struct ws_tls_syms {
	uint64_t off[WS_TLS_FN__MAX];
	/* Not TLS, but found in the same executables (node) by the same scan: the end of a
	 * loop iteration's I/O phase (bpf/hooks/loop.h ws_loop_io_done). */
	uint64_t loop_io_done;
};

/* Node's libuv check callback: it runs right after each poll phase's I/O callbacks. */
#define WS_NODE_LOOP_IO_DONE "_ZN4node11Environment14CheckImmediateEP10uv_check_s"

/* Read the defined function symbols of path (.dynsym, then .symtab) and fill the file
 * offsets of the probed functions. Returns 1 when the file carries the API
 * (SSL_read and SSL_write both defined), 0 when not, -errno when unreadable as ELF. */
int ws_tls_elf_syms(const char *path, struct ws_tls_syms *out);

/* Is this mapped path a TLS library by its name (libssl.so*, libssl-*.so*)? Pure. */
bool ws_tls_lib_name(const char *path);

/*
 * A pid the agent sees for the first time, or one that exec'd (call ws_tls_forget
 * first). Attaches the uprobes of its executable and of the TLS libraries it maps, when
 * not done yet and the process is in scope. Cheap when repeated (per-pid cache).
 * Returns the number of files newly attached, 0 when none, -errno on failure.
 */
int ws_tls_discover(struct ws_bpf *b, uint32_t pid);
/* The process exec'd or exited: its cached verdict goes (the files stay attached). */
void ws_tls_forget(struct ws_bpf *b, uint32_t pid);
int ws_tls_read_stats(struct ws_bpf *b, struct ws_tls_attach_stats *out);

/* For loader.c: set up (scan the running processes) and tear down. */
int ws_tls_attach_init(struct ws_bpf *b, const struct ws_bpf_config *cfg, struct ws_tls_attach **out);
void ws_tls_attach_free(struct ws_tls_attach *t);

#endif /* WS_TLS_ATTACH_H */
