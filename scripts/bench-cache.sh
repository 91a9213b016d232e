#!/usr/bin/env bash
# Measures the cache lab under load on the release build: a HIT and a
# MISS-dominated run on each backend (in-process, and Redis when one answers
# on 127.0.0.1:6379), against two plain baselines (`/healthz`, no lab
# middleware; `/labs/http/echo`, a lab route with no cache). Prints a
# markdown table. The origin's artificial latency is set to 0, so a miss
# costs the real query on the student's shop plus the store.
#
# Usage: scripts/bench-cache.sh [seconds per run, default 10]
# Needs: cargo build --release -p server; wrk (Debian `wrk`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

duration="${1:-10}"
bin="$CARGO_TARGET_DIR/release/workbench"
[ -x "$bin" ] || { echo "build first: cargo build --release -p server" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }

work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
redis_url=""
if (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then redis_url="redis://127.0.0.1:6379"; fi
REDIS_URL="$redis_url" "$bin" serve --addr 127.0.0.1:3104 --data-dir "$work/data" 2>"$work/server.log" &
pid=$!
for _ in $(seq 150); do curl -sf http://127.0.0.1:3104/healthz >/dev/null && break; sleep 0.2; done

host=http://127.0.0.1:3104
jar="$work/jar"
json() { curl -sf -b "$jar" -c "$jar" -H 'content-type: application/json' "$@"; }
settings() { json -X PUT -d "$1" "$host/labs/cache/settings" >/dev/null; }
origin_hits() { json "$host/labs/cache/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["origin_hits"])'; }
json "$host/labs/cache/products/42" >/dev/null   # makes the guest, its sandbox and a first entry
cookie=$(awk '/workbench_session/ { print "workbench_session=" $7 }' "$jar")
cat >"$work/random.lua" <<'LUA'
math.randomseed(42)
request = function()
  return wrk.format("GET", "/labs/cache/products/" .. math.random(1, 1000))
end
LUA

measure() { # label, url, extra wrk args...
  local label=$1 url=$2; shift 2
  local before out rps p99 requests misses
  before=$(origin_hits)
  out=$(wrk -t2 -c32 -d"${duration}s" --latency -H "Cookie: $cookie" "$@" "$url")
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  misses=$(( $(origin_hits) - before ))
  echo "| $label | $rps | $p99 | $(python3 -c "print(f'{100*$misses/max($requests,1):.1f}%')") |"
}

echo "| run | requests/s | p99 | reached the origin |"
echo "|---|---|---|---|"
echo "| \`/healthz\` (no lab middleware) | $(wrk -t2 -c32 -d"${duration}s" "$host/healthz" | awk '/^Requests\/sec:/ { printf "%.0f", $2 }') | | |"
measure "\`/labs/http/echo\` (a lab route, no cache)" "$host/labs/http/echo"
settings '{"origin_latency_ms": 0, "backend": "in_process", "ttl_secs": 3600}'
measure "in-process HIT (one product)" "$host/labs/cache/products/42"
settings '{"origin_latency_ms": 0, "backend": "in_process", "ttl_secs": 3600, "capacity": 1}'
measure "in-process MISS (random products, capacity 1)" "$host/labs/cache/products/1" -s "$work/random.lua"
settings '{"origin_latency_ms": 0, "strategy": "none"}'
measure "no cache: every request to the origin" "$host/labs/cache/products/42"
if [ -n "$redis_url" ]; then
  settings '{"origin_latency_ms": 0, "backend": "redis", "ttl_secs": 3600}'
  json "$host/labs/cache/products/42" >/dev/null
  measure "Redis HIT (one product)" "$host/labs/cache/products/42"
  settings '{"origin_latency_ms": 0, "backend": "redis", "ttl_secs": 1}'
  measure "Redis MISS-heavy (random products, TTL 1 s)" "$host/labs/cache/products/1" -s "$work/random.lua"
else
  echo "| Redis | skipped: no Redis on 127.0.0.1:6379 | | |"
fi
echo
echo "wrk -t2 -c32 -d${duration}s --latency, release build, origin latency 0, $(nproc) cores shared by wrk, Redis and the server, $(date -u +%Y-%m-%d)."
