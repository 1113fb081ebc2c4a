/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The finished-span record: what span assembly (agent/) hands to every sink (exporter/).
 *
 * A ws_span is self-contained and fixed-size: attribute keys are static strings,
 * attribute string values live in the span's own arena, so a span can be copied
 * with memcpy and needs no free. The resource it points to is reference counted
 * (ws_resource_ref / ws_resource_unref) so a sink that queues spans can keep it.
 */
#ifndef WS_SPAN_H
#define WS_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* OTLP SpanKind values. */
enum ws_span_kind {
	WS_KIND_UNSPECIFIED = 0,
	WS_KIND_INTERNAL = 1,
	WS_KIND_SERVER = 2,
	WS_KIND_CLIENT = 3,
	WS_KIND_PRODUCER = 4,
	WS_KIND_CONSUMER = 5,
};

/* OTLP Status.code values. */
enum ws_status_code {
	WS_STATUS_UNSET = 0,
	WS_STATUS_OK = 1,
	WS_STATUS_ERROR = 2,
};

enum ws_attr_type {
	WS_ATTR_STR = 1,
	WS_ATTR_INT = 2,
	WS_ATTR_BOOL = 3,
	WS_ATTR_DOUBLE = 4,
};

struct ws_attr {
	const char *key;          /* static string (semantic-convention name) */
	uint8_t type;             /* enum ws_attr_type */
	uint8_t _pad[3];
	uint32_t str_off;         /* WS_ATTR_STR: offset of a NUL-terminated value in the owner's arena */
	union {
		int64_t i;
		double d;
		bool b;
	} v;
};

#define WS_RES_MAX_ATTRS 24
#define WS_RES_ARENA 2048

/* The resource of one traced process (service.name, process.*, host.*, container.*, ...). */
struct ws_resource {
	uint32_t refs;
	uint32_t pid;
	uint64_t start_time;      /* process start time (clock ticks since boot, /proc/PID/stat field 22): with pid, the process identity */
	uint16_t n_attrs;
	uint16_t arena_used;
	uint32_t _pad;
	struct ws_attr attrs[WS_RES_MAX_ATTRS];
	char arena[WS_RES_ARENA];
};

#define WS_SPAN_MAX_ATTRS 24
#define WS_SPAN_ARENA 1536
#define WS_SPAN_NAME_MAX 128

/* Span events and links (OTLP Span.events / Span.links). Small fixed tables: their
 * string attribute values live in the owning span's arena like the span's own. */
#define WS_SPAN_MAX_EVENTS 4
#define WS_EVENT_MAX_ATTRS 3
#define WS_SPAN_MAX_LINKS 2
#define WS_LINK_MAX_ATTRS 2

struct ws_span_event {
	uint64_t time_ns;           /* unix epoch ns */
	const char *name;           /* static string */
	uint16_t n_attrs;
	uint8_t _pad[6];
	struct ws_attr attrs[WS_EVENT_MAX_ATTRS];
};

struct ws_span_link {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t trace_flags;        /* W3C flags of the linked context */
	uint8_t remote;             /* the linked context came from another process */
	uint16_t n_attrs;
	uint8_t _pad[4];
	struct ws_attr attrs[WS_LINK_MAX_ATTRS];
};

struct ws_span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8];  /* all zero for a root span */
	uint8_t trace_flags;        /* W3C flags; bit 0 = sampled */
	uint8_t kind;               /* enum ws_span_kind */
	uint8_t status_code;        /* enum ws_status_code */
	uint8_t parent_remote;      /* parent came from a traceparent header (another host/process told us) */
	uint16_t n_attrs;
	uint16_t arena_used;
	uint64_t start_ns;          /* unix epoch ns */
	uint64_t end_ns;            /* unix epoch ns */
	char name[WS_SPAN_NAME_MAX];
	char status_message[64];
	struct ws_resource *res;    /* not owned by the span: holders take a ref */
	struct ws_attr attrs[WS_SPAN_MAX_ATTRS];
	char arena[WS_SPAN_ARENA];
	uint8_t n_events;
	uint8_t n_links;
	uint8_t _pad2[6];
	struct ws_span_event events[WS_SPAN_MAX_EVENTS];
	struct ws_span_link links[WS_SPAN_MAX_LINKS];
};

/* Attribute setters. They never fail loudly: when the attribute table or the arena is
 * full the attribute is not added (string values are truncated to fit first) and the
 * function returns -ENOSPC so callers may count it. */
int ws_span_set_str(struct ws_span *s, const char *key, const char *val);
int ws_span_set_strn(struct ws_span *s, const char *key, const char *val, size_t len);
/* ws_span_set_str for a key the span does not have (the caller knows: set once, where
 * the span is emitted): appended without looking for it among the others. */
int ws_span_add_str(struct ws_span *s, const char *key, const char *val);
int ws_span_set_int(struct ws_span *s, const char *key, int64_t val);
int ws_span_set_bool(struct ws_span *s, const char *key, bool val);
int ws_span_set_double(struct ws_span *s, const char *key, double val);
const char *ws_span_attr_str(const struct ws_span *s, const struct ws_attr *a);
/* Find an attribute by key; NULL when absent. */
const struct ws_attr *ws_span_find_attr(const struct ws_span *s, const char *key);

/* Events and links: add returns the new entry's index, or -ENOSPC when the table is
 * full; the attribute setters take that index (-EINVAL for a bad one) and behave like
 * the span's own setters, string values going to the span's arena. */
int ws_span_add_event(struct ws_span *s, uint64_t time_ns, const char *name);
int ws_span_event_set_str(struct ws_span *s, int ev, const char *key, const char *val);
int ws_span_event_set_int(struct ws_span *s, int ev, const char *key, int64_t val);
int ws_span_add_link(struct ws_span *s, const uint8_t trace_id[16], const uint8_t span_id[8],
		     uint8_t trace_flags, bool remote);
int ws_span_link_set_str(struct ws_span *s, int link, const char *key, const char *val);
int ws_span_link_set_int(struct ws_span *s, int link, const char *key, int64_t val);

int ws_resource_set_str(struct ws_resource *r, const char *key, const char *val);
int ws_resource_set_int(struct ws_resource *r, const char *key, int64_t val);
const char *ws_resource_attr_str(const struct ws_resource *r, const struct ws_attr *a);
const struct ws_attr *ws_resource_find_attr(const struct ws_resource *r, const char *key);
/* service.name of a resource, or "unknown_service" when absent. */
const char *ws_resource_service_name(const struct ws_resource *r);

/* Copy what src uses (its header, its n_attrs attributes, arena_used bytes of its arena,
 * its events and links) into dst: a span is ~2.8 KB of tables, most of it unused, and
 * queues copy spans in and out. dst's unused table entries are left as they were; every
 * reader goes by the counts. The resource reference is copied, not taken. */
void ws_span_copy(struct ws_span *dst, const struct ws_span *src);

/* A span packed into bytes: what ws_span_copy copies, without the unused tails of its
 * tables, name and status message (~0.6-1 KB for an HTTP span against 2.8 KB). Queues
 * that hold many spans keep them packed. ws_span_packed_size() is the bytes
 * ws_span_pack() writes (a multiple of 8, at most WS_SPAN_PACKED_MAX); ws_span_unpack()
 * restores into dst what ws_span_copy would have copied (strings NUL-terminated, dst's
 * unused entries left as they were) and returns the bytes read. The resource reference
 * is copied, not taken; ws_span_packed_res() reads it without unpacking. */
#define WS_SPAN_PACKED_MAX (sizeof(struct ws_span) + 16)
size_t ws_span_packed_size(const struct ws_span *s);
size_t ws_span_pack(uint8_t *dst, const struct ws_span *s);
size_t ws_span_unpack(struct ws_span *dst, const uint8_t *src);
struct ws_resource *ws_span_packed_res(const uint8_t *src);

struct ws_resource *ws_resource_new(uint32_t pid);
void ws_resource_ref(struct ws_resource *r);
void ws_resource_unref(struct ws_resource *r);

/* Lowercase hex of n bytes into out (2n+1 bytes with the NUL). */
void ws_hex(char *out, const uint8_t *in, size_t n);
bool ws_id_is_zero(const uint8_t *id, size_t n);

#endif /* WS_SPAN_H */
