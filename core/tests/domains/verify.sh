#!/usr/bin/env bash
# Re-runs the selection rule of this corpus (see README.md) over every file listed in INDEX.tsv:
#   1. the file is a <domain> document below 200 KB,
#   2. `virsh -c test:///default define` accepts it,
#   3. `virsh -c qemu:///system define` accepts it, and it is undefined again at once.
# Each file is defined from a temporary copy that differs only in its <name> (a unique one, so
# nothing collides with other domains), in its <uuid> (dropped only if the QEMU driver reports a
# collision), and, for rows whose qemu_driver column is `qemu-type`, in <domain type='kvm'> being
# <domain type='qemu'> for the QEMU driver (no KVM for that architecture on an x86_64 host).
# Also fails if an XML file below this directory is not listed in INDEX.tsv, or a listed one is missing.
#
# Usage: core/tests/domains/verify.sh [PATH...]   (PATHs as in INDEX.tsv's `path` column; default: all)
# Needs virsh and perl; starts the project's test libvirtd (scripts/libvirtd.sh) if the QEMU driver
# does not answer. Exits 0 if every file passes, 1 naming the files that fail, 2 if it cannot run.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
index="$here/INDEX.tsv"
qemu_uri=qemu:///system
test_uri=test:///default
max_bytes=$((200 * 1024))

die() {
  echo "verify.sh: $*" >&2
  exit 2
}

command -v virsh >/dev/null || die "virsh not found (libvirt-clients)"
command -v perl >/dev/null || die "perl not found"
[ -f "$index" ] || die "no $index"

if ! timeout 20 virsh -c "$qemu_uri" uri >/dev/null 2>&1; then
  starter="$here/../../../scripts/libvirtd.sh"
  if [ -x "$starter" ]; then
    "$starter" start >/dev/null 2>&1 || true
  fi
  timeout 20 virsh -c "$qemu_uri" uri >/dev/null 2>&1 ||
    die "the QEMU driver ($qemu_uri) does not answer; start libvirtd (scripts/libvirtd.sh start)"
fi

tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/rtkvm-domains-verify.XXXXXX")
defined=""
cleanup() {
  if [ -n "$defined" ]; then
    virsh -c "$qemu_uri" undefine --nvram --managed-save --snapshots-metadata \
      --checkpoints-metadata "$defined" >/dev/null 2>&1 ||
      virsh -c "$qemu_uri" undefine "$defined" >/dev/null 2>&1
  fi
  rm -rf "$tmpdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Column numbers of `path` and `qemu_driver` from the header row.
IFS=$'\t' read -r -a header <"$index"
path_col=-1
driver_col=-1
for i in "${!header[@]}"; do
  case "${header[$i]}" in
    path) path_col=$i ;;
    qemu_driver) driver_col=$i ;;
  esac
done
if [ "$path_col" -lt 0 ] || [ "$driver_col" -lt 0 ]; then
  die "INDEX.tsv lacks a path or qemu_driver column"
fi

# Prints "yes" if the document's root element is <domain> (after any XML declaration, comments,
# DOCTYPE and whitespace).
is_domain() {
  perl -0777 -ne 's/<!--.*?-->//gs; s/<\?.*?\?>//gs; s/<!DOCTYPE[^>]*>//gs;
                  print((/\A\s*<domain[\s>]/) ? "yes" : "no")' "$1"
}

# define_qemu FILE NAME: defines FILE with the QEMU driver and undefines NAME again. On a uuid
# collision, retries once without <uuid>. Prints virsh's complaint on failure.
define_qemu() {
  local file=$1 name=$2 out
  if ! out=$(virsh -c "$qemu_uri" define "$file" 2>&1); then
    if grep -qi 'uuid' <<<"$out" && grep -qi 'already' <<<"$out"; then
      perl -0777 -i -pe 's{\s*<uuid>[^<]*</uuid>}{}' "$file"
      out=$(virsh -c "$qemu_uri" define "$file" 2>&1) || {
        echo "$out"
        return 1
      }
    else
      echo "$out"
      return 1
    fi
  fi
  defined=$name
  if ! out=$(virsh -c "$qemu_uri" undefine --nvram --managed-save --snapshots-metadata \
    --checkpoints-metadata "$name" 2>&1); then
    out=$(virsh -c "$qemu_uri" undefine "$name" 2>&1) || {
      echo "defined but cannot undefine $name: $out"
      return 1
    }
  fi
  defined=""
  return 0
}

declare -A listed=()
failures=()
checked=0
while IFS=$'\t' read -r -a row; do
  rel=${row[$path_col]:-}
  driver=${row[$driver_col]:-}
  [ -n "$rel" ] || continue
  listed[$rel]=1
  if [ "$#" -gt 0 ]; then
    wanted=no
    for a in "$@"; do
      [ "$a" = "$rel" ] && wanted=yes
    done
    [ "$wanted" = yes ] || continue
  fi
  checked=$((checked + 1))
  n=$checked
  file="$here/$rel"
  if [ ! -f "$file" ]; then
    failures+=("$rel: listed in INDEX.tsv but missing")
    continue
  fi
  size=$(wc -c <"$file")
  if [ "$size" -ge "$max_bytes" ]; then
    failures+=("$rel: $size bytes, not below 200 KB")
    continue
  fi
  if [ "$(is_domain "$file")" != yes ]; then
    failures+=("$rel: not a <domain> document")
    continue
  fi
  name="rtkvm-verify-$$-$n"
  copy="$tmpdir/$n.xml"
  # Only the domain's own <name> (the first one) changes.
  NAME=$name perl -0777 -pe 's{<name>\s*[^<]*?\s*</name>}{<name>$ENV{NAME}</name>}' "$file" >"$copy"
  if ! grep -q "<name>$name</name>" "$copy"; then
    failures+=("$rel: no <name> element")
    continue
  fi
  if ! out=$(virsh -c "$test_uri" define "$copy" 2>&1); then
    failures+=("$rel: test driver refuses it: $(tr '\n' ' ' <<<"$out")")
    continue
  fi
  if [ "$driver" = qemu-type ]; then
    perl -0777 -i -pe 's{(<domain\b[^>]*?\btype=)(["\x27])kvm\2}{$1$2qemu$2}' "$copy"
  fi
  if ! out=$(define_qemu "$copy" "$name"); then
    failures+=("$rel: QEMU driver refuses it ($driver): $(tr '\n' ' ' <<<"$out")")
    continue
  fi
done < <(tail -n +2 "$index")

# Every XML file of the corpus is listed.
if [ "$#" -eq 0 ]; then
  while IFS= read -r -d '' f; do
    rel=${f#"$here"/}
    [ -n "${listed[$rel]:-}" ] || failures+=("$rel: not listed in INDEX.tsv")
  done < <(find "$here" -name '*.xml' -type f -print0)
fi

if [ "${#failures[@]}" -gt 0 ]; then
  printf 'FAIL %s\n' "${failures[@]}"
  echo "${#failures[@]} problem(s) among $checked listed file(s)"
  exit 1
fi
echo "$checked passed, 0 failed"
