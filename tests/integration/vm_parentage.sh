#!/bin/sh
# Inside ../shared/tools/kernel-vm (busybox sh): load the kernel side with bpf_dump,
# run build/loop_workload, and check its loop and task records. From the repo root:
#   ../shared/tools/kernel-vm -k 6.1 -f build/bpf_dump -f build/loop_workload \
#       -f tests/integration/vm_parentage.sh -- "sh $PWD/tests/integration/vm_parentage.sh"
# Prints the records, the counters and each program's ns per hit; exit 1 on a failed check.
cd "$(dirname "$0")/../.." || exit 1
build/bpf_dump -S >/tmp/d.out 2>/tmp/d.err &
D=$!
i=0
until grep -q READY /tmp/d.err 2>/dev/null; do
	sleep 0.2; i=$((i + 1))
	[ $i -gt 300 ] && { cat /tmp/d.err; exit 1; }
done
grep READY /tmp/d.err
ids=$(build/loop_workload) || { echo "loop_workload failed"; exit 1; }
echo "$ids"
sleep 0.5
kill $D; wait $D
eval "$(echo "$ids" | sed 's/ /;/g')"
grep "^LOOP pid=$pid \|^TASK" /tmp/d.out | grep -v "^TASK kind=wake pid=[0-9]* tid=[0-9]* other_pid=[0-9]* other_tid=[0-9]* comm=bpf_dump"
grep "COUNTERS\|^PROG" /tmp/d.err | grep -v "hits=0 "
rc=0
want() { # LABEL PATTERN
	grep -q "$2" /tmp/d.out && echo "ok: $1" || { echo "MISSING: $1 ($2)"; rc=1; }
}
# Batches ride on the thread's next record (ABI 7): the reads after epoll_wait(50 ms),
# and the idle epoll timers + the two-fd poll(10 ms) sent ahead of the fork record.
want "epoll batch on a read" "^DATA pid=$pid tid=$main .* batches=[1-9][0-9]* bflags=2 blk_anchor=[1-9][0-9]* blk_timeout=50 "
want "timer batches and the two-fd poll before the fork" "^LOOP pid=$pid tid=$main kind=batches .* batches=[2-9][0-9]* bflags=2 blk_anchor=[1-9][0-9]* blk_timeout=10 "
want "hand-off wakeup" "^TASK kind=wake pid=$pid tid=$main other_pid=$pid other_tid=$worker "
want "fork" "^TASK kind=fork pid=$pid tid=$main other_pid=$child other_tid=$child "
want "exec with the new comm" "^TASK kind=exec pid=$child tid=$child .*comm=true "
want "worker exit" "^TASK kind=exit pid=$pid tid=$worker "
exit $rc
