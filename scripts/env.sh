# Sourced by the scripts: puts the project's own wasm-opt (npm binaryen) and cargo's bin on PATH.
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
