/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Finding Go processes and attaching the goroutine uprobes (bpf/hooks/go.h).
 *
 * Uprobes are per executable file (inode), not per process: one attach covers every
 * process running it, now and later, and the programs ignore processes that are not
 * in ws_go_procs. So each executable is attached once, through /proc/PID/exe (which
 * also reaches executables in other mount namespaces), and each traced Go process gets
 * its own map entry.
 */
#include "proc_scope.h"
#include "rt_go_attach.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "rt_go_elf.h"
#include "wirespan.skel.h"
#include "rt_gen.h"

enum { V_UNKNOWN = 0, V_NO = 1, V_GO = 2 };

struct go_exe {
	uint64_t dev, ino;
	struct ws_go_info info;
	struct bpf_link *links[3];
	int n_links;
	bool attach_tried;
};

struct pid_slot {
	uint32_t pid;
	uint8_t verdict;
};

struct ws_go_attach {
	struct wirespan_bpf *skel;
	uint32_t agent_pid;
	/* scoping, as the loader's config: a process is looked at only when in scope */
	uint32_t *pids; int n_pids;
	char (*comms)[WS_COMM_LEN]; int n_comms;
	bool port_scoped;
	uint16_t ports[WS_MAX_PORT_FILTERS]; int n_ports;
	struct go_exe exes[WS_GO_EXE_CACHE];
	int n_exes, n_attached;
	struct pid_slot pidc[WS_GO_PID_CACHE];
	struct ws_go_attach_stats st;
};

static bool in_scope(struct ws_go_attach *g, uint32_t pid)
{
	struct ws_proc_scope sc = {
		.agent_pid = g->agent_pid, .pids = g->pids, .n_pids = g->n_pids,
		.comms = g->comms, .n_comms = g->n_comms, .port_scoped = g->port_scoped,
	};

	return ws_proc_in_scope(&sc, pid);
}

static struct go_exe *exe_lookup(struct ws_go_attach *g, const char *exe_path, uint64_t dev,
				 uint64_t ino, struct go_exe *scratch)
{
	struct go_exe *x;

	for (int i = 0; i < g->n_exes; i++)
		if (g->exes[i].dev == dev && g->exes[i].ino == ino)
			return &g->exes[i];
	/* A full cache costs a re-inspection per new pid of an uncached executable. */
	x = g->n_exes < WS_GO_EXE_CACHE ? &g->exes[g->n_exes++] : scratch;
	memset(x, 0, sizeof(*x));
	x->dev = dev;
	x->ino = ino;
	if (ws_go_elf_inspect(exe_path, &x->info))
		x->info.is_go = false;
	return x;
}

/* off: from the function's start, past its stack check (rt_go_elf.h says why). */
static int attach_one(struct go_exe *x, struct bpf_program *prog, const char *exe_path,
		      const char *func, uint32_t off, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = func, .retprobe = ret);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, -1, exe_path, off, &opts);

	if (!l) {
		int err = -errno;

		fprintf(stderr, "wirespan: failed to attach uprobe %s%s in %s: %s\n", func,
			ret ? " (return)" : "", exe_path, strerror(-err));
		return err;
	}
	x->links[x->n_links++] = l;
	return 0;
}

static void exe_attach(struct ws_go_attach *g, struct go_exe *x, const char *exe_path)
{
	int err = 0;

	if (x->attach_tried)
		return;
	x->attach_tried = true;
	if (x < g->exes || x >= g->exes + WS_GO_EXE_CACHE || g->n_attached >= WS_GO_MAX_EXES) {
		g->st.exes_skipped++;
		return;
	}
	if (x->info.has_newproc1) {
		err = attach_one(x, g->skel->progs.ws_go_newproc1_ret, exe_path, "runtime.newproc1",
				 x->info.newproc1_off, true);
		if (!err)
			err = attach_one(x, g->skel->progs.ws_go_newproc1, exe_path, "runtime.newproc1",
					 x->info.newproc1_off, false);
	}
	if (!err && x->info.has_roundtrip && x->info.off.http_ok)
		err = attach_one(x, g->skel->progs.ws_go_roundtrip, exe_path,
				 "net/http.(*persistConn).roundTrip", x->info.roundtrip_off, false);
	if (err) {
		g->st.attach_failed++;
		for (int i = x->n_links - 1; i >= 0; i--)
			bpf_link__destroy(x->links[i]);
		x->n_links = 0;
		return;
	}
	if (x->n_links) {
		g->n_attached++;
		g->st.exes_attached++;
	}
}

/* Where a PIE executable is loaded in process pid: the itab compared by the CALL probe
 * is a run-time address. */
static int pie_bias(uint32_t pid, const struct go_exe *x, uint64_t *bias)
{
	char path[64], *buf = NULL;
	size_t cap = 0, n = 0;
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	for (;;) {
		size_t r;

		if (n + 4096 > cap) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = nb;
			cap += 65536;
		}
		r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	err = ws_go_maps_bias(buf, n, x->ino, x->info.load0_vaddr, x->info.load0_offset, bias);
	free(buf);
	return err;
}

static int register_proc(struct ws_go_attach *g, uint32_t pid, const struct go_exe *x)
{
	uint64_t bias = 0;
	const struct ws_go_offsets *o = &x->info.off;
	struct ws_go_proc p = {
		.tls_g = o->tls_g, .g_goid = o->g_goid, .pc_conn = o->pc_conn,
		.tcpconn_fd = o->tcpconn_fd, .netfd_pfd = o->netfd_pfd, .pfd_sysfd = o->pfd_sysfd,
		.exe_ino = x->ino,
		/* stat's dev_t -> the kernel's internal encoding in sb->s_dev */
		.exe_dev = (uint32_t)(major(x->dev) << 20 | minor(x->dev)),
	};

	/* PIE whose mapping cannot be found: no CALL evidence (goids still work). */
	if (o->http_ok && x->info.itab_tcpconn && (!x->info.pie || pie_bias(pid, x, &bias) == 0)) {
		p.itab_tcpconn = x->info.itab_tcpconn + bias;
		p.flags |= WS_GO_F_HTTP;
	}
	if (bpf_map__update_elem(g->skel->maps.ws_go_procs, &pid, sizeof(pid), &p, sizeof(p),
				 BPF_ANY)) {
		int err = -errno;

		if (err == -E2BIG)
			g->st.procs_map_full++;
		return err;
	}
	ws_rt_registered(g->skel);
	g->st.procs_go++;
	return 0;
}

static int discover(struct ws_go_attach *g, uint32_t pid)
{
	struct pid_slot *ps = &g->pidc[pid % WS_GO_PID_CACHE];
	char exe_path[64];
	struct go_exe scratch, *x;
	struct stat sb;
	int err;

	if (ps->pid == pid && ps->verdict != V_UNKNOWN)
		return ps->verdict == V_GO;
	g->st.pids_checked++;
	ps->pid = pid;
	ps->verdict = V_NO;
	if (!in_scope(g, pid))
		return 0;
	snprintf(exe_path, sizeof(exe_path), "/proc/%u/exe", pid);
	if (stat(exe_path, &sb))   /* gone, or a kernel thread */
		return 0;
	x = exe_lookup(g, exe_path, (uint64_t)sb.st_dev, (uint64_t)sb.st_ino, &scratch);
	if (!x->info.is_go)
		return 0;
	if (!x->info.supported) {
		g->st.procs_unsupported++;
		fprintf(stderr, "wirespan: Go process %u (%s): no goroutine evidence: %s\n", pid,
			x->info.version[0] ? x->info.version : "version unknown", x->info.why);
		return 0;
	}
	err = register_proc(g, pid, x);
	if (err)
		return err;
	exe_attach(g, x, exe_path);
	ps->verdict = V_GO;
	return 1;
}

int ws_go_discover(struct ws_bpf *b, uint32_t pid)
{
	struct ws_go_attach *g = b ? ws_bpf_go_state(b) : NULL;

	if (!g || !pid)
		return 0;
	return discover(g, pid);
}

void ws_go_forget(struct ws_bpf *b, uint32_t pid)
{
	struct ws_go_attach *g = b ? ws_bpf_go_state(b) : NULL;
	struct pid_slot *ps;

	if (!g)
		return;
	ps = &g->pidc[pid % WS_GO_PID_CACHE];
	if (ps->pid == pid)
		ps->verdict = V_UNKNOWN;
	bpf_map__delete_elem(g->skel->maps.ws_go_procs, &pid, sizeof(pid), 0);
}

int ws_go_read_stats(struct ws_bpf *b, struct ws_go_attach_stats *out)
{
	struct ws_go_attach *g = b ? ws_bpf_go_state(b) : NULL;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (!g || !out || ncpu <= 0)
		return -EINVAL;
	*out = g->st;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t k = 0; k < WS_GO_CNT__MAX; k++) {
		out->kernel[k] = 0;
		if (bpf_map__lookup_elem(g->skel->maps.ws_go_counters, &k, sizeof(k), vals,
					 sizeof(*vals) * (size_t)ncpu, 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			out->kernel[k] += vals[c];
	}
	free(vals);
	return 0;
}

const char *ws_go_counter_name(enum ws_go_counter c)
{
	switch (c) {
	case WS_GO_CNT_GOID_FAIL: return "go_goid_unreadable";
	case WS_GO_CNT_SPAWN: return "go_spawns";
	case WS_GO_CNT_SPAWN_LOST: return "go_spawns_lost";
	case WS_GO_CNT_CALL: return "go_calls";
	case WS_GO_CNT_CALL_NOT_TCP: return "go_calls_not_tcpconn";
	case WS_GO_CNT_READ_FAIL: return "go_read_failures";
	case WS_GO_CNT_RB_DROP: return "go_ringbuf_drops";
	case WS_GO_CNT_STALE: return "go_stale_procs";
	case WS_GO_CNT__MAX: break;
	}
	return "unknown";
}

/* Socket inodes on a scoped port (local or remote) in one /proc/PID/net/tcp* file. */
static int scoped_inodes(struct ws_go_attach *g, const char *path, unsigned long *ino, int n, int max)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return n;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned lport, rport;
		unsigned long inode;
		char *l, *r;

		/* "sl local_address rem_address st ... uid timeout inode": addresses are
		 * HEXADDR:HEXPORT; the header line has no ':' after an address */
		if (!(l = strchr(line, ':')) || !(l = strchr(l + 1, ':')) || !(r = strchr(l + 1, ':')))
			continue;
		if (sscanf(l + 1, "%x", &lport) != 1 || sscanf(r + 1, "%x", &rport) != 1)
			continue;
		if (sscanf(r + 1, "%*x %*x %*x:%*x %*x:%*x %*x %*u %*u %lu", &inode) != 1 || !inode)
			continue;
		for (int i = 0; i < g->n_ports; i++) {
			if (g->ports[i] == lport || g->ports[i] == rport) {
				ino[n++] = inode;
				break;
			}
		}
	}
	fclose(f);
	return n;
}

/* Under port scoping: is pid a Go program holding a socket on a scoped port now? Only
 * Go executables get their sockets looked at (their network namespace's view). */
static bool go_on_scoped_port(struct ws_go_attach *g, uint32_t pid)
{
	unsigned long ino[256];
	char path[64], link[64];
	struct go_exe scratch, *x;
	struct dirent *de;
	struct stat sb;
	bool found = false;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	if (pid == g->agent_pid || stat(path, &sb))
		return false;
	x = exe_lookup(g, path, (uint64_t)sb.st_dev, (uint64_t)sb.st_ino, &scratch);
	if (!x->info.is_go)
		return false;
	snprintf(path, sizeof(path), "/proc/%u/net/tcp", pid);
	n = scoped_inodes(g, path, ino, n, 256);
	snprintf(path, sizeof(path), "/proc/%u/net/tcp6", pid);
	n = scoped_inodes(g, path, ino, n, 256);
	if (!n)
		return false;
	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	d = opendir(path);
	while (d && !found && (de = readdir(d))) {
		char fdpath[300];
		unsigned long inode;
		ssize_t k;

		snprintf(fdpath, sizeof(fdpath), "/proc/%u/fd/%s", pid, de->d_name);
		k = readlink(fdpath, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = '\0';
		if (sscanf(link, "socket:[%lu]", &inode) != 1)
			continue;
		for (int i = 0; i < n && !found; i++)
			found = ino[i] == inode;
	}
	if (d)
		closedir(d);
	return found;
}

int ws_go_attach_init(struct ws_bpf *b, const struct ws_bpf_config *cfg, struct ws_go_attach **out)
{
	struct ws_go_attach *g = calloc(1, sizeof(*g));
	struct dirent *de;
	DIR *d;

	*out = NULL;
	if (!g)
		return -ENOMEM;
	g->skel = ws_bpf_skel(b);
	g->agent_pid = (uint32_t)cfg->agent_pid;
	g->port_scoped = cfg->n_ports > 0;
	for (int i = 0; i < cfg->n_ports && i < WS_MAX_PORT_FILTERS; i++)
		g->ports[g->n_ports++] = cfg->ports[i];
	if (cfg->n_pids) {
		g->pids = calloc((size_t)cfg->n_pids, sizeof(*g->pids));
		if (!g->pids)
			goto nomem;
		for (int i = 0; i < cfg->n_pids; i++)
			g->pids[i] = (uint32_t)cfg->pids[i];
		g->n_pids = cfg->n_pids;
	}
	if (cfg->n_comms) {
		g->comms = calloc((size_t)cfg->n_comms, sizeof(*g->comms));
		if (!g->comms)
			goto nomem;
		for (int i = 0; i < cfg->n_comms; i++)
			strncpy(g->comms[i], cfg->comms[i], WS_COMM_LEN - 1);
		g->n_comms = cfg->n_comms;
	}
	*out = g;
	/* Go processes already running that the scoping names (pid, comm, everything when
	 * nothing is scoped; under port scoping alone, those holding a socket on a scoped
	 * port): uprobes go only into processes wirespan traces. The rest arrive through
	 * ws_go_discover at their first traced record. */
	d = opendir("/proc");
	if (d) {
		while ((de = readdir(d))) {
			uint32_t pid;

			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			pid = (uint32_t)strtoul(de->d_name, NULL, 10);
			if (g->port_scoped && !g->n_pids && !g->n_comms && !go_on_scoped_port(g, pid))
				continue;
			discover(g, pid);
		}
		closedir(d);
	}
	return 0;
nomem:
	ws_go_attach_free(g);
	return -ENOMEM;
}

void ws_go_attach_free(struct ws_go_attach *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_exes; i++)
		for (int j = g->exes[i].n_links - 1; j >= 0; j--)
			bpf_link__destroy(g->exes[i].links[j]);
	free(g->pids);
	free(g->comms);
	free(g);
}
