#!/bin/bash
# PostgreSQL (issue 8): Debian's PostgreSQL 15 in a temp dir (initdb, postgres as the
# postgres user, listening on 127.0.0.1 at a random port, unix socket in the temp dir,
# clear-text password auth over TCP), driven by psycopg2 (simple query protocol, values
# inlined as literals) and psycopg 3 (extended protocol: a statement prepared once and
# executed six times, an unnamed one, a failing Parse); services/db/pg_client.py. The
# agent is scoped to the PostgreSQL port, so the client's CLIENT spans and the backends'
# SERVER spans are both checked (check_db.py): operation, summary, sanitised text (no
# literal), namespace, SQLSTATE on the errors, each prepared execution with its text,
# and no literal value, bind value or the password anywhere in the output.
. "$(dirname "$0")/lib.sh"
ws_init
PGBIN=${WS_PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/postgres" ] ||
	ws_skip "PostgreSQL server missing (scripts/deps.sh installs postgresql)"
"$WS_PY" -c 'import psycopg2, psycopg' 2>/dev/null ||
	ws_skip "python3-psycopg2 or python3-psycopg missing (scripts/deps.sh installs them)"
id postgres >/dev/null 2>&1 || ws_skip "no postgres user (the postgresql package creates it)"
PGUSER_RUN=(setpriv --reuid=postgres --regid=postgres --init-groups --)

PG=$WS_TMP/pg
mkdir -p "$PG/sock"
head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/pw-secret-/' >"$PG/pw"
chown -R postgres: "$PG"
chmod 700 "$PG"
# Trust on the unix socket (for setup), a clear-text password over TCP.
"${PGUSER_RUN[@]}" "$PGBIN/initdb" -D "$PG/data" -U postgres --pwfile="$PG/pw" \
	--auth-local=trust --auth-host=password --no-sync -E UTF8 --locale=C \
	>"$WS_TMP/initdb.out" 2>&1 || ws_fail "initdb failed: $(tail -n 5 "$WS_TMP/initdb.out" | tr '\n' ' ')"

for try in 1 2 3; do
	PORT=$(ws_free_port 127.0.0.1) || ws_fail "no free port"
	ws_spawn postgres "${PGUSER_RUN[@]}" "$PGBIN/postgres" -D "$PG/data" -p "$PORT" \
		-c listen_addresses=127.0.0.1 -c unix_socket_directories="$PG/sock" \
		-c fsync=off -c synchronous_commit=off -c full_page_writes=off \
		-c shared_buffers=16MB -c max_connections=20 -c logging_collector=off
	PG_PID=$WS_LAST_PID
	for ((i = 0; i < 300; i++)); do
		ws_alive "$PG_PID" || break
		[ -S "$PG/sock/.s.PGSQL.$PORT" ] && ws_port_listening "$PORT" && break 2
		sleep 0.05
	done
	ws_stop_pid "$PG_PID" TERM 10
	ws_log "postgres did not come up on port $PORT (attempt $try): $(tail -n 2 "$WS_TMP/postgres.err" | tr '\n' ' ')"
	PORT=
done
[ -n "$PORT" ] || ws_fail "postgres did not start"
ws_log "postgres: postmaster $PG_PID on 127.0.0.1:$PORT"
# The database the workload uses (db.namespace), made before the agent looks.
"${PGUSER_RUN[@]}" "$PGBIN/psql" -X -q -h "$PG/sock" -p "$PORT" -U postgres -d postgres \
	-c "CREATE DATABASE wsdb" >"$WS_TMP/psql.out" 2>&1 ||
	ws_fail "CREATE DATABASE failed: $(tail -n 3 "$WS_TMP/psql.out" | tr '\n' ' ')"

ws_start_agent --port "$PORT"

timeout -k 5 60 "$WS_PY" -u "$WS_SVC/db/pg_client.py" --port "$PORT" --db wsdb \
	--password-file "$PG/pw" --manifest "$WS_TMP/manifest.json" >"$WS_TMP/client.out" 2>"$WS_TMP/client.err" ||
	ws_fail "postgres workload failed: $(tail -n 5 "$WS_TMP/client.err" "$WS_TMP/client.out" | tr '\n' ' ')"
cat "$WS_TMP/client.out" >&2

ws_stop_agent
ws_check_counters || true
for c in $(awk '/^ *proto_postgresql_error_[a-z_]+ [1-9][0-9]*$/{print $1}' "$WS_AGENT_ERR" | sort -u); do
	[ "$c" = proto_postgresql_error_closed ] && continue
	ws_soft_fail "counter $c is $(ws_counter "$c") (a clean workload)"
done

timeout -k 5 60 "$WS_PY" "$WS_IT/check_db.py" --spans "$WS_SPANS" --manifest "$WS_TMP/manifest.json" \
	--system postgresql --port "$PORT" --server-spans yes --scan "$WS_AGENT_ERR" \
	--tolerance-ns "${WS_TOLERANCE_NS:-0}" ||
	ws_soft_fail "PostgreSQL spans do not match the workload"
ws_finish
