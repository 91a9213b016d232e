#!/usr/bin/env bash
# The classroom load test: N simulated students behind one address (this
# machine's loopback, as a campus behind one NAT looks to the server) use
# the workbench for a while against one release process on SQLite. Prints,
# per kind of request, the count, failures, p50 and p99, and the server's
# peak memory, as a markdown table for BENCHMARKS.md.
#
# Usage: scripts/classroom.sh [students, default 300] [seconds, default 60]
# Environment: LINK_SHARE (share of students who come through the class's
# join link, default 0.8), SIGNUP_SHARE (share of those who sign up,
# default 0.33), ARRIVAL_SECS (how long arrivals take, default 10).
# Needs: a release build (cargo leptos build --release --split); installs locust
# from PyPI into target/locust-venv when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

students="${1:-300}"
seconds="${2:-60}"
arrival="${ARRIVAL_SECS:-10}"
bin="$CARGO_TARGET_DIR/release/workbench"
[ -x "$bin" ] || { echo "build first: cargo leptos build --release --split" >&2; exit 1; }

venv="$CARGO_TARGET_DIR/locust-venv"
if [ ! -x "$venv/bin/locust" ]; then
  echo "==> installing locust into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "locust==2.47.0"
fi

work=$(mktemp -d)
out="$CARGO_TARGET_DIR/classroom"
mkdir -p "$out"
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "${watch_pid:-}" ] && kill "$watch_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=3200
"$bin" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --site-root target/site 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

# The instructor and the class, made the way an operator would.
printf '%s\n' "an instructor's passphrase" |
  "$bin" user add teacher@example.com --role instructor --data-dir "$work/data" >/dev/null
created=$("$bin" class create "Load test" --owner teacher@example.com --capacity "$students" --data-dir "$work/data")
code=$(sed -n 's/.*join code \([A-Z0-9]*\),.*/\1/p' <<<"$created")

# The server's resident memory, sampled every second; the peak is kept.
( peak=0
  while kill -0 "$server_pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss && echo "$peak" >"$work/peak-kib"
    sleep 1
  done ) &
watch_pid=$!

rate=$(( (students + arrival - 1) / arrival ))
echo "==> $students students for ${seconds}s (arriving over ${arrival}s), class $code" >&2
CLASS_CODE="$code" "$venv/bin/locust" -f scripts/classroom/locustfile.py --headless \
  --users "$students" --spawn-rate "$rate" --run-time "${seconds}s" \
  --host "http://127.0.0.1:$port" --csv "$out/run" --only-summary --loglevel WARNING >"$work/locust.log" 2>&1 || true

peak_kib=$(cat "$work/peak-kib" 2>/dev/null || echo 0)
python3 - "$out/run_stats.csv" "$out/run_failures.csv" "$students" "$seconds" "$peak_kib" <<'PY'
import csv, sys
stats, failures, students, seconds, peak_kib = sys.argv[1:6]
rows = list(csv.DictReader(open(stats)))
base = next((float(r["99%"]) for r in rows if r["Name"] == "baseline /healthz"), 0.0) or 1.0
print(f"| request ({students} students, {seconds} s) | count | failures | p50 ms | p99 ms | p99 / baseline p99 |")
print("|---|---|---|---|---|---|")
for row in rows:
    ratio = float(row["99%"]) / base
    print(f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} | {row['99%']} | {ratio:.1f} |")
print(f"\nServer peak resident memory: {int(peak_kib) / 1024:.0f} MiB")
failed = [r for r in csv.DictReader(open(failures))]
for f in failed[:10]:
    print(f"- {f['Method']} {f['Name']}: {f['Occurrences']} x {f['Error'][:160]}")
PY
