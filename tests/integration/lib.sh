# Shared helpers of the integration tests (bash; sourced, not run).
#
# Every test: sources this file, calls ws_init, starts servers with ws_start_py /
# ws_start_nginx, the agent with ws_start_agent, load with ws_client, stops the agent with
# ws_stop_agent and checks with ws_check. The EXIT trap stops everything it started, by
# pid, and removes the temp dir (WS_KEEP=1 keeps it, WS_KEEP=failed only when the test
# failed). Exit status: 0 pass, 1 fail, 77 skip.
#
# Environment: WIRESPAN_BIN (default $BUILD/wirespan, BUILD defaulting to build),
# WS_AGENT_ARGS (extra agent options, e.g. -v), WS_KEEP=1|failed, WS_READY_TIMEOUT (s,
# default 30), WS_TOLERANCE_NS (how far a child may overhang its parent; default 0).

WS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# make passes BUILD (the build dir, default build) to its recipes' environment.
case ${BUILD:-build} in
/*) WS_BIN=${WIRESPAN_BIN:-$BUILD/wirespan} ;;
*) WS_BIN=${WIRESPAN_BIN:-$WS_ROOT/${BUILD:-build}/wirespan} ;;
esac
WS_PY=/usr/bin/python3      # Debian's python, not whatever a user's PATH prefers
WS_IT=$WS_ROOT/tests/integration
WS_SVC=$WS_IT/services
WS_TEST=$(basename "$0" .sh)
WS_READY_TIMEOUT=${WS_READY_TIMEOUT:-30}
WS_TMP=
WS_PIDS=()      # everything we started, in start order
WS_NAMES=()
WS_AGENT_PID=
WS_AGENT_RC=
WS_AGENT_N=0    # agents started so far (each gets its own log)
WS_AGENT_ERR=

ws_log() { printf '[%s] %s\n' "$WS_TEST" "$*" >&2; }
ws_skip() { ws_log "SKIP: $*"; exit 77; }
ws_fail() { ws_log "FAIL: $*"; exit 1; }
# A failure after which the test goes on, so one run shows every problem; ws_finish
# turns them into the exit status.
WS_SOFT_FAILS=0
ws_soft_fail() { ws_log "FAIL: $*"; WS_SOFT_FAILS=$((WS_SOFT_FAILS + 1)); return 1; }
ws_finish() {
	[ "$WS_SOFT_FAILS" = 0 ] || ws_fail "$WS_SOFT_FAILS checks failed (see FAIL lines above)"
	ws_log PASS
	exit 0
}

# Is pid $1 a live child of ours (not a zombie)?
ws_alive() {
	local st
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

# Forget a pid we have reaped: once reaped it may be reused by any other process, which
# the cleanup must never signal.
ws_reaped() {
	local i
	for ((i = 0; i < ${#WS_PIDS[@]}; i++)); do
		[ "${WS_PIDS[i]}" = "$1" ] && WS_PIDS[i]=
	done
	[ "$WS_AGENT_PID" != "$1" ] || WS_AGENT_PID=
	return 0
}

# Send signal $2 to pid $1 and wait up to $3 seconds for it to exit; SIGKILL after that.
# Returns 0 when it exited in time.
ws_stop_pid() {
	local pid=$1 sig=$2 secs=$3 i
	[ -n "$pid" ] || return 0
	ws_alive "$pid" || { wait "$pid" 2>/dev/null; ws_reaped "$pid"; return 0; }
	kill -s "$sig" "$pid" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		ws_alive "$pid" || { wait "$pid" 2>/dev/null; ws_reaped "$pid"; return 0; }
		sleep 0.1
	done
	kill -s KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	ws_reaped "$pid"
	return 1
}

ws_cleanup() {
	local rc=$? i f
	trap - EXIT INT TERM HUP
	if [ -n "$WS_AGENT_PID" ] && ws_alive "$WS_AGENT_PID"; then
		ws_stop_pid "$WS_AGENT_PID" INT 15 || ws_log "agent $WS_AGENT_PID ignored SIGINT, killed"
	fi
	for ((i = ${#WS_PIDS[@]} - 1; i >= 0; i--)); do
		ws_stop_pid "${WS_PIDS[i]}" TERM 5 || ws_log "${WS_NAMES[i]} (${WS_PIDS[i]}) ignored SIGTERM, killed"
	done
	if [ -n "$WS_TMP" ] && [ -d "$WS_TMP" ]; then
		if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
			for f in "$WS_TMP"/*.err "$WS_TMP"/nginx/logs/error.log; do
				[ -s "$f" ] || continue
				ws_log "---- last lines of ${f#"$WS_TMP"/}"
				tail -n 25 "$f" | sed 's/^/    /' >&2
			done
		fi
		if [ "${WS_KEEP:-0}" = 1 ] || { [ "${WS_KEEP:-0}" = failed ] && [ "$rc" != 0 ] && [ "$rc" != 77 ]; }; then
			ws_log "kept $WS_TMP"
		else
			rm -rf "$WS_TMP"
		fi
	fi
	exit "$rc"
}

# Preconditions and the temp dir. Skips (77) when not root or a server is missing;
# fails when the agent binary is missing (a build problem, not an environment one).
ws_init() {
	[ "$(id -u)" = 0 ] || ws_skip "needs root (BPF)"
	[ -x "$WS_PY" ] || ws_skip "$WS_PY missing (scripts/deps.sh installs python3)"
	command -v ss >/dev/null || ws_skip "ss missing (iproute2)"
	[ -x "$WS_BIN" ] || ws_fail "$WS_BIN missing: run make"
	WS_TMP=$(mktemp -d "/tmp/wirespan-$WS_TEST.XXXXXX") || ws_fail "mktemp failed"
	# nginx workers run as nobody and must reach their static file inside.
	chmod 755 "$WS_TMP"
	trap ws_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

ws_need_nginx() {
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || ws_skip "nginx missing (scripts/deps.sh installs nginx-light)"
}

# Start "$@" in the background as NAME, stdout/stderr to $WS_TMP/NAME.out/.err.
# Sets WS_LAST_PID.
ws_spawn() {
	local name=$1
	shift
	"$@" >"$WS_TMP/$name.out" 2>"$WS_TMP/$name.err" </dev/null &
	WS_LAST_PID=$!
	WS_PIDS+=("$WS_LAST_PID")
	WS_NAMES+=("$name")
}

# Wait up to $2 seconds for file $1 to exist and be non-empty; fail if pid $3 dies first.
ws_wait_file() {
	local f=$1 secs=$2 pid=${3:-} i
	for ((i = 0; i < secs * 20; i++)); do
		[ -s "$f" ] && return 0
		if [ -n "$pid" ] && ! ws_alive "$pid"; then
			return 1
		fi
		sleep 0.05
	done
	return 1
}

ws_port_listening() {
	[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# A free TCP port on address $1 (the kernel's choice; nginx needs a number up front).
ws_free_port() {
	"$WS_PY" -c 'import socket,sys
h=sys.argv[1]
s=socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET)
s.bind((h,0)); print(s.getsockname()[1])' "$1"
}

# ws_start_py NAME ADDR [DOWNSTREAM_HOST:PORT] [EXE]
# A services/chain_server.py tier with OTEL_SERVICE_NAME=NAME, listening on ADDR at a
# port the kernel picks. EXE runs python under another executable name (a symlink), for
# executable-name scoping. Sets WS_LAST_PID and WS_LAST_PORT.
ws_start_py() {
	local name=$1 addr=$2 down=${3:-} exe=${4:-$WS_PY}
	local args=(--listen "$addr" --port-file "$WS_TMP/$name.port" --log "$WS_TMP/$name.access" --name "$name")
	[ -n "$down" ] && args+=(--downstream "$down")
	ws_spawn "$name" env OTEL_SERVICE_NAME="$name" "$exe" -u "$WS_SVC/chain_server.py" "${args[@]}"
	ws_wait_file "$WS_TMP/$name.port" 15 "$WS_LAST_PID" || ws_fail "$name did not start listening on $addr"
	WS_LAST_PORT=$(cat "$WS_TMP/$name.port")
	ws_log "$name: pid $WS_LAST_PID listening on $addr port $WS_LAST_PORT${down:+, calls $down}"
}

# ws_start_nginx ADDR [CONF]
# nginx from services/nginx.conf.in (or services/CONF) with its own prefix, one worker,
# foreground. Sets WS_NGINX_PID (master), WS_NGINX_WORKER, WS_LAST_PORT.
ws_start_nginx() {
	local addr=$1 conf=${2:-nginx.conf.in} pfx=$WS_TMP/nginx listen port try i
	local nginx_bin
	nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
	mkdir -p "$pfx/logs" "$pfx/tmp" "$pfx/html"
	echo "static file served by nginx for wirespan's integration tests" >"$pfx/html/static.txt"
	chmod -R a+rX "$pfx"
	for try in 1 2 3; do
		port=$(ws_free_port "$addr") || ws_fail "no free port on $addr"
		case $addr in *:*) listen="[$addr]:$port" ;; *) listen="$addr:$port" ;; esac
		sed -e "s|@PREFIX@|$pfx|g" -e "s|@LISTEN@|$listen|g" -e "s|@ROOT@|$pfx/html|g" \
			"$WS_SVC/$conf" >"$pfx/nginx.conf"
		rm -f "$pfx/nginx.pid"
		ws_spawn nginx "$nginx_bin" -p "$pfx/" -c "$pfx/nginx.conf" -e "$pfx/logs/error.log"
		WS_NGINX_PID=$WS_LAST_PID
		WS_NGINX_WORKER=
		for ((i = 0; i < 200; i++)); do
			ws_alive "$WS_NGINX_PID" || break
			WS_NGINX_WORKER=$(awk '{print $1}' "/proc/$WS_NGINX_PID/task/$WS_NGINX_PID/children" 2>/dev/null)
			if [ -n "$WS_NGINX_WORKER" ] && ws_port_listening "$port"; then
				WS_LAST_PORT=$port
				ws_log "nginx: master $WS_NGINX_PID worker $WS_NGINX_WORKER listening on $listen"
				return 0
			fi
			sleep 0.05
		done
		# Most likely the port was taken between picking and binding: try another.
		ws_stop_pid "$WS_NGINX_PID" TERM 5
		ws_log "nginx did not come up on $listen (attempt $try): $(tail -n 2 "$pfx/logs/error.log" "$WS_TMP/nginx.err" 2>/dev/null | tr '\n' ' ')"
	done
	ws_fail "nginx did not start"
}

# ws_start_agent ARGS...: build/wirespan with ARGS plus -o file:$WS_TMP/<spans> (set
# WS_SPANS first, default spans.jsonl) and --duration as a safety net; waits for
# "wirespan: ready" on its stderr.
ws_start_agent() {
	WS_AGENT_N=$((WS_AGENT_N + 1))
	local name=agent$WS_AGENT_N i
	WS_SPANS=${WS_SPANS:-$WS_TMP/spans.jsonl}
	# shellcheck disable=SC2086 # WS_AGENT_ARGS is a list of words on purpose
	ws_spawn "$name" "$WS_BIN" -o "file:$WS_SPANS" --duration 600 ${WS_AGENT_ARGS:-} "$@"
	WS_AGENT_PID=$WS_LAST_PID
	WS_AGENT_ERR=$WS_TMP/$name.err
	for ((i = 0; i < WS_READY_TIMEOUT * 20; i++)); do
		if grep -q '^wirespan: ready' "$WS_AGENT_ERR" 2>/dev/null; then
			ws_log "agent: pid $WS_AGENT_PID ready ($*)"
			return 0
		fi
		if ! ws_alive "$WS_AGENT_PID"; then
			local rc pid=$WS_AGENT_PID
			wait "$pid"
			rc=$?
			ws_reaped "$pid"
			ws_fail "agent exited with status $rc before it was ready: $(tail -n 5 "$WS_AGENT_ERR" | tr '\n' ' ')"
		fi
		sleep 0.05
	done
	ws_fail "agent not ready after ${WS_READY_TIMEOUT}s"
}

# ws_sig_ignored PID SIGNUM: is the signal ignored by the process (SigIgn in status)?
ws_sig_ignored() {
	local mask
	mask=$(awk '/^SigIgn:/{print $2}' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$mask" ] && (((16#$mask >> ($2 - 1)) & 1))
}

# SIGINT the agent; it must exit 0 within 20 s. Sets WS_AGENT_RC.
ws_stop_agent() {
	local pid=$WS_AGENT_PID i
	[ -n "$pid" ] || ws_fail "no agent to stop"
	ws_alive "$pid" || ws_fail "agent $pid died while the test ran: $(tail -n 5 "$WS_AGENT_ERR" | tr '\n' ' ')"
	kill -INT "$pid"
	for ((i = 0; i < 200; i++)); do
		ws_alive "$pid" || break
		sleep 0.1
	done
	if ws_alive "$pid"; then
		local why=""
		# A command started with & by a non-interactive shell inherits SIGINT as ignored;
		# only an explicit handler (sigaction) undoes that, a signalfd alone never sees it.
		if ws_sig_ignored "$pid" 2; then
			why=" (SIGINT is ignored in the agent: it was inherited as SIG_IGN and no handler was installed)"
		fi
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		ws_reaped "$pid"
		ws_fail "agent did not exit within 20 s of SIGINT$why"
	fi
	wait "$pid"
	WS_AGENT_RC=$?
	ws_reaped "$pid"
	[ "$WS_AGENT_RC" = 0 ] || ws_fail "agent exited with status $WS_AGENT_RC after SIGINT"
	ws_log "agent: exited 0 after SIGINT"
}

# How many counter blocks the agent has printed so far.
ws_counter_blocks() {
	grep -c '^wirespan counters:' "$WS_AGENT_ERR" 2>/dev/null || true
}

# ws_counter NAME [FILE]: the value of a counter in the last block printed; empty if absent.
ws_counter() {
	awk -v want="$1" '
		/^wirespan counters:/ { inb = 1; v = ""; next }
		inb && /^ *[A-Za-z0-9_.]+ -?[0-9]+$/ { if ($1 == want) v = $2; next }
		{ inb = 0 }
		END { if (v != "") print v }' "${2:-$WS_AGENT_ERR}"
}

# The counters every run must show: the block is there and nothing was lost.
# Problems are soft failures (see ws_soft_fail); returns 1 if there was one.
ws_check_counters() {
	local n v c rc=0
	n=$(ws_counter_blocks)
	[ "$n" -ge 1 ] || { ws_soft_fail "no 'wirespan counters:' block on the agent's stderr"; return 1; }
	# The events counter has had two names; either will do.
	for n in "events_seen events" spans_produced; do
		v=
		for c in $n; do
			v=$(ws_counter "$c")
			[ -n "$v" ] && break
		done
		if [ -z "$v" ]; then
			ws_soft_fail "counter ${n// / or } missing from the counters block" || rc=1
		elif [ "$v" -le 0 ]; then
			ws_soft_fail "counter $c is $v after traffic" || rc=1
		fi
	done
	for n in ringbuf_drops parse_errors; do
		v=$(ws_counter "$n")
		[ -z "$v" ] || [ "$v" = 0 ] || ws_soft_fail "counter $n is $v (expected 0 for this small, valid workload)" || rc=1
	done
	ws_log "counters: $(awk '/^wirespan counters:/{b=""; inb=1; next} inb && /^ *[A-Za-z0-9_.]+ -?[0-9]+$/{if ($2 != 0) b=b" "$1"="$2; next} {inb=0} END{print b}' "$WS_AGENT_ERR") (zeros left out)"
	return $rc
}

# ws_client NAME MANIFEST ARGS...: services/client.py in the foreground, bounded in time,
# as service NAME. Fails the test when the services answered wrongly.
ws_client() {
	local name=$1 manifest=$2 rc
	shift 2
	timeout -k 5 180 env OTEL_SERVICE_NAME="$name" "$WS_PY" -u "$WS_SVC/client.py" --manifest "$manifest" "$@" \
		>"$WS_TMP/$name.out" 2>"$WS_TMP/$name.err"
	rc=$?
	cat "$WS_TMP/$name.out" >&2
	[ "$rc" = 0 ] || ws_fail "client $name failed (status $rc): $(tail -n 5 "$WS_TMP/$name.err" | tr '\n' ' ')"
}

# ws_client_bg NAME MANIFEST ARGS...: the same in the background (ws_wait_client to reap).
ws_client_bg() {
	local name=$1 manifest=$2
	shift 2
	ws_spawn "$name" timeout -k 5 180 env OTEL_SERVICE_NAME="$name" "$WS_PY" -u "$WS_SVC/client.py" --manifest "$manifest" "$@"
}

ws_wait_client() {
	local name=$1 pid=$2 rc
	wait "$pid"
	rc=$?
	ws_reaped "$pid"
	cat "$WS_TMP/$name.out" >&2
	[ "$rc" = 0 ] || ws_fail "client $name failed (status $rc): $(tail -n 5 "$WS_TMP/$name.err" | tr '\n' ' ')"
}

# Stop a service by name (SIGTERM) so that it prints its downstream statistics.
ws_stop_service() {
	local name=$1 i
	for ((i = 0; i < ${#WS_PIDS[@]}; i++)); do
		[ "${WS_NAMES[i]}" = "$name" ] && ws_stop_pid "${WS_PIDS[i]}" TERM 5
	done
}

# ws_stat NAME KEY: a downstream statistic (pooled_reused, oneshot, ...) printed on exit.
ws_stat() {
	sed -n 's/^downstream stats //p' "$WS_TMP/$1.err" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# ws_check ARGS...: run the trace checker on the agent's span file; a mismatch is a
# soft failure.
ws_check() {
	timeout -k 5 120 "$WS_PY" "$WS_IT/check_traces.py" --spans "$WS_SPANS" \
		--tolerance-ns "${WS_TOLERANCE_NS:-0}" "$@" ||
		ws_soft_fail "traces in ${WS_SPANS##*/} do not match the requests"
}

# ws_bpf_ids: every loaded BPF program and link as lines "prog ID TYPE" / "link ID TYPE".
ws_bpf_ids() {
	local bpftool
	bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
	{ "$bpftool" -j prog show && echo && "$bpftool" -j link show; } 2>/dev/null | "$WS_PY" -c '
import json, sys
docs = [d for d in sys.stdin.read().split("\n") if d.strip()]
if len(docs) != 2:
    sys.exit("bpftool did not list programs and links")
for what, doc in zip(("prog", "link"), docs):
    for o in json.loads(doc):
        print(what, o["id"], o.get("type", "?"))'
}

# ws_fd_bpf_ids PID...: the BPF programs and links the processes hold open, from fdinfo,
# as lines "prog ID" / "link ID" (a link fd also names its program).
ws_fd_bpf_ids() {
	local pid f
	for pid in "$@"; do
		for f in /proc/"$pid"/fdinfo/*; do
			awk '/^prog_id:/{print "prog", $2} /^link_id:/{print "link", $2}' "$f" 2>/dev/null
		done
	done | sort -u
}
