#!/usr/bin/python3
"""Backend of the architecture tests: a threaded HTTP/1.1 keep-alive server.

GET /b/<id>[/<k>] sleeps a random 1-20 ms (so requests of different ids overlap inside
the service in front of it) and answers 200 with the body "ok <path>\n". Anything else
is a 400. The port is chosen by the kernel and written to --port-file once listening.
On SIGTERM it prints "backend stats requests=N connections=M" (the tests check that the
service really reused its connections).
"""
import argparse
import http.server
import os
import random
import re
import signal
import sys
import threading
import time

PATH_RE = re.compile(r"^/b/[0-9]+(/[0-9]+)?$")
STATS = {"requests": 0, "connections": 0}
STATS_LOCK = threading.Lock()


def count(key):
    with STATS_LOCK:
        STATS[key] += 1


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the caller says close

    def setup(self):
        super().setup()
        count("connections")

    def do_GET(self):
        count("requests")
        if not PATH_RE.match(self.path):
            self._answer(400, b"backend: bad path %s\n" % self.path.encode())
            return
        time.sleep(random.uniform(0.001, 0.020))
        self._answer(200, b"ok %s\n" % self.path.encode())

    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        # Headers and body in one write: two small writes on a keep-alive connection
        # would wait for the peer's delayed ACK (Nagle), 40 ms per request.
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def log_message(self, fmt, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 64 callers opening new connections at once

    def handle_error(self, request, client_address):
        # The load's health checks close with RST: not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        sys.stderr.write("backend stats requests=%d connections=%d\n" % (STATS["requests"], STATS["connections"]))
        sys.stderr.flush()


if __name__ == "__main__":
    main()
