/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Configuration of the OTLP/HTTP trace exporter: the OpenTelemetry environment
 * variables plus wirespan's --otlp-endpoint flag, parsed and validated into one plain
 * struct (no allocation, nothing to free). Pure: the environment is passed in.
 *
 * How agent/main.c uses it:
 *
 *	struct ws_otlp_config cfg;
 *	char err[256];
 *
 *	if (ws_otlp_config_from_env(&cfg, NULL, err, sizeof(err)))     // defaults + env
 *		die("%s", err);
 *	if (flag_endpoint && ws_otlp_config_set_endpoint(&cfg, flag_endpoint, err, sizeof(err)))
 *		die("%s", err);                                         // the flag wins
 *	if (cfg.enabled)
 *		sink = ws_sink_otlp_http_new(&cfg);                     // exporter/otlp_http.h
 *
 * Variables (an empty value counts as unset; the _TRACES_ variant wins over the plain one):
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  full URL, used as given
 *   OTEL_EXPORTER_OTLP_ENDPOINT         base URL: "/v1/traces" is appended ("v1/traces"
 *                                       after a trailing slash)
 *   OTEL_EXPORTER_OTLP_[TRACES_]HEADERS     k=v,k2=v2 (values percent-decoded, spaces
 *                                           around keys and values trimmed)
 *   OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL    http/protobuf (default) | http/json; grpc is
 *                                           refused with an error
 *   OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION gzip | none (default none)
 *   OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT     ms per HTTP request (default 10000)
 *   OTEL_BSP_SCHEDULE_DELAY             ms between exports of a partial batch (5000)
 *   OTEL_BSP_EXPORT_TIMEOUT             ms for one batch, retries included (30000)
 *   OTEL_BSP_MAX_QUEUE_SIZE             spans queued at most (2048)
 *   OTEL_BSP_MAX_EXPORT_BATCH_SIZE      spans per request at most (512, <= queue size)
 *   WIRESPAN_OTLP_MAX_QUEUE_BYTES       memory the queue may use (64 MiB); the span
 *                                       count is lowered to fit it
 *   WIRESPAN_OTLP_GZIP_LEVEL            zlib level 1..9 for gzip (docs/otlp-export.md
 *                                       has the measured choice of the default)
 *
 * An endpoint given by either variable or the flag sets cfg.enabled.
 */
#ifndef WS_OTLP_CONFIG_H
#define WS_OTLP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_OTLP_URL_MAX 1024
#define WS_OTLP_MAX_HEADERS 16
#define WS_OTLP_HEADER_MAX 1024   /* one "Name: value" line */

enum ws_otlp_protocol {
	WS_OTLP_PROTO_HTTP_PROTOBUF = 0,
	WS_OTLP_PROTO_HTTP_JSON = 1,
};

enum ws_otlp_compression {
	WS_OTLP_COMPRESS_NONE = 0,
	WS_OTLP_COMPRESS_GZIP = 1,
};

struct ws_otlp_config {
	bool enabled;                        /* an endpoint was configured */
	char endpoint[WS_OTLP_URL_MAX];      /* the full traces URL that is POSTed to */
	enum ws_otlp_protocol protocol;
	enum ws_otlp_compression compression;
	uint32_t gzip_level;                 /* zlib level 1..9 when compression is gzip */
	uint32_t timeout_ms;                 /* one HTTP request */
	uint32_t schedule_delay_ms;          /* a partial batch waits at most this long */
	uint32_t export_timeout_ms;          /* one batch, all retries included */
	uint32_t max_queue_spans;
	uint32_t max_batch_spans;
	uint64_t max_queue_bytes;
	uint32_t max_request_bytes;          /* encoded body limit; larger batches are split */
	/* Retry backoff: initial, doubled per attempt up to max, full jitter; a Retry-After
	 * longer than retry_after_max_ms gives the batch up (it would outlive its budget). */
	uint32_t retry_initial_ms;
	uint32_t retry_max_ms;
	uint32_t retry_after_max_ms;
	unsigned n_headers;
	char headers[WS_OTLP_MAX_HEADERS][WS_OTLP_HEADER_MAX];   /* "Name: value" */
};

/* Defaults (the SDKs' batch defaults), no endpoint, not enabled. */
void ws_otlp_config_init(struct ws_otlp_config *cfg);

/*
 * Defaults, then the variables above from envp (a NULL-terminated "NAME=value" array;
 * NULL means the process environment). 0, or -EINVAL with a message naming the
 * variable and the problem in err (always NUL-terminated when errlen > 0).
 */
int ws_otlp_config_from_env(struct ws_otlp_config *cfg, char *const *envp, char *err, size_t errlen);

/*
 * The --otlp-endpoint flag: like OTEL_EXPORTER_OTLP_ENDPOINT (a base, "/v1/traces"
 * appended) unless its path already ends in /v1/traces, then used as given. Overrides
 * whatever the environment said and sets cfg->enabled. 0 or -EINVAL with err.
 */
int ws_otlp_config_set_endpoint(struct ws_otlp_config *cfg, const char *url, char *err, size_t errlen);

/* Parse an OTEL_EXPORTER_OTLP_HEADERS value into cfg->headers (replacing them).
 * 0 or -EINVAL with err. */
int ws_otlp_config_parse_headers(struct ws_otlp_config *cfg, const char *value, char *err, size_t errlen);

/* Check the whole config for consistency (what from_env ends with; call it again
 * after changing fields by hand). 0 or -EINVAL with err. */
int ws_otlp_config_validate(const struct ws_otlp_config *cfg, char *err, size_t errlen);

const char *ws_otlp_protocol_name(enum ws_otlp_protocol p);

#endif /* WS_OTLP_CONFIG_H */
