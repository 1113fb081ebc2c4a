#!/bin/bash
# Run the integration tests (tests/integration/test_*.sh, in name order, or the ones named
# on the command line) with a time limit each, and print one line per test.
#   tests/integration/run.sh [test_x.sh ...]
# Tests exit 0 (pass), 77 (skip: not root, server missing) or anything else (fail).
# The trace checkers' self-tests (check_traces.py, check_arch.py, check_proto.py) run
# first and count as one more test each.
# WS_IT_TIMEOUT: seconds per test (default 420). With WS_RESULTS=FILE, appends
# "PASS|FAIL|SKIP integration NAME" lines there. Exit 1 if any test failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
limit=${WS_IT_TIMEOUT:-420}

if [ $# -gt 0 ]; then
	tests=()
	for t in "$@"; do tests+=("$here/$(basename "$t")"); done
else
	tests=("$here"/test_*.sh)
fi
[ -e "${tests[0]}" ] || { echo "run: no tests in $here"; exit 1; }
[ "$(id -u)" = 0 ] || echo "run: not root: every test will skip"

pass=0 fail=0 skip=0 lines=()

# The checker judges every test: first make sure it rejects broken traces (no root needed).
echo "==== check_traces self-test"
if timeout 120 /usr/bin/python3 "$here/check_traces.py" --self-test; then
	res=PASS pass=$((pass + 1))
else
	res=FAIL fail=$((fail + 1))
fi
lines+=("$(printf '%-4s %-22s' "$res" check_traces_selftest)")
[ -n "${WS_RESULTS:-}" ] && echo "$res integration check_traces_selftest" >>"$WS_RESULTS"
# The same for the architecture tests' parentage checker.
echo "==== check_arch self-test"
if timeout 120 /usr/bin/python3 "$here/check_arch.py" --self-test; then
	res=PASS pass=$((pass + 1))
else
	res=FAIL fail=$((fail + 1))
fi
lines+=("$(printf '%-4s %-22s' "$res" check_arch_selftest)")
[ -n "${WS_RESULTS:-}" ] && echo "$res integration check_arch_selftest" >>"$WS_RESULTS"
# And the protocol tests' checker (gRPC spans).
echo "==== check_proto self-test"
if timeout 120 /usr/bin/python3 "$here/check_proto.py" --self-test; then
	res=PASS pass=$((pass + 1))
else
	res=FAIL fail=$((fail + 1))
fi
lines+=("$(printf '%-4s %-22s' "$res" check_proto_selftest)")
[ -n "${WS_RESULTS:-}" ] && echo "$res integration check_proto_selftest" >>"$WS_RESULTS"
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	echo "==== $name"
	start=$SECONDS
	# timeout runs the test in its own process group and signals the whole group when
	# the limit is hit, so servers and the agent go too (the test's trap cleans up).
	timeout -k 20 "$limit" bash "$t"
	rc=$?
	took="$((SECONDS - start))s"
	case $rc in
	0) res=PASS; pass=$((pass + 1)) ;;
	77) res=SKIP; skip=$((skip + 1)) ;;
	124 | 137) res=FAIL; fail=$((fail + 1)); took="$took, timed out after ${limit}s" ;;
	*) res=FAIL; fail=$((fail + 1)) ;;
	esac
	lines+=("$(printf '%-4s %-22s (%s)' "$res" "$name" "$took")")
	[ -n "${WS_RESULTS:-}" ] && echo "$res integration $name" >>"$WS_RESULTS"
done
echo "==== integration summary"
printf '%s\n' "${lines[@]}"
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
