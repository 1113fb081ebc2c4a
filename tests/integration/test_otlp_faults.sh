#!/bin/bash
# OTLP/HTTP delivery under collector faults, against the scripted local receiver:
# 503 with Retry-After (delta-seconds and HTTP-date), 429, 400, 200 with partial_success,
# a dropped connection, a stall longer than the request timeout, connection refused
# throughout, and a collector that is down for a while and then comes back.
# Assertions: nothing retryable is lost while the queue has room, what is dropped is
# counted exactly (the harness' counters equal what the receiver did not get), and
# Retry-After is honoured. No root needed; about 20 s.
set -u
. "$(dirname "$0")/otlp_lib.sh"
otlp_prereqs

# fast retries so the test is quick; the production defaults are 1 s .. 30 s
common=(--batch 50 --delay-ms 50 --chunk 5 --timeout-ms 1000 --export-timeout-ms 8000
	--retry-initial-ms 100 --retry-max-ms 400 --flush-ms 15000)

# scenario NAME N SCRIPT: a receiver with SCRIPT, N spans through the sink, both views.
scenario() {
	local name=$1 n=$2 script=$3
	shift 3
	start_receiver "$name" --script "$script"
	run_harness "$name" --endpoint "http://127.0.0.1:$RECV_PORT" --spans "$n" "${common[@]}" "$@"
	stop_receiver
	check "$name" --count "$n"
}

# 503 + Retry-After: 1 -> one retry, not before a second has passed, nothing lost
scenario 503-seconds 200 '[{"status":503,"retryAfter":"1"}]'
no_loss 503-seconds 200
expect 503-seconds "503 answers" "$(r 503-seconds answered_503)" -eq 1
expect 503-seconds otlp_retries "$(h 503-seconds otlp_retries)" -eq 1
expect 503-seconds "retry gap ms" "$(r 503-seconds min_retry_gap_ms)" -ge 950

# 503 + Retry-After as an HTTP-date about 2 s ahead (1 s resolution: at least 1 s)
scenario 503-date 200 '[{"status":503,"retryAfterDateMs":2000}]'
no_loss 503-date 200
expect 503-date otlp_retries "$(h 503-date otlp_retries)" -eq 1
expect 503-date "retry gap ms" "$(r 503-date min_retry_gap_ms)" -ge 950

# 429 twice without Retry-After: exponential backoff, then delivered
scenario 429 200 '[{"status":429,"repeat":2}]'
no_loss 429 200
expect 429 otlp_retries "$(h 429 otlp_retries)" -eq 2

# 502 and 504 are retried too
scenario 502-504 200 '[{"status":502},{"status":504}]'
no_loss 502-504 200
expect 502-504 otlp_retries "$(h 502-504 otlp_retries)" -eq 2

# a dropped connection (no response at all) is a connection failure: retried
scenario close 200 '[{"close":true}]'
no_loss close 200
expect close otlp_retries "$(h close otlp_retries)" -ge 1

# a stall longer than the request timeout: the request times out and is retried
scenario stall 200 '[{"stallMs":3000}]' --timeout-ms 500
no_loss stall 200
expect stall otlp_retries "$(h stall otlp_retries)" -ge 1
grep -q 'otlp_last_error ".*[Tt]imeout' "$OTLP_TMP/stall.out" ||
	{ otlp_log "FAIL: stall: last error does not name the timeout: $(h stall otlp_last_error)"; OTLP_FAILS=$((OTLP_FAILS + 1)); }

# 400 and 500 are not retried: exactly the spans of those requests are dropped and counted
scenario 400 200 '[{"status":400},{"status":500}]'
refused=$(r 400 spans_in_refused_requests)
expect 400 "refused spans" "$refused" -eq 100
expect 400 otlp_spans_dropped_non_retryable "$(h 400 otlp_spans_dropped_non_retryable)" -eq "$refused"
expect 400 otlp_spans_failed "$(h 400 otlp_spans_failed)" -eq "$refused"
expect 400 otlp_spans_sent "$(h 400 otlp_spans_sent)" -eq $((200 - refused))
expect 400 "delivered (receiver)" "$(r 400 delivered)" -eq $((200 - refused))
expect 400 "missing (receiver)" "$(r 400 missing)" -eq "$refused"
expect 400 otlp_retries "$(h 400 otlp_retries)" -eq 0
expect 400 "counters consistent" "$(h 400 consistent)" -eq 1

# 200 with partial_success: logged and counted, not retried
scenario partial 200 '[{"status":200,"partial":{"rejected":3,"message":"bad spans"}}]'
no_loss partial 200
expect partial otlp_partial_success_rejected "$(h partial otlp_partial_success_rejected)" -eq 3
expect partial otlp_retries "$(h partial otlp_retries)" -eq 0
grep -q 'otlp_last_error ".*bad spans' "$OTLP_TMP/partial.out" ||
	{ otlp_log "FAIL: partial: last error does not carry the collector's message"; OTLP_FAILS=$((OTLP_FAILS + 1)); }

# the same over JSON (the response is JSON too)
OTLP_ENV=(OTEL_EXPORTER_OTLP_PROTOCOL=http/json)
scenario partial-json 200 '[{"status":503,"retryAfter":"0"},{"status":200,"partial":{"rejected":5,"message":"json says no"}}]'
OTLP_ENV=()
no_loss partial-json 200
expect partial-json otlp_partial_success_rejected "$(h partial-json otlp_partial_success_rejected)" -eq 5
expect partial-json otlp_retries "$(h partial-json otlp_retries)" -eq 1

# connection refused for the whole budget: every span dropped as retry-exhausted
port=$(otlp_free_port)
run_harness refused --endpoint "http://127.0.0.1:$port" --spans 120 "${common[@]}" --export-timeout-ms 1500
expect refused otlp_spans_dropped_retry_exhausted "$(h refused otlp_spans_dropped_retry_exhausted)" -eq 120
expect refused otlp_spans_failed "$(h refused otlp_spans_failed)" -eq 120
expect refused otlp_spans_sent "$(h refused otlp_spans_sent)" -eq 0
expect refused otlp_retries "$(h refused otlp_retries)" -ge 3
expect refused "counters consistent" "$(h refused consistent)" -eq 1

# down for a while, then back on the same port: nothing lost
port=$(otlp_free_port)
timeout 60 "$OTLP_HARNESS" --endpoint "http://127.0.0.1:$port" --spans 300 "${common[@]}" \
	--export-timeout-ms 10000 >"$OTLP_TMP/down-up.out" 2>"$OTLP_TMP/down-up.err" &
hp=$!
OTLP_PIDS+=("$hp")
sleep 2
start_receiver down-up --port "$port"
wait "$hp" || { otlp_log "FAIL: down-up: harness exited $?"; OTLP_FAILS=$((OTLP_FAILS + 1)); }
stop_receiver
check down-up --count 300
no_loss down-up 300
expect down-up otlp_retries "$(h down-up otlp_retries)" -ge 2

otlp_done
