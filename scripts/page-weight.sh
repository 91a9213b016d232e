#!/usr/bin/env bash
# Page weight and speed report (see scripts/page-weight.mjs): the wasm each
# page loads and its time to an interactive widget on a throttled slow phone,
# against a release build. Prints a markdown table for BENCHMARKS.md.
#
# Usage: scripts/page-weight.sh            (every lesson page and the course home)
#        PAGES=/,/lessons/http/anatomy scripts/page-weight.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh >&2
if [ "${SKIP_BUILD:-}" != "1" ]; then
  cargo leptos build --release --split >&2
  scripts/build-enhance.sh --release >&2
  scripts/build-bundles.sh --release >&2
fi
WORKBENCH_BIN="${WORKBENCH_BIN:-$CARGO_TARGET_DIR/release/workbench}" node scripts/page-weight.mjs
