#!/bin/sh
# Install what wirespan and its tests need, from Debian's packages and npm.
# Idempotent and quick when everything is present: dpkg is asked first, apt only when
# something is missing.
set -eu
cd "$(dirname "$0")/.."

# Build and run
PKGS="make clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev libcurl4-openssl-dev pkg-config"
# Unit tests, fuzzers (libFuzzer ships with clang's runtime)
PKGS="$PKGS libcmocka-dev libclang-rt-14-dev"
# Integration tests: real servers and clients on loopback
PKGS="$PKGS nginx-light python3 curl iproute2 procps"
# Architecture tests (tests/integration/test_arch_*.sh): Go net/http and Java HttpServer services
PKGS="$PKGS golang-go openjdk-17-jdk-headless"
# Protocol tests (issue 8): real database, cache, gRPC and DNS servers with their clients
PKGS="$PKGS redis-server postgresql mariadb-server libnghttp2-dev python3-grpcio python3-protobuf"
PKGS="$PKGS python3-redis python3-psycopg2 python3-psycopg python3-mysqldb dnsmasq-base python3-dnspython"
# Benchmarks
PKGS="$PKGS wrk gnuplot-nox nodejs npm"

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

# npm test peers (OTLP decoder judge, OpenTelemetry SDK for benchmarks) live in tests/node.
if [ -f tests/node/package.json ] && [ ! -d tests/node/node_modules ]; then
	echo "deps: npm install in tests/node"
	(cd tests/node && npm install --no-audit --no-fund --loglevel=error)
fi
# Benchmark peers (OpenTelemetry SDK for the Node service) live in bench/node, pinned by its lock file.
if [ -f bench/node/package-lock.json ] && [ ! -d bench/node/node_modules ]; then
	echo "deps: npm ci in bench/node"
	(cd bench/node && npm ci --no-audit --no-fund --loglevel=error)
fi
exit 0
