#!/bin/bash
# Cost of CPython contexts (bpf/lib/py_ctx.h: the thread-state walk on each data record
# of a registered CPython process): the asyncio service of the architecture tests
# (tests/integration/services/arch/svc_asyncio.py -> backend.py) under the arch load
# client, wirespan with and without --no-py-runtime, variants alternated per round.
# Reports per variant the medians of: BPF ns per request (all programs, run-time stats),
# ns per hit of the data-path exits (sys_exit_*), agent CPU us per request, and the
# complete traces the task rule gave. Root, loopback only, bounded.
#   bench/py_ctx_cost.sh [REQUESTS [ROUNDS [INFLIGHT]]]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-2000} rounds=${2:-3} inflight=${3:-16}
A=$root/tests/integration/services/arch
PY=/usr/bin/python3
[ "$(id -u)" = 0 ] || { echo "py_ctx_cost: needs root" >&2; exit 1; }
command -v bpftool >/dev/null || { echo "py_ctx_cost: needs bpftool" >&2; exit 1; }
make --no-print-directory -s -C "$root" build/wirespan || exit 1
tmp=$(mktemp -d /tmp/ws-py-cost.XXXXXX) || exit 1
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled=$old_stats; cleanup' EXIT
sysctl -qw kernel.bpf_stats_enabled=1

wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "py_ctx_cost: $1 missing" >&2; exit 1; }
"$PY" "$A/backend.py" --port-file "$tmp/b.port" 2>"$tmp/backend.err" & pids+=($!)
wait_file "$tmp/b.port"
"$PY" -u "$A/svc_asyncio.py" --port-file "$tmp/s.port" --backend "127.0.0.1:$(cat "$tmp/b.port")" 2>"$tmp/svc.err" & pids+=($!)
wait_file "$tmp/s.port"
sport=$(cat "$tmp/s.port") bport=$(cat "$tmp/b.port")

# prog name -> "run_time_ns run_cnt" of wirespan's programs
snap() { bpftool -j prog show | "$PY" -c '
import json, sys
for p in json.load(sys.stdin):
    if "run_time_ns" in p:
        print(p.get("name", "?"), p["run_time_ns"], p["run_cnt"])'; }

first=1
for r in $(seq "$rounds"); do
	for v in full nopy; do
		args=(-P "$sport,$bport")
		[ "$v" = nopy ] && args+=(--no-py-runtime)
		"$root/build/wirespan" "${args[@]}" -o "file:$tmp/spans.$v.$r" >/dev/null 2>"$tmp/agent.$v.$r" & ap=$!
		for _ in $(seq 100); do grep -q "ready" "$tmp/agent.$v.$r" && break; sleep 0.1; done
		snap >"$tmp/before"
		t0=$(awk '{print $14 + $15}' "/proc/$ap/stat")
		"$PY" "$A/load.py" --port "$sport" --first-id "$first" --count "$n" --inflight "$inflight" \
			--manifest "$tmp/manifest.$v.$r" >/dev/null 2>&1
		first=$((first + n))
		t1=$(awk '{print $14 + $15}' "/proc/$ap/stat")
		snap >"$tmp/after"
		kill -INT "$ap"; wait "$ap" 2>/dev/null
		"$PY" - "$tmp/before" "$tmp/after" "$n" "$((t1 - t0))" "$(getconf CLK_TCK)" "$v" >>"$tmp/rows" <<'PYEOF'
import sys
def load(p):
    d = {}
    for l in open(p):
        name, t, c = l.split()
        t0, c0 = d.get(name, (0, 0))
        d[name] = (t0 + int(t), c0 + int(c))
    return d
b, a = load(sys.argv[1]), load(sys.argv[2])
n, ticks, hz, v = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
tot = sum(a[k][0] - b.get(k, (0, 0))[0] for k in a)
ex_t = sum(a[k][0] - b.get(k, (0, 0))[0] for k in a if k.startswith("sys_exit_"))
ex_c = sum(a[k][1] - b.get(k, (0, 0))[1] for k in a if k.startswith("sys_exit_"))
print(v, tot / n, ex_t / max(ex_c, 1), ticks * 1e6 / hz / n)
PYEOF
		tail -n 1 "$tmp/rows"
	done
done
echo "variant  BPF ns/req  sys_exit ns/hit  agent us/req   (medians of $rounds rounds, $n requests, $inflight in flight)"
"$PY" - "$tmp/rows" <<'PYEOF'
import statistics, sys
rows = {}
for l in open(sys.argv[1]):
    v, *x = l.split()
    rows.setdefault(v, []).append([float(y) for y in x])
for v, xs in rows.items():
    m = [statistics.median(c) for c in zip(*xs)]
    print("%-8s %10.0f %16.0f %13.2f" % (v, m[0], m[1], m[2]))
PYEOF
grep -h "py_records_with_context\|py_thread_state_not_found\|py_read_failures" "$tmp"/agent.full.* | sort | uniq -c
