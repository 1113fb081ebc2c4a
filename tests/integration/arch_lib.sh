# shellcheck shell=bash
# Shared driver of the architecture tests (test_arch_*.sh; bash, sourced, not run).
#
#   load.py (CLIENT) -> service under test (SERVER, then CLIENT) -> backend.py (SERVER)
#
# A test sets its minimum correct percentages (MIN_CORRECT_16, MIN_CORRECT_64), defines
# arch_service (starts the service: arguments RUN_DIR BACKEND_PORT; sets ARCH_SVC_PORT
# and ARCH_SVC_PID via arch_spawn_service) and calls arch_run NAME [--fanout].
#
# For each number of requests in flight (WS_ARCH_INFLIGHT, "16 64") arch_run starts a
# fresh backend and service, checks that the service answers /r/0 right (before the
# agent, so a broken service is never blamed on the agent), starts the agent scoped to
# the two ports, runs the load (WS_ARCH_COUNT requests, 200), stops the agent with
# SIGINT, stops the servers and judges every request with check_arch.py. The test fails
# on any misattributed span, a failed workload, or correct% below the minimum.
# WS_ARCH_ROWS=FILE collects the table rows (arch_table.sh sets it).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARCH_DIR=$WS_SVC/arch
ARCH_INFLIGHT=${WS_ARCH_INFLIGHT:-16 64}
ARCH_COUNT=${WS_ARCH_COUNT:-200}
# Compiled services (Go, Java) are cached here, keyed by source and toolchain hash.
case ${BUILD:-build} in
/*) ARCH_CACHE=$BUILD/arch-cache ;;
*) ARCH_CACHE=$WS_ROOT/${BUILD:-build}/arch-cache ;;
esac

# arch_need COMMAND PACKAGE: a runtime the test needs. When it is missing,
# scripts/deps.sh installs what is missing (without starting services); the test skips
# only when the package still cannot be installed.
arch_need() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null && return 0
	ws_log "$cmd missing: running scripts/deps.sh to install $pkg"
	timeout 600 "$WS_ROOT/scripts/deps.sh" >"$WS_TMP/deps.log" 2>&1
	command -v "$cmd" >/dev/null || ws_skip "$cmd missing and $pkg cannot be installed: $(tail -n 2 "$WS_TMP/deps.log" | tr '\n' ' ')"
}

# arch_need_py MODULE PKG: the test's python must import MODULE (Debian package PKG).
arch_need_py() {
	local mod=$1 pkg=$2
	"$WS_PY" -c "import $mod" 2>/dev/null && return 0
	ws_log "python module $mod missing: running scripts/deps.sh to install $pkg"
	timeout 600 "$WS_ROOT/scripts/deps.sh" >"$WS_TMP/deps.log" 2>&1
	"$WS_PY" -c "import $mod" 2>/dev/null ||
		ws_skip "python module $mod missing and $pkg cannot be installed: $(tail -n 2 "$WS_TMP/deps.log" | tr '\n' ' ')"
}

# arch_spawn_service NAME PORT_FILE TIMEOUT COMMAND...: start a service that writes its
# port to PORT_FILE; sets ARCH_SVC_PID (may be changed by the caller, e.g. to nginx's
# worker) and ARCH_SVC_PORT.
arch_spawn_service() {
	local name=$1 pfile=$2 secs=$3
	shift 3
	ws_spawn "$name" env OTEL_SERVICE_NAME="$name" "$@"
	ARCH_SVC_PID=$WS_LAST_PID
	ARCH_RUN_PIDS+=("$WS_LAST_PID")
	ws_wait_file "$pfile" "$secs" "$WS_LAST_PID" || ws_fail "$name did not start: $(tail -n 5 "$WS_TMP/$name.err" | tr '\n' ' ')"
	ARCH_SVC_PORT=$(cat "$pfile")
}

# arch_start_nginx_proxy RUN_DIR BACKEND_PORT: nginx from services/arch/nginx_proxy.conf.in
# (nginx needs its port up front: probe one, retry on a lost race).
arch_start_nginx_proxy() {
	local dir=$1 bport=$2 pfx=$1/nginx port try i worker
	local nginx_bin
	nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
	mkdir -p "$pfx/logs" "$pfx/tmp"
	for try in 1 2 3; do
		port=$(ws_free_port 127.0.0.1) || ws_fail "no free port"
		sed -e "s|@PREFIX@|$pfx|g" -e "s|@LISTEN@|127.0.0.1:$port|g" -e "s|@BACKEND@|127.0.0.1:$bport|g" \
			"$ARCH_DIR/nginx_proxy.conf.in" >"$pfx/nginx.conf"
		ws_spawn "nginx-${dir##*/}" "$nginx_bin" -p "$pfx/" -c "$pfx/nginx.conf" -e "$pfx/logs/error.log"
		ARCH_RUN_PIDS+=("$WS_LAST_PID")
		for ((i = 0; i < 200; i++)); do
			ws_alive "$WS_LAST_PID" || break
			worker=$(awk '{print $1}' "/proc/$WS_LAST_PID/task/$WS_LAST_PID/children" 2>/dev/null)
			if [ -n "$worker" ] && ws_port_listening "$port"; then
				ARCH_SVC_PORT=$port ARCH_SVC_PID=$worker
				return 0
			fi
			sleep 0.05
		done
		ws_stop_pid "$WS_LAST_PID" TERM 5
		ws_log "nginx did not come up on port $port (attempt $try)"
	done
	ws_fail "nginx did not start: $(tail -n 3 "$pfx/logs/error.log" 2>/dev/null | tr '\n' ' ')"
}

# arch_build_go SRC_DIR: build the Go service once per source+toolchain hash into
# $ARCH_CACHE/go-<hash>/svc (GOCACHE/GOPATH under the build dir: offline, cached between
# runs; no modules, standard library only). Sets ARCH_GO_BIN.
arch_build_go() {
	local src=$1 hash out
	hash=$({ go version; cat "$src"/*.go; } | sha256sum | cut -c1-16)
	out=$ARCH_CACHE/go-$hash
	ARCH_GO_BIN=$out/svc
	[ -x "$ARCH_GO_BIN" ] && return 0
	mkdir -p "$ARCH_CACHE/gocache" "$ARCH_CACHE/gopath" "$out"
	ws_log "building the Go service ($src)"
	(cd "$src" && GO111MODULE=off GOFLAGS='' CGO_ENABLED=0 GOCACHE="$ARCH_CACHE/gocache" GOPATH="$ARCH_CACHE/gopath" \
		timeout 240 go build -o "$WS_TMP/svc" .) >"$WS_TMP/go-build.log" 2>&1 ||
		ws_fail "go build failed: $(tail -n 5 "$WS_TMP/go-build.log" | tr '\n' ' ')"
	mv "$WS_TMP/svc" "$ARCH_GO_BIN"
}

# arch_build_java SRC_DIR: javac once per source+toolchain hash into
# $ARCH_CACHE/java-<hash>/. Sets ARCH_JAVA_CP.
arch_build_java() {
	local src=$1 hash out
	hash=$({ javac -version 2>&1; cat "$src"/*.java; } | sha256sum | cut -c1-16)
	out=$ARCH_CACHE/java-$hash
	# shellcheck disable=SC2034 # used by the java test
	ARCH_JAVA_CP=$out
	[ -f "$out/.done" ] && return 0
	ws_log "compiling the Java service ($src)"
	mkdir -p "$WS_TMP/classes"
	timeout 240 javac -d "$WS_TMP/classes" "$src"/*.java >"$WS_TMP/javac.log" 2>&1 ||
		ws_fail "javac failed: $(tail -n 5 "$WS_TMP/javac.log" | tr '\n' ' ')"
	rm -rf "$out" && mkdir -p "$ARCH_CACHE" && mv "$WS_TMP/classes" "$out" && touch "$out/.done"
}

# arch_smoke PORT FANOUT: the service must answer GET /r/0 with 200 and the backend's body.
arch_smoke() {
	local port=$1 fanout=$2 want got
	if [ "$fanout" = 1 ]; then
		want=$(printf 'ok /b/0/0\nok /b/0/1\nok /b/0/2')
	else
		want="ok /b/0"
	fi
	got=$(curl -s -f --max-time 10 "http://127.0.0.1:$port/r/0") ||
		ws_fail "the service does not answer GET /r/0 (the workload is broken, not the agent)"
	[ "$got" = "$want" ] || ws_fail "the service answered GET /r/0 with '$got', expected '$want' (the workload is broken, not the agent)"
}

# arch_check_reuse LABEL BACKEND_ERR: the backend's statistics must show what the
# architecture claims: keep-alive connections reused (fewer connections than requests),
# or with ARCH_BACKEND_CONNS=new (shellout: curl per request) one connection per request.
arch_check_reuse() {
	local label=$1 err=$2 req conns
	req=$(sed -n 's/^backend stats requests=\([0-9]*\) .*/\1/p' "$err")
	conns=$(sed -n 's/^backend stats .*connections=\([0-9]*\)$/\1/p' "$err")
	if [ -z "$req" ] || [ -z "$conns" ]; then
		ws_soft_fail "$label: the backend printed no statistics"
		return
	fi
	ws_log "$label: backend served $req requests on $conns connections"
	if [ "${ARCH_BACKEND_CONNS:-reused}" = new ]; then
		[ "$conns" -ge "$req" ] || ws_soft_fail "$label: expected a new backend connection per request ($req requests, $conns connections)"
	else
		[ "$conns" -lt "$req" ] || ws_soft_fail "$label: the service never reused a backend connection ($req requests, $conns connections): the workload is not what the test claims"
	fi
}

# arch_run NAME [--fanout]
arch_run() {
	local arch=$1 fanout=0 n dir min bport rc rows
	[ "${2:-}" = --fanout ] && fanout=1
	rows=${WS_ARCH_ROWS:-$WS_TMP/rows}
	for n in $ARCH_INFLIGHT; do
		dir=$WS_TMP/run$n
		mkdir -p "$dir"
		chmod 755 "$dir"
		ARCH_RUN_PIDS=()
		ws_spawn "backend-$n" env OTEL_SERVICE_NAME=backend "$WS_PY" -u "$ARCH_DIR/backend.py" --port-file "$dir/backend.port"
		ARCH_RUN_PIDS+=("$WS_LAST_PID")
		ws_wait_file "$dir/backend.port" 15 "$WS_LAST_PID" || ws_fail "backend did not start"
		bport=$(cat "$dir/backend.port")
		arch_service "$dir" "$bport"
		ws_log "$arch/$n: service pid $ARCH_SVC_PID port $ARCH_SVC_PORT, backend port $bport"
		arch_smoke "$ARCH_SVC_PORT" "$fanout"

		WS_SPANS=$dir/spans.jsonl
		ws_start_agent --port "$ARCH_SVC_PORT,$bport"
		local load=(--port "$ARCH_SVC_PORT" --inflight "$n" --count "$ARCH_COUNT" --manifest "$dir/manifest.json")
		[ "$fanout" = 1 ] && load+=(--fanout)
		timeout -k 5 120 env OTEL_SERVICE_NAME=load "$WS_PY" -u "$ARCH_DIR/load.py" "${load[@]}" \
			>"$WS_TMP/load-$n.out" 2>"$WS_TMP/load-$n.err"
		rc=$?
		cat "$WS_TMP/load-$n.out" >&2
		ws_stop_agent
		# Losses that would explain incomplete traces (not judged here).
		ws_log "$arch/$n: agent losses: ringbuf_drops=$(ws_counter ringbuf_drops) spans_dropped_table_full=$(ws_counter spans_dropped_table_full) parse_errors=$(ws_counter parse_errors) requests_uncaptured=$(ws_counter requests_uncaptured)"
		local i
		for ((i = ${#ARCH_RUN_PIDS[@]} - 1; i >= 0; i--)); do
			ws_stop_pid "${ARCH_RUN_PIDS[i]}" TERM 5
		done
		arch_check_reuse "$arch/$n" "$WS_TMP/backend-$n.err"
		[ -s "$dir/manifest.json" ] || ws_fail "the load client wrote no manifest (status $rc): $(tail -n 5 "$WS_TMP/load-$n.err" | tr '\n' ' ')"
		[ "$rc" = 0 ] || ws_soft_fail "$arch/$n: the workload failed (status $rc): the service answered wrongly, see WORKLOAD FAILED below"
		min=$(eval echo "\${MIN_CORRECT_$n:-0}")
		timeout -k 5 120 "$WS_PY" "$WS_IT/check_arch.py" --spans "$WS_SPANS" --manifest "$dir/manifest.json" \
			--arch "$arch" --min-correct "$min" --agent-log "$WS_AGENT_ERR" --row-file "$rows" >"$dir/check.out" 2>&1 ||
			ws_soft_fail "$arch/$n: parentage check failed (see above)"
		sed 's/^/    /' "$dir/check.out" >&2
	done
	ws_log "table:"
	{ echo "$CHECK_ARCH_HEADER"; grep -v '^ ' "$rows"; } | sed 's/^/    /' >&2
	ws_finish
}
CHECK_ARCH_HEADER=$(printf '%-12s %8s %8s %8s %10s %13s' arch inflight requests 'correct%' incomplete misattributed)
