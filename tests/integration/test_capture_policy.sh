#!/bin/bash
# Root-only check of the per-connection capture policy (agent -> kernel, map ws_capture)
# through build/bpf_dump, which plays the parser: -A PORT / -O PORT set the policy of a
# connection with that port at its first data record (ws_bpf_set_capture). A Python
# client says hello, waits for the policy to land, then sends a 2000-byte request in
# four writes and reads a 3000-byte answer written in three. With a 256-byte budget:
#   - no policy: each message run copies 256 bytes in all (WS_F_BUDGET after that);
#   - ALL: every byte of the run is copied (cap == bytes on each record);
#   - OFF: no payload at all (cap 0, bytes > 0, WS_F_BUDGET), lengths still there;
#   - the policy entries are gone once the connection is closed (TCP_CLOSE).
# Exit 0 pass, 1 fail, 77 skip. WS_KEEP=1 keeps the temp dir.
set -u
. "$(dirname "$0")/lib.sh"
DUMP=$WS_ROOT/build/bpf_dump
ws_init
make --no-print-directory -s -C "$WS_ROOT" build/bpf_dump >&2 || ws_fail "cannot build build/bpf_dump"

cat >"$WS_TMP/peer.py" <<'PY'
import json, os, socket, sys, time
if sys.argv[1] == "server":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0)); s.listen(8)
    open(sys.argv[2] + ".tmp", "w").write(str(s.getsockname()[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    while True:
        c, _ = s.accept()
        got = b""
        while not got.endswith(b"hello\n"):
            got += c.recv(100)
        c.sendall(b"hi\n")
        got = b""
        while len(got) < 2000:
            got += c.recv(4096)
        for i in range(3):
            c.sendall(bytes((i * 50 + k) & 0xFF for k in range(1000)))
            time.sleep(0.02)
        c.recv(10)
        c.close()
else:
    c = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    c.sendall(b"hello\n")
    assert c.recv(10) == b"hi\n"
    time.sleep(0.6)  # bpf_dump reads the first records within 100 ms and sets the policy
    for i in range(4):
        c.sendall(bytes((i * 30 + k) & 0xFF for k in range(500)))
        time.sleep(0.02)
    got = b""
    while len(got) < 3000:
        got += c.recv(65536)
    c.shutdown(socket.SHUT_WR)
    time.sleep(0.1)
    c.close()
    print(json.dumps({"pid": os.getpid()}))
PY

cat >"$WS_TMP/check.py" <<'PY'
# check.py DUMP.out PID MODE: the client's 2000-byte run and its 3000-byte answer
import re, sys
path, pid, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
recs = []
for line in open(path, encoding="latin-1"):
    if not line.startswith("DATA "):
        continue
    r = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line))
    if int(r["pid"]) != pid:
        continue
    recs.append(r)
out = [r for r in recs if r["dir"] == "out" and int(r["bytes"]) == 500]
inn = [r for r in recs if r["dir"] == "in" and int(r["bytes"]) > 3]
errors = []
if len(out) != 4 or not inn:
    errors.append("want 4 request writes and answer reads, got %d/%d" % (len(out), len(inn)))
for run, total in ((out, 2000), (inn, 3000)):
    b = sum(int(r["bytes"]) for r in run)
    c = sum(int(r["cap"]) for r in run)
    budget = [r for r in run if "budget" in r["flags"]]
    print("%s: %s run of %d bytes: %d records, %d captured, %d with budget flag"
          % (mode, run[0]["dir"] if run else "?", b, len(run), c, len(budget)))
    if b != total:
        errors.append("run bytes %d, want %d" % (b, total))
    if mode == "default" and (c != 256 or not budget):
        errors.append("default: captured %d, want the 256-byte budget" % c)
    if mode == "all" and (c != total or budget or any(r["cap"] != r["bytes"] for r in run)):
        errors.append("all: captured %d of %d" % (c, total))
    if mode == "off" and (c != 0 or len(budget) != len(run)):
        errors.append("off: captured %d, want 0 with the budget flag on each record" % c)
for e in errors:
    print("CHECK FAILED: " + e)
sys.exit(1 if errors else 0)
PY

ws_spawn server "$WS_PY" -u "$WS_TMP/peer.py" server "$WS_TMP/port"
ws_wait_file "$WS_TMP/port" 10 "$WS_LAST_PID" || ws_fail "server did not start"
PORT=$(cat "$WS_TMP/port")

run() { # MODE DUMP-ARGS...
	local mode=$1 i dump pid
	shift
	ws_spawn "dump_$mode" "$DUMP" -P "$PORT" -s 256 "$@"
	dump=$WS_LAST_PID
	for ((i = 0; i < 600; i++)); do
		grep -q '^READY' "$WS_TMP/dump_$mode.err" && break
		ws_alive "$dump" || ws_fail "bpf_dump $* exited: $(tail -n 3 "$WS_TMP/dump_$mode.err")"
		sleep 0.05
	done
	timeout 20 "$WS_PY" -u "$WS_TMP/peer.py" client "$PORT" >"$WS_TMP/client_$mode.out" 2>"$WS_TMP/client_$mode.err" ||
		ws_fail "$mode: client failed: $(tail -n 2 "$WS_TMP/client_$mode.err")"
	pid=$("$WS_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$WS_TMP/client_$mode.out")
	sleep 0.5
	ws_stop_pid "$dump" TERM 10 || ws_fail "$mode: bpf_dump did not stop"
	grep -q "^CAPTURE_ENTRIES 0$" "$WS_TMP/dump_$mode.err" ||
		ws_soft_fail "$mode: policy entries left after the connection closed: $(grep CAPTURE_ENTRIES "$WS_TMP/dump_$mode.err")"
	[ "$mode" = default ] || [ "$(grep -c "^POLICY .* err=0" "$WS_TMP/dump_$mode.out")" = 2 ] ||
		ws_soft_fail "$mode: want the policy set on both ends: $(grep POLICY "$WS_TMP/dump_$mode.out")"
	"$WS_PY" "$WS_TMP/check.py" "$WS_TMP/dump_$mode.out" "$pid" "$mode" >"$WS_TMP/check_$mode" 2>&1 ||
		ws_soft_fail "$mode: checks failed"
	sed "s/^/[$WS_TEST] /" "$WS_TMP/check_$mode" >&2
}
run default
run all -A "$PORT"
run off -O "$PORT"
ws_finish
