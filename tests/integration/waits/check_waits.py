#!/usr/bin/python3
"""Checks of test_waits.sh: reads the agent's OTLP/JSON lines, prints the waits per span
and judges one scenario. Usage: check_waits.py SPANS SCENARIO PORT [PORT2]"""
import json
import sys

W = ["wirespan.queue.accept_ns", "wirespan.queue.receive_ns", "wirespan.sched.runqueue_ns",
     "wirespan.sched.oncpu_ns", "wirespan.sched.blocked_ns"]
TOL_PERMILLE, TOL_NS = 10, 50000   # agent/waits.h WS_WAITS_TOL_*


def spans(path):
    out = []
    for line in open(path):
        d = json.loads(line)
        for rs in d["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for sp in ss["spans"]:
                    a = {}
                    for x in sp.get("attributes", []):
                        v = list(x["value"].values())[0]
                        a[x["key"]] = int(v) if x["key"].startswith("wirespan.") and x["key"].endswith(("_ns", "retransmits")) else v
                    sp["a"] = a
                    sp["dur"] = int(sp["endTimeUnixNano"]) - int(sp["startTimeUnixNano"])
                    sp["start"] = int(sp["startTimeUnixNano"])
                    out.append(sp)
    return out


def port_of(sp, key):
    return int(sp["a"].get(key, 0))


fails = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fails.append(msg)


def show(sp):
    a = sp["a"]
    ms = lambda k: ("%.2f" % (a[k] / 1e6)) if k in a else "-"
    print("  %-6s %-10s dur %8.2f ms  accept %s recv %s runq %s cpu %s blocked %s net %s retrans %s" % (
        "SERVER" if sp["kind"] == 2 else "CLIENT", sp["name"][:10], sp["dur"] / 1e6,
        ms(W[0]), ms(W[1]), ms(W[2]), ms(W[3]), ms(W[4]), ms("wirespan.net.wait_ns"),
        a.get("wirespan.tcp.retransmits", "-")))


def sum_ok(sp):
    """SERVER: queue waits + run queue + on CPU + blocked = duration, within the tolerance."""
    parts = sum(sp["a"].get(k, 0) for k in W)
    tol = sp["dur"] // 1000 * TOL_PERMILLE + TOL_NS
    return abs(parts - sp["dur"]) <= tol


def main():
    path, scen, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    all_ = spans(path)
    srv = sorted([s for s in all_ if s["kind"] == 2 and port_of(s, "server.port") == port], key=lambda s: s["start"])
    cli = sorted([s for s in all_ if s["kind"] == 3 and port_of(s, "server.port") == port], key=lambda s: s["start"])
    print("%s: %d server spans, %d client spans on port %d" % (scen, len(srv), len(cli), port))
    for s in srv + cli:
        show(s)
    full = [s for s in srv if all(k in s["a"] for k in W[1:])]
    for s in full:
        check(sum_ok(s), "%s: SERVER parts add up to the duration %.3f ms (tolerance 1%% + 50 us)" % (scen, s["dur"] / 1e6))
    if scen == "accept":
        acc = [s["a"]["wirespan.queue.accept_ns"] for s in srv if "wirespan.queue.accept_ns" in s["a"]]
        check(len(acc) >= 4, "accept: %d of %d spans carry accept_ns" % (len(acc), len(srv)))
        # accepted one after another, each after the previous request's 30 ms handler
        check(all(b > a + 20_000_000 for a, b in zip(acc, acc[1:])), "accept: accept_ns grows request by request (>20 ms each): %s" % [round(x / 1e6, 1) for x in acc])
        check(acc and acc[-1] >= 80_000_000, "accept: the last connection waited >= 80 ms in the accept queue")
        for s in srv:
            a = s["a"]
            if "wirespan.queue.accept_ns" in a and a["wirespan.queue.accept_ns"] > 50e6:
                check(a["wirespan.queue.accept_ns"] >= max(a.get(k, 0) for k in W[1:]), "accept: accept queue is the largest part")
        # The burst client sends 40 ms after connecting. A connection opened for its
        # request waited from the handshake: accept_ns counts those 40 ms (from the
        # arrival it would be ~30 ms for the first queued one), the SERVER span starts
        # at the handshake and its CLIENT parent at the connect() entry, around it.
        bsrv = [s for s in srv if s["a"].get("url.path") == "/burst"]
        bacc = [s["a"]["wirespan.queue.accept_ns"] for s in bsrv if "wirespan.queue.accept_ns" in s["a"]]
        check(len(bacc) >= 4 and min(bacc) >= 55_000_000, "accept: the burst's accept_ns count from the handshake, 40 ms before the request was sent (lowest %.1f ms)" % (min(bacc or [0]) / 1e6))
        bcli = [s for s in cli if s["a"].get("url.path") == "/burst"]
        check(len(bcli) == 5 and all(c["dur"] >= 65_000_000 for c in bcli), "accept: the 5 CLIENT spans start at connect(): each >= 65 ms (40 ms before sending + 30 ms handler): %s" % [round(c["dur"] / 1e6, 1) for c in bcli])
        byid = {c["spanId"]: c for c in bcli}
        for s in bsrv:
            c = byid.get(s.get("parentSpanId"))
            check(c is not None, "accept: SERVER span has its CLIENT span as parent")
            if c is not None:
                end = lambda x: x["start"] + x["dur"]
                check(c["start"] <= s["start"] and end(s) <= end(c), "accept: SERVER span [%d, +%.2f ms] inside its CLIENT span [%d, +%.2f ms]" % (s["start"], s["dur"] / 1e6, c["start"], c["dur"] / 1e6))
    elif scen == "receive":
        check(len(srv) >= 3, "receive: >= 3 server spans")
        for s in srv:
            a = s["a"]
            check(a.get("wirespan.queue.receive_ns", 0) >= 45_000_000, "receive: receive_ns >= 45 ms (server reads 50 ms late): %.1f ms" % (a.get("wirespan.queue.receive_ns", 0) / 1e6))
            check(a.get("wirespan.queue.receive_ns", 0) >= max(a.get(k, 0) for k in W[2:]), "receive: the receive queue is the largest part")
            check(any(e["name"] == "wirespan.request.picked_up" for e in s.get("events", [])), "receive: span event where the application picked the request up")
    elif scen in ("burn-alone", "burn-shared"):
        check(len(full) >= 2, "%s: >= 2 server spans with a scheduler split (%d)" % (scen, len(full)))
        for s in full:
            a = s["a"]
            check(a["wirespan.sched.oncpu_ns"] >= 27_000_000, "%s: oncpu_ns >= 27 ms (handler burns 30 ms): %.1f" % (scen, a["wirespan.sched.oncpu_ns"] / 1e6))
            if scen == "burn-shared":
                check(a["wirespan.sched.runqueue_ns"] >= 15_000_000, "burn-shared: runqueue_ns >= 15 ms with 2 busy processes on its CPU: %.1f" % (a["wirespan.sched.runqueue_ns"] / 1e6))
        if scen == "burn-alone" and full:
            # the machine is shared: at least one request ran without a CPU queue
            low = min(s["a"]["wirespan.sched.runqueue_ns"] for s in full)
            check(low < 10_000_000, "burn-alone: runqueue_ns < 10 ms on an uncontended CPU (lowest %.1f ms)" % (low / 1e6))
    elif scen == "network":
        dport = int(sys.argv[4])
        down = sorted([s for s in all_ if s["kind"] == 3 and port_of(s, "server.port") == dport], key=lambda s: s["start"])
        for s in down:
            show(s)
        nw = [s for s in down if "wirespan.net.wait_ns" in s["a"]]
        check(len(nw) >= 2, "network: >= 2 downstream CLIENT spans with net.wait_ns (%d)" % len(nw))
        for s in nw:
            check(s["a"]["wirespan.net.wait_ns"] >= 150_000_000, "network: net.wait_ns >= 150 ms behind a relay holding each chunk 80 ms each way: %.1f" % (s["a"]["wirespan.net.wait_ns"] / 1e6))
            check(s["a"]["wirespan.net.wait_ns"] <= s["dur"], "network: net.wait_ns within the CLIENT span")
        # the SERVER span's blocked time covers its child CLIENT span
        for s in full:
            kids = [c for c in down if c["parentSpanId"] == s["spanId"]]
            if kids:
                covered = sum(c["dur"] for c in kids)
                check(s["a"]["wirespan.sched.blocked_ns"] >= 0.95 * covered, "network: SERVER blocked_ns %.1f ms covers its child CLIENT span %.1f ms" % (s["a"]["wirespan.sched.blocked_ns"] / 1e6, covered / 1e6))
        check(any(c["parentSpanId"] == s["spanId"] for s in full for c in down), "network: a SERVER span with a scheduler split has its downstream CLIENT child")
    elif scen == "retrans":
        check(len(cli) >= 2, "retrans: >= 2 CLIENT spans")
        if len(cli) >= 2:
            check(cli[0]["a"].get("wirespan.tcp.retransmits", -1) == 0, "retrans: the request before the drop rule: 0 retransmits")
            check(cli[1]["a"].get("wirespan.tcp.retransmits", 0) >= 1, "retrans: the request sent while the tc rule dropped: >= 1 retransmit (%s)" % cli[1]["a"].get("wirespan.tcp.retransmits"))
            check(cli[1]["a"].get("wirespan.net.wait_ns", 0) >= 200_000_000, "retrans: its network wait includes the retransmission timeout (>= 200 ms)")
    sys.exit(1 if fails else 0)


main()
