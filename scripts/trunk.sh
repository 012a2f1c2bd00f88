#!/usr/bin/env bash
# Runs trunk (build, serve, …) in the current directory the way the site is shipped: the pinned nightly
# compiles the app together with its own copy of the standard library, built for size
# (`optimize_for_size`), and a panic becomes an immediate trap instead of formatting a message nobody
# reads. That leaves out the panic machinery and the source paths behind it: 38 KB of the gzipped wasm
# (BENCHMARKS.md, "Size"). Leptos's `erase_components` makes `view!` build type-erased views (a `Vec`
# of `AnyView`, not nested tuples), so the code that builds, mounts and drops a view exists once, not
# once per view type: 23 KB of the gzipped site (BENCHMARKS.md, "Two build settings").
# scripts/setup.sh installs the toolchain.
#   scripts/trunk.sh build --release
set -euo pipefail
. "$(dirname "$0")/env.sh"
export RUSTUP_TOOLCHAIN="$RTKVM_NIGHTLY"
export CARGO_UNSTABLE_BUILD_STD="$RTKVM_BUILD_STD"
export CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none --cfg erase_components"
exec trunk "$@"
