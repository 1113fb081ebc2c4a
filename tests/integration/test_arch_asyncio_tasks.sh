#!/bin/bash
# Architecture "asyncio_tasks": asyncio serving each request in a task of its own,
# created once the request's head is read (as aiohttp and uvicorn do), while a
# background task makes a call for nobody every 2 ms and ends: Context objects are
# freed and reused all the time, the case the task rule's guards are for
# (docs/parentage.md, "asyncio tasks"). A background call under a request is counted
# as misattributed (check_arch.py).
#   load -> services/arch/svc_asyncio.py --task-per-request --background 2 -> backend.py
. "$(dirname "$0")/arch_lib.sh"
# Minimum correct % at 16 / 64 requests in flight; see test_arch_asyncio.sh.
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-85}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-85}
ws_init
arch_service() {
	arch_spawn_service "svc-asyncio-${1##*/}" "$1/svc.port" 15 "$WS_PY" -u "$ARCH_DIR/svc_asyncio.py" --task-per-request \
		--background 2 --port-file "$1/svc.port" --backend "127.0.0.1:$2"
}
arch_run asyncio_tasks
