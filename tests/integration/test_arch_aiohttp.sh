#!/bin/bash
# Architecture "aiohttp": an aiohttp web application (a task per request) calling the
# backend through a shared aiohttp.ClientSession (pooled connector, at most 8
# connections: under 64 in flight, callers queue for a free one), Debian's
# python3-aiohttp. The task rule (docs/parentage.md) places the calls.
#   load -> services/arch/svc_aiohttp.py -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# Minimum correct % at 16 / 64 requests in flight; see test_arch_asyncio.sh.
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-85}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-85}
ws_init
arch_need_py aiohttp python3-aiohttp
arch_service() {
	arch_spawn_service "svc-aiohttp-${1##*/}" "$1/svc.port" 15 "$WS_PY" -u "$ARCH_DIR/svc_aiohttp.py" \
		--port-file "$1/svc.port" --backend "127.0.0.1:$2"
}
arch_run aiohttp
