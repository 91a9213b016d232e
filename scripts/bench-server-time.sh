#!/usr/bin/env bash
# Server CPU time per request, not throughput: wrk shares the machine's two
# cores with the server, so a requests/s ratio mixes in wrk's own work. This
# reads the server process's CPU time (user + system, from /proc) before and
# after each wrk run and divides by the requests served. Measures /healthz,
# a guest's lab request and a signed-in student's, on one release process.
#
# Usage: scripts/bench-server-time.sh [seconds per run, default 8] [binary, default the release build]
# Needs: wrk (Debian `wrk`; installed when missing), target/site from
# `cargo leptos build --release --split`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

duration="${1:-8}"
bin="${2:-$CARGO_TARGET_DIR/release/workbench}"
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
work=$(mktemp -d)
port=3420
"$bin" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --site-root target/site 2>"$work/server.log" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

base="http://127.0.0.1:$port"
guest=$(curl -s -o /dev/null -c - "$base/labs/http/status/200" | awk '$6 == "workbench_session" { print $6 "=" $7 }')
account=$(curl -s -o /dev/null -c - -H "Origin: $base" -H 'content-type: application/json' \
  -d '{"name":"Ada","email":"ada@example.com","password":"correct horse battery"}' \
  "$base/auth/signup" | awk '$6 == "workbench_session" { print $6 "=" $7 }')

ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
hz=$(getconf CLK_TCK)

measure() { # label url [cookie]
  local before after out requests
  curl -sf -o /dev/null ${3:+-H "Cookie: $3"} "$2" # warm
  before=$(ticks)
  out=$(wrk -t2 -c32 -d"${duration}s" ${3:+-H "Cookie: $3"} "$2")
  after=$(ticks)
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers for $2" >&2; exit 1; fi
  awk -v l="$1" -v t="$((after - before))" -v hz="$hz" -v n="$requests" \
    'BEGIN { printf "%s %.1f %d\n", l, t / hz / n * 1e6, n }'
}

results=$(
  measure healthz "$base/healthz"
  measure guest "$base/labs/http/echo" "$guest"
  measure account "$base/labs/http/echo" "$account"
)
health=$(awk '$1 == "healthz" { print $2 }' <<<"$results")
echo "| request | server CPU µs per request | requests | against /healthz |"
echo "|---|---|---|---|"
while read -r label us n; do
  name=$label
  [ "$label" = healthz ] && name='`/healthz`'
  [ "$label" = guest ] && name='lab request `/labs/http/echo`, guest'
  [ "$label" = account ] && name='lab request `/labs/http/echo`, signed in'
  awk -v name="$name" -v us="$us" -v n="$n" -v h="$health" \
    'BEGIN { printf "| %s | %.1f | %d | %.2f× |\n", name, us, n, us / h }'
done <<<"$results"
