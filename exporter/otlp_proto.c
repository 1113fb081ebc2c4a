/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OTLP trace protobuf encoder (ExportTraceServiceRequest) and response decoder. */
#include "otlp_proto.h"

#include <errno.h>
#include <stdbool.h>
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

/* One attribute as a KeyValue; arena is where its string value lives.
 * The KeyValue is sized first and written with one room check: no nested
 * pb_begin/pb_end, nothing moved (an attribute is most of a span's fields). Only a
 * string value that is not valid UTF-8 takes the general path that repairs it. */
static void put_attr(struct ws_buf *b, uint32_t field, const struct ws_attr *a,
		     const char *arena, size_t arena_size)
{
	uint8_t scalar[11], *o;   /* a non-string AnyValue body: tag + up to 10 bytes */
	size_t klen, vlen = 0, slen = 0, av, kv, total;
	const char *v = NULL;
	uint64_t u;

	if (!a->key)
		return;
	klen = strlen(a->key);
	/* AnyValue is a oneof: a set member is written even when it is 0/false/"". */
	switch (a->type) {
	case WS_ATTR_STR:
		v = a->str_off < arena_size ? arena + a->str_off : "";
		slen = strnlen(v, arena_size - (size_t)(v - arena));
		if (!pb_utf8_valid(v, slen)) {
			size_t m = pb_begin(b, field), avm;

			pb_put_bytes(b, F_KV_KEY, a->key, klen);
			avm = pb_begin(b, F_KV_VALUE);
			pb_put_utf8(b, F_AV_STRING, v, slen);
			pb_end(b, avm);
			pb_end(b, m);
			return;
		}
		break;
	case WS_ATTR_INT:
		scalar[0] = F_AV_INT << 3 | PB_VARINT;
		vlen = 1 + pb_varint_write(scalar + 1, (uint64_t)a->v.i);
		break;
	case WS_ATTR_BOOL:
		scalar[0] = F_AV_BOOL << 3 | PB_VARINT;
		scalar[1] = a->v.b ? 1 : 0;
		vlen = 2;
		break;
	case WS_ATTR_DOUBLE:
		scalar[0] = F_AV_DOUBLE << 3 | PB_I64;
		memcpy(&u, &a->v.d, sizeof(u));
		for (int i = 0; i < 8; i++)
			scalar[1 + i] = (uint8_t)(u >> (8 * i));
		vlen = 9;
		break;
	default:
		break;   /* unknown type: an empty AnyValue, as OTLP allows */
	}
	av = v ? 1 + pb_varint_size(slen) + slen : vlen;
	kv = 1 + pb_varint_size(klen) + klen + 1 + pb_varint_size(av) + av;
	total = pb_varint_size((uint64_t)field << 3 | PB_LEN) + pb_varint_size(kv) + kv;
	if (ws_buf_reserve(b, total))
		return;
	o = b->data + b->len;
	o += pb_varint_write(o, (uint64_t)field << 3 | PB_LEN);
	o += pb_varint_write(o, kv);
	*o++ = F_KV_KEY << 3 | PB_LEN;
	o += pb_varint_write(o, klen);
	memcpy(o, a->key, klen);
	o += klen;
	*o++ = F_KV_VALUE << 3 | PB_LEN;
	o += pb_varint_write(o, av);
	if (v) {
		*o++ = F_AV_STRING << 3 | PB_LEN;
		o += pb_varint_write(o, slen);
		memcpy(o, v, slen);
		o += slen;
	} else {
		memcpy(o, scalar, vlen);
		o += vlen;
	}
	b->len = (size_t)(o - b->data);
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

/* Same process: same resource pointer, or the same pid + start time. */
static bool same_process(const struct ws_resource *a, const struct ws_resource *b)
{
	if (a == b)
		return true;
	return a && b && a->pid == b->pid && a->start_time == b->start_time;
}

static uint32_t process_hash(const struct ws_resource *r)
{
	uint64_t h = r ? ((uint64_t)r->pid << 32) ^ r->start_time ^ 0x9e3779b97f4a7c15ull : 0;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)h;
}

/*
 * order[] gets the span indices grouped by process, groups in order of their first
 * span, spans in batch order inside a group (the structure the JSON encoder writes);
 * first[g] is where group g starts in order[], first[ngroups] = n. O(n): an
 * open-addressing table of 2n..4n slots keyed by process, then a counting sort (two
 * qsorts did this before and cost a fifth of the encoder's instructions).
 * Returns ngroups, or 0 on no memory.
 */
static size_t group_spans(const struct ws_span *const *spans, size_t n, uint32_t *order, uint32_t *first,
			  uint32_t *grp)
{
	size_t tsize = 1, ng = 0;
	uint32_t *table;   /* group + 1, 0 for empty */

	while (tsize < 2 * n)
		tsize <<= 1;
	table = calloc(tsize, sizeof(*table));
	if (!table)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct ws_resource *r = spans[i]->res;
		size_t k = process_hash(r) & (tsize - 1);

		while (table[k] && !same_process(spans[order[table[k] - 1]]->res, r))
			k = (k + 1) & (tsize - 1);
		if (!table[k]) {
			order[ng] = (uint32_t)i;       /* for now: the group's first span */
			table[k] = (uint32_t)++ng;
		}
		grp[i] = table[k] - 1;
	}
	free(table);
	memset(first, 0, (ng + 1) * sizeof(*first));
	for (size_t i = 0; i < n; i++)
		first[grp[i] + 1]++;
	for (size_t g = 0; g < ng; g++)
		first[g + 1] += first[g];
	/* place spans in batch order; first[g] walks to the end of group g, then is reset */
	for (size_t i = 0; i < n; i++)
		order[first[grp[i]]++] = (uint32_t)i;
	for (size_t g = ng; g > 0; g--)
		first[g] = first[g - 1];
	first[0] = 0;
	return ng;
}

int ws_otlp_proto_encode(const struct ws_span *const *spans, size_t n, struct ws_buf *out)
{
	size_t start_len = out->len, ng;
	uint32_t *order, *first, *grp;
	int err;

	if (out->err)
		return out->err;
	for (size_t i = 0; i < n; i++)
		if (!spans[i])
			return -EINVAL;
	if (n == 0)
		return 0;     /* an empty request is an empty message */
	if (n > UINT32_MAX - 1)
		return -E2BIG;
	order = malloc(n * sizeof(*order));
	first = malloc((n + 1) * sizeof(*first));
	grp = malloc(n * sizeof(*grp));
	ng = order && first && grp ? group_spans(spans, n, order, first, grp) : 0;
	if (!ng) {
		free(order);
		free(first);
		free(grp);
		return -ENOMEM;
	}
	for (size_t g = 0; g < ng; g++) {
		size_t rs = pb_begin(out, F_REQ_RESOURCE_SPANS), ss, sc;

		put_resource(out, spans[order[first[g]]]->res);
		ss = pb_begin(out, F_RS_SCOPE_SPANS);
		sc = pb_begin(out, F_SS_SCOPE);
		pb_put_string(out, F_SCOPE_NAME, WS_SCOPE_NAME);
		pb_put_string(out, F_SCOPE_VERSION, WS_VERSION);
		pb_end(out, sc);
		for (size_t e = first[g]; e < first[g + 1]; e++)
			put_span(out, spans[order[e]]);
		pb_end(out, ss);
		pb_end(out, rs);
		if (out->err)
			break;
	}
	free(order);
	free(first);
	free(grp);
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
