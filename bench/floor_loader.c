/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * wirespan-floor: load the generated floor object (empty programs on exactly the hooks
 * wirespan uses, see bench/gen_floor.sh), attach every program, print "ready", and
 * hold them until SIGINT/SIGTERM. The benchmark compares wirespan against this: what
 * remains above it is what wirespan's programs and agent do, not what hooking costs.
 *
 * Every program must attach: a floor missing a hook would be cheaper than the real
 * one and flatter wirespan.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/vfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "floor.skel.h"

#define MAX_LINKS 128

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* The cgroup v2 root, as agent/inject.c finds it, or -1. */
static int cgroup2_root(void)
{
	static const char *const paths[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct statfs sf;

		if (statfs(paths[i], &sf) == 0 && sf.f_type == 0x63677270 /* CGROUP2_SUPER_MAGIC */)
			return open(paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct bpf_link *links[MAX_LINKS];
	struct sigaction sa;
	struct bpf_program *prog;
	struct floor_bpf *skel;
	sigset_t mask, old;
	int n = 0, err = 0;

	if (argc > 1) {
		fprintf(stderr, "usage: wirespan-floor\n"
			"Attach empty BPF programs on every hook wirespan uses; print \"ready\";\n"
			"detach and exit 0 on SIGINT/SIGTERM.\n");
		return strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	libbpf_set_print(print_libbpf);
	/* Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK. */
	setrlimit(RLIMIT_MEMLOCK, &rl);

	/* Block the stop signals until we are ready to wait for them, so a signal that
	 * arrives during load is not lost and the links are always destroyed. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);

	skel = floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "wirespan-floor: failed to open/load the floor object: %s\n",
			strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_link *l;

		if (n >= MAX_LINKS) {
			fprintf(stderr, "wirespan-floor: more than %d programs\n", MAX_LINKS);
			err = -E2BIG;
			goto out;
		}
		/* The Go uprobes attach per Go executable, when the agent finds one
		 * (agent/rt_go_attach.c): none are attached in the agent's runs either.
		 * The TLS uprobes attach per TLS library (agent/tls_attach.c), likewise,
		 * and with them the loop-phase uprobe of node executables: the floor does
		 * not include their traps (docs/benchmarks.md measures them against the
		 * tree without them). */
		if (strncmp(bpf_program__name(prog), "ws_go_", 6) == 0 ||
		    strncmp(bpf_program__name(prog), "ws_tls_", 7) == 0 ||
		    strncmp(bpf_program__name(prog), "ws_loop_", 8) == 0)
			continue;
		/* sk_msg runs only for sockets the agent puts in its sockhash (issue 12's
		 * injection): the floor puts none, so an unattached one costs the same. */
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SK_MSG)
			continue;
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SOCK_OPS) {
			/* Like the agent (agent/inject.c): on the cgroup v2 root, every TCP
			 * socket's events; without a cgroup v2 mount the agent attaches none. */
			int cg = cgroup2_root();

			if (cg < 0)
				continue;
			l = bpf_program__attach_cgroup(prog, cg);
			close(cg);
		} else {
			l = bpf_program__attach(prog);
		}
		if (!l) {
			err = -errno;
			fprintf(stderr, "wirespan-floor: failed to attach %s (%s): %s\n",
				bpf_program__name(prog), bpf_program__section_name(prog),
				strerror(-err));
			goto out;
		}
		links[n++] = l;
	}
	printf("ready (%d programs attached)\n", n);
	fflush(stdout);
	while (!stop)
		sigsuspend(&old);
out:
	for (int i = n - 1; i >= 0; i--)
		bpf_link__destroy(links[i]);
	floor_bpf__destroy(skel);
	return err ? 1 : 0;
}
