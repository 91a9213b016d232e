#!/usr/bin/env bash
# Measures the release build: wasm size, and lesson-page throughput and p99
# latency under wrk, beside nginx serving the same page saved as a static
# file, in the same run; then the same page for a signed-in reader (from
# the cache, their name and results filled in), and sign-in itself
# (argon2id-bound). Prints a markdown table for BENCHMARKS.md.
#
# Usage: scripts/bench.sh [seconds per run, default 15]
# Needs: a release build (cargo leptos build --release --split), wrk and nginx
# (Debian packages `wrk` and `nginx-light`; installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

duration="${1:-15}"
page=/lessons/http/anatomy
bin="$CARGO_TARGET_DIR/release/workbench"
wasm=target/site/pkg/workbench.wasm
[ -x "$bin" ] && [ -f "$wasm" ] || { echo "build first: cargo leptos build --release --split" >&2; exit 1; }
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk nginx-light; }
done

work=$(mktemp -d)
chmod 755 "$work" # nginx workers run as an unprivileged user
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The sign-in limiter would turn the sign-in load into 429s: lift it for the run.
"$bin" serve --addr 127.0.0.1:3100 --data-dir "$work/data" --site-root target/site \
  --sign-in-burst-per-account 1000000000 --sign-in-burst-per-address 1000000000 2>"$work/server.log" &
server_pid=$!
wait_for() { # url: poll until it answers, at most 30 s
  for _ in $(seq 150); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done
  echo "no answer from $1" >&2; cat "$work"/*.log >&2; exit 1
}
wait_for http://127.0.0.1:3100/healthz

mkdir -p "$work/www$page"
curl -sf "http://127.0.0.1:3100$page" >"$work/www$page/index.html"
cat >"$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path $work/tmp;
  proxy_temp_path $work/tmp;
  fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp;
  scgi_temp_path $work/tmp;
  server {
    listen 127.0.0.1:3101;
    root $work/www;
    index index.html;
  }
}
NGINX
mkdir -p "$work/tmp"
nginx -c "$work/nginx.conf" -p "$work"
wait_for "http://127.0.0.1:3101$page/"

measure() { # url -> "requests/s p99"
  local out
  out=$(wrk -t2 -c64 -d"${duration}s" --latency "$1")
  local rps p99
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  echo "$rps $p99"
}

wrk -t2 -c64 -d2s "http://127.0.0.1:3100$page" >/dev/null # warm up
read -r ours_rps ours_p99 < <(measure "http://127.0.0.1:3100$page")
read -r nginx_rps nginx_p99 < <(measure "http://127.0.0.1:3101$page/")

# A signed-in reader: the cached page with their name and results filled in.
account='{"name":"Bench","email":"bench@example.com","password":"a benchmark passphrase"}'
cookie=$(curl -sf -D - -o /dev/null -H 'content-type: application/json' -d "$account" \
  http://127.0.0.1:3100/auth/signup | awk -F'[ ;]' 'tolower($1) == "set-cookie:" { print $2 }')
[ -n "$cookie" ] || { echo "sign-up for the benchmark failed" >&2; exit 1; }
out=$(wrk -t2 -c64 -d"${duration}s" --latency -H "Cookie: $cookie" "http://127.0.0.1:3100$page")
signed_rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
signed_p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")

# Sign-in: every request verifies an argon2id hash (m=19 MiB, t=2, p=1).
cat >"$work/signin.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"a benchmark passphrase"}'
LUA
out=$(wrk -t2 -c16 -d"${duration}s" --latency -s "$work/signin.lua" http://127.0.0.1:3100/auth/signin)
signin_rps=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' <<<"$out")
signin_p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
signin_non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")

raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
js_gz=$(gzip -9 -c target/site/pkg/workbench.js | wc -c)
page_bytes=$(stat -c %s "$work/www$page/index.html")

cat <<TABLE
| measure | value |
|---|---|
| lesson page ($page, $page_bytes bytes of HTML), workbench | $ours_rps requests/s, p99 $ours_p99 |
| same page as a static file, nginx | $nginx_rps requests/s, p99 $nginx_p99 |
| workbench / nginx throughput | $(awk -v a="$ours_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }') |
| same page, signed-in reader (cached, their slots filled) | $signed_rps requests/s, p99 $signed_p99 |
| sign-in (\`POST /auth/signin\`, JSON, -c16) | $signin_rps requests/s, p99 $signin_p99, non-2xx: ${signin_non2xx:-0} |
| wasm (raw / gzip -9) | $raw / $gz bytes |
| JS loader (gzip -9) | $js_gz bytes |

wrk -t2 -c64 -d${duration}s --latency, on $(nproc) cores shared by wrk and the server, $(date -u +%Y-%m-%d).
TABLE
