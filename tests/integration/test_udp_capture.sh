#!/bin/bash
# Root-only check of UDP datagram records (WS_F_DGRAM) through build/bpf_dump, against
# dnsmasq answering on 127.0.0.1:<free port>. Two DNS queries from Python: dnspython's
# (unconnected socket: sendto/recvfrom, the peer from the address arguments) and one on
# a connected socket (send/recv: the peer from the socket). With the port in the set:
# each query gives one egress and one ingress record on the client, with the client's
# pid, its socket's local port, the server as the remote end, the exact byte counts and
# the bytes themselves; dnsmasq's own receive and answer are there too (local port = the
# set's port: role server). With another port in the set: no data record at all.
# Exit 0 pass, 1 fail, 77 skip. WS_KEEP=1 keeps the temp dir.
set -u
. "$(dirname "$0")/lib.sh"
DUMP=$WS_ROOT/build/bpf_dump
DNSMASQ=/usr/sbin/dnsmasq
ws_init
[ -x "$DNSMASQ" ] || ws_skip "$DNSMASQ missing"
"$WS_PY" -c 'import dns.message' 2>/dev/null || ws_skip "python3-dnspython missing"
make --no-print-directory -s -C "$WS_ROOT" build/bpf_dump >&2 || ws_fail "cannot build build/bpf_dump"

cat >"$WS_TMP/client.py" <<'PY'
import json, os, socket, sys
import dns.message, dns.query
port = int(sys.argv[1])
out = {"pid": os.getpid(), "queries": []}
# unconnected: dnspython's udp() (sendto + recvfrom)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
q = dns.message.make_query("example.test", "A")
r = dns.query.udp(q, "127.0.0.1", port=port, timeout=5, sock=s)
assert r.answer, r
out["queries"].append({"kind": "unconnected", "lport": s.getsockname()[1],
                       "query": q.to_wire().hex(), "answer": r.to_wire().hex()})
s.close()
# connected: send + recv on the socket's own peer
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", port))
q = dns.message.make_query("www.example.test", "A")
w = q.to_wire()
s.send(w)
a = s.recv(4096)
assert dns.message.from_wire(a).answer
out["queries"].append({"kind": "connected", "lport": s.getsockname()[1],
                       "query": w.hex(), "answer": a.hex()})
s.close()
print(json.dumps(out))
PY

cat >"$WS_TMP/check.py" <<'PY'
# check.py DUMP.out CLIENT.json PORT MODE(in|out)
import json, re, sys
path, info, port, mode = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3]), sys.argv[4]
KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
def unescape(s):
    out, i = bytearray(), 0
    while i < len(s):
        if s[i] == "\\":
            if s[i + 1] == "x":
                out.append(int(s[i + 2:i + 4], 16)); i += 4
            else:
                out.append(ord(s[i + 1])); i += 2
        else:
            out.append(ord(s[i])); i += 1
    return bytes(out)
recs = []
for line in open(path, encoding="latin-1"):
    if line.startswith("DATA "):
        r = dict(KV.findall(line))
        r["data"] = unescape(r["data"][1:-1])
        recs.append(r)
errors = []
def check(c, m):
    if not c:
        errors.append(m)
dg = [r for r in recs if "dgram" in r["flags"]]
if mode == "out":
    mine = [r for r in recs if r["l"].endswith(":%d" % port) or r["r"].endswith(":%d" % port)]
    check(not mine, "port not in the set, yet %d data records: %s" % (len(mine), mine[:2]))
    check(not dg, "datagram records of other ports: %s" % dg[:2])
server = "[::ffff:127.0.0.1]:%d" % port
for q in info["queries"]:
    cl = [r for r in dg if int(r["pid"]) == info["pid"] and r["l"].endswith("]:%d" % q["lport"])]
    sv = [r for r in dg if r["l"] == server and r["r"] == "[::ffff:127.0.0.1]:%d" % q["lport"]]
    if mode == "out":
        check(not cl and not sv, "%s: records with the port out of the set" % q["kind"])
        continue
    print("%s query: client records %s, server records %s" % (q["kind"],
          [(r["dir"], r["sys"], r["bytes"]) for r in cl], [(r["dir"], r["sys"], r["bytes"]) for r in sv]))
    for side, rs, role in (("client", cl, "client"), ("server", sv, "server")):
        eg = [r for r in rs if r["dir"] == "out"]
        ig = [r for r in rs if r["dir"] == "in"]
        check(len(eg) == 1 and len(ig) == 1, "%s %s: want 1 egress + 1 ingress, got %d/%d" % (q["kind"], side, len(eg), len(ig)))
        if len(eg) != 1 or len(ig) != 1:
            continue
        want_out = bytes.fromhex(q["query"] if side == "client" else q["answer"])
        want_in = bytes.fromhex(q["answer"] if side == "client" else q["query"])
        for r, want in ((eg[0], want_out), (ig[0], want_in)):
            check(int(r["bytes"]) == len(want) and r["data"] == want,
                  "%s %s %s: bytes %s, payload %s" % (q["kind"], side, r["dir"], r["bytes"], r["data"] == want))
            check(r["role"] == role and r["fam"] == "inet" and "noseq" in r["flags"] and r["seq"] == "0",
                  "%s %s: role/fam/flags %s %s %s" % (q["kind"], side, r["role"], r["fam"], r["flags"]))
            if side == "client":
                check(r["r"] == server and r["l"] == "[::ffff:127.0.0.1]:%d" % q["lport"],
                      "%s client tuple %s -> %s" % (q["kind"], r["l"], r["r"]))
                want_sys = ("sendto", "recvfrom")
                check(r["sys"] in want_sys, "%s client sys %s" % (q["kind"], r["sys"]))
        check(len({r["sock"] for r in rs}) == 1, "%s %s: more than one sock id" % (q["kind"], side))
for e in errors:
    print("CHECK FAILED: " + e)
print("%d datagram records; %s" % (len(dg), "checks failed" if errors else "all checks passed"))
sys.exit(1 if errors else 0)
PY

PORT=$("$WS_PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ws_spawn dnsmasq "$DNSMASQ" --no-daemon --port="$PORT" --listen-address=127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --address=/example.test/10.0.0.1 --pid-file="$WS_TMP/dnsmasq.pid"
DNS_PID=$WS_LAST_PID
for ((i = 0; i < 100; i++)); do
	ss -Huln "sport = :$PORT" | grep -q . && break
	ws_alive "$DNS_PID" || ws_fail "dnsmasq did not start: $(tail -n 2 "$WS_TMP/dnsmasq.err")"
	sleep 0.05
done

run() { # MODE(in|out) UDPPORT
	local mode=$1 i dump
	ws_spawn "dump_$mode" "$DUMP" -U "$2" -x 512
	dump=$WS_LAST_PID
	for ((i = 0; i < 600; i++)); do
		grep -q '^READY' "$WS_TMP/dump_$mode.err" && break
		ws_alive "$dump" || ws_fail "bpf_dump exited: $(tail -n 3 "$WS_TMP/dump_$mode.err")"
		sleep 0.05
	done
	timeout 20 "$WS_PY" -u "$WS_TMP/client.py" "$PORT" >"$WS_TMP/client_$mode.json" 2>"$WS_TMP/client_$mode.err" ||
		ws_fail "$mode: DNS client failed: $(tail -n 2 "$WS_TMP/client_$mode.err")"
	sleep 0.3
	ws_stop_pid "$dump" TERM 10 || ws_fail "$mode: bpf_dump did not stop"
	grep '^COUNTERS' "$WS_TMP/dump_$mode.err" | grep -o "udp_datagrams=[0-9]*" | sed "s/^/[$WS_TEST] $mode: /" >&2
	"$WS_PY" "$WS_TMP/check.py" "$WS_TMP/dump_$mode.out" "$WS_TMP/client_$mode.json" "$PORT" "$mode" \
		>"$WS_TMP/check_$mode" 2>&1 || ws_soft_fail "$mode: checks failed"
	sed "s/^/[$WS_TEST] $mode: /" "$WS_TMP/check_$mode" >&2
}
run in "$PORT"
OTHER=$((PORT == 65535 ? PORT - 1 : PORT + 1))
run out "$OTHER"
ws_finish
