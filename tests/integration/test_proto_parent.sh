#!/bin/bash
# Parentage of database calls (issue 8): an HTTP service whose handler thread calls Redis,
# PostgreSQL and MariaDB for every request.
#   load.py (CLIENT) -> services/db/db_service.py (SERVER; CLIENT x N per database)
#       -> redis-server / postgres backend / mariadbd (SERVER)
# 60 requests, 4 in flight; the load client keeps a keep-alive connection on half of its
# threads and opens one per request on the others (with TCP health checks every 20th
# request); the service takes pooled database connections (any handler thread may hold
# any) except for ids divisible by 3, which open new ones. check_db_parent.py tells each
# database span's request from what the service put in it (Redis: SELECT <id>, so
# db.namespace; SQL: an alias req_<id> the sanitiser keeps) and requires every database
# CLIENT span to be the child of the HTTP SERVER span of its own request, every
# database SERVER span the child of its CLIENT span, one trace per request holding
# nothing else, and no value the service sent anywhere in the output.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/db_lib.sh"
COUNT=${WS_DB_PARENT_COUNT:-60}
INFLIGHT=${WS_DB_PARENT_INFLIGHT:-4}
ws_init
"$WS_PY" -c 'import redis, psycopg2' 2>/dev/null ||
	ws_skip "python3-redis or python3-psycopg2 missing (scripts/deps.sh installs them)"

# A database per request id: SELECT <id> marks the request's Redis spans.
ws_start_redis --databases $((COUNT + 8))
ws_start_postgres wsdb
ws_psql wsdb "CREATE TABLE ws_log (req integer, note text)"
PORTS="$REDIS_PORT,$PG_PORT"
DBS=(--db redis=3 --db postgresql=2)
SVC_ARGS=(--redis-port "$REDIS_PORT" --pg-port "$PG_PORT" --pg-password-file "$PG_PWFILE")
"$WS_PY" -c 'import MySQLdb' 2>/dev/null || ws_skip "python3-mysqldb missing (scripts/deps.sh installs it)"
ws_start_mariadb wsdb
ws_mysql wsdb "CREATE TABLE ws_log (req integer, note text)"
PORTS="$PORTS,$MY_PORT"
DBS+=(--db mysql=2)
SVC_ARGS+=(--mysql-port "$MY_PORT" --mysql-password-file "$MY_PWFILE")

# The service's secret comes from a file: with --process-command-line its command line
# would reach process.command_line.
{
	echo "svc-secret-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	cat "$PG_PWFILE"
	echo
	cat "$MY_PWFILE"
	echo
} >"$WS_TMP/secret"
ws_spawn db-service "$WS_PY" -u "$WS_SVC/db/db_service.py" --port-file "$WS_TMP/svc.port" \
	--secret-file "$WS_TMP/secret" "${SVC_ARGS[@]}"
SVC_PID=$WS_LAST_PID
ws_wait_file "$WS_TMP/svc.port" 20 "$SVC_PID" ||
	ws_fail "db_service did not start: $(tail -n 5 "$WS_TMP/db-service.err" | tr '\n' ' ')"
SVC_PORT=$(cat "$WS_TMP/svc.port")
ws_log "db-service: pid $SVC_PID on 127.0.0.1:$SVC_PORT"
# The service works before the agent looks (id 0 is not one of the load's).
curl -sf "http://127.0.0.1:$SVC_PORT/r/0" >/dev/null ||
	ws_fail "db_service does not answer GET /r/0: $(tail -n 5 "$WS_TMP/db-service.err" | tr '\n' ' ')"

ws_start_agent --port "$SVC_PORT,$PORTS"

timeout -k 5 120 env OTEL_SERVICE_NAME=load "$WS_PY" -u "$WS_SVC/arch/load.py" --port "$SVC_PORT" \
	--count "$COUNT" --inflight "$INFLIGHT" --manifest "$WS_TMP/manifest.json" \
	>"$WS_TMP/load.out" 2>"$WS_TMP/load.err"
rc=$?
cat "$WS_TMP/load.out" >&2
[ -s "$WS_TMP/manifest.json" ] || ws_fail "load client failed (status $rc): $(tail -n 5 "$WS_TMP/load.err" | tr '\n' ' ')"
[ "$rc" = 0 ] || ws_soft_fail "load client saw wrong answers (status $rc): $(tail -n 5 "$WS_TMP/load.err" | tr '\n' ' ')"

ws_stop_agent
ws_check_counters || true
for c in $(awk '$1 ~ /^proto_(redis|postgresql|mysql|mariadb)_error_/ && $2 > 0 {print $1}' "$WS_AGENT_ERR" | sort -u); do
	ws_soft_fail "counter $c is $(ws_counter "$c") (a clean workload)"
done
ws_log "parentage counters: $(awk '/^wirespan counters:/{b=""; inb=1; next} inb && $1 ~ /^parent/ && $2 != 0 {b=b" "$1"="$2} END{print b}' "$WS_AGENT_ERR")"

# The mix of connections must really have happened.
ws_stop_service db-service
stats=$(sed -n 's/^db-service stats //p' "$WS_TMP/db-service.err")
ws_log "db-service: $stats"
for k in pooled fresh; do
	v=$(tr ' ' '\n' <<<"$stats" | sed -n "s/^$k=//p")
	[ -n "$v" ] && [ "$v" -gt 0 ] || ws_soft_fail "db-service made no '$k' database calls ($stats)"
done
v=$(tr ' ' '\n' <<<"$stats" | sed -n "s/^errors=//p")
[ "$v" = 0 ] || ws_soft_fail "db-service had $v database errors ($stats)"

timeout -k 5 60 "$WS_PY" "$WS_IT/check_db_parent.py" --spans "$WS_SPANS" --manifest "$WS_TMP/manifest.json" \
	--service-pid "$SVC_PID" "${DBS[@]}" --secret-file "$WS_TMP/secret" ||
	ws_soft_fail "database spans are not parented as required"
ws_finish
