#!/usr/bin/env bash
# Sets up what is missing and runs every test: formatting and lints, unit and
# integration tests (real server on port 0), then browser tests in chromium.
# Each step says how long it took, so a slow CI run shows where its time went.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

started=$(date +%s)
step_started=$started
step() {
  local now
  now=$(date +%s)
  if [ -n "${step_name:-}" ]; then
    printf '==> %s took %d s\n' "$step_name" $((now - step_started))
  fi
  step_name=$1
  step_started=$now
  printf '==> %s\n' "$step_name"
}
finish() {
  local status=$? now
  now=$(date +%s)
  [ -n "${step_name:-}" ] && printf '==> %s took %d s\n' "$step_name" $((now - step_started))
  printf '==> all steps: %d s (exit %d)\n' $((now - started)) "$status"
}
trap finish EXIT

step "setup"
scripts/setup.sh
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "unit and integration tests"
cargo test --workspace
# The browser's side only: the server is the `workbench` binary the tests
# above built. A server built by cargo-leptos would be built again, without
# the dev-dependencies' features, and so would every crate under it.
step "building the browser bundle for the browser tests"
cargo leptos build --split --frontend-only
step "browser tests"
WORKBENCH_BIN="$CARGO_TARGET_DIR/debug/workbench" node --test end2end/tests/
