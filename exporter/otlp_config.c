/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OTLP/HTTP exporter configuration: OpenTelemetry env variables and the endpoint flag. */
#include "otlp_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../agent/span.h"

extern char **environ;

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void ws_otlp_config_init(struct ws_otlp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->protocol = WS_OTLP_PROTO_HTTP_PROTOBUF;
	cfg->compression = WS_OTLP_COMPRESS_NONE;
	/* gzip level 1: half the CPU of zlib's default 6 for 10 % more bytes (bench/otlp_cost,
	 * table in docs/otlp-export.md); 3 costs the same as 1 for 2 % fewer bytes. */
	cfg->gzip_level = 1;
	cfg->timeout_ms = 10000;
	cfg->schedule_delay_ms = 5000;
	cfg->export_timeout_ms = 30000;
	/* Not the SDKs' 2048: a node agent queues the spans of every service on the host,
	 * and the span table hands them over once per 100 ms tick, so one tick at 55k
	 * spans/s is already 5.5k spans (the benchmark lost 53% at 27k req/s with 2048).
	 * OTEL_BSP_MAX_QUEUE_SIZE still sets it; max_queue_bytes bounds the memory. */
	cfg->max_queue_spans = 8192;
	cfg->max_batch_spans = 512;
	cfg->max_queue_bytes = 64ull << 20;
	/* The Collector's OTLP receiver takes bodies up to 20 MiB by default (its
	 * max_request_body_size); stay well under it. */
	cfg->max_request_bytes = 4u << 20;
	cfg->retry_initial_ms = 1000;
	cfg->retry_max_ms = 30000;
	cfg->retry_after_max_ms = 60000;
}

const char *ws_otlp_protocol_name(enum ws_otlp_protocol p)
{
	return p == WS_OTLP_PROTO_HTTP_JSON ? "http/json" : "http/protobuf";
}

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (!envp)
		envp = environ;
	if (!envp)
		return NULL;
	for (; *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			/* the spec: an empty value is the same as unset */
			return (*envp)[n + 1] ? *envp + n + 1 : NULL;
	return NULL;
}

/* The signal-specific variable wins over the general one; *used names the one taken. */
static const char *env_get2(char *const *envp, const char *specific, const char *general, const char **used)
{
	const char *v = env_get(envp, specific);

	*used = specific;
	if (!v) {
		v = env_get(envp, general);
		*used = general;
	}
	return v;
}

static int parse_u64(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *out,
		     char *err, size_t errlen)
{
	unsigned long long x;
	char *end;

	while (*v == ' ' || *v == '\t')
		v++;
	if (!isdigit((unsigned char)*v))
		return fail(err, errlen, "%s=\"%s\": not a non-negative integer", name, v);
	errno = 0;
	x = strtoull(v, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || *end)
		return fail(err, errlen, "%s=\"%s\": not a non-negative integer", name, v);
	if (x < min || x > max)
		return fail(err, errlen, "%s=%llu: must be between %llu and %llu", name, x,
			    (unsigned long long)min, (unsigned long long)max);
	*out = x;
	return 0;
}

static int parse_u32(const char *name, const char *v, uint32_t min, uint32_t max, uint32_t *out,
		     char *err, size_t errlen)
{
	uint64_t x;
	int rc = parse_u64(name, v, min, max, &x, err, errlen);

	if (!rc)
		*out = (uint32_t)x;
	return rc;
}

/* Checks an absolute http(s) URL; *path_off gets the offset of its path (or of its end). */
static int check_url(const char *what, const char *url, size_t *path_off, char *err, size_t errlen)
{
	const char *p, *host, *host_end;

	if (strlen(url) >= WS_OTLP_URL_MAX - sizeof("/v1/traces"))
		return fail(err, errlen, "%s: URL longer than %zu bytes", what, (size_t)WS_OTLP_URL_MAX - sizeof("/v1/traces"));
	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return fail(err, errlen, "%s=\"%s\": URL contains a space, control or non-ASCII byte", what, url);
	if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "grpc://", 7) == 0 || !strchr(url, ':'))
		return fail(err, errlen, "%s=\"%s\": want an http:// or https:// URL (OTLP/HTTP, e.g. http://localhost:4318)", what, url);
	else
		return fail(err, errlen, "%s=\"%s\": unsupported scheme, want http:// or https://", what, url);
	host_end = host + strcspn(host, "/?#");
	if (host_end == host)
		return fail(err, errlen, "%s=\"%s\": no host in URL", what, url);
	if (memchr(host, '@', (size_t)(host_end - host)))
		return fail(err, errlen, "%s: credentials in the URL are not supported; use OTEL_EXPORTER_OTLP_HEADERS", what);
	/* a port, when present, is 1..65535 */
	const char *colon = NULL;

	if (*host == '[') {
		const char *rb = memchr(host, ']', (size_t)(host_end - host));

		if (!rb)
			return fail(err, errlen, "%s=\"%s\": unterminated [IPv6] host", what, url);
		if (rb + 1 < host_end) {
			if (rb[1] != ':')
				return fail(err, errlen, "%s=\"%s\": junk after [IPv6] host", what, url);
			colon = rb + 1;
		}
	} else {
		colon = memchr(host, ':', (size_t)(host_end - host));
		if (colon == host)
			return fail(err, errlen, "%s=\"%s\": no host in URL", what, url);
	}
	if (colon) {
		unsigned long port = 0;
		const char *d = colon + 1;

		if (d == host_end)
			return fail(err, errlen, "%s=\"%s\": empty port", what, url);
		for (; d < host_end; d++) {
			if (!isdigit((unsigned char)*d) || port > 65535)
				return fail(err, errlen, "%s=\"%s\": bad port", what, url);
			port = port * 10 + (unsigned long)(*d - '0');
		}
		if (port == 0 || port > 65535)
			return fail(err, errlen, "%s=\"%s\": port must be 1..65535", what, url);
	}
	if (strchr(url, '#'))
		return fail(err, errlen, "%s=\"%s\": a URL fragment (#) makes no sense here", what, url);
	*path_off = (size_t)(host_end - url);
	return 0;
}

static bool path_ends_with_traces(const char *url, size_t path_off)
{
	size_t end = path_off + strcspn(url + path_off, "?");
	static const char suffix[] = "/v1/traces";

	return end - path_off >= sizeof(suffix) - 1 &&
	       memcmp(url + end - (sizeof(suffix) - 1), suffix, sizeof(suffix) - 1) == 0;
}

static int set_full(struct ws_otlp_config *cfg, const char *what, const char *url, char *err, size_t errlen)
{
	size_t path_off;
	int rc = check_url(what, url, &path_off, err, errlen);

	if (rc)
		return rc;
	snprintf(cfg->endpoint, sizeof(cfg->endpoint), "%s", url);
	cfg->enabled = true;
	return 0;
}

static int set_base(struct ws_otlp_config *cfg, const char *what, const char *url, char *err, size_t errlen)
{
	size_t path_off, len;
	int rc = check_url(what, url, &path_off, err, errlen);

	if (rc)
		return rc;
	if (strchr(url + path_off, '?'))
		return fail(err, errlen, "%s=\"%s\": a base endpoint cannot carry a query; give the full URL in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", what, url);
	len = strlen(url);
	/* "http://h:4318/" and "http://h:4318" both become http://h:4318/v1/traces */
	snprintf(cfg->endpoint, sizeof(cfg->endpoint), "%.*s/v1/traces",
		 (int)(len && url[len - 1] == '/' ? len - 1 : len), url);
	cfg->enabled = true;
	return 0;
}

int ws_otlp_config_set_endpoint(struct ws_otlp_config *cfg, const char *url, char *err, size_t errlen)
{
	size_t path_off;
	int rc;

	if (!url || !*url)
		return fail(err, errlen, "--otlp-endpoint: empty URL");
	rc = check_url("--otlp-endpoint", url, &path_off, err, errlen);
	if (rc)
		return rc;
	if (path_ends_with_traces(url, path_off))
		return set_full(cfg, "--otlp-endpoint", url, err, errlen);
	return set_base(cfg, "--otlp-endpoint", url, err, errlen);
}

static bool is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int ws_otlp_config_parse_headers(struct ws_otlp_config *cfg, const char *value, char *err, size_t errlen)
{
	static const char *const reserved[] = { "content-type", "content-encoding", "content-length",
						"transfer-encoding", "expect" };
	const char *p = value;

	cfg->n_headers = 0;
	while (*p) {
		const char *item = p, *item_end = p + strcspn(p, ","), *eq, *k, *k_end, *v, *v_end;
		char line[WS_OTLP_HEADER_MAX];
		size_t n;

		p = *item_end ? item_end + 1 : item_end;
		k = item;
		while (k < item_end && (*k == ' ' || *k == '\t'))
			k++;
		if (k == item_end)
			continue;   /* "a=b,,c=d": empty members are skipped */
		eq = memchr(k, '=', (size_t)(item_end - k));
		if (!eq)
			return fail(err, errlen, "OTEL_EXPORTER_OTLP_HEADERS: \"%.*s\" is not key=value",
				    (int)(item_end - item), item);
		k_end = eq;
		while (k_end > k && (k_end[-1] == ' ' || k_end[-1] == '\t'))
			k_end--;
		if (k_end == k)
			return fail(err, errlen, "OTEL_EXPORTER_OTLP_HEADERS: empty header name in \"%.*s\"",
				    (int)(item_end - item), item);
		for (const char *c = k; c < k_end; c++)
			if (!is_tchar(*c))
				return fail(err, errlen, "OTEL_EXPORTER_OTLP_HEADERS: \"%.*s\" is not a valid header name",
					    (int)(k_end - k), k);
		for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
			if (strlen(reserved[i]) == (size_t)(k_end - k) && strncasecmp(k, reserved[i], (size_t)(k_end - k)) == 0)
				return fail(err, errlen, "OTEL_EXPORTER_OTLP_HEADERS: %s is set by the exporter itself", reserved[i]);
		if (cfg->n_headers >= WS_OTLP_MAX_HEADERS)
			return fail(err, errlen, "OTEL_EXPORTER_OTLP_HEADERS: more than %d headers", WS_OTLP_MAX_HEADERS);
		v = eq + 1;
		v_end = item_end;
		while (v < v_end && (*v == ' ' || *v == '\t'))
			v++;
		while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
			v_end--;
		n = (size_t)snprintf(line, sizeof(line), "%.*s: ", (int)(k_end - k), k);
		for (const char *c = v; c < v_end; c++) {
			int ch = (unsigned char)*c;

			if (ch == '%') {
				if (v_end - c < 3 || hexval(c[1]) < 0 || hexval(c[2]) < 0)
					return fail(err, errlen, "OTEL_EXPORTER_OTLP_HEADERS: bad percent-encoding in the value of %.*s",
						    (int)(k_end - k), k);
				ch = hexval(c[1]) * 16 + hexval(c[2]);
				c += 2;
			}
			/* a decoded CR/LF would let a header value inject more headers */
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return fail(err, errlen, "OTEL_EXPORTER_OTLP_HEADERS: control character in the value of %.*s",
					    (int)(k_end - k), k);
			if (n + 1 >= sizeof(line))
				return fail(err, errlen, "OTEL_EXPORTER_OTLP_HEADERS: header %.*s longer than %d bytes",
					    (int)(k_end - k), k, WS_OTLP_HEADER_MAX - 1);
			line[n++] = (char)ch;
		}
		line[n] = '\0';
		memcpy(cfg->headers[cfg->n_headers++], line, n + 1);
	}
	return 0;
}

int ws_otlp_config_validate(const struct ws_otlp_config *cfg, char *err, size_t errlen)
{
	size_t path_off;

	if (cfg->enabled) {
		int rc = check_url("endpoint", cfg->endpoint, &path_off, err, errlen);

		if (rc)
			return rc;
	}
	if (cfg->max_queue_spans == 0 || cfg->max_batch_spans == 0)
		return fail(err, errlen, "OTLP queue and batch sizes must be at least 1");
	if (cfg->max_batch_spans > cfg->max_queue_spans)
		return fail(err, errlen, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=%u is larger than OTEL_BSP_MAX_QUEUE_SIZE=%u",
			    cfg->max_batch_spans, cfg->max_queue_spans);
	if (cfg->max_queue_bytes < WS_SPAN_PACKED_MAX)
		return fail(err, errlen, "WIRESPAN_OTLP_MAX_QUEUE_BYTES=%llu cannot hold the largest span (%zu bytes)",
			    (unsigned long long)cfg->max_queue_bytes, (size_t)WS_SPAN_PACKED_MAX);
	if (cfg->timeout_ms == 0 || cfg->export_timeout_ms == 0)
		return fail(err, errlen, "OTLP timeouts must be at least 1 ms");
	if (cfg->retry_initial_ms == 0 || cfg->retry_max_ms < cfg->retry_initial_ms)
		return fail(err, errlen, "OTLP retry backoff: initial must be >= 1 ms and <= max");
	if (cfg->gzip_level < 1 || cfg->gzip_level > 9)
		return fail(err, errlen, "WIRESPAN_OTLP_GZIP_LEVEL=%u: want 1..9", cfg->gzip_level);
	if (cfg->max_request_bytes < 1024)
		return fail(err, errlen, "OTLP request size limit below 1 KiB");
	return 0;
}

int ws_otlp_config_from_env(struct ws_otlp_config *cfg, char *const *envp, char *err, size_t errlen)
{
	const char *v, *name;
	uint64_t u64;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	ws_otlp_config_init(cfg);

	if ((v = env_get(envp, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")))
		rc = set_full(cfg, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", v, err, errlen);
	else if ((v = env_get(envp, "OTEL_EXPORTER_OTLP_ENDPOINT")))
		rc = set_base(cfg, "OTEL_EXPORTER_OTLP_ENDPOINT", v, err, errlen);
	else
		rc = 0;
	if (rc)
		return rc;

	if ((v = env_get2(envp, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL", &name))) {
		if (strcmp(v, "http/protobuf") == 0)
			cfg->protocol = WS_OTLP_PROTO_HTTP_PROTOBUF;
		else if (strcmp(v, "http/json") == 0)
			cfg->protocol = WS_OTLP_PROTO_HTTP_JSON;
		else if (strcmp(v, "grpc") == 0)
			return fail(err, errlen, "%s=grpc: wirespan exports OTLP over HTTP only; use http/protobuf or http/json (collector port 4318)", name);
		else
			return fail(err, errlen, "%s=\"%s\": want http/protobuf or http/json", name, v);
	}
	if ((v = env_get2(envp, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION", &name))) {
		if (strcmp(v, "gzip") == 0)
			cfg->compression = WS_OTLP_COMPRESS_GZIP;
		else if (strcmp(v, "none") == 0)
			cfg->compression = WS_OTLP_COMPRESS_NONE;
		else
			return fail(err, errlen, "%s=\"%s\": want gzip or none", name, v);
	}
	if ((v = env_get2(envp, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT", &name)) &&
	    (rc = parse_u32(name, v, 1, 3600000, &cfg->timeout_ms, err, errlen)))
		return rc;
	if ((v = env_get2(envp, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS", &name)) &&
	    (rc = ws_otlp_config_parse_headers(cfg, v, err, errlen)))
		return rc;
	if ((v = env_get(envp, "OTEL_BSP_SCHEDULE_DELAY")) &&
	    (rc = parse_u32("OTEL_BSP_SCHEDULE_DELAY", v, 1, 3600000, &cfg->schedule_delay_ms, err, errlen)))
		return rc;
	if ((v = env_get(envp, "OTEL_BSP_EXPORT_TIMEOUT")) &&
	    (rc = parse_u32("OTEL_BSP_EXPORT_TIMEOUT", v, 1, 3600000, &cfg->export_timeout_ms, err, errlen)))
		return rc;
	if ((v = env_get(envp, "OTEL_BSP_MAX_QUEUE_SIZE")) &&
	    (rc = parse_u32("OTEL_BSP_MAX_QUEUE_SIZE", v, 1, 1u << 20, &cfg->max_queue_spans, err, errlen)))
		return rc;
	if ((v = env_get(envp, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")) &&
	    (rc = parse_u32("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", v, 1, 1u << 20, &cfg->max_batch_spans, err, errlen)))
		return rc;
	if ((v = env_get(envp, "WIRESPAN_OTLP_MAX_QUEUE_BYTES"))) {
		if ((rc = parse_u64("WIRESPAN_OTLP_MAX_QUEUE_BYTES", v, sizeof(struct ws_span), 1ull << 40, &u64, err, errlen)))
			return rc;
		cfg->max_queue_bytes = u64;
	}
	if ((v = env_get(envp, "WIRESPAN_OTLP_GZIP_LEVEL")) &&
	    (rc = parse_u32("WIRESPAN_OTLP_GZIP_LEVEL", v, 1, 9, &cfg->gzip_level, err, errlen)))
		return rc;
	return ws_otlp_config_validate(cfg, err, errlen);
}
