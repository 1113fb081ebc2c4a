#!/bin/bash
# Architecture "threaded" (the control): python ThreadingHTTPServer, the handler thread
# calls the backend with http.client. Every request must be traced correctly.
#   load -> services/arch/svc_threaded.py -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# Minimum correct % at 16 / 64 requests in flight.
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-100}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-100}
ws_init

arch_service() {
	arch_spawn_service "svc-threaded-${1##*/}" "$1/svc.port" 15 "$WS_PY" -u "$ARCH_DIR/svc_threaded.py" --port-file "$1/svc.port" --backend "127.0.0.1:$2"
}
arch_run threaded
