#!/bin/bash
# Every test: unit (make unit, make unit-bpf), fuzz (make fuzz), then the agent build (make all) and
# integration (tests/integration/run.sh; its tests skip when not root).
#   tests/run_all.sh          FUZZ_SECONDS (default 20) per fuzzer; BUILD as for make
# Runs every stage even when an earlier one fails and ends with one line
#   N passed, M failed[, K skipped]
# counting test binaries and scripts (a stage that fails before running any test, e.g. a
# build error, counts as one failure). Exit 1 if anything failed.
set -u
cd "$(dirname "$0")/.." || exit 1
WS_RESULTS=$(mktemp /tmp/wirespan-results.XXXXXX) || exit 1
export WS_RESULTS
trap 'rm -f "$WS_RESULTS"' EXIT
make_cmd=${MAKE:-make}

stage() {
	local label=$1 before rc
	shift
	echo "######## $label: $*"
	before=$(wc -l <"$WS_RESULTS")
	"$@"
	rc=$?
	if [ "$rc" != 0 ] && ! tail -n +$((before + 1)) "$WS_RESULTS" | grep -q '^FAIL '; then
		# Failed without a failing test of its own: the build or the runner broke.
		echo "FAIL $label stage (exit $rc)" >>"$WS_RESULTS"
	fi
}

stage unit "$make_cmd" --no-print-directory unit
# BPF_PROG_TEST_RUN tests of the bpf/lib helpers: needs the BPF toolchain, skips unless root.
stage unit-bpf "$make_cmd" --no-print-directory unit-bpf
stage fuzz "$make_cmd" --no-print-directory fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
# The integration tests run the agent binary: build it first so they never judge a stale
# one. A failed build is one failure and the integration stage is not run.
echo "######## build: $make_cmd all"
if "$make_cmd" --no-print-directory all; then
	stage integration tests/integration/run.sh
else
	echo "FAIL build (make all), integration tests not run" >>"$WS_RESULTS"
fi

pass=$(grep -c '^PASS ' "$WS_RESULTS")
fail=$(grep -c '^FAIL ' "$WS_RESULTS")
skip=$(grep -c '^SKIP ' "$WS_RESULTS")
echo "######## summary"
grep -v '^PASS ' "$WS_RESULTS" | sed 's/^/  /'
line="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && line="$line, $skip skipped"
echo "$line"
[ "$fail" = 0 ]
