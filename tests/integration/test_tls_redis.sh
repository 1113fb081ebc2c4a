#!/bin/bash
# Redis over TLS (issue 10): Debian's redis-server 7 (libssl.so.3) with only a TLS port
# (--port 0 --tls-port, the test's self-signed certificate, clients not authenticated),
# started before the agent; the workload of test_proto_redis.sh through python3-redis
# with ssl=True (services/db/redis_client.py --tls). The agent is scoped to the port.
# The same judge as the cleartext test (check_db.py --server-spans yes: every command's
# CLIENT span and redis-server's SERVER span, the SERVER span the child of the CLIENT
# span through the ciphertext's seq, no secret anywhere), and every span carries
# wirespan.capture.tls=true: the Redis parser saw the plaintext only, never a byte of
# ciphertext (no parse error, no other protocol detected). Then SIGINT: no uprobe left.
# Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/db_lib.sh"
. "$(dirname "$0")/tls_lib.sh"
ws_init
"$WS_PY" -c 'import redis' 2>/dev/null || ws_skip "python3-redis missing (scripts/deps.sh installs it)"
bin=$(command -v redis-server || echo /usr/bin/redis-server)
[ -x "$bin" ] || ws_skip "redis-server missing"
PATH=$PATH:/usr/sbin
tls_cert

mkdir -p "$WS_TMP/redis"
for _ in 1 2 3; do
	PORT=$(ws_free_port 127.0.0.1) || ws_fail "no free port"
	ws_spawn redis "$bin" --bind 127.0.0.1 --port 0 --tls-port "$PORT" \
		--tls-cert-file "$WS_TMP/cert.pem" --tls-key-file "$WS_TMP/key.pem" \
		--tls-ca-cert-file "$WS_TMP/cert.pem" --tls-auth-clients no \
		--save '' --appendonly no --dir "$WS_TMP/redis" --daemonize no --logfile ''
	REDIS_PID=$WS_LAST_PID
	for ((i = 0; i < 100; i++)); do
		ws_alive "$REDIS_PID" && ws_port_listening "$PORT" && break
		sleep 0.05
	done
	ws_port_listening "$PORT" && break
	ws_stop_pid "$REDIS_PID" TERM 5
	grep -qi "tls.*not.*support\|unrecognized\|Bad directive" "$WS_TMP/redis.out" "$WS_TMP/redis.err" &&
		ws_skip "redis-server has no TLS: $(tail -n 2 "$WS_TMP/redis.out" | tr '\n' ' ')"
done
ws_port_listening "$PORT" || ws_fail "redis-server (TLS) did not start: $(tail -n 3 "$WS_TMP/redis.out" | tr '\n' ' ')"
ws_log "redis-server: pid $REDIS_PID, TLS on 127.0.0.1:$PORT"

ws_start_agent --port "$PORT"
timeout -k 5 60 "$WS_PY" -u "$WS_SVC/db/redis_client.py" --tls --port "$PORT" \
	--manifest "$WS_TMP/manifest.json" >"$WS_TMP/client.out" 2>"$WS_TMP/client.err" ||
	ws_fail "redis workload failed: $(tail -n 5 "$WS_TMP/client.err" "$WS_TMP/client.out" | tr '\n' ' ')"
cat "$WS_TMP/client.out" >&2
tls_stop_agent redis
ws_check_db redis redis "$PORT" --server-spans yes
tls_check_marker
ws_finish
