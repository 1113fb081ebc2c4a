#!/usr/bin/python3
"""Architecture "asyncio": one event loop thread, stdlib only.

asyncio.start_server with a minimal HTTP/1.1 parser (GET, no request bodies, keep-alive
unless "Connection: close"). GET /r/<id> calls the backend (GET /b/<id>) over
asyncio.open_connection, taking a connection from a small keep-alive pool (at most
--pool idle connections are kept; more are opened while all are busy) and answers with
the backend's body.

Variants (the ways asyncio servers are written): --fanout makes the three calls
/b/<id>/0..2 at once (asyncio.gather: a child task each); --task-per-request serves
each request in a task of its own, created once its head is read (aiohttp, uvicorn);
--background MS starts a short task every MS ms that calls the backend (GET /b/bg) for
nobody's request and ends, so that contexts are freed and reused all the time.
"""
import argparse
import asyncio
import os
import random
import re
import signal

PATH_RE = re.compile(rb"^GET /r/([0-9]+) HTTP/1\.[01]$")


class Pool:
    def __init__(self, host, port, keep):
        self.host, self.port, self.keep = host, port, keep
        self.idle = []

    async def get(self, path):
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(b"GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (path, self.host.encode(), self.port))
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(b":") for l in lines[1:] if l)}
        body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
        if headers.get(b"connection", b"").lower() != b"close" and len(self.idle) < self.keep:
            self.idle.append((reader, writer))
        else:
            writer.close()
        return status, body


async def serve_one(lines, close, writer, pool, args):
    m = PATH_RE.match(lines[0])
    if m:
        k = int(m.group(1)) % 4
        if args.jitter and k == 3:
            await asyncio.sleep(random.random() * 0.002)   # the call from a timer
        if args.fanout:
            answers = await asyncio.gather(*(pool.get(b"/b/%s/%d" % (m.group(1), i)) for i in range(3)))
            bad = [s for s, _ in answers if s != 200]
            status, body = (bad[0] if bad else 200), b"".join(b for _, b in answers)
        else:
            status, body = await pool.get(b"/b/" + m.group(1))
        if args.jitter and k == 2:
            await asyncio.sleep(random.random() * 0.003)   # the answer from a timer
    else:
        status, body = 400, b"svc: bad request\n"
    reason = b"OK" if status == 200 else b"Error"
    writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s"
                 % (status, reason, len(body), b"Connection: close\r\n" if close else b"", body))
    await writer.drain()


async def handle(reader, writer, pool, args):
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.split(b"\r\n")
            close = any(l.lower().replace(b" ", b"") == b"connection:close" for l in lines[1:])
            if args.task_per_request:
                await asyncio.create_task(serve_one(lines, close, writer, pool, args))
            else:
                await serve_one(lines, close, writer, pool, args)
            if close:
                return
    finally:
        writer.close()


async def background(pool, every_ms):
    """A short task every every_ms: one backend call for nobody's request."""
    async def once():
        try:
            await pool.get(b"/b/bg")
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
    while True:
        await asyncio.sleep(every_ms / 1000.0)
        asyncio.create_task(once())


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--backend", required=True, help="host:port")
    ap.add_argument("--pool", type=int, default=8, help="idle backend connections kept")
    ap.add_argument("--jitter", action="store_true",
                    help="by request id mod 4: the backend call (3) or the answer (2) after a short sleep")
    ap.add_argument("--fanout", action="store_true", help="three backend calls at once (asyncio.gather)")
    ap.add_argument("--task-per-request", action="store_true", help="each request in a task of its own")
    ap.add_argument("--background", type=float, default=0, metavar="MS",
                    help="a task calling GET /b/bg every MS ms")
    args = ap.parse_args()
    host, _, port = args.backend.rpartition(":")
    pool = Pool(host, int(port), args.pool)
    server = await asyncio.start_server(lambda r, w: handle(r, w, pool, args), "127.0.0.1", 0, backlog=256)
    if args.background > 0:
        bg = asyncio.create_task(background(pool, args.background))  # noqa: F841 (kept alive)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.sockets[0].getsockname()[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with server:
        await stop


if __name__ == "__main__":
    asyncio.run(main())
