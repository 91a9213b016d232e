#!/usr/bin/env bash
# Page N of the shop's 12,000 orders, by offset and by cursor (the same 20
# rows both ways), against a release build: requests/s and mean latency
# under wrk, and what SQLite did for one such page (from its trace).
#
# Usage: scripts/bench-pagination.sh [seconds per run, default 5] [binary, default the release build]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

duration="${1:-5}"
bin="${2:-$CARGO_TARGET_DIR/release/workbench}"
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
work=$(mktemp -d)
port=3424
mkdir -p target/site
"$bin" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --site-root target/site 2>"$work/server.log" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

base="http://127.0.0.1:$port"
jar="$work/jar"
curl -s -o /dev/null -c "$jar" "$base/labs/api/orders?per_page=1"
cookie=$(awk '$6 == "workbench_session" { print $6 "=" $7 }' "$jar")

cursor_for() { # the cursor of the page that starts below order $1
  printf 'after:%s' "$1" | od -An -tx1 | tr -d ' \n'
}

steps() { # url -> "full_scan_steps vm_steps" of its api.page event
  local trace
  trace=$(curl -s -D - -o /dev/null -b "$jar" "$1" | awk -F- 'tolower($0) ~ /^traceresponse/ { print $2 }')
  curl -s -b "$jar" "$base/api/traces/$trace" | python3 -c '
import json, sys
events = [e for e in json.load(sys.stdin)["events"] if e["kind"] == "api.page"]
fields = dict(events[0]["fields"])
print(fields["full_scan_steps"], fields["vm_steps"])'
}

measure() { # label url
  local out rps latency
  out=$(wrk -t1 -c4 -d"${duration}s" -H "Cookie: $cookie" "$2")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers for $2" >&2; exit 1; fi
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  latency=$(awk '/Latency/ { print $2 }' <<<"$out")
  read -r full vm <<<"$(steps "$2")"
  echo "| $1 | $rps | $latency | $full | $vm |"
}

echo "| page of 20 (newest first) | requests/s | mean latency | rows stepped over in scans | SQLite VM steps |"
echo "|---|---|---|---|---|"
for n in 1 100 600; do
  measure "page $n by offset" "$base/labs/api/orders?page=$n&per_page=20"
  if [ "$n" = 1 ]; then
    measure "page $n by cursor" "$base/labs/api/orders?paging=cursor&per_page=20"
  else
    measure "page $n by cursor" "$base/labs/api/orders?after=$(cursor_for $((12000 - (n - 1) * 20 + 1)))&per_page=20"
  fi
done
