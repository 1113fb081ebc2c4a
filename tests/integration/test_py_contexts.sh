#!/bin/bash
# Root-only check of the CPython task evidence in the kernel (bpf/lib/py_ctx.h) through
# build/bpf_dump -Y, on Debian's aiohttp service calling a backend (16 in flight, 200
# requests: keep-alive and new connections, services/arch/svc_aiohttp.py):
#   asyncio: every record the service writes names a task (rt_ctx, WS_F_RT_PY), and for
#     each request the call to the backend, the answer's head and its body name the same
#     one (the handler's task); different requests in flight name different ones; no
#     record it reads names any; the lookup ran for its writes alone (the counters add
#     up to the records written).
#   uvloop: no record names a task. uvloop writes every transport's queued data from
#     one long-lived Context of its own (a loop handler's): entered, but no coroutine
#     runs in it (py_records_no_task). Taking it for a task put calls under other
#     requests' answers (2026-12-03, test_arch_aiohttp_uvloop).
# Exit 0 pass, 1 fail, 77 skip. WS_KEEP=1 keeps the temp dir.
set -u
. "$(dirname "$0")/arch_lib.sh"
DUMP=$WS_ROOT/build/bpf_dump
ws_init
arch_need_py aiohttp python3-aiohttp
arch_need_py uvloop python3-uvloop
make --no-print-directory -s -C "$WS_ROOT" build/bpf_dump >&2 || ws_fail "cannot build build/bpf_dump"

cat >"$WS_TMP/check.py" <<'PY'
import re, sys
dump, err, mode = sys.argv[1], sys.argv[2], sys.argv[3]
rec = re.compile(r"^DATA pid=(\d+) tid=(\d+) .* dir=(in|out) role=(\w+) .* g=(\d+) .*? data=\"(.*)\"$")
out, inn = [], []
for line in open(dump):
    m = rec.match(line)
    if m:
        (out if m.group(3) == "out" else inn).append((m.group(4), int(m.group(5)), m.group(6)))
stats = next((l for l in open(err) if l.startswith("PYSTATS")), "")
cnt = {k: int(v) for k, v in re.findall(r"(py_\w+)=(\d+)", stats)}
bad = []
def need(ok, what):
    if not ok:
        bad.append(what)
need(stats, "no PYSTATS line: the service was not registered")
need("procs_registered=0" not in stats, "the service was not registered as a CPython process")
need(len(out) >= 400, "%d records written, expected at least 400" % len(out))
need(all(g == 0 for _, g, _ in inn), "%d read records name a task" % sum(1 for _, g, _ in inn if g))
lookups = sum(cnt.get(k, 0) for k in ("py_records_with_context", "py_records_no_context", "py_records_no_task",
                                        "py_read_failures", "py_thread_state_not_found"))
need(lookups == len(out), "%d context lookups for %d records written: reads must not be looked up" % (lookups, len(out)))
if mode == "asyncio":
    need(all(g for _, g, _ in out), "%d of %d written records name no task" % (sum(1 for _, g, _ in out if not g), len(out)))
    call, head, body, last_head = {}, {}, {}, {}
    for role, g, data in out:
        m = re.match(r"GET /b/(\d+) ", data)
        if role == "client" and m:
            call[m.group(1)] = g
        elif role == "server" and data.startswith("HTTP/1.1 "):
            last_head[g] = True
            head.setdefault(g, 0)
            head[g] += 1
        elif role == "server":
            m = re.match(r"ok /b/(\d+)", data)
            if m:
                body[m.group(1)] = g
    same = sum(1 for n, g in body.items() if call.get(n) == g)
    need(len(body) >= 190, "only %d answer bodies seen" % len(body))
    need(same == len(body), "%d of %d requests: the call and the answer name different tasks" % (len(body) - same, len(body)))
    need(len(set(call.values())) >= 8, "calls name only %d distinct tasks with 16 in flight" % len(set(call.values())))
    need(cnt.get("py_records_with_context", 0) == len(out), "py_records_with_context %s != %d" % (cnt.get("py_records_with_context"), len(out)))
else:
    named = sum(1 for _, g, _ in out if g)
    need(named == 0, "uvloop: %d of %d written records name a task (its write flush's Context)" % (named, len(out)))
    need(cnt.get("py_records_no_task", 0) > 0, "uvloop: py_records_no_task is 0: the flush Context was not seen and refused")
for b in bad:
    print("FAIL: %s: %s" % (mode, b))
print("%s: %d written, %d read, counters %s" % (mode, len(out), len(inn), stats.strip()))
sys.exit(1 if bad else 0)
PY

# run MODE [SERVICE ARGS...]
run() {
	local mode=$1 dir=$WS_TMP/$1 bport sport spid dpid
	shift
	mkdir -p "$dir"
	ws_spawn "backend-$mode" "$WS_PY" -u "$ARCH_DIR/backend.py" --port-file "$dir/backend.port"
	ws_wait_file "$dir/backend.port" 15 "$WS_LAST_PID" || ws_fail "backend did not start"
	bport=$(cat "$dir/backend.port")
	ws_spawn "svc-$mode" "$WS_PY" -u "$ARCH_DIR/svc_aiohttp.py" "$@" --port-file "$dir/svc.port" \
		--backend "127.0.0.1:$bport"
	spid=$WS_LAST_PID
	ws_wait_file "$dir/svc.port" 15 "$spid" || ws_fail "$mode: service did not start"
	sport=$(cat "$dir/svc.port")
	ws_spawn "dump-$mode" "$DUMP" -Y -p "$spid" -x 40
	dpid=$WS_LAST_PID
	for _ in $(seq 100); do grep -q READY "$WS_TMP/dump-$mode.err" 2>/dev/null && break; sleep 0.1; done
	grep -q READY "$WS_TMP/dump-$mode.err" || ws_fail "$mode: bpf_dump did not attach"
	timeout -k 5 60 "$WS_PY" -u "$ARCH_DIR/load.py" --port "$sport" --inflight 16 --count 200 \
		--manifest "$dir/manifest.json" >"$WS_TMP/load-$mode.out" 2>&1 ||
		ws_fail "$mode: the load failed: $(tail -n 3 "$WS_TMP/load-$mode.out" | tr '\n' ' ')"
	sleep 0.5
	ws_stop_pid "$dpid" INT 10
	ws_stop_pid "$spid" TERM 5
	"$WS_PY" "$WS_TMP/check.py" "$WS_TMP/dump-$mode.out" "$WS_TMP/dump-$mode.err" "$mode" >&2 ||
		ws_soft_fail "$mode: task evidence wrong (see above)"
}

run asyncio
run uvloop --uvloop
ws_finish
