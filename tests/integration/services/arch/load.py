#!/usr/bin/python3
"""Load client of the architecture tests: GET /r/<id> with N requests in flight.

One process, N threads (N = --inflight). Every request has a unique id. Even-numbered
threads keep one keep-alive connection for all their requests ("keepalive"), odd ones
open a new connection per request and send "Connection: close" ("new"). Before every
20th request (by id) the thread also makes a health check: a plain TCP connect to the
service port, closed at once; every other one is closed with RST (SO_LINGER 0).

Each answer is checked (status 200 and the exact body the service must build from the
backend's answers); a wrong answer is an error of the workload, reported in the manifest
and in the exit status, so it is never blamed on the agent.
"""
import argparse
import http.client
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time

TIMEOUT = 15.0
FANOUT = 3


def expected_body(rid, fanout):
    if fanout:
        return "".join("ok /b/%d/%d\n" % (rid, k) for k in range(FANOUT)).encode()
    return ("ok /b/%d\n" % rid).encode()


def health_check(host, port, rst):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    if rst:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


class Worker(threading.Thread):
    def __init__(self, idx, queue, lock, args):
        super().__init__(name="load-%d" % idx)
        self.keepalive = idx % 2 == 0
        self.queue, self.lock, self.args = queue, lock, args
        self.records, self.errors, self.health = [], [], [0, 0]
        self.conn = None

    def next_id(self):
        with self.lock:
            return self.queue.pop(0) if self.queue else None

    def one(self, rid):
        a = self.args
        if rid % 20 == 0:
            rst = (rid // 20) % 2 == 1
            health_check(a.host, a.port, rst)
            self.health[rst] += 1
        path = "/r/%d" % rid
        if self.conn is None:
            if a.tls:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                self.conn = http.client.HTTPSConnection(a.host, a.port, timeout=TIMEOUT, context=ctx)
            else:
                self.conn = http.client.HTTPConnection(a.host, a.port, timeout=TIMEOUT)
        t0 = time.time_ns()
        self.conn.request("GET", path, headers={} if self.keepalive else {"Connection": "close"})
        resp = self.conn.getresponse()
        body = resp.read()
        t1 = time.time_ns()
        if not self.keepalive or resp.will_close:
            self.conn.close()
            self.conn = None
        want = expected_body(rid, a.fanout)
        self.records.append({"id": rid, "path": path, "status": 200, "got": resp.status,
                             "conn": "keepalive" if self.keepalive else "new", "thread": self.name,
                             "start_ns": t0, "end_ns": t1})
        if resp.status != 200 or body != want:
            self.errors.append("%s: got %d %r, expected 200 %r" % (path, resp.status, body[:200], want))

    def run(self):
        try:
            while True:
                rid = self.next_id()
                if rid is None:
                    break
                self.one(rid)
        except Exception as e:  # reported in the manifest and the exit status
            self.errors.append("%s: %r" % (self.name, e))
        finally:
            if self.conn is not None:
                self.conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--first-id", type=int, default=1)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--inflight", type=int, default=16)
    ap.add_argument("--fanout", action="store_true", help="the service calls the backend three times")
    ap.add_argument("--tls", action="store_true", help="https (certificate not verified); health checks stay plain TCP connects")
    ap.add_argument("--manifest", required=True)
    args = ap.parse_args()

    queue = list(range(args.first_id, args.first_id + args.count))
    lock = threading.Lock()
    workers = [Worker(i, queue, lock, args) for i in range(args.inflight)]
    t0 = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    took = time.monotonic() - t0
    records = sorted((r for w in workers for r in w.records), key=lambda r: r["id"])
    errors = [e for w in workers for e in w.errors]
    alive = [w.name for w in workers if w.is_alive()]
    if alive:
        errors.append("threads still running: %s" % ", ".join(alive))
    if len(records) != args.count:
        errors.append("%d of %d requests answered" % (len(records), args.count))
    fin = sum(w.health[0] for w in workers)
    rst = sum(w.health[1] for w in workers)
    kinds = {k: sum(1 for r in records if r["conn"] == k) for k in ("keepalive", "new")}
    with open(args.manifest + ".tmp", "w") as f:
        json.dump({"client_pid": os.getpid(), "port": args.port, "inflight": args.inflight, "fanout": args.fanout,
                   "health_checks": {"fin": fin, "rst": rst}, "requests": records, "errors": errors}, f, indent=1)
    os.rename(args.manifest + ".tmp", args.manifest)
    for e in errors[:20]:
        sys.stderr.write("load: %s\n" % e)
    print("load: %d requests (%d keepalive, %d new), %d in flight, %.2fs, health checks %d FIN %d RST, %d errors"
          % (len(records), kinds["keepalive"], kinds["new"], args.inflight, took, fin, rst, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
