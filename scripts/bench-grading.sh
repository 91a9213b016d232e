#!/usr/bin/env bash
# Measures the grading engine from the command line (release build): how
# many attempts `workbench grade --submissions` grades per second for each
# kind. Quiz and http answers are graded in memory; probes make real HTTP
# requests to nginx serving a health endpoint on loopback. Prints a markdown
# table for BENCHMARKS.md.
#
# Usage: scripts/bench-grading.sh [submissions per kind, default 20000]
# Needs: cargo build --release -p server; nginx (Debian `nginx-light`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

n="${1:-20000}"
probes=$((n / 20))
bin="$CARGO_TARGET_DIR/release/workbench"
[ -x "$bin" ] || { echo "build first: cargo build --release -p server" >&2; exit 1; }
command -v nginx >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light; }

work=$(mktemp -d)
chmod 755 "$work"
cleanup() {
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

python3 - "$n" "$probes" "$work" <<'PY'
import json, sys
n, probes, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(f"{work}/quiz.jsonl", "w") as f:
    for i in range(n):
        answer = ["GET", "HEAD", "OPTIONS"] if i % 2 else ["GET", "PUT"]
        f.write(json.dumps({"student": f"s{i}", "exercise": "http-safe-methods", "answer": answer}) + "\n")
request = {"method": "POST", "path": "/labs/http/echo/orders", "status": 200,
           "headers": [["content-type", "application/json"]], "body": '{"item": "tea", "quantity": 2}'}
noise = {"method": "GET", "path": "/labs/http/echo", "status": 200, "headers": [], "body": ""}
with open(f"{work}/http.jsonl", "w") as f:
    for i in range(n):
        f.write(json.dumps({"student": f"s{i}", "exercise": "http-send-json-order",
                            "answer": {"requests": [noise] * 9 + [request]}}) + "\n")
with open(f"{work}/probe.jsonl", "w") as f:
    for i in range(probes):
        f.write(json.dumps({"student": f"s{i}", "exercise": "probe-health",
                            "answer": {"base_url": "http://127.0.0.1:3102"}}) + "\n")
PY

cat >"$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  server {
    listen 127.0.0.1:3102;
    location = /health { default_type application/json; return 200 '{"status": "ok"}'; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work"

rate() { # kind file count -> prints "kind | count | seconds | per second"
  local start end
  start=$(date +%s.%N)
  "$bin" grade --submissions "$2" --format json >"$work/out.json" || true
  end=$(date +%s.%N)
  python3 - "$1" "$3" "$start" "$end" "$work/out.json" <<'PY'
import json, sys
kind, count, start, end, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
results = json.load(open(out))
graded = sum(1 for r in results if "score" in r)
assert graded == count, f"{kind}: only {graded} of {count} graded"
secs = end - start
print(f"| {kind} | {count:,} | {secs:.2f} s | {count / secs:,.0f} |")
PY
}

echo "| kind | attempts | wall time | attempts/s |"
echo "|---|---|---|---|"
rate quiz "$work/quiz.jsonl" "$n"
rate http "$work/http.jsonl" "$n"
rate probe "$work/probe.jsonl" "$probes"
echo
echo "\`workbench grade --submissions FILE --format json\`, release build, one process, $(nproc) cores, $(date -u +%Y-%m-%d); includes loading the course."
