#!/bin/bash
# Architecture "pool_io": as "pool" (a python I/O thread reads requests and hands them to
# a ThreadPoolExecutor whose worker calls the backend), but the worker hands the
# response back to the I/O thread, which writes it. Nothing at the syscall level tells
# which request a worker's call was for: the answer rule (docs/parentage.md) must say
# "I don't know" here, never guess. This test is about the hard line (0 misattributed
# spans); the correct share is whatever the hand-off rule proves (one request open).
#   load -> services/arch/svc_pool.py --answer io -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-0}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-0}
ws_init
arch_service() {
	arch_spawn_service "svc-poolio-${1##*/}" "$1/svc.port" 15 "$WS_PY" -u "$ARCH_DIR/svc_pool.py" --answer io \
		--port-file "$1/svc.port" --backend "127.0.0.1:$2"
}
arch_run pool_io
