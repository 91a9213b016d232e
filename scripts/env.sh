# Sourced by the other scripts: puts the project's own build tools first on PATH.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$root/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# One target dir for every build, so tools and tests never rebuild each other's work twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
# The name of the browser bundle. cargo-leptos sets it when it builds the
# server; a server built by plain cargo (`cargo test`) must ask for the same
# file, and the same value keeps the two builds sharing their artifacts.
export LEPTOS_OUTPUT_NAME=workbench
