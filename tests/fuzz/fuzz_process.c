/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * /proc/PID/{stat,environ,cgroup,cmdline} are written by other processes: every parser
 * of agent/process.c gets the raw input. The attributes parsed from it then go through
 * the OTLP/JSON encoder, whose output must hold no raw control byte and only
 * well-formed UTF-8, whatever the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/process.h"
#include "agent/span.h"
#include "exporter/buf.h"
#include "exporter/otlp_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json_text(const struct ws_buf *b)
{
	const uint8_t *p = b->data, *end = b->data + b->len;

	while (p < end) {
		size_t n, skip;

		if (*p < 0x20)
			abort();
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = ws_utf8_seq(p, end, &skip);
		if (!n)
			abort();
		p += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct ws_proc_stat st;
	struct ws_cgroup_ids ids;
	struct ws_kv_iter it;
	char key[WS_OTEL_KEY_MAX], val[WS_OTEL_VAL_MAX], line[WS_PROC_CMDLINE_MAX + 1];
	const char *v;
	size_t vlen, n;
	struct ws_resource *r;
	struct ws_span span;
	const struct ws_span *sp[1] = { &span };
	struct ws_buf b;
	/* keys interned like process.c does: stable storage for the run */
	static char keys[WS_RES_MAX_ATTRS][WS_OTEL_KEY_MAX];
	int nk = 0;

	if (ws_proc_stat_parse(s, size, &st) == 0 && strlen(st.comm) >= sizeof(st.comm))
		abort();
	ws_cgroup_parse(s, size, &ids);
	if (strlen(ids.container_id) != 0 && strlen(ids.container_id) != 64)
		abort();
	if (strlen(ids.pod_uid) != 0 && strlen(ids.pod_uid) != 36)
		abort();
	n = ws_cmdline_format(s, size, line, sizeof(line));
	if (n >= sizeof(line) || strlen(line) > n)
		abort();
	if (ws_environ_find(s, size, "OTEL_SERVICE_NAME", &v, &vlen) == 0 &&
	    (v < s || v + vlen > s + size))
		abort();

	r = ws_resource_new(1);
	if (!r)
		return 0;
	ws_resource_set_str(r, "process.command_line", line);
	ws_otel_attrs_init(&it, s, size);
	while (ws_otel_attrs_next(&it, key, sizeof(key), val, sizeof(val)) && nk < WS_RES_MAX_ATTRS) {
		memcpy(keys[nk], key, sizeof(key));
		ws_resource_set_str(r, keys[nk++], val);
	}
	memset(&span, 0, sizeof(span));
	n = size < sizeof(span.name) ? size : sizeof(span.name);
	memcpy(span.name, data, n);        /* possibly without NUL */
	span.res = r;
	ws_buf_init(&b, 1 << 20);
	if (ws_otlp_json_encode(sp, 1, &b) == 0)
		check_json_text(&b);
	ws_buf_free(&b);
	ws_resource_unref(r);
	return 0;
}
