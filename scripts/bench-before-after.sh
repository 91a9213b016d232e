#!/usr/bin/env bash
# Compares two release builds of the workbench in one run: the lesson page
# (beside nginx serving the same page as a static file; anonymous, and
# signed in), /healthz, and a lab request (GET /labs/http/echo, as a
# guest with a cookie, and signed in), whose
# overhead over /healthz is what every lab route pays for the inspector,
# the identity, the limits and containment. Rounds alternate between the
# two builds, so drift on the machine falls on both; the table gives the
# median of the rounds.
#
# Usage: scripts/bench-before-after.sh BEFORE_BIN AFTER_BIN [seconds per run, default 10] [rounds, default 3]
# Needs: wrk and nginx (Debian `wrk`, `nginx-light`; installed when missing),
# and target/site from `cargo leptos build --release --split`.
set -euo pipefail
cd "$(dirname "$0")/.."

before="$1"
after="$2"
duration="${3:-10}"
rounds="${4:-3}"
page=/lessons/http/anatomy
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk nginx-light; }
done

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # url
  for _ in $(seq 150); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done
  echo "no answer from $1" >&2; cat "$work"/*.log >&2; exit 1
}

start() { # name bin port
  "$2" serve --addr "127.0.0.1:$3" --data-dir "$work/data-$1" --site-root target/site 2>"$work/$1.log" &
  pids+=($!)
  wait_for "http://127.0.0.1:$3/healthz"
}
start before "$before" 3200
start after "$after" 3201

mkdir -p "$work/www$page" "$work/tmp"
curl -sf "http://127.0.0.1:3201$page" >"$work/www$page/index.html"
cat >"$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path $work/tmp;
  proxy_temp_path $work/tmp;
  fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp;
  scgi_temp_path $work/tmp;
  server { listen 127.0.0.1:3202; root $work/www; index index.html; }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work"
wait_for "http://127.0.0.1:3202$page/"

# A guest cookie per build, so lab requests are one student's, not a new
# guest each (which the new-guest budget would refuse).
cookie() { # port
  curl -s -o /dev/null -c - "http://127.0.0.1:$1/labs/http/status/200" | awk '$6 == "workbench_session" { print $6 "=" $7 }'
}
cookie_before=$(cookie 3200)
cookie_after=$(cookie 3201)

# A signed-in student per build: their pages carry their name and results,
# filled into the cached page (or rendered for them, in builds before that).
account_cookie() { # port
  curl -s -o /dev/null -c - -H "Origin: http://127.0.0.1:$1" -H 'content-type: application/json' \
    -d '{"name":"Ada","email":"ada@example.com","password":"correct horse battery"}' \
    "http://127.0.0.1:$1/auth/signup" | awk '$6 == "workbench_session" { print $6 "=" $7 }'
}
account_before=$(account_cookie 3200)
account_after=$(account_cookie 3201)

measure() { # url [header] -> "requests/s p99"
  local out
  if [ -n "${2:-}" ]; then
    out=$(wrk -t2 -c32 -d"${duration}s" --latency -H "$2" "$1")
  else
    out=$(wrk -t2 -c32 -d"${duration}s" --latency "$1")
  fi
  local rps p99
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then
    echo "non-2xx answers for $1:" >&2; echo "$out" >&2; exit 1
  fi
  echo "$rps $p99"
}

declare -A results
for round in $(seq "$rounds"); do
  results[nginx,$round]=$(measure "http://127.0.0.1:3202$page/")
  for build in before after; do
    port=3200; c="Cookie: $cookie_before"; a="Cookie: $account_before"
    [ "$build" = after ] && { port=3201; c="Cookie: $cookie_after"; a="Cookie: $account_after"; }
    results[$build-page,$round]=$(measure "http://127.0.0.1:$port$page")
    results[$build-healthz,$round]=$(measure "http://127.0.0.1:$port/healthz")
    results[$build-lab,$round]=$(measure "http://127.0.0.1:$port/labs/http/echo" "$c")
    results[$build-account-page,$round]=$(measure "http://127.0.0.1:$port$page" "$a")
    results[$build-account-lab,$round]=$(measure "http://127.0.0.1:$port/labs/http/echo" "$a")
  done
done

median() { # key -> "rps p99" with the median rps of the rounds (and its p99)
  for round in $(seq "$rounds"); do echo "${results[$1,$round]}"; done | sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
}

echo "| request | build | requests/s (median of $rounds) | p99 | ratio |"
echo "|---|---|---|---|---|"
read -r nginx_rps nginx_p99 <<<"$(median nginx)"
echo "| lesson page, static file | nginx | $nginx_rps | $nginx_p99 | 1.00 |"
ratio() { awk -v a="$1" -v b="$2" -v of="$3" 'BEGIN { printf "%.2f of %s", a / b, of }'; }
for build in before after; do
  read -r rps p99 <<<"$(median "$build-page")"
  read -r s_rps s_p99 <<<"$(median "$build-account-page")"
  echo "| lesson page $page | $build | $rps | $p99 | $(ratio "$rps" "$nginx_rps" nginx) |"
  echo "| lesson page, signed in | $build | $s_rps | $s_p99 | $(ratio "$s_rps" "$rps" "the anonymous page") |"
done
for build in before after; do
  read -r h_rps h_p99 <<<"$(median "$build-healthz")"
  read -r l_rps l_p99 <<<"$(median "$build-lab")"
  read -r s_rps s_p99 <<<"$(median "$build-account-lab")"
  echo "| /healthz | $build | $h_rps | $h_p99 | 1.00 |"
  echo "| lab request /labs/http/echo, guest | $build | $l_rps | $l_p99 | $(ratio "$l_rps" "$h_rps" /healthz) |"
  echo "| lab request /labs/http/echo, signed in | $build | $s_rps | $s_p99 | $(ratio "$s_rps" "$h_rps" /healthz) |"
done
