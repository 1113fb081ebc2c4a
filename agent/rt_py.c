/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPython executables and layouts: see rt_py.h. */
#include "rt_py.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Offsets per minor version, x86-64 and arm64 alike (pointers and longs are 8 bytes
 * there; nothing before these fields depends on anything else). 3.11: measured with
 * offsetof() against the interpreter's internal headers (python3.11-dev, 3.11.2; the
 * layout is fixed within a minor version). */
static const struct {
	int major, minor;
	struct ws_py_offsets off;
} table[] = {
	{ 3, 11, { .rt_interp_head = 40, .is_threads_head = 16, .ts_next = 8, .ts_interp = 16,
		   .ts_native_tid = 160, .ts_context = 224, .ctx_entered = 40, .ts_cframe = 56,
		   .cf_frame = 8, .fr_previous = 48, .fr_code = 32, .fr_owner = 69, .co_flags = 48,
		   .owner_gen = 1 } },
};

bool ws_py_table_offsets(int major, int minor, struct ws_py_offsets *out)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].major == major && table[i].minor == minor) {
			*out = table[i].off;
			return true;
		}
	}
	return false;
}

int ws_py_name_version(const char *name, int *major, int *minor)
{
	const char *base, *p;
	char *end;
	long ma, mi;

	if (!name)
		return -EINVAL;
	base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (strncmp(base, "python", 6) == 0)
		p = base + 6;
	else if (strncmp(base, "libpython", 9) == 0)
		p = base + 9;
	else
		return -EINVAL;
	ma = strtol(p, &end, 10);
	if (end == p || *end != '.')
		return -EINVAL;
	p = end + 1;
	mi = strtol(p, &end, 10);
	if (end == p || ma < 2 || ma > 9 || mi < 0 || mi > 99)
		return -EINVAL;
	/* python3.11, python3.11d, libpython3.11.so..., python3.11-dbg */
	if (*end && *end != '.' && *end != 'd' && *end != 'm' && *end != '-' && *end != 't')
		return -EINVAL;
	*major = (int)ma;
	*minor = (int)mi;
	return 0;
}

/* _PyRuntime's link-time address from a symbol table section, 0 when absent. */
static uint64_t find_runtime(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	for (size_t i = 0; d && i < n; i++) {
		GElf_Sym s;
		const char *nm;

		if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		nm = elf_strptr(e, sh->sh_link, s.st_name);
		if (nm && strcmp(nm, "_PyRuntime") == 0)
			return s.st_value;
	}
	return 0;
}

int ws_py_elf_inspect(const char *path, const char *name, struct ws_py_info *out)
{
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	size_t nph;
	int fd;
	Elf *e;

	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) || elf_getphdrnum(e, &nph) != 0) {
		if (e)
			elf_end(e);
		close(fd);
		return -ENOEXEC;
	}
	out->pie = eh.e_type == ET_DYN;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD) {
			out->load0_vaddr = ph.p_vaddr;
			out->load0_offset = ph.p_offset;
			break;
		}
	}
	/* .dynsym first (_PyRuntime is exported), .symtab when the file has one */
	for (int pass = 0; pass < 2 && !out->runtime_vaddr; pass++) {
		scn = NULL;
		while ((scn = elf_nextscn(e, scn)) != NULL) {
			GElf_Shdr sh;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != (pass ? SHT_SYMTAB : SHT_DYNSYM))
				continue;
			out->runtime_vaddr = find_runtime(e, scn, &sh);
			if (out->runtime_vaddr)
				break;
		}
	}
	elf_end(e);
	close(fd);
	out->is_python = out->runtime_vaddr != 0;
	if (!out->is_python)
		return 0;
	if (ws_py_name_version(name ? name : path, &out->major, &out->minor)) {
		out->why = "version unknown (the executable's name carries none)";
		return 0;
	}
	if (!ws_py_table_offsets(out->major, out->minor, &out->off)) {
		out->why = "no thread-state offsets for this CPython version";
		return 0;
	}
	out->supported = true;
	return 0;
}

int ws_py_check_layout(const struct ws_py_offsets *o, uint64_t runtime, uint32_t pid, ws_py_read_fn rd,
		       void *ctx, unsigned max)
{
	uint64_t interp = 0, ts = 0, back = 0, ntid = 0;
	bool main_seen = false;
	int err;

	if ((err = rd(ctx, runtime + o->rt_interp_head, &interp, sizeof(interp))))
		return err;
	if (!interp)
		return -ENOENT;
	if ((err = rd(ctx, interp + o->is_threads_head, &ts, sizeof(ts))))
		return err == -EFAULT || err == -EIO ? -EPROTO : err;
	if (!ts)
		return -ENOENT;
	for (unsigned i = 0; ts && i < max; i++) {
		if (rd(ctx, ts + o->ts_interp, &back, sizeof(back)) || back != interp)
			return -EPROTO;
		if (rd(ctx, ts + o->ts_native_tid, &ntid, sizeof(ntid)))
			return -EPROTO;
		if (ntid == pid)
			main_seen = true;
		if (rd(ctx, ts + o->ts_next, &ts, sizeof(ts)))
			return -EPROTO;
	}
	return main_seen ? 0 : -EPROTO;
}
