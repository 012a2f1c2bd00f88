//! The OpenShift Node Tuning Operator's `PerformanceProfile` (`performance.openshift.io/v2`) for the
//! host: the operator writes the kernel command line, tuned profile, kubelet settings and huge pages
//! from it.
//!
//! Read against openshift/cluster-node-tuning-operator at d2394aa: the CRD
//! (`manifests/20-performance-profile.crd.yaml`), its webhook
//! (`pkg/apis/performanceprofile/v2/performanceprofile_validation.go`) and the tuned profile it
//! renders (`assets/performanceprofile/tuned/openshift-node-performance` and its `-intel-x86`,
//! `-amd-x86`, `-arm-aarch64` children; `pkg/performanceprofile/controller/performanceprofile/
//! components/tuned/tuned.go` for the huge pages).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{comments, to_yaml, warning_lines, Export, VERSION};
use crate::cmdline::KernelParam;
use crate::host::{Host, X86Vendor};
use crate::plan::Plan;
use crate::settings::{KernelType, Preset, Recipe};
use crate::units::{format_kib, GIB_KIB};
use crate::CpuSet;

/// The file's name in the bundle.
pub const FILE: &str = "nto-performanceprofile.yaml";

/// The node selector's placeholder label: the user replaces it with the label of the real-time
/// worker nodes (the webhook wants `<domain>/<role>`, from which the operator derives its
/// MachineConfigPool selector).
pub const NODE_SELECTOR_PLACEHOLDER: &str = "node-role.kubernetes.io/worker-rt";

/// The profile's name.
pub const PROFILE_NAME: &str = "rtkvm-realtime";

/// The kernel thread priority NTO gives `ksoftirqd`, `ktimers` and `rcuc` (its tuned `[scheduler]`
/// groups) and `rcutree.kthread_prio` (`openshift-node-performance` 71-73 and 167).
pub const NTO_KTHREAD_PRIORITY: u32 = 11;

/// `PerformanceProfile`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceProfile {
    /// `performance.openshift.io/v2`.
    pub api_version: &'static str,
    /// `PerformanceProfile`.
    pub kind: &'static str,
    /// Its name.
    pub metadata: Metadata,
    /// What the operator applies.
    pub spec: Spec,
}

/// `metadata`.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    /// The profile's name.
    pub name: String,
}

/// `spec`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// The CPU partition.
    pub cpu: Cpu,
    /// The huge pages, when the profile can ask for the plan's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hugepages: Option<Hugepages>,
    /// The RT kernel.
    pub real_time_kernel: RealTimeKernel,
    /// The workload hints.
    pub workload_hints: WorkloadHints,
    /// The kubelet's topology manager policy.
    pub numa: Numa,
    /// Keeps device interrupts off the isolated CPUs (tuned's irqbalance ban list and default
    /// affinity), as rtkvm's boot script does.
    pub globally_disable_irq_load_balancing: bool,
    /// The kernel parameters of rtkvm's plan that the operator's profile does not write itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_kernel_args: Vec<String>,
    /// The nodes the profile applies to (a placeholder the user fills).
    pub node_selector: BTreeMap<String, String>,
}

/// `spec.cpu`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    /// The housekeeping CPUs.
    pub reserved: String,
    /// The isolated CPUs.
    pub isolated: String,
    /// The host's offline CPUs, which the operator keeps offline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offlined: Option<String>,
    /// `false`: the isolated CPUs leave the scheduler's load balancing (`isolcpus=domain`), as rtkvm's
    /// `isolcpus=managed_irq,domain,…`.
    pub balance_isolated: bool,
}

/// `spec.hugepages`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hugepages {
    /// The default huge page size (`default_hugepagesz`), as NTO spells it (`1G`, `2M`, `64k`).
    pub default_hugepages_size: String,
    /// The pages.
    pub pages: Vec<Page>,
}

/// One entry of `spec.hugepages.pages`.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// The page size, as NTO spells it.
    pub size: String,
    /// How many pages.
    pub count: u64,
    /// The NUMA node; none for pages spread evenly by the kernel at boot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<u32>,
}

/// `spec.realTimeKernel`.
#[derive(Debug, Clone, Serialize)]
pub struct RealTimeKernel {
    /// Whether the operator installs the RT kernel.
    pub enabled: bool,
}

/// `spec.workloadHints`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadHints {
    /// Always `true`.
    pub real_time: bool,
    /// `false`: with `realTime` it would add `idle=poll`, which rtkvm does not write; the C-state
    /// limits it would add are in `additionalKernelArgs` instead.
    pub high_power_consumption: bool,
    /// `false`.
    pub per_pod_power_management: bool,
}

/// `spec.numa`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Numa {
    /// `single-numa-node`: a guest's CPUs, memory and devices on one node.
    pub topology_policy: &'static str,
}

/// How the operator's profile treats one of rtkvm's kernel parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamFate {
    /// The profile writes the same (from the CPU lists, the huge pages or a fixed value).
    Written,
    /// The profile writes this parameter with another value: the cluster gets the operator's.
    Overridden(&'static str),
    /// The profile does not write it: it goes to `additionalKernelArgs`.
    Additional,
}

/// Returns what the operator's profile does with one of rtkvm's parameters (`name=value`), for
/// realTime on, highPowerConsumption off and balanceIsolated false.
pub fn param_fate(param: &str, x86: bool, vendor: Option<X86Vendor>) -> ParamFate {
    let (name, value) = param.split_once('=').unwrap_or((param, ""));
    match name {
        // openshift-node-performance [bootloader] 152-188; [vm] transparent_hugepages (tuned's vm
        // plugin); rcupdate.rcu_normal_after_boot and rcutree.nohz_full_patience_delay from
        // network-latency (tuned's profiles/network-latency/tuned.conf 23), which cpu-partitioning
        // includes.
        "isolcpus"
        | "nohz"
        | "nohz_full"
        | "rcu_nocbs"
        | "skew_tick"
        | "nosoftlockup"
        | "default_hugepagesz"
        | "hugepagesz"
        | "hugepages"
        | "transparent_hugepage"
        | "rcupdate.rcu_normal_after_boot"
        | "rcutree.nohz_full_patience_delay" => ParamFate::Written,
        "rcutree.kthread_prio" if value == NTO_KTHREAD_PRIORITY.to_string() => ParamFate::Written,
        "rcutree.kthread_prio" => ParamFate::Overridden("rcutree.kthread_prio=11"),
        // -intel-x86 5-25, -amd-x86 5-16: x86 only.
        "intel_iommu" | "iommu" | "tsc" | "nmi_watchdog" | "intel_pstate" if x86 => {
            ParamFate::Written
        }
        "mce" if x86 && value == "off" => ParamFate::Written,
        "mce" if x86 => ParamFate::Overridden("mce=off"),
        "amd_pstate" if vendor == Some(X86Vendor::Amd) && value == "guided" => ParamFate::Written,
        "amd_pstate" if vendor == Some(X86Vendor::Amd) => {
            ParamFate::Overridden("amd_pstate=guided")
        }
        _ => ParamFate::Additional,
    }
}

/// Returns NTO's spelling of a huge page size (`1G`, `2M`, `64k`: `hugepagesSize*` in
/// `performanceprofile_validation.go` 46-51).
pub fn nto_page_size(kib: u64) -> String {
    if kib.is_multiple_of(GIB_KIB) {
        format!("{}G", kib / GIB_KIB)
    } else if kib.is_multiple_of(1024) {
        format!("{}M", kib / 1024)
    } else {
        format!("{kib}k")
    }
}

/// Returns the huge page sizes NTO's webhook accepts for the host's architecture with 4k kernel
/// pages (`x86ValidHugepagesSizes`, `aarch64HugePagesByKernelPageSize["4k"]`; for other
/// architectures every size it knows, `allHugePageSizes`).
pub fn nto_page_sizes(arch: Option<&str>, x86: bool) -> &'static [&'static str] {
    if x86 {
        &["2M", "1G"]
    } else if arch == Some("aarch64") {
        &["64k", "2M", "32M", "1G"]
    } else {
        &["64k", "2M", "32M", "512M", "1G", "16G"]
    }
}

/// Writes the host's `PerformanceProfile`.
pub fn performance_profile(host: &Host, plan: &Plan, params: &[KernelParam]) -> Export {
    let (profile, warnings) = profile_data(host, plan, params);
    let mut header = vec![
        format!(
            "OpenShift Node Tuning Operator PerformanceProfile, written by rtkvm {VERSION} from its plan (recipe {}).",
            plan.recipe.number()
        ),
        format!(
            "Before `oc apply -f {FILE}`: replace the node selector's label {NODE_SELECTOR_PLACEHOLDER} with"
        ),
        "the label of your real-time worker nodes (their MachineConfigPool selects the same role).".into(),
        "The operator writes the kernel command line, the tuned profile and the kubelet's CPU and topology".into(),
        "managers from it; it adds systemd.cpu_affinity (the reserved CPUs) and tuned.non_isolcpus of its own.".into(),
    ];
    header.extend(warning_lines(
        "Where the cluster does otherwise than rtkvm's plan:",
        &warnings,
    ));
    Export {
        file: FILE.into(),
        content: format!("{}{}", comments(&header), to_yaml(&profile)),
        warnings,
    }
}

/// Builds the profile and its warnings.
pub fn profile_data(
    host: &Host,
    plan: &Plan,
    params: &[KernelParam],
) -> (PerformanceProfile, Vec<String>) {
    let h = &plan.host;
    let x86 = host.is_x86();
    let arch = host.libvirt_arch();
    let vendor = host.x86_vendor();
    let mut warnings = Vec::new();
    if !x86 && arch != Some("aarch64") {
        warnings.push(format!(
            "The operator's platform profiles are for x86_64 and aarch64; on {} it writes only the common part of its command line.",
            arch.unwrap_or("this architecture")
        ));
    }
    if h.preset == Preset::Minimal || plan.recipe < Recipe::RealtimeHost {
        warnings.push(format!(
            "rtkvm's plan writes {} (recipe {}); the operator writes its whole real-time command line, tuned profile and sysctl settings regardless.",
            if h.preset == Preset::Minimal { "the minimal command line" } else { "libvirt's guide's host" },
            plan.recipe.number()
        ));
    }
    let offline: CpuSet = host
        .cells
        .iter()
        .flat_map(|c| c.offline_cpus.iter().copied())
        .collect();
    let cpu = Cpu {
        reserved: h.housekeeping.to_string(),
        isolated: h.isolcpus.to_string(),
        offlined: (!offline.is_empty()).then(|| offline.to_string()),
        balance_isolated: false,
    };
    let hugepages = hugepages(host, plan, &mut warnings);
    let mut additional = Vec::new();
    for p in params {
        match param_fate(&p.param, x86, vendor) {
            ParamFate::Written => {}
            ParamFate::Additional => additional.push(p.param.clone()),
            ParamFate::Overridden(theirs) => warnings.push(format!(
                "The operator writes {theirs} where rtkvm writes {}{}",
                p.param,
                overridden_why(theirs)
            )),
        }
    }
    if x86 && h.preset == Preset::Full && !params.iter().any(|p| p.param == "tsc=reliable") {
        warnings.push(
            "The operator writes tsc=reliable on every x86 node, which turns the clocksource watchdog off; rtkvm does not for this host, whose TSC is not known to be invariant (no-invariant-tsc, tsc-unknown), so a TSC that drifts goes unnoticed."
                .into(),
        );
    }
    if h.preset == Preset::Full && plan.recipe >= Recipe::RealtimeHost {
        let k = &h.kthreads;
        warnings.push(format!(
            "The operator runs ksoftirqd, ktimers and rcuc at SCHED_FIFO {NTO_KTHREAD_PRIORITY} (its tuned [scheduler] groups) and stalld at its package's FIFO 10, instead of rtkvm's ladder (ksoftirqd {}, ktimers {}, RCU {}, stalld {}). KubeVirt's vCPUs, at FIFO 1, are below both.",
            k.ksoftirqd,
            k.ktimers,
            k.rcu,
            k.stalld(),
        ));
    }
    if plan.recipe >= Recipe::RealtimeHost {
        // openshift-node-performance [sysctl] 125-133.
        warnings.push(
            "The operator sets kernel.timer_migration = 1 where rtkvm's sysctl settings write 0: OpenShift moves timers off a CPU so that it can free it for a pinned pod, and its profile notes that this affects cyclictest's results, and so this plan's latency test."
                .into(),
        );
    }
    if plan.guests().any(|g| g.priority >= NTO_KTHREAD_PRIORITY) {
        warnings.push(format!(
            "A guest's real-time priority is {NTO_KTHREAD_PRIORITY} or more, not below the operator's kernel threads at {NTO_KTHREAD_PRIORITY}: KubeVirt runs vCPUs at priority 1 whatever the plan says."
        ));
    }
    let profile = PerformanceProfile {
        api_version: "performance.openshift.io/v2",
        kind: "PerformanceProfile",
        metadata: Metadata {
            name: PROFILE_NAME.into(),
        },
        spec: Spec {
            cpu,
            hugepages,
            real_time_kernel: RealTimeKernel {
                enabled: h.kernel_type == KernelType::Rt,
            },
            workload_hints: WorkloadHints {
                real_time: true,
                high_power_consumption: false,
                per_pod_power_management: false,
            },
            numa: Numa {
                topology_policy: "single-numa-node",
            },
            globally_disable_irq_load_balancing: true,
            additional_kernel_args: additional,
            node_selector: BTreeMap::from([(NODE_SELECTOR_PLACEHOLDER.to_string(), String::new())]),
        },
    };
    (profile, warnings)
}

/// Says what the operator's value of a parameter costs or changes.
fn overridden_why(theirs: &str) -> &'static str {
    match theirs {
        "mce=off" => ": machine-check handling is off entirely, uncorrected memory errors included (openshift-node-performance-intel-x86 9, -amd-x86 16).",
        "amd_pstate=guided" => ": the platform chooses the frequency within the governor's range (openshift-node-performance-amd-x86 12).",
        _ => ": its RCU kernel threads run at FIFO 11 (openshift-node-performance 167).",
    }
}

/// The profile's huge pages: one entry without a node when every node holds the same count (the
/// kernel spreads `hugepages=` evenly at boot, as rtkvm's plan does), else one entry per node with
/// pages, which the operator allocates after boot (its `hugepages-allocation` units: the kernel
/// cannot take per-node counts on RHCOS's command line).
fn hugepages(host: &Host, plan: &Plan, warnings: &mut Vec<String>) -> Option<Hugepages> {
    let h = &plan.host;
    let size = nto_page_size(h.page_size_kib);
    let sizes = nto_page_sizes(host.libvirt_arch(), host.is_x86());
    if !sizes.contains(&size.as_str()) {
        warnings.push(format!(
            "The operator's webhook takes huge pages of {} on this architecture, not {}: the profile asks for none, so reserve the guests' pages another way.",
            sizes.join(", "),
            format_kib(h.page_size_kib)
        ));
        return None;
    }
    let with_pages: Vec<_> = h.hugepages.iter().filter(|p| p.count > 0).collect();
    let even = with_pages.len() == h.hugepages.len() && !h.uneven_pages();
    let pages = if even {
        let total = with_pages
            .iter()
            .map(|p| p.count)
            .fold(0, u64::saturating_add);
        if total == 0 {
            Vec::new()
        } else {
            vec![Page {
                size: size.clone(),
                count: total,
                node: None,
            }]
        }
    } else {
        if h.page_size_kib >= GIB_KIB {
            warnings.push(format!(
                "The nodes hold different counts of {} pages, so the profile names each node's; the operator reserves those after boot (its hugepages-allocation units), where memory may already be too fragmented for pages this large. Check each node's count after the reboot.",
                format_kib(h.page_size_kib)
            ));
        }
        with_pages
            .iter()
            .map(|p| Page {
                size: size.clone(),
                count: p.count,
                node: Some(p.node),
            })
            .collect()
    };
    Some(Hugepages {
        default_hugepages_size: size,
        pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_spelled_as_nto_does() {
        assert_eq!(nto_page_size(GIB_KIB), "1G");
        assert_eq!(nto_page_size(2048), "2M");
        assert_eq!(nto_page_size(64), "64k");
        assert_eq!(nto_page_size(16 * GIB_KIB), "16G");
    }

    #[test]
    fn parameters_the_profile_writes_are_not_repeated() {
        let intel = Some(X86Vendor::Intel);
        assert_eq!(
            param_fate("isolcpus=managed_irq,domain,2-7", true, intel),
            ParamFate::Written
        );
        assert_eq!(
            param_fate("irqaffinity=0-1", true, intel),
            ParamFate::Additional
        );
        assert_eq!(
            param_fate("mce=ignore_ce", true, intel),
            ParamFate::Overridden("mce=off")
        );
        assert_eq!(
            param_fate("nmi_watchdog=0", false, None),
            ParamFate::Additional
        );
        assert_eq!(
            param_fate("amd_pstate=disable", true, Some(X86Vendor::Amd)),
            ParamFate::Overridden("amd_pstate=guided")
        );
    }
}
