/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Terminal sink: trees from out-of-order spans with driven time, bounds, hostile text, colour. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/span.h"
#include "exporter/sink.h"

#define MS 1000000ull
#define T0 (1000 * MS)           /* monotonic time of the first tick */
#define E0 1732870000000000000ull  /* unix epoch ns of the spans */

struct mem_out {
	FILE *f;
	char *buf;
	size_t len;
};

static void mem_open(struct mem_out *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
}

static const char *mem_text(struct mem_out *m)
{
	fflush(m->f);
	return m->buf ? m->buf : "";
}

static void mem_close(struct mem_out *m)
{
	fclose(m->f);
	free(m->buf);
}

static void mkspan(struct ws_span *s, struct ws_resource *r, uint8_t trace, uint8_t id, uint8_t parent,
		   uint8_t kind, const char *name, uint64_t start_us, uint64_t dur_us)
{
	memset(s, 0, sizeof(*s));
	memset(s->trace_id, trace, sizeof(s->trace_id));
	memset(s->span_id, id, sizeof(s->span_id));
	if (parent)
		memset(s->parent_span_id, parent, sizeof(s->parent_span_id));
	s->kind = kind;
	s->res = r;
	s->start_ns = E0 + start_us * 1000;
	s->end_ns = s->start_ns + dur_us * 1000;
	snprintf(s->name, sizeof(s->name), "%s", name);
}

static void emit1(struct ws_sink *k, const struct ws_span *s)
{
	const struct ws_span *sp[1] = { s };

	k->ops->emit(k, sp, 1);
}

static struct ws_resource *svc(const char *name)
{
	struct ws_resource *r = ws_resource_new(1);

	assert_non_null(r);
	assert_int_equal(ws_resource_set_str(r, "service.name", name), 0);
	return r;
}

static void report_value(struct ws_sink *k, const char *key, unsigned long long want)
{
	struct mem_out m;
	char pat[128];
	const char *p;

	mem_open(&m);
	k->ops->report(k, m.f);
	snprintf(pat, sizeof(pat), "%s ", key);
	p = strstr(mem_text(&m), pat);
	assert_non_null(p);
	assert_int_equal(strtoull(p + strlen(pat), NULL, 10), want);
	mem_close(&m);
}

/* Children before parents, spread over ticks; printed only after 500 ms of quiet. */
static void test_out_of_order_tree(void **state)
{
	struct ws_resource *fe = svc("frontend"), *us = svc("users");
	struct ws_span s;
	struct mem_out m;
	struct ws_sink *k;

	mem_open(&m);
	k = ws_sink_terminal_new(m.f);
	assert_non_null(k);
	k->ops->tick(k, T0);

	/* grandchild and the failing db call arrive first */
	mkspan(&s, us, 0x11, 3, 2, WS_KIND_SERVER, "GET /users/{id}", 1200, 9800);
	ws_span_set_int(&s, "http.response.status_code", 200);
	emit1(k, &s);
	mkspan(&s, fe, 0x11, 4, 1, WS_KIND_CLIENT, "SELECT orders", 11000, 1200);
	s.status_code = WS_STATUS_ERROR;
	ws_span_set_str(&s, "db.query.text", "SELECT * FROM orders WHERE id=?");
	emit1(k, &s);
	k->ops->tick(k, T0 + 100 * MS);
	/* then the client span, then the root */
	mkspan(&s, fe, 0x11, 2, 1, WS_KIND_CLIENT, "GET", 1000, 10100);
	ws_span_set_str(&s, "url.full", "http://users:8080/users/7");
	ws_span_set_int(&s, "http.response.status_code", 200);
	emit1(k, &s);
	mkspan(&s, fe, 0x11, 1, 0, WS_KIND_SERVER, "GET /api/users/{id}", 0, 12400);
	ws_span_set_int(&s, "http.response.status_code", 200);
	emit1(k, &s);

	assert_int_equal(fe->refs, 4);      /* ours + three held spans */
	k->ops->tick(k, T0 + 400 * MS);
	k->ops->tick(k, T0 + 599 * MS);     /* 499 ms quiet: not yet */
	assert_string_equal(mem_text(&m), "");
	k->ops->tick(k, T0 + 600 * MS);
	assert_string_equal(mem_text(&m),
		"  12.4ms ok 200    frontend SERVER GET /api/users/{id}  trace 11111111111111111111111111111111\n"
		"  10.1ms ok 200    \xe2\x94\x9c\xe2\x94\x80 frontend CLIENT GET http://users:8080/users/7\n"
		"  9.80ms ok 200    \xe2\x94\x82  \xe2\x94\x94\xe2\x94\x80 users SERVER GET /users/{id}\n"
		"  1.20ms ERROR     \xe2\x94\x94\xe2\x94\x80 frontend CLIENT SELECT orders SELECT * FROM orders WHERE id=?\n");
	assert_int_equal(fe->refs, 1);
	assert_int_equal(us->refs, 1);
	report_value(k, "terminal_spans_printed", 4);
	report_value(k, "terminal_traces_printed", 1);
	report_value(k, "terminal_spans_dropped", 0);
	report_value(k, "terminal_traces_open", 0);
	k->ops->destroy(k);
	mem_close(&m);
	ws_resource_unref(fe);
	ws_resource_unref(us);
}

/* A new span resets the quiet timer; spans before the first tick get the first tick's time. */
static void test_quiet_timer_and_first_tick(void **state)
{
	struct ws_resource *r = svc("api");
	struct ws_span s;
	struct mem_out m;
	struct ws_sink *k;

	mem_open(&m);
	k = ws_sink_terminal_new(m.f);
	assert_non_null(k);
	mkspan(&s, r, 0x22, 1, 0, WS_KIND_SERVER, "GET /a", 0, 812);
	emit1(k, &s);
	k->ops->tick(k, 50000 * MS);        /* first tick: stamps the trace, prints nothing */
	assert_string_equal(mem_text(&m), "");
	k->ops->tick(k, 50400 * MS);
	mkspan(&s, r, 0x22, 2, 1, WS_KIND_INTERNAL, "work", 100, 5);
	emit1(k, &s);                        /* stamped 50400 ms */
	k->ops->tick(k, 50800 * MS);
	assert_string_equal(mem_text(&m), "");
	k->ops->tick(k, 50900 * MS);
	assert_string_equal(mem_text(&m),
		"   812\xc2\xb5s ok        api SERVER GET /a  trace 22222222222222222222222222222222\n"
		"  5.00\xc2\xb5s ok        \xe2\x94\x94\xe2\x94\x80 api INTERNAL work\n");
	k->ops->destroy(k);
	mem_close(&m);
	ws_resource_unref(r);
}

/* Remote and missing parents at the top level with a marker; a cycle still printed; flush prints at once. */
static void test_orphans_cycle_flush(void **state)
{
	struct ws_resource *r = svc("api");
	struct ws_span s;
	struct mem_out m;
	struct ws_sink *k;

	mem_open(&m);
	k = ws_sink_terminal_new(m.f);
	assert_non_null(k);
	k->ops->tick(k, T0);
	mkspan(&s, r, 0x33, 5, 0x77, WS_KIND_SERVER, "POST /orders", 10, 2500000);
	s.parent_remote = 1;
	ws_span_set_str(&s, "url.path", "/orders");
	emit1(k, &s);
	mkspan(&s, r, 0x33, 6, 0x78, WS_KIND_CLIENT, "GET", 20, 3);
	ws_span_set_str(&s, "server.address", "10.0.0.1");
	ws_span_set_int(&s, "server.port", 6379);
	emit1(k, &s);
	mkspan(&s, r, 0x44, 8, 9, WS_KIND_SERVER, "GET", 0, 1500);
	ws_span_set_str(&s, "url.path", "/x");
	emit1(k, &s);
	mkspan(&s, r, 0x44, 9, 8, WS_KIND_CLIENT, "b", 1, 1);
	emit1(k, &s);
	assert_int_equal(k->ops->flush(k, 0), 0);
	assert_string_equal(mem_text(&m),
		"   2.50s ok        \xe2\x86\xb3 api SERVER POST /orders  (remote parent 7777777777777777)"
		"  trace 33333333333333333333333333333333\n"
		"  3.00\xc2\xb5s ok        \xe2\x86\xb3 api CLIENT GET 10.0.0.1:6379  (parent not seen 7878787878787878)\n"
		"  1.50ms ok        \xe2\x86\xb3 api SERVER GET /x  (parent cycle 0909090909090909)"
		"  trace 44444444444444444444444444444444\n"
		"  1.00\xc2\xb5s ok        \xe2\x94\x94\xe2\x94\x80 api CLIENT b\n");
	assert_int_equal(r->refs, 1);
	k->ops->destroy(k);
	mem_close(&m);
	ws_resource_unref(r);
}

/* Bytes from traffic never reach the terminal as control sequences. */
static void test_hostile_text(void **state)
{
	struct ws_resource *r = svc("ev\x1b[2Jil");
	struct ws_span s;
	struct mem_out m;
	struct ws_sink *k;

	mem_open(&m);
	k = ws_sink_terminal_new(m.f);
	assert_non_null(k);
	mkspan(&s, r, 0x55, 1, 0, WS_KIND_SERVER, "GET \x1b]0;pwn\x07\xc2\x9b" "1m\xff\xc3\xa9", 0, 1000);
	emit1(k, &s);
	k->ops->flush(k, 0);
	assert_string_equal(mem_text(&m),
		"  1.00ms ok        ev?[2Jil SERVER GET ?]0;pwn??1m?\xc3\xa9  trace 55555555555555555555555555555555\n");
	k->ops->destroy(k);
	mem_close(&m);
	ws_resource_unref(r);
}

/* 512 spans per trace, 4096 traces: the rest is dropped and counted. */
static void test_bounds(void **state)
{
	struct ws_resource *r = svc("api");
	struct ws_span s;
	struct mem_out m;
	struct ws_sink *k;

	mem_open(&m);
	k = ws_sink_terminal_new(m.f);
	assert_non_null(k);
	k->ops->tick(k, T0);
	for (int i = 0; i < 600; i++) {
		mkspan(&s, r, 0x66, 1, 0, WS_KIND_SERVER, "x", (uint64_t)i, 1);
		s.span_id[0] = (uint8_t)i;
		s.span_id[1] = (uint8_t)(i >> 8);
		emit1(k, &s);
	}
	report_value(k, "terminal_spans_dropped", 88);
	assert_int_equal(r->refs, 1 + 512);
	for (int i = 0; i < 4096; i++) {
		mkspan(&s, r, 0, 1, 0, WS_KIND_SERVER, "y", 0, 1);
		s.trace_id[0] = (uint8_t)i;
		s.trace_id[1] = (uint8_t)(i >> 8);
		s.trace_id[2] = 1;
		emit1(k, &s);
	}
	report_value(k, "terminal_traces_open", 4096);
	report_value(k, "terminal_spans_dropped", 88 + 1);
	assert_int_equal(k->ops->flush(k, 0), 0);
	report_value(k, "terminal_spans_printed", 512 + 4095);
	report_value(k, "terminal_traces_open", 0);
	assert_non_null(strstr(mem_text(&m), "trace 66666666666666666666666666666666 (+88 spans dropped)\n"));
	assert_int_equal(r->refs, 1);
	k->ops->destroy(k);
	mem_close(&m);
	ws_resource_unref(r);
}

/* 65536 spans held in total, even with every trace under its own limit. */
static void test_total_cap(void **state)
{
	struct ws_resource *r = svc("api");
	struct ws_span s;
	struct mem_out m;
	struct ws_sink *k;

	mem_open(&m);
	k = ws_sink_terminal_new(m.f);
	assert_non_null(k);
	mkspan(&s, r, 0, 1, 0, WS_KIND_SERVER, "z", 0, 1);
	for (int t = 0; t < 200; t++) {
		s.trace_id[0] = (uint8_t)t;
		for (int i = 0; i < 400; i++) {   /* 80000 spans offered */
			s.span_id[0] = (uint8_t)i;
			s.span_id[1] = (uint8_t)(i >> 8);
			emit1(k, &s);
		}
	}
	report_value(k, "terminal_spans_dropped", 80000 - 65536);
	assert_int_equal(r->refs, 1 + 65536);
	assert_int_equal(k->ops->flush(k, 0), 0);
	report_value(k, "terminal_spans_printed", 65536);
	assert_int_equal(r->refs, 1);
	k->ops->destroy(k);
	mem_close(&m);
	ws_resource_unref(r);
}

/* Destroy without flush releases every held resource reference. */
static void test_destroy_releases(void **state)
{
	struct ws_resource *r = svc("api");
	struct ws_span s;
	struct mem_out m;
	struct ws_sink *k;

	mem_open(&m);
	k = ws_sink_terminal_new(m.f);
	assert_non_null(k);
	for (int i = 0; i < 10; i++) {
		mkspan(&s, r, (uint8_t)(i + 1), 1, 0, WS_KIND_SERVER, "x", 0, 1);
		emit1(k, &s);
	}
	assert_int_equal(r->refs, 11);
	k->ops->destroy(k);
	assert_int_equal(r->refs, 1);
	mem_close(&m);
	ws_resource_unref(r);
}

static size_t read_pty(int master, char *buf, size_t cap)
{
	size_t len = 0;
	struct pollfd p = { .fd = master, .events = POLLIN };

	while (len < cap - 1 && poll(&p, 1, 200) > 0) {
		ssize_t n = read(master, buf + len, cap - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

/* Colour only on a tty, and never with NO_COLOR set. */
static void test_colour_on_tty_only(void **state)
{
	struct ws_resource *r = svc("api");
	struct ws_span s;
	char buf[4096];
	int master = posix_openpt(O_RDWR | O_NOCTTY);

	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	for (int pass = 0; pass < 2; pass++) {
		FILE *f = fopen(ptsname(master), "w");
		struct ws_sink *k;

		assert_non_null(f);
		if (pass == 1)
			setenv("NO_COLOR", "1", 1);
		k = ws_sink_terminal_new(f);
		unsetenv("NO_COLOR");
		assert_non_null(k);
		mkspan(&s, r, 0x77, 1, 0, WS_KIND_SERVER, "GET /c", 0, 10);
		s.status_code = WS_STATUS_ERROR;
		emit1(k, &s);
		k->ops->flush(k, 0);
		read_pty(master, buf, sizeof(buf));
		assert_non_null(strstr(buf, "GET /c"));
		if (pass == 0)
			assert_non_null(strstr(buf, "\033[1;31mERROR\033[0m"));
		else
			assert_null(strchr(buf, '\033'));
		k->ops->destroy(k);
		fclose(f);
	}
	close(master);
	ws_resource_unref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_of_order_tree),
		cmocka_unit_test(test_quiet_timer_and_first_tick),
		cmocka_unit_test(test_orphans_cycle_flush),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_total_cap),
		cmocka_unit_test(test_destroy_releases),
		cmocka_unit_test(test_colour_on_tty_only),
	};

	unsetenv("NO_COLOR");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
