//! The host kernel command line, one explained parameter at a time.

use crate::host::Host;
use crate::hugepages::boot_pages;
use crate::plan::HostPlan;
use crate::settings::Preset;
use crate::units::kernel_size;

/// One kernel parameter with the reason it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelParam {
    /// The parameter as written on the command line (`nohz_full=2-7`).
    pub param: String,
    /// One sentence saying what it does.
    pub explanation: String,
}

/// Makes a parameter with its explanation.
pub(crate) fn param(param: String, explanation: &str) -> KernelParam {
    KernelParam {
        param,
        explanation: explanation.to_string(),
    }
}

/// Builds the kernel command line for a partition, with the partition's preset. Every value is a
/// cpulist or a number, so nothing a user typed can reach it.
pub fn kernel_params(host: &Host, part: &HostPlan) -> Vec<KernelParam> {
    let iso = part.isolcpus.to_string();
    let hk = part.housekeeping.to_string();
    let mut params = Vec::new();
    match part.preset {
        Preset::Minimal => params.push(param(
            format!("isolcpus={iso}"),
            "Removes the isolated CPUs from the scheduler, so that no process or kernel thread is placed on them unless pinned there.",
        )),
        Preset::Full => {
            params.push(param(
                format!("isolcpus=managed_irq,domain,{iso}"),
                "Removes the isolated CPUs from the scheduler's load balancing (domain) and keeps managed device interrupts off them (managed_irq).",
            ));
            params.push(param(
                "nohz=on".into(),
                "Turns on the tickless kernel, which nohz_full needs.",
            ));
            params.push(param(
                format!("nohz_full={iso}"),
                "Stops the periodic scheduler tick on the isolated CPUs while each runs a single task, its vCPU.",
            ));
            params.push(param(
                format!("rcu_nocbs={iso}"),
                "Moves RCU callback processing off the isolated CPUs onto kernel threads on the housekeeping CPUs.",
            ));
            params.push(param(
                format!("irqaffinity={hk}"),
                "Sends device interrupts to the housekeeping CPUs by default.",
            ));
            params.push(param(
                "skew_tick=1".into(),
                "Offsets the tick on each CPU so that they do not all contend for the same kernel locks at once.",
            ));
            if host.is_x86() {
                params.push(param(
                    "tsc=reliable".into(),
                    "Trusts the TSC clock source and turns off the clocksource watchdog, which periodically interrupts every CPU.",
                ));
            }
            params.push(param(
                "nosoftlockup".into(),
                "Turns off the soft-lockup detector, which would otherwise report a real-time vCPU that holds its CPU for long.",
            ));
            if host.is_x86() {
                match host.vendor.as_deref() {
                    Some(v) if v.eq_ignore_ascii_case("AMD") => params.push(param(
                        "amd_pstate=disable".into(),
                        "Turns off the amd_pstate driver, so that the CPU frequency is not changed under the guest.",
                    )),
                    Some(v) if v.eq_ignore_ascii_case("Intel") => params.push(param(
                        "intel_pstate=disable".into(),
                        "Turns off the intel_pstate driver, so that the CPU frequency is not changed under the guest.",
                    )),
                    _ => {}
                }
            }
        }
    }
    let size = kernel_size(part.page_size_kib);
    params.push(param(
        format!("default_hugepagesz={size}"),
        "Makes this the default huge page size, the one hugetlbfs mounts and libvirt use unless told otherwise.",
    ));
    params.push(param(
        format!("hugepagesz={size}"),
        "Enables this huge page size so that pages of it can be reserved at boot.",
    ));
    params.push(param(
        format!("hugepages={}", boot_pages(part)),
        "Reserves this many huge pages at boot, before memory fragments; the kernel spreads them evenly over the NUMA nodes.",
    ));
    params
}

/// Joins kernel parameters into the command line addition.
pub fn join(params: &[KernelParam]) -> String {
    params
        .iter()
        .map(|p| p.param.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
