/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Span assembly: see assemble.h. Parentage rules are decided here and in context.c. */
#include "assemble.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../headers/wirespan_abi.h"
#include "conn.h"
#include "proto/http1.h"
#include "proto/http_util.h"

#define MAX_LOCAL_ADDRS 64
#define THREAD_SLOTS 4          /* server spans one thread may serve at once */

/* Threads currently serving SERVER spans (rule 2). */
struct thread_entry {
	uint32_t tid;
	uint32_t n;
	struct ws_node_ref refs[THREAD_SLOTS];
	struct thread_entry *next;
};

struct ws_asm {
	struct ws_asm_config cfg;
	struct ws_ctx *ctx;
	struct ws_conn_table *conns;
	ws_resource_fn res_fn;
	void *res_ctx;
	ws_emit_fn emit;
	void *emit_ctx;
	uint8_t local[MAX_LOCAL_ADDRS][16];
	size_t n_local;
	struct thread_entry **threads;
	uint32_t thread_mask;
	uint32_t n_threads;
	struct ws_asm_stats st;
};

/* Per-record context handed to the HTTP/1 parser's emit callback. */
struct feed_ctx {
	struct ws_asm *a;
	struct ws_conn *c;
	uint32_t pid;
	uint64_t ts;
};

/* ---- threads serving requests ---------------------------------------------- */

static struct thread_entry **thread_slot(struct ws_asm *a, uint32_t tid)
{
	struct thread_entry **pp = &a->threads[(tid * 2654435761u) & a->thread_mask];

	while (*pp && (*pp)->tid != tid)
		pp = &(*pp)->next;
	return pp;
}

static void thread_add(struct ws_asm *a, uint32_t tid, struct ws_node_ref ref)
{
	struct thread_entry **pp = thread_slot(a, tid);
	struct thread_entry *t = *pp;

	if (!t) {
		if (a->n_threads >= a->cfg.max_threads || !(t = calloc(1, sizeof(*t)))) {
			a->st.thread_table_full++;
			return;
		}
		t->tid = tid;
		*pp = t;
		a->n_threads++;
	}
	if (t->n < THREAD_SLOTS)
		t->refs[t->n++] = ref;
	else
		a->st.thread_table_full++;   /* more than THREAD_SLOTS at once: ambiguous anyway */
}

static void thread_del(struct ws_asm *a, uint32_t tid, struct ws_node_ref ref)
{
	struct thread_entry **pp = thread_slot(a, tid);
	struct thread_entry *t = *pp;

	if (!t)
		return;
	for (uint32_t i = 0; i < t->n; i++) {
		if (t->refs[i].idx == ref.idx && t->refs[i].gen == ref.gen) {
			t->refs[i] = t->refs[--t->n];
			break;
		}
	}
	if (t->n == 0) {
		*pp = t->next;
		free(t);
		a->n_threads--;
	}
}

/* ---- addresses ---------------------------------------------------------------- */

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void ws_addr_str(const uint8_t addr[16], char *out, size_t outlen)
{
	if (memcmp(addr, v4mapped_prefix, 12) == 0)
		inet_ntop(AF_INET, addr + 12, out, (socklen_t)outlen);
	else
		inet_ntop(AF_INET6, addr, out, (socklen_t)outlen);
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

/* ---- pending exchanges of a connection --------------------------------------- */

static struct ws_conn_pending *pending_find(struct ws_conn *c, uint32_t req_index)
{
	for (uint32_t i = 0; i < c->n_pending; i++)
		if (c->pending[i].req_index == req_index)
			return &c->pending[i];
	return NULL;
}

static void pending_del(struct ws_asm *a, struct ws_conn *c, struct ws_conn_pending *p)
{
	if (p->server_tid)
		thread_del(a, p->server_tid, p->ref);
	*p = c->pending[--c->n_pending];
}

/* ---- span building ---------------------------------------------------------------- */

static bool is_server(const struct ws_conn *c)
{
	return c->h1.role == H1_ROLE_SERVER;
}

static void set_addr_attr(struct ws_span *s, const char *key, const uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN];

	ws_addr_str(addr, buf, sizeof(buf));
	ws_span_set_str(s, key, buf);
}

/* Host header "name[:port]" or "[v6]:port" -> name and port (0 when absent). */
static void split_host(const char *host, char *name, size_t namelen, int *port)
{
	const char *colon = NULL, *end;
	size_t n;

	*port = 0;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end) {
			snprintf(name, namelen, "%s", host);
			return;
		}
		n = (size_t)(end - host - 1);
		if (n >= namelen)
			n = namelen - 1;
		memcpy(name, host + 1, n);
		name[n] = '\0';
		if (end[1] == ':')
			colon = end + 1;
	} else {
		colon = strrchr(host, ':');
		n = colon ? (size_t)(colon - host) : strlen(host);
		if (n >= namelen)
			n = namelen - 1;
		memcpy(name, host, n);
		name[n] = '\0';
	}
	if (colon) {
		char *e;
		long p = strtol(colon + 1, &e, 10);

		if (*e == '\0' && p > 0 && p < 65536)
			*port = (int)p;
	}
}

static void build_request_attrs(struct ws_asm *a, struct ws_conn *c, struct ws_span *s, const struct h1_request *rq)
{
	char path[H1_TARGET_MAX], query[H1_TARGET_MAX], thost[H1_HOST_MAX], route[256];
	char redacted[H1_TARGET_MAX], hostname[H1_HOST_MAX], peer[INET6_ADDRSTRLEN];
	const struct ws_tuple *t = &c->tuple;
	bool server = is_server(c);
	int hport = 0;

	path[0] = query[0] = thost[0] = '\0';
	ws_http_target_split(rq->target, path, sizeof(path), query, sizeof(query), thost, sizeof(thost));
	ws_http_route_guess(path, route, sizeof(route));

	bool known = ws_http_method_known(rq->method);
	snprintf(s->name, sizeof(s->name), "%s %s", known ? rq->method : "HTTP", route[0] ? route : "/");
	s->kind = server ? WS_KIND_SERVER : WS_KIND_CLIENT;

	ws_span_set_str(s, "http.request.method", known ? rq->method : "_OTHER");
	if (!known)
		ws_span_set_str(s, "http.request.method_original", rq->method);
	if (path[0])
		ws_span_set_str(s, "url.path", path);
	redacted[0] = '\0';
	if (query[0]) {
		ws_http_redact_query(query, redacted, sizeof(redacted));
		ws_span_set_str(s, "url.query", redacted);
	}
	ws_span_set_str(s, "url.scheme", "http");
	ws_span_set_str(s, "network.protocol.name", "http");
	ws_span_set_str(s, "network.protocol.version", rq->version_minor ? "1.1" : "1.0");
	ws_addr_str(t->daddr, peer, sizeof(peer));
	ws_span_set_str(s, "network.peer.address", peer);
	ws_span_set_int(s, "network.peer.port", t->dport);
	if (rq->target_truncated || rq->headers_truncated)
		ws_span_set_bool(s, "wirespan.capture.truncated", true);

	/* server.address: the Host the client asked for, else the server's socket address. */
	const char *host = thost[0] ? thost : rq->host;
	hostname[0] = '\0';
	if (host[0])
		split_host(host, hostname, sizeof(hostname), &hport);
	if (server) {
		ws_span_set_str(s, "client.address", peer);
		ws_span_set_int(s, "client.port", t->dport);
		if (hostname[0])
			ws_span_set_str(s, "server.address", hostname);
		else
			set_addr_attr(s, "server.address", t->saddr);
		ws_span_set_int(s, "server.port", hport ? hport : t->sport);
	} else {
		char full[H1_TARGET_MAX + H1_HOST_MAX + 16];
		int sport = hport ? hport : t->dport;

		if (hostname[0])
			ws_span_set_str(s, "server.address", hostname);
		else
			ws_span_set_str(s, "server.address", peer);
		ws_span_set_int(s, "server.port", sport);
		/* url.full never carries credentials (ws_http_target_split drops them) and has
		 * sensitive query values redacted. */
		const char *h = hostname[0] ? hostname : peer;
		bool v6 = strchr(h, ':') != NULL;
		snprintf(full, sizeof(full), "http://%s%s%s%s%d%s%s%s", v6 ? "[" : "", h, v6 ? "]" : "",
			 ":", sport, path[0] ? path : "/", redacted[0] ? "?" : "", redacted);
		ws_span_set_str(s, "url.full", full);
	}
}

static void open_span(struct feed_ctx *f, const struct h1_event *ev)
{
	struct ws_asm *a = f->a;
	struct ws_conn *c = f->c;
	const struct h1_request *rq = &ev->req;
	struct ws_span *s;
	uint8_t tid[16], sid[8], flags;
	bool server = is_server(c);

	a->st.http_requests++;
	if (!rq->method[0]) {
		/* The request's start was not captured (lost records, budget): its exchange is
		 * real but nothing about it is known; a span would be invented. */
		a->st.http_requests_uncaptured++;
		return;
	}
	if (c->n_pending > H1_MAX_PENDING) {
		a->st.spans_no_node++;
		return;
	}
	struct ws_node_ref ref = ws_ctx_open(a->ctx, f->ts, &s);
	if (!ws_node_ref_valid(ref))
		return;   /* counted by the context (nodes_full) */
	struct ws_resource *res = a->res_fn ? a->res_fn(a->res_ctx, f->pid, c->comm) : NULL;
	if (res) {
		ws_resource_ref(res);
		s->res = res;
	}
	build_request_attrs(a, c, s, rq);

	struct ws_conn_pending *p = &c->pending[c->n_pending++];
	p->req_index = ev->req_index;
	p->ref = ref;
	p->server_tid = 0;

	/* Rule 1: a valid traceparent wins. */
	bool adopted = rq->traceparent[0] && ws_traceparent_parse(rq->traceparent, tid, sid, &flags) == 0;
	if (adopted)
		ws_ctx_parent_remote(a->ctx, ref, tid, sid, flags);

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
	key.seq = rq->t.seq;

	if (server) {
		if (rq->t.first_tid) {
			p->server_tid = rq->t.first_tid;
			thread_add(a, p->server_tid, ref);
		}
		if (!adopted) {
			/* Rule 3: only a client on this host can have written these bytes where
			 * we could see it. Otherwise rule 4. */
			if (rq->t.has_seq && addr_is_local(a, c->tuple.daddr))
				ws_ctx_await_peer(a->ctx, ref, &key, f->ts);
			else
				ws_ctx_make_root(a->ctx, ref, WS_RULE_ROOT);
		}
	} else {
		if (rq->t.has_seq)
			ws_ctx_index_client(a->ctx, ref, &key);
		if (!adopted) {
			/* Rule 2: the writing thread serves exactly one request. */
			struct thread_entry *t = *thread_slot(a, rq->t.first_tid);

			if (t && t->n == 1)
				ws_ctx_parent_local(a->ctx, ref, t->refs[0]);
			else
				ws_ctx_make_root(a->ctx, ref, t && t->n > 1 ? WS_RULE_ROOT_AMBIGUOUS : WS_RULE_ROOT);
		}
	}
}

static void finish_span(struct feed_ctx *f, const struct h1_event *ev)
{
	struct ws_asm *a = f->a;
	struct ws_conn *c = f->c;
	struct ws_conn_pending *p = pending_find(c, ev->req_index);
	bool server = is_server(c);

	a->st.http_exchanges++;
	if (!p)
		return;
	struct ws_span *s = ws_ctx_span(a->ctx, p->ref);
	if (s) {
		const struct h1_response *rs = &ev->resp;
		/* SERVER: from the exit of the first read that returned request bytes to the
		 * entry of the write that sent the last response byte. That write's own
		 * duration is the kernel carrying the bytes to the peer (on loopback the
		 * receiver is woken inside it): transfer time the client waits through, not
		 * server work. With these stamps a server span nests in its client span by
		 * causality: the client's write starts before the server's read returns, and
		 * the server's last write starts before the client's last read returns.
		 * CLIENT: from the entry of its first request write to the exit of its last
		 * response read. */
		uint64_t start = server ? ev->req.t.first_exit_ns : ev->req.t.first_enter_ns;
		uint64_t end = server ? rs->t.last_enter_ns : rs->t.last_exit_ns;

		ws_span_set_int(s, "http.response.status_code", rs->status);
		if (rs->content_length >= 0 || rs->body_bytes)
			ws_span_set_int(s, "http.response.body.size", (int64_t)rs->body_bytes);
		if (rs->headers_truncated)
			ws_span_set_bool(s, "wirespan.capture.truncated", true);
		if (ws_http_status_is_error(rs->status, !server)) {
			s->status_code = WS_STATUS_ERROR;
			if (rs->status >= 500 || !server)
				snprintf(s->status_message, sizeof(s->status_message), "HTTP %u", rs->status);
		}
		ws_ctx_finish(a->ctx, p->ref, start, end);
	}
	pending_del(a, c, p);
}

static void fail_span(struct feed_ctx *f, const struct h1_event *ev)
{
	struct ws_asm *a = f->a;
	struct ws_conn *c = f->c;
	struct ws_conn_pending *p;

	if (ev->err < 32)
		a->st.http_error_reason[ev->err]++;
	if (ev->err != H1_ERR_CLOSED_INCOMPLETE)
		a->st.http_parse_errors++;
	if (!ev->has_request || !(p = pending_find(c, ev->req_index)))
		return;
	struct ws_span *s = ws_ctx_span(a->ctx, p->ref);
	if (s && ev->err == H1_ERR_CLOSED_INCOMPLETE) {
		/* The request is real and so is its lack of a response. */
		bool server = is_server(c);
		uint64_t start = server ? ev->req.t.first_exit_ns : ev->req.t.first_enter_ns;

		a->st.http_no_response++;
		s->status_code = WS_STATUS_ERROR;
		snprintf(s->status_message, sizeof(s->status_message), "connection closed before the response completed");
		ws_span_set_str(s, "error.type", "connection_closed");
		ws_ctx_finish(a->ctx, p->ref, start, f->ts > start ? f->ts : start);
	} else {
		ws_ctx_abandon(a->ctx, p->ref);
	}
	pending_del(a, c, p);
}

static void on_h1(void *ctx, const struct h1_event *ev)
{
	struct feed_ctx *f = ctx;

	switch (ev->type) {
	case H1_EV_REQUEST:
		open_span(f, ev);
		break;
	case H1_EV_EXCHANGE:
		finish_span(f, ev);
		break;
	case H1_EV_ERROR:
		fail_span(f, ev);
		break;
	default:
		break;
	}
}

/* ---- connections ---------------------------------------------------------------- */

static void conn_fini(void *ctx, struct ws_conn *c, uint64_t now_ns)
{
	struct ws_asm *a = ctx;

	if (c->h1_ready && !c->h1.dead) {
		struct feed_ctx f = { a, c, c->pid, now_ns };

		h1_conn_close(&c->h1, now_ns, on_h1, &f);
	}
	/* Whatever the parser did not end (evicted, expired) is dropped. */
	while (c->n_pending) {
		ws_ctx_abandon(a->ctx, c->pending[0].ref);
		pending_del(a, c, &c->pending[0]);
	}
}

static int conn_setup(struct ws_asm *a, struct ws_conn *c, const struct ws_tuple *t, uint8_t role)
{
	enum h1_role hr = role == WS_ROLE_SERVER ? H1_ROLE_SERVER :
			  role == WS_ROLE_CLIENT ? H1_ROLE_CLIENT : H1_ROLE_DETECT;

	c->tuple = *t;
	c->role = role;
	if (h1_conn_init(&c->h1, hr) != 0)
		return -ENOMEM;
	c->h1_ready = true;
	c->proto = WS_PROTO_UNKNOWN;
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

static void on_data(struct ws_asm *a, const struct ws_data_event *e, const uint8_t *payload)
{
	struct ws_conn *c = conn_for(a, e->sock_id, &e->tuple, e->role, e->exit_ns);

	a->st.data_events++;
	a->st.bytes_seen += e->bytes;
	a->st.bytes_captured += e->captured;
	if (!c)
		return;
	c->pid = e->pid;
	if (c->proto == WS_PROTO_NONE || c->h1.dead) {
		c->proto = WS_PROTO_NONE;
		a->st.bytes_unparsed += e->bytes;
		return;
	}
	struct feed_ctx f = { a, c, e->pid, e->exit_ns };
	if (e->hdr.flags & WS_F_EOF) {
		/* The peer finished sending. For a client that ends a close-delimited response.
		 * For a server it is a half-close: the response may still be written, so the
		 * connection's end (TCP_CLOSE) finalises parsing instead. */
		if (c->h1.role == H1_ROLE_CLIENT)
			h1_conn_close(&c->h1, e->exit_ns, on_h1, &f);
		return;
	}
	struct h1_chunk ch = {
		.data = payload,
		.captured = e->captured,
		.len = e->bytes,
		.seq = e->seq,
		.tid = e->tid,
		.enter_ns = e->enter_ns,
		.exit_ns = e->exit_ns,
		.has_seq = !(e->hdr.flags & WS_F_NO_SEQ),
	};
	h1_conn_feed(&c->h1, e->dir == WS_DIR_INGRESS ? H1_DIR_INGRESS : H1_DIR_EGRESS, &ch, on_h1, &f);
	if (c->h1.dead)
		c->proto = WS_PROTO_NONE;
	else if (c->h1.role != H1_ROLE_DETECT)
		c->proto = WS_PROTO_HTTP1;
}

static void on_sock(struct ws_asm *a, const struct ws_sock_event *e)
{
	struct ws_conn *c;

	a->st.sock_events++;
	switch (e->kind) {
	case WS_SOCK_OPEN:
		/* accept/connect on a sock id we still hold: that connection is over, whether
		 * or not its end was reported (ws_conn_open). */
		c = conn_open(a, e->sock_id, &e->tuple, e->role, e->syscall, e->hdr.ts_ns);
		if (c && e->pid) {
			c->pid = e->pid;
			memcpy(c->comm, e->comm, sizeof(c->comm));
			c->comm[sizeof(c->comm) - 1] = '\0';
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
	default:
		/* The last fd closing shows up as a TCP state change; one fd of several closing
		 * (fork, dup) ends nothing. */
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
	default:
		goto bad;
	}
bad:
	a->st.records_malformed++;
	return -EINVAL;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

struct ws_asm *ws_asm_new(const struct ws_asm_config *cfg, ws_resource_fn res_fn, void *res_ctx,
			  ws_emit_fn emit, void *emit_ctx)
{
	struct ws_asm *a = calloc(1, sizeof(*a));
	uint32_t nb = 1;

	if (!a)
		return NULL;
	a->cfg = *cfg;
	if (!a->cfg.max_threads)
		a->cfg.max_threads = 65536;
	while (nb < a->cfg.max_threads / 4 && nb < (1u << 20))
		nb <<= 1;
	a->threads = calloc(nb, sizeof(*a->threads));
	a->thread_mask = nb - 1;
	a->res_fn = res_fn;
	a->res_ctx = res_ctx;
	a->emit = emit;
	a->emit_ctx = emit_ctx;
	a->ctx = ws_ctx_new(&cfg->ctx);
	a->conns = ws_conn_table_new(cfg->max_conns, cfg->conn_idle_ns, cfg->close_grace_ns, conn_fini, a);
	if (!a->threads || !a->ctx || !a->conns) {
		ws_asm_free(a, 0);
		return NULL;
	}
	return a;
}

void ws_asm_free(struct ws_asm *a, uint64_t now_ns)
{
	if (!a)
		return;
	if (a->conns)
		ws_conn_table_free(a->conns, now_ns);
	ws_ctx_free(a->ctx);
	if (a->threads) {
		for (uint32_t i = 0; i <= a->thread_mask; i++) {
			struct thread_entry *t = a->threads[i];

			while (t) {
				struct thread_entry *n = t->next;
				free(t);
				t = n;
			}
		}
		free(a->threads);
	}
	free(a);
}

void ws_asm_tick(struct ws_asm *a, uint64_t now_ns)
{
	ws_conn_table_tick(a->conns, now_ns);
	ws_ctx_tick(a->ctx, now_ns, a->emit, a->emit_ctx);
}

void ws_asm_flush(struct ws_asm *a, uint64_t now_ns)
{
	/* Connections still open keep their in-flight requests open: those are not
	 * complete and are counted as dropped by the flush. */
	ws_conn_table_tick(a->conns, now_ns);
	ws_ctx_flush(a->ctx, now_ns, a->emit, a->emit_ctx);
}

const struct ws_asm_stats *ws_asm_stats(const struct ws_asm *a)
{
	return &a->st;
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
	fprintf(out, "  http_requests %" PRIu64 "\n", a->st.http_requests);
	fprintf(out, "  http_exchanges %" PRIu64 "\n", a->st.http_exchanges);
	fprintf(out, "  http_parse_errors %" PRIu64 "\n", a->st.http_parse_errors);
	for (int i = 1; i < H1_ERR__MAX && i < 32; i++)
		if (a->st.http_error_reason[i])
			fprintf(out, "  http_error_%s %" PRIu64 "\n", h1_error_name((enum h1_error)i),
				a->st.http_error_reason[i]);
	fprintf(out, "  http_no_response %" PRIu64 "\n", a->st.http_no_response);
	fprintf(out, "  http_requests_uncaptured %" PRIu64 "\n", a->st.http_requests_uncaptured);
	fprintf(out, "  spans_produced %" PRIu64 "\n", cs->spans_emitted);
	fprintf(out, "  spans_dropped_table_full %" PRIu64 "\n", a->st.spans_no_node + cs->nodes_full);
	fprintf(out, "  spans_dropped_unfinished %" PRIu64 "\n", cs->spans_abandoned);
	for (int r = WS_RULE_TRACEPARENT; r < WS_RULE__MAX; r++)
		fprintf(out, "  parent_%s %" PRIu64 "\n", ws_parent_rule_name((enum ws_parent_rule)r), cs->rule[r]);
	fprintf(out, "  parent_index_collisions %" PRIu64 "\n", cs->index_collisions);
	fprintf(out, "  spans_in_flight %" PRIu64 "\n", cs->nodes_in_use);
	fprintf(out, "  connections_tracked %" PRIu64 "\n", ns->active);
	fprintf(out, "  connections_opened %" PRIu64 "\n", ns->opened);
	fprintf(out, "  connections_closed %" PRIu64 "\n", ns->closed);
	fprintf(out, "  connections_evicted %" PRIu64 "\n", ns->evicted);
	fprintf(out, "  connections_expired %" PRIu64 "\n", ns->expired);
	fprintf(out, "  connections_removed %" PRIu64 "\n", ns->removed);
	fprintf(out, "  connections_replaced %" PRIu64 "\n", ns->replaced);
	fprintf(out, "  threads_table_full %" PRIu64 "\n", a->st.thread_table_full);
	fprintf(out, "  conn_alloc_failures %" PRIu64 "\n", a->st.conn_alloc_fail + ns->alloc_fail);
}
