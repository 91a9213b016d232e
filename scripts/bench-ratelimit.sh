#!/usr/bin/env bash
# Offers a fixed request rate to the rate-limit lab's live limiter with
# oha, once per algorithm, and reports the admitted rate against the
# configured limit (100 requests/s: buckets of 10 refilling at 100/s,
# windows of 100 per second). Release build; in-process limiter.
#
# Usage: scripts/bench-ratelimit.sh [seconds per run, default 20] [offered rate, default 200]
# Needs: cargo build --release -p server; oha (cargo install oha --locked).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

duration="${1:-20}"
offered="${2:-200}"
bin="$CARGO_TARGET_DIR/release/workbench"
[ -x "$bin" ] || { echo "build first: cargo build --release -p server" >&2; exit 1; }
command -v oha >/dev/null || cargo install oha --locked

work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
REDIS_URL="" "$bin" serve --addr 127.0.0.1:3105 --data-dir "$work/data" 2>"$work/server.log" &
pid=$!
for _ in $(seq 150); do curl -sf http://127.0.0.1:3105/healthz >/dev/null && break; sleep 0.2; done

host=http://127.0.0.1:3105
jar="$work/jar"
curl -sf -b "$jar" -c "$jar" "$host/labs/ratelimit/api/ping" >/dev/null
cookie=$(awk '/workbench_session/ { print "workbench_session=" $7 }' "$jar")

echo "| algorithm | settings | offered | admitted | configured | error |"
echo "|---|---|---|---|---|---|"
for algorithm in token_bucket leaky_bucket_meter leaky_bucket_queue fixed_window sliding_window_log sliding_window_counter; do
  case $algorithm in
    *bucket*) settings="{\"algorithm\":\"$algorithm\",\"capacity\":10,\"rate_per_sec\":100}"; label="capacity 10, 100/s" ;;
    *) settings="{\"algorithm\":\"$algorithm\",\"capacity\":100,\"window_secs\":1}"; label="100 per 1 s window" ;;
  esac
  curl -sf -b "$jar" -X PUT -H 'content-type: application/json' -d "$settings" "$host/labs/ratelimit/settings" >/dev/null
  out=$(oha -z "${duration}s" -q "$offered" -c 16 --no-tui --output-format json -H "Cookie: $cookie" "$host/labs/ratelimit/api/ping")
  python3 - "$algorithm" "$label" "$offered" "$duration" <<PY
import json, sys
algorithm, label, offered, duration = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
report = json.loads('''$out''')
codes = report.get("statusCodeDistribution", {})
admitted = codes.get("200", 0) / duration
print(f"| {algorithm} | {label} | {offered:.0f}/s | {admitted:.1f}/s | 100/s | {100 * (admitted - 100) / 100:+.1f}% |")
PY
done
echo
echo "oha -z ${duration}s -q ${offered} -c 16, release build, in-process limiter keyed by one student, $(nproc) cores shared by oha and the server, $(date -u +%Y-%m-%d)."
