#!/usr/bin/python3
"""MariaDB workload of test_proto_mysql.sh, through python3-mysqldb (mysqlclient).

One connection to database --db as user ws over TCP 127.0.0.1:--port (password from
--password-file; mysql_native_password, so the parser must step over the auth data).
mysqlclient inlines every value as a literal in COM_QUERY and has no server-side
prepared statements, so a statement is prepared once and executed three times in SQL
(PREPARE ... FROM '...', EXECUTE ... USING @v). Then USE changes the database.

Every string literal holds a random secret made here, numbers are distinctive (6
digits); the manifest lists them and the spans expected: name (the summary),
db.operation.name, db.query.summary, db.query.text (sanitised: each literal a '?'),
db.namespace, db.response.returned_rows of SELECTs, and on an error status ERROR with
"<code> (<SQLSTATE>)" and db.response.status_code = the code. Wrong answers from the
server fail the workload (exit 1), not the agent.
"""
import argparse
import json
import os
import sys
import time

import MySQLdb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--db2", required=True)
    ap.add_argument("--system", default="mariadb")
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--tls-ca", default="",
                    help="connect over TLS (SSLRequest), trusting this CA certificate")
    args = ap.parse_args()
    with open(args.password_file) as f:
        password = f.read().strip()
    s = "secret-" + os.urandom(8).hex()
    nums = [481293, 903176, 577013, 662840, 731942, 258617]
    ops = []
    problems = []
    ns = [args.db]

    def want(cond, what):
        if not cond:
            problems.append(what)

    def expect(op, summary, text, code=None, status=None, rows=None):
        ops.append({"conn": "mysqldb", "name": summary, "error": status, "attrs": {
            "db.system.name": args.system, "db.namespace": ns[0],
            "db.operation.name": op, "db.query.summary": summary, "db.query.text": text,
            "db.response.status_code": code, "error.type": code,
            "db.response.returned_rows": rows}})

    t0 = time.time_ns()
    tls = {"ssl": {"ca": args.tls_ca}} if args.tls_ca else {}
    c = MySQLdb.connect(host="127.0.0.1", port=args.port, user="ws", password=password,
                        database=args.db, autocommit=True, **tls)
    if args.tls_ca:
        cur = c.cursor()
        # The session's TLS version: proof that the connection is encrypted.
        cur.execute("SHOW STATUS LIKE 'Ssl_version'")
        ver = cur.fetchone()
        if not ver or not ver[1]:
            sys.exit("--tls-ca given but the connection is not encrypted")
        expect("SHOW", "SHOW", "SHOW STATUS LIKE ?", rows=1)
    # (mysqlclient sends no SET autocommit: the server's default already is on)
    cur = c.cursor()
    cur.execute("CREATE TABLE ws_items (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, qty INT)")
    expect("CREATE", "CREATE", "CREATE TABLE ws_items (id INT PRIMARY KEY, name VARCHAR(?) NOT NULL, qty INT)")
    for i in range(3):
        cur.execute("INSERT INTO ws_items (id, name, qty) VALUES (%s, %s, %s)", (nums[i], "%s-name-%d" % (s, i), nums[3 + i]))
        expect("INSERT", "INSERT ws_items", "INSERT INTO ws_items (id, name, qty) VALUES (?, ?, ?)")
    cur.execute("SELECT id, qty FROM ws_items WHERE name = %s AND qty > %s", ("%s-name-1" % s, 12.5))
    want(cur.fetchall() == ((nums[1], nums[4]),), "SELECT by name")
    expect("SELECT", "SELECT ws_items", "SELECT id, qty FROM ws_items WHERE name = ? AND qty > ?", rows=1)
    cur.execute("UPDATE ws_items SET qty = qty + %s, name = %s WHERE id = %s", (nums[5], "%s-renamed" % s, nums[0]))
    want(cur.rowcount == 1, "UPDATE rowcount")
    expect("UPDATE", "UPDATE ws_items", "UPDATE ws_items SET qty = qty + ?, name = ? WHERE id = ?")
    try:
        cur.execute("SELECT name FROM ws_missing WHERE name = %s", ("%s-missing" % s,))
        problems.append("SELECT from a missing table did not fail")
    except MySQLdb.ProgrammingError as e:
        want(e.args[0] == 1146, "missing table error %r" % (e.args,))
    expect("SELECT", "SELECT ws_missing", "SELECT name FROM ws_missing WHERE name = ?",
           code="1146", status="1146 (42S02)")

    # Prepared once, executed three times, in SQL (the client has no binary protocol).
    cur.execute("PREPARE ws_stmt FROM 'SELECT qty FROM ws_items WHERE id = ? AND name <> ''%s-lit'''" % s)
    expect("PREPARE", "PREPARE", "PREPARE ws_stmt FROM ?")
    for i in range(3):
        cur.execute("SET @ws_id = %s" % nums[1])
        expect("SET", "SET", "SET @ws_id = ?")
        cur.execute("EXECUTE ws_stmt USING @ws_id")
        want(cur.fetchall() == ((nums[4],),), "EXECUTE %d" % i)
        expect("EXECUTE", "EXECUTE", "EXECUTE ws_stmt USING @ws_id", rows=1)
    cur.execute("DEALLOCATE PREPARE ws_stmt")
    expect("DEALLOCATE", "DEALLOCATE", "DEALLOCATE PREPARE ws_stmt")
    cur.execute("DELETE FROM ws_items WHERE name LIKE %s", ("%s-name-2%%" % s,))
    want(cur.rowcount == 1, "DELETE rowcount %r" % cur.rowcount)
    expect("DELETE", "DELETE ws_items", "DELETE FROM ws_items WHERE name LIKE ?")

    # USE: the namespace follows (the USE span itself carries the new database).
    cur.execute("USE %s" % args.db2)
    ns[0] = args.db2
    expect("USE", "USE", "USE %s" % args.db2)
    cur.execute("SELECT DATABASE(), %s", ("%s-db" % s,))
    want(cur.fetchall() == ((args.db2, "%s-db" % s),), "SELECT DATABASE()")
    expect("SELECT", "SELECT", "SELECT DATABASE(), ?", rows=1)
    cur.close()
    c.close()
    t1 = time.time_ns()

    with open(args.manifest, "w") as f:
        json.dump({"client_pid": os.getpid(), "secrets": [s, password], "numbers": [str(n) for n in nums],
                   "t0": t0, "t1": t1, "ops": ops}, f, indent=1)
    print("mariadb workload: %d statements on 1 connection%s" % (len(ops), "" if not problems else ", WRONG ANSWERS"))
    if problems:
        print("wrong answers from mariadbd: %s" % "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
