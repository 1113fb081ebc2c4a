#!/usr/bin/python3
"""Many idle keep-alive connections, driven by files (tests/integration/test_idle_conns.sh).

  idle_client.py --host H --port P --conns N --first-id K [--bind ADDR] --dir D --name NAME

Opens N non-blocking connections to H:P at once (selectors), then writes D/NAME.open.
Waits for D/go.request, sends one request on every connection
("GET /chain/<id> HTTP/1.1", ids K..K+N-1; --wave connections at a time), reads every
response (Content-Length), and
writes D/NAME.requested with the ids answered. Waits for D/go.close, closes every
connection, writes D/NAME.closed and exits 0. Exits 1 on any error or after --timeout s.
"""
import argparse
import os
import resource
import selectors
import socket
import sys
import time


def wait_file(path, deadline):
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {path}")
        time.sleep(0.05)


def write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, required=True)
    ap.add_argument("--first-id", type=int, default=1)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--wave", type=int, default=500)
    ap.add_argument("--bind", default="", help="local address to connect from")
    a = ap.parse_args()
    deadline = time.monotonic() + a.timeout

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(a.conns + 64, soft), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    sel = selectors.DefaultSelector()
    socks = []
    # Connect in batches: the listen backlog is bounded.
    pending = 0
    for i in range(a.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if a.bind:
            s.bind((a.bind, 0))
        err = s.connect_ex((a.host, a.port))
        if err not in (0, 115):  # EINPROGRESS
            sys.exit(f"connect {i}: errno {err}")
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE, i)
        pending += 1
        if pending >= 512 or i == a.conns - 1:
            while pending:
                if time.monotonic() > deadline:
                    sys.exit("timed out connecting")
                for key, _ in sel.select(timeout=1):
                    s2 = key.fileobj
                    e = s2.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if e:
                        sys.exit(f"connect {key.data}: errno {e}")
                    sel.unregister(s2)
                    pending -= 1
    write_file(os.path.join(a.dir, a.name + ".open"), f"{len(socks)}\n")

    wait_file(os.path.join(a.dir, "go.request"), deadline)
    # In waves of --wave connections: every connection gets its request, at most a wave
    # of them in flight at once (a burst of 20k at once would measure --max-spans).
    answered = []
    for w in range(0, len(socks), a.wave):
        bufs = {}
        left = 0
        for i in range(w, min(w + a.wave, len(socks))):
            s = socks[i]
            rid = a.first_id + i
            req = f"GET /chain/{rid} HTTP/1.1\r\nHost: {a.host}:{a.port}\r\n\r\n".encode()
            s.send(req)  # a few dozen bytes into an empty socket buffer: never partial
            bufs[s] = b""
            sel.register(s, selectors.EVENT_READ, rid)
            left += 1
        while left:
            if time.monotonic() > deadline:
                sys.exit(f"timed out reading responses ({left} left)")
            for key, _ in sel.select(timeout=1):
                s = key.fileobj
                data = s.recv(65536)
                if not data:
                    sys.exit(f"connection for id {key.data} closed before its response")
                b = bufs[s] + data
                head, sep, body = b.partition(b"\r\n\r\n")
                if sep:
                    cl = 0
                    for line in head.split(b"\r\n")[1:]:
                        k, _, v = line.partition(b":")
                        if k.strip().lower() == b"content-length":
                            cl = int(v)
                    if len(body) >= cl:
                        if not head.startswith(b"HTTP/1.1 200"):
                            sys.exit(f"id {key.data}: {head.splitlines()[0]!r}")
                        sel.unregister(s)
                        answered.append(key.data)
                        left -= 1
                        continue
                bufs[s] = b
    write_file(os.path.join(a.dir, a.name + ".requested"), "".join(f"{r}\n" for r in answered))

    wait_file(os.path.join(a.dir, "go.close"), deadline)
    for s in socks:
        s.close()
    write_file(os.path.join(a.dir, a.name + ".closed"), f"{len(socks)}\n")


if __name__ == "__main__":
    main()
