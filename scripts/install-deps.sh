#!/usr/bin/env bash
# Install the Debian packages newsdedup needs. Idempotent: installs only what is
# missing; does nothing when all is there. Run as root (or with sudo) on Debian bookworm.
#   scripts/install-deps.sh build   what `make demo` needs: the toolchain and libraries
#   scripts/install-deps.sh         everything `make check` needs besides (fuzzers, kcat,
#                                   python3, and Java + Maven for the real-broker tests)
set -euo pipefail
profile=${1:-all}

# Build and runtime libraries (each chosen by measurement: see README).
pkgs=(
  build-essential cmake pkg-config
  librdkafka-dev     # Kafka client and its mock cluster (rdkafka_mock.h)
  libxxhash-dev      # XXH3 shingle and text hashing
  libjemalloc-dev    # the binaries' allocator
  libutf8proc-dev    # Unicode NFKC + case folding
  libyajl-dev        # SAX JSON parser for ninjs
  libcjson-dev libjansson-dev  # bench_json only: the DOM parsers yajl is measured against
)
# Tests, fuzzers, formatting and the real broker: not needed to build or run the demo.
[ "$profile" = build ] || pkgs+=(
  clang libclang-rt-14-dev  # libFuzzer harnesses
  kcat               # the README walk-through and the Kafka tests
  clang-format-14    # formatting C sources with the committed .clang-format (make format)
  python3            # end-to-end tests check JSON outputs with it
)
# The real-broker tests run Apache Kafka (a JVM program) fetched with Maven.
if [ "$profile" != build ] && [ "${ND_SKIP_JAVA:-0}" != 1 ]; then
  command -v java >/dev/null 2>&1 || pkgs+=(default-jre-headless)
  command -v mvn >/dev/null 2>&1 || pkgs+=(maven)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
