/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Span names, attributes and status for HTTP/2 and gRPC exchanges (http2.c parses).
 * HTTP spans are named and attributed like HTTP/1's; a request with a gRPC content type
 * and a "/package.Service/Method" path becomes an RPC span (OTel RPC conventions:
 * rpc.system.name, rpc.method, rpc.response.status_code). docs/proto-http2.md.
 */
#include "http2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../headers/wirespan_abi.h"
#include "../span.h"
#include "http_util.h"

static const char *const grpc_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

enum {
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
};

const char *h2_grpc_status_name(int code)
{
	return code >= 0 && code < (int)(sizeof(grpc_names) / sizeof(grpc_names[0])) ? grpc_names[code] : NULL;
}

static const char *const h2_codes[] = {
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
	"STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
	"CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
};

const char *h2_error_code_name(uint32_t code)
{
	return code < sizeof(h2_codes) / sizeof(h2_codes[0]) ? h2_codes[code] : NULL;
}

/* gRPC's own mapping when no grpc-status arrived (grpc doc/http-grpc-status-mapping.md
 * and doc/PROTOCOL-HTTP2.md for RST_STREAM codes). */
static int grpc_from_http(unsigned status)
{
	switch (status) {
	case 400:
		return GRPC_INTERNAL;
	case 401:
		return GRPC_UNAUTHENTICATED;
	case 403:
		return GRPC_PERMISSION_DENIED;
	case 404:
		return GRPC_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return GRPC_UNAVAILABLE;
	default:
		return GRPC_UNKNOWN;
	}
}

static int grpc_from_rst(uint32_t code)
{
	switch (code) {
	case 7:  /* REFUSED_STREAM */
		return GRPC_UNAVAILABLE;
	case 8:  /* CANCEL */
		return GRPC_CANCELLED;
	case 11: /* ENHANCE_YOUR_CALM */
		return GRPC_RESOURCE_EXHAUSTED;
	case 12: /* INADEQUATE_SECURITY */
		return GRPC_PERMISSION_DENIED;
	default:
		return GRPC_INTERNAL;
	}
}

/* OTel gRPC: a server span is an error only for these codes; a client span for any
 * code but OK. */
static bool grpc_is_error(int code, bool client)
{
	if (client)
		return code != 0;
	return code == GRPC_UNKNOWN || code == GRPC_DEADLINE_EXCEEDED || code == GRPC_UNIMPLEMENTED ||
	       code == GRPC_INTERNAL || code == GRPC_UNAVAILABLE || code == GRPC_DATA_LOSS;
}

/* "/package.Service/Method" -> "package.Service/Method"; false when the path is not a
 * gRPC method (then the span is an HTTP one). */
static bool grpc_method(const struct h2_exchange *e, char *out, size_t outlen)
{
	const char *p = e->path, *slash;
	size_t n;

	if (!e->grpc || p[0] != '/' || strlen(p) >= H2_PATH_MAX - 1)   /* a cut path is no method */
		return false;
	p++;
	slash = strchr(p, '/');
	if (!slash || slash == p || !slash[1] || strchr(slash + 1, '/'))
		return false;
	n = strlen(p);
	if (n >= outlen)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '?' || p[i] == '%')
			return false;
	memcpy(out, p, n + 1);
	return true;
}

/* :authority -> host and port, userinfo (forbidden in HTTP/2, RFC 9113 8.3.1) dropped. */
static void split_authority(const char *a, char *host, size_t hostlen, int *port)
{
	const char *at = strrchr(a, '@'), *end, *colon = NULL;
	size_t n;

	*port = 0;
	host[0] = '\0';
	if (at)
		a = at + 1;
	if (a[0] == '[') {
		end = strchr(a, ']');
		if (!end)
			return;
		a++;
		n = (size_t)(end - a);
		if (end[1] == ':')
			colon = end + 1;
	} else {
		colon = strrchr(a, ':');
		n = colon ? (size_t)(colon - a) : strlen(a);
	}
	if (colon) {
		char *ep;
		long v = strtol(colon + 1, &ep, 10);

		if (*ep == '\0' && ep != colon + 1 && v > 0 && v < 65536)
			*port = (int)v;
	}
	if (n >= hostlen)
		n = hostlen - 1;
	memcpy(host, a, n);
	host[n] = '\0';
}

static const char *attr_str(const struct ws_span *s, const char *key)
{
	const struct ws_attr *a = ws_span_find_attr(s, key);

	return a && a->type == WS_ATTR_STR ? ws_span_attr_str(s, a) : "";
}

void h2_span_request(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct h2_exchange *e = x ? x->detail : NULL;
	bool server = si && si->role == WS_PROLE_SERVER;
	char host[H2_AUTHORITY_MAX], rpc[H2_PATH_MAX];
	int hport = 0;

	ws_proto_set_peer_attrs(si, s);
	ws_span_set_str(s, "network.protocol.name", "http");
	ws_span_set_str(s, "network.protocol.version", "2");
	if (!e)
		return;
	split_authority(e->authority, host, sizeof(host), &hport);
	if (host[0])
		ws_span_set_str(s, "server.address", host);
	if (hport)
		ws_span_set_int(s, "server.port", hport);

	if (grpc_method(e, rpc, sizeof(rpc))) {
		snprintf(s->name, sizeof(s->name), "%s", rpc);
		ws_span_set_str(s, "rpc.system.name", "grpc");
		ws_span_set_str(s, "rpc.method", rpc);
		return;
	}

	char path[H2_PATH_MAX], query[H2_PATH_MAX], route[256], red[H2_PATH_MAX];
	bool known = ws_http_method_known(e->method);

	path[0] = query[0] = red[0] = '\0';
	if (e->path[0])
		ws_http_target_split(e->path, path, sizeof(path), query, sizeof(query), NULL, 0);
	ws_http_route_guess(path, route, sizeof(route));
	snprintf(s->name, sizeof(s->name), "%s %s", known ? e->method : "HTTP", route[0] ? route : "/");
	ws_span_set_str(s, "http.request.method", known ? e->method : "_OTHER");
	if (!known)
		ws_span_set_str(s, "http.request.method_original", e->method);
	if (path[0])
		ws_span_set_str(s, "url.path", path);
	if (query[0]) {
		ws_http_redact_query(query, red, sizeof(red));
		ws_span_set_str(s, "url.query", red);
	}
	ws_span_set_str(s, "url.scheme", e->scheme[0] ? e->scheme : "http");
	if (e->field_truncated)
		ws_span_set_bool(s, "wirespan.capture.truncated", true);
	if (!server) {
		/* url.full: no credentials (userinfo dropped above), sensitive query values
		 * redacted, like HTTP/1's. */
		char full[H2_SCHEME_MAX + H2_AUTHORITY_MAX + 2 * H2_PATH_MAX + 32];
		const char *h = host[0] ? host : attr_str(s, "network.peer.address");
		int port = hport ? hport : (si && si->tuple ? si->tuple->dport : 0);
		bool v6 = strchr(h, ':') != NULL;
		char portstr[8] = "";

		if (port)
			snprintf(portstr, sizeof(portstr), ":%d", port);
		snprintf(full, sizeof(full), "%s://%s%s%s%s%s%s%s", e->scheme[0] ? e->scheme : "http",
			 v6 ? "[" : "", h, v6 ? "]" : "", portstr, path[0] ? path : "/", red[0] ? "?" : "", red);
		ws_span_set_str(s, "url.full", full);
	}
}

static void set_error(struct ws_span *s, const char *type, const char *msg)
{
	s->status_code = WS_STATUS_ERROR;
	ws_span_set_str(s, "error.type", type);
	if (msg)
		snprintf(s->status_message, sizeof(s->status_message), "%s", msg);
}

/* Why a WS_X_ERROR exchange failed, as error.type and a status message. */
static void set_failure(const struct ws_exchange *x, const struct h2_exchange *e, struct ws_span *s)
{
	char msg[64];

	if (x->err == H2_ERR_STREAM_RESET) {
		const char *n = h2_error_code_name(e->rst_code);

		snprintf(msg, sizeof(msg), "stream reset: %s", n ? n : "unknown code");
		set_error(s, n ? n : "_OTHER", msg);
	} else if (x->err == H2_ERR_GOAWAY) {
		set_error(s, "goaway", "the server refused the stream (GOAWAY)");
	} else if (x->err == H2_ERR_CLOSED) {
		set_error(s, "connection_closed", "connection closed before the response completed");
	} else {
		snprintf(msg, sizeof(msg), "response not parsed: %s", h2_error_name(x->err));
		set_error(s, "wirespan.parse_error", msg);
	}
}

void h2_span_response(const struct ws_exchange *x, const struct ws_span_info *si, struct ws_span *s)
{
	const struct h2_exchange *e = x ? x->detail : NULL;
	bool client = !(si && si->role == WS_PROLE_SERVER);
	char rpc[H2_PATH_MAX];
	bool failed;

	if (!e)
		return;
	failed = x->type == WS_X_ERROR;
	if (grpc_method(e, rpc, sizeof(rpc))) {
		int code = e->grpc_status;

		if (code < 0 && failed && e->reset)
			code = grpc_from_rst(e->rst_code);
		else if (code < 0 && e->resp_headers && e->status && e->status != 200)
			code = grpc_from_http(e->status);
		if (code >= 0) {
			const char *n = h2_grpc_status_name(code);
			char num[12];

			if (!n) {
				snprintf(num, sizeof(num), "%d", code);
				n = num;
			}
			ws_span_set_str(s, "rpc.response.status_code", n);
			if (grpc_is_error(code, client)) {
				/* grpc-message goes only to the status message, cut at 63 bytes. */
				set_error(s, n, e->grpc_message[0] ? e->grpc_message : n);
				return;
			}
		}
		if (failed)
			set_failure(x, e, s);
		return;
	}
	if (e->resp_headers && e->status) {
		ws_span_set_int(s, "http.response.status_code", e->status);
		if (e->resp_body_bytes)
			ws_span_set_int(s, "http.response.body.size", (int64_t)e->resp_body_bytes);
		if (!failed && ws_http_status_is_error(e->status, client)) {
			char num[8], msg[32];

			snprintf(num, sizeof(num), "%u", e->status);
			snprintf(msg, sizeof(msg), "HTTP %u", e->status);
			set_error(s, num, e->status >= 500 || client ? msg : NULL);
			return;
		}
	}
	if (failed)
		set_failure(x, e, s);
}
