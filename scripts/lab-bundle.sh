#!/usr/bin/env bash
# Builds one page's bundle: a Leptos module holding exactly the named
# islands (and the enhancer, as the split build's main module does), in
# one file instead of the split build's main module and its chunk files.
#
# How: copies the work tree (tracked and new files; edits included) to a
# scratch tree under the build folder, makes the named islands eager
# (`#[island]`) and every other island a plain component, so nothing else
# is exported, and runs the same `cargo leptos build --split
# --frontend-only` there that builds the site (same flags, so the compiled
# dependencies are shared and only the workspace's own crates compile).
# With no island split off, its output is one module. Island names carry a
# hash of the island's code, the same in both builds, so the server can
# tell which pages a bundle serves (`server/src/page_wasm.rs`).
#
# Usage: scripts/lab-bundle.sh [--release] [--into DIR] IslandName ...
#   --release  the size-first profile and wasm-opt, as the site's release build
#   --into DIR puts workbench.js, workbench.wasm and islands.txt (the
#              exported island names) in DIR; without it, only the sizes print
# Prints the bundle's bytes, raw and gzip -9. scripts/build-bundles.sh runs
# this once per set of islands the course's pages carry.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

release=()
into=
while [ $# -gt 0 ]; do
  case "$1" in
    --release) release=(--release); shift ;;
    --into) into=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: scripts/lab-bundle.sh [--release] [--into DIR] IslandName ..." >&2; exit 2; }

# Every island's name: it is on the line after its attribute, `pub(crate) fn Name(`.
islands=$(grep -rh -A1 '^#\[island(lazy)\]$' app/src | sed -n 's/^.*fn \([A-Za-z]*\).*$/\1/p' | sort | tr '\n' ' ')
for name in "$@"; do
  grep -qw "$name" <<<"$islands" || { echo "no island named $name (islands: $islands)" >&2; exit 1; }
done

# Always the same place, with the files' own times kept, so cargo sees the
# crates no island lives in as unchanged from the last bundle's build (only
# `app`, whose islands change, compiles again).
tree="$CARGO_TARGET_DIR/bundle-tree"
mkdir -p "$tree"
rm -rf "$tree/app/src"
git ls-files -z --cached --others --exclude-standard |
  tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$tree"
keep=" $* "
for file in $(grep -rl '#\[island(lazy)\]' "$tree/app/src"); do
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
(cd "$tree" && cargo leptos build "${release[@]}" --split --frontend-only >&2)

pkg="$tree/target/site/pkg"
name=${LEPTOS_OUTPUT_NAME:-workbench}
printf 'islands: %s\nbundle: %d bytes, %d gzip -9\n' "$*" \
  "$(stat -c%s "$pkg/$name.wasm")" "$(gzip -9 -c "$pkg/$name.wasm" | wc -c)"
if [ -n "$into" ]; then
  rm -rf "$into"
  mkdir -p "$into"
  cp "$pkg/$name.js" "$pkg/$name.wasm" "$into/"
  # The islands the module exports, as pages name them: `Name_<hash>`.
  grep -o "export function [A-Za-z]*_[0-9]*(" "$pkg/$name.js" |
    sed 's/^export function \(.*\)($/\1/' | sort -u >"$into/islands.txt"
  [ "$(wc -l <"$into/islands.txt")" -eq $# ] ||
    { echo "the bundle exports $(tr '\n' ' ' <"$into/islands.txt")instead of $*" >&2; exit 1; }
fi
