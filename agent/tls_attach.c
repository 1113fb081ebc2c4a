/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Finding TLS libraries and attaching the TLS uprobes (bpf/hooks/tls.h).
 *
 * Uprobes belong to a file (inode), not to a process: one attach to libssl.so.3 covers
 * every process mapping it, now and later, and the programs drop what scoping does not
 * select. So each file is attached once, through a path that reaches it from the
 * agent's mount namespace (/proc/PID/exe, /proc/PID/root/<mapped path>), and processes
 * are only looked at to find new files. Offsets are resolved here from the symbols
 * (libelf, once per file), so that a large executable (node: ~100 MB) is read once,
 * not once per probe as a by-name attach would.
 */
#include "proc_scope.h"
#include "tls_attach.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "wirespan.skel.h"

struct tls_obj {
	uint64_t dev, ino;
	struct ws_tls_syms syms;
	bool is_tls;
	bool attach_tried;
	struct bpf_link *links[2 * WS_TLS_FN__MAX + 1];
	int n_links;
};

struct ws_tls_attach {
	struct wirespan_bpf *skel;
	uint32_t agent_pid;
	uint32_t *pids; int n_pids;
	char (*comms)[WS_COMM_LEN]; int n_comms;
	bool port_scoped;
	struct tls_obj objs[WS_TLS_OBJ_CACHE];
	int n_objs, n_attached;
	uint32_t pidc[WS_TLS_PID_CACHE];   /* pid whose exe and maps were looked at */
	struct ws_tls_attach_stats st;
};

static const char *const fn_names[WS_TLS_FN__MAX] = {
	[WS_TLS_FN_READ] = "SSL_read", [WS_TLS_FN_WRITE] = "SSL_write",
	[WS_TLS_FN_READ_EX] = "SSL_read_ex", [WS_TLS_FN_WRITE_EX] = "SSL_write_ex",
	[WS_TLS_FN_HANDSHAKE] = "SSL_do_handshake", [WS_TLS_FN_SHUTDOWN] = "SSL_shutdown",
};

const char *ws_tls_func_name(enum ws_tls_func f)
{
	return f < WS_TLS_FN__MAX ? fn_names[f] : "unknown";
}

bool ws_tls_lib_name(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (strncmp(base, "libssl", 6) != 0)
		return false;
	/* libssl.so.3, libssl.so.1.1, libssl.so (BoringSSL), libssl-<hash>.so.1.1 (wheels) */
	return (base[6] == '.' || base[6] == '-') && strstr(base, ".so") != NULL;
}

/* vaddr -> file offset through the PT_LOAD segment holding it (what the kernel's
 * uprobe wants: an offset into the file). 0 when in no segment. */
static uint64_t vaddr_to_off(Elf *e, uint64_t vaddr)
{
	size_t n;

	if (elf_getphdrnum(e, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz)
			return vaddr - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

static void scan_syms(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct ws_tls_syms *out)
{
	Elf_Data *d = elf_getdata(scn, NULL);

	if (!d || !sh->sh_entsize)
		return;
	for (size_t i = 0; i < sh->sh_size / sh->sh_entsize; i++) {
		const char *name;
		GElf_Sym s;

		if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
		    s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		name = elf_strptr(e, sh->sh_link, s.st_name);
		if (name && !out->loop_io_done && name[0] == '_' && strcmp(name, WS_NODE_LOOP_IO_DONE) == 0) {
			out->loop_io_done = vaddr_to_off(e, s.st_value);
			continue;
		}
		/* all TLS names start with "SSL_": one compare rejects the rest */
		if (!name || strncmp(name, "SSL_", 4) != 0)
			continue;
		for (int f = 0; f < WS_TLS_FN__MAX; f++)
			if (!out->off[f] && strcmp(name, fn_names[f]) == 0)
				out->off[f] = vaddr_to_off(e, s.st_value);
	}
}

int ws_tls_elf_syms(const char *path, struct ws_tls_syms *out)
{
	int fd, err = 0;
	Elf *e;

	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto out;
	}
	/* .dynsym first (exported: libraries, node); .symtab only when that misses
	 * (a statically linked BoringSSL that keeps its symbols). */
	for (int pass = 0; pass < 2 && !(out->off[WS_TLS_FN_READ] && out->off[WS_TLS_FN_WRITE]); pass++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;

			if (gelf_getshdr(scn, &sh) &&
			    sh.sh_type == (pass == 0 ? SHT_DYNSYM : SHT_SYMTAB))
				scan_syms(e, scn, &sh, out);
		}
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	if (err)
		return err;
	return out->off[WS_TLS_FN_READ] && out->off[WS_TLS_FN_WRITE];
}

static bool in_scope(struct ws_tls_attach *t, uint32_t pid)
{
	struct ws_proc_scope sc = {
		.agent_pid = t->agent_pid, .pids = t->pids, .n_pids = t->n_pids,
		.comms = t->comms, .n_comms = t->n_comms, .port_scoped = t->port_scoped,
	};

	return ws_proc_in_scope(&sc, pid);
}

static struct tls_obj *obj_lookup(struct ws_tls_attach *t, const char *path, uint64_t dev,
				  uint64_t ino, struct tls_obj *scratch)
{
	struct tls_obj *o;

	for (int i = 0; i < t->n_objs; i++)
		if (t->objs[i].dev == dev && t->objs[i].ino == ino)
			return &t->objs[i];
	o = t->n_objs < WS_TLS_OBJ_CACHE ? &t->objs[t->n_objs++] : scratch;
	memset(o, 0, sizeof(*o));
	o->dev = dev;
	o->ino = ino;
	t->st.files_checked++;
	o->is_tls = ws_tls_elf_syms(path, &o->syms) == 1;
	return o;
}

static struct bpf_program *prog_of(struct ws_tls_attach *t, enum ws_tls_func f)
{
	switch (f) {
	case WS_TLS_FN_READ: return t->skel->progs.ws_tls_read;
	case WS_TLS_FN_WRITE: return t->skel->progs.ws_tls_write;
	case WS_TLS_FN_READ_EX: return t->skel->progs.ws_tls_read_ex;
	case WS_TLS_FN_WRITE_EX: return t->skel->progs.ws_tls_write_ex;
	case WS_TLS_FN_HANDSHAKE:
	case WS_TLS_FN_SHUTDOWN: return t->skel->progs.ws_tls_other;
	case WS_TLS_FN__MAX: break;
	}
	return NULL;
}

static void obj_detach(struct tls_obj *o)
{
	/* entries first: no entry may fire without its return program */
	for (int i = o->n_links - 1; i >= 0; i--)
		bpf_link__destroy(o->links[i]);
	o->n_links = 0;
}

static int probe_at(struct tls_obj *o, struct bpf_program *prog, const char *path, uint64_t off,
		    const char *name, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, -1, path, off, &opts);

	if (!l) {
		int err = -errno;

		fprintf(stderr, "wirespan: failed to attach uprobe %s%s in %s: %s\n", name,
			ret ? " (return)" : "", path, strerror(-err));
		return err;
	}
	o->links[o->n_links++] = l;
	return 0;
}

static int probe(struct tls_obj *o, struct bpf_program *prog, const char *path, enum ws_tls_func f,
		 bool ret)
{
	return probe_at(o, prog, path, o->syms.off[f], fn_names[f], ret);
}

/* Returns 1 when attached now, 0 when not (already, not TLS, or over the bound). */
static int obj_attach(struct ws_tls_attach *t, struct tls_obj *o, const char *path)
{
	int err = 0;

	if (!o->is_tls || o->attach_tried)
		return 0;
	o->attach_tried = true;
	if (o < t->objs || o >= t->objs + WS_TLS_OBJ_CACHE || t->n_attached >= WS_TLS_MAX_OBJS) {
		t->st.objs_skipped++;
		fprintf(stderr, "wirespan: TLS uprobes not attached to %s: %d files already\n", path,
			WS_TLS_MAX_OBJS);
		return 0;
	}
	/* Every return program before any entry program: an entry whose return is not in
	 * place yet would leave its thread marked as inside a TLS call. */
	for (int pass = 0; pass < 2 && !err; pass++)
		for (int f = 0; f < WS_TLS_FN__MAX && !err; f++)
			if (o->syms.off[f])
				err = probe(o, pass == 0 ? t->skel->progs.ws_tls_ret : prog_of(t, f),
					    path, (enum ws_tls_func)f, pass == 0);
	if (err) {
		t->st.attach_failed++;
		obj_detach(o);
		return 0;
	}
	/* The loop-phase marker is a refinement: without it the parentage rules fall back
	 * to their generic evidence, so a failure here only loses it. */
	if (o->syms.loop_io_done &&
	    probe_at(o, t->skel->progs.ws_loop_io_done, path, o->syms.loop_io_done, "node loop I/O end", false) == 0)
		t->st.loop_probes++;
	t->n_attached++;
	t->st.objs_attached++;
	t->st.probes += (uint64_t)o->n_links;
	return 1;
}

static int attach_path(struct ws_tls_attach *t, const char *path)
{
	struct tls_obj scratch, *o;
	struct stat sb;

	if (stat(path, &sb) || !S_ISREG(sb.st_mode))
		return 0;
	o = obj_lookup(t, path, (uint64_t)sb.st_dev, (uint64_t)sb.st_ino, &scratch);
	return obj_attach(t, o, path);
}

/* The TLS libraries in /proc/PID/maps, each reached through /proc/PID/root (the
 * process's mount namespace). */
static int scan_maps(struct ws_tls_attach *t, uint32_t pid)
{
	char path[64], line[4352], seen[4][256];
	int n_seen = 0, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char full[4400], *p = strchr(line, '/');
		bool dup = false;

		if (!p)
			continue;
		p[strcspn(p, "\n")] = 0;
		if (!ws_tls_lib_name(p) || strstr(p, " (deleted)"))
			continue;
		/* a library is mapped several times (text, data, relro): once is enough */
		for (int i = 0; i < n_seen && !dup; i++)
			dup = strncmp(seen[i], p, sizeof(seen[i])) == 0;
		if (dup)
			continue;
		if (n_seen < 4)
			snprintf(seen[n_seen++], sizeof(seen[0]), "%s", p);
		snprintf(full, sizeof(full), "/proc/%u/root%s", pid, p);
		n += attach_path(t, full);
	}
	fclose(f);
	return n;
}

static int discover(struct ws_tls_attach *t, uint32_t pid)
{
	uint32_t *slot = &t->pidc[pid % WS_TLS_PID_CACHE];
	char path[64];
	int n;

	if (*slot == pid)
		return 0;
	*slot = pid;
	t->st.pids_checked++;
	if (!in_scope(t, pid))
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = attach_path(t, path);
	return n + scan_maps(t, pid);
}

int ws_tls_discover(struct ws_bpf *b, uint32_t pid)
{
	struct ws_tls_attach *t = b ? ws_bpf_tls_state(b) : NULL;

	if (!t || !pid)
		return 0;
	return discover(t, pid);
}

void ws_tls_forget(struct ws_bpf *b, uint32_t pid)
{
	struct ws_tls_attach *t = b ? ws_bpf_tls_state(b) : NULL;

	if (t && t->pidc[pid % WS_TLS_PID_CACHE] == pid)
		t->pidc[pid % WS_TLS_PID_CACHE] = 0;
}

int ws_tls_read_stats(struct ws_bpf *b, struct ws_tls_attach_stats *out)
{
	struct ws_tls_attach *t = b ? ws_bpf_tls_state(b) : NULL;

	if (!t || !out)
		return -EINVAL;
	*out = t->st;
	return 0;
}

int ws_tls_attach_init(struct ws_bpf *b, const struct ws_bpf_config *cfg, struct ws_tls_attach **out)
{
	struct ws_tls_attach *t = calloc(1, sizeof(*t));
	struct dirent *de;
	DIR *d;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->skel = ws_bpf_skel(b);
	t->agent_pid = (uint32_t)cfg->agent_pid;
	t->port_scoped = cfg->n_ports > 0;
	if (cfg->n_pids) {
		t->pids = calloc((size_t)cfg->n_pids, sizeof(*t->pids));
		if (!t->pids)
			goto nomem;
		for (int i = 0; i < cfg->n_pids; i++)
			t->pids[i] = (uint32_t)cfg->pids[i];
		t->n_pids = cfg->n_pids;
	}
	if (cfg->n_comms) {
		t->comms = calloc((size_t)cfg->n_comms, sizeof(*t->comms));
		if (!t->comms)
			goto nomem;
		for (int i = 0; i < cfg->n_comms; i++)
			strncpy(t->comms[i], cfg->comms[i], WS_COMM_LEN - 1);
		t->n_comms = cfg->n_comms;
	}
	*out = t;
	/* Processes already running that the scoping names (all of them when nothing or
	 * only ports are scoped: a port-scoped connection may belong to any process). */
	d = opendir("/proc");
	if (d) {
		while ((de = readdir(d))) {
			if (isdigit((unsigned char)de->d_name[0]))
				discover(t, (uint32_t)strtoul(de->d_name, NULL, 10));
		}
		closedir(d);
	}
	return 0;
nomem:
	ws_tls_attach_free(t);
	return -ENOMEM;
}

void ws_tls_attach_free(struct ws_tls_attach *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n_objs; i++)
		obj_detach(&t->objs[i]);
	free(t->pids);
	free(t->comms);
	free(t);
}
