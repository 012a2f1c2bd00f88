# Sourced by the scripts: puts the project's own wasm-opt (npm binaryen) and cargo's bin on PATH, and
# names the pinned nightly toolchain that builds the release site (scripts/trunk.sh) and runs cargo-fuzz.
RTKVM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$RTKVM_ROOT/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export RTKVM_NIGHTLY=nightly-2026-05-20
# The parts of the standard library the site's build compiles with the app (scripts/trunk.sh), and whose
# dependencies scripts/setup.sh fetches for the offline build.
export RTKVM_BUILD_STD=std,panic_abort
