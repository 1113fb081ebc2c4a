#!/bin/bash
# Redis (issue 8): Debian's redis-server on a random 127.0.0.1 port (no persistence, its
# own temp dir), driven by python3-redis (services/db/redis_client.py): GET/SET/HSET/HGET,
# a pipeline of four commands in one write, MULTI/EXEC, a WRONGTYPE error, SELECT 2 by
# hand and a client opened with db=3. The agent is scoped to the Redis port, so both
# ends are traced: the workload's CLIENT spans and redis-server's SERVER spans, each
# the child of the CLIENT span that sent the command (check_db.py --server-spans yes).
# Every key and value holds a random secret that must appear nowhere in the output.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/db_lib.sh"
ws_init
"$WS_PY" -c 'import redis' 2>/dev/null || ws_skip "python3-redis missing (scripts/deps.sh installs it)"
ws_start_redis
PORT=$REDIS_PORT

ws_start_agent --port "$PORT"

timeout -k 5 60 "$WS_PY" -u "$WS_SVC/db/redis_client.py" --port "$PORT" \
	--manifest "$WS_TMP/manifest.json" >"$WS_TMP/client.out" 2>"$WS_TMP/client.err" ||
	ws_fail "redis workload failed: $(tail -n 5 "$WS_TMP/client.err" "$WS_TMP/client.out" | tr '\n' ' ')"
cat "$WS_TMP/client.out" >&2

ws_stop_agent
ws_check_counters || true
ws_check_db redis redis "$PORT" --server-spans yes
ws_finish
