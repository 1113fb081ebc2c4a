#!/bin/sh
# Inside ../shared/tools/kernel-vm (busybox sh): load the agent itself, in the
# configurations users run (defaults: Go runtime and TLS on; port, pid and no scoping;
# --no-waits), and report each. The verifier of 6.1 counts stack over call chains
# more strictly than newer kernels: an exit program's chain that fits on the host can
# be refused there (docs/kernel.md, "Stack"). bpf_dump (vm_parentage.sh) runs without
# Go and TLS, so it does not cover these. From the repo root, after `make`:
#   ../shared/tools/kernel-vm -k 6.1 -f build/wirespan -f tests/integration/vm_load.sh \
#       -- "sh $PWD/tests/integration/vm_load.sh"
# Exit 1 when any configuration fails to load.
cd "$(dirname "$0")/../.." || exit 1
rc=0
for args in "-P 8080" "-P 8080 -p 1" "" "--no-waits -P 8080" "--no-tls --no-go-runtime"; do
	timeout 60 build/wirespan -v $args --duration 2 -o null >/tmp/a.out 2>/tmp/a.err
	if grep -q "wirespan: ready" /tmp/a.err; then
		echo "ok: loaded with '$args': $(grep -o 'ready.*' /tmp/a.err)"
	else
		echo "FAILED to load with '$args'"
		grep "BPF program load failed" /tmp/a.err
		grep -B3 "END PROG LOAD LOG" /tmp/a.err | head -8
		rc=1
	fi
done
exit $rc
