#!/usr/bin/python3
"""In-kernel cost (ns per hit, bpf_enable_stats) of the loop and task hooks.

    bench/parentage_cost.py [SECONDS]        (root; make build/bpf_dump build/wirespan-floor build/bench/bpfstats)

Three runs over the same Python workload (two threads handing a token back and forth
through a threading.Condition, plus a third thread spinning on a non-blocking epoll
wait), each for SECONDS:
  floor     the empty programs on the same hooks (build/wirespan-floor)
  untraced  wirespan's programs, the workload not scoped (pid filter on pid 1)
  traced    wirespan's programs, the workload scoped by pid and traced (its threads
            exchange bytes over a loopback TCP connection first)
Hits and ns per hit are system-wide per program: other processes' wakeups and
syscalls land in the same programs, so the workload is made busy enough to dominate.
"""
import json, os, re, signal, socket, subprocess, sys, tempfile, threading, time

BUILD = os.environ.get("BUILD", "build")
SECS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
PROGS = ("sched_waking", "sched_process_f", "sched_process_e", "sys_enter_epoll", "sys_exit_epoll_",
         "sys_exit_clone", "sys_exit_clone3")

WORKLOAD = r'''
import os, select, socket, sys, threading, time
traced, secs = sys.argv[1] == "traced", float(sys.argv[2])
if traced:
    lst = socket.socket(); lst.bind(("127.0.0.1", 0)); lst.listen(4)
    port = lst.getsockname()[1]
def touch():
    # a loopback exchange makes this thread traced
    if traced:
        c = socket.create_connection(("127.0.0.1", port)); s, _ = lst.accept()
        c.sendall(b"x"); s.recv(1); c.close(); s.close()
cv = threading.Condition(); turn = [0]; stop = [False]; n = [0, 0]
def player(me):
    touch()
    while not stop[0]:
        with cv:
            while turn[0] != me and not stop[0]:
                cv.wait(0.5)
            turn[0] = 1 - me; n[0] += 1
            cv.notify()
def spinner():
    touch()
    ep = select.epoll()
    while not stop[0]:
        ep.poll(0); n[1] += 1
print(os.getpid(), flush=True)
sys.stdin.readline()
ts = [threading.Thread(target=player, args=(i,)) for i in (0, 1)] + [threading.Thread(target=spinner)]
for t in ts: t.start()
time.sleep(secs); stop[0] = True
with cv: cv.notify_all()
for t in ts: t.join()
print("handoffs=%d epoll_waits=%d" % (n[0], n[1]), flush=True)
'''

def stats_from_bpf_dump(err):
    out = {}
    for m in re.finditer(r"PROG (\S+)\s+hits=(\d+) ns=(\d+)", err):
        name, hits, ns = m.group(1), int(m.group(2)), int(m.group(3))
        h, t = out.get(name, (0, 0))
        out[name] = (h + hits, t + ns)   # two programs share a 15-character name
    return out

def workload(mode, tmp):
    path = os.path.join(tmp, "w.py")
    with open(path, "w") as f:
        f.write(WORKLOAD)
    p = subprocess.Popen(["/usr/bin/python3", path, mode, str(SECS)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    return p, int(p.stdout.readline())

def run_dump(mode, tmp):
    p, pid = workload(mode, tmp)
    scope = str(pid) if mode == "traced" else "1"
    d = subprocess.Popen([os.path.join(BUILD, "bpf_dump"), "-q", "-S", "-p", scope],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)   # attached (READY is on stderr; the load takes well under this)
    p.stdin.write("go\n"); p.stdin.flush()
    res = p.stdout.readline().strip()
    p.wait()
    d.send_signal(signal.SIGINT)
    err = d.communicate()[1]
    counters = re.search(r"COUNTERS .*", err)
    return res, stats_from_bpf_dump(err), counters.group(0) if counters else ""

def run_floor(tmp):
    hold = subprocess.Popen([os.path.join(BUILD, "bench", "bpfstats"), "hold"], stdout=subprocess.PIPE, text=True)
    fl = subprocess.Popen([os.path.join(BUILD, "wirespan-floor")], stdout=subprocess.PIPE, text=True)
    try:
        hold.stdout.readline()
        fl.stdout.readline()
        return floor_stats(tmp, fl)
    finally:
        fl.send_signal(signal.SIGINT); fl.wait()
        hold.send_signal(signal.SIGINT); hold.wait()

def floor_stats(tmp, fl):
    p, _ = workload("untraced", tmp)
    p.stdin.write("go\n"); p.stdin.flush()
    res = p.stdout.readline().strip()
    p.wait()
    ids = set()
    fddir = "/proc/%d/fdinfo" % fl.pid
    for fd in os.listdir(fddir):   # the floor's own programs: its prog fds
        try:
            for line in open(os.path.join(fddir, fd)):
                if line.startswith("prog_id:"):
                    ids.add(line.split()[1])
        except OSError:
            pass
    st = {}
    if ids:
        r = subprocess.run([os.path.join(BUILD, "bench", "bpfstats"), "progs"] + sorted(ids), capture_output=True, text=True)
        for line in r.stdout.splitlines():
            j = json.loads(line)
            nm = j["name"]
            h, t = st.get(nm, (0, 0))
            st[nm] = (h + j["run_cnt"], t + j["run_time_ns"])
    return res, st

def show(label, res, st, extra=""):
    print("%-9s %s %s" % (label, res, extra))
    for name in PROGS:
        h, t = st.get(name, (0, 0))
        print("    %-16s hits=%-9d ns/hit=%.1f" % (name, h, t / h if h else 0.0))

with tempfile.TemporaryDirectory() as tmp:
    res, st = run_floor(tmp)
    show("floor", res, st)
    for mode in ("untraced", "traced"):
        res, st, cnt = run_dump(mode, tmp)
        show(mode, res, st)
        print("    " + cnt)
