"""Judge bpf_dump -G output for test_go_runtime.sh.

  check_go_runtime.py DUMP BACKEND_PORT NAME=PID:TAGS...

TAGS is a comma list like one1,one2,fan1: the requests sent to that Go service
(/fan?t=TAG when TAG contains "fan", else /one?t=TAG). For each, in record order:
  - the service's read of the request carries the serving goroutine G (rt_ctx != 0);
  - /one: a WS_RT_GO_CALL by G names fd F, and the next request written on F goes
    to the backend carrying the tag; /fan: three calls by three goroutines whose
    WS_RT_GO_SPAWN parent is G, each followed by its own tagged request on its fd;
  - the service's response on the request's socket is written by G.
Exit 0 when every check holds; prints one line per failed check.
"""
import re
import sys

LINE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def parse(path):
    recs = []
    with open(path, errors="replace") as f:
        for line in f:
            kind = line.split(" ", 1)[0]
            if kind not in ("DATA", "RT", "SOCK", "GOPROC"):
                continue
            d = {"rec": kind}
            for k, v in LINE.findall(line):
                d[k] = v[1:-1] if v.startswith('"') else v
            recs.append(d)
    return recs


def main():
    dump, backend = sys.argv[1], sys.argv[2]
    recs = parse(dump)
    fails = 0

    def bad(msg):
        nonlocal fails
        fails += 1
        print("FAIL " + msg)

    for spec in sys.argv[3:]:
        name, rest = spec.split("=", 1)
        pid, tags = rest.split(":", 1)
        mine = [r for r in recs if r.get("pid") == pid]
        if not any(r["rec"] == "GOPROC" for r in mine):
            bad(f"{name}: pid {pid} never registered as a Go process")
        spawns = {}
        for r in mine:
            if r["rec"] == "RT" and r.get("kind") == "go_spawn":
                spawns.setdefault(r["other"], r["ctx"])
        for tag in tags.split(","):
            path = "/fan" if "fan" in tag else "/one"
            want = f"GET {path}?t={tag} "
            idx = next((i for i, r in enumerate(mine) if r["rec"] == "DATA" and
                        r["dir"] == "in" and r["role"] == "server" and
                        r.get("data", "").startswith(want)), None)
            if idx is None:
                bad(f"{name} {tag}: no read of the request by the service")
                continue
            rd = mine[idx]
            g = rd["g"]
            if g == "0":
                bad(f"{name} {tag}: request read without a goroutine id")
                continue
            resp = next((r for r in mine[idx + 1:] if r["rec"] == "DATA" and r["dir"] == "out"
                         and r["sock"] == rd["sock"]), None)
            if not resp:
                bad(f"{name} {tag}: no response written")
            elif resp["g"] != g:
                bad(f"{name} {tag}: response written by goroutine {resp['g']}, request read by {g}")
            end = mine.index(resp) if resp else len(mine)
            window = mine[idx + 1:end]
            calls = [(i, r) for i, r in enumerate(window) if r["rec"] == "RT" and
                     r.get("kind") == "go_call"]
            if path == "/one":
                callers = [(i, r) for i, r in calls if r["ctx"] == g]
                subtags = [tag]
                if len(callers) != 1:
                    bad(f"{name} {tag}: {len(callers)} calls by handler goroutine {g} (want 1)")
                    continue
            else:
                callers = [(i, r) for i, r in calls if spawns.get(r["ctx"]) == g]
                subtags = [f"{tag}.{k}" for k in range(3)]
                if len(callers) != 3 or len({r["ctx"] for _, r in callers}) != 3:
                    bad(f"{name} {tag}: calls by children of {g}: "
                        f"{[(r['ctx'], r['fd']) for _, r in callers]} (want 3 distinct)")
                    continue
            seen = set()
            for i, c in callers:
                w = next((r for r in window[i + 1:] if r["rec"] == "DATA" and r["dir"] == "out"
                          and r["fd"] == c["fd"]), None)
                if not w:
                    bad(f"{name} {tag}: no request written on fd {c['fd']} after the call")
                    continue
                m = re.match(r"GET \S*\?t=(\S+) ", w.get("data", ""))
                if not m or m.group(1) not in subtags or w["r"].rsplit(":", 1)[1] != backend:
                    bad(f"{name} {tag}: write on fd {c['fd']} after the call is not a backend "
                        f"request of this tag: {w.get('data', '')[:40]!r} to {w['r']}")
                    continue
                seen.add(m.group(1))
                print(f"ok {name} {tag}: read by g{g}, call by g{c['ctx']} "
                      f"(parent g{spawns.get(c['ctx'], '?')}) fd {c['fd']}, written by g{w['g']} "
                      f"tid {w['tid']} as t={m.group(1)}")
            if seen != set(subtags):
                bad(f"{name} {tag}: backend requests matched {sorted(seen)}, want {subtags}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
