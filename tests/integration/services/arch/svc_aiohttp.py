#!/usr/bin/python3
"""Architecture "aiohttp": the way asyncio web services are usually built.

An aiohttp web application (aiohttp serves each request in a task of its own) whose
handler for GET /r/<id> calls the backend (GET /b/<id>) through one shared
aiohttp.ClientSession (a pooled connector: at most --limit connections to the backend,
kept alive and reused; callers queue for a free one) and answers with the backend's
body. --uvloop runs it on uvloop (libuv) instead of asyncio's own loop.
"""
import argparse
import asyncio
import os
import re
import signal

import aiohttp
from aiohttp import web

PATH_RE = re.compile(r"^/r/([0-9]+)$")


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--backend", required=True, help="host:port")
    ap.add_argument("--limit", type=int, default=8, help="connections to the backend at most")
    ap.add_argument("--uvloop", action="store_true")
    args = ap.parse_args()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.limit))

    async def handle(request):
        m = PATH_RE.match(request.path)
        if not m:
            return web.Response(status=400, text="svc: bad request\n")
        try:
            async with session.get("http://%s/b/%s" % (args.backend, m.group(1))) as r:
                body = await r.read()
                return web.Response(status=r.status, body=body, content_type="text/plain")
        except aiohttp.ClientError as e:
            return web.Response(status=502, text="svc: backend failed: %s\n" % e)

    app = web.Application()
    app.router.add_get("/r/{id}", handle)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=120)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=256)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(args.port_file + ".tmp", args.port_file)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    await stop
    await session.close()
    await runner.cleanup()


if __name__ == "__main__":
    import sys
    if "--uvloop" in sys.argv:
        import uvloop
        uvloop.install()
    asyncio.run(main())
