#!/bin/bash
# Architecture "aiohttp_uvloop": an aiohttp web application (a task per request) calling the
# backend through a shared aiohttp.ClientSession (pooled connector, at most 8
# connections: under 64 in flight, callers queue for a free one), on uvloop
# (libuv) instead of asyncio's own loop; Debian's python3-aiohttp and python3-uvloop.
# uvloop writes from its own libuv callbacks, outside any task's Context (the thread's
# base context, shared by every task): the task rule must not take that for a task
# (2026-12-03: 1 misattributed span at 64 before contexts no Context.run entered were
# refused), and places nothing here; 1-2.5 % correct. The hard line only.
#   load -> services/arch/svc_aiohttp.py --uvloop -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# Minimum correct % at 16 / 64 requests in flight; see test_arch_asyncio.sh.
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-0}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-0}
ws_init
arch_need_py aiohttp python3-aiohttp
arch_need_py uvloop python3-uvloop
arch_service() {
	arch_spawn_service "svc-aiohttp-${1##*/}" "$1/svc.port" 15 "$WS_PY" -u "$ARCH_DIR/svc_aiohttp.py" --uvloop \
		--port-file "$1/svc.port" --backend "127.0.0.1:$2"
}
arch_run aiohttp_uvloop
