# shellcheck shell=bash
# Shared helpers of the agent-level TLS tests (test_tls_agent.sh, test_tls_chain.sh;
# bash, sourced after lib.sh).

# tls_cert: a self-signed certificate for localhost/127.0.0.1 in $WS_TMP/cert.pem and
# $WS_TMP/key.pem (readable by nginx's worker, which runs as nobody).
tls_cert() {
	command -v openssl >/dev/null || ws_skip "openssl missing"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$WS_TMP/key.pem" -out "$WS_TMP/cert.pem" >"$WS_TMP/openssl-req.err" 2>&1 ||
		ws_fail "cannot make a certificate: $(tail -n 2 "$WS_TMP/openssl-req.err")"
	chmod 644 "$WS_TMP/key.pem"
}

# tls_start_nginx NAME PORT BODY: nginx with TLS on 127.0.0.1:PORT, one worker,
# keep-alive, every location answers 200 with BODY (nginx variables allowed: $uri).
# Sets TLS_NGINX_PID (master) and TLS_NGINX_WORKER.
tls_start_nginx() {
	local name=$1 port=$2 body=$3 pfx=$WS_TMP/$1 i nginx_bin
	nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
	mkdir -p "$pfx/logs"
	cat >"$pfx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $pfx/nginx.pid;
error_log $pfx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000;
  client_body_temp_path $pfx; proxy_temp_path $pfx; fastcgi_temp_path $pfx;
  uwsgi_temp_path $pfx; scgi_temp_path $pfx;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $WS_TMP/cert.pem;
    ssl_certificate_key $WS_TMP/key.pem;
    location / { default_type text/plain; return 200 "$body"; }
  }
}
NGX
	ws_spawn "$name" "$nginx_bin" -p "$pfx/" -c "$pfx/nginx.conf" -e "$pfx/logs/error.log"
	TLS_NGINX_PID=$WS_LAST_PID
	TLS_NGINX_WORKER=
	for ((i = 0; i < 200; i++)); do
		ws_alive "$TLS_NGINX_PID" || break
		TLS_NGINX_WORKER=$(awk '{print $1}' "/proc/$TLS_NGINX_PID/task/$TLS_NGINX_PID/children" 2>/dev/null)
		[ -n "$TLS_NGINX_WORKER" ] && ws_port_listening "$port" && break
		sleep 0.05
	done
	[ -n "$TLS_NGINX_WORKER" ] && ws_port_listening "$port" ||
		ws_fail "$name did not listen on $port: $(tail -n 2 "$pfx/logs/error.log" 2>/dev/null | tr '\n' ' ')"
	ws_log "$name: nginx TLS master $TLS_NGINX_PID worker $TLS_NGINX_WORKER port $port"
}

# tls_agent_uprobes PID: how many uprobes/uretprobes the process holds (bpftool perf list).
tls_agent_uprobes() {
	bpftool perf list 2>/dev/null | grep -cE "^pid $1 .*u(ret)?probe "
}

# tls_check_detached AGENT_PID: after the agent exited, none of its uprobes is left and
# uprobe_events names neither libssl nor node. Soft failures.
tls_check_detached() {
	local pid=$1 ev
	if bpftool perf list 2>/dev/null | grep -qE "^pid $pid .*u(ret)?probe "; then
		ws_soft_fail "uprobes of agent $pid left after SIGINT"
	fi
	for ev in /sys/kernel/tracing/uprobe_events /sys/kernel/debug/tracing/uprobe_events; do
		[ -r "$ev" ] || continue
		grep -qE "libssl|/node" "$ev" && ws_soft_fail "$ev still names libssl or node: $(head -n 3 "$ev")"
	done
	ws_log "detached: no uprobe of agent $pid left"
}

# tls_check_counters: the TLS counters of an agent run over TLS-only traffic: plaintext
# records seen, ciphertext recognised and counted, no parse error in any parser, no
# attach failure. Soft failures.
tls_check_counters() {
	local v k
	for k in tls_records tls_cipher_records tls_files_attached; do
		v=$(ws_counter "$k")
		[ -n "$v" ] && [ "$v" -gt 0 ] || ws_soft_fail "counter $k is '${v}' (expected > 0)"
	done
	for k in tls_attach_failed ringbuf_drops; do
		v=$(ws_counter "$k")
		[ -z "$v" ] || [ "$v" = 0 ] || ws_soft_fail "counter $k is $v (expected 0)"
	done
	# every parser's own error counters (parse_errors, proto_<name>_parse_errors,
	# ..._given_up): none, or exactly TLS_PARSE_ERRORS_OK (the caller explains them)
	awk '/^wirespan counters:/{inb=1; next} inb && /^ *[A-Za-z0-9_.]+ -?[0-9]+$/{print $1, $2; next} {inb=0}' "$WS_AGENT_ERR" |
		awk -v ok="${TLS_PARSE_ERRORS_OK:-0}" '$1 ~ /(parse_errors|given_up)$/ && $2 != 0 && !($1 ~ /parse_errors$/ && $2 == ok)' |
		sort -u >"$WS_TMP/proto_errors.txt"
	[ -s "$WS_TMP/proto_errors.txt" ] && ws_soft_fail "parser errors: $(tr '\n' ' ' <"$WS_TMP/proto_errors.txt")"
	ws_log "TLS counters: $(for k in tls_records tls_cipher_records connections_tls tls_files_attached tls_probes parse_errors; do printf '%s=%s ' "$k" "$(ws_counter "$k")"; done)"
	return 0
}

# tls_check_only_proto NAME: no parser but NAME claimed a connection (nothing was
# detected in ciphertext). Soft failure.
tls_check_only_proto() {
	local other
	other=$(awk '/^wirespan counters:/{inb=1; next} inb && /^ *proto_[a-z0-9]+_connections [0-9]+$/{print; next} {inb=0}' "$WS_AGENT_ERR" |
		awk -v want="proto_$1_connections" '$1 != want && $2 != 0' | sort -u | tr '\n' ' ')
	[ -z "$other" ] || ws_soft_fail "another protocol detected on TLS connections: $other"
	[ "$(ws_counter "proto_$1_connections")" -gt 0 ] 2>/dev/null || ws_soft_fail "no $1 connection parsed"
}

# tls_check_marker: every span in $WS_SPANS carries wirespan.capture.tls=true (its parser
# saw TLS plaintext only), and there is at least one span. Soft failure.
tls_check_marker() {
	local n
	n=$("$WS_PY" - "$WS_SPANS" <<'PY'
import json, sys
bad = total = 0
for line in open(sys.argv[1]):
    for rs in json.loads(line)["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                total += 1
                a = {x["key"]: x["value"] for x in s.get("attributes", [])}
                if a.get("wirespan.capture.tls") != {"boolValue": True}:
                    bad += 1
print(bad, total)
PY
)
	ws_log "spans without wirespan.capture.tls=true: ${n% *} of ${n#* }"
	[ "${n% *}" = 0 ] && [ "${n#* }" -gt 0 ] || ws_soft_fail "spans without the TLS marker: $n"
}

# tls_stop_agent PROTO [COUNTER...]: stop the agent (SIGINT) and check what every TLS
# test checks after it: the generic counters, the TLS counters, no uprobe left, no
# protocol but PROTO detected, and each COUNTER 0 (or absent). Soft failures.
tls_stop_agent() {
	local proto=$1 pid=$WS_AGENT_PID c v
	shift
	ws_stop_agent
	ws_check_counters || true
	tls_check_counters
	tls_check_detached "$pid"
	tls_check_only_proto "$proto"
	for c in "$@"; do
		v=$(ws_counter "$c")
		[ -z "$v" ] || [ "$v" = 0 ] || ws_soft_fail "counter $c is $v"
	done
}
