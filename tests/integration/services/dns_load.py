#!/usr/bin/python3
"""DNS load for test_proto_dns.sh (dnspython against dnsmasq on 127.0.0.1:PORT).

  dns_load.py client --port P --manifest F [--http-port H --http-count N] [--udp-only]
      Queries, every name unique (the checker finds a query's span by its name):
      - dns.query.udp, unconnected socket: A and AAAA (answered), NXDOMAIN, REFUSED (a
        name dnsmasq has no upstream for), SERVFAIL (a domain forwarded to an upstream
        that answers SERVFAIL: dns_load.py upstream);
      - one unconnected socket, 6 queries sent at once, the answers read in whatever
        order they come (pairing by id);
      - a connected UDP socket (send/recv);
      - dns.query.tcp: A and NXDOMAIN, each on its own connection; and two queries
        pipelined on one connection (not with --udp-only);
      - first, a query to a domain whose upstream never answers, given up after 1 s and
        its socket closed (rcode null: a CLIENT span that is an error); the client
        exits no earlier than --linger (6) s after it, past the agent's 5 s DNS timeout
        (not with --udp-only or --no-unanswered, which leave it out).
      Then, with --http-port, N GET /dns/<id> to the threaded HTTP service, whose
      handler resolves dns-<id>.example.test before it answers.
      The manifest lists every query (name, type, transport, rcode, answer count as
      received, pid, wall-clock window; http_id for the service's) and the HTTP
      requests. Exit 1 when an answer is not the expected one (a workload problem).
  dns_load.py http --port P --port-file F
      ThreadingHTTPServer on 127.0.0.1 (port chosen by the kernel, written to F); GET
      /dns/<id> resolves dns-<id>.example.test (A, over UDP, in the handler thread) and
      answers 200 with the address; it logs each query to stdout as a JSON line.
  dns_load.py upstream --port-file F
      A UDP "upstream" that answers SERVFAIL to everything.
"""
import argparse
import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.request

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

TIMEOUT = 5.0


def write_port(path, port):
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(path + ".tmp", path)


def summary(r):
    return dns.rcode.to_text(r.rcode()), sum(len(rr) for rr in r.answer)


class Load:
    def __init__(self, port):
        self.port = port
        self.queries = []
        self.errors = []

    def record(self, name, qtype, transport, r, t0, t1, expect, **extra):
        rcode, n = summary(r) if r is not None else (None, None)
        q = {"name": name, "type": qtype, "transport": transport, "rcode": rcode, "answers": n,
             "pid": os.getpid(), "start_ns": t0, "end_ns": t1, "server_port": self.port}
        q.update(extra)
        self.queries.append(q)
        if rcode != expect:
            self.errors.append("%s %s over %s: %s, expected %s" % (name, qtype, transport, rcode, expect))

    def udp(self, name, qtype, expect):
        q = dns.message.make_query(name, qtype)
        t0 = time.time_ns()
        r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=TIMEOUT)
        self.record(name, qtype, "udp", r, t0, time.time_ns(), expect)

    def tcp(self, name, qtype, expect):
        q = dns.message.make_query(name, qtype)
        t0 = time.time_ns()
        r = dns.query.tcp(q, "127.0.0.1", port=self.port, timeout=TIMEOUT)
        self.record(name, qtype, "tcp", r, t0, time.time_ns(), expect)

    def udp_batch(self, names):
        """Several queries in flight on one unconnected socket; answers in any order."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(TIMEOUT)
        qs = {}
        t0 = time.time_ns()
        for name in names:
            q = dns.message.make_query(name, "A")
            qs[q.id] = (name, q)
            dns.query.send_udp(s, q, ("127.0.0.1", self.port))
        got = {}
        while len(got) < len(qs):
            w, _ = s.recvfrom(65535)
            r = dns.message.from_wire(w)
            got[r.id] = r
        t1 = time.time_ns()
        s.close()
        for qid, (name, q) in qs.items():
            self.record(name, "A", "udp", got[qid], t0, t1, "NOERROR", batch=True)

    def udp_connected(self, name):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", self.port))
        q = dns.message.make_query(name, "A")
        t0 = time.time_ns()
        s.send(q.to_wire())
        r = dns.message.from_wire(s.recv(65535))
        t1 = time.time_ns()
        s.close()
        self.record(name, "A", "udp", r, t0, t1, "NOERROR", connected=True)

    def tcp_pipelined(self, names):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        t0 = time.time_ns()
        qs = [dns.message.make_query(n, "A") for n in names]
        for q in qs:
            dns.query.send_tcp(s, q)
        got = {}
        for _ in qs:
            r, _ = dns.query.receive_tcp(s, expiration=time.time() + TIMEOUT)
            got[r.id] = r
        t1 = time.time_ns()
        s.close()
        for n, q in zip(names, qs):
            self.record(n, "A", "tcp", got.get(q.id), t0, t1, "NOERROR", pipelined=True)

    def unanswered(self, name):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)   # dnspython's timeout works only on a non-blocking socket
        q = dns.message.make_query(name, "A")
        t0 = time.time_ns()
        try:
            dns.query.udp(q, "127.0.0.1", port=self.port, timeout=1.0, sock=s)
            self.errors.append("%s was answered; the test wanted no answer" % name)
        except dns.exception.Timeout:
            pass
        s.close()
        t1 = time.time_ns()
        self.record(name, "A", "udp", None, t0, t1, None, unanswered=True)


def client(args):
    ld = Load(args.port)
    unanswered = not args.udp_only and not args.no_unanswered
    if unanswered:
        ld.unanswered("w1.dead.test")
        t_unanswered = time.time()
    ld.udp("u1.example.test", "A", "NOERROR")
    ld.udp("u2.example.test", "AAAA", "NOERROR")
    ld.udp("u3.nx.test", "A", "NXDOMAIN")
    ld.udp("u4.other.test", "A", "REFUSED")
    ld.udp("u5.fail.test", "A", "SERVFAIL")
    ld.udp_batch(["b%d.example.test" % i for i in range(6)])
    ld.udp_connected("c1.example.test")
    if not args.udp_only:
        ld.tcp("t1.example.test", "A", "NOERROR")
        ld.tcp("t2.nx.test", "A", "NXDOMAIN")
        ld.tcp_pipelined(["p1.example.test", "p2.example.test"])
    http = []
    if args.http_port:
        for i in range(args.http_count):
            hid = 500 + i
            path = "/dns/%d" % hid
            t0 = time.time_ns()
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (args.http_port, path), timeout=10) as r:
                body = r.read().decode()
            t1 = time.time_ns()
            info = json.loads(body)
            http.append({"id": hid, "path": path, "start_ns": t0, "end_ns": t1})
            # the handler's query, as the handler reported it, in the service's pid
            ld.queries.append({"name": info["name"], "type": "A", "transport": "udp",
                               "rcode": info["rcode"], "answers": info["answers"], "pid": info["pid"],
                               "start_ns": info["start_ns"], "end_ns": info["end_ns"],
                               "server_port": args.port, "http_id": hid})
            if info["rcode"] != "NOERROR":
                ld.errors.append("service query %s: %s" % (info["name"], info["rcode"]))
    if unanswered:
        # The unanswered query's socket is closed, and the agent sees no close of a UDP
        # socket: only its 5 s timeout can end that query. Stay until it has passed.
        time.sleep(max(0.0, t_unanswered + args.linger - time.time()))
    with open(args.manifest, "w") as f:
        json.dump({"queries": ld.queries, "http": http, "errors": ld.errors}, f, indent=1)
    print("dns client: %d queries, %d HTTP requests, %d errors" % (len(ld.queries), len(http), len(ld.errors)))
    for e in ld.errors:
        print(e, file=sys.stderr)
    sys.exit(1 if ld.errors else 0)


def http_server(args):
    dns_port = args.port

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            hid = self.path.rsplit("/", 1)[-1]
            name = "dns-%s.example.test" % hid
            q = dns.message.make_query(name, "A")
            t0 = time.time_ns()
            r = dns.query.udp(q, "127.0.0.1", port=dns_port, timeout=TIMEOUT)
            t1 = time.time_ns()
            rcode, n = summary(r)
            body = json.dumps({"name": name, "rcode": rcode, "answers": n, "pid": os.getpid(),
                               "start_ns": t0, "end_ns": t1}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    write_port(args.port_file, srv.server_address[1])
    srv.serve_forever()


def upstream(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    write_port(args.port_file, s.getsockname()[1])
    while True:
        w, peer = s.recvfrom(65535)
        try:
            q = dns.message.from_wire(w)
        except Exception:
            continue
        r = dns.message.make_response(q)
        r.set_rcode(dns.rcode.SERVFAIL)
        s.sendto(r.to_wire(), peer)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("client", "http", "upstream"))
    ap.add_argument("--port", type=int)
    ap.add_argument("--port-file")
    ap.add_argument("--manifest")
    ap.add_argument("--http-port", type=int)
    ap.add_argument("--http-count", type=int, default=8)
    ap.add_argument("--udp-only", action="store_true")
    ap.add_argument("--no-unanswered", action="store_true")
    ap.add_argument("--linger", type=float, default=6.0,
                    help="seconds after the unanswered query before exiting")
    args = ap.parse_args()
    {"client": client, "http": http_server, "upstream": upstream}[args.mode](args)


if __name__ == "__main__":
    main()
