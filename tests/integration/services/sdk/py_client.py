#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Uninstrumented client for test_sdk_coexist.sh: GET URL/r/<i> for i in FIRST..LAST on
# one keep-alive connection, and (--pipeline) pairs of requests in one write; checks
# every answer ends with ":<i>" and fails otherwise. --traceparent sends its own
# (a fresh span id per request, one trace id per request).
# --concurrency K: K threads, each with its own keep-alive connection (--new-conn: a new
# connection per request), ids dealt round-robin.
import argparse, http.client, os, socket, sys, threading, urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("url"); ap.add_argument("first", type=int); ap.add_argument("last", type=int)
ap.add_argument("--traceparent", action="store_true")
ap.add_argument("--pipeline", type=int, default=0, help="also N pipelined pairs, ids from 1000")
ap.add_argument("--concurrency", type=int, default=1)
ap.add_argument("--new-conn", action="store_true")
a = ap.parse_args()
u = urllib.parse.urlsplit(a.url)
bad = 0
lock = threading.Lock()

def worker(ids):
    global bad
    c = None
    for i in ids:
        if c is None or a.new_conn:
            if c is not None:
                c.close()
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        h = {}
        if a.traceparent:
            h["traceparent"] = "00-%s-%s-01" % (os.urandom(16).hex(), os.urandom(8).hex())
        c.request("GET", "/r/%d" % i, headers=h)
        r = c.getresponse()
        body = r.read().decode()
        if r.status != 200 or not body.endswith(":%d" % i):
            with lock:
                bad += 1
            print("bad answer %d: %d %r" % (i, r.status, body), file=sys.stderr)
    if c is not None:
        c.close()

ids = list(range(a.first, a.last + 1))
ts = [threading.Thread(target=worker, args=(ids[k::a.concurrency],)) for k in range(a.concurrency)]
for t in ts:
    t.start()
for t in ts:
    t.join()
for k in range(a.pipeline):
    i, j = 1000 + 2 * k, 1001 + 2 * k
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    s.sendall(("GET /r/%d HTTP/1.1\r\nHost: t\r\n\r\nGET /r/%d HTTP/1.1\r\nHost: t\r\n\r\n" % (i, j)).encode())
    f = s.makefile("rb")
    for want in (i, j):
        line = f.readline()
        n = 0
        while True:
            hl = f.readline()
            if hl in (b"\r\n", b""):
                break
            if hl.lower().startswith(b"content-length:"):
                n = int(hl.split(b":")[1])
        body = f.read(n).decode()
        if b" 200 " not in line or not body.endswith(":%d" % want):
            bad += 1
            print("bad pipelined answer %d: %r %r" % (want, line, body), file=sys.stderr)
    s.close()
print("client done bad %d" % bad)
sys.exit(1 if bad else 0)
