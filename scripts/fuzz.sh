#!/usr/bin/env bash
# Runs the cargo-fuzz targets, seeded from the corpus of real `virsh capabilities` outputs, the
# fixtures, share links made from them and the real domains. Fails on any crash, timeout or
# out-of-memory; the input that caused it is left in fuzz/artifacts/<target>/ and belongs in
# fuzz/regressions/<target>/ as a regression test once fixed. Prints each target's runs at the end;
# the long run's figures are recorded in docs/bad-input.md.
#   scripts/fuzz.sh                  # CI's budget, about 12 minutes: domain 300 s, pipeline 150 s,
#                                    # exports 90 s, parse, link and report 60 s each
#   scripts/fuzz.sh 60               # 60 s for every target
#   scripts/fuzz.sh domain=600       # only the targets named, each for its own time
#   scripts/fuzz.sh --long           # the long run: domain, pipeline and exports 2 hours, parse, link
#                                    # and report 1 hour
# Builds with the target directory in CARGO_TARGET_DIR when it is set (target/ otherwise); the
# seeds, the grown corpus and the logs stay in target/.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(parse pipeline link domain report exports)
declare -A seconds=([domain]=300 [pipeline]=150 [exports]=90 [parse]=60 [link]=60 [report]=60)
named=()
for arg in "$@"; do
  case "$arg" in
    --long) seconds=([domain]=7200 [pipeline]=7200 [exports]=7200 [parse]=3600 [link]=3600 [report]=3600) ;;
    *=*)
      target=${arg%%=*} value=${arg#*=}
      if [[ -z ${seconds[$target]+set} || ! $value =~ ^[0-9]+$ ]]; then
        echo "[fuzz] '$arg': expected TARGET=SECONDS with TARGET one of ${targets[*]}" >&2
        exit 2
      fi
      seconds[$target]=$value
      named+=("$target")
      ;;
    *)
      if [[ ! $arg =~ ^[0-9]+$ ]]; then
        echo "usage: scripts/fuzz.sh [SECONDS | --long | TARGET=SECONDS ...]" >&2
        exit 2
      fi
      for t in "${targets[@]}"; do seconds[$t]=$arg; done
      ;;
  esac
done
if ((${#named[@]})); then
  targets=("${named[@]}")
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "[fuzz] installing cargo-fuzz (about 2 minutes)"
  cargo install cargo-fuzz --locked
fi
. scripts/env.sh
rustup run "$RTKVM_NIGHTLY" rustc --version >/dev/null 2>&1 || rustup toolchain install "$RTKVM_NIGHTLY" --profile minimal

seeds=target/fuzz-seeds
rm -rf "$seeds"
mkdir -p "$seeds/parse" "$seeds/pipeline" "$seeds/link" "$seeds/domain" "$seeds/report" "$seeds/exports"
find core/tests/corpus core/fixtures -type f \( -name '*.xml' -o -name '*.out' \) | while read -r f; do
  n=$(basename "$f")
  cp "$f" "$seeds/parse/$n"
done
cargo build -q -p rtkvm-core --bin rtkvm
rtkvm="${CARGO_TARGET_DIR:-target}/debug/rtkvm"
for f in core/fixtures/*.xml core/tests/corpus/virt-tuner/*.xml core/tests/corpus/libvirt/caps-qemu-real-full.xml; do
  "$rtkvm" plan "$f" --format link --memory 1G --vcpus 1 > "$seeds/link/$(basename "$f").link" 2>/dev/null || true
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
# Every host of the corpus behind the same settings bytes (byte 11 also gives the other guests'
# vCPUs and emulator policies) and a block of hostile guest names (its length, then four names
# separated by NUL bytes: the first guest's and three more).
names=$'it\'s\x01$(touch pwned) `id`\x01a: b &anchor *alias\x01- "q" # c {x: [1]} ~ !!str'
find core/tests/corpus core/fixtures -path core/fixtures/domains -prune -o -type f -name '*.xml' -print | while read -r f; do
  { printf '\002\000\030\000\000\002\000\004\377\002\001\016'; printf '%b' "\\0$(printf %03o "${#names}")"
    printf '%s' "$names" | tr '\001' '\000'; cat "$f"; } > "$seeds/exports/$(basename "$(dirname "$f")")-$(basename "$f")"
done
# The reports rtkvm-check.sh writes are in fuzz/regressions/report/ (made by core/tests/verify.rs with
# RTKVM_REPORT_SEEDS=DIR), copied below.
# Existing domains, behind one selector byte (recipe 3, the domain's own vCPU count).
find core/tests/domains core/fixtures/domains -type f -name '*.xml' | while read -r f; do
  { printf '\004'; cat "$f"; } > "$seeds/domain/$(basename "$(dirname "$f")")-$(basename "$f")"
done
for dir in fuzz/regressions/*/; do
  target=$(basename "$dir")
  cp "$dir"/* "$seeds/$target/" 2>/dev/null || true
done

summary=()
for target in "${targets[@]}"; do
  echo "[fuzz] $target for ${seconds[$target]}s"
  mkdir -p "target/fuzz-corpus/$target"
  log="target/fuzz-$target.log"
  if ! cargo "+$RTKVM_NIGHTLY" fuzz run --fuzz-dir fuzz "$target" "target/fuzz-corpus/$target" "$seeds/$target" -- \
    -max_total_time="${seconds[$target]}" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "[fuzz] $target FAILED: the input is in fuzz/artifacts/$target/; full log in $log" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
  corpus=$(find "target/fuzz-corpus/$target" -type f | wc -l)
  summary+=("$target: ${runs:-?} runs in ${seconds[$target]} s, peak RSS ${rss:-?} MB, corpus $corpus inputs")
done
echo "[fuzz] no crash, timeout or out-of-memory"
printf '[fuzz] %s\n' "${summary[@]}"
