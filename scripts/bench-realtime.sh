#!/usr/bin/env bash
# Real-time delivery against real release-profile `workbench` processes:
# the feed's four transports, the chat's backbones on one process and two
# (Redis and NATS on their standard loopback ports; skipped when absent),
# and memory per 1,000 idle WebSockets. Prints Markdown for BENCHMARKS.md.
#
# Usage: scripts/bench-realtime.sh [transports] [backbones] [memory]   (all when none)
# WORKBENCH_BIN=path measures another build of the server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo bench -p server --bench realtime -- "$@"
