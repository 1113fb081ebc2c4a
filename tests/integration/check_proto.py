#!/usr/bin/python3
"""Check the agent's spans for the protocol tests (gRPC over h2c, DNS).

  check_proto.py grpc --spans FILE --manifest FILE --server-log FILE --server-pid PID
                      --port PORT --marker-file FILE [--clock-slack-ms 50] [--tolerance-ns 0]
                      [--max-unlinked N]
  check_proto.py dns  --spans FILE --manifest FILE [--clock-slack-ms 50]
  check_proto.py --self-test

grpc: the manifest is services/grpc_echo.py's (every call: round, method, expected and
received code, the traceparent it sent, wall-clock window). Each call must have exactly one
CLIENT span (the client's pid, a root: the client serves nothing) and one SERVER span (the
server's pid), found by kind, rpc.method, rpc.response.status_code and the call's window
(rounds are separated by more than twice the slack, and within a round no two calls share
method and code). Both: name and rpc.method "package.Service/Method", rpc.system.name
grpc, network.protocol.name http / version 2, no http.* or url.* attributes, status ERROR
per the OTel gRPC rules (CLIENT: any code but OK; SERVER: UNKNOWN, DEADLINE_EXCEEDED,
UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS) with error.type the code name, and for
the service's own errors the grpc-message as status message. The SERVER span's parent is
the traceparent's span (its trace id too) when the call sent one, else the call's CLIENT
span (--max-unlinked N: up to N of those may be roots of their own trace instead, no link
found; a wrong parent never passes); it lies inside the CLIENT span in time. SERVER network.peer.port is the client's
port as the server saw it (one connection for every call). No span belongs to no call,
no span id twice, and the payload marker (every message carries it) is nowhere in the
output, raw, hex or base64.

dns: the manifest is services/dns_client.py's: queries (name, type, transport, expected
rcode and answer count, client pid, window) and, optionally, "absent" (no DNS span at all
may exist) and "http" requests (a SERVER span per request whose child is the DNS CLIENT
span the handler made). See the dns section below.

Exit 0 when everything matches, 1 otherwise (problems listed), 2 on bad usage.
"""
import argparse
import base64
import collections
import contextlib
import io
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_traces import read_spans, KIND_NAMES  # noqa: E402

CLIENT, SERVER = 3, 2
ERROR = 2
GRPC_SERVER_ERRORS = {"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"}
# grpc-message the service sends with its own errors (services/grpc_echo.py ERRORS)
GRPC_MESSAGES = {"notfound": "no such item", "internal": "backend exploded", "invalid": "bad argument"}
DNS_CLIENT_OK_RCODES = {"NOERROR", "NXDOMAIN"}
MAX_REPORTED = 20


class Problems(list):
    def add(self, fmt, *a):
        self.append(fmt % a if a else fmt)


def desc(s):
    a = s.attrs
    what = a.get("rpc.method") or a.get("dns.question.name") or a.get("url.path") or ""
    code = a.get("rpc.response.status_code") or a.get("dns.response_code") or a.get("http.response.status_code") or "-"
    return "%s pid=%s %r %s -> %s%s span=%s parent=%s [%d..%d]" % (
        KIND_NAMES.get(s.kind, s.kind), s.res.get("process.pid"), s.name, what, code,
        " ERROR" if s.status == ERROR else "", s.sid, s.parent, s.start, s.end)


def marker_forms(marker):
    """The marker as it could appear in JSON: raw, hex, base64 at each alignment."""
    b = marker.encode()
    forms = {marker, b.hex()}
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + b).decode()
        # drop the characters that depend on the padding bytes and the tail
        forms.add(enc[(pad * 4 + 2) // 3 + 1:-4])
    return {f for f in forms if len(f) >= 8}


def status_messages(path):
    """spanId -> status message (check_traces' Span does not keep it)."""
    out = {}
    with open(path) as f:
        for line in f:
            try:
                req = json.loads(line)
            except ValueError:
                continue
            for rs in req.get("resourceSpans") or []:
                for ss in rs.get("scopeSpans") or []:
                    for s in ss.get("spans") or []:
                        st = s.get("status")
                        out[s.get("spanId")] = st.get("message") if isinstance(st, dict) else None
    return out


def common(spans, p):
    dups = [sid for sid, n in collections.Counter(s.sid for s in spans).items() if n > 1]
    if dups:
        p.add("span ids occurring more than once: %s", " ".join(dups[:MAX_REPORTED]))


def in_window(s, start, end, slack):
    return start - slack <= s.start and s.end <= end + slack


# ---- gRPC ---------------------------------------------------------------------------------

def check_grpc(args):
    p = Problems()
    fmt = []
    spans = read_spans(args.spans, fmt)
    p.extend(fmt[:MAX_REPORTED])
    common(spans, p)
    messages = status_messages(args.spans)
    with open(args.manifest) as f:
        man = json.load(f)
    calls = man["calls"]
    client_pid = man["client_pid"]
    peers = set()
    with open(args.server_log) as f:
        for line in f:
            if line.strip():
                peers.add(json.loads(line)["peer"])
    peer_port = None
    unlinked = 0
    if len(peers) != 1:
        p.add("the server saw its calls from %d peers (%s): the calls were not on one connection",
              len(peers), sorted(peers))
    else:
        peer_port = int(next(iter(peers)).rsplit(":", 1)[1])
    slack = args.clock_slack_ms * 1000000
    with open(args.spans) as f:
        text = f.read()
    with open(args.marker_file) as f:
        marker = f.read().strip()
    for form in marker_forms(marker):
        if form in text:
            p.add("message payload in the output: %r (a form of the marker) occurs %d times",
                  form, text.count(form))

    bad = [c for c in calls if c["got"] != c["expect"]]
    if bad:
        p.add("%d calls got the wrong answer (the workload, not the agent): %s", len(bad), bad[:3])
    used = set()
    ok_calls = 0
    for c in calls:
        cp = Problems()
        found = {}
        for kind in (CLIENT, SERVER):
            cands = [s for s in spans if s.kind == kind and s.attrs.get("rpc.method") == c["method"]
                     and s.attrs.get("rpc.response.status_code") == c["got"]
                     and in_window(s, c["start_ns"], c["end_ns"], slack)]
            # A call that carries its own traceparent was made by an instrumented
            # sender: its CLIENT span is the sender's, wirespan makes none (issue 12).
            if kind == CLIENT and c.get("traceparent"):
                if cands:
                    cp.add("a CLIENT span for a call that carried its own traceparent: %s",
                           "; ".join(desc(s) for s in cands))
                    used.update(id(s) for s in cands)
                continue
            if not cands:
                cp.add("no %s span", KIND_NAMES[kind])
                continue
            if len(cands) > 1:
                cp.add("%d %s spans, expected one: %s", len(cands), KIND_NAMES[kind],
                       "; ".join(desc(s) for s in cands))
            found[kind] = cands[0]
            used.update(id(s) for s in cands)
        for kind, s in found.items():
            k = KIND_NAMES[kind]
            a = s.attrs
            want_pid = client_pid if kind == CLIENT else args.server_pid
            if s.res.get("process.pid") != want_pid:
                cp.add("%s: process.pid %r, expected %d", k, s.res.get("process.pid"), want_pid)
            if s.name != c["method"]:
                cp.add("%s: name %r, expected %r", k, s.name, c["method"])
            for key, want in (("rpc.system.name", "grpc"), ("network.protocol.name", "http"),
                              ("network.protocol.version", "2")):
                if a.get(key) != want:
                    cp.add("%s: %s is %r, expected %r", k, key, a.get(key), want)
            stray = sorted(x for x in a if x.startswith("http.") or x.startswith("url."))
            if stray:
                cp.add("%s: HTTP attributes on a gRPC span: %s", k, stray)
            err = c["got"] != "OK" if kind == CLIENT else c["got"] in GRPC_SERVER_ERRORS
            if err:
                if s.status != ERROR:
                    cp.add("%s: status %r for %s, expected ERROR", k, s.status, c["got"])
                if a.get("error.type") != c["got"]:
                    cp.add("%s: error.type %r, expected %r", k, a.get("error.type"), c["got"])
                msg = GRPC_MESSAGES.get(c["kind"])
                if msg is not None and messages.get(s.sid) != msg:
                    cp.add("%s: status message %r, expected the grpc-message %r", k, messages.get(s.sid), msg)
            else:
                if s.status == ERROR:
                    cp.add("%s: status ERROR for %s, expected unset", k, c["got"])
                if "error.type" in a:
                    cp.add("%s: error.type %r on a span that is not an error", k, a["error.type"])
            if kind == CLIENT:
                if s.parent is not None:
                    cp.add("CLIENT: parent %s, expected a root (the client serves nothing)", s.parent)
                if a.get("server.port") != args.port or a.get("server.address") != "127.0.0.1":
                    cp.add("CLIENT: server %r:%r, expected 127.0.0.1:%d", a.get("server.address"),
                           a.get("server.port"), args.port)
            else:
                if a.get("client.address") != "127.0.0.1":
                    cp.add("SERVER: client.address %r", a.get("client.address"))
                if peer_port is not None and a.get("network.peer.port") != peer_port:
                    cp.add("SERVER: network.peer.port %r, expected the client's port %d",
                           a.get("network.peer.port"), peer_port)
        srv, cli = found.get(SERVER), found.get(CLIENT)
        if srv is not None:
            tp = c.get("traceparent")
            if tp:
                _, tid, psid, _ = tp.split("-")
                if srv.trace != tid or srv.parent != psid:
                    cp.add("SERVER: trace %s parent %s, expected the traceparent's %s / %s",
                           srv.trace, srv.parent, tid, psid)
            elif (cli is not None and srv.parent is None and srv.trace != cli.trace and
                  unlinked < args.max_unlinked):
                unlinked += 1   # a root: no link found, never a wrong one
            elif cli is not None and (srv.parent != cli.sid or srv.trace != cli.trace):
                cp.add("SERVER: parent %s (trace %s), expected the CLIENT span %s (trace %s)",
                       srv.parent, srv.trace, cli.sid, cli.trace)
        if srv is not None and cli is not None:
            if srv.start < cli.start - args.tolerance_ns or srv.end > cli.end + args.tolerance_ns:
                cp.add("SERVER [%d..%d] is not inside its CLIENT [%d..%d]", srv.start, srv.end, cli.start, cli.end)
        if cp:
            p.add("call round %d %s (%s, traceparent %s):\n      %s", c["round"], c["method"], c["got"],
                  "yes" if c.get("traceparent") else "no", "\n      ".join(cp))
        else:
            ok_calls += 1
    extra = [s for s in spans if id(s) not in used]
    for s in extra[:MAX_REPORTED]:
        p.add("span of no call: %s", desc(s))
    print("check_proto grpc: %d calls, %d right (%d of them SERVER roots, --max-unlinked %d), "
          "%d spans (%d of no call), %d problems"
          % (len(calls), ok_calls, unlinked, args.max_unlinked, len(spans), len(extra), len(p)))
    return cap(p)


def cap(p):
    """The first MAX_REPORTED problems and how many more there were."""
    if len(p) > MAX_REPORTED:
        more = len(p) - MAX_REPORTED
        del p[MAX_REPORTED:]
        p.add("... and %d more", more)
    return p


# ---- DNS ----------------------------------------------------------------------------------

def check_dns(args):
    """Manifest (services/dns_client.py):
    {"queries": [{"name", "type", "transport" udp|tcp, "rcode", "answers", "pid",
                  "start_ns", "end_ns", "http_id": optional request id}],
     "http": [{"id", "path", "start_ns", "end_ns"}]}
    Every query: exactly one DNS CLIENT span of its pid named "DNS <type>" with
    dns.question.name, dns.question.type, dns.response_code, dns.answer.count,
    network.transport, network.protocol.name dns; ERROR exactly for rcodes other than
    NOERROR and NXDOMAIN (error.type the rcode); inside the query's window, not shorter
    than 0 and not longer than the window. Spans are matched by (pid, name, type,
    transport, rcode) and window; names are unique per query. A query made in an HTTP
    handler (http_id) must be the child of that request's SERVER span (same trace,
    inside it). A query nobody answered (rcode null) is an ERROR span with error.type
    timeout (or closed) and no dns.response_code. No DNS span belongs to no query; with --absent there is no
    DNS span at all."""
    p = Problems()
    fmt = []
    spans = read_spans(args.spans, fmt)
    p.extend(fmt[:MAX_REPORTED])
    common(spans, p)
    with open(args.manifest) as f:
        man = json.load(f)
    slack = args.clock_slack_ms * 1000000
    dns = [s for s in spans if s.attrs.get("network.protocol.name") == "dns"]
    if args.absent:
        for s in dns[:MAX_REPORTED]:
            p.add("DNS span although the port was not in --udp-ports: %s", desc(s))
        print("check_proto dns (absent): %d DNS spans, %d problems" % (len(dns), len(p)))
        return p
    http_spans = {}
    for r in man.get("http", []):
        c = [s for s in spans if s.kind == SERVER and s.attrs.get("url.path") == r["path"]]
        if len(c) != 1:
            p.add("HTTP request %s: %d SERVER spans, expected one", r["path"], len(c))
        if c:
            http_spans[r["id"]] = c[0]
    used = set()
    ok = 0
    for q in man["queries"]:
        qp = Problems()
        cands = [s for s in dns if s.kind == CLIENT and s.res.get("process.pid") == q["pid"]
                 and s.attrs.get("dns.question.name") == q["name"]
                 and s.attrs.get("network.transport") == q["transport"]
                 and in_window(s, q["start_ns"], q["end_ns"], slack)]
        used.update(id(s) for s in cands)
        if len(cands) != 1:
            qp.add("%d DNS CLIENT spans, expected one%s", len(cands),
                   "".join("\n        " + desc(s) for s in cands))
        if cands:
            s = cands[0]
            a = s.attrs
            want = {"dns.question.type": q["type"], "dns.response_code": q["rcode"],
                    "dns.answer.count": q["answers"], "network.protocol.name": "dns"}
            if q["rcode"] is None:   # unanswered: no response attributes
                want.pop("dns.answer.count")
            for key, v in want.items():
                if a.get(key) != v:
                    qp.add("%s is %r, expected %r", key, a.get(key), v)
            if s.name != "DNS " + q["type"]:
                qp.add("name %r, expected %r", s.name, "DNS " + q["type"])
            err = q["rcode"] not in DNS_CLIENT_OK_RCODES
            if q["rcode"] is None:
                if (s.status != ERROR or a.get("error.type") not in ("timeout", "closed", "connection_closed")
                        or "dns.answer.count" in a):
                    qp.add("unanswered: status %r error.type %r dns.answer.count %r, expected ERROR, "
                           "error.type timeout or closed and no answer count", s.status, a.get("error.type"), a.get("dns.answer.count"))
            elif err and (s.status != ERROR or a.get("error.type") != q["rcode"]):
                qp.add("status %r error.type %r for %s, expected ERROR / %s", s.status, a.get("error.type"),
                       q["rcode"], q["rcode"])
            if not err and (s.status == ERROR or "error.type" in a):
                qp.add("status %r error.type %r for %s, expected no error", s.status, a.get("error.type"), q["rcode"])
            if s.end - s.start > q["end_ns"] - q["start_ns"] + 2 * slack:
                qp.add("lasts %d ns, the query itself took %d ns", s.end - s.start, q["end_ns"] - q["start_ns"])
            if q["transport"] == "tcp" or q.get("connected"):
                if a.get("server.port") != q["server_port"] and a.get("network.peer.port") != q["server_port"]:
                    qp.add("peer port %r / %r, expected %d", a.get("server.port"), a.get("network.peer.port"),
                           q["server_port"])
            hid = q.get("http_id")
            if hid is not None:
                h = http_spans.get(hid)
                if h is None:
                    qp.add("made in HTTP request %s, which has no SERVER span", hid)
                else:
                    if s.parent != h.sid or s.trace != h.trace:
                        qp.add("parent %s (trace %s), expected the SERVER span %s (trace %s) of its HTTP request",
                               s.parent, s.trace, h.sid, h.trace)
                    if s.start < h.start or s.end > h.end:
                        qp.add("[%d..%d] not inside its SERVER span [%d..%d]", s.start, s.end, h.start, h.end)
            elif s.parent is not None:
                qp.add("parent %s, expected a root (the client serves nothing)", s.parent)
        if qp:
            p.add("query %s %s over %s (%s):\n      %s", q["name"], q["type"], q["transport"], q["rcode"],
                  "\n      ".join(qp))
        else:
            ok += 1
    extra = [s for s in dns if id(s) not in used]
    for s in extra[:MAX_REPORTED]:
        p.add("DNS span of no query: %s", desc(s))
    print("check_proto dns: %d queries, %d right, %d DNS spans (%d of no query), %d problems"
          % (len(man["queries"]), ok, len(dns), len(extra), len(p)))
    return cap(p)


# ---- self-test ----------------------------------------------------------------------------

def _span(kind, name, sid, parent, trace, start, end, attrs, pid, status=None):
    def val(v):
        return {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}
    s = {"traceId": trace, "spanId": sid, "name": name, "kind": kind,
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
         "attributes": [{"key": k, "value": val(v)} for k, v in attrs.items()]}
    if parent:
        s["parentSpanId"] = parent
    if status:
        s["status"] = status
    return {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "svc"}},
        {"key": "process.pid", "value": {"intValue": str(pid)}}]},
        "scopeSpans": [{"spans": [s]}]}]}


def _grpc_case(tmp, mutate=None, max_unlinked=0):
    """A correct synthetic gRPC run (what the agent should write), optionally broken."""
    port, cport, cpid, spid = 50051, 40000, 100, 200
    calls, lines = [], []
    n = 0
    for rnd in range(2):
        base = 10**18 + rnd * 10**9
        for i, (m, kind, code) in enumerate([("Get", "ok", "OK"), ("Get", "notfound", "NOT_FOUND"),
                                             ("Get", "internal", "INTERNAL"), ("List", "stream", "OK")]):
            n += 1
            meth = "wirespan.test.Echo/" + m
            tp = None
            if i % 2 == 0:
                tp = "00-%032x-%016x-01" % (0xabc000 + n, 0xdef000 + n)
            calls.append({"round": rnd, "method": meth, "kind": kind, "expect": code, "got": code,
                          "traceparent": tp, "start_ns": base, "end_ns": base + 10**7})
            ctrace, csid, ssid = "%032x" % (0x1000 + n), "%016x" % (0x2000 + n), "%016x" % (0x3000 + n)
            common_a = {"rpc.system.name": "grpc", "rpc.method": meth, "rpc.response.status_code": code,
                        "network.protocol.name": "http", "network.protocol.version": "2"}
            ca = dict(common_a, **{"server.address": "127.0.0.1", "server.port": port})
            sa = dict(common_a, **{"client.address": "127.0.0.1", "network.peer.port": cport})
            cst = sst = None
            if code != "OK":
                ca["error.type"] = code
                cst = {"code": 2, "message": GRPC_MESSAGES[kind]}
            if code in GRPC_SERVER_ERRORS:
                sa["error.type"] = code
                sst = {"code": 2, "message": GRPC_MESSAGES[kind]}
            strace, sparent = (tp.split("-")[1], tp.split("-")[2]) if tp else (ctrace, csid)
            cl = _span(CLIENT, meth, csid, None, ctrace, base + 1000, base + 9000, ca, cpid, cst)
            sv = _span(SERVER, meth, ssid, sparent, strace, base + 2000, base + 8000, sa, spid, sst)
            # a call with its own traceparent: its CLIENT span is the sender's (issue 12)
            lines += [sv] if tp else [cl, sv]
    man = {"client_pid": cpid, "calls": calls}
    log = [{"method": "Get", "peer": "ipv4:127.0.0.1:%d" % cport, "traceparent": None}]
    marker = "WSMARKER-0123456789abcdef"
    if mutate:
        mutate(man, lines, log)
    paths = {}
    for key, data in (("spans", "\n".join(json.dumps(x) for x in lines) + "\n"),
                      ("manifest", json.dumps(man)), ("log", "\n".join(json.dumps(x) for x in log) + "\n"),
                      ("marker", marker + "\n")):
        paths[key] = os.path.join(tmp, key)
        with open(paths[key], "w") as f:
            f.write(data)
    a = argparse.Namespace(spans=paths["spans"], manifest=paths["manifest"], server_log=paths["log"],
                           server_pid=spid, port=port, marker_file=paths["marker"], clock_slack_ms=50,
                           tolerance_ns=0, max_unlinked=max_unlinked)
    return check_grpc(a)


def _dns_case(tmp, mutate=None, absent=False):
    """A correct synthetic DNS run, optionally broken. Spans: 0 u1 A NOERROR, 1 u2 NXDOMAIN,
    2 u3 SERVFAIL, 3 t1 over tcp, 4 the unanswered one, 5 the HTTP SERVER span, 6 its lookup."""
    cpid, spid, port = 300, 400, 5353
    base = 2 * 10**18
    queries, lines = [], []
    plan = [("u1.example.test", "A", "udp", "NOERROR", 1), ("u2.nx.test", "AAAA", "udp", "NXDOMAIN", 0),
            ("u3.fail.test", "A", "udp", "SERVFAIL", 0), ("t1.example.test", "A", "tcp", "NOERROR", 1),
            ("w1.dead.test", "A", "udp", None, None)]
    for i, (name, qt, tr, rc, n) in enumerate(plan):
        t0 = base + i * 10**8
        queries.append({"name": name, "type": qt, "transport": tr, "rcode": rc, "answers": n, "pid": cpid,
                        "start_ns": t0, "end_ns": t0 + 10**6, "server_port": port})
        a = {"dns.question.name": name, "dns.question.type": qt, "network.transport": tr,
             "network.protocol.name": "dns", "server.port": port}
        st = None
        if rc is not None:
            a.update({"dns.response_code": rc, "dns.answer.count": n})
            if rc == "SERVFAIL":
                a["error.type"] = rc
                st = {"code": 2, "message": "DNS SERVFAIL"}
        else:
            a["error.type"] = "timeout"
            st = {"code": 2}
        lines.append(_span(CLIENT, "DNS " + qt, "%016x" % (0x100 + i), None, "%032x" % (0x100 + i),
                           t0 + 1000, t0 + 9000, a, cpid, st))
    t0 = base + 10**9
    http = [{"id": 500, "path": "/dns/500", "start_ns": t0, "end_ns": t0 + 10**7}]
    lines.append(_span(SERVER, "GET /dns/{id}", "%016x" % 0x500, "%016x" % 0x501, "%032x" % 0x500,
                       t0 + 1000, t0 + 900000, {"url.path": "/dns/500", "network.protocol.name": "http"}, spid))
    name = "dns-500.example.test"
    queries.append({"name": name, "type": "A", "transport": "udp", "rcode": "NOERROR", "answers": 1, "pid": spid,
                    "start_ns": t0 + 2000, "end_ns": t0 + 800000, "server_port": port, "http_id": 500})
    lines.append(_span(CLIENT, "DNS A", "%016x" % 0x502, "%016x" % 0x500, "%032x" % 0x500, t0 + 3000, t0 + 700000,
                       {"dns.question.name": name, "dns.question.type": "A", "network.transport": "udp",
                        "network.protocol.name": "dns", "dns.response_code": "NOERROR", "dns.answer.count": 1},
                       spid))
    man = {"queries": queries, "http": http}
    if mutate:
        mutate(man, lines)
    paths = {}
    for key, data in (("spans", "\n".join(json.dumps(x) for x in lines) + "\n"), ("manifest", json.dumps(man))):
        paths[key] = os.path.join(tmp, key)
        with open(paths[key], "w") as f:
            f.write(data)
    a = argparse.Namespace(spans=paths["spans"], manifest=paths["manifest"], clock_slack_ms=50, absent=absent)
    return check_dns(a)


def _sp(lines, i):
    return lines[i]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]


def _attr(lines, i, key, value):
    s = _sp(lines, i)
    s["attributes"] = [x for x in s["attributes"] if x["key"] != key]
    if value is not None:
        s["attributes"].append({"key": key, "value": {"stringValue": value}})


def _server_root(m, l, g):
    """The NOT_FOUND call of round 0: its SERVER span a root of its own trace."""
    s = _sp(l, 2)
    s.pop("parentSpanId", None)
    s["traceId"] = "%032x" % 0x77


def self_test():
    # span order in _grpc_case, per round: call 0 (traceparent: SERVER only) 0, call 1
    # (NOT_FOUND) CLIENT 1 SERVER 2, call 2 (INTERNAL, traceparent: SERVER only) 3,
    # call 3 (List) CLIENT 4 SERVER 5; the second round from 6 on
    breaks = {
        "server parent is not its client": lambda m, l, g: _sp(l, 2).__setitem__("parentSpanId", _sp(l, 5)["spanId"]),
        "server a root instead of its client's child": _server_root,
        "traceparent not adopted": lambda m, l, g: _sp(l, 0).__setitem__("parentSpanId", "00000000000000aa"),
        "missing server span": lambda m, l, g: l.pop(2),
        "duplicate client span": lambda m, l, g: l.append(json.loads(json.dumps(l[1]))),
        "a client span for a call with its own traceparent": lambda m, l, g: l.append(
            dict(json.loads(json.dumps(l[1])), resourceSpans=[{**l[1]["resourceSpans"][0], "scopeSpans": [{"spans": [
                dict(_sp(l, 1), attributes=[x for x in _sp(l, 1)["attributes"] if x["key"] != "rpc.response.status_code"
                                            and x["key"] != "error.type"] + [{"key": "rpc.response.status_code", "value": {"stringValue": "OK"}}],
                     status={})]}]}])),
        "server NOT_FOUND marked error": lambda m, l, g: _sp(l, 2).__setitem__("status", {"code": 2}),
        "client NOT_FOUND not an error": lambda m, l, g: _sp(l, 1).pop("status"),
        "server INTERNAL not an error": lambda m, l, g: _sp(l, 3).pop("status"),
        "wrong span name": lambda m, l, g: _sp(l, 1).__setitem__("name", "POST"),
        "no rpc.system.name": lambda m, l, g: _attr(l, 1, "rpc.system.name", None),
        "http attribute on grpc span": lambda m, l, g: _attr(l, 4, "url.path", "/x"),
        "payload in output": lambda m, l, g: _attr(l, 1, "x.body", "aWSMARKER-0123456789abcdef"),
        "payload in output, base64": lambda m, l, g: _attr(
            l, 1, "x.body", base64.b64encode(b"xyWSMARKER-0123456789abcdef!").decode()),
        "wrong status code attribute": lambda m, l, g: _attr(l, 0, "rpc.response.status_code", "UNKNOWN"),
        "client span has a parent": lambda m, l, g: _sp(l, 1).__setitem__("parentSpanId", "00000000000000bb"),
        "server outside client": lambda m, l, g: _sp(l, 5).__setitem__("endTimeUnixNano", str(int(_sp(l, 4)["endTimeUnixNano"]) + 1)),
        "span outside the call window": lambda m, l, g: [_sp(l, i).__setitem__(k, str(int(_sp(l, i)[k]) + 10**9))
                                                        for i in (4, 5) for k in ("startTimeUnixNano", "endTimeUnixNano")],
        "wrong grpc-message": lambda m, l, g: _sp(l, 1)["status"].__setitem__("message", "other"),
        "calls on two connections": lambda m, l, g: g.append({"method": "Get", "peer": "ipv4:127.0.0.1:1", "traceparent": None}),
        "server peer port wrong": lambda m, l, g: [x for x in _sp(l, 2)["attributes"] if x["key"] == "network.peer.port"][0].__setitem__("value", {"intValue": "1"}),
    }
    dns_breaks = {
        "dns: missing span": lambda m, l: l.pop(0),
        "dns: duplicate span": lambda m, l: l.append(json.loads(json.dumps(l[0]))),
        "dns: wrong response code": lambda m, l: _attr(l, 0, "dns.response_code", "NXDOMAIN"),
        "dns: NXDOMAIN marked error": lambda m, l: _sp(l, 1).__setitem__("status", {"code": 2}),
        "dns: SERVFAIL not an error": lambda m, l: _sp(l, 2).pop("status"),
        "dns: wrong type": lambda m, l: _attr(l, 0, "dns.question.type", "AAAA"),
        "dns: wrong transport": lambda m, l: _attr(l, 3, "network.transport", "udp"),
        "dns: wrong answer count": lambda m, l: [x for x in _sp(l, 0)["attributes"] if x["key"] == "dns.answer.count"][0].__setitem__("value", {"intValue": "2"}),
        "dns: unanswered not an error": lambda m, l: _sp(l, 4).pop("status"),
        "dns: handler lookup not under its SERVER span": lambda m, l: _sp(l, 6).pop("parentSpanId"),
        "dns: handler lookup outside its SERVER span": lambda m, l: _sp(l, 6).__setitem__("endTimeUnixNano", str(int(_sp(l, 5)["endTimeUnixNano"]) + 1)),
        "dns: span outside the query window": lambda m, l: [_sp(l, 0).__setitem__(k, str(int(_sp(l, 0)[k]) + 10**9)) for k in ("startTimeUnixNano", "endTimeUnixNano")],
        "dns: span of no query": lambda m, l: _attr(l, 1, "dns.question.name", "zz.example.test"),
        "dns: client span has a parent": lambda m, l: _sp(l, 0).__setitem__("parentSpanId", "00000000000000cc"),
    }
    failures = 0
    quiet = contextlib.redirect_stdout(io.StringIO())
    with tempfile.TemporaryDirectory() as tmp, quiet:
        if _grpc_case(tmp):
            print("self-test: the correct synthetic gRPC run was rejected", file=sys.stderr)
            failures += 1
        for name, fn in breaks.items():
            if not _grpc_case(tmp, fn):
                print("self-test: not detected: %s" % name, file=sys.stderr)
                failures += 1
        # --max-unlinked 1: one root is tolerated, a second one or a wrong parent is not
        if _grpc_case(tmp, _server_root, max_unlinked=1):
            print("self-test: --max-unlinked 1 rejected one SERVER root", file=sys.stderr)
            failures += 1
        if not _grpc_case(tmp, lambda m, l, g: (_server_root(m, l, g), _sp(l, 8).pop("parentSpanId"),
                                                _sp(l, 8).__setitem__("traceId", "%032x" % 0x78)), max_unlinked=1):
            print("self-test: --max-unlinked 1 accepted two SERVER roots", file=sys.stderr)
            failures += 1
        if not _grpc_case(tmp, breaks["server parent is not its client"], max_unlinked=1):
            print("self-test: --max-unlinked 1 accepted a wrong parent", file=sys.stderr)
            failures += 1
        if _dns_case(tmp):
            print("self-test: the correct synthetic DNS run was rejected", file=sys.stderr)
            failures += 1
        for name, fn in dns_breaks.items():
            if not _dns_case(tmp, fn):
                print("self-test: not detected: %s" % name, file=sys.stderr)
                failures += 1
        if not _dns_case(tmp, absent=True):
            print("self-test: --absent accepted DNS spans", file=sys.stderr)
            failures += 1
    breaks.update(dns_breaks)
    print("check_proto self-test: %d breakages, %d not detected%s" % (len(breaks) + 1, failures,
          "" if failures else ": ok"))
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("grpc", "dns"), nargs="?")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--spans")
    ap.add_argument("--manifest")
    ap.add_argument("--server-log")
    ap.add_argument("--server-pid", type=int)
    ap.add_argument("--port", type=int)
    ap.add_argument("--marker-file")
    ap.add_argument("--clock-slack-ms", type=int, default=50)
    ap.add_argument("--tolerance-ns", type=int, default=0)
    ap.add_argument("--max-unlinked", type=int, default=0,
                    help="grpc: SERVER spans of calls without a traceparent that may be roots "
                         "(no link found) rather than their CLIENT span's child; a wrong parent "
                         "is always a failure")
    ap.add_argument("--absent", action="store_true", help="dns: no DNS span may exist")
    args = ap.parse_args()
    if args.self_test:
        sys.exit(self_test())
    if not args.what or not args.spans or not args.manifest:
        ap.error("grpc|dns, --spans and --manifest are required")
    p = check_grpc(args) if args.what == "grpc" else check_dns(args)
    for x in p:
        print("  " + x)
    sys.exit(1 if p else 0)


if __name__ == "__main__":
    main()
