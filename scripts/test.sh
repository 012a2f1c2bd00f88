#!/usr/bin/env bash
# Sets up everything and runs every check and test: formatting, clippy, the core's unit, snapshot,
# property, corpus and CLI tests (each domain XML judged by libvirt), the core's wasm32 build, the
# fuzz targets (regressions, then a bounded run of each), the release site build and the end-to-end
# tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "setup"
scripts/setup.sh
. scripts/env.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings (native, and the app for wasm32)"
cargo clippy -p rtkvm-core --all-targets --quiet -- -D warnings
cargo clippy -p rtkvm-app --target wasm32-unknown-unknown --quiet -- -D warnings
cargo clippy -p rtkvm-app --target wasm32-unknown-unknown --features deploy --quiet -- -D warnings
# Each of sections 8 and 9 alone, as the budget's options build them (app/Cargo.toml).
cargo clippy -p rtkvm-app --target wasm32-unknown-unknown --features exports --quiet -- -D warnings
cargo clippy -p rtkvm-app --target wasm32-unknown-unknown --features live-check --quiet -- -D warnings

step "core tests (native), with libvirt's QEMU driver running as a judge"
scripts/libvirtd.sh start
trap 'scripts/libvirtd.sh stop' EXIT
cargo test -p rtkvm-core --quiet

step "core builds for wasm32-unknown-unknown without the CLI"
cargo build -p rtkvm-core --lib --no-default-features --target wasm32-unknown-unknown --quiet

step "fuzz targets: regression inputs, then about 12 minutes of fuzzing (domain 6, pipeline 3, parse and link 1.5)"
cargo test --manifest-path fuzz/Cargo.toml --quiet
# RTKVM_FUZZ_SECONDS=N gives every target N seconds instead.
scripts/fuzz.sh ${RTKVM_FUZZ_SECONDS:+"$RTKVM_FUZZ_SECONDS"}

step "release site (scripts/trunk.sh build --release), and with an absolute --public-url"
scripts/trunk.sh build --release
scripts/trunk.sh build --release --public-url /tools/rtkvm/ --dist target/dist-abs
# A public URL on another origin cannot work under the page's Content-Security-Policy: the build stops
# and says so.
if scripts/trunk.sh build --release --public-url https://cdn.example/rtkvm/ --dist target/dist-other >target/public-url.log 2>&1; then
  echo "a build with a public URL on another origin should have stopped" >&2
  exit 1
fi
grep -q "Keep the relative default ./" target/public-url.log

step "the site with sections 8 and 9 (the app's deploy feature, over the size budget: app/Cargo.toml)"
scripts/trunk.sh build --release --features deploy --dist target/dist-full

step "end-to-end tests in headless Chromium"
cargo build -p rtkvm-core --bin rtkvm --quiet
(cd tests && RTKVM_BIN="$PWD/../target/debug/rtkvm" RTKVM_DIST="$PWD/../dist" RTKVM_DIST_ABS="$PWD/../target/dist-abs" \
  RTKVM_DIST_FULL="$PWD/../target/dist-full" \
  node --test e2e.test.mjs states.test.mjs)

step "all checks passed"
