#!/bin/bash
# MySQL protocol against MariaDB (issue 8): Debian's mariadbd with a temp datadir
# (mariadb-install-db, --no-defaults, 127.0.0.1 at a random port, socket in the temp
# dir), driven by python3-mysqldb (services/db/mysql_client.py): DDL, INSERTs, SELECT
# and UPDATE with string and number literals, a missing table (1146), a statement
# prepared once and executed three times in SQL, DELETE, USE. The agent is scoped to the
# MariaDB port, so the client's CLIENT spans and mariadbd's SERVER spans are both checked
# (check_db.py): db.system.name=mariadb, operation, summary, sanitised text (no
# literal), namespace (following USE), rows, the error code, and no literal or the
# password anywhere in the output.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/db_lib.sh"
ws_init
"$WS_PY" -c 'import MySQLdb' 2>/dev/null || ws_skip "python3-mysqldb missing (scripts/deps.sh installs it)"
ws_start_mariadb wsdb
ws_mysql "" "CREATE DATABASE wsdb2; GRANT ALL ON wsdb2.* TO 'ws'@'127.0.0.1'"
PORT=$MY_PORT

ws_start_agent --port "$PORT"

timeout -k 5 60 "$WS_PY" -u "$WS_SVC/db/mysql_client.py" --port "$PORT" --db wsdb --db2 wsdb2 \
	--password-file "$MY_PWFILE" --manifest "$WS_TMP/manifest.json" >"$WS_TMP/client.out" 2>"$WS_TMP/client.err" ||
	ws_fail "mariadb workload failed: $(tail -n 5 "$WS_TMP/client.err" "$WS_TMP/client.out" | tr '\n' ' ')"
cat "$WS_TMP/client.out" >&2

ws_stop_agent
ws_check_counters || true
ws_check_db mysql mariadb "$PORT" --server-spans yes
ws_finish
