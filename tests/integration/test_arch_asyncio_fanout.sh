#!/bin/bash
# Architecture "asyncio_fanout": asyncio making three backend calls at once per
# request (asyncio.gather: each call in a child task, whose Context is a copy of the
# handler's and answers nothing), with background calls every 5 ms. The task rule
# cannot place a child task's call (nothing ties the copy to the handler); the loop
# rules place what they can. The hard line: 0 misattributed spans.
#   load -> services/arch/svc_asyncio.py --fanout --background 5 -> backend.py
. "$(dirname "$0")/arch_lib.sh"
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-0}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-0}
ws_init
arch_service() {
	arch_spawn_service "svc-asyncio-${1##*/}" "$1/svc.port" 15 "$WS_PY" -u "$ARCH_DIR/svc_asyncio.py" --fanout \
		--background 5 --port-file "$1/svc.port" --backend "127.0.0.1:$2"
}
arch_run asyncio_fanout --fanout
