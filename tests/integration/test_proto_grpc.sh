#!/bin/bash
# HTTP/2 and gRPC (issue 8) against real implementations on 127.0.0.1:
#
# 1. gRPC: services/grpc_echo.py, python3-grpcio server and client, insecure (h2c), no
#    protoc (generic handlers, bytes in and out). One channel, so one TCP connection;
#    6 rounds of 8 concurrent calls (unary OK, NOT_FOUND, INTERNAL, INVALID_ARGUMENT,
#    an unimplemented method, server-streaming, client-streaming, bidi), a W3C
#    traceparent in the metadata of every other call. check_proto.py grpc: one CLIENT
#    and one SERVER span per call, names, rpc.* attributes, status per the OTel gRPC
#    rules, SERVER parent = the call's CLIENT span (same bytes) or the traceparent's
#    span, no message payload anywhere in the output.
# 2. Plain h2c: curl --http2-prior-knowledge, 12 requests, one curl and connection each
#    (curl 7.88 fails requests on a reused prior-knowledge connection), to nginx (nginx-light's http2 module, `listen ... http2`). check_traces.py: one
#    CLIENT (curl) -> SERVER (nginx) trace per request, statuses 200/404/500.
# The agent starts after the servers, scoped to the two ports (--port), and before the
# clients connect (an HTTP/2 connection is followed only from its preface).
# WS_GRPC_ROUNDS (6) changes the number of rounds; WS_GRPC_SETTLE=S makes the client wait
# S seconds between connecting and its first call (by default it calls at once, like
# real clients: the agent's capture policy for the connection is not in place yet then).
. "$(dirname "$0")/lib.sh"
ws_init
"$WS_PY" -c 'import grpc' 2>/dev/null || ws_skip "python3-grpcio missing (scripts/deps.sh installs it)"
ws_need_nginx
command -v curl >/dev/null || ws_skip "curl missing"

# Every gRPC message carries this marker; it must never reach the agent's output.
MARKER=WSPAYLOAD-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
echo "$MARKER" >"$WS_TMP/marker"

ws_spawn grpc-server "$WS_PY" -u "$WS_SVC/grpc_echo.py" server --port-file "$WS_TMP/grpc.port" \
	--marker-file "$WS_TMP/marker" --log "$WS_TMP/grpc-calls.log"
G_PID=$WS_LAST_PID
ws_wait_file "$WS_TMP/grpc.port" 15 "$G_PID" || ws_fail "grpc server did not start"
G_PORT=$(cat "$WS_TMP/grpc.port")
ws_log "grpc server: pid $G_PID port $G_PORT"

ws_start_nginx 127.0.0.1 nginx_h2c.conf.in
N_PORT=$WS_LAST_PORT
# nginx must really speak h2c there (a workload check, before the agent exists).
[ "$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code}' "http://127.0.0.1:$N_PORT/chain/1")" = "2 200" ] ||
	ws_fail "nginx does not answer h2c on port $N_PORT"

# --sdk-spans keep: the client sends traceparents on some calls, which makes it
# "instrumented" (issue 12); its other calls must still give CLIENT spans here.
ws_start_agent --port "$G_PORT,$N_PORT" --sdk-spans keep

timeout -k 5 60 "$WS_PY" -u "$WS_SVC/grpc_echo.py" client --port "$G_PORT" --marker-file "$WS_TMP/marker" \
	--manifest "$WS_TMP/grpc.json" --rounds "${WS_GRPC_ROUNDS:-6}" --settle "${WS_GRPC_SETTLE:-0}" >"$WS_TMP/grpc-client.out" 2>"$WS_TMP/grpc-client.err"
rc=$?
cat "$WS_TMP/grpc-client.out" >&2
[ "$rc" = 0 ] || ws_fail "grpc client failed (status $rc): $(tail -n 5 "$WS_TMP/grpc-client.err" | tr '\n' ' ')"

timeout -k 5 60 "$WS_PY" -u "$WS_SVC/h2c_curl.py" --port "$N_PORT" --count 12 --manifest "$WS_TMP/h2c.json" \
	>"$WS_TMP/h2c-client.out" 2>"$WS_TMP/h2c-client.err"
rc=$?
cat "$WS_TMP/h2c-client.out" >&2
[ "$rc" = 0 ] || ws_fail "h2c client failed (status $rc): $(tail -n 5 "$WS_TMP/h2c-client.err" | tr '\n' ' ')"

ws_stop_agent
ws_check_counters || true
for c in proto_http2_given_up proto_http2_parse_errors; do
	v=$(ws_counter "$c")
	[ -z "$v" ] || [ "$v" = 0 ] || ws_soft_fail "counter $c is $v: an HTTP/2 connection was not followed to its end"
done
v=$(ws_counter proto_http2_error_uncaptured)
[ -z "$v" ] || [ "$v" = 0 ] ||
	ws_log "note: proto_http2_error_uncaptured $v: header bytes were not captured (a sendmsg with more iovecs than the kernel copies, or the first burst before the capture policy was set)"

# gRPC spans only in this file, h2c spans only in the other (split by server port).
"$WS_PY" - "$WS_SPANS" "$WS_TMP/grpc-spans.jsonl" "$WS_TMP/h2c-spans.jsonl" "$G_PORT" <<'PY' ||
import json, sys
src, gout, hout, gport = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def port_of(s):
    for a in s.get("attributes", []):
        if a["key"] == "server.port":
            return a["value"].get("intValue")
with open(src) as f, open(gout, "w") as g, open(hout, "w") as h:
    for line in f:
        req = json.loads(line)
        for out, keep in ((g, True), (h, False)):
            rs = []
            for r in req["resourceSpans"]:
                ss = []
                for s in r.get("scopeSpans", []):
                    sp = [x for x in s.get("spans", []) if (port_of(x) == gport) == keep]
                    if sp:
                        ss.append(dict(s, spans=sp))
                if ss:
                    rs.append(dict(r, scopeSpans=ss))
            if rs:
                out.write(json.dumps({"resourceSpans": rs}) + "\n")
PY
	ws_soft_fail "cannot split the span file"

timeout -k 5 60 "$WS_PY" "$WS_IT/check_proto.py" grpc --spans "$WS_TMP/grpc-spans.jsonl" \
	--manifest "$WS_TMP/grpc.json" --server-log "$WS_TMP/grpc-calls.log" --server-pid "$G_PID" \
	--port "$G_PORT" --marker-file "$WS_TMP/marker" --tolerance-ns "${WS_TOLERANCE_NS:-0}" ||
	ws_soft_fail "gRPC spans do not match the calls"

WS_SPANS=$WS_TMP/h2c-spans.jsonl ws_check --manifest "$WS_TMP/h2c.json" \
	--tier "name=curl,kinds=client" \
	--tier "name=nginx,pid=$WS_NGINX_WORKER,addr=127.0.0.1,port=$N_PORT,kinds=server"
ws_finish
