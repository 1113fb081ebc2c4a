#!/bin/sh
# Install what wirespan needs, from Debian's packages and npm, for one purpose:
#   scripts/deps.sh run     build and run the agent (what `make run` needs, nothing more)
#   scripts/deps.sh test    run + unit tests, fuzzers, integration peers (`make test`)
#   scripts/deps.sh bench   run + the benchmark's servers, load generators and SDK peer
#   scripts/deps.sh all     everything (default)
# Idempotent and quick when everything is present: dpkg is asked first, apt only when
# something is missing.
set -eu
cd "$(dirname "$0")/.."
mode=${1:-all}

# Build and run
RUN_PKGS="make clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev libcurl4-openssl-dev libnghttp2-dev pkg-config"
# Unit tests, fuzzers (libFuzzer ships with clang's runtime)
TEST_PKGS="libcmocka-dev libclang-rt-14-dev"
# Integration tests: real servers and clients on loopback
TEST_PKGS="$TEST_PKGS nginx-light python3 python3-dev curl iproute2 procps openssl nodejs npm"
# Architecture tests (tests/integration/test_arch_*.sh): Go net/http and Java HttpServer services
TEST_PKGS="$TEST_PKGS golang-go openjdk-17-jdk-headless"
# Protocol tests (issue 8): real database, cache, gRPC and DNS servers with their clients
TEST_PKGS="$TEST_PKGS redis-server postgresql mariadb-server python3-grpcio python3-protobuf"
TEST_PKGS="$TEST_PKGS python3-aiohttp python3-uvloop python3-redis python3-psycopg2 python3-psycopg python3-mysqldb dnsmasq-base python3-dnspython"
# Benchmarks: nginx and Node services, Redis, wrk, the plot, TLS certificates, CPU pinning
BENCH_PKGS="nginx-light wrk gnuplot-nox nodejs npm redis-server openssl python3 util-linux"

case "$mode" in
run) PKGS="$RUN_PKGS" ;;
test) PKGS="$RUN_PKGS $TEST_PKGS" ;;
bench) PKGS="$RUN_PKGS $BENCH_PKGS" ;;
all) PKGS="$RUN_PKGS $TEST_PKGS $BENCH_PKGS" ;;
*) echo "usage: scripts/deps.sh [run|test|bench|all]" >&2; exit 2 ;;
esac
PKGS=$(printf '%s\n' $PKGS | sort -u)

missing=""
for p in $PKGS; do
	# A Node.js that bundles its own npm (NodeSource's nodejs) conflicts with Debian's npm.
	if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages:$missing (run as root to install them)" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	# Do not let package scripts start services (nginx) on this host: tests start their own.
	policy=/usr/sbin/policy-rc.d
	created_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && created_policy=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
fi

# npm test peers (OTLP decoder judge, OpenTelemetry SDK) live in tests/node.
if [ "$mode" = test ] || [ "$mode" = all ]; then
	if [ -f tests/node/package.json ] && [ ! -d tests/node/node_modules ]; then
		echo "deps: npm install in tests/node"
		(cd tests/node && npm install --no-audit --no-fund --loglevel=error)
	fi
fi
# Benchmark peers (OpenTelemetry SDK for the Node service) live in bench/node, pinned by its
# lock file; test_sdk_coexist runs the same SDK, so make test needs them too (without
# them that test skips: it did in every clean-clone run since deps.sh was split).
if [ "$mode" = bench ] || [ "$mode" = test ] || [ "$mode" = all ]; then
	if [ -f bench/node/package-lock.json ] && [ ! -d bench/node/node_modules ]; then
		echo "deps: npm ci in bench/node"
		(cd bench/node && npm ci --no-audit --no-fund --loglevel=error)
	fi
fi
exit 0
