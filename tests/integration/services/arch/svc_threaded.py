#!/usr/bin/python3
"""Architecture "threaded" (the control): http.server.ThreadingHTTPServer, one thread per
client connection; GET /r/<id> is answered by that thread after it called the backend
(GET /b/<id>) with http.client on a keep-alive connection owned by the same client
connection's thread. Answers with the backend's body.
"""
import argparse
import http.client
import http.server
import os
import re
import signal
import sys

PATH_RE = re.compile(r"^/r/([0-9]+)$")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    backend = None  # (host, port)

    def setup(self):
        super().setup()
        self.down = None

    def finish(self):
        if self.down is not None:
            self.down.close()
        super().finish()

    def do_GET(self):
        m = PATH_RE.match(self.path)
        if not m:
            return self._answer(400, b"svc: bad path\n")
        if self.down is None:
            self.down = http.client.HTTPConnection(*self.backend, timeout=10)
        self.down.request("GET", "/b/%s" % m.group(1))
        resp = self.down.getresponse()
        body = resp.read()
        if resp.will_close:
            self.down.close()
            self.down = None
        self._answer(resp.status, body)

    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        # Headers and body in one write: two small writes on a keep-alive connection
        # would wait for the peer's delayed ACK (Nagle), 40 ms per request.
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
    host, _, port = args.backend.rpartition(":")
    Handler.backend = (host, int(port))
    srv = Server(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
