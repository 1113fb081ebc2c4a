#!/bin/bash
# Connections that exist before the agent starts. The chain
#   client -> svc-a -> svc-b -> nginx (127.0.0.1)
# serves one request per client thread on keep-alive connections (and fills svc-a's and
# svc-b's downstream pools); then the agent starts, and the same connections carry the
# rest. Those later requests must be traced exactly like fresh ones (the agent learns the
# sockets from their first use), and the earlier ones must not appear at all.
. "$(dirname "$0")/lib.sh"
ws_init
ws_need_nginx

ws_start_nginx 127.0.0.1
C_PORT=$WS_LAST_PORT
ws_start_py svc-b 127.0.0.1 "127.0.0.1:$C_PORT"
B_PORT=$WS_LAST_PORT B_PID=$WS_LAST_PID
ws_start_py svc-a 127.0.0.1 "127.0.0.1:$B_PORT"
A_PORT=$WS_LAST_PORT A_PID=$WS_LAST_PID

ws_client_bg chain-client "$WS_TMP/manifest.json" --host 127.0.0.1 --port "$A_PORT" \
	--count 40 --threads 4 --all-keepalive --gate "$WS_TMP/gate" --warm-file "$WS_TMP/warm"
CLIENT_PID=$WS_LAST_PID
ws_wait_file "$WS_TMP/warm" 30 "$CLIENT_PID" || ws_fail "the client's first requests did not complete"
# Each client thread now holds an open connection to svc-a that has served one request.
est=$(ss -Htn state established "dport = :$A_PORT" | wc -l)
[ "$est" -ge 4 ] || ws_fail "expected 4 established client connections to svc-a, found $est"

ws_start_agent --port "$A_PORT,$B_PORT,$C_PORT"
touch "$WS_TMP/gate"
ws_wait_client chain-client "$CLIENT_PID"

ws_stop_agent
ws_check_counters || true

# The pooled downstream connections made before the agent must have been reused after.
ws_stop_service svc-a
v=$(ws_stat svc-a pooled_reused)
[ -n "$v" ] && [ "$v" -gt 0 ] || ws_fail "svc-a never reused a pooled connection ($v)"

ws_check --manifest "$WS_TMP/manifest.json" \
	--tier "name=chain-client,pid=client,kinds=client" \
	--tier "name=svc-a,pid=$A_PID,addr=127.0.0.1,port=$A_PORT" \
	--tier "name=svc-b,pid=$B_PID,addr=127.0.0.1,port=$B_PORT" \
	--tier "name=nginx,pid=$WS_NGINX_WORKER,addr=127.0.0.1,port=$C_PORT,kinds=server"
ws_finish
