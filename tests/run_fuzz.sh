#!/bin/bash
# Run libFuzzer binaries for a fixed time each.
#   tests/run_fuzz.sh SECONDS BIN...
# Each BIN (e.g. build/fuzz/fuzz_http1) starts from a copy of tests/fuzz/corpus/<name>/
# (or corpus/<name without fuzz_>/), so the tree is never modified, with
# tests/fuzz/<name>.dict when present. A run fails when the fuzzer exits non-zero or
# leaves a crash/leak/timeout/oom artifact; artifacts are kept in
# ${WS_FUZZ_ARTIFACTS:-build/fuzz-artifacts}/<name>/ with the command that replays them.
# With WS_RESULTS=FILE, appends "PASS|FAIL fuzz NAME" lines there. The fuzzers run
# WS_FUZZ_JOBS at a time (default: the number of CPUs), each for the full SECONDS; their
# reports are printed in the order given.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)

if [ $# -lt 1 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: tests/run_fuzz.sh SECONDS BIN..." >&2
	exit 2
fi
secs=$1
shift
if [ $# = 0 ]; then
	echo "run_fuzz: no fuzz binaries given (tests/fuzz/fuzz_*.c builds them)"
	exit 0
fi
keep=${WS_FUZZ_ARTIFACTS:-$root/build/fuzz-artifacts}
tmp=$(mktemp -d /tmp/wirespan-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
	local bin=$1 name work src seeds opts rc artifacts a res
	name=$(basename "$bin")
	work=$tmp/$name
	mkdir -p "$work/corpus" "$work/artifacts"
	src=
	for d in "$root/tests/fuzz/corpus/$name" "$root/tests/fuzz/corpus/${name#fuzz_}"; do
		[ -d "$d" ] && { src=$d; break; }
	done
	if [ -n "$src" ]; then
		cp -R "$src/." "$work/corpus/"
		seeds="$(find "$work/corpus" -type f | wc -l) seeds from ${src#"$root"/}"
	else
		seeds="no seed corpus (tests/fuzz/corpus/$name/ missing)"
	fi
	opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$work/artifacts/")
	[ -f "$root/tests/fuzz/$name.dict" ] && opts+=(-dict="$root/tests/fuzz/$name.dict")
	echo "==== $name: ${secs}s, $seeds"
	if [ ! -x "$bin" ]; then
		echo "run_fuzz: $bin is missing or not executable"
		rc=127
	else
		# The fuzzer stops itself after max_total_time; the outer timeout only catches a hang
		# outside its control.
		timeout -k 10 $((secs + 120)) "$bin" "${opts[@]}" "$work/corpus" >"$work/log" 2>&1
		rc=$?
	fi
	artifacts=$(find "$work/artifacts" -type f 2>/dev/null)
	if [ "$rc" = 0 ] && [ -z "$artifacts" ]; then
		grep -E '^(#[0-9]+.*DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/log" | sed 's/^/  /'
		echo "PASS $name"
		res=PASS
	else
		tail -n 60 "$work/log" 2>/dev/null | sed 's/^/  /'
		if [ -n "$artifacts" ]; then
			mkdir -p "$keep/$name"
			cp $artifacts "$keep/$name/"
			for a in $artifacts; do
				echo "  artifact kept: $keep/$name/$(basename "$a")  (replay: $bin $keep/$name/$(basename "$a"))"
			done
		fi
		echo "FAIL $name (exit $rc${artifacts:+, $(wc -l <<<"$artifacts") artifacts})"
		res=FAIL
	fi
	echo "$res" >"$tmp/$name.res"
}

jobs_max=${WS_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[[ $jobs_max =~ ^[1-9][0-9]*$ ]] || jobs_max=1
running=0
for bin in "$@"; do
	if [ "$running" -ge "$jobs_max" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$bin" >"$tmp/$(basename "$bin").out" 2>&1 &
	running=$((running + 1))
done
wait

pass=0 fail=0 failed=()
for bin in "$@"; do
	name=$(basename "$bin")
	cat "$tmp/$name.out"
	res=$(cat "$tmp/$name.res" 2>/dev/null || echo FAIL)
	if [ "$res" = PASS ]; then
		pass=$((pass + 1))
	else
		[ -f "$tmp/$name.res" ] || echo "FAIL $name (the runner did not finish)"
		fail=$((fail + 1)) failed+=("$name")
	fi
	[ -n "${WS_RESULTS:-}" ] && echo "$res fuzz $name" >>"$WS_RESULTS"
done
echo "fuzz: $pass binaries passed, $fail failed${failed[*]:+ (${failed[*]})}"
[ "$fail" = 0 ]
