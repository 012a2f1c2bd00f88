//! The bundle: every file of a plan at once, with a README of the steps in the order they are
//! applied (`rtkvm plan --format bundle --out DIR`).

use crate::outputs::{xml_file_name, OutputFile, Outputs};
use crate::plan::Plan;
use crate::settings::{KernelType, Preset, Recipe};
use crate::template::render;
use crate::units::format_kib;

/// Returns every file of the plan, `README.md` first, then the host's files, the domain XML and the
/// guest's files. `link` is the share link's fragment.
pub fn bundle(plan: &Plan, outputs: &Outputs, link: &str) -> Vec<OutputFile> {
    let mut files = vec![OutputFile {
        name: "README.md".into(),
        content: readme(plan, outputs, link),
    }];
    files.extend(outputs.files());
    files.extend(outputs.host_files());
    files.extend(outputs.guest_files());
    files
}

/// Writes the README: the plan in two sentences and the steps, each with its commands and what they
/// should print.
pub fn readme(plan: &Plan, outputs: &Outputs, link: &str) -> String {
    let g = &plan.guest;
    let h = &plan.host;
    let pins: Vec<String> = g
        .vcpupin
        .iter()
        .enumerate()
        .map(|(vcpu, cpu)| format!("vCPU {vcpu} on {cpu}"))
        .collect();
    let expected: Vec<String> = h
        .hugepages
        .iter()
        .map(|p| format!("{} pages on node {}", p.count, p.node))
        .collect();
    let unit_what = match (h.preset, h.runtime_pages()) {
        (Preset::Full, true) => "it reserves each node's huge pages (this kernel cannot at boot), raises the kernel threads above the vCPUs, sets the performance governor on the isolated CPUs and keeps irqbalance off them",
        (Preset::Full, false) => "it checks each node's huge pages, raises the kernel threads above the vCPUs, sets the performance governor on the isolated CPUs and keeps irqbalance off them",
        (Preset::Minimal, true) => "it reserves each node's huge pages, which this kernel cannot at boot",
        (Preset::Minimal, false) => "it checks each node's huge pages",
    };
    let xml = xml_file_name(&g.name);
    let r4 = plan.recipe >= Recipe::Qualified && h.preset == Preset::Full;
    let rt_kernel = h.kernel_type == KernelType::Rt;
    // The host CPUs of the guest's housekeeping vCPUs (its emulator CPUs when every vCPU is real-time).
    let guest_hk: crate::CpuSet = g
        .vcpupin
        .iter()
        .enumerate()
        .filter(|(vcpu, _)| !g.rt_vcpus.contains(*vcpu as u32))
        .map(|(_, cpu)| *cpu)
        .collect();
    let guest_hk = if guest_hk.is_empty() {
        g.emulatorpin.clone()
    } else {
        guest_hk
    };
    let iommu: Vec<&str> = outputs
        .kernel_params
        .iter()
        .map(|p| p.param.as_str())
        .filter(|p| p.starts_with("intel_iommu=") || p.starts_with("iommu"))
        .collect();
    let iommu = if iommu.is_empty() {
        String::new()
    } else {
        format!(" (`{}`)", iommu.join(" "))
    };
    render(
        include_str!("templates/README.md"),
        &[
            ("GUEST", &g.name),
            ("RECIPE", &plan.recipe.number().to_string()),
            ("LINK", link),
            ("VCPUS", &g.vcpus.to_string()),
            (
                "VCPUPIN",
                &g.vcpupin
                    .iter()
                    .copied()
                    .collect::<crate::CpuSet>()
                    .to_string(),
            ),
            ("NODE", &g.node.to_string()),
            ("MEMORY", &format_kib(g.memory_kib)),
            ("PAGE", &format_kib(g.page_size_kib)),
            ("HOUSEKEEPING", &h.housekeeping.to_string()),
            ("ISOLATED", &h.isolcpus.to_string()),
            ("UNIT_WHAT", unit_what),
            (
                "OLD_RUNTIME",
                if h.runtime_pages() {
                    " and first sets the counts the kernel could not spread evenly at boot"
                } else {
                    ""
                },
            ),
            ("SCRIPT", outputs.host_script_name),
            ("EXPECTED", &expected.join(", ")),
            ("XML", &xml),
            ("GUEST_ARG", &shell_word(&g.name)),
            ("PINS", &pins.join(", ")),
            (
                "R4_TUNED_KERNEL",
                if rt_kernel {
                    " and the PREEMPT_RT kernel with its KVM modules (kernel-rt, kernel-rt-kvm), as the default boot entry"
                } else {
                    ""
                },
            ),
            ("STALLD_PRIO", &h.kthreads.stalld().to_string()),
            ("HK_COUNT", &h.housekeeping.len().to_string()),
            ("ISO_COUNT", &h.isolcpus.len().to_string()),
            ("R4_IOMMU", &iommu),
            ("GUEST_HK_PINS", &guest_hk.to_string()),
        ],
        |section| match section {
            "host" => plan.recipe >= Recipe::RealtimeHost,
            "old" => plan.recipe < Recipe::RealtimeHost,
            "r4full" => r4,
            "r4fullrt" => r4 && rt_kernel,
            other => panic!("unknown section %{other}% in templates/README.md"),
        },
    )
}

/// Quotes a guest name for a shell command line in single quotes when it needs it.
fn shell_word(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "'\\''"))
    }
}
