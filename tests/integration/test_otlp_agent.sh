#!/bin/bash
# The agent exporting OTLP/HTTP next to its file output (root: BPF). A python service on
# 127.0.0.1 serves a client; the agent writes spans to a JSON-lines file and exports
# them with --otlp-endpoint to the judging receiver (protobuf, gzip from the env).
# Both outputs must carry exactly the same spans, field by field; the receiver must
# decode every request with the OpenTelemetry JS definitions; the agent's otlp_*
# counters must show every span sent and none dropped.
. "$(dirname "$0")/lib.sh"
ws_init
command -v node >/dev/null || ws_skip "node missing (scripts/deps.sh installs it)"
[ -f "$WS_ROOT/tests/node/node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js" ] ||
	ws_skip "npm test peers missing (scripts/deps.sh runs npm install in tests/node)"

ws_spawn otlp-receiver node "$WS_ROOT/tests/node/otlp_receiver.js" --out "$WS_TMP/otlp.jsonl" \
	--port-file "$WS_TMP/otlp.port"
ws_wait_file "$WS_TMP/otlp.port" 10 "$WS_LAST_PID"
OTLP_PORT=$(cat "$WS_TMP/otlp.port")

ws_start_py svc-a 127.0.0.1
A_PORT=$WS_LAST_PORT

export OTEL_EXPORTER_OTLP_COMPRESSION=gzip OTEL_BSP_SCHEDULE_DELAY=200
ws_start_agent --port "$A_PORT" --otlp-endpoint "http://127.0.0.1:$OTLP_PORT"
unset OTEL_EXPORTER_OTLP_COMPRESSION OTEL_BSP_SCHEDULE_DELAY
grep -q "exporting OTLP (http/protobuf) to http://127.0.0.1:$OTLP_PORT/v1/traces" "$WS_AGENT_ERR" ||
	ws_fail "the agent did not announce the OTLP export"

ws_client chain-client "$WS_TMP/manifest.json" --host 127.0.0.1 --port "$A_PORT" --count 60 --threads 3
ws_stop_agent
ws_check_counters

node "$WS_ROOT/tests/node/compare_spans.js" "$WS_SPANS" "$WS_TMP/otlp.jsonl" >"$WS_TMP/compare.out" 2>"$WS_TMP/compare.err" ||
	ws_fail "file and OTLP outputs differ: $(head -n 5 "$WS_TMP/compare.err" | tr '\n' ' ')"
n=$(awk '$1 == "file_spans" {print $2}' "$WS_TMP/compare.out")
[ "${n:-0}" -ge 60 ] || ws_fail "only ${n:-0} spans for 60 requests"
grep -q '"contentEncoding":"gzip"' "$WS_TMP/otlp.jsonl" || ws_fail "the export was not gzip-compressed"

# the agent's own account: everything it produced was sent
sent=$(grep -E '^ *otlp_spans_sent [0-9]+$' "$WS_AGENT_ERR" | tail -n 1 | awk '{print $2}')
[ "${sent:-0}" = "$n" ] || ws_fail "otlp_spans_sent is '${sent}', the file has $n spans"
for c in otlp_spans_failed otlp_spans_dropped_queue_full otlp_spans_dropped_shutdown; do
	v=$(grep -E "^ *$c [0-9]+$" "$WS_AGENT_ERR" | tail -n 1 | awk '{print $2}')
	[ "$v" = 0 ] || ws_fail "$c is '$v'"
done
ws_log "PASS: $n spans, identical in the file and at the OTLP receiver"
