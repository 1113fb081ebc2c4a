#!/bin/bash
# Architecture "asyncio_jitter": the asyncio service of "asyncio" with --jitter: by
# request id, the backend call (id mod 4 = 3) or the answer (2) comes after a 0-3 ms
# asyncio.sleep, so a task step woken by a timer runs among steps woken by reads. The
# loop rule and the answer rule read backwards (docs/parentage.md) must say "I don't
# know" wherever a write may be a timer's, and the task rule (CPython contexts: the
# task that wrote) places what they cannot. 2026-12-03: 100 / 100 with the task rule,
# 6-9 / 0-0.5 without it (--no-py-runtime); the minimums fail without it.
#   load -> services/arch/svc_asyncio.py --jitter -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-85}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-85}
ws_init
arch_service() {
	arch_spawn_service "svc-asyncio-${1##*/}" "$1/svc.port" 15 "$WS_PY" -u "$ARCH_DIR/svc_asyncio.py" --jitter \
		--port-file "$1/svc.port" --backend "127.0.0.1:$2"
}
arch_run asyncio_jitter
