#!/usr/bin/env bash
# Sets up everything and runs every check and test: formatting, clippy, the core's unit, snapshot,
# property, corpus and CLI tests (each domain XML judged by libvirt), and the core's wasm32 build.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "setup"
scripts/setup.sh core

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "core tests (native)"
cargo test -p rtkvm-core --quiet

step "core builds for wasm32-unknown-unknown"
cargo build -p rtkvm-core --lib --no-default-features --target wasm32-unknown-unknown --quiet

step "all checks passed"
