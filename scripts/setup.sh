#!/usr/bin/env bash
# Installs everything the build and the tests need that a fresh machine lacks.
# Idempotent: each step checks first and does nothing when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10 # 0.3.11 needs rustc 1.96
BINARYEN_NPM_VERSION=123.0.0 # Debian's binaryen (108) breaks hydration after wasm-opt
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)

say() { printf '==> %s\n' "$*"; }

# --cargo-tools: only the tools compiled from crates.io (cargo-leptos,
# wasm-bindgen), the slow part on a fresh machine; --no-cargo-tools:
# everything else. scripts/test.sh runs the two side by side.
part=${1:-all}
case "$part" in
  all | --cargo-tools | --no-cargo-tools) ;;
  *) echo "usage: scripts/setup.sh [--cargo-tools | --no-cargo-tools]" >&2; exit 2 ;;
esac
[ "$part" != --cargo-tools ] && others=1 || others=
[ "$part" != --no-cargo-tools ] && cargo_tools=1 || cargo_tools=

if [ -n "$others" ] && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ -n "$cargo_tools" ] && ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (15-20 minutes on 2 cores, once)"
  cargo install --locked cargo-leptos --version "$CARGO_LEPTOS_VERSION"
fi

# Must match the wasm-bindgen crate in Cargo.lock exactly. Not --locked: the
# tool's own lock file names a webpki-roots version the registry lacks.
if [ -n "$cargo_tools" ] && ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ -n "$others" ] && ! tools/node_modules/.bin/wasm-opt --version 2>/dev/null | grep -q "${BINARYEN_NPM_VERSION%%.*}"; then
  say "installing wasm-opt (binaryen $BINARYEN_NPM_VERSION from npm)"
  npm ci --prefix tools --no-audit --no-fund
fi

# Debian packages, as root or through sudo.
apt_install() {
  if [ "$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
  else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; fi
}

# The school test runs three servers behind nginx with deploy/nginx.conf.
if [ -n "$others" ] && ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  say "installing Debian's nginx for the school test (server/tests/school.rs)"
  apt_install nginx-light
fi

if [ -n "$others" ] && [ "${WORKBENCH_SKIP_BROWSER:-}" != "1" ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    say "installing Debian's chromium for the browser tests"
    apt_install chromium
  fi
  if [ ! -d end2end/node_modules/playwright-core ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "installing the browser test packages (playwright-core, axe-core; no browser download)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix end2end --no-audit --no-fund
  fi
fi

# The contract test runs schemathesis (PyPI) against the live server's
# OpenAPI document; it lives in its own virtualenv, pinned.
SCHEMATHESIS_VERSION=4.32.5
if [ -n "$others" ] && ! tools/venv/bin/schemathesis --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  say "installing schemathesis $SCHEMATHESIS_VERSION (into tools/venv)"
  python3 -m venv tools/venv
  tools/venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The metrics test reads /metrics with Prometheus's own text-format parser
# (prometheus_client, PyPI), in the same virtualenv.
PROMETHEUS_CLIENT_VERSION=0.26.0
if [ -n "$others" ] && [ "$(tools/venv/bin/python -c "from importlib.metadata import version; print(version('prometheus_client'))" 2>/dev/null)" != "$PROMETHEUS_CLIENT_VERSION" ]; then
  say "installing prometheus_client $PROMETHEUS_CLIENT_VERSION (into tools/venv)"
  [ -x tools/venv/bin/pip ] || python3 -m venv tools/venv
  tools/venv/bin/pip install --quiet --disable-pip-version-check "prometheus_client==$PROMETHEUS_CLIENT_VERSION"
fi
