#!/bin/bash
# HTTP/1 service chain on 127.0.0.1, every tier a separate process:
#   client.py (chain-client) -> svc-a (python) -> svc-b (python) -> nginx
# The agent starts after the servers, scoped to the three ports. Every request must come
# out as exactly one trace of six spans with the right parents, attributes and timing;
# 404/500 answers from nginx come back with the right span status.
. "$(dirname "$0")/lib.sh"
ws_init
ws_need_nginx

ws_start_nginx 127.0.0.1
C_PORT=$WS_LAST_PORT
ws_start_py svc-b 127.0.0.1 "127.0.0.1:$C_PORT"
B_PORT=$WS_LAST_PORT B_PID=$WS_LAST_PID
ws_start_py svc-a 127.0.0.1 "127.0.0.1:$B_PORT"
A_PORT=$WS_LAST_PORT A_PID=$WS_LAST_PID

ws_start_agent --port "$A_PORT,$B_PORT,$C_PORT"

# 120 requests from 6 threads: half on one keep-alive connection per thread, half on a
# new connection each; every tenth is a 404, every tenth a 500, every tenth a static file.
ws_client chain-client "$WS_TMP/manifest.json" --host 127.0.0.1 --port "$A_PORT" \
	--count 120 --threads 6 --variants

ws_stop_agent
ws_check_counters || true

# The mix of connection kinds the test is about must really have happened.
ws_stop_service svc-a
ws_stop_service svc-b
for svc in svc-a svc-b; do
	for k in pooled_reused pooled_new oneshot; do
		v=$(ws_stat "$svc" "$k")
		[ -n "$v" ] && [ "$v" -gt 0 ] || ws_fail "$svc made no '$k' downstream requests ($v): the workload is not what the test claims"
	done
done

ws_check --manifest "$WS_TMP/manifest.json" \
	--tier "name=chain-client,pid=client,kinds=client" \
	--tier "name=svc-a,pid=$A_PID,addr=127.0.0.1,port=$A_PORT" \
	--tier "name=svc-b,pid=$B_PID,addr=127.0.0.1,port=$B_PORT" \
	--tier "name=nginx,pid=$WS_NGINX_WORKER,addr=127.0.0.1,port=$C_PORT,kinds=server"
ws_finish
