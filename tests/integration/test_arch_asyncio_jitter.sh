#!/bin/bash
# Architecture "asyncio_jitter": the asyncio service of "asyncio" with --jitter: by
# request id, the backend call (id mod 4 = 3) or the answer (2) comes after a 0-3 ms
# asyncio.sleep, so a task step woken by a timer runs among steps woken by reads. The
# loop rule and the answer rule read backwards (docs/parentage.md) must say "I don't
# know" wherever a write may be a timer's: this test holds the hard line (0
# misattributed spans); its correct share is reported, not required.
#   load -> services/arch/svc_asyncio.py --jitter -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-0}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-0}
ws_init
arch_service() {
	arch_spawn_service "svc-asyncio-${1##*/}" "$1/svc.port" 15 "$WS_PY" -u "$ARCH_DIR/svc_asyncio.py" --jitter \
		--port-file "$1/svc.port" --backend "127.0.0.1:$2"
}
arch_run asyncio_jitter
