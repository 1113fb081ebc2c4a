#!/usr/bin/python3
"""gRPC server and client for test_proto_grpc.sh (python3-grpcio, insecure h2c, no protoc).

The service wirespan.test.Echo is registered with grpc's generic handlers and bytes in,
bytes out (identity serializers), so no generated code is needed:

  Get      unary; the request says what to answer: "ok:..." -> OK, "notfound:..." ->
           NOT_FOUND, "internal:..." -> INTERNAL, "invalid:..." -> INVALID_ARGUMENT
  List     server-streaming: STREAM_N messages
  Upload   client-streaming: consumes every message, answers with their count
  Chat     bidi: one answer per message

Every message carries the run's payload marker (--marker), which must never show up in
the agent's output. Handlers sleep HANDLER_SLEEP so the calls of a round overlap on the
one connection (HTTP/2 streams really interleave).

  server: grpc_echo.py server --port-file F --marker-file F --log F
          (listens on 127.0.0.1, the kernel picks the port; the log gets one JSON line
          per call: method, the client's peer string, the request's traceparent)
  client: grpc_echo.py client --port P --marker-file F --manifest F [--rounds N]
          (one channel, so one TCP connection, connected first; --settle S waits S
          seconds before the first call; rounds of concurrent calls, a pause between
          rounds; the manifest holds every call: round, method, expected and
          received code, traceparent sent, wall-clock start/end ns)
The client fails (exit 1) when a call got anything but the expected answer, so a broken
workload is never blamed on the agent.
"""
import argparse
import json
import os
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "wirespan.test.Echo"
STREAM_N = 5
HANDLER_SLEEP = 0.03
ERRORS = {
    "notfound": (grpc.StatusCode.NOT_FOUND, "no such item"),
    "internal": (grpc.StatusCode.INTERNAL, "backend exploded"),
    "invalid": (grpc.StatusCode.INVALID_ARGUMENT, "bad argument"),
}


def ident(b):
    return b


# ---- server ---------------------------------------------------------------------------

def serve(args):
    marker = args.marker.encode()
    log_lock = threading.Lock()
    logf = open(args.log, "a", buffering=1)

    def log(method, ctx):
        md = dict(ctx.invocation_metadata())
        with log_lock:
            logf.write(json.dumps({"method": method, "peer": ctx.peer(),
                                   "traceparent": md.get("traceparent")}) + "\n")

    def get(req, ctx):
        log("Get", ctx)
        time.sleep(HANDLER_SLEEP)
        kind = req.split(b":", 1)[0].decode()
        if kind in ERRORS:
            code, msg = ERRORS[kind]
            ctx.abort(code, msg)
        return b"reply:" + marker + b":" + req

    def list_(req, ctx):
        log("List", ctx)
        for i in range(STREAM_N):
            time.sleep(HANDLER_SLEEP / STREAM_N)
            yield b"item%d:" % i + marker

    def upload(it, ctx):
        log("Upload", ctx)
        n = 0
        for m in it:
            if marker not in m:
                ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "unmarked message")
            n += 1
        time.sleep(HANDLER_SLEEP)
        return b"count:%d:" % n + marker

    def chat(it, ctx):
        log("Chat", ctx)
        for m in it:
            yield b"echo:" + m

    handlers = {
        "Get": grpc.unary_unary_rpc_method_handler(get, ident, ident),
        "List": grpc.unary_stream_rpc_method_handler(list_, ident, ident),
        "Upload": grpc.stream_unary_rpc_method_handler(upload, ident, ident),
        "Chat": grpc.stream_stream_rpc_method_handler(chat, ident, ident),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32),
                         handlers=[grpc.method_handlers_generic_handler(SERVICE, handlers)])
    if args.tls_cert:
        with open(args.tls_key, "rb") as k, open(args.tls_cert, "rb") as c:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        port = server.add_secure_port("127.0.0.1:0", creds)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    if not port:
        sys.exit("cannot bind")
    server.start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    stop = threading.Event()
    import signal
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    stop.wait()
    server.stop(1).wait()


# ---- client ---------------------------------------------------------------------------

class Calls:
    def __init__(self, channel, marker):
        self.ch = channel
        self.marker = marker.encode()
        self.lock = threading.Lock()
        self.calls = []
        self.failures = []
        self.seq = 0

    def _tp(self):
        with self.lock:
            self.seq += 1
            n = self.seq
        tid = os.urandom(16).hex()
        sid = os.urandom(8).hex()
        return "00-%s-%s-01" % (tid, sid), n

    def run(self, rnd, method, kind, expect, with_tp):
        """One call, blocking; records it in the manifest."""
        tp, n = self._tp()
        md = [("traceparent", tp)] if with_tp else None
        m = self.marker
        path = "/%s/%s" % (SERVICE, method)
        t0 = time.time_ns()
        got, ok_body = None, False
        try:
            if method == "Get":
                f = self.ch.unary_unary(path, ident, ident)
                r = f(b"%s:%d:" % (kind.encode(), n) + m, metadata=md, timeout=10)
                ok_body = r.startswith(b"reply:" + m)
            elif method == "List":
                f = self.ch.unary_stream(path, ident, ident)
                items = list(f(b"list:%d:" % n + m, metadata=md, timeout=10))
                ok_body = len(items) == STREAM_N and all(m in x for x in items)
            elif method == "Upload":
                f = self.ch.stream_unary(path, ident, ident)
                r = f(iter([b"part%d:" % i + m for i in range(4)]), metadata=md, timeout=10)
                ok_body = r == b"count:4:" + m
            elif method == "Chat":
                f = self.ch.stream_stream(path, ident, ident)
                out = list(f(iter([b"msg%d:" % i + m for i in range(3)]), metadata=md, timeout=10))
                ok_body = len(out) == 3 and all(x.startswith(b"echo:msg") for x in out)
            elif method == "Missing":
                f = self.ch.unary_unary(path, ident, ident)
                f(b"missing:" + m, metadata=md, timeout=10)
            got = "OK"
        except grpc.RpcError as e:
            got = e.code().name
        t1 = time.time_ns()
        rec = {"round": rnd, "method": "%s/%s" % (SERVICE, method), "kind": kind,
               "expect": expect, "got": got, "traceparent": tp if with_tp else None,
               "start_ns": t0, "end_ns": t1}
        with self.lock:
            self.calls.append(rec)
            if got != expect or (got == "OK" and not ok_body):
                self.failures.append(rec)


def client(args):
    opts = [("grpc.enable_retries", 0)]
    if args.tls_cert:
        with open(args.tls_cert, "rb") as c:
            creds = grpc.ssl_channel_credentials(root_certificates=c.read())
        ch = grpc.secure_channel("127.0.0.1:%d" % args.port, creds, options=opts)
    else:
        ch = grpc.insecure_channel("127.0.0.1:%d" % args.port, options=opts)
    grpc.channel_ready_future(ch).result(timeout=10)
    time.sleep(args.settle)
    calls = Calls(ch, args.marker)
    # One round: every kind of call at once on the one connection.
    plan = [
        ("Get", "ok", "OK"),
        ("Get", "notfound", "NOT_FOUND"),
        ("Get", "internal", "INTERNAL"),
        ("Get", "invalid", "INVALID_ARGUMENT"),
        ("List", "stream", "OK"),
        ("Upload", "stream", "OK"),
        ("Chat", "stream", "OK"),
        ("Missing", "missing", "UNIMPLEMENTED"),
    ]
    for rnd in range(args.rounds):
        threads = []
        for i, (method, kind, expect) in enumerate(plan):
            # traceparent on every other call, alternating between rounds
            with_tp = (i + rnd) % 2 == 0
            t = threading.Thread(target=calls.run, args=(rnd, method, kind, expect, with_tp))
            threads.append(t)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(args.pause)
    ch.close()
    calls.calls.sort(key=lambda c: (c["round"], c["start_ns"]))
    with open(args.manifest, "w") as f:
        json.dump({"client_pid": os.getpid(), "calls": calls.calls}, f, indent=1)
    print("grpc client: %d calls, %d wrong" % (len(calls.calls), len(calls.failures)))
    for r in calls.failures[:10]:
        print("wrong answer: %s" % json.dumps(r), file=sys.stderr)
    sys.exit(1 if calls.failures else 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("server", "client"))
    p.add_argument("--port-file")
    p.add_argument("--log")
    p.add_argument("--port", type=int)
    p.add_argument("--marker-file", required=True)
    p.add_argument("--manifest")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--pause", type=float, default=0.2)
    p.add_argument("--settle", type=float, default=0.0)
    p.add_argument("--tls-cert", help="TLS with this PEM certificate (server and client)")
    p.add_argument("--tls-key", help="the server's PEM key (with --tls-cert)")
    args = p.parse_args()
    # From a file, not argv: the agent reports command lines, and the marker must be
    # found in its output only if payload leaked.
    with open(args.marker_file) as f:
        args.marker = f.read().strip()
    serve(args) if args.mode == "server" else client(args)


if __name__ == "__main__":
    main()
