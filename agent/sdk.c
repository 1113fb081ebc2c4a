/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* SDK-instrumented processes: see sdk.h and docs/parentage.md. */
#include "sdk.h"

#include <inttypes.h>
#include <string.h>

void ws_sdk_init(struct ws_sdk *s, bool keep, FILE *log)
{
	memset(s, 0, sizeof(*s));
	s->keep = keep;
	s->log = log;
}

static uint32_t slot_of(uint32_t pid)
{
	return (pid * 2654435761u) % WS_SDK_PROCS;
}

/* Linear probing over 8 slots; when they are all taken the oldest unrecognised process
 * is forgotten (a recognised one is kept: forgetting it would bring its duplicates back). */
static struct ws_sdk_proc *proc_get(struct ws_sdk *s, uint32_t pid, uint64_t now_ns, bool create)
{
	struct ws_sdk_proc *victim = NULL;
	uint32_t h = slot_of(pid);

	if (!pid)
		return NULL;
	for (uint32_t i = 0; i < 8; i++) {
		struct ws_sdk_proc *p = &s->procs[(h + i) % WS_SDK_PROCS];

		if (p->pid == pid) {
			p->last_ns = now_ns;
			return p;
		}
		if (!p->pid) {
			if (!victim || victim->pid)
				victim = p;
		} else if (p->why == WS_SDK_NONE && (!victim || (victim->pid && p->last_ns < victim->last_ns))) {
			victim = p;
		}
	}
	if (!create)
		return NULL;
	if (!victim) {
		s->st.table_full++;
		return NULL;
	}
	memset(victim, 0, sizeof(*victim));
	victim->pid = pid;
	victim->last_ns = now_ns;
	return victim;
}

static const struct ws_sdk_proc *proc_find(const struct ws_sdk *s, uint32_t pid)
{
	uint32_t h = slot_of(pid);

	if (!pid)
		return NULL;
	for (uint32_t i = 0; i < 8; i++) {
		const struct ws_sdk_proc *p = &s->procs[(h + i) % WS_SDK_PROCS];

		if (p->pid == pid)
			return p;
	}
	return NULL;
}

static void recognise(struct ws_sdk *s, struct ws_sdk_proc *p, enum ws_sdk_why why)
{
	if (!p || p->why != WS_SDK_NONE)
		return;
	p->why = (uint8_t)why;
	s->st.procs++;
	s->st.by_why[why]++;
	if (s->log)
		fprintf(s->log, "wirespan: process %u is instrumented with an OpenTelemetry SDK (%s): %s\n",
			p->pid, ws_sdk_why_name(why),
			s->keep ? "its wirespan spans are kept (--sdk-spans keep)"
				: "wirespan makes no spans for it (--sdk-spans keep to change)");
}

static uint64_t id64(const uint8_t id[8])
{
	uint64_t v;

	memcpy(&v, id, 8);
	return v;
}

void ws_sdk_note_received(struct ws_sdk *s, uint32_t pid, const uint8_t span_id[8], uint64_t now_ns)
{
	struct ws_sdk_proc *p = proc_get(s, pid, now_ns, true);

	if (!p)
		return;
	p->seen[p->seen_next] = id64(span_id);
	p->seen_next = (uint8_t)((p->seen_next + 1) % WS_SDK_SEEN);
}

bool ws_sdk_note_sent(struct ws_sdk *s, uint32_t pid, const uint8_t span_id[8], uint64_t now_ns)
{
	struct ws_sdk_proc *p = proc_get(s, pid, now_ns, true);
	uint64_t v = id64(span_id);

	if (p)
		for (int i = 0; i < WS_SDK_SEEN; i++)
			if (p->seen[i] == v) {
				/* It repeats the parent id it was given: a proxy forwarding headers
				 * (a process that makes spans writes its own span's id instead). */
				s->st.forwarded_traceparents++;
				return false;
			}
	s->st.foreign_traceparents++;
	recognise(s, p, WS_SDK_TRACEPARENT);
	return true;
}

void ws_sdk_note_otlp(struct ws_sdk *s, uint32_t pid, enum ws_sdk_why why, uint64_t now_ns)
{
	recognise(s, proc_get(s, pid, now_ns, true), why);
}

bool ws_sdk_instrumented(const struct ws_sdk *s, uint32_t pid)
{
	const struct ws_sdk_proc *p = proc_find(s, pid);

	return p && p->why != WS_SDK_NONE;
}

bool ws_sdk_take_new(struct ws_sdk *s, uint32_t pid)
{
	struct ws_sdk_proc *p = (struct ws_sdk_proc *)proc_find(s, pid);

	if (!p || p->why == WS_SDK_NONE || p->applied)
		return false;
	p->applied = 1;
	return true;
}

bool ws_sdk_hide(const struct ws_sdk *s, uint32_t pid)
{
	return !s->keep && ws_sdk_instrumented(s, pid);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool ws_sdk_is_otlp_path(const char *method, const char *path)
{
	if (!path)
		return false;
	if (strncmp(path, "/opentelemetry.proto.collector.", 31) == 0)
		return true;
	if (method && strcmp(method, "POST") != 0)
		return false;
	return ends_with(path, "/v1/traces") || ends_with(path, "/v1/metrics") ||
	       ends_with(path, "/v1/logs");
}

const char *ws_sdk_why_name(enum ws_sdk_why w)
{
	switch (w) {
	case WS_SDK_OTLP_HTTP: return "sends OTLP/HTTP";
	case WS_SDK_OTLP_GRPC: return "sends OTLP/gRPC";
	case WS_SDK_TRACEPARENT: return "writes its own traceparent";
	default: return "none";
	}
}

void ws_sdk_report(const struct ws_sdk *s, FILE *out)
{
	fprintf(out, "  sdk_processes %" PRIu64 "\n", s->st.procs);
	fprintf(out, "  sdk_by_otlp_http %" PRIu64 "\n", s->st.by_why[WS_SDK_OTLP_HTTP]);
	fprintf(out, "  sdk_by_otlp_grpc %" PRIu64 "\n", s->st.by_why[WS_SDK_OTLP_GRPC]);
	fprintf(out, "  sdk_by_traceparent %" PRIu64 "\n", s->st.by_why[WS_SDK_TRACEPARENT]);
	fprintf(out, "  sdk_foreign_traceparents %" PRIu64 "\n", s->st.foreign_traceparents);
	fprintf(out, "  sdk_forwarded_traceparents %" PRIu64 "\n", s->st.forwarded_traceparents);
	fprintf(out, "  sdk_otlp_requests %" PRIu64 "\n", s->st.otlp_requests);
	fprintf(out, "  sdk_table_full %" PRIu64 "\n", s->st.table_full);
}
