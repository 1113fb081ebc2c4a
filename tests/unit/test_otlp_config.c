/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OTLP exporter configuration from the environment and the --otlp-endpoint flag. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "exporter/otlp_config.h"

static struct ws_otlp_config cfg;
static char err[256];

#define ENV(...) ((char *const[]){ __VA_ARGS__, NULL })

static void expect_error(char *const *envp, const char *needle)
{
	assert_int_equal(ws_otlp_config_from_env(&cfg, envp, err, sizeof(err)), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_defaults(void **state)
{
	assert_int_equal(ws_otlp_config_from_env(&cfg, ENV("PATH=/bin"), err, sizeof(err)), 0);
	assert_false(cfg.enabled);
	assert_int_equal(cfg.protocol, WS_OTLP_PROTO_HTTP_PROTOBUF);
	assert_int_equal(cfg.compression, WS_OTLP_COMPRESS_NONE);
	assert_int_equal(cfg.gzip_level, 1);
	assert_int_equal(cfg.timeout_ms, 10000);
	assert_int_equal(cfg.schedule_delay_ms, 5000);
	assert_int_equal(cfg.max_queue_spans, 8192);
	assert_int_equal(cfg.max_batch_spans, 512);
	assert_int_equal(cfg.n_headers, 0);
}

static void test_base_endpoint(void **state)
{
	static const char *const cases[][2] = {
		{ "http://localhost:4318", "http://localhost:4318/v1/traces" },
		{ "http://localhost:4318/", "http://localhost:4318/v1/traces" },
		{ "https://collector.example:443/otlp", "https://collector.example:443/otlp/v1/traces" },
		{ "http://[::1]:4318/", "http://[::1]:4318/v1/traces" },
		/* the base variable always appends, even to a path that already has it */
		{ "http://h/v1/traces", "http://h/v1/traces/v1/traces" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char var[256];

		snprintf(var, sizeof(var), "OTEL_EXPORTER_OTLP_ENDPOINT=%s", cases[i][0]);
		assert_int_equal(ws_otlp_config_from_env(&cfg, ENV(var), err, sizeof(err)), 0);
		assert_true(cfg.enabled);
		assert_string_equal(cfg.endpoint, cases[i][1]);
	}
}

static void test_traces_endpoint_wins_and_is_used_as_is(void **state)
{
	assert_int_equal(ws_otlp_config_from_env(&cfg, ENV("OTEL_EXPORTER_OTLP_ENDPOINT=http://a:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://b:9999/custom/path?x=1"), err, sizeof(err)), 0);
	assert_string_equal(cfg.endpoint, "http://b:9999/custom/path?x=1");
	/* empty means unset: the base one is used */
	assert_int_equal(ws_otlp_config_from_env(&cfg, ENV("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://a:4318"), err, sizeof(err)), 0);
	assert_string_equal(cfg.endpoint, "http://a:4318/v1/traces");
}

static void test_flag_endpoint(void **state)
{
	assert_int_equal(ws_otlp_config_from_env(&cfg, ENV("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://env:1/v1/traces"), err, sizeof(err)), 0);
	assert_int_equal(ws_otlp_config_set_endpoint(&cfg, "http://127.0.0.1:4318", err, sizeof(err)), 0);
	assert_string_equal(cfg.endpoint, "http://127.0.0.1:4318/v1/traces");
	assert_int_equal(ws_otlp_config_set_endpoint(&cfg, "http://127.0.0.1:4318/v1/traces", err, sizeof(err)), 0);
	assert_string_equal(cfg.endpoint, "http://127.0.0.1:4318/v1/traces");
	assert_int_equal(ws_otlp_config_set_endpoint(&cfg, "http://127.0.0.1:4318/tempo/v1/traces?k=v", err, sizeof(err)), 0);
	assert_string_equal(cfg.endpoint, "http://127.0.0.1:4318/tempo/v1/traces?k=v");
	assert_int_equal(ws_otlp_config_set_endpoint(&cfg, "http://127.0.0.1:4318/prefix/", err, sizeof(err)), 0);
	assert_string_equal(cfg.endpoint, "http://127.0.0.1:4318/prefix/v1/traces");
	assert_true(cfg.enabled);
	assert_int_equal(ws_otlp_config_set_endpoint(&cfg, "localhost:4318", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "http://"));
	assert_int_equal(ws_otlp_config_set_endpoint(&cfg, "", err, sizeof(err)), -EINVAL);
}

static void test_bad_endpoints(void **state)
{
	expect_error(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=localhost:4318"), "http://");
	expect_error(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=ftp://h:21"), "scheme");
	expect_error(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=http://"), "no host");
	expect_error(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=http://:4318"), "no host");
	expect_error(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=http://h:99999"), "port");
	expect_error(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=http://h:"), "port");
	expect_error(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=http://h:12a"), "port");
	expect_error(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=http://h/a b"), "space");
	expect_error(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=http://u:p@h:4318"), "credentials");
	expect_error(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=http://h:4318/?q=1"), "query");
	expect_error(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=http://[::1:4318"), "IPv6");
	expect_error(ENV("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://h/x#frag"), "fragment");
}

static void test_protocol_and_compression(void **state)
{
	assert_int_equal(ws_otlp_config_from_env(&cfg, ENV("OTEL_EXPORTER_OTLP_PROTOCOL=http/json",
		"OTEL_EXPORTER_OTLP_COMPRESSION=gzip"), err, sizeof(err)), 0);
	assert_int_equal(cfg.protocol, WS_OTLP_PROTO_HTTP_JSON);
	assert_int_equal(cfg.compression, WS_OTLP_COMPRESS_GZIP);
	assert_string_equal(ws_otlp_protocol_name(cfg.protocol), "http/json");
	/* the traces-specific variable wins */
	assert_int_equal(ws_otlp_config_from_env(&cfg, ENV("OTEL_EXPORTER_OTLP_PROTOCOL=http/json",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=none", "OTEL_EXPORTER_OTLP_COMPRESSION=gzip"), err, sizeof(err)), 0);
	assert_int_equal(cfg.protocol, WS_OTLP_PROTO_HTTP_PROTOBUF);
	assert_int_equal(cfg.compression, WS_OTLP_COMPRESS_NONE);
	expect_error(ENV("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"), "HTTP only");
	expect_error(ENV("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/proto"), "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
	expect_error(ENV("OTEL_EXPORTER_OTLP_COMPRESSION=zstd"), "gzip or none");
	assert_int_equal(ws_otlp_config_from_env(&cfg, ENV("WIRESPAN_OTLP_GZIP_LEVEL=3"), err, sizeof(err)), 0);
	assert_int_equal(cfg.gzip_level, 3);
	expect_error(ENV("WIRESPAN_OTLP_GZIP_LEVEL=0"), "WIRESPAN_OTLP_GZIP_LEVEL");
	expect_error(ENV("WIRESPAN_OTLP_GZIP_LEVEL=10"), "WIRESPAN_OTLP_GZIP_LEVEL");
}

static void test_numbers(void **state)
{
	assert_int_equal(ws_otlp_config_from_env(&cfg, ENV("OTEL_EXPORTER_OTLP_TIMEOUT=2500",
		"OTEL_BSP_SCHEDULE_DELAY=100", "OTEL_BSP_EXPORT_TIMEOUT=7000", "OTEL_BSP_MAX_QUEUE_SIZE=100",
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE=10", "WIRESPAN_OTLP_MAX_QUEUE_BYTES=10000000"), err, sizeof(err)), 0);
	assert_int_equal(cfg.timeout_ms, 2500);
	assert_int_equal(cfg.schedule_delay_ms, 100);
	assert_int_equal(cfg.export_timeout_ms, 7000);
	assert_int_equal(cfg.max_queue_spans, 100);
	assert_int_equal(cfg.max_batch_spans, 10);
	assert_int_equal(cfg.max_queue_bytes, 10000000);
	expect_error(ENV("OTEL_EXPORTER_OTLP_TIMEOUT=10s"), "OTEL_EXPORTER_OTLP_TIMEOUT");
	expect_error(ENV("OTEL_EXPORTER_OTLP_TIMEOUT=-1"), "non-negative integer");
	expect_error(ENV("OTEL_EXPORTER_OTLP_TIMEOUT=0"), "between 1");
	expect_error(ENV("OTEL_BSP_MAX_QUEUE_SIZE=99999999999999999999999"), "OTEL_BSP_MAX_QUEUE_SIZE");
	expect_error(ENV("OTEL_BSP_MAX_QUEUE_SIZE=10", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=20"), "larger than");
	expect_error(ENV("WIRESPAN_OTLP_MAX_QUEUE_BYTES=100"), "WIRESPAN_OTLP_MAX_QUEUE_BYTES");
}

static void test_headers(void **state)
{
	assert_int_equal(ws_otlp_config_from_env(&cfg, ENV(
		"OTEL_EXPORTER_OTLP_HEADERS= api-key = secret%20value ,,x-tenant=a%2Cb%3Dc,empty="), err, sizeof(err)), 0);
	assert_int_equal(cfg.n_headers, 3);
	assert_string_equal(cfg.headers[0], "api-key: secret value");
	assert_string_equal(cfg.headers[1], "x-tenant: a,b=c");
	assert_string_equal(cfg.headers[2], "empty: ");
	/* traces-specific wins */
	assert_int_equal(ws_otlp_config_from_env(&cfg, ENV("OTEL_EXPORTER_OTLP_HEADERS=a=1",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS=b=2"), err, sizeof(err)), 0);
	assert_int_equal(cfg.n_headers, 1);
	assert_string_equal(cfg.headers[0], "b: 2");
	expect_error(ENV("OTEL_EXPORTER_OTLP_HEADERS=novalue"), "not key=value");
	expect_error(ENV("OTEL_EXPORTER_OTLP_HEADERS==v"), "empty header name");
	expect_error(ENV("OTEL_EXPORTER_OTLP_HEADERS=bad name=v"), "not a valid header name");
	expect_error(ENV("OTEL_EXPORTER_OTLP_HEADERS=k=a%0d%0aInjected: 1"), "control character");
	expect_error(ENV("OTEL_EXPORTER_OTLP_HEADERS=k=%zz"), "percent-encoding");
	expect_error(ENV("OTEL_EXPORTER_OTLP_HEADERS=k=%2"), "percent-encoding");
	expect_error(ENV("OTEL_EXPORTER_OTLP_HEADERS=Content-Type=text/plain"), "content-type");
	expect_error(ENV("OTEL_EXPORTER_OTLP_HEADERS=a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,m=13,n=14,o=15,p=16,q=17"),
		     "more than");
}

static void test_header_too_long(void **state)
{
	static char var[4096];
	size_t n = (size_t)snprintf(var, sizeof(var), "OTEL_EXPORTER_OTLP_HEADERS=k=");

	memset(var + n, 'v', 2000);
	var[n + 2000] = '\0';
	expect_error(ENV(var), "longer than");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_base_endpoint),
		cmocka_unit_test(test_traces_endpoint_wins_and_is_used_as_is),
		cmocka_unit_test(test_flag_endpoint),
		cmocka_unit_test(test_bad_endpoints),
		cmocka_unit_test(test_protocol_and_compression),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_header_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
