#!/usr/bin/env bash
# Course search latency over HTTP on the release build: p50 and p99 of
# `GET /api/search` (what the header box asks as a reader types) for several
# kinds of query, against `/healthz` in the same run, with wrk.
#
# Usage: scripts/bench-search.sh [seconds per run, default 8] [binary, default the release build]
# Needs: wrk (Debian `wrk`; installed when missing); cargo build --release -p server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

duration="${1:-8}"
bin="${2:-$CARGO_TARGET_DIR/release/workbench}"
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
work=$(mktemp -d)
port=3421
"$bin" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --site-root target/site 2>"$work/server.log" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
base="http://127.0.0.1:$port"

# wrk's "Latency Distribution" lines, in ms.
percentile() { # wrk output, "50%" or "99%"
  awk -v p="$2" '$1 == p { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
    printf "%.3f", v }' <<<"$1"
}

echo "wrk -t1 -c4 -d${duration}s --latency, release build, $(nproc) cores shared by wrk and the server, $(date -u +%Y-%m-%d)."
echo
echo "| request | requests/s | p50 ms | p99 ms | p50 × /healthz |"
echo "|---|---|---|---|---|"
baseline=""
for entry in \
  "/healthz|baseline: /healthz" \
  "/api/search?q=idempotency|one word" \
  "/api/search?q=thundering+herd|two words" \
  "/api/search?q=thunderi|a word being typed" \
  "/api/search?q=idempotnecy|a typo" \
  "/api/search?q=cache+stampede+lock+zzqxv|four words, one unknown" \
  "/search?q=thundering+herd|the results page (HTML, 50 hits)"; do
  path="${entry%%|*}"; label="${entry#*|}"
  curl -sf -o /dev/null "$base$path"
  out=$(wrk -t1 -c4 -d"${duration}s" --latency "$base$path")
  rps=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
  p50=$(percentile "$out" "50%"); p99=$(percentile "$out" "99%")
  [ -z "$baseline" ] && baseline="$p50"
  ratio=$(awk -v a="$p50" -v b="$baseline" 'BEGIN { printf "%.2f", a / b }')
  echo "| \`$label\` ($path) | $rps | $p50 | $p99 | $ratio |"
done
