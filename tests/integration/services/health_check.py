#!/usr/bin/python3
"""Readiness/health probes as orchestrators and load balancers make them: a plain TCP
connect, then close, no bytes. Every --rst-every'th probe closes with SO_LINGER 0 (an
RST); the rest with a FIN. A probe to a server that is not yet accepting is closed while
the connection still waits in the accept queue: the server accepts it later, already
reset (TCP_CLOSE) or half-closed.

Runs --count probes --interval-ms apart (or until --stop-file exists, with --count 0), then
prints "probes N rst R fin F" and exits 0. A probe whose connect fails is an error.
"""
import argparse
import os
import socket
import struct
import sys
import time


def probe(host, port, rst):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.settimeout(5.0)
        s.connect((host, port))
        if rst:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=10, help="0: until --stop-file exists")
    ap.add_argument("--interval-ms", type=float, default=20.0)
    ap.add_argument("--rst-every", type=int, default=2, help="every Nth probe resets (1: all)")
    ap.add_argument("--stop-file")
    args = ap.parse_args()

    n = rst = 0
    while True:
        if args.count and n >= args.count:
            break
        if not args.count and args.stop_file and os.path.exists(args.stop_file):
            break
        is_rst = args.rst_every > 0 and n % args.rst_every == 0
        probe(args.host, args.port, is_rst)
        n += 1
        rst += is_rst
        time.sleep(args.interval_ms / 1000.0)
    print("probes %d rst %d fin %d" % (n, rst, n - rst))


if __name__ == "__main__":
    main()
