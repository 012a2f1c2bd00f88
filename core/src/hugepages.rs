//! Huge page settings: the boot-time count, the per-node runtime top-up script and how to check the
//! result.

use crate::caps::expected_pages_line;
use crate::plan::HostPlan;
use crate::units::{format_kib, kernel_size, GIB_KIB};

/// How to reserve the planned huge pages and check them.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedPages {
    /// The node id.
    pub node: u32,
    /// The `<pages>` line.
    pub line: String,
}

/// Returns the `hugepages=` value: the total when every node gets the same count, else the smallest
/// per-node count times the number of nodes (the kernel's even split), the rest being added at runtime.
pub fn boot_pages(part: &HostPlan) -> u64 {
    let min = part.hugepages.iter().map(|p| p.count).min().unwrap_or(0);
    min * part.hugepages.len() as u64
}

/// The script's text, with its variable parts marked: `@NAME@` is replaced by a number or a size, and a
/// line starting with `%section%` is kept only where that section applies (`runtime`, `even`,
/// `gigantic`), or repeated for each node (`each`, `runtime-each`).
const TEMPLATE: &str = include_str!("templates/hugepages.sh");

/// Builds the huge page settings for a partition. Only numbers and sizes go into the script.
pub fn hugepage_settings(part: &HostPlan) -> HugepageSettings {
    let size_kib = part.page_size_kib;
    let runtime = part.uneven_pages();
    let boot = boot_pages(part);
    let human = format_kib(size_kib);
    let plan_text: Vec<String> = part
        .hugepages
        .iter()
        .map(|p| format!("{} on node {}", p.count, p.node))
        .collect();
    let fill = |line: &str| {
        line.replace("@HUMAN@", &human)
            .replace("@PLAN@", &plan_text.join(", "))
            .replace("@SIZE@", &kernel_size(size_kib))
            .replace("@BOOT@", &boot.to_string())
            .replace("@SIZE_KB@", &size_kib.to_string())
    };
    let mut script = String::new();
    for line in TEMPLATE.lines() {
        let (section, body) = match line.strip_prefix('%').and_then(|l| l.split_once('%')) {
            Some((section, body)) => (Some(section), body),
            None => (None, line),
        };
        let kept = match section {
            None => true,
            Some("runtime") => runtime,
            Some("even") => !runtime,
            Some("gigantic") => runtime && size_kib >= GIB_KIB,
            Some("each") => {
                for p in &part.hugepages {
                    script.push_str(&per_node(body, p.node, p.count));
                }
                false
            }
            Some("runtime-each") => {
                if runtime {
                    for p in &part.hugepages {
                        script.push_str(&per_node(body, p.node, p.count));
                    }
                }
                false
            }
            Some(other) => unreachable!("unknown section %{other}% in templates/hugepages.sh"),
        };
        if kept {
            script.push_str(&fill(body));
            script.push('\n');
        }
    }
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
        script,
        verify_command: format!(
            "grep -H . /sys/devices/system/node/node*/hugepages/hugepages-{size_kib}kB/nr_hugepages"
        ),
        expected_pages,
    }
}

fn per_node(line: &str, node: u32, count: u64) -> String {
    format!(
        "{}\n",
        line.replace("@NODE@", &node.to_string())
            .replace("@COUNT@", &count.to_string())
    )
}
