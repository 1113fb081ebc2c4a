#!/bin/bash
# Redis (issue 8): Debian's redis-server on a random 127.0.0.1 port (no persistence, its
# own temp dir), driven by python3-redis (services/db/redis_client.py): GET/SET/HSET/HGET,
# a pipeline of four commands in one write, MULTI/EXEC, a WRONGTYPE error, SELECT 2 by
# hand and a client opened with db=3. The agent is scoped to the Redis port, so both
# ends are traced: the workload's CLIENT spans and redis-server's SERVER spans, each
# the child of the CLIENT span that sent the command (check_db.py --server-spans yes).
# Every key and value holds a random secret that must appear nowhere in the output.
. "$(dirname "$0")/lib.sh"
ws_init
REDIS=$(command -v redis-server || echo /usr/bin/redis-server)
[ -x "$REDIS" ] || ws_skip "redis-server missing (scripts/deps.sh installs redis-server)"
"$WS_PY" -c 'import redis' 2>/dev/null || ws_skip "python3-redis missing (scripts/deps.sh installs it)"

mkdir -p "$WS_TMP/redis"
for try in 1 2 3; do
	PORT=$(ws_free_port 127.0.0.1) || ws_fail "no free port"
	# No RDB/AOF, no unix socket, nothing outside the temp dir.
	ws_spawn redis "$REDIS" --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no \
		--dir "$WS_TMP/redis" --daemonize no --protected-mode yes --logfile ''
	REDIS_PID=$WS_LAST_PID
	for ((i = 0; i < 100; i++)); do
		ws_alive "$REDIS_PID" || break
		ws_port_listening "$PORT" && break 2
		sleep 0.05
	done
	ws_stop_pid "$REDIS_PID" TERM 5
	ws_log "redis-server did not come up on port $PORT (attempt $try): $(tail -n 2 "$WS_TMP/redis.out" | tr '\n' ' ')"
	PORT=
done
[ -n "$PORT" ] || ws_fail "redis-server did not start"
ws_log "redis-server: pid $REDIS_PID on 127.0.0.1:$PORT"

ws_start_agent --port "$PORT"


timeout -k 5 60 "$WS_PY" -u "$WS_SVC/db/redis_client.py" --port "$PORT" \
	--manifest "$WS_TMP/manifest.json" >"$WS_TMP/client.out" 2>"$WS_TMP/client.err" ||
	ws_fail "redis workload failed: $(tail -n 5 "$WS_TMP/client.err" "$WS_TMP/client.out" | tr '\n' ' ')"
cat "$WS_TMP/client.out" >&2

ws_stop_agent
ws_check_counters || true
for c in $(awk '/^ *proto_redis_error_[a-z_]+ [1-9][0-9]*$/{print $1}' "$WS_AGENT_ERR" | sort -u); do
	ws_soft_fail "counter $c is $(ws_counter "$c") (a clean workload)"
done

timeout -k 5 60 "$WS_PY" "$WS_IT/check_db.py" --spans "$WS_SPANS" --manifest "$WS_TMP/manifest.json" \
	--system redis --port "$PORT" --server-spans yes --scan "$WS_AGENT_ERR" \
	--tolerance-ns "${WS_TOLERANCE_NS:-0}" ||
	ws_soft_fail "Redis spans do not match the workload"
ws_finish
