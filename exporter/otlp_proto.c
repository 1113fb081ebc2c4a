/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OTLP trace protobuf encoder (ExportTraceServiceRequest) and response decoder. */
#include "otlp_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

/* Field numbers (opentelemetry-proto v1) */
enum {
	F_REQ_RESOURCE_SPANS = 1,
	F_RS_RESOURCE = 1, F_RS_SCOPE_SPANS = 2,
	F_RES_ATTRIBUTES = 1,
	F_SS_SCOPE = 1, F_SS_SPANS = 2,
	F_SCOPE_NAME = 1, F_SCOPE_VERSION = 2,
	F_KV_KEY = 1, F_KV_VALUE = 2,
	F_AV_STRING = 1, F_AV_BOOL = 2, F_AV_INT = 3, F_AV_DOUBLE = 4,
	F_SPAN_TRACE_ID = 1, F_SPAN_SPAN_ID = 2, F_SPAN_PARENT_SPAN_ID = 4, F_SPAN_NAME = 5,
	F_SPAN_KIND = 6, F_SPAN_START = 7, F_SPAN_END = 8, F_SPAN_ATTRIBUTES = 9,
	F_SPAN_EVENTS = 11, F_SPAN_LINKS = 13, F_SPAN_STATUS = 15, F_SPAN_FLAGS = 16,
	F_EV_TIME = 1, F_EV_NAME = 2, F_EV_ATTRIBUTES = 3,
	F_LINK_TRACE_ID = 1, F_LINK_SPAN_ID = 2, F_LINK_ATTRIBUTES = 4, F_LINK_FLAGS = 6,
	F_STATUS_MESSAGE = 2, F_STATUS_CODE = 3,
	F_RESP_PARTIAL = 1,
	F_PARTIAL_REJECTED = 1, F_PARTIAL_MESSAGE = 2,
};

/* One attribute as a KeyValue; arena is where its string value lives. */
static void put_attr(struct ws_buf *b, uint32_t field, const struct ws_attr *a,
		     const char *arena, size_t arena_size)
{
	size_t kv, av;

	if (!a->key)
		return;
	kv = pb_begin(b, field);
	pb_put_string(b, F_KV_KEY, a->key);
	av = pb_begin(b, F_KV_VALUE);
	/* AnyValue is a oneof: a set member is written even when it is 0/false/"". */
	switch (a->type) {
	case WS_ATTR_STR: {
		const char *v = a->str_off < arena_size ? arena + a->str_off : "";

		pb_put_utf8(b, F_AV_STRING, v, strnlen(v, arena_size - (size_t)(v - arena)));
		break;
	}
	case WS_ATTR_INT:
		pb_put_int64(b, F_AV_INT, a->v.i);
		break;
	case WS_ATTR_BOOL:
		pb_put_bool(b, F_AV_BOOL, a->v.b);
		break;
	case WS_ATTR_DOUBLE:
		pb_put_double(b, F_AV_DOUBLE, a->v.d);
		break;
	default:
		break;   /* unknown type: an empty AnyValue, as OTLP allows */
	}
	pb_end(b, av);
	pb_end(b, kv);
}

static void put_attrs(struct ws_buf *b, uint32_t field, const struct ws_attr *attrs, size_t n,
		      size_t max, const char *arena, size_t arena_size)
{
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++)
		put_attr(b, field, &attrs[i], arena, arena_size);
}

static void put_resource(struct ws_buf *b, const struct ws_resource *r)
{
	size_t m = pb_begin(b, F_RS_RESOURCE);

	if (r) {
		put_attrs(b, F_RES_ATTRIBUTES, r->attrs, r->n_attrs, WS_RES_MAX_ATTRS, r->arena, WS_RES_ARENA);
	} else {
		size_t kv = pb_begin(b, F_RES_ATTRIBUTES), av;

		pb_put_string(b, F_KV_KEY, "service.name");
		av = pb_begin(b, F_KV_VALUE);
		pb_put_string(b, F_AV_STRING, "unknown_service");
		pb_end(b, av);
		pb_end(b, kv);
	}
	pb_end(b, m);
}

uint32_t ws_otlp_span_flags(const struct ws_span *s)
{
	uint32_t f = s->trace_flags;

	/* As the OTel SDKs do: remoteness of the parent is always known to us (a root
	 * span's absent parent is not remote). */
	f |= WS_OTLP_FLAGS_HAS_IS_REMOTE;
	if (s->parent_remote && !ws_id_is_zero(s->parent_span_id, sizeof(s->parent_span_id)))
		f |= WS_OTLP_FLAGS_IS_REMOTE;
	return f;
}

static void put_span(struct ws_buf *b, const struct ws_span *s)
{
	size_t m = pb_begin(b, F_SS_SPANS);
	uint32_t flags;

	pb_put_bytes(b, F_SPAN_TRACE_ID, s->trace_id, sizeof(s->trace_id));
	pb_put_bytes(b, F_SPAN_SPAN_ID, s->span_id, sizeof(s->span_id));
	if (!ws_id_is_zero(s->parent_span_id, sizeof(s->parent_span_id)))
		pb_put_bytes(b, F_SPAN_PARENT_SPAN_ID, s->parent_span_id, sizeof(s->parent_span_id));
	pb_put_utf8(b, F_SPAN_NAME, s->name, strnlen(s->name, sizeof(s->name)));
	if (s->kind)
		pb_put_uint64(b, F_SPAN_KIND, s->kind);
	pb_put_fixed64(b, F_SPAN_START, s->start_ns);
	pb_put_fixed64(b, F_SPAN_END, s->end_ns);
	put_attrs(b, F_SPAN_ATTRIBUTES, s->attrs, s->n_attrs, WS_SPAN_MAX_ATTRS, s->arena, WS_SPAN_ARENA);
	for (size_t i = 0; i < s->n_events && i < WS_SPAN_MAX_EVENTS; i++) {
		const struct ws_span_event *e = &s->events[i];
		size_t em = pb_begin(b, F_SPAN_EVENTS);

		pb_put_fixed64(b, F_EV_TIME, e->time_ns);
		if (e->name)
			pb_put_utf8(b, F_EV_NAME, e->name, strlen(e->name));
		put_attrs(b, F_EV_ATTRIBUTES, e->attrs, e->n_attrs, WS_EVENT_MAX_ATTRS, s->arena, WS_SPAN_ARENA);
		pb_end(b, em);
	}
	for (size_t i = 0; i < s->n_links && i < WS_SPAN_MAX_LINKS; i++) {
		const struct ws_span_link *l = &s->links[i];
		size_t lm = pb_begin(b, F_SPAN_LINKS);

		pb_put_bytes(b, F_LINK_TRACE_ID, l->trace_id, sizeof(l->trace_id));
		pb_put_bytes(b, F_LINK_SPAN_ID, l->span_id, sizeof(l->span_id));
		put_attrs(b, F_LINK_ATTRIBUTES, l->attrs, l->n_attrs, WS_LINK_MAX_ATTRS, s->arena, WS_SPAN_ARENA);
		pb_put_fixed32(b, F_LINK_FLAGS, l->trace_flags | WS_OTLP_FLAGS_HAS_IS_REMOTE |
			       (l->remote ? WS_OTLP_FLAGS_IS_REMOTE : 0));
		pb_end(b, lm);
	}
	if (s->status_code != WS_STATUS_UNSET || s->status_message[0]) {
		size_t sm = pb_begin(b, F_SPAN_STATUS);

		if (s->status_message[0])
			pb_put_utf8(b, F_STATUS_MESSAGE, s->status_message,
				    strnlen(s->status_message, sizeof(s->status_message)));
		if (s->status_code)
			pb_put_uint64(b, F_STATUS_CODE, s->status_code);
		pb_end(b, sm);
	}
	flags = ws_otlp_span_flags(s);
	pb_put_fixed32(b, F_SPAN_FLAGS, flags);
	pb_end(b, m);
}

struct group_key {
	uint64_t start_time;
	uint32_t pid;
	uint32_t has_res;
	size_t idx;
	size_t first;      /* index of the group's first span in the batch */
};

static int cmp_key(const void *pa, const void *pb)
{
	const struct group_key *a = pa, *b = pb;

	if (a->has_res != b->has_res)
		return a->has_res < b->has_res ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->start_time != b->start_time)
		return a->start_time < b->start_time ? -1 : 1;
	/* the batch order is kept inside a resource */
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int cmp_first(const void *pa, const void *pb)
{
	const struct group_key *a = pa, *b = pb;

	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool same_group(const struct group_key *a, const struct group_key *b)
{
	return a->has_res == b->has_res && a->pid == b->pid && a->start_time == b->start_time;
}

int ws_otlp_proto_encode(const struct ws_span *const *spans, size_t n, struct ws_buf *out)
{
	size_t start_len = out->len;
	struct group_key *keys;
	int err;

	if (out->err)
		return out->err;
	for (size_t i = 0; i < n; i++)
		if (!spans[i])
			return -EINVAL;
	if (n == 0)
		return 0;     /* an empty request is an empty message */
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct ws_resource *r = spans[i]->res;

		keys[i].idx = i;
		keys[i].has_res = r != NULL;
		keys[i].pid = r ? r->pid : 0;
		keys[i].start_time = r ? r->start_time : 0;
	}
	/* Sort by process, then put groups in order of first appearance (as the JSON
	 * encoder does) so both wire formats carry the same structure: O(n log n). */
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (size_t g = 0, e; g < n; g = e) {
		for (e = g; e < n && same_group(&keys[g], &keys[e]); e++)
			keys[e].first = keys[g].idx;
	}
	qsort(keys, n, sizeof(*keys), cmp_first);

	for (size_t g = 0; g < n;) {
		size_t rs = pb_begin(out, F_REQ_RESOURCE_SPANS), ss, sc, e = g;

		put_resource(out, spans[keys[g].idx]->res);
		ss = pb_begin(out, F_RS_SCOPE_SPANS);
		sc = pb_begin(out, F_SS_SCOPE);
		pb_put_string(out, F_SCOPE_NAME, WS_SCOPE_NAME);
		pb_put_string(out, F_SCOPE_VERSION, WS_VERSION);
		pb_end(out, sc);
		while (e < n && keys[e].first == keys[g].first)
			put_span(out, spans[keys[e++].idx]);
		pb_end(out, ss);
		pb_end(out, rs);
		if (out->err)
			break;
		g = e;
	}
	free(keys);
	err = ws_buf_error(out);
	if (err) {
		out->len = start_len;
		out->err = 0;
	}
	return err;
}

int ws_otlp_proto_decode_response(const void *body, size_t len, struct ws_otlp_partial *out)
{
	struct pb_reader r, pr;
	struct pb_field f, pf;
	int rc;

	memset(out, 0, sizeof(*out));
	pb_reader_init(&r, body, len);
	while ((rc = pb_next(&r, &f)) == 1) {
		if (f.field != F_RESP_PARTIAL || f.wt != PB_LEN)
			continue;   /* unknown fields are skipped, as protobuf requires */
		pb_reader_init(&pr, f.data, f.len);
		while ((rc = pb_next(&pr, &pf)) == 1) {
			if (pf.field == F_PARTIAL_REJECTED && pf.wt == PB_VARINT) {
				out->rejected_spans = (int64_t)pf.u;
			} else if (pf.field == F_PARTIAL_MESSAGE && pf.wt == PB_LEN) {
				size_t k = pf.len < sizeof(out->error_message) - 1 ? pf.len : sizeof(out->error_message) - 1;

				memcpy(out->error_message, pf.data, k);
				out->error_message[k] = '\0';
			}
		}
		if (rc < 0)
			return rc;
	}
	return rc < 0 ? rc : 0;
}
