#!/usr/bin/python3
"""PostgreSQL workload of test_proto_postgres.sh.

Two connections to database --db as user postgres over TCP 127.0.0.1:--port, with the
password read from --password-file (the server asks for it in clear text, so the parser
must step over a PasswordMessage that holds it):

  simple    psycopg2 (libpq, simple query protocol: the client inlines every value as a
            literal): CREATE TABLE, three INSERTs with string and number literals, a
            SELECT and an UPDATE with literals in WHERE, a SELECT of a missing table
            (SQLSTATE 42P01), a DELETE.
  extended  psycopg 3 (extended protocol, autocommit): a statement prepared once
            (prepare=True: Parse of a named statement, then Bind/Execute only) and
            executed 6 times with bind parameters, an unprepared parameterised
            SELECT (unnamed statement), and a parameterised query on a missing table
            (the Parse fails: 42P01).

Every string literal and bind value holds a random secret made here, numbers are
distinctive (6 digits); all are listed in the manifest with the spans expected: name,
db.operation.name, db.query.summary, db.query.text (sanitised: each literal a '?'),
db.namespace, db.response.returned_rows of SELECTs, and on an error status ERROR, db.response.status_code = SQLSTATE. Wrong
answers from the server fail the workload (exit 1), not the agent.
"""
import argparse
import json
import os
import sys
import time

import psycopg
import psycopg2
import psycopg2.errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--sslmode", default="disable",
                    help="libpq sslmode for both drivers (require: TLS, the certificate not verified)")
    args = ap.parse_args()
    with open(args.password_file) as f:
        password = f.read().strip()
    s = "secret-" + os.urandom(8).hex()
    nums = [481293, 903176, 577013, 662840, 731942, 258617]
    ops = []
    problems = []

    def want(cond, what):
        if not cond:
            problems.append(what)

    def expect(conn, op, table, text, code=None, rows=None):
        summary = "%s %s" % (op, table) if table else op
        ops.append({"conn": conn, "name": summary, "error": code, "attrs": {
            "db.system.name": "postgresql", "db.namespace": args.db,
            "db.operation.name": op, "db.query.summary": summary, "db.query.text": text,
            "db.response.status_code": code, "error.type": code,
            # rows returned by a SELECT only: INSERT/UPDATE/DELETE counts are affected rows
            "db.response.returned_rows": rows}})

    t0 = time.time_ns()
    # ---- simple query protocol (psycopg2) ----
    c = psycopg2.connect(host="127.0.0.1", port=args.port, dbname=args.db, user="postgres",
                         password=password, sslmode=args.sslmode)
    c.autocommit = True  # no BEGIN/COMMIT around each statement
    cur = c.cursor()
    cur.execute("CREATE TABLE ws_items (id integer PRIMARY KEY, name text NOT NULL, qty integer)")
    expect("simple", "CREATE", "", "CREATE TABLE ws_items (id integer PRIMARY KEY, name text NOT NULL, qty integer)")
    for i in range(3):
        cur.execute("INSERT INTO ws_items (id, name, qty) VALUES (%s, %s, %s)",
                    (nums[i], "%s-name-%d" % (s, i), nums[3 + i]))
        expect("simple", "INSERT", "ws_items", "INSERT INTO ws_items (id, name, qty) VALUES (?, ?, ?)")
    cur.execute("SELECT id, qty FROM ws_items WHERE name = %s AND qty > %s", ("%s-name-1" % s, 12.5))
    want(cur.fetchall() == [(nums[1], nums[4])], "SELECT by name")
    expect("simple", "SELECT", "ws_items", "SELECT id, qty FROM ws_items WHERE name = ? AND qty > ?", rows=1)
    cur.execute("UPDATE ws_items SET qty = qty + %s, name = %s WHERE id = %s", (nums[5], "%s-renamed" % s, nums[0]))
    want(cur.rowcount == 1, "UPDATE rowcount")
    expect("simple", "UPDATE", "ws_items", "UPDATE ws_items SET qty = qty + ?, name = ? WHERE id = ?")
    try:
        cur.execute("SELECT name FROM ws_missing WHERE name = %s", ("%s-missing" % s,))
        problems.append("SELECT from a missing table did not fail")
    except psycopg2.errors.UndefinedTable:
        pass
    expect("simple", "SELECT", "ws_missing", "SELECT name FROM ws_missing WHERE name = ?", code="42P01")
    cur.execute("DELETE FROM ws_items WHERE name LIKE %s", ("%s-name-2%%" % s,))
    want(cur.rowcount == 1, "DELETE rowcount %r" % cur.rowcount)
    expect("simple", "DELETE", "ws_items", "DELETE FROM ws_items WHERE name LIKE ?")
    c.close()

    # ---- extended protocol (psycopg 3) ----
    c = psycopg.connect(host="127.0.0.1", port=args.port, dbname=args.db, user="postgres",
                        password=password, sslmode=args.sslmode, autocommit=True)
    q = "SELECT qty FROM ws_items WHERE id = %s AND name <> 'secret-literal' AND qty >= 0"
    qtext = "SELECT qty FROM ws_items WHERE id = $1 AND name <> ? AND qty >= ?"
    for i in range(6):
        row = c.execute(q.replace("secret-literal", "%s-lit" % s), (nums[1],), prepare=True).fetchone()
        want(row == (nums[4],), "prepared SELECT %d: %r" % (i, row))
        expect("extended", "SELECT", "ws_items", qtext, rows=1)
    # The workload is what it claims: one server-side statement for the six executions.
    rows = c.execute("SELECT count(*) FROM pg_prepared_statements", prepare=False).fetchall()
    want(rows == [(1,)], "statements prepared on the server: %r (expected 1)" % (rows,))
    expect("extended", "SELECT", "pg_prepared_statements", "SELECT count(*) FROM pg_prepared_statements", rows=1)
    row = c.execute("SELECT count(*) FROM ws_items WHERE name <> %s", ("%s-bind" % s,), prepare=False).fetchone()
    want(row == (2,), "unprepared SELECT %r" % (row,))
    expect("extended", "SELECT", "ws_items", "SELECT count(*) FROM ws_items WHERE name <> $1", rows=1)
    try:
        c.execute("SELECT id FROM ws_nope WHERE name = %s", ("%s-bind2" % s,), prepare=False)
        problems.append("SELECT from a missing table did not fail (extended)")
    except psycopg.errors.UndefinedTable:
        pass
    expect("extended", "SELECT", "ws_nope", "SELECT id FROM ws_nope WHERE name = $1", code="42P01")
    c.close()
    t1 = time.time_ns()

    with open(args.manifest, "w") as f:
        json.dump({"client_pid": os.getpid(), "secrets": [s, password], "numbers": [str(n) for n in nums],
                   "t0": t0, "t1": t1, "ops": ops}, f, indent=1)
    print("postgres workload: %d statements on 2 connections%s" % (len(ops), "" if not problems else ", WRONG ANSWERS"))
    if problems:
        print("wrong answers from postgres: %s" % "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
