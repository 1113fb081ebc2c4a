/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Span assembly: see assemble.h. Parentage rules are decided here and in context.c. */
#include "assemble.h"
#include "waits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../headers/wirespan_abi.h"
#include "actors.h"
#include "adopt.h"
#include "coexist.h"
#include "conn.h"
#include "parentage.h"
#include "proto/http_util.h"
#include "proto/proto.h"
#include "rt_go.h"

#define MAX_LOCAL_ADDRS 64
#define WS_DG_WATCH 1024

struct ws_asm {
	struct ws_asm_config cfg;
	struct ws_ctx *ctx;
	struct ws_conn_table *conns;
	struct ws_actors *actors;
	struct ws_parentage par;
	struct ws_adopt *adopt;
	struct ws_go *go;          /* goroutine ancestry and pending net/http calls (rt_go.h) */
	struct ws_waits *waits;    /* where spans' time went (waits.h) */
	struct ws_coexist *co;     /* OpenTelemetry SDKs and injected contexts (coexist.h) */
	ws_resource_fn res_fn;
	void *res_ctx;
	ws_emit_fn emit;
	void *emit_ctx;
	/* Datagram pairs with requests pending: no close ever comes for UDP, so time must
	 * end an unanswered query (ops->expire). Bounded; a full list is counted and those
	 * pairs wait for the idle expiry instead. */
	uint64_t dg_watch[WS_DG_WATCH];
	uint32_t n_dg_watch;
	uint8_t local[MAX_LOCAL_ADDRS][16];
	size_t n_local;
	struct ws_asm_stats st;
};

/* Per-record context handed to the parser's emit callback. */
struct feed_ctx {
	struct ws_asm *a;
	struct ws_conn *c;
	uint32_t pid;
	uint32_t tid;              /* the thread that moved this chunk */
	uint64_t goid;             /* its goroutine (Go), 0 otherwise */
	int32_t fd;                /* the chunk's descriptor in its process */
	bool tls_noseq;            /* TLS plaintext without a seq (memory BIO write) */
	uint8_t _pad[3];
	uint64_t ts;
	uint64_t enter_ns;         /* the chunk's syscall entry */
	uint32_t opened;           /* requests opened by this chunk */
	struct ws_node_ref last_opened;
	bool resp_done;            /* a CLIENT exchange's response ended in this chunk */
	bool back_here;            /* ... and made its loop's answer-rule candidate */
	struct ws_node_ref resp_cause; /* ... and the request that had caused it */
};

/* ---- addresses ---------------------------------------------------------------- */

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void ws_addr_str(const uint8_t addr[16], char *out, size_t outlen)
{
	ws_proto_addr_str(addr, out, outlen);
}

static bool addr_is_local(const struct ws_asm *a, const uint8_t addr[16])
{
	static const uint8_t v6loop[16] = { [15] = 1 };

	if (memcmp(addr, v4mapped_prefix, 12) == 0 && addr[12] == 127)
		return true;
	if (memcmp(addr, v6loop, 16) == 0)
		return true;
	for (size_t i = 0; i < a->n_local; i++)
		if (memcmp(a->local[i], addr, 16) == 0)
			return true;
	return false;
}

void ws_asm_set_local_addrs(struct ws_asm *a, const uint8_t (*addrs)[16], size_t n)
{
	if (n > MAX_LOCAL_ADDRS)
		n = MAX_LOCAL_ADDRS;
	memcpy(a->local, addrs, n * 16);
	a->n_local = n;
}

/* ---- asyncio tasks (the task rule, parentage.h) ------------------------------ */

/* A data record of c: keep the task of the first egress chunk since the last ingress
 * one. Only connections that have had a record naming a task get the state (the kernel
 * names tasks on writes only); their answers are known from the state's beginning, or
 * from the connection's when nothing was written on it before. */
static void note_task(struct ws_conn *c, enum ws_pdir dir, const struct ws_data_event *e)
{
	uint64_t task = (e->hdr.flags & WS_F_RT_PY) ? e->rt_ctx : 0;
	struct ws_conn_pos *tp = task ? ws_conn_pos_get(c) : c->pos;
	bool wrote = c->egress_seen;

	if (dir == WS_PDIR_EGRESS)
		c->egress_seen = true;
	if (!tp)
		return;
	if (!tp->hist_ns)
		tp->hist_ns = wrote ? e->enter_ns : 1;
	if (dir == WS_PDIR_INGRESS) {
		tp->eg_open = false;
	} else if (!tp->eg_open) {
		tp->eg_open = true;
		tp->eg_task = task;
		tp->eg_enter_ns = e->enter_ns;
	}
}

/* The task that moved the first byte of a message (request or answer) written by the
 * chunk that entered at first_enter_ns, when that chunk began the current egress run;
 * 0 when unknown (pipelined messages, no task). */
static uint64_t msg_task(const struct ws_conn *c, uint64_t first_enter_ns)
{
	return c->pos && c->pos->eg_open && c->pos->eg_enter_ns == first_enter_ns ? c->pos->eg_task : 0;
}

/* ---- pending exchanges of a connection --------------------------------------- */

static struct ws_conn_pending *pending_find(struct ws_conn *c, uint32_t req_index)
{
	for (uint32_t i = 0; i < c->n_pending; i++)
		if (c->pending[i].req_index == req_index)
			return &c->pending[i];
	return NULL;
}

/* The actor a request is registered with: its thread, or in Go its goroutine. */
static struct ws_actor *actor_of(struct ws_asm *a, uint32_t pid, uint32_t tid, uint64_t goid,
				 uint64_t ts, bool create)
{
	if (goid)
		return ws_actor_get(a->actors, pid, 0, goid, ts, create, NULL);
	return tid ? ws_actor_get(a->actors, pid, tid, 0, ts, create, NULL) : NULL;
}

static void pending_del(struct ws_asm *a, struct ws_conn *c, struct ws_conn_pending *p)
{
	if (p->served) {
		struct ws_actor *act = actor_of(a, p->pid, p->tid, p->goid, 0, false);
		struct ws_proc *pr = ws_proc_get(a->actors, p->pid, 0, false, NULL);

		if (act) {
			ws_actor_unserve(a->actors, act, p->ref);
			ws_actor_release(a->actors, act);
		}
		if (pr && pr->open_server)
			pr->open_server--;
	}
	*p = c->pending[--c->n_pending];
	ws_conn_pending_trim(a->conns, c);
}

/* ---- span building ---------------------------------------------------------------- */

static enum ws_prole conn_role(const struct ws_conn *c)
{
	return c->ops && c->pst ? c->ops->role(c->pst) : WS_PROLE_UNKNOWN;
}

static bool is_server(const struct ws_conn *c)
{
	return conn_role(c) == WS_PROLE_SERVER;
}

static struct ws_span_info span_info(const struct ws_conn *c)
{
	struct ws_span_info si = {
		.tuple = &c->tuple,
		.role = is_server(c) ? WS_PROLE_SERVER : WS_PROLE_CLIENT,
		.sanitize = true,
		.tls = c->tls,
	};
	return si;
}

/* The counters of the connection's protocol (index 0 before one claims it). */
static struct ws_proto_stats *pstats(struct ws_asm *a, const struct ws_conn *c)
{
	return &a->st.proto[c->ops && c->ops->id < WS_PROTO__COUNT ? c->ops->id : 0];
}

static void set_capture(struct ws_asm *a, struct ws_conn *c, enum ws_capture m);
static void tell_server_role(struct ws_asm *a, struct ws_conn *c);
static void adopt_each(void *ctx, struct ws_conn *c);

/*
 * A CLIENT request was written: was its connection opened for it? Then its span starts
 * at the connect() entry (docs/waits.md), and the SERVER span on the other end may
 * start at the handshake. Not when the connect came before the local request that
 * caused the call was opened (a pool's connection, another request's dial): decided
 * now, so the SERVER span can ask before this one finishes.
 */
static void client_connect_start(struct ws_asm *a, struct ws_conn *c, struct ws_conn_pending *p,
				 struct ws_node_ref ref, const struct ws_exchange *x, struct ws_node_ref cause)
{
	uint64_t not_before = 0, at;

	if (cause.idx != WS_NODE_NONE && !ws_ctx_opened_ns(a->ctx, cause, &not_before))
		return;
	if (ws_waits_client_connect(a->waits, c->sock_id, x->req.first_enter_ns, not_before, &at)) {
		p->connect_start = at;
		ws_ctx_set_from_connect(a->ctx, ref);
	}
}

static void open_span(struct feed_ctx *f, const struct ws_exchange *x)
{
	struct ws_asm *a = f->a;
	struct ws_conn *c = f->c;
	struct ws_span *s;
	uint8_t tid[16], sid[8], flags;
	bool server = is_server(c);
	struct ws_span_info si = span_info(c);

	a->st.requests++;
	pstats(a, c)->requests++;
	if (x->uncaptured) {
		/* The request's start was not captured (lost records, budget): its exchange is
		 * real but nothing about it is known; a span would be invented. */
		a->st.requests_uncaptured++;
		pstats(a, c)->uncaptured++;
		return;
	}
	if (c->n_pending > WS_CONN_MAX_PENDING) {
		a->st.spans_no_node++;
		return;
	}
	/* Records consumed in a burst: emit what is ready before the table fills. */
	ws_ctx_reclaim(a->ctx, f->ts, a->emit, a->emit_ctx);
	struct ws_node_ref ref = ws_ctx_open(a->ctx, f->ts, &s);
	if (!ws_node_ref_valid(ref))
		return;   /* counted by the context (nodes_full) */
	struct ws_resource *res = a->res_fn ? a->res_fn(a->res_ctx, f->pid, c->comm) : NULL;
	if (res) {
		ws_resource_ref(res);
		s->res = res;
	}
	s->kind = server ? WS_KIND_SERVER : WS_KIND_CLIENT;
	c->ops->span_request(x, &si, s);
	if (x->truncated)
		ws_span_set_bool(s, "wirespan.capture.truncated", true);
	/* The payload came from a TLS library's calls (uprobes), not from the socket. */
	if (c->tls)
		ws_span_set_bool(s, "wirespan.capture.tls", true);

	struct ws_conn_pending *p = ws_conn_pending_add(a->conns, c);
	if (!p) {
		ws_ctx_abandon(a->ctx, ref);
		a->st.spans_no_node++;
		return;
	}
	p->req_index = x->req_index;
	p->ref = ref;
	p->cause.idx = WS_NODE_NONE;
	p->pid = f->pid;
	c->requests++;
	f->opened++;
	f->last_opened = ref;

	/* Spans the SDKs make themselves, and injected ids (coexist.c). */
	const struct ws_attr *am = ws_span_find_attr(s, "http.request.method");
	const struct ws_attr *ap = ws_span_find_attr(s, "url.path");
	uint32_t seq_shift = ws_coexist_open(a->co, a->ctx, ref, &(struct ws_coexist_req){
		.pid = f->pid,
		.tid = server ? f->tid : (x->req.first_tid ? x->req.first_tid : f->tid),
		.lport = c->tuple.sport,
		.rport = c->tuple.dport,
		.server = server,
		.local_peer = addr_is_local(a, c->tuple.daddr),
		.traceparent = x->traceparent,
		.method = am ? ws_span_attr_str(s, am) : NULL,
		.path = ap ? ws_span_attr_str(s, ap) : NULL,
		.ts = f->ts,
	});

	/* A destination was just selected: the connections to it already open. */
	if (ws_coexist_take_dst_change(a->co))
		ws_conn_for_each(a->conns, adopt_each, a);

	/* Rule 1: a valid traceparent wins, within the adoption bound. */
	bool adopted = false;
	if (x->traceparent && ws_traceparent_parse(x->traceparent, tid, sid, &flags) == 0) {
		if (ws_adopt_allow(a->adopt, tid, sid, f->ts)) {
			ws_ctx_parent_remote(a->ctx, ref, tid, sid, flags);
			adopted = true;
		} else {
			int l = ws_span_add_link(s, tid, sid, flags, true);

			if (l >= 0)
				ws_span_link_set_str(s, l, "wirespan.link.reason", "traceparent_repeated");
			ws_ctx_make_root(a->ctx, ref, WS_RULE_ROOT_BOUNDED);
			adopted = true;
		}
	}

	struct ws_seq_key key;
	memset(&key, 0, sizeof(key));
	if (server) {
		memcpy(key.caddr, c->tuple.daddr, 16);
		memcpy(key.saddr, c->tuple.saddr, 16);
		key.cport = c->tuple.dport;
		key.sport = c->tuple.sport;
	} else {
		memcpy(key.caddr, c->tuple.saddr, 16);
		memcpy(key.saddr, c->tuple.daddr, 16);
		key.cport = c->tuple.sport;
		key.sport = c->tuple.dport;
	}
	/* The receiver numbers bytes counting the traceparents the kernel inserted before
	 * this request (its own goes after its first byte). */
	key.seq = x->req.seq;
	if (!server && c->pos && c->pos->inj_out)
		key.seq += c->pos->inj_out -
			   (seq_shift && x->req.seq == c->pos->inj_last_start ? c->pos->inj_last_len : 0);
	/* A root's trace id comes from its request's first byte, as the kernel's injected
	 * traceparents continue it (ws_ctx_derive_from). */
	if (x->req.has_seq)
		ws_ctx_derive_from(a->ctx, ref, &key);

	if (server) {
		tell_server_role(a, c);
		/* The actor that read the end of its header block serves it (in Go the
		 * serve goroutine, even when a background read took the first byte). */
		struct ws_actor *act = actor_of(a, f->pid, f->tid, f->goid, f->ts, true);
		struct ws_proc *pr = ws_proc_get(a->actors, f->pid, f->ts, true, NULL);

		if (act && pr) {
			ws_actor_serve(a->actors, act, ref);
			pr->open_server++;
			p->served = true;
			p->tid = act->tid;
			p->goid = act->goid;
		}
		if (!adopted) {
			/* Rule 3: only a client on this host can have written these bytes where
			 * we could see it. Otherwise rule 4. */
			if (x->req.has_seq && addr_is_local(a, c->tuple.daddr))
				ws_ctx_await_peer(a->ctx, ref, &key, f->ts);
			else
				ws_ctx_make_root(a->ctx, ref, WS_RULE_ROOT);
		}
		return;
	}
	if (x->req.has_seq) {
		ws_ctx_index_client(a->ctx, ref, &key);
	} else if (f->tls_noseq) {
		/* The plaintext of a memory-BIO SSL_write (node, grpc, asyncio) has no seq:
		 * its ciphertext is written after the call. The connection's next ciphertext
		 * write begins with the record of the first such write since the previous
		 * one (on_data): a request that began in that write, at offset off, is at
		 * that write's seq + off (within one record's plaintext; cipher_write finds
		 * the record). One that began in a later write sits after records of
		 * unknown length: no position. */
		struct ws_conn_pos *pp = c->pos;

		if (pp && pp->tls_nw_count && x->req.first_enter_ns == pp->tls_nw_enter &&
		    (x->req.seq == 0 || pp->tls_nw_len <= WS_TLS_MAX_PLAINTEXT)) {
			p->seq_wanted = true;
			p->tls_off = x->req.seq;
		} else {
			a->st.tls_seq_not_first++;
		}
	}
	if (adopted) {
		client_connect_start(a, c, p, ref, x, (struct ws_node_ref){ WS_NODE_NONE, 0 });
		return;
	}
	/* Inside the process: the parentage providers (parentage.c). */
	struct ws_call call = {
		.pid = f->pid,
		.tid = x->req.first_tid ? x->req.first_tid : f->tid,
		.goid = f->goid,
		.go_caller = 0,
		.sock_id = c->sock_id,
		.ts = x->req.first_enter_ns ? x->req.first_enter_ns : f->enter_ns,
		.connect_cause = c->requests == 1 ? &c->connect_cause : NULL,
		.may_defer = true,
		.task = msg_task(c, x->req.first_enter_ns ? x->req.first_enter_ns : f->enter_ns),
		/* decided at the record that opened it: its first write, unless that was
		 * seen before (a request begun in an earlier record) */
		.phase_known = !x->req.first_enter_ns || x->req.first_enter_ns == f->enter_ns,
	};
	/* Go's transport writes the request from its writeLoop goroutine: the goroutine
	 * that asked for it named itself and the fd at roundTrip. */
	if (f->goid)
		ws_go_take_call(a->go, f->pid, f->fd, f->ts, &call.go_caller);
	struct ws_decision d = ws_parent_decide(&a->par, &call, true);

	ws_ctx_explain(a->ctx, ref, d.provider < WS_PROV__MAX ? ws_how((enum ws_provider)d.provider) : 0,
		       d.verdict == WS_VERDICT_PARENT ? WS_WHY_NONE : d.why);
	if (d.verdict == WS_VERDICT_PARENT) {
		p->cause = d.parent;
		ws_ctx_parent_local(a->ctx, ref, d.parent,
				    d.provider == WS_PROV_THREAD ? WS_RULE_THREAD : WS_RULE_IN_PROCESS);
	} else if (d.verdict != WS_VERDICT_DEFER) {
		ws_ctx_make_root(a->ctx, ref, d.verdict == WS_VERDICT_AMBIGUOUS ? WS_RULE_ROOT_AMBIGUOUS : WS_RULE_ROOT);
	}
	client_connect_start(a, c, p, ref, x, p->cause);
	if (d.verdict == WS_VERDICT_DEFER) {
		/* The answer rule: decided when this thread answers a request (parentage.h). */
		if (ws_parentage_defer(&a->par, &call, &d, ref, p->connect_start ? p->connect_start : call.ts)) {
			p->deferred = true;
			p->tid = call.tid;
			p->task = d.task ? call.task : 0;
			ws_ctx_explain(a->ctx, ref, ws_how(d.task ? WS_PROV_TASK : WS_PROV_ANSWER), WS_WHY_NONE);
		} else {
			ws_ctx_make_root(a->ctx, ref, WS_RULE_ROOT);
		}
	}
}

/* Where the span's time went (waits.c): may move a SERVER span's start back to the
 * request's arrival. */
static void ws_asm_waits(struct ws_asm *a, uint64_t sock_id, bool server, const struct ws_exchange *x,
			 uint64_t *start, uint64_t end, struct ws_node_ref ref, uint64_t connect_ns, struct ws_span *s)
{
	struct ws_waits_msg rq = {
		x->req.first_enter_ns, x->req.last_enter_ns, x->req.last_exit_ns, x->req.first_tid, x->req.last_tid,
		x->req.seq, x->req.has_seq, { 0 },
	};
	struct ws_waits_msg rs = {
		x->resp.first_enter_ns, x->resp.last_enter_ns, x->resp.last_exit_ns, x->resp.first_tid, x->resp.last_tid,
		x->resp.seq, x->resp.has_seq, { 0 },
	};

	/* SERVER: not from the handshake when its local client's span starts after it
	 * (ws_ctx_peer_from_connect). CLIENT: from the connect decided when it was written. */
	bool no_handshake = server && ws_ctx_peer_from_connect(a->ctx, ref) == 0;

	ws_waits_span(a->waits, sock_id, server, &rq, x->has_response ? &rs : NULL, start, end, connect_ns,
		      no_handshake, s, a->cfg.ctx.mono_to_unix_ns);
}

static void finish_span(struct feed_ctx *f, const struct ws_exchange *x)
{
	struct ws_asm *a = f->a;
	struct ws_conn *c = f->c;
	struct ws_conn_pending *p = pending_find(c, x->req_index);
	bool server = is_server(c);

	a->st.exchanges++;
	pstats(a, c)->exchanges++;
	/* A reason on a completed exchange is a note (its end was inferred), not a failure. */
	if (x->err && x->err < WS_PROTO_MAX_ERRORS)
		pstats(a, c)->error_reason[x->err]++;
	if (!p)
		return;
	struct ws_span *s = ws_ctx_span(a->ctx, p->ref);
	if (s) {
		struct ws_span_info si = span_info(c);
		/* SERVER: from the exit of the first read that returned request bytes to the
		 * entry of the write that sent the last response byte. That write's own
		 * duration is the kernel carrying the bytes to the peer (on loopback the
		 * receiver is woken inside it): transfer time the client waits through, not
		 * server work. With these stamps a server span nests in its client span by
		 * causality: the client's write starts before the server's read returns, and
		 * the server's last write starts before the client's last read returns.
		 * CLIENT: from the entry of its first request write to the exit of its last
		 * response read. */
		uint64_t start = server ? x->req.first_exit_ns : x->req.first_enter_ns;
		uint64_t end = server ? x->resp.last_enter_ns : x->resp.last_exit_ns;

		if (!x->has_response)
			end = x->req.last_exit_ns;   /* a command the protocol does not answer */

		c->ops->span_response(x, &si, s);
		if (x->truncated && !ws_span_find_attr(s, "wirespan.capture.truncated"))
			ws_span_set_bool(s, "wirespan.capture.truncated", true);
		ws_asm_waits(a, c->sock_id, server, x, &start, end, p->ref, p->connect_start, s);
		ws_ctx_finish(a->ctx, p->ref, start, end);
	}
	if (!server) {
		/* A call decided after it was written (the loop's next read confirmed it)
		 * passes its cause on as one decided at once does. */
		if (p->deferred && !ws_node_ref_valid(p->cause))
			ws_ctx_local_parent(a->ctx, p->ref, &p->cause);
		f->resp_done = true;
		f->resp_cause = p->cause;
		if (p->deferred && ws_parentage_call_done(&a->par, p->pid, p->tid, p->task, p->ref,
							  p->connect_start ? p->connect_start : x->req.first_enter_ns,
							  x->has_response ? x->resp.last_tid : 0,
							  x->has_response ? x->resp.last_exit_ns : 0, c->sock_id))
			f->back_here = true;
	} else if (x->has_response && x->resp.first_tid) {
		/* The thread that began the answer may have made calls for it (answer rule). */
		uint64_t opened, atask = msg_task(c, x->resp.first_enter_ns);

		if (ws_ctx_opened_ns(a->ctx, p->ref, &opened)) {
			ws_parentage_answered(&a->par, p->pid, x->resp.first_tid, p->ref, c->sock_id, opened,
					      x->resp.first_enter_ns, x->resp.last_enter_ns);
			/* ... and so may the task that began it (the task rule). */
			if (atask) {
				/* before the connection's task state began, anyone may have answered */
				bool known = c->pos->answer_ns >= c->pos->hist_ns && c->pos->answer_ns;

				ws_parentage_task_answered(&a->par, p->pid, atask, x->resp.first_tid, p->ref, opened,
							   x->resp.first_enter_ns, x->resp.last_enter_ns,
							   known ? c->pos->answer_task : 0,
							   known ? c->pos->answer_ns : c->pos->hist_ns);
			}
		}
		if (c->pos) {
			c->pos->answer_task = atask;
			c->pos->answer_ns = x->resp.first_enter_ns;
		}
	}
	pending_del(a, c, p);
}

static void fail_span(struct feed_ctx *f, const struct ws_exchange *x)
{
	struct ws_asm *a = f->a;
	struct ws_conn *c = f->c;
	struct ws_proto_stats *ps = pstats(a, c);
	struct ws_conn_pending *p;
	bool closed = x->closed || (c->ops->err_closed && x->err == c->ops->err_closed);

	if (x->err < WS_PROTO_MAX_ERRORS)
		ps->error_reason[x->err]++;
	if (!closed && !x->outcome) {
		a->st.parse_errors++;
		ps->parse_errors++;
	}
	if (!x->has_request || !(p = pending_find(c, x->req_index)))
		return;
	if (p->deferred)   /* no response read: the answer rule will not take it */
		ws_parentage_call_done(&a->par, p->pid, p->tid, p->task, p->ref, 0, 0, 0, c->sock_id);
	struct ws_span *s = ws_ctx_span(a->ctx, p->ref);
	if (s && (closed || x->outcome)) {
		/* The request is real and so is how it ended: no response (closed), or a
		 * timeout, a reset, an aborted pipeline (outcome). */
		bool server = is_server(c);
		uint64_t start = server ? x->req.first_exit_ns : x->req.first_enter_ns;
		const char *why = c->ops->error_name ? c->ops->error_name(x->err) : NULL;

		if (closed)
			ps->no_response++;
		s->status_code = WS_STATUS_ERROR;
		if (closed) {
			snprintf(s->status_message, sizeof(s->status_message), "connection closed before the response completed");
			ws_span_set_str(s, "error.type", "connection_closed");
		} else {
			snprintf(s->status_message, sizeof(s->status_message), "%s", why ? why : "error");
			ws_span_set_str(s, "error.type", why ? why : "_OTHER");
		}
		if (x->outcome) {
			struct ws_span_info si = span_info(c);

			c->ops->span_response(x, &si, s);
		}
		ws_ctx_finish(a->ctx, p->ref, start, f->ts > start ? f->ts : start);
	} else if (s && ws_ctx_has_children(a->ctx, p->ref)) {
		/* Its response did not parse, but its request did and other spans already
		 * name it as their parent: a span with an error, not a dangling parent. */
		bool server = is_server(c);
		uint64_t start = server ? x->req.first_exit_ns : x->req.first_enter_ns;
		const char *why = c->ops->error_name ? c->ops->error_name(x->err) : NULL;

		s->status_code = WS_STATUS_ERROR;
		snprintf(s->status_message, sizeof(s->status_message), "response not parsed: %s",
			 why ? why : "unknown");
		ws_span_set_str(s, "error.type", "wirespan.parse_error");
		ws_ctx_finish(a->ctx, p->ref, start, f->ts > start ? f->ts : start);
	} else {
		ws_ctx_abandon(a->ctx, p->ref);
	}
	pending_del(a, c, p);
}

static void on_x(void *ctx, const struct ws_exchange *x)
{
	struct feed_ctx *f = ctx;

	switch (x->type) {
	case WS_X_REQUEST:
		open_span(f, x);
		break;
	case WS_X_EXCHANGE:
		finish_span(f, x);
		break;
	case WS_X_ERROR:
		fail_span(f, x);
		break;
	default:
		break;
	}
}

/* ---- connections ---------------------------------------------------------------- */

static void conn_fini(void *ctx, struct ws_conn *c, uint64_t now_ns)
{
	struct ws_asm *a = ctx;

	if (c->ops && c->pst && c->proto != WS_PROTO_NONE) {
		struct feed_ctx f = { .a = a, .c = c, .pid = c->pid, .ts = now_ns };

		c->ops->close(c->pst, now_ns, on_x, &f);
	}
	/* The kernel forgets a socket's policy at TCP_CLOSE; an entry evicted or expired
	 * here may still be open there. */
	if (c->capture != WS_CAPTURE_DEFAULT)
		set_capture(a, c, WS_CAPTURE_DEFAULT);
	/* Whatever the parser did not end (evicted, expired) is dropped. */
	while (c->n_pending) {
		ws_ctx_abandon(a->ctx, c->pending[0].ref);
		pending_del(a, c, &c->pending[0]);
	}
}

static int conn_setup(struct ws_asm *a, struct ws_conn *c, const struct ws_tuple *t, uint8_t role)
{
	c->tuple = *t;
	c->role = role;
	c->proto = WS_PROTO_UNKNOWN;
	ws_cause_clear(&c->connect_cause);
	return 0;
}

/* The entry for a record on sock_id. sys: the syscall of a WS_SOCK_OPEN, 0 for a data
 * record; ws_conn_open decides whether it starts a new connection. */
static struct ws_conn *conn_open(struct ws_asm *a, uint64_t sock_id, const struct ws_tuple *t,
				 uint8_t role, uint16_t sys, uint64_t ts)
{
	bool created;
	struct ws_conn *c = ws_conn_open(a->conns, sock_id, t, sys, ts, &created);

	if (!c) {
		a->st.conn_alloc_fail++;
		return NULL;
	}
	if (created && conn_setup(a, c, t, role) != 0) {
		ws_conn_remove(a->conns, c, ts);
		a->st.conn_alloc_fail++;
		return NULL;
	}
	return c;
}

static struct ws_conn *conn_for(struct ws_asm *a, uint64_t sock_id, const struct ws_tuple *t,
				uint8_t role, uint64_t ts)
{
	return conn_open(a, sock_id, t, role, 0, ts);
}

/* ---- what threads are doing (parentage evidence) ------------------------------ */

/* The oldest request of a connection still waiting for its response. */
static struct ws_conn_pending *pending_oldest(struct ws_conn *c)
{
	struct ws_conn_pending *o = NULL;

	for (uint32_t i = 0; i < c->n_pending; i++)
		if (!o || c->pending[i].req_index < o->req_index)
			o = &c->pending[i];
	return o;
}

/*
 * After a chunk was parsed: what it tells about its thread. A write means the thread
 * acted on what it had read. A read, on an event-loop thread, names what the thread
 * will act on next in this batch: the request it read, or, for a response read on a
 * client connection, the request that had caused that call (so sequential downstream
 * calls chain); a response whose call had no known cause names "unknown".
 */
static void track_chunk(struct ws_asm *a, struct feed_ctx *f, bool ingress)
{
	struct ws_conn *c = f->c;
	struct ws_actor *act;

	if (f->goid || !f->tid)
		return;   /* goroutines: their requests are registered at open_span */
	act = ws_actor_get(a->actors, f->pid, f->tid, 0, f->ts, false, NULL);
	if (!act)
		return;
	if (!ingress) {
		act->loop_cause.egress_since = true;
		act->handoff.egress_since = true;
		if (act->loop)
			ws_parentage_loop_egress(&a->par, act, is_server(c), c->sock_id, f->enter_ns);
		return;
	}
	if (!act->loop)
		return;
	ws_parentage_loop_ingress(&a->par, act, c->sock_id, f->back_here);
	/* What the batch read, for the loop rule's acts after its last read: a read that
	 * names no cause may have queued anyone's work. */
	bool named = true;
	/* The runtime says this read is an I/O handler's (Node.js, before its I/O phase
	 * ended): each handler's own work ends before the next read, so the latest read
	 * names the cause, and a read that names none makes it unknown for what follows. */
	bool next = act->phases && !act->after_io;
	void (*cause_read)(struct ws_cause *, struct ws_node_ref, uint64_t) = next ? ws_cause_read_next : ws_cause_read;

	if (is_server(c)) {
		if (f->opened >= 2)
			ws_cause_many(&act->loop_cause);       /* pipelined requests in one read */
		else if (f->opened == 1)
			cause_read(&act->loop_cause, f->last_opened, 0);
		else if (c->n_pending == 1)
			cause_read(&act->loop_cause, c->pending[0].ref, 0);   /* more of its body */
		else
			named = false;
	} else {
		struct ws_conn_pending *o = NULL;
		struct ws_node_ref cause = { WS_NODE_NONE, 0 };

		if (conn_role(c) == WS_PROLE_CLIENT) {
			o = f->resp_done ? NULL : pending_oldest(c);
			cause = f->resp_done ? f->resp_cause : o ? o->cause : cause;
		}
		if (f->resp_done || o)
			cause_read(&act->loop_cause, cause, c->sock_id);
		else
			named = false;
	}
	if (!named && next)
		ws_cause_many(&act->loop_cause);
	ws_actor_batch_read(act, !named);
}

static bool is_go(struct ws_asm *a, uint32_t pid, uint64_t ts)
{
	return ws_parentage_runtime(&a->par, pid, ts) == WS_RUNTIME_GO;
}

/*
 * Readiness batches began (struct ws_loop_batch: the thread's batches since its
 * previous record, reported before the record they ride on): what the loop reads from
 * now on is what it acts on. A loop that waits without blocking (timeout 0) still has
 * work queued by the batch before (asyncio runs the handlers a batch's reads woke in
 * the next round, before that round's reads): until this batch reads something, its
 * writes are the batch before's. A blocking wait means nothing was queued: nothing is
 * carried. Over several batches with no record between, nothing was read in between:
 * whatever the kinds, both causes end empty, and only the latest blocking wait's
 * deadline is still of use.
 */
static void on_batches(struct ws_asm *a, uint32_t pid, uint32_t tid, uint64_t ts, const struct ws_loop_batch *b)
{
	struct ws_actor *act;

	if (!b->count)
		return;
	a->st.loop_events += b->count;
	if (!pid || is_go(a, pid, ts))
		return;   /* Go's netpoller waits on whatever thread is free */
	act = ws_actor_get(a->actors, pid, tid, 0, ts, true, NULL);
	if (!act)
		return;
	act->loop = true;
	act->batch_seq += b->count;
	if (b->count == 1 && (b->flags & WS_BATCH_LAST_NONBLOCKING)) {
		act->loop_carried = act->loop_cause;
		act->carried_nonblocking = act->wait_nonblocking;
		act->carried_mixed = act->batch_mixed;
	} else {
		ws_cause_clear(&act->loop_carried);
	}
	ws_cause_clear(&act->loop_cause);
	ws_parentage_loop_batch(&a->par, act, false);
	act->wait_nonblocking = b->flags & WS_BATCH_LAST_NONBLOCKING;
	if (b->flags & WS_BATCH_BLOCKING) {
		act->batch_anchor_ns = b->blk_anchor_ns;
		act->batch_timeout_ms = b->blk_timeout_ms;
	}
}

/* The loop phase a record of a loop thread was made in (WS_BATCH_PHASES), when its
 * runtime reports it: after the batches it carries began. */
static void on_phases(struct ws_asm *a, uint32_t pid, uint32_t tid, uint64_t ts, const struct ws_loop_batch *b)
{
	struct ws_actor *act;

	if (!(b->flags & WS_BATCH_PHASES) || !pid)
		return;
	act = ws_actor_get(a->actors, pid, tid, 0, ts, false, NULL);
	if (!act || !act->loop)
		return;
	act->phases = true;
	act->after_io = b->flags & WS_BATCH_AFTER_IO;
}

/* A loop record: batches sent ahead of a record of another kind, and/or a foreign read
 * (the loop read an eventfd, a pipe, a UDP socket: the callback that runs now is for
 * whoever queued that work, not for what the batch read). */
static void on_loop(struct ws_asm *a, const struct ws_loop_event *e)
{
	struct ws_actor *act;

	a->st.loop_records++;
	on_batches(a, e->pid, e->tid, e->hdr.ts_ns, &e->batch);
	on_phases(a, e->pid, e->tid, e->hdr.ts_ns, &e->batch);
	if (e->nready != WS_LOOP_FOREIGN || !e->pid || is_go(a, e->pid, e->hdr.ts_ns))
		return;
	act = ws_actor_get(a->actors, e->pid, e->tid, 0, e->hdr.ts_ns, true, NULL);
	if (act) {
		ws_cause_read(&act->loop_cause, (struct ws_node_ref){ WS_NODE_NONE, 0 }, 0);
		ws_parentage_loop_batch(&a->par, act, true);
	}
}

/* Hand a thread's cause to another thread. A wakeup names no work item, so a thread
 * that is still on one request and is woken for another becomes ambiguous (in Python
 * every GIL hand-over is such a wakeup). */
static void handoff_to(struct ws_asm *a, uint32_t pid, uint32_t from_tid, uint32_t to_tid, uint64_t ts)
{
	struct ws_cause why;
	struct ws_actor *w;
	struct ws_proc *pr;
	struct ws_cause *h;

	ws_parentage_cause_of(&a->par, pid, from_tid, ts, false, &why);
	if (why.state == WS_CAUSE_NONE)
		return;
	w = ws_actor_get(a->actors, pid, to_tid, 0, ts, true, NULL);
	if (!w)
		return;
	h = &w->handoff;
	pr = ws_proc_get(a->actors, pid, ts, false, NULL);
	if (h->state == WS_CAUSE_MANY && (!pr || pr->open_server <= 1))
		ws_cause_clear(h);
	if (h->state == WS_CAUSE_ONE && !ws_ctx_is_open(a->ctx, h->ref))
		ws_cause_clear(h);
	if (why.state == WS_CAUSE_MANY) {
		ws_cause_many(h);
	} else if (h->state == WS_CAUSE_NONE) {
		*h = why;
	} else if (h->state == WS_CAUSE_ONE && (h->ref.idx != why.ref.idx || h->ref.gen != why.ref.gen)) {
		ws_cause_many(h);
	}
}

static void on_task(struct ws_asm *a, const struct ws_task_event *e)
{
	uint64_t ts = e->hdr.ts_ns;

	a->st.task_events++;
	switch (e->kind) {
	case WS_TASK_WAKE:
	case WS_TASK_CLONE:
		if (e->other_pid == e->pid && e->other_tid && !is_go(a, e->pid, ts))
			handoff_to(a, e->pid, e->tid, e->other_tid, ts);
		break;
	case WS_TASK_FORK: {
		struct ws_cause why;
		struct ws_proc *child;

		ws_parentage_cause_of(&a->par, e->pid, is_go(a, e->pid, ts) ? 0 : e->tid, ts, false, &why);
		if (why.state == WS_CAUSE_NONE || !e->other_pid)
			break;
		if (why.tentative)
			ws_cause_many(&why);   /* a loop's fork that may be after-poll work */
		child = ws_proc_get(a->actors, e->other_pid, ts, true, NULL);
		if (child)
			child->inherited = why;
		break;
	}
	case WS_TASK_EXEC: {
		struct ws_proc *pr = ws_proc_get(a->actors, e->pid, ts, false, NULL);

		if (pr)
			pr->runtime = WS_RUNTIME_UNKNOWN;   /* a new program: ask again */
		ws_go_forget_pid(a->go, e->pid);
		break;
	}
	case WS_TASK_EXIT:
		ws_parentage_thread_exit(&a->par, e->pid, e->tid);
		ws_actor_exit(a->actors, e->pid, e->tid);
		if (e->tid == e->pid)
			ws_go_forget_pid(a->go, e->pid);
		break;
	default:
		break;
	}
}

/* ---- protocols: detection, feeding, capture policy ------------------------------ */

static void set_capture(struct ws_asm *a, struct ws_conn *c, enum ws_capture m)
{
	if (c->capture == m || (c->sock_id & 1))
		return;   /* no change, or a datagram pair (dgram_key): no kernel policy */
	c->capture = (uint8_t)m;
	a->st.capture_changes++;
	if (a->cfg.capture_fn)
		a->cfg.capture_fn(a->cfg.capture_ctx, c->sock_id, m, c->role_told ? WS_ROLE_SERVER : 0);
}

/* A server connection the kernel found open (no accept seen): tell it the role, so
 * that it follows which request each thread serves for injection (bpf/lib/inj_srv.h). */
static void tell_server_role(struct ws_asm *a, struct ws_conn *c)
{
	if (c->role != WS_ROLE_UNKNOWN || c->role_told || (c->sock_id & 1) || !a->cfg.inject_adopt_fn)
		return;
	c->role_told = true;
	a->st.roles_told++;
	if (a->cfg.capture_fn)
		a->cfg.capture_fn(a->cfg.capture_ctx, c->sock_id, (enum ws_capture)c->capture, WS_ROLE_SERVER);
}

/* Tell the kernel what this connection's parser needs copied (proto.h enum ws_capture):
 * nothing once no parser wants it. */
static void sync_capture(struct ws_asm *a, struct ws_conn *c)
{
	enum ws_capture m = WS_CAPTURE_DEFAULT;

	if (c->proto == WS_PROTO_NONE)
		m = WS_CAPTURE_OFF;
	else if (c->ops && c->pst && c->ops->capture)
		m = c->ops->capture(c->pst);
	/* TLS: the socket's own bytes are ciphertext, never needed; the library's
	 * plaintext has its own budget in the kernel, which ALL widens. */
	if (c->tls && m == WS_CAPTURE_DEFAULT)
		m = WS_CAPTURE_OFF;
	set_capture(a, c, m);
}

/* No parser (any more): bytes are counted only. */
static void conn_unparsed(struct ws_asm *a, struct ws_conn *c)
{
	c->proto = WS_PROTO_NONE;
	free(c->det);
	c->det = NULL;
	sync_capture(a, c);
}

static void feed_chunk(struct ws_asm *a, struct feed_ctx *f, enum ws_pdir dir, const struct ws_chunk *ch)
{
	struct ws_conn *c = f->c;

	int r = c->ops->feed(c->pst, dir, ch, on_x, f);

	if (r == WS_FEED_TLS) {
		/* Ciphertext follows; the TLS library's plaintext, when a hooked library
		 * carries it, restarts detection (conn_to_tls). */
		pstats(a, c)->tls_upgrades++;
		conn_unparsed(a, c);
		return;
	}
	if (r < 0) {
		pstats(a, c)->given_up++;
		conn_unparsed(a, c);
		return;
	}
	sync_capture(a, c);
}

static uint16_t server_port(const struct ws_conn *c)
{
	return c->role == WS_ROLE_SERVER ? c->tuple.sport : c->tuple.dport;
}

/* A TLS record header: handshake (22) or application data (23), version 3.x, a length
 * a record can have. The connection's bytes are ciphertext: no parser may see them. */
static bool tls_record(const uint8_t *p, uint32_t n)
{
	return n >= 5 && (p[0] == 22 || p[0] == 23) && p[1] == 3 && p[2] <= 4 &&
	       ((uint32_t)p[3] << 8 | p[4]) <= 16384 + 2048;
}

/* The first plaintext from a TLS library on this connection: from now on the parsers
 * see plaintext only. Whatever was made of the ciphertext before goes (it made no
 * span: a TLS handshake is claimed by no parser). */
static void conn_to_tls(struct ws_asm *a, struct ws_conn *c, uint64_t ts)
{
	if (c->ops && c->pst) {
		while (c->n_pending) {
			ws_ctx_abandon(a->ctx, c->pending[0].ref);
			pending_del(a, c, &c->pending[0]);
		}
		if (c->pst == c->pinline)
			c->ops->fini(c->pst);
		else
			c->ops->free(c->pst);
	}
	c->ops = NULL;
	c->pst = NULL;
	free(c->det);
	c->det = NULL;
	c->proto = WS_PROTO_UNKNOWN;
	c->tls = true;
	sync_capture(a, c);
}

/*
 * A connection no parser has claimed yet: ask each (registry order) whether the bytes
 * it has shown in this direction begin its protocol. The first "yes" takes it and gets
 * the chunks held so far replayed; "need more" holds the chunk (bounded); a connection
 * every parser refuses WS_DETECT_CHUNKS times (it may have been joined mid-message) is
 * left unparsed. Returns true when the current chunk was consumed (held or replayed).
 */
static bool detect(struct ws_asm *a, struct feed_ctx *f, enum ws_pdir dir, const struct ws_chunk *ch)
{
	struct ws_conn *c = f->c;
	struct ws_detect_buf *d = c->det;
	uint8_t buf[WS_DETECT_CHUNKS * WS_DETECT_BYTES];
	uint32_t n = 0, take;
	const struct ws_proto_ops *claim = NULL;
	bool more = false;

	/* The bytes of this direction's run so far, then this chunk's. */
	if (d) {
		int i = d->n;

		while (i > 0 && d->dir[i - 1] == dir)
			i--;
		for (; i < d->n; i++) {
			if (!d->ch[i].captured)
				continue;   /* a refused try holds no bytes */
			memcpy(buf + n, d->ch[i].data, d->ch[i].captured);
			n += d->ch[i].captured;
		}
	}
	take = ch->captured < WS_DETECT_BYTES ? ch->captured : WS_DETECT_BYTES;
	if (take)
		memcpy(buf + n, ch->data, take);
	n += take;
	if (!ch->tls && tls_record(buf, n)) {
		/* Ciphertext: its plaintext, if a hooked TLS library carries it, arrives as
		 * WS_F_TLS records and restarts detection (conn_to_tls). */
		a->st.conns_tls++;
		free(d);
		c->det = NULL;
		conn_unparsed(a, c);
		return true;
	}
	if (n) {
		for (size_t i = 0; i < ws_proto_count() && !claim; i++) {
			const struct ws_proto_ops *o = ws_proto_at(i);
			int r = o->detect(buf, n, dir, (enum ws_prole)c->role, server_port(c));

			if (r == WS_DETECT_YES)
				claim = o;
			else if (r == WS_DETECT_MORE)
				more = true;
		}
	}
	if (claim) {
		if (claim->init_at && claim->fini && claim->state_size <= sizeof(c->pinline))
			c->pst = claim->init_at(c->pinline, (enum ws_prole)c->role) == 0 ? c->pinline : NULL;
		else
			c->pst = claim->init((enum ws_prole)c->role);
		if (!c->pst) {
			a->st.conn_alloc_fail++;
			conn_unparsed(a, c);
			return true;
		}
		c->ops = claim;
		c->proto = claim->id;
		pstats(a, c)->connections++;
		c->det = NULL;
		for (int i = 0; d && i < d->n && c->proto != WS_PROTO_NONE; i++)
			feed_chunk(a, f, (enum ws_pdir)d->dir[i], &d->ch[i]);
		free(d);
		return c->proto == WS_PROTO_NONE;   /* gave up during the replay */
	}
	if (!d) {
		d = c->det = calloc(1, sizeof(*d));
		if (!d) {
			a->st.conn_alloc_fail++;
			conn_unparsed(a, c);
			return true;
		}
	}
	if (d->n >= WS_DETECT_CHUNKS) {
		a->st.conns_undetected++;
		conn_unparsed(a, c);
		return true;
	}
	if (more && n) {
		/* Hold it: the parser that says yes later needs these bytes too. */
		struct ws_chunk *h = &d->ch[d->n];

		*h = *ch;
		h->captured = take;
		h->data = d->bytes[d->n];
		if (take)
			memcpy(d->bytes[d->n], ch->data, take);
		d->dir[d->n++] = (uint8_t)dir;
		return true;
	}
	/* Refused (or nothing captured): count the try, hold nothing. A connection joined
	 * mid-message shows a message start a few chunks later. */
	d->dir[d->n] = (uint8_t)dir;
	d->ch[d->n] = (struct ws_chunk){ 0 };
	d->n++;
	return true;
}

/*
 * Datagrams (WS_F_DGRAM): an unconnected UDP socket talks to many peers under one sock
 * id, so its "connections" are (socket, peer) pairs: keyed by the sock id mixed with
 * the peer's address and port (odd: struct sock addresses are even, so a datagram key
 * never equals a TCP connection's). No TCP_CLOSE ends them: an entry with nothing
 * pending closes (after the grace) and comes back if the peer sends again.
 */
static uint64_t dgram_key(const struct ws_data_event *e)
{
	uint64_t h = 1469598103934665603ULL;

	for (int i = 0; i < 16; i++)
		h = (h ^ e->tuple.daddr[i]) * 1099511628211ULL;
	h = (h ^ e->tuple.dport) * 1099511628211ULL;
	return (e->sock_id ^ (h << 1)) | 1;
}

/* Ciphertext a TLS record adds to its plaintext, header included, at most, where the
 * agent relies on it: TLS 1.3 22, TLS 1.2 AES-GCM 29, ChaCha20-Poly1305 21; CBC with
 * its MAC and padding can exceed it (no position then, never a wrong one). */
#define WS_TLS_MAX_OV 96

/* A memory BIO's plaintext write (no seq): remembered until the next ciphertext write. */
static void note_plain_write(struct ws_conn_pos *p, const struct ws_data_event *e)
{
	if (!p->tls_nw_count) {
		p->tls_nw_enter = e->enter_ns;
		p->tls_nw_len = e->bytes;
	}
	if (p->tls_nw_count < UINT32_MAX)
		p->tls_nw_count++;
}

/*
 * Where, in a ciphertext write a memory BIO's runtime made, the record of the first
 * plaintext write since the previous ciphertext write begins: the write's first
 * records' lengths come with it (WS_F_TLS_RECS). It is the first application-data
 * record whose length fits that plaintext (longer, by at most WS_TLS_MAX_OV with its
 * header): usually the write's first record; after a ChangeCipherSpec and a Finished
 * when node writes them and a new TLS 1.3 connection's first request at once. The
 * records of later plaintext writes follow it. None fits, or no lengths (the write
 * began inside a record): -1, no position. (TLS 1.3 without the compatibility
 * ChangeCipherSpec sends Finished as application data: a request shorter than it may
 * be given the Finished's position, which no plaintext on the other end has.) Sets
 * *rec_len to the record's length.
 */
static int64_t first_write_record(const struct ws_conn_pos *p, const uint16_t *recs, unsigned k, uint32_t *rec_len)
{
	uint32_t plain = p->tls_nw_len < WS_TLS_MAX_PLAINTEXT ? p->tls_nw_len : WS_TLS_MAX_PLAINTEXT;
	int64_t off = 0;

	for (unsigned i = 0; i < k; i++) {
		uint32_t len = recs[i] & (uint16_t)~WS_TLS_REC_NOT_APP;

		if (!(recs[i] & WS_TLS_REC_NOT_APP) && len > plain && len + 5 - plain <= WS_TLS_MAX_OV) {
			*rec_len = len;
			return off;
		}
		off += 5 + (int64_t)len;
	}
	return -1;
}

/*
 * A ciphertext write on a TLS connection. When a memory BIO's plaintext writes wait for
 * it: the CLIENT requests that began in the first of them (cipher_wanted) take the seq
 * of that write's record plus their offset in the plaintext, the position the server's
 * SSL_read reports (rule 3). The record overhead is learnt when the write carried one
 * plaintext write (for tls_record_seq).
 */
static void cipher_write(struct ws_asm *a, struct ws_conn *c, struct ws_conn_pos *cp, const struct ws_data_event *e,
			 const uint8_t *payload)
{
	uint16_t recs[WS_TLS_MAX_RECS];
	unsigned k = 0;
	int64_t off = -1;
	struct ws_seq_key key;

	if ((e->hdr.flags & WS_F_TLS_RECS) && payload && e->captured && e->captured % 2 == 0 &&
	    e->captured <= sizeof(recs)) {
		k = e->captured / 2;
		memcpy(recs, payload, e->captured);
	}
	if (cp && cp->tls_nw_count) {
		uint32_t len = 0;

		off = first_write_record(cp, recs, k, &len);
		if (off >= 0 && cp->tls_nw_count == 1 && cp->tls_nw_len <= WS_TLS_MAX_PLAINTEXT) {
			uint8_t ov = (uint8_t)(5 + len - cp->tls_nw_len);

			cp->tls_ov = !cp->tls_ov_seen || ov == cp->tls_ov_seen ? ov : 0;
			cp->tls_ov_seen = cp->tls_ov ? ov : 0xff;
		}
		cp->tls_nw_count = 0;
		cp->tls_nw_enter = 0;
		cp->tls_nw_len = 0;
	}
	for (uint32_t i = 0; i < c->n_pending; i++) {
		struct ws_conn_pending *p = &c->pending[i];

		if (!p->seq_wanted)
			continue;
		p->seq_wanted = false;
		if (off < 0) {
			a->st.tls_seq_no_record++;
			continue;
		}
		memset(&key, 0, sizeof(key));
		memcpy(key.caddr, c->tuple.saddr, 16);
		memcpy(key.saddr, c->tuple.daddr, 16);
		key.cport = c->tuple.sport;
		key.sport = c->tuple.dport;
		key.seq = e->seq + (uint32_t)off + p->tls_off;
		ws_ctx_index_client(a->ctx, p->ref, &key);
		a->st.tls_seq_from_cipher++;
	}
}

/*
 * The ciphertext position of a TLS plaintext record (rule 3 keys requests by it). The
 * library names it when the call read from the socket; a record served from what an
 * earlier read brought (HTTP/2: the preface's record and the HEADERS' in one read) has
 * none, or repeats the previous one's (memory BIO). Its position is then the previous
 * record's end: previous seq + plaintext + the connection's record overhead (header,
 * explicit nonce, tag: 29 bytes for TLS 1.2 AES-GCM, 22 for TLS 1.3), learnt from the
 * connection's own writes (an SSL_write of p bytes that was one write of c bytes; a
 * later write that disagrees, CBC padding, drops it for good). Used only
 * inside what the ciphertext reads brought so far. A previous read that returned part
 * of a record gives a position inside a record, where no request starts: no link, never
 * a wrong one. Returns whether the record has a seq, *seq set.
 */
static bool tls_record_seq(struct ws_asm *a, struct ws_conn_pos *p, const struct ws_data_event *e, bool has_seq,
			   uint32_t *seq)
{
	unsigned d = e->dir & 1;

	if (e->dir == WS_DIR_EGRESS && has_seq && p->tls_cout_seq == e->seq && e->bytes &&
	    e->bytes <= 16384 && p->tls_cout_len > e->bytes && p->tls_cout_len - e->bytes <= 64) {
		uint8_t ov = (uint8_t)(p->tls_cout_len - e->bytes);

		/* A second measurement that disagrees (CBC padding varies) ends the guess. */
		p->tls_ov = !p->tls_ov_seen || ov == p->tls_ov_seen ? ov : 0;
		p->tls_ov_seen = p->tls_ov ? ov : 0xff;
	}
	if (has_seq) {
		p->tls_rec_end[d] = *seq + e->bytes;
		p->tls_pos_set |= (uint8_t)(1u << d);
		return true;
	}
	if (e->dir != WS_DIR_INGRESS || !p->tls_ov || (p->tls_pos_set & (5u << d)) != (5u << d))
		return false;
	uint32_t cand = p->tls_rec_end[d] + p->tls_ov;

	if ((int32_t)(p->tls_cipher_end[d] - cand) <= 0) {
		p->tls_pos_set &= (uint8_t)~(1u << d);   /* beyond what was read: lost track */
		return false;
	}
	*seq = cand;
	p->tls_rec_end[d] = cand + e->bytes;
	p->tls_seq[d] = cand;
	a->st.tls_seq_from_record++;
	return true;
}

/* A client connection to an injection destination that the kernel's sockhash may not
 * hold (open before the agent, or before its destination was selected): hand it over
 * once, so that its next requests are injected too. */
static void maybe_adopt(struct ws_asm *a, struct ws_conn *c)
{
	if (c->inj_known || !a->cfg.inject_adopt_fn || c->role == WS_ROLE_SERVER || !c->fd1 || !c->pid ||
	    (c->sock_id & 1))
		return;
	if (!a->cfg.inject_all &&
	    (!addr_is_local(a, c->tuple.daddr) || !ws_coexist_dst_selected(a->co, c->tuple.dport)))
		return;
	c->inj_known = true;
	a->cfg.inject_adopt_fn(a->cfg.inject_adopt_ctx, c->pid, c->fd1 - 1, &c->tuple);
}

static void adopt_each(void *ctx, struct ws_conn *c)
{
	maybe_adopt(ctx, c);
}

static void on_data(struct ws_asm *a, const struct ws_data_event *e, const uint8_t *payload)
{
	bool dgram = e->hdr.flags & WS_F_DGRAM;
	bool tls = e->hdr.flags & WS_F_TLS;
	struct ws_conn *c;

	/* The thread's readiness batches since its previous record came before this one. */
	on_batches(a, e->pid, e->tid, e->enter_ns ? e->enter_ns : e->exit_ns, &e->batch);
	on_phases(a, e->pid, e->tid, e->enter_ns ? e->enter_ns : e->exit_ns, &e->batch);
	c = conn_for(a, dgram ? dgram_key(e) : e->sock_id, &e->tuple, e->role, e->exit_ns);
	ws_waits_on_data(a->waits, e);
	a->st.data_events++;
	a->st.bytes_seen += e->bytes;
	a->st.bytes_captured += e->captured;
	if (!c)
		return;
	c->pid = e->pid;
	if (tls) {
		a->st.tls_records++;
		if (!c->tls)
			conn_to_tls(a, c, e->exit_ns);
	}
	bool has_seq = !dgram && !(e->hdr.flags & WS_F_NO_SEQ);
	uint32_t seq = e->seq;
	struct ws_conn_pos *pos = tls && !dgram ? ws_conn_pos_get(c) : NULL;
	if (pos && has_seq) {
		/* A library read served from what an earlier call's ciphertext read brought
		 * (Node's memory BIO binds to the preceding read) can name a position another
		 * plaintext record already named: that seq is not this message's start. */
		unsigned d = e->dir & 1;

		if ((pos->tls_seq_set & (1u << d)) && pos->tls_seq[d] == e->seq) {
			has_seq = false;
			a->st.tls_seq_reused++;
		} else {
			pos->tls_seq[d] = e->seq;
			pos->tls_seq_set |= (uint8_t)(1u << d);
		}
	}
	if (pos)
		has_seq = tls_record_seq(a, pos, e, has_seq, &seq);
	else if (tls && !dgram)
		has_seq = false;   /* out of memory: no position rather than a wrong one */
	if (pos && !has_seq && e->dir == WS_DIR_EGRESS) {
		/* a memory BIO's write: its messages' seqs are offsets in it until the
		 * ciphertext write names its start (cipher_names_request) */
		note_plain_write(pos, e);
		seq = 0;
	}
	struct feed_ctx f = {
		.a = a, .c = c, .pid = e->pid, .tid = e->tid, .fd = e->fd, .ts = e->exit_ns, .enter_ns = e->enter_ns,
		.tls_noseq = tls && (e->hdr.flags & WS_F_NO_SEQ) && e->dir == WS_DIR_EGRESS,
		.last_opened = { WS_NODE_NONE, 0 }, .resp_cause = { WS_NODE_NONE, 0 },
	};
	if (e->hdr.flags & WS_F_EOF) {
		/* The peer finished sending (on a TLS connection the library's read of the
		 * close). For a client that ends a close-delimited response. For a server it
		 * is a half-close: the response may still be written, so the connection's end
		 * (TCP_CLOSE) finalises parsing instead. */
		if (c->proto != WS_PROTO_UNKNOWN && c->proto != WS_PROTO_NONE && conn_role(c) == WS_PROLE_CLIENT)
			c->ops->close(c->pst, e->exit_ns, on_x, &f);
		return;
	}
	if ((e->hdr.flags & WS_F_CIPHER) || (c->tls && !tls)) {
		/* Ciphertext moved by the TLS library's own syscalls: counted, never parsed. */
		a->st.tls_cipher_records++;
		struct ws_conn_pos *cp = ws_conn_pos_get(c);

		if (!(e->hdr.flags & WS_F_NO_SEQ)) {
			unsigned d = e->dir & 1;

			if (cp) {
				cp->tls_cipher_end[d] = e->seq + e->bytes;
				cp->tls_pos_set |= (uint8_t)(4u << d);
			}
			if (e->dir == WS_DIR_EGRESS) {
				if (cp) {
					cp->tls_cout_seq = e->seq;
					cp->tls_cout_len = e->bytes;
				}
				cipher_write(a, c, cp, e, payload);
			}
		}
		return;
	}
	if (c->proto == WS_PROTO_NONE) {
		a->st.bytes_unparsed += e->bytes;
		return;
	}
	if (e->pid && ws_parentage_runtime(&a->par, e->pid, e->exit_ns) == WS_RUNTIME_GO)
		f.goid = e->rt_ctx;
	struct ws_chunk ch = {
		.data = payload,
		.captured = e->captured,
		.len = e->bytes,
		.seq = seq,
		.tid = e->tid,
		.enter_ns = e->enter_ns,
		.exit_ns = e->exit_ns,
		.has_seq = has_seq,
		.datagram = dgram,
		.tls = tls,
	};
	enum ws_pdir dir = e->dir == WS_DIR_INGRESS ? WS_PDIR_INGRESS : WS_PDIR_EGRESS;

	if (!dgram)
		note_task(c, dir, e);

	if (e->fd >= 0)
		c->fd1 = e->fd + 1;
	if (dir == WS_PDIR_EGRESS && !dgram && !tls)
		maybe_adopt(a, c);
	if (dir == WS_PDIR_EGRESS && has_seq && !dgram) {
		/* The record's seq counts every traceparent the kernel inserted into this
		 * connection, this write's included (seq = end - bytes written): the parser
		 * gets a stream without them (conn.h ws_conn_pos.inj_out). */
		uint32_t ins = ws_coexist_inserted(a->co, e->pid, e->tid, c->tuple.sport, c->tuple.dport,
						   e->enter_ns, e->exit_ns);
		struct ws_conn_pos *ip = ins ? ws_conn_pos_get(c) : c->pos;

		if (ip) {
			ch.seq = seq - ip->inj_out - ins;
			if (ins) {
				ip->inj_last_start = ch.seq;
				ip->inj_last_len = ins;
				ip->inj_out += ins;
			}
		}
	}

	if (dgram) {
		a->st.datagrams++;
		if (c->closing)
			ws_conn_unmark_closed(a->conns, c);
	}
	if (c->proto == WS_PROTO_UNKNOWN && detect(a, &f, dir, &ch)) {
		if (c->proto == WS_PROTO_NONE)
			a->st.bytes_unparsed += e->bytes;
	} else {
		feed_chunk(a, &f, dir, &ch);
		track_chunk(a, &f, e->dir == WS_DIR_INGRESS);
	}
	if (dgram && c->n_pending == 0) {
		ws_conn_mark_closed(a->conns, c, e->exit_ns);
	} else if (dgram && !c->dg_watched && c->ops && c->ops->expire) {
		if (a->n_dg_watch < WS_DG_WATCH) {
			a->dg_watch[a->n_dg_watch++] = c->sock_id;
			c->dg_watched = true;
		} else {
			a->st.dgram_watch_full++;
		}
	}
}

/* Datagram pairs still waiting for answers: let their parser end what timed out. */
static void dgram_tick(struct ws_asm *a, uint64_t now_ns)
{
	uint32_t i = 0;

	while (i < a->n_dg_watch) {
		struct ws_conn *c = ws_conn_find(a->conns, a->dg_watch[i]);

		if (c && c->n_pending && c->ops && c->pst && c->proto != WS_PROTO_NONE) {
			/* What ends now ends at the pair's last activity: when the query was
			 * (last) sent. How long its sender waited is not seen. */
			struct feed_ctx f = { .a = a, .c = c, .pid = c->pid, .ts = c->last_ns, .enter_ns = c->last_ns,
					      .last_opened = { WS_NODE_NONE, 0 }, .resp_cause = { WS_NODE_NONE, 0 } };

			c->ops->expire(c->pst, now_ns, on_x, &f);
		}
		if (c && c->n_pending) {
			i++;
			continue;
		}
		if (c) {
			c->dg_watched = false;
			ws_conn_mark_closed(a->conns, c, now_ns);
		}
		a->dg_watch[i] = a->dg_watch[--a->n_dg_watch];
	}
}

static void on_sock(struct ws_asm *a, const struct ws_sock_event *e)
{
	struct ws_conn *c;

	a->st.sock_events++;
	ws_waits_on_sock(a->waits, e);
	switch (e->kind) {
	case WS_SOCK_OPEN:
		/* accept/connect on a sock id we still hold: that connection is over, whether
		 * or not its end was reported (ws_conn_open). */
		c = conn_open(a, e->sock_id, &e->tuple, e->role, e->syscall, e->hdr.ts_ns);
		if (c && e->pid) {
			c->pid = e->pid;
			memcpy(c->comm, e->comm, sizeof(c->comm));
			c->comm[sizeof(c->comm) - 1] = '\0';
			/* What the connecting thread handles now is what the connection's first
			 * request is for (pools that connect for one caller). */
			if (e->syscall == WS_SYS_CONNECT)
				ws_coexist_connect(a->co, e->pid, e->tuple.dport, e->hdr.ts_ns);
			/* accepted (never a client), or connected when the kernel already took
			 * its destination (the sockops program put it in the sockhash then) */
			if (e->role == WS_ROLE_SERVER ||
			    (e->syscall == WS_SYS_CONNECT &&
			     (a->cfg.inject_all || ws_coexist_dst_known_at(a->co, e->tuple.dport, e->hdr.ts_ns))))
				c->inj_known = true;
			if (e->syscall == WS_SYS_CONNECT && c->requests == 0) {
				struct ws_actor *act;

				/* the phase the connect was made in (hdr.flags, ABI 8) */
				struct ws_loop_batch ph = { .flags = e->hdr.flags };

				on_phases(a, e->pid, e->tid, e->hdr.ts_ns, &ph);
				ws_parentage_cause_of(&a->par, e->pid, is_go(a, e->pid, e->hdr.ts_ns) ? 0 : e->tid,
						      e->hdr.ts_ns, e->hdr.flags & WS_BATCH_PHASES, &c->connect_cause);
				/* A loop's connect after its batch's last read: settled by what the
				 * loop does next (parentage.h). */
				ws_parentage_connected(&a->par, e->pid, e->tid, c->sock_id, &c->connect_cause);
				/* Connecting is acting on what the thread read, as a write is: a
				 * request read after it starts a new cause, not an ambiguous one. */
				act = ws_actor_get(a->actors, e->pid, e->tid, 0, e->hdr.ts_ns, false, NULL);
				if (act)
					act->loop_cause.egress_since = true;
				if (act && act->loop && !is_go(a, e->pid, e->hdr.ts_ns)) {
					c->connect_cause.loop_tid = e->tid;
					c->connect_cause.loop_batch = act->batch_seq;
				}
			}
		}
		break;
	case WS_SOCK_STATE:
		c = ws_conn_find(a->conns, e->sock_id);
		if (!c)
			break;
		if (e->state_new == 7 /* TCP_CLOSE */)
			ws_conn_mark_closed(a->conns, c, e->hdr.ts_ns);
		break;
	case WS_SOCK_FD_CLOSE:
		/* The fd number may be reused: a Go call still pending on it is dead. The
		 * last fd closing shows up as a TCP state change; one fd of several closing
		 * (fork, dup) ends nothing else. */
		ws_go_drop_call(a->go, e->pid, e->fd);
		break;
	default:
		break;
	}
}

int ws_asm_record(struct ws_asm *a, const void *data, size_t size)
{
	const struct ws_event_header *h = data;

	a->st.records++;
	if (size < sizeof(*h) || h->size > size)
		goto bad;
	switch (h->type) {
	case WS_EV_DATA: {
		const struct ws_data_event *e = data;

		if (h->size < sizeof(*e) || e->captured > e->bytes || e->captured > WS_MAX_PAYLOAD ||
		    sizeof(*e) + e->captured > h->size)
			goto bad;
		on_data(a, e, (const uint8_t *)data + sizeof(*e));
		return 0;
	}
	case WS_EV_SOCK:
		if (h->size < sizeof(struct ws_sock_event))
			goto bad;
		on_sock(a, data);
		return 0;
	case WS_EV_LOOP:
		if (h->size < sizeof(struct ws_loop_event))
			goto bad;
		on_loop(a, data);
		return 0;
	case WS_EV_TASK:
		if (h->size < sizeof(struct ws_task_event))
			goto bad;
		on_task(a, data);
		return 0;
	case WS_EV_TCP:
		if (h->size < sizeof(struct ws_tcp_event))
			goto bad;
		ws_waits_on_tcp(a->waits, data);
		return 0;
	case WS_EV_INJECT:
		if (h->size < sizeof(struct ws_inject_event))
			goto bad;
		ws_coexist_inject_record(a->co, data);
		return 0;
	case WS_EV_RT:
		if (h->size < sizeof(struct ws_rt_event))
			goto bad;
		a->st.rt_events++;
		ws_go_record(a->go, data, size);
		return 0;
	default:
		goto bad;
	}
bad:
	a->st.records_malformed++;
	return -EINVAL;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static size_t go_lineage(void *ctx, uint32_t pid, uint64_t goid, uint64_t *out, size_t max)
{
	return ws_go_lineage(ctx, pid, goid, out, max);
}

static struct ws_cause *conn_cause_of(void *ctx, uint64_t sock_id)
{
	struct ws_asm *a = ctx;
	struct ws_conn *c = ws_conn_find(a->conns, sock_id);

	return c ? &c->connect_cause : NULL;
}

void ws_asm_derive_key(const struct ws_asm *a, uint64_t out[2])
{
	ws_ctx_derive_key(a->ctx, out);
}

struct ws_asm *ws_asm_new(const struct ws_asm_config *cfg, ws_resource_fn res_fn, void *res_ctx,
			  ws_emit_fn emit, void *emit_ctx)
{
	struct ws_asm *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->cfg = *cfg;
	if (!a->cfg.max_threads)
		a->cfg.max_threads = 65536;
	a->res_fn = res_fn;
	a->res_ctx = res_ctx;
	a->emit = emit;
	a->emit_ctx = emit_ctx;
	if (!a->cfg.ctx.explain)
		a->cfg.ctx.explain = ws_parentage_explain;   /* wirespan.parent.rule on every span */
	a->ctx = ws_ctx_new(&a->cfg.ctx);
	a->waits = ws_waits_new(cfg->max_conns ? cfg->max_conns / 32 : 4096);
	a->conns = ws_conn_table_new(cfg->max_conns, cfg->conn_idle_ns, cfg->close_grace_ns, conn_fini, a);
	a->actors = ws_actors_new(a->cfg.max_threads, a->cfg.max_procs, a->cfg.actor_idle_ns);
	a->adopt = malloc(sizeof(*a->adopt));
	a->co = ws_coexist_new(cfg->keep_sdk_spans, cfg->sdk_log, cfg->inject_dst_fn, cfg->inject_dst_ctx);
	a->go = ws_go_new(NULL);
	if (!a->ctx || !a->conns || !a->actors || !a->adopt || !a->go || !a->co) {
		ws_asm_free(a, 0);
		return NULL;
	}
	ws_adopt_init(a->adopt, cfg->adopt_max_uses, cfg->adopt_max_age_ns);
	ws_parentage_init(&a->par, a->ctx, a->actors);
	a->par.runtime = cfg->runtime_fn;
	a->par.runtime_ctx = cfg->runtime_ctx;
	a->par.lineage = go_lineage;
	a->par.lineage_ctx = a->go;
	a->par.conn_cause = conn_cause_of;
	a->par.conn_cause_ctx = a;
	return a;
}

void ws_asm_free(struct ws_asm *a, uint64_t now_ns)
{
	if (!a)
		return;
	if (a->conns)
		ws_conn_table_free(a->conns, now_ns);
	ws_ctx_free(a->ctx);
	ws_waits_free(a->waits);
	ws_actors_free(a->actors);
	ws_go_free(a->go);
	free(a->adopt);
	ws_coexist_free(a->co);
	free(a);
}

void ws_asm_tick(struct ws_asm *a, uint64_t now_ns)
{
	dgram_tick(a, now_ns);
	ws_conn_table_tick(a->conns, now_ns);
	ws_actors_tick(a->actors, now_ns);
	ws_parentage_tick(&a->par, now_ns);   /* idle loops' answer-rule windows */
	ws_ctx_tick(a->ctx, now_ns, a->emit, a->emit_ctx);
}

void ws_asm_trim(struct ws_asm *a)
{
	ws_ctx_trim(a->ctx);
}

void ws_asm_flush(struct ws_asm *a, uint64_t now_ns)
{
	/* Connections still open keep their in-flight requests open: those are not
	 * complete and are counted as dropped by the flush. */
	ws_conn_table_tick(a->conns, now_ns);
	ws_parentage_tick(&a->par, UINT64_MAX / 2);   /* every answer-rule window closes */
	ws_ctx_flush(a->ctx, now_ns, a->emit, a->emit_ctx);
}

struct ws_parentage *ws_asm_parentage(struct ws_asm *a)
{
	return &a->par;
}

const struct ws_asm_stats *ws_asm_stats(const struct ws_asm *a)
{
	return &a->st;
}

const struct ws_conn_stats *ws_asm_conn_stats(const struct ws_asm *a)
{
	return ws_conn_table_stats(a->conns);
}

void ws_asm_report(const struct ws_asm *a, FILE *out)
{
	const struct ws_ctx_stats *cs = ws_ctx_stats(a->ctx);
	const struct ws_conn_stats *ns = ws_conn_table_stats(a->conns);

	fprintf(out, "  records_seen %" PRIu64 "\n", a->st.records);
	fprintf(out, "  records_malformed %" PRIu64 "\n", a->st.records_malformed);
	fprintf(out, "  data_events %" PRIu64 "\n", a->st.data_events);
	fprintf(out, "  sock_events %" PRIu64 "\n", a->st.sock_events);
	fprintf(out, "  bytes_received %" PRIu64 "\n", a->st.bytes_seen);
	fprintf(out, "  payload_bytes_received %" PRIu64 "\n", a->st.bytes_captured);
	fprintf(out, "  bytes_unparsed %" PRIu64 "\n", a->st.bytes_unparsed);
	fprintf(out, "  requests %" PRIu64 "\n", a->st.requests);
	fprintf(out, "  exchanges %" PRIu64 "\n", a->st.exchanges);
	fprintf(out, "  parse_errors %" PRIu64 "\n", a->st.parse_errors);
	fprintf(out, "  requests_uncaptured %" PRIu64 "\n", a->st.requests_uncaptured);
	fprintf(out, "  connections_undetected %" PRIu64 "\n", a->st.conns_undetected);
	fprintf(out, "  capture_policy_changes %" PRIu64 "\n", a->st.capture_changes);
	fprintf(out, "  conn_roles_told %" PRIu64 "\n", a->st.roles_told);
	fprintf(out, "  datagrams %" PRIu64 "\n", a->st.datagrams);
	fprintf(out, "  datagram_watch_full %" PRIu64 "\n", a->st.dgram_watch_full);
	fprintf(out, "  tls_records %" PRIu64 "\n", a->st.tls_records);
	fprintf(out, "  tls_cipher_records %" PRIu64 "\n", a->st.tls_cipher_records);
	fprintf(out, "  tls_seq_reused %" PRIu64 "\n", a->st.tls_seq_reused);
	fprintf(out, "  tls_seq_from_cipher %" PRIu64 "\n", a->st.tls_seq_from_cipher);
	fprintf(out, "  tls_seq_not_first %" PRIu64 "\n", a->st.tls_seq_not_first);
	fprintf(out, "  tls_seq_no_record %" PRIu64 "\n", a->st.tls_seq_no_record);
	fprintf(out, "  tls_seq_from_record_length %" PRIu64 "\n", a->st.tls_seq_from_record);
	fprintf(out, "  connections_tls %" PRIu64 "\n", a->st.conns_tls);
	for (size_t i = 0; i < ws_proto_count(); i++) {
		const struct ws_proto_ops *o = ws_proto_at(i);
		const struct ws_proto_stats *ps = &a->st.proto[o->id];

		fprintf(out, "  proto_%s_connections %" PRIu64 "\n", o->name, ps->connections);
		fprintf(out, "  proto_%s_requests %" PRIu64 "\n", o->name, ps->requests);
		fprintf(out, "  proto_%s_exchanges %" PRIu64 "\n", o->name, ps->exchanges);
		fprintf(out, "  proto_%s_parse_errors %" PRIu64 "\n", o->name, ps->parse_errors);
		fprintf(out, "  proto_%s_no_response %" PRIu64 "\n", o->name, ps->no_response);
		fprintf(out, "  proto_%s_requests_uncaptured %" PRIu64 "\n", o->name, ps->uncaptured);
		fprintf(out, "  proto_%s_given_up %" PRIu64 "\n", o->name, ps->given_up);
		fprintf(out, "  proto_%s_tls_upgrades %" PRIu64 "\n", o->name, ps->tls_upgrades);
		for (unsigned r = 1; r < o->n_errors && r < WS_PROTO_MAX_ERRORS; r++)
			if (ps->error_reason[r])
				fprintf(out, "  proto_%s_error_%s %" PRIu64 "\n", o->name,
					o->error_name ? o->error_name(r) : "unknown", ps->error_reason[r]);
		if (o->report)
			o->report(out);
	}
	fprintf(out, "  spans_produced %" PRIu64 "\n", cs->spans_emitted);
	fprintf(out, "  spans_dropped_table_full %" PRIu64 "\n", a->st.spans_no_node + cs->nodes_full);
	fprintf(out, "  spans_dropped_unfinished %" PRIu64 "\n", cs->spans_abandoned);
	for (int r = WS_RULE_TRACEPARENT; r < WS_RULE__MAX; r++)
		fprintf(out, "  parent_%s %" PRIu64 "\n", ws_parent_rule_name((enum ws_parent_rule)r), cs->rule[r]);
	fprintf(out, "  parent_index_collisions %" PRIu64 "\n", cs->index_collisions);
	fprintf(out, "  parent_root_injected_other_trace %" PRIu64 "\n", cs->forced_mismatch);
	fprintf(out, "  parent_through_hidden %" PRIu64 "\n", cs->through_hidden);
	fprintf(out, "  spans_in_flight %" PRIu64 "\n", cs->nodes_in_use);
	fprintf(out, "  spans_in_flight_max %" PRIu64 "\n", cs->nodes_in_use_max);
	fprintf(out, "  span_table_pressure_walks %" PRIu64 "\n", cs->pressure_reclaims);
	fprintf(out, "  span_free_list %" PRIu64 "\n", ws_ctx_spans_cached(a->ctx));
	fprintf(out, "  connections_tracked %" PRIu64 "\n", ns->active);
	fprintf(out, "  connections_opened %" PRIu64 "\n", ns->opened);
	fprintf(out, "  connections_closed %" PRIu64 "\n", ns->closed);
	fprintf(out, "  connections_evicted %" PRIu64 "\n", ns->evicted);
	fprintf(out, "  connections_expired %" PRIu64 "\n", ns->expired);
	fprintf(out, "  connections_removed %" PRIu64 "\n", ns->removed);
	fprintf(out, "  connections_replaced %" PRIu64 "\n", ns->replaced);
	const struct ws_actor_stats *as = ws_actors_stats(a->actors);
	ws_parentage_report(&a->par, out);
	fprintf(out, "  parentage_root_answer_unseen %" PRIu64 "\n", cs->defer_timeouts);
	fprintf(out, "  parent_traceparent_bounded %" PRIu64 "\n", a->adopt->bounded);
	ws_coexist_report(a->co, out);
	fprintf(out, "  loop_batches_seen %" PRIu64 "\n", a->st.loop_events);
	fprintf(out, "  loop_records_seen %" PRIu64 "\n", a->st.loop_records);
	fprintf(out, "  task_records_seen %" PRIu64 "\n", a->st.task_events);
	fprintf(out, "  runtime_records_seen %" PRIu64 "\n", a->st.rt_events);
	struct ws_go_stats gs;
	ws_go_get_stats(a->go, &gs);
	fprintf(out, "  go_spawns %" PRIu64 "\n", gs.spawns);
	fprintf(out, "  go_spawns_evicted %" PRIu64 "\n", gs.spawns_evicted);
	fprintf(out, "  go_calls %" PRIu64 "\n", gs.calls);
	fprintf(out, "  go_calls_taken %" PRIu64 "\n", gs.calls_taken);
	fprintf(out, "  go_calls_expired %" PRIu64 "\n", gs.calls_expired + gs.calls_evicted + gs.calls_dropped);
	fprintf(out, "  go_records_malformed %" PRIu64 "\n", gs.rt_malformed);
	fprintf(out, "  actors_tracked %" PRIu64 "\n", as->actors_active);
	fprintf(out, "  actors_table_full %" PRIu64 "\n", as->actors_full);
	fprintf(out, "  actors_serving_overflow %" PRIu64 "\n", as->serving_overflow);
	fprintf(out, "  processes_tracked %" PRIu64 "\n", as->procs_active);
	fprintf(out, "  processes_table_full %" PRIu64 "\n", as->procs_full);
	fprintf(out, "  conn_alloc_failures %" PRIu64 "\n", a->st.conn_alloc_fail + ns->alloc_fail);
}
