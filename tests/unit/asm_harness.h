/* Test harness for span assembly: synthetic ring-buffer records in, captured spans out.
 * Header-only (static functions), included by the unit tests that drive ws_asm. */
#ifndef WS_TEST_ASM_HARNESS_H
#define WS_TEST_ASM_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/assemble.h"
#include "headers/wirespan_abi.h"

#define MS 1000000ULL
#define MAX_CAPTURED 64

struct captured {
	struct ws_span spans[MAX_CAPTURED];
	int n;
};

static inline void capture(void *ctx, const struct ws_span *const *spans, size_t n)
{
	struct captured *c = ctx;

	for (size_t i = 0; i < n && c->n < MAX_CAPTURED; i++)
		c->spans[c->n++] = *spans[i];
}

/* One resource per pid, named svc-PID, for the life of the test binary. */
static inline struct ws_resource *res_for(void *ctx, uint32_t pid, const char *comm)
{
	static struct ws_resource *cache[16];
	static uint32_t pids[16];

	(void)ctx;
	(void)comm;
	for (int i = 0; i < 16; i++) {
		if (cache[i] && pids[i] == pid)
			return cache[i];
		if (!cache[i]) {
			char name[32];
			cache[i] = ws_resource_new(pid);
			pids[i] = pid;
			snprintf(name, sizeof(name), "svc-%u", pid);
			ws_resource_set_str(cache[i], "service.name", name);
			return cache[i];
		}
	}
	return NULL;
}

static inline void harness_config(struct ws_asm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ctx.max_nodes = 64;
	cfg->ctx.link_wait_ns = 300 * MS;
	cfg->ctx.index_slots = 256;
	cfg->ctx.max_open_ns = 60000 * MS;
	cfg->ctx.rng_seed = 7;
	cfg->max_conns = 64;
	cfg->conn_idle_ns = 60000 * MS;
	cfg->close_grace_ns = 100 * MS;
	cfg->max_threads = 64;
}

static inline void addr4(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	out[12] = a;
	out[13] = b;
	out[14] = c;
	out[15] = d;
}

struct sock {
	uint64_t id;
	uint32_t pid;
	uint8_t role;
	struct ws_tuple t;
};

/* remote_host: the peer is another host (no wait for a local peer's record). */
static inline struct sock mksock(uint64_t id, uint32_t pid, uint8_t role, uint16_t lport, uint16_t rport, int remote_host)
{
	struct sock s;

	memset(&s, 0, sizeof(s));
	s.id = id;
	s.pid = pid;
	s.role = role;
	addr4(s.t.saddr, 127, 0, 0, 1);
	if (remote_host)
		addr4(s.t.daddr, 10, 9, 8, 7);
	else
		addr4(s.t.daddr, 127, 0, 0, 1);
	s.t.sport = lport;
	s.t.dport = rport;
	s.t.family = 2;
	return s;
}

/* hdr.flags of the data records fed next (WS_F_RT_PY: rt_ctx is a CPython context). */
static uint16_t feed_hdr_flags;

static inline void feed_full(struct ws_asm *a, const struct sock *s, uint32_t tid, uint64_t rt_ctx, uint8_t dir,
			     uint32_t seq, uint64_t t_enter, uint64_t t_exit, const char *payload,
			     const struct ws_loop_batch *batch)
{
	size_t n = strlen(payload);
	uint8_t buf[sizeof(struct ws_data_event) + 2048];
	struct ws_data_event *e = (void *)buf;

	assert_true(n <= 2048);
	memset(e, 0, sizeof(*e));
	e->hdr.type = WS_EV_DATA;
	e->hdr.size = (uint32_t)(sizeof(*e) + n);
	e->hdr.ts_ns = t_exit;
	e->sock_id = s->id;
	e->pid = s->pid;
	e->tid = tid;
	e->enter_ns = t_enter;
	e->exit_ns = t_exit;
	e->seq = seq;
	e->bytes = (uint32_t)n;
	e->captured = (uint32_t)n;
	e->fd = 5;
	e->dir = dir;
	e->role = s->role;
	e->syscall = WS_SYS_WRITE;
	e->tuple = s->t;
	e->rt_ctx = rt_ctx;
	e->hdr.flags = feed_hdr_flags;
	if (batch)
		e->batch = *batch;
	memcpy(buf + sizeof(*e), payload, n);
	assert_int_equal(ws_asm_record(a, buf, e->hdr.size), 0);
}

static inline void feed_ctx(struct ws_asm *a, const struct sock *s, uint32_t tid, uint64_t rt_ctx, uint8_t dir,
			    uint32_t seq, uint64_t t_enter, uint64_t t_exit, const char *payload)
{
	feed_full(a, s, tid, rt_ctx, dir, seq, t_enter, t_exit, payload, NULL);
}

/* A data record carrying the thread's readiness batches since its previous record. */
static inline void feed_batch(struct ws_asm *a, const struct sock *s, uint32_t tid, uint8_t dir, uint32_t seq,
			      uint64_t t_enter, uint64_t t_exit, const char *payload, const struct ws_loop_batch *b)
{
	feed_full(a, s, tid, 0, dir, seq, t_enter, t_exit, payload, b);
}

static inline void feed(struct ws_asm *a, const struct sock *s, uint32_t tid, uint8_t dir, uint32_t seq,
		 uint64_t t_enter, uint64_t t_exit, const char *payload)
{
	feed_ctx(a, s, tid, 0, dir, seq, t_enter, t_exit, payload);
}

/* A WS_EV_SOCK record: OPEN (role, syscall) or STATE (state_new) for s, with tuple t. */
static inline void sock_event(struct ws_asm *a, const struct sock *s, uint8_t kind, uint16_t sys, uint8_t state_new,
		       uint64_t ts)
{
	struct ws_sock_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.type = WS_EV_SOCK;
	e.hdr.size = sizeof(e);
	e.hdr.ts_ns = ts;
	e.sock_id = s->id;
	e.pid = kind == WS_SOCK_STATE ? 0 : s->pid;   /* state changes come from softirq */
	e.tid = e.pid ? s->pid + 1 : 0;
	e.fd = kind == WS_SOCK_STATE ? -1 : 5;
	e.kind = kind;
	e.role = s->role;
	e.state_new = state_new;
	e.syscall = sys;
	e.tuple = s->t;
	if (e.pid)
		snprintf(e.comm, sizeof(e.comm), "svc-%u", s->pid);
	assert_int_equal(ws_asm_record(a, &e, sizeof(e)), 0);
}

static inline const char *attr_str(const struct ws_span *s, const char *key)
{
	const struct ws_attr *a = ws_span_find_attr(s, key);

	return a ? ws_span_attr_str(s, a) : NULL;
}

static inline int64_t attr_int(const struct ws_span *s, const char *key)
{
	const struct ws_attr *a = ws_span_find_attr(s, key);

	return a && a->type == WS_ATTR_INT ? a->v.i : -1;
}

#endif /* WS_TEST_ASM_HARNESS_H */
