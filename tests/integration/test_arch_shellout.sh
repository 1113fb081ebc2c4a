#!/bin/bash
# Architecture "shellout": python threaded front that runs "curl -s" as a child process
# per request (CGI-style) and answers with its output. The service CLIENT spans come from
# the curl processes.
#   load -> services/arch/svc_shellout.py (-> curl) -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# Minimum correct % at 16 / 64 requests in flight: what the agent reaches with the
# parentage providers (docs/parentage.md), measured over several runs on 2026-12-01,
# less a margin for a noisy 2-core machine. Raise them as parentage improves; a
# misattributed span fails the test whatever the minimum.
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-97}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-97}
ws_init
arch_need curl curl

arch_service() {
	arch_spawn_service "svc-shellout-${1##*/}" "$1/svc.port" 15 "$WS_PY" -u "$ARCH_DIR/svc_shellout.py" --port-file "$1/svc.port" --backend "127.0.0.1:$2"
}
ARCH_BACKEND_CONNS=new  # curl opens its own connection every time
arch_run shellout
