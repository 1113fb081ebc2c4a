#!/bin/bash
# HTTPS over Python asyncio (issue 10): Debian's aiohttp server and client, the ssl
# module's SSLObject over a memory BIO (the event loop reads and writes the ciphertext
# itself, with recv/send; libssl.so.3 through _ssl), services/tls/aiohttp_tls.py. The
# server runs on asyncio; one client on asyncio, one on uvloop (libuv writes the
# ciphertext). Each client: a TCP connect first (the agent attaches at the process's
# first record), then 3 requests on one keep-alive connection and 3 on new connections.
# check_tls_spans.py: per request one SERVER span (the server) and one CLIENT span (the
# client), url.scheme=https, wirespan.capture.tls=true, the SERVER span the CLIENT
# span's child (rule 3: both ends' positions come from the memory BIO rules: the
# server's SSL_read from the loop's preceding read, the client's request from the
# record of its plaintext write in the loop's next ciphertext write); nothing from
# ciphertext. Counters: no parse error, no TLS call without a socket. Then SIGINT: no
# uprobe left. Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"
ws_init
"$WS_PY" -c 'import aiohttp' 2>/dev/null || ws_skip "python3-aiohttp missing (scripts/deps.sh installs it)"
tls_cert

ws_spawn aio-server "$WS_PY" -u "$WS_SVC/tls/aiohttp_tls.py" server --port-file "$WS_TMP/aio.port" \
	--cert "$WS_TMP/cert.pem" --key "$WS_TMP/key.pem"
S_PID=$WS_LAST_PID
ws_wait_file "$WS_TMP/aio.port" 15 "$S_PID" || ws_fail "aiohttp server did not start"
PORT=$(cat "$WS_TMP/aio.port")
ws_log "aiohttp TLS server: pid $S_PID port $PORT"

ws_start_agent --port "$PORT"
EXPECT=$WS_TMP/expect.txt
: >"$EXPECT"
for loop in asyncio uvloop; do
	flag=
	if [ "$loop" = uvloop ]; then
		"$WS_PY" -c 'import uvloop' 2>/dev/null || { ws_log "python3-uvloop missing: no uvloop client"; continue; }
		flag=--uvloop
	fi
	timeout -k 5 60 "$WS_PY" -u "$WS_SVC/tls/aiohttp_tls.py" client --port "$PORT" $flag \
		"${loop}ka1" "${loop}ka2" "${loop}ka3" "${loop}new1" "${loop}new2" "${loop}new3" \
		>"$WS_TMP/client-$loop.out" 2>"$WS_TMP/client-$loop.err" ||
		ws_fail "$loop client failed: $(tail -n 5 "$WS_TMP/client-$loop.err" | tr '\n' ' ')"
	while read -r tag pid; do
		echo "$tag $pid $S_PID client" >>"$EXPECT"
	done <"$WS_TMP/client-$loop.out"
done
sleep 0.5
tls_stop_agent http1 tls_no_socket_dropped
"$WS_PY" "$WS_IT/check_tls_spans.py" --spans "$WS_SPANS" --expect "$EXPECT" >&2 ||
	ws_soft_fail "spans do not match the requests"
ws_finish
