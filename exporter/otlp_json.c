/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * OTLP/JSON encoder. OTLP/JSON is protobuf's JSON mapping with three twists: trace and
 * span ids are lowercase hex (not base64), enums are integers, and 64-bit integers are
 * decimal strings. Field order follows trace.proto, which is also what the Collector's
 * file exporter writes, so output diffs cleanly against it.
 */
#include "otlp_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WS_VERSION
#define WS_VERSION "0.0.0"
#endif

#define PUTS(b, lit) ws_buf_append((b), (lit), sizeof(lit) - 1)

/*
 * Length of the valid UTF-8 sequence at p (2..4), or 0 when invalid; then *skip is the
 * length of the maximal ill-formed subpart, which becomes one U+FFFD (Unicode's
 * recommended substitution, so one bad byte never swallows the ASCII after it).
 */
size_t ws_utf8_seq(const uint8_t *p, const uint8_t *end, size_t *skip)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xBF;
	size_t need, i;

	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		if (c == 0xE0)
			lo = 0xA0;          /* overlong */
		else if (c == 0xED)
			hi = 0x9F;          /* UTF-16 surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		if (c == 0xF0)
			lo = 0x90;          /* overlong */
		else if (c == 0xF4)
			hi = 0x8F;          /* above U+10FFFF */
	} else {
		*skip = 1;
		return 0;
	}
	for (i = 1; i < need; i++) {
		if (p + i >= end || p[i] < lo || p[i] > hi) {
			*skip = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	return need;
}

void ws_json_put_str(struct ws_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)s, *end = p + len, *run = p;

	ws_buf_putc(b, '"');
	while (p < end) {
		uint8_t c = *p;
		size_t n, skip;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			p++;
			continue;
		}
		if (p > run)
			ws_buf_append(b, run, (size_t)(p - run));
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			ws_buf_append(b, esc, 2);
			p++;
		} else if (c < 0x20) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			ws_buf_append(b, esc, 6);
			p++;
		} else if ((n = ws_utf8_seq(p, end, &skip)) > 0) {
			ws_buf_append(b, p, n);
			p += n;
		} else {
			PUTS(b, "\xEF\xBF\xBD");
			p += skip;
		}
		run = p;
	}
	if (p > run)
		ws_buf_append(b, run, (size_t)(p - run));
	ws_buf_putc(b, '"');
}

static void put_cstr(struct ws_buf *b, const char *s)
{
	ws_json_put_str(b, s ? s : "", s ? strlen(s) : 0);
}

/* A string stored in a fixed field or an arena may lack its NUL when full: never read past cap. */
static void put_bounded(struct ws_buf *b, const char *s, size_t cap)
{
	ws_json_put_str(b, s, strnlen(s, cap));
}

static void put_u64(struct ws_buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ws_buf_append(b, tmp + i, sizeof(tmp) - i);
}

static void put_i64(struct ws_buf *b, int64_t v)
{
	if (v < 0) {
		ws_buf_putc(b, '-');
		put_u64(b, (uint64_t)0 - (uint64_t)v);   /* also right for INT64_MIN */
	} else {
		put_u64(b, (uint64_t)v);
	}
}

/* 64-bit integers are strings in OTLP/JSON (JSON numbers lose precision past 2^53). */
static void put_u64_str(struct ws_buf *b, uint64_t v)
{
	ws_buf_putc(b, '"');
	put_u64(b, v);
	ws_buf_putc(b, '"');
}

static void put_hex_id(struct ws_buf *b, const uint8_t *id, size_t n)
{
	char hex[33];

	ws_hex(hex, id, n);
	ws_buf_putc(b, '"');
	ws_buf_append(b, hex, 2 * n);
	ws_buf_putc(b, '"');
}

/*
 * Shortest of %.15g..%.17g that reads back to the same double. Non-finite values are
 * the strings protobuf's JSON mapping defines ("NaN", "Infinity", "-Infinity"): bare
 * NaN/Infinity tokens are not JSON.
 */
static void put_double(struct ws_buf *b, double d)
{
	char tmp[40];
	int prec, n = 0;

	if (isnan(d)) {
		PUTS(b, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		if (d > 0)
			PUTS(b, "\"Infinity\"");
		else
			PUTS(b, "\"-Infinity\"");
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		PUTS(b, "0");
		return;
	}
	/* A process that set LC_NUMERIC would get a decimal comma: not a JSON number. */
	for (int i = 0; i < n; i++)
		if (tmp[i] == ',')
			tmp[i] = '.';
	ws_buf_append(b, tmp, (size_t)n);
}

static void put_value(struct ws_buf *b, const struct ws_attr *a, const char *arena, size_t arena_cap)
{
	switch (a->type) {
	case WS_ATTR_STR:
		PUTS(b, "{\"stringValue\":");
		if (a->str_off < arena_cap)
			put_bounded(b, arena + a->str_off, arena_cap - a->str_off);
		else
			PUTS(b, "\"\"");
		break;
	case WS_ATTR_INT:
		PUTS(b, "{\"intValue\":\"");
		put_i64(b, a->v.i);
		ws_buf_putc(b, '"');
		break;
	case WS_ATTR_BOOL:
		if (a->v.b)
			PUTS(b, "{\"boolValue\":true");
		else
			PUTS(b, "{\"boolValue\":false");
		break;
	case WS_ATTR_DOUBLE:
		PUTS(b, "{\"doubleValue\":");
		put_double(b, a->v.d);
		break;
	default:
		/* Unknown type: an empty AnyValue is valid OTLP and keeps the key visible. */
		ws_buf_putc(b, '{');
		break;
	}
	ws_buf_putc(b, '}');
}

/* `,"attributes":[...]` (with the leading comma when lead_comma); nothing when empty. */
static void put_attrs(struct ws_buf *b, bool lead_comma, const struct ws_attr *attrs, size_t n,
		      const char *arena, size_t arena_cap)
{
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		if (!attrs[i].key)
			continue;
		if (first) {
			if (lead_comma)
				ws_buf_putc(b, ',');
			PUTS(b, "\"attributes\":[");
			first = false;
		} else {
			ws_buf_putc(b, ',');
		}
		PUTS(b, "{\"key\":");
		put_cstr(b, attrs[i].key);
		PUTS(b, ",\"value\":");
		put_value(b, &attrs[i], arena, arena_cap);
		ws_buf_putc(b, '}');
	}
	if (!first)
		ws_buf_putc(b, ']');
}

static void put_resource(struct ws_buf *b, const struct ws_resource *r)
{
	PUTS(b, "\"resource\":{");
	if (!r) {
		/* service.name is required by the semantic conventions; say we do not know it. */
		PUTS(b, "\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"unknown_service\"}}]");
	} else {
		size_t n = r->n_attrs < WS_RES_MAX_ATTRS ? r->n_attrs : WS_RES_MAX_ATTRS;

		put_attrs(b, false, r->attrs, n, r->arena, WS_RES_ARENA);
	}
	ws_buf_putc(b, '}');
}

/* W3C flags in bits 0-7 plus the parent-is-remote bits, as the OTel SDKs set them. */
static uint32_t otlp_flags(uint8_t trace_flags, bool remote)
{
	return trace_flags | WS_OTLP_FLAG_HAS_IS_REMOTE | (remote ? WS_OTLP_FLAG_IS_REMOTE : 0);
}

static void put_events(struct ws_buf *b, const struct ws_span *s)
{
	size_t n = s->n_events < WS_SPAN_MAX_EVENTS ? s->n_events : WS_SPAN_MAX_EVENTS;

	if (!n)
		return;
	PUTS(b, ",\"events\":[");
	for (size_t i = 0; i < n; i++) {
		const struct ws_span_event *e = &s->events[i];
		size_t na = e->n_attrs < WS_EVENT_MAX_ATTRS ? e->n_attrs : WS_EVENT_MAX_ATTRS;

		if (i)
			ws_buf_putc(b, ',');
		PUTS(b, "{\"timeUnixNano\":");
		put_u64_str(b, e->time_ns);
		PUTS(b, ",\"name\":");
		put_cstr(b, e->name);
		put_attrs(b, true, e->attrs, na, s->arena, WS_SPAN_ARENA);
		ws_buf_putc(b, '}');
	}
	ws_buf_putc(b, ']');
}

static void put_links(struct ws_buf *b, const struct ws_span *s)
{
	size_t n = s->n_links < WS_SPAN_MAX_LINKS ? s->n_links : WS_SPAN_MAX_LINKS;

	if (!n)
		return;
	PUTS(b, ",\"links\":[");
	for (size_t i = 0; i < n; i++) {
		const struct ws_span_link *l = &s->links[i];
		size_t na = l->n_attrs < WS_LINK_MAX_ATTRS ? l->n_attrs : WS_LINK_MAX_ATTRS;

		if (i)
			ws_buf_putc(b, ',');
		PUTS(b, "{\"traceId\":");
		put_hex_id(b, l->trace_id, sizeof(l->trace_id));
		PUTS(b, ",\"spanId\":");
		put_hex_id(b, l->span_id, sizeof(l->span_id));
		put_attrs(b, true, l->attrs, na, s->arena, WS_SPAN_ARENA);
		PUTS(b, ",\"flags\":");
		put_u64(b, otlp_flags(l->trace_flags, l->remote));
		ws_buf_putc(b, '}');
	}
	ws_buf_putc(b, ']');
}

static void put_span(struct ws_buf *b, const struct ws_span *s)
{
	bool has_parent = !ws_id_is_zero(s->parent_span_id, sizeof(s->parent_span_id));
	size_t na = s->n_attrs < WS_SPAN_MAX_ATTRS ? s->n_attrs : WS_SPAN_MAX_ATTRS;
	size_t msg_len = strnlen(s->status_message, sizeof(s->status_message));

	PUTS(b, "{\"traceId\":");
	put_hex_id(b, s->trace_id, sizeof(s->trace_id));
	PUTS(b, ",\"spanId\":");
	put_hex_id(b, s->span_id, sizeof(s->span_id));
	if (has_parent) {
		PUTS(b, ",\"parentSpanId\":");
		put_hex_id(b, s->parent_span_id, sizeof(s->parent_span_id));
	}
	PUTS(b, ",\"flags\":");
	put_u64(b, otlp_flags(s->trace_flags, has_parent && s->parent_remote));
	PUTS(b, ",\"name\":");
	put_bounded(b, s->name, sizeof(s->name));
	PUTS(b, ",\"kind\":");
	put_u64(b, s->kind);
	PUTS(b, ",\"startTimeUnixNano\":");
	put_u64_str(b, s->start_ns);
	PUTS(b, ",\"endTimeUnixNano\":");
	put_u64_str(b, s->end_ns);
	put_attrs(b, true, s->attrs, na, s->arena, WS_SPAN_ARENA);
	put_events(b, s);
	put_links(b, s);
	/* Protobuf JSON omits default values: no "status" at all for UNSET without message. */
	if (s->status_code != WS_STATUS_UNSET || msg_len) {
		PUTS(b, ",\"status\":{");
		if (msg_len) {
			PUTS(b, "\"message\":");
			ws_json_put_str(b, s->status_message, msg_len);
		}
		if (s->status_code != WS_STATUS_UNSET) {
			if (msg_len)
				ws_buf_putc(b, ',');
			PUTS(b, "\"code\":");
			put_u64(b, s->status_code);
		}
		ws_buf_putc(b, '}');
	}
	ws_buf_putc(b, '}');
}

static bool same_resource(const struct ws_resource *a, const struct ws_resource *b)
{
	if (a == b)
		return true;
	return a && b && a->pid == b->pid && a->start_time == b->start_time;
}

int ws_otlp_json_encode(const struct ws_span *const *spans, size_t n, struct ws_buf *out)
{
	size_t start_len = out->len;
	bool first_group = true;
	int err;

	if (out->err)
		return out->err;
	if (n && !spans)
		return -EINVAL;
	PUTS(out, "{\"resourceSpans\":[");
	for (size_t i = 0; i < n; i++) {
		const struct ws_resource *r = spans[i]->res;
		bool seen = false;

		/*
		 * Emit each resource group at its first span. Scanning back stops at the
		 * nearest earlier member, so the whole encode costs O(n * groups) without
		 * any allocation.
		 */
		for (size_t j = i; j-- > 0;) {
			if (same_resource(spans[j]->res, r)) {
				seen = true;
				break;
			}
		}
		if (seen)
			continue;
		if (!first_group)
			ws_buf_putc(out, ',');
		first_group = false;
		ws_buf_putc(out, '{');
		put_resource(out, r);
		PUTS(out, ",\"scopeSpans\":[{\"scope\":{\"name\":\"wirespan\",\"version\":");
		put_cstr(out, WS_VERSION);
		PUTS(out, "},\"spans\":[");
		put_span(out, spans[i]);
		for (size_t k = i + 1; k < n; k++) {
			if (same_resource(spans[k]->res, r)) {
				ws_buf_putc(out, ',');
				put_span(out, spans[k]);
			}
		}
		PUTS(out, "]}]}");
	}
	PUTS(out, "]}");
	err = ws_buf_error(out);
	if (err) {
		out->len = start_len;
		out->err = 0;
	}
	return err;
}
