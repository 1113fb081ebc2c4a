/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Registering CPython processes with the kernel: see rt_py_attach.h. */
#include "rt_py_attach.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "proc_scope.h"
#include "rt_go_elf.h"
#include "rt_py.h"
#include "wirespan.skel.h"
#include "rt_gen.h"

struct py_exe {
	uint64_t dev, ino;
	struct ws_py_info info;
};

struct ws_py_attach {
	struct wirespan_bpf *skel;
	struct py_exe exes[WS_PY_EXE_CACHE];
	unsigned n_exes, next_evict;
	struct ws_py_attach_stats st;
};

static int read_mem(void *ctx, uint64_t addr, void *dst, size_t len)
{
	pid_t pid = (pid_t)(uintptr_t)ctx;
	struct iovec l = { dst, len }, r = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static const struct py_exe *exe_lookup(struct ws_py_attach *g, const char *exe_path, const char *name,
				       const struct stat *sb)
{
	struct py_exe *x;

	for (unsigned i = 0; i < g->n_exes; i++)
		if (g->exes[i].dev == (uint64_t)sb->st_dev && g->exes[i].ino == (uint64_t)sb->st_ino)
			return &g->exes[i];
	if (g->n_exes < WS_PY_EXE_CACHE) {
		x = &g->exes[g->n_exes++];
	} else {
		x = &g->exes[g->next_evict];
		g->next_evict = (g->next_evict + 1) % WS_PY_EXE_CACHE;
	}
	x->dev = (uint64_t)sb->st_dev;
	x->ino = (uint64_t)sb->st_ino;
	if (ws_py_elf_inspect(exe_path, name, &x->info))
		memset(&x->info, 0, sizeof(x->info));
	return x;
}

/* The load bias of a PIE executable in pid, from its maps. */
static int pie_bias(uint32_t pid, const struct py_exe *x, uint64_t *bias)
{
	char path[64], *buf;
	size_t n = 0, cap = 1 << 20;
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, cap, f);   /* the executable's mappings come first */
	fclose(f);
	err = ws_go_maps_bias(buf, n, x->ino, x->info.load0_vaddr, x->info.load0_offset, bias);
	free(buf);
	return err;
}

static int discover(struct ws_py_attach *g, uint32_t pid)
{
	char exe_path[64], real[PATH_MAX];
	const struct py_exe *x;
	struct stat sb;
	uint64_t bias = 0;
	ssize_t n;
	int err;

	g->st.pids_checked++;
	snprintf(exe_path, sizeof(exe_path), "/proc/%u/exe", pid);
	if (stat(exe_path, &sb))
		return 0;
	n = readlink(exe_path, real, sizeof(real) - 1);
	real[n > 0 ? n : 0] = 0;
	x = exe_lookup(g, exe_path, real, &sb);
	if (!x->info.is_python)
		return 0;
	if (!x->info.supported) {
		g->st.procs_unsupported++;
		fprintf(stderr, "wirespan: CPython process %u (%s): no task contexts: %s\n", pid, real, x->info.why);
		return 0;
	}
	if (x->info.pie && pie_bias(pid, x, &bias))
		return 0;
	err = ws_py_check_layout(&x->info.off, x->info.runtime_vaddr + bias, pid, read_mem,
				 (void *)(uintptr_t)pid, WS_PY_MAX_THREADS);
	if (err) {
		g->st.procs_layout_failed++;
		fprintf(stderr, "wirespan: CPython process %u (%s %d.%d): no task contexts: its memory does not "
			"match the layout (%s)\n", pid, real, x->info.major, x->info.minor, strerror(-err));
		return 0;
	}
	struct ws_py_proc p = {
		.runtime = x->info.runtime_vaddr + bias,
		.exe_ino = x->ino,
		.exe_dev = (uint32_t)(major(x->dev) << 20 | minor(x->dev)),
		.rt_interp_head = x->info.off.rt_interp_head,
		.is_threads_head = x->info.off.is_threads_head,
		.ts_next = x->info.off.ts_next,
		.ts_native_tid = x->info.off.ts_native_tid,
		.ts_context = x->info.off.ts_context,
		.ctx_entered = x->info.off.ctx_entered,
		.ts_cframe = x->info.off.ts_cframe,
		.cf_frame = x->info.off.cf_frame,
		.fr_previous = x->info.off.fr_previous,
		.fr_code = x->info.off.fr_code,
		.fr_owner = x->info.off.fr_owner,
		.co_flags = x->info.off.co_flags,
		.owner_gen = x->info.off.owner_gen,
	};
	if (bpf_map__update_elem(g->skel->maps.ws_py_procs, &pid, sizeof(pid), &p, sizeof(p), BPF_ANY)) {
		if (errno == E2BIG)
			g->st.procs_map_full++;
		return -errno;
	}
	ws_rt_registered(g->skel);
	g->st.procs_registered++;
	return 1;
}

int ws_py_discover(struct ws_bpf *b, uint32_t pid)
{
	struct ws_py_attach *g = b ? ws_bpf_py_state(b) : NULL;

	return g && pid ? discover(g, pid) : 0;
}

void ws_py_forget(struct ws_bpf *b, uint32_t pid)
{
	struct ws_py_attach *g = b ? ws_bpf_py_state(b) : NULL;

	if (g)
		bpf_map__delete_elem(g->skel->maps.ws_py_procs, &pid, sizeof(pid), 0);
}

int ws_py_read_stats(struct ws_bpf *b, struct ws_py_attach_stats *out)
{
	struct ws_py_attach *g = b ? ws_bpf_py_state(b) : NULL;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (!g || !out || ncpu <= 0)
		return -EINVAL;
	*out = g->st;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t k = 0; k < WS_PY_CNT__MAX; k++) {
		out->kernel[k] = 0;
		if (bpf_map__lookup_elem(g->skel->maps.ws_py_counters, &k, sizeof(k), vals,
					 sizeof(*vals) * (size_t)ncpu, 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			out->kernel[k] += vals[c];
	}
	free(vals);
	return 0;
}

const char *ws_py_counter_name(enum ws_py_counter c)
{
	switch (c) {
	case WS_PY_CNT_CTX: return "py_records_with_context";
	case WS_PY_CNT_NO_CTX: return "py_records_no_context";
	case WS_PY_CNT_NO_TASK: return "py_records_no_task";
	case WS_PY_CNT_READ_FAIL: return "py_read_failures";
	case WS_PY_CNT_NOT_FOUND: return "py_thread_state_not_found";
	case WS_PY_CNT_STALE: return "py_stale_procs";
	case WS_PY_CNT__MAX: break;
	}
	return "unknown";
}

int ws_py_attach_init(struct ws_bpf *b, const struct ws_bpf_config *cfg, struct ws_py_attach **out)
{
	struct ws_py_attach *g = calloc(1, sizeof(*g));
	uint32_t *pids = cfg->n_pids > 0 ? calloc((size_t)cfg->n_pids, sizeof(*pids)) : NULL;
	char comms[WS_MAX_COMM_FILTERS][WS_COMM_LEN];
	struct ws_proc_scope sc = { .agent_pid = (uint32_t)cfg->agent_pid, .pids = pids, .comms = comms,
				    .port_scoped = cfg->n_ports > 0 };
	struct dirent *de;
	DIR *d;

	if (!g || (cfg->n_pids > 0 && !pids)) {
		free(g);
		free(pids);
		return -ENOMEM;
	}
	g->skel = ws_bpf_skel(b);
	*out = g;
	for (int i = 0; i < cfg->n_pids; i++)
		pids[sc.n_pids++] = (uint32_t)cfg->pids[i];
	for (int i = 0; i < cfg->n_comms && sc.n_comms < WS_MAX_COMM_FILTERS; i++) {
		strncpy(comms[sc.n_comms], cfg->comms[i], WS_COMM_LEN - 1);
		comms[sc.n_comms++][WS_COMM_LEN - 1] = 0;
	}
	/* CPython processes already running in scope (under port scoping, all: an entry
	 * costs nothing until the kernel traces one of the process's connections) are
	 * registered now: the others at their first record, which the agent reads a
	 * wake-up later (their first calls have no contexts then). */
	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		uint32_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (uint32_t)strtoul(de->d_name, NULL, 10);
		if (ws_proc_in_scope(&sc, pid))
			discover(g, pid);
	}
	if (d)
		closedir(d);
	free(pids);
	return 0;
}

void ws_py_attach_free(struct ws_py_attach *g)
{
	free(g);
}
