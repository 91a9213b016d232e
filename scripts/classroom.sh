#!/usr/bin/env bash
# The classroom load test: N simulated students behind one address (this
# machine's loopback, as a campus behind one NAT looks to the server) use
# the workbench for a while. Prints, per kind of request, the count,
# failures, p50 and p99, and each server process's peak memory, as a
# markdown table for BENCHMARKS.md.
#
# By default one release process on SQLite. With PROCESSES=3 (or more):
# that many processes on one PostgreSQL database and one Redis, sharing one
# data folder, behind Debian's nginx running deploy/nginx.conf over TLS, as
# docs/DEPLOY.md describes a school.
#
# Usage: scripts/classroom.sh [students, default 300] [seconds, default 60]
# Environment: PROCESSES (default 1), LINK_SHARE (share of students who come
# through the class's join link, default 0.8), SIGNUP_SHARE (share of those
# who sign up, default 0.33), ARRIVAL_SECS (how long arrivals take, default
# 10), POSTGRES (an administrator's URL, default the local server), REDIS_URL
# (default the local server).
# Needs: a release build (cargo leptos build --release --split); installs locust
# from PyPI into target/locust-venv when missing, and nginx from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

students="${1:-300}"
seconds="${2:-60}"
arrival="${ARRIVAL_SECS:-10}"
processes="${PROCESSES:-1}"
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
pids=()
database=""
admin="${POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
cleanup() {
  for pid in "${pids[@]}" "${nginx_pid:-}" "${watch_pid:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  [ -n "$database" ] && psql "$admin" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # url
  for _ in $(seq 150); do curl -skf "$1" >/dev/null && return 0; sleep 0.2; done
  return 1
}

db_args=()
if [ "$processes" -eq 1 ]; then
  port=3200
  "$bin" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --site-root target/site 2>"$work/server-1.log" &
  pids+=($!)
  host="http://127.0.0.1:$port"
  wait_for "$host/healthz" || { cat "$work/server-1.log" >&2; exit 1; }
else
  database="workbench_classroom_$$"
  psql "$admin" -qc "CREATE DATABASE $database" >/dev/null
  db_url="${admin%/*}/$database"
  db_args=(--database-url "$db_url")
  upstreams=()
  for i in $(seq "$processes"); do
    port=$((3200 + 10 * i))
    DATABASE_URL="$db_url" REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}" \
      "$bin" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --site-root target/site \
      --trusted-proxy 127.0.0.1 --secure-cookies 2>"$work/server-$i.log" &
    pids+=($!)
    upstreams+=("127.0.0.1:$port")
  done
  for i in $(seq "$processes"); do
    wait_for "http://${upstreams[$((i - 1))]}/readyz" || { cat "$work/server-$i.log" >&2; exit 1; }
  done
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ||
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light; }
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -keyout "$work/key.pem" -out "$work/certificate.pem" 2>/dev/null
  https=3443
  # deploy/nginx.conf with this run's values in its "site:" lines (as
  # server/tests/school.rs does); the upstream lines become one per process.
  awk -v ups="${upstreams[*]}" -v https="$https" -v cert="$work/certificate.pem" -v key="$work/key.pem" '
    /# site: the processes/ { if (!done) { n = split(ups, u, " "); for (i = 1; i <= n; i++) { line = $0; sub(/127\.0\.0\.1:[0-9]+/, u[i], line); print line } done = 1 } next }
    /# site: the plain port/ { sub(/listen 80;/, "listen 127.0.0.1:3480;") }
    /# site: the TLS port/ { sub(/listen 443/, "listen 127.0.0.1:" https) }
    /# site: the certificate/ { sub(/\/etc\/ssl\/workbench\/fullchain\.pem/, cert) }
    /# site: its key/ { sub(/\/etc\/ssl\/workbench\/privkey\.pem/, key) }
    { print }' deploy/nginx.conf >"$work/workbench.conf"
  cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  include $work/workbench.conf;
}
CONF
  chmod 755 "$work"
  "$(command -v nginx || echo /usr/sbin/nginx)" -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log" &
  nginx_pid=$!
  host="https://127.0.0.1:$https"
  wait_for "$host/readyz" || { cat "$work/nginx-error.log" >&2; exit 1; }
fi

# The instructor and the class, made the way an operator would.
printf '%s\n' "an instructor's passphrase" |
  "$bin" user add teacher@example.com --role instructor --data-dir "$work/data" "${db_args[@]}" >/dev/null
created=$("$bin" class create "Load test" --owner teacher@example.com --capacity "$students" \
  --data-dir "$work/data" "${db_args[@]}")
code=$(sed -n 's/.*join code \([A-Z0-9]*\),.*/\1/p' <<<"$created")

# Each server's resident memory, sampled every second; the peaks are kept.
( declare -A peak
  while kill -0 "${pids[0]}" 2>/dev/null; do
    for i in "${!pids[@]}"; do
      rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/${pids[$i]}/status" 2>/dev/null || echo 0)
      [ "${rss:-0}" -gt "${peak[$i]:-0}" ] && peak[$i]=$rss
      echo "${peak[$i]:-0}" >"$work/peak-kib-$i"
    done
    sleep 1
  done ) &
watch_pid=$!

rate=$(( (students + arrival - 1) / arrival ))
where="one process on SQLite"
[ "$processes" -gt 1 ] && where="$processes processes on PostgreSQL and Redis behind nginx (TLS)"
echo "==> $students students for ${seconds}s (arriving over ${arrival}s), class $code, $where" >&2
CLASS_CODE="$code" "$venv/bin/locust" -f scripts/classroom/locustfile.py --headless \
  --users "$students" --spawn-rate "$rate" --run-time "${seconds}s" \
  --host "$host" --csv "$out/run" --csv-full-history --only-summary --loglevel WARNING >"$work/locust.log" 2>&1 || true
# The load generator shares the machine: say when it was short of CPU itself.
grep -i "cpu usage" "$work/locust.log" | head -3 >&2 || true

peaks=$(cat "$work"/peak-kib-* 2>/dev/null | tr '\n' ' ')
python3 - "$out/run_stats.csv" "$out/run_failures.csv" "$students" "$seconds" "$peaks" <<'PY'
import csv, sys
stats, failures, students, seconds, peaks = sys.argv[1:6]
rows = list(csv.DictReader(open(stats)))
base = next((float(r["99%"]) for r in rows if r["Name"] == "baseline /healthz"), 0.0) or 1.0
print(f"| request ({students} students, {seconds} s) | count | failures | p50 ms | p99 ms | p99 / baseline p99 |")
print("|---|---|---|---|---|---|")
for row in rows:
    ratio = float(row["99%"]) / base
    print(f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} | {row['99%']} | {ratio:.1f} |")
total = next((r for r in rows if r["Name"] == "Aggregated"), None)
if total:
    print(f"\nRequests per second: {float(total['Requests/s']):.0f}")
mib = [f"{int(kib) / 1024:.0f} MiB" for kib in peaks.split()]
print(f"Peak resident memory per server process: {', '.join(mib)}")
# locust's history keeps, each second, percentiles over the last 10 s:
# they show how long the arrival burst lasts and what comes after it.
history = [r for r in csv.DictReader(open(stats.replace("_stats.csv", "_stats_history.csv"))) if r["Name"] == "Aggregated" and r["99%"] != "N/A"]
if history:
    start = int(history[0]["Timestamp"])
    marks = [r for r in history if (int(r["Timestamp"]) - start) % 10 == 9]
    print("\n| second | students | requests/s | p50 ms (last 10 s) | p99 ms (last 10 s) |")
    print("|---|---|---|---|---|")
    for r in marks:
        print(f"| {int(r['Timestamp']) - start + 1} | {r['User Count']} | {float(r['Requests/s']):.0f} | {r['50%']} | {r['99%']} |")
failed = [r for r in csv.DictReader(open(failures))]
for f in failed[:10]:
    print(f"- {f['Method']} {f['Name']}: {f['Occurrences']} x {f['Error'][:160]}")
PY
