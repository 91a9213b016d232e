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
  # A failed step leaves no background install running.
  if [ -n "${cargo_tools:-}" ]; then kill "$cargo_tools" 2>/dev/null || true; fi
  now=$(date +%s)
  [ -n "${step_name:-}" ] && printf '==> %s took %d s\n' "$step_name" $((now - step_started))
  printf '==> all steps: %d s (exit %d)\n' $((now - started)) "$status"
}
trap finish EXIT

step "setup"
# cargo-leptos and wasm-bindgen compile for many minutes on a fresh machine
# and only the browser bundle needs them: they build in the background,
# beside the lints and the Rust tests, in a build folder of their own (so
# neither waits for the other's lock), and the bundle's step waits for them.
mkdir -p "$CARGO_TARGET_DIR"
cargo_tools_log="$CARGO_TARGET_DIR/setup-cargo-tools.log"
CARGO_TARGET_DIR="$CARGO_TARGET_DIR/cargo-tools" scripts/setup.sh --cargo-tools >"$cargo_tools_log" 2>&1 &
cargo_tools=$!
scripts/setup.sh --no-cargo-tools
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "unit and integration tests"
cargo test --workspace
# The same integration tests with the platform database on PostgreSQL: every
# test server gets a fresh database on the local server (see
# server/tests/common/postgres.rs).
step "integration tests on PostgreSQL"
postgres="${WORKBENCH_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null || [ -n "${WORKBENCH_TEST_POSTGRES:-}" ]; then
  WORKBENCH_TEST_DATABASE="$postgres" cargo test --workspace --test integration
else
  echo "skipped: no PostgreSQL answers on 127.0.0.1:5432 (set WORKBENCH_TEST_POSTGRES to an administrator's URL to run these)"
fi
# The browser's side only: the server is the `workbench` binary the tests
# above built. A server built by cargo-leptos would be built again, without
# the dev-dependencies' features, and so would every crate under it.
step "building the browser bundle for the browser tests"
wait_status=0
wait "$cargo_tools" || wait_status=$?
cat "$cargo_tools_log"
if [ "$wait_status" != 0 ]; then
  echo "installing cargo-leptos or wasm-bindgen failed (exit $wait_status); its output is above" >&2
  exit 1
fi
cargo leptos build --split --frontend-only
scripts/build-enhance.sh
# One page's own bundle, so the browser tests see both ways a page with
# islands loads (page-speed.test.mjs): this set from its bundle, every
# other from the split build. A release site builds them all.
scripts/build-bundles.sh "RateLimitConsole RateLimitSimulator"
step "browser tests"
WORKBENCH_BIN="$CARGO_TARGET_DIR/debug/workbench" node --test end2end/tests/
