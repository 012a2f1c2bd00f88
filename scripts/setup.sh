#!/usr/bin/env bash
# Installs what building and testing rtkvm needs on a fresh Debian machine with rustup, cargo and npm.
# Every step is skipped when the right version is already there, so a second run takes seconds.
# Run as root (or with sudo available) for the Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

TRUNK_VERSION=0.21.14          # trunk 0.22 needs rustc >= 1.96
BINARYEN_VERSION=132.0.0       # Debian's binaryen 108 silently breaks the wasm; the npm build works
TERSER_VERSION=5.51.4          # minifies wasm-bindgen's JS glue (scripts/post-build.mjs)
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print}' Cargo.lock)

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# libvirt's own parser and schema judge every generated domain XML in the tests, and shellcheck every
# generated shell script; GNU patch applies the diffs of `rtkvm apply --format diff`.
apt_install libvirt-clients libxml2-utils shellcheck patch
# ... and libvirt's real QEMU driver, stricter than the test driver (scripts/libvirtd.sh runs it): the
# daemon, the driver and the emulators of the architectures in the corpus (s390x and riscv are in
# qemu-system-misc), and the user and groups the driver runs guests as.
apt_install libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-system-arm qemu-system-ppc qemu-system-misc
getent group kvm >/dev/null || $sudo groupadd -r kvm
getent group libvirt-qemu >/dev/null || $sudo groupadd -r libvirt-qemu
id libvirt-qemu >/dev/null 2>&1 || $sudo useradd -r -g libvirt-qemu -G kvm libvirt-qemu

# tuned's own profile loader and its real-time profiles judge the tuned profile rtkvm writes
# (core/tests/tuned_profile.rs): Debian's tuned package, extracted into .tools/tuned, not installed
# (installing it would start its daemon).
if ! [ -d .tools/tuned/usr/lib/tuned/realtime-virtual-host ]; then
  log "extracting Debian's tuned package into .tools/tuned"
  mkdir -p .tools/tuned
  if ! (cd .tools/tuned && apt-get download tuned >/dev/null 2>&1); then
    $sudo apt-get update -qq
    (cd .tools/tuned && apt-get download tuned >/dev/null)
  fi
  dpkg -x .tools/tuned/tuned_*.deb .tools/tuned
fi

# The core library must build for the browser too.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "${1:-}" = "core" ]; then
  exit 0
fi

# The browser app: wasm target, trunk, the wasm-bindgen CLI matching Cargo.lock, a working wasm-opt,
# and Chromium with its driver for the end-to-end tests.
apt_install chromium chromium-driver
# The site is built by a pinned nightly with the standard library's source (scripts/trunk.sh), which
# also runs cargo-fuzz.
if ! rustup run "$RTKVM_NIGHTLY" rustc --version >/dev/null 2>&1 || ! rustup component list --installed --toolchain "$RTKVM_NIGHTLY" | grep -qx rust-src; then
  log "installing the $RTKVM_NIGHTLY toolchain with rust-src (about 10 s)"
  rustup toolchain install "$RTKVM_NIGHTLY" --profile minimal --component rust-src
fi

if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; then
  log "installing trunk $TRUNK_VERSION (about 9 minutes on 2 cores)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
  # Without --locked: its lockfile names a crate version the registry mirror lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if ! [ -x .tools/node_modules/.bin/wasm-opt ] || ! .tools/node_modules/.bin/wasm-opt --version | grep -q "version ${BINARYEN_VERSION%%.*}"; then
  log "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm into .tools/"
  npm install --silent --no-audit --no-fund --prefix .tools "binaryen@$BINARYEN_VERSION" >/dev/null
fi
if ! [ -x .tools/node_modules/.bin/terser ] || [ "$(.tools/node_modules/.bin/terser --version)" != "terser $TERSER_VERSION" ]; then
  log "installing terser $TERSER_VERSION (JS minifier) from npm into .tools/"
  npm install --silent --no-audit --no-fund --prefix .tools "terser@$TERSER_VERSION" >/dev/null
fi

if ! [ -d tests/node_modules/playwright-core ] || ! [ -d tests/node_modules/axe-core ]; then
  log "installing the browser test dependencies (playwright-core, no browser download; axe-core)"
  (cd tests && npm ci --silent --no-audit --no-fund >/dev/null)
fi

log "fetching crates for trunk's offline build"
cargo fetch --quiet
# The benchmark's smallest Leptos app is a workspace of its own (scripts/bench.sh builds it).
cargo fetch --quiet --manifest-path tests/leptos-floor/Cargo.toml
# The standard library's own dependencies, for the nightly build of the site.
RUSTUP_TOOLCHAIN="$RTKVM_NIGHTLY" CARGO_UNSTABLE_BUILD_STD="$RTKVM_BUILD_STD" cargo fetch --quiet --target wasm32-unknown-unknown
