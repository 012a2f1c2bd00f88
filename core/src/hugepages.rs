//! Huge page settings: the boot-time count, the per-node runtime top-up script and how to check the
//! result.

use std::fmt::Write as _;

use serde::Serialize;

use crate::caps::expected_pages_line;
use crate::plan::Partition;
use crate::units::{format_kib, kernel_size};

/// How to reserve the planned huge pages and check them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HugepageSettings {
    /// The `hugepages=` count for the kernel command line (spread evenly over nodes by the kernel).
    pub boot_pages: u64,
    /// Whether nodes need different counts, so that `hugepages.sh` must set them at runtime.
    pub runtime: bool,
    /// The `hugepages.sh` script: sets per-node counts where needed and checks every node.
    pub script: String,
    /// A command that prints the pages reserved on every node.
    pub verify_command: String,
    /// The `<pages>` line `virsh capabilities` should print for the page size on every node afterwards.
    pub expected_pages: Vec<ExpectedPages>,
}

/// What `virsh capabilities` should print for one node once the pages are reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedPages {
    /// The node id.
    pub node: u32,
    /// The `<pages>` line.
    pub line: String,
}

/// Returns the `hugepages=` value: the total when every node gets the same count, else the smallest
/// per-node count times the number of nodes (the kernel's even split), the rest being added at runtime.
pub fn boot_pages(part: &Partition) -> u64 {
    let min = part.hugepages.iter().map(|p| p.count).min().unwrap_or(0);
    min * part.hugepages.len() as u64
}

/// Returns whether the nodes need different page counts.
pub fn needs_runtime(part: &Partition) -> bool {
    let mut counts = part.hugepages.iter().map(|p| p.count);
    let first = counts.next();
    counts.any(|c| Some(c) != first)
}

/// Builds the huge page settings for a partition. Only numbers go into the script.
pub fn hugepage_settings(part: &Partition) -> HugepageSettings {
    let size_kib = part.page_size_kib;
    let runtime = needs_runtime(part);
    let boot = boot_pages(part);
    let verify_command = format!(
        "grep -H . /sys/devices/system/node/node*/hugepages/hugepages-{size_kib}kB/nr_hugepages"
    );
    let mut s = String::new();
    let human = format_kib(size_kib);
    let plan_text: Vec<String> = part
        .hugepages
        .iter()
        .map(|p| format!("{} on node {}", p.count, p.node))
        .collect();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Huge pages for real-time KVM guests, planned by rtkvm."
    );
    let _ = writeln!(s, "# Pages of {human}: {}.", plan_text.join(", "));
    let _ = writeln!(s, "# Boot-time reservation, on the kernel command line:");
    let _ = writeln!(
        s,
        "#   default_hugepagesz={0} hugepagesz={0} hugepages={boot}",
        kernel_size(size_kib)
    );
    if runtime {
        let _ = writeln!(
            s,
            "# The kernel spreads boot-time pages evenly over the nodes, but these nodes need"
        );
        let _ = writeln!(
            s,
            "# different counts: run this script as root early in every boot (for example from"
        );
        let _ = writeln!(
            s,
            "# a systemd oneshot unit ordered Before=libvirtd.service) to set each node's count."
        );
        if size_kib >= 1024 * 1024 {
            let _ = writeln!(
                s,
                "# Pages of 1 GiB or more reserved at runtime may fall short once memory is"
            );
            let _ = writeln!(
                s,
                "# fragmented: the script reports any node that got fewer than planned."
            );
        }
    } else {
        let _ = writeln!(
            s,
            "# Every node gets the same count from the boot-time reservation, so this script"
        );
        let _ = writeln!(
            s,
            "# only checks it; run it after booting with the new command line."
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "set -u");
    let _ = writeln!(s, "size_kb={size_kib}");
    let _ = writeln!(s, "status=0");
    let _ = writeln!(s);
    let _ = writeln!(s, "pages_file() {{");
    let _ = writeln!(
        s,
        "  echo \"/sys/devices/system/node/node$1/hugepages/hugepages-${{size_kb}}kB/nr_hugepages\""
    );
    let _ = writeln!(s, "}}");
    let _ = writeln!(s);
    if runtime {
        let _ = writeln!(
            s,
            "# reserve NODE COUNT: sets the node's pool to COUNT pages."
        );
        let _ = writeln!(s, "reserve() {{");
        let _ = writeln!(s, "  if ! echo \"$2\" > \"$(pages_file \"$1\")\"; then");
        let _ = writeln!(
            s,
            "    echo \"node $1: cannot write $(pages_file \"$1\") (run as root)\" >&2"
        );
        let _ = writeln!(s, "    status=1");
        let _ = writeln!(s, "  fi");
        let _ = writeln!(s, "}}");
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "# check NODE COUNT: reports whether the node holds COUNT pages."
    );
    let _ = writeln!(s, "check() {{");
    let _ = writeln!(s, "  file=$(pages_file \"$1\")");
    let _ = writeln!(s, "  if [ ! -r \"$file\" ]; then");
    let _ = writeln!(
        s,
        "    echo \"node $1: $file is missing: is hugepagesz={} on the kernel command line?\" >&2",
        kernel_size(size_kib)
    );
    let _ = writeln!(s, "    status=1");
    let _ = writeln!(s, "    return");
    let _ = writeln!(s, "  fi");
    let _ = writeln!(s, "  got=$(cat \"$file\")");
    let _ = writeln!(s, "  if [ \"$got\" -lt \"$2\" ]; then");
    let _ = writeln!(
        s,
        "    echo \"node $1: $got of $2 pages of {human} reserved\" >&2"
    );
    let _ = writeln!(s, "    status=1");
    let _ = writeln!(s, "  else");
    let _ = writeln!(
        s,
        "    echo \"node $1: $got pages of {human} reserved (planned $2)\""
    );
    let _ = writeln!(s, "  fi");
    let _ = writeln!(s, "}}");
    let _ = writeln!(s);
    if runtime {
        for p in &part.hugepages {
            let _ = writeln!(s, "reserve {} {}", p.node, p.count);
        }
    }
    for p in &part.hugepages {
        let _ = writeln!(s, "check {} {}", p.node, p.count);
    }
    let _ = writeln!(s, "exit \"$status\"");
    let expected_pages = part
        .hugepages
        .iter()
        .map(|p| ExpectedPages {
            node: p.node,
            line: expected_pages_line(p.page_size_kib, p.count),
        })
        .collect();
    HugepageSettings {
        boot_pages: boot,
        runtime,
        script: s,
        verify_command,
        expected_pages,
    }
}
