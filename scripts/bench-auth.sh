#!/usr/bin/env bash
# Measures a protected auth-lab route under load, signed in by session
# cookie and by JWT: `GET /labs/auth/me` on the release build, with wrk.
# Both paths also resolve the workbench's own guest session and file a
# trace, as every lab request does. Prints a markdown table.
#
# Usage: scripts/bench-auth.sh [seconds per run, default 10]
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
"$bin" serve --addr 127.0.0.1:3103 --data-dir "$work/data" 2>"$work/server.log" &
pid=$!
for _ in $(seq 150); do curl -sf http://127.0.0.1:3103/healthz >/dev/null && break; sleep 0.2; done

base=http://127.0.0.1:3103/labs/auth
jar="$work/jar"
json() { curl -sf -b "$jar" -c "$jar" -H 'content-type: application/json' "$@"; }
json -d '{"username":"ada","password":"hunter2","role":"seller"}' "$base/users" >/dev/null
json -d '{"username":"ada","password":"hunter2"}' "$base/login" >/dev/null
cookies=$(awk '!/^#/ && NF >= 7 { printf "%s=%s; ", $6, $7 } /^#HttpOnly_/ { printf "%s=%s; ", $6, $7 }' "$jar")
json -X PUT -d '{"mechanism":"jwt"}' "$base/settings" >/dev/null
token=$(json -d '{"username":"ada","password":"hunter2"}' "$base/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
workbench_cookie=$(awk '/workbench_session/ { print "workbench_session=" $7 }' "$jar")

measure() { # label, extra wrk args...
  local label=$1; shift
  local out
  out=$(wrk -t2 -c32 -d"${duration}s" --latency "$@" "$base/me")
  local rps p99 non2xx
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  echo "| $label | $rps | $p99 | ${non2xx:-0} |"
}

echo "| signed in by | requests/s | p99 | non-2xx |"
echo "|---|---|---|---|"
measure "session cookie (lookup in SQLite)" -H "Cookie: $cookies"
measure "JWT (HS256 verify, no lookup)" -H "Cookie: $workbench_cookie" -H "Authorization: Bearer $token"
echo
echo "wrk -t2 -c32 -d${duration}s --latency GET /labs/auth/me, release build, $(nproc) cores shared by wrk and the server, $(date -u +%Y-%m-%d)."
