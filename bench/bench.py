#!/usr/bin/python3
"""wirespan benchmark: what tracing costs a service, side by side, every layer.

Variants, alternated in every round (A B C ... A B C ...):
  none     nothing attached
  floor    empty BPF programs on exactly wirespan's hooks (build/wirespan-floor)
  capture  wirespan --capture-only (ring buffer drained, records discarded)
  full     wirespan -o null (parsing, span assembly, parentage, null sink)
  otlp     wirespan --otlp-endpoint to a local discarding receiver (bench/otlp_sink.c)
  sdk      no agent; the Node service instrumented with the OpenTelemetry SDK,
           exporting to the same receiver (Node workloads only)
Workloads: nginx static files (100 B, 10 KiB, 256 KiB) under wrk at saturation, keep-alive
and one connection per request; nginx 100 B at a fixed rate (half of saturation, open
loop, bench/loadgen.c) keep-alive and short connections; a Node service doing 1 ms of CPU
work per request at a fixed rate; the Node service's small response at saturation;
redis-server under redis-benchmark (GET/SET, with and without pipelining) at saturation and
under loadgen's Redis GET at a fixed rate (per command: both ends are traced, 2 spans).

Every agent is scoped to the benchmark's ports (-P). Everything started here is stopped
here, by pid. Only 127.0.0.1. Results: a table on stdout, JSON and a PNG under
build/bench/. docs/benchmarks.md explains the method and the figures.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
TOOLS = {
    "wirespan": os.path.join(BUILD, "wirespan"),
    "floor": os.path.join(BUILD, "wirespan-floor"),
    "loadgen": os.path.join(BUILD, "bench", "loadgen"),
    "sink": os.path.join(BUILD, "bench", "otlp_sink"),
    "bpfstats": os.path.join(BUILD, "bench", "bpfstats"),
}
NODE_DIR = os.path.join(ROOT, "bench", "node")
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOAD_CPU = "0"      # wrk / loadgen
SERVER_CPU = 1      # nginx worker, node

ALL_VARIANTS = ["none", "floor", "capture", "notls", "nowaits", "full", "otlp", "sdk"]
BASE_VARIANTS = ("capture", "notls", "full", "otlp")   # agent variants with argv of their own
AGENT_VARIANTS = BASE_VARIANTS + ("nowaits",)
# Variants made on the command line (--variant NAME=BASE:ARGS): an agent variant run with
# extra options, measured side by side with the others in the same alternated rounds.
DERIVED = {"nowaits": ("full", ["--no-waits"])}   # full without the waits hooks (issue 11)

# name: (server, kind, path, close, description)
WORKLOADS = {
    "node-1ms-rate": ("node", "rate", "/work?us=1000", False, "Node service, 1 ms CPU work per request, fixed rate"),
    "ka-100B-sat": ("nginx", "sat", "/b100", False, "nginx 100 B, keep-alive, wrk saturation"),
    "ka-10K-sat": ("nginx", "sat", "/b10k", False, "nginx 10 KiB, keep-alive, wrk saturation"),
    "ka-256K-sat": ("nginx", "sat", "/b256k", False, "nginx 256 KiB, keep-alive, wrk saturation"),
    "close-100B-sat": ("nginx", "sat", "/b100", True, "nginx 100 B, new connection per request, wrk saturation"),
    "ka-100B-rate": ("nginx", "rate", "/b100", False, "nginx 100 B, keep-alive, fixed rate ~1/2 saturation"),
    "close-100B-rate": ("nginx", "rate", "/b100", True, "nginx 100 B, new connection per request, fixed rate ~1/2 saturation"),
    "node-small-sat": ("node", "sat", "/small", False, "Node service 100 B, keep-alive, wrk saturation"),
    "oos-ka-100B-sat": ("nginx-oos", "sat", "/b100", False,
                        "a second nginx outside the agent's scope (not in -P), 100 B keep-alive, wrk "
                        "saturation: what a process wirespan does not trace pays"),
    "tls-ka-100B-sat": ("nginx-tls", "sat", "/b100", False,
                        "nginx with TLS (https) 100 B, keep-alive, wrk saturation: OpenSSL uprobes in nginx and wrk"),
    "redis-sat": ("redis", "sat", None, False,
                  "redis-server, redis-benchmark -t set,get -c 16 -d 100, no pipelining, saturation"),
    "redis-pipe": ("redis", "sat", None, False,
                   "redis-server, redis-benchmark -t set,get -c 16 -d 16 -P 16 (pipelined), saturation"),
    "redis-rate": ("redis", "rate", "/ws-bench-key", False,
                   "redis-server, GET of a 100 B value, one command at a time per connection, fixed rate"),
}
# redis-benchmark per workload: pipeline depth, value size, and commands per test (SET, then
# GET) per second of the mode's sat_s: redis-benchmark has no duration option, so a count is
# chosen to take about sat_s at the untraced rate on these 2 CPUs (longer when traced).
# -d 16 for the pipelined run: 16 SETs of 16 B fit the agent's default 1024-byte capture per
# message run (16 SETs of 100 B do not: docs/benchmarks.md).
REDIS_BENCH = {"redis-sat": dict(pipeline=1, size=100, per_s=20000),
               "redis-pipe": dict(pipeline=16, size=16, per_s=150000)}
REDIS_KEY = "ws-bench-key"   # loadgen's GET (redis-rate): a 100 B value set at start
# Which saturation workload sets the fixed rate of a rate workload, and which share of it.
RATE_FROM = {"ka-100B-rate": ("ka-100B-sat", 0.5), "close-100B-rate": ("close-100B-sat", 0.5),
             "redis-rate": ("redis-sat", 0.5)}
NODE_1MS_RATE = 400.0   # 1 ms of work per request on one core: 40 % busy

MODES = {
    # rounds, seconds per saturation run, seconds per rate run, warm-up, settle, idle, workloads
    "full": dict(rounds=5, sat_s=3, rate_s=3.0, warmup_s=0.5, settle_s=0.7, idle_s=2.0, drain_s=2.6,
                 calib_agent=True,
                 workloads=list(WORKLOADS)),
    # node-1ms-rate first: each variant run starts with a fresh agent, so its span table is
    # empty without waiting for the previous workload's spans to drain.
    "quick": dict(rounds=2, sat_s=1, rate_s=1.0, warmup_s=0.3, settle_s=0.5, idle_s=0.0, drain_s=0.0,
                  calib_agent=False,
                  workloads=["node-1ms-rate", "ka-100B-rate", "ka-100B-sat", "oos-ka-100B-sat"]),
}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Procs:
    """Every process started here, stopped by its own pid, last first."""

    def __init__(self):
        self.live = []

    def start(self, name, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.live.append((name, p))
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10.0):
        if p.poll() is None:
            try:
                p.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"pid {p.pid} ignored signal {sig}, killing it")
                p.kill()
                p.wait()
        self.live = [(n, q) for n, q in self.live if q is not p]
        return p.returncode

    def stop_all(self):
        for name, p in reversed(list(self.live)):
            self.stop(p, signal.SIGINT if name in ("agent", "floor", "bpfstats") else signal.SIGTERM, 5.0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_file_line(path, pattern, proc, timeout=60.0):
    end = time.time() + timeout
    rx = re.compile(pattern)
    while time.time() < end:
        if proc.poll() is not None:
            return None
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    m = rx.search(line)
                    if m:
                        return m
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    return None


# ---- accounting -----------------------------------------------------------------

def proc_cpu_ns(pid):
    """CPU time of every thread of pid, ns (schedstat: the kernel's own per-task
    accounting, ns resolution; utime+stime ticks are kept for a cross-check)."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass
    except FileNotFoundError:
        return None
    return total


def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (FileNotFoundError, IndexError):
        return None


def proc_mem(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                    out[k] = int(v.split()[0]) * 1024
    except FileNotFoundError:
        pass
    return out


def proc_bpf_mapped_rss(pid):
    """Resident bytes of BPF map mappings (the ring buffer, mapped twice by the consumer):
    kernel memory already counted as map memory, but it shows in the process's RSS."""
    total = 0
    name = None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    parts = line.split()
                    name = parts[5] if len(parts) > 5 else ""
                elif line.startswith("Rss:") and name == "anon_inode:bpf-map":
                    total += int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return total


def machine_busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]


def bpf_fd_objects(pid):
    """Program ids and maps (id -> memlock bytes) held by pid, from its fdinfo."""
    progs, maps = set(), {}
    d = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                kv = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except (FileNotFoundError, PermissionError):
            continue
        if "map_id" in kv:
            maps[int(kv["map_id"])] = int(kv.get("memlock", "0").strip())
        elif "prog_id" in kv:
            progs.add(int(kv["prog_id"]))
    return sorted(progs), maps


def bpf_prog_stats(ids):
    if not ids:
        return {}
    r = subprocess.run([TOOLS["bpfstats"], "progs"] + [str(i) for i in ids],
                       capture_output=True, text=True, timeout=30)
    out = {}
    for line in r.stdout.splitlines():
        d = json.loads(line)
        # the kernel's 15-character names collide (sys_enter_write/sys_enter_writev)
        key = d.get("full_name") or d["name"]
        if key in out:
            key = f"{key}#{d['id']}"
        out[key] = d
    return out


def foreign_tracepoint_progs(own_pids):
    """BPF tracepoint programs attached by processes other than ours: each puts every
    syscall of the host on the slow path and skews every figure."""
    try:
        r = subprocess.run(["bpftool", "link", "show", "-j"], capture_output=True, text=True, timeout=30)
        links = json.loads(r.stdout or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    n = 0
    for l in links:
        if l.get("type") not in ("tracepoint", "raw_tracepoint", "perf_event", "tracing", "kprobe_multi"):
            continue
        pids = [p.get("pid") for p in l.get("pids", [])]
        if pids and all(p in own_pids for p in pids):
            continue
        n += 1
    return n


class Agent:
    """wirespan (or the floor loader) started for one variant run."""

    def __init__(self, procs, tmp, variant, ports, sink_port, extra_args, run_no):
        self.procs, self.variant = procs, variant
        self.err_path = os.path.join(tmp, f"agent-{run_no}-{variant}.err")
        self.err = open(self.err_path, "w")
        if variant == "floor":
            argv = [TOOLS["floor"]]
            ready = r"^ready"
            self.p = procs.start("floor", argv, stdout=self.err, stderr=self.err)
        else:
            base, derived_args = DERIVED.get(variant, (variant, []))
            binary = TOOLS["wirespan"]
            if derived_args and derived_args[0].startswith("bin="):
                binary, derived_args = derived_args[0][4:], derived_args[1:]   # another build
            argv = [binary, "-P", ",".join(str(p) for p in ports)]
            if base == "capture":
                argv += ["--capture-only", "-o", "null"]
            elif base == "full":
                argv += ["-o", "null"]
            elif base == "notls":
                argv += ["-o", "null", "--no-tls"]   # full, without the TLS uprobes
            elif base == "otlp":
                argv += ["-o", "null", "--otlp-endpoint", f"http://127.0.0.1:{sink_port}"]
            argv += derived_args + extra_args
            ready = r"wirespan: ready"
            env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
            self.p = procs.start("agent", argv, stdout=subprocess.DEVNULL, stderr=self.err, env=env)
        self.argv = argv
        if not wait_file_line(self.err_path, ready, self.p, 120):
            raise RuntimeError(f"{variant}: {' '.join(argv)} did not become ready:\n" + self.tail())
        self.prog_ids, self.maps = bpf_fd_objects(self.p.pid)
        self.blocks = 0

    def tail(self):
        try:
            with open(self.err_path, errors="replace") as f:
                return "".join(f.readlines()[-20:])
        except FileNotFoundError:
            return ""

    def counters(self):
        """Ask for the counters (SIGUSR1) and parse the block it prints."""
        if self.variant == "floor":
            return {}
        before = self._count_blocks()
        self.p.send_signal(signal.SIGUSR1)
        end = time.time() + 5
        while time.time() < end and self._count_blocks() <= before:
            time.sleep(0.02)
        time.sleep(0.05)   # the rest of the block
        return self._last_block()

    def _count_blocks(self):
        with open(self.err_path, errors="replace") as f:
            return f.read().count("wirespan counters:")

    def _last_block(self):
        with open(self.err_path, errors="replace") as f:
            text = f.read()
        i = text.rfind("wirespan counters:")
        out = {}
        if i < 0:
            return out
        for line in text[i:].splitlines()[1:]:
            m = re.match(r"^\s+(\w+) (\d+)$", line)
            if m:
                out[m.group(1)] = int(m.group(2))
            elif not line.startswith(" "):
                break
        return out

    def stop(self):
        rc = self.procs.stop(self.p, signal.SIGINT, 30)
        self.err.close()
        final = self._last_block() if self.variant != "floor" else {}
        if rc != 0:
            log(f"{self.variant}: exited {rc}:\n{self.tail()}")
        return rc, final


def diff(after, before):
    return {k: after[k] - before.get(k, 0) for k in after if isinstance(after[k], int)}


# ---- load ---------------------------------------------------------------------------

def run_wrk(url, seconds, close, conns):
    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--latency"]   # whole seconds only
    if close:
        argv += ["-H", "Connection: close"]
    argv.append(url)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    out = r.stdout
    res = {"tool": "wrk", "conns": conns}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if not m:
        raise RuntimeError(f"wrk failed: {out}\n{r.stderr}")
    secs = float(m.group(2)) * {"s": 1, "ms": 1e-3, "m": 60}.get(m.group(3), 1)
    res["requests"] = int(m.group(1))
    res["rps"] = res["requests"] / secs
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0

    def us(v, unit):
        return float(v) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
    for q in ("50", "99"):
        m = re.search(rf"^\s+{q}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out, re.M)
        if m:
            res[f"p{q}_us"] = us(m.group(1), m.group(2))
    return res


def run_loadgen(url, rate, seconds, warmup, close):
    argv = ["taskset", "-c", LOAD_CPU, TOOLS["loadgen"], "-u", url, "-r", f"{rate:.0f}",
            "-d", str(seconds), "-w", str(warmup), "-m", "2048"]
    if close:
        argv.append("--close")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + warmup + 60)
    if r.returncode != 0:
        raise RuntimeError(f"loadgen failed ({r.returncode}): {r.stderr}")
    res = json.loads(r.stdout)
    res["tool"] = "loadgen"
    res["requests"] = res["all_completed"]
    res["rps"] = res["achieved_rps"]
    return res


def run_redis_benchmark(port, wl, seconds):
    """redis-benchmark at saturation: SET then GET, 16 clients, the workload's pipeline depth
    and value size, a fixed count per test (it has no duration option). Throughput over both
    tests; p50/p99 the larger of the two tests' (its --csv gives them in ms)."""
    rb = REDIS_BENCH[wl]
    n = max(1000, int(rb["per_s"] * seconds))
    argv = ["taskset", "-c", LOAD_CPU, "redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
            "-t", "set,get", "-c", "16", "-d", str(rb["size"]), "-n", str(n), "-P", str(rb["pipeline"]),
            "--csv"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds * 20 + 60)
    tests = {}
    for line in r.stdout.splitlines():
        f = [x.strip('"') for x in line.split(",")]
        if len(f) >= 7 and f[0] in ("SET", "GET"):
            tests[f[0]] = {"rps": float(f[1]), "p50_us": float(f[4]) * 1e3, "p99_us": float(f[6]) * 1e3}
    if r.returncode != 0 or set(tests) != {"SET", "GET"}:
        raise RuntimeError(f"redis-benchmark failed ({r.returncode}): {r.stdout}\n{r.stderr}")
    secs = sum(n / t["rps"] for t in tests.values())
    res = {"tool": "redis-benchmark", "conns": 16, "pipeline": rb["pipeline"], "value_bytes": rb["size"],
           "per_test": n, "tests": tests, "requests": 2 * n, "rps": 2 * n / secs,
           "p50_us": max(t["p50_us"] for t in tests.values()),
           "p99_us": max(t["p99_us"] for t in tests.values())}
    return res


def run_saturation(wl, port, seconds):
    """The saturation load of a workload (calibration of the rate workloads too)."""
    server, _, path, close, _ = WORKLOADS[wl]
    if server == "redis":
        return run_redis_benchmark(port, wl, seconds)
    scheme = "https" if server == "nginx-tls" else "http"
    return run_wrk(f"{scheme}://127.0.0.1:{port}{path}", seconds, close, 16)


# ---- servers ------------------------------------------------------------------------

def start_nginx(procs, tmp, port, tls_port, name="nginx"):
    d = os.path.join(tmp, name)
    os.makedirs(os.path.join(d, "www"))
    os.makedirs(os.path.join(d, "tmp"))
    # The TLS server's self-signed certificate (the tls-* workloads; wrk does not verify).
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-keyout", os.path.join(d, "key.pem"),
                        "-out", os.path.join(d, "cert.pem")], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl req failed: " + r.stderr)
    os.chmod(os.path.join(d, "key.pem"), 0o644)
    for name, size in (("b100", 100), ("b10k", 10240), ("b256k", 262144)):
        with open(os.path.join(d, "www", name), "wb") as f:
            f.write(b"x" * size)
    with open(os.path.join(ROOT, "bench", "nginx.conf.in")) as f:
        conf = f.read()
    conf = (conf.replace("@DIR@", d).replace("@PORT@", str(port))
            .replace("@CPUMASK@", "1" + "0" * SERVER_CPU).replace("@TLSPORT@", str(tls_port)))
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf)
    err = open(os.path.join(d, "stderr"), "w")
    master = procs.start("nginx", ["nginx", "-p", d, "-c", os.path.join(d, "nginx.conf")],
                         stdout=err, stderr=err)
    if not wait_port(port):
        err.close()
        raise RuntimeError("nginx did not start: " + open(os.path.join(d, "stderr")).read())
    worker = None
    for _ in range(100):
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()
                if int(st[1]) == master.pid:
                    worker = int(pid)
            except (FileNotFoundError, IndexError, ProcessLookupError):
                pass
        if worker:
            break
        time.sleep(0.05)
    if not worker:
        raise RuntimeError("nginx worker not found")
    check_get(port, ["/b100", "/b10k", "/b256k"], {"/b100": 100, "/b10k": 10240, "/b256k": 262144})
    r = subprocess.run(["curl", "-sk", "--max-time", "5", f"https://127.0.0.1:{tls_port}/b100"],
                       capture_output=True, timeout=20)
    if r.returncode != 0 or len(r.stdout) != 100:
        raise RuntimeError(f"GET https://127.0.0.1:{tls_port}/b100 failed: {r.returncode} {r.stderr[:200]!r}")
    return master, worker


IDLE_CONNS = 3000   # idle keep-alive connections for the memory-per-connection figure


def own_rss(pid):
    m = proc_mem(pid)
    return m.get("VmRSS", 0) - proc_bpf_mapped_rss(pid)


def idle_conn_cost(agent, port, n):
    """Agent memory per idle connection side (issue 13, docs/memory.md): own RSS (less the
    BPF map mappings) before and after n keep-alive connections to the traced port are
    opened and left idle; both sides of each are tracked. None if they were not."""
    base = agent.counters().get("connections_tracked", 0)
    r0 = own_rss(agent.p.pid)
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            socks.append(s)
        end = time.time() + 10
        tracked = base
        while time.time() < end:
            tracked = agent.counters().get("connections_tracked", 0)
            if tracked >= base + 2 * n:
                break
            time.sleep(0.2)
        r1 = own_rss(agent.p.pid)
    finally:
        for s in socks:
            s.close()
    if tracked < base + 2 * n:
        log(f"idle connections: the agent tracks {tracked - base} of {2 * n} sides")
        return None
    per = (r1 - r0) / (tracked - base)
    log(f"idle connections: {tracked - base} sides, own RSS {r0 / 2**20:.1f} -> {r1 / 2**20:.1f} MiB, "
        f"{per:.0f} bytes per side")
    return per


def check_get(port, paths, sizes):
    """A benchmark of error pages measures nothing: every path must answer 200 with its body."""
    for path in paths:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                body = r.read()
                if r.status != 200 or (path in sizes and len(body) != sizes[path]):
                    raise RuntimeError(f"GET {path}: status {r.status}, {len(body)} bytes")
        except OSError as e:
            raise RuntimeError(f"GET http://127.0.0.1:{port}{path} failed: {e}")


def start_node(procs, tmp, port, otel, sink_port, tag):
    env = dict(os.environ)
    env = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    if otel:
        env["BENCH_OTEL"] = "1"
        env["BENCH_OTLP_URL"] = f"http://127.0.0.1:{sink_port}/v1/traces"
    out = os.path.join(tmp, f"node-{tag}.out")
    f = open(out, "w")
    p = procs.start("node", ["taskset", "-c", str(SERVER_CPU), "node",
                             os.path.join(NODE_DIR, "service.js"), str(port)],
                    stdout=f, stderr=f, env=env, cwd=NODE_DIR)
    if not wait_file_line(out, r"^listening", p, 30):
        raise RuntimeError("node service did not start: " + open(out).read())
    check_get(port, ["/small", "/work?us=10"], {"/small": 100, "/work?us=10": 100})
    return p


def redis_cmd(port, *args):
    """One command in RESP on a fresh connection; the reply's first line and bulk body."""
    req = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(req.encode())
        buf = b""
        while b"\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                raise RuntimeError(f"redis {args[0]}: connection closed")
            buf += d
        head, _, rest = buf.partition(b"\r\n")
        if head.startswith(b"-"):
            raise RuntimeError(f"redis {args[0]}: {head.decode(errors='replace')}")
        if head.startswith(b"$") and int(head[1:]) >= 0:
            need = int(head[1:]) + 2
            while len(rest) < need:
                d = s.recv(65536)
                if not d:
                    raise RuntimeError(f"redis {args[0]}: connection closed")
                rest += d
            return head.decode(), rest[:need - 2].decode(errors="replace")
        return head.decode(), None


def redis_stats(port):
    """The server's own counts (INFO stats): commands processed, error replies, connections.
    The INFO command itself counts once in the next snapshot."""
    _, body = redis_cmd(port, "INFO", "stats")
    out = {}
    for line in (body or "").splitlines():
        k, _, v = line.partition(":")
        if k in ("total_commands_processed", "total_error_replies", "total_connections_received",
                 "rejected_connections"):
            out[k] = int(v)
    return out


def start_redis(procs, tmp, port):
    """redis-server on 127.0.0.1:port, pinned like the other servers, no persistence (no RDB
    snapshots, no AOF), its working directory in the run's temporary directory."""
    d = os.path.join(tmp, "redis")
    os.makedirs(d)
    err = open(os.path.join(d, "stderr"), "w")
    p = procs.start("redis", ["taskset", "-c", str(SERVER_CPU), "redis-server", "--bind", "127.0.0.1",
                              "--port", str(port), "--save", "", "--appendonly", "no", "--dir", d,
                              "--logfile", os.path.join(d, "redis.log"), "--daemonize", "no"],
                    stdout=err, stderr=err)
    if not wait_port(port):
        err.close()
        raise RuntimeError("redis-server did not start: " + open(os.path.join(d, "stderr")).read())
    if redis_cmd(port, "SET", REDIS_KEY, "x" * 100)[0] != "+OK" or \
            redis_cmd(port, "GET", REDIS_KEY)[1] != "x" * 100:
        raise RuntimeError("redis-server does not answer SET/GET")
    return p


def sink_stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
        return json.loads(r.read())


# ---- one measurement ----------------------------------------------------------------

def measure(ctx, variant, wl, agent, server_pid, port):
    server, kind, path, close, _ = WORKLOADS[wl]
    m = ctx.mode
    scheme = "redis" if server == "redis" else "http"
    url = f"{scheme}://127.0.0.1:{port}{path}"
    pids = {"server": server_pid}
    if agent:
        pids["agent"] = agent.p.pid
    cpu0 = {k: proc_cpu_ns(p) for k, p in pids.items()}
    tick0 = {k: proc_ticks(p) for k, p in pids.items()}
    mach0 = machine_busy_ticks()
    cnt0 = agent.counters() if agent else {}
    bpf0 = bpf_prog_stats(agent.prog_ids) if agent and ctx.bpf_stats else {}
    sink0 = sink_stats(ctx.sink_port)
    rs0 = redis_stats(port) if server == "redis" else None
    t0 = time.time()
    if kind == "sat":
        load = run_saturation(wl, port, m["sat_s"])
    else:
        rate = ctx.rates[wl]
        load = run_loadgen(url, rate, m["rate_s"], m["warmup_s"], close)
    load_wall = time.time() - t0
    if rs0 is not None:
        # Per command as the server counted them: redis-benchmark's own CONFIG GETs and the
        # first INFO included (both traced too), the load tool's count kept beside it.
        rs1 = redis_stats(port)
        rd = diff(rs1, rs0)
        load["load_tool_requests"] = load["requests"]
        load["requests"] = rd["total_commands_processed"] - 1
        load["server_stats"] = rd
        if rd.get("total_error_replies"):
            load["errors"] = load.get("errors", 0) + rd["total_error_replies"]
    bad = (load.get("non2xx", 0) + load.get("errors", 0) + load.get("socket_errors", 0)
           + load.get("conn_errors", 0))
    if bad:
        # Refuse to report: throughput of failures says nothing about tracing cost.
        raise RuntimeError(f"{variant}/{wl}: {bad} failed requests ({json.dumps(load)})")
    time.sleep(m["settle_s"])   # spans wait for their local peer (link-wait) before they go out
    mach1 = machine_busy_ticks()
    cnt1 = agent.counters() if agent else {}
    bpf1 = bpf_prog_stats(agent.prog_ids) if agent and ctx.bpf_stats else {}
    cpu1 = {k: proc_cpu_ns(p) for k, p in pids.items()}
    tick1 = {k: proc_ticks(p) for k, p in pids.items()}
    sink1 = sink_stats(ctx.sink_port)
    wall = time.time() - t0
    if agent and agent.variant in ("full", "otlp"):
        # Emitted spans stay in the table for the linger time (so late children still find
        # their parent): let it drain so the next workload starts with an empty table.
        end = time.time() + m["drain_s"]
        while cnt1.get("spans_in_flight", 0) > 0 and time.time() < end:
            time.sleep(0.3)
            cnt1 = agent.counters()
    req = max(load["requests"], 1)
    rec = {"variant": variant, "workload": wl, "load": load, "wall_s": wall, "load_wall_s": load_wall}
    rec["cpu_us_per_req"] = {k: (cpu1[k] - cpu0[k]) / 1e3 / req for k in pids
                             if cpu0[k] is not None and cpu1[k] is not None}
    rec["cpu_ticks"] = {k: tick1[k] - tick0[k] for k in pids if tick0[k] is not None and tick1[k] is not None}
    rec["machine_cpu_us_per_req"] = (mach1 - mach0) * 1e6 / CLK_TCK / req
    rec["machine_cpu_util"] = (mach1 - mach0) / CLK_TCK / wall / os.cpu_count()
    if agent:
        c = diff(cnt1, cnt0)
        rec["agent_counters"] = c
        if agent.variant != "floor":
            rec["agent_mem"] = proc_mem(agent.p.pid)
    if bpf1:
        progs = {}
        tot_ns = 0
        for name, a in bpf1.items():
            b = bpf0.get(name, {"run_time_ns": 0, "run_cnt": 0})
            dt, dn = a["run_time_ns"] - b["run_time_ns"], a["run_cnt"] - b["run_cnt"]
            progs[name] = {"run_time_ns": dt, "run_cnt": dn}
            tot_ns += dt
        rec["bpf"] = progs
        rec["bpf_ns_per_req"] = tot_ns / req
        hits = sum(p["run_cnt"] for p in progs.values())
        rec["bpf_ns_per_hit"] = tot_ns / hits if hits else None
    rec["sink"] = diff(sink1, sink0)
    return rec


# ---- statistics and output ----------------------------------------------------------

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def getp(rec, path):
    cur = rec
    for k in path.split("."):
        if not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return cur


def summarize(runs, variants, workloads):
    """Per workload and variant: medians and spreads; ratios paired by round."""
    by = {}
    for r in runs:
        by.setdefault((r["workload"], r["variant"]), []).append(r)
    out = {}
    for wl in workloads:
        out[wl] = {}
        for v in variants:
            rs = by.get((wl, v))
            if not rs:
                continue
            s = {"n": len(rs)}

            def add(name, path, rs=rs, s=s):
                xs = [getp(r, path) for r in rs]
                s[name] = med(xs)
                s[name + "_range"] = spread(xs)
            add("rps", "load.rps")
            add("p50_us", "load.p50_us")
            add("p99_us", "load.p99_us")
            add("agent_cpu_us_per_req", "cpu_us_per_req.agent")
            add("server_cpu_us_per_req", "cpu_us_per_req.server")
            add("machine_cpu_us_per_req", "machine_cpu_us_per_req")
            add("bpf_ns_per_req", "bpf_ns_per_req")
            add("bpf_ns_per_hit", "bpf_ns_per_hit")
            reqs = [r["load"]["requests"] for r in rs]
            s["requests_total"] = sum(reqs)
            for key in ("spans_produced", "requests", "ringbuf_drops", "spans_dropped_table_full",
                        "events_seen", "otlp_spans_sent", "otlp_spans_dropped_queue_full",
                        "stash_full", "bpf_error_map_full", "parse_errors", "records_consumed",
                        "exchanges", "requests_uncaptured", "spans_dropped_unfinished",
                        "connections_undetected"):
                vals = [getp(r, "agent_counters." + key) for r in rs]
                if any(x is not None for x in vals):
                    s[key] = sum(x or 0 for x in vals)
            # the protocol layer's own counters (proto_redis_requests, proto_redis_error_gap, ...)
            pkeys = sorted({k for r in rs for k in (r.get("agent_counters") or {}) if k.startswith("proto_")})
            if pkeys:
                s["proto"] = {k: sum(getp(r, "agent_counters." + k) or 0 for r in rs) for k in pkeys}
            s["sink_spans"] = sum(getp(r, "sink.spans") or 0 for r in rs)
            s["load_errors"] = sum((r["load"].get("errors", 0) + r["load"].get("timeouts", 0) +
                                    r["load"].get("socket_errors", 0) + r["load"].get("non2xx", 0) +
                                    r["load"].get("dropped", 0)) for r in rs)
            # kernel programs + agent, per request (what tracing adds in CPU beyond hooking)
            tot = [((getp(r, "cpu_us_per_req.agent") or 0) + (getp(r, "bpf_ns_per_req") or 0) / 1e3)
                   for r in rs if getp(r, "cpu_us_per_req.agent") is not None or getp(r, "bpf_ns_per_req") is not None]
            s["traced_cpu_us_per_req"] = med(tot)
            s["traced_cpu_us_per_req_range"] = spread(tot)
            mem = [getp(r, "agent_mem.VmHWM") for r in rs]
            s["agent_hwm_bytes"] = max([m for m in mem if m] or [0]) or None
            progs = {}
            for r in rs:
                for name, p in (r.get("bpf") or {}).items():
                    a = progs.setdefault(name, [0, 0])
                    a[0] += p["run_time_ns"]
                    a[1] += p["run_cnt"]
            if progs:
                s["bpf_progs"] = {n: {"run_time_ns": a[0], "run_cnt": a[1],
                                      "ns_per_hit": a[0] / a[1] if a[1] else None}
                                  for n, a in sorted(progs.items())}
            out[wl][v] = s
        # ratios by round: variant vs none and vs floor, in the same round
        for v in list(out[wl]):
            for base in ("none", "floor"):
                ratios, d50, d99 = [], [], []
                for r in by.get((wl, v), []):
                    b = [x for x in by.get((wl, base), []) if x["round"] == r["round"]]
                    if not b:
                        continue
                    b = b[0]
                    if b["load"]["rps"]:
                        ratios.append(r["load"]["rps"] / b["load"]["rps"])
                    if r["load"].get("p50_us") is not None and b["load"].get("p50_us") is not None:
                        d50.append(r["load"]["p50_us"] - b["load"]["p50_us"])
                        d99.append(r["load"]["p99_us"] - b["load"]["p99_us"])
                if ratios:
                    out[wl][v][f"ratio_vs_{base}"] = med(ratios)
                    out[wl][v][f"ratio_vs_{base}_range"] = spread(ratios)
                if d50:
                    out[wl][v][f"added_p50_us_vs_{base}"] = med(d50)
                    out[wl][v][f"added_p99_us_vs_{base}"] = med(d99)
                    out[wl][v][f"added_p99_us_vs_{base}_range"] = spread(d99)
            # CPU above the floor: traced CPU (programs + agent) is by construction above it;
            # the machine-wide figure includes the hook cost the floor pays too.
            fl = out[wl].get("floor")
            s = out[wl][v]
            nn = out[wl].get("none")
            if nn and s.get("machine_cpu_us_per_req") is not None and nn.get("machine_cpu_us_per_req") is not None:
                s["machine_cpu_us_per_req_above_none"] = s["machine_cpu_us_per_req"] - nn["machine_cpu_us_per_req"]
            if fl and s.get("traced_cpu_us_per_req") is not None and fl.get("traced_cpu_us_per_req") is not None:
                s["traced_cpu_us_per_req_above_floor"] = s["traced_cpu_us_per_req"] - fl["traced_cpu_us_per_req"]
            if fl and s.get("machine_cpu_us_per_req") is not None and fl.get("machine_cpu_us_per_req") is not None:
                s["machine_cpu_us_per_req_above_floor"] = s["machine_cpu_us_per_req"] - fl["machine_cpu_us_per_req"]
    return out


def fmt(x, f="{:.1f}"):
    return "-" if x is None else f.format(x)


def fmt_range(r, f="{:.2f}"):
    if not r or r[0] is None:
        return ""
    return f"[{f.format(r[0])}-{f.format(r[1])}]"


def print_tables(res, out=sys.stdout):
    summ = res["summary"]
    p = lambda *a: print(*a, file=out)
    p("")
    p(f"wirespan benchmark ({res['mode']}), {res['started']}, {res['rounds']} rounds, "
      f"variants alternated per round; median [min-max] over rounds")
    p(f"host: {res['host']['cpus']} CPUs, kernel {res['host']['kernel']}, load before start "
      f"{res['host']['loadavg']}, foreign tracepoint links at start: {res['host']['foreign_tp_links']}")
    if res["host"].get("warning"):
        p("WARNING: " + res["host"]["warning"])
    p("columns: vs none / vs floor = req/s ratio paired by round; agent us/req = agent CPU, all threads;")
    p("  bpf ns/req = run time of the variant's BPF programs per request (their runs for other processes'")
    p("  syscalls included); >floor = agent + programs minus the floor's programs; machine us/req = busy")
    p("  time of all CPUs per request (everything on the host); spans/req: wirespan makes 2 (client and")
    p("  server are both on this host), the SDK 1; lost rb/tbl = ring-buffer drops / the agent's")
    p("  spans_dropped_table_full counter;")
    p("  server us/req = CPU of the nginx worker / Node process / redis-server (BPF programs run in its")
    p("  syscalls); for Redis workloads a request is a command (see the per-command table)")
    for wl, vs in summ.items():
        server, kind, path, close, desc = WORKLOADS[wl]
        p("")
        extra = f" @ {res['rates'][wl]:.0f} req/s" if wl in res["rates"] else ""
        p(f"== {wl}: {desc}{extra}")
        if kind == "sat":
            p(f"  {'variant':8} {'req/s':>9} {'vs none':>16} {'vs floor':>16} {'server us/req':>13} "
              f"{'agent us/req':>12} {'bpf ns/req':>10} {'bpf ns/hit':>10} {'spans/req':>9} {'lost rb/tbl':>9}")
        else:
            p(f"  {'variant':8} {'req/s':>7} {'p50 us':>7} {'p99 us':>8} {'+p50/+p99 vs none':>17} "
              f"{'+p50/+p99 vs floor':>18} {'server':>7} {'agent':>6} {'bpf ns':>7} {'ns/hit':>6} "
              f"{'>floor':>6} {'machine':>7} {'>floor':>6} {'spans':>5} {'lost rb/tbl':>9}")
            p(f"  {'':8} {'':>7} {'':>7} {'':>8} {'':>17} {'':>18} {'us/req':>7} {'us/req':>6} {'/req':>7} {'':>6} "
              f"{'us/req':>6} {'us/req':>7} {'us/req':>6} {'/req':>5}")
        for v, s in vs.items():
            if v == "sdk":   # exports are batched in time: only the whole run can be attributed
                d = res.get("otlp_delivery", {}).get("sdk")
                spr = d["receiver_spans"] / d["requests"] if d and d["requests"] else None
            else:
                spans = s.get("spans_produced")
                spr = spans / s["requests_total"] if spans is not None and s["requests_total"] else None
            lost = "-"
            if v in AGENT_VARIANTS:
                lost = f"{s.get('ringbuf_drops') or 0}/{s.get('spans_dropped_table_full') or 0}"
            if kind == "sat":
                p(f"  {v:8} {fmt(s['rps'], '{:.0f}'):>9} "
                  f"{fmt(s.get('ratio_vs_none'), '{:.3f}'):>5} {fmt_range(s.get('ratio_vs_none_range')):>10} "
                  f"{fmt(s.get('ratio_vs_floor'), '{:.3f}'):>5} {fmt_range(s.get('ratio_vs_floor_range')):>10} "
                  f"{fmt(s.get('server_cpu_us_per_req'), '{:.2f}'):>13} "
                  f"{fmt(s.get('agent_cpu_us_per_req'), '{:.2f}'):>12} {fmt(s.get('bpf_ns_per_req'), '{:.0f}'):>10} "
                  f"{fmt(s.get('bpf_ns_per_hit'), '{:.0f}'):>10} {fmt(spr, '{:.2f}'):>9} {lost:>9}")
            else:
                a = f"{fmt(s.get('added_p50_us_vs_none'), '{:.0f}')}/{fmt(s.get('added_p99_us_vs_none'), '{:.0f}')}"
                b = f"{fmt(s.get('added_p50_us_vs_floor'), '{:.0f}')}/{fmt(s.get('added_p99_us_vs_floor'), '{:.0f}')}"
                p(f"  {v:8} {fmt(s['rps'], '{:.0f}'):>7} {fmt(s.get('p50_us'), '{:.0f}'):>7} {fmt(s.get('p99_us'), '{:.0f}'):>8} "
                  f"{a:>17} {b:>18} {fmt(s.get('server_cpu_us_per_req'), '{:.1f}'):>7} "
                  f"{fmt(s.get('agent_cpu_us_per_req'), '{:.2f}'):>6} "
                  f"{fmt(s.get('bpf_ns_per_req'), '{:.0f}'):>7} {fmt(s.get('bpf_ns_per_hit'), '{:.0f}'):>6} "
                  f"{fmt(s.get('traced_cpu_us_per_req_above_floor'), '{:.2f}'):>6} "
                  f"{fmt(s.get('machine_cpu_us_per_req'), '{:.1f}'):>7} "
                  f"{fmt(s.get('machine_cpu_us_per_req_above_floor'), '{:.1f}'):>6} "
                  f"{fmt(spr, '{:.2f}'):>5} {lost:>9}")
    # The alternative users would pick: the OpenTelemetry SDK in the Node service.
    node_wls = [w for w in summ if WORKLOADS[w][0] == "node" and "sdk" in summ[w]]
    if node_wls:
        p("")
        p("== OpenTelemetry SDK in the Node service vs the same service uninstrumented under wirespan")
        p("   cost per request = Node process CPU + agent CPU above 'none' (programs' time is in the")
        p("   Node process's syscalls, and in wrk's/loadgen's); spans/req delivered to the receiver")
        deliv = res.get("otlp_delivery", {})
        for w in node_wls:
            base = summ[w].get("none", {})
            p(f"  {w}:")
            for v in ("none", "full", "otlp", "sdk"):
                sv = summ[w].get(v)
                if not sv:
                    continue
                srv, bsrv = sv.get("server_cpu_us_per_req"), base.get("server_cpu_us_per_req")
                added = None
                if srv is not None and bsrv is not None:
                    added = srv - bsrv + (sv.get("agent_cpu_us_per_req") or 0)
                d = deliv.get(v)
                if v == "sdk":
                    dl = d["receiver_spans"] / d["requests"] if d and d["requests"] else None
                    spans_txt = f", delivered {fmt(dl, '{:.2f}')} spans/req of 1 (over the sdk run)"
                elif v in ("full", "otlp"):
                    spr = sv.get("spans_produced", 0) / sv["requests_total"] if sv["requests_total"] else None
                    spans_txt = f", produced {fmt(spr, '{:.2f}')} spans/req of 2"
                else:
                    spans_txt = ""
                lat = ""
                if sv.get("p50_us") is not None:
                    lat = (f"p50 {fmt(sv['p50_us'], '{:.0f}')} us p99 {fmt(sv['p99_us'], '{:.0f}')} us "
                           f"(+{fmt(sv.get('added_p50_us_vs_none'), '{:.0f}')}/+{fmt(sv.get('added_p99_us_vs_none'), '{:.0f}')}), ")
                p(f"    {v:6} {fmt(sv['rps'], '{:.0f}'):>7} req/s (x{fmt(sv.get('ratio_vs_none'), '{:.2f}')}), {lat}"
                  f"node {fmt(srv, '{:.1f}')} + agent {fmt(sv.get('agent_cpu_us_per_req'), '{:.1f}')} us/req, "
                  f"added {fmt(added, '{:.1f}')} us/req{spans_txt}")
    print_redis(res, out)
    print_tls(res, out)
    # per-program cost, full pipeline, over every workload
    progs = {}
    for wl, vs in summ.items():
        for v in ("full", "floor"):
            for name, a in (vs.get(v, {}).get("bpf_progs") or {}).items():
                t = progs.setdefault(name, {}).setdefault(v, [0, 0])
                t[0] += a["run_time_ns"]
                t[1] += a["run_cnt"]
    if progs:
        p("")
        p("== in-kernel ns per hook hit, per program (all workloads; run-time stats on)")
        p(f"  {'program':24} {'full ns/hit':>11} {'hits':>11} {'floor ns/hit':>12}")
        tot = {"full": [0, 0], "floor": [0, 0]}
        for name in sorted(progs):
            row = progs[name]
            f = row.get("full", [0, 0])
            fl = row.get("floor", [0, 0])
            for k, t in (("full", f), ("floor", fl)):
                tot[k][0] += t[0]
                tot[k][1] += t[1]
            p(f"  {name:24} {fmt(f[0] / f[1] if f[1] else None, '{:.0f}'):>11} {f[1]:>11} "
              f"{fmt(fl[0] / fl[1] if fl[1] else None, '{:.0f}'):>12}")
        f, fl = tot["full"], tot["floor"]
        p(f"  {'ALL (weighted)':24} {fmt(f[0] / f[1] if f[1] else None, '{:.0f}'):>11} {f[1]:>11} "
          f"{fmt(fl[0] / fl[1] if fl[1] else None, '{:.0f}'):>12}")
    mem = res.get("memory", {})
    if mem:
        p("")
        p("== agent memory and idle cost (max over runs)")
        p("   (RSS counts the ring buffer's user mapping, which is BPF map memory: 'own' leaves it out)")
        for v, m in mem.items():
            p(f"  {v:8} RSS {fmt(m.get('VmRSS', 0) / 2**20, '{:.1f}')} MiB at stop (peak {fmt(m.get('VmHWM', 0) / 2**20, '{:.1f}')}), "
              f"own {fmt(m.get('rss_own', 0) / 2**20, '{:.1f}')} (anon {fmt(m.get('RssAnon', 0) / 2**20, '{:.1f}')}), "
              f"mapped BPF maps {fmt(m.get('bpf_mapped_rss', 0) / 2**20, '{:.1f}')}; "
              f"BPF maps {fmt(m.get('bpf_map_bytes', 0) / 2**20, '{:.1f}')} MiB in {m.get('bpf_maps', 0)} maps")
            if m.get("idle_conn_bytes_per_side") is not None:
                p(f"  {'':8} idle connections: {fmt(m['idle_conn_bytes_per_side'], '{:.0f}')} bytes of own RSS per "
                  f"tracked connection side ({IDLE_CONNS} keep-alive connections, 2 sides each; goal <= 1024)")
            if m.get("idle_cpu_pct") is not None:
                p(f"  {'':8} idle: agent CPU {fmt(m.get('idle_cpu_pct'), '{:.3f}')} %, background hook hits "
                  f"{fmt(med(m.get('idle_hits_per_s') or []), '{:.0f}')}/s costing "
                  f"{fmt(med(m.get('idle_bpf_cpu_pct') or []), '{:.3f}')} % of a CPU in the kernel")

    print_delivery(res, out)


def print_redis(res, out=sys.stdout):
    """Redis workloads per command: what the issue asks (CPU per command, spans per command)
    and what the parser made of the traffic."""
    summ = res["summary"]
    wls = [w for w in summ if WORKLOADS[w][0] == "redis"]
    if not wls:
        return
    p = lambda *a: print(*a, file=out)
    p("")
    p("== Redis, per command (commands as redis-server counted them: INFO stats before/after)")
    p("   cmd/s: the load tool's; us/cmd: redis-server (all threads), agent, BPF programs (all their")
    p("   runs / commands), machine (all CPUs busy; +none = minus none's); spans/cmd: 2 expected (the")
    p("   client's and the server's, both traced); redis req/exch per cmd: proto_redis_requests /")
    p("   exchanges (2 expected); errors: proto_redis_parse_errors and their reasons")
    for wl in wls:
        p(f"  {wl}:")
        p(f"    {'variant':8} {'cmd/s':>8} {'vs none':>16} {'server':>6} {'agent':>6} {'bpf':>6} {'machine':>7} "
          f"{'+none':>6} {'>floor':>6} {'ns/hit':>6} {'spans':>6} {'req':>5} {'exch':>5} {'lost rb/tbl/unf':>15}  errors")
        for v, s in summ[wl].items():
            if v == "sdk":
                continue
            n = s["requests_total"] or None
            per = lambda k: (s.get(k) / n) if n and s.get(k) is not None else None
            pr = s.get("proto") or {}
            req = pr.get("proto_redis_requests") / n if n and "proto_redis_requests" in pr else None
            exch = pr.get("proto_redis_exchanges") / n if n and "proto_redis_exchanges" in pr else None
            errs = ", ".join(f"{k[len('proto_redis_error_'):]} {x}" for k, x in pr.items()
                             if k.startswith("proto_redis_error_") and x)
            lost = "-"
            if v in AGENT_VARIANTS:
                lost = (f"{s.get('ringbuf_drops') or 0}/{s.get('spans_dropped_table_full') or 0}/"
                        f"{s.get('spans_dropped_unfinished') or 0}")
            bpf_us = s.get("bpf_ns_per_req") / 1e3 if s.get("bpf_ns_per_req") is not None else None
            p(f"    {v:8} {fmt(s['rps'], '{:.0f}'):>8} "
              f"{fmt(s.get('ratio_vs_none'), '{:.3f}'):>5} {fmt_range(s.get('ratio_vs_none_range')):>10} "
              f"{fmt(s.get('server_cpu_us_per_req'), '{:.2f}'):>6} {fmt(s.get('agent_cpu_us_per_req'), '{:.2f}'):>6} "
              f"{fmt(bpf_us, '{:.2f}'):>6} {fmt(s.get('machine_cpu_us_per_req'), '{:.2f}'):>7} "
              f"{fmt(s.get('machine_cpu_us_per_req_above_none'), '{:.2f}'):>6} "
              f"{fmt(s.get('traced_cpu_us_per_req_above_floor'), '{:.2f}'):>6} "
              f"{fmt(s.get('bpf_ns_per_hit'), '{:.0f}'):>6} {fmt(per('spans_produced'), '{:.3f}'):>6} "
              f"{fmt(req, '{:.2f}'):>5} {fmt(exch, '{:.2f}'):>5} {lost:>15}  "
              f"{(pr.get('proto_redis_parse_errors') or 0) if pr else '-'}{' (' + errs + ')' if errs else ''}")


def print_tls(res, out=sys.stdout):
    """TLS workloads (issue 10): what the OpenSSL uprobes cost, per TLS call and per request.
    Calls: the entry programs' hits (SSL_read/_ex, SSL_write/_ex, SSL_do_handshake,
    SSL_shutdown, in every process mapping libssl: here nginx and wrk) per request. BPF:
    the run time of the ws_tls_* programs (entries and the return) per call. The trap cost
    is not BPF run time: it shows in machine CPU, full minus notls (the same agent without
    the uprobes), per request and per call."""
    summ = res["summary"]
    wls = [w for w in summ if WORKLOADS[w][0] == "nginx-tls"]
    if not wls:
        return
    p = lambda *a: print(*a, file=out)
    p("")
    p("== TLS (OpenSSL uprobes in nginx and wrk): cost per TLS call and per request")
    p("   calls/req: uprobe entry hits per request; bpf ns/call: ws_tls_* run time per call;")
    p("   machine us/req and its excess over notls (full without uprobes) per request and per call")
    for wl in wls:
        p(f"  {wl}:")
        p(f"    {'variant':8} {'req/s':>8} {'vs none':>16} {'machine':>7} {'+none':>6} {'calls/req':>9} "
          f"{'bpf ns/call':>11} {'+notls us/req':>13} {'us/call':>7}")
        base = summ[wl].get("notls", {}).get("machine_cpu_us_per_req")
        for v, s in summ[wl].items():
            n = s["requests_total"] or None
            progs = s.get("bpf_progs") or {}
            entries = sum(a["run_cnt"] for k, a in progs.items() if k.startswith("ws_tls_") and k != "ws_tls_ret")
            tls_ns = sum(a["run_time_ns"] for k, a in progs.items() if k.startswith("ws_tls_"))
            calls = entries / n if n and entries else None
            ns_call = tls_ns / entries if entries else None
            extra = (s.get("machine_cpu_us_per_req") - base
                     if base is not None and s.get("machine_cpu_us_per_req") is not None and v in ("capture", "full", "otlp")
                     else None)
            per_call = extra / calls if extra is not None and calls else None
            s["tls_calls_per_req"], s["tls_bpf_ns_per_call"] = calls, ns_call
            s["tls_machine_us_per_req_above_notls"], s["tls_machine_us_per_call"] = extra, per_call
            p(f"    {v:8} {fmt(s['rps'], '{:.0f}'):>8} "
              f"{fmt(s.get('ratio_vs_none'), '{:.3f}'):>5} {fmt_range(s.get('ratio_vs_none_range')):>10} "
              f"{fmt(s.get('machine_cpu_us_per_req'), '{:.2f}'):>7} "
              f"{fmt(s.get('machine_cpu_us_per_req_above_none'), '{:.2f}'):>6} {fmt(calls, '{:.2f}'):>9} "
              f"{fmt(ns_call, '{:.0f}'):>11} {fmt(extra, '{:.2f}'):>13} {fmt(per_call, '{:.2f}'):>7}")


def print_delivery(res, out=sys.stdout):
    if not res.get("otlp_delivery"):
        return
    p = lambda *a: print(*a, file=out)
    p("\n== OTLP delivery over the whole run (receiver = bench/otlp_sink)")
    p("   (requests: every request of the variant's runs, warm-ups included; wirespan makes a CLIENT")
    p("    and a SERVER span per request here since both ends are on this host, the SDK a SERVER span)")
    for v, d in res["otlp_delivery"].items():
        p(f"  {v:8} requests {d['requests']}, agent spans produced {d['agent_spans_produced']} "
          f"(dropped {d['agent_spans_dropped']}), OTLP sent {d['otlp_spans_sent']}, "
          f"receiver got {d['receiver_spans']} spans in {d['receiver_requests']} requests")


def write_plot(res, outdir, stem):
    """PNG: throughput vs none per variant (saturation workloads), latency per variant
    (fixed-rate workloads). gnuplot from Debian; skipped with a note when missing."""
    gp = shutil.which("gnuplot")
    if not gp:
        log("gnuplot not found: no plot")
        return None
    summ = res["summary"]
    sat = [w for w in summ if WORKLOADS[w][1] == "sat"]
    rate = [w for w in summ if WORKLOADS[w][1] == "rate"]
    # a column with no value at all makes gnuplot give up on the whole plot
    variants = [v for v in res["variants"]
                if any(summ[w].get(v, {}).get("ratio_vs_none") is not None for w in sat)]
    dat1 = os.path.join(outdir, stem + "-throughput.dat")
    dat2 = os.path.join(outdir, stem + "-latency.dat")
    with open(dat1, "w") as f:
        f.write("workload " + " ".join(variants) + "\n")
        for w in sat:
            f.write(w + " " + " ".join(fmt(summ[w].get(v, {}).get("ratio_vs_none"), "{:.4f}").replace("-", "NaN")
                                       for v in variants) + "\n")
    if not sat or not variants:
        script_sat = 'set title "no saturation workload in this run"\nunset key\nplot [0:1][0:1] 2 notitle'
    else:
        script_sat = f"plot for [i=2:{len(variants) + 1}] '{dat1}' using i:xtic(1) title columnheader(i)"
    with open(dat2, "w") as f:
        f.write("workload_variant p50 p99\n")
        for w in rate:
            for v in res["variants"]:
                s = summ[w].get(v)
                if s:
                    f.write(f"{w}:{v} {fmt(s.get('p50_us'), '{:.2f}').replace('-', 'NaN')} "
                            f"{fmt(s.get('p99_us'), '{:.2f}').replace('-', 'NaN')}\n")
    png = os.path.join(outdir, stem + ".png")
    script = f"""
set terminal pngcairo size 1400,1000 font ",10" noenhanced
set output '{png}'
set multiplot layout 2,1 title "wirespan benchmark {res['started']} ({res['mode']}, median of {res['rounds']} rounds)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top
set title "throughput relative to no agent (saturation, wrk)"
set ylabel "req/s / req/s(none)"
set yrange [0:*]
set xtics rotate by -15
{script_sat}
set title "latency at a fixed rate (open loop)"
set ylabel "microseconds"
set yrange [10:*]
set logscale y
set xtics rotate by -30 font ",8"
plot '{dat2}' using 2:xtic(1) title "p50", '' using 3 title "p99"
unset multiplot
"""
    sp = os.path.join(outdir, stem + ".gp")
    with open(sp, "w") as f:
        f.write(script)
    r = subprocess.run([gp, sp], capture_output=True, text=True)
    if r.returncode != 0:
        log("gnuplot failed: " + r.stderr[-2000:])
        return None
    return png


# ---- main ---------------------------------------------------------------------------

class Ctx:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=sorted(MODES), default="quick")
    ap.add_argument("--rounds", type=int, help="override the mode's rounds")
    ap.add_argument("--variants", help="comma list (default: all)")
    ap.add_argument("--workloads", help="comma list (default: the mode's)")
    ap.add_argument("--agent-args", default="", help="extra wirespan options, e.g. '--max-spans 262144'")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=BASE:ARGS",
                    help="an extra agent variant: BASE (capture, notls, full, otlp) with ARGS, "
                         "e.g. 'nice10=full:--nice 10'; ARGS beginning with bin=PATH run another build "
                         "(before/after in one run: 'before=full:bin=/tmp/old/build/wirespan'); name it in "
                         "--variants or it runs after the defaults")
    ap.add_argument("--no-bpf-stats", action="store_true", help="do not enable BPF run-time statistics")
    ap.add_argument("--out", default=os.path.join(BUILD, "bench"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--report", metavar="JSON", help="print the tables of a stored run and exit")
    args = ap.parse_args()

    if args.report:
        with open(args.report) as f:
            res = json.load(f)
        res["summary"] = summarize([r for r in res["runs"] if r.get("workload")], res["variants"],
                                   res["workloads"])
        print_tables(res)
        return

    if os.geteuid() != 0:
        sys.exit("bench: needs root (BPF)")
    ctx = Ctx()
    ctx.mode = dict(MODES[args.mode])
    if args.rounds:
        ctx.mode["rounds"] = args.rounds
    workloads = args.workloads.split(",") if args.workloads else ctx.mode["workloads"]
    global AGENT_VARIANTS
    for spec in args.variant:
        name, sep, rest = spec.partition("=")
        base, sep2, vargs = rest.partition(":")
        if not sep or not name or base not in BASE_VARIANTS or name in ALL_VARIANTS:
            sys.exit(f"bench: --variant {spec!r}: want NAME=BASE:ARGS with BASE one of {', '.join(BASE_VARIANTS)} and a new NAME")
        DERIVED[name] = (base, vargs.split())
    AGENT_VARIANTS = AGENT_VARIANTS + tuple(d for d in DERIVED if d not in AGENT_VARIANTS)
    ALL_VARIANTS.extend(DERIVED)
    variants = args.variants.split(",") if args.variants else list(ALL_VARIANTS)
    for w in workloads:
        if w not in WORKLOADS:
            sys.exit(f"bench: unknown workload {w} ({', '.join(WORKLOADS)})")
    for v in variants:
        if v not in ALL_VARIANTS:
            sys.exit(f"bench: unknown variant {v} ({', '.join(ALL_VARIANTS)})")
    for name, path in TOOLS.items():
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} missing: run `make bench` (it builds it)")
    need_tools = ["wrk", "nginx", "node", "taskset"]
    if any(WORKLOADS[w][0] == "redis" for w in workloads):
        need_tools += ["redis-server", "redis-benchmark"]
    for t in need_tools:
        if not shutil.which(t):
            sys.exit(f"bench: {t} not installed (scripts/deps.sh installs it)")
    if "sdk" in variants and any(WORKLOADS[w][0] == "node" for w in workloads) and not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@opentelemetry")):
        sys.exit("bench: bench/node/node_modules missing (scripts/deps.sh runs npm ci there)")
    ctx.bpf_stats = not args.no_bpf_stats
    agent_extra = args.agent_args.split()

    procs = Procs()
    tmp = tempfile.mkdtemp(prefix="wirespan-bench.")
    os.chmod(tmp, 0o755)   # nginx workers run unprivileged and serve files from here

    def on_signal(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    started = datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    res = {"mode": args.mode, "started": started, "rounds": ctx.mode["rounds"], "variants": variants,
           "workloads": workloads, "params": ctx.mode, "agent_args": agent_extra, "runs": [],
           "bpf_stats": ctx.bpf_stats}
    try:
        with open("/proc/loadavg") as f:
            loadavg = " ".join(f.read().split()[:3])
        foreign = foreign_tracepoint_progs(set())
        res["host"] = {"cpus": os.cpu_count(), "kernel": os.uname().release, "loadavg": loadavg,
                       "foreign_tp_links": foreign,
                       "wirespan_version": subprocess.run([TOOLS["wirespan"], "--version"], capture_output=True,
                                                          text=True).stdout.strip()}
        warn = []
        if foreign:
            warn.append(f"{foreign} tracepoint link(s) of other processes are attached: every syscall on "
                        "this host already takes the slow path, so 'none' is not clean")
        if float(loadavg.split()[0]) > 0.5:
            warn.append(f"load average {loadavg} before start: other work shares these {os.cpu_count()} CPUs")
        res["host"]["warning"] = "; ".join(warn)
        for w in warn:
            log("WARNING: " + w)

        nginx_port, node_port, redis_port = free_port(), free_port(), free_port()
        while node_port == nginx_port:
            node_port = free_port()
        while redis_port in (nginx_port, node_port):
            redis_port = free_port()
        tls_port = free_port()
        while tls_port in (nginx_port, node_port, redis_port):
            tls_port = free_port()
        sinkf = open(os.path.join(tmp, "sink.out"), "w")
        sink = procs.start("sink", [TOOLS["sink"], "-p", "0"], stdout=sinkf, stderr=sinkf)
        m = wait_file_line(os.path.join(tmp, "sink.out"), r"^listening (\d+)", sink, 10)
        if not m:
            raise RuntimeError("otlp_sink did not start")
        ctx.sink_port = int(m.group(1))
        if ctx.bpf_stats:
            bsf = open(os.path.join(tmp, "bpfstats.out"), "w")
            bs = procs.start("bpfstats", [TOOLS["bpfstats"], "hold"], stdout=bsf, stderr=bsf)
            if not wait_file_line(os.path.join(tmp, "bpfstats.out"), r"^ready", bs, 10):
                raise RuntimeError("bpfstats hold failed: " + open(os.path.join(tmp, "bpfstats.out")).read())
        need_tls = any(WORKLOADS[w][0] == "nginx-tls" for w in workloads)
        need_nginx = need_tls or any(WORKLOADS[w][0] == "nginx" for w in workloads)
        need_node = any(WORKLOADS[w][0] == "node" for w in workloads)
        need_redis = any(WORKLOADS[w][0] == "redis" for w in workloads)
        need_oos = any(WORKLOADS[w][0] == "nginx-oos" for w in workloads)
        nginx_master = nginx_worker = redis = oos_worker = None
        oos_port = oos_tls_port = None
        if need_nginx:
            nginx_master, nginx_worker = start_nginx(procs, tmp, nginx_port, tls_port)
        if need_oos:
            # Its own process, on ports no agent is scoped to: every hook still runs for
            # its syscalls and must decide "not traced" as cheaply as the floor.
            taken = {nginx_port, node_port, redis_port, tls_port}
            oos_port = free_port()
            while oos_port in taken:
                oos_port = free_port()
            oos_tls_port = free_port()
            while oos_tls_port in taken | {oos_port}:
                oos_tls_port = free_port()
            _, oos_worker = start_nginx(procs, tmp, oos_port, oos_tls_port, "nginx-oos")
        if need_redis:
            # Runs for the whole benchmark, like nginx: its data set is one key (SET/GET of
            # redis-benchmark's "key:__rand_int__" and loadgen's REDIS_KEY).
            redis = start_redis(procs, tmp, redis_port)
        # Every agent is scoped to the benchmark's servers' ports (the Redis port only when a
        # Redis workload runs, so runs without one trace exactly what they did before).
        # The TLS port likewise only when a TLS workload runs.
        agent_ports = ([nginx_port, node_port] + ([redis_port] if need_redis else [])
                       + ([tls_port] if need_tls else []))
        server_port = {"nginx": nginx_port, "node": node_port, "redis": redis_port, "nginx-tls": tls_port,
                       "nginx-oos": oos_port}

        # Calibration: the fixed rates are half of what the server does with nothing attached.
        # Calibration: a fixed rate is half the saturation throughput of the slower of
        # "nothing attached" and "wirespan full pipeline", so that every variant runs
        # below saturation and latency deltas compare queues that are not overflowing.
        ctx.rates, calib = {}, {}
        srcs = sorted({RATE_FROM[w][0] for w in workloads if w in RATE_FROM})
        # quick: no calibration agent; a quarter of "nothing attached" instead of half.
        phases = ("none", "full") if ctx.mode["calib_agent"] else ("none",)
        for phase in phases:
            if not srcs:
                break
            agent = Agent(procs, tmp, "full", agent_ports, ctx.sink_port, agent_extra, 0) if phase == "full" else None
            try:
                for src in srcs:
                    r = run_saturation(src, server_port[WORKLOADS[src][0]], max(2, ctx.mode["sat_s"]))
                    calib.setdefault(src, {})[phase] = r["rps"]
            finally:
                if agent:
                    agent.stop()
        for w in workloads:
            if w in RATE_FROM:
                src, share = RATE_FROM[w]
                if not ctx.mode["calib_agent"]:
                    share /= 2
                ctx.rates[w] = min(calib[src].values()) * share
                withws = f", {calib[src]['full']:.0f} with wirespan" if "full" in calib[src] else ""
                log(f"calibration: {src} {calib[src]['none']:.0f} req/s with nothing attached{withws} "
                    f"-> {w} at {ctx.rates[w]:.0f} req/s")
            elif w == "node-1ms-rate":
                ctx.rates[w] = NODE_1MS_RATE
        res["rates"] = ctx.rates
        res["calibration"] = calib

        memory = {}
        run_no = 0
        total_runs = ctx.mode["rounds"] * len(variants)
        for rnd in range(ctx.mode["rounds"]):
            for v in variants:
                run_no += 1
                # sdk: Node workloads only; notls (full without the TLS uprobes): TLS ones only
                wls = [w for w in workloads if (v != "sdk" or WORKLOADS[w][0] == "node")
                       and (v != "notls" or WORKLOADS[w][0] == "nginx-tls")]
                if not wls:
                    continue
                log(f"round {rnd + 1}/{ctx.mode['rounds']} variant {v} ({run_no}/{total_runs})")
                # Before anything of this run can export: warm-up spans count too.
                first = len(res["runs"])
                sink_start = sink_stats(ctx.sink_port)
                agent = node = None
                warm_requests = 0
                if need_node and any(WORKLOADS[w][0] == "node" for w in wls):
                    # Started and warmed up (JIT) before any agent, so the warm-up is not
                    # traced by wirespan; the SDK traces it in-process (delivery counts it).
                    node = start_node(procs, tmp, node_port, v == "sdk", ctx.sink_port, f"{run_no}-{v}")
                    warm = run_wrk(f"http://127.0.0.1:{node_port}/small", 1, False, 8)
                    if v == "sdk":
                        warm_requests = warm["requests"]
                if v in ("floor",) + AGENT_VARIANTS:
                    agent = Agent(procs, tmp, v, agent_ports, ctx.sink_port, agent_extra, run_no)
                    if v != "floor":
                        mm = memory.setdefault(v, {})
                        mm["bpf_map_bytes"] = sum(agent.maps.values())
                        mm["bpf_maps"] = len(agent.maps)
                        if ctx.mode["idle_s"] > 0:
                            # Idle: no benchmark traffic. The programs still run for every
                            # syscall of every other process on the host (background).
                            time.sleep(0.5)
                            c0 = proc_cpu_ns(agent.p.pid)
                            b0 = bpf_prog_stats(agent.prog_ids) if ctx.bpf_stats else {}
                            time.sleep(ctx.mode["idle_s"])
                            c1 = proc_cpu_ns(agent.p.pid)
                            b1 = bpf_prog_stats(agent.prog_ids) if ctx.bpf_stats else {}
                            idle = (c1 - c0) / 1e9 / ctx.mode["idle_s"] * 100
                            mm.setdefault("idle_samples", []).append(idle)
                            mm["idle_cpu_pct"] = med(mm["idle_samples"])
                            if b1:
                                hits = sum(b1[n]["run_cnt"] - b0.get(n, {}).get("run_cnt", 0) for n in b1)
                                ns = sum(b1[n]["run_time_ns"] - b0.get(n, {}).get("run_time_ns", 0) for n in b1)
                                mm.setdefault("idle_hits_per_s", []).append(hits / ctx.mode["idle_s"])
                                mm.setdefault("idle_bpf_cpu_pct", []).append(ns / 1e9 / ctx.mode["idle_s"] * 100)
                        if v == "full" and need_nginx:
                            per = idle_conn_cost(agent, nginx_port, IDLE_CONNS)
                            if per is not None:
                                mm.setdefault("idle_conn_samples", []).append(per)
                                mm["idle_conn_bytes_per_side"] = med(mm["idle_conn_samples"])
                try:
                    for w in wls:
                        server = WORKLOADS[w][0]
                        pid = {"nginx": nginx_worker, "nginx-tls": nginx_worker, "nginx-oos": oos_worker,
                               "node": node.pid if node else None,
                               "redis": redis.pid if redis else None}[server]
                        port = server_port[server]
                        rec = measure(ctx, v, w, agent, pid, port)
                        rec["round"] = rnd
                        res["runs"].append(rec)
                        log(f"  {w}: {rec['load']['rps']:.0f} req/s"
                            + (f", p50 {rec['load']['p50_us']:.0f} us p99 {rec['load']['p99_us']:.0f} us"
                               if rec['load'].get('p50_us') is not None else "")
                            + (f", agent {rec['cpu_us_per_req']['agent']:.2f} us/req" if 'agent' in rec['cpu_us_per_req'] else "")
                            + (f", spans {rec['agent_counters'].get('spans_produced', 0)}" if rec.get('agent_counters') else ""))
                finally:
                    if node:
                        procs.stop(node, signal.SIGTERM, 20)   # the SDK flushes on SIGTERM
                    rc, final = None, {}
                    if agent:
                        mem = proc_mem(agent.p.pid)
                        if "VmRSS" in mem:
                            mem["bpf_mapped_rss"] = proc_bpf_mapped_rss(agent.p.pid)
                            mem["rss_own"] = mem["VmRSS"] - mem["bpf_mapped_rss"]
                        rc, final = agent.stop()
                        if v != "floor":
                            mm = memory.setdefault(v, {})
                            for k, val in mem.items():
                                mm[k] = max(mm.get(k, 0), val)
                    # Delivery over this variant run: exports are batched in time, so spans
                    # are only attributed to the run as a whole, flushes at stop included.
                    sink_end = sink_stats(ctx.sink_port)
                    reqs = sum(r["load"]["requests"] for r in res["runs"][first:] if r.get("workload"))
                    res["runs"].append({"variant": v, "round": rnd, "workload": None, "agent_exit": rc,
                                        "agent_final": final, "requests": reqs + warm_requests,
                                        "warmup_requests": warm_requests,
                                        "receiver": diff(sink_end, sink_start)})
        res["memory"] = memory
        measured = [r for r in res["runs"] if r.get("workload")]
        res["summary"] = summarize(measured, variants, workloads)
        # OTLP delivery over the whole run: what the agent sent vs what the receiver counted
        deliv = {}
        for v in ("full", "otlp", "sdk"):
            rs = [r for r in res["runs"] if r["variant"] == v and r.get("workload") is None]
            if not rs:
                continue
            deliv[v] = {"requests": sum(r["requests"] for r in rs),
                        "agent_spans_produced": sum(getp(r, "agent_final.spans_produced") or 0 for r in rs),
                        "agent_spans_dropped": sum((getp(r, "agent_final.spans_dropped_table_full") or 0) +
                                                   (getp(r, "agent_final.spans_dropped_unfinished") or 0) for r in rs),
                        "otlp_spans_sent": sum(getp(r, "agent_final.otlp_spans_sent") or 0 for r in rs),
                        "receiver_spans": sum(getp(r, "receiver.spans") or 0 for r in rs),
                        "receiver_requests": sum(getp(r, "receiver.requests") or 0 for r in rs)}
        res["otlp_delivery"] = deliv
    except KeyboardInterrupt:
        log("interrupted: stopping everything started here")
        procs.stop_all()
        sys.exit(130)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
        log(f"FAILED: {e}")
        procs.stop_all()
        sys.exit(1)
    finally:
        procs.stop_all()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    os.makedirs(args.out, exist_ok=True)
    stem = f"bench-{args.mode}-{started.replace(':', '')}"
    jpath = os.path.join(args.out, stem + ".json")
    with open(jpath, "w") as f:
        json.dump(res, f, indent=1)
    shutil.copyfile(jpath, os.path.join(args.out, f"latest-{args.mode}.json"))
    print_tables(res)
    png = write_plot(res, args.out, stem)
    print(f"\nJSON: {jpath}")
    if png:
        shutil.copyfile(png, os.path.join(args.out, f"latest-{args.mode}.png"))
        print(f"plot: {png}")


if __name__ == "__main__":
    main()
