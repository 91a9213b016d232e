#!/usr/bin/env bash
# Sets up what is missing, builds, and serves the workbench on http://127.0.0.1:3000
# with the embedded defaults (SQLite under data/, lessons reloaded on save).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
WORKBENCH_SKIP_BROWSER=1 scripts/setup.sh
export WORKBENCH_DEV="${WORKBENCH_DEV:-true}"
exec cargo leptos serve --split
