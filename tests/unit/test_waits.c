/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Waits: kernel stamps -> span start and wait attributes (agent/waits.c), the bar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/waits.h"
#include "exporter/waitbar.h"

#define US 1000ull
#define MS 1000000ull

static struct ws_waits_snap snap(uint32_t tid, uint64_t enter, uint64_t arrive, uint64_t oncpu, uint64_t runq)
{
	return (struct ws_waits_snap){ .enter_ns = enter, .arrive_ns = arrive, .oncpu_ns = oncpu,
				       .runq_ns = runq, .tid = tid };
}

static uint64_t parts(const struct ws_waits_out *o)
{
	return o->accept_ns + o->receive_ns + o->runq_ns + o->oncpu_ns + o->blocked_ns;
}

/* First request of a connection that waited in the accept queue, sent right after the
 * handshake: the span starts at the handshake, the accept wait counts from there, and
 * the parts add up to its duration. */
static void server_accept_queue(void **state)
{
	(void)state;
	struct ws_waits_in in = {
		.server = true, .start_ns = 130 * MS + 20 * US, .end_ns = 150 * MS,
		.estab_ns = 100 * MS, .accepted_ns = 120 * MS,
		.first = snap(7, 125 * MS, 101 * MS, 1000 * MS, 50 * MS),
		.last = snap(7, 150 * MS, 0, 1000 * MS + 4 * MS, 50 * MS + 1 * MS),
	};
	struct ws_waits_out o;
	uint32_t have = ws_waits_compute(&in, &o);

	assert_true(have & WS_W_ACCEPT);
	assert_true(have & WS_W_RECEIVE);
	assert_true(have & WS_W_SCHED);
	assert_false(have & WS_W_NET);
	assert_int_equal(o.start_ns, 100 * MS);
	assert_int_equal(o.accept_ns, 20 * MS);
	assert_int_equal(o.receive_ns, 5 * MS);      /* accepted at 120, read at 125 */
	assert_int_equal(o.oncpu_ns, 4 * MS);
	assert_int_equal(o.runq_ns, 1 * MS);
	assert_int_equal(o.blocked_ns, 25 * MS - 5 * MS);
	assert_int_equal(o.pickup_ns, 130 * MS + 20 * US);
	assert_int_equal(parts(&o), in.end_ns - o.start_ns);
}

/* A connection that sat in the accept queue with no request (a pool opening connections
 * ahead) was not opened for the request that came 5 s later: the request waited from
 * its arrival, and the span starts there. */
static void server_accept_idle_connection(void **state)
{
	(void)state;
	struct ws_waits_in in = {
		.server = true, .start_ns = 5130 * MS, .end_ns = 5150 * MS,
		.estab_ns = 100 * MS, .accepted_ns = 5120 * MS,
		.first = snap(7, 5125 * MS, 5101 * MS, 1000 * MS, 50 * MS),
		.last = snap(7, 5150 * MS, 0, 1004 * MS, 51 * MS),
	};
	struct ws_waits_out o;

	ws_waits_compute(&in, &o);
	assert_true(o.have & WS_W_ACCEPT);
	assert_int_equal(o.start_ns, 5101 * MS);
	assert_int_equal(o.accept_ns, 19 * MS);
	assert_int_equal(parts(&o), in.end_ns - o.start_ns);
}

/* A connection whose local client's span does not start at its connect (a pool gave it
 * to a later request): the span may not start before its parent, so not at the
 * handshake; the accept wait counts from the arrival. */
static void server_accept_no_handshake(void **state)
{
	(void)state;
	struct ws_waits_in in = {
		.server = true, .start_ns = 130 * MS + 20 * US, .end_ns = 150 * MS,
		.estab_ns = 100 * MS, .accepted_ns = 120 * MS, .no_handshake = true,
		.first = snap(7, 125 * MS, 101 * MS, 1000 * MS, 50 * MS),
		.last = snap(7, 150 * MS, 0, 1000 * MS + 4 * MS, 50 * MS + 1 * MS),
	};
	struct ws_waits_out o;

	ws_waits_compute(&in, &o);
	assert_int_equal(o.start_ns, 101 * MS);
	assert_int_equal(o.accept_ns, 19 * MS);
	assert_int_equal(parts(&o), in.end_ns - o.start_ns);
}

/* A request that arrived after the accept: no accept wait, the span starts at arrival. */
static void server_arrival_after_accept(void **state)
{
	(void)state;
	struct ws_waits_in in = {
		.server = true, .start_ns = 210 * MS, .end_ns = 220 * MS,
		.estab_ns = 100 * MS, .accepted_ns = 101 * MS,
		.first = snap(7, 209 * MS, 150 * MS, 10 * MS, 0),
		.last = snap(7, 220 * MS, 0, 12 * MS, 0),
	};
	struct ws_waits_out o;

	ws_waits_compute(&in, &o);
	assert_false(o.have & WS_W_ACCEPT);
	assert_int_equal(o.start_ns, 150 * MS);
	assert_int_equal(o.receive_ns, 59 * MS);
	assert_int_equal(o.blocked_ns, 11 * MS - 2 * MS);
	assert_int_equal(parts(&o), in.end_ns - o.start_ns);
}

/* A reader already blocked in read when the bytes came: no receive wait; its wake-up is
 * run queue, inside the scheduler window that starts at the arrival. */
static void server_reader_waiting(void **state)
{
	(void)state;
	struct ws_waits_in in = {
		.server = true, .start_ns = 100 * MS + 300 * US, .end_ns = 101 * MS,
		.first = snap(9, 50 * MS, 100 * MS, 5 * MS, 2 * MS),
		.last = snap(9, 101 * MS, 0, 5 * MS + 500 * US, 2 * MS + 250 * US),
	};
	struct ws_waits_out o;

	ws_waits_compute(&in, &o);
	assert_int_equal(o.start_ns, 100 * MS);
	assert_int_equal(o.receive_ns, 0);
	assert_int_equal(o.runq_ns, 250 * US);
	assert_int_equal(o.oncpu_ns, 500 * US);
	assert_int_equal(o.blocked_ns, 250 * US);
	assert_int_equal(parts(&o), 1 * MS);
}

/* Nothing is guessed: no arrival -> the span keeps its start and gets no queue or
 * scheduler attributes (retransmits are still counted). */
static void server_no_arrival(void **state)
{
	(void)state;
	uint64_t rt[2] = { 5 * MS, 12 * MS };
	struct ws_waits_in in = {
		.server = true, .start_ns = 10 * MS, .end_ns = 20 * MS,
		.first = snap(9, 9 * MS, 0, 5 * MS, 0), .last = snap(9, 20 * MS, 0, 6 * MS, 0),
		.retrans = rt, .n_retrans = 2, .retrans_known = true,
	};
	struct ws_waits_out o;

	assert_int_equal(ws_waits_compute(&in, &o), WS_W_RETRANS);
	assert_int_equal(o.start_ns, 10 * MS);
	assert_int_equal(o.retransmits, 1);
	assert_int_equal(o.pickup_ns, 0);
}

/* The response written by another thread (a hand-off): no scheduler split; and an
 * on-CPU + run-queue total larger than the window beyond the tolerance is dropped. */
static void server_sched_left_out(void **state)
{
	(void)state;
	struct ws_waits_in in = {
		.server = true, .start_ns = 10 * MS, .end_ns = 20 * MS,
		.first = snap(9, 9 * MS, 8 * MS, 5 * MS, 0), .last = snap(10, 20 * MS, 0, 6 * MS, 0),
	};
	struct ws_waits_out o;

	ws_waits_compute(&in, &o);
	assert_true(o.have & WS_W_RECEIVE);
	assert_false(o.have & WS_W_SCHED);
	in.last.tid = 9;
	in.last.oncpu_ns = 5 * MS + 12 * MS;          /* 12 ms on CPU in an 11 ms window */
	ws_waits_compute(&in, &o);
	assert_false(o.have & WS_W_SCHED);
	in.last.oncpu_ns = 5 * MS + 11 * MS + 40 * US; /* within the tolerance: blocked 0 */
	ws_waits_compute(&in, &o);
	assert_true(o.have & WS_W_SCHED);
	assert_int_equal(o.blocked_ns, 0);
	in.last.oncpu_ns = 0;                          /* not measured at the end */
	ws_waits_compute(&in, &o);
	assert_false(o.have & WS_W_SCHED);
}

/* CLIENT: network wait from the last request byte sent to the first response byte's
 * arrival; retransmits inside the span only. */
static void client_net_wait(void **state)
{
	(void)state;
	uint64_t rt[3] = { 1 * MS, 15 * MS, 40 * MS };
	struct ws_waits_in in = {
		.server = false, .start_ns = 10 * MS, .end_ns = 30 * MS,
		.first = snap(3, 10 * MS, 0, 100 * MS, 7 * MS),
		.last = snap(3, 29 * MS, 28 * MS, 100 * MS + 1 * MS, 7 * MS + 2 * MS),
		.req_sent_ns = 11 * MS, .resp_arrive_ns = 27 * MS,
		.retrans = rt, .n_retrans = 3, .retrans_known = true,
	};
	struct ws_waits_out o;

	ws_waits_compute(&in, &o);
	assert_true(o.have & WS_W_NET);
	assert_int_equal(o.net_ns, 16 * MS);
	assert_int_equal(o.start_ns, 10 * MS);
	assert_int_equal(o.retransmits, 1);
	assert_int_equal(o.oncpu_ns, 1 * MS);
	assert_int_equal(o.runq_ns, 2 * MS);
	assert_int_equal(o.blocked_ns, 16 * MS);
	assert_false(o.have & WS_W_RECEIVE);
}

/* CLIENT: the first request of a connection opened for it starts at the connect()
 * entry (the server's span may start at the handshake); a connection opened ahead and
 * used more than WS_WAITS_OPENED_FOR_NS later does not. */
static void client_from_connect(void **state)
{
	(void)state;
	struct ws_waits_in in = {
		.server = false, .start_ns = 10 * MS, .end_ns = 30 * MS,
		.connect_ns = 8 * MS, .connected_ns = 9 * MS,
	};
	struct ws_waits_out o;

	assert_true(ws_waits_compute(&in, &o) & WS_W_CONNECT);
	assert_int_equal(o.start_ns, 8 * MS);
	in.connected_ns = 10 * MS - WS_WAITS_OPENED_FOR_NS - 1;
	in.connect_ns = in.connected_ns - 1 * MS;
	assert_false(ws_waits_compute(&in, &o) & WS_W_CONNECT);
	assert_int_equal(o.start_ns, 10 * MS);
	/* opened before the local request that caused the call: another request's (a pool's) */
	in.connect_ns = 8 * MS;
	in.connected_ns = 9 * MS;
	in.not_before_ns = 8 * MS + 1;
	assert_false(ws_waits_compute(&in, &o) & WS_W_CONNECT);
	assert_int_equal(o.start_ns, 10 * MS);
	in.not_before_ns = 7 * MS;
	assert_true(ws_waits_compute(&in, &o) & WS_W_CONNECT);
	in.not_before_ns = 0;
	in.connect_ns = 11 * MS;   /* stamps after the write: not this request's connect */
	in.connected_ns = 12 * MS;
	ws_waits_compute(&in, &o);
	assert_int_equal(o.start_ns, 10 * MS);
}

/* The side table, client side: the connect is decided when the connection's first
 * request is written, only for the request that wrote its first bytes, once; the span
 * then starts there at its finish. */
static void table_client_connect(void **state)
{
	(void)state;
	struct ws_waits *w = ws_waits_new(64);
	struct ws_sock_event so = { .hdr = { .type = WS_EV_SOCK, .ts_ns = 9 * MS }, .sock_id = 0x3000,
				    .kind = WS_SOCK_OPEN, .role = WS_ROLE_CLIENT,
				    .syscall = WS_SYS_CONNECT, .estab_ns = 8 * MS };
	struct ws_data_event wr = { .hdr = { .type = WS_EV_DATA }, .sock_id = 0x3000, .tid = 5,
				    .enter_ns = 10 * MS, .exit_ns = 10 * MS + 5 * US, .dir = WS_DIR_EGRESS };
	struct ws_waits_msg first = { .first_enter_ns = 41 * MS, .first_tid = 5 };
	struct ws_span s;
	uint64_t start, at = 0;

	assert_non_null(w);
	ws_waits_on_sock(w, &so);
	ws_waits_on_data(w, &wr);
	wr.enter_ns = 20 * MS;
	ws_waits_on_data(w, &wr);
	/* the second request asking first (an HTTP/2 stream) does not take it, and uses up
	 * the question */
	assert_false(ws_waits_client_connect(w, 0x3000, 20 * MS, 0, &at));
	assert_false(ws_waits_client_connect(w, 0x3000, 10 * MS, 0, &at));
	/* a new connection at the same sock: its first request starts at its connect, but
	 * not if the request that caused it was opened after that connect */
	so.hdr.ts_ns = 40 * MS;
	so.estab_ns = 39 * MS;
	ws_waits_on_sock(w, &so);
	wr.enter_ns = 41 * MS;
	ws_waits_on_data(w, &wr);
	assert_true(ws_waits_client_connect(w, 0x3000, 41 * MS, 38 * MS, &at));
	assert_int_equal(at, 39 * MS);
	memset(&s, 0, sizeof(s));
	start = 41 * MS;
	ws_waits_span(w, 0x3000, false, &first, NULL, &start, 50 * MS, at, false, &s, 0);
	assert_int_equal(start, 39 * MS);
	ws_waits_on_sock(w, &so);
	ws_waits_on_data(w, &wr);
	assert_false(ws_waits_client_connect(w, 0x3000, 41 * MS, 39 * MS + 1, &at));
	ws_waits_free(w);
}

/* The side table: records in, a finished span out with its attributes and event. */
static void table_flow(void **state)
{
	(void)state;
	struct ws_waits *w = ws_waits_new(64);
	struct ws_sock_event so = { .hdr = { .type = WS_EV_SOCK, .ts_ns = 120 * MS }, .sock_id = 0x1000,
				    .kind = WS_SOCK_OPEN, .role = WS_ROLE_SERVER, .estab_ns = 100 * MS };
	struct ws_data_event rd = { .hdr = { .type = WS_EV_DATA }, .sock_id = 0x1000, .tid = 5,
				    .enter_ns = 125 * MS, .exit_ns = 130 * MS, .dir = WS_DIR_INGRESS,
				    .arrive_ns = 110 * MS, .oncpu_ns = 40 * MS, .runq_ns = 1 * MS,
				    .seq = 5000 };
	struct ws_data_event wr = rd;
	struct ws_tcp_event rt = { .hdr = { .type = WS_EV_TCP, .ts_ns = 135 * MS }, .sock_id = 0x1000,
				   .kind = WS_TCP_RETRANS };
	struct ws_waits_msg req = { .first_enter_ns = 125 * MS, .first_tid = 5, .seq = 5000, .has_seq = true };
	struct ws_waits_msg resp = { .last_enter_ns = 140 * MS, .last_tid = 5 };
	struct ws_waits_msg later = req;
	struct ws_span s;
	uint64_t start = 130 * MS;
	const struct ws_attr *a;

	assert_non_null(w);
	wr.dir = WS_DIR_EGRESS;
	wr.enter_ns = 140 * MS;
	wr.exit_ns = 141 * MS;
	wr.arrive_ns = 0;
	wr.oncpu_ns = 43 * MS;
	wr.runq_ns = 3 * MS;
	ws_waits_on_sock(w, &so);
	ws_waits_on_data(w, &rd);
	ws_waits_on_tcp(w, &rt);
	ws_waits_on_data(w, &wr);
	memset(&s, 0, sizeof(s));
	ws_waits_span(w, 0x1000, true, &req, &resp, &start, 140 * MS, 0, false, &s, 1000);
	assert_int_equal(start, 100 * MS);   /* the handshake: the request followed it */
	a = ws_span_find_attr(&s, WS_ATTR_QUEUE_ACCEPT);
	assert_non_null(a);
	assert_int_equal(a->v.i, 20 * MS);
	assert_int_equal(ws_span_find_attr(&s, WS_ATTR_QUEUE_RECEIVE)->v.i, 5 * MS);
	assert_int_equal(ws_span_find_attr(&s, WS_ATTR_SCHED_ONCPU)->v.i, 3 * MS);
	assert_int_equal(ws_span_find_attr(&s, WS_ATTR_SCHED_RUNQ)->v.i, 2 * MS);
	assert_int_equal(ws_span_find_attr(&s, WS_ATTR_SCHED_BLOCKED)->v.i, 10 * MS);
	assert_int_equal(ws_span_find_attr(&s, WS_ATTR_TCP_RETRANS)->v.i, 1);
	assert_null(ws_span_find_attr(&s, WS_ATTR_NET_WAIT));
	assert_int_equal(s.n_events, 1);
	assert_string_equal(s.events[0].name, WS_EVENT_PICKUP);
	assert_int_equal(s.events[0].time_ns, 130 * MS + 1000);
	/* the accept stamps serve the connection's first request only */
	memset(&s, 0, sizeof(s));
	start = 130 * MS;
	ws_waits_span(w, 0x1000, true, &req, &resp, &start, 140 * MS, 0, false, &s, 0);
	assert_null(ws_span_find_attr(&s, WS_ATTR_QUEUE_ACCEPT));
	assert_int_equal(start, 110 * MS);
	/* a request that starts later in the read (after HTTP/2's preface, a pipelined
	 * one) did not arrive with the read's first byte: start and receive wait unknown */
	memset(&s, 0, sizeof(s));
	start = 130 * MS;
	later.seq = 5100;
	ws_waits_span(w, 0x1000, true, &later, &resp, &start, 140 * MS, 0, false, &s, 0);
	assert_int_equal(start, 130 * MS);
	assert_null(ws_span_find_attr(&s, WS_ATTR_QUEUE_RECEIVE));
	/* an unknown connection gets nothing */
	memset(&s, 0, sizeof(s));
	ws_waits_span(w, 0x2000, true, &req, &resp, &start, 140 * MS, 0, false, &s, 0);
	assert_int_equal(s.n_attrs, 0);
	assert_int_equal(ws_waits_stats(w)->spans_moved, 2);
	ws_waits_free(w);
}

static void bar(void **state)
{
	(void)state;
	struct ws_span s;
	char out[WS_WAITBAR_CELLS + 3];

	memset(&s, 0, sizeof(s));
	s.start_ns = 0;
	s.end_ns = 100 * MS;
	assert_int_equal(ws_waitbar(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	ws_span_set_int(&s, WS_ATTR_QUEUE_ACCEPT, 20 * MS);
	ws_span_set_int(&s, WS_ATTR_QUEUE_RECEIVE, 30 * MS);
	ws_span_set_int(&s, WS_ATTR_SCHED_RUNQ, 10 * MS);
	ws_span_set_int(&s, WS_ATTR_SCHED_ONCPU, 15 * MS);
	ws_span_set_int(&s, WS_ATTR_SCHED_BLOCKED, 25 * MS);
	assert_int_equal(ws_waitbar(&s, out, sizeof(out)), WS_WAITBAR_CELLS + 2);
	assert_string_equal(out, "[qqqqqqqqqqrrcccbbbbb]");
	memset(&s, 0, sizeof(s));
	s.end_ns = 100 * MS;
	ws_span_set_int(&s, WS_ATTR_NET_WAIT, 50 * MS);
	ws_waitbar(&s, out, sizeof(out));
	assert_string_equal(out, "[nnnnnnnnnn..........]");
	/* parts that overflow the span never overflow the bar */
	ws_span_set_int(&s, WS_ATTR_SCHED_BLOCKED, 500 * MS);
	ws_waitbar(&s, out, sizeof(out));
	assert_string_equal(out, "[nnnnnnnnnnbbbbbbbbbb]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(server_accept_queue),
		cmocka_unit_test(server_accept_idle_connection),
		cmocka_unit_test(server_accept_no_handshake),
		cmocka_unit_test(server_arrival_after_accept),
		cmocka_unit_test(server_reader_waiting),
		cmocka_unit_test(server_no_arrival),
		cmocka_unit_test(server_sched_left_out),
		cmocka_unit_test(client_net_wait),
		cmocka_unit_test(client_from_connect),
		cmocka_unit_test(table_client_connect),
		cmocka_unit_test(table_flow),
		cmocka_unit_test(bar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
