#!/bin/bash
# Idle connections must cost almost nothing (issue 13): about 20k keep-alive connections
# to nginx from two python client processes (the per-process fd limit here is 20000),
# first idle, then one request on every one of them, then idle again, then closed; the
# agent scoped to nginx's port tracks both sides of each (about 40k connection sides).
# Checks, from the agent's own RSS (VmRSS less the ring buffer's mapping, which is BPF
# map memory: bench/bench.py measures "own" RSS the same way) at each step:
#   - idle (before and after the requests): own RSS <= 32 MiB + 1 KiB x connection sides,
#     and the growth since the agent started <= 1 KiB x sides + WS_IDLE_SLACK_KIB
#     (default 7 MiB: fixed tables written on first use, not per side: the span table's
#     nodes, 16384 x 184 B = 2.9 MiB at the default --max-spans, which since 2026-12-03
#     are no longer all written at start; the span pool, the parentage index ring);
#   - all closed: the growth since the start came back down to <= WS_CLOSED_KEEP_MIB
#     (default 12: the pool's free list, the span pool, the touched part of the span
#     table and parentage index) + 8 KiB per side still tracked (a side whose close was
#     never seen stays, and its two small chunks keep up to two heap pages resident);
#   - no connection evicted, the counters balance, every request gave exactly one nginx
#     SERVER span whose parent is the python CLIENT span of the same request.
# WS_IDLE_CONNS: connections per client (default 9900), WS_IDLE_WAVE: requests in flight
# per client (default 500); WS_IDLE_CLIENTS: client processes
# (default 2; 5 gives issue 13's 100k sides: nginx then runs one worker per 16k
# connections with reuseport, each client connects from its own 127.0.0.x).
. "$(dirname "$0")/lib.sh"
ws_init
ws_need_nginx

N=${WS_IDLE_CONNS:-9900}
WAVE=${WS_IDLE_WAVE:-500}   # requests in flight at once per client
CLIENTS=${WS_IDLE_CLIENTS:-2}
SLACK_KIB=${WS_IDLE_SLACK_KIB:-7168}
CLOSED_KEEP_MIB=${WS_CLOSED_KEEP_MIB:-12}
SIDES=$((2 * CLIENTS * N))   # clients x N connections x (client side + server side)
WORKERS=$(((CLIENTS * N + 15999) / 16000))

# nginx with room for every connection: its own copy of the template.
mkdir -p "$WS_TMP/svc"
reuse=
[ "$WORKERS" -gt 1 ] && reuse=" reuseport"
sed -e 's/worker_connections 256;/worker_connections 24000;/' \
	-e "s|^worker_processes 1;|worker_processes $WORKERS;\nworker_rlimit_nofile 24000;|" \
	-e "s|listen @LISTEN@;|listen @LISTEN@$reuse;|" \
	-e 's|access_log @PREFIX@/logs/access.log;|access_log off;|' \
	"$WS_SVC/nginx.conf.in" >"$WS_TMP/svc/nginx.conf.in"
SVC_SAVED=$WS_SVC
WS_SVC=$WS_TMP/svc
ws_start_nginx 127.0.0.1
WS_SVC=$SVC_SAVED
PORT=$WS_LAST_PORT
# Every worker (ws_start_nginx names the first one).
for ((i = 0; i < 100; i++)); do
	NGINX_WORKERS=$(cat "/proc/$WS_NGINX_PID/task/$WS_NGINX_PID/children" 2>/dev/null)
	[ "$(echo $NGINX_WORKERS | wc -w)" -ge "$WORKERS" ] && break
	sleep 0.05
done

ws_start_agent --port "$PORT"

# The agent's own resident memory in KiB: VmRSS less its BPF map mappings.
own_rss_kib() {
	awk '/^[0-9a-f]+-[0-9a-f]+ /{m = ($6 == "anon_inode:bpf-map")} /^Rss:/{t += $2; if (m) b += $2} END{print t - b}' \
		"/proc/$WS_AGENT_PID/smaps"
}
# Ask for a counters block (SIGUSR1) and wait until it is printed.
fresh_counters() {
	local n i
	n=$(ws_counter_blocks)
	kill -USR1 "$WS_AGENT_PID"
	for ((i = 0; i < 100; i++)); do
		[ "$(ws_counter_blocks)" -gt "$n" ] && return 0
		sleep 0.05
	done
	ws_fail "no counters block after SIGUSR1"
}
# wait_counter NAME OP VALUE SECS: poll the counters until "NAME OP VALUE" holds.
wait_counter() {
	local name=$1 op=$2 want=$3 secs=$4 i v
	for ((i = 0; i < secs * 4; i++)); do
		fresh_counters
		v=$(ws_counter "$name")
		[ -n "$v" ] && [ "$v" "$op" "$want" ] && return 0
		sleep 0.25
	done
	ws_log "$name is ${v:-missing} after ${secs}s (wanted $op $want)"
	return 1
}
wait_files() { # SUFFIX SECS: every client wrote $WS_TMP/cK.SUFFIX
	local i k done
	for ((i = 0; i < $2 * 20; i++)); do
		done=0
		for ((k = 1; k <= CLIENTS; k++)); do
			if [ -s "$WS_TMP/c$k.$1" ]; then
				done=$((done + 1))
			elif ! ws_alive "${CPIDS[k]}"; then
				# It may have written its file and exited just now.
				[ -s "$WS_TMP/c$k.$1" ] ||
					ws_fail "client c$k exited before '$1': $(tail -n 3 "$WS_TMP/c$k.err" | tr '\n' ' ')"
			fi
		done
		[ "$done" = "$CLIENTS" ] && return 0
		sleep 0.05
	done
	ws_fail "clients did not reach '$1' within $2 s"
}

sleep 1
RSS0=$(own_rss_kib)
ws_log "agent own RSS at start: $RSS0 KiB"

# Each client from its own loopback address: ephemeral ports are per address pair.
declare -a CPIDS
for ((k = 1; k <= CLIENTS; k++)); do
	ws_spawn "c$k" "$WS_PY" -u "$WS_SVC/idle_client.py" --port "$PORT" --conns "$N" \
		--first-id $(((k - 1) * N + 1)) --bind "127.0.0.$((k + 1))" --wave "$WAVE" --dir "$WS_TMP" --name "c$k"
	CPIDS[k]=$WS_LAST_PID
done
wait_files open $((30 + 15 * CLIENTS))
wait_counter connections_tracked -ge "$SIDES" 20 || ws_soft_fail "the agent does not track every connection side"
sleep 1
RSS1=$(own_rss_kib)

touch "$WS_TMP/go.request"
wait_files requested $((30 + 15 * CLIENTS))
# Every request gives a SERVER span (nginx) and a CLIENT span (python).
wait_counter spans_produced -ge $((SIDES)) 30 || ws_soft_fail "not every request gave its spans"
# The spans of the burst were freed: the agent trims the heap on its 5 s timer when that
# left much of it free. Measured after that (or after 7 s if it did not need to).
trims=$(ws_counter malloc_trims)
wait_counter malloc_trims -gt "${trims:-0}" 7 || true
sleep 0.5
RSS2=$(own_rss_kib)
fresh_counters
ws_log "heap after the requests: in use $(ws_counter malloc_in_use_bytes) B, free $(ws_counter malloc_free_bytes) B, trims $(ws_counter malloc_trims)"

touch "$WS_TMP/go.close"
wait_files closed 30
wait_counter connections_tracked -le $((SIDES / 20)) 20 || ws_soft_fail "connections still tracked after every one closed"
left=$(ws_counter connections_tracked)
[ "${left:-0}" = 0 ] || ws_log "NOTE: $left connection sides still tracked after every connection closed (their TCP_CLOSE was not seen; an entry idle for 900 s expires)"
# The agent gives memory back on a 5 s timer once many connections went.
trims=$(ws_counter malloc_trims)
wait_counter malloc_trims -gt "${trims:-0}" 12 || ws_soft_fail "no malloc_trim after $SIDES connection sides closed"
sleep 0.5
RSS3=$(own_rss_kib)

check_idle() { # STEP RSS
	local limit=$((32 * 1024 + SIDES)) grow=$(($2 - RSS0))
	ws_log "$1: own RSS $2 KiB for $SIDES connection sides: $((grow * 1024 / SIDES)) bytes per side above the start (goal <= 1024), limit $limit KiB"
	[ "$2" -le "$limit" ] || ws_soft_fail "$1: own RSS $2 KiB > 32 MiB + 1 KiB x $SIDES sides ($limit KiB)"
	[ "$grow" -le $((SIDES + SLACK_KIB)) ] ||
		ws_soft_fail "$1: RSS grew $grow KiB > 1 KiB x $SIDES sides + $SLACK_KIB KiB slack"
}
check_idle "idle, no request yet" "$RSS1"
check_idle "idle after one request each" "$RSS2"
ws_log "all closed: own RSS $RSS3 KiB (start $RSS0, peak idle $RSS2)"
keep=$((CLOSED_KEEP_MIB * 1024 + 8 * ${left:-0}))
[ $((RSS3 - RSS0)) -le "$keep" ] ||
	ws_soft_fail "memory did not come back: $((RSS3 - RSS0)) KiB above the start after every connection closed (allowed $keep KiB: $CLOSED_KEEP_MIB MiB + 8 KiB x ${left:-0} sides still tracked)"

# Kernel side: what the connection map costs (memlock, as bpftool reports it).
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
"$bpftool" -j map show 2>/dev/null | "$WS_PY" -c '
import json, sys
for m in json.load(sys.stdin):
    if m.get("name") in ("ws_conns",):
        print("kernel map %s: %s entries, memlock %.1f MiB" % (m["name"], m.get("max_entries"), int(m.get("bytes_memlock", 0)) / 2**20))' |
	while read -r line; do ws_log "$line"; done

for ((k = 1; k <= CLIENTS; k++)); do
	wait "${CPIDS[k]}" || ws_soft_fail "client c$k exited with an error"
	ws_reaped "${CPIDS[k]}"
done
ws_stop_agent
ws_check_counters || true

declare -A n
for k in opened tracked closed evicted expired removed; do
	n[$k]=$(ws_counter "connections_$k")
	[ -n "${n[$k]}" ] || ws_fail "counter connections_$k missing"
done
ws_log "connections: opened ${n[opened]} tracked ${n[tracked]} closed ${n[closed]} evicted ${n[evicted]} expired ${n[expired]} removed ${n[removed]}"
[ "${n[evicted]}" = 0 ] || ws_soft_fail "connections_evicted is ${n[evicted]}"
[ "${n[opened]}" = $((n[tracked] + n[closed] + n[evicted] + n[expired] + n[removed])) ] ||
	ws_soft_fail "connections do not balance"
[ "${n[opened]}" -ge "$SIDES" ] || ws_soft_fail "connections_opened ${n[opened]} < $SIDES sides"
for k in proto_http1_pool_exhausted proto_http1_fields_dropped; do
	v=$(ws_counter "$k")
	[ "$v" = 0 ] || ws_soft_fail "$k is ${v:-missing}"
done
ws_log "pool: in use at most $(ws_counter proto_http1_pool_in_use_max) blocks of $(ws_counter proto_http1_pool_block_bytes) bytes, $(ws_counter proto_http1_pool_free) left on the free list"

# Every request: one nginx SERVER span, its parent the python CLIENT span of that request.
"$WS_PY" - "$WS_SPANS" "$((CLIENTS * N))" "$NGINX_WORKERS" <<'PY' || ws_soft_fail "spans do not match the requests"
import json, sys
path, want, nginx = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
spans = []
for line in open(path):
    for rs in json.loads(line).get("resourceSpans", []):
        attrs = {a["key"]: a["value"] for a in rs.get("resource", {}).get("attributes", [])}
        pid = str(attrs.get("process.pid", {}).get("intValue", ""))
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                sa = {a["key"]: list(a["value"].values())[0] for a in s.get("attributes", [])}
                spans.append((pid, s, sa))
clients = {s["spanId"]: (s, sa) for pid, s, sa in spans if s.get("kind") == 3}
servers = [(pid, s, sa) for pid, s, sa in spans if s.get("kind") == 2]
bad = []
ids = set()
for pid, s, sa in servers:
    rid = sa.get("url.path", "").rsplit("/", 1)[-1]
    if pid and pid not in nginx:
        bad.append("SERVER span of pid %s, not an nginx worker %s" % (pid, nginx))
    ids.add(rid)
    c = clients.get(s.get("parentSpanId"))
    if c is None:
        bad.append("SERVER span %s (%s) has no CLIENT parent" % (s["spanId"], sa.get("url.path")))
    elif c[1].get("url.path") != sa.get("url.path") or c[0]["traceId"] != s["traceId"]:
        bad.append("SERVER span %s: parent is the CLIENT span of %s" % (s["spanId"], c[1].get("url.path")))
print("[test_idle_conns] spans: %d SERVER, %d CLIENT, %d distinct request ids, %d problems" % (len(servers), len(clients), len(ids), len(bad)), file=sys.stderr)
for b in bad[:10]:
    print("  " + b, file=sys.stderr)
ok = len(servers) == want and len(clients) == want and len(ids) == want and not bad
sys.exit(0 if ok else 1)
PY
ws_finish
