//! The host kernel command line, one explained parameter at a time.

use crate::host::{Host, X86Vendor};
use crate::host_plan::HostPlan;
use crate::settings::{Preset, Recipe};
use crate::units::kernel_size;

/// tuned's `realtime` profile (redhat-performance/tuned `profiles/realtime/tuned.conf`).
pub const TUNED_REALTIME: &str = "tuned realtime";
/// tuned's `realtime-virtual-host` profile and its `script.sh`.
pub const TUNED_RVH: &str = "tuned realtime-virtual-host";
/// tuned's `realtime-virtual-guest` profile.
pub const TUNED_RVG: &str = "tuned realtime-virtual-guest";
/// tuned's `network-latency` profile, which `realtime` includes.
pub const TUNED_NETWORK_LATENCY: &str = "tuned network-latency";
/// tuned's `intel_recommended_pstate` function (`tuned/profiles/functions/function_intel_recommended_pstate.py`).
pub const TUNED_INTEL_PSTATE: &str = "tuned intel_recommended_pstate";
/// The OpenShift Node Tuning Operator's `openshift-node-performance` profiles.
pub const NTO: &str = "OpenShift Node Tuning Operator";
/// The kernel's `Documentation/admin-guide/kernel-parameters.txt`.
pub const KERNEL_DOC: &str = "kernel-parameters.txt";
/// The kernel's `Documentation/admin-guide/mm/hugetlbpage.rst`.
pub const HUGETLB_DOC: &str = "kernel hugetlbpage.rst";
/// The kernel's s390 KVM module (`arch/s390/kvm/kvm-s390.c`, its `hpage` parameter).
pub const KVM_S390: &str = "kernel kvm-s390.c";
/// libvirt's "KVM Real Time Guest Config" page.
pub const LIBVIRT_GUIDE: &str = "libvirt's guide";

/// One kernel parameter with the reason it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelParam {
    /// The parameter as written on the command line (`nohz_full=2-7`).
    pub param: String,
    /// One sentence saying what it does.
    pub explanation: String,
    /// Where production deployments apply the same (one of the constants of this module).
    pub source: &'static str,
}

/// Makes a parameter with its explanation and source (one copy, not one per call: the site stays
/// small).
#[inline(never)]
pub(crate) fn param(param: String, explanation: &str, source: &'static str) -> KernelParam {
    KernelParam {
        param,
        explanation: explanation.to_string(),
        source,
    }
}

/// Returns the most bytes the host's kernel takes on its command line (`COMMAND_LINE_SIZE`): 4096 on
/// s390x, 2048 on x86, arm64 and powerpc.
pub fn max_cmdline_bytes(host: &Host) -> usize {
    match host.libvirt_arch() {
        Some("s390x") => 4096,
        _ => 2048,
    }
}

/// Builds the kernel command line for a partition, with the partition's preset. Every value is a
/// cpulist or a number, so nothing a user typed can reach it.
pub fn kernel_params(host: &Host, part: &HostPlan) -> Vec<KernelParam> {
    let mut params = Vec::new();
    match (part.preset, part.recipe >= Recipe::RealtimeHost) {
        (Preset::Full, true) => realtime_host_params(host, part, &mut params),
        (preset, _) => guide_params(host, part, preset, &mut params),
    }
    hugepage_params(part, &mut params);
    if host.libvirt_arch() == Some("s390x") && part.page_size_kib == 1024 {
        // Every revision: without it QEMU refuses the guest ("Memory backing with 1M pages was
        // specified, but KVM does not support this memory backing"), so no plan ran without it.
        params.push(param(
            "kvm.hpage=1".into(),
            "Lets KVM back guests with 1 MiB huge pages, which s390x offers only with it; kernels before 7.0 refuse it together with kvm.nested=1 (nested guests).",
            KVM_S390,
        ));
    }
    params
}

/// Builds the command line of recipes 1 and 2 (and the `minimal` preset of every recipe).
fn guide_params(host: &Host, part: &HostPlan, preset: Preset, params: &mut Vec<KernelParam>) {
    let iso = part.isolcpus.to_string();
    let hk = part.housekeeping.to_string();
    match preset {
        Preset::Minimal => params.push(param(
            format!("isolcpus={iso}"),
            "Removes the isolated CPUs from the scheduler, so that no process or kernel thread is placed on them unless pinned there.",
            LIBVIRT_GUIDE,
        )),
        Preset::Full => {
            params.push(param(
                format!("isolcpus=managed_irq,domain,{iso}"),
                "Removes the isolated CPUs from the scheduler's load balancing (domain) and keeps managed device interrupts off them (managed_irq).",
                TUNED_REALTIME,
            ));
            tickless_params(host, part.recipe, &iso, params);
            params.push(param(
                format!("irqaffinity={hk}"),
                "Sends device interrupts to the housekeeping CPUs by default.",
                NTO,
            ));
            params.push(param(
                "skew_tick=1".into(),
                "Offsets the tick on each CPU so that they do not all contend for the same kernel locks at once.",
                TUNED_NETWORK_LATENCY,
            ));
            if host.is_x86() {
                params.push(param(
                    "tsc=reliable".into(),
                    "Trusts the TSC clock source and turns off the clocksource watchdog, which periodically interrupts every CPU.",
                    TUNED_NETWORK_LATENCY,
                ));
            }
            params.push(param(
                "nosoftlockup".into(),
                "Turns off the soft-lockup detector, which would otherwise report a real-time vCPU that holds its CPU for long.",
                TUNED_REALTIME,
            ));
            if host.is_x86() {
                match host.vendor.as_deref() {
                    Some(v) if v.eq_ignore_ascii_case("AMD") => params.push(param(
                        "amd_pstate=disable".into(),
                        "Turns off the amd_pstate driver, so that the CPU frequency is not changed under the guest.",
                        NTO,
                    )),
                    Some(v) if v.eq_ignore_ascii_case("Intel") => params.push(param(
                        "intel_pstate=disable".into(),
                        "Turns off the intel_pstate driver, so that the CPU frequency is not changed under the guest.",
                        TUNED_REALTIME,
                    )),
                    _ => {}
                }
            }
        }
    }
}

/// Builds recipe 3's full command line: tuned's realtime-virtual-host and the Node Tuning Operator's
/// real-time profile, with only what the host's architecture, CPU vendor and kernel take.
fn realtime_host_params(host: &Host, part: &HostPlan, params: &mut Vec<KernelParam>) {
    let iso = part.isolcpus.to_string();
    let hk = part.housekeeping.to_string();
    let arch = host.libvirt_arch().unwrap_or("x86_64");
    let vendor = host.x86_vendor();
    params.push(if part.kernel.managed_irq() {
        param(
            format!("isolcpus=managed_irq,domain,{iso}"),
            "Removes the isolated CPUs from the scheduler's load balancing (domain) and keeps managed device interrupts off them (managed_irq).",
            TUNED_REALTIME,
        )
    } else {
        param(
            format!("isolcpus={iso}"),
            "Removes the isolated CPUs from load balancing; kernels before 5.6 refuse managed_irq with the whole isolcpus=, so it is left out.",
            KERNEL_DOC,
        )
    });
    tickless_params(host, part.recipe, &iso, params);
    params.push(param(
        format!("rcutree.kthread_prio={}", part.kthreads.rcu),
        "Runs RCU's kernel threads at SCHED_FIFO above the vCPUs, so that a spinning vCPU cannot stall RCU.",
        NTO,
    ));
    params.push(param(
        "rcupdate.rcu_normal_after_boot=1".into(),
        "After boot, expedited RCU grace periods, which interrupt every CPU, become normal ones.",
        TUNED_NETWORK_LATENCY,
    ));
    if part.recipe >= Recipe::Qualified && arch != "s390x" {
        params.push(param(
            "rcutree.nohz_full_patience_delay=1000".into(),
            "Lets RCU wait up to a second before it interrupts a tickless isolated CPU to end a grace period (Linux 6.11; older kernels ignore it).",
            TUNED_NETWORK_LATENCY,
        ));
    }
    params.push(param(
        format!("irqaffinity={hk}"),
        "Sends device interrupts to the housekeeping CPUs by default.",
        NTO,
    ));
    params.push(param(
        "skew_tick=1".into(),
        "Offsets the tick on each CPU so that they do not all contend for the same kernel locks at once.",
        TUNED_NETWORK_LATENCY,
    ));
    if part.recipe >= Recipe::Qualified {
        iommu_params(host, params);
    }
    if host.is_x86() && host.invariant_tsc() == Some(true) {
        params.push(param(
            "tsc=reliable".into(),
            "Trusts the invariant TSC (invtsc) and turns off the clocksource watchdog, which interrupts every CPU.",
            TUNED_NETWORK_LATENCY,
        ));
    }
    params.push(param(
        "nosoftlockup".into(),
        "Turns off the soft-lockup detector, which would otherwise report a real-time vCPU that holds its CPU for long.",
        TUNED_REALTIME,
    ));
    if arch != "s390x" {
        // NTO writes it in its x86 profiles only; on aarch64 and powerpc the kernel's own
        // documentation is the source.
        params.push(param(
            "nmi_watchdog=0".into(),
            "Turns off the hard-lockup detector's periodic NMI on every CPU.",
            if host.is_x86() { NTO } else { KERNEL_DOC },
        ));
    }
    if host.is_x86() {
        params.push(param(
            "mce=ignore_ce".into(),
            "Stops the periodic polling for corrected machine-check errors; uncorrected ones are still handled.",
            TUNED_REALTIME,
        ));
        let qualified = part.recipe >= Recipe::Qualified;
        match vendor {
            // Recipe 4 chooses by generation, as tuned's intel_recommended_pstate does.
            Some(X86Vendor::Intel) if qualified && host.intel_before_ice_lake() == Some(false) => {
                params.push(param(
                    "intel_pstate=active".into(),
                    "Keeps intel_pstate in active mode with hardware P-states (HWP), which Intel recommends from Ice Lake on; its performance policy (tuned or rtkvm-host.sh) asks for the highest P-state, turbo included.",
                    TUNED_INTEL_PSTATE,
                ))
            }
            Some(X86Vendor::Intel) => params.push(param(
                "intel_pstate=disable".into(),
                if qualified {
                    "Hands frequency control to acpi-cpufreq, as tuned's intel_recommended_pstate does before Ice Lake (or when the CPU model cannot be told), where an active intel_pstate caused jitter; its performance governor (tuned or rtkvm-host.sh) requests the highest P-state, turbo included."
                } else {
                    "Hands frequency control from intel_pstate to acpi-cpufreq, whose performance governor (tuned or rtkvm-host.sh) requests the highest P-state, turbo included."
                },
                TUNED_REALTIME,
            )),
            Some(X86Vendor::Amd) if part.kernel.amd_pstate() => params.push(param(
                "amd_pstate=disable".into(),
                "Hands frequency control from amd_pstate to acpi-cpufreq, whose performance governor (tuned or rtkvm-host.sh) requests the highest P-state, without the platform choosing within a range.",
                TUNED_REALTIME,
            )),
            _ => {}
        }
        params.push(param(
            "processor.max_cstate=1".into(),
            "Keeps idle CPUs out of deep C-states, whose exit latency a waking vCPU would pay; it costs power.",
            NTO,
        ));
        if vendor == Some(X86Vendor::Intel) {
            params.push(param(
                "intel_idle.max_cstate=0".into(),
                "Turns off intel_idle, which would choose deeper C-states.",
                NTO,
            ));
        }
        params.push(param(
            "kvm.kvmclock_periodic_sync=N".into(),
            "Stops KVM's periodic kvmclock update, which interrupts the vCPUs.",
            TUNED_RVH,
        ));
        if vendor == Some(X86Vendor::Intel) {
            params.push(param(
                "kvm_intel.ple_gap=0".into(),
                "Turns off pause-loop exiting, which only helps hosts with more vCPUs than CPUs.",
                TUNED_RVH,
            ));
        }
    }
    params.push(param(
        "transparent_hugepage=never".into(),
        "Turns off transparent huge pages, whose compaction can stall the host; the guest uses reserved huge pages.",
        TUNED_NETWORK_LATENCY,
    ));
}

/// Adds recipe 4's IOMMU parameters, for the passthrough NICs most real-time guests use (VFIO needs
/// the IOMMU on), in pass-through mode for the host's own devices, so that only devices given to
/// guests pay for translation: `intel_iommu=on iommu=pt` on Intel, `iommu=pt` on AMD (whose IOMMU is
/// on by default), `iommu.passthrough=1` on aarch64. powerpc and s390x always translate, and take
/// neither.
fn iommu_params(host: &Host, params: &mut Vec<KernelParam>) {
    match (host.libvirt_arch(), host.x86_vendor()) {
        (_, Some(X86Vendor::Intel)) => params.push(param(
            "intel_iommu=on".into(),
            "Turns on the Intel IOMMU (VT-d), which passing a device to a guest with VFIO needs.",
            NTO,
        )),
        (Some("aarch64"), _) => params.push(param(
            "iommu.passthrough=1".into(),
            "Leaves the host's own DMA untranslated by the SMMU; devices given to guests through VFIO are still translated.",
            KERNEL_DOC,
        )),
        _ => {}
    }
    if host.x86_vendor().is_some() {
        params.push(param(
            "iommu=pt".into(),
            "Leaves the host's own DMA untranslated (pass-through), so that the IOMMU costs only the devices given to guests through VFIO.",
            NTO,
        ));
    }
}

/// Adds the parameters every recipe's full preset gives the isolated CPUs after `isolcpus=`: no
/// tick (`nohz=on`, `nohz_full=`) and no RCU callbacks (`rcu_nocbs=`), as tuned's
/// realtime-virtual-host writes them.
///
/// s390x has no `nohz_full`: its kernel cannot be built with `NO_HZ_FULL`, which needs context
/// tracking the architecture does not have. Recipe 4 leaves both tick parameters out there; the
/// revisions before keep writing them (their links open to the same command line) and say that they
/// do nothing.
fn tickless_params(host: &Host, recipe: Recipe, iso: &str, params: &mut Vec<KernelParam>) {
    let s390x = host.libvirt_arch() == Some("s390x");
    if s390x && recipe >= Recipe::Qualified {
        params.push(param(
            format!("rcu_nocbs={iso}"),
            "Moves RCU callback processing off the isolated CPUs onto kernel threads on the housekeeping CPUs.",
            TUNED_RVH,
        ));
        return;
    }
    let (nohz, nohz_full) = if s390x {
        (
            "Does nothing on s390x, whose kernel has no tickless mode for busy CPUs (recipe 4 leaves it out).",
            "Does nothing on s390x: its kernel cannot be built with NO_HZ_FULL, which needs context tracking (recipe 4 leaves it out).",
        )
    } else {
        (
            "Turns on the tickless kernel, which nohz_full needs.",
            "Stops the periodic scheduler tick on the isolated CPUs while each runs a single task, its vCPU.",
        )
    };
    params.push(param("nohz=on".into(), nohz, TUNED_RVH));
    params.push(param(format!("nohz_full={iso}"), nohz_full, TUNED_RVH));
    params.push(param(
        format!("rcu_nocbs={iso}"),
        "Moves RCU callback processing off the isolated CPUs onto kernel threads on the housekeeping CPUs.",
        TUNED_RVH,
    ));
}

/// Adds the huge page parameters: the default and reserved size, and the pages to reserve at boot,
/// per node where the nodes differ and the kernel takes per-node counts (recipe 3 on 5.16 and later).
fn hugepage_params(part: &HostPlan, params: &mut Vec<KernelParam>) {
    let size = kernel_size(part.page_size_kib);
    params.push(param(
        format!("default_hugepagesz={size}"),
        "Makes this the default huge page size, the one hugetlbfs mounts and libvirt use unless told otherwise.",
        HUGETLB_DOC,
    ));
    params.push(param(
        format!("hugepagesz={size}"),
        "Enables this huge page size so that pages of it can be reserved at boot.",
        HUGETLB_DOC,
    ));
    params.push(if part.per_node_boot_pages() {
        let counts: Vec<String> = part
            .hugepages
            .iter()
            .map(|p| format!("{}:{}", p.node, p.count))
            .collect();
        param(
            format!("hugepages={}", counts.join(",")),
            "Reserves each node's huge pages at boot (node:count, Linux 5.16), before memory fragments.",
            HUGETLB_DOC,
        )
    } else {
        param(
            format!("hugepages={}", part.boot_pages()),
            "Reserves this many huge pages at boot, before memory fragments; the kernel spreads them evenly over the NUMA nodes.",
            HUGETLB_DOC,
        )
    });
}

/// Joins kernel parameters into the command line addition.
pub fn join(params: &[KernelParam]) -> String {
    params
        .iter()
        .map(|p| p.param.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
