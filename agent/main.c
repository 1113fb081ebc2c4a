/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * wirespan: the agent's entry point and event loop.
 *
 * One thread owns the data path: ring buffer -> span assembly -> sinks. The loop waits
 * on the ring buffer's epoll fd (woken in batches by the kernel side), a 100 ms timer
 * (drains what arrived without a wake-up, decides parentage, expires state) and a
 * signalfd (INT/TERM: flush and exit 0; USR1: print counters).
 */
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "runtime_detect.h"
#include "rt_go_attach.h"
#include "rt_py_attach.h"
#include "tls_attach.h"
#include "../exporter/otlp_config.h"
#include "../exporter/otlp_http.h"
#include "../exporter/sink.h"
#include "assemble.h"
#include "conn.h"
#include "loader.h"
#include "inject.h"
#include "process.h"
#include "proto/sql.h"

#ifndef WS_VERSION
#define WS_VERSION "0.0.0"
#endif

#define MAX_SINKS 8
#define MAX_FILTERS 64
#define TICK_NS (100 * 1000000ULL)

struct options {
	const char *outputs[MAX_SINKS];
	int n_outputs;
	pid_t pids[MAX_FILTERS];
	int n_pids;
	const char *comms[WS_MAX_COMM_FILTERS];
	int n_comms;
	uint16_t ports[WS_MAX_PORT_FILTERS];
	int n_ports;
	uint16_t udp_ports[WS_MAX_UDP_PORTS];
	int n_udp_ports;
	uint32_t capture_bytes;
	uint32_t link_wait_ms;
	uint32_t ringbuf_mb;
	uint32_t wakeup_kb;       /* the kernel wakes the agent once this much is pending */
	int nice;                 /* the agent's own scheduling priority (all its threads) */
	bool nice_set;
	uint32_t max_conns;
	uint32_t max_spans;
	double duration_s;
	const char *otlp_endpoint;
	bool verbose;
	bool capture_only;        /* drain the ring buffer, discard records (benchmarks) */
	bool no_go_runtime;       /* no goroutine evidence (uprobes in Go processes) */
	bool no_py_runtime;       /* no CPython contexts (asyncio tasks) */
	bool no_waits;            /* no queue/scheduler/network breakdown (docs/waits.md) */
	uint8_t inject;           /* enum ws_inject_mode: --inject off|sdk|all */
	bool keep_sdk_spans;      /* --sdk-spans keep */
	bool no_tls;              /* no TLS plaintext (uprobes on SSL_read/SSL_write) */
};

struct agent {
	struct options opt;
	struct ws_bpf *bpf;
	struct ws_asm *asm_;
	struct ws_proc_cache *procs;
	struct ws_sink *sinks[MAX_SINKS + 1];
	int n_sinks;
	uint64_t records;
	uint64_t conns_gone_at_trim;   /* connections that had left the table at the last trim */
	uint64_t malloc_trims;
	uint64_t capture_set_failures;  /* capture policies the kernel map refused */
	size_t heap_free_low;          /* malloc's free bytes: lowest since the last trim */
	uint64_t started_ns;
};

static const char usage_text[] =
	"Usage: wirespan [OPTIONS]\n"
	"Trace every TCP exchange on this host with eBPF and turn HTTP/1 requests into\n"
	"correctly parented SERVER and CLIENT spans, with no change to the services.\n"
	"\n"
	"Output:\n"
	"  -o, --output SPEC        terminal (default) | file:PATH (OTLP/JSON lines, appended)\n"
	"                           | null; repeatable\n"
	"      --otlp-endpoint URL  export OTLP/HTTP to a collector (base URL; /v1/traces is\n"
	"                           appended). OTEL_EXPORTER_OTLP_* variables are honoured too.\n"
	"Scope (combined with OR; default: every process but wirespan itself):\n"
	"  -p, --pid PID[,PID..]    only these processes\n"
	"  -e, --exe NAME[,NAME..]  only processes with this executable name (kernel comm)\n"
	"  -P, --port PORT[,..]     only connections with this local or remote port\n"
	"Tuning:\n"
	"      --capture-bytes N    payload bytes captured per message (default 1024, max 4096)\n"
	"      --udp-ports LIST     UDP ports whose datagrams are recorded, local or remote, up to\n"
	"                           16 (default 53: DNS); 'none' records no UDP. Only processes in\n"
	"                           scope: -P does not bring a process in by its UDP ports\n"
	"      --query-text MODE    db.query.text of SQL spans: sanitized (default: every literal\n"
	"                           becomes ?), off, or raw (literals included: secrets in\n"
	"                           queries reach the traces; use only where that is allowed)\n"
	"      --process-command-line  resources carry process.command_line (every argument;\n"
	"                           they can hold passwords) instead of process.command (argv[0])\n"
	"      --link-wait-ms N     how long a server span waits for its local client (300)\n"
	"      --ringbuf-mb N       ring buffer size in MiB (8)\n"
	"      --wakeup-kb N        wake the agent once N KiB of records are pending (256; 0 = every\n"
	"                           record); the agent also drains every 100 ms whatever is pending\n"
	"      --nice N             the agent's scheduling priority, -20..19 (unchanged: inherited)\n"
	"      --max-conns N        connection sides tracked at once, agent and kernel map (131072)\n"
	"      --max-spans N        spans being assembled at once (16384)\n"
	"      --duration SEC       exit after SEC seconds\n"
	"      --no-go-runtime      attach nothing to Go processes (their calls then get no\n"
	"                           parent inside the process: thread evidence is void in Go)\n"
	"      --no-py-runtime      read no CPython thread states (asyncio calls then get\n"
	"                           parents from the loop rules only)\n"
	"      --inject MODE        insert a traceparent into outgoing HTTP/1 requests that have\n"
	"                           none (sk_msg): sdk = to local processes recognised as\n"
	"                           OpenTelemetry-instrumented (default), all, off\n"
	"      --sdk-spans MODE     drop (default): no wirespan spans for processes that make\n"
	"                           their own (an OpenTelemetry SDK); keep: make them anyway\n"
	"      --no-tls             attach nothing to TLS libraries (libssl, node): encrypted\n"
	"                           connections then give no spans\n"
	"      --no-waits           no queue/run-queue/CPU/network breakdown of spans: the\n"
	"                           scheduler and TCP hooks are not loaded (docs/waits.md)\n"
	"      --capture-only       drain the ring buffer and discard records (measures the\n"
	"                           kernel side and ring transport alone)\n"
	"  -v, --verbose            libbpf and loader details\n"
	"  -V, --version\n"
	"  -h, --help\n"
	"\n"
	"Signals: SIGINT/SIGTERM flush complete spans, detach and exit 0; SIGUSR1 prints counters.\n"
	"\n"
	"Examples:\n"
	"  sudo wirespan                              # live traces of the whole host\n"
	"  sudo wirespan -P 8080 -o file:/tmp/spans.jsonl\n"
	"  sudo wirespan -e nginx,python3 --otlp-endpoint http://127.0.0.1:4318\n";

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Split a comma list into the callback; returns -EINVAL on a bad item. */
static int parse_list(const char *arg, const char *what, int (*add)(struct options *, const char *), struct options *o)
{
	char *dup = strdup(arg), *save = NULL, *tok;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		err = add(o, tok);
		if (err)
			fprintf(stderr, "wirespan: bad %s '%s'\n", what, tok);
	}
	free(dup);
	return err;
}

static int add_pid(struct options *o, const char *s)
{
	uint32_t v;

	if (parse_u32(s, 1, INT_MAX, &v) || o->n_pids >= MAX_FILTERS)
		return -EINVAL;
	o->pids[o->n_pids++] = (pid_t)v;
	return 0;
}

static int add_port(struct options *o, const char *s)
{
	uint32_t v;

	if (parse_u32(s, 1, 65535, &v) || o->n_ports >= WS_MAX_PORT_FILTERS)
		return -EINVAL;
	o->ports[o->n_ports++] = (uint16_t)v;
	return 0;
}

static int add_udp_port(struct options *o, const char *s)
{
	uint32_t v;

	if (parse_u32(s, 1, 65535, &v) || o->n_udp_ports >= WS_MAX_UDP_PORTS)
		return -EINVAL;
	o->udp_ports[o->n_udp_ports++] = (uint16_t)v;
	return 0;
}

static int add_comm(struct options *o, const char *s)
{
	if (!*s || strlen(s) >= WS_COMM_LEN || o->n_comms >= WS_MAX_COMM_FILTERS)
		return -EINVAL;
	o->comms[o->n_comms++] = strdup(s);
	return o->comms[o->n_comms - 1] ? 0 : -ENOMEM;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum { O_CAPTURE = 256, O_LINKWAIT, O_RINGBUF, O_WAKEUP, O_NICE, O_NOWAITS, O_DURATION, O_MAXCONNS, O_MAXSPANS, O_OTLP, O_CAPONLY, O_NOGO, O_NOPY, O_UDPPORTS, O_QUERYTEXT, O_CMDLINE,
	       O_NOTLS, O_INJECT, O_SDKSPANS };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "pid", required_argument, NULL, 'p' },
		{ "exe", required_argument, NULL, 'e' },
		{ "port", required_argument, NULL, 'P' },
		{ "capture-bytes", required_argument, NULL, O_CAPTURE },
		{ "udp-ports", required_argument, NULL, O_UDPPORTS },
		{ "query-text", required_argument, NULL, O_QUERYTEXT },
		{ "process-command-line", no_argument, NULL, O_CMDLINE },
		{ "link-wait-ms", required_argument, NULL, O_LINKWAIT },
		{ "ringbuf-mb", required_argument, NULL, O_RINGBUF },
		{ "wakeup-kb", required_argument, NULL, O_WAKEUP },
		{ "nice", required_argument, NULL, O_NICE },
		{ "max-conns", required_argument, NULL, O_MAXCONNS },
		{ "max-spans", required_argument, NULL, O_MAXSPANS },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "otlp-endpoint", required_argument, NULL, O_OTLP },
		{ "capture-only", no_argument, NULL, O_CAPONLY },
		{ "no-go-runtime", no_argument, NULL, O_NOGO },
		{ "no-py-runtime", no_argument, NULL, O_NOPY },
		{ "inject", required_argument, NULL, O_INJECT },
		{ "sdk-spans", required_argument, NULL, O_SDKSPANS },
		{ "no-tls", no_argument, NULL, O_NOTLS },
		{ "no-waits", no_argument, NULL, O_NOWAITS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->capture_bytes = 1024;
	o->link_wait_ms = 300;
	o->ringbuf_mb = 8;
	o->wakeup_kb = 256;
	o->max_conns = 131072;
	o->max_spans = 16384;
	o->udp_ports[0] = 53;
	o->n_udp_ports = 1;
	o->inject = WS_INJECT_SDK;
	while ((c = getopt_long(argc, argv, "o:p:e:P:vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (o->n_outputs >= MAX_SINKS) {
				fprintf(stderr, "wirespan: at most %d outputs\n", MAX_SINKS);
				return -EINVAL;
			}
			o->outputs[o->n_outputs++] = optarg;
			break;
		case 'p':
			if (parse_list(optarg, "pid", add_pid, o))
				return -EINVAL;
			break;
		case 'e':
			if (parse_list(optarg, "executable name (1-15 characters)", add_comm, o))
				return -EINVAL;
			break;
		case 'P':
			if (parse_list(optarg, "port", add_port, o))
				return -EINVAL;
			break;
		case O_CAPTURE:
			if (parse_u32(optarg, 0, WS_MAX_PAYLOAD, &o->capture_bytes)) {
				fprintf(stderr, "wirespan: --capture-bytes must be 0..%d\n", WS_MAX_PAYLOAD);
				return -EINVAL;
			}
			break;
		case O_UDPPORTS:
			/* The last --udp-ports wins, replacing the default. */
			o->n_udp_ports = 0;
			if (strcmp(optarg, "none") == 0)
				break;
			if (parse_list(optarg, "UDP port (1-65535, at most 16)", add_udp_port, o))
				return -EINVAL;
			break;
		case O_CMDLINE:
			ws_process_set_command_line(true);
			break;
		case O_QUERYTEXT:
			if (strcmp(optarg, "sanitized") == 0) {
				ws_sql_set_query_text(WS_QUERY_TEXT_SANITIZED);
			} else if (strcmp(optarg, "off") == 0) {
				ws_sql_set_query_text(WS_QUERY_TEXT_OFF);
			} else if (strcmp(optarg, "raw") == 0) {
				ws_sql_set_query_text(WS_QUERY_TEXT_RAW);
			} else {
				fprintf(stderr, "wirespan: --query-text must be sanitized, off or raw\n");
				return -EINVAL;
			}
			break;
		case O_LINKWAIT:
			if (parse_u32(optarg, 0, 60000, &o->link_wait_ms)) {
				fprintf(stderr, "wirespan: --link-wait-ms must be 0..60000\n");
				return -EINVAL;
			}
			break;
		case O_RINGBUF:
			if (parse_u32(optarg, 1, 1024, &o->ringbuf_mb)) {
				fprintf(stderr, "wirespan: --ringbuf-mb must be 1..1024\n");
				return -EINVAL;
			}
			break;
		case O_WAKEUP:
			if (parse_u32(optarg, 0, 1u << 20, &o->wakeup_kb)) {
				fprintf(stderr, "wirespan: --wakeup-kb must be 0..1048576\n");
				return -EINVAL;
			}
			break;
		case O_NICE: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < -20 || v > 19) {
				fprintf(stderr, "wirespan: --nice must be -20..19\n");
				return -EINVAL;
			}
			o->nice = (int)v;
			o->nice_set = true;
			break;
		}
		case O_MAXCONNS:
			if (parse_u32(optarg, 16, 1u << 22, &o->max_conns)) {
				fprintf(stderr, "wirespan: --max-conns must be 16..4194304\n");
				return -EINVAL;
			}
			break;
		case O_MAXSPANS:
			if (parse_u32(optarg, 16, 1u << 22, &o->max_spans)) {
				fprintf(stderr, "wirespan: --max-spans must be 16..4194304\n");
				return -EINVAL;
			}
			break;
		case O_DURATION: {
			char *end;
			o->duration_s = strtod(optarg, &end);
			if (*end || o->duration_s <= 0) {
				fprintf(stderr, "wirespan: --duration must be a positive number of seconds\n");
				return -EINVAL;
			}
			break;
		}
		case O_OTLP:
			o->otlp_endpoint = optarg;
			break;
		case O_CAPONLY:
			o->capture_only = true;
			break;
		case O_NOGO:
			o->no_go_runtime = true;
			break;
		case O_NOPY:
			o->no_py_runtime = true;
			break;
		case O_INJECT:
			if (strcmp(optarg, "off") == 0)
				o->inject = WS_INJECT_OFF;
			else if (strcmp(optarg, "sdk") == 0)
				o->inject = WS_INJECT_SDK;
			else if (strcmp(optarg, "all") == 0)
				o->inject = WS_INJECT_ALL;
			else {
				fprintf(stderr, "wirespan: --inject takes off, sdk or all\n");
				return -EINVAL;
			}
			break;
		case O_SDKSPANS:
			if (strcmp(optarg, "keep") != 0 && strcmp(optarg, "drop") != 0) {
				fprintf(stderr, "wirespan: --sdk-spans takes drop or keep\n");
				return -EINVAL;
			}
			o->keep_sdk_spans = strcmp(optarg, "keep") == 0;
			break;
		case O_NOTLS:
			o->no_tls = true;
			break;
		case O_NOWAITS:
			o->no_waits = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'V':
			printf("wirespan %s\n", WS_VERSION);
			exit(0);
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wirespan: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int64_t mono_to_unix_offset(void)
{
	struct timespec rt, mt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	return ((int64_t)rt.tv_sec - (int64_t)mt.tv_sec) * 1000000000LL + ((int64_t)rt.tv_nsec - (int64_t)mt.tv_nsec);
}

static int open_sinks(struct agent *ag)
{
	const struct options *o = &ag->opt;
	struct ws_otlp_config ocfg;
	int err;

	for (int i = 0; i < o->n_outputs || (i == 0 && o->n_outputs == 0); i++) {
		const char *spec = o->n_outputs ? o->outputs[i] : "terminal";
		struct ws_sink *s;

		if (strcmp(spec, "terminal") == 0)
			s = ws_sink_terminal_new(stdout);
		else if (strncmp(spec, "file:", 5) == 0 && spec[5])
			s = ws_sink_file_new(spec + 5);
		else if (strcmp(spec, "null") == 0)
			s = ws_sink_null_new();
		else {
			fprintf(stderr, "wirespan: unknown output '%s' (terminal, file:PATH or null)\n", spec);
			return -EINVAL;
		}
		if (!s)
			return -EINVAL;
		ag->sinks[ag->n_sinks++] = s;
	}

	/* OTLP/HTTP: an endpoint given on the command line or in the environment means export. */
	char err_msg[256];
	err = ws_otlp_config_from_env(&ocfg, NULL, err_msg, sizeof(err_msg));
	if (err) {
		fprintf(stderr, "wirespan: OTLP configuration: %s\n", err_msg);
		return err;
	}
	if (o->otlp_endpoint) {
		err = ws_otlp_config_set_endpoint(&ocfg, o->otlp_endpoint, err_msg, sizeof(err_msg));
		if (err) {
			fprintf(stderr, "wirespan: --otlp-endpoint: %s\n", err_msg);
			return err;
		}
	}
	if (ocfg.enabled) {
		struct ws_sink *s = ws_sink_otlp_http_new(&ocfg);

		if (!s)
			return -EINVAL;
		ag->sinks[ag->n_sinks++] = s;
		fprintf(stderr, "wirespan: exporting OTLP (%s) to %s\n", ws_otlp_protocol_name(ocfg.protocol),
			ocfg.endpoint);
	}
	return 0;
}

static void emit_to_sinks(void *ctx, const struct ws_span *const *spans, size_t n)
{
	struct agent *ag = ctx;

	for (int i = 0; i < ag->n_sinks; i++)
		ag->sinks[i]->ops->emit(ag->sinks[i], spans, n);
}

/* Asked once per process, at its first record: a Go process wirespan can follow is
 * registered with the kernel (goroutine ids, uprobes); any Go process, followed or
 * not, gets no thread-based parentage. Its executable and TLS libraries get the TLS
 * uprobes when not attached yet. */
static uint8_t runtime_of(void *ctx, uint32_t pid)
{
	struct agent *ag = ctx;

	if (ag->bpf)
		ws_tls_discover(ag->bpf, pid);
	if (ag->bpf && ws_go_discover(ag->bpf, pid) == 1)
		return WS_RUNTIME_GO;
	if (ag->bpf)
		ws_py_discover(ag->bpf, pid);
	return ws_runtime_of_pid("/proc", pid);
}

static struct ws_resource *resource_of(void *ctx, uint32_t pid, const char *comm)
{
	struct agent *ag = ctx;

	return ws_proc_cache_get_hint(ag->procs, pid, comm);
}

/* A process that exec'd or ended leaves the kernel's Go table (its pid may be reused).
 * One that exec'd may now run a TLS-carrying executable (node): looked at right away,
 * before its first connection if the agent is quick enough. */
static void forget_exited(struct agent *ag, const void *data, size_t size)
{
	const struct ws_task_event *t = data;

	if (size < sizeof(*t) || t->hdr.type != WS_EV_TASK || !ag->bpf)
		return;
	if (t->kind == WS_TASK_EXEC || (t->kind == WS_TASK_EXIT && t->tid == t->pid)) {
		ws_go_forget(ag->bpf, t->pid);
		ws_py_forget(ag->bpf, t->pid);
		ws_tls_forget(ag->bpf, t->pid);
	}
	if (t->kind == WS_TASK_EXEC)
		ws_tls_discover(ag->bpf, t->pid);
}

/* A parser's capture needs (proto.h enum ws_capture), told to the kernel per socket. */
static void set_capture(void *ctx, uint64_t sock_id, enum ws_capture mode, uint8_t role)
{
	struct agent *ag = ctx;

	if (ag->bpf && ws_bpf_set_capture(ag->bpf, sock_id, (uint8_t)mode, role) != 0)
		ag->capture_set_failures++;
}

static void set_inject_dst(void *ctx, uint16_t port, bool on)
{
	struct agent *ag = ctx;

	if (ag->bpf)
		ws_inject_set_dst(ws_bpf_inject(ag->bpf), port, on);
}

static void adopt_conn(void *ctx, uint32_t pid, int32_t fd, const struct ws_tuple *t)
{
	struct agent *ag = ctx;

	if (ag->bpf && fd >= 0)
		ws_inject_adopt(ws_bpf_inject(ag->bpf), pid, fd, t->sport, t->dport);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct agent *ag = ctx;

	ag->records++;
	if (!ag->opt.capture_only)
		ws_asm_record(ag->asm_, data, size);
	forget_exited(ag, data, size);
	return 0;
}

/* This host's addresses: a server whose peer is one of them may be talking to a local
 * client that wirespan also sees (rule 3 waits for it). */
static void refresh_local_addrs(struct agent *ag)
{
	struct ifaddrs *ifa, *i;
	uint8_t addrs[64][16];
	size_t n = 0;

	if (getifaddrs(&ifa) != 0)
		return;
	for (i = ifa; i && n < 64; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *s4 = (const void *)i->ifa_addr;

			memset(addrs[n], 0, 10);
			addrs[n][10] = addrs[n][11] = 0xff;
			memcpy(&addrs[n][12], &s4->sin_addr, 4);
			n++;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const void *)i->ifa_addr;

			memcpy(addrs[n++], &s6->sin6_addr, 16);
		}
	}
	freeifaddrs(ifa);
	ws_asm_set_local_addrs(ag->asm_, (const uint8_t(*)[16])addrs, n);
}

static void report_counters(struct agent *ag, FILE *out)
{
	uint64_t k[WS_CNT__MAX] = { 0 };

	fprintf(out, "wirespan counters:\n");
	if (ag->bpf && ws_bpf_read_counters(ag->bpf, k) == 0)
		for (int i = 0; i < WS_CNT__MAX; i++)
			fprintf(out, "  %s %" PRIu64 "\n", ws_counter_name((enum ws_counter)i), k[i]);
	fprintf(out, "  records_consumed %" PRIu64 "\n", ag->records);
	struct ws_go_attach_stats gs;
	if (ag->bpf && ws_go_read_stats(ag->bpf, &gs) == 0) {
		fprintf(out, "  go_pids_checked %" PRIu64 "\n", gs.pids_checked);
		fprintf(out, "  go_procs_registered %" PRIu64 "\n", gs.procs_go);
		fprintf(out, "  go_procs_unsupported %" PRIu64 "\n", gs.procs_unsupported);
		fprintf(out, "  go_procs_map_full %" PRIu64 "\n", gs.procs_map_full);
		fprintf(out, "  go_exes_attached %" PRIu64 "\n", gs.exes_attached);
		fprintf(out, "  go_exes_skipped %" PRIu64 "\n", gs.exes_skipped);
		fprintf(out, "  go_attach_failed %" PRIu64 "\n", gs.attach_failed);
		for (int i = 0; i < WS_GO_CNT__MAX; i++)
			fprintf(out, "  go_%s %" PRIu64 "\n", ws_go_counter_name((enum ws_go_counter)i), gs.kernel[i]);
	}
	struct ws_py_attach_stats ps;
	if (ag->bpf && ws_py_read_stats(ag->bpf, &ps) == 0) {
		fprintf(out, "  py_pids_checked %" PRIu64 "\n", ps.pids_checked);
		fprintf(out, "  py_procs_registered %" PRIu64 "\n", ps.procs_registered);
		fprintf(out, "  py_procs_unsupported %" PRIu64 "\n", ps.procs_unsupported);
		fprintf(out, "  py_procs_layout_failed %" PRIu64 "\n", ps.procs_layout_failed);
		fprintf(out, "  py_procs_map_full %" PRIu64 "\n", ps.procs_map_full);
		for (int i = 0; i < WS_PY_CNT__MAX; i++)
			fprintf(out, "  %s %" PRIu64 "\n", ws_py_counter_name((enum ws_py_counter)i), ps.kernel[i]);
	}
	uint64_t ik[WS_INJ__MAX];
	if (ag->bpf && ws_inject_read_counters(ws_bpf_inject(ag->bpf), ik) == 0)
		for (int i = 0; i < WS_INJ__MAX; i++)
			fprintf(out, "  %s %" PRIu64 "\n", ws_inject_counter_name((enum ws_inj_counter)i), ik[i]);
	if (ag->bpf && ws_bpf_inject(ag->bpf)) {
		struct ws_inject_adopt_stats as;

		ws_inject_adopt_stats(ws_bpf_inject(ag->bpf), &as);
		fprintf(out, "  inject_conns_adopted %" PRIu64 "\n", as.adopted);
		fprintf(out, "  inject_conns_adopt_present %" PRIu64 "\n", as.present);
		fprintf(out, "  inject_conns_adopt_gone %" PRIu64 "\n", as.gone);
		fprintf(out, "  inject_conns_adopt_failed %" PRIu64 "\n", as.failed);
	}
	struct ws_tls_attach_stats ts;
	if (ag->bpf && ws_tls_read_stats(ag->bpf, &ts) == 0) {
		fprintf(out, "  tls_pids_checked %" PRIu64 "\n", ts.pids_checked);
		fprintf(out, "  tls_files_checked %" PRIu64 "\n", ts.files_checked);
		fprintf(out, "  tls_files_attached %" PRIu64 "\n", ts.objs_attached);
		fprintf(out, "  tls_files_skipped %" PRIu64 "\n", ts.objs_skipped);
		fprintf(out, "  tls_attach_failed %" PRIu64 "\n", ts.attach_failed);
		fprintf(out, "  tls_probes %" PRIu64 "\n", ts.probes);
		fprintf(out, "  loop_phase_probes %" PRIu64 "\n", ts.loop_probes);
	}
	if (ag->asm_)
		ws_asm_report(ag->asm_, out);
	fprintf(out, "  malloc_trims %" PRIu64 "\n", ag->malloc_trims);
	fprintf(out, "  capture_policy_failures %" PRIu64 "\n", ag->capture_set_failures);
	/* The heap as malloc sees it: what is allocated, what it holds free (docs/memory.md). */
	struct mallinfo2 mi = mallinfo2();
	fprintf(out, "  malloc_in_use_bytes %zu\n", mi.uordblks + mi.hblkhd);
	fprintf(out, "  malloc_free_bytes %zu\n", mi.fordblks);
	/* Component reports print bare "name value" lines; indent them like the rest. */
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (mem) {
		if (ag->procs)
			ws_proc_cache_report(ag->procs, mem);
		for (int i = 0; i < ag->n_sinks; i++)
			if (ag->sinks[i]->ops->report)
				ag->sinks[i]->ops->report(ag->sinks[i], mem);
		fclose(mem);
		for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			fprintf(out, "  %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
		}
		free(text);
	}
	/* The kernel's helper failures, one line per {error, file, line}, after the
	 * "  name value" lines (their names are not plain words: parsers of the block stop
	 * at the first of them). None in normal operation. */
	static struct ws_err_entry errs[WS_ERR_ENTRIES];
	size_t n_errs = 0;
	if (ag->bpf && ws_bpf_read_errors(ag->bpf, errs, WS_ERR_ENTRIES, &n_errs) == 0)
		for (size_t i = 0; i < n_errs; i++) {
			char line[160];

			ws_err_format(line, sizeof(line), &errs[i]);
			fprintf(out, "  %s\n", line);
		}
	fflush(out);
}

/* glibc keeps freed chunks in its heap, resident: after many connections left the
 * table, or after a burst of spans was freed, give the free pages back to the kernel
 * (malloc_trim releases whole free pages anywhere in the heap; docs/memory.md). Checked
 * every few seconds; done only when at least WS_TRIM_CONNS entries went, or the heap's
 * free bytes grew by WS_TRIM_FREE_BYTES over their low point, since the last trim. */
#define WS_TRIM_CONNS 1024
#define WS_TRIM_FREE_BYTES (8u << 20)
static void maybe_trim(struct agent *ag)
{
	const struct ws_conn_stats *cs;
	struct mallinfo2 mi;
	uint64_t gone;

	if (!ag->asm_)
		return;
	ws_asm_trim(ag->asm_);
	cs = ws_asm_conn_stats(ag->asm_);
	gone = cs->closed + cs->evicted + cs->expired + cs->removed;
	mi = mallinfo2();
	if (mi.fordblks < ag->heap_free_low)
		ag->heap_free_low = mi.fordblks;
	if (gone - ag->conns_gone_at_trim < WS_TRIM_CONNS && mi.fordblks - ag->heap_free_low < WS_TRIM_FREE_BYTES)
		return;
	ag->conns_gone_at_trim = gone;
	malloc_trim(0);
	ag->malloc_trims++;
	/* Free chunks stay free after a trim (only their pages went back): count growth
	 * from here. */
	ag->heap_free_low = mallinfo2().fordblks;
}

static int run_loop(struct agent *ag)
{
	struct epoll_event ev, evs[8];
	struct itimerspec its = { .it_interval = { 0, (long)TICK_NS }, .it_value = { 0, (long)TICK_NS } };
	sigset_t mask;
	int ep, sfd, tfd, rb_fd, err = 0;
	uint64_t deadline = ag->opt.duration_s > 0 ? ag->started_ns + (uint64_t)(ag->opt.duration_s * 1e9) : 0;
	uint64_t next_addr_refresh = 0;
	uint64_t next_trim = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGPIPE);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	rb_fd = ws_bpf_epoll_fd(ag->bpf);
	if (sfd < 0 || tfd < 0 || ep < 0 || timerfd_settime(tfd, 0, &its, NULL) != 0) {
		err = -errno;
		fprintf(stderr, "wirespan: event loop setup failed: %s\n", strerror(errno));
		goto out;
	}
	ev.events = EPOLLIN;
	ev.data.fd = rb_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, rb_fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);

	fprintf(stderr, "wirespan: ready (%d programs attached)\n", ws_bpf_attached(ag->bpf));
	for (;;) {
		int n = epoll_wait(ep, evs, 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			fprintf(stderr, "wirespan: epoll_wait: %s\n", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == rb_fd) {
				ws_bpf_consume(ag->bpf);
			} else if (fd == tfd) {
				uint64_t expirations, now;

				if (read(tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
					fprintf(stderr, "wirespan: timerfd read: %s\n", strerror(errno));
				ws_bpf_consume(ag->bpf);   /* records that came without a wake-up */
				now = mono_ns();
				if (now >= next_addr_refresh) {
					refresh_local_addrs(ag);
					next_addr_refresh = now + 30ULL * 1000000000ULL;
				}
				if (now >= next_trim) {
					maybe_trim(ag);
					next_trim = now + 5ULL * 1000000000ULL;
				}
				ws_asm_tick(ag->asm_, now);
				for (int s = 0; s < ag->n_sinks; s++)
					if (ag->sinks[s]->ops->tick)
						ag->sinks[s]->ops->tick(ag->sinks[s], now);
				if (deadline && now >= deadline)
					goto out;
			} else if (fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGUSR1)
						report_counters(ag, stderr);
					else if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
						goto out;
				}
			}
		}
	}
out:
	if (ep >= 0)
		close(ep);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	return err;
}

int main(int argc, char **argv)
{
	struct agent ag;
	struct ws_bpf_config bcfg;
	struct ws_asm_config acfg;
	char host[256] = "";
	sigset_t mask;
	int err;

	memset(&ag, 0, sizeof(ag));
	if (parse_args(argc, argv, &ag.opt))
		return 2;
	/* Before any thread starts: on Linux a nice value is per thread and inherited. */
	if (ag.opt.nice_set && setpriority(PRIO_PROCESS, 0, ag.opt.nice) != 0) {
		fprintf(stderr, "wirespan: --nice %d: %s\n", ag.opt.nice, strerror(errno));
		return 2;
	}

	/* Signals are read from a signalfd: block them before any thread starts. A shell
	 * script's background job inherits SIGINT ignored; restore the default first so
	 * that an ignored disposition can never swallow it. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	err = ws_bpf_preflight(stderr);
	if (err)
		return 1;

	gethostname(host, sizeof(host) - 1);
	ag.procs = ws_proc_cache_new(4096, host, "/proc");
	if (!ag.procs) {
		fprintf(stderr, "wirespan: out of memory\n");
		return 1;
	}
	ws_proc_cache_set_node_attrs(ag.procs, getenv("OTEL_RESOURCE_ATTRIBUTES"));
	if (open_sinks(&ag))
		goto fail;

	memset(&acfg, 0, sizeof(acfg));
	acfg.ctx.max_nodes = ag.opt.max_spans;
	acfg.ctx.link_wait_ns = (uint64_t)ag.opt.link_wait_ms * 1000000ULL;
	acfg.ctx.index_slots = 2 * ag.opt.max_spans;   /* ~80k client spans/s within a 400 ms lookup window */
	acfg.ctx.max_open_ns = 600ULL * 1000000000ULL;
	acfg.ctx.mono_to_unix_ns = mono_to_unix_offset();
	acfg.max_conns = ag.opt.max_conns;
	acfg.conn_idle_ns = 900ULL * 1000000000ULL;
	acfg.close_grace_ns = 50ULL * 1000000ULL;
	acfg.max_threads = 65536;
	acfg.max_procs = 16384;
	acfg.runtime_fn = runtime_of;
	acfg.runtime_ctx = &ag;
	acfg.capture_fn = set_capture;
	acfg.capture_ctx = &ag;
	acfg.keep_sdk_spans = ag.opt.keep_sdk_spans;
	acfg.sdk_log = stderr;
	acfg.inject_dst_fn = set_inject_dst;
	acfg.inject_dst_ctx = &ag;
	acfg.inject_adopt_fn = adopt_conn;
	acfg.inject_adopt_ctx = &ag;
	acfg.inject_all = ag.opt.inject == WS_INJECT_ALL;
	ag.asm_ = ws_asm_new(&acfg, resource_of, &ag, emit_to_sinks, &ag);
	if (!ag.asm_) {
		fprintf(stderr, "wirespan: out of memory\n");
		goto fail;
	}
	refresh_local_addrs(&ag);

	memset(&bcfg, 0, sizeof(bcfg));
	bcfg.capture_bytes = ag.opt.capture_bytes;
	bcfg.ringbuf_bytes = ag.opt.ringbuf_mb << 20;
	bcfg.wakeup_bytes = ag.opt.wakeup_kb << 10;
	bcfg.max_conns = ag.opt.max_conns;
	bcfg.agent_pid = getpid();
	bcfg.pids = ag.opt.pids;
	bcfg.n_pids = ag.opt.n_pids;
	bcfg.comms = ag.opt.comms;
	bcfg.n_comms = ag.opt.n_comms;
	bcfg.ports = ag.opt.ports;
	bcfg.n_ports = ag.opt.n_ports;
	bcfg.udp_ports = ag.opt.udp_ports;
	bcfg.n_udp_ports = ag.opt.n_udp_ports;
	bcfg.verbose = ag.opt.verbose;
	bcfg.go_runtime = !ag.opt.no_go_runtime;
	bcfg.py_runtime = !ag.opt.no_py_runtime;
	bcfg.inject = ag.opt.inject;
	ws_asm_derive_key(ag.asm_, bcfg.inj_key);
	bcfg.tls = !ag.opt.no_tls;
	bcfg.waits = !ag.opt.no_waits;
	err = ws_bpf_start(&bcfg, on_record, &ag, &ag.bpf);
	if (err)
		goto fail;

	ag.started_ns = mono_ns();
	err = run_loop(&ag);

	/* Shutdown: take what the kernel still holds, detach, decide what can be decided,
	 * deliver it, report. */
	ws_bpf_consume(ag.bpf);
	uint64_t now = mono_ns();
	ws_asm_flush(ag.asm_, now);
	uint64_t deadline = mono_ns() + 5ULL * 1000000000ULL;
	for (int i = 0; i < ag.n_sinks; i++)
		if (ag.sinks[i]->ops->flush)
			ag.sinks[i]->ops->flush(ag.sinks[i], deadline);
	report_counters(&ag, stderr);
	ws_bpf_destroy(ag.bpf);
	ag.bpf = NULL;
	ws_asm_free(ag.asm_, now);
	for (int i = 0; i < ag.n_sinks; i++)
		ag.sinks[i]->ops->destroy(ag.sinks[i]);
	ws_proc_cache_free(ag.procs);
	return err ? 1 : 0;

fail:
	if (ag.bpf)
		ws_bpf_destroy(ag.bpf);
	if (ag.asm_)
		ws_asm_free(ag.asm_, mono_ns());
	for (int i = 0; i < ag.n_sinks; i++)
		ag.sinks[i]->ops->destroy(ag.sinks[i]);
	ws_proc_cache_free(ag.procs);
	return 1;
}
