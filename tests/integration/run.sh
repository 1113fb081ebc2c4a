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

pass=0 fail=0 skip=0 lines=() reasons=()
log=$(mktemp /tmp/wirespan-it-log.XXXXXX) || exit 1

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
	# The output is kept so a failure's reasons (its "FAIL:" lines) can be repeated in
	# the summary: CI shows only the end of a run.
	timeout -k 20 "$limit" bash "$t" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	took="$((SECONDS - start))s"
	case $rc in
	0) res=PASS; pass=$((pass + 1)) ;;
	77) res=SKIP; skip=$((skip + 1)) ;;
	124 | 137) res=FAIL; fail=$((fail + 1)); took="$took, timed out after ${limit}s" ;;
	*) res=FAIL; fail=$((fail + 1)) ;;
	esac
	lines+=("$(printf '%-4s %-22s (%s)' "$res" "$name" "$took")")
	why=
	if [ "$res" = FAIL ]; then
		why=$(grep -o 'FAIL: .*' "$log" | head -n 4 | cut -c1-240)
		# The FAIL lines with the lines before the first ones (a checker's findings).
		reasons+=("$name:" "$(grep -B 4 'FAIL: ' "$log" | head -n 14 | cut -c1-240)")
		[ -n "$why" ] || reasons+=("  (no FAIL: line; the last lines follow)")
		[ -n "$why" ] || reasons+=("$(tail -n 5 "$log")")
	fi
	[ -n "${WS_RESULTS:-}" ] && echo "$res integration $name${why:+ ($(echo "$why" | head -n 1 | cut -c1-160))}" >>"$WS_RESULTS"
done
rm -f "$log"
echo "==== integration summary"
printf '%s\n' "${lines[@]}"
if [ ${#reasons[@]} -gt 0 ]; then
	echo "==== why the failed tests failed"
	printf '%s\n' "${reasons[@]}"
fi
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
