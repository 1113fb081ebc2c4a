#!/bin/bash
# The service chain over IPv6 loopback, and a v4-mapped hop:
#   phase 1: client -[::1]-> svc-a6 -[::1]-> svc-b6 -[::1]-> nginx
#   phase 2: client -127.0.0.1-> svc-m (AF_INET6 socket bound to ::ffff:127.0.0.1, so the
#            server sees its peer as ::ffff:127.0.0.1) -[::1]-> nginx
# One agent run for both; each phase is checked against its own manifest.
. "$(dirname "$0")/lib.sh"
ws_init
ws_need_nginx
[ -e /proc/net/if_inet6 ] || ws_skip "no IPv6 in this kernel"
"$WS_PY" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null ||
	ws_skip "::1 is not configured on lo"

ws_start_nginx ::1
C_PORT=$WS_LAST_PORT
ws_start_py svc-b6 ::1 "[::1]:$C_PORT"
B_PORT=$WS_LAST_PORT B_PID=$WS_LAST_PID
ws_start_py svc-a6 ::1 "[::1]:$B_PORT"
A_PORT=$WS_LAST_PORT A_PID=$WS_LAST_PID
ws_start_py svc-m ::ffff:127.0.0.1 "[::1]:$C_PORT"
M_PORT=$WS_LAST_PORT M_PID=$WS_LAST_PID

ws_start_agent --port "$A_PORT,$B_PORT,$C_PORT,$M_PORT"

ws_client chain-client6 "$WS_TMP/manifest6.json" --host ::1 --port "$A_PORT" \
	--first-id 1 --count 60 --threads 4 --variants
ws_client chain-clientm "$WS_TMP/manifestm.json" --host 127.0.0.1 --port "$M_PORT" \
	--first-id 1001 --count 40 --threads 4 --variants

ws_stop_agent
ws_check_counters || true

ws_check --manifest "$WS_TMP/manifest6.json" --other "$WS_TMP/manifestm.json" \
	--tier "name=chain-client6,pid=client,kinds=client" \
	--tier "name=svc-a6,pid=$A_PID,addr=::1,port=$A_PORT" \
	--tier "name=svc-b6,pid=$B_PID,addr=::1,port=$B_PORT" \
	--tier "name=nginx,pid=$WS_NGINX_WORKER,addr=::1,port=$C_PORT,kinds=server"
# The v4-mapped peer may be reported in either notation; both name the same address.
ws_check --manifest "$WS_TMP/manifestm.json" --other "$WS_TMP/manifest6.json" \
	--tier "name=chain-clientm,pid=client,kinds=client" \
	--tier "name=svc-m,pid=$M_PID,addr=127.0.0.1,port=$M_PORT,peers=127.0.0.1|::ffff:127.0.0.1" \
	--tier "name=nginx,pid=$WS_NGINX_WORKER,addr=::1,port=$C_PORT,kinds=server"
ws_finish
