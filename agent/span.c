/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Span and resource records: attribute storage in fixed arenas, resource refcounts. */
#include "span.h"

#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

/* Copy val (len bytes) into arena; truncates to fit. Returns the offset or -ENOSPC. */
static int arena_put(char *arena, uint16_t *used, size_t cap, const char *val, size_t len)
{
	size_t room;

	if (*used >= cap)
		return -ENOSPC;
	room = cap - *used;
	if (room < 1)
		return -ENOSPC;
	if (len > room - 1)
		len = room - 1;
	memcpy(arena + *used, val, len);
	arena[*used + len] = '\0';
	int off = *used;
	*used = (uint16_t)(*used + len + 1);
	return off;
}

static struct ws_attr *attr_slot_new(struct ws_attr *attrs, uint16_t *n, size_t max, const char *key, bool search)
{
	/* Keys are static strings: the same pointer almost always means the same key, and
	 * a first-byte check spares most strcmp calls (this runs for every attribute of
	 * every span). */
	for (uint16_t i = 0; search && i < *n; i++)
		if (attrs[i].key == key || (attrs[i].key[0] == key[0] && strcmp(attrs[i].key, key) == 0))
			return &attrs[i];   /* setting a key again replaces its value (the old string stays in the arena) */
	if (*n >= max)
		return NULL;
	struct ws_attr *a = &attrs[(*n)++];
	memset(a, 0, sizeof(*a));
	a->key = key;
	return a;
}

static struct ws_attr *attr_slot(struct ws_attr *attrs, uint16_t *n, size_t max, const char *key)
{
	return attr_slot_new(attrs, n, max, key, true);
}

/* Remove attribute a from the table (keeps the order of the others). */
static void drop_slot(struct ws_attr *attrs, uint16_t *n, struct ws_attr *a)
{
	size_t i = (size_t)(a - attrs);

	memmove(&attrs[i], &attrs[i + 1], (*n - i - 1) * sizeof(*attrs));
	(*n)--;
}

static int span_put_str(struct ws_span *s, const char *key, const char *val, size_t len, bool search)
{
	struct ws_attr *a = attr_slot_new(s->attrs, &s->n_attrs, WS_SPAN_MAX_ATTRS, key, search);
	int off;

	if (!a)
		return -ENOSPC;
	off = arena_put(s->arena, &s->arena_used, WS_SPAN_ARENA, val, len);
	if (off < 0) {
		drop_slot(s->attrs, &s->n_attrs, a);
		return off;
	}
	a->type = WS_ATTR_STR;
	a->str_off = (uint32_t)off;
	return 0;
}

int ws_span_set_strn(struct ws_span *s, const char *key, const char *val, size_t len)
{
	return span_put_str(s, key, val, len, true);
}

int ws_span_set_str(struct ws_span *s, const char *key, const char *val)
{
	return ws_span_set_strn(s, key, val, strlen(val));
}

int ws_span_add_str(struct ws_span *s, const char *key, const char *val)
{
	return span_put_str(s, key, val, strlen(val), false);
}

int ws_span_set_int(struct ws_span *s, const char *key, int64_t val)
{
	struct ws_attr *a = attr_slot(s->attrs, &s->n_attrs, WS_SPAN_MAX_ATTRS, key);

	if (!a)
		return -ENOSPC;
	a->type = WS_ATTR_INT;
	a->v.i = val;
	return 0;
}

int ws_span_set_bool(struct ws_span *s, const char *key, bool val)
{
	struct ws_attr *a = attr_slot(s->attrs, &s->n_attrs, WS_SPAN_MAX_ATTRS, key);

	if (!a)
		return -ENOSPC;
	a->type = WS_ATTR_BOOL;
	a->v.b = val;
	return 0;
}

int ws_span_set_double(struct ws_span *s, const char *key, double val)
{
	struct ws_attr *a = attr_slot(s->attrs, &s->n_attrs, WS_SPAN_MAX_ATTRS, key);

	if (!a)
		return -ENOSPC;
	a->type = WS_ATTR_DOUBLE;
	a->v.d = val;
	return 0;
}

const char *ws_span_attr_str(const struct ws_span *s, const struct ws_attr *a)
{
	return a->type == WS_ATTR_STR && a->str_off < WS_SPAN_ARENA ? s->arena + a->str_off : "";
}

const struct ws_attr *ws_span_find_attr(const struct ws_span *s, const char *key)
{
	for (uint16_t i = 0; i < s->n_attrs; i++)
		if (strcmp(s->attrs[i].key, key) == 0)
			return &s->attrs[i];
	return NULL;
}

int ws_span_add_event(struct ws_span *s, uint64_t time_ns, const char *name)
{
	struct ws_span_event *e;

	if (s->n_events >= WS_SPAN_MAX_EVENTS)
		return -ENOSPC;
	e = &s->events[s->n_events];
	memset(e, 0, sizeof(*e));
	e->time_ns = time_ns;
	e->name = name;
	return s->n_events++;
}

int ws_span_add_link(struct ws_span *s, const uint8_t trace_id[16], const uint8_t span_id[8],
		     uint8_t trace_flags, bool remote)
{
	struct ws_span_link *l;

	if (s->n_links >= WS_SPAN_MAX_LINKS)
		return -ENOSPC;
	l = &s->links[s->n_links];
	memset(l, 0, sizeof(*l));
	memcpy(l->trace_id, trace_id, sizeof(l->trace_id));
	memcpy(l->span_id, span_id, sizeof(l->span_id));
	l->trace_flags = trace_flags;
	l->remote = remote;
	return s->n_links++;
}

/* Event and link attributes: same table rules as the span's, values in the span arena. */
static int sub_set_str(struct ws_span *s, struct ws_attr *attrs, uint16_t *n, size_t max,
		       const char *key, const char *val)
{
	struct ws_attr *a = attr_slot(attrs, n, max, key);
	int off;

	if (!a)
		return -ENOSPC;
	off = arena_put(s->arena, &s->arena_used, WS_SPAN_ARENA, val, strlen(val));
	if (off < 0) {
		drop_slot(attrs, n, a);
		return off;
	}
	a->type = WS_ATTR_STR;
	a->str_off = (uint32_t)off;
	return 0;
}

static int sub_set_int(struct ws_attr *attrs, uint16_t *n, size_t max, const char *key, int64_t val)
{
	struct ws_attr *a = attr_slot(attrs, n, max, key);

	if (!a)
		return -ENOSPC;
	a->type = WS_ATTR_INT;
	a->v.i = val;
	return 0;
}

int ws_span_event_set_str(struct ws_span *s, int ev, const char *key, const char *val)
{
	if (ev < 0 || ev >= s->n_events)
		return -EINVAL;
	return sub_set_str(s, s->events[ev].attrs, &s->events[ev].n_attrs, WS_EVENT_MAX_ATTRS, key, val);
}

int ws_span_event_set_int(struct ws_span *s, int ev, const char *key, int64_t val)
{
	if (ev < 0 || ev >= s->n_events)
		return -EINVAL;
	return sub_set_int(s->events[ev].attrs, &s->events[ev].n_attrs, WS_EVENT_MAX_ATTRS, key, val);
}

int ws_span_link_set_str(struct ws_span *s, int link, const char *key, const char *val)
{
	if (link < 0 || link >= s->n_links)
		return -EINVAL;
	return sub_set_str(s, s->links[link].attrs, &s->links[link].n_attrs, WS_LINK_MAX_ATTRS, key, val);
}

int ws_span_link_set_int(struct ws_span *s, int link, const char *key, int64_t val)
{
	if (link < 0 || link >= s->n_links)
		return -EINVAL;
	return sub_set_int(s->links[link].attrs, &s->links[link].n_attrs, WS_LINK_MAX_ATTRS, key, val);
}

int ws_resource_set_str(struct ws_resource *r, const char *key, const char *val)
{
	struct ws_attr *a = attr_slot(r->attrs, &r->n_attrs, WS_RES_MAX_ATTRS, key);
	int off;

	if (!a)
		return -ENOSPC;
	off = arena_put(r->arena, &r->arena_used, WS_RES_ARENA, val, strlen(val));
	if (off < 0) {
		drop_slot(r->attrs, &r->n_attrs, a);
		return off;
	}
	a->type = WS_ATTR_STR;
	a->str_off = (uint32_t)off;
	return 0;
}

int ws_resource_set_int(struct ws_resource *r, const char *key, int64_t val)
{
	struct ws_attr *a = attr_slot(r->attrs, &r->n_attrs, WS_RES_MAX_ATTRS, key);

	if (!a)
		return -ENOSPC;
	a->type = WS_ATTR_INT;
	a->v.i = val;
	return 0;
}

const char *ws_resource_attr_str(const struct ws_resource *r, const struct ws_attr *a)
{
	return a->type == WS_ATTR_STR && a->str_off < WS_RES_ARENA ? r->arena + a->str_off : "";
}

const struct ws_attr *ws_resource_find_attr(const struct ws_resource *r, const char *key)
{
	for (uint16_t i = 0; i < r->n_attrs; i++)
		if (strcmp(r->attrs[i].key, key) == 0)
			return &r->attrs[i];
	return NULL;
}

const char *ws_resource_service_name(const struct ws_resource *r)
{
	const struct ws_attr *a = r ? ws_resource_find_attr(r, "service.name") : NULL;

	return a ? ws_resource_attr_str(r, a) : "unknown_service";
}

struct ws_resource *ws_resource_new(uint32_t pid)
{
	struct ws_resource *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->refs = 1;
	r->pid = pid;
	return r;
}

void ws_resource_ref(struct ws_resource *r)
{
	if (r)
		__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
}

void ws_resource_unref(struct ws_resource *r)
{
	if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(r);
}

void ws_span_copy(struct ws_span *dst, const struct ws_span *src)
{
	uint16_t na = src->n_attrs < WS_SPAN_MAX_ATTRS ? src->n_attrs : WS_SPAN_MAX_ATTRS;
	uint16_t nb = src->arena_used < WS_SPAN_ARENA ? src->arena_used : WS_SPAN_ARENA;
	uint8_t ne = src->n_events < WS_SPAN_MAX_EVENTS ? src->n_events : WS_SPAN_MAX_EVENTS;
	uint8_t nl = src->n_links < WS_SPAN_MAX_LINKS ? src->n_links : WS_SPAN_MAX_LINKS;

	memcpy(dst, src, offsetof(struct ws_span, attrs));
	memcpy(dst->attrs, src->attrs, na * sizeof(src->attrs[0]));
	memcpy(dst->arena, src->arena, nb);
	dst->n_events = src->n_events;
	dst->n_links = src->n_links;
	memcpy(dst->events, src->events, ne * sizeof(src->events[0]));
	memcpy(dst->links, src->links, nl * sizeof(src->links[0]));
}

/* Packed layout: struct packed_head, then name_len name bytes, status_len status bytes,
 * n_attrs attributes, arena_used arena bytes, n_events events, n_links links; padded
 * to 8. The head's copy of the span's first bytes (ids to end_ns) is exact. */
struct packed_head {
	uint32_t size;
	uint8_t name_len;
	uint8_t status_len;
	uint8_t n_events;
	uint8_t n_links;
	struct ws_resource *res;
	uint8_t fixed[offsetof(struct ws_span, name)];
};

_Static_assert(WS_SPAN_NAME_MAX <= 256 && sizeof(((struct ws_span *)0)->status_message) <= 256,
	       "packed lengths are one byte");

struct packed_counts {
	size_t name, status, na, nb, ne, nl;
};

static void packed_counts(const struct ws_span *s, struct packed_counts *c)
{
	c->name = strnlen(s->name, sizeof(s->name) - 1);
	c->status = strnlen(s->status_message, sizeof(s->status_message) - 1);
	c->na = s->n_attrs < WS_SPAN_MAX_ATTRS ? s->n_attrs : WS_SPAN_MAX_ATTRS;
	c->nb = s->arena_used < WS_SPAN_ARENA ? s->arena_used : WS_SPAN_ARENA;
	c->ne = s->n_events < WS_SPAN_MAX_EVENTS ? s->n_events : WS_SPAN_MAX_EVENTS;
	c->nl = s->n_links < WS_SPAN_MAX_LINKS ? s->n_links : WS_SPAN_MAX_LINKS;
}

static size_t packed_bytes(const struct packed_counts *c)
{
	size_t n = sizeof(struct packed_head) + c->name + c->status + c->na * sizeof(struct ws_attr) +
		   c->nb + c->ne * sizeof(struct ws_span_event) + c->nl * sizeof(struct ws_span_link);

	return (n + 7) & ~(size_t)7;
}

_Static_assert(sizeof(struct packed_head) + WS_SPAN_NAME_MAX + 64 + sizeof(struct ws_attr) * WS_SPAN_MAX_ATTRS +
		       WS_SPAN_ARENA + sizeof(struct ws_span_event) * WS_SPAN_MAX_EVENTS +
		       sizeof(struct ws_span_link) * WS_SPAN_MAX_LINKS + 7 <= WS_SPAN_PACKED_MAX,
	       "WS_SPAN_PACKED_MAX bounds every packed span");

size_t ws_span_packed_size(const struct ws_span *s)
{
	struct packed_counts c;

	packed_counts(s, &c);
	return packed_bytes(&c);
}

size_t ws_span_pack(uint8_t *dst, const struct ws_span *s)
{
	struct packed_counts c;
	struct packed_head h;
	uint8_t *p = dst + sizeof(h);

	packed_counts(s, &c);
	memset(&h, 0, sizeof(h));
	h.size = (uint32_t)packed_bytes(&c);
	h.name_len = (uint8_t)c.name;
	h.status_len = (uint8_t)c.status;
	h.n_events = s->n_events;
	h.n_links = s->n_links;
	h.res = s->res;
	memcpy(h.fixed, s, sizeof(h.fixed));
	memcpy(dst, &h, sizeof(h));
	memcpy(p, s->name, c.name);
	p += c.name;
	memcpy(p, s->status_message, c.status);
	p += c.status;
	memcpy(p, s->attrs, c.na * sizeof(s->attrs[0]));
	p += c.na * sizeof(s->attrs[0]);
	memcpy(p, s->arena, c.nb);
	p += c.nb;
	memcpy(p, s->events, c.ne * sizeof(s->events[0]));
	p += c.ne * sizeof(s->events[0]);
	memcpy(p, s->links, c.nl * sizeof(s->links[0]));
	p += c.nl * sizeof(s->links[0]);
	memset(p, 0, (size_t)(dst + h.size - p));
	return h.size;
}

size_t ws_span_unpack(struct ws_span *dst, const uint8_t *src)
{
	struct packed_head h;
	const uint8_t *p = src + sizeof(h);
	struct packed_counts c;

	memcpy(&h, src, sizeof(h));
	memcpy(dst, h.fixed, sizeof(h.fixed));
	dst->res = h.res;
	dst->n_events = h.n_events;
	dst->n_links = h.n_links;
	memcpy(dst->name, p, h.name_len);
	dst->name[h.name_len] = '\0';
	p += h.name_len;
	memcpy(dst->status_message, p, h.status_len);
	dst->status_message[h.status_len] = '\0';
	p += h.status_len;
	packed_counts(dst, &c);
	memcpy(dst->attrs, p, c.na * sizeof(dst->attrs[0]));
	p += c.na * sizeof(dst->attrs[0]);
	memcpy(dst->arena, p, c.nb);
	p += c.nb;
	memcpy(dst->events, p, c.ne * sizeof(dst->events[0]));
	p += c.ne * sizeof(dst->events[0]);
	memcpy(dst->links, p, c.nl * sizeof(dst->links[0]));
	return h.size;
}

struct ws_resource *ws_span_packed_res(const uint8_t *src)
{
	struct packed_head h;

	memcpy(&h, src, sizeof(h));
	return h.res;
}

void ws_hex(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

bool ws_id_is_zero(const uint8_t *id, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (id[i])
			return false;
	return true;
}
