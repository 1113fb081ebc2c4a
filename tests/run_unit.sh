#!/bin/bash
# Run cmocka unit-test binaries (built with ASan/UBSan by `make unit`).
#   tests/run_unit.sh BIN...
# Prints each binary's output and one result line per binary; exits 1 if any failed.
# A binary that exits 77 is skipped (it printed why). A binary fails when it exits non-zero (cmocka: number of failed tests; sanitizers:
# an error report), when it is killed, or when it runs longer than WS_UNIT_TIMEOUT
# seconds (default 300). With WS_RESULTS=FILE, appends "PASS|FAIL unit NAME" lines there
# (tests/run_all.sh counts them).
set -u
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
timeout_s=${WS_UNIT_TIMEOUT:-300}

if [ $# = 0 ]; then
	echo "run_unit: no unit-test binaries given (tests/unit/test_*.c builds them)"
	exit 0
fi

pass=0 fail=0 skip=0 failed=()
for bin in "$@"; do
	name=$(basename "$bin")
	echo "==== $name"
	if [ ! -x "$bin" ]; then
		echo "run_unit: $bin is missing or not executable"
		rc=127
	else
		out=$(timeout -k 5 "$timeout_s" "$bin" 2>&1)
		rc=$?
		printf '%s\n' "$out"
	fi
	# cmocka's own totals (summed over groups), when it got as far as printing them.
	npass=$(awk '/^\[  PASSED  \] [0-9]+ test/ { n += $4; seen = 1 } END { if (seen) print n }' <<<"${out:-}")
	nfail=$(awk '/^\[  FAILED  \] [0-9]+ test/ { n += $4; seen = 1 } END { if (seen) print n }' <<<"${out:-}")
	if [ -n "$npass$nfail" ]; then
		detail="${npass:-0} tests passed, ${nfail:-0} failed"
	else
		detail="no cmocka summary"
	fi
	grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' <<<"${out:-}" && detail="$detail; sanitizer report above"
	case $rc in
	0) ;;
	124 | 137) detail="$detail; timed out after ${timeout_s}s" ;;
	127) detail="missing" ;;
	*) [ "$rc" -gt 128 ] && detail="$detail; killed by signal $((rc - 128))" ;;
	esac
	if [ "$rc" = 77 ]; then
		# The binary cannot run here (tests/unit-bpf: not root) and said why above.
		echo "SKIP $name"
		skip=$((skip + 1))
		res=SKIP
	elif [ "$rc" = 0 ] && [ -n "$npass" ]; then
		echo "PASS $name ($detail)"
		pass=$((pass + 1))
		res=PASS
	elif [ "$rc" = 0 ]; then
		# Exit 0 without cmocka's summary: something else ran, or it never got to its tests.
		echo "FAIL $name (exit 0 but no cmocka summary)"
		fail=$((fail + 1)) failed+=("$name")
		res=FAIL
	else
		echo "FAIL $name (exit $rc: $detail)"
		fail=$((fail + 1)) failed+=("$name")
		res=FAIL
	fi
	[ -n "${WS_RESULTS:-}" ] && echo "$res unit $name" >>"$WS_RESULTS"
	out=
done
echo "unit: $pass binaries passed, $fail failed${failed[*]:+ (${failed[*]})}$([ "$skip" -gt 0 ] && echo ", $skip skipped")"
[ "$fail" = 0 ]
