#!/usr/bin/python3
"""Services for test_waits.sh, each with one controllable cause of waiting.

server PORT MODE [DOWNSTREAM]   single-threaded HTTP/1.1 keep-alive server; MODE:
    slow      handler sleeps 30 ms (accept queue grows behind it)
    lateread  sleeps 50 ms before each read (request waits in the receive queue)
    burn      burns 30 ms of CPU per request
    proxy     calls http://DOWNSTREAM/ per request (blocked on a downstream)
relay LISTEN_ADDR PORT TARGET_PORT DELAY_MS   forwards to 127.0.0.1:TARGET_PORT, holding
    every chunk DELAY_MS before passing it on (a slow network path)
burst PORT N [D]   N connections at once, one request each, sent D s after connecting
keepalive HOST PORT N [GAP_S]   N requests on one connection, GAP_S apart
"""
import socket
import sys
import threading
import time

RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def read_request(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(4096)
        if not d:
            return None
        buf += d
    return buf


def call(host, port, path="/down"):
    s = socket.create_connection((host, port))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: d\r\n\r\n")
    got = b""
    while not got.endswith(b"ok"):
        d = s.recv(4096)
        if not d:
            break
        got += d
    s.close()


def server(port, mode, downstream=None):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    print("ready", flush=True)
    while True:
        c, _ = ls.accept()
        while True:
            if mode == "lateread":
                time.sleep(0.05)
            if read_request(c) is None:
                break
            if mode == "slow":
                time.sleep(0.03)
            elif mode == "burn":
                t = time.thread_time()
                while time.thread_time() - t < 0.03:
                    pass
            elif mode == "proxy":
                h, p = downstream.rsplit(":", 1)
                call(h, int(p))
            c.sendall(RESP)
        c.close()


def relay(addr, port, target, delay_ms):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(64)
    print("ready", flush=True)

    def pump(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    b.shutdown(socket.SHUT_WR)
                    return
                time.sleep(delay_ms / 1000.0)
                b.sendall(d)
        except OSError:
            return

    while True:
        c, _ = ls.accept()
        u = socket.create_connection(("127.0.0.1", target))
        threading.Thread(target=pump, args=(c, u), daemon=True).start()
        threading.Thread(target=pump, args=(u, c), daemon=True).start()


def burst(port, n, delay=0.0):
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    time.sleep(delay)  # connected, not sent yet: the handshake is inside both spans
    for s in socks:
        s.sendall(b"GET /burst HTTP/1.1\r\nHost: x\r\n\r\n")
    for s in socks:
        got = b""
        while not got.endswith(b"ok"):
            d = s.recv(4096)
            if not d:
                break
            got += d
        s.close()


def keepalive(host, port, n, gap):
    s = socket.create_connection((host, port))
    for i in range(n):
        s.sendall(b"GET /ka%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
        got = b""
        while not got.endswith(b"ok"):
            d = s.recv(4096)
            if not d:
                raise SystemExit("closed")
            got += d
        time.sleep(gap)
    s.close()


if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "server":
        server(int(a[0]), a[1], a[2] if len(a) > 2 else None)
    elif cmd == "relay":
        relay(a[0], int(a[1]), int(a[2]), int(a[3]))
    elif cmd == "burst":
        burst(int(a[0]), int(a[1]), float(a[2]) if len(a) > 2 else 0.0)
    elif cmd == "keepalive":
        keepalive(a[0], int(a[1]), int(a[2]), float(a[3]) if len(a) > 3 else 0.0)
