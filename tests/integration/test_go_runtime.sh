#!/bin/bash
# Root-only check of the Go runtime evidence (bpf/hooks/go.h, agent/rt_go_attach.c)
# through build/bpf_dump -G: a Go net/http service (stdlib only, built here offline)
# whose /one handler calls a Python backend once and whose /fan handler calls it three
# times from three goroutines. Checked (check_go_runtime.py): the request read carries
# the serving goroutine's id, the roundTrip call names that goroutine (or, for /fan,
# three goroutines it spawned) and the upstream fd, the next request written on that fd
# is that call's, the response is written by the serving goroutine.
# Four builds of the service: DWARF (static), cgo (dynamically linked, ELF TLS block),
# -w (no DWARF: the offsets table), PIE (load bias from /proc/PID/maps). The first is
# running before the harness starts (found by the /proc scan), the others start after
# (found by ws_go_discover).
# Then: the services still answer correctly under the probes with goroutine stacks
# growing (uretprobe on newproc1), after detach, and no uprobe is left behind.
# Exit 0 pass, 1 fail, 77 skip. WS_KEEP=1 keeps the temp dir.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
DUMP=$root/build/bpf_dump
name=test_go_runtime

log() { printf '[%s] %s\n' "$name" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || { log "SKIP: needs root"; exit 77; }
[ -x "$PY" ] || { log "SKIP: $PY missing"; exit 77; }
command -v go >/dev/null 2>&1 || { log "SKIP: go missing (Debian golang-go)"; exit 77; }
[ "$(uname -m)" = x86_64 ] || { log "SKIP: the Go probes are amd64 only"; exit 77; }
make --no-print-directory -s -C "$root" build/bpf_dump >&2 || fail "cannot build build/bpf_dump"

tmp=$(mktemp -d /tmp/ws-go-rt.XXXXXX) || fail "mktemp"
started=()
cleanup() {
	local rc=$? p
	trap - EXIT
	for p in "${started[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		for f in "$tmp"/*.err; do [ -s "$f" ] && { log "--- $f"; tail -n 15 "$f" >&2; }; done
	fi
	if [ "${WS_KEEP:-0}" = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

wait_file() { # file seconds
	local i
	for ((i = 0; i < $2 * 10; i++)); do [ -s "$1" ] && return 0; sleep 0.1; done
	return 1
}

# ---- build the service three ways (offline: standard library only) ----------------
mkdir -p "$root/build/gocache" "$tmp/gopath" "$tmp/src"
cp "$root/tests/integration/services/go_http.go" "$tmp/src/main.go"
gobuild() { # out cgo ldflags [buildmode]
	(cd "$tmp/src" && env GOCACHE="$root/build/gocache" GOPATH="$tmp/gopath" GO111MODULE=off \
		GOFLAGS= GOPROXY=off CGO_ENABLED="$2" go build -buildmode="${4:-default}" -ldflags="$3" \
		-o "$tmp/$1" main.go) \
		>"$tmp/build-$1.err" 2>&1 || fail "go build $1 failed (see $tmp/build-$1.err)"
}
gobuild gosrv_dw 0 ""
gobuild gosrv_cgo 1 ""
gobuild gosrv_nodw 0 "-w"
gobuild gosrv_pie 0 "" pie
log "built with $(go version | awk '{print $3}')"

# ---- peers -----------------------------------------------------------------------------
"$PY" "$root/tests/integration/services/go_backend.py" "$tmp/backend.port" 2>"$tmp/backend.err" &
started+=($!)
wait_file "$tmp/backend.port" 10 || fail "backend did not start"
bport=$(cat "$tmp/backend.port")
burl="http://127.0.0.1:$bport/b"

declare -A spid sport
start_svc() { # name
	"$tmp/$1" "$tmp/$1.port" "$burl" >"$tmp/$1.out" 2>"$tmp/$1.err" &
	spid[$1]=$!
	started+=($!)
	wait_file "$tmp/$1.port" 10 || fail "$1 did not start"
	sport[$1]=$(cat "$tmp/$1.port")
}
req() { # name path expected
	local out
	out=$(curl -s --max-time 10 "http://127.0.0.1:${sport[$1]}$2") || { log "FAIL: $1 $2: curl failed"; return 1; }
	[ "$out" = "$3" ] || { log "FAIL: $1 $2: got '$out', want '$3'"; return 1; }
}

# Started before the harness: found by the /proc scan at start.
start_svc gosrv_dw

"$DUMP" -G -c gosrv_dw -c gosrv_cgo -c gosrv_nodw -c gosrv_pie -c python3 -s 512 -x 200 >"$tmp/dump.out" 2>"$tmp/dump.err" &
dpid=$!
started+=($dpid)
for ((i = 0; i < 300; i++)); do grep -q '^READY' "$tmp/dump.err" && break; sleep 0.1; done
grep -q '^READY' "$tmp/dump.err" || fail "bpf_dump did not start"

# Started after: found by ws_go_discover on their first record (the /local warm-up).
start_svc gosrv_cgo
start_svc gosrv_nodw
start_svc gosrv_pie
for s in gosrv_cgo gosrv_nodw gosrv_pie; do req $s /local local || fail "$s warm-up"; done
sleep 1

# The probes are in place: one uprobe set per executable.
bpftool perf list >"$tmp/perf_attached.txt" 2>&1 || true
n_up=$(grep -cE "^pid $dpid .*u(ret)?probe " "$tmp/perf_attached.txt")
[ "$n_up" -ge 12 ] || fail "expected 12 uprobes (3 per executable), bpftool perf list shows $n_up"

errors=0
for s in gosrv_dw gosrv_cgo gosrv_nodw gosrv_pie; do
	req $s "/one?t=${s}_one1" "one:hello" || errors=$((errors + 1))
	# the second call reuses the kept-alive upstream connection: same fd, new call
	req $s "/one?t=${s}_one2" "one:hello" || errors=$((errors + 1))
	req $s "/fan?t=${s}_fan1" "fan:hello,hello,hello" || errors=$((errors + 1))
done
[ "$errors" = 0 ] || fail "$errors requests answered wrongly under the probes"

# Bounded load under the probes: goroutines are created (uretprobe on newproc1) while
# others grow their stacks; every answer must stay right.
for ((i = 0; i < 100; i++)); do
	req gosrv_dw "/fan?t=load$i" "fan:hello,hello,hello" || { errors=$((errors + 1)); break; }
done
[ "$errors" = 0 ] || fail "answers changed under load with the probes attached"

# A registered Go pid that execs another program keeps its pid but not its executable:
# its syscalls must carry no goroutine id (the Go offsets do not apply to python).
cat >"$tmp/after_exec.py" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /b?t=afterexec HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
while s.recv(4096):
    pass
PYEOF
curl -s --max-time 5 -o /dev/null \
	"http://127.0.0.1:${sport[gosrv_nodw]}/exec?a=$PY&a=$tmp/after_exec.py&a=$bport" || true
# the exec'd python makes its request and exits (a zombie until the cleanup reaps it)
for ((i = 0; i < 50; i++)); do
	st=$(awk '{print $3}' "/proc/${spid[gosrv_nodw]}/stat" 2>/dev/null) || break
	[ "$st" = Z ] && break
	sleep 0.1
done
sleep 0.3

kill -INT "$dpid"
for ((i = 0; i < 100; i++)); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
wait "$dpid"
rc=$?
[ "$rc" = 0 ] || fail "bpf_dump exited $rc"
grep '^GOSTATS' "$tmp/dump.err" >&2

checks=()
for s in gosrv_dw gosrv_cgo gosrv_nodw gosrv_pie; do
	checks+=("$s=${spid[$s]}:${s}_one1,${s}_one2,${s}_fan1")
done
"$PY" "$root/tests/integration/check_go_runtime.py" "$tmp/dump.out" "$bport" "${checks[@]}" >&2 ||
	fail "Go runtime evidence wrong (see FAIL lines)"

ex=$(grep -F 't=afterexec' "$tmp/dump.out" | grep -F "pid=${spid[gosrv_nodw]} " | grep ' dir=out ')
[ -n "$ex" ] || fail "no record of the exec'd program's request"
grep -q ' g=0 ' <<<"$ex" || fail "exec'd program's syscall carries a goroutine id: $ex"

gs=$(grep '^GOSTATS' "$tmp/dump.err")
for kv in procs_go=4 exes_attached=4 exes_skipped=0 attach_failed=0 go_goid_unreadable=0 \
	go_spawns_lost=0 go_ringbuf_drops=0; do
	grep -qw "$kv" <<<"$gs" || fail "GOSTATS: want $kv: $gs"
done
for k in go_stale_procs; do
	grep -qE "$k=[1-9]" <<<"$gs" || fail "GOSTATS: want $k > 0 (the exec'd pid): $gs"
done

# Detached: no uprobe left, and the services behave as before.
bpftool perf list >"$tmp/perf_after.txt" 2>&1 || true
svc_re=$(IFS='|'; echo "${spid[*]}")
grep -E "u(ret)?probe " "$tmp/perf_after.txt" | grep -qE "^pid $dpid |/proc/($svc_re)/exe|gosrv_" &&
	fail "uprobes left after exit: $(cat "$tmp/perf_after.txt")"
if [ -r /sys/kernel/tracing/uprobe_events ] && grep -q gosrv_ /sys/kernel/tracing/uprobe_events; then
	fail "uprobe_events still names the service"
fi
for s in gosrv_dw gosrv_cgo gosrv_pie; do
	kill -0 "${spid[$s]}" 2>/dev/null || fail "$s died"
	req $s "/fan?t=after" "fan:hello,hello,hello" || fail "$s answers wrongly after detach"
done
log PASS
exit 0
