/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_cost: what the OTLP/HTTP exporter costs per span, without the agent around it.
 *
 * Feeds N realistic spans (the HTTP server and client spans agent/proto/http1_ops.c
 * makes: 13-14 attributes each, a few processes with the resource attributes
 * agent/process.c sets) through the real sink (exporter/otlp_http.c: queue -> encoder
 * -> gzip -> libcurl POST) to a receiver such as bench/otlp_sink on 127.0.0.1, then
 * flushes and prints "key value" lines: spans sent, requests, wire bytes per span,
 * wall ns per span, and the process's VmRSS/VmHWM.
 *
 * The figure that matters is CPU per span, measured noise-free with callgrind: the
 * inclusive Ir of the sink's worker thread plus emit(), divided by the spans
 * (bench/otlp_cost.sh does that for each batch size and gzip level).
 *
 * Usage: otlp_cost --endpoint URL [--spans N] [--batch B] [--gzip none|1..9]
 *                  [--chunk K] [--resources R] [--queue N] [--pace-us US]
 * --pace-us sleeps between emit() calls of K spans (a steady rate instead of a burst).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exporter/otlp_config.h"
#include "exporter/otlp_http.h"
#include "exporter/otlp_queue.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static void rand_id(uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = next_rand();

		memcpy(out + i, &r, n - i < 8 ? n - i : 8);
	}
}

/* Span 2k is a server span, 2k+1 the client span it made (same trace, child of it). */
static void make_span(struct ws_span *s, uint64_t i, struct ws_resource *res, const struct ws_span *server)
{
	static const char *const paths[] = { "/api/items", "/api/orders", "/healthz", "/api/users/me" };
	char buf[64];
	bool client = i & 1;
	uint64_t t = 1700000000000000000ull + i * 250000ull;

	memset(s, 0, sizeof(*s));
	s->res = res;
	if (client) {
		memcpy(s->trace_id, server->trace_id, sizeof(s->trace_id));
		memcpy(s->parent_span_id, server->span_id, sizeof(s->parent_span_id));
	} else {
		rand_id(s->trace_id, sizeof(s->trace_id));
	}
	rand_id(s->span_id, sizeof(s->span_id));
	s->trace_flags = 1;
	s->kind = client ? WS_KIND_CLIENT : WS_KIND_SERVER;
	s->start_ns = t + (client ? 20000 : 0);
	s->end_ns = s->start_ns + 80000 + next_rand() % 50000;
	snprintf(s->name, sizeof(s->name), "GET");
	ws_span_set_str(s, "http.request.method", "GET");
	ws_span_set_str(s, "url.path", paths[(i / 2) % 4]);
	ws_span_set_str(s, "url.scheme", "http");
	ws_span_set_str(s, "network.protocol.name", "http");
	ws_span_set_str(s, "network.protocol.version", "1.1");
	snprintf(buf, sizeof(buf), "10.0.%u.%u", (unsigned)(next_rand() % 4), (unsigned)(next_rand() % 250 + 2));
	ws_span_set_str(s, "network.peer.address", buf);
	ws_span_set_int(s, "network.peer.port", client ? 8080 : (int64_t)(32768 + next_rand() % 28000));
	if (client) {
		ws_span_set_str(s, "server.address", "backend.internal");
		ws_span_set_int(s, "server.port", 8080);
		snprintf(buf, sizeof(buf), "http://backend.internal:8080%s", paths[(i / 2) % 4]);
		ws_span_set_str(s, "url.full", buf);
	} else {
		ws_span_set_str(s, "client.address", buf);
		ws_span_set_int(s, "client.port", (int64_t)(32768 + next_rand() % 28000));
		ws_span_set_str(s, "server.address", "10.0.0.1");
		ws_span_set_int(s, "server.port", 80);
	}
	ws_span_set_int(s, "http.response.status_code", next_rand() % 50 ? 200 : 503);
	ws_span_set_int(s, "http.response.body.size", 100);
	ws_span_set_int(s, "wirespan.sched.oncpu_ns", (int64_t)(5000 + next_rand() % 40000));
}

static void print_status(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long kb;

		if (sscanf(line, "VmRSS: %lu", &kb) == 1)
			printf("vm_rss_kib %lu\n", kb);
		else if (sscanf(line, "VmHWM: %lu", &kb) == 1)
			printf("vm_hwm_kib %lu\n", kb);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "spans", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'B' },
		{ "gzip", required_argument, NULL, 'z' },
		{ "chunk", required_argument, NULL, 'k' },
		{ "resources", required_argument, NULL, 'r' },
		{ "queue", required_argument, NULL, 'Q' },
		{ "pace-us", required_argument, NULL, 'p' },
		{ 0 },
	};
	uint64_t n = 8192, chunk = 64, nres = 4, pace_us = 0;
	struct ws_otlp_config cfg;
	char err[256];
	int c;

	if (ws_otlp_config_from_env(&cfg, NULL, err, sizeof(err))) {
		fprintf(stderr, "otlp_cost: %s\n", err);
		return 2;
	}
	cfg.max_queue_spans = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		uint64_t v = strtoull(optarg, NULL, 10);

		switch (c) {
		case 'e':
			if (ws_otlp_config_set_endpoint(&cfg, optarg, err, sizeof(err))) {
				fprintf(stderr, "otlp_cost: %s\n", err);
				return 2;
			}
			break;
		case 'n': n = v; break;
		case 'B': cfg.max_batch_spans = (uint32_t)v; break;
		case 'z':
			cfg.compression = strcmp(optarg, "none") ? WS_OTLP_COMPRESS_GZIP : WS_OTLP_COMPRESS_NONE;
			if (cfg.compression == WS_OTLP_COMPRESS_GZIP)
				cfg.gzip_level = (uint32_t)v;
			break;
		case 'k': chunk = v ? v : 1; break;
		case 'r': nres = v ? v : 1; break;
		case 'Q': cfg.max_queue_spans = (uint32_t)v; break;
		case 'p': pace_us = v; break;
		default:
			fprintf(stderr, "usage: otlp_cost --endpoint URL [--spans N] [--batch B] [--gzip none|1..9] "
					"[--chunk K] [--resources R] [--queue N] [--pace-us US]\n");
			return 2;
		}
	}
	/* By default the queue holds the whole run: the figure is the cost of exporting,
	 * not of dropping. */
	if (!cfg.max_queue_spans)
		cfg.max_queue_spans = (uint32_t)(n > cfg.max_batch_spans ? n : cfg.max_batch_spans);
	cfg.max_queue_bytes = (uint64_t)cfg.max_queue_spans * sizeof(struct ws_span);
	if (ws_otlp_config_validate(&cfg, err, sizeof(err)) || !cfg.enabled) {
		fprintf(stderr, "otlp_cost: %s\n", cfg.enabled ? err : "no endpoint");
		return 2;
	}

	struct ws_sink *sink = ws_sink_otlp_http_new(&cfg);
	struct ws_resource **res = calloc(nres, sizeof(*res));
	struct ws_span *spans = calloc(chunk + 1, sizeof(*spans));
	const struct ws_span **ptrs = calloc(chunk + 1, sizeof(*ptrs));
	struct ws_otlp_stats st;

	if (!sink || !res || !spans || !ptrs)
		return 1;
	for (uint64_t r = 0; r < nres; r++) {
		char v[64];

		res[r] = ws_resource_new((uint32_t)(4000 + r));
		res[r]->start_time = 1000 + r;
		snprintf(v, sizeof(v), "svc-%" PRIu64, r);
		ws_resource_set_str(res[r], "service.name", v);
		ws_resource_set_str(res[r], "process.executable.name", v);
		ws_resource_set_int(res[r], "process.pid", (int64_t)(4000 + r));
		snprintf(v, sizeof(v), "/usr/local/bin/svc-%" PRIu64 " --port 80%02" PRIu64, r, r);
		ws_resource_set_str(res[r], "process.command_line", v);
		ws_resource_set_str(res[r], "host.name", "node-17.example.internal");
		ws_resource_set_str(res[r], "telemetry.sdk.name", "wirespan");
		ws_resource_set_str(res[r], "telemetry.sdk.language", "cpp");
	}
	printf("batch %u\ngzip %s%u\n", cfg.max_batch_spans, cfg.compression ? "" : "none/", cfg.gzip_level);
	uint64_t t0 = mono_ns();

	for (uint64_t i = 0; i < n;) {
		size_t k = 0;

		/* a server span and its client span come from the same process */
		for (; k < chunk && i < n; k++, i++) {
			make_span(&spans[k], i, res[(i / 2) % nres], k ? &spans[k - 1] : &spans[chunk]);
			ptrs[k] = &spans[k];
		}
		spans[chunk] = spans[k - 1];
		sink->ops->emit(sink, ptrs, k);
		if (pace_us)
			usleep((useconds_t)pace_us);
	}
	int rc = sink->ops->flush(sink, mono_ns() + 60000000000ull);
	uint64_t wall = mono_ns() - t0;

	ws_sink_otlp_http_stats(sink, &st);
	printf("flush_rc %d\nspans %" PRIu64 "\nspans_sent %" PRIu64 "\ndropped_queue_full %" PRIu64 "\n", rc, n,
	       st.spans_sent, st.spans_dropped_queue_full);
	printf("requests %" PRIu64 "\nbytes_per_span %.1f\nwall_ns_per_span %.0f\n", st.requests,
	       n ? (double)st.bytes_sent / (double)n : 0.0, n ? (double)wall / (double)n : 0.0);
	print_status();
	sink->ops->destroy(sink);
	for (uint64_t r = 0; r < nres; r++)
		ws_resource_unref(res[r]);
	free(res);
	free(spans);
	free(ptrs);
	return st.spans_sent == n ? 0 : 1;
}
