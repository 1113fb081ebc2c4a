#!/usr/bin/python3
"""One tier of the integration-test service chain: a threaded HTTP/1.1 server.

GET /chain/<id>[/<variant>] is answered in the handler thread. With --downstream the
same path is requested from the next tier first (so the request id travels down the
chain) and that tier's status is passed back up; without it this tier is the leaf.
Leaf variants: notfound -> 404, fail -> 500, anything else -> 200.

Downstream connections are mixed on purpose, so the agent sees both kinds: ids divisible
by 3 go through urllib (a new connection, "Connection: close"), the others through a
shared pool of persistent http.client connections that any handler thread may take.

--accept-gate FILE / --accept-delay S: listen at once but accept only once FILE exists and
S seconds more have passed, like a JVM that binds early and starts serving late; the
connections made meanwhile wait in the accept queue (and health checks close there).

The listening port is chosen by the kernel (port 0 unless --port is given) and written to
--port-file once the socket listens, so there is no race between picking and binding.
"""
import argparse
import http.client
import http.server
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

PATH_RE = re.compile(r"^/chain/([0-9]+)(?:/([a-z]+))?$")
LEAF_STATUS = {"notfound": 404, "fail": 500}
TIMEOUT = 10.0


class Downstream:
    """Requests to the next tier: pooled keep-alive connections plus one-shot urllib."""

    def __init__(self, host, port, pool_max):
        self.host = host
        self.port = port
        self.pool_max = pool_max
        self.pool = []
        self.lock = threading.Lock()
        self.stats = {"pooled_new": 0, "pooled_reused": 0, "oneshot": 0, "retries": 0}
        hosttxt = "[%s]" % host if ":" in host else host
        self.base = "http://%s:%d" % (hosttxt, port)

    def _count(self, key):
        with self.lock:
            self.stats[key] += 1

    def _take(self):
        with self.lock:
            if self.pool:
                self.stats["pooled_reused"] += 1
                return self.pool.pop(), True
            self.stats["pooled_new"] += 1
        return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT), False

    def _give_back(self, conn):
        with self.lock:
            if len(self.pool) < self.pool_max:
                self.pool.append(conn)
                return
        conn.close()

    def get(self, path, rid):
        if rid % 3 == 0:
            return self._oneshot(path)
        return self._pooled(path)

    def _oneshot(self, path):
        self._count("oneshot")
        try:
            with urllib.request.urlopen(self.base + path, timeout=TIMEOUT) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            body = e.read()
            e.close()
            return e.code, body

    def _pooled(self, path):
        conn, reused = self._take()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            if not reused:
                raise
            # The next tier closed an idle pooled connection. Retrying is what real
            # pools do; it is counted and logged because the agent sees the failed attempt.
            self._count("retries")
            sys.stderr.write("retry of %s after the peer closed a pooled connection\n" % path)
            conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        if resp.will_close:
            conn.close()
        else:
            self._give_back(conn)
        return resp.status, body


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chain/1"

    def do_GET(self):
        m = PATH_RE.match(self.path)
        if not m:
            self._reply(400, b"bad path\n")
            return
        rid = int(m.group(1))
        if self.server.downstream is not None:
            try:
                status, body = self.server.downstream.get(self.path, rid)
            except (OSError, http.client.HTTPException) as e:
                sys.stderr.write("downstream %s failed: %r\n" % (self.path, e))
                self._reply(502, b"downstream failed\n")
                return
            self._reply(status, ("%s <- " % self.server.name).encode() + body[:200])
        else:
            self._reply(LEAF_STATUS.get(m.group(2), 200), ("%s leaf\n" % self.server.name).encode())

    def _reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        if self.server.log is not None:
            self.server.log.write("%.6f %s %s\n" % (time.time(), threading.current_thread().name, fmt % args))
            self.server.log.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    v4mapped = False

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            # Off only for the v4-mapped case (bound to ::ffff:127.0.0.1); a plain [::1]
            # listener stays v6-only.
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if self.v4mapped else 1)
        super().server_bind()


def split_hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True, help="address to bind: 127.0.0.1, ::1, ::ffff:127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: the kernel picks a free one")
    ap.add_argument("--downstream", help="HOST:PORT of the next tier ([v6]:PORT)")
    ap.add_argument("--name", default=os.environ.get("OTEL_SERVICE_NAME", "chain"))
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--pool", type=int, default=4, help="max idle pooled connections")
    ap.add_argument("--log", help="access log file")
    ap.add_argument("--accept-gate", help="accept nothing before this file exists")
    ap.add_argument("--accept-delay", type=float, default=0.0, help="seconds to wait before accepting (after the gate)")
    args = ap.parse_args()

    host = args.listen.strip("[]")
    Server.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
    Server.v4mapped = host.lower().startswith("::ffff:")
    srv = Server((host, args.port), Handler)
    srv.name = args.name
    srv.log = open(args.log, "a") if args.log else None
    srv.downstream = None
    if args.downstream:
        dhost, dport = split_hostport(args.downstream)
        srv.downstream = Downstream(dhost, dport, args.pool)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    # SIGTERM (how the harness stops us) ends serve_forever through SystemExit, so the
    # connection statistics the tests assert on are printed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        # The socket listens already: connections made now queue up unaccepted.
        if args.accept_gate:
            while not os.path.exists(args.accept_gate):
                time.sleep(0.02)
        if args.accept_delay > 0:
            time.sleep(args.accept_delay)
        sys.stderr.write("accepting\n")
        sys.stderr.flush()
        srv.serve_forever(poll_interval=0.2)
    finally:
        if srv.downstream is not None:
            sys.stderr.write("downstream stats %s\n" % " ".join("%s=%d" % kv for kv in sorted(srv.downstream.stats.items())))
            sys.stderr.flush()


if __name__ == "__main__":
    main()
