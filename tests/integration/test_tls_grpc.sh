#!/bin/bash
# gRPC over TLS (issue 10): the workload of test_proto_grpc.sh (services/grpc_echo.py,
# python3-grpcio server and client, one channel, rounds of 8 concurrent calls of every
# kind, a traceparent on every other call) with TLS (--tls-cert: grpc's
# ssl_server_credentials / ssl_channel_credentials, the test's self-signed certificate).
# grpcio links libssl.so.3 but drives it through a BIO pair: its SSL_read/SSL_write make
# no syscall, its endpoints read ciphertext with recvmsg, and it calls SSL_read once
# before feeding what it read (WANT_READ). The plaintext reaches the connection through
# the thread's preceding read (docs/kernel.md "SSL* -> socket").
# Judged like the cleartext test (check_proto.py grpc: one CLIENT and one SERVER span
# per call, names, rpc.* attributes, status, the SERVER span the child of its CLIENT
# span or of the traceparent's span, no payload in the output), except that up to 3 of
# the 24 calls without a traceparent may have a SERVER span that is a root (a record
# the server's library served from an earlier read whose position could not be
# placed; measured 0-1 per run), never a wrong parent; every span carries
# wirespan.capture.tls=true, no parser but HTTP/2 claimed a connection, no TLS call was
# dropped for want of a socket; then SIGINT: no uprobe left.
# Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"
ws_init
"$WS_PY" -c 'import grpc' 2>/dev/null || ws_skip "python3-grpcio missing (scripts/deps.sh installs it)"
tls_cert

MARKER=WSPAYLOAD-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
echo "$MARKER" >"$WS_TMP/marker"

ws_spawn grpc-server "$WS_PY" -u "$WS_SVC/grpc_echo.py" server --port-file "$WS_TMP/grpc.port" \
	--marker-file "$WS_TMP/marker" --log "$WS_TMP/grpc-calls.log" \
	--tls-cert "$WS_TMP/cert.pem" --tls-key "$WS_TMP/key.pem"
G_PID=$WS_LAST_PID
ws_wait_file "$WS_TMP/grpc.port" 15 "$G_PID" || ws_fail "grpc server did not start"
G_PORT=$(cat "$WS_TMP/grpc.port")
ws_log "grpc server (TLS): pid $G_PID port $G_PORT"

ws_start_agent --port "$G_PORT" --sdk-spans keep
timeout -k 5 60 "$WS_PY" -u "$WS_SVC/grpc_echo.py" client --port "$G_PORT" --marker-file "$WS_TMP/marker" \
	--manifest "$WS_TMP/grpc.json" --rounds "${WS_GRPC_ROUNDS:-6}" --tls-cert "$WS_TMP/cert.pem" \
	>"$WS_TMP/grpc-client.out" 2>"$WS_TMP/grpc-client.err"
rc=$?
cat "$WS_TMP/grpc-client.out" >&2
[ "$rc" = 0 ] || ws_fail "grpc client failed (status $rc): $(tail -n 5 "$WS_TMP/grpc-client.err" | tr '\n' ' ')"

tls_stop_agent http2 proto_http2_given_up proto_http2_parse_errors tls_no_socket_dropped
timeout -k 5 60 "$WS_PY" "$WS_IT/check_proto.py" grpc --spans "$WS_SPANS" \
	--manifest "$WS_TMP/grpc.json" --server-log "$WS_TMP/grpc-calls.log" --server-pid "$G_PID" \
	--port "$G_PORT" --marker-file "$WS_TMP/marker" --tolerance-ns "${WS_TOLERANCE_NS:-0}" \
	--max-unlinked "${WS_GRPC_MAX_UNLINKED:-3}" ||
	ws_soft_fail "gRPC spans do not match the calls"
tls_check_marker
ws_finish
