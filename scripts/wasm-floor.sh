#!/usr/bin/env bash
# The smallest wasm a Leptos island can ship: builds a throwaway crate with
# one island (two serde props, a signal, an input and a button) on the same
# leptos and wasm-bindgen versions and the same size-first profile as our
# bundle, runs wasm-bindgen and wasm-opt -Oz as cargo-leptos does, and
# prints the bytes, raw and gzip -9. Compare with the main module of
# `cargo leptos build --release --split` (target/site/pkg/workbench.wasm).
#
# Usage: scripts/wasm-floor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

leptos_version=$(awk '/^name = "leptos"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cp Cargo.lock "$work/"
cat >"$work/Cargo.toml" <<EOF
[package]
name = "island_floor"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]

[dependencies]
leptos = { version = "=$leptos_version", features = ["islands", "hydrate"] }
wasm-bindgen = "=$bindgen_version"
serde = { version = "1", features = ["derive"] }

[profile.wasm-release]
inherits = "release"
opt-level = "z"
lto = true
codegen-units = 1
panic = "abort"

[workspace]
EOF
cat >"$work/src/lib.rs" <<'EOF'
use leptos::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Clone)]
pub struct Props {
    pub url: String,
    pub count: u32,
}

#[island]
pub fn Counter(props: Props) -> impl IntoView {
    let count = RwSignal::new(props.count);
    let url = RwSignal::new(props.url);
    view! {
        <form>
            <input bind:value=url/>
            <button on:click=move |_| count.update(|c| *c += 1)>{move || count.get()}</button>
        </form>
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_islands();
}
EOF
(cd "$work" && cargo build --quiet --lib --target wasm32-unknown-unknown --profile wasm-release)
wasm-bindgen --target web --out-dir "$work/out" "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/island_floor.wasm"
tools/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals "$work/out/island_floor_bg.wasm" -o "$work/floor.wasm"
printf 'one Leptos %s island: %d bytes, %d gzip -9\n' "$leptos_version" \
  "$(stat -c%s "$work/floor.wasm")" "$(gzip -9 -c "$work/floor.wasm" | wc -c)"
if [ -f target/site/pkg/workbench.wasm ]; then
  printf 'our main module (target/site/pkg/workbench.wasm): %d bytes, %d gzip -9\n' \
    "$(stat -c%s target/site/pkg/workbench.wasm)" "$(gzip -9 -c target/site/pkg/workbench.wasm | wc -c)"
fi
