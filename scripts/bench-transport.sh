#!/usr/bin/env bash
# The API lab's transport race against a release build: the same 20
# requests over HTTP/1.1 on one connection, on six, and over HTTP/2 on one,
# at several server waits; the median of N races per row, and the ratio of
# each way's time to HTTP/1.1 on one connection measured in the same races.
#
# Usage: scripts/bench-transport.sh [races per row, default 5] [binary, default the release build]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

races="${1:-5}"
bin="${2:-$CARGO_TARGET_DIR/release/workbench}"
work=$(mktemp -d)
port=3425
mkdir -p target/site
"$bin" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --site-root target/site 2>"$work/server.log" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

echo "| server wait | HTTP/1.1, 1 connection | HTTP/1.1, 6 connections | HTTP/2, 1 connection | connections (1.1 ×1, ×6, 2) | most in flight |"
echo "|---|---|---|---|---|---|"
for latency in 0 10 50; do
  for _ in $(seq "$races"); do
    curl -s -c "$work/jar" -b "$work/jar" -X POST -H 'content-type: application/json' \
      -d "{\"requests\": 20, \"latency_ms\": $latency}" "http://127.0.0.1:$port/labs/api/transport-race"
    echo
  done | python3 -c '
import json, statistics, sys
latency = sys.argv[1]
races = [json.loads(line) for line in sys.stdin if line.strip()]
ways = list(zip(*[race["runs"] for race in races]))
medians = [statistics.median(run["total_ms"] for run in way) for way in ways]
base = medians[0]
cells = [f"{m:.1f} ms ({m / base:.2f}×)" for m in medians]
connections = ", ".join(str(way[0]["connections_opened"]) for way in ways)
in_flight = ", ".join(str(max(run["max_in_flight"] for run in way)) for way in ways)
print(f"| {latency} ms | " + " | ".join(cells) + f" | {connections} | {in_flight} |")
' "$latency"
done
