#!/usr/bin/env bash
# Runs every benchmark and checks the budgets:
#   1. native: criterion benches of parse, plan, emit and share links (cargo bench), and the whole
#      `rtkvm plan` process against `xmllint --noout` on a generated 4096-CPU host;
#   2. size: every file of dist/, raw and gzip -9, and the site with every feature (target/dist-full);
#   3. browser: first plan on screen and recompute after an input change, in headless Chromium, next to
#      two floors (a static page of the same shape, and the smallest Leptos app built the same way),
#      and the start-up work counted: wasm compiled before the first plan, DOM calls (tests/startup.mjs).
# Prints a summary with a PASS/FAIL line per budget, also written to target/bench-summary.md.
#   scripts/bench.sh            # full criterion run (a few minutes)
#   scripts/bench.sh --quick    # shorter criterion measurement
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
quick=()
[ "${1:-}" = "--quick" ] && quick=(--warm-up-time 1 --measurement-time 2)

echo "== native benchmarks (criterion)"
cargo bench -p rtkvm-core --bench pipeline -- "${quick[@]}"

echo "== release site"
scripts/trunk.sh build --release >/dev/null
# The site with every feature, sections 8 and 9 included (the app's deploy feature), measured for size,
# and the shipped site with each of the two alone (what each costs, for the budget's decision).
scripts/trunk.sh build --release --features deploy --dist target/dist-full >/dev/null
scripts/trunk.sh build --release --features exports --dist target/dist-exports >/dev/null
scripts/trunk.sh build --release --features live-check --dist target/dist-live-check >/dev/null
(cd tests/leptos-floor && ../../scripts/trunk.sh build --release >/dev/null)

echo "== browser benchmark"
cargo build -q --release -p rtkvm-core --bin rtkvm --example synthetic_host
host1024=$(mktemp)
target/release/examples/synthetic_host 1024 > "$host1024"
link=$(target/release/rtkvm plan "$host1024" --vcpus 2 --memory 1G --host-memory 1G --host-cpus 1 --format link)
# Eight guests on it: six automatic, one with isolated emulator threads on node 0, one on node 1.
guests=()
for i in 1 2 3 4 5 6; do guests+=(--guest "name=rt-$i,vcpus=4,memory=4G"); done
guests+=(--guest "name=rt-7,vcpus=4,memory=4G,node=0,emulator=isolate" --guest "name=rt-8,vcpus=2,memory=2G,node=1")
link8=$(target/release/rtkvm plan "$host1024" --host-memory 1G --host-cpus 1 "${guests[@]}" --format link)
(cd tests && RTKVM_DIST="$PWD/../dist" RTKVM_LINK_1024="$link" RTKVM_LINK_1024_8="$link8" RTKVM_HOST_1024_FILE="$host1024" \
  RTKVM_LEPTOS_FLOOR_DIST="$PWD/leptos-floor/dist" node bench.mjs) > target/browser-bench.json
# What the first plan costs the page, counted (compiled wasm, DOM calls): stable from run to run.
(cd tests && RTKVM_DIST="$PWD/../dist" RTKVM_LINK_1024="$link" node startup.mjs) > target/startup.json
rm -f "$host1024"
cat target/browser-bench.json

echo "== summary"
node scripts/bench-report.mjs | tee target/bench-summary.md
