#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# An uninstrumented HTTP/1.1 tier (ThreadingHTTPServer, keep-alive) for
# test_sdk_coexist.sh: GET /x/<id> -> [GET DOWN/x/<id> on a per-thread keep-alive
# connection] -> 200 "<name>:<id>[ <down body>]". Records the traceparent it received.
#   py_tier.py PORT_FILE NAME [DOWN_URL]
import http.client, http.server, sys, threading, urllib.parse

port_file, name = sys.argv[1], sys.argv[2]
down = urllib.parse.urlsplit(sys.argv[3]) if len(sys.argv) > 3 else None
local = threading.local()

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        ident = self.path.rsplit("/", 1)[-1]
        body = "%s:%s" % (name, ident)
        if down:
            c = getattr(local, "c", None)
            reused = c is not None
            if c is None:
                c = local.c = http.client.HTTPConnection(down.hostname, down.port, timeout=10)
            try:
                c.request("GET", "/x/" + ident)
                r = c.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed while it sat idle (its
                # keep-alive timeout passed between scenarios): what any pooled client
                # does, once, on a fresh connection. A fresh connection is not retried.
                if not reused:
                    raise
                c.close()
                c = local.c = http.client.HTTPConnection(down.hostname, down.port, timeout=10)
                c.request("GET", "/x/" + ident)
                r = c.getresponse()
            body += " " + r.read().decode()
        b = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
