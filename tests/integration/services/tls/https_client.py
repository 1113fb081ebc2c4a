#!/usr/bin/python3
"""HTTPS client of the TLS tests: http.client.HTTPSConnection, certificate not verified.

  https_client.py PORT TAG...
GET /t/<TAG> for every TAG: the first half on one keep-alive connection, the rest on a
new connection each (Connection: close). Every answer must be 200 and name the path
("... /t/<TAG>"). Exit 1 on a wrong answer (the workload is wrong, not the agent).
"""
import http.client
import ssl
import sys


def main():
    port, tags = int(sys.argv[1]), sys.argv[2:]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    half = (len(tags) + 1) // 2
    ka = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
    for i, tag in enumerate(tags):
        path = "/t/" + tag
        if i < half:
            conn, hdrs = ka, {}
        else:
            conn, hdrs = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx), {"Connection": "close"}
        conn.request("GET", path, headers=hdrs)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200 or path.encode() not in body:
            sys.exit("https_client: %s: got %d %r" % (path, r.status, body[:80]))
        if conn is not ka:
            conn.close()
    ka.close()


if __name__ == "__main__":
    main()
