#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Issue 12: wirespan beside OpenTelemetry SDKs. Real SDKs (Node: bench/node's
# @opentelemetry/sdk-trace-node + instrumentation-http, OTLP/HTTP to
# tests/node/otlp_receiver.js), uninstrumented python tiers, the agent scoped to every
# port including the receiver's (it must see the SDKs export). Both streams are judged
# together by check_sdk.py: 0 duplicates, every request one whole trace, no OTLP export
# spans in the output; every answer checked by the clients (bodies, keep-alive,
# pipelining with the injected header). Scenarios:
#   a: py client -> SDK node service -> py backend
#   b: SDK node client -> py backend
#   c: py client sending its own traceparent -> py backend
#   d: py client -> SDK node A -> py mid -> SDK node C  (the mid's call continues the
#      trace its request came with: the kernel reads the traceparent it was served)
#   e: py client -> py mid -> SDK node C  (no traceparent anywhere before the SDK: the
#      injected trace id is derived from the mid's request, as the agent derives its root)
#   d16, e16: the same with 16 clients at once (e16: a new connection per request)
#   f1, f16: py client -> plain node mid (an event loop, no SDK) -> SDK node C, one and
#      16 clients at once: with several requests open on the loop's thread the kernel
#      cannot tell whose call it is and starts a new trace (counted), never a wrong one
# Each scenario: 3 warm-up requests (recognition happens on them), then 30 judged. A
# trace holding spans of two requests fails every scenario.
. "$(dirname "$0")/lib.sh"
WS_TEST=sdk_coexist
ws_init
NODE_MODS=$WS_ROOT/bench/node/node_modules
[ -d "$NODE_MODS/@opentelemetry/sdk-trace-node" ] || ws_skip "bench/node/node_modules missing (scripts/deps.sh runs npm ci there)"
[ -d "$WS_ROOT/tests/node/node_modules" ] || ws_skip "tests/node/node_modules missing (scripts/deps.sh)"
command -v node >/dev/null || ws_skip "node missing"
SVC=$WS_ROOT/tests/integration/services/sdk
N=30

start_receiver() {
	ws_spawn receiver node "$WS_ROOT/tests/node/otlp_receiver.js" --out "$WS_TMP/otlp.jsonl" --port-file "$WS_TMP/otlp.port"
	ws_wait_file "$WS_TMP/otlp.port" 10 "$WS_LAST_PID" || ws_fail "receiver did not start"
	OTLP=http://127.0.0.1:$(cat "$WS_TMP/otlp.port")/v1/traces
}
node_svc() {   # name down_url -> port in $WS_TMP/name.port
	ws_spawn "$1" env NODE_PATH="$NODE_MODS" node "$SVC/sdk_service.js" server "$WS_TMP/$1.port" "$1" "$OTLP" ${2:-}
	ws_wait_file "$WS_TMP/$1.port" 15 "$WS_LAST_PID" || ws_fail "$1 did not start"
}
py_svc() {
	ws_spawn "$1" env OTEL_SERVICE_NAME="$1" "$WS_PY" "$SVC/py_tier.py" "$WS_TMP/$1.port" "$1" ${2:-}
	ws_wait_file "$WS_TMP/$1.port" 10 "$WS_LAST_PID" || ws_fail "$1 did not start"
}
port() { cat "$WS_TMP/$1.port"; }
agent_ports() { local p="" s; for s in "$@"; do p="$p -P $(port "$s")"; done; echo "$p -P $(cat "$WS_TMP/otlp.port")"; }

run_scenario() {   # name base spans agent_ports client_cmd...  (ids base+1.. base+3 warm-up)
	local name=$1 base=$2 spans=$3 ports=$4
	shift 4
	WS_SPANS=$WS_TMP/$name.spans.jsonl
	# shellcheck disable=SC2086
	ws_start_agent $ports
	"$@" $((base + 1)) $((base + 3)) >"$WS_TMP/$name.warm.out" 2>&1 || ws_soft_fail "$name: warm-up answers wrong: $(tail -3 "$WS_TMP/$name.warm.out")"
	sleep 1.5
	"$@" $((base + 4)) $((base + N + 3)) ${EXTRA:-} >"$WS_TMP/$name.client.out" 2>&1 || ws_soft_fail "$name: answers wrong: $(tail -3 "$WS_TMP/$name.client.out")"
	sleep 1.5
	ws_stop_agent
	cp "$WS_AGENT_ERR" "$WS_TMP/$name.agent.err"
	grep -E '^  (inject_|injected_|sdk_|spans_hidden)' "$WS_AGENT_ERR" | tr '\n' ' ' | sed 's/  */ /g' >&2; echo >&2
	grep '^wirespan: process' "$WS_AGENT_ERR" >&2 || true
	"$WS_PY" "$WS_ROOT/tests/integration/check_sdk.py" "$WS_SPANS" "$WS_TMP/otlp.jsonl" --ids $((base + 4))-$((base + N + 3)) --spans "$spans" --name "$name" --min-whole "${MIN_WHOLE:-$N}" >&2 ||
		ws_soft_fail "$name: judged wrong"
}

# The kernel's word on where each injected trace id came from: at least N of them.
inj_counter() {   # scenario counter
	local n
	n=$(awk -v k="$2" '$1 == k { print $2 }' "$WS_TMP/$1.agent.err" | head -1)
	echo "$1: $2 = ${n:-missing}" >&2
	[ "${n:-0}" -ge "$N" ] || ws_soft_fail "$1: $2 ${n:-missing} < $N"
}

start_receiver
# a: py client -> node A (SDK) -> py backend
py_svc back; node_svc nodeA "http://127.0.0.1:$(port back)"
EXTRA="--pipeline 0" run_scenario a 0 4 "$(agent_ports back nodeA)" env OTEL_SERVICE_NAME=pyclient "$WS_PY" "$SVC/py_client.py" "http://127.0.0.1:$(port nodeA)"
# c: py client with its own traceparent -> py backend (2 spans: none of the client's)
run_scenario c 100 1 "$(agent_ports back)" env OTEL_SERVICE_NAME=pyclient "$WS_PY" "$SVC/py_client.py" --traceparent "http://127.0.0.1:$(port back)"
# b: SDK client -> py backend
run_scenario b 400 2 "$(agent_ports back)" env NODE_PATH="$NODE_MODS" OTLP_URL="$OTLP" node "$SVC/sdk_service.js" client "http://127.0.0.1:$(port back)"
# d: py client -> node A2 (SDK) -> py mid -> node C (SDK)
node_svc nodeC; py_svc mid "http://127.0.0.1:$(port nodeC)"; node_svc nodeA2 "http://127.0.0.1:$(port mid)"
run_scenario d 200 6 "$(agent_ports nodeC mid nodeA2)" env OTEL_SERVICE_NAME=pyclient "$WS_PY" "$SVC/py_client.py" "http://127.0.0.1:$(port nodeA2)"
inj_counter d inject_trace_received
# e: py client -> py mid -> node C (SDK), no traceparent before the injection
run_scenario e 500 4 "$(agent_ports nodeC mid)" env OTEL_SERVICE_NAME=pyclient "$WS_PY" "$SVC/py_client.py" "http://127.0.0.1:$(port mid)"
inj_counter e inject_trace_derived
# the same with 16 clients at once: a threaded mid serves one request per thread
EXTRA="--concurrency 16" run_scenario d16 600 6 "$(agent_ports nodeC mid nodeA2)" env OTEL_SERVICE_NAME=pyclient "$WS_PY" "$SVC/py_client.py" "http://127.0.0.1:$(port nodeA2)"
EXTRA="--concurrency 16 --new-conn" run_scenario e16 700 4 "$(agent_ports nodeC mid)" env OTEL_SERVICE_NAME=pyclient "$WS_PY" "$SVC/py_client.py" "http://127.0.0.1:$(port mid)"
# f: an event loop in the middle (node without the SDK)
ws_spawn nodeP env NO_SDK=1 NODE_PATH="$NODE_MODS" node "$SVC/sdk_service.js" server "$WS_TMP/nodeP.port" nodeP none "http://127.0.0.1:$(port nodeC)"
ws_wait_file "$WS_TMP/nodeP.port" 15 "$WS_LAST_PID" || ws_fail "nodeP did not start"
run_scenario f1 800 4 "$(agent_ports nodeC nodeP)" env OTEL_SERVICE_NAME=pyclient "$WS_PY" "$SVC/py_client.py" "http://127.0.0.1:$(port nodeP)"
EXTRA="--concurrency 16" MIN_WHOLE=0 run_scenario f16 900 4 "$(agent_ports nodeC nodeP)" env OTEL_SERVICE_NAME=pyclient "$WS_PY" "$SVC/py_client.py" "http://127.0.0.1:$(port nodeP)"
# pipelining and bodies through injection to an SDK service (a's chain, --inject all)
WS_AGENT_ARGS="--inject all" EXTRA="--pipeline 5" MIN_WHOLE=$N run_scenario a_all 300 4 "$(agent_ports back nodeA)" env OTEL_SERVICE_NAME=pyclient "$WS_PY" "$SVC/py_client.py" "http://127.0.0.1:$(port nodeA)"
ws_finish
