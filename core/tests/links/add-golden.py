#!/usr/bin/env python3
"""Adds golden share links: for each case below, runs the `rtkvm` CLI of this checkout to make the link
and the plan it stands for, and writes `core/tests/links/v<link version>-<case>.json` unless it exists.

Golden links are never regenerated: a file that exists is left alone, and `core/tests/golden_links.rs`
asserts, for good, that each link still opens to exactly the plan recorded beside it. When the link
format changes (a new link version), run this script again: it adds every case in the new version, and
the old files keep proving that older links still open to their plans. A new setting gets a case of its
own here.

Usage: core/tests/links/add-golden.py [path/to/rtkvm]   (default: target/debug/rtkvm)
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
RTKVM = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "rtkvm")
# The synthetic host generator built beside the rtkvm given (cargo build -p rtkvm-core --examples).
SYNTHETIC = os.path.join(os.path.dirname(os.path.abspath(RTKVM)), "examples", "synthetic_host")

SEED = "core/fixtures/seed-example.xml"
AARCH64 = "core/tests/corpus/virt-manager/kvm-aarch64.xml"

# (case name, host file or "synthetic:N", CLI arguments). Every setting appears at least once at a
# value other than its default.
CASES = [
    ("example", SEED, []),
    ("interleaved", "core/fixtures/seed-interleaved.xml", []),
    ("smt2", "core/fixtures/smt2.xml", []),
    ("two-mib-only", "core/fixtures/two-mib-only.xml", []),
    ("host-1024", "synthetic:1024", ["--vcpus", "2", "--memory", "1G", "--host-memory", "1G", "--host-cpus", "1"]),
    ("aarch64-32m", AARCH64, ["--page-size", "32M", "--vcpus", "2", "--memory", "4G"]),
    ("vcpus", SEED, ["--vcpus", "6"]),
    ("memory", SEED, ["--memory", "8G"]),
    ("node", SEED, ["--node", "0"]),
    ("host-cpus", SEED, ["--host-cpus", "1"]),
    ("housekeeping", SEED, ["--housekeeping", "0-3,8-11"]),
    ("host-memory", SEED, ["--host-memory", "4G"]),
    ("page-size-2m", SEED, ["--page-size", "2M"]),
    ("name", SEED, ["--name", "plc <1> & co"]),
    ("rt-vcpus-mask", SEED, ["--vcpus", "5", "--rt-vcpus", "^0"]),
    ("rt-vcpus-list", SEED, ["--rt-vcpus", "1-2"]),
    ("rt-vcpus-none", SEED, ["--rt-vcpus", "none"]),
    ("scheduler", SEED, ["--scheduler", "rr"]),
    ("priority", SEED, ["--priority", "50"]),
    ("preset", SEED, ["--preset", "minimal"]),
    # Link v3 and later carry the recipe revision.
    ("recipe-1", SEED, ["--recipe", "1"]),
    ("recipe-1-aarch64", AARCH64, ["--recipe", "1", "--vcpus", "2", "--memory", "4G"]),
    ("rt-vcpus-all", SEED, ["--rt-vcpus", "all"]),
    ("emulator-isolate", SEED, ["--emulator", "isolate"]),
    # Link v4 and later carry the host's kernel; recipe 3 writes the host's files.
    ("recipe-2", SEED, ["--recipe", "2"]),
    ("kernel-rhel9", SEED, ["--kernel", "rhel9"]),
    ("kernel-rhel8", "core/fixtures/two-mib-only.xml", ["--kernel", "rhel8"]),
    ("kernel-older", SEED, ["--kernel", "older"]),
    ("kernel-type-generic", SEED, ["--kernel-type", "generic"]),
    ("priority-99", SEED, ["--priority", "99"]),
    # Link v5 and later carry which memory becomes huge pages.
    ("reserve-guest", SEED, ["--reserve", "guest"]),
    ("reserve-guest-rhel9", SEED, ["--reserve", "guest", "--kernel", "rhel9"]),
    ("reserve-guest-2m", "core/fixtures/two-mib-only.xml", ["--reserve", "guest", "--memory", "3G"]),
    # Link v6 and later carry the huge pages kept spare beside the guest's.
    ("reserve-guest-spare", SEED, ["--reserve", "guest", "--spare", "8G"]),
    ("reserve-guest-spare-2m", "core/fixtures/two-mib-only.xml", ["--reserve", "guest", "--memory", "3G", "--spare", "1G"]),
    # Recipe 4 (2026-12), carried by link v3 and later: the cases above made before it opened with
    # recipe 3, so recipe 3 keeps a case of its own and recipe 4 gets the hosts whose outputs differ.
    ("recipe-3", SEED, ["--recipe", "3"]),
    ("recipe-4", SEED, ["--recipe", "4"]),
    ("recipe-4-generic", SEED, ["--recipe", "4", "--kernel-type", "generic"]),
    ("recipe-4-minimal", SEED, ["--recipe", "4", "--preset", "minimal"]),
    ("recipe-4-aarch64", AARCH64, ["--recipe", "4", "--vcpus", "2", "--memory", "4G"]),
    ("recipe-4-amd", "core/tests/corpus/tp-libvirt/cap_mix.xml__L167.xml", ["--recipe", "4", "--vcpus", "2", "--memory", "2G", "--host-memory", "1G"]),
    ("recipe-4-s390x", "core/tests/corpus/tp-libvirt/capabilities_s390x.xml", ["--recipe", "4", "--vcpus", "2", "--memory", "1G", "--host-memory", "1G"]),
    ("recipe-4-skylake", "core/tests/corpus/libvirt/formatcaps.rst__L194.xml", ["--recipe", "4", "--vcpus", "2", "--memory", "1G", "--host-memory", "1G"]),
    # Link v7 and later carry every guest of the plan (their domains are recorded in other_domain_xmls).
    ("guests-3", SEED, ["--guest", "name=plc-a,vcpus=4,memory=8G",
                        "--guest", "name=plc-b,vcpus=2,memory=4G,node=0,emulator=isolate,priority=20,scheduler=rr",
                        "--guest", "name=hmi,vcpus=3,memory=3G,rt=1-2"]),
    ("guests-8", SEED, ["--guest", "name=prot-a,vcpus=2,memory=8G",
                        "--guest", "name=prot-b,vcpus=2,memory=8G",
                        "--guest", "name=ctrl-a,vcpus=2,memory=4G,priority=10",
                        "--guest", "name=ctrl-b,vcpus=2,memory=4G,priority=10",
                        "--guest", "name=pmu-1,vcpus=1,memory=2G,rt=all",
                        "--guest", "name=pmu-2,vcpus=1,memory=2G,rt=all",
                        "--guest", "name=hmi,vcpus=1,memory=4G,rt=none",
                        "--guest", "name=gateway,vcpus=1,memory=2G,scheduler=rr"]),
    ("guests-3-reserve-guest", SEED, ["--reserve", "guest", "--spare", "2G",
                                      "--guest", "name=plc-a,vcpus=2,memory=6G",
                                      "--guest", "name=plc-b,vcpus=2,memory=4G,emulator=isolate",
                                      "--guest", "name=plc-c,vcpus=2,memory=2G,node=1"]),
    # An existing domain kept where it runs (SEAPATH's VM: vCPUs on 4-5, emulator alone on 3): the
    # link carries its placement, not the domain.
    ("domain-kept", SEED, ["--domain", "core/fixtures/domains/seapath-kept.xml"]),
    ("domain-kept-guests", SEED, ["--guest", "name=plc-a,vcpus=4,memory=8G",
                                  "--domain", "core/fixtures/domains/seapath-kept.xml",
                                  "--guest", "name=plc-b,vcpus=2,memory=4G,node=0"]),
]


def run(args, stdin):
    # From the checkout's root, where the paths the cases name (--domain FILE) are.
    return subprocess.run([RTKVM, *args], input=stdin, capture_output=True, check=True, cwd=ROOT).stdout.decode()


def main():
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    version = run(["--version"], b"").strip()
    for name, source, args in CASES:
        if source.startswith("synthetic:"):
            caps = subprocess.run([SYNTHETIC, source.split(":")[1]], capture_output=True, check=True).stdout
        else:
            with open(os.path.join(ROOT, source), "rb") as f:
                caps = f.read()
        try:
            link = run(["plan", "-", *args, "--format", "link"], caps).strip()
        except subprocess.CalledProcessError:
            continue  # a flag this version does not have yet
        version = link[len("#v"):link.index(".")]
        path = os.path.join(HERE, f"v{version}-{name}.json")
        if os.path.exists(path):
            continue
        plan = json.loads(run(["plan", "-", *args, "--format", "json"], caps))
        record = {
            "made_by": f"{version} at commit {commit}",
            "host": source,
            "args": args,
            "link": link,
            "kernel_cmdline": run(["plan", "-", *args, "--format", "cmdline"], caps),
            "hugepages_sh": run(["plan", "-", *args, "--format", "hugepages"], caps),
            "domain_xml": run(["plan", "-", *args, "--format", "xml"], caps),
            "warnings": [{"code": w["code"], "message": w["message"]} for w in plan["warnings"]],
        }
        if len(plan.get("guests", [])) > 1:
            record["other_domain_xmls"] = [g["domain_xml"] for g in plan["guests"][1:]]
        setup = plan["host"].get("setup")
        if setup:
            record["host_files"] = [
                {"name": "90-rtkvm-realtime.conf", "content": setup["sysctl"]},
                {"name": "rtkvm-host.service", "content": setup["unit"]},
                {"name": "tuned-host.sh", "content": setup["tuned_script"]},
            ]
            if setup.get("rtentsk_unit"):
                record["host_files"].append({"name": "rtkvm-rtentsk.service", "content": setup["rtentsk_unit"]})
        with open(path, "w") as f:
            json.dump(record, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
