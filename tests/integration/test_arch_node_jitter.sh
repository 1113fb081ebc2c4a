#!/bin/bash
# Architecture "node_jitter": the Node.js service of "node", whose handlers answer where
# the loop did not read the backend response that caused the answer: by request id, the
# answer right away, from setImmediate, or from a 0-3 ms timer. The answer rule read
# backwards (docs/parentage.md) must say "I don't know" wherever the answer may be
# after-poll work: this test holds the hard line (0 misattributed spans) against
# handlers built to trick it; its correct share is reported, not required.
# Not covered here, and known to defeat the forward loop and connect rules: a backend
# call made from a timer that fires right after another request's read callback in the
# same loop round (docs/parentage.md, "Where each rule can be defeated").
#   load -> services/arch/svc_node.js jitter -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-0}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-0}
ws_init
arch_need node nodejs

arch_service() {
	arch_spawn_service "svc-node-${1##*/}" "$1/svc.port" 20 node "$ARCH_DIR/svc_node.js" jitter "$1/svc.port" "127.0.0.1:$2"
}
arch_run node_jitter
