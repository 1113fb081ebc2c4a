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
. "$(dirname "$0")/db_lib.sh"
ws_init
"$WS_PY" -c 'import psycopg2, psycopg' 2>/dev/null ||
	ws_skip "python3-psycopg2 or python3-psycopg missing (scripts/deps.sh installs them)"
ws_start_postgres wsdb
PORT=$PG_PORT

ws_start_agent --port "$PORT"

timeout -k 5 60 "$WS_PY" -u "$WS_SVC/db/pg_client.py" --port "$PORT" --db wsdb \
	--password-file "$PG_PWFILE" --manifest "$WS_TMP/manifest.json" >"$WS_TMP/client.out" 2>"$WS_TMP/client.err" ||
	ws_fail "postgres workload failed: $(tail -n 5 "$WS_TMP/client.err" "$WS_TMP/client.out" | tr '\n' ' ')"
cat "$WS_TMP/client.out" >&2

ws_stop_agent
ws_check_counters || true
ws_check_db postgresql postgresql "$PORT" --server-spans yes
ws_finish
