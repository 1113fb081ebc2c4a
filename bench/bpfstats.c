/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bpfstats: in-kernel run time of BPF programs, for the benchmark.
 *
 *   bpfstats hold        enable run-time statistics (BPF_STATS_RUN_TIME) for as long
 *                        as this process lives; prints "ready", exits on SIGINT/SIGTERM.
 *                        Holding an fd instead of flipping kernel.bpf_stats_enabled means
 *                        the setting cannot be left on if the benchmark dies.
 *   bpfstats progs ID..  one JSON object per program: id, name, type, run_time_ns,
 *                        run_cnt, recursion_misses, bytes_jited, bytes_xlated.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int hold(void)
{
	struct sigaction sa;
	sigset_t mask, old;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		fprintf(stderr, "bpfstats: bpf_enable_stats(BPF_STATS_RUN_TIME): %s\n", strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		sigsuspend(&old);
	close(fd);
	return 0;
}

/* The kernel keeps 15 characters of a program's name (sys_enter_writev and
 * sys_enter_write both read "sys_enter_write"); the whole name is in the program's BTF,
 * as the name of its first function. Falls back to the short name. */
static void full_name(int fd, const struct bpf_prog_info *info, char *out, size_t size)
{
	struct bpf_func_info fi[1];
	struct bpf_prog_info fin;
	__u32 len = sizeof(fin);
	const struct btf_type *t;
	struct btf *btf;
	const char *nm;

	snprintf(out, size, "%s", info->name);
	if (!info->btf_id || !info->nr_func_info)
		return;
	memset(&fin, 0, sizeof(fin));
	fin.nr_func_info = 1;
	fin.func_info_rec_size = sizeof(fi[0]);
	fin.func_info = (__u64)(unsigned long)fi;
	if (bpf_obj_get_info_by_fd(fd, &fin, &len))
		return;
	btf = btf__load_from_kernel_by_id(info->btf_id);
	if (!btf)
		return;
	t = btf__type_by_id(btf, fi[0].type_id);
	nm = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	if (nm && *nm)
		snprintf(out, size, "%s", nm);
	btf__free(btf);
}

static int progs(int n, char **ids)
{
	int bad = 0;
	char name[128];

	for (int i = 0; i < n; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		char *end;
		unsigned long id = strtoul(ids[i], &end, 10);
		int fd;

		if (*end || !id) {
			fprintf(stderr, "bpfstats: bad program id '%s'\n", ids[i]);
			bad = 1;
			continue;
		}
		fd = bpf_prog_get_fd_by_id((__u32)id);
		if (fd < 0) {
			fprintf(stderr, "bpfstats: program %lu: %s\n", id, strerror(errno));
			bad = 1;
			continue;
		}
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			fprintf(stderr, "bpfstats: info of program %lu: %s\n", id, strerror(errno));
			close(fd);
			bad = 1;
			continue;
		}
		full_name(fd, &info, name, sizeof(name));
		close(fd);
		printf("{\"id\": %u, \"name\": \"%s\", \"full_name\": \"%s\", \"type\": %u, \"run_time_ns\": %llu,"
		       " \"run_cnt\": %llu, \"recursion_misses\": %llu, \"bytes_jited\": %u, \"bytes_xlated\": %u}\n",
		       info.id, info.name, name, info.type, (unsigned long long)info.run_time_ns,
		       (unsigned long long)info.run_cnt, (unsigned long long)info.recursion_misses,
		       info.jited_prog_len, info.xlated_prog_len);
	}
	return bad;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "hold") == 0)
		return hold();
	if (argc >= 2 && strcmp(argv[1], "progs") == 0)
		return progs(argc - 2, argv + 2);
	fprintf(stderr, "usage: bpfstats hold | bpfstats progs ID...\n");
	return 2;
}
