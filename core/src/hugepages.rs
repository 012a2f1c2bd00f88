//! Huge page settings: the boot-time count, the per-node runtime top-up script and how to check the
//! result, and the sentence saying what the pages take of the host's memory.

use std::fmt::Write as _;

use crate::caps::expected_pages_line;
use crate::host::Host;
use crate::host_plan::HostPlan;
use crate::plan::Plan;
use crate::settings::{KernelType, Preset, Recipe, Reserve};
use crate::template::render;
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
/// It is [`HostPlan::boot_pages`], which the kernel command line reads too.
pub fn boot_pages(part: &HostPlan) -> u64 {
    part.boot_pages()
}

/// Builds the huge page settings for a partition. Only numbers and sizes go into the script.
pub fn hugepage_settings(host: &Host, part: &HostPlan) -> HugepageSettings {
    let size_kib = part.page_size_kib;
    let runtime = part.runtime_pages();
    let boot = if part.per_node_boot_pages() {
        part.hugepages.iter().map(|p| p.count).sum()
    } else {
        part.boot_pages()
    };
    let plan_text: Vec<String> = part
        .hugepages
        .iter()
        .map(|p| format!("{} on node {}", p.count, p.node))
        .collect();
    let per_node = |verb: &str| {
        part.hugepages
            .iter()
            .map(|p| format!("{verb} {} {}", p.node, p.count))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let script = if part.recipe >= Recipe::RealtimeHost {
        host_script(
            host,
            part,
            &plan_text.join(", "),
            &per_node("reserve"),
            &per_node("check"),
        )
    } else {
        render(
            include_str!("templates/hugepages.sh"),
            &[
                ("HUMAN", &format_kib(size_kib)),
                ("PLAN", &plan_text.join(", ")),
                ("SIZE", &kernel_size(size_kib)),
                ("BOOT", &boot.to_string()),
                ("SIZE_KB", &size_kib.to_string()),
                ("RESERVE", &per_node("reserve")),
                ("CHECK", &per_node("check")),
            ],
            |section| match section {
                "runtime" => runtime,
                "even" => !runtime,
                "gigantic" => runtime && size_kib >= GIB_KIB,
                other => panic!("unknown section %{other}% in templates/hugepages.sh"),
            },
        )
    };
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

/// Writes recipe 3's `rtkvm-host.sh`: the huge pages of every node (set at runtime where the kernel
/// cannot reserve them per node at boot, with retries, and checked), and on the `full` preset the
/// kernel threads above the vCPUs, the performance governor on the isolated CPUs and irqbalance kept
/// off them.
fn host_script(host: &Host, part: &HostPlan, plan: &str, reserve: &str, check: &str) -> String {
    let size_kib = part.page_size_kib;
    let full = part.preset == Preset::Full;
    let k = part.kthreads;
    let r4 = full && part.recipe >= Recipe::Qualified;
    render(
        include_str!("templates/rtkvm-host.sh"),
        &[
            ("HUMAN", &format_kib(size_kib)),
            ("PLAN", plan),
            ("SIZE", &kernel_size(size_kib)),
            ("SIZE_KB", &size_kib.to_string()),
            ("ISOLATED", &part.isolcpus.to_string()),
            ("RESERVE", reserve),
            ("CHECK", check),
            ("VCPU_PRIO", &k.vcpu.to_string()),
            ("KSOFTIRQD_PRIO", &k.ksoftirqd.to_string()),
            ("KTIMERS_PRIO", &k.ktimers.to_string()),
            ("RCU_PRIO", &k.rcu.to_string()),
            ("STALLD_PRIO", &k.stalld().to_string()),
            ("RECIPE", &part.recipe.number().to_string()),
            ("HK_MASK", &part.housekeeping.to_mask()),
        ],
        |section| match section {
            "runtime" => part.runtime_pages(),
            "full" => full,
            "rt" => full && part.kernel_type == KernelType::Rt,
            "r4" | "stalld" => r4,
            "rtcheck" => r4 && part.kernel_type == KernelType::Rt,
            // x86 holds its CPUs out of deep idle states on the command line (processor.max_cstate,
            // intel_idle.max_cstate); aarch64 and powerpc have no such parameter, so a per-CPU
            // limit does it there (s390x has no cpuidle).
            "idle" => r4 && matches!(host.libvirt_arch(), Some("aarch64" | "ppc64" | "ppc64le")),
            other => panic!("unknown section %{other}% in templates/rtkvm-host.sh"),
        },
    )
}

/// Writes recipe 3's `rtkvm-host.service`, the systemd unit that runs `rtkvm-host.sh` at every boot
/// before irqbalance, virtqemud and libvirtd.
pub fn host_unit(part: &HostPlan) -> String {
    let mut what = String::from(if part.runtime_pages() {
        "huge pages per node"
    } else {
        "huge page check"
    });
    if part.preset == Preset::Full {
        what.push_str(", kernel threads, CPU frequency, irqbalance");
    }
    render(
        include_str!("templates/rtkvm-host.service"),
        &[("WHAT", &what)],
        |section| panic!("unknown section %{section}% in templates/rtkvm-host.service"),
    )
}

/// Says what the huge pages take of the host's memory and what is left as normal memory: "Huge pages
/// take 52 GiB of the host's 64 GiB: 26 × 1 GiB on node 0, 26 × 1 GiB on node 1. The rest, 12 GiB,
/// stays normal memory (6 GiB or more on every node). The guest uses 16 GiB of them; 36 GiB stay
/// free for more guests, or reserve only the guest's."
pub fn reservation(host: &Host, plan: &Plan) -> String {
    let h = &plan.host;
    let size = h.page_size_kib;
    // A capabilities document may give any cell any size: the sums saturate rather than overflow.
    let total = (host.cells.iter().filter_map(|c| c.memory_kib)).fold(0, u64::saturating_add);
    let reserved =
        (h.hugepages.iter().map(|p| p.count.saturating_mul(size))).fold(0, u64::saturating_add);
    let nodes: Vec<String> = h
        .hugepages
        .iter()
        .map(|p| match p.count {
            0 => format!("none on node {}", p.node),
            n => format!("{n} × {} on node {}", format_kib(size), p.node),
        })
        .collect();
    let least_kept = h
        .hugepages
        .iter()
        .filter_map(|p| {
            let memory = host.cell(p.node)?.memory_kib?;
            Some(memory.saturating_sub(p.count.saturating_mul(size)))
        })
        .min()
        .unwrap_or(0);
    let mut text = format!(
        "Huge pages take {} of the host's {}: {}. The rest, {}, stays normal memory ({} or more on every node).",
        format_kib(reserved),
        format_kib(total),
        nodes.join(", "),
        format_kib(total.saturating_sub(reserved)),
        format_kib(least_kept),
    );
    let free = reserved.saturating_sub(plan.guest.memory_kib);
    let _ = match (free, h.reserve) {
        (0, _) => write!(text, " The guest uses all of them."),
        (_, Reserve::All) => write!(
            text,
            " The guest uses {} of them; {} stay free for more guests, or reserve only the guest's.",
            format_kib(plan.guest.memory_kib),
            format_kib(free)
        ),
        (_, Reserve::Guest) => write!(
            text,
            " The guest uses {} of them; {} stay spare on node {} for guests started later.",
            format_kib(plan.guest.memory_kib),
            format_kib(free),
            plan.guest.node
        ),
    };
    text
}
