#!/bin/bash
# Architecture "pool": python I/O thread (selectors) reads requests and submits them to a
# ThreadPoolExecutor; the worker calls the backend with http.client and writes the
# response itself. Read and downstream call happen on different threads.
#   load -> services/arch/svc_pool.py -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# Minimum correct % at 16 / 64 requests in flight: what the agent reaches with the
# parentage providers (docs/parentage.md; here the answer rule: the worker answers the
# request it was handed), 100 / 100 in every run on 2026-12-02 (0 / 0 before it), less a
# margin for a noisy 2-core machine. A misattributed span fails the test whatever the
# minimum.
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-90}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-90}
ws_init
arch_service() {
	arch_spawn_service "svc-pool-${1##*/}" "$1/svc.port" 15 "$WS_PY" -u "$ARCH_DIR/svc_pool.py" --port-file "$1/svc.port" --backend "127.0.0.1:$2"
}
arch_run pool
