#!/bin/bash
# MariaDB over TLS (issue 10): Debian's mariadbd (libssl.so.3) with the test's
# self-signed certificate, started before the agent; the workload of test_proto_mysql.sh
# through mysqlclient (libmariadb3, libssl.so.3) with ssl={"ca": ...}, so each
# connection starts in clear (the server's greeting, the client's SSLRequest) and goes
# on in TLS on the same connection. The agent is scoped to the port. Judged as the
# cleartext test is (check_db.py --server-spans yes), every span carries
# wirespan.capture.tls=true, and the SSLRequest counts proto_mysql_tls_upgrades, not an
# error. Then SIGINT: no uprobe left. Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/db_lib.sh"
. "$(dirname "$0")/tls_lib.sh"
ws_init
"$WS_PY" -c 'import MySQLdb' 2>/dev/null || ws_skip "python3-mysqldb missing (scripts/deps.sh installs it)"
id mysql >/dev/null 2>&1 || ws_skip "no mysql user (the mariadb-server package creates it)"
tls_cert
mkdir -p "$WS_TMP/mytls"
cp "$WS_TMP/cert.pem" "$WS_TMP/key.pem" "$WS_TMP/mytls/"
chown -R mysql: "$WS_TMP/mytls"
chmod 600 "$WS_TMP/mytls/key.pem"
WS_MY_OPTS="--ssl-cert=$WS_TMP/mytls/cert.pem --ssl-key=$WS_TMP/mytls/key.pem --ssl-ca=$WS_TMP/mytls/cert.pem"
ws_start_mariadb wsdb
ws_mysql "" "CREATE DATABASE wsdb2; GRANT ALL ON wsdb2.* TO 'ws'@'127.0.0.1'"
PORT=$MY_PORT

ws_start_agent --port "$PORT"
timeout -k 5 60 "$WS_PY" -u "$WS_SVC/db/mysql_client.py" --port "$PORT" --db wsdb --db2 wsdb2 \
	--tls-ca "$WS_TMP/cert.pem" \
	--password-file "$MY_PWFILE" --manifest "$WS_TMP/manifest.json" >"$WS_TMP/client.out" 2>"$WS_TMP/client.err" ||
	ws_fail "mariadb workload failed: $(tail -n 5 "$WS_TMP/client.err" "$WS_TMP/client.out" | tr '\n' ' ')"
cat "$WS_TMP/client.out" >&2
tls_stop_agent mysql
up=$(ws_counter proto_mysql_tls_upgrades)
ws_log "proto_mysql_tls_upgrades ${up:-missing}"
[ "${up:-0}" -ge 2 ] || ws_soft_fail "proto_mysql_tls_upgrades is ${up:-missing}, expected >= 2 (both sides)"
ws_check_db mysql mariadb "$PORT" --server-spans yes
tls_check_marker
ws_finish
