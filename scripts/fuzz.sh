#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60), seeded from the corpus of real
# `virsh capabilities` outputs, the fixtures and share links made from them. Fails on any crash,
# timeout or out-of-memory; the input that caused it is left in fuzz/artifacts/<target>/ and belongs in
# fuzz/regressions/<target>/ as a regression test once fixed.
#   scripts/fuzz.sh            # about a minute per target (what CI runs)
#   scripts/fuzz.sh 3600       # an hour per target
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "[fuzz] installing cargo-fuzz (about 2 minutes)"
  cargo install cargo-fuzz --locked
fi
. scripts/env.sh
rustup run "$RTKVM_NIGHTLY" rustc --version >/dev/null 2>&1 || rustup toolchain install "$RTKVM_NIGHTLY" --profile minimal

seeds=target/fuzz-seeds
rm -rf "$seeds"
mkdir -p "$seeds/parse" "$seeds/pipeline" "$seeds/link" "$seeds/domain"
find core/tests/corpus core/fixtures -type f \( -name '*.xml' -o -name '*.out' \) | while read -r f; do
  n=$(basename "$f")
  cp "$f" "$seeds/parse/$n"
done
cargo build -q -p rtkvm-core --bin rtkvm
for f in core/fixtures/*.xml core/tests/corpus/virt-tuner/*.xml core/tests/corpus/libvirt/caps-qemu-real-full.xml; do
  target/debug/rtkvm plan "$f" --format link --memory 1G --vcpus 1 > "$seeds/link/$(basename "$f").link" 2>/dev/null || true
done
# The golden links, of every link version.
for f in core/tests/links/*.json; do
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).link)' "$f" \
    > "$seeds/link/golden-$(basename "$f" .json).link"
done
for f in core/fixtures/*.xml; do
  # 12 settings bytes (2 host CPUs, 6 GiB, auto pages, full preset, 2 vCPUs, 1 GiB, any node, RT 1,
  # priority 1, name 0), then the document.
  { printf '\002\000\030\000\000\002\000\004\377\002\001\000'; cat "$f"; } > "$seeds/pipeline/$(basename "$f")"
done
# Existing domains, behind one selector byte (recipe 3, the domain's own vCPU count).
find core/tests/domains core/fixtures/domains -type f -name '*.xml' | while read -r f; do
  { printf '\004'; cat "$f"; } > "$seeds/domain/$(basename "$(dirname "$f")")-$(basename "$f")"
done
for dir in fuzz/regressions/*/; do
  target=$(basename "$dir")
  cp "$dir"/* "$seeds/$target/" 2>/dev/null || true
done

for target in parse pipeline link domain; do
  echo "[fuzz] $target for ${seconds}s"
  mkdir -p "target/fuzz-corpus/$target"
  log="target/fuzz-$target.log"
  if ! cargo "+$RTKVM_NIGHTLY" fuzz run --fuzz-dir fuzz "$target" "target/fuzz-corpus/$target" "$seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "[fuzz] $target FAILED: the input is in fuzz/artifacts/$target/; full log in $log" >&2
    exit 1
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
done
echo "[fuzz] no crash, timeout or out-of-memory"
