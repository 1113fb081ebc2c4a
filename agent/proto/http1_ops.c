/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/1 behind the protocol interface (proto.h): the parser of http1.c, its records
 * turned into exchange records, and the span content of an HTTP/1 exchange (OTel HTTP
 * semantic conventions: names "{method} {route}", url.*, server.*, client.*).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../headers/wirespan_abi.h"
#include "../span.h"
#include "http1.h"
#include "http_util.h"
#include "proto.h"

/* One allocation per connection: this, then the parser's state (h1_conn_init_in). The
 * size is a constant for the ops table; checked against h1_impl_size() at init. */
#define H1_OPS_HEAD 48
#define H1_OPS_STATE_SIZE (H1_OPS_HEAD + H1_IMPL_MAX)
struct h1_ops_state {
	struct h1_conn h1;
	ws_x_emit_fn emit;         /* during feed/close: where records go */
	void *ctx;
	_Alignas(16) unsigned char impl[];
};

static int h1o_detect(const uint8_t *data, uint32_t len, enum ws_pdir dir, enum ws_prole role, uint16_t port)
{
	int r = h1_detect(data, len);

	if (r < 0)
		return WS_DETECT_MORE;
	return r > 0 ? WS_DETECT_YES : WS_DETECT_NO;
}

_Static_assert(sizeof(struct h1_ops_state) <= H1_OPS_HEAD, "h1_ops_state head outgrew H1_OPS_HEAD");

static size_t h1o_state_size(void)
{
	return sizeof(struct h1_ops_state) + h1_impl_size();
}

static int h1o_init_at(void *mem, enum ws_prole role)
{
	struct h1_ops_state *s = mem;
	enum h1_role hr = role == WS_PROLE_SERVER ? H1_ROLE_SERVER :
			  role == WS_PROLE_CLIENT ? H1_ROLE_CLIENT : H1_ROLE_DETECT;

	if (h1o_state_size() > H1_OPS_STATE_SIZE)
		return -ENOMEM;   /* the constant above is out of date: refuse, never overrun */
	s->emit = NULL;
	s->ctx = NULL;
	return h1_conn_init_in(&s->h1, hr, s->impl);
}

static void *h1o_init(enum ws_prole role)
{
	void *s = malloc(h1o_state_size() > H1_OPS_STATE_SIZE ? h1o_state_size() : H1_OPS_STATE_SIZE);

	if (s && h1o_init_at(s, role) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* An HTTP/1 record as an exchange record. */
static void h1o_forward(void *ctx, const struct h1_event *ev)
{
	struct h1_ops_state *s = ctx;
	struct ws_exchange x;

	memset(&x, 0, sizeof(x));
	x.type = ev->type == H1_EV_REQUEST ? WS_X_REQUEST : ev->type == H1_EV_EXCHANGE ? WS_X_EXCHANGE : WS_X_ERROR;
	x.proto = WS_PROTO_HTTP1;
	x.err = ev->err;
	x.req_index = ev->req_index;
	x.has_request = ev->has_request;
	x.has_response = ev->has_response;
	x.closed = ev->err == H1_ERR_CLOSED_INCOMPLETE;
	x.req = ev->req.t;
	x.resp = ev->resp.t;
	if (ev->type == H1_EV_REQUEST) {
		/* The request's start was not captured: nothing about it is known. */
		x.uncaptured = !ev->req.method[0];
		x.truncated = ev->req.target_truncated || ev->req.headers_truncated;
	} else if (ev->type == H1_EV_EXCHANGE) {
		x.truncated = ev->resp.headers_truncated;
	}
	if (ev->has_request && ev->req.traceparent[0]) {
		x.traceparent = ev->req.traceparent;
		x.tracestate = ev->req.tracestate[0] ? ev->req.tracestate : NULL;
	}
	x.detail = ev;
	s->emit(s->ctx, &x);
}

static int h1o_feed(void *st, enum ws_pdir dir, const struct ws_chunk *ch, ws_x_emit_fn emit, void *ctx)
{
	struct h1_ops_state *s = st;

	s->emit = emit;
	s->ctx = ctx;
	h1_conn_feed(&s->h1, dir == WS_PDIR_INGRESS ? H1_DIR_INGRESS : H1_DIR_EGRESS, ch, h1o_forward, s);
	return s->h1.dead ? -1 : 0;
}

static void h1o_close(void *st, uint64_t ts_ns, ws_x_emit_fn emit, void *ctx)
{
	struct h1_ops_state *s = st;

	s->emit = emit;
	s->ctx = ctx;
	if (!s->h1.dead)
		h1_conn_close(&s->h1, ts_ns, h1o_forward, s);
}

static void h1o_fini(void *st)
{
	struct h1_ops_state *s = st;

	h1_conn_free(&s->h1);
}

static void h1o_free(void *st)
{
	h1o_fini(st);
	free(st);
}

static enum ws_prole h1o_role(const void *st)
{
	const struct h1_ops_state *s = st;

	return s->h1.role == H1_ROLE_SERVER ? WS_PROLE_SERVER :
	       s->h1.role == H1_ROLE_CLIENT ? WS_PROLE_CLIENT : WS_PROLE_UNKNOWN;
}

static enum ws_capture h1o_capture(const void *st)
{
	const struct h1_ops_state *s = st;

	return s->h1.dead ? WS_CAPTURE_OFF : WS_CAPTURE_DEFAULT;
}

/* ---- span content ------------------------------------------------------------- */

/* A bounded string being appended to (snprintf's truncation, without its parsing of a
 * format for every span). */
struct sbuf {
	char *p;
	size_t cap, len;      /* cap >= 1 */
};

static void sb_put(struct sbuf *b, const char *str)
{
	size_t n = strlen(str);

	if (n > b->cap - 1 - b->len)
		n = b->cap - 1 - b->len;
	memcpy(b->p + b->len, str, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_uint(struct sbuf *b, unsigned v)
{
	char t[12];
	int k = (int)sizeof(t) - 1;

	t[k] = '\0';
	do {
		t[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sb_put(b, t + k);
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

static void h1o_span_request(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct h1_event *ev = x->detail;
	const struct h1_request *rq = &ev->req;
	char path[H1_TARGET_MAX], query[H1_TARGET_MAX], thost[H1_HOST_MAX], route[256];
	char redacted[H1_TARGET_MAX], hostname[H1_HOST_MAX], peer[INET6_ADDRSTRLEN], local[INET6_ADDRSTRLEN];
	const struct ws_tuple *t = si->tuple;
	bool server = si->role == WS_PROLE_SERVER;
	int hport = 0;

	path[0] = query[0] = thost[0] = '\0';
	ws_http_target_split(rq->target, path, sizeof(path), query, sizeof(query), thost, sizeof(thost));
	ws_http_route_guess(path, route, sizeof(route));

	bool known = ws_http_method_known(rq->method);
	struct sbuf nb = { s->name, sizeof(s->name), 0 };

	sb_put(&nb, known ? rq->method : "HTTP");
	sb_put(&nb, " ");
	sb_put(&nb, route[0] ? route : "/");

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
	ws_span_set_str(s, "url.scheme", si->tls ? "https" : "http");
	ws_span_set_str(s, "network.protocol.name", "http");
	ws_span_set_str(s, "network.protocol.version", rq->version_minor ? "1.1" : "1.0");
	ws_proto_addr_str(t->daddr, peer, sizeof(peer));
	ws_span_set_str(s, "network.peer.address", peer);
	ws_span_set_int(s, "network.peer.port", t->dport);

	/* server.address: the Host the client asked for, else the server's socket address. */
	const char *host = thost[0] ? thost : rq->host;
	hostname[0] = '\0';
	if (host[0])
		split_host(host, hostname, sizeof(hostname), &hport);
	if (server) {
		ws_span_set_str(s, "client.address", peer);
		ws_span_set_int(s, "client.port", t->dport);
		if (hostname[0]) {
			ws_span_set_str(s, "server.address", hostname);
		} else {
			ws_proto_addr_str(t->saddr, local, sizeof(local));
			ws_span_set_str(s, "server.address", local);
		}
		ws_span_set_int(s, "server.port", hport ? hport : t->sport);
	} else {
		char full[H1_TARGET_MAX + H1_HOST_MAX + 24];
		int sport = hport ? hport : t->dport;

		ws_span_set_str(s, "server.address", hostname[0] ? hostname : peer);
		ws_span_set_int(s, "server.port", sport);
		/* url.full never carries credentials (ws_http_target_split drops them) and has
		 * sensitive query values redacted. */
		const char *h = hostname[0] ? hostname : peer;
		bool v6 = strchr(h, ':') != NULL;
		struct sbuf fb = { full, sizeof(full), 0 };

		sb_put(&fb, si->tls ? "https://" : "http://");
		sb_put(&fb, v6 ? "[" : "");
		sb_put(&fb, h);
		sb_put(&fb, v6 ? "]:" : ":");
		sb_uint(&fb, (unsigned)sport);
		sb_put(&fb, path[0] ? path : "/");
		sb_put(&fb, redacted[0] ? "?" : "");
		sb_put(&fb, redacted);
		ws_span_set_str(s, "url.full", full);
	}
}

static void h1o_span_response(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct h1_event *ev = x->detail;
	const struct h1_response *rs = &ev->resp;
	bool server = si->role == WS_PROLE_SERVER;

	ws_span_set_int(s, "http.response.status_code", rs->status);
	if (rs->content_length >= 0 || rs->body_bytes)
		ws_span_set_int(s, "http.response.body.size", (int64_t)rs->body_bytes);
	if (ws_http_status_is_error(rs->status, !server)) {
		s->status_code = WS_STATUS_ERROR;
		if (rs->status >= 500 || !server)
			snprintf(s->status_message, sizeof(s->status_message), "HTTP %u", rs->status);
	}
}

static const char *h1o_error_name(unsigned err)
{
	return h1_error_name((enum h1_error)err);
}

static void h1o_report(FILE *out)
{
	struct h1_pool_stats ps;

	h1_pool_get_stats(&ps);
	fprintf(out, "  proto_http1_pool_block_bytes %" PRIu64 "\n", ps.block_size);
	fprintf(out, "  proto_http1_pool_in_use %" PRIu64 "\n", ps.in_use);
	fprintf(out, "  proto_http1_pool_in_use_max %" PRIu64 "\n", ps.in_use_max);
	fprintf(out, "  proto_http1_pool_free %" PRIu64 "\n", ps.free_blocks);
	fprintf(out, "  proto_http1_pool_exhausted %" PRIu64 "\n", ps.exhausted);
	fprintf(out, "  proto_http1_fields_dropped %" PRIu64 "\n", ps.fields_dropped);
}

const struct ws_proto_ops ws_proto_http1 = {
	.id = WS_PROTO_HTTP1,
	.name = "http1",
	.detect = h1o_detect,
	.init = h1o_init,
	.feed = h1o_feed,
	.close = h1o_close,
	.free = h1o_free,
	.state_size = H1_OPS_STATE_SIZE,
	.init_at = h1o_init_at,
	.fini = h1o_fini,
	.role = h1o_role,
	.capture = h1o_capture,
	.span_request = h1o_span_request,
	.span_response = h1o_span_response,
	.error_name = h1o_error_name,
	.n_errors = H1_ERR__MAX,
	.err_closed = H1_ERR_CLOSED_INCOMPLETE,
	.report = h1o_report,
};
