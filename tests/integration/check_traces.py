#!/usr/bin/python3
"""Check the spans wirespan wrote (OTLP/JSON lines) against what the test clients did.

Inputs
  --spans FILE        the agent's file output: one ExportTraceServiceRequest per line
  --manifest FILE     written by services/client.py: every request (id, path, status, times)
  --tier SPEC         one per tier of the chain, first the client, last the leaf:
                        name=SERVICE     expected resource service.name
                        pid=PID          expected resource process.pid (optional;
                                         "client" = client_pid of the manifest)
                        kinds=K          spans this tier must produce: client, server,
                                         server+client, or none (tier not traced)
                        addr=ADDR        address the previous tier connects to
                        port=PORT        port the tier listens on
                        peers=A|B        accepted client.address of its SERVER spans
                                         (default: addr; on loopback the caller's
                                         source address is the one it connected to)
  --absent FILE       a manifest whose request ids must appear in no span
  --other FILE        a manifest checked by another run: its spans are ignored here
  --allow-extra       spans that belong to no request are not an error

Per request with phase "traced" the expected trace is the chain of tiers:
  tier0 CLIENT (root) -> tier1 SERVER -> tier1 CLIENT -> tier2 SERVER -> ... -> leaf SERVER
(spans of an untraced tier are left out and the next span takes its place). It must be
exactly that: one span per step, every parentSpanId the span id of the step above, one
traceId, nothing else in that trace, the request's path in every span, attributes and
status as semantic conventions say, children inside their parents in time.
Requests with phase "before" happened before the agent started and must not appear.

Exit 0 when everything matches, 1 otherwise (with the expected and found trees), 2 on
bad usage or unreadable input.
"""
import argparse
import collections
import json
import re
import sys
import urllib.parse

SERVER, CLIENT = 2, 3
KIND_NAMES = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
STATUS_ERROR = 2
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
DECIMAL = re.compile(r"^-?[0-9]+$")
ID_IN_PATH = re.compile(r"^/chain/([0-9]+)(?:/|$)")
MAX_REPORTED = 12


class Span:
    __slots__ = ("line", "trace", "sid", "parent", "name", "kind", "start", "end", "attrs", "res", "status", "rid")

    def describe(self):
        st = self.attrs.get("http.response.status_code", "-")
        path = self.attrs.get("url.path") or self.attrs.get("url.full") or "?"
        err = " ERROR" if self.status == STATUS_ERROR else ""
        return '%s %s pid=%s "%s" %s -> %s%s span=%s' % (
            KIND_NAMES.get(self.kind, str(self.kind)), self.res.get("service.name", "?"),
            self.res.get("process.pid", "?"), self.name, path, st, err, self.sid)


class Tier:
    def __init__(self, spec):
        fields = {}
        for part in spec.split(","):
            k, sep, v = part.partition("=")
            if not sep:
                raise ValueError("tier field %r is not key=value" % part)
            fields[k.strip()] = v.strip()
        unknown = set(fields) - {"name", "pid", "kinds", "addr", "port", "peers"}
        if unknown:
            raise ValueError("unknown tier fields: %s" % ", ".join(sorted(unknown)))
        self.name = fields.get("name")
        if not self.name:
            raise ValueError("tier %r has no name" % spec)
        pid = fields.get("pid")
        # "client": the pid the client wrote into the manifest (it runs under timeout/env).
        self.pid = pid if pid == "client" else int(pid) if pid else None
        kinds = fields.get("kinds", "server+client")
        if kinds not in ("client", "server", "server+client", "none"):
            raise ValueError("tier %s: kinds must be client, server, server+client or none" % self.name)
        self.kinds = [] if kinds == "none" else [{"server": SERVER, "client": CLIENT}[k] for k in kinds.split("+")]
        self.addr = fields.get("addr")
        self.port = int(fields["port"]) if fields.get("port") else None
        self.peers = fields["peers"].split("|") if fields.get("peers") else None


class Step:
    """One expected span of a chain: tier index and kind."""

    def __init__(self, idx, tier, kind):
        self.idx, self.tier, self.kind = idx, tier, kind

    def label(self):
        return "%s %s" % (KIND_NAMES[self.kind], self.tier.name)


class Problems:
    def __init__(self):
        self.items = []

    def add(self, fmt, *args):
        self.items.append(fmt % args if args else fmt)

    def __bool__(self):
        return bool(self.items)


# ---- reading ------------------------------------------------------------------------------

def any_value(v, where, fmt_errors):
    if not isinstance(v, dict) or len(v) != 1:
        fmt_errors.append("%s: value must be an object with one field, got %r" % (where, v))
        return None
    (k, x), = v.items()
    if k == "stringValue" and isinstance(x, str):
        return x
    if k == "intValue":
        # OTLP/JSON: 64-bit integers are decimal strings.
        if isinstance(x, str) and DECIMAL.match(x):
            return int(x)
        fmt_errors.append("%s: intValue must be a decimal string, got %r" % (where, x))
        return None
    if k == "boolValue" and isinstance(x, bool):
        return x
    if k == "doubleValue" and isinstance(x, (int, float)):
        return x
    if k in ("arrayValue", "kvlistValue", "bytesValue"):
        return x
    fmt_errors.append("%s: unexpected value %r" % (where, v))
    return None


def attr_map(lst, where, fmt_errors):
    out = {}
    if lst is None:
        return out
    if not isinstance(lst, list):
        fmt_errors.append("%s: attributes must be a list" % where)
        return out
    for a in lst:
        if not isinstance(a, dict) or not isinstance(a.get("key"), str) or "value" not in a:
            fmt_errors.append("%s: bad attribute %r" % (where, a))
            continue
        if a["key"] in out:
            fmt_errors.append("%s: attribute %s appears twice" % (where, a["key"]))
        out[a["key"]] = any_value(a["value"], "%s %s" % (where, a["key"]), fmt_errors)
    return out


def request_id_of(attrs):
    path = attrs.get("url.path")
    if not isinstance(path, str):
        full = attrs.get("url.full")
        path = urllib.parse.urlsplit(full).path if isinstance(full, str) else None
    if not isinstance(path, str):
        return None
    m = ID_IN_PATH.match(path)
    return int(m.group(1)) if m else None


def read_spans(path, fmt_errors):
    spans = []
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise SystemExit("check_traces: cannot read %s: %s" % (path, e.strerror))
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = "%s:%d" % (path, lineno)
            try:
                req = json.loads(line)
            except ValueError as e:
                fmt_errors.append("%s: not JSON: %s" % (where, e))
                continue
            if not isinstance(req, dict) or not isinstance(req.get("resourceSpans"), list):
                fmt_errors.append("%s: no resourceSpans list" % where)
                continue
            for rs in req["resourceSpans"]:
                res = attr_map((rs.get("resource") or {}).get("attributes"), where + " resource", fmt_errors)
                for key in ("service.name", "process.pid"):
                    if key not in res:
                        fmt_errors.append("%s: resource has no %s" % (where, key))
                for ss in rs.get("scopeSpans") or []:
                    for s in ss.get("spans") or []:
                        sp = parse_span(s, res, where, fmt_errors)
                        if sp is not None:
                            spans.append(sp)
    return spans


def parse_span(s, res, where, fmt_errors):
    sp = Span()
    sp.line = where
    sp.trace = s.get("traceId")
    sp.sid = s.get("spanId")
    sp.parent = s.get("parentSpanId") or None
    sp.name = s.get("name")
    sp.kind = s.get("kind")
    sp.res = res
    bad = []
    if not isinstance(sp.trace, str) or not HEX32.match(sp.trace) or set(sp.trace) == {"0"}:
        bad.append("traceId %r is not 32 lowercase hex digits, not all zero" % sp.trace)
    if not isinstance(sp.sid, str) or not HEX16.match(sp.sid) or set(sp.sid) == {"0"}:
        bad.append("spanId %r is not 16 lowercase hex digits, not all zero" % sp.sid)
    if sp.parent is not None and (not isinstance(sp.parent, str) or not HEX16.match(sp.parent) or set(sp.parent) == {"0"}):
        bad.append("parentSpanId %r is not 16 lowercase hex digits, not all zero" % sp.parent)
    if not isinstance(sp.name, str) or not sp.name:
        bad.append("name %r is empty" % sp.name)
    if sp.kind not in KIND_NAMES:
        bad.append("kind %r is not an OTLP SpanKind integer" % sp.kind)
    times = []
    for key in ("startTimeUnixNano", "endTimeUnixNano"):
        v = s.get(key)
        if not isinstance(v, str) or not DECIMAL.match(v):
            bad.append("%s %r is not a decimal string" % (key, v))
            times.append(0)
        else:
            times.append(int(v))
    sp.start, sp.end = times
    if sp.end < sp.start:
        bad.append("ends before it starts (%d < %d)" % (sp.end, sp.start))
    status = s.get("status") or {}
    sp.status = status.get("code", 0) if isinstance(status, dict) else None
    if sp.status not in (0, 1, 2):
        bad.append("status.code %r is not 0, 1 or 2" % sp.status)
    sp.attrs = attr_map(s.get("attributes"), "%s span %s" % (where, sp.sid), fmt_errors)
    sp.rid = request_id_of(sp.attrs)
    for b in bad:
        fmt_errors.append("%s span %s: %s" % (where, sp.sid, b))
    return None if bad else sp


def load_manifest(path):
    try:
        with open(path, encoding="utf-8") as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit("check_traces: cannot read manifest %s: %s" % (path, e))
    if not isinstance(m.get("requests"), list):
        raise SystemExit("check_traces: manifest %s has no requests list" % path)
    return m


# ---- trees --------------------------------------------------------------------------------

def render_trace(trace_spans, out, indent="    ", mark=()):
    """Print the spans of one trace as a tree, children under their parents by start time."""
    by_id = {s.sid: s for s in trace_spans}
    kids = collections.defaultdict(list)
    roots = []
    for s in trace_spans:
        if s.parent and s.parent in by_id and s.parent != s.sid:
            kids[s.parent].append(s)
        else:
            roots.append(s)
    t0 = min(s.start for s in trace_spans)
    seen = set()

    def walk(s, depth):
        if s.sid in seen:
            out.append("%s%s(cycle at %s)" % (indent, "  " * depth, s.sid))
            return
        seen.add(s.sid)
        note = ""
        if s.parent and s.parent not in by_id:
            note = "  [parent %s is not in this trace]" % s.parent
        elif not s.parent:
            note = "  [root]"
        flag = "! " if s.sid in mark else "  "
        out.append("%s%s%s%s  +%.3fms %.3fms%s" % (indent, flag, "  " * depth, s.describe(),
                                                  (s.start - t0) / 1e6, (s.end - s.start) / 1e6, note))
        for c in sorted(kids[s.sid], key=lambda x: x.start):
            walk(c, depth + 1)

    for r in sorted(roots, key=lambda x: x.start):
        walk(r, 0)


def render_expected(steps, req, out):
    for depth, st in enumerate(steps):
        err = is_error(st.kind, req["status"])
        out.append("      %s%s GET %s -> %d%s" % ("  " * depth, st.label(), req["path"], req["status"], " ERROR" if err else ""))


# ---- expectations -------------------------------------------------------------------------

def is_error(kind, status):
    # Semantic conventions: 5xx is an error; 4xx only on the client side.
    return status >= 500 or (kind == CLIENT and status >= 400)


def steps_of(tiers):
    steps = []
    for i, t in enumerate(tiers):
        for k in (SERVER, CLIENT):
            if k not in t.kinds:
                continue
            if k == SERVER and i == 0:
                raise SystemExit("check_traces: the first tier (%s) has no caller, it cannot have SERVER spans" % t.name)
            if k == CLIENT and i == len(tiers) - 1:
                raise SystemExit("check_traces: the last tier (%s) calls nothing, it cannot have CLIENT spans" % t.name)
            steps.append(Step(i, t, k))
    return steps


def host_in_url(addr):
    return "[%s]" % addr if ":" in addr else addr


def check_span_attrs(sp, st, tiers, req, p):
    a = sp.attrs
    tier = st.tier
    label = st.label()
    if a.get("http.request.method") != "GET":
        p.add("%s: http.request.method is %r, expected 'GET'", label, a.get("http.request.method"))
    if a.get("http.response.status_code") != req["status"]:
        p.add("%s: http.response.status_code is %r, expected %d", label, a.get("http.response.status_code"), req["status"])
    if "url.path" in a and a["url.path"] != req["path"]:
        p.add("%s: url.path is %r, expected %r", label, a["url.path"], req["path"])
    want_err = is_error(st.kind, req["status"])
    if want_err and sp.status != STATUS_ERROR:
        p.add("%s: status code is %r, expected 2 (ERROR) for HTTP %d", label, sp.status, req["status"])
    if not want_err and sp.status == STATUS_ERROR:
        p.add("%s: status is ERROR for HTTP %d, expected unset", label, req["status"])
    # The span name is low-cardinality: the method, maybe a route template, never the raw id.
    if not re.match(r"^GET( /\S*)?$", sp.name or ""):
        p.add("%s: name %r is not 'GET' or 'GET <route>'", label, sp.name)
    elif re.search(r"/%d(/|$)" % req["id"], sp.name):
        p.add("%s: name %r holds the raw path (high cardinality), expected a template or just the method", label, sp.name)
    scheme = req.get("scheme", "http")   # a manifest's request may say https (TLS)
    if a.get("url.scheme", "http") != scheme:
        p.add("%s: url.scheme is %r, expected %r", label, a.get("url.scheme"), scheme)

    if st.kind == CLIENT:
        nxt = tiers[st.idx + 1]
        if nxt.addr is not None and a.get("server.address") != nxt.addr:
            p.add("%s: server.address is %r, expected %r", label, a.get("server.address"), nxt.addr)
        if nxt.port is not None and a.get("server.port") != nxt.port:
            p.add("%s: server.port is %r, expected %d", label, a.get("server.port"), nxt.port)
        if nxt.addr is not None and nxt.port is not None:
            want = "%s://%s:%d%s" % (scheme, host_in_url(nxt.addr), nxt.port, req["path"])
            if a.get("url.full") != want:
                p.add("%s: url.full is %r, expected %r", label, a.get("url.full"), want)
        if "network.peer.address" in a and nxt.addr is not None and a["network.peer.address"] != nxt.addr:
            p.add("%s: network.peer.address is %r, expected %r", label, a["network.peer.address"], nxt.addr)
        if "network.peer.port" in a and nxt.port is not None and a["network.peer.port"] != nxt.port:
            p.add("%s: network.peer.port is %r, expected %d", label, a["network.peer.port"], nxt.port)
    else:
        if a.get("url.path") != req["path"]:
            p.add("%s: url.path is %r, expected %r", label, a.get("url.path"), req["path"])
        # On loopback the caller's source address is the address it connected to.
        peers = tier.peers or ([tier.addr] if tier.addr else None)
        for key in ("client.address", "network.peer.address"):
            if peers is not None and a.get(key) not in peers:
                p.add("%s: %s is %r, expected %s", label, key, a.get(key), " or ".join(repr(x) for x in peers))
        pp = a.get("network.peer.port")
        if not isinstance(pp, int) or not 0 < pp < 65536 or pp == tier.port:
            p.add("%s: network.peer.port is %r, expected the caller's ephemeral port", label, pp)
        if "server.port" in a and tier.port is not None and a["server.port"] != tier.port:
            p.add("%s: server.port is %r, expected %d", label, a["server.port"], tier.port)
        if "server.address" in a and tier.addr is not None:
            ok = [tier.addr] + (tier.peers or [])
            if a["server.address"] not in ok:
                p.add("%s: server.address is %r, expected %s", label, a["server.address"], " or ".join(repr(x) for x in ok))

    if sp.res.get("service.name") != tier.name:
        p.add("%s: resource service.name is %r, expected %r", label, sp.res.get("service.name"), tier.name)
    if tier.pid is not None and sp.res.get("process.pid") != tier.pid:
        p.add("%s: resource process.pid is %r, expected %d", label, sp.res.get("process.pid"), tier.pid)


def check_request(req, spans, steps, tiers, by_trace, args, p):
    """Compare the spans carrying one request id with the expected chain."""
    matched = []
    pool = list(spans)
    for st in steps:
        cands = [s for s in pool if s.kind == st.kind and s.res.get("service.name") == st.tier.name]
        if not cands:
            p.add("missing: %s", st.label())
            matched.append(None)
            continue
        if len(cands) > 1:
            p.add("%d spans for %s, expected one: %s", len(cands), st.label(), ", ".join(c.sid for c in cands))
        matched.append(cands[0])
        pool.remove(cands[0])
    for s in pool:
        p.add("unexpected span for this request: %s", s.describe())

    slack = args.clock_slack_ms * 1000000
    tol = args.tolerance_ns
    prev = None
    for st, sp in zip(steps, matched):
        if sp is None:
            prev = None
            continue
        check_span_attrs(sp, st, tiers, req, p)
        if not (req["start_ns"] - slack <= sp.start and sp.end <= req["end_ns"] + slack):
            p.add("%s: [%d, %d] is outside the client's request window [%d, %d] (+-%d ms)", st.label(),
                  sp.start, sp.end, req["start_ns"], req["end_ns"], args.clock_slack_ms)
        if st is steps[0]:
            if sp.parent is not None:
                p.add("%s: has parentSpanId %s, expected a root span", st.label(), sp.parent)
        elif prev is not None:
            if sp.parent != prev.sid:
                p.add("%s: parentSpanId is %s, expected %s (the %s span)", st.label(), sp.parent, prev.sid,
                      steps[steps.index(st) - 1].label())
            if sp.trace != prev.trace:
                p.add("%s: traceId %s differs from its parent's %s", st.label(), sp.trace, prev.trace)
            if sp.start < prev.start - tol:
                p.add("%s: starts %d ns before its parent", st.label(), prev.start - sp.start)
            if sp.end > prev.end + tol:
                p.add("%s: ends %d ns after its parent", st.label(), sp.end - prev.end)
        prev = sp

    found = [s for s in matched if s is not None]
    traces = sorted({s.trace for s in spans})
    if len({s.trace for s in found}) > 1:
        p.add("the spans of this request are spread over %d traces", len({s.trace for s in found}))
    for t in traces:
        foreign = [s for s in by_trace[t] if s.rid != req["id"]]
        for s in foreign:
            p.add("trace %s also holds a span of another request: %s", t, s.describe())
    return traces


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--spans", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--tier", action="append", default=[], required=True)
    ap.add_argument("--absent", action="append", default=[])
    ap.add_argument("--other", action="append", default=[])
    ap.add_argument("--allow-extra", action="store_true")
    ap.add_argument("--tolerance-ns", type=int, default=0, help="allowed overhang of a child over its parent")
    ap.add_argument("--clock-slack-ms", type=int, default=50,
                    help="allowed distance of span times from the client's own clock readings")
    ap.add_argument("--dump", action="store_true", help="print every trace as a tree")
    ap.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    if argv is None and "--self-test" in sys.argv[1:]:
        return self_test()
    args = ap.parse_args(argv)

    try:
        tiers = [Tier(t) for t in args.tier]
    except ValueError as e:
        print("check_traces: %s" % e, file=sys.stderr)
        return 2
    if len(tiers) < 2:
        print("check_traces: need at least two tiers (a client and a server)", file=sys.stderr)
        return 2
    steps = steps_of(tiers)

    fmt_errors = []
    spans = read_spans(args.spans, fmt_errors)
    manifest = load_manifest(args.manifest)
    absent_ids = {r["id"] for m in args.absent for r in load_manifest(m)["requests"]}
    other_ids = {r["id"] for m in args.other for r in load_manifest(m)["requests"]}
    reqs = manifest["requests"]
    for t in tiers:
        if t.pid == "client":
            t.pid = manifest.get("client_pid")
    failed = False
    out = []

    if manifest.get("errors"):
        failed = True
        out.append("the client reported errors (the services, not the agent, misbehaved):")
        out.extend("  " + e for e in manifest["errors"])

    if fmt_errors:
        failed = True
        out.append("%d format errors in %s:" % (len(fmt_errors), args.spans))
        out.extend("  " + e for e in fmt_errors[:MAX_REPORTED * 2])

    sid_count = collections.Counter(s.sid for s in spans)
    dups = [sid for sid, n in sid_count.items() if n > 1]
    if dups:
        failed = True
        out.append("%d span ids occur more than once (a span must be in one trace, once): %s" % (len(dups), " ".join(dups[:MAX_REPORTED])))

    by_trace = collections.defaultdict(list)
    by_rid = collections.defaultdict(list)
    for s in spans:
        by_trace[s.trace].append(s)
        by_rid[s.rid].append(s)

    traced = [r for r in reqs if r.get("phase", "traced") == "traced"]
    before = [r for r in reqs if r.get("phase") == "before"]
    ok = 0
    bad = []
    for r in traced:
        if r["got"] != r["status"]:
            continue  # already reported among the client's errors
        p = Problems()
        traces = check_request(r, by_rid.get(r["id"], []), steps, tiers, by_trace, args, p)
        if p:
            bad.append((r, p, traces))
        else:
            ok += 1
    for r, p, traces in bad[:MAX_REPORTED]:
        failed = True
        out.append("")
        out.append("request %d %s (status %d, %s connection, %s):" % (r["id"], r["path"], r["status"], r["conn"], r["thread"]))
        out.extend("    - " + x for x in p.items)
        out.append("  expected:")
        render_expected(steps, r, out)
        if not traces:
            out.append("  found: no span carries this request's path")
        for t in traces:
            out.append("  found trace %s:" % t)
            render_trace(by_trace[t], out, indent="      ", mark={s.sid for s in by_rid[r["id"]]})
    if len(bad) > MAX_REPORTED:
        out.append("... and %d more requests with problems" % (len(bad) - MAX_REPORTED))
    if bad:
        # The same fault usually hits many requests: count them by kind for triage.
        kinds = collections.Counter()
        for _, p, _ in bad:
            kinds.update({re.sub(r"[0-9a-f]{16,32}|-?[0-9]+(\.[0-9]+)?", "#", x) for x in p.items})
        out.append("")
        out.append("problems by kind (number of requests, %d of %d requests bad):" % (len(bad), len(traced)))
        out.extend("  %5d  %s" % (n, k) for k, n in kinds.most_common(MAX_REPORTED))

    for label, group in (("happened before the agent started", {r["id"] for r in before}),
                         ("were sent to a port or process out of scope", absent_ids)):
        leaked = [s for s in spans if s.rid in group]
        if leaked:
            failed = True
            out.append("")
            out.append("%d spans for requests that %s:" % (len(leaked), label))
            out.extend("    " + s.describe() for s in leaked[:MAX_REPORTED])

    known = {r["id"] for r in reqs} | absent_ids | other_ids
    extra = [s for s in spans if s.rid not in known]
    if extra and not args.allow_extra:
        failed = True
        out.append("")
        out.append("%d spans belong to no request of this test:" % len(extra))
        for s in extra[:MAX_REPORTED]:
            out.append("    %s (%s)" % (s.describe(), s.line))

    if args.dump:
        out.append("")
        out.append("all %d traces:" % len(by_trace))
        for t in sorted(by_trace, key=lambda t: min(s.start for s in by_trace[t])):
            out.append("  trace %s" % t)
            render_trace(by_trace[t], out)

    chain = " -> ".join(st.label() for st in steps)
    summary = "check_traces: %d/%d requests traced correctly (%s); %d spans read, %d before-agent requests, %d out-of-scope requests" % (
        ok, len(traced), chain, len(spans), len(before), len(absent_ids))
    if not traced and not absent_ids:
        failed = True
        out.append("nothing to check: the manifest has no traced requests")
    print("\n".join(out + [summary, "check_traces: FAIL" if failed else "check_traces: OK"]))
    return 1 if failed else 0


# ---- self-test ----------------------------------------------------------------------------
# The checker must be able to fail: build a correct span file for a synthetic chain, check
# that it passes, then break it in one way at a time and check that each is caught.

def _synthetic(tmp):
    import os
    import random
    rnd = random.Random(7)
    tiers = ["name=cli,pid=client,kinds=client", "name=a,pid=11,addr=127.0.0.1,port=1001",
             "name=b,pid=12,addr=::1,port=1002", "name=leaf,pid=13,addr=::1,port=1003,kinds=server"]
    reqs = []
    t = 1700000000000000000
    for rid in range(1, 21):
        status = {7: 404, 9: 500}.get(rid % 10, 200)
        path = "/chain/%d%s" % (rid, {404: "/notfound", 500: "/fail"}.get(status, ""))
        reqs.append({"id": rid, "path": path, "status": status, "got": status, "conn": "new", "thread": "t",
                     "phase": "before" if rid == 20 else "traced", "start_ns": t, "end_ns": t + 10000000})
        t += 20000000
    manifest = {"client_pid": 10, "requests": reqs, "errors": []}
    parsed = [Tier(x) for x in tiers]
    parsed[0].pid = 10
    steps = steps_of(parsed)
    sv = lambda x: {"stringValue": x}
    iv = lambda x: {"intValue": str(x)}
    lines = []
    for r in reqs[:-1]:
        tid, parent = "%032x" % rnd.getrandbits(128), None
        for i, st in enumerate(steps):
            sid = "%016x" % rnd.getrandbits(64)
            attrs = [("http.request.method", sv("GET")), ("url.path", sv(r["path"])), ("http.response.status_code", iv(r["status"]))]
            if st.kind == CLIENT:
                n = parsed[st.idx + 1]
                attrs += [("server.address", sv(n.addr)), ("server.port", iv(n.port)),
                          ("url.full", sv("http://%s:%d%s" % (host_in_url(n.addr), n.port, r["path"])))]
            else:
                peer = st.tier.addr
                attrs += [("client.address", sv(peer)), ("network.peer.address", sv(peer)), ("network.peer.port", iv(40000 + i))]
            span = {"traceId": tid, "spanId": sid, "name": "GET", "kind": st.kind,
                    "startTimeUnixNano": str(r["start_ns"] + 1000 * (i + 1)), "endTimeUnixNano": str(r["end_ns"] - 1000 * (i + 1)),
                    "attributes": [{"key": k, "value": v} for k, v in attrs]}
            if parent:
                span["parentSpanId"] = parent
            if is_error(st.kind, r["status"]):
                span["status"] = {"code": 2}
            res = {"attributes": [{"key": "service.name", "value": sv(st.tier.name)},
                                  {"key": "process.pid", "value": iv(st.tier.pid)}]}
            lines.append({"resourceSpans": [{"resource": res, "scopeSpans": [{"scope": {"name": "wirespan"}, "spans": [span]}]}]})
            parent = sid
    mpath = os.path.join(tmp, "manifest.json")
    with open(mpath, "w") as f:
        json.dump(manifest, f)
    return tiers, mpath, lines


def self_test():
    import contextlib
    import copy
    import io
    import os
    import tempfile

    def sp(lines, i):
        return lines[i]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]

    def attr(lines, i, key, value):
        for a in sp(lines, i)["attributes"]:
            if a["key"] == key:
                a["value"] = value

    # (name, mutation, text the report must contain). Span 6k+j is step j of request k+1.
    mutations = [
        ("wrong parent", lambda l: sp(l, 8).__setitem__("parentSpanId", sp(l, 6)["spanId"]), "parentSpanId is"),
        ("root with a parent", lambda l: sp(l, 0).__setitem__("parentSpanId", sp(l, 7)["spanId"]), "expected a root span"),
        ("missing span", lambda l: l.pop(5), "missing: SERVER leaf"),
        ("duplicate span", lambda l: l.append(copy.deepcopy(l[4])), "occur more than once"),
        ("cross-attributed", lambda l: sp(l, 9).__setitem__("traceId", sp(l, 0)["traceId"]), "holds a span of another request"),
        ("error on a 200", lambda l: sp(l, 3).__setitem__("status", {"code": 2}), "status is ERROR for HTTP 200"),
        ("4xx server span as error", lambda l: sp(l, 6 * 6 + 1).__setitem__("status", {"code": 2}), "status is ERROR for HTTP 404"),
        ("4xx client span not error", lambda l: sp(l, 6 * 6).pop("status"), "expected 2 (ERROR) for HTTP 404"),
        ("raw path in name", lambda l: sp(l, 1).__setitem__("name", "GET /chain/1"), "holds the raw path"),
        ("child ends late", lambda l: sp(l, 2).__setitem__("endTimeUnixNano", str(int(sp(l, 1)["endTimeUnixNano"]) + 1)), "ends 1 ns after its parent"),
        ("child starts early", lambda l: sp(l, 3).__setitem__("startTimeUnixNano", str(int(sp(l, 2)["startTimeUnixNano"]) - 1)), "starts 1 ns before its parent"),
        ("int not a string", lambda l: attr(l, 2, "http.response.status_code", {"intValue": 200}), "decimal string"),
        ("bad span id", lambda l: sp(l, 2).__setitem__("spanId", "0" * 16), "spanId"),
        ("wrong pid", lambda l: l[3]["resourceSpans"][0]["resource"]["attributes"][1].__setitem__("value", {"intValue": "99"}), "process.pid is 99"),
        ("wrong service", lambda l: l[3]["resourceSpans"][0]["resource"]["attributes"][0].__setitem__("value", {"stringValue": "x"}), "missing: SERVER b"),
        ("wrong url.full", lambda l: attr(l, 0, "url.full", {"stringValue": "http://localhost/chain/1"}), "url.full is"),
        ("wrong server.port", lambda l: attr(l, 2, "server.port", {"intValue": "1"}), "server.port is 1"),
        ("wrong peer", lambda l: attr(l, 3, "client.address", {"stringValue": "10.0.0.1"}), "client.address is '10.0.0.1'"),
        ("wrong status code", lambda l: attr(l, 5, "http.response.status_code", {"intValue": "201"}), "status_code is 201"),
        ("outside the client's window", lambda l: sp(l, 0).__setitem__("startTimeUnixNano", str(int(sp(l, 0)["startTimeUnixNano"]) - 10 ** 9)), "outside the client's request window"),
        ("span of a request before the agent", lambda l: attr(l, 0, "url.path", {"stringValue": "/chain/20"}), "before the agent started"),
        ("span of no request", lambda l: l.append(json.loads(json.dumps(l[0]).replace("/chain/1", "/other/1").replace(sp(l, 0)["spanId"], "%016x" % 5))), "belong to no request"),
        ("not JSON", lambda l: l.append("{"), "not JSON"),
    ]
    failures = []
    with tempfile.TemporaryDirectory(prefix="check_traces-selftest.") as tmp:
        tiers, mpath, good = _synthetic(tmp)
        spath = os.path.join(tmp, "spans.jsonl")

        def run(lines):
            with open(spath, "w") as f:
                for x in lines:
                    f.write((x if isinstance(x, str) else json.dumps(x)) + "\n")
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                rc = main(["--spans", spath, "--manifest", mpath] + [a for t in tiers for a in ("--tier", t)])
            return rc, buf.getvalue()

        rc, out = run(good)
        if rc != 0:
            failures.append("correct spans rejected:\n" + out)
        for name, mutate, want in mutations:
            lines = copy.deepcopy(good)
            mutate(lines)
            rc, out = run(lines)
            if rc != 1 or want not in out:
                failures.append("%s: exit %d, expected 1 with %r in:\n%s" % (name, rc, want, out))
    for f in failures:
        print("check_traces self-test: FAIL %s" % f)
    print("check_traces self-test: %d of %d cases right" % (len(mutations) + 1 - len(failures), len(mutations) + 1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
