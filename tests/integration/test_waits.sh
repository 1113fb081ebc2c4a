#!/bin/bash
# Where the time went (issue 11, docs/waits.md): each wait attribute against a real,
# controlled cause, with the cause named in every check (waits/check_waits.py):
#   accept    single-threaded server, 5 connections at once, each request sent 40 ms
#             after its connect, 30 ms per request: wirespan.queue.accept_ns grows
#             request by request and counts from the handshake; SERVER spans start at
#             the handshake, inside CLIENT spans that start at connect()
#   receive   the server reads 50 ms after the request arrived: queue.receive_ns
#   burn-*    a handler burning 30 ms of CPU on CPU 0, alone and then with two busy
#             processes on CPU 0: sched.oncpu_ns vs sched.runqueue_ns
#   network   a downstream in a network namespace of the test's own, reached over a veth
#             through a relay that holds every chunk 80 ms (no netem here): the CLIENT
#             span's net.wait_ns, and the SERVER span's blocked_ns covering it
#   retrans   a tc (cls_bpf) program dropping everything entering the namespace for 1 s while a
#             request is sent: wirespan.tcp.retransmits
# Every SERVER span with a full split must add up to its duration within 1% + 50 us.
. "$(dirname "$0")/lib.sh"
ws_init
command -v ip >/dev/null && command -v tc >/dev/null || ws_skip "ip/tc missing (iproute2)"
command -v clang >/dev/null || ws_skip "clang missing"
command -v taskset >/dev/null || ws_skip "taskset missing"

W=$WS_IT/waits
NS=wsw$$
VA=wswa$$
VB=wswb$$
NET=10.231.$(($$ % 250)).
waits_exit() {
	local rc=$?
	ip link del "$VA" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	(exit $rc)
	ws_cleanup
}
trap waits_exit EXIT

clang -O2 -target bpf -c "$W/tc_drop.bpf.c" -o "$WS_TMP/tc_drop.bpf.o" || ws_fail "cannot build the tc drop program"
ip netns add "$NS" || ws_skip "cannot create a network namespace"
ip link add "$VA" type veth peer name "$VB" netns "$NS" || ws_fail "veth"
ip addr add "${NET}1/24" dev "$VA" && ip link set "$VA" up
ip netns exec "$NS" ip addr add "${NET}2/24" dev "$VB"
ip netns exec "$NS" ip link set "$VB" up
ip netns exec "$NS" ip link set lo up

svc() { # NAME CMD...: start and wait for "ready"
	local name=$1
	shift
	ws_spawn "$name" "$@"
	ws_wait_file "$WS_TMP/$name.out" 10 "$WS_LAST_PID" || ws_fail "$name did not start: $(cat "$WS_TMP/$name.err")"
}
P_ACC=$(ws_free_port 127.0.0.1)
P_RCV=$(ws_free_port 127.0.0.1)
P_BA=$(ws_free_port 127.0.0.1)
P_BS=$(ws_free_port 127.0.0.1)
P_PX=$(ws_free_port 127.0.0.1)
P_DOWN=18555 P_REL=18556 P_REL0=18557   # inside the namespace: no collisions possible
svc accept "$WS_PY" "$W/waits_svc.py" server "$P_ACC" slow
svc receive "$WS_PY" "$W/waits_svc.py" server "$P_RCV" lateread
svc burn-alone taskset -c 0 "$WS_PY" "$W/waits_svc.py" server "$P_BA" burn
svc burn-shared taskset -c 0 "$WS_PY" "$W/waits_svc.py" server "$P_BS" burn
svc down ip netns exec "$NS" "$WS_PY" "$W/waits_svc.py" server "$P_DOWN" plain
svc relay ip netns exec "$NS" "$WS_PY" "$W/waits_svc.py" relay "${NET}2" "$P_REL" "$P_DOWN" 80
svc relay0 ip netns exec "$NS" "$WS_PY" "$W/waits_svc.py" relay "${NET}2" "$P_REL0" "$P_DOWN" 0
svc proxy "$WS_PY" "$W/waits_svc.py" server "$P_PX" proxy "${NET}2:$P_REL"

ws_start_agent --port "$P_ACC,$P_RCV,$P_BA,$P_BS,$P_PX,$P_REL,$P_REL0"
# Threads become measured at their first traced syscall: warm every server up once.
for p in "$P_ACC" "$P_RCV" "$P_BA" "$P_BS"; do "$WS_PY" "$W/waits_svc.py" keepalive 127.0.0.1 "$p" 1; done

"$WS_PY" "$W/waits_svc.py" burst "$P_ACC" 5 0.04 || ws_fail "burst client"
"$WS_PY" "$W/waits_svc.py" keepalive 127.0.0.1 "$P_RCV" 3 0 || ws_fail "receive client"
"$WS_PY" "$W/waits_svc.py" keepalive 127.0.0.1 "$P_BA" 3 || ws_fail "burn-alone client"
ws_spawn hog1 taskset -c 0 "$WS_PY" -c 'while 1: pass'
HOG1=$WS_LAST_PID
ws_spawn hog2 taskset -c 0 "$WS_PY" -c 'while 1: pass'
HOG2=$WS_LAST_PID
sleep 0.2
"$WS_PY" "$W/waits_svc.py" keepalive 127.0.0.1 "$P_BS" 3 || ws_fail "burn-shared client"
ws_stop_pid "$HOG1" TERM 5
ws_stop_pid "$HOG2" TERM 5
"$WS_PY" "$W/waits_svc.py" keepalive 127.0.0.1 "$P_PX" 4 || ws_fail "network client"

# Retransmits: the second request is sent while the tc program drops all on the veth.
ws_spawn rclient "$WS_PY" "$W/waits_svc.py" keepalive "${NET}2" "$P_REL0" 2 1.0
RC_PID=$WS_LAST_PID
sleep 0.5
# On the far end's ingress, not on our egress: a segment shot down by a local qdisc is a
# failed transmit to TCP (TCPRetransFail), not a retransmission that left the host.
NSX="ip netns exec $NS"
$NSX tc qdisc add dev "$VB" clsact && $NSX tc filter add dev "$VB" ingress bpf da obj "$WS_TMP/tc_drop.bpf.o" sec tc ||
	ws_fail "cannot attach the tc drop program"
sleep 1.0
$NSX tc qdisc del dev "$VB" clsact
for ((i = 0; i < 100; i++)); do ws_alive "$RC_PID" || break; sleep 0.1; done
wait "$RC_PID" || ws_soft_fail "retransmit client failed: $(cat "$WS_TMP/rclient.err")"
ws_reaped "$RC_PID"
sleep 0.5

ws_stop_agent
C=$W/check_waits.py
"$WS_PY" "$C" "$WS_SPANS" accept "$P_ACC" || ws_soft_fail "accept queue"
"$WS_PY" "$C" "$WS_SPANS" receive "$P_RCV" || ws_soft_fail "receive queue"
"$WS_PY" "$C" "$WS_SPANS" burn-alone "$P_BA" || ws_soft_fail "on CPU"
"$WS_PY" "$C" "$WS_SPANS" burn-shared "$P_BS" || ws_soft_fail "run queue"
"$WS_PY" "$C" "$WS_SPANS" network "$P_PX" "$P_REL" || ws_soft_fail "network wait"
"$WS_PY" "$C" "$WS_SPANS" retrans "$P_REL0" || ws_soft_fail "retransmits"
ws_finish
