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

static int progs(int n, char **ids)
{
	int bad = 0;

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
		close(fd);
		printf("{\"id\": %u, \"name\": \"%s\", \"type\": %u, \"run_time_ns\": %llu, \"run_cnt\": %llu,"
		       " \"recursion_misses\": %llu, \"bytes_jited\": %u, \"bytes_xlated\": %u}\n",
		       info.id, info.name, info.type, (unsigned long long)info.run_time_ns,
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
