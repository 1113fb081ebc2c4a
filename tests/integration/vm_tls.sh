#!/bin/sh
# Inside ../shared/tools/kernel-vm (busybox sh): load the kernel side with bpf_dump -T,
# run openssl s_server/s_client (libssl.so.3, copied with the binary) and check that the
# client's TLS write is captured as plaintext with its ciphertext flagged. The VM has no
# openssl.cnf: the certificate is made on the host. From the repo root:
#   mkdir -p /tmp/vmtls-certs && openssl req -x509 -newkey rsa:2048 -nodes -days 1 \
#       -subj /CN=localhost -keyout /tmp/vmtls-certs/key.pem -out /tmp/vmtls-certs/cert.pem
#   ../shared/tools/kernel-vm -k 6.1 -f build/bpf_dump -f /usr/bin/openssl \
#       -f /tmp/vmtls-certs -f tests/integration/vm_tls.sh \
#       -- "sh $PWD/tests/integration/vm_tls.sh /tmp/vmtls-certs"
cd "$(dirname "$0")/../.." || exit 1
P=4433
T=${1:-/tmp/vmtls-certs}
[ -s $T/cert.pem ] || { echo "no certificate in $T"; exit 1; }
openssl s_server -quiet -accept $P -cert $T/cert.pem -key $T/key.pem -www >$T/srv.out 2>&1 &
S=$!
build/bpf_dump -T -P $P -s 512 -x 100 >$T/d.out 2>$T/d.err &
D=$!
i=0
until grep -q READY $T/d.err 2>/dev/null; do
	sleep 0.2; i=$((i + 1))
	[ $i -gt 300 ] && { cat $T/d.err; exit 1; }
done
grep READY $T/d.err
printf 'GET /vm-tls-probe HTTP/1.0\r\n\r\n' | openssl s_client -quiet -connect 127.0.0.1:$P >$T/cli.out 2>&1
sleep 1
kill $D; wait $D
kill $S
grep -E "^(TLSFILES|COUNTERS)" $T/d.err | tr ' ' '\n' | grep -E "TLSFILES|attached|tls_|ringbuf_drops"
grep "flags=[a-z,]*tls" $T/d.out | cut -c1-230
rc=0
want() { # LABEL PATTERN
	grep -q "$2" $T/d.out && echo "ok: $1" || { echo "MISSING: $1 ($2)"; rc=1; }
}
want "client plaintext write" "dir=out role=client sys=ssl_write .*flags=tls .*data=\"GET /vm-tls-probe"
# s_server -www reads and writes through an SSL BIO (BIO_f_ssl), which calls libssl's
# internal ssl_read_internal/ssl_write_internal, not the exported functions: its side is
# not seen (docs/kernel.md, "TLS plaintext"); the client calls SSL_write/SSL_read.
want "client plaintext read" "dir=in role=client sys=ssl_read .*flags=[a-z,]*tls .*data=\"HTTP/1.0 200"
want "ciphertext flagged" "sys=write .*cap=0 .*flags=[a-z,]*cipher"
exit $rc
