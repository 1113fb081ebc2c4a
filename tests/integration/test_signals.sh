#!/bin/bash
# Signals and teardown:
#  - SIGUSR1 prints the counters block and the agent keeps tracing;
#  - SIGINT: exit 0 within 20 s, the counters block printed, the spans of every request
#    completed before the signal are in the file (no settling delay is allowed), and no
#    BPF program or link the agent held is left in the kernel afterwards, nor any new
#    program or link that no process holds (pinned or attached for good).
. "$(dirname "$0")/lib.sh"
ws_init
command -v bpftool >/dev/null || [ -x /usr/sbin/bpftool ] || ws_skip "bpftool missing"

before=$(ws_bpf_ids) || ws_fail "cannot list BPF programs with bpftool"

ws_start_py sig-x 127.0.0.1
X_PORT=$WS_LAST_PORT X_PID=$WS_LAST_PID
ws_start_agent --port "$X_PORT"
AGENT=$WS_AGENT_PID
held=$(ws_fd_bpf_ids "$AGENT")
[ -n "$(grep '^prog ' <<<"$held")" ] || ws_fail "the ready agent holds no BPF program fds"
ws_log "agent holds $(grep -c '^prog ' <<<"$held") programs, $(grep -c '^link ' <<<"$held") links"

ws_client sig-client1 "$WS_TMP/m1.json" --host 127.0.0.1 --port "$X_PORT" --first-id 1 --count 20 --threads 4 --variants

kill -USR1 "$AGENT"
for ((i = 0; i < 50; i++)); do
	[ "$(ws_counter_blocks)" -ge 1 ] && break
	sleep 0.1
done
[ "$(ws_counter_blocks)" = 1 ] || ws_fail "SIGUSR1 printed $(ws_counter_blocks) counter blocks, expected 1"
sleep 0.5
ws_alive "$AGENT" || ws_fail "the agent exited on SIGUSR1"
v=$(ws_counter events_seen)
[ -n "$v" ] || v=$(ws_counter events)
[ -n "$v" ] && [ "$v" -gt 0 ] || ws_fail "after traffic and SIGUSR1, the events counter is '$v'"
ws_log "SIGUSR1: counters printed, agent still running"

# Traffic after SIGUSR1 is still traced; SIGINT comes right after the last response.
ws_client sig-client2 "$WS_TMP/m2.json" --host 127.0.0.1 --port "$X_PORT" --first-id 21 --count 20 --threads 4 --variants
held=$(printf '%s\n%s\n' "$held" "$(ws_fd_bpf_ids "$AGENT")" | sort -u)
ws_stop_agent
[ "$(ws_counter_blocks)" = 2 ] || ws_fail "expected the SIGINT counters block after the SIGUSR1 one, found $(ws_counter_blocks) blocks"
ws_check_counters || true
# The block's form is part of the CLI contract: "  name value", each name once.
bad=$(awk '/^wirespan counters:/ { inb = 1; delete seen; next }
	inb && /^ *[A-Za-z0-9_.]+ -?[0-9]+$/ {
		if ($0 !~ /^  [^ ]/) print "not indented by two spaces: " $0
		if (seen[$1]++) print "named twice: " $1
		next }
	{ inb = 0 }' "$WS_AGENT_ERR" | sort -u | head -n 8)
[ -z "$bad" ] || ws_soft_fail "counters block is not in the '  name value' form: $(tr '\n' ';' <<<"$bad")"
n_spans=$("$WS_PY" -c 'import json,sys
print(sum(len(s["spans"]) for l in open(sys.argv[1]) if l.strip() for r in json.loads(l)["resourceSpans"] for s in r["scopeSpans"]))' "$WS_SPANS") ||
	ws_fail "cannot count the spans in $WS_SPANS"
v=$(ws_counter file_spans_written)
[ -z "$v" ] || [ "$v" = "$n_spans" ] || ws_soft_fail "file_spans_written is $v but the file holds $n_spans spans"

for m in m1 m2; do
	other=m1
	[ $m = m1 ] && other=m2
	ws_check --manifest "$WS_TMP/$m.json" --other "$WS_TMP/$other.json" \
		--tier "name=sig-client${m#m},pid=client,kinds=client" \
		--tier "name=sig-x,pid=$X_PID,addr=127.0.0.1,port=$X_PORT,kinds=server"
done

# Freeing programs after the last fd closes is deferred in the kernel: allow a moment.
for ((i = 0; i < 50; i++)); do
	after=$(ws_bpf_ids) || ws_fail "cannot list BPF programs with bpftool"
	left=$(while read -r what id; do grep -qx "$what $id [^ ]*" <<<"$after" && echo "$what $id"; done <<<"$held")
	[ -z "$left" ] && break
	sleep 0.1
done
[ -z "$left" ] || ws_fail "BPF objects the agent held are still loaded after it exited: $(tr '\n' ' ' <<<"$left")"
# New programs or links that no process holds (pinned, or attached without a link fd)
# were leaked. Others' objects vanish a moment after their process exits: they must
# persist for 3 s to count.
for ((i = 0; i < 30; i++)); do
	orphans=
	after=$(ws_bpf_ids) || ws_fail "cannot list BPF programs with bpftool"
	new=$(comm -13 <(sort <<<"$before") <(sort <<<"$after"))
	[ -n "$new" ] || break
	# shellcheck disable=SC2046 # one word per pid
	holders=$(ws_fd_bpf_ids $(cd /proc && echo [0-9]*))
	orphans=$(while read -r what id type; do grep -qx "$what $id" <<<"$holders" || echo "$what $id ($type)"; done <<<"$new")
	[ -n "$orphans" ] || break
	sleep 0.1
done
[ -z "${orphans:-}" ] || ws_fail "BPF objects new since the agent started are held by no process: $(tr '\n' ' ' <<<"$orphans")"
ws_log "no BPF programs or links left behind"
ws_finish
