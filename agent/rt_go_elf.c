/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go binary detection and runtime offsets: ELF sections and symbols with libelf,
 * struct layouts with libdw. See rt_go_elf.h for the supported range.
 */
#include "rt_go_elf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>

/* ---- pure helpers ---------------------------------------------------------------- */

static const uint8_t buildinfo_magic[14] = "\xff Go buildinf:";

static int read_uvarint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64 && *pos < n; shift += 7) {
		uint8_t b = p[(*pos)++];

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * .go.buildinfo: 14-byte magic, pointer size, flags, padding to 32 bytes. With flag
 * bit 1 (go1.18+) the version and module info follow as varint-length strings;
 * without it the header holds pointers to Go string headers elsewhere in the image.
 */
int ws_go_buildinfo_version(const uint8_t *p, size_t n, char *ver, size_t vlen)
{
	size_t pos = 32;
	uint64_t len;

	if (!p || !ver || vlen == 0 || n < 32 || memcmp(p, buildinfo_magic, 14) != 0)
		return -EINVAL;
	if (!(p[15] & 2))
		return -ENOTSUP;
	if (read_uvarint(p, n, &pos, &len) || len > n - pos || len == 0 || len >= vlen)
		return -EINVAL;
	memcpy(ver, p + pos, len);
	ver[len] = 0;
	return 0;
}

int ws_go_parse_version(const char *ver, int *major, int *minor)
{
	char *end;
	long ma, mi;

	if (!ver || strncmp(ver, "go", 2) != 0)
		return -EINVAL;
	errno = 0;
	ma = strtol(ver + 2, &end, 10);
	if (errno || end == ver + 2 || *end != '.' || ma < 1 || ma > 99)
		return -EINVAL;
	mi = strtol(end + 1, &end, 10);
	if (errno || mi < 0 || mi > 999)
		return -EINVAL;
	*major = (int)ma;
	*minor = (int)mi;
	return 0;
}

/*
 * Layouts that did not move from go1.18 to go1.22 (amd64), from the Go sources:
 * runtime.g: stack(16) stackguard0 stackguard1 _panic _defer m@48 sched(gobuf, 56 bytes)
 * syscallsp syscallpc stktopsp param atomicstatus(4) stackLock(4) goid@152. go1.23
 * inserted syscallbp after syscallpc, so the table stops at 1.22.
 * net/http.persistConn: alt(iface 16) t(8) cacheKey(connectMethodKey: 3 strings + bool
 * = 56) conn@80. net.TCPConn{conn{fd}}: fd@0. net.netFD{pfd poll.FD}: @0.
 * internal/poll.FD{fdmu fdMutex(16) Sysfd}: @16.
 * Verified against go1.19's DWARF by the unit test when go is installed.
 */
bool ws_go_table_offsets(int major, int minor, struct ws_go_offsets *out)
{
	if (major != 1 || minor < 18 || minor > 22)
		return false;
	memset(out, 0, sizeof(*out));
	out->tls_g = -8;
	out->g_goid = 152;
	out->g_m = 48;
	out->pc_conn = 80;
	out->tcpconn_fd = 0;
	out->netfd_pfd = 0;
	out->pfd_sysfd = 16;
	out->http_ok = true;
	out->src = WS_GO_SRC_TABLE;
	return true;
}

int ws_go_maps_bias(const char *maps, size_t n, uint64_t ino, uint64_t load0_vaddr,
		    uint64_t load0_offset, uint64_t *bias)
{
	const uint64_t page_mask = ~(uint64_t)0xfff;
	const char *p = maps, *end = maps + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[512];
		unsigned long long start, stop, off, inode;
		char perms[8], dev[16];

		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = 0;
			/* start-end perms offset dev inode [path] */
			if (sscanf(line, "%llx-%llx %7s %llx %15s %llu", &start, &stop, perms, &off, dev,
				   &inode) == 6 && inode == ino && off == (load0_offset & page_mask)) {
				*bias = start - (load0_vaddr & page_mask);
				return 0;
			}
		}
		p += len + 1;
	}
	return -ENOENT;
}

uint32_t ws_go_probe_offset(const uint8_t *c, size_t n)
{
	static const uint8_t cmp_rsp[4] = { 0x49, 0x3b, 0x66, 0x10 }; /* cmp 0x10(%r14),%rsp */
	static const uint8_t cmp_r12[4] = { 0x4d, 0x3b, 0x66, 0x10 }; /* cmp 0x10(%r14),%r12 */
	size_t i = 0;

	if (!c)
		return 0;
	/* lea disp8(%rsp),%r12 | lea disp32(%rsp),%r12 */
	if (n >= 5 && c[0] == 0x4c && c[1] == 0x8d && c[2] == 0x64 && c[3] == 0x24)
		i = 5;
	else if (n >= 8 && c[0] == 0x4c && c[1] == 0x8d && c[2] == 0xa4 && c[3] == 0x24)
		i = 8;
	if (n < i + 4 || memcmp(c + i, i ? cmp_r12 : cmp_rsp, 4) != 0)
		return 0;
	i += 4;
	/* jbe rel32 | jbe rel8 */
	if ((n >= i + 6 && c[i] == 0x0f && c[i + 1] == 0x86) || (n >= i + 2 && c[i] == 0x76))
		return (uint32_t)i;
	return 0;
}

/* ---- DWARF ----------------------------------------------------------------------- */

enum { S_G, S_M, S_PC, S_TCPCONN, S_CONN, S_NETFD, S_FD, S__N };

static const char *const dw_structs[S__N] = {
	[S_G] = "runtime.g", [S_M] = "runtime.m", [S_PC] = "net/http.persistConn",
	[S_TCPCONN] = "net.TCPConn", [S_CONN] = "net.conn", [S_NETFD] = "net.netFD",
	[S_FD] = "internal/poll.FD",
};

/* Offset of member name in struct DIE s; -1 when absent. */
static long dw_member(Dwarf_Die *s, const char *name)
{
	Dwarf_Die c;

	if (dwarf_child(s, &c) != 0)
		return -1;
	do {
		Dwarf_Attribute a;
		Dwarf_Word off;
		const char *n;

		if (dwarf_tag(&c) != DW_TAG_member)
			continue;
		n = dwarf_diename(&c);
		if (!n || strcmp(n, name) != 0)
			continue;
		if (!dwarf_attr(&c, DW_AT_data_member_location, &a) || dwarf_formudata(&a, &off))
			return -1;
		return (long)off;
	} while (dwarf_siblingof(&c, &c) == 0);
	return -1;
}

/* Go emits its types as children of the compile units: only the top level of each
 * unit is walked, and the walk stops once every struct wanted was seen. */
static int dw_offsets(int fd, struct ws_go_offsets *o, int tls_g)
{
	Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
	Dwarf_Off off = 0, next;
	size_t hsize;
	Dwarf_Die die[S__N];
	bool seen[S__N] = { 0 };
	int found = 0;
	long v[8];

	if (!dw)
		return -ENOENT;
	while (found < S__N && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, c;

		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &c) == 0) {
			do {
				const char *n;

				if (dwarf_tag(&c) != DW_TAG_structure_type)
					continue;
				n = dwarf_diename(&c);
				if (!n)
					continue;
				for (int i = 0; i < S__N; i++) {
					if (!seen[i] && strcmp(n, dw_structs[i]) == 0) {
						die[i] = c;
						seen[i] = true;
						found++;
					}
				}
			} while (found < S__N && dwarf_siblingof(&c, &c) == 0);
		}
		off = next;
	}
	memset(o, 0, sizeof(*o));
	if (!seen[S_G] || (v[0] = dw_member(&die[S_G], "goid")) < 0 ||
	    (v[1] = dw_member(&die[S_G], "m")) < 0) {
		dwarf_end(dw);
		return -ENOENT;
	}
	o->tls_g = tls_g;
	o->g_goid = (uint32_t)v[0];
	o->g_m = (uint32_t)v[1];
	if (seen[S_M] && (v[2] = dw_member(&die[S_M], "curg")) >= 0)
		o->m_curg = (uint32_t)v[2];
	/* net/http is linked in only when the program uses it. TCPConn embeds net.conn
	 * (member "conn"), whose first member is fd. */
	if (seen[S_PC] && seen[S_TCPCONN] && seen[S_CONN] && seen[S_NETFD] && seen[S_FD] &&
	    (v[3] = dw_member(&die[S_PC], "conn")) >= 0 &&
	    (v[4] = dw_member(&die[S_TCPCONN], "conn")) >= 0 &&
	    (v[5] = dw_member(&die[S_CONN], "fd")) >= 0 &&
	    (v[6] = dw_member(&die[S_NETFD], "pfd")) >= 0 &&
	    (v[7] = dw_member(&die[S_FD], "Sysfd")) >= 0) {
		o->pc_conn = (uint32_t)v[3];
		o->tcpconn_fd = (uint32_t)(v[4] + v[5]);
		o->netfd_pfd = (uint32_t)v[6];
		o->pfd_sysfd = (uint32_t)v[7];
		o->http_ok = true;
	}
	o->src = WS_GO_SRC_DWARF;
	dwarf_end(dw);
	return 0;
}

/* ---- ELF ------------------------------------------------------------------------- */

static Elf_Scn *find_section(Elf *e, size_t shstrndx, const char *want, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh))
			continue;
		n = elf_strptr(e, shstrndx, sh->sh_name);
		if (n && strcmp(n, want) == 0)
			return scn;
	}
	return NULL;
}

/*
 * Where the g pointer sits relative to fsbase. Go's linker puts runtime.tlsg at the
 * start of the executable's TLS block; on x86-64 (TLS variant II) the block ends at
 * the thread pointer, so g is at -round_up(memsz, align). A static binary without
 * PT_TLS uses the same -8 slot (runtime.settls points fsbase just past m.tls[0]).
 * A larger block (C thread locals of an externally linked cgo binary) leaves Go's
 * place in it unknown: 1 = unknown.
 */
static int tls_g_offset(Elf *e)
{
	size_t n;

	if (elf_getphdrnum(e, &n))
		return 1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_TLS)
			continue;
		return ph.p_memsz == 8 ? -8 : 1;
	}
	return -8;
}

static void first_load(Elf *e, struct ws_go_info *gi)
{
	size_t n;

	if (elf_getphdrnum(e, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD) {
			gi->load0_vaddr = ph.p_vaddr;
			gi->load0_offset = ph.p_offset;
			return;
		}
	}
}

/* The probe offset of the function at vaddr, from the bytes of its section. */
static uint32_t func_probe_offset(Elf *e, uint64_t vaddr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) || vaddr < sh.sh_addr ||
		    vaddr >= sh.sh_addr + sh.sh_size)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || vaddr - sh.sh_addr >= d->d_size)
			return 0;
		return ws_go_probe_offset((const uint8_t *)d->d_buf + (vaddr - sh.sh_addr),
					  d->d_size - (vaddr - sh.sh_addr));
	}
	return 0;
}

static void scan_symbols(Elf *e, struct ws_go_info *gi, bool *has_buildversion)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (!gelf_getsym(d, (int)i, &s))
				continue;
			n = elf_strptr(e, sh.sh_link, s.st_name);
			if (!n || n[0] == 0)
				continue;
			if (strcmp(n, "runtime.newproc1") == 0) {
				gi->has_newproc1 = true;
				gi->newproc1_off = func_probe_offset(e, s.st_value);
			} else if (strcmp(n, "net/http.(*persistConn).roundTrip") == 0) {
				gi->has_roundtrip = true;
				gi->roundtrip_off = func_probe_offset(e, s.st_value);
			}
			else if (strcmp(n, "runtime.buildVersion") == 0)
				*has_buildversion = true;
			/* go1.20 renamed the go. symbol prefix to go: */
			else if (strcmp(n, "go.itab.*net.TCPConn,net.Conn") == 0 ||
				 strcmp(n, "go:itab.*net.TCPConn,net.Conn") == 0)
				gi->itab_tcpconn = s.st_value;
		}
	}
}

int ws_go_elf_inspect(const char *path, struct ws_go_info *gi)
{
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf_Scn *scn;
	size_t shstrndx;
	bool has_bv = false;
	int fd, err = 0, tls_g;
	Elf *e;

	memset(gi, 0, sizeof(*gi));
	gi->why = "not a Go binary";
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) || elf_getshdrstrndx(e, &shstrndx)) {
		err = -ENOEXEC;
		goto out;
	}
	scn = find_section(e, shstrndx, ".go.buildinfo", &sh);
	if (scn) {
		Elf_Data *d = elf_getdata(scn, NULL);

		gi->is_go = true;
		if (d && d->d_buf && ws_go_buildinfo_version(d->d_buf, d->d_size, gi->version,
							     sizeof(gi->version)) == 0)
			ws_go_parse_version(gi->version, &gi->major, &gi->minor);
	}
	scan_symbols(e, gi, &has_bv);
	if (has_bv)
		gi->is_go = true;
	if (!gi->is_go)
		goto out;
	gi->pie = eh.e_type == ET_DYN;
	first_load(e, gi);
	if (eh.e_machine != EM_X86_64) {
		gi->why = "not amd64 (TLS slot and register ABI are amd64's)";
		goto out;
	}
	if (gi->major == 1 && gi->minor < 17) {
		gi->why = "Go before 1.17 (stack ABI: the probes read registers)";
		goto out;
	}
	tls_g = tls_g_offset(e);
	if (tls_g > 0) {
		gi->why = "TLS block holds more than Go's g slot (externally linked cgo)";
		goto out;
	}
	if (dw_offsets(fd, &gi->off, tls_g) == 0) {
		/* A binary that says nothing of its version but has DWARF is still read:
		 * the offsets are the binary's own. The register ABI needs 1.17+, and an
		 * unknown version could be older. */
		if (!gi->major) {
			gi->why = "Go version unknown (pre-1.18 buildinfo layout)";
			goto out;
		}
		gi->supported = true;
		gi->why = NULL;
		goto out;
	}
	if (!gi->major || !ws_go_table_offsets(gi->major, gi->minor, &gi->off)) {
		gi->why = "no DWARF and this Go release is not in the offsets table (1.18-1.22)";
		goto out;
	}
	gi->supported = true;
	gi->why = NULL;
out:
	if (e)
		elf_end(e);
	close(fd);
	return err;
}
