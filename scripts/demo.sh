#!/usr/bin/env bash
# `make demo`: play the bundled demo wire feed through the embedded Kafka broker and print
# the biggest clusters. Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
exec "$build/cli/newsdedup" demo --feed bench/demo/feed.jsonl
