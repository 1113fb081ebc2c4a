#!/usr/bin/python3
"""Architecture "shellout": a CGI-style front. ThreadingHTTPServer; for GET /r/<id> the
handler thread runs "curl -s" as a child process to fetch /b/<id> from the backend (a new
connection from another process per request) and answers with its output.
"""
import argparse
import http.server
import os
import re
import signal
import subprocess
import sys

PATH_RE = re.compile(r"^/r/([0-9]+)$")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    base = None

    def do_GET(self):
        m = PATH_RE.match(self.path)
        if not m:
            return self._answer(400, b"svc: bad path\n")
        p = subprocess.run(["curl", "-s", "-f", "--max-time", "10", "%s/b/%s" % (self.base, m.group(1))],
                           stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self._answer(200 if p.returncode == 0 else 502, p.stdout)

    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        # Headers and body in one write (see backend.py).
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def log_message(self, fmt, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # The load's health checks close with RST: not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--backend", required=True, help="host:port")
    args = ap.parse_args()
    Handler.base = "http://" + args.backend
    srv = Server(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
