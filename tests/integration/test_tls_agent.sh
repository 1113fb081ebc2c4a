#!/bin/bash
# HTTPS through the agent (issue 10): TLS plaintext from the OpenSSL uprobes into the
# HTTP/1 parser, with the link across processes by the ciphertext's TCP seq.
#   - nginx with TLS (self-signed certificate made here) started before the agent
#     (ngxa: libssl.so.3 found by the /proc scan) and one started after it (ngxb);
#   - clients: curl -k (two requests on one connection), python3 http.client
#     HTTPSConnection with an unverified context (keep-alive and new connections), and
#     openssl s_client (one request, Connection: close), and a Node.js https client
#     (services/tls/https_client.js: OpenSSL in the node binary, memory BIO; four
#     requests on new connections, the later ones resuming the first one's session:
#     node writes ChangeCipherSpec, Finished and the request at once, and nginx's
#     handshake call reads the request's record with its Finished);
#   - the agent scoped to the two nginx ports (--port).
# check_tls_spans.py: per request one SERVER span (the nginx worker) and one CLIENT span
# (the client process), url.scheme=https, wirespan.capture.tls=true, the SERVER span the
# child of the CLIENT span; no span of anything else (nothing from ciphertext). Counters:
# plaintext and ciphertext records seen, no parse error in any parser. Then SIGINT: no
# uprobe of the agent left.
# openssl s_client: its requests go through SSL_write/SSL_read of libssl.so.3 like
# curl's (apps/s_client.c calls them on the SSL object over a socket BIO), so its CLIENT
# span is expected too (MODE client); `openssl s_server -www` is the tool that writes
# through an SSL BIO the probes do not see (docs/kernel.md).
# Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"
ws_init
ws_need_nginx
command -v curl >/dev/null || ws_skip "curl missing"
command -v bpftool >/dev/null || [ -x /usr/sbin/bpftool ] || ws_skip "bpftool missing"
PATH=$PATH:/usr/sbin
tls_cert

port_a=$(ws_free_port 127.0.0.1)
port_b=$(ws_free_port 127.0.0.1)
[ "$port_a" != "$port_b" ] || ws_fail "free ports clash, run again"
EXPECT=$WS_TMP/expect.txt
: >"$EXPECT"

# shellcheck disable=SC2016 # $uri is nginx's variable
tls_start_nginx ngxa "$port_a" 'hello from ngxa $uri\n'
worker_a=$TLS_NGINX_WORKER

ws_start_agent --port "$port_a,$port_b"
n_up=$(tls_agent_uprobes "$WS_AGENT_PID")
ws_log "agent holds $n_up uprobes after its start"

# shellcheck disable=SC2016
tls_start_nginx ngxb "$port_b" 'hello from ngxb $uri\n'
worker_b=$TLS_NGINX_WORKER

# do_curl PORT SERVER_PID TAG...: one curl, its requests on one keep-alive connection.
do_curl() {
	local port=$1 spid=$2 urls=() t
	shift 2
	for t in "$@"; do urls+=("https://127.0.0.1:$port/t/$t"); done
	run_bounded 20 curl -sk --max-time 10 "${urls[@]}" >"$WS_TMP/curl.out" 2>&1 || ws_fail "curl ${urls[*]} failed: $(cat "$WS_TMP/curl.out")"
	for t in "$@"; do
		grep -q "/t/$t\$" "$WS_TMP/curl.out" || ws_fail "curl: no answer for /t/$t: $(cat "$WS_TMP/curl.out")"
		echo "$t $RUN_PID $spid client" >>"$EXPECT"
	done
}
# do_py PORT SERVER_PID TAG...: python3 ssl, half keep-alive, half new connections.
do_py() {
	local port=$1 spid=$2 t
	shift 2
	run_bounded 30 "$WS_PY" "$WS_SVC/tls/https_client.py" "$port" "$@" >"$WS_TMP/py.out" 2>&1 || ws_fail "python https client failed: $(cat "$WS_TMP/py.out")"
	for t in "$@"; do echo "$t $RUN_PID $spid client" >>"$EXPECT"; done
}
# run_bounded SECS CMD...: CMD in the background (so $! is its own pid: the spans'
# process.pid), killed after SECS; sets RUN_PID, returns its status.
run_bounded() {
	local secs=$1 w rc
	shift
	"$@" <&0 &   # an explicit stdin: a bare & would get /dev/null
	RUN_PID=$!
	(sleep "$secs"; kill "$RUN_PID" 2>/dev/null) &
	w=$!
	wait "$RUN_PID"
	rc=$?
	kill "$w" 2>/dev/null
	wait "$w" 2>/dev/null
	return $rc
}

# The ports' first TLS connections: to ngxa (existing process) and ngxb (started after
# the agent, same libssl.so.3 file: no new attach needed).
do_curl "$port_a" "$worker_a" ca1 ca2
do_py "$port_a" "$worker_a" pa1 pa2 pa3 pa4
do_curl "$port_b" "$worker_b" cb1
do_py "$port_b" "$worker_b" pb1 pb2
if command -v node >/dev/null; then
	run_bounded 30 node "$WS_SVC/tls/https_client.js" "$port_a" na1 na2 na3 na4 >"$WS_TMP/node.out" 2>&1 ||
		ws_fail "node https client failed: $(cat "$WS_TMP/node.out")"
	cat "$WS_TMP/node.out" >&2
	for t in na1 na2 na3 na4; do echo "$t $RUN_PID $worker_a client" >>"$EXPECT"; done
else
	ws_log "node missing: no Node.js client"
fi

# s_client: started with & so that its pid is known.
for spec in "a $port_a $worker_a" "b $port_b $worker_b"; do
	# shellcheck disable=SC2086 # three words on purpose
	set -- $spec
	printf 'GET /t/s%s1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$1" >"$WS_TMP/sclient.in"
	run_bounded 20 openssl s_client -connect "127.0.0.1:$2" -quiet -ign_eof <"$WS_TMP/sclient.in" \
		>"$WS_TMP/sclient.out" 2>"$WS_TMP/sclient.err" || true
	grep -q "/t/s${1}1\$" "$WS_TMP/sclient.out" ||
		ws_fail "s_client: no answer for /t/s${1}1: $(head -c 300 "$WS_TMP/sclient.out" "$WS_TMP/sclient.err" | tr '\n' ' ')"
	echo "s${1}1 $RUN_PID $3 client" >>"$EXPECT"
done
sleep 0.5

n_up=$(tls_agent_uprobes "$WS_AGENT_PID")
ws_log "agent holds $n_up uprobes while running"
[ "$n_up" -ge 12 ] || ws_soft_fail "expected at least 12 uprobes (libssl: 6 functions x entry/return), bpftool perf list shows $n_up"
tls_stop_agent http1

"$WS_PY" "$WS_IT/check_tls_spans.py" --spans "$WS_SPANS" --expect "$EXPECT" >&2 ||
	ws_soft_fail "spans do not match the requests"
ws_finish
