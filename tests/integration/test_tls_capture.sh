#!/bin/bash
# Root-only check of TLS plaintext capture (bpf/hooks/tls.h, agent/tls_attach.c) through
# build/bpf_dump -T, scoped to the ports of the servers started here:
#   - nginx with TLS (self-signed certificate made here) started before the harness
#     (libssl.so.3 found by the /proc scan), and a second one started after it; its
#     connections get capture policy OFF (bpf_dump -O plays a parser that gave up on the
#     ciphertext): their plaintext must still be copied;
#   - a Node.js https server (OpenSSL linked into /usr/bin/node, a memory BIO) started
#     after the harness, found at its first record (a warm-up request);
#   - clients curl -k and python3 ssl (both libssl.so.3, socket BIO).
# Checked by check_tls.py: plaintext records (WS_F_TLS, ssl_read/ssl_write) with the
# request bytes on both ends; the syscalls of TLS calls flagged WS_F_CIPHER with no
# payload; plaintext seq equal to a ciphertext record's seq of the same call; client write
# seq == server read seq. Then: no uprobe left after the harness exits.
# Exit 0 pass, 1 fail, 77 skip. WS_KEEP=1 keeps the temp dir.
set -u
. "$(dirname "$0")/lib.sh"
DUMP=$WS_ROOT/build/bpf_dump
ws_init
ws_need_nginx
command -v openssl >/dev/null || ws_skip "openssl missing"
command -v curl >/dev/null || ws_skip "curl missing"
make --no-print-directory -s -C "$WS_ROOT" build/bpf_dump >&2 || ws_fail "cannot build build/bpf_dump"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
NODE=$(command -v node || true)

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-keyout "$WS_TMP/key.pem" -out "$WS_TMP/cert.pem" >"$WS_TMP/openssl.err" 2>&1 ||
	ws_fail "cannot make a certificate"
chmod 644 "$WS_TMP/key.pem"

# Every server's port is picked up front, so the harness is scoped to exactly these
# (-P): nothing else on the machine is traced, whichever process it is.
port_ngxa=$(ws_free_port 127.0.0.1)
port_ngxb=$(ws_free_port 127.0.0.1)
port_node=$(ws_free_port 127.0.0.1)
[ "$port_ngxa" != "$port_ngxb" ] && [ "$port_ngxa" != "$port_node" ] && [ "$port_ngxb" != "$port_node" ] ||
	ws_fail "free ports clash, run again"

# start_nginx NAME: TLS nginx, one worker, on 127.0.0.1:$port_NAME.
start_nginx() {
	local name=$1 pfx=$WS_TMP/$1 port i
	port=$(eval echo "\$port_$name")
	mkdir -p "$pfx/logs"
	cat >"$pfx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $pfx/nginx.pid;
error_log $pfx/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $pfx; proxy_temp_path $pfx; fastcgi_temp_path $pfx;
  uwsgi_temp_path $pfx; scgi_temp_path $pfx;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $WS_TMP/cert.pem;
    ssl_certificate_key $WS_TMP/key.pem;
    location / { return 200 "hello from $name\n"; }
  }
}
NGX
	ws_spawn "$name" "$NGINX" -p "$pfx/" -c "$pfx/nginx.conf" -e "$pfx/logs/error.log"
	for ((i = 0; i < 100; i++)); do ws_port_listening "$port" && break; sleep 0.05; done
	ws_port_listening "$port" || ws_fail "$name did not listen on $port"
	ws_log "$name: pid $WS_LAST_PID, port $port"
}

cat >"$WS_TMP/cli.py" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
port = int(sys.argv[1])
for path in sys.argv[2:]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode())
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            if not data.startswith(b"HTTP/1.1 200"):
                sys.exit("bad answer to %s: %r" % (path, data[:60]))
PY
cat >"$WS_TMP/srv.js" <<'JS'
const https = require('https'), fs = require('fs');
const d = process.argv[2];
const s = https.createServer({ key: fs.readFileSync(d + '/key.pem'), cert: fs.readFileSync(d + '/cert.pem') },
  (req, res) => { req.resume(); req.on('end', () => res.end('hello from node ' + req.url + '\n')); });
s.listen(Number(process.argv[3]), '127.0.0.1', () => fs.writeFileSync(d + '/node.ready', 'ok'));
JS

py_req() { # port path...
	timeout 20 "$WS_PY" "$WS_TMP/cli.py" "$@" || ws_soft_fail "python client: $*"
}
curl_req() { # port path
	local out
	out=$(curl -sk --max-time 10 "https://127.0.0.1:$1$2") || { ws_soft_fail "curl $1$2 failed"; return; }
	case $out in hello*) ;; *) ws_soft_fail "curl $1$2: answer '$out'" ;; esac
}

# Before the harness: its libssl found by the /proc scan at start.
start_nginx ngxa
ws_spawn bpf_dump "$DUMP" -T -P "$port_ngxa" -P "$port_ngxb" -P "$port_node" -O "$port_ngxb" -s 512 -x 200
dpid=$WS_LAST_PID
for ((i = 0; i < 300; i++)); do grep -q '^READY' "$WS_TMP/bpf_dump.err" && break; sleep 0.1; done
grep -q '^READY' "$WS_TMP/bpf_dump.err" || ws_fail "bpf_dump did not start"

# After: nginx b shares libssl.so.3 with a (one uprobe set covers both); node's
# executable is found at its first record, so a warm-up request comes first.
start_nginx ngxb
if [ -n "$NODE" ]; then
	ws_spawn node "$NODE" "$WS_TMP/srv.js" "$WS_TMP" "$port_node"
	ws_wait_file "$WS_TMP/node.ready" 15 "$WS_LAST_PID" || ws_fail "node did not start"
	py_req "$port_node" /warm
	sleep 0.5
else
	ws_log "node missing: its part is skipped"
fi

curl_req "$port_ngxa" "/a1?t=curl_a1"
curl_req "$port_ngxa" "/a2?t=curl_a2"
py_req "$port_ngxa" "/a3?t=py_a3" "/a4?t=py_a4"
curl_req "$port_ngxb" "/b1?t=curl_b1"
py_req "$port_ngxb" "/b2?t=py_b2"
[ -n "$NODE" ] && py_req "$port_node" "/n1?t=py_n1" "/n2?t=py_n2"
[ -n "$NODE" ] && curl_req "$port_node" "/n3?t=curl_n3"
sleep 0.5

# The probes are in place while it runs: one set for libssl.so.3, one for node.
bpftool perf list >"$WS_TMP/perf_attached.txt" 2>&1 || true
n_up=$(grep -cE "^pid $dpid .*u(ret)?probe " "$WS_TMP/perf_attached.txt")
ws_log "uprobes of the harness while running: $n_up"
[ "$n_up" -ge 12 ] || ws_soft_fail "expected at least 12 uprobes (6 functions x entry/return), bpftool perf list shows $n_up"

ws_stop_pid "$dpid" INT 15 || ws_fail "bpf_dump ignored SIGINT"
grep -E '^(COUNTERS|TLSFILES)' "$WS_TMP/bpf_dump.err" >&2
cp "$WS_TMP/bpf_dump.out" "$WS_TMP/dump.out"

checks=("ngxa=$port_ngxa:sock:curl_a1,curl_a2,py_a3,py_a4" "ngxb=$port_ngxb:sock:curl_b1,py_b2")
[ -n "$NODE" ] && checks+=("node=$port_node:mem:py_n1,py_n2,curl_n3")
"$WS_PY" "$WS_IT/check_tls.py" "$WS_TMP/dump.out" "${checks[@]}" >&2 ||
	ws_soft_fail "TLS records wrong (see FAIL lines)"

# nginx b's connections had policy OFF: ciphertext withheld, plaintext still copied.
grep -q "^POLICY .*mode=off err=0" "$WS_TMP/dump.out" || ws_soft_fail "no OFF policy was set on nginx b"
grep -E "sys=ssl_read .*l=\[::ffff:127.0.0.1\]:$port_ngxb .*data=\"GET /b1\?t=curl_b1 " "$WS_TMP/dump.out" |
	grep -qv " cap=0 " || ws_soft_fail "nginx b (policy OFF): plaintext not copied"

c=$(grep '^COUNTERS' "$WS_TMP/bpf_dump.err")
for kv in ringbuf_drops=0 bad_records=0 tls_call_slot_failures=0; do
	grep -qw "$kv" <<<"$c" || ws_soft_fail "COUNTERS: want $kv"
done
grep -qE "tls_plaintext_records=[1-9]" <<<"$c" || ws_soft_fail "COUNTERS: no plaintext records"
f=$(grep '^TLSFILES' "$WS_TMP/bpf_dump.err")
grep -qw "attach_failed=0" <<<"$f" || ws_soft_fail "TLSFILES: attach failures: $f"
want=1; [ -n "$NODE" ] && want=2
a=$(sed -n 's/.* attached=\([0-9]*\).*/\1/p' <<<"$f")
[ "${a:-0}" -ge "$want" ] || ws_soft_fail "TLSFILES: want >= $want files attached (libssl, node): $f"

# Detached: no uprobe of the harness left, none named in uprobe_events either.
bpftool perf list >"$WS_TMP/perf_after.txt" 2>&1 || true
grep -E "^pid $dpid .*u(ret)?probe " "$WS_TMP/perf_after.txt" && ws_soft_fail "uprobes left after exit"
for ev in /sys/kernel/tracing/uprobe_events /sys/kernel/debug/tracing/uprobe_events; do
	[ -r "$ev" ] || continue
	grep -qE "libssl|/node" "$ev" && ws_soft_fail "$ev still names libssl or node: $(cat "$ev")"
done
# The servers still answer with nothing attached.
curl_req "$port_ngxa" "/after"
ws_finish
