#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Judge of test_sdk_coexist.sh: wirespan's spans (file sink, OTLP/JSON lines) and the
# SDKs' spans (tests/node/otlp_receiver.js --out lines) taken together, as one collector
# would receive them. Per request id (the last path segment of /r/, /x/, /c/ requests):
#   duplicates: two spans of one kind from one service for one request;
#   whole: one trace id, exactly one span without a parent in the set (the root, or a
#          span whose parent is a context the caller declared), and the expected number
#          of spans.
# Also counts OTLP export spans that reached the output (noise).
#   check_sdk.py WIRESPAN_FILE RECEIVER_FILE --ids A-B --spans N [--min-whole N]
import argparse, collections, json, re, sys

ap = argparse.ArgumentParser()
ap.add_argument("wirespan"); ap.add_argument("receiver")
ap.add_argument("--ids", required=True); ap.add_argument("--spans", type=int, required=True)
ap.add_argument("--min-whole", type=int, default=None)
ap.add_argument("--name", default="")
a = ap.parse_args()
lo, hi = (int(x) for x in a.ids.split("-"))
ID = re.compile(r"/(?:r|x|c)/(\d+)$")
KIND = {"SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3, 2: 2, 3: 3}

def attrs(sp):
    out = {}
    for kv in sp.get("attributes", []) or []:
        v = kv.get("value", {})
        out[kv["key"]] = v.get("stringValue", v.get("intValue"))
    return out

def walk(req, src, into):
    for rs in req.get("resourceSpans", []) or []:
        svc = attrs(rs.get("resource", {})).get("service.name", "?")
        for ss in rs.get("scopeSpans", []) or []:
            for sp in ss.get("spans", []) or []:
                at = attrs(sp)
                path = None
                for k in ("url.path", "http.target", "url.full", "http.url"):
                    if at.get(k):
                        path = str(at[k]).split("?")[0]
                        break
                into.append(dict(src=src, svc=svc, kind=KIND.get(sp.get("kind"), sp.get("kind")),
                                 trace=sp.get("traceId", ""), span=sp.get("spanId", ""),
                                 parent=sp.get("parentSpanId", "") or "", path=path or "",
                                 name=sp.get("name", "")))

spans = []
for line in open(a.wirespan):
    line = line.strip()
    if line:
        walk(json.loads(line), "wirespan", spans)
for line in open(a.receiver):
    d = json.loads(line)
    if d.get("request"):
        walk(d["request"], "sdk", spans)

noise = [s for s in spans if re.search(r"/v1/(traces|metrics|logs)$", s["path"])]
by_id = collections.defaultdict(list)
for s in spans:
    m = ID.search(s["path"])
    if m and lo <= int(m.group(1)) <= hi:
        by_id[int(m.group(1))].append(s)

# Misattribution: a trace holding spans of two requests (a call injected with another
# request's trace). A root is acceptable, this never is.
req_of_trace = collections.defaultdict(set)
for i, ss in by_id.items():
    for s in ss:
        req_of_trace[s["trace"]].add(i)
mixed = sorted(t for t, r in req_of_trace.items() if len(r) > 1)

dups = whole = 0
bad = []
for i in range(lo, hi + 1):
    ss = by_id.get(i, [])
    keys = collections.Counter((s["svc"], s["kind"]) for s in ss)
    d = sum(n - 1 for n in keys.values() if n > 1)
    dups += d
    ids = {s["span"] for s in ss}
    traces = {s["trace"] for s in ss}
    tops = [s for s in ss if not s["parent"] or s["parent"] not in ids]
    ok = len(traces) == 1 and len(tops) == 1 and len(ss) == a.spans and d == 0
    whole += ok
    if not ok and len(bad) < 3:
        bad.append((i, [(s["src"], s["svc"], s["kind"], s["trace"][:8], s["span"][:8], s["parent"][:8]) for s in ss]))
n = hi - lo + 1
print("%s: requests %d, whole traces %d, duplicates %d, traces mixing requests %d, otlp export spans in output %d, spans %d"
      % (a.name, n, whole, dups, len(mixed), len(noise), sum(len(v) for v in by_id.values())))
for t in mixed[:3]:
    print("  mixed: trace %s holds requests %s" % (t[:8], sorted(req_of_trace[t])))
for i, ss in bad:
    print("  not whole: id %d: %s" % (i, ss))
need = n if a.min_whole is None else a.min_whole
sys.exit(0 if dups == 0 and not mixed and not noise and whole >= need else 1)
