/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel-facing shell: start-up checks, then open -> configure -> load ->
 * attach -> ring buffer, with one cleanup path (ws_bpf_destroy).
 */
#include "loader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "inject.h"
#include "proto/proto.h"
#include "rt_go_attach.h"
#include "rt_py_attach.h"
#include "tls_attach.h"
#include "wirespan.skel.h"

/* The kernel's capture modes are the parsers' (agent/proto/proto.h): one value space. */
_Static_assert(WS_CAPMODE_DEFAULT == (int)WS_CAPTURE_DEFAULT && WS_CAPMODE_OFF == (int)WS_CAPTURE_OFF &&
	       WS_CAPMODE_ALL == (int)WS_CAPTURE_ALL, "enum ws_capture_mode == enum ws_capture");

/* Linux capability numbers (linux/capability.h); CAP_BPF/CAP_PERFMON since 5.8. */
#define WS_CAP_SYS_ADMIN 21
#define WS_CAP_PERFMON 38
#define WS_CAP_BPF 39

#define WS_DEFAULT_RINGBUF (8u << 20)
#define WS_MAX_RINGBUF (1u << 30)
#define WS_DEFAULT_MAX_CONNS 131072u
#define WS_PID_FILTER_MAX 1024   /* max_entries of ws_pid_filter in bpf/maps/pid_filter.h */
#define WS_MAX_LINKS 64

#define TRACEFS_DIR "/sys/kernel/tracing"
#define DEBUGFS_DIR "/sys/kernel/debug"
#define BPFFS_MAGIC 0xcafe4a11

struct ws_bpf {
	struct wirespan_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[WS_MAX_LINKS];
	int n_links;
	int ncpu;
	struct ws_go_attach *go;   /* Go uprobes and process registry; NULL when off */
	struct ws_inject *inj;     /* traceparent injection; NULL when off */
	bool inj_loaded;
	struct ws_tls_attach *tls; /* TLS uprobes per library/executable; NULL when off */
	struct ws_py_attach *py;   /* CPython process registry; NULL when off */
};

/* ---- preflight ----------------------------------------------------------------- */

static int read_capeff(uint64_t *caps)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "CapEff:", 7) == 0) {
			char *end;

			errno = 0;
			*caps = strtoull(line + 7, &end, 16);
			err = errno ? -errno : 0;
			break;
		}
	}
	fclose(f);
	return err;
}

static bool has_cap(uint64_t caps, int cap)
{
	return (caps >> cap) & 1;
}

static bool path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* Syscall tracepoints are attached through their tracefs ids, so tracefs must be
 * mounted somewhere libbpf looks: /sys/kernel/tracing, or debugfs/tracing. */
static int check_tracefs(FILE *log)
{
	int err;

	if (path_exists(TRACEFS_DIR "/events"))
		return 0;
	if (mount("tracefs", TRACEFS_DIR, "tracefs", 0, NULL) == 0) {
		if (path_exists(TRACEFS_DIR "/events")) {
			fprintf(log, "wirespan: mounted tracefs at %s\n", TRACEFS_DIR);
			return 0;
		}
		err = -ENOENT;
	} else {
		err = -errno;
	}
	if (path_exists(DEBUGFS_DIR "/tracing/events"))
		return 0;
	if (mount("debugfs", DEBUGFS_DIR, "debugfs", 0, NULL) == 0 &&
	    path_exists(DEBUGFS_DIR "/tracing/events")) {
		fprintf(log, "wirespan: mounted debugfs at %s (tracefs inside)\n", DEBUGFS_DIR);
		return 0;
	}
	fprintf(log, "wirespan: tracefs not mounted and mount failed: %s"
		" — syscall tracepoints cannot attach (mount -t tracefs tracefs %s)\n",
		strerror(-err), TRACEFS_DIR);
	return err;
}

int ws_bpf_preflight(FILE *log)
{
	uint64_t caps = 0;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct statfs sfs;
	char lock[128] = "";
	FILE *f;
	int err = 0, rc;

	if (!log)
		log = stderr;
	rc = read_capeff(&caps);
	if (rc) {
		fprintf(log, "wirespan: cannot read capabilities from /proc/self/status: %s\n",
			strerror(-rc));
		return rc;
	}
	if (!has_cap(caps, WS_CAP_BPF) && !has_cap(caps, WS_CAP_SYS_ADMIN)) {
		fprintf(log, "wirespan: missing CAP_BPF (or CAP_SYS_ADMIN)%s"
			" — BPF programs and maps cannot be loaded\n",
			geteuid() ? ", not running as root" : "");
		err = -EPERM;
	}
	if (!has_cap(caps, WS_CAP_PERFMON) && !has_cap(caps, WS_CAP_SYS_ADMIN)) {
		fprintf(log, "wirespan: missing CAP_PERFMON (or CAP_SYS_ADMIN)"
			" — tracepoints cannot be attached and kernel memory cannot be read\n");
		err = -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fprintf(log, "wirespan: /sys/kernel/btf/vmlinux: %s — no kernel BTF"
			" (CONFIG_DEBUG_INFO_BTF), the CO-RE programs cannot be relocated\n",
			strerror(errno));
		err = err ? err : -ENOENT;
	}
	/* Lockdown "confidentiality" forbids reading kernel memory from BPF. */
	f = fopen("/sys/kernel/security/lockdown", "r");
	if (f) {
		if (fgets(lock, sizeof(lock), f) && strstr(lock, "[confidentiality]")) {
			fprintf(log, "wirespan: kernel lockdown is 'confidentiality'"
				" — BPF cannot read kernel memory, sockets cannot be followed\n");
			err = err ? err : -EPERM;
		}
		fclose(f);
	}
	if (!err) {
		rc = check_tracefs(log);
		if (rc)
			err = rc;
	}
	if (statfs("/sys/fs/bpf", &sfs) != 0 || (unsigned long)sfs.f_type != BPFFS_MAGIC)
		fprintf(log, "wirespan: note: bpffs not mounted at /sys/fs/bpf"
			" (not needed: nothing is pinned)\n");
	/* Before 5.11 BPF memory was charged to RLIMIT_MEMLOCK; since then to the memory
	 * cgroup, and the limit does not matter. */
	if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) {
		int e = errno;

		if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_MEMLOCK, &rl);
		}
		fprintf(log, "wirespan: note: RLIMIT_MEMLOCK not raised (%s): only kernels"
			" before 5.11 need it for maps\n", strerror(e));
	}
	return err;
}

/* ---- start ------------------------------------------------------------------------ */

static bool g_verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!g_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* Hooks whose loss costs coverage of rare syscalls, lifecycle detail or parentage
 * evidence (event-loop batches, wakeups, fork/exec/exit), not the data path: a failure
 * to attach them only warns, and the agent works without that evidence. */
static bool prog_optional(const char *name)
{
	static const char *const optional[] = {
		"sys_enter_sendmmsg", "sys_exit_sendmmsg",
		"sys_enter_recvmmsg", "sys_exit_recvmmsg",
		"sys_enter_sendfile64", "sys_exit_sendfile64",
		"sys_enter_accept", "sys_exit_accept",
		"inet_sock_set_state",
		"sys_enter_epoll_wait", "sys_exit_epoll_wait",
		"sys_enter_epoll_pwait", "sys_exit_epoll_pwait",
		"sys_enter_epoll_pwait2", "sys_exit_epoll_pwait2",
		"sys_enter_poll", "sys_exit_poll",
		"sys_enter_ppoll", "sys_exit_ppoll",
		"sys_enter_select", "sys_exit_select",
		"sys_enter_pselect6", "sys_exit_pselect6",
		"sys_exit_clone", "sys_exit_clone3", "sys_exit_fork", "sys_exit_vfork",
		"sched_waking", "sched_process_fork", "sched_process_exec",
		"sched_process_exit",
	};

	/* Waits (bpf/hooks/waits.h): without them spans lose their breakdown, not their data. */
	if (strncmp(name, "waits_", 6) == 0)
		return true;
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
		if (strcmp(name, optional[i]) == 0)
			return true;
	return false;
}

static bool prog_is_exit(const char *name)
{
	return strncmp(name, "sys_exit_", 9) == 0;
}

/* "sys_enter_X" has its stash consumed by "sys_exit_X": same suffix. */
static bool same_syscall(const char *enter, const char *exit_name)
{
	return strcmp(enter + strlen("sys_enter_"), exit_name + strlen("sys_exit_")) == 0;
}

/*
 * Exit programs go first: an entry stashed while its exit is not yet attached would
 * sit in the stash and could be mistaken for a later syscall's. An entry program
 * whose exit failed to attach is skipped.
 */
static int attach_all(struct ws_bpf *b)
{
	const char *failed_exit[WS_MAX_LINKS];
	int n_failed = 0;

	for (int pass = 0; pass < 2; pass++) {
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, b->skel->obj) {
			const char *name = bpf_program__name(prog);
			struct bpf_link *link;
			bool skip = false;
			int err;

			if (prog_is_exit(name) != (pass == 0))
				continue;
			if (!bpf_program__autoload(prog))
				continue;   /* not loaded: turned off before load (--no-waits) */
			/* Go uprobes attach per executable, when one is found (rt_go_attach.c). */
			if (strncmp(name, "ws_go_", 6) == 0)
				continue;
			/* sockops and sk_msg attach to a cgroup and a map (inject.c). */
			if (strncmp(name, "ws_inj_", 7) == 0)
				continue;
			/* TLS uprobes attach per library or executable (tls_attach.c), and with
			 * them the loop-phase uprobe of node executables. */
			if (strncmp(name, "ws_tls_", 7) == 0 || strncmp(name, "ws_loop_", 8) == 0)
				continue;
			if (strncmp(name, "sys_enter_", 10) == 0)
				for (int i = 0; i < n_failed; i++)
					if (same_syscall(name, failed_exit[i]))
						skip = true;
			if (skip) {
				fprintf(stderr, "wirespan: warning: %s not attached: its exit"
					" program is missing\n", name);
				continue;
			}
			if (b->n_links >= WS_MAX_LINKS) {
				fprintf(stderr, "wirespan: too many BPF programs (%d)\n", b->n_links);
				return -E2BIG;
			}
			link = bpf_program__attach(prog);
			if (!link) {
				err = -errno;
				if (prog_optional(name)) {
					fprintf(stderr, "wirespan: warning: failed to attach %s: %s"
						" (optional, continuing)\n", name, strerror(-err));
					if (pass == 0 && n_failed < WS_MAX_LINKS)
						failed_exit[n_failed++] = name;
					continue;
				}
				fprintf(stderr, "wirespan: failed to attach %s: %s\n", name,
					strerror(-err));
				return err;
			}
			b->links[b->n_links++] = link;
		}
	}
	return 0;
}

static uint32_t ringbuf_size(uint32_t want)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	uint32_t sz = page;

	if (!want)
		want = WS_DEFAULT_RINGBUF;
	while (sz < want)
		sz <<= 1;
	return sz;
}

static int check_config(const struct ws_bpf_config *cfg)
{
	if (cfg->capture_bytes > WS_MAX_PAYLOAD) {
		fprintf(stderr, "wirespan: capture bytes %u exceeds the maximum %d\n",
			cfg->capture_bytes, WS_MAX_PAYLOAD);
		return -EINVAL;
	}
	if (cfg->ringbuf_bytes > WS_MAX_RINGBUF) {
		fprintf(stderr, "wirespan: ring buffer size %u exceeds the maximum %u\n",
			cfg->ringbuf_bytes, WS_MAX_RINGBUF);
		return -EINVAL;
	}
	if (cfg->n_pids < 0 || cfg->n_pids > WS_PID_FILTER_MAX || (cfg->n_pids && !cfg->pids)) {
		fprintf(stderr, "wirespan: %d pid filters (at most %d)\n", cfg->n_pids,
			WS_PID_FILTER_MAX);
		return -EINVAL;
	}
	if (cfg->n_comms < 0 || cfg->n_comms > WS_MAX_COMM_FILTERS || (cfg->n_comms && !cfg->comms)) {
		fprintf(stderr, "wirespan: %d comm filters (at most %d)\n", cfg->n_comms,
			WS_MAX_COMM_FILTERS);
		return -EINVAL;
	}
	if (cfg->n_ports < 0 || cfg->n_ports > WS_MAX_PORT_FILTERS || (cfg->n_ports && !cfg->ports)) {
		fprintf(stderr, "wirespan: %d port filters (at most %d)\n", cfg->n_ports,
			WS_MAX_PORT_FILTERS);
		return -EINVAL;
	}
	if (cfg->n_udp_ports < 0 || cfg->n_udp_ports > WS_MAX_UDP_PORTS ||
	    (cfg->n_udp_ports && !cfg->udp_ports)) {
		fprintf(stderr, "wirespan: %d UDP ports (at most %d)\n", cfg->n_udp_ports,
			WS_MAX_UDP_PORTS);
		return -EINVAL;
	}
	for (int i = 0; i < cfg->n_udp_ports; i++) {
		if (!cfg->udp_ports[i]) {
			fprintf(stderr, "wirespan: UDP port 0\n");
			return -EINVAL;
		}
	}
	for (int i = 0; i < cfg->n_comms; i++) {
		if (!cfg->comms[i] || !cfg->comms[i][0]) {
			fprintf(stderr, "wirespan: empty comm filter\n");
			return -EINVAL;
		}
	}
	return 0;
}

/* Feature probe by kernel BTF: is there a kernel function (kfunc) of this name? */
static bool kernel_has_func(const char *name)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool found;

	if (!vmlinux)
		return false;
	found = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0;
	btf__free(vmlinux);
	return found;
}

static void configure(struct wirespan_bpf *skel, const struct ws_bpf_config *cfg)
{
	uint32_t mode = 0;

	skel->rodata->agent_tgid = (uint32_t)cfg->agent_pid;
	skel->rodata->capture_bytes = cfg->capture_bytes;
	skel->rodata->wakeup_bytes = cfg->wakeup_bytes;
	if (cfg->n_pids)
		mode |= WS_FILTER_PID;
	if (cfg->n_comms)
		mode |= WS_FILTER_COMM;
	if (cfg->n_ports)
		mode |= WS_FILTER_PORT;
	skel->rodata->filter_mode = mode;
	skel->rodata->n_comm_filters = (uint32_t)cfg->n_comms;
	for (int i = 0; i < cfg->n_comms; i++) {
		size_t len = strlen(cfg->comms[i]);

		/* The kernel keeps the first 15 bytes of an executable name. */
		if (len >= WS_COMM_LEN)
			fprintf(stderr, "wirespan: warning: comm filter '%s' is longer than %d"
				" bytes: matching its first %d as the kernel stores it\n",
				cfg->comms[i], WS_COMM_LEN - 1, WS_COMM_LEN - 1);
		memset(skel->rodata->comm_filter[i], 0, WS_COMM_LEN);
		memcpy(skel->rodata->comm_filter[i], cfg->comms[i],
		       len < WS_COMM_LEN - 1 ? len : WS_COMM_LEN - 1);
	}
	skel->rodata->go_enabled = cfg->go_runtime;
	skel->rodata->py_enabled = cfg->py_runtime;
	skel->rodata->tls_enabled = cfg->tls;
	skel->rodata->waits_enabled = cfg->waits;
	skel->rodata->n_port_filters = (uint32_t)cfg->n_ports;
	for (int i = 0; i < cfg->n_ports; i++)
		skel->rodata->port_filter[i] = cfg->ports[i];
	skel->rodata->n_udp_ports = (uint32_t)cfg->n_udp_ports;
	for (int i = 0; i < cfg->n_udp_ports; i++)
		skel->rodata->udp_port[i] = cfg->udp_ports[i];
}

static int fill_pid_filter(struct ws_bpf *b, const struct ws_bpf_config *cfg)
{
	uint8_t one = 1;   /* WS_PID_USER: the kernel adds children as WS_PID_CHILD */

	for (int i = 0; i < cfg->n_pids; i++) {
		uint32_t pid = (uint32_t)cfg->pids[i];

		if (bpf_map__update_elem(b->skel->maps.ws_pid_filter, &pid, sizeof(pid), &one,
					 sizeof(one), BPF_ANY)) {
			int err = -errno;

			fprintf(stderr, "wirespan: cannot add pid %u to the pid filter: %s\n", pid,
				strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Open, configure and load the object into b->skel. Returns -EAGAIN when the load
 * failed with fast reads on, so the caller can retry without them. */
static int open_and_load(struct ws_bpf *b, const struct ws_bpf_config *cfg, bool fast_read)
{
	int err;

	b->skel = wirespan_bpf__open();
	if (!b->skel) {
		err = -errno;
		fprintf(stderr, "wirespan: failed to open the BPF object: %s\n", strerror(-err));
		return err;
	}
	configure(b->skel, cfg);
	if (!cfg->waits) {
		struct bpf_program *prog;

		/* --no-waits: the waits programs are not even loaded. */
		bpf_object__for_each_program(prog, b->skel->obj)
			if (strncmp(bpf_program__name(prog), "waits_", 6) == 0)
				bpf_program__set_autoload(prog, false);
	}
	b->inj_loaded = ws_inject_configure(b->skel, (enum ws_inject_mode)cfg->inject, cfg->inj_key);
	b->skel->rodata->fast_read = fast_read;
	if (cfg->verbose)
		fprintf(stderr, "wirespan: kernel objects read %s\n", fast_read ?
			"with plain loads (bpf_rdonly_cast)" : "with bpf_probe_read_kernel");
	err = bpf_map__set_max_entries(b->skel->maps.rb, ringbuf_size(cfg->ringbuf_bytes));
	if (!err)
		err = bpf_map__set_max_entries(b->skel->maps.ws_conns,
					       cfg->max_conns ? cfg->max_conns : WS_DEFAULT_MAX_CONNS);
	/* A policy per connection at most: sized with the connection map. */
	if (!err)
		err = bpf_map__set_max_entries(b->skel->maps.ws_capture,
					       cfg->max_conns ? cfg->max_conns : WS_DEFAULT_MAX_CONNS);
	/* A TLS binding per connection at most. */
	if (!err)
		err = bpf_map__set_max_entries(b->skel->maps.ws_tls_socks,
					       cfg->max_conns ? cfg->max_conns : WS_DEFAULT_MAX_CONNS);
	if (err) {
		fprintf(stderr, "wirespan: failed to size BPF maps: %s\n", strerror(-err));
		return err;
	}
	err = wirespan_bpf__load(b->skel);
	if (err && fast_read) {
		wirespan_bpf__destroy(b->skel);
		b->skel = NULL;
		return -EAGAIN;
	}
	if (err)
		fprintf(stderr, "wirespan: failed to load the BPF programs: %s%s\n", strerror(-err),
			cfg->verbose ? "" : " (run with verbose output for the verifier log)");
	return err;
}

int ws_bpf_start(const struct ws_bpf_config *cfg, ws_event_fn fn, void *ctx, struct ws_bpf **out)
{
	struct ws_bpf *b;
	const char *env;
	bool fast;
	int err;

	if (!cfg || !fn || !out)
		return -EINVAL;
	*out = NULL;
	err = check_config(cfg);
	if (err)
		return err;
	g_verbose = cfg->verbose;
	libbpf_set_print(print_libbpf);

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->ncpu = libbpf_num_possible_cpus();
	if (b->ncpu <= 0) {
		err = b->ncpu < 0 ? b->ncpu : -EINVAL;
		fprintf(stderr, "wirespan: cannot count possible CPUs: %s\n", strerror(-err));
		goto fail;
	}

	/* WIRESPAN_PROBE_READ=1 forces the probe-read path (what kernels before 6.2 run),
	 * so that path can be tested on a newer kernel too. */
	fast = kernel_has_func("bpf_rdonly_cast");
	env = getenv("WIRESPAN_PROBE_READ");
	if (env && strcmp(env, "1") == 0)
		fast = false;
	err = open_and_load(b, cfg, fast);
	if (err == -EAGAIN) {
		/* The kernel has the kfunc but refused it here (program type, config):
		 * the probe-read path loads everywhere. */
		fprintf(stderr, "wirespan: note: plain-load kernel reads rejected by this"
			" kernel, using bpf_probe_read_kernel\n");
		err = open_and_load(b, cfg, false);
	}
	if (err)
		goto fail;
	/* The pid filter is filled before anything is attached: no unscoped window. */
	err = fill_pid_filter(b, cfg);
	if (err)
		goto fail;
	err = attach_all(b);
	if (err)
		goto fail;
	if (b->inj_loaded && ws_inject_attach(b->skel, &b->inj))
		fprintf(stderr, "wirespan: note: traceparent injection off\n");
	if (cfg->go_runtime) {
		err = ws_go_attach_init(b, cfg, &b->go);
		if (err) {
			fprintf(stderr, "wirespan: Go support: %s\n", strerror(-err));
			goto fail;
		}
	}
	if (cfg->py_runtime) {
		err = ws_py_attach_init(b, cfg, &b->py);
		if (err)
			goto fail;
	}
	if (cfg->tls) {
		err = ws_tls_attach_init(b, cfg, &b->tls);
		if (err) {
			fprintf(stderr, "wirespan: TLS support: %s\n", strerror(-err));
			goto fail;
		}
	}
	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.rb), fn, ctx, NULL);
	if (!b->rb) {
		err = -errno;
		fprintf(stderr, "wirespan: failed to open the ring buffer: %s\n", strerror(-err));
		goto fail;
	}
	*out = b;
	return 0;
fail:
	ws_bpf_destroy(b);
	return err;
}

struct ws_inject *ws_bpf_inject(struct ws_bpf *b)
{
	return b ? b->inj : NULL;
}

int ws_bpf_epoll_fd(struct ws_bpf *b)
{
	if (!b || !b->rb)
		return -EINVAL;
	return ring_buffer__epoll_fd(b->rb);
}

int ws_bpf_consume(struct ws_bpf *b)
{
	if (!b || !b->rb)
		return -EINVAL;
	return ring_buffer__consume(b->rb);
}

int ws_bpf_read_counters(struct ws_bpf *b, uint64_t out[WS_CNT__MAX])
{
	uint64_t *vals;

	if (!b || !b->skel || !out)
		return -EINVAL;
	vals = calloc((size_t)b->ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t k = 0; k < WS_CNT__MAX; k++) {
		out[k] = 0;
		if (bpf_map__lookup_elem(b->skel->maps.ws_counters, &k, sizeof(k), vals,
					 sizeof(*vals) * (size_t)b->ncpu, 0)) {
			int err = -errno;

			free(vals);
			return err;
		}
		for (int c = 0; c < b->ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

int ws_bpf_read_errors(struct ws_bpf *b, struct ws_err_entry *out, size_t max, size_t *n)
{
	struct ws_err_key key, next;
	struct bpf_map *m;
	uint64_t *vals;
	void *prev = NULL;
	int err;

	if (!b || !b->skel || !n || (max && !out))
		return -EINVAL;
	*n = 0;
	m = b->skel->maps.ws_errors;
	vals = calloc((size_t)b->ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	/* At most WS_ERR_ENTRIES keys; a key deleted meanwhile (never, today) only ends
	 * the walk early. */
	while (*n < max && !bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(m, &key, sizeof(key), vals, sizeof(*vals) * (size_t)b->ncpu, 0)) {
			err = -errno;
			if (err == -ENOENT)
				continue;
			free(vals);
			return err;
		}
		out[*n].key = key;
		out[*n].count = ws_err_sum(vals, b->ncpu);
		(*n)++;
	}
	free(vals);
	ws_err_sort(out, *n);
	return 0;
}

const char *ws_counter_name(enum ws_counter c)
{
	switch (c) {
	case WS_CNT_EVENTS: return "events_seen";
	case WS_CNT_RB_DROP: return "ringbuf_drops";
	case WS_CNT_BYTES_SEEN: return "bytes_seen";
	case WS_CNT_BYTES_CAPTURED: return "bytes_captured";
	case WS_CNT_STASH_FULL: return "stash_full";
	case WS_CNT_CONN_FULL: return "conn_full";
	case WS_CNT_ERR_FULL: return "bpf_error_map_full";
	case WS_CNT_FILTERED: return "filtered";
	case WS_CNT_NOT_TCP: return "not_tcp";
	case WS_CNT_RECOVERED: return "syscalls_recovered_at_exit";
	case WS_CNT_LOOP_EVENTS: return "loop_batches";
	case WS_CNT_TASK_EVENTS: return "task_events";
	case WS_CNT_WAKE_IRQ: return "wakeups_in_interrupt_skipped";
	case WS_CNT_PID_INHERIT_FAIL: return "pid_filter_inherit_failures";
	case WS_CNT_HEIR_FAIL: return "traced_inherit_failures";
	case WS_CNT_DGRAMS: return "udp_datagrams";
	case WS_CNT_TLS_DATA: return "tls_plaintext_records";
	case WS_CNT_TLS_CIPHER: return "tls_ciphertext_syscalls";
	case WS_CNT_TLS_NO_SOCK: return "tls_no_socket_dropped";
	case WS_CNT_TLS_STASH_FULL: return "tls_call_slot_failures";
	case WS_CNT_TLS_BIND_READ: return "tls_bound_by_preceding_read";
	case WS_CNT_WAITS_THR_FULL: return "waits_threads_full";
	case WS_CNT_WAITS_SK_FULL: return "waits_socks_full";
	case WS_CNT_TCP_EVENTS: return "tcp_events";
	case WS_CNT_TLS_BIND_STALE: return "tls_binding_stale";
	case WS_CNT_LOOP_RECORDS: return "loop_records";
	case WS_CNT_BATCH_FULL: return "loop_batch_slot_full";
	case WS_CNT__MAX: break;
	}
	return "unknown";
}

int ws_bpf_set_capture(struct ws_bpf *b, uint64_t sock_id, uint8_t mode, uint8_t role)
{
	struct ws_capture_policy v = { .mode = mode, .role = role };
	uint32_t *gen;
	int err = 0;

	if (!b || !b->skel || mode >= WS_CAPMODE__MAX)
		return -EINVAL;
	if (mode == WS_CAPMODE_DEFAULT && !role) {
		if (bpf_map__delete_elem(b->skel->maps.ws_capture, &sock_id, sizeof(sock_id), 0))
			err = errno == ENOENT ? 1 : -errno;
		if (err)
			return err > 0 ? 0 : err;   /* nothing was set: nothing to tell the kernel */
	} else if (bpf_map__update_elem(b->skel->maps.ws_capture, &sock_id, sizeof(sock_id), &v,
					sizeof(v), BPF_ANY)) {
		return -errno;
	}
	/* After the map change (the syscall orders it): a program that reads the new
	 * generation finds the new entry. 0 is "never read" in the connections. */
	gen = &b->skel->data->ws_capture_gen;
	if (__atomic_add_fetch(gen, 1, __ATOMIC_SEQ_CST) == 0)
		__atomic_add_fetch(gen, 1, __ATOMIC_SEQ_CST);
	return 0;
}

int ws_bpf_capture_entries(struct ws_bpf *b)
{
	uint64_t key, next;
	int n = 0;
	void *prev = NULL;

	if (!b || !b->skel)
		return -EINVAL;
	while (bpf_map__get_next_key(b->skel->maps.ws_capture, prev, &next, sizeof(next)) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

int ws_bpf_attached(struct ws_bpf *b)
{
	return b ? b->n_links : 0;
}

struct wirespan_bpf *ws_bpf_skel(struct ws_bpf *b)
{
	return b ? b->skel : NULL;
}

struct ws_py_attach *ws_bpf_py_state(struct ws_bpf *b)
{
	return b ? b->py : NULL;
}

struct ws_go_attach *ws_bpf_go_state(struct ws_bpf *b)
{
	return b ? b->go : NULL;
}

struct ws_tls_attach *ws_bpf_tls_state(struct ws_bpf *b)
{
	return b ? b->tls : NULL;
}

void ws_bpf_destroy(struct ws_bpf *b)
{
	if (!b)
		return;
	/* Detach first so no program writes into a ring nobody reads. */
	ws_tls_attach_free(b->tls);
	b->tls = NULL;
	ws_go_attach_free(b->go);
	ws_py_attach_free(b->py);
	b->go = NULL;
	ws_inject_detach(b->inj);
	b->inj = NULL;
	for (int i = b->n_links - 1; i >= 0; i--)
		bpf_link__destroy(b->links[i]);
	b->n_links = 0;
	ring_buffer__free(b->rb);
	wirespan_bpf__destroy(b->skel);
	free(b);
}
