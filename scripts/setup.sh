#!/usr/bin/env bash
# Installs what building and testing Leads Dashboard needs, on a machine with
# only stable Rust, git, make, python3 and node/npm. Idempotent: whatever is
# already there at the right version is skipped, so a second run takes seconds.
#
#   scripts/setup.sh          build tools (make run)
#   scripts/setup.sh --test   build tools + Chromium and Playwright (make test)
#   scripts/setup.sh --wasm-bindgen   the wasm-bindgen binary (the site's build)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

WASM_BINDGEN_VERSION=0.2.130
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1;36m[setup]\033[0m %s\n' "$*"; }

# Only the `wasm-bindgen` binary: the site build (scripts/site.sh) uses nothing
# else of the package. Not --locked: its lock file names a crate version the
# registry lacks. Apart from the rest (`make` runs it beside the server's
# first build, which leaves a core idle for long stretches).
if [ "${1:-}" = "--wasm-bindgen" ]; then
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
    say "installing wasm-bindgen $WASM_BINDGEN_VERSION (a few minutes, once)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --bin wasm-bindgen
  fi
  exit 0
fi

# Debian packages: clang for RocksDB's C++, libclang for its bindings; Chromium
# for browser tests.
apt_pkgs=()
command -v clang >/dev/null 2>&1 || apt_pkgs+=(clang)
ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || apt_pkgs+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || apt_pkgs+=(g++)
if [ "$want_test" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || apt_pkgs+=(chromium)
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  say "installing Debian packages: ${apt_pkgs[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

npm_install() { # dir
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "npm ci in $dir"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}
# wasm-opt (binaryen 132: Debian's 108 produces a WASM that breaks hydration)
# and esbuild (minifies the JS and CSS), both prebuilt, from npm.
npm_install tools
[ "$want_test" = 1 ] && npm_install end2end
say "tools ready"
