#!/bin/bash
# Health checks against a server that starts accepting late (like a JVM):
#   client.py (hc-client) -> svc-a (python, accepts 1 s after the gate) -> svc-b (python)
# plus plain TCP connect-then-close probes to svc-a, some closed with an RST (SO_LINGER 0),
# some with a FIN, fired while svc-a is not accepting yet and during the load. A probe
# reset in the accept queue is TCP_CLOSE before svc-a accepts it, so no state change ever
# ends it; a later connection on the same (reused) struct sock must still be a new
# connection to the agent, or its server spans wait on the old tuple and become roots.
# Every request must be one complete trace with exact parents, no span may be a root by
# peer timeout, and the connection counters must balance.
. "$(dirname "$0")/lib.sh"
ws_init
command -v taskset >/dev/null || ws_skip "taskset missing (util-linux)"

# Everything this test starts runs on one CPU (inherited from this shell): the kernel
# hands a freed struct sock to the next socket allocated on the CPU that freed it, so a
# probe's sock is reused by a later accepted connection (what the bug needs) within a
# short run.
taskset -p -c 0 $$ >/dev/null || ws_skip "cannot pin to CPU 0"

ws_start_py svc-b 127.0.0.1
B_PORT=$WS_LAST_PORT B_PID=$WS_LAST_PID

# svc-a listens at once but accepts only once the gate file exists and 1 s more passed.
GATE=$WS_TMP/accept.gate
ws_spawn svc-a env OTEL_SERVICE_NAME=svc-a "$WS_PY" -u "$WS_SVC/chain_server.py" --listen 127.0.0.1 \
	--port-file "$WS_TMP/svc-a.port" --log "$WS_TMP/svc-a.access" --name svc-a \
	--downstream "127.0.0.1:$B_PORT" --accept-gate "$GATE" --accept-delay 1
A_PID=$WS_LAST_PID
ws_wait_file "$WS_TMP/svc-a.port" 15 "$A_PID" || ws_fail "svc-a did not start listening"
A_PORT=$(cat "$WS_TMP/svc-a.port")
ws_log "svc-a: pid $A_PID listening on 127.0.0.1 port $A_PORT (accepts late), calls 127.0.0.1:$B_PORT"

# Scoped to the test's ports and to svc-a's pid. The pid is needed: a connection reset in
# the accept queue has its local port cleared by the kernel (TCP_CLOSE unbinds it), so a
# port scope alone never sees svc-a accept a probe that already ended; a pid or exe scope
# does, and that accept is what leaves an entry no state change will end.
ws_start_agent --port "$A_PORT,$B_PORT" --pid "$A_PID"

probe() { # NAME ARGS...: health_check.py against svc-a in the background
	local name=$1
	shift
	ws_spawn "$name" "$WS_PY" -u "$WS_SVC/health_check.py" --host 127.0.0.1 --port "$A_PORT" "$@"
}
wait_probe() { # NAME PID: reap a prober; it must have succeeded
	local rc
	wait "$2"
	rc=$?
	ws_reaped "$2"
	[ "$rc" = 0 ] || ws_fail "prober $1 failed (status $rc): $(tail -n 3 "$WS_TMP/$1.err" | tr '\n' ' ')"
	ws_log "$1: $(cat "$WS_TMP/$1.out")"
}

# Before svc-a accepts: probes that all end in the accept queue, half by RST, half by FIN.
probe hc-early --count 40 --interval-ms 2 --rst-every 2
wait_probe hc-early "$WS_LAST_PID"
# Open the gate: during svc-a's last second of not accepting, more probes and the first
# requests queue up; probes go on during the whole load (a third close with an RST, as
# kubelet's TCP probes and many load balancers do).
touch "$GATE"
STOP=$WS_TMP/probes.stop
probe hc-load --count 0 --stop-file "$STOP" --interval-ms 10 --rst-every 3
HC_PID=$WS_LAST_PID

# 120 requests from 6 threads: half keep-alive, half a new connection per request; svc-a
# calls svc-b pooled and one-shot. New connections reuse freed struct socks.
ws_client hc-client "$WS_TMP/manifest.json" --host 127.0.0.1 --port "$A_PORT" --count 120 --threads 6

touch "$STOP"
wait_probe hc-load "$HC_PID"
# More probes after the load, then a last round of requests on fresh connections.
probe hc-late --count 30 --interval-ms 5 --rst-every 1
wait_probe hc-late "$WS_LAST_PID"
ws_client hc-client2 "$WS_TMP/manifest2.json" --host 127.0.0.1 --port "$A_PORT" --count 40 --threads 4 \
	--first-id 1001

ws_stop_agent
ws_check_counters || true

v=$(ws_counter parent_root_peer_timeout)
[ "$v" = 0 ] || ws_soft_fail "parent_root_peer_timeout is ${v:-missing}: server spans waited on a stale connection and became roots"
# Every entry ever created left the table exactly one way, or is still in it.
declare -A n
for k in opened tracked closed evicted expired removed replaced; do
	n[$k]=$(ws_counter "connections_$k")
	[ -n "${n[$k]}" ] || ws_soft_fail "counter connections_$k missing"
done
if [ -n "${n[opened]}" ] && [ -n "${n[removed]}" ]; then
	sum=$((n[tracked] + n[closed] + n[evicted] + n[expired] + n[removed]))
	[ "${n[opened]}" = "$sum" ] ||
		ws_soft_fail "connections do not balance: opened ${n[opened]} != tracked ${n[tracked]} + closed ${n[closed]} + evicted ${n[evicted]} + expired ${n[expired]} + removed ${n[removed]}"
	# Probes accepted after their reset are ended by the kernel (a synthesised
	# TCP_CLOSE, test_bpf_smoke); an entry that still went stale is replaced when its
	# sock is reused (connections_replaced; whether the kernel reuses one in a short run
	# is chance, so it is reported, and tests/unit/test_assemble.c proves the
	# replacement itself). What must hold either way is above: exact traces, no
	# server span waiting on a stale connection.
	ws_log "connections: opened ${n[opened]} tracked ${n[tracked]} closed ${n[closed]} evicted ${n[evicted]} expired ${n[expired]} removed ${n[removed]} (replaced ${n[replaced]})"
fi

ws_stop_service svc-a
for k in pooled_reused oneshot; do
	v=$(ws_stat svc-a "$k")
	[ -n "$v" ] && [ "$v" -gt 0 ] || ws_fail "svc-a made no '$k' downstream requests ($v): the workload is not what the test claims"
done

ws_check --manifest "$WS_TMP/manifest.json" --other "$WS_TMP/manifest2.json" \
	--tier "name=hc-client,pid=client,kinds=client" \
	--tier "name=svc-a,pid=$A_PID,addr=127.0.0.1,port=$A_PORT" \
	--tier "name=svc-b,pid=$B_PID,addr=127.0.0.1,port=$B_PORT,kinds=server"
ws_check --manifest "$WS_TMP/manifest2.json" --other "$WS_TMP/manifest.json" \
	--tier "name=hc-client2,pid=client,kinds=client" \
	--tier "name=svc-a,pid=$A_PID,addr=127.0.0.1,port=$A_PORT" \
	--tier "name=svc-b,pid=$B_PID,addr=127.0.0.1,port=$B_PORT,kinds=server"
ws_finish
