#!/usr/bin/python3
"""Architecture "pool": an I/O thread hands requests to a ThreadPoolExecutor.

The I/O thread (selectors) accepts connections and reads requests (a minimal HTTP/1.1
parser: GET, no bodies). A complete request is submitted to a pool of --workers threads,
and its connection leaves the selector while the request is in the pool. The worker
calls the backend (GET /b/<id>) with http.client on a keep-alive connection of its own
thread and writes the response itself (the common way: whoever has the answer writes
it), then hands a keep-alive connection back to the I/O thread (queue + wake-up pipe).
So the request is read on one thread and the backend call and the response happen on
another.

With --answer io the worker hands the response back to the I/O thread, which writes it
(the other common way): read and answer on one thread, the backend call on another.
"""
import argparse
import concurrent.futures
import http.client
import os
import queue
import re
import selectors
import signal
import socket
import sys
import threading

PATH_RE = re.compile(rb"^GET /r/([0-9]+) HTTP/1\.[01]$")


class Service:
    def __init__(self, backend, workers, answer):
        self.backend = backend
        self.answer = answer
        self.sel = selectors.DefaultSelector()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="worker")
        self.local = threading.local()
        self.back = queue.Queue()  # connections the workers hand back
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        self.bufs = {}

    def backend_get(self, path):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(*self.backend, timeout=10)
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        if resp.will_close:
            conn.close()
            self.local.conn = None
        return resp.status, body

    def work(self, sock, line, close, rest):
        """In a pool thread: call the backend, write the response, hand the connection back."""
        try:
            m = PATH_RE.match(line)
            status, body = self.backend_get("/b/%s" % m.group(1).decode()) if m else (400, b"svc: bad request\n")
            resp = (b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s"
                    % (status, b"OK" if status == 200 else b"Error", len(body),
                       b"Connection: close\r\n" if close else b"", body))
            if self.answer == "io":
                self.back.put((sock, rest, resp, close))
                os.write(self.wake_w, b"x")
                return
            sock.setblocking(True)
            sock.sendall(resp)
        except Exception as e:
            sys.stderr.write("worker: %r\n" % e)
            close = True
        if close:
            sock.close()
            return
        self.back.put((sock, rest, None, False))
        os.write(self.wake_w, b"x")

    def readable(self, sock):
        try:
            data = sock.recv(65536)
        except ConnectionError:
            data = b""
        if not data:
            self.sel.unregister(sock)
            self.bufs.pop(sock, None)
            sock.close()
            return
        self.bufs[sock] += data
        self.dispatch(sock)

    def dispatch(self, sock):
        buf = self.bufs[sock]
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if not sep:
            return
        lines = head.split(b"\r\n")
        close = any(l.lower().replace(b" ", b"") == b"connection:close" for l in lines[1:])
        # The connection is the worker's until it hands it back.
        self.sel.unregister(sock)
        del self.bufs[sock]
        self.pool.submit(self.work, sock, lines[0], close, rest)

    def serve(self, lsock):
        self.sel.register(lsock, selectors.EVENT_READ, "accept")
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        while True:
            for key, _ in self.sel.select():
                if key.data == "accept":
                    try:
                        s, _ = lsock.accept()
                    except BlockingIOError:
                        continue
                    s.setblocking(False)
                    self.bufs[s] = b""
                    self.sel.register(s, selectors.EVENT_READ, "conn")
                elif key.data == "wake":
                    try:
                        os.read(self.wake_r, 4096)
                    except BlockingIOError:
                        pass
                    while not self.back.empty():
                        s, rest, resp, close = self.back.get()
                        if resp is not None:
                            s.setblocking(True)
                            try:
                                s.sendall(resp)
                            except OSError:
                                close = True
                        if close:
                            s.close()
                            continue
                        s.setblocking(False)
                        self.bufs[s] = rest
                        self.sel.register(s, selectors.EVENT_READ, "conn")
                        if rest:
                            self.dispatch(s)
                else:
                    self.readable(key.fileobj)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--backend", required=True, help="host:port")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--answer", choices=("worker", "io"), default="worker",
                    help="who writes the response: the worker (default) or the I/O thread")
    args = ap.parse_args()
    host, _, port = args.backend.rpartition(":")
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(256)
    lsock.setblocking(False)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    Service((host, int(port)), args.workers, args.answer).serve(lsock)


if __name__ == "__main__":
    main()
