#!/usr/bin/python3
"""Judge the parent links of database spans for test_proto_parent.sh.

Inputs
  --spans FILE        the agent's OTLP/JSON lines
  --manifest FILE     services/arch/load.py's manifest (ids, client pid, errors)
  --service-pid PID   services/db/db_service.py
  --db SYSTEM=N       a database the service calls N times per request (repeatable):
                      redis=3, postgresql=2, mysql=2 (mysql: db.system.name mysql or
                      mariadb)
  --secret-file FILE  strings (one per line) that must appear nowhere in the span file
  --min-correct PCT   fail when fewer requests are correct (default 100)

Every span is given to a request:
  HTTP       the id in url.path (/r/<id>)
  redis      db.namespace (the service SELECTs database <id> first, on every connection)
  SQL        the identifier req_<id> in db.query.text (an alias the sanitiser keeps)
and a role: client CLIENT /r (the load client), service SERVER /r, service CLIENT <db>,
<db> SERVER (redis-server, a postgres backend, mariadbd). Expected per request:

  client CLIENT (root)
    service SERVER
      service CLIENT <db>  x N per database      (parent: that service SERVER span)
        <db> SERVER                              (parent: that CLIENT span; one each)

all in one trace holding no span of another request. A request is correct when exactly
so; misattributed when any of its spans has a parent of another request, of no request,
of the wrong role, or missing from the output while the expected parent is there;
incomplete otherwise (spans missing, duplicated, rootless). A span that belongs to no
request at all is an error too. Exit 0 when nothing is misattributed or unattributed,
the workload had no errors and correct% >= --min-correct.
"""
import argparse
import collections
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_traces as ct  # noqa: E402

SERVER, CLIENT = ct.SERVER, ct.CLIENT
PATH_RE = re.compile(r"^/r/([0-9]+)$")
SQL_RE = re.compile(r"\breq_([0-9]+)\b")


def request_of(sp):
    """(request id or None, role) of a span."""
    system = sp.attrs.get("db.system.name")
    kind = {CLIENT: "C", SERVER: "S"}.get(sp.kind, "?")
    if system is None:
        m = PATH_RE.match(str(sp.attrs.get("url.path", "")))
        return (int(m.group(1)) if m else None), kind + "_http"
    if system == "mariadb":
        # A connection opened before the agent started (the service's pool) shows no
        # greeting, so the parser cannot tell MariaDB from MySQL and says mysql
        # (docs/proto-mysql.md): one role for both.
        system = "mysql"
    if system == "redis":
        ns = sp.attrs.get("db.namespace")
        rid = int(ns) if isinstance(ns, str) and ns.isdigit() and ns != "0" else None
    else:
        m = SQL_RE.search(str(sp.attrs.get("db.query.text", "")))
        rid = int(m.group(1)) if m else None
    return rid, kind + "_" + system


def describe(sp):
    a = sp.attrs
    what = a.get("url.path") or a.get("db.query.text") or (
        "%s ns=%s" % (a.get("db.operation.name"), a.get("db.namespace")))
    return "%s pid=%s %s %r span=%s parent=%s trace=%s" % (
        ct.KIND_NAMES.get(sp.kind, sp.kind), sp.res.get("process.pid"), a.get("db.system.name", "http"),
        what, sp.sid, sp.parent, sp.trace[:8])


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--service-pid", required=True)
    ap.add_argument("--db", action="append", default=[])
    ap.add_argument("--secret-file")
    ap.add_argument("--min-correct", type=float, default=100.0)
    ap.add_argument("--show", type=int, default=5)
    args = ap.parse_args(argv)
    per_req = {}
    for d in args.db:
        k, _, n = d.partition("=")
        per_req[k] = int(n)
    with open(args.manifest) as f:
        man = json.load(f)
    ids = [r["id"] for r in man["requests"]]
    cpid, spid = str(man["client_pid"]), str(args.service_pid)
    fatal = []
    fmt = []
    spans = ct.read_spans(args.spans, fmt)
    fatal += fmt[:10]
    if man.get("errors"):
        fatal.append("the workload had errors: %s" % "; ".join(man["errors"][:5]))

    by_sid = {}
    for sp in spans:
        if sp.sid in by_sid:
            fatal.append("span id %s occurs twice" % sp.sid)
        by_sid[sp.sid] = sp
    info = {}  # sid -> (rid, role)
    spans_of = collections.defaultdict(list)
    unattributed = []
    for sp in spans:
        rid, role = request_of(sp)
        info[sp.sid] = (rid, role)
        if rid is None or rid not in ids:
            unattributed.append(sp)
        else:
            spans_of[rid].append(sp)
    for sp in unattributed[:20]:
        fatal.append("span of no request: %s" % describe(sp))

    # Expected roles, their count, the pid that must emit them and their parent role.
    expect = {"C_http": (1, cpid, None), "S_http": (1, spid, "C_http")}
    for system, n in per_req.items():
        expect["C_" + system] = (n, spid, "S_http")
        expect["S_" + system] = (n, None, "C_" + system)   # server pids vary (postgres backends)

    classes = collections.Counter()
    kinds = collections.Counter()
    bad = {"misattributed": [], "incomplete": []}
    for rid in ids:
        mine = spans_of.get(rid, [])
        roles = collections.defaultdict(list)
        for sp in mine:
            roles[info[sp.sid][1]].append(sp)
        mis, inc = [], []
        for role, (n, pid, prole) in expect.items():
            got = roles.get(role, [])
            if len(got) != n:
                inc.append("%d %s spans, expected %d" % (len(got), role, n))
            for sp in got:
                if pid is not None and str(sp.res.get("process.pid")) != pid:
                    mis.append("%s from pid %s, expected %s: %s" % (role, sp.res.get("process.pid"), pid, describe(sp)))
                if prole is None:
                    if sp.parent:
                        mis.append("the client's span has a parent: %s" % describe(sp))
                    continue
                if not sp.parent:
                    inc.append("rootless %s: %s" % (role, describe(sp)))
                    continue
                par = by_sid.get(sp.parent)
                if par is None:
                    if roles.get(prole):
                        mis.append("%s's parent %s is not in the output while a %s of the request is: %s" % (
                            role, sp.parent, prole, describe(sp)))
                    else:
                        inc.append("%s's parent missing with the %s: %s" % (role, prole, describe(sp)))
                    continue
                prid, pr = info[par.sid]
                if prid != rid:
                    mis.append("%s under a span of request %s: %s  <-  %s" % (role, prid, describe(sp), describe(par)))
                elif pr != prole:
                    mis.append("%s under the request's %s, not its %s: %s" % (role, pr, prole, describe(sp)))
                elif role.startswith("S_") and role != "S_http" and \
                        par.attrs.get("db.operation.name") != sp.attrs.get("db.operation.name"):
                    mis.append("%s under a %s of another operation (%s, not %s): %s" % (
                        role, prole, par.attrs.get("db.operation.name"), sp.attrs.get("db.operation.name"), describe(sp)))
                if sp.trace != par.trace:
                    inc.append("%s left its parent's trace: %s" % (role, describe(sp)))
        # one DB SERVER span per DB CLIENT span
        for system in per_req:
            kids = collections.Counter(sp.parent for sp in roles.get("S_" + system, []))
            for sp in roles.get("C_" + system, []):
                if kids[sp.sid] != 1:
                    inc.append("C_%s with %d SERVER children: %s" % (system, kids[sp.sid], describe(sp)))
        # one trace per request, holding nothing else
        traces = {sp.trace for sp in mine}
        if len(traces) > 1:
            inc.append("%d traces" % len(traces))
        for sp in spans:
            if sp.trace in traces and info[sp.sid][0] != rid:
                mis.append("its trace holds a span of request %s: %s" % (info[sp.sid][0], describe(sp)))
        if mis:
            cls = "misattributed"
        elif inc:
            cls = "incomplete"
        else:
            cls = "correct"
        classes[cls] += 1
        for p in mis + inc:
            kinds[re.sub(r"[0-9]+|:.*", "N", p)[:70]] += 1
        if cls != "correct":
            bad[cls].append((rid, mis + inc, mine))

    total = len(ids)
    pct = 100.0 * classes["correct"] / total if total else 0.0
    print("db-parent requests=%d correct=%d (%.1f%%) incomplete=%d misattributed=%d unattributed_spans=%d spans=%d" % (
        total, classes["correct"], pct, classes["incomplete"], classes["misattributed"], len(unattributed), len(spans)))
    for k, n in kinds.most_common(15):
        print("  %4d x %s" % (n, k))
    for cls in ("misattributed", "incomplete"):
        for rid, probs, mine in bad[cls][:args.show]:
            print("%s request %d:" % (cls, rid))
            for p in probs[:8]:
                print("    " + p)
            for sp in sorted(mine, key=lambda s: s.start):
                print("      " + describe(sp))

    if args.secret_file:
        with open(args.secret_file) as f:
            secrets = [line.strip() for line in f if line.strip()]
        with open(args.spans, "rb") as f:
            data = f.read()
        for s in secrets:
            if data.count(s.encode()):
                fatal.append("secret %r appears %d times in the span file" % (s, data.count(s.encode())))
    for p in fatal:
        print("FAIL: " + p)
    ok = not fatal and classes["misattributed"] == 0 and total > 0 and pct >= args.min_correct
    print("check_db_parent: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
