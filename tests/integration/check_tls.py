#!/usr/bin/env python3
"""Checks of tests/integration/test_tls_capture.sh over build/bpf_dump -T output.

usage: check_tls.py DUMP NAME=PORT:KIND:TAG[,TAG..] ...
KIND: sock (socket BIO on both ends: nginx) or mem (the server feeds a memory BIO: node).
For every server:
  - each TAG has a plaintext record on both ends (client ssl_write, server ssl_read,
    WS_F_TLS) carrying the request line, and the server answers in an ssl_write that
    begins "HTTP/1.1 200";
  - every plaintext record with a seq names a ciphertext syscall record (WS_F_CIPHER,
    cap=0) of the same process, socket and direction with that seq: inside the call
    (sock) or, for a memory-BIO read, the read just before it;
  - the client's ssl_write seq of a request equals the server's ssl_read seq (sock: always;
    mem: the server side has it from the preceding read);
  - on connections that carried plaintext, no syscall record with bytes has a payload
    after the first plaintext record (sock: none at all, the handshake included), but
    for the record lengths (2-8 bytes, WS_F_TLS_RECS) on a memory BIO's ciphertext
    writes, of which there is at least one (mem).
Prints FAIL lines and exits 1 on any failure.
"""
import re
import sys

REC = re.compile(r"^DATA (.*?) data=\"(.*)\"$")


def parse(path):
    recs = []
    for line in open(path, errors="replace"):
        m = REC.match(line.rstrip("\n"))
        if not m:
            continue
        kv = dict(f.split("=", 1) for f in m.group(1).split() if "=" in f)
        kv["data"] = m.group(2)
        kv["flags"] = set(kv["flags"].split(","))
        for k in ("pid", "tid", "seq", "bytes", "cap", "enter", "exit"):
            kv[k] = int(kv[k])
        kv["lport"] = int(kv["l"].rsplit(":", 1)[1])
        kv["rport"] = int(kv["r"].rsplit(":", 1)[1])
        recs.append(kv)
    return recs


def main():
    recs = parse(sys.argv[1])
    fails = 0

    def fail(msg):
        nonlocal fails
        fails += 1
        print("FAIL:", msg)

    for spec in sys.argv[2:]:
        name, rest = spec.split("=", 1)
        port, kind, tags = rest.split(":", 2)
        port = int(port)
        mine = [r for r in recs if port in (r["lport"], r["rport"])]
        tls = [r for r in mine if "tls" in r["flags"]]
        cipher = [r for r in mine if "cipher" in r["flags"]]
        print(f"{name}: port {port}: {len(mine)} records, {len(tls)} plaintext, {len(cipher)} ciphertext")
        recs_out = 0
        for r in cipher:
            if "tls_recs" in r["flags"]:
                # a memory BIO's ciphertext write: its first record lengths, never bytes
                recs_out += 1
                if kind != "mem" or r["dir"] != "out" or r["cap"] % 2 or not 2 <= r["cap"] <= 8:
                    fail(f"{name}: record lengths where none belong: {r}")
            elif r["cap"] != 0:
                fail(f"{name}: ciphertext record with payload: {r}")
        if kind == "mem" and not recs_out:
            fail(f"{name}: no ciphertext write of the memory BIO carries its record lengths")
        for tag in tags.split(","):
            cw = [r for r in tls if r["sys"] == "ssl_write" and r["rport"] == port and f"t={tag} " in r["data"]]
            sr = [r for r in tls if r["sys"] == "ssl_read" and r["lport"] == port and f"t={tag} " in r["data"]]
            if not cw:
                fail(f"{name}: no client ssl_write of {tag}")
            if not sr:
                fail(f"{name}: no server ssl_read of {tag}")
            if not cw or not sr:
                continue
            c, s = cw[0], sr[0]
            if not s["data"].startswith("GET /") or s["dir"] != "in" or c["dir"] != "out":
                fail(f"{name}: {tag}: wrong request record: {s}")
            answers = [r for r in tls if r["sys"] == "ssl_write" and r["lport"] == port and
                       r["sock"] == s["sock"] and r["pid"] == s["pid"] and r["enter"] >= s["exit"] and
                       r["data"].startswith("HTTP/1.1 200")]
            if not answers:
                fail(f"{name}: {tag}: no server ssl_write answering it")
            if "noseq" in c["flags"]:
                fail(f"{name}: {tag}: client ssl_write has no seq")
            elif "noseq" in s["flags"]:
                fail(f"{name}: {tag}: server ssl_read has no seq")
            elif c["seq"] != s["seq"]:
                fail(f"{name}: {tag}: client write seq {c['seq']} != server read seq {s['seq']}")
        for r in tls:
            if "noseq" in r["flags"]:
                continue
            d = "out" if r["sys"] == "ssl_write" else "in"
            same = [x for x in cipher if x["pid"] == r["pid"] and x["sock"] == r["sock"] and
                    x["dir"] == d and x["seq"] == r["seq"]]
            inside = [x for x in same if x["tid"] == r["tid"] and r["enter"] <= x["enter"] and x["exit"] <= r["exit"]]
            # Node (memory BIO) binds a read to the same thread's preceding ciphertext
            # read, past a handshake's closing records when the read starts with them:
            # the seq then lies inside that read, not at its start.
            within = [x for x in cipher if x["pid"] == r["pid"] and x["sock"] == r["sock"] and
                      x["dir"] == d and 0 <= (r["seq"] - x["seq"]) % (1 << 32) < max(x.get("bytes", 0), 1)]
            before = [x for x in within if x["tid"] == r["tid"] and x["exit"] <= r["enter"]]
            if not inside and not (kind == "mem" and d == "in" and before):
                fail(f"{name}: plaintext seq {r['seq']} names no ciphertext syscall of its call: {r['sys']} pid={r['pid']} {r['data'][:40]}")
        # a connection: the sock address is reused by later connections, the tuple is not
        conn = lambda r: (r["pid"], r["sock"], r["l"], r["r"])
        for key in {conn(r) for r in tls}:
            first = min(r["exit"] for r in tls if conn(r) == key)
            for r in mine:
                if conn(r) != key or r["sys"].startswith("ssl_") or r["bytes"] == 0:
                    continue
                # a memory-BIO server's first flight (ClientHello) is read before its
                # SSL object is tied to the socket; the client (OpenSSL socket BIO) and
                # everything after the first plaintext are ciphertext-flagged
                if kind == "sock" or r["rport"] == port or r["enter"] > first:
                    if "cipher" not in r["flags"]:
                        fail(f"{name}: syscall on a TLS connection not flagged cipher: {r['sys']} pid={r['pid']} bytes={r['bytes']} cap={r['cap']}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
