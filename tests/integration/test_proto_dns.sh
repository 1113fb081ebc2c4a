#!/bin/bash
# DNS (issue 8) against dnsmasq as the resolver on 127.0.0.1:<free UDP/TCP port P>:
# example.test answers A 10.0.0.1 / AAAA fd00::1, nx.test NXDOMAIN, fail.test is forwarded
# to an upstream that answers SERVFAIL (dns_load.py upstream), dead.test to a port where
# nothing answers, anything else REFUSED (no upstream).
#
# Clients (services/dns_load.py, dnspython), every query name unique:
# - the client process, run as "wsdnscli" (a python symlink, so --exe selects it alone):
#   UDP on unconnected sockets (A, AAAA, NXDOMAIN, REFUSED, SERVFAIL; 6 queries in flight
#   on one socket), a connected UDP socket, TCP (A, NXDOMAIN, two pipelined on one
#   connection), and a query nobody answers (the client gives up after 1 s and closes);
# - a threaded HTTP service (dns_load.py http) whose handler resolves a name before it
#   answers: 8 GET /dns/<id>. Its port H is in the agent's TCP scope, so its handler
#   threads are traced and their datagrams reported (docs/kernel.md, UDP datagrams).
#
# 1. agent --exe wsdnscli --port H --udp-ports P (dnsmasq itself out of scope):
#    check_proto.py dns: one CLIENT span per query with dns.question.name/type,
#    dns.response_code, dns.answer.count, network.transport, status per
#    docs/proto-dns.md (ERROR except NOERROR/NXDOMAIN; the unanswered one an error with no
#    response code), inside the query's wall-clock window; the service's query the child
#    of its SERVER span; no DNS span of no query.
# 2. the same with --udp-ports set to another port and a UDP-only client: no DNS span.
# WS_DNS_UNANSWERED=0 leaves the unanswered query out (and the 6 s the client waits for
# the agent's DNS timeout to pass).
. "$(dirname "$0")/lib.sh"
DNSMASQ=/usr/sbin/dnsmasq
ws_init
[ -x "$DNSMASQ" ] || ws_skip "$DNSMASQ missing (scripts/deps.sh installs dnsmasq-base)"
"$WS_PY" -c 'import dns.message' 2>/dev/null || ws_skip "python3-dnspython missing"

free_udp() {
	"$WS_PY" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ws_spawn upstream "$WS_PY" -u "$WS_SVC/dns_load.py" upstream --port-file "$WS_TMP/upstream.port"
ws_wait_file "$WS_TMP/upstream.port" 15 "$WS_LAST_PID" || ws_fail "SERVFAIL upstream did not start"
U_PORT=$(cat "$WS_TMP/upstream.port")
DEAD_PORT=$(free_udp)

# dnsmasq binds UDP and TCP on P; a port taken meanwhile makes it exit: try another.
for try in 1 2 3; do
	P=$(free_udp)
	ws_spawn dnsmasq "$DNSMASQ" --no-daemon --port="$P" --listen-address=127.0.0.1 --bind-interfaces \
		--no-resolv --no-hosts --log-facility=- \
		--address=/example.test/10.0.0.1 --address=/example.test/fd00::1 --address=/nx.test/ \
		--server="/fail.test/127.0.0.1#$U_PORT" --server="/dead.test/127.0.0.1#$DEAD_PORT"
	DM_PID=$WS_LAST_PID
	for ((i = 0; i < 100; i++)); do
		ws_alive "$DM_PID" || break
		ws_port_listening "$P" && break
		sleep 0.05
	done
	ws_alive "$DM_PID" && ws_port_listening "$P" && break
	ws_stop_pid "$DM_PID" TERM 5
	P=
done
[ -n "$P" ] || ws_fail "dnsmasq did not start: $(tail -n 3 "$WS_TMP/dnsmasq.err" | tr '\n' ' ')"
ws_log "dnsmasq: pid $DM_PID on 127.0.0.1:$P (udp+tcp)"

ws_spawn dns-http "$WS_PY" -u "$WS_SVC/dns_load.py" http --port "$P" --port-file "$WS_TMP/http.port"
H_PID=$WS_LAST_PID
ws_wait_file "$WS_TMP/http.port" 15 "$H_PID" || ws_fail "HTTP service did not start"
H=$(cat "$WS_TMP/http.port")
ws_log "dns-http: pid $H_PID port $H"

# The client runs under its own executable name, so --exe selects it and nothing else.
ln -s "$WS_PY" "$WS_TMP/wsdnscli"

run_client() { # NAME ARGS...
	local name=$1 rc
	shift
	timeout -k 5 60 "$WS_TMP/wsdnscli" -u "$WS_SVC/dns_load.py" client --port "$P" "$@" \
		>"$WS_TMP/$name.out" 2>"$WS_TMP/$name.err"
	rc=$?
	cat "$WS_TMP/$name.out" >&2
	[ "$rc" = 0 ] || ws_fail "$name failed (status $rc): $(tail -n 5 "$WS_TMP/$name.err" | tr '\n' ' ')"
}

# 1. UDP port in the set.
WS_SPANS=$WS_TMP/spans.jsonl
ws_start_agent --exe wsdnscli --port "$H" --udp-ports "$P"
extra=()
[ "${WS_DNS_UNANSWERED:-1}" = 0 ] && extra=(--no-unanswered)
run_client dns-client --manifest "$WS_TMP/dns.json" --http-port "$H" --http-count 8 "${extra[@]}"
ws_stop_agent
ws_check_counters || true
for c in proto_dns_parse_errors proto_dns_given_up proto_dns_requests_uncaptured; do
	v=$(ws_counter "$c")
	[ -z "$v" ] || [ "$v" = 0 ] || ws_soft_fail "counter $c is $v"
done
v=$(ws_counter udp_datagrams)
[ -n "$v" ] && [ "$v" -gt 0 ] || ws_soft_fail "counter udp_datagrams is '$v' with the port in --udp-ports"
timeout -k 5 60 "$WS_PY" "$WS_IT/check_proto.py" dns --spans "$WS_SPANS" --manifest "$WS_TMP/dns.json" ||
	ws_soft_fail "DNS spans do not match the queries"

# 2. The port not in the set: no datagram, no DNS span (UDP only: TCP is always parsed).
WS_SPANS=$WS_TMP/spans-absent.jsonl
ws_start_agent --exe wsdnscli --port "$H" --udp-ports "$DEAD_PORT"
run_client dns-client-absent --manifest "$WS_TMP/dns-absent.json" --udp-only --http-port "$H" --http-count 4
ws_stop_agent
v=$(ws_counter udp_datagrams)
[ -z "$v" ] || [ "$v" = 0 ] || ws_soft_fail "counter udp_datagrams is $v with the port not in --udp-ports"
timeout -k 5 60 "$WS_PY" "$WS_IT/check_proto.py" dns --absent --spans "$WS_SPANS" --manifest "$WS_TMP/dns-absent.json" ||
	ws_soft_fail "DNS spans although the port was not in --udp-ports"
ws_finish
