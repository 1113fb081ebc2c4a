#!/usr/bin/python3
"""Load for the integration tests: concurrent GET /chain/<id> requests, recorded in a manifest.

Every request carries a unique id in its path; the manifest (JSON) lists each one with the
path, the status the service chain must answer and the status actually received, the
connection kind and wall-clock times, so the trace checker knows exactly what to expect.

Threads alternate between one persistent http.client connection for all their requests
("keepalive") and a new connection per request with "Connection: close" ("new").
With --variants some ids ask the leaf for a 404 (/notfound), a 500 (/fail) or a static
file (/static); otherwise all paths are plain /chain/<id>.

--gate FILE (for pre-existing connection tests): every thread makes its first request,
then the client writes --warm-file and waits until FILE exists before going on; those
first requests are marked "phase": "before" in the manifest.
"""
import argparse
import http.client
import json
import os
import sys
import threading
import time

TIMEOUT = 15.0


def variant_of(rid):
    # Fixed by the id so every run and every tier agrees on it.
    return {7: ("notfound", 404), 9: ("fail", 500), 3: ("static", 200)}.get(rid % 10, (None, 200))


class Worker(threading.Thread):
    def __init__(self, idx, ids, args, barrier, warm_barrier):
        super().__init__(name="client-%d" % idx)
        self.idx = idx
        self.ids = ids
        self.args = args
        self.keepalive = args.all_keepalive or idx % 2 == 0
        self.barrier = barrier
        self.warm_barrier = warm_barrier
        self.records = []
        self.errors = []
        self.conn = None

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.args.host, self.args.port, timeout=TIMEOUT)
        return self.conn

    def one(self, rid, phase):
        variant, want = variant_of(rid) if self.args.variants else (None, 200)
        path = "/chain/%d" % rid + ("/" + variant if variant else "")
        conn = self._conn()
        headers = {} if self.keepalive else {"Connection": "close"}
        t0 = time.time_ns()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        t1 = time.time_ns()
        if not self.keepalive or resp.will_close:
            conn.close()
            self.conn = None
        rec = {"id": rid, "path": path, "status": want, "got": resp.status, "conn": "keepalive" if self.keepalive else "new",
               "thread": self.name, "phase": phase, "start_ns": t0, "end_ns": t1, "body": body[:120].decode("latin-1")}
        self.records.append(rec)
        if resp.status != want:
            self.errors.append("%s: got status %d, expected %d (body %r)" % (path, resp.status, want, body[:120]))

    def run(self):
        try:
            self.barrier.wait(timeout=TIMEOUT)
            ids = list(self.ids)
            if self.warm_barrier is not None:
                self.one(ids.pop(0), "before")
                self.warm_barrier.wait(timeout=TIMEOUT)  # the main thread opens the gate
                self.warm_barrier.wait(timeout=self.args.gate_timeout + TIMEOUT)
            for rid in ids:
                self.one(rid, "traced")
                if self.args.pause_ms:
                    time.sleep(self.args.pause_ms / 1000.0)
        except Exception as e:  # reported in the manifest and the exit status
            self.errors.append("%s: %r" % (self.name, e))
        finally:
            if self.conn is not None:
                self.conn.close()


def wait_gate(args):
    if args.warm_file:
        with open(args.warm_file + ".tmp", "w") as f:
            f.write("warm\n")
        os.rename(args.warm_file + ".tmp", args.warm_file)
    deadline = time.monotonic() + args.gate_timeout
    while not os.path.exists(args.gate):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", required=True, help="127.0.0.1 or ::1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--first-id", type=int, default=1)
    ap.add_argument("--count", type=int, default=100, help="requests in total")
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--variants", action="store_true", help="include /notfound, /fail, /static ids")
    ap.add_argument("--all-keepalive", action="store_true")
    ap.add_argument("--pause-ms", type=int, default=0)
    ap.add_argument("--gate", help="wait for this file after the first request of each thread")
    ap.add_argument("--warm-file", help="written when the first requests are done")
    ap.add_argument("--gate-timeout", type=float, default=60.0)
    ap.add_argument("--manifest", required=True)
    args = ap.parse_args()
    args.host = args.host.strip("[]")

    ids = list(range(args.first_id, args.first_id + args.count))
    nthreads = max(1, min(args.threads, len(ids)))
    barrier = threading.Barrier(nthreads)
    warm_barrier = threading.Barrier(nthreads + 1) if args.gate else None
    workers = [Worker(i, ids[i::nthreads], args, barrier, warm_barrier) for i in range(nthreads)]
    for w in workers:
        w.start()
    gate_ok = True
    if warm_barrier is not None:
        try:
            warm_barrier.wait(timeout=TIMEOUT * 2)
            gate_ok = wait_gate(args)
            if gate_ok:
                warm_barrier.wait(timeout=TIMEOUT)
            else:
                warm_barrier.abort()
        except threading.BrokenBarrierError:
            gate_ok = False
            warm_barrier.abort()
    for w in workers:
        w.join(timeout=args.gate_timeout + TIMEOUT * (len(w.ids) + 2))

    records = sorted((r for w in workers for r in w.records), key=lambda r: r["id"])
    errors = [e for w in workers for e in w.errors]
    if not gate_ok:
        errors.append("gate %s never opened" % args.gate)
    alive = [w.name for w in workers if w.is_alive()]
    if alive:
        errors.append("threads still running: %s" % ", ".join(alive))
    with open(args.manifest + ".tmp", "w") as f:
        json.dump({"client_pid": os.getpid(), "host": args.host, "port": args.port, "requests": records, "errors": errors}, f, indent=1)
    os.rename(args.manifest + ".tmp", args.manifest)
    for e in errors:
        sys.stderr.write("client: %s\n" % e)
    print("client: %d requests, %d errors" % (len(records), len(errors)))
    return 1 if errors or len(records) != len(ids) else 0


if __name__ == "__main__":
    sys.exit(main())
