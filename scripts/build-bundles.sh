#!/usr/bin/env bash
# Builds a bundle for each set of islands the course's lesson pages carry,
# into target/site/pkg/bundles/<Island+Island>/, where the server finds them
# at start and points each page with that set at its bundle: one wasm file
# instead of the split build's main module and chunk files
# (server/src/page_wasm.rs). A page whose set has no bundle (a lesson
# edited since) still gets the split build, so the site works without them.
# Run it after `cargo leptos build --split` and scripts/build-enhance.sh:
# `cargo leptos build` makes target/site afresh.
#
# Usage: scripts/build-bundles.sh [--release] [SET ...]
#   --release  the size-first profile and wasm-opt (for a release site)
#   SET        e.g. "FaultHunt ObserveDashboard": only these sets; without any,
#              every set the course's pages carry, read from the built
#              server's pages (WORKBENCH_BIN, default the build's own
#              workbench), and any bundle no page needs any more goes
# Each bundle compiles `app` again: about 1.5 minutes in release on two
# cores, once the site's own build has compiled the dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

release=()
profile=debug
if [ "${1:-}" = --release ]; then release=(--release); profile=release; shift; fi
bundles=target/site/pkg/bundles

# The sets of islands on the course home and every lesson page it links,
# one line each (names without their hash, sorted, space-separated), as
# served by the workbench binary $1 on a free port with a scratch database.
island_sets() {
  local data url pid pages page
  data=$(mktemp -d)
  WORKBENCH_DATA_DIR="$data/data" "$1" serve --addr 127.0.0.1:0 --course . 2>"$data/log" &
  pid=$!
  # shellcheck disable=SC2064 # the values now, not at exit
  trap "kill $pid 2>/dev/null; rm -rf '$data'" EXIT
  for _ in $(seq 300); do
    url=$(grep -o 'listening on http://[0-9.:]*' "$data/log" | sed 's/^listening on //') && break
    kill -0 "$pid" 2>/dev/null || { cat "$data/log" >&2; echo "the server did not start" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "the server did not start in 30 s" >&2; return 1; }
  pages=$(curl -fsS "$url/" | grep -o 'href="/lessons/[^"#?]*"' | sed 's/^href="//; s/"$//' | sort -u)
  for page in / $pages; do
    curl -fsS "$url$page" | grep -o '<leptos-island[^>]* data-component="[A-Za-z]*_[0-9]*"' |
      sed 's/.*data-component="\([A-Za-z]*\)_[0-9]*"/\1/' | sort -u | paste -sd' '
  done | grep . | sort -u
  kill "$pid"
}
if [ $# -gt 0 ]; then
  sets=$(printf '%s\n' "$@")
else
  sets=$(island_sets "${WORKBENCH_BIN:-$CARGO_TARGET_DIR/$profile/workbench}")
  rm -rf "$bundles"
fi
count=$(grep -c . <<<"$sets")
n=0
while read -r set; do
  [ -n "$set" ] || continue
  n=$((n + 1))
  folder=$(tr ' ' '\n' <<<"$set" | sort | paste -sd+)
  printf '==> bundle %d of %d: %s\n' "$n" "$count" "$folder"
  # shellcheck disable=SC2086 # one island name per word
  scripts/lab-bundle.sh "${release[@]}" --into "$bundles/$folder" $set
done <<<"$sets"
