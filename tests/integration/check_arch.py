#!/usr/bin/python3
"""Judge parentage per request for the architecture tests (test_arch_*.sh).

Inputs
  --spans FILE       the agent's OTLP/JSON lines (--output file:PATH)
  --manifest FILE    written by services/arch/load.py (ids, statuses, errors, fanout)
  --arch NAME        architecture name, for the table row
  --min-correct PCT  fail when fewer requests than this are correct (default 0)
  --agent-log FILE   the agent's stderr: its parent_* counters are printed
  --row-file FILE    append the table row (and the counters) here
  --show N           print the span trees of the first N bad requests of each class (3)

A request with id I is GET /r/I from the load client to the service, which calls the
backend with GET /b/I (fan-out: /b/I/0, /b/I/1, /b/I/2). Every span is given to a request
by the id in its url.path (url.full, or its name, when there is no url.path) and a role
by its kind and path prefix:
  client CLIENT  /r/I     root
  service SERVER /r/I     child of the client CLIENT
  service CLIENT /b/I[/k] child of the service SERVER
  backend SERVER /b/I[/k] child of the service CLIENT with the same path

Each request is exactly one of
  correct        every role present exactly once, every parent link exactly as above,
                 each child in its parent's trace;
  misattributed  some span of it has a wrong parent: a span of ANOTHER request (or of no
                 request), a span of the same request in the wrong role, a parent that is
                 not in the output while a span of the expected role is, or a parent on
                 the client's root span. One such span fails the run;
  incomplete     not misattributed, but a span is missing or duplicated, a span that
                 should have a parent is a root ("rootless"), a parent is missing together
                 with the span that should have been it, or a child left its parent's trace.

Output: one row "arch inflight requests correct% incomplete misattributed", the agent's
parent_* counters, the problems counted by kind and a few bad requests as trees.
Exit 0 when there is no misattributed request, the workload had no errors and correct%
is at least --min-correct; 1 otherwise; 2 on bad usage.
"""
import argparse
import collections
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_traces as ct  # noqa: E402  (span reading and tree rendering)

SERVER, CLIENT = ct.SERVER, ct.CLIENT
FANOUT = 3
PATH_RE = re.compile(r"(?:^|\s)/(r|b)/([0-9]+)(?:/([0-9]+))?(?:$|[\s?])")
HEADER = "%-12s %8s %8s %8s %10s %13s" % ("arch", "inflight", "requests", "correct%", "incomplete", "misattributed")


def path_of(sp):
    p = sp.attrs.get("url.path")
    if isinstance(p, str):
        return p
    full = sp.attrs.get("url.full")
    if isinstance(full, str):
        return ct.urllib.parse.urlsplit(full).path
    return sp.name or ""


def classify_span(sp):
    """(request id, role) of a span; role is ("C_r"|"S_r"|"C_b"|"S_b", k or None)."""
    m = PATH_RE.search(path_of(sp))
    if not m:
        return None, None
    which, rid, k = m.group(1), int(m.group(2)), m.group(3)
    kind = {CLIENT: "C", SERVER: "S"}.get(sp.kind)
    if kind is None:
        return rid, ("?", None)
    return rid, ("%s_%s" % (kind, which), int(k) if k is not None else None)


def role_name(role):
    names = {"C_r": "client CLIENT", "S_r": "service SERVER", "C_b": "service CLIENT", "S_b": "backend SERVER"}
    n = names.get(role[0], "%s span" % role[0])
    return n if role[1] is None else "%s #%d" % (n, role[1])


def expected_roles(fanout):
    ks = list(range(FANOUT)) if fanout else [None]
    return [("C_r", None), ("S_r", None)] + [r for k in ks for r in (("C_b", k), ("S_b", k))]


def parent_role(role):
    return {"C_r": None, "S_r": ("C_r", None), "C_b": ("S_r", None), "S_b": ("C_b", role[1])}.get(role[0])


def judge(rid, spans, fanout, by_sid, role_of, rid_of):
    """Classify one request: ("correct"|"incomplete"|"misattributed", [(class, text)], n misattributed spans)."""
    probs = []
    nmis = 0
    by_role = collections.defaultdict(list)
    for s in spans:
        by_role[role_of[s.sid]].append(s)
    want = expected_roles(fanout)
    for role in want:
        n = len(by_role.get(role, []))
        if n == 0:
            probs.append(("incomplete", "missing: %s" % role_name(role)))
        elif n > 1:
            probs.append(("incomplete", "%d spans for %s, expected one" % (n, role_name(role))))
    for role in by_role:
        if role not in want:
            probs.append(("incomplete", "unexpected span role %s" % role_name(role)))
    for s in spans:
        role = role_of[s.sid]
        prole = parent_role(role)
        label = role_name(role)
        bad = None
        if s.parent is None:
            if prole is not None:
                probs.append(("incomplete", "rootless: %s has no parent, expected the %s" % (label, role_name(prole))))
            continue
        ps = by_sid.get(s.parent)
        if ps is None:
            if prole is None:
                bad = "%s has parent %s (not in the output), expected a root" % (label, s.parent)
            elif by_role.get(prole):
                bad = "%s has parent %s, not in the output, while the %s %s is" % (
                    label, s.parent, role_name(prole), by_role[prole][0].sid)
            else:
                probs.append(("incomplete", "%s has parent %s, not in the output, and there is no %s" % (label, s.parent, role_name(prole))))
        elif prole is None:
            bad = "%s is under %s of %s, expected a root" % (label, ps.describe(), req_label(rid_of.get(ps.sid)))
        elif rid_of.get(ps.sid) != rid:
            bad = "%s is under the %s of %s (%s)" % (label, role_name(role_of.get(ps.sid) or ("?", None)),
                                                     req_label(rid_of.get(ps.sid)), ps.describe())
        elif role_of[ps.sid] != prole:
            bad = "%s is under the %s of the same request, expected the %s" % (label, role_name(role_of[ps.sid]), role_name(prole))
        elif ps.trace != s.trace:
            probs.append(("incomplete", "%s: traceId %s differs from its parent's %s" % (label, s.trace, ps.trace)))
        elif s.start < ps.start:
            # one host, one clock: a child cannot begin before its parent (docs/waits.md:
            # a connection a pool dialled for another request must not stretch either)
            probs.append(("incomplete", "%s starts %d ns before its parent" % (label, ps.start - s.start)))
        if bad:
            probs.append(("misattributed", bad))
            nmis += 1
    classes = {c for c, _ in probs}
    cls = "misattributed" if "misattributed" in classes else "incomplete" if classes else "correct"
    return cls, probs, nmis


def req_label(rid):
    return "request %d" % rid if rid is not None else "no request"


def parent_counters(path):
    """The parent_* lines of the last counters block of the agent's stderr."""
    last = {}
    try:
        with open(path, errors="replace") as f:
            inb = False
            for line in f:
                if line.startswith("wirespan counters:"):
                    inb, last = True, {}
                    continue
                m = re.match(r"^\s+([A-Za-z0-9_.]+) (-?[0-9]+)$", line)
                if inb and m:
                    last[m.group(1)] = int(m.group(2))
                else:
                    inb = False
    except OSError:
        return None
    # parent_* always; the parentage module's wins and root reasons when non-zero
    return {k: v for k, v in last.items()
            if k.startswith("parent_") or (k.startswith("parentage_") and v)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--spans", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--arch", required=True)
    ap.add_argument("--min-correct", type=float, default=0.0)
    ap.add_argument("--agent-log")
    ap.add_argument("--row-file")
    ap.add_argument("--show", type=int, default=3)
    ap.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    if argv is None and "--self-test" in sys.argv[1:]:
        return self_test()
    args = ap.parse_args(argv)

    fmt_errors = []
    spans = ct.read_spans(args.spans, fmt_errors)
    manifest = ct.load_manifest(args.manifest)
    fanout = bool(manifest.get("fanout"))
    inflight = manifest.get("inflight", 0)
    out = []
    failed = False
    if manifest.get("errors"):
        failed = True
        out.append("WORKLOAD FAILED (the service answered wrongly; nothing here is the agent's fault):")
        out.extend("  " + e for e in manifest["errors"][:20])
    if fmt_errors:
        failed = True
        out.append("%d format errors in the span file:" % len(fmt_errors))
        out.extend("  " + e for e in fmt_errors[:20])

    dups = [sid for sid, c in collections.Counter(s.sid for s in spans).items() if c > 1]
    if dups:
        failed = True
        out.append("%d span ids occur more than once: %s" % (len(dups), " ".join(dups[:12])))

    by_sid, role_of, rid_of = {}, {}, {}
    by_rid = collections.defaultdict(list)
    by_trace = collections.defaultdict(list)
    unclaimed = 0
    for s in spans:
        by_sid[s.sid] = s
        by_trace[s.trace].append(s)
        rid, role = classify_span(s)
        s.rid = rid
        rid_of[s.sid], role_of[s.sid] = rid, role
        if rid is None:
            unclaimed += 1
        else:
            by_rid[rid].append(s)

    reqs = [r for r in manifest["requests"] if r.get("got") == r.get("status")]
    counts = collections.Counter()
    kinds = collections.Counter()
    examples = collections.defaultdict(list)
    mis_spans = 0
    for r in reqs:
        cls, probs, nmis = judge(r["id"], by_rid.get(r["id"], []), fanout, by_sid, role_of, rid_of)
        counts[cls] += 1
        mis_spans += nmis
        kinds.update({(c, re.sub(r"[0-9a-f]{16,32}|[0-9]+", "#", t)) for c, t in probs})
        if cls != "correct" and len(examples[cls]) < args.show:
            examples[cls].append((r, probs))
    # A span of no request (a background job's call, a health check) under a request's
    # span is as wrong as one request's span under another's.
    for s in spans:
        ps = by_sid.get(s.parent) if s.rid is None and s.parent else None
        if ps is not None and rid_of.get(ps.sid) is not None:
            counts["misattributed"] += 1
            mis_spans += 1
            if len(examples["stray"]) < args.show:
                examples["stray"].append(s)
                out.append("misattributed: %s of no request is under the %s of %s (%s)" % (
                    s.describe(), role_name(role_of.get(ps.sid) or ("?", None)), req_label(rid_of[ps.sid]),
                    ps.describe()))
    known = {r["id"] for r in manifest["requests"]}
    stray = sum(len(v) for k, v in by_rid.items() if k not in known)
    n = len(reqs)
    pct = 100.0 * counts["correct"] / n if n else 0.0
    row = "%-12s %8d %8d %8.1f %10d %13d" % (args.arch, inflight, n, pct, counts["incomplete"], counts["misattributed"])
    pc = parent_counters(args.agent_log) if args.agent_log else None
    pc_line = " ".join("%s=%d" % kv for kv in sorted(pc.items())) if pc else "(no counters)"

    for cls in ("misattributed", "incomplete"):
        for r, probs in examples[cls]:
            out.append("")
            out.append("%s: request %d %s (%s connection, %s):" % (cls, r["id"], r["path"], r["conn"], r["thread"]))
            out.extend("    - %s: %s" % x for x in probs)
            for t in sorted({s.trace for s in by_rid.get(r["id"], [])}):
                out.append("  trace %s:" % t)
                ct.render_trace(by_trace[t], out, indent="      ", mark={s.sid for s in by_rid[r["id"]]})
    if kinds:
        out.append("")
        out.append("problems by kind (requests):")
        out.extend("  %5d  %-13s %s" % (c, k[0], k[1]) for k, c in kinds.most_common(15))
    out.append("")
    out.append("%d spans read, %d of no request (e.g. other paths), %d of ids not in the manifest, %d misattributed spans"
               % (len(spans), unclaimed, stray, mis_spans))
    if n == 0:
        failed = True
        out.append("nothing to check: no correctly answered request in the manifest")
    if counts["misattributed"]:
        failed = True
        out.append("FAIL: %d requests have a span under a wrong parent (never acceptable)" % counts["misattributed"])
    if pct < args.min_correct:
        failed = True
        out.append("FAIL: %.1f%% correct, below the minimum %.1f%% for %s" % (pct, args.min_correct, args.arch))
    out.append("")
    out.append(HEADER)
    out.append(row)
    out.append("agent parentage counters: %s" % pc_line)
    out.append("check_arch: FAIL" if failed else "check_arch: OK")
    print("\n".join(out))
    if args.row_file:
        with open(args.row_file, "a") as f:
            f.write("%s%s\n" % (row, "" if not failed else "   FAIL"))
            f.write("    %s\n" % pc_line)
    return 1 if failed else 0


# ---- self-test ----------------------------------------------------------------------------
# A correct synthetic run must pass; each kind of breakage must land in the right class.

def _span(rid_path, kind, tid, sid, parent, svc, pid, t, in_name=False):
    attrs = [{"key": "http.request.method", "value": {"stringValue": "GET"}},
             {"key": "http.response.status_code", "value": {"intValue": "200"}}]
    if not in_name:
        attrs.append({"key": "url.path", "value": {"stringValue": rid_path}})
    sp = {"traceId": tid, "spanId": sid, "name": "GET " + rid_path if in_name else "GET", "kind": kind,
          "startTimeUnixNano": str(t), "endTimeUnixNano": str(t + 1000), "attributes": attrs}
    if parent:
        sp["parentSpanId"] = parent
    res = {"attributes": [{"key": "service.name", "value": {"stringValue": svc}},
                          {"key": "process.pid", "value": {"intValue": str(pid)}}]}
    return {"resourceSpans": [{"resource": res, "scopeSpans": [{"scope": {"name": "wirespan"}, "spans": [sp]}]}]}


def _synthetic(fanout, nreq=10):
    """{rid: {role: span dict}} and the manifest for nreq correct requests."""
    n = [0]

    def ident(bits):
        n[0] += 1
        return "%0*x" % (bits // 4, (n[0] * 0x9E3779B97F4A7C15) & ((1 << bits) - 1) or 1)

    reqs, spans = [], {}
    for rid in range(1, nreq + 1):
        tid = ident(128)
        sp = {}
        sp[("C_r", None)] = _span("/r/%d" % rid, CLIENT, tid, ident(64), None, "load", 10, rid * 10 ** 6)
        sp[("S_r", None)] = _span("/r/%d" % rid, SERVER, tid, ident(64), _sid(sp[("C_r", None)]), "svc", 11, rid * 10 ** 6)
        for k in (range(FANOUT) if fanout else [None]):
            p = "/b/%d" % rid + ("/%d" % k if k is not None else "")
            sp[("C_b", k)] = _span(p, CLIENT, tid, ident(64), _sid(sp[("S_r", None)]), "svc", 11, rid * 10 ** 6)
            sp[("S_b", k)] = _span(p, SERVER, tid, ident(64), _sid(sp[("C_b", k)]), "backend", 12, rid * 10 ** 6)
        spans[rid] = sp
        reqs.append({"id": rid, "path": "/r/%d" % rid, "status": 200, "got": 200, "conn": "new", "thread": "t"})
    return spans, {"client_pid": 10, "inflight": 4, "fanout": fanout, "requests": reqs, "errors": []}


def _sid(line):
    return line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"]


def _s(line):
    return line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]


def _path_to_name(span):
    attrs = span["attributes"]
    path = [a for a in attrs if a["key"] == "url.path"][0]
    attrs.remove(path)
    span["name"] = "GET " + path["value"]["stringValue"]


def _renamed(line):
    _s(line)["spanId"] = "00000000000000ef"
    return line


def self_test():
    import contextlib
    import copy
    import io
    import tempfile

    C_r, S_r, C_b, S_b = ("C_r", None), ("S_r", None), ("C_b", None), ("S_b", None)
    # (name, fanout, mutation of {rid: {role: line}} and manifest, expected exit,
    #  expected (correct, incomplete, misattributed), text the report must contain)
    cases = [
        ("all correct", False, lambda sp, m: None, 0, (10, 0, 0), "check_arch: OK"),
        ("all correct, fan-out", True, lambda sp, m: None, 0, (10, 0, 0), "check_arch: OK"),
        ("id only in the span name", False, lambda sp, m: [_path_to_name(_s(sp[3][r])) for r in (C_r, S_r, C_b, S_b)],
         0, (10, 0, 0), "check_arch: OK"),
        ("service CLIENT under another request's SERVER", False,
         lambda sp, m: _s(sp[2][C_b]).__setitem__("parentSpanId", _sid(sp[3][S_r])), 1, (9, 0, 1), "under the service SERVER of request 3"),
        ("backend SERVER under another request's CLIENT", False,
         lambda sp, m: _s(sp[4][S_b]).__setitem__("parentSpanId", _sid(sp[5][C_b])), 1, (9, 0, 1), "under the service CLIENT of request 5"),
        ("parent not in the output while the right one is", False,
         lambda sp, m: _s(sp[4][S_b]).__setitem__("parentSpanId", "00000000000000ab"), 1, (9, 0, 1), "not in the output, while"),
        ("client root span with a parent", False,
         lambda sp, m: _s(sp[6][C_r]).__setitem__("parentSpanId", _sid(sp[7][S_r])), 1, (9, 0, 1), "expected a root"),
        ("wrong link inside the request", False,
         lambda sp, m: _s(sp[6][S_b]).__setitem__("parentSpanId", _sid(sp[6][S_r])), 1, (9, 0, 1), "of the same request"),
        ("parent is a span of no request", False,
         lambda sp, m: (sp.__setitem__(99, {C_r: _span("/health", CLIENT, "f" * 32, "00000000000000cd", None, "x", 1, 1)}),
                        _s(sp[1][C_b]).__setitem__("parentSpanId", "00000000000000cd")), 1, (9, 0, 1), "of no request"),
        ("a span of no request under a request's SERVER", False,
         lambda sp, m: sp.__setitem__(99, {C_b: _span("/b/bg", CLIENT, "f" * 32, "00000000000000ce", _sid(sp[3][S_r]), "x", 1, 1)}),
         1, (10, 0, 1), "of no request is under the service SERVER of request 3"),
        ("fan-out: one CLIENT under another request", True,
         lambda sp, m: _s(sp[2][("C_b", 1)]).__setitem__("parentSpanId", _sid(sp[3][S_r])), 1, (9, 0, 1), "service CLIENT #1"),
        ("fan-out: backend SERVER under a sibling CLIENT", True,
         lambda sp, m: _s(sp[2][("S_b", 0)]).__setitem__("parentSpanId", _sid(sp[2][("C_b", 1)])), 1, (9, 0, 1), "of the same request"),
        ("rootless service CLIENT", False, lambda sp, m: _s(sp[2][C_b]).pop("parentSpanId"), 0, (9, 1, 0), "rootless"),
        ("missing backend SERVER", False, lambda sp, m: sp[2].pop(S_b), 0, (9, 1, 0), "missing: backend SERVER"),
        ("fan-out: missing one branch", True, lambda sp, m: (sp[5].pop(("C_b", 2)), _s(sp[5][("S_b", 2)]).pop("parentSpanId")),
         0, (9, 1, 0), "missing: service CLIENT #2"),
        ("duplicate span", False, lambda sp, m: sp[2].__setitem__(("dup", None), _renamed(copy.deepcopy(sp[2][S_b]))), 0, (9, 1, 0),
         "2 spans for backend SERVER"),
        ("same span id twice", False, lambda sp, m: sp[2].__setitem__(("dup", None), copy.deepcopy(sp[2][S_b])), 1, (9, 1, 0),
         "occur more than once"),
        ("parent missing with its role", False,
         lambda sp, m: (sp[8].pop(C_b)), 0, (9, 1, 0), "and there is no service CLIENT"),
        ("child in another trace", False, lambda sp, m: _s(sp[8][S_b]).__setitem__("traceId", "e" * 32), 0, (9, 1, 0), "differs from its parent"),
        ("child starts before its parent", False,
         lambda sp, m: _s(sp[4][S_b]).__setitem__("startTimeUnixNano", str(int(_s(sp[4][S_b])["startTimeUnixNano"]) - 1)),
         0, (9, 1, 0), "starts 1 ns before its parent"),
        ("below the minimum", False, lambda sp, m: [_s(sp[i][S_r]).pop("parentSpanId") for i in (1, 2, 3)], 1, (7, 3, 0),
         "below the minimum"),
        ("workload failed", False, lambda sp, m: m["errors"].append("/r/3: got 502"), 1, (10, 0, 0), "WORKLOAD FAILED"),
    ]
    failures = []
    with tempfile.TemporaryDirectory(prefix="check_arch-selftest.") as tmp:
        for name, fanout, mutate, want_rc, want_counts, want_text in cases:
            spans, manifest = _synthetic(fanout)
            mutate(spans, manifest)
            spath, mpath = os.path.join(tmp, "spans.jsonl"), os.path.join(tmp, "manifest.json")
            with open(spath, "w") as f:
                for rid in spans:
                    for line in spans[rid].values():
                        f.write(json.dumps(line) + "\n")
            with open(mpath, "w") as f:
                json.dump(manifest, f)
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                rc = main(["--spans", spath, "--manifest", mpath, "--arch", "selftest",
                           "--min-correct", "80"])
            out = buf.getvalue()
            row = [l for l in out.splitlines() if l.startswith("selftest ")]
            got = tuple(int(float(x)) for x in row[0].split()[2:]) if row else None
            got_counts = None
            if got:
                total, pct, inc, mis = got[0], float(row[0].split()[3]), got[2], got[3]
                got_counts = (round(total * pct / 100), inc, mis)
            if rc != want_rc or got_counts != want_counts or want_text not in out:
                failures.append("%s: exit %d counts %s, expected exit %d counts %s with %r in:\n%s"
                                % (name, rc, got_counts, want_rc, want_counts, want_text, out))
    for f in failures:
        print("check_arch self-test: FAIL %s" % f)
    print("check_arch self-test: %d of %d cases right" % (len(cases) - len(failures), len(cases)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
