#!/usr/bin/env bash
# The gateway lab measured on a release build:
# 1. the gateway's own cost per request: wrk through the gateway
#    (`/labs/gateway/catalog/items/1`, one student's cookie, replicas
#    answering at once) against wrk calling one of those replicas
#    directly, and `/healthz` as the workbench's cheapest route;
# 2. the brownout (200 requests/s for 60 s, replica 1 slow in its tail and
#    replica 2 failing 30 % from second 20) under three gateway settings,
#    replayed on the virtual clock as the exercise grades it and run live
#    through real replicas, seed 2026 in both.
#
# 3. the shop's order page: the monolith's one query against the BFF's
#    calls, naive and batched.
#
# Usage: scripts/bench-gateway.sh [overhead|shop|brownout|all, default all] [seconds per wrk run, default 10]
# Needs: cargo build --release -p server; wrk (Debian `wrk`; installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

part="${1:-all}"
duration="${2:-10}"
bin="$CARGO_TARGET_DIR/release/workbench"
[ -x "$bin" ] || { echo "build first: cargo build --release -p server" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }

work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# A known replica token, so wrk can call a replica directly for the baseline.
token=bench-token-$(date +%s)-0123456789
REDIS_URL="" WORKBENCH_GATEWAY_TOKEN="$token" "$bin" serve --addr 127.0.0.1:3106 --data-dir "$work/data" 2>"$work/server.log" &
pid=$!
for _ in $(seq 150); do curl -sf http://127.0.0.1:3106/healthz >/dev/null && break; sleep 0.2; done

host=http://127.0.0.1:3106
hz=$(getconf CLK_TCK)
# The server process's CPU time so far (user + system), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
jar="$work/jar"
curl -sf -b "$jar" -c "$jar" "$host/labs/gateway/replicas" >/dev/null
cookie=$(awk '/workbench_session/ { print "workbench_session=" $7 }' "$jar")
put() { curl -sf -b "$jar" -X PUT -H 'content-type: application/json' -d "$1" "$host/labs/gateway/settings" >/dev/null; }

# wrk's report -> "requests/s p50 p99 non-2xx" (latencies in ms).
summary() {
  awk '/^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    $1 == "50%" || $1 == "99%" { v = $2
      if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
      else if (v ~ /ms$/) { sub(/ms$/, "", v) }
      else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
      p[$1] = v }
    END { printf "%.0f %.2f %.2f %d\n", rps, p["50%"], p["99%"], bad }'
}

# One wrk run: url, then extra wrk arguments.
measure() {
  local url=$1; shift
  wrk -t1 -c8 -d"${duration}s" --latency "$@" "$url" | summary
}

overhead() {
  # Replicas that answer at once and never queue: what is left is HTTP,
  # the gateway's choice and its hop over loopback TCP.
  put '{"replica": [{"service_ms": 0, "capacity": 64}, {"service_ms": 0, "capacity": 64}, {"service_ms": 0, "capacity": 64}]}'
  local port
  port=$(curl -sf -b "$jar" "$host/labs/gateway/replicas" | python3 -c 'import json,sys; print(json.load(sys.stdin)["replicas"][0]["port"])')
  # The replicas run in the server's process, so its CPU time per request
  # counts a replica's work in both the direct and the gateway rows: what
  # the gateway row has more is the gateway's own.
  echo "| route | requests/s | p50 ms | p99 ms | not 2xx | requests/s vs /healthz | server CPU µs a request |"
  echo "|---|---|---|---|---|---|---|"
  local base=""
  for target in "healthz|$host/healthz" "echo|$host/labs/http/echo" "direct|http://127.0.0.1:$port/items/1" "gateway|$host/labs/gateway/catalog/items/1"; do
    name=${target%%|*}; url=${target#*|}
    local before after
    before=$(cpu_ticks)
    read -r rps p50 p99 bad < <(measure "$url" -H "Cookie: $cookie" -H "x-workbench-gateway: $token")
    after=$(cpu_ticks)
    [ -z "$base" ] && base=$rps
    read -r ratio cpu < <(python3 -c "print(f'{$rps / $base:.2f} {($after - $before) / $hz / ($rps * $duration) * 1e6:.1f}')")
    case $name in
      healthz) label='`GET /healthz` (workbench, no session)' ;;
      echo) label='a lab route with nothing behind it (`/labs/http/echo`: session, settings, trace)' ;;
      direct) label='a replica called directly (`/items/1` with the gateway token: the same item as JSON)' ;;
      gateway) label='through the gateway (`/labs/gateway/catalog/items/1`: the lab route, the choice, the loopback TCP hop to a replica, the relay)' ;;
    esac
    echo "| $label | $rps | $p50 | $p99 | $bad | $ratio | $cpu |"
  done
  echo
  echo "wrk -t1 -c8 -d${duration}s --latency, release build, $(nproc) cores shared by wrk, the server and the replicas, $(date -u +%Y-%m-%d)."
}

brownout() {
  echo "| settings | how | success | p99 ms | tries a request |"
  echo "|---|---|---|---|---|"
  local asked='{"rate_per_sec": 200, "seconds": 60, "brownout_at_s": 20}'
  for setting in \
    'no retries (the defaults)|{"seed": 2026}' \
    'naive retries (3, no budget, 200 ms per try)|{"seed": 2026, "retries": 3, "retry_budget": false, "per_try_timeout_ms": 200}' \
    'budgeted retries with peak-EWMA (2 within 20 %, 200 ms per try)|{"seed": 2026, "algorithm": "peak_ewma", "retries": 2, "retry_budget_percent": 20, "per_try_timeout_ms": 200}'; do
    name=${setting%%|*}; settings=${setting#*|}
    put "$settings"
    replayed=$(curl -sf -b "$jar" -X POST -H 'content-type: application/json' -d "$asked" "$host/labs/gateway/replay")
    curl -sf -b "$jar" -X POST -H 'content-type: application/json' -d "$asked" "$host/labs/gateway/load" >/dev/null
    while curl -sf -b "$jar" "$host/labs/gateway/load" | grep -q '"running":true'; do sleep 1; done
    live=$(curl -sf -b "$jar" "$host/labs/gateway/load")
    for how in replayed live; do
      python3 -c '
import json, sys
name, how, run = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
success = 100 * run["succeeded"] / max(run["sent"], 1)
p99, tries = run["p99_ms"], run["attempts_per_request"]
print(f"| {name} | {how} | {success:.2f} % | {p99} | {tries:.2f} |")' "$name" "$how" "$([ $how = replayed ] && echo "$replayed" || echo "$live")"
    done
  done
  echo
  echo "200 requests/s for 60 s, brownout from second 20, seed 2026; replayed: POST /labs/gateway/replay; live: POST /labs/gateway/load through real replicas. Release build, $(nproc) cores, $(date -u +%Y-%m-%d)."
}

shop() {
  # The order page of customer 1 (4 orders, 12 lines), healthy services:
  # one query, against the BFF's 14 calls one after another, and its 3
  # calls when it asks at once and in bulk.
  echo "| order page | calls | requests/s | p50 ms | p99 ms | not 2xx | requests/s vs monolith |"
  echo "|---|---|---|---|---|---|---|"
  local base=""
  for target in \
    'monolith, one SQL join|1|{}|monolith' \
    'BFF, one call after another, catalog per line|14|{}|bff' \
    'BFF, users and orders at once, catalog in one batch|3|{"shop": {"parallel": true, "batch_catalog": true}}|bff'; do
    IFS='|' read -r name calls settings way <<<"$target"
    put "$settings"
    read -r rps p50 p99 bad < <(measure "$host/labs/gateway/shop/$way/customers/1/orders" -H "Cookie: $cookie")
    [ -z "$base" ] && base=$rps
    ratio=$(python3 -c "print(f'{$rps / $base:.2f}')")
    echo "| $name | $calls | $rps | $p50 | $p99 | $bad | $ratio |"
  done
  echo
  echo "wrk -t1 -c8 -d${duration}s --latency, release build, $(nproc) cores shared by wrk, the server and the services, $(date -u +%Y-%m-%d)."
}

case $part in
  overhead) overhead ;;
  brownout) brownout ;;
  shop) shop ;;
  all) overhead; echo; shop; echo; brownout ;;
  *) echo "usage: $0 [overhead|shop|brownout|all] [seconds]" >&2; exit 2 ;;
esac
