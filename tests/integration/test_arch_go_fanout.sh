#!/bin/bash
# Architecture "go_fanout": the Go service making three backend requests in parallel
# goroutines per request (/b/<id>/0..2). Correct: the service SERVER span has three
# service CLIENT children, each with its backend SERVER.
#   load -> services/arch/go (svc -fanout) -> services/arch/backend.py
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
arch_need go golang-go
arch_build_go "$ARCH_DIR/go"

arch_service() {
	arch_spawn_service "svc-go-${1##*/}" "$1/svc.port" 15 "$ARCH_GO_BIN" -port-file "$1/svc.port" -backend "127.0.0.1:$2" -fanout
}
arch_run go_fanout --fanout
