#!/usr/bin/python3
"""h2c load for test_proto_grpc.sh: curl --http2-prior-knowledge, one curl process (and
connection) per request. (curl 7.88.1 fails every request after the first on a reused
prior-knowledge connection with status 000 / exit 16, and --parallel does the same to
the transfers that wait to multiplex; the gRPC part of the test covers many streams on
one connection.)

  h2c_curl.py --port P --count N --manifest F

Requests GET /chain/<id>, every 4th /notfound (404), every 5th /fail (500), against
services/nginx_h2c.conf.in. Writes a check_traces.py manifest (client.py's form; each
request has its own curl's window, client_pid is absent as every request has its own
process) and fails when a request did not get its expected status over HTTP/2.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--count", type=int, default=12)
ap.add_argument("--manifest", required=True)
ap.add_argument("--tls", action="store_true",
                help="https with HTTP/2 chosen by ALPN (curl -k --http2) instead of h2c")
args = ap.parse_args()

reqs, errors = [], []
# No OTEL_SERVICE_NAME: curl exits before the agent may read its environment, and then
# its spans carry the process name ("curl") either way.
for i in range(1, args.count + 1):
    rid = 1000 + i
    path, status = "/chain/%d" % rid, 200
    if i % 4 == 0:
        path, status = path + "/notfound", 404
    elif i % 5 == 0:
        path, status = path + "/fail", 500
    url = "%s://127.0.0.1:%d%s" % ("https" if args.tls else "http", args.port, path)
    t0 = time.time_ns()
    mode = ["-k", "--http2"] if args.tls else ["--http2-prior-knowledge"]
    r = subprocess.run(["curl", "-s"] + mode + ["-o", "/dev/null", "-w",
                        "%{http_code} %{http_version}", url],
                       stdout=subprocess.PIPE, text=True, timeout=20)
    t1 = time.time_ns()
    code, ver = (r.stdout.split() + ["0", "?"])[:2]
    reqs.append({"id": rid, "path": path, "status": status, "got": int(code), "phase": "traced",
                 "conn": "new", "thread": "curl", "scheme": "https" if args.tls else "http",
                 "start_ns": t0, "end_ns": t1})
    if r.returncode != 0 or int(code) != status or ver != "2":
        errors.append("%s: curl exit %d, got %s over HTTP/%s, expected %d over HTTP/2"
                      % (url, r.returncode, code, ver, status))
with open(args.manifest, "w") as f:
    json.dump({"host": "127.0.0.1", "port": args.port, "requests": reqs, "errors": errors}, f, indent=1)
print("h2c client: %d requests, %d errors" % (len(reqs), len(errors)))
for e in errors:
    print(e, file=sys.stderr)
sys.exit(1 if errors else 0)
