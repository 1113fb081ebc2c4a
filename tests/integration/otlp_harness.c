/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Test driver for the OTLP/HTTP sink: pushes synthetic spans through
 * ws_sink_otlp_http_new() the way the agent's event loop does (emit() from one thread,
 * a few spans per call), then flushes with a deadline, and prints "key value" lines:
 * emit() throughput and latency, flush result, and the sink's otlp_* counters.
 *
 * Span i is fully determined by i (see make_span); tests/node/check_wire.js computes
 * the same span from i independently and compares it with what a receiver decoded.
 *
 * Configuration comes from the OpenTelemetry environment (ws_otlp_config_from_env),
 * then --endpoint (ws_otlp_config_set_endpoint), then the test-only overrides below.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exporter/otlp_config.h"
#include "exporter/otlp_http.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void be64(uint8_t *out, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void trace_id_of(uint8_t *out, uint64_t i)
{
	be64(out, 0x5753000000000000ull | i);
	be64(out + 8, 0xfedcba9876543210ull ^ i);
}

/* The definition of span i. Keep in step with expectedSpan() in tests/node/check_wire.js. */
static void make_span(struct ws_span *s, uint64_t i, struct ws_resource *res)
{
	static const char *const paths[] = { "/items/0", "/items/1", "/items/2", "/items/3", "/items/4", "/items/5", "/items/6" };

	memset(s, 0, sizeof(*s));
	trace_id_of(s->trace_id, i);
	be64(s->span_id, 0x1000000000000000ull + i);
	if (i % 3 != 0) {
		be64(s->parent_span_id, 0x2000000000000000ull + i);
		s->parent_remote = i % 3 == 2;
	}
	snprintf(s->name, sizeof(s->name), "GET %s", paths[i % 7]);
	s->kind = (uint8_t)(1 + i % 5);
	s->start_ns = 1700000000000000000ull + i * 1000000ull;
	s->end_ns = s->start_ns + 1000 + i;
	s->trace_flags = (uint8_t)(i % 2);
	s->res = res;
	ws_span_set_str(s, "http.request.method", "GET");
	ws_span_set_int(s, "http.response.status_code", 200 + (int64_t)(i % 5));
	ws_span_set_int(s, "ws.test.index", (int64_t)i);
	ws_span_set_bool(s, "ws.test.even", i % 2 == 0);
	ws_span_set_double(s, "ws.test.ratio", (double)i / 4.0);
	ws_span_set_str(s, "ws.test.utf8", "h\xc3\xa9llo \xe2\x9c\x93");
	ws_span_set_int(s, "ws.test.neg", -(int64_t)i - 1);
	ws_span_set_int(s, "ws.test.big", INT64_MAX - (int64_t)i);
	if (i % 4 == 1) {
		s->status_code = WS_STATUS_ERROR;
		snprintf(s->status_message, sizeof(s->status_message), "boom %" PRIu64, i);
	} else if (i % 4 == 2) {
		s->status_code = WS_STATUS_OK;
	}
	if (i % 5 == 0) {
		int ev = ws_span_add_event(s, s->start_ns + 10, "ws.test.event");

		ws_span_event_set_int(s, ev, "ev.n", (int64_t)i);
		ws_span_event_set_str(s, ev, "ev.s", "x");
	}
	if (i % 6 == 0) {
		uint8_t tid[16], sid[8];
		int l;

		trace_id_of(tid, i + 1);
		be64(sid, 0x1000000000000000ull + i + 1);
		l = ws_span_add_link(s, tid, sid, 1, true);
		ws_span_link_set_int(s, l, "link.n", (int64_t)i);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: otlp_harness [options]\n"
		"  --endpoint URL        like --otlp-endpoint of the agent (else the OTEL_* environment)\n"
		"  --spans N             spans to emit (1000)\n"
		"  --first I             index of the first span (0)\n"
		"  --chunk K             spans per emit() call (4)\n"
		"  --resources R         distinct processes the spans come from (3)\n"
		"  --pace-us US          sleep between emit() calls (0: as fast as possible)\n"
		"  --wait-ms MS          wait after emitting, before flushing (0)\n"
		"  --flush-ms MS         flush deadline (10000)\n"
		"  --queue N --batch N --delay-ms MS --timeout-ms MS --export-timeout-ms MS\n"
		"  --retry-initial-ms MS --retry-max-ms MS --retry-after-max-ms MS\n"
		"                        override the corresponding configuration\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "spans", required_argument, NULL, 'n' },
		{ "first", required_argument, NULL, 'f' },
		{ "chunk", required_argument, NULL, 'k' },
		{ "resources", required_argument, NULL, 'r' },
		{ "pace-us", required_argument, NULL, 'p' },
		{ "wait-ms", required_argument, NULL, 'w' },
		{ "flush-ms", required_argument, NULL, 'F' },
		{ "queue", required_argument, NULL, 'Q' },
		{ "batch", required_argument, NULL, 'B' },
		{ "delay-ms", required_argument, NULL, 'D' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "export-timeout-ms", required_argument, NULL, 'X' },
		{ "retry-initial-ms", required_argument, NULL, 'I' },
		{ "retry-max-ms", required_argument, NULL, 'M' },
		{ "retry-after-max-ms", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ws_otlp_config cfg;
	char err[256];
	uint64_t n = 1000, first = 0, chunk = 4, nres = 3, pace_us = 0, wait_ms = 0, flush_ms = 10000;
	int c;

	if (ws_otlp_config_from_env(&cfg, NULL, err, sizeof(err))) {
		fprintf(stderr, "otlp_harness: %s\n", err);
		return 2;
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		uint64_t v = optarg ? strtoull(optarg, NULL, 10) : 0;

		switch (c) {
		case 'e':
			if (ws_otlp_config_set_endpoint(&cfg, optarg, err, sizeof(err))) {
				fprintf(stderr, "otlp_harness: %s\n", err);
				return 2;
			}
			break;
		case 'n': n = v; break;
		case 'f': first = v; break;
		case 'k': chunk = v ? v : 1; break;
		case 'r': nres = v ? v : 1; break;
		case 'p': pace_us = v; break;
		case 'w': wait_ms = v; break;
		case 'F': flush_ms = v; break;
		case 'Q': cfg.max_queue_spans = (uint32_t)v; break;
		case 'B': cfg.max_batch_spans = (uint32_t)v; break;
		case 'D': cfg.schedule_delay_ms = (uint32_t)v; break;
		case 'T': cfg.timeout_ms = (uint32_t)v; break;
		case 'X': cfg.export_timeout_ms = (uint32_t)v; break;
		case 'I': cfg.retry_initial_ms = (uint32_t)v; break;
		case 'M': cfg.retry_max_ms = (uint32_t)v; break;
		case 'A': cfg.retry_after_max_ms = (uint32_t)v; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (ws_otlp_config_validate(&cfg, err, sizeof(err))) {
		fprintf(stderr, "otlp_harness: %s\n", err);
		return 2;
	}
	if (!cfg.enabled) {
		fprintf(stderr, "otlp_harness: no endpoint (--endpoint or OTEL_EXPORTER_OTLP_*ENDPOINT)\n");
		return 2;
	}
	printf("endpoint %s\nprotocol %s\ncompression %s\n", cfg.endpoint, ws_otlp_protocol_name(cfg.protocol),
	       cfg.compression == WS_OTLP_COMPRESS_GZIP ? "gzip" : "none");

	struct ws_sink *sink = ws_sink_otlp_http_new(&cfg);
	struct ws_resource **res = calloc(nres, sizeof(*res));
	struct ws_span *spans = calloc(chunk, sizeof(*spans));
	const struct ws_span **ptrs = calloc(chunk, sizeof(*ptrs));
	/* latency histogram: bucket b holds calls that took [2^b, 2^(b+1)) ns */
	uint64_t hist[64] = { 0 }, calls = 0, max_ns = 0, emit_ns = 0;

	if (!sink || !res || !spans || !ptrs)
		return 1;
	for (uint64_t r = 0; r < nres; r++) {
		char name[32];

		res[r] = ws_resource_new((uint32_t)(1000 + r));
		res[r]->start_time = 42;
		snprintf(name, sizeof(name), "svc-%" PRIu64, 1000 + r);
		ws_resource_set_str(res[r], "service.name", name);
		ws_resource_set_int(res[r], "process.pid", (int64_t)(1000 + r));
		ws_resource_set_str(res[r], "host.name", "harness");
	}
	uint64_t t_start = mono_ns();
	for (uint64_t i = first; i < first + n;) {
		size_t k = 0;

		for (; k < chunk && i < first + n; k++, i++) {
			make_span(&spans[k], i, res[i % nres]);
			ptrs[k] = &spans[k];
		}
		uint64_t t0 = mono_ns();
		sink->ops->emit(sink, ptrs, k);
		uint64_t dt = mono_ns() - t0;

		emit_ns += dt;
		calls++;
		if (dt > max_ns)
			max_ns = dt;
		hist[63 - __builtin_clzll(dt | 1)]++;
		if (pace_us)
			usleep((useconds_t)pace_us);
	}
	uint64_t t_emit = mono_ns() - t_start;
	uint64_t p99 = 0, seen = 0;

	for (int b = 0; b < 64; b++) {
		seen += hist[b];
		if (seen * 100 >= calls * 99) {
			p99 = 2ull << b;   /* upper edge of the bucket */
			break;
		}
	}
	printf("emit_calls %" PRIu64 "\nemit_spans %" PRIu64 "\n", calls, n);
	printf("emit_wall_ms %.3f\n", t_emit / 1e6);
	/* spans per second of time spent inside emit(): the ingestion cost of the sink */
	printf("emit_rate %.0f\n", emit_ns ? n / (emit_ns / 1e9) : 0.0);
	printf("emit_max_ns %" PRIu64 "\nemit_p99_ns %" PRIu64 "\n", max_ns, p99);
	fflush(stdout);
	if (wait_ms)
		usleep((useconds_t)(wait_ms * 1000));
	uint64_t t_flush = mono_ns();
	int rc = sink->ops->flush(sink, t_flush + flush_ms * 1000000ull);

	printf("flush_rc %d\nflush_ms %.1f\n", rc, (mono_ns() - t_flush) / 1e6);
	sink->ops->report(sink, stdout);
	struct ws_otlp_stats st;

	ws_sink_otlp_http_stats(sink, &st);
	printf("consistent %d\n", ws_otlp_stats_consistent(&st) &&
	       st.spans_queued + st.spans_dropped_queue_full == n);
	sink->ops->destroy(sink);
	for (uint64_t r = 0; r < nres; r++)
		ws_resource_unref(res[r]);
	free(res);
	free(spans);
	free(ptrs);
	return 0;
}
