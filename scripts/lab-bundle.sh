#!/usr/bin/env bash
# How big one lab's Leptos bundle would be, as one file. Copies the work
# tree (tracked files, committed or not) to a scratch work tree, makes the
# named islands eager (`#[island]`) and every other island a plain
# component, so nothing else is exported, then builds `app` with `hydrate`
# on the size-first profile, runs wasm-bindgen and wasm-opt -Oz as
# cargo-leptos does, and prints the bytes, raw and gzip -9. With no names
# it measures what every page with islands carries anyway (the enhancer and
# Leptos's island loader). Compare with the split build's main module plus
# the chunk files a page fetches (scripts/page-weight.sh).
#
# Usage: scripts/lab-bundle.sh [--install] [IslandName ...]
#   e.g. scripts/lab-bundle.sh --install SqlRunner QueueConsole
# Leaves the unoptimised wasm (with names, for twiggy) at
# $CARGO_TARGET_DIR/lab-bundle/out/workbench_bg.wasm. With --install it also
# puts the bundle in target/site/pkg in place of the split build's main
# module and hides the split manifest, so that a server started afterwards
# hydrates a page carrying just these islands from the one file (for
# scripts/page-weight.sh with SKIP_BUILD=1 and PAGES=that page). Any other
# page with islands is then broken until the front end is built again:
# `cargo leptos build --release --split --frontend-only && scripts/build-enhance.sh --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

install=0
if [ "${1:-}" = --install ]; then install=1; shift; fi
target="$CARGO_TARGET_DIR/lab-bundle"
# Every island's name: it is on the line after its attribute, `pub(crate) fn Name(`.
islands=$(grep -rh -A1 '^#\[island(lazy)\]$' app/src | sed -n 's/^.*fn \([A-Za-z]*\).*$/\1/p' | sort | tr '\n' ' ')
for name in "$@"; do
  grep -qw "$name" <<<"$islands" || { echo "no island named $name (islands: $islands)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'git worktree remove --force "$work/tree" 2>/dev/null || true; rm -rf "$work"' EXIT
# The work tree as it is, uncommitted changes to tracked files included.
snapshot=$(git stash create)
git worktree add --quiet --detach "$work/tree" "${snapshot:-HEAD}"
keep=" $* "
for file in $(grep -rl '#\[island(lazy)\]' "$work/tree/app/src"); do
  awk -v keep="$keep" '
    /^#\[island\(lazy\)\]$/ { held = 1; next }
    held {
      name = $0; sub(/^.*fn /, "", name); sub(/[(<].*$/, "", name)
      print (index(keep, " " name " ") ? "#[island]" : "#[component]")
      held = 0
    }
    { print }
  ' "$file" >"$file.new"
  mv "$file.new" "$file"
done
(cd "$work/tree" && CARGO_TARGET_DIR="$target" cargo build --quiet -p app --lib \
  --target wasm32-unknown-unknown --features hydrate --profile wasm-release)
rm -rf "$target/out"
wasm-bindgen --target web --out-dir "$target/out" --out-name workbench \
  "$target/wasm32-unknown-unknown/wasm-release/app.wasm"
tools/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals "$target/out/workbench_bg.wasm" -o "$target/out/optimised.wasm"
printf 'islands: %s\nbundle: %d bytes, %d gzip -9\n' "${*:-none}" \
  "$(stat -c%s "$target/out/optimised.wasm")" "$(gzip -9 -c "$target/out/optimised.wasm" | wc -c)"
if [ "$install" = 1 ]; then
  cp "$target/out/workbench.js" target/site/pkg/workbench.js
  cp "$target/out/optimised.wasm" target/site/pkg/workbench.wasm
  rm -f target/site/pkg/__wasm_split_manifest.json
  echo "installed in target/site/pkg: rebuild the front end to undo"
fi
