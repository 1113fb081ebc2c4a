#!/usr/bin/python3
"""Redis workload of test_proto_redis.sh, through python3-redis (redis-py).

Every key, field and value holds a random secret token made per run (written to the
manifest), so the test can grep the agent's output for it. Each command sent is listed in the manifest (--manifest, JSON)
with what its span must show: the operation, the namespace (the database index selected
on that connection) and the error code of an error reply. The workload checks the
server's answers itself and exits 1 on a wrong one, so a broken workload is never blamed
on the agent.

  plain    GET, SET, HSET, HGET, DEL on db 0 (one connection, one command per write)
  pipe     (redis-py takes another connection from the pool for pipelines)
           a pipeline without transaction: SET, INCRBY, GET, HSET in one write
  multi    a pipeline with transaction: MULTI, SET, HSET, EXEC in one write
  error    SET then LPUSH on the same key: -WRONGTYPE
  select   SELECT 2 sent by hand on a single connection, then SET, GET (namespace 2);
           SELECT 0, GET (namespace 0 again)
  db3      a client opened with db=3: redis-py sends SELECT 3 on connect, then GET
  --tls    every connection TLS (test_tls_redis.sh)
"""
import argparse
import json
import os
import sys
import time

import redis


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--tls", action="store_true", help="TLS (rediss), certificate not verified")
    args = ap.parse_args()
    tls = {"ssl": True, "ssl_cert_reqs": None} if args.tls else {}
    # Made here, not passed on the command line: the agent reports the workload's
    # command line as the resource attribute process.command_line.
    s = "secret-" + os.urandom(8).hex()
    ops = []
    problems = []

    def want(cond, what):
        if not cond:
            problems.append(what)

    def expect(conn, op, ns="0", code=None):
        # The span: named by the command, the database selected on that connection, and
        # on an error reply its code as status message and db.response.status_code.
        ops.append({"conn": conn, "name": op, "error": code, "attrs": {
            "db.system.name": "redis", "db.operation.name": op, "db.namespace": ns,
            "db.response.status_code": code, "error.type": code,
            "db.query.text": None}})

    t0 = time.time_ns()

    # plain: a single connection, one command per request
    r = redis.Redis(host="127.0.0.1", port=args.port, single_connection_client=True, **tls)
    want(r.set("%s-key-a" % s, "%s-value-a" % s) is True, "SET")
    expect("plain", "SET")
    want(r.get("%s-key-a" % s) == ("%s-value-a" % s).encode(), "GET")
    expect("plain", "GET")
    want(r.hset("%s-hash" % s, "%s-field" % s, "%s-hval" % s) == 1, "HSET")
    expect("plain", "HSET")
    want(r.hget("%s-hash" % s, "%s-field" % s) == ("%s-hval" % s).encode(), "HGET")
    expect("plain", "HGET")

    # pipe: several commands in one write, replies read together
    p = r.pipeline(transaction=False)
    p.set("%s-key-p" % s, 700)
    p.incrby("%s-key-p" % s, 11)
    p.get("%s-key-p" % s)
    p.hset("%s-hash-p" % s, "%s-f2" % s, "%s-v2" % s)
    res = p.execute()
    want(res == [True, 711, b"711", 1], "pipeline %r" % (res,))
    for op in ("SET", "INCRBY", "GET", "HSET"):
        expect("pipe", op)

    # multi: MULTI, the queued commands and EXEC in one write
    p = r.pipeline(transaction=True)
    p.set("%s-key-m" % s, "%s-value-m" % s)
    p.hset("%s-hash-m" % s, "%s-f3" % s, "%s-v3" % s)
    res = p.execute()
    want(res == [True, 1], "multi/exec %r" % (res,))
    for op in ("MULTI", "SET", "HSET", "EXEC"):
        expect("pipe", op)

    # error: an operation against a key holding the wrong kind of value
    want(r.set("%s-key-e" % s, "%s-value-e" % s) is True, "SET before WRONGTYPE")
    expect("plain", "SET")
    try:
        r.lpush("%s-key-e" % s, "%s-elem" % s)
        problems.append("LPUSH on a string did not fail")
    except redis.exceptions.ResponseError as e:
        want(str(e).startswith("WRONGTYPE"), "LPUSH error %r" % str(e))
    expect("plain", "LPUSH", code="WRONGTYPE")
    want(r.delete("%s-key-a" % s, "%s-key-e" % s) == 2, "DEL")
    expect("plain", "DEL")
    r.close()

    # select: SELECT by hand on its own connection, then back to 0
    r = redis.Redis(host="127.0.0.1", port=args.port, single_connection_client=True, **tls)
    want(r.execute_command("SELECT", 2) in (True, b"OK", "OK"), "SELECT 2")
    expect("select", "SELECT", ns="2")
    want(r.set("%s-key-s" % s, "%s-value-s" % s) is True, "SET in db 2")
    expect("select", "SET", ns="2")
    want(r.get("%s-key-s" % s) == ("%s-value-s" % s).encode(), "GET in db 2")
    expect("select", "GET", ns="2")
    want(r.execute_command("SELECT", 0) in (True, b"OK", "OK"), "SELECT 0")
    expect("select", "SELECT", ns="0")
    want(r.get("%s-key-s" % s) is None, "GET in db 0 (the key is in db 2)")
    expect("select", "GET", ns="0")
    r.close()

    # db3: redis-py selects the database itself when it connects
    r = redis.Redis(host="127.0.0.1", port=args.port, db=3, single_connection_client=True, **tls)
    want(r.get("%s-key-none" % s) is None, "GET in db 3")
    expect("db3", "SELECT", ns="3")
    expect("db3", "GET", ns="3")
    r.close()

    t1 = time.time_ns()
    with open(args.manifest, "w") as f:
        json.dump({"client_pid": os.getpid(), "secrets": [s], "t0": t0, "t1": t1, "ops": ops}, f, indent=1)
    print("redis workload: %d commands on 3 connections%s" % (len(ops), "" if not problems else ", WRONG ANSWERS"))
    if problems:
        print("wrong answers from redis-server: %s" % "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
