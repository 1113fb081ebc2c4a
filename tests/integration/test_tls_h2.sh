#!/bin/bash
# HTTP/2 over TLS (issue 10): nginx (libssl.so.3) serving HTTP/2 chosen by ALPN on a TLS
# port (nginx_h2c.conf.in's locations, `listen ... ssl http2`), started before the
# agent; 12 requests, one curl (libcurl with OpenSSL) and connection each, `-k --http2`
# (services/h2c_curl.py --tls: 200s, 404s, 500s, each checked to be HTTP/2). The agent
# is scoped to the port. The plaintext from the OpenSSL uprobes begins with the HTTP/2
# preface: the HTTP/2 parser (HPACK, streams) must follow every connection to its end
# (no parse error, nothing given up), check_traces.py judges curl's CLIENT span and
# nginx's SERVER span of each request (the SERVER span the child of the CLIENT span), and
# every span carries wirespan.capture.tls=true. Then SIGINT: no uprobe left.
# Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"
ws_init
ws_need_nginx
command -v curl >/dev/null || ws_skip "curl missing"
tls_cert

# nginx_h2c.conf.in with TLS on its listen line: a copy of the template.
mkdir -p "$WS_TMP/svc"
sed -e "s|listen @LISTEN@ http2;|listen @LISTEN@ ssl http2;\n        ssl_certificate $WS_TMP/cert.pem;\n        ssl_certificate_key $WS_TMP/key.pem;|" \
	"$WS_SVC/nginx_h2c.conf.in" >"$WS_TMP/svc/nginx_h2_tls.conf.in"
grep -q "ssl http2" "$WS_TMP/svc/nginx_h2_tls.conf.in" || ws_fail "nginx_h2c.conf.in has no 'listen @LISTEN@ http2;' line"
SVC_SAVED=$WS_SVC
WS_SVC=$WS_TMP/svc
ws_start_nginx 127.0.0.1 nginx_h2_tls.conf.in
WS_SVC=$SVC_SAVED
PORT=$WS_LAST_PORT
# nginx must really speak HTTP/2 over TLS there (a workload check, before the agent).
[ "$(curl -sk --http2 -o /dev/null -w '%{http_version} %{http_code}' "https://127.0.0.1:$PORT/chain/1")" = "2 200" ] ||
	ws_fail "nginx does not answer HTTP/2 over TLS on port $PORT"

ws_start_agent --port "$PORT"
timeout -k 5 60 "$WS_PY" -u "$WS_SVC/h2c_curl.py" --tls --port "$PORT" --count 12 --manifest "$WS_TMP/h2.json" \
	>"$WS_TMP/h2-client.out" 2>"$WS_TMP/h2-client.err" ||
	ws_fail "h2 client failed: $(tail -n 5 "$WS_TMP/h2-client.err" | tr '\n' ' ')"
cat "$WS_TMP/h2-client.out" >&2
agent_pid=$WS_AGENT_PID
ws_stop_agent
ws_check_counters || true
tls_check_counters
tls_check_detached "$agent_pid"
tls_check_only_proto http2
for c in proto_http2_given_up proto_http2_parse_errors proto_http2_error_uncaptured; do
	v=$(ws_counter "$c")
	[ -z "$v" ] || [ "$v" = 0 ] || ws_soft_fail "counter $c is $v: an HTTP/2 connection was not followed to its end"
done
ws_check --manifest "$WS_TMP/h2.json" \
	--tier "name=curl,kinds=client" \
	--tier "name=nginx,pid=$WS_NGINX_WORKER,addr=127.0.0.1,port=$PORT,kinds=server"
tls_check_marker
ws_finish
