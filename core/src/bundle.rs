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
    let check = OutputFile {
        name: "rtkvm-check.sh".into(),
        content: crate::verify::check_script(plan, outputs),
    };
    if outputs.others.is_empty() {
        files.extend(outputs.files());
        files.extend(outputs.host_files());
        files.push(check);
        files.extend(outputs.guest_files());
        return files;
    }
    // Several guests: the host's files once, each guest's in a folder named after it.
    let [cmdline, script, _] = outputs.files();
    files.push(cmdline);
    files.push(script);
    files.extend(outputs.host_files());
    files.push(check);
    for guest in std::iter::once(outputs.first_guest()).chain(outputs.others.iter().cloned()) {
        let folder = guest_folder(&guest.name);
        files.extend(guest.files().into_iter().map(|f| OutputFile {
            name: format!("{folder}/{}", f.name),
            content: f.content,
        }));
    }
    files
}

/// Returns every file of [`bundle`], then the exports for the Node Tuning Operator, KubeVirt and Nova
/// in the folder `deploy/` with a README of their own ([`crate::export::Exports::files`]).
pub fn bundle_with_exports(
    host: &crate::Host,
    plan: &Plan,
    outputs: &Outputs,
    link: &str,
) -> Vec<OutputFile> {
    let mut files = bundle(plan, outputs, link);
    files.extend(crate::export::exports(host, plan, outputs).files());
    files
}

/// Returns the folder of a guest's files in the bundle: its XML file's name without `.xml`, so
/// nothing a user typed can leave the bundle's directory.
pub fn guest_folder(name: &str) -> String {
    let file = xml_file_name(name);
    file.trim_end_matches(".xml").to_string()
}

/// Writes step 4 to 6 of the README for several guests: each guest's commands, from its folder.
fn guest_steps(plan: &Plan, iommu: &str, r4: bool) -> String {
    let mut text = String::from("## 4. The guests\n\nAdd each guest's disks and network interfaces to its XML (with `<driver iothread='1'>` on\neach disk, so that their I/O runs beside its emulator threads), then define and start it.\n");
    for g in plan.guests() {
        let folder = guest_folder(&g.name);
        let xml = format!(
            "{}/{}",
            shell_word(&folder),
            shell_word(&xml_file_name(&g.name))
        );
        let arg = shell_word(&g.name);
        let pins = vcpu_pins(g);
        text.push_str(&format!(
            "\n### {}\n\n    virsh define {}\n    virsh start {arg}\n    virsh vcpupin {arg}\n\n`virsh vcpupin` must show each vCPU on its own host CPU: {}.\n",
            g.name,
            xml,
            pins.join(", ")
        ));
        if r4 {
            text.push_str(&format!(
                "\nA network card passed through to it with VFIO needs the IOMMU, which the command line turns\non{iommu}. Once it runs, send that card's interrupts (`grep vfio /proc/interrupts` names each by\nits PCI address) to the host CPUs of its housekeeping vCPUs, {}.\n",
                guest_housekeeping_cpus(g)
            ));
        }
    }
    text.push_str("\n## 5. Inside each guest\n\nCopy the guest's `guest-setup.sh` (from its folder) into it and run it there as root: it installs\nthe real-time kernel and tuned's realtime-virtual-guest profile with the guest's\n`realtime-virtual-guest-variables.conf`, which puts its `guest-kernel-cmdline.txt` on its command\nline. Then reboot the guest.\n\n## 6. Test it\n\nRun each guest's `latency-test.sh` in it: cyclictest, then oslat, on its real-time vCPUs, each\nfor 12 hours unless given another duration (`sh latency-test.sh 1h`), while the host is loaded on\nits housekeeping CPUs only.");
    text
}

/// Each vCPU with its host CPU, as `virsh vcpupin` should show them (`vCPU 0 on 12`).
fn vcpu_pins(g: &crate::plan::GuestPlan) -> Vec<String> {
    g.vcpupin
        .iter()
        .enumerate()
        .map(|(vcpu, cpu)| format!("vCPU {vcpu} on {cpu}"))
        .collect()
}

/// The host CPUs of a guest's housekeeping vCPUs (its emulator CPUs when every vCPU is real-time).
fn guest_housekeeping_cpus(g: &crate::plan::GuestPlan) -> crate::CpuSet {
    let cpus: crate::CpuSet = g
        .vcpupin
        .iter()
        .enumerate()
        .filter(|(vcpu, _)| !g.rt_vcpus.contains(*vcpu as u32))
        .map(|(_, cpu)| *cpu)
        .collect();
    if cpus.is_empty() {
        g.emulatorpin.clone()
    } else {
        cpus
    }
}

/// An existing domain the plan patches (`rtkvm apply`, or a domain pasted into the app): its guest
/// step then defines the patched domain instead of the plan's new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patched<'a> {
    /// The patched domain's file name ([`xml_file_name`] of its name).
    pub xml: &'a str,
    /// The file name of the diff from the domain as it was to the patched one ([`diff_file_name`]).
    pub diff: &'a str,
}

/// Returns the file name of the diff that patches a domain: its XML file's name with `.diff`.
pub fn diff_file_name(name: &str) -> String {
    format!("{}.diff", guest_folder(name))
}

/// Writes the README: the plan in two sentences and the steps, each with its commands and what they
/// should print.
pub fn readme(plan: &Plan, outputs: &Outputs, link: &str) -> String {
    readme_for(plan, outputs, link, None)
}

/// Writes the README of [`readme`], for an existing domain the plan patches when `patched` names
/// one: the guest's step then defines the patched domain.
pub fn readme_for(
    plan: &Plan,
    outputs: &Outputs,
    link: &str,
    patched: Option<Patched<'_>>,
) -> String {
    let g = &plan.guest;
    let h = &plan.host;
    let pins = vcpu_pins(g);
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
    let guest_hk = guest_housekeeping_cpus(g);
    let several = !plan.others.is_empty();
    let summary: Vec<String> = plan
        .guests()
        .map(|g| {
            format!(
                "- {}: {} vCPUs on host CPUs {} of NUMA node {}, {} of {} huge pages.",
                g.name,
                g.vcpus,
                g.vcpupin.iter().copied().collect::<crate::CpuSet>(),
                g.node,
                format_kib(g.memory_kib),
                format_kib(g.page_size_kib)
            )
        })
        .collect();
    let names: Vec<&str> = plan.guests().map(|g| g.name.as_str()).collect();
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
            ("XML", patched.map_or(xml.as_str(), |p| p.xml)),
            ("DIFF", patched.map_or("", |p| p.diff)),
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
            ("GUEST_COUNT", &names.len().to_string()),
            ("GUEST_NAMES", &names.join(", ")),
            ("GUESTS_SUMMARY", &summary.join("\n")),
            (
                "GUEST_STEPS",
                &if several {
                    guest_steps(plan, &iommu, r4)
                } else {
                    String::new()
                },
            ),
        ],
        |section| match section {
            "host" => plan.recipe >= Recipe::RealtimeHost,
            "old" => plan.recipe < Recipe::RealtimeHost,
            "r4full" => r4,
            "r4one" => r4 && !several,
            "one" => !several,
            "new" => !several && patched.is_none(),
            "patched" => !several && patched.is_some(),
            "several" => several,
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

#[cfg(test)]
mod tests {
    use super::{diff_file_name, readme, readme_for, Patched};
    use crate::outputs::xml_file_name;

    #[test]
    fn a_patched_domain_is_defined_instead_of_a_new_one() {
        let host = crate::parse_capabilities(crate::EXAMPLE_CAPABILITIES).unwrap();
        let mut settings = crate::Settings::default();
        settings.guest.name = "plc 1".into();
        let plan = crate::plan(&host, &settings).unwrap();
        let outputs = crate::outputs(&host, &plan);
        let (xml, diff) = (xml_file_name("plc 1"), diff_file_name("plc 1"));
        assert_eq!(diff, "plc_1.diff");
        let new = readme(&plan, &outputs, "#v6.x");
        assert_eq!(new, readme_for(&plan, &outputs, "#v6.x", None));
        let patched = Patched {
            xml: &xml,
            diff: &diff,
        };
        let patched = readme_for(&plan, &outputs, "#v6.x", Some(patched));
        assert!(
            new.contains("Add the guest's disks") && !patched.contains("Add the guest's disks")
        );
        assert!(patched.contains("Review the changes in `plc_1.diff`"));
        assert!(patched.contains("define the patched domain `plc_1.xml`"));
        assert!(patched.contains("\n    virsh define plc_1.xml\n    virsh start 'plc 1'\n"));
        // Only the guest's step differs.
        let step = |r: &str| r.split("## 4.").next().unwrap().to_string();
        assert_eq!(step(&new), step(&patched));
        let rest = |r: &str| r.split("## 5.").nth(1).unwrap().to_string();
        assert_eq!(rest(&new), rest(&patched));
    }
}
