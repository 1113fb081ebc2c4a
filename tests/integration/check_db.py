#!/usr/bin/python3
"""Judge the database spans of one protocol test (test_proto_redis/postgres/mysql.sh).

Inputs
  --spans FILE        the agent's OTLP/JSON lines (--output file:PATH)
  --manifest FILE     written by the workload (services/db/*_client.py):
                        {"client_pid": N, "secrets": [...], "ops": [
                          {"conn": label, "name": span name or null,
                           "attrs": {key: value, or null for "must be absent"},
                           "error": code or null}, ...]}
  --system NAME       db.system.name every span must carry (redis, postgresql, mariadb)
  --port N            the database server's port (server.port of CLIENT spans)
  --server-spans yes|no
                      yes: the server process is traced too, and every CLIENT span must
                      have exactly one SERVER span child with the same attributes, in
                      the same trace, nested in time; no: there must be none
  --scan FILE         another file that must not hold any secret (the agent's log);
                      repeatable
  --tolerance-ns N    how far a SERVER span may overhang its CLIENT parent (0)

Checks
  - every span in the file is a span of this system (no other protocol was guessed);
  - the workload's CLIENT spans are exactly the expected operations: one span per
    command/query sent, matched on the span name, every listed attribute (a null value
    means the attribute must be absent) and the status (ERROR with the code as message
    exactly when "error" is set); no expected one missing, no extra one;
  - CLIENT spans come from the workload's pid, are roots (the workload serves no
    request), and carry server.address 127.0.0.1 and server.port / network.peer.port;
  - SERVER spans, if expected, likewise (same multiset), each the child of a matching
    CLIENT span;
  - no secret (a literal or argument value the workload used) appears anywhere in the
    span file or the scanned files, not even inside another string; no number literal
    ("numbers" in the manifest) in any span's name or attribute values.
Exit 0 when all hold, 1 otherwise.
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_traces as ct  # noqa: E402  (span reading)

SERVER, CLIENT = ct.SERVER, ct.CLIENT
SHOW = 40
MSGS = {}  # span id -> status message (Span has no slot for it)


def span_line(sp):
    keys = ("db.operation.name", "db.namespace", "db.query.summary", "db.query.text",
            "db.response.status_code", "error.type")
    a = " ".join("%s=%r" % (k.replace("db.", ""), sp.attrs[k]) for k in keys if k in sp.attrs)
    st = " ERROR(%s)" % MSGS.get(sp.sid) if sp.status == ct.STATUS_ERROR else ""
    return "%s pid=%s %r %s%s span=%s parent=%s" % (
        ct.KIND_NAMES.get(sp.kind, sp.kind), sp.res.get("process.pid"), sp.name, a, st, sp.sid, sp.parent)


def op_line(op):
    a = " ".join("%s=%r" % (k.replace("db.", ""), v) for k, v in op["attrs"].items())
    return "[%s] %r %s%s" % (op.get("conn", "?"), op.get("name"), a, " ERROR(%s)" % op["error"] if op.get("error") else "")


def matches(sp, op):
    if op.get("name") is not None and sp.name != op["name"]:
        return False
    for k, v in op["attrs"].items():
        if v is None:
            if k in sp.attrs:
                return False
        elif sp.attrs.get(k) != v:
            return False
    if op.get("error"):
        return sp.status == ct.STATUS_ERROR and MSGS.get(sp.sid) == op["error"]
    return sp.status != ct.STATUS_ERROR


def match_all(spans, ops, what, problems):
    """Pair every expected op with one span (the first unused that matches)."""
    used = set()
    pairs = []
    missing = []
    for i, op in enumerate(ops):
        for j, sp in enumerate(spans):
            if j not in used and matches(sp, op):
                used.add(j)
                pairs.append((op, sp))
                break
        else:
            missing.append(op)
    extra = [sp for j, sp in enumerate(spans) if j not in used]
    for op in missing[:SHOW]:
        problems.append("%s: no span for %s" % (what, op_line(op)))
    for sp in extra[:SHOW]:
        problems.append("%s: unexpected span %s" % (what, span_line(sp)))
    if len(missing) > SHOW or len(extra) > SHOW:
        problems.append("%s: %d missing, %d unexpected in all" % (what, len(missing), len(extra)))
    return pairs


def read_status_messages(path):
    """check_traces keeps the status code only; the message is the error code here."""
    msgs = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            for rs in doc.get("resourceSpans") or []:
                for ss in rs.get("scopeSpans") or []:
                    for s in ss.get("spans") or []:
                        st = s.get("status") or {}
                        msgs[s.get("spanId")] = st.get("message") if isinstance(st, dict) else None
    return msgs


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--system", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--server-spans", choices=("yes", "no"), required=True)
    ap.add_argument("--scan", action="append", default=[])
    ap.add_argument("--tolerance-ns", type=int, default=0)
    args = ap.parse_args(argv)

    with open(args.manifest) as f:
        man = json.load(f)
    ops = man["ops"]
    cpid = str(man["client_pid"])
    problems = []
    fmt = []
    spans = ct.read_spans(args.spans, fmt)
    problems += fmt[:SHOW]
    MSGS.update(read_status_messages(args.spans))

    # No other protocol and no other process.
    for sp in spans:
        if sp.attrs.get("db.system.name") != args.system:
            problems.append("span of another kind in the file: %s %r attrs=%s" % (
                ct.KIND_NAMES.get(sp.kind, sp.kind), sp.name, sorted(sp.attrs)))
    clients = [sp for sp in spans if sp.kind == CLIENT]
    servers = [sp for sp in spans if sp.kind == SERVER]
    others = [sp for sp in spans if sp.kind not in (CLIENT, SERVER)]
    for sp in others:
        problems.append("span neither CLIENT nor SERVER: %s" % span_line(sp))
    for sp in clients:
        if str(sp.res.get("process.pid")) != cpid:
            problems.append("CLIENT span from pid %s, not the workload's %s: %s" % (sp.res.get("process.pid"), cpid, span_line(sp)))
        if sp.parent:
            problems.append("CLIENT span has a parent (the workload serves nothing): %s" % span_line(sp))
        if sp.attrs.get("server.address") != "127.0.0.1" or str(sp.attrs.get("server.port")) != str(args.port) \
                or str(sp.attrs.get("network.peer.port")) != str(args.port):
            problems.append("CLIENT span peer is not 127.0.0.1:%d (server.address=%r server.port=%r network.peer.port=%r): %s" % (
                args.port, sp.attrs.get("server.address"), sp.attrs.get("server.port"),
                sp.attrs.get("network.peer.port"), span_line(sp)))

    cpairs = match_all(clients, ops, "CLIENT", problems)

    if args.server_spans == "no":
        for sp in servers[:SHOW]:
            problems.append("SERVER span although the server is not expected to be traced: %s" % span_line(sp))
    else:
        by_id = {sp.sid: sp for sp in clients}
        children = collections.Counter()
        for sp in servers:
            if str(sp.res.get("process.pid")) == cpid:
                problems.append("SERVER span from the workload's pid: %s" % span_line(sp))
            if str(sp.attrs.get("server.port")) != str(args.port) or sp.attrs.get("client.address") != "127.0.0.1":
                problems.append("SERVER span: server.port %r client.address %r: %s" % (
                    sp.attrs.get("server.port"), sp.attrs.get("client.address"), span_line(sp)))
            par = by_id.get(sp.parent)
            if par is None:
                problems.append("SERVER span whose parent is not a CLIENT span of the workload: %s" % span_line(sp))
                continue
            children[par.sid] += 1
            if par.trace != sp.trace:
                problems.append("SERVER span in another trace than its CLIENT parent: %s" % span_line(sp))
            if sp.start < par.start - args.tolerance_ns or sp.end > par.end + args.tolerance_ns:
                problems.append("SERVER span not inside its CLIENT parent (start %+d ns, end %+d ns): %s" % (
                    sp.start - par.start, sp.end - par.end, span_line(sp)))
            keys = ("db.operation.name", "db.namespace", "db.query.text", "db.query.summary", "db.response.status_code")
            diff = [k for k in keys if sp.attrs.get(k) != par.attrs.get(k)] + (
                ["status"] if (sp.status, MSGS.get(sp.sid)) != (par.status, MSGS.get(par.sid)) else [])
            if sp.name != par.name:
                diff.append("name")
            if diff:
                problems.append("SERVER span differs from its CLIENT parent in %s:\n      %s\n      %s" % (
                    ", ".join(diff), span_line(sp), span_line(par)))
        for sp in clients:
            if children[sp.sid] != 1:
                problems.append("CLIENT span with %d SERVER children (expected 1): %s" % (children[sp.sid], span_line(sp)))
        match_all(servers, ops, "SERVER", problems)

    # Secrets: the raw bytes, so that an escaped or embedded copy counts too.
    secrets = [s for s in man.get("secrets", []) if s]
    for path in [args.spans] + args.scan:
        with open(path, "rb") as f:
            data = f.read()
        for s in secrets:
            n = data.count(s.encode())
            if n:
                problems.append("secret %r appears %d times in %s" % (s, n, path))

    # Numbers (literals of the queries) cannot be grepped in the raw file, where ids and
    # times are digits too: look for them in span names and attribute values.
    for n in man.get("numbers", []):
        for sp in spans:
            where = [k for k, v in sp.attrs.items() if n in str(v)] + (["name"] if n in sp.name else [])
            if where:
                problems.append("number literal %s appears in %s of %s" % (n, ", ".join(where), span_line(sp)))

    print("check_db %s: %d CLIENT spans (%d expected, %d matched), %d SERVER spans, %d secrets scanned in %d files" % (
        args.system, len(clients), len(ops), len(cpairs), len(servers), len(secrets), 1 + len(args.scan)))
    if problems:
        print("check_db: %d problems:" % len(problems))
        for p in problems[:3 * SHOW]:
            print("  " + p)
        print("spans in the file, by start time:")
        for sp in sorted(spans, key=lambda s: (s.start, s.kind))[:200]:
            print("  " + span_line(sp))
        return 1
    print("check_db: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
