#!/usr/bin/python3
"""Judge the spans of tests/integration/test_tls_agent.sh (HTTPS through TLS plaintext).

usage: check_tls_spans.py --spans FILE --expect FILE
       check_tls_spans.py --spans FILE --paths REGEX   (only the checks of every span)
The expect file has one line per request: TAG CLIENT_PID SERVER_PID MODE
(the request is GET /t/<TAG>; MODE is "client": the client's CLIENT span must be there,
or "server": only the SERVER span is expected, the client's library is not seen).

Checks:
  - every span in the file belongs to an expected request (its url.path is /t/<TAG>):
    nothing comes from ciphertext, the handshake or anything else;
  - every span has url.scheme=https and wirespan.capture.tls=true, status not ERROR,
    http.response.status_code 200;
  - per request exactly one SERVER span, from SERVER_PID; with MODE client exactly one
    CLIENT span from CLIENT_PID, a root, and the SERVER span its child in its trace
    (the link across processes by the ciphertext's TCP seq); with MODE server no CLIENT
    span at all.
Exit 0 when all hold, 1 otherwise.
"""
import argparse
import collections
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_traces as ct  # noqa: E402

TAG = re.compile(r"^/t/([A-Za-z0-9_-]+)$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", required=True)
    ap.add_argument("--expect")
    ap.add_argument("--paths", help="without --expect: every span's url.path must match")
    args = ap.parse_args()
    if not args.expect and not args.paths:
        ap.error("--expect or --paths")
    fmt = []
    spans = ct.read_spans(args.spans, fmt)
    fails = list(fmt)
    expect = {}
    for line in open(args.expect) if args.expect else ():
        f = line.split()
        if len(f) == 4:
            expect[f[0]] = (int(f[1]), int(f[2]), f[3])
    by_tag = collections.defaultdict(list)
    for sp in spans:
        path = sp.attrs.get("url.path")
        if args.paths:
            if not isinstance(path, str) or not re.match(args.paths, path):
                fails.append("span of no request: %s" % sp.describe())
                continue
        else:
            m = TAG.match(path) if isinstance(path, str) else None
            if not m or m.group(1) not in expect:
                fails.append("span of no request: %s" % sp.describe())
                continue
            by_tag[m.group(1)].append(sp)
        if sp.attrs.get("url.scheme") != "https":
            fails.append("url.scheme %r: %s" % (sp.attrs.get("url.scheme"), sp.describe()))
        if sp.attrs.get("wirespan.capture.tls") is not True:
            fails.append("no wirespan.capture.tls=true: %s" % sp.describe())
        if sp.status == ct.STATUS_ERROR or sp.attrs.get("http.response.status_code") != 200:
            fails.append("not a 200 answer: %s" % sp.describe())
    by_sid = {sp.sid: sp for sp in spans}
    linked = 0
    for tag, (cpid, spid, mode) in sorted(expect.items()):
        mine = by_tag.get(tag, [])
        srv = [s for s in mine if s.kind == ct.SERVER]
        cli = [s for s in mine if s.kind == ct.CLIENT]
        if len(srv) != 1:
            fails.append("%s: %d SERVER spans, expected 1" % (tag, len(srv)))
        elif srv[0].res.get("process.pid") != spid:
            fails.append("%s: SERVER span from pid %s, expected %d" % (tag, srv[0].res.get("process.pid"), spid))
        if mode == "server":
            if cli:
                fails.append("%s: %d CLIENT spans, expected none (the client's TLS library is not probed)" % (tag, len(cli)))
            continue
        if len(cli) != 1:
            fails.append("%s: %d CLIENT spans, expected 1" % (tag, len(cli)))
            continue
        c = cli[0]
        if c.res.get("process.pid") != cpid:
            fails.append("%s: CLIENT span from pid %s, expected %d" % (tag, c.res.get("process.pid"), cpid))
        if c.parent is not None:
            p = by_sid.get(c.parent)
            fails.append("%s: CLIENT span has a parent: %s" % (tag, p.describe() if p else c.parent))
        if len(srv) == 1:
            s = srv[0]
            if s.parent != c.sid or s.trace != c.trace:
                p = by_sid.get(s.parent) if s.parent else None
                fails.append("%s: SERVER span's parent is %s, expected its CLIENT span %s" %
                             (tag, p.describe() if p else s.parent, c.sid))
            else:
                linked += 1
    if args.expect:
        print("check_tls_spans: %d spans, %d requests, %d CLIENT->SERVER links right, %d problems"
              % (len(spans), len(expect), linked, len(fails)))
    else:
        print("check_tls_spans: %d spans, every one https with the TLS marker: %d problems" % (len(spans), len(fails)))
    for f in fails[:40]:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
