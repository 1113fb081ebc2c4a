#!/bin/bash
# Run the architecture tests (tests/integration/test_arch_*.sh, or the names given) one
# after another and print the combined table:
#   arch inflight requests correct% incomplete misattributed
# with the agent's parent_* counters under each row and "FAIL" after a failing row.
#   tests/integration/arch_table.sh [threaded go ...]     (root; build/wirespan built)
# Each test's own output goes to $WS_ARCH_LOGS (default /tmp/wirespan-arch-logs.<pid>/);
# WS_IT_TIMEOUT bounds each test (default 300 s). Exit 1 if any test failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
limit=${WS_IT_TIMEOUT:-300}
logs=${WS_ARCH_LOGS:-/tmp/wirespan-arch-logs.$$}
mkdir -p "$logs"
WS_ARCH_ROWS=$(mktemp /tmp/wirespan-arch-rows.XXXXXX) || exit 1
export WS_ARCH_ROWS
trap 'rm -f "$WS_ARCH_ROWS"' EXIT

if [ $# -gt 0 ]; then
	tests=()
	for t in "$@"; do t=${t#test_arch_}; tests+=("$here/test_arch_${t%.sh}.sh"); done
else
	tests=("$here"/test_arch_*.sh)
fi

/usr/bin/python3 "$here/check_arch.py" --self-test | tail -n 1 || { echo "arch_table: the checker's self-test failed"; exit 1; }
fail=0 start_all=$SECONDS results=()
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$SECONDS
	timeout -k 20 "$limit" bash "$t" >"$logs/$name.log" 2>&1
	rc=$?
	case $rc in
	0) res=PASS ;;
	77) res=SKIP ;;
	*) res=FAIL; fail=$((fail + 1)) ;;
	esac
	results+=("$(printf '%-4s %-24s %4ss  %s' "$res" "$name" "$((SECONDS - start))" "$logs/$name.log")")
	echo "${results[-1]}"
done
echo
printf '%-12s %8s %8s %8s %10s %13s\n' arch inflight requests 'correct%' incomplete misattributed
cat "$WS_ARCH_ROWS"
echo
echo "$((${#tests[@]} - fail)) of ${#tests[@]} architecture tests did not fail ($((SECONDS - start_all))s); logs in $logs"
[ "$fail" = 0 ]
