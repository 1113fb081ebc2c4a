# Helpers of the OTLP exporter tests (test_otlp_*.sh; sourced, not run).
#
# The tests need no root: they drive the sink through build/otlp_harness against
# tests/node/otlp_receiver.js on 127.0.0.1. Every process started here is stopped by
# its pid from the EXIT trap; the temp dir goes too (WS_KEEP=1 keeps it).

OTLP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OTLP_NODE=$OTLP_ROOT/tests/node
case ${BUILD:-build} in
/*) OTLP_HARNESS=$BUILD/otlp_harness ;;
*) OTLP_HARNESS=$OTLP_ROOT/${BUILD:-build}/otlp_harness ;;
esac
OTLP_TEST=$(basename "$0" .sh)
OTLP_TMP=$(mktemp -d "/tmp/$OTLP_TEST.XXXXXX")
OTLP_PIDS=()
OTLP_FAILS=0
RECV_PID= RECV_PORT= RECV_OUT=

otlp_log() { printf '[%s] %s\n' "$OTLP_TEST" "$*" >&2; }

otlp_cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${OTLP_PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ "${WS_KEEP:-0}" = 1 ]; then otlp_log "kept $OTLP_TMP"; else rm -rf "$OTLP_TMP"; fi
}
trap otlp_cleanup EXIT
trap 'exit 1' INT TERM

# Node, the pinned judge, and the harness; skip (77) only when node itself is missing.
otlp_prereqs() {
	command -v node >/dev/null || { otlp_log "SKIP: node is not installed (scripts/deps.sh installs it)"; exit 77; }
	if [ ! -f "$OTLP_NODE/node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js" ]; then
		otlp_log "installing the npm test peers (npm ci in tests/node)"
		(cd "$OTLP_NODE" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
			{ otlp_log "FAIL: npm ci in tests/node failed"; exit 1; }
	fi
	make -C "$OTLP_ROOT" -s "${BUILD:-build}/otlp_harness" >&2 || { otlp_log "FAIL: cannot build the harness"; exit 1; }
}

# A port nothing listens on (bound and released by the kernel's choice).
otlp_free_port() {
	node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'
}

# start_receiver NAME [receiver args...]: sets RECV_PID, RECV_PORT, RECV_OUT.
start_receiver() {
	local name=$1 i
	shift
	RECV_OUT=$OTLP_TMP/$name.jsonl
	rm -f "$OTLP_TMP/$name.port"
	node "$OTLP_NODE/otlp_receiver.js" --out "$RECV_OUT" --port-file "$OTLP_TMP/$name.port" "$@" \
		2>"$OTLP_TMP/$name.receiver.err" &
	RECV_PID=$!
	OTLP_PIDS+=("$RECV_PID")
	for ((i = 0; i < 100; i++)); do
		[ -s "$OTLP_TMP/$name.port" ] && break
		sleep 0.05
	done
	[ -s "$OTLP_TMP/$name.port" ] || { cat "$OTLP_TMP/$name.receiver.err" >&2; otlp_log "FAIL: receiver $name did not start"; exit 1; }
	RECV_PORT=$(cat "$OTLP_TMP/$name.port")
}

stop_receiver() {
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null && wait "$RECV_PID" 2>/dev/null
	RECV_PID=
}

# run_harness NAME [harness args...]: output in $OTLP_TMP/NAME.out (bounded to 60 s).
# OTLP_ENV (an array of NAME=value) is the environment the harness gets on top of ours.
OTLP_ENV=()
run_harness() {
	local name=$1
	shift
	timeout 60 env ${OTLP_ENV[@]+"${OTLP_ENV[@]}"} "$OTLP_HARNESS" "$@" >"$OTLP_TMP/$name.out" 2>"$OTLP_TMP/$name.err"
	local rc=$?
	[ "$rc" = 0 ] || { cat "$OTLP_TMP/$name.err" >&2; otlp_log "FAIL: harness $name exited $rc"; OTLP_FAILS=$((OTLP_FAILS + 1)); }
}

# check NAME [check_wire args...]: the receiver's view in $OTLP_TMP/NAME.check.
check() {
	local name=$1
	shift
	node "$OTLP_NODE/check_wire.js" --out "$RECV_OUT" "$@" >"$OTLP_TMP/$name.check" 2>"$OTLP_TMP/$name.check.err" || {
		cat "$OTLP_TMP/$name.check.err" >&2
		otlp_log "FAIL: $name: the receiver's view is wrong"
		OTLP_FAILS=$((OTLP_FAILS + 1))
	}
}

# val FILE KEY: the value of a "key value" line.
val() { awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$1"; }
h() { val "$OTLP_TMP/$1.out" "$2"; }     # harness value
r() { val "$OTLP_TMP/$1.check" "$2"; }   # receiver value

# expect NAME WHAT GOT OP WANT (OP: -eq -ge -le -gt -lt)
expect() {
	local name=$1 what=$2 got=$3 op=$4 want=$5
	if [ -z "$got" ] || ! [ "$got" "$op" "$want" ] 2>/dev/null; then
		otlp_log "FAIL: $name: $what = '${got}', want $op $want"
		OTLP_FAILS=$((OTLP_FAILS + 1))
		return 1
	fi
	return 0
}

# no_loss NAME N: harness and receiver agree that all N spans arrived exactly once.
no_loss() {
	local name=$1 n=$2
	expect "$name" otlp_spans_sent "$(h "$name" otlp_spans_sent)" -eq "$n"
	expect "$name" otlp_spans_failed "$(h "$name" otlp_spans_failed)" -eq 0
	expect "$name" otlp_spans_dropped_queue_full "$(h "$name" otlp_spans_dropped_queue_full)" -eq 0
	expect "$name" otlp_spans_dropped_shutdown "$(h "$name" otlp_spans_dropped_shutdown)" -eq 0
	expect "$name" "delivered (receiver)" "$(r "$name" delivered)" -eq "$n"
	expect "$name" "duplicates (receiver)" "$(r "$name" duplicates)" -eq 0
	expect "$name" "decode errors (receiver)" "$(r "$name" decode_errors)" -eq 0
	expect "$name" "counters consistent" "$(h "$name" consistent)" -eq 1
}

otlp_done() {
	if [ "$OTLP_FAILS" -gt 0 ]; then
		otlp_log "$OTLP_FAILS check(s) failed (WS_KEEP=1 keeps $OTLP_TMP)"
		exit 1
	fi
	otlp_log "PASS"
	exit 0
}
