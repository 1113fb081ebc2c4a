/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Coexisting with OpenTelemetry SDKs: see coexist.h. */
#include "coexist.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http_util.h"

#define INJ_MAX_AGE_NS (5ull * 1000000000ull)
#define INJ_LOOKBACK_NS (50ull * 1000000ull)
#define OTLP_GRPC_PORT 4317

struct ws_coexist *ws_coexist_new(bool keep_sdk_spans, FILE *log, ws_inject_dst_fn dst_fn, void *dst_ctx)
{
	struct ws_coexist *co = calloc(1, sizeof(*co));

	if (!co)
		return NULL;
	ws_sdk_init(&co->sdk, keep_sdk_spans, log);
	co->dst_fn = dst_fn;
	co->dst_ctx = dst_ctx;
	return co;
}

void ws_coexist_free(struct ws_coexist *co)
{
	free(co);
}

void ws_coexist_inject_record(struct ws_coexist *co, const struct ws_inject_event *e)
{
	struct ws_coexist_inj *s = &co->inj[co->inj_next];

	co->st.inject_records++;
	if (s->pid && !s->used)
		co->st.inject_unmatched++;
	co->inj_next = (co->inj_next + 1) % WS_COEXIST_INJ_SLOTS;
	memset(s, 0, sizeof(*s));
	s->pid = e->pid;
	s->tid = e->tid;
	s->lport = e->lport;
	s->rport = e->rport;
	s->len = e->len;
	s->ts = e->hdr.ts_ns;
	memcpy(s->trace_id, e->trace_id, 16);
	memcpy(s->span_id, e->span_id, 8);
	s->flags = e->hdr.flags;
}

/* The injection the kernel made into this request: the newest unclaimed one of the same
 * thread on the same connection (it was reported inside the write this request's first
 * record comes from). */
static struct ws_coexist_inj *inj_take(struct ws_coexist *co, const struct ws_coexist_req *r)
{
	for (uint32_t k = 1; k <= WS_COEXIST_INJ_SLOTS; k++) {
		struct ws_coexist_inj *s = &co->inj[(co->inj_next + WS_COEXIST_INJ_SLOTS - k) % WS_COEXIST_INJ_SLOTS];

		if (!s->pid)
			break;
		if (s->used || s->pid != r->pid || s->tid != r->tid || s->lport != r->lport ||
		    s->rport != r->rport)
			continue;
		if (r->ts > s->ts + INJ_MAX_AGE_NS)
			break;
		s->used = true;
		return s;
	}
	return NULL;
}

uint32_t ws_coexist_inserted(struct ws_coexist *co, uint32_t pid, uint32_t tid, uint16_t lport,
			     uint16_t rport, uint64_t enter_ns, uint64_t exit_ns)
{
	if (!co->st.inject_records)
		return 0;
	/* Newest first; records are in time order but for CPU interleaving, so a short
	 * look back past the write's start suffices. */
	for (uint32_t k = 1; k <= WS_COEXIST_INJ_SLOTS; k++) {
		struct ws_coexist_inj *s = &co->inj[(co->inj_next + WS_COEXIST_INJ_SLOTS - k) % WS_COEXIST_INJ_SLOTS];

		if (!s->pid || s->ts + INJ_LOOKBACK_NS < enter_ns)
			break;
		if (s->written || s->pid != pid || s->tid != tid || s->lport != lport || s->rport != rport ||
		    s->ts < enter_ns || s->ts > exit_ns)
			continue;
		s->written = true;
		return s->len;
	}
	return 0;
}

bool ws_coexist_dst_selected(const struct ws_coexist *co, uint16_t port)
{
	return co->dst_bits[port / 64] & (1ull << (port % 64));
}

/* The agent reads records a little behind the kernel: a connection established shortly
 * before a selection was processed may have missed it. A second of margin. */
#define DST_MARGIN_NS 1000000000ull

bool ws_coexist_dst_known_at(const struct ws_coexist *co, uint16_t port, uint64_t ts)
{
	return ws_coexist_dst_selected(co, port) && ts > co->dst_changed_ns + DST_MARGIN_NS;
}

static void dst_mark(struct ws_coexist *co, uint16_t port)
{
	co->dst_bits[port / 64] |= 1ull << (port % 64);
	co->dst_changed_ns = co->now_ns;
	co->dst_changed = true;
}

bool ws_coexist_take_dst_change(struct ws_coexist *co)
{
	bool c = co->dst_changed;

	co->dst_changed = false;
	return c;
}

static void port_select(struct ws_coexist *co, uint32_t pid, uint16_t port)
{
	struct ws_coexist_port *free_slot = NULL;

	for (size_t i = 0; i < sizeof(co->ports) / sizeof(co->ports[0]); i++) {
		struct ws_coexist_port *p = &co->ports[i];

		if (p->pid == pid && p->port == port) {
			if (!p->selected && co->dst_fn && ws_sdk_instrumented(&co->sdk, pid)) {
				co->dst_fn(co->dst_ctx, port, true);
				dst_mark(co, port);
				p->selected = true;
				co->st.dst_selected++;
			}
			return;
		}
		if (!p->pid && !free_slot)
			free_slot = p;
	}
	if (!free_slot)
		free_slot = &co->ports[port % (sizeof(co->ports) / sizeof(co->ports[0]))];
	free_slot->pid = pid;
	free_slot->port = port;
	free_slot->selected = false;
	if (co->dst_fn && ws_sdk_instrumented(&co->sdk, pid)) {
		co->dst_fn(co->dst_ctx, port, true);
		dst_mark(co, port);
		free_slot->selected = true;
		co->st.dst_selected++;
	}
}

/* pid was just recognised: its ports become destinations, its open spans hidden. */
static void recognised(struct ws_coexist *co, struct ws_ctx *ctx, uint32_t pid)
{
	for (size_t i = 0; i < sizeof(co->ports) / sizeof(co->ports[0]); i++)
		if (co->ports[i].pid == pid)
			port_select(co, pid, co->ports[i].port);
	if (ws_sdk_hide(&co->sdk, pid)) {
		uint32_t n = ws_ctx_hide_owner(ctx, pid);

		co->st.sdk_hidden_late += n;
		co->st.sdk_hidden += n;
	}
}

void ws_coexist_connect(struct ws_coexist *co, uint32_t pid, uint16_t rport, uint64_t ts)
{
	if (ts > co->now_ns)
		co->now_ns = ts;
	if (rport == OTLP_GRPC_PORT && pid)
		ws_sdk_note_otlp(&co->sdk, pid, WS_SDK_OTLP_GRPC, ts);
	/* its open spans are hidden at its next request (ws_sdk_take_new: no context here) */
}

uint32_t ws_coexist_open(struct ws_coexist *co, struct ws_ctx *ctx, struct ws_node_ref ref,
			 const struct ws_coexist_req *r)
{
	uint8_t tid[16], sid[8], flags;
	bool has_tp = r->traceparent && ws_traceparent_parse(r->traceparent, tid, sid, &flags) == 0;
	bool hide = false;
	uint32_t shift = 0;

	if (r->ts > co->now_ns)
		co->now_ns = r->ts;
	ws_ctx_set_owner(ctx, ref, r->pid);
	if (r->server) {
		port_select(co, r->pid, r->lport);
		if (has_tp)
			ws_sdk_note_received(&co->sdk, r->pid, sid, r->ts);
	}
	if (ws_sdk_is_otlp_path(r->method, r->path)) {
		/* The SDK's own export: not a request of the application. */
		co->sdk.st.otlp_requests += r->server ? 0 : 1;
		if (!r->server)
			ws_sdk_note_otlp(&co->sdk, r->pid,
					 strncmp(r->path, "/opentelemetry.", 15) == 0 ? WS_SDK_OTLP_GRPC : WS_SDK_OTLP_HTTP,
					 r->ts);
		co->st.otlp_hidden++;
		hide = true;
	}
	if (!r->server) {
		struct ws_coexist_inj *inj = has_tp ? NULL : inj_take(co, r);

		if (inj) {
			/* The receiver reads our ids: this span must carry them, and it is not
			 * hidden (what the receiver makes names it as parent) unless it is an
			 * OTLP export, whose receiving end is hidden too. A span with forced
			 * ids is never hidden by its owner's recognition (ws_ctx_hide_owner). */
			ws_ctx_force_ids(ctx, ref, inj->trace_id, inj->span_id);
			co->st.injected_spans++;
			co->st.inject_trace_received += !!(inj->flags & WS_INJ_F_TRACE_RECEIVED);
			co->st.inject_trace_derived += !!(inj->flags & WS_INJ_F_TRACE_DERIVED);
			shift = inj->len;
			if (hide)
				ws_ctx_hide(ctx, ref);
			if (ws_sdk_take_new(&co->sdk, r->pid))
				recognised(co, ctx, r->pid);
			return shift;
		}
		if (has_tp && !hide) {
			/* Its sender wrote a context of its own: it has its own CLIENT span. */
			ws_sdk_note_sent(&co->sdk, r->pid, sid, r->ts);
			co->st.client_tp_hidden++;
			hide = true;
		}
	}
	/* Hidden (and counted) for its own reason first, so that the recognition below
	 * counts only the spans it hides. */
	if (hide)
		ws_ctx_hide(ctx, ref);
	if (ws_sdk_take_new(&co->sdk, r->pid))
		recognised(co, ctx, r->pid);
	if (!ws_ctx_is_hidden(ctx, ref) && ws_sdk_hide(&co->sdk, r->pid)) {
		co->st.sdk_hidden++;
		ws_ctx_hide(ctx, ref);
	}
	return shift;
}

void ws_coexist_report(const struct ws_coexist *co, FILE *out)
{
	ws_sdk_report(&co->sdk, out);
	fprintf(out, "  inject_records %" PRIu64 "\n", co->st.inject_records);
	fprintf(out, "  injected_spans %" PRIu64 "\n", co->st.injected_spans);
	fprintf(out, "  injected_trace_received %" PRIu64 "\n", co->st.inject_trace_received);
	fprintf(out, "  injected_trace_derived %" PRIu64 "\n", co->st.inject_trace_derived);
	fprintf(out, "  inject_unmatched %" PRIu64 "\n", co->st.inject_unmatched);
	fprintf(out, "  inject_dst_selected %" PRIu64 "\n", co->st.dst_selected);
	fprintf(out, "  spans_hidden_client_traceparent %" PRIu64 "\n", co->st.client_tp_hidden);
	fprintf(out, "  spans_hidden_sdk_process %" PRIu64 "\n", co->st.sdk_hidden);
	fprintf(out, "  spans_hidden_sdk_process_late %" PRIu64 "\n", co->st.sdk_hidden_late);
	fprintf(out, "  spans_hidden_otlp_export %" PRIu64 "\n", co->st.otlp_hidden);
}
