#!/usr/bin/env bash
# Sets up what is missing and runs every test: formatting and lints, unit and
# integration tests (real server on port 0), then browser tests in chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "==> unit and integration tests"
cargo test --workspace
echo "==> building the site for the browser tests"
cargo leptos build --split
echo "==> browser tests"
WORKBENCH_BIN="$CARGO_TARGET_DIR/debug/workbench" node --test end2end/tests/
