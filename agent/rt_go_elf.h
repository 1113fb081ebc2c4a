/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Is an executable a Go program, which Go, and where the runtime keeps what wirespan
 * reads from it (goroutine id, net/http connection fd). Read from the file only: no
 * process is touched.
 *
 * Offsets come from the binary's own DWARF when it has it; a built-in table per Go
 * release is the fallback for binaries built with -ldflags=-w. Supported: go1.18 ..
 * go1.22 by the table, any go1.17+ amd64 binary whose DWARF has the structs (the
 * register ABI that the uprobes rely on dates from go1.17). Anything else is
 * reported as not supported with a reason: no Go evidence rather than a wrong read.
 */
#ifndef WS_RT_GO_ELF_H
#define WS_RT_GO_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_go_src {
	WS_GO_SRC_NONE = 0,
	WS_GO_SRC_DWARF = 1,   /* every offset read from the binary's DWARF */
	WS_GO_SRC_TABLE = 2,   /* from the per-release table (no DWARF) */
};

/* Byte offsets inside Go runtime and net/http structures (amd64). */
struct ws_go_offsets {
	int32_t tls_g;         /* the current g is the u64 at fsbase + tls_g */
	uint32_t g_goid;       /* runtime.g.goid */
	uint32_t g_m;          /* runtime.g.m */
	uint32_t m_curg;       /* runtime.m.curg (0: unknown; not needed by the probes) */
	/* net/http: *persistConn -> conn (net.Conn iface: tab, data) -> *net.TCPConn ->
	 * conn.fd (*net.netFD) -> pfd (internal/poll.FD) -> Sysfd */
	uint32_t pc_conn;      /* net/http.persistConn.conn */
	uint32_t tcpconn_fd;   /* net.TCPConn's embedded net.conn .fd */
	uint32_t netfd_pfd;    /* net.netFD.pfd */
	uint32_t pfd_sysfd;    /* internal/poll.FD.Sysfd */
	bool http_ok;          /* the five net/http offsets above are known */
	uint8_t _pad[3];
	enum ws_go_src src;
};

struct ws_go_info {
	bool is_go;            /* has .go.buildinfo (or runtime.buildVersion) */
	bool supported;        /* offsets known and trusted: Go evidence can be collected */
	bool pie;              /* ET_DYN: symbol addresses need the load bias of each process */
	uint64_t load0_vaddr;  /* first PT_LOAD: vaddr and file offset, to find the bias */
	uint64_t load0_offset; /* from the process's mapping of that offset */
	bool has_newproc1;     /* symbol runtime.newproc1 (goroutine spawn uprobe) */
	bool has_roundtrip;    /* symbol net/http.(*persistConn).roundTrip */
	uint32_t newproc1_off; /* where to put the uprobe, from the function's start: */
	uint32_t roundtrip_off; /* past the stack-bound check (ws_go_probe_offset), or 0 */
	int major, minor;      /* 1, 19 for go1.19.8; 0 when unknown */
	char version[32];      /* "go1.19.8"; "" when unknown */
	uint64_t itab_tcpconn; /* link-time address of the itab (*net.TCPConn, net.Conn);
				* 0: not found, the CALL probe cannot check the conn's type */
	struct ws_go_offsets off;
	const char *why;       /* when !supported: a static string saying why */
};

/* Inspect the executable at path. Returns 0 (info filled, is_go may be false) or
 * -errno when the file cannot be read as ELF. */
int ws_go_elf_inspect(const char *path, struct ws_go_info *out);

/* ---- pure helpers (unit-tested) ---------------------------------------------- */

/* Load bias of a PIE executable from the text of /proc/PID/maps: the mapping of file
 * inode ino at the page of load0_offset starts at load0_vaddr + bias. Returns 0 or
 * -ENOENT. */
int ws_go_maps_bias(const char *maps, size_t n, uint64_t ino, uint64_t load0_vaddr,
		    uint64_t load0_offset, uint64_t *bias);

/* The version string of a .go.buildinfo section's contents (go1.18+ layout: the
 * strings inline after a 32-byte header). Returns 0 or -EINVAL/-ENOTSUP (older
 * pointer layout, which needs the whole image). */
int ws_go_buildinfo_version(const uint8_t *p, size_t n, char *ver, size_t vlen);
/*
 * Where in a Go function a uprobe is cheap. A uprobe on an instruction the kernel
 * cannot emulate is executed out of line with a single-step trap; the first
 * instruction of a Go function is its stack-bound compare (cmp 0x10(%r14),%rsp, or
 * lea -N(%rsp),%r12 + cmp 0x10(%r14),%r12), which is such an instruction, and cost
 * ~8 us per hit here. The jbe to morestack that follows is a conditional branch,
 * which x86 uprobes emulate. The registers there are those of the entry (only r12 and
 * the flags changed, rsp untouched, so a uretprobe there still finds the return
 * address at the top of the stack). Returns the jbe's offset when the code starts with
 * exactly one of those prologues, 0 (the entry) otherwise.
 */
uint32_t ws_go_probe_offset(const uint8_t *code, size_t n);
/* "go1.19.8" -> 1, 19. Accepts "go1.21rc2", "go1.22.0 X:boringcrypto". */
int ws_go_parse_version(const char *ver, int *major, int *minor);
/* The per-release table. false when the release is not in it. */
bool ws_go_table_offsets(int major, int minor, struct ws_go_offsets *out);

#endif /* WS_RT_GO_ELF_H */
