#!/bin/bash
# The OTLP/HTTP sink must not slow down the agent's ingestion, whatever the collector
# does, and must account for every span it cannot keep:
#  - emit() throughput with a stalled collector vs a healthy one, in the same run, as a
#    ratio; and no emit() call may wait anywhere near the stall;
#  - a full queue refuses the newest spans and counts them exactly;
#  - flush() at shutdown stops at its deadline and counts what is left.
# No root needed; about 15 s.
set -u
. "$(dirname "$0")/otlp_lib.sh"
otlp_prereqs

# An agent-like load: 8 spans per emit() call, paced (about 25k spans/s here) so that
# the healthy collector (mostly) keeps up and emit() really queues; the stalled run fills the
# queue within a few ms and refuses the rest.
n=20000
load=(--spans $n --chunk 8 --pace-us 200 --queue 2048 --batch 512 --delay-ms 50 --timeout-ms 10000)

# healthy collector
start_receiver healthy --light
run_harness healthy --endpoint "http://127.0.0.1:$RECV_PORT" "${load[@]}" --flush-ms 20000
stop_receiver
# a collector that accepts connections and never answers in time
start_receiver stalled --script '[{"stallMs":30000,"forever":true}]'
run_harness stalled --endpoint "http://127.0.0.1:$RECV_PORT" "${load[@]}" --flush-ms 500
stop_receiver

rate_h=$(h healthy emit_rate)
rate_s=$(h stalled emit_rate)
otlp_log "emit() rate: healthy ${rate_h} spans/s, stalled ${rate_s} spans/s; max emit() call: healthy $(h healthy emit_max_ns) ns, stalled $(h stalled emit_max_ns) ns"
# the stalled run must ingest at least half as fast as the healthy one (it usually is
# faster: refusing a span is cheaper than queueing it)
expect ingest "stalled/healthy emit rate x100" "$(( ${rate_s:-0} * 100 / (${rate_h:-1} > 0 ? ${rate_h:-1} : 1) ))" -ge 50
# no emit() call waited on the network: 50 ms is far below the 30 s stall
expect ingest "stalled max emit ns" "$(h stalled emit_max_ns)" -lt 50000000
# healthy: the queue had room (almost) all along, and everything queued was delivered
expect healthy "refused at the queue (x100 / n)" $(( $(h healthy otlp_spans_dropped_queue_full) * 100 / n )) -le 10
expect healthy otlp_spans_failed "$(h healthy otlp_spans_failed)" -eq 0
expect healthy otlp_spans_dropped_shutdown "$(h healthy otlp_spans_dropped_shutdown)" -eq 0
expect healthy otlp_spans_sent "$(h healthy otlp_spans_sent)" -eq "$(h healthy otlp_spans_queued)"
expect healthy "counters consistent" "$(h healthy consistent)" -eq 1
# stalled: nothing delivered; every span is either refused at the full queue or dropped
# at the shutdown deadline, and the flush kept to its deadline
expect stalled otlp_spans_sent "$(h stalled otlp_spans_sent)" -eq 0
expect stalled "queue_full + shutdown" $(( $(h stalled otlp_spans_dropped_queue_full) + $(h stalled otlp_spans_dropped_shutdown) )) -eq $n
expect stalled "counters consistent" "$(h stalled consistent)" -eq 1
expect stalled flush_rc "$(h stalled flush_rc)" -eq -110
flush_ms=$(h stalled flush_ms)
expect stalled "flush ms" "${flush_ms%.*}" -le 2500

# A full queue: the first request stalls 1.5 s while 1000 spans arrive at a 100-span
# queue. Exactly the refused ones are missing at the receiver; the rest arrive once.
start_receiver overflow --script '[{"stallMs":1500}]'
run_harness overflow --endpoint "http://127.0.0.1:$RECV_PORT" --spans 1000 --chunk 10 --queue 100 --batch 50 \
	--delay-ms 20 --timeout-ms 5000 --flush-ms 15000
stop_receiver
check overflow --count 1000
full=$(h overflow otlp_spans_dropped_queue_full)
expect overflow otlp_spans_dropped_queue_full "$full" -ge 800
expect overflow "delivered (receiver)" "$(r overflow delivered)" -eq $((1000 - full))
expect overflow "missing (receiver)" "$(r overflow missing)" -eq "$full"
expect overflow otlp_spans_sent "$(h overflow otlp_spans_sent)" -eq $((1000 - full))
expect overflow "duplicates (receiver)" "$(r overflow duplicates)" -eq 0
expect overflow otlp_retries "$(h overflow otlp_retries)" -eq 0
expect overflow "counters consistent" "$(h overflow consistent)" -eq 1

# Shutdown with a collector that never answers: flush() returns at its deadline and
# counts the queued and in-flight spans as dropped at shutdown.
start_receiver deadline --script '[{"stallMs":30000,"forever":true}]'
run_harness deadline --endpoint "http://127.0.0.1:$RECV_PORT" --spans 300 --batch 100 --delay-ms 50 \
	--timeout-ms 10000 --wait-ms 300 --flush-ms 700
stop_receiver
expect deadline flush_rc "$(h deadline flush_rc)" -eq -110
flush_ms=$(h deadline flush_ms)
expect deadline "flush ms" "${flush_ms%.*}" -le 2200
expect deadline otlp_spans_dropped_shutdown "$(h deadline otlp_spans_dropped_shutdown)" -eq 300
expect deadline otlp_spans_sent "$(h deadline otlp_spans_sent)" -eq 0
expect deadline "counters consistent" "$(h deadline consistent)" -eq 1

# Shutdown while the collector has asked for a 20 s pause (Retry-After): the wait
# cannot end before the deadline, so flush() returns at once and counts the spans.
start_receiver pause --script '[{"status":503,"retryAfter":"20","forever":true}]'
run_harness pause --endpoint "http://127.0.0.1:$RECV_PORT" --spans 100 --batch 50 --delay-ms 10 \
	--wait-ms 300 --flush-ms 3000
stop_receiver
expect pause flush_rc "$(h pause flush_rc)" -eq -110
flush_ms=$(h pause flush_ms)
expect pause "flush ms" "${flush_ms%.*}" -le 1000
expect pause otlp_spans_dropped_shutdown "$(h pause otlp_spans_dropped_shutdown)" -eq 100
expect pause otlp_retries "$(h pause otlp_retries)" -ge 1
expect pause "counters consistent" "$(h pause consistent)" -eq 1

otlp_done
