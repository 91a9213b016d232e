#!/usr/bin/env bash
# Sets up what is missing, builds, and serves the workbench on http://127.0.0.1:3000
# with the embedded defaults (SQLite under data/, lessons reloaded on save).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
WORKBENCH_SKIP_BROWSER=1 scripts/setup.sh
export WORKBENCH_DEV="${WORKBENCH_DEV:-true}"
# The request widgets' and exercise cards' module; `cargo leptos serve`
# rebuilds only the Leptos bundle, so rerun this after changing `enhance/`.
scripts/build-enhance.sh
exec cargo leptos serve --split
