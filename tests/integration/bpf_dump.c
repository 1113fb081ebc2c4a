/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bpf_dump: load the wirespan kernel programs through agent/loader.c and print every
 * ring-buffer record as one text line. A test harness for the kernel side only.
 *
 *   bpf_dump [-p PID]... [-c COMM]... [-P PORT]... [-s CAPTURE] [-d SECONDS]
 *            [-x SHOWBYTES] [-w WAKEUP] [-r RINGBYTES] [-U UDPPORT]... [-A PORT]...
 *            [-O PORT]... [-q] [-S] [-G] [-T] [-Y] [-v]
 *
 * Prints "READY <programs>" on stderr once attached, kernel counters on exit.
 * -q counts records instead of printing them; -S turns on BPF run-time statistics
 * (bpf_enable_stats) and prints each program's hits and average ns per hit on exit.
 * -G turns on Go goroutine evidence: Go processes running at start and any pid first
 * seen in a record are registered (GOPROC line), RT records are printed, data records
 * carry g=<goid>, and the Go counters are printed on exit.
 * -U reports UDP datagrams to/from that port (none by default). -A/-O play a parser
 * deciding a capture policy: the first TCP data record whose local or remote port is
 * PORT sets ws_bpf_set_capture(sock, ALL / OFF) ("POLICY" line on stdout). On exit the
 * policy map's entry count is printed ("CAPTURE_ENTRIES n" on stderr).
 * -T turns on TLS plaintext: TLS libraries and executables of the processes running at
 * start, of any pid first seen in a record and of exec'd processes get the uprobes
 * (TLSFILES line on stderr at exit); data records show flags tls/cipher and
 * sys=ssl_read/ssl_write.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <bpf/bpf.h>

#include "agent/loader.h"
#include "agent/rt_go_attach.h"
#include "agent/rt_py_attach.h"
#include "agent/tls_attach.h"

static volatile sig_atomic_t g_stop;
static unsigned g_show = 64;
static unsigned long g_bad;
static bool g_quiet;
static unsigned long g_records;
static struct ws_bpf *g_b;
static bool g_go;
static bool g_py;   /* -Y: CPython contexts (g= is the Context of data records) */
static bool g_tls;
static uint16_t g_pol_port[16];
static uint8_t g_pol_mode[16];
static int g_n_pol;

/* -A/-O: set a connection's policy once, at its first record with the port. */
static void policy_decide(const struct ws_data_event *e)
{
	static uint64_t done[256];
	static unsigned n_done;

	if (e->hdr.flags & WS_F_DGRAM)
		return;
	for (int i = 0; i < g_n_pol; i++) {
		int err;

		if (e->tuple.sport != g_pol_port[i] && e->tuple.dport != g_pol_port[i])
			continue;
		for (unsigned k = 0; k < n_done; k++)
			if (done[k] == e->sock_id)
				return;
		if (n_done < sizeof(done) / sizeof(done[0]))
			done[n_done++] = e->sock_id;
		err = ws_bpf_set_capture(g_b, e->sock_id, g_pol_mode[i], 0);
		printf("POLICY sock=0x%" PRIx64 " mode=%s err=%d\n", (uint64_t)e->sock_id,
		       g_pol_mode[i] == WS_CAPMODE_ALL ? "all" : "off", err);
		return;
	}
}

/* What the agent's record loop does: a pid seen for the first time may be Go. */
static void proc_discover(uint32_t pid)
{
	static uint32_t seen[1024];
	static unsigned n;

	if ((!g_go && !g_tls && !g_py) || !pid)
		return;
	for (unsigned i = 0; i < n; i++)
		if (seen[i] == pid)
			return;
	if (n < sizeof(seen) / sizeof(seen[0]))
		seen[n++] = pid;
	if (g_tls && ws_tls_discover(g_b, pid) > 0)
		printf("TLSPROC pid=%u\n", pid);
	if (g_go && ws_go_discover(g_b, pid) == 1)
		printf("GOPROC pid=%u\n", pid);
	if (g_py && ws_py_discover(g_b, pid) == 1)
		printf("PYPROC pid=%u\n", pid);
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static const char *sys_name(unsigned s)
{
	static const char *const names[] = {
		[WS_SYS_READ] = "read", [WS_SYS_WRITE] = "write", [WS_SYS_READV] = "readv",
		[WS_SYS_WRITEV] = "writev", [WS_SYS_SENDTO] = "sendto",
		[WS_SYS_RECVFROM] = "recvfrom", [WS_SYS_SENDMSG] = "sendmsg",
		[WS_SYS_RECVMSG] = "recvmsg", [WS_SYS_SENDMMSG] = "sendmmsg",
		[WS_SYS_RECVMMSG] = "recvmmsg", [WS_SYS_SENDFILE] = "sendfile",
		[WS_SYS_ACCEPT] = "accept", [WS_SYS_ACCEPT4] = "accept4",
		[WS_SYS_CONNECT] = "connect", [WS_SYS_CLOSE] = "close", [WS_SYS_STATE] = "state",
		[WS_SYS_EPOLL_WAIT] = "epoll_wait", [WS_SYS_EPOLL_PWAIT] = "epoll_pwait",
		[WS_SYS_EPOLL_PWAIT2] = "epoll_pwait2", [WS_SYS_POLL] = "poll",
		[WS_SYS_PPOLL] = "ppoll", [WS_SYS_SELECT] = "select",
		[WS_SYS_PSELECT6] = "pselect6",
	};

	if (s < WS_SYS__MAX && names[s])
		return names[s];
	if (s == WS_SYS_SSL_READ)
		return "ssl_read";
	if (s == WS_SYS_SSL_WRITE)
		return "ssl_write";
	return "?";
}

static const char *role_name(unsigned r)
{
	return r == WS_ROLE_SERVER ? "server" : r == WS_ROLE_CLIENT ? "client" : "unknown";
}

static void print_tuple(const struct ws_tuple *t)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

	if (!inet_ntop(AF_INET6, t->saddr, l, sizeof(l)))
		strcpy(l, "?");
	if (!inet_ntop(AF_INET6, t->daddr, r, sizeof(r)))
		strcpy(r, "?");
	printf(" fam=%s l=[%s]:%u r=[%s]:%u", t->family == AF_INET ? "inet" :
	       t->family == AF_INET6 ? "inet6" : "?", l, t->sport, r, t->dport);
}

static void print_flags(unsigned f)
{
	static const struct { unsigned bit; const char *name; } fl[] = {
		{ WS_F_TRUNCATED, "trunc" }, { WS_F_EOF, "eof" }, { WS_F_NO_SEQ, "noseq" },
		{ WS_F_IOV_LIMIT, "iovlimit" }, { WS_F_BUDGET, "budget" }, { WS_F_DGRAM, "dgram" },
		{ WS_F_TLS, "tls" }, { WS_F_CIPHER, "cipher" }, { WS_F_TLS_RECS, "tls_recs" },
	};
	bool any = false;

	printf(" flags=");
	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
		if (f & fl[i].bit) {
			printf("%s%s", any ? "," : "", fl[i].name);
			any = true;
		}
	}
	if (!any)
		printf("-");
}

static void print_payload(const uint8_t *p, unsigned n)
{
	printf(" data=\"");
	for (unsigned i = 0; i < n && i < g_show; i++) {
		if (p[i] == '\\' || p[i] == '"')
			printf("\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
	putchar('"');
}

static int on_record(void *ctx, void *data, size_t size)
{
	const struct ws_event_header *h = data;

	(void)ctx;
	g_records++;
	if (size < sizeof(*h) || h->size > size) {
		printf("BAD size=%zu\n", size);
		g_bad++;
		return 0;
	}
	/* Before the quiet return: -q -G runs must register Go processes too. */
	if (h->type == WS_EV_DATA && h->size >= sizeof(struct ws_data_event))
		proc_discover(((const struct ws_data_event *)data)->pid);
	else if (h->type == WS_EV_SOCK && h->size >= sizeof(struct ws_sock_event))
		proc_discover(((const struct ws_sock_event *)data)->pid);
	else if (g_tls && h->type == WS_EV_TASK && h->size >= sizeof(struct ws_task_event) &&
		 ((const struct ws_task_event *)data)->kind == WS_TASK_EXEC) {
		uint32_t pid = ((const struct ws_task_event *)data)->pid;

		ws_tls_forget(g_b, pid);
		if (ws_tls_discover(g_b, pid) > 0)
			printf("TLSPROC pid=%u exec\n", pid);
	}
	if (g_quiet)
		return 0;
	if (h->type == WS_EV_DATA) {
		const struct ws_data_event *e = data;

		if (h->size < sizeof(*e) || e->captured > e->bytes ||
		    h->size != sizeof(*e) + e->captured) {
			printf("BAD data size=%u captured=%u bytes=%u\n", h->size, e->captured,
			       e->bytes);
			g_bad++;
			return 0;
		}
		policy_decide(e);
		printf("DATA pid=%u tid=%u fd=%d sock=0x%" PRIx64 " dir=%s role=%s sys=%s"
		       " seq=%u bytes=%u cap=%u g=%" PRIu64, e->pid, e->tid, e->fd,
		       (uint64_t)e->sock_id, e->dir == WS_DIR_EGRESS ? "out" : "in",
		       role_name(e->role), sys_name(e->syscall), e->seq, e->bytes, e->captured,
		       (uint64_t)e->rt_ctx);
		print_flags(h->flags);
		printf(" enter=%" PRIu64 " exit=%" PRIu64, (uint64_t)e->enter_ns,
		       (uint64_t)e->exit_ns);
		if (e->batch.count)
			printf(" batches=%u bflags=%u blk_anchor=%" PRIu64 " blk_timeout=%d", e->batch.count,
			       e->batch.flags, (uint64_t)e->batch.blk_anchor_ns, e->batch.blk_timeout_ms);
		print_tuple(&e->tuple);
		print_payload((const uint8_t *)(e + 1), e->captured);
		putchar('\n');
	} else if (h->type == WS_EV_SOCK) {
		const struct ws_sock_event *e = data;
		const char *kind = e->kind == WS_SOCK_OPEN ? "open" :
				   e->kind == WS_SOCK_FD_CLOSE ? "close" :
				   e->kind == WS_SOCK_STATE ? "state" : "?";

		if (h->size != sizeof(*e)) {
			printf("BAD sock size=%u\n", h->size);
			g_bad++;
			return 0;
		}
		printf("SOCK kind=%s pid=%u tid=%u fd=%d sock=0x%" PRIx64 " role=%s sys=%s"
		       " old=%u new=%u", kind, e->pid, e->tid, e->fd, (uint64_t)e->sock_id,
		       role_name(e->role), sys_name(e->syscall), e->state_old, e->state_new);
		print_tuple(&e->tuple);
		putchar('\n');
	} else if (h->type == WS_EV_TCP) {
		const struct ws_tcp_event *e = data;

		if (h->size != sizeof(*e)) {
			printf("BAD tcp size=%u\n", h->size);
			g_bad++;
			return 0;
		}
		printf("TCP kind=%s sock=0x%" PRIx64 " seq=%u state=%u ts=%" PRIu64 "\n",
		       e->kind == WS_TCP_RETRANS ? "retrans" : "?", (uint64_t)e->sock_id, e->seq, e->state,
		       (uint64_t)h->ts_ns);
	} else if (h->type == WS_EV_RT) {
		const struct ws_rt_event *e = data;

		if (h->size != sizeof(*e)) {
			printf("BAD rt size=%u\n", h->size);
			g_bad++;
			return 0;
		}
		printf("RT kind=%s pid=%u tid=%u ctx=%" PRIu64 " other=%" PRIu64 " fd=%d ts=%" PRIu64 "\n",
		       e->kind == WS_RT_GO_SPAWN ? "go_spawn" : e->kind == WS_RT_GO_CALL ? "go_call" : "?",
		       e->pid, e->tid, (uint64_t)e->ctx, (uint64_t)e->other, e->fd, (uint64_t)h->ts_ns);
	} else if (h->type == WS_EV_LOOP) {
		const struct ws_loop_event *e = data;

		if (h->size != sizeof(*e) || (e->nready != WS_LOOP_BATCHES && e->nready != WS_LOOP_FOREIGN)) {
			printf("BAD loop size=%u nready=%d\n", h->size, e->nready);
			g_bad++;
			return 0;
		}
		printf("LOOP pid=%u tid=%u kind=%s sys=%s enter=%" PRIu64 " batches=%u bflags=%u blk_anchor=%" PRIu64
		       " blk_timeout=%d ts=%" PRIu64 "\n", e->pid, e->tid,
		       e->nready == WS_LOOP_FOREIGN ? "foreign" : "batches", sys_name(e->syscall),
		       (uint64_t)e->enter_ns, e->batch.count, e->batch.flags, (uint64_t)e->batch.blk_anchor_ns,
		       e->batch.blk_timeout_ms, (uint64_t)h->ts_ns);
	} else if (h->type == WS_EV_TASK) {
		const struct ws_task_event *e = data;
		static const char *const kinds[] = {
			[WS_TASK_WAKE] = "wake", [WS_TASK_FORK] = "fork", [WS_TASK_CLONE] = "clone",
			[WS_TASK_EXEC] = "exec", [WS_TASK_EXIT] = "exit",
		};
		char comm[WS_COMM_LEN + 1];

		if (h->size != sizeof(*e) || e->kind < WS_TASK_WAKE || e->kind > WS_TASK_EXIT) {
			printf("BAD task size=%u kind=%u\n", h->size, e->kind);
			g_bad++;
			return 0;
		}
		memcpy(comm, e->comm, WS_COMM_LEN);
		comm[WS_COMM_LEN] = 0;
		for (char *c = comm; *c; c++)
			if (*c <= ' ' || *c > '~')
				*c = '_';
		printf("TASK kind=%s pid=%u tid=%u other_pid=%u other_tid=%u comm=%s ts=%" PRIu64
		       "\n", kinds[e->kind], e->pid, e->tid, e->other_pid, e->other_tid,
		       comm[0] ? comm : "-", (uint64_t)h->ts_ns);
	} else {
		printf("BAD type=%u\n", h->type);
		g_bad++;
	}
	return 0;
}

/* Our own programs are the bpf-prog fds of this process (the skeleton holds them). */
static void print_prog_stats(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	uint64_t cnt = 0, ns = 0;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[64], target[64];
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		ssize_t n;
		int fd = atoi(de->d_name);

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (strcmp(target, "anon_inode:bpf-prog") != 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		fprintf(stderr, "PROG %-16s hits=%" PRIu64 " ns=%" PRIu64 " avg_ns=%.1f\n", info.name,
			(uint64_t)info.run_cnt, (uint64_t)info.run_time_ns,
			info.run_cnt ? (double)info.run_time_ns / (double)info.run_cnt : 0.0);
		cnt += info.run_cnt;
		ns += info.run_time_ns;
	}
	closedir(d);
	fprintf(stderr, "PROG %-16s hits=%" PRIu64 " ns=%" PRIu64 " avg_ns=%.1f\n", "ALL", cnt, ns,
		cnt ? (double)ns / (double)cnt : 0.0);
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-p PID]... [-c COMM]... [-P PORT]... [-s CAPTURE] [-d SECONDS]\n"
		"          [-x SHOWBYTES] [-w WAKEUP] [-r RINGBYTES] [-U UDPPORT]... [-A PORT]...\n"
		"          [-O PORT]... [-q] [-S] [-G] [-T] [-Y] [-v]\n"
		"examples:\n"
		"  %s -U 53 -c python3    DNS datagrams of python3 processes\n"
		"  %s -P 8080 -d 5        records on connections to/from port 8080 for 5 s\n"
		"  %s -c curl -s 1024     curl's connections, 1 KiB capture budget per run\n"
		"  %s -G -c srv           Go service srv with goroutine ids and RT records\n"
		"  %s -Y -c python3.11    asyncio tasks: g= is the contextvars Context\n"
		"  %s -T -c nginx         nginx's TLS plaintext (WS_F_TLS) and ciphertext\n",
		argv0, argv0, argv0, argv0, argv0, argv0, argv0);
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static pid_t pids[64];
	static const char *comms[WS_MAX_COMM_FILTERS];
	static uint16_t ports[WS_MAX_PORT_FILTERS];
	static uint16_t udp_ports[WS_MAX_UDP_PORTS];
	int n_udp = 0;
	struct ws_bpf_config cfg = { .capture_bytes = 256, .wakeup_bytes = 256 * 1024,
				     .ringbuf_bytes = 8u << 20, .max_conns = 65536 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct epoll_event ev;
	uint64_t cnt[WS_CNT__MAX];
	struct ws_bpf *b = NULL;
	uint32_t v, duration = 0;
	struct timespec t0, now;
	int opt, err, epfd, n_pids = 0, n_comms = 0, n_ports = 0, stats_fd = -1;
	bool stats = false;

	while ((opt = getopt(argc, argv, "p:c:P:s:d:x:w:r:U:A:O:qSGTYvh")) != -1) {
		switch (opt) {
		case 'p':
			if (n_pids >= (int)(sizeof(pids) / sizeof(pids[0])) ||
			    parse_u32(optarg, INT32_MAX, &v))
				goto bad;
			pids[n_pids++] = (pid_t)v;
			break;
		case 'c':
			if (n_comms >= WS_MAX_COMM_FILTERS)
				goto bad;
			comms[n_comms++] = optarg;
			break;
		case 'P':
			if (n_ports >= WS_MAX_PORT_FILTERS || parse_u32(optarg, 65535, &v))
				goto bad;
			ports[n_ports++] = (uint16_t)v;
			break;
		case 'U':
			if (n_udp >= WS_MAX_UDP_PORTS || parse_u32(optarg, 65535, &v) || !v)
				goto bad;
			udp_ports[n_udp++] = (uint16_t)v;
			break;
		case 'A':
		case 'O':
			if (g_n_pol >= 16 || parse_u32(optarg, 65535, &v) || !v)
				goto bad;
			g_pol_port[g_n_pol] = (uint16_t)v;
			g_pol_mode[g_n_pol++] = opt == 'A' ? WS_CAPMODE_ALL : WS_CAPMODE_OFF;
			break;
		case 's':
			if (parse_u32(optarg, WS_MAX_PAYLOAD, &cfg.capture_bytes))
				goto bad;
			break;
		case 'd':
			if (parse_u32(optarg, 86400, &duration))
				goto bad;
			break;
		case 'x':
			if (parse_u32(optarg, WS_MAX_PAYLOAD, &g_show))
				goto bad;
			break;
		case 'w':
			if (parse_u32(optarg, UINT32_MAX, &cfg.wakeup_bytes))
				goto bad;
			break;
		case 'r':
			if (parse_u32(optarg, 1u << 30, &cfg.ringbuf_bytes))
				goto bad;
			break;
		case 'v':
			cfg.verbose = true;
			break;
		case 'q':
			g_quiet = true;
			break;
		case 'S':
			stats = true;
			break;
		case 'G':
			cfg.go_runtime = true;
			g_go = true;
			break;
		case 'Y':
			cfg.py_runtime = true;
			g_py = true;
			break;
		case 'T':
			cfg.tls = true;
			g_tls = true;
			break;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	cfg.waits = true;   /* as the agent runs by default */
	cfg.agent_pid = getpid();
	cfg.pids = pids;
	cfg.n_pids = n_pids;
	cfg.comms = comms;
	cfg.n_comms = n_comms;
	cfg.ports = ports;
	cfg.n_ports = n_ports;
	cfg.udp_ports = udp_ports;
	cfg.n_udp_ports = n_udp;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (ws_bpf_preflight(stderr))
		return 1;
	if (stats) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0) {
			fprintf(stderr, "bpf_dump: bpf_enable_stats: %s\n", strerror(errno));
			return 1;
		}
	}
	err = ws_bpf_start(&cfg, on_record, NULL, &b);
	if (err)
		return 1;
	g_b = b;
	epfd = ws_bpf_epoll_fd(b);
	fprintf(stderr, "READY %d\n", ws_bpf_attached(b));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!g_stop) {
		int n = epoll_wait(epfd, &ev, 1, 100);

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "bpf_dump: epoll_wait: %s\n", strerror(errno));
			break;
		}
		/* Records are submitted without wake-ups below the threshold: drain on
		 * every tick, not only when woken. */
		err = ws_bpf_consume(b);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "bpf_dump: consume: %s\n", strerror(-err));
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (duration && now.tv_sec - t0.tv_sec >= (time_t)duration)
			break;
	}
	ws_bpf_consume(b);
	if (ws_bpf_read_counters(b, cnt) == 0) {
		fprintf(stderr, "COUNTERS");
		for (int i = 0; i < WS_CNT__MAX; i++)
			fprintf(stderr, " %s=%" PRIu64, ws_counter_name((enum ws_counter)i), cnt[i]);
		fprintf(stderr, " records=%lu bad_records=%lu\n", g_records, g_bad);
	}
	{
		static struct ws_err_entry errs[WS_ERR_ENTRIES];
		size_t n_errs = 0;
		char line[160];

		if (ws_bpf_read_errors(b, errs, WS_ERR_ENTRIES, &n_errs) == 0)
			for (size_t i = 0; i < n_errs; i++) {
				ws_err_format(line, sizeof(line), &errs[i]);
				fprintf(stderr, "BPF_ERROR %s\n", line);
			}
	}
	fprintf(stderr, "CAPTURE_ENTRIES %d\n", ws_bpf_capture_entries(b));
	if (g_go) {
		struct ws_go_attach_stats gs;

		if (ws_go_read_stats(b, &gs) == 0) {
			fprintf(stderr, "GOSTATS pids_checked=%" PRIu64 " procs_go=%" PRIu64
				" procs_unsupported=%" PRIu64 " procs_map_full=%" PRIu64
				" exes_attached=%" PRIu64 " exes_skipped=%" PRIu64 " attach_failed=%" PRIu64,
				gs.pids_checked, gs.procs_go, gs.procs_unsupported, gs.procs_map_full,
				gs.exes_attached, gs.exes_skipped, gs.attach_failed);
			for (int i = 0; i < WS_GO_CNT__MAX; i++)
				fprintf(stderr, " %s=%" PRIu64, ws_go_counter_name((enum ws_go_counter)i),
					gs.kernel[i]);
			fputc('\n', stderr);
		}
	}
	if (g_py) {
		struct ws_py_attach_stats ps;

		if (ws_py_read_stats(b, &ps) == 0) {
			fprintf(stderr, "PYSTATS procs_registered=%" PRIu64 " procs_unsupported=%" PRIu64
				" procs_layout_failed=%" PRIu64, ps.procs_registered, ps.procs_unsupported,
				ps.procs_layout_failed);
			for (int i = 0; i < WS_PY_CNT__MAX; i++)
				fprintf(stderr, " %s=%" PRIu64, ws_py_counter_name((enum ws_py_counter)i),
					ps.kernel[i]);
			fputc('\n', stderr);
		}
	}
	if (g_tls) {
		struct ws_tls_attach_stats ts;

		if (ws_tls_read_stats(b, &ts) == 0)
			fprintf(stderr, "TLSFILES pids_checked=%" PRIu64 " files_checked=%" PRIu64
				" attached=%" PRIu64 " skipped=%" PRIu64 " attach_failed=%" PRIu64
				" probes=%" PRIu64 "\n", ts.pids_checked, ts.files_checked,
				ts.objs_attached, ts.objs_skipped, ts.attach_failed, ts.probes);
	}
	if (stats) {
		print_prog_stats();
		close(stats_fd);
	}
	ws_bpf_destroy(b);
	return g_bad ? 3 : 0;
bad:
	usage(argv[0]);
	return 2;
}
