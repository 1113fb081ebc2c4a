#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The OTLP exporter's cost per span, noise-free: bench/otlp_cost under callgrind for
# each batch size and gzip setting, against bench/otlp_sink on 127.0.0.1. Ir per span is
# the inclusive instruction count of the sink's worker thread plus emit() (the agent's
# side of the queue), divided by the spans; building the spans is not counted. Wall ns
# per span and RSS come from a run without valgrind (for information: they depend on
# what else the machine does).
#
# Usage: bench/otlp_cost.sh [SPANS] [BATCHES] [GZIPS]   (8192 "512 2048 8192" "none 1 3 6")
# Needs build/bench/otlp_cost and build/bench/otlp_sink (make them first).
set -eu
B=${BUILD:-build}
SPANS=${1:-8192}
BATCHES=${2:-512 2048 8192}
GZIPS=${3:-none 1 3 6}
PORT=${OTLP_COST_PORT:-14319}
TMP=$(mktemp -d)
"${OTLP_SINK:-build/bench/otlp_sink}" -p "$PORT" > "$TMP/sink.log" 2>&1 &
SINK=$!
trap 'kill $SINK 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q listening "$TMP/sink.log" && break; sleep 0.2; done
URL=http://127.0.0.1:$PORT
printf '| batch | gzip | Ir/span | bytes/span | requests | wall ns/span | VmHWM MiB |\n|---|---|---|---|---|---|---|\n'
for b in $BATCHES; do
	for z in $GZIPS; do
		valgrind --tool=callgrind --callgrind-out-file="$TMP/cg" "$B/bench/otlp_cost" --endpoint "$URL" \
			--spans "$SPANS" --batch "$b" --gzip "$z" > "$TMP/out" 2>/dev/null
		ir=$(callgrind_annotate --inclusive=yes "$TMP/cg" 2>/dev/null |
			awk '/otlp_http.c:(worker|otlp_emit) /{gsub(",","",$1); s+=$1} END{print s}')
		"$B/bench/otlp_cost" --endpoint "$URL" --spans "$SPANS" --batch "$b" --gzip "$z" > "$TMP/out2"
		get() { awk -v k="$1" '$1==k{print $2}' "$2"; }
		printf '| %s | %s | %d | %s | %s | %s | %.1f |\n' "$b" "$z" "$((ir / SPANS))" \
			"$(get bytes_per_span "$TMP/out")" "$(get requests "$TMP/out")" \
			"$(get wall_ns_per_span "$TMP/out2")" "$(echo "$(get vm_hwm_kib "$TMP/out2") / 1024" | bc -l)"
	done
done
