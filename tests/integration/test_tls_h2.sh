#!/bin/bash
# HTTP/2 over TLS (issue 10): nginx (libssl.so.3) serving HTTP/2 chosen by ALPN on a TLS
# port (nginx_h2c.conf.in's locations, `listen ... ssl http2`), started before the
# agent; 12 requests, one curl (libcurl with OpenSSL) and connection each, `-k --http2`
# (services/h2c_curl.py --tls: 200s, 404s, 500s, each checked to be HTTP/2). The agent
# is scoped to the port. The plaintext from the OpenSSL uprobes begins with the HTTP/2
# preface: the HTTP/2 parser (HPACK, streams) must follow every connection to its end
# (no parse error, nothing given up); every request has curl's CLIENT span and nginx's
# SERVER span with its method, path, status and url.scheme=https; a SERVER span with a
# parent has exactly its request's CLIENT span as parent (never another); at least
# H2_MIN_LINKED of 12 SERVER spans are linked (rule 3 through the ciphertext's seq). The
# request's HEADERS record often arrives in the same read as the preface's record and
# OpenSSL serves it from its buffer, with no position of its own: the assembler places
# it after the previous record (tls_record_seq). Before that 3-12 of 12 linked; with it
# 12/12 in 3 runs of 2026-12-02 (tls_seq_from_record_length 3-6 a run). Every span
# carries wirespan.capture.tls=true. Then SIGINT: no uprobe left.
# Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"
ws_init
ws_need_nginx
command -v curl >/dev/null || ws_skip "curl missing"
tls_cert

# nginx_h2c.conf.in with TLS on its listen line: a copy of the template.
mkdir -p "$WS_TMP/svc"
sed -e "s|listen @LISTEN@ http2;|listen @LISTEN@ ssl http2;\n        ssl_certificate $WS_TMP/cert.pem;\n        ssl_certificate_key $WS_TMP/key.pem;|" \
	"$WS_SVC/nginx_h2c.conf.in" >"$WS_TMP/svc/nginx_h2_tls.conf.in"
grep -q "ssl http2" "$WS_TMP/svc/nginx_h2_tls.conf.in" || ws_fail "nginx_h2c.conf.in has no 'listen @LISTEN@ http2;' line"
SVC_SAVED=$WS_SVC
WS_SVC=$WS_TMP/svc
ws_start_nginx 127.0.0.1 nginx_h2_tls.conf.in
WS_SVC=$SVC_SAVED
PORT=$WS_LAST_PORT
# nginx must really speak HTTP/2 over TLS there (a workload check, before the agent).
[ "$(curl -sk --http2 -o /dev/null -w '%{http_version} %{http_code}' "https://127.0.0.1:$PORT/chain/1")" = "2 200" ] ||
	ws_fail "nginx does not answer HTTP/2 over TLS on port $PORT"

ws_start_agent --port "$PORT"
timeout -k 5 60 "$WS_PY" -u "$WS_SVC/h2c_curl.py" --tls --port "$PORT" --count 12 --manifest "$WS_TMP/h2.json" \
	>"$WS_TMP/h2-client.out" 2>"$WS_TMP/h2-client.err" ||
	ws_fail "h2 client failed: $(tail -n 5 "$WS_TMP/h2-client.err" | tr '\n' ' ')"
cat "$WS_TMP/h2-client.out" >&2
tls_stop_agent http2 proto_http2_given_up proto_http2_parse_errors proto_http2_error_uncaptured
H2_MIN_LINKED=${H2_MIN_LINKED:-10}
"$WS_PY" - "$WS_SPANS" "$WS_TMP/h2.json" "$WS_NGINX_WORKER" "$H2_MIN_LINKED" <<'PY' || ws_soft_fail "HTTP/2 over TLS spans do not match the requests"
import json, sys
spans_path, man_path, nginx_pid, min_linked = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
spans = []
for line in open(spans_path):
    for rs in json.loads(line)["resourceSpans"]:
        pid = str({a["key"]: a["value"] for a in rs["resource"]["attributes"]}.get("process.pid", {}).get("intValue"))
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                a = {x["key"]: list(x["value"].values())[0] for x in s.get("attributes", [])}
                spans.append((pid, s, a))
problems, linked = [], 0
for r in json.load(open(man_path))["requests"]:
    got = {}
    for pid, s, a in spans:
        if a.get("url.path") == r["path"]:
            got.setdefault(s["kind"], []).append((pid, s, a))
    cli, srv = got.get(3, []), got.get(2, [])   # 3 CLIENT, 2 SERVER
    if len(cli) != 1 or len(srv) != 1:
        problems.append("%s: %d CLIENT and %d SERVER spans (want 1 and 1)" % (r["path"], len(cli), len(srv)))
        continue
    (_, c, ca), (spid, sv, sa) = cli[0], srv[0]
    if spid != nginx_pid:
        problems.append("%s: SERVER span from pid %s, not nginx's worker %s" % (r["path"], spid, nginx_pid))
    for kind, a in (("CLIENT", ca), ("SERVER", sa)):
        if a.get("http.request.method") != "GET" or str(a.get("http.response.status_code")) != str(r["status"]) \
                or a.get("url.scheme") != "https":
            problems.append("%s %s: method %r status %r scheme %r" % (r["path"], kind, a.get("http.request.method"),
                            a.get("http.response.status_code"), a.get("url.scheme")))
    if c.get("parentSpanId"):
        problems.append("%s: curl's CLIENT span has a parent" % r["path"])
    if sv.get("parentSpanId"):
        if sv["parentSpanId"] != c["spanId"] or sv["traceId"] != c["traceId"]:
            problems.append("%s: MISATTRIBUTED: the SERVER span's parent is not its CLIENT span" % r["path"])
        else:
            linked += 1
print("h2 over TLS: %d requests, SERVER linked to its CLIENT span in %d, %d problems" % (
    len(json.load(open(man_path))["requests"]), linked, len(problems)))
for p in problems:
    print("  " + p)
if linked < min_linked:
    print("  only %d SERVER spans linked, fewer than %d" % (linked, min_linked))
sys.exit(1 if problems or linked < min_linked else 0)
PY
tls_check_marker
ws_finish
