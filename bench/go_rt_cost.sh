#!/bin/bash
# Cost of the Go runtime probes (docs/kernel.md, "Go runtime"): CPU of a Go HTTP load
# loop (bench/go_rt_load.go) per request, with nothing attached, with the syscall
# tracepoints, with the Go uprobes on a process out of scope (the trap alone: a hard
# link of the same binary is registered so the uprobes are attached) and with full Go
# evidence. Root, loopback only, bounded: ROUNDS x 5 runs of SECONDS each.
#   bench/go_rt_cost.sh [SECONDS [CONCURRENCY [ROUNDS]]]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-6} conc=${2:-8} rounds=${3:-3}
D=$root/build/bpf_dump
[ "$(id -u)" = 0 ] || { echo "go_rt_cost: needs root" >&2; exit 1; }
make --no-print-directory -s -C "$root" build/bpf_dump || exit 1
tmp=$(mktemp -d /tmp/ws-go-cost.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" "$root/build/gocache"
cp "$root/bench/go_rt_load.go" "$tmp/src/main.go"
(cd "$tmp/src" && GOCACHE="$root/build/gocache" GOPATH="$tmp/gopath" GO111MODULE=off GOFLAGS= \
	CGO_ENABLED=0 go build -o "$tmp/gorload" main.go) || exit 1
ln "$tmp/gorload" "$tmp/gorload_reg"

run() { # mode
	local dp="" idle="" r
	case $1 in
	none) ;;
	tp) "$D" -q -c gorload >/dev/null 2>"$tmp/d.err" & dp=$! ;;
	go) "$D" -q -G -S -c gorload >/dev/null 2>"$tmp/d.err" & dp=$! ;;
	tpout) "$D" -q -c gorload_reg >/dev/null 2>"$tmp/d.err" & dp=$! ;;
	goout) "$tmp/gorload_reg" $((secs + 30)) 0 & idle=$!; sleep 0.3
	       "$D" -q -G -S -c gorload_reg >/dev/null 2>"$tmp/d.err" & dp=$! ;;
	esac
	if [ -n "$dp" ]; then
		for ((i = 0; i < 100; i++)); do grep -q READY "$tmp/d.err" 2>/dev/null && break; sleep 0.1; done
	fi
	# -G: the loop is found by ws_go_discover on its first records
	[ "$1" = go ] && { "$tmp/gorload" 1 1 >/dev/null; sleep 0.3; }
	r=$(/usr/bin/time -f "cpu=%U+%S" "$tmp/gorload" "$secs" "$conc" 2>&1 | tr '\n' ' ')
	echo "$1 $r" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		split(v["cpu"], c, "+"); printf "%-6s rps=%6d cpu_us_per_req=%.1f\n", $1, v["rps"],
		(c[1] + c[2]) * 1e6 / v["requests"] }'
	[ -n "$dp" ] && { kill -INT "$dp"; wait "$dp"; }
	[ -n "$idle" ] && { kill "$idle"; wait "$idle"; }
	case $1 in go | goout) grep -E "^PROG (ws_go|sys_exit_read |sys_exit_write )" "$tmp/d.err" ;; esac
}
for ((r = 0; r < rounds; r++)); do
	for m in none tp go tpout goout; do run $m; done
done
