#!/bin/bash
# Architecture "asyncio": python stdlib asyncio, one event loop thread; backend calls
# over asyncio.open_connection from a small keep-alive pool.
#   load -> services/arch/svc_asyncio.py -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# Minimum correct % at 16 / 64 requests in flight: what the agent reaches with the
# parentage providers (docs/parentage.md), measured over several runs on 2026-12-01,
# less a margin for a noisy 2-core machine. Raise them as parentage improves; a
# misattributed span fails the test whatever the minimum.
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-65}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-5}
ws_init
arch_service() {
	arch_spawn_service "svc-asyncio-${1##*/}" "$1/svc.port" 15 "$WS_PY" -u "$ARCH_DIR/svc_asyncio.py" --port-file "$1/svc.port" --backend "127.0.0.1:$2"
}
arch_run asyncio
