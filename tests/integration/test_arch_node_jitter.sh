#!/bin/bash
# Architecture "node_jitter": the Node.js service of "node", whose handlers act where
# the loop did not read what caused the act: by request id, the answer right away,
# from setImmediate, or from a 0-3 ms timer after the backend's response, or the
# backend call made from a 0-2 ms timer (which fires right after another request's
# read in the same loop round). The loop rule and the answer rule read backwards
# (docs/parentage.md) must say "I don't know" wherever the act may be after-poll work:
# this test holds the hard line (0 misattributed spans) against handlers built to trick
# them. The timer-made call gave 3-10 misattributed spans per 400 requests before acts
# after a batch's last read waited for a later read. Correct: 35-55 / 55-65 without
# Node's loop phases, 55-60 / 62.5-67 with them, 80.5-87 / 93-98 once the latest read
# names the cause in Node's I/O phase (2026-12-02, three runs); the minimums only catch
# a collapse. The backend is called by name (SVC_BACKEND_NAME=localhost): each new
# connection first waits for dns.lookup in libuv's thread pool, whose completion the
# loop reads from an eventfd (a read that names no request) before it connects.
#   load -> services/arch/svc_node.js jitter -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-60}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-65}
export SVC_BACKEND_NAME=localhost
ws_init
arch_need node nodejs

arch_service() {
	arch_spawn_service "svc-node-${1##*/}" "$1/svc.port" 20 node "$ARCH_DIR/svc_node.js" jitter "$1/svc.port" "127.0.0.1:$2"
}
arch_run node_jitter
