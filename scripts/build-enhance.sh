#!/usr/bin/env bash
# Builds the enhancer: the small wasm module that wakes up the lesson
# page's request widgets, exercise cards and trace panels (crate `enhance`),
# into target/site/pkg/enhance.js and enhance_bg.wasm, beside the Leptos
# bundle. Run it after every `cargo leptos build`, which makes target/site
# afresh and so deletes it.
#
# Usage: scripts/build-enhance.sh [--release]
#   --release  size-first profile and wasm-opt -Oz, as the Leptos bundle gets
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

profile=dev
[ "${1:-}" = "--release" ] && profile=wasm-release
# The Leptos bundle's build folder, so both share the compiled wasm crates.
front="$CARGO_TARGET_DIR/front"
cargo build --lib -p enhance --features entry --target wasm32-unknown-unknown \
  --profile "$profile" --target-dir "$front"

out=target/site/pkg
[ "$profile" = dev ] && built=debug || built=$profile
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name enhance \
  "$front/wasm32-unknown-unknown/$built/enhance.wasm"
if [ "$profile" = wasm-release ]; then
  tools/node_modules/.bin/wasm-opt -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$out/enhance_bg.wasm" -o "$out/enhance_bg.wasm"
fi
printf '==> %s: %s bytes, %s gzip -9\n' "$out/enhance_bg.wasm" \
  "$(wc -c <"$out/enhance_bg.wasm")" "$(gzip -9c "$out/enhance_bg.wasm" | wc -c)"
