/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Agent CPU without the kernel, the machine or the load generator: synthetic ring-buffer
 * records for N keep-alive HTTP/1 exchanges, shaped like the bench's nginx 100 B
 * workload, fed through the real assembly path (ws_asm_record: connection, HTTP/1
 * parser, parentage, span building) into the null sink. Both ends are local, so every
 * exchange gives a client span (the load generator) and a server span (nginx), linked by
 * rule 3 "same bytes" (the client's write seq is the server's read seq).
 *
 * Per exchange, as the kernel reports it for wrk -> nginx (sendfile on):
 *   client write (request)        captured
 *   server epoll_wait batch       (loop record)
 *   server read (request)         captured
 *   server writev (resp headers)  captured
 *   server sendfile (100 B body)  uncaptured: bytes 100, captured 0
 *   client read (headers + body)  captured
 *
 *   build/bench/agent_replay [exchanges [connections]]
 *
 * prints ns per request and malloc calls per request for the measured phase (the
 * second half: the first warms the pools and tables up). For instruction counts, run it
 * under callgrind, which counts only the measured phase:
 *
 *   valgrind --tool=callgrind --collect-atstart=no build/bench/agent_replay 20000
 *
 * and divide the "Collected" Ir by the requests printed (docs/benchmarks.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

#include "agent/assemble.h"
#include "exporter/sink.h"
#include "headers/wirespan_abi.h"

/* ---- malloc counting: every allocation of the process goes through these --------- */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static uint64_t n_malloc, n_free;

void *malloc(size_t n)
{
	n_malloc++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	n_malloc++;
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	n_malloc++;
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p)
		n_free++;
	__libc_free(p);
}

/* ---- the workload ------------------------------------------------------------------ */

#define US 1000ULL
#define MS 1000000ULL
#define TICK_NS (100 * MS)    /* the agent's timer (agent/main.c) */
#define GAP_NS (50 * US)      /* one exchange every 50 us: 20k req/s */
#define BODY 100

#define CLIENT_PID 100
#define SERVER_PID 200
#define SERVER_PORT 8080

static const char request[] =
	"GET /index.html HTTP/1.1\r\n"
	"Host: 127.0.0.1:8080\r\n"
	"User-Agent: wrk/4.2.0\r\n"
	"Accept: */*\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

static const char response_headers[] =
	"HTTP/1.1 200 OK\r\n"
	"Server: nginx/1.22.1\r\n"
	"Date: Tue, 01 Dec 2026 11:00:00 GMT\r\n"
	"Content-Type: text/html\r\n"
	"Content-Length: 100\r\n"
	"Last-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n"
	"Connection: keep-alive\r\n"
	"ETag: \"692d7a80-64\"\r\n"
	"Accept-Ranges: bytes\r\n"
	"\r\n";

struct side {
	uint64_t sock_id;
	uint32_t pid, tid;
	uint8_t role;
	struct ws_tuple t;
	uint32_t wseq, rseq;    /* next byte written / read */
};

struct conn {
	struct side cli, srv;
};

static struct ws_asm *A;
static uint8_t rec[sizeof(struct ws_data_event) + 1024];
static uint64_t records;

static void addr_lo(uint8_t out[16])
{
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	out[12] = 127;
	out[15] = 1;
}

static void put(const void *r, size_t size)
{
	records++;
	if (ws_asm_record(A, r, size) != 0) {
		fprintf(stderr, "agent_replay: record rejected\n");
		exit(1);
	}
}

/* batches: the readiness batches (nginx: one blocking epoll_wait) the thread began
 * before this syscall, riding on its record as the kernel sends them (ABI 7). */
static void data(struct side *s, uint8_t dir, uint16_t sys, uint64_t t, const char *payload, uint32_t bytes,
		 uint32_t captured, uint16_t batches)
{
	struct ws_data_event *e = (void *)rec;

	memset(e, 0, sizeof(*e));
	e->hdr.type = WS_EV_DATA;
	e->hdr.size = (uint32_t)(sizeof(*e) + captured);
	e->hdr.flags = captured < bytes ? WS_F_TRUNCATED : 0;
	e->hdr.ts_ns = t;
	e->sock_id = s->sock_id;
	e->pid = s->pid;
	e->tid = s->tid;
	e->enter_ns = t - 2 * US;
	e->exit_ns = t;
	e->seq = dir == WS_DIR_EGRESS ? s->wseq : s->rseq;
	e->bytes = bytes;
	e->captured = captured;
	e->fd = 5;
	e->dir = dir;
	e->role = s->role;
	e->syscall = sys;
	e->tuple = s->t;
	if (batches) {
		e->batch.count = batches;
		e->batch.flags = WS_BATCH_BLOCKING;
		e->batch.blk_anchor_ns = t - 10 * US;
		e->batch.blk_timeout_ms = -1;
	}
	memcpy(rec + sizeof(*e), payload, captured);
	if (dir == WS_DIR_EGRESS)
		s->wseq += bytes;
	else
		s->rseq += bytes;
	put(rec, e->hdr.size);
}


static void sock_open(const struct side *s, uint16_t sys, uint64_t t)
{
	struct ws_sock_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.type = WS_EV_SOCK;
	e.hdr.size = sizeof(e);
	e.hdr.ts_ns = t;
	e.sock_id = s->sock_id;
	e.pid = s->pid;
	e.tid = s->tid;
	e.fd = 5;
	e.kind = WS_SOCK_OPEN;
	e.role = s->role;
	e.syscall = sys;
	e.tuple = s->t;
	snprintf(e.comm, sizeof(e.comm), s->pid == CLIENT_PID ? "wrk" : "nginx");
	put(&e, sizeof(e));
}

static void conn_init(struct conn *c, unsigned i, uint64_t t)
{
	uint16_t port = (uint16_t)(40000 + i);
	uint32_t iss_c = 0x10000000u + i * 7919u, iss_s = 0x80000000u + i * 104729u;

	memset(c, 0, sizeof(*c));
	c->cli.sock_id = 0xffff888000000000ULL + i * 0x1000;
	c->cli.pid = CLIENT_PID;
	c->cli.tid = CLIENT_PID + 1 + i % 2;       /* wrk: 2 threads */
	c->cli.role = WS_ROLE_CLIENT;
	addr_lo(c->cli.t.saddr);
	addr_lo(c->cli.t.daddr);
	c->cli.t.sport = port;
	c->cli.t.dport = SERVER_PORT;
	c->cli.t.family = 2;
	c->srv.sock_id = 0xffff889000000000ULL + i * 0x1000;
	c->srv.pid = SERVER_PID;
	c->srv.tid = SERVER_PID + 1 + i % 2;       /* nginx: 2 workers (one thread each) */
	c->srv.role = WS_ROLE_SERVER;
	addr_lo(c->srv.t.saddr);
	addr_lo(c->srv.t.daddr);
	c->srv.t.sport = SERVER_PORT;
	c->srv.t.dport = port;
	c->srv.t.family = 2;
	/* the same bytes carry the same sequence numbers on both ends */
	c->cli.wseq = c->srv.rseq = iss_c;
	c->srv.wseq = c->cli.rseq = iss_s;
	sock_open(&c->cli, WS_SYS_CONNECT, t);
	sock_open(&c->srv, WS_SYS_ACCEPT4, t + US);
}

static void exchange(struct conn *c, uint64_t t)
{
	static char resp[sizeof(response_headers) + BODY];
	uint32_t rl = (uint32_t)strlen(request), hl = (uint32_t)strlen(response_headers);

	if (!resp[0]) {
		memcpy(resp, response_headers, hl);
		memset(resp + hl, 'x', BODY);
	}
	data(&c->cli, WS_DIR_EGRESS, WS_SYS_WRITE, t, request, rl, rl, 0);
	data(&c->srv, WS_DIR_INGRESS, WS_SYS_READ, t + 5 * US, request, rl, rl, 1);
	data(&c->srv, WS_DIR_EGRESS, WS_SYS_WRITEV, t + 10 * US, resp, hl, hl, 0);
	data(&c->srv, WS_DIR_EGRESS, WS_SYS_SENDFILE, t + 12 * US, "", BODY, 0, 0);
	data(&c->cli, WS_DIR_INGRESS, WS_SYS_READ, t + 15 * US, resp, hl + BODY, hl + BODY, 0);
}

/* ---- the agent's side ------------------------------------------------------------ */

static struct ws_sink *sink;

static void emit_fn(void *ctx, const struct ws_span *const *spans, size_t n)
{
	sink->ops->emit(sink, spans, n);
}

static struct ws_resource *res_fn(void *ctx, uint32_t pid, const char *comm)
{
	static struct ws_resource *r[2];
	int k = pid == SERVER_PID;

	if (!r[k]) {
		r[k] = ws_resource_new(pid);
		ws_resource_set_str(r[k], "service.name", k ? "nginx" : "wrk");
	}
	return r[k];
}

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200000;
	unsigned nconn = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 50;
	struct ws_asm_config cfg;
	struct conn *conns;
	uint64_t t = 1000 * MS, next_tick, t0, t1, m0, m1, r0, r1;
	const struct ws_asm_stats *st;

	if (n < 2 || nconn < 1) {
		fprintf(stderr, "usage: agent_replay [exchanges >= 2 [connections]]\n");
		return 2;
	}
	/* the agent's own settings (agent/main.c defaults) */
	memset(&cfg, 0, sizeof(cfg));
	cfg.ctx.max_nodes = 16384;
	cfg.ctx.link_wait_ns = 300 * MS;
	cfg.ctx.index_slots = 2 * 16384;
	cfg.ctx.max_open_ns = 600ULL * 1000 * MS;
	cfg.max_conns = 131072;
	cfg.conn_idle_ns = 900ULL * 1000 * MS;
	cfg.close_grace_ns = 50 * MS;
	cfg.max_threads = 65536;
	cfg.max_procs = 16384;
	sink = ws_sink_null_new();
	A = ws_asm_new(&cfg, res_fn, NULL, emit_fn, NULL);
	conns = calloc(nconn, sizeof(*conns));
	if (!sink || !A || !conns) {
		fprintf(stderr, "agent_replay: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < nconn; i++)
		conn_init(&conns[i], i, t + i * US);
	next_tick = t + TICK_NS;

	t0 = m0 = r0 = 0;
	for (unsigned k = 0; k < n; k++) {
		if (k == n / 2) {
			/* measured phase: the second half */
			CALLGRIND_TOGGLE_COLLECT;
			t0 = mono();
			m0 = n_malloc;
			r0 = records;
		}
		t += GAP_NS;
		exchange(&conns[k % nconn], t);
		if (t >= next_tick) {
			ws_asm_tick(A, t);
			next_tick += TICK_NS;
		}
	}
	/* the spans of the last link_wait are still waiting: let them go */
	ws_asm_tick(A, t + 2 * cfg.ctx.link_wait_ns);
	t1 = mono();
	m1 = n_malloc;
	r1 = records;
	CALLGRIND_TOGGLE_COLLECT;

	unsigned measured = n - n / 2;
	st = ws_asm_stats(A);
	printf("requests %u (measured %u, %u connections)\n", n, measured, nconn);
	printf("ns_per_request %.1f\n", (double)(t1 - t0) / measured);
	printf("mallocs_per_request %.3f\n", (double)(m1 - m0) / measured);
	printf("records_per_request %.2f\n", (double)(r1 - r0) / measured);
	printf("asm_requests %llu exchanges %llu parse_errors %llu\n", (unsigned long long)st->requests,
	       (unsigned long long)st->exchanges, (unsigned long long)st->parse_errors);
	sink->ops->report(sink, stdout);
	ws_asm_report(A, stderr);   /* every counter, for checking what the replay drove */
	ws_asm_free(A, t + 3 * cfg.ctx.link_wait_ns);
	sink->ops->destroy(sink);
	free(conns);
	return 0;
}
