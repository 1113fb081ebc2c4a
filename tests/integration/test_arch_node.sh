#!/bin/bash
# Architecture "node": Node.js http server (one event loop), backend calls with
# http.request through the default agent.
#   load -> services/arch/svc_node.js default -> services/arch/backend.py
. "$(dirname "$0")/arch_lib.sh"
# Minimum correct % at 16 / 64 requests in flight: what the agent reaches with the
# parentage providers (docs/parentage.md), measured over several runs on 2026-12-01,
# less a margin for a noisy 2-core machine. 2026-12-02, with the answer rule read
# backwards: 99-100 / 99-100 in four runs. 2026-12-02, once acts after a batch's last
# read wait for a later read (they may be a timer's: docs/parentage.md): 85.5-95.5 /
# 94.5-97 in five runs; with Node's loop phases (uprobe) 96-100 / 100 in three. Raise
# them as parentage improves; a misattributed span fails the test whatever the minimum.
# shellcheck disable=SC2034 # read by arch_run (arch_lib.sh)
MIN_CORRECT_16=${WS_MIN_CORRECT_16:-88}
# shellcheck disable=SC2034
MIN_CORRECT_64=${WS_MIN_CORRECT_64:-88}
ws_init
arch_need node nodejs

arch_service() {
	arch_spawn_service "svc-node-${1##*/}" "$1/svc.port" 20 node "$ARCH_DIR/svc_node.js" default "$1/svc.port" "127.0.0.1:$2"
}
arch_run node
