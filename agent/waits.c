/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where a span's time went: the accounting (pure) and the per-connection stamps it
 * needs (a bounded side table). docs/waits.md has the definitions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "waits.h"

/* ---- the accounting --------------------------------------------------------------- */

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/*
 * Scheduler split of a window [from, to] of one thread from its totals at two syscall
 * entries: on CPU and run queue are differences of the kernel's totals, blocked is the
 * rest of the window (off CPU and not runnable). The first stamp stands for `from`: it
 * was taken either at `from` itself or before it while the thread was blocked in the
 * read that the arrival woke (its totals did not move in between).
 */
static bool sched_split(const struct ws_waits_snap *a, const struct ws_waits_snap *b, uint64_t from,
			uint64_t to, struct ws_waits_out *o)
{
	uint64_t win, busy, tol;

	if (!a->oncpu_ns || !b->oncpu_ns || !a->tid || a->tid != b->tid || to < from)
		return false;
	if (b->oncpu_ns < a->oncpu_ns || b->runq_ns < a->runq_ns || b->enter_ns < a->enter_ns)
		return false;
	win = to - from;
	o->oncpu_ns = b->oncpu_ns - a->oncpu_ns;
	o->runq_ns = b->runq_ns - a->runq_ns;
	busy = o->oncpu_ns + o->runq_ns;
	tol = win / 1000 * WS_WAITS_TOL_PERMILLE + WS_WAITS_TOL_NS;
	if (busy > win + tol)
		return false;
	o->blocked_ns = sub0(win, busy);
	return true;
}

uint32_t ws_waits_compute(const struct ws_waits_in *in, struct ws_waits_out *o)
{
	memset(o, 0, sizeof(*o));
	o->start_ns = in->start_ns;

	if (in->server) {
		uint64_t arr = in->first.arrive_ns, ready, from;

		/* Without the arrival the span keeps its start (the read's exit), and a
		 * scheduler split from the read's entry would count idle keep-alive waiting:
		 * nothing is attributed. */
		if (arr && arr <= in->start_ns && in->first.enter_ns && in->first.enter_ns <= in->start_ns) {
			o->start_ns = arr;
			ready = arr;
			if (in->estab_ns && in->accepted_ns && in->estab_ns <= in->accepted_ns &&
			    arr <= in->accepted_ns) {
				/* The request waited with its connection in the accept queue. A
				 * connection opened for it (the request followed the handshake
				 * at once) waited from the handshake: the span starts there, as
				 * the client's span starts at its connect() entry. A connection
				 * that sat idle before its request only delayed the request
				 * from its arrival; so did one whose local client's span does
				 * not start at its connect (a pool gave it to a later request):
				 * the span must not start before its parent. */
				uint64_t from_q = arr - in->estab_ns <= WS_WAITS_OPENED_FOR_NS && !in->no_handshake ?
							  in->estab_ns : arr;

				o->start_ns = from_q;
				o->accept_ns = in->accepted_ns - from_q;
				o->have |= WS_W_ACCEPT;
				ready = in->accepted_ns;
			}
			/* Bytes in the queue until the application asked for them; a read that
			 * was already waiting took them at once (its wake-up is run queue). */
			o->receive_ns = sub0(in->first.enter_ns, ready);
			o->have |= WS_W_RECEIVE;
			o->pickup_ns = in->start_ns;
			from = ready + o->receive_ns;
			if (o->start_ns > in->start_ns)
				o->start_ns = in->start_ns;
			if (sched_split(&in->first, &in->last, from, in->end_ns, o))
				o->have |= WS_W_SCHED;
		}
	} else {
		if (in->resp_arrive_ns && in->req_sent_ns) {
			o->net_ns = sub0(in->resp_arrive_ns, in->req_sent_ns);
			o->have |= WS_W_NET;
		}
		/* The first request of a connection opened for it: the connect was part of
		 * the call (the SERVER span may start at the handshake, inside it). */
		if (in->connect_ns && in->connected_ns && in->connect_ns <= in->connected_ns &&
		    in->connect_ns <= in->start_ns && in->connected_ns <= in->start_ns &&
		    in->connect_ns >= in->not_before_ns &&
		    in->start_ns - in->connected_ns <= WS_WAITS_OPENED_FOR_NS) {
			o->start_ns = in->connect_ns;
			o->have |= WS_W_CONNECT;
		}
		/* The calling thread from its first request write to its last response
		 * read's entry (that read's own few µs stay outside). */
		if (sched_split(&in->first, &in->last, in->first.enter_ns, in->last.enter_ns, o))
			o->have |= WS_W_SCHED;
	}
	if (in->retrans_known) {
		for (uint32_t i = 0; i < in->n_retrans; i++)
			if (in->retrans[i] >= o->start_ns && in->retrans[i] <= in->end_ns)
				o->retransmits++;
		o->have |= WS_W_RETRANS;
	}
	return o->have;
}

void ws_waits_to_span(const struct ws_waits_out *o, struct ws_span *s, int64_t mono_to_unix_ns)
{
	if (o->have & WS_W_ACCEPT)
		ws_span_set_int(s, WS_ATTR_QUEUE_ACCEPT, (int64_t)o->accept_ns);
	if (o->have & WS_W_RECEIVE)
		ws_span_set_int(s, WS_ATTR_QUEUE_RECEIVE, (int64_t)o->receive_ns);
	if (o->have & WS_W_SCHED) {
		ws_span_set_int(s, WS_ATTR_SCHED_RUNQ, (int64_t)o->runq_ns);
		ws_span_set_int(s, WS_ATTR_SCHED_ONCPU, (int64_t)o->oncpu_ns);
		ws_span_set_int(s, WS_ATTR_SCHED_BLOCKED, (int64_t)o->blocked_ns);
	}
	if (o->have & WS_W_NET)
		ws_span_set_int(s, WS_ATTR_NET_WAIT, (int64_t)o->net_ns);
	if (o->have & WS_W_RETRANS)
		ws_span_set_int(s, WS_ATTR_TCP_RETRANS, o->retransmits);
	if (o->pickup_ns)
		ws_span_add_event(s, (uint64_t)((int64_t)o->pickup_ns + mono_to_unix_ns), WS_EVENT_PICKUP);
}

/* ---- per-connection stamps ---------------------------------------------------------- */

#define RING 4
#define RETRANS_RING 4
#define PROBE 8

struct wconn {
	uint64_t sock_id;            /* 0: free */
	uint64_t last_used;
	uint64_t estab_ns, accepted_ns;        /* server: handshake, accept exit */
	uint64_t connect_ns, connected_ns;     /* client: connect() entry and exit */
	uint64_t first_out_enter_ns;           /* client: the connection's first write */
	bool accept_pending;         /* the first request has not used the accept stamps yet */
	bool connect_pending;        /* the first request has not used the connect stamps yet */
	uint8_t in_pos, out_pos;
	uint8_t _pad[5];
	uint32_t n_retrans;          /* retransmits seen (the ring keeps the last RETRANS_RING) */
	uint32_t _pad2;
	struct ws_waits_snap in[RING], out[RING];
	struct ws_waits_snap arrival; /* the last ingress chunk that had an arrival */
	uint64_t retrans[RETRANS_RING];
};

struct ws_waits {
	uint32_t mask;
	uint32_t _pad;
	struct ws_waits_stats st;
	struct wconn *slot;
};

struct ws_waits *ws_waits_new(uint32_t slots)
{
	struct ws_waits *w = calloc(1, sizeof(*w));
	uint32_t n = 64;

	if (!w)
		return NULL;
	while (n < slots && n < (1u << 24))
		n <<= 1;
	w->slot = calloc(n, sizeof(*w->slot));
	if (!w->slot) {
		free(w);
		return NULL;
	}
	w->mask = n - 1;
	return w;
}

void ws_waits_free(struct ws_waits *w)
{
	if (!w)
		return;
	free(w->slot);
	free(w);
}

const struct ws_waits_stats *ws_waits_stats(const struct ws_waits *w)
{
	return &w->st;
}

static uint32_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

/* The connection's entry; with create, a free or the least recently used of its probe
 * window is taken (bounded memory: a pushed-out connection's spans lose their waits). */
static struct wconn *find(struct ws_waits *w, uint64_t sock_id, bool create, uint64_t now)
{
	uint32_t h = hash64(sock_id);
	struct wconn *victim = NULL;

	/* Found is the common case (every data record of a known connection): look for it
	 * first, choose a victim only when creating. */
	for (uint32_t i = 0; i < PROBE; i++) {
		struct wconn *c = &w->slot[(h + i) & w->mask];

		if (c->sock_id == sock_id)
			return c;
	}
	if (!create || !sock_id)
		return NULL;
	for (uint32_t i = 0; i < PROBE; i++) {
		struct wconn *c = &w->slot[(h + i) & w->mask];

		if (!victim || !c->sock_id || (victim->sock_id && c->last_used < victim->last_used))
			victim = c;
	}
	if (victim->sock_id)
		w->st.conns_replaced++;
	memset(victim, 0, sizeof(*victim));
	victim->sock_id = sock_id;
	victim->last_used = now;
	return victim;
}

void ws_waits_on_data(struct ws_waits *w, const struct ws_data_event *e)
{
	struct ws_waits_snap sn;
	struct wconn *c;

	/* Datagrams have no queue stamps; TLS plaintext records come from library calls,
	 * not from the syscalls that were stamped. */
	if (!w || (e->hdr.flags & (WS_F_DGRAM | WS_F_TLS | WS_F_EOF)))
		return;
	c = find(w, e->sock_id, true, e->exit_ns);
	c->last_used = e->exit_ns;
	sn = (struct ws_waits_snap){
		.enter_ns = e->enter_ns, .arrive_ns = e->arrive_ns, .oncpu_ns = e->oncpu_ns,
		.runq_ns = e->oncpu_ns ? e->runq_ns : 0, .tid = e->tid,
		.seq = e->seq, .seq_ok = !(e->hdr.flags & WS_F_NO_SEQ),
	};
	if (e->dir == WS_DIR_INGRESS) {
		c->in[c->in_pos++ % RING] = sn;
		if (sn.arrive_ns)
			c->arrival = sn;
	} else {
		if (c->connect_pending && !c->first_out_enter_ns)
			c->first_out_enter_ns = sn.enter_ns;
		c->out[c->out_pos++ % RING] = sn;
	}
}

void ws_waits_on_sock(struct ws_waits *w, const struct ws_sock_event *e)
{
	struct wconn *c;

	if (!w || e->kind != WS_SOCK_OPEN || e->role == WS_ROLE_UNKNOWN)
		return;
	/* accept/connect: a new connection at this sock id, whatever was kept for it. */
	c = find(w, e->sock_id, true, e->hdr.ts_ns);
	memset(c, 0, sizeof(*c));
	c->sock_id = e->sock_id;
	c->last_used = e->hdr.ts_ns;
	if (e->role == WS_ROLE_SERVER && e->estab_ns && e->estab_ns <= e->hdr.ts_ns) {
		c->estab_ns = e->estab_ns;
		c->accepted_ns = e->hdr.ts_ns;
		c->accept_pending = true;
	}
	if (e->role == WS_ROLE_CLIENT && e->syscall == WS_SYS_CONNECT && e->estab_ns &&
	    e->estab_ns <= e->hdr.ts_ns) {
		c->connect_ns = e->estab_ns;
		c->connected_ns = e->hdr.ts_ns;
		c->connect_pending = true;
	}
}

bool ws_waits_client_connect(struct ws_waits *w, uint64_t sock_id, uint64_t first_enter_ns, uint64_t not_before_ns,
			     uint64_t *connect_ns)
{
	struct ws_waits_in in = { .server = false, .start_ns = first_enter_ns, .not_before_ns = not_before_ns };
	struct ws_waits_out o;
	struct wconn *c;

	if (!w || !(c = find(w, sock_id, false, 0)) || !c->connect_pending || !c->first_out_enter_ns)
		return false;
	/* Only the request that wrote the connection's first bytes (not an HTTP/2 stream
	 * after the preface, not the second request of a pipeline); asked once. */
	c->connect_pending = false;
	if (first_enter_ns != c->first_out_enter_ns)
		return false;
	in.connect_ns = c->connect_ns;
	in.connected_ns = c->connected_ns;
	if (!(ws_waits_compute(&in, &o) & WS_W_CONNECT))
		return false;
	*connect_ns = o.start_ns;
	return true;
}

void ws_waits_on_tcp(struct ws_waits *w, const struct ws_tcp_event *e)
{
	struct wconn *c;

	if (!w || e->kind != WS_TCP_RETRANS)
		return;
	w->st.retransmits++;
	c = find(w, e->sock_id, true, e->hdr.ts_ns);
	c->retrans[c->n_retrans++ % RETRANS_RING] = e->hdr.ts_ns;
}

static bool find_snap(const struct wconn *c, bool ingress, uint32_t tid, uint64_t enter_ns,
		      struct ws_waits_snap *out)
{
	const struct ws_waits_snap *r = ingress ? c->in : c->out;

	if (!enter_ns)
		return false;
	for (int i = 0; i < RING; i++)
		if (r[i].enter_ns == enter_ns && (!tid || r[i].tid == tid)) {
			*out = r[i];
			return true;
		}
	if (ingress && c->arrival.enter_ns == enter_ns && (!tid || c->arrival.tid == tid)) {
		*out = c->arrival;
		return true;
	}
	return false;
}

void ws_waits_span(struct ws_waits *w, uint64_t sock_id, bool server, const struct ws_waits_msg *req,
		   const struct ws_waits_msg *resp, uint64_t *start_ns, uint64_t end_ns, uint64_t connect_ns,
		   bool no_handshake, struct ws_span *s, int64_t mono_to_unix_ns)
{
	struct ws_waits_in in = { .server = server, .start_ns = *start_ns, .end_ns = end_ns,
				  .no_handshake = no_handshake };
	struct ws_waits_out o;
	struct wconn *c;
	bool ok_first, ok_last;

	if (!w || !s || !(c = find(w, sock_id, false, 0)))
		return;
	if (server) {
		ok_first = find_snap(c, true, req->first_tid, req->first_enter_ns, &in.first);
		ok_last = resp && find_snap(c, false, resp->last_tid, resp->last_enter_ns, &in.last);
		/* The read's arrival stamp is its first byte's. A request that starts later
		 * in the read (after HTTP/2's preface and SETTINGS, a pipelined one) arrived
		 * later than that: its arrival is unknown, not the read's. */
		if (ok_first && (!req->has_seq || !in.first.seq_ok || in.first.seq != req->seq))
			in.first.arrive_ns = 0;
		if (c->accept_pending) {
			in.estab_ns = c->estab_ns;
			in.accepted_ns = c->accepted_ns;
			c->accept_pending = false;
		}
	} else {
		struct ws_waits_snap rf;

		ok_first = find_snap(c, false, req->first_tid, req->first_enter_ns, &in.first);
		ok_last = resp && find_snap(c, true, resp->last_tid, resp->last_enter_ns, &in.last);
		in.req_sent_ns = req->last_exit_ns;
		if (connect_ns && connect_ns <= *start_ns) {   /* decided when it was written */
			in.connect_ns = connect_ns;
			in.connected_ns = *start_ns;
		}
		if (resp && find_snap(c, true, resp->first_tid, resp->first_enter_ns, &rf))
			in.resp_arrive_ns = rf.arrive_ns;
	}
	if (!ok_first || !ok_last)
		w->st.snaps_missing++;
	if (ok_first && ok_last && in.first.tid != in.last.tid)
		w->st.sched_other_thread++;
	in.retrans = c->retrans;
	in.n_retrans = c->n_retrans < RETRANS_RING ? c->n_retrans : RETRANS_RING;
	in.retrans_known = true;
	if (!ws_waits_compute(&in, &o))
		return;
	if (ok_first && ok_last && in.first.oncpu_ns && in.last.oncpu_ns && in.first.tid == in.last.tid &&
	    !(o.have & WS_W_SCHED) && (!server || (o.have & WS_W_RECEIVE)))
		w->st.sched_inconsistent++;
	w->st.spans_measured++;
	if (o.start_ns != *start_ns)
		w->st.spans_moved++;
	*start_ns = o.start_ns;
	ws_waits_to_span(&o, s, mono_to_unix_ns);
}
