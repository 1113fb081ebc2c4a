#!/bin/bash
# PostgreSQL over TLS (issue 10): Debian's PostgreSQL 15 (libssl.so.3) with ssl=on and the
# test's self-signed certificate, started before the agent; the workload of
# test_proto_postgres.sh (psycopg2 simple protocol, psycopg 3 extended protocol) with
# sslmode=require, so every connection starts with an SSLRequest in clear, the server's
# 'S', then TLS on the same connection (in-band, unlike HTTPS or Redis' TLS port).
# The agent is scoped to the port. Judged as the cleartext test is (check_db.py
# --server-spans yes: each statement's CLIENT span and its backend's SERVER span, the
# SERVER span the child of the CLIENT span through the ciphertext's seq, sanitised text,
# no secret anywhere), and every span carries wirespan.capture.tls=true: the PostgreSQL
# parser saw the SSLRequest and then the plaintext only, never a byte of ciphertext.
# Then SIGINT: no uprobe left. Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/db_lib.sh"
. "$(dirname "$0")/tls_lib.sh"
ws_init
"$WS_PY" -c 'import psycopg2, psycopg' 2>/dev/null ||
	ws_skip "python3-psycopg2 or python3-psycopg missing (scripts/deps.sh installs them)"
id postgres >/dev/null 2>&1 || ws_skip "no postgres user (the postgresql package creates it)"
tls_cert
# The server's key: the postgres user's own, mode 0600 (PostgreSQL refuses a key others
# can read).
mkdir -p "$WS_TMP/pgtls"
cp "$WS_TMP/cert.pem" "$WS_TMP/key.pem" "$WS_TMP/pgtls/"
chown -R postgres: "$WS_TMP/pgtls"
chmod 600 "$WS_TMP/pgtls/key.pem"
WS_PG_OPTS="-c ssl=on -c ssl_cert_file=$WS_TMP/pgtls/cert.pem -c ssl_key_file=$WS_TMP/pgtls/key.pem"
ws_start_postgres wsdb
PORT=$PG_PORT

ws_start_agent --port "$PORT"
timeout -k 5 60 "$WS_PY" -u "$WS_SVC/db/pg_client.py" --port "$PORT" --db wsdb --sslmode require \
	--password-file "$PG_PWFILE" --manifest "$WS_TMP/manifest.json" >"$WS_TMP/client.out" 2>"$WS_TMP/client.err" ||
	ws_fail "postgres workload failed: $(tail -n 5 "$WS_TMP/client.err" "$WS_TMP/client.out" | tr '\n' ' ')"
cat "$WS_TMP/client.out" >&2
tls_stop_agent postgresql
# The SSLRequest is answered 'S': the cleartext parser hands the connection over to TLS
# (not an error), once per connection side: 2 connections, both sides in scope.
up=$(ws_counter proto_postgresql_tls_upgrades)
ws_log "proto_postgresql_tls_upgrades ${up:-missing}"
[ "${up:-0}" -ge 4 ] || ws_soft_fail "proto_postgresql_tls_upgrades is ${up:-missing}, expected >= 4"
ws_check_db postgresql postgresql "$PORT" --server-spans yes
tls_check_marker
ws_finish
