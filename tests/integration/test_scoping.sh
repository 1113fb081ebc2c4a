#!/bin/bash
# Scoping: only what --port / --pid / --exe select is traced.
#   --port PX : client -> X traced on both ends; client -> Y (another port) not at all
#   --pid  X  : only X's SERVER spans (the client is out of scope); Y nothing
#   --exe  E  : only Z (python started under the unique executable name E); X nothing
. "$(dirname "$0")/lib.sh"
ws_init

ws_start_py scope-x 127.0.0.1
X_PORT=$WS_LAST_PORT X_PID=$WS_LAST_PID
ws_start_py scope-y 127.0.0.1
Y_PORT=$WS_LAST_PORT
# The kernel's comm is the basename of the path given to execve, so a symlink gives
# python a name no other process on this machine has.
EXE=wsx$$
EXE=${EXE:0:15}
ln -s "$WS_PY" "$WS_TMP/$EXE"
ws_start_py scope-z 127.0.0.1 "" "$WS_TMP/$EXE"
Z_PORT=$WS_LAST_PORT Z_PID=$WS_LAST_PID
[ "$(cat "/proc/$Z_PID/comm")" = "$EXE" ] || ws_fail "scope-z runs as '$(cat "/proc/$Z_PID/comm")', not $EXE"

ws_log "phase 1: --port $X_PORT"
WS_SPANS=$WS_TMP/spans-port.jsonl
ws_start_agent --port "$X_PORT"
ws_client client-x1 "$WS_TMP/x1.json" --host 127.0.0.1 --port "$X_PORT" --first-id 1 --count 20 --threads 4 --variants
ws_client client-y1 "$WS_TMP/y1.json" --host 127.0.0.1 --port "$Y_PORT" --first-id 101 --count 20 --threads 4
ws_stop_agent
ws_check_counters || true
ws_check --manifest "$WS_TMP/x1.json" --absent "$WS_TMP/y1.json" \
	--tier "name=client-x1,pid=client,kinds=client" \
	--tier "name=scope-x,pid=$X_PID,addr=127.0.0.1,port=$X_PORT,kinds=server"

ws_log "phase 2: --pid $X_PID"
WS_SPANS=$WS_TMP/spans-pid.jsonl
ws_start_agent --pid "$X_PID"
ws_client client-x2 "$WS_TMP/x2.json" --host 127.0.0.1 --port "$X_PORT" --first-id 201 --count 20 --threads 4 --variants
ws_client client-y2 "$WS_TMP/y2.json" --host 127.0.0.1 --port "$Y_PORT" --first-id 301 --count 20 --threads 4
ws_stop_agent
ws_check_counters || true
ws_check --manifest "$WS_TMP/x2.json" --absent "$WS_TMP/y2.json" \
	--tier "name=client-x2,kinds=none" \
	--tier "name=scope-x,pid=$X_PID,addr=127.0.0.1,port=$X_PORT,kinds=server"

ws_log "phase 3: --exe $EXE"
WS_SPANS=$WS_TMP/spans-exe.jsonl
ws_start_agent --exe "$EXE"
ws_client client-z3 "$WS_TMP/z3.json" --host 127.0.0.1 --port "$Z_PORT" --first-id 401 --count 20 --threads 4 --variants
ws_client client-x3 "$WS_TMP/x3.json" --host 127.0.0.1 --port "$X_PORT" --first-id 501 --count 20 --threads 4
ws_stop_agent
ws_check_counters || true
ws_check --manifest "$WS_TMP/z3.json" --absent "$WS_TMP/x3.json" \
	--tier "name=client-z3,kinds=none" \
	--tier "name=scope-z,pid=$Z_PID,addr=127.0.0.1,port=$Z_PORT,kinds=server"

ws_finish
