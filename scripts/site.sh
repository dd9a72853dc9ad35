#!/usr/bin/env bash
# Builds the browser side of the site into target/site, the layout the server
# serves and `make dist` embeds:
#   target/site/pkg/leads-dashboard.{js,wasm,css}   target/site/<public/*>
# It does with plain tools what cargo-leptos did: cargo builds the WASM,
# wasm-bindgen writes its JS, wasm-opt shrinks it, esbuild minifies the JS and
# the stylesheet, public/ is copied. Nothing is installed here (setup.sh does,
# `--wasm-bindgen` for wasm-bindgen).
#
#   scripts/site.sh            debug WASM (pairs with a debug server)
#   scripts/site.sh --release  release WASM (pairs with a release server)
#
# Debug and release do not hydrate each other: the debug pair is built with
# `--cfg erase_components`, as cargo-leptos did.
set -euo pipefail
cd "$(dirname "$0")/.."

release=0
[ "${1:-}" = "--release" ] && release=1

name=leads-dashboard
export LEPTOS_OUTPUT_NAME=$name
# A target folder of its own, so this runs beside the server's build (cargo
# locks a target folder while it builds).
wasm_target=${CARGO_TARGET_DIR:-target}/front
site=target/site
new=$(mktemp -d "${TMPDIR:-/tmp}/leads-site.XXXXXX")
trap 'rm -rf "$new"' EXIT

step() { printf '\033[1;36m[site]\033[0m %s\n' "$*"; }

if [ "$release" = 1 ]; then
  step "WASM (wasm-release: size over speed)"
  cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release \
    --target-dir "$wasm_target"
  wasm=$wasm_target/wasm32-unknown-unknown/wasm-release/frontend.wasm
else
  step "WASM (debug)"
  # With --target, RUSTFLAGS reach only the WASM, not build scripts or macros.
  RUSTFLAGS="--cfg erase_components" \
    cargo build -p frontend --lib --target wasm32-unknown-unknown --target-dir "$wasm_target"
  wasm=$wasm_target/wasm32-unknown-unknown/debug/frontend.wasm
fi

step "wasm-bindgen"
mkdir -p "$new/pkg"
wasm-bindgen --target web --no-typescript --out-name "$name" --out-dir "$new/pkg" "$wasm"
# The page loads `<name>.wasm` (leptos, with LEPTOS_OUTPUT_NAME set at build).
mv "$new/pkg/${name}_bg.wasm" "$new/pkg/$name.wasm"
sed -i "s/${name}_bg\.wasm/${name}.wasm/g" "$new/pkg/$name.js"

if [ "$release" = 1 ]; then
  step "wasm-opt -Oz"
  wasm-opt -Oz "$new/pkg/$name.wasm" -o "$new/pkg/$name.opt.wasm"
  mv "$new/pkg/$name.opt.wasm" "$new/pkg/$name.wasm"
  step "minifying the JS and the stylesheet"
  esbuild "$new/pkg/$name.js" --minify --log-level=warning --outfile="$new/pkg/$name.min.js"
  mv "$new/pkg/$name.min.js" "$new/pkg/$name.js"
  esbuild style/main.css --minify --log-level=warning --outfile="$new/pkg/$name.css"
else
  cp style/main.css "$new/pkg/$name.css"
fi

cp -R public/. "$new/"

# Replace the old site's files; its dot-files (build stamps) are kept.
mkdir -p "$site"
find "$site" -mindepth 1 -maxdepth 1 ! -name '.*' -exec rm -rf {} +
cp -R "$new/." "$site/"
step "site ready in $site ($(du -sh "$site/pkg/$name.wasm" | cut -f1) WASM)"
