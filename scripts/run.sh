#!/usr/bin/env bash
# Sets up what is missing, builds, and serves the workbench on http://127.0.0.1:3000
# with the embedded defaults (SQLite under data/, lessons reloaded on save).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
WORKBENCH_SKIP_BROWSER=1 scripts/setup.sh
export WORKBENCH_DEV="${WORKBENCH_DEV:-true}"
# `cargo leptos build` makes target/site afresh, so the enhancer (the
# request widgets' and exercise cards' module) is built after it.
cargo leptos build --split
scripts/build-enhance.sh
# Without a subcommand the server serves, on 127.0.0.1:3000, from target/site.
exec "$CARGO_TARGET_DIR/debug/workbench"
