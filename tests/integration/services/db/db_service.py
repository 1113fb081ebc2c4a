#!/usr/bin/python3
"""HTTP service of test_proto_parent.sh: each request makes database calls.

A ThreadingHTTPServer (HTTP/1.1 keep-alive, a thread per connection) answering
GET /r/<id> the way services/arch/load.py expects ("ok /b/<id>\\n"). In the handler
thread, per request:
  Redis       SELECT <id>, SET, GET   (db.namespace of those spans is <id>: the judge's
                                       way to tell which request a Redis span belongs to)
  PostgreSQL  SELECT count(*) AS req_<id> ..., INSERT INTO ws_log AS req_<id> ...
                                      (the alias, an identifier, survives sanitising)
  MariaDB     SELECT count(*) AS req_<id> ..., INSERT INTO ws_log ... SELECT ... AS req_<id>
              (with --mysql-port only)
Connections are mixed on purpose: ids divisible by 3 open new database connections for
the request (closed after it), the others take pooled ones any handler thread may use.
Every string literal and value holds the secret read from --secret-file. The port is
chosen by the kernel and written to --port-file once the pools are ready. On SIGTERM it
prints "db-service stats requests=N pooled=P fresh=F errors=E".
"""
import argparse
import os
import queue
import re
import signal
import sys
import threading
import http.server

import psycopg2
import redis

PATH_RE = re.compile(r"^/r/([0-9]+)$")
STATS = {"requests": 0, "pooled": 0, "fresh": 0, "errors": 0}
LOCK = threading.Lock()


def count(k):
    with LOCK:
        STATS[k] += 1


class Pool:
    """A plain blocking pool of DB-API connections (any thread takes any connection)."""

    def __init__(self, make, n):
        self.make, self.q = make, queue.Queue()
        for _ in range(n):
            self.q.put(make())

    def get(self):
        return self.q.get(timeout=10)

    def put(self, c):
        self.q.put(c)


class Backends:
    def __init__(self, a, secret):
        self.a, self.secret = a, secret
        self.redis_pool = redis.ConnectionPool(host="127.0.0.1", port=a.redis_port, max_connections=16)
        self.pg_pool = Pool(self.pg_connect, 4)
        self.my_pool = Pool(self.my_connect, 4) if a.mysql_port else None

    def pg_connect(self):
        c = psycopg2.connect(host="127.0.0.1", port=self.a.pg_port, dbname="wsdb", user="postgres",
                             password=self.a.pg_password, sslmode="disable")
        c.autocommit = True
        return c

    def my_connect(self):
        import MySQLdb
        c = MySQLdb.connect(host="127.0.0.1", port=self.a.mysql_port, user="ws",
                            password=self.a.mysql_password, database="wsdb", autocommit=True)
        return c  # (no SET autocommit is sent: the server's default is already on)

    def do_redis(self, rid, fresh):
        s = self.secret
        if fresh:
            r = redis.Redis(host="127.0.0.1", port=self.a.redis_port, single_connection_client=True)
        else:
            # One pooled connection held for the request: SELECT changes its state.
            r = redis.Redis(connection_pool=self.redis_pool, single_connection_client=True)
        try:
            r.execute_command("SELECT", rid)
            r.set("%s-k" % s, "%s-v-%d" % (s, rid))
            v = r.get("%s-k" % s)
            if v != ("%s-v-%d" % (s, rid)).encode():
                raise RuntimeError("redis GET %r" % v)
        finally:
            r.close()

    def do_sql(self, pool, connect, rid, fresh, mysql):
        s = self.secret
        c = connect() if fresh else pool.get()
        try:
            cur = c.cursor()
            cur.execute("SELECT count(*) AS req_%d FROM ws_log WHERE note <> %%s AND req > %%s" % rid, ("%s-n" % s, 421337))
            cur.fetchall()
            if mysql:
                cur.execute("INSERT INTO ws_log (req, note) SELECT %%s AS req_%d, %%s" % rid, (rid, "%s-note-%d" % (s, rid)))
            else:
                cur.execute("INSERT INTO ws_log AS req_%d (req, note) VALUES (%%s, %%s)" % rid, (rid, "%s-note-%d" % (s, rid)))
            cur.close()
        finally:
            if fresh:
                c.close()
            else:
                pool.put(c)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        count("requests")
        m = PATH_RE.match(self.path)
        if not m:
            self._answer(400, b"bad path\n")
            return
        rid = int(m.group(1))
        fresh = rid % 3 == 0
        count("fresh" if fresh else "pooled")
        b = self.server.backends
        try:
            b.do_redis(rid, fresh)
            b.do_sql(b.pg_pool, b.pg_connect, rid, fresh, False)
            if b.my_pool:
                b.do_sql(b.my_pool, b.my_connect, rid, fresh, True)
        except Exception as e:
            count("errors")
            sys.stderr.write("request %d: %r\n" % (rid, e))
            self._answer(500, b"db error\n")
            return
        self._answer(200, b"ok /b/%d\n" % rid)

    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self._headers_buffer.append(b"\r\n" + body)  # one write (see arch/backend.py)
        self.flush_headers()

    def log_message(self, fmt, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--pg-port", type=int, required=True)
    ap.add_argument("--pg-password-file", required=True)
    ap.add_argument("--mysql-port", type=int, default=0)
    ap.add_argument("--mysql-password-file")
    ap.add_argument("--secret-file", required=True)
    a = ap.parse_args()
    with open(a.pg_password_file) as f:
        a.pg_password = f.read().strip()
    a.mysql_password = ""
    if a.mysql_password_file:
        with open(a.mysql_password_file) as f:
            a.mysql_password = f.read().strip()
    with open(a.secret_file) as f:
        secret = f.read().strip()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.backends = Backends(a, secret)

    def stop(*_):
        print("db-service stats %s" % " ".join("%s=%d" % kv for kv in STATS.items()), file=sys.stderr, flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
