#!/bin/sh
# Inside ../shared/tools/kernel-vm (busybox sh): load the kernel side with bpf_dump -U,
# run build/udp_ping and check its datagram records. From the repo root:
#   ../shared/tools/kernel-vm -k 6.1 -f build/bpf_dump -f build/udp_ping \
#       -f tests/integration/vm_udp.sh -- "sh $PWD/tests/integration/vm_udp.sh"
cd "$(dirname "$0")/../.." || exit 1
P=5353
build/bpf_dump -U $P >/tmp/u.out 2>/tmp/u.err &
D=$!
i=0
until grep -q READY /tmp/u.err 2>/dev/null; do
	sleep 0.2; i=$((i + 1))
	[ $i -gt 300 ] && { cat /tmp/u.err; exit 1; }
done
grep READY /tmp/u.err
build/udp_ping $P || { echo "udp_ping failed"; kill $D; exit 1; }
sleep 0.5
kill $D; wait $D
grep "dgram" /tmp/u.out | cut -c1-240
grep COUNTERS /tmp/u.err | grep -o "udp_datagrams=[0-9]*"
rc=0
want() { # LABEL PATTERN
	grep -q "$2" /tmp/u.out && echo "ok: $1" || { echo "MISSING: $1 ($2)"; rc=1; }
}
want "client sendto" "dir=out role=client sys=sendto .*bytes=17 cap=17 .*flags=noseq,dgram .*r=\[::ffff:127.0.0.1\]:$P data=\"unconnected-query\""
want "client recvfrom" "dir=in role=client sys=recvfrom .*bytes=17 .*r=\[::ffff:127.0.0.1\]:$P "
want "server recvfrom" "dir=in role=server sys=recvfrom .*l=\[::ffff:127.0.0.1\]:$P .*data=\"connected-query\""
want "server sendto" "dir=out role=server sys=sendto .*l=\[::ffff:127.0.0.1\]:$P "
want "client write (connected)" "dir=out role=client sys=write .*bytes=15 .*r=\[::ffff:127.0.0.1\]:$P data=\"connected-query\""
want "client read (connected)" "dir=in role=client sys=read .*bytes=15 "
exit $rc
