#!/usr/bin/python3
"""HTTPS over Python asyncio for test_tls_asyncio.sh (Debian's aiohttp; the ssl module's
SSLObject over a memory BIO: the event loop reads and writes the ciphertext itself).

  aiohttp_tls.py server --port-file F --cert C --key K [--uvloop]
      GET /t/<TAG> answers 200 "ok /t/<TAG>".
  aiohttp_tls.py client --port P [--uvloop] TAG...
      a plain TCP connect and close first (the agent attaches at the process's first
      record), a pause, then GET /t/<TAG>: the first half through one ClientSession
      (one keep-alive connection), the rest each on a new connection (force_close);
      the certificate is not verified. Exit 1 on a wrong answer (the workload, not the
      agent). Prints its pid's tags for the expect file: "TAG PID".
"""
import argparse
import asyncio
import os
import ssl
import sys

import aiohttp
from aiohttp import web


def serve(args):
    async def handler(req):
        return web.Response(text="ok " + req.path + "\n")

    async def main():
        app = web.Application()
        app.router.add_get("/t/{tag}", handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
        await asyncio.Event().wait()

    run(main(), args.uvloop)


def client(args):
    async def get(session, tag, ctx):
        path = "/t/" + tag
        async with session.get("https://127.0.0.1:%d%s" % (args.port, path), ssl=ctx) as r:
            body = await r.text()
            if r.status != 200 or path not in body:
                sys.exit("aiohttp_tls client: %s: got %d %r" % (path, r.status, body[:80]))

    async def main():
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _, w = await asyncio.open_connection("127.0.0.1", args.port)
        w.close()
        await asyncio.sleep(1.5)
        half = (len(args.tags) + 1) // 2
        async with aiohttp.ClientSession() as s:
            for tag in args.tags[:half]:
                await get(s, tag, ctx)
        for tag in args.tags[half:]:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
                await get(s, tag, ctx)

    run(main(), args.uvloop)
    for tag in args.tags:
        print(tag, os.getpid())


def run(coro, use_uvloop):
    if use_uvloop:
        import uvloop
        uvloop.install()
    asyncio.run(coro)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("server", "client"))
    p.add_argument("--port-file")
    p.add_argument("--port", type=int)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--uvloop", action="store_true")
    p.add_argument("tags", nargs="*")
    args = p.parse_intermixed_args()
    serve(args) if args.mode == "server" else client(args)


if __name__ == "__main__":
    main()
