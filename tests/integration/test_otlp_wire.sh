#!/bin/bash
# OTLP/HTTP wire format, judged by a third party: the sink exports a known set of
# spans (tests/integration/otlp_harness.c) as protobuf and as JSON, with and without
# gzip, configured through the OTel environment; the receiver decodes every request with
# @opentelemetry/otlp-transformer@0.52.1's root.js and check_wire.js compares every field
# of every span, resource and scope with what the span's index defines. No root needed.
set -u
. "$(dirname "$0")/otlp_lib.sh"
otlp_prereqs
version=$(cat "$OTLP_ROOT/VERSION")
n=300

for proto in http/protobuf http/json; do
	for comp in none gzip; do
		name=$(echo "${proto#http/}-$comp" | tr / -)
		ctype=application/x-protobuf
		[ "$proto" = http/json ] && ctype=application/json
		enc=
		[ "$comp" = gzip ] && enc=gzip
		start_receiver "$name"
		# the endpoint comes in through a different route in each round
		if [ "$comp" = gzip ]; then
			ep_env=(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$RECV_PORT/v1/traces")
		else
			ep_env=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$RECV_PORT/")
		fi
		OTLP_ENV=("${ep_env[@]}" OTEL_EXPORTER_OTLP_PROTOCOL=$proto OTEL_EXPORTER_OTLP_COMPRESSION=$comp
			OTEL_EXPORTER_OTLP_HEADERS="x-wirespan-test=$name%2C%20ok"
			OTEL_BSP_MAX_EXPORT_BATCH_SIZE=64 OTEL_BSP_SCHEDULE_DELAY=100)
		run_harness "$name" --spans $n --resources 3 --chunk 5
		stop_receiver
		check "$name" --verify --count $n --resources 3 --version "$version" \
			--content-type $ctype --content-encoding "$enc" --header "x-wirespan-test=$name, ok"
		no_loss "$name" $n
		expect "$name" "requests (receiver)" "$(r "$name" requests)" -ge $((n / 64))
		# one keep-alive connection for every request of the run
		expect "$name" "connections (receiver)" "$(r "$name" connections)" -eq 1
		expect "$name" otlp_retries "$(h "$name" otlp_retries)" -eq 0
		[ "$comp" = gzip ] && gz_bytes=$(h "$name" otlp_bytes_sent) || plain_bytes=$(h "$name" otlp_bytes_sent)
		[ "$comp" = gzip ] && expect "$name" "gzip bytes < plain bytes" "$gz_bytes" -lt "$plain_bytes"
		otlp_log "$name: $(r "$name" requests) requests, $(r "$name" delivered) spans verified field by field, $(h "$name" otlp_bytes_sent) bytes"
	done
done
otlp_done
