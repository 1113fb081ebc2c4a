/* The connection table on its own: lookup and LRU order, the bound, idle expiry, the
 * close grace, replacement on reopen (ws_conn_open), and the accounting that says where
 * every entry went: opened == active + closed + evicted + expired + removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/conn.h"
#include "agent/pool.h"
#include "headers/wirespan_abi.h"

#define MAX_SERIALS 256

/* Every entry gets a serial (kept in c->pid, which the table never touches) so the fini
 * callback can tell entries apart even when a sock id or an address is reused. */
struct fini_log {
	uint32_t next_serial;
	uint32_t calls[MAX_SERIALS];       /* fini calls per serial */
	uint64_t last_sock;                /* sock id of the last entry finalised */
	uint64_t last_now;
	uint32_t n;
};

static void fini_cb(void *ctx, struct ws_conn *c, uint64_t now_ns)
{
	struct fini_log *l = ctx;

	assert_true(c->pid < MAX_SERIALS);
	l->calls[c->pid]++;
	l->last_sock = c->sock_id;
	l->last_now = now_ns;
	l->n++;
}

static struct ws_conn_table *new_table(struct fini_log *l, uint32_t max, uint64_t idle, uint64_t grace)
{
	struct ws_conn_table *t;

	memset(l, 0, sizeof(*l));
	l->next_serial = 1;
	t = ws_conn_table_new(max, idle, grace, fini_cb, l);
	assert_non_null(t);
	return t;
}

/* ws_conn_get, stamping a new entry with its serial. */
static struct ws_conn *get(struct ws_conn_table *t, struct fini_log *l, uint64_t id, uint64_t now, bool *created)
{
	bool cr;
	struct ws_conn *c = ws_conn_get(t, id, now, &cr);

	assert_non_null(c);
	if (cr)
		c->pid = l->next_serial++;
	if (created)
		*created = cr;
	return c;
}

static struct ws_tuple tuple(uint16_t lport, uint16_t rport)
{
	struct ws_tuple tu;

	memset(&tu, 0, sizeof(tu));
	tu.saddr[10] = tu.saddr[11] = 0xff;
	tu.saddr[12] = 127;
	tu.saddr[15] = 1;
	memcpy(tu.daddr, tu.saddr, 16);
	tu.sport = lport;
	tu.dport = rport;
	tu.family = 2;
	return tu;
}

static struct ws_conn *open_(struct ws_conn_table *t, struct fini_log *l, uint64_t id, uint16_t lport, uint16_t rport,
			     uint16_t sys, uint64_t now, bool *created)
{
	struct ws_tuple tu = tuple(lport, rport);
	bool cr;
	struct ws_conn *c = ws_conn_open(t, id, &tu, sys, now, &cr);

	assert_non_null(c);
	if (cr)
		c->pid = l->next_serial++;
	if (created)
		*created = cr;
	return c;
}

static void assert_balanced(const struct ws_conn_table *t)
{
	const struct ws_conn_stats *s = ws_conn_table_stats(t);

	assert_int_equal(s->opened, s->active + s->closed + s->evicted + s->expired + s->removed);
	assert_true(s->replaced <= s->removed);
}

static void test_find_get(void **state)
{
	struct fini_log l;
	struct ws_conn_table *t = new_table(&l, 8, 1000, 10);
	bool created;

	assert_null(ws_conn_find(t, 1));
	struct ws_conn *a = get(t, &l, 1, 1, &created);
	assert_true(created);
	assert_int_equal(a->sock_id, 1);
	assert_int_equal(a->last_ns, 1);
	struct ws_conn *b = get(t, &l, 2, 2, &created);
	assert_true(created);
	assert_ptr_not_equal(a, b);
	/* The same sock id is the same entry; a get refreshes its activity time. */
	assert_ptr_equal(get(t, &l, 1, 5, &created), a);
	assert_false(created);
	assert_int_equal(a->last_ns, 5);
	assert_ptr_equal(ws_conn_find(t, 1), a);
	assert_ptr_equal(ws_conn_find(t, 2), b);
	assert_null(ws_conn_find(t, 3));
	/* Sock ids that share a hash bucket (the table has 8 buckets) stay apart. */
	for (uint64_t id = 16; id < 16 + 5; id++)
		get(t, &l, id << 8, 6, NULL);
	for (uint64_t id = 16; id < 16 + 5; id++)
		assert_int_equal(ws_conn_find(t, id << 8)->sock_id, id << 8);
	assert_int_equal(ws_conn_table_stats(t)->opened, 7);
	assert_int_equal(ws_conn_table_stats(t)->active, 7);
	assert_int_equal(l.n, 0);
	ws_conn_table_free(t, 10);
	assert_int_equal(l.n, 7);
}

/* Full table: the least recently active entry goes, and only it. */
static void test_eviction_when_full(void **state)
{
	struct fini_log l;
	struct ws_conn_table *t = new_table(&l, 4, 1000000, 10);

	for (uint64_t id = 1; id <= 4; id++)
		get(t, &l, id, id, NULL);
	get(t, &l, 1, 10, NULL);          /* 1 becomes the most recent: 2 is now the oldest */
	get(t, &l, 5, 11, NULL);
	assert_int_equal(ws_conn_table_stats(t)->evicted, 1);
	assert_int_equal(l.last_sock, 2);
	assert_null(ws_conn_find(t, 2));
	assert_non_null(ws_conn_find(t, 1));
	for (uint64_t id = 6; id <= 20; id++)
		get(t, &l, id, 20 + id, NULL);
	/* The bound holds whatever comes in. */
	assert_int_equal(ws_conn_table_stats(t)->active, 4);
	assert_int_equal(ws_conn_table_stats(t)->evicted, 16);
	for (uint64_t id = 17; id <= 20; id++)
		assert_non_null(ws_conn_find(t, id));
	assert_null(ws_conn_find(t, 1));
	assert_int_equal(l.n, 16);
	assert_balanced(t);
	ws_conn_table_free(t, 100);
}

static void test_idle_expiry(void **state)
{
	struct fini_log l;
	struct ws_conn_table *t = new_table(&l, 16, 100, 10);

	get(t, &l, 1, 0, NULL);
	get(t, &l, 2, 50, NULL);
	get(t, &l, 3, 60, NULL);
	ws_conn_table_tick(t, 100);       /* exactly idle_ns: not yet */
	assert_int_equal(ws_conn_table_stats(t)->expired, 0);
	get(t, &l, 3, 90, NULL);          /* activity moves it back */
	ws_conn_table_tick(t, 101);
	assert_int_equal(ws_conn_table_stats(t)->expired, 1);
	assert_null(ws_conn_find(t, 1));
	assert_int_equal(l.last_now, 101);
	ws_conn_table_tick(t, 151);
	assert_int_equal(ws_conn_table_stats(t)->expired, 2);
	assert_null(ws_conn_find(t, 2));
	assert_non_null(ws_conn_find(t, 3));
	ws_conn_table_tick(t, 191);
	assert_int_equal(ws_conn_table_stats(t)->expired, 3);
	assert_int_equal(ws_conn_table_stats(t)->active, 0);
	assert_balanced(t);
	ws_conn_table_free(t, 200);
	assert_int_equal(l.n, 3);
}

/* TCP_CLOSE: the entry stays for the grace period (late records), then it is finalised,
 * whatever activity it still sees, and well before it would expire idle. */
static void test_close_grace(void **state)
{
	struct fini_log l;
	struct ws_conn_table *t = new_table(&l, 16, 1000000, 50);
	struct ws_conn *a = get(t, &l, 1, 0, NULL);
	struct ws_conn *b = get(t, &l, 2, 0, NULL);

	get(t, &l, 3, 0, NULL);
	ws_conn_mark_closed(t, a, 10);
	assert_true(a->closing);
	ws_conn_mark_closed(t, b, 20);
	ws_conn_mark_closed(t, a, 30);    /* again: the first deadline stands */
	assert_int_equal(a->close_deadline, 60);
	get(t, &l, 1, 40, NULL);          /* a late record */
	ws_conn_table_tick(t, 59);
	assert_int_equal(ws_conn_table_stats(t)->closed, 0);
	assert_int_equal(l.n, 0);
	ws_conn_table_tick(t, 60);
	assert_int_equal(ws_conn_table_stats(t)->closed, 1);
	assert_null(ws_conn_find(t, 1));
	assert_non_null(ws_conn_find(t, 2));
	assert_int_equal(l.last_sock, 1);
	ws_conn_table_tick(t, 70);
	assert_int_equal(ws_conn_table_stats(t)->closed, 2);
	assert_null(ws_conn_find(t, 2));
	assert_non_null(ws_conn_find(t, 3));   /* never closed, not idle */
	assert_int_equal(ws_conn_table_stats(t)->active, 1);
	assert_balanced(t);
	ws_conn_table_free(t, 100);
}

/* ws_conn_open: when a record under a known sock id is a new connection. */
static void test_open_replaces(void **state)
{
	struct fini_log l;
	struct ws_conn_table *t = new_table(&l, 16, 1000000, 50);
	const struct ws_conn_stats *s = ws_conn_table_stats(t);
	bool created;

	struct ws_conn *a = open_(t, &l, 7, 8080, 40000, WS_SYS_ACCEPT4, 1, &created);
	assert_true(created);
	assert_int_equal(a->tuple.dport, 40000);
	/* A record learned on first use, same tuple: the same connection. */
	assert_ptr_equal(open_(t, &l, 7, 8080, 40000, WS_SYS_READ, 2, &created), a);
	assert_false(created);
	assert_ptr_equal(open_(t, &l, 7, 8080, 40000, 0, 3, &created), a);
	assert_false(created);
	assert_int_equal(l.n, 0);
	/* accept again, same tuple, no close ever seen: a new connection. */
	uint32_t old = a->pid;
	a = open_(t, &l, 7, 8080, 40000, WS_SYS_ACCEPT, 4, &created);
	assert_true(created);
	assert_int_equal(l.calls[old], 1);
	assert_int_equal(s->replaced, 1);
	assert_int_equal(s->removed, 1);
	/* connect too. */
	old = a->pid;
	a = open_(t, &l, 7, 40001, 9000, WS_SYS_CONNECT, 5, &created);
	assert_true(created);
	assert_int_equal(l.calls[old], 1);
	assert_int_equal(a->tuple.sport, 40001);
	assert_int_equal(s->replaced, 2);
	/* A first-use record with another tuple: the open of a new connection was lost. */
	old = a->pid;
	a = open_(t, &l, 7, 8080, 40002, WS_SYS_READ, 6, &created);
	assert_true(created);
	assert_int_equal(l.calls[old], 1);
	assert_int_equal(a->tuple.dport, 40002);
	assert_int_equal(s->replaced, 3);
	/* Closing, a late first-use record of its own: kept, still closing. */
	ws_conn_mark_closed(t, a, 7);
	assert_ptr_equal(open_(t, &l, 7, 8080, 40002, WS_SYS_RECVFROM, 8, &created), a);
	assert_false(created);
	assert_true(a->closing);
	/* Closing, then accept: the end was seen, so it counts as closed, not replaced. */
	old = a->pid;
	a = open_(t, &l, 7, 8080, 40002, WS_SYS_ACCEPT4, 9, &created);
	assert_true(created);
	assert_false(a->closing);
	assert_int_equal(l.calls[old], 1);
	assert_int_equal(s->closed, 1);
	assert_int_equal(s->replaced, 3);
	/* The new entry is not on the closing list: nothing is finalised at the old deadline. */
	ws_conn_table_tick(t, 100);
	assert_ptr_equal(ws_conn_find(t, 7), a);
	assert_int_equal(s->active, 1);
	assert_int_equal(s->opened, 5);
	assert_balanced(t);
	ws_conn_table_free(t, 200);
}

/* Every way out, mixed, with the identity checked after each step; each entry is
 * finalised exactly once, the ones left by ws_conn_table_free included. */
static void test_removal_accounting_and_fini_once(void **state)
{
	struct fini_log l;
	struct ws_conn_table *t = new_table(&l, 4, 100, 20);
	const struct ws_conn_stats *s = ws_conn_table_stats(t);
	uint64_t now = 0;

	for (uint64_t id = 1; id <= 6; id++) {   /* 2 evictions */
		get(t, &l, id, now++, NULL);
		assert_balanced(t);
	}
	ws_conn_remove(t, ws_conn_find(t, 3), now++);
	assert_balanced(t);
	ws_conn_mark_closed(t, ws_conn_find(t, 4), now++);
	open_(t, &l, 5, 1, 2, WS_SYS_ACCEPT, now++, NULL);   /* replaces 5 */
	assert_balanced(t);
	ws_conn_table_tick(t, now + 20);                     /* 4 closes */
	assert_balanced(t);
	get(t, &l, 10, now + 30, NULL);
	get(t, &l, 11, now + 200, NULL);
	ws_conn_table_tick(t, now + 200);                    /* idle ones expire */
	assert_balanced(t);
	open_(t, &l, 11, 3, 4, WS_SYS_READ, now + 201, NULL); /* replaces 11 (its tuple was unset) */
	assert_balanced(t);
	assert_int_equal(s->evicted, 2);
	assert_int_equal(s->removed, 3);
	assert_int_equal(s->replaced, 2);
	assert_int_equal(s->closed, 1);
	assert_true(s->expired >= 1);
	uint32_t made = l.next_serial - 1;
	assert_int_equal(s->opened, made);
	uint32_t active = (uint32_t)s->active;
	assert_int_equal(l.n, made - active);
	ws_conn_table_free(t, now + 300);
	assert_int_equal(l.n, made);
	for (uint32_t i = 1; i <= made; i++)
		assert_int_equal(l.calls[i], 1);
}

/* Pending requests live in an array grown on demand and freed once none is pending:
 * an idle entry holds none (issue 13: memory at rest). */
static void test_pending_on_demand(void **state)
{
	struct fini_log l;
	struct ws_conn_table *t = new_table(&l, 4, 100, 20);
	struct ws_conn *c = get(t, &l, 1, 0, NULL);
	struct ws_conn_pending *p;

	assert_null(c->pending);
	assert_int_equal(c->n_pending, 0);
	for (uint32_t i = 0; i < 5; i++) {
		p = ws_conn_pending_add(t, c);
		assert_non_null(p);
		assert_int_equal(p->req_index, 0);   /* zeroed */
		p->req_index = i + 1;
	}
	assert_int_equal(c->n_pending, 5);
	assert_true(c->pending_cap >= 5);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(c->pending[i].req_index, i + 1);
	ws_conn_pending_trim(t, c);                       /* still pending: kept */
	assert_non_null(c->pending);
	c->n_pending = 0;
	ws_conn_pending_trim(t, c);                       /* none pending: freed */
	assert_null(c->pending);
	assert_int_equal(c->pending_cap, 0);
	/* One request at a time (keep-alive): the single-entry array is a pool block,
	 * given back and taken again, never malloc'd per request. */
	for (uint32_t i = 0; i < 3; i++) {
		assert_non_null(ws_conn_pending_add(t, c));
		c->n_pending = 0;
		ws_conn_pending_trim(t, c);
		assert_null(c->pending);
	}
	const struct ws_pool_stats *ps = ws_conn_pending_pool_stats(t);
	assert_int_equal(ps->gets, 4);            /* with the first of the five above */
	assert_int_equal(ps->free_blocks, 1);     /* the same block each time */
	assert_int_equal(ps->in_use_max, 1);
	/* An entry removed with requests pending frees its array (ASan checks). */
	assert_non_null(ws_conn_pending_add(t, c));
	ws_conn_remove(t, c, 1);
	assert_int_equal(ps->in_use, 0);
	assert_balanced(t);
	ws_conn_table_free(t, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_get),
		cmocka_unit_test(test_eviction_when_full),
		cmocka_unit_test(test_idle_expiry),
		cmocka_unit_test(test_close_grace),
		cmocka_unit_test(test_open_replaces),
		cmocka_unit_test(test_removal_accounting_and_fini_once),
		cmocka_unit_test(test_pending_on_demand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
