//! A KubeVirt `VirtualMachine` (`kubevirt.io/v1`) per guest.
//!
//! Read against kubevirt/kubevirt at d923fdb: the API (`api/openapi-spec/swagger.json`,
//! `v1.VirtualMachine`), the admission rules (`pkg/virt-api/webhooks/validating-webhook/admitters/
//! vmi-create-admitter.go`: `validateRealtime` 1179-1215, `validateNUMA` 738-770,
//! `validateCpuPinning` 722-736, `validateHugepagesMemoryRequests` 1053-1101), the real-time mask
//! (`pkg/hypervisor/common/vcpu.go` `ParseCPUMask` 83-150: an empty mask means every vCPU, and a
//! mask of exclusions alone, `^0`, enables none) and the scheduler it gives the masked vCPUs
//! (`pkg/hypervisor/kvm/realtime.go` 41-76: SCHED_FIFO priority 1).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{comments, to_yaml, warning_lines, Export, VERSION};
use crate::host::Host;
use crate::plan::{GuestPlan, Plan};
use crate::settings::{EmulatorPolicy, Scheduler};
use crate::units::{format_kib, GIB_KIB};
use crate::CpuSet;

/// The annotation that keeps the guest's name as typed, when the VirtualMachine's name differs.
pub const NAME_ANNOTATION: &str = "rtkvm/guest-name";

/// KubeVirt's annotation that completes the dedicated CPUs to an even count when the emulator thread
/// is isolated (`EmulatorThreadCompleteToEvenParity`, with the `AlignCPUs` feature gate), so that
/// an SMT host's kubelet, which hands out whole cores, does not leave a sibling to another pod.
pub const EVEN_PARITY_ANNOTATION: &str = "alpha.kubevirt.io/EmulatorThreadCompleteToEvenParity";

/// `VirtualMachine`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachine {
    /// `kubevirt.io/v1`.
    pub api_version: &'static str,
    /// `VirtualMachine`.
    pub kind: &'static str,
    /// Name and annotations.
    pub metadata: ObjectMeta,
    /// The VM.
    pub spec: VmSpec,
}

/// `metadata`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ObjectMeta {
    /// The object's name (a DNS label).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ObjectMeta {
    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.annotations.is_empty()
    }
}

/// `spec`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VmSpec {
    /// `Halted`: the VM starts once its disks are added (`virtctl start`).
    pub run_strategy: &'static str,
    /// The VMI template.
    pub template: Template,
}

/// `spec.template`.
#[derive(Debug, Clone, Serialize)]
pub struct Template {
    /// The VMI's annotations.
    #[serde(skip_serializing_if = "ObjectMeta::is_empty")]
    pub metadata: ObjectMeta,
    /// The VMI.
    pub spec: VmiSpec,
}

/// `spec.template.spec`.
#[derive(Debug, Clone, Serialize)]
pub struct VmiSpec {
    /// The domain.
    pub domain: Domain,
}

/// `spec.template.spec.domain`.
#[derive(Debug, Clone, Serialize)]
pub struct Domain {
    /// CPUs.
    pub cpu: Cpu,
    /// Memory backing.
    pub memory: Memory,
    /// Requests and limits, equal (the Guaranteed QoS class that dedicated CPUs need).
    pub resources: Resources,
    /// Devices.
    pub devices: Devices,
}

/// `domain.cpu`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    /// 1.
    pub sockets: u32,
    /// The vCPUs.
    pub cores: u32,
    /// 1: each vCPU owns a core.
    pub threads: u32,
    /// `host-passthrough`, as rtkvm's domain.
    pub model: &'static str,
    /// Each vCPU pinned to a dedicated CPU.
    pub dedicated_cpu_placement: bool,
    /// One more dedicated CPU for the emulator thread (`--emulator isolate`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub isolate_emulator_thread: bool,
    /// The guest NUMA topology mirrors the host's.
    pub numa: Numa,
    /// The real-time vCPUs; absent when none is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realtime: Option<Realtime>,
}

/// `cpu.numa`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Numa {
    /// `{}`.
    pub guest_mapping_passthrough: Empty,
}

/// An empty object (`{}`).
#[derive(Debug, Clone, Serialize)]
pub struct Empty {}

/// `cpu.realtime`.
#[derive(Debug, Clone, Serialize)]
pub struct Realtime {
    /// The real-time vCPUs, listed (KubeVirt's meaning: an empty mask is every vCPU).
    pub mask: String,
}

/// `domain.memory`.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// The huge pages.
    pub hugepages: PageSize,
}

/// `memory.hugepages`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageSize {
    /// As Kubernetes spells a quantity: `1Gi`, `2Mi`.
    pub page_size: String,
}

/// `domain.resources`.
#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    /// Requests.
    pub requests: Quantities,
    /// Limits, equal to the requests.
    pub limits: Quantities,
}

/// CPU and memory quantities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quantities {
    /// Whole CPUs.
    pub cpu: String,
    /// The guest's memory.
    pub memory: String,
}

/// `domain.devices`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Devices {
    /// `false`: no balloon.
    pub autoattach_mem_balloon: bool,
    /// `false`: no graphics.
    pub autoattach_graphics_device: bool,
}

/// Returns a memory size as a Kubernetes quantity (`16Gi`, `1536Mi`, `64Ki`).
pub fn quantity(kib: u64) -> String {
    if kib.is_multiple_of(GIB_KIB) {
        format!("{}Gi", kib / GIB_KIB)
    } else if kib.is_multiple_of(1024) {
        format!("{}Mi", kib / 1024)
    } else {
        format!("{kib}Ki")
    }
}

/// Returns a Kubernetes object name (a DNS-1123 label: lowercase letters, digits and `-`, at most 63,
/// starting and ending with a letter or digit) made from a guest's name, or `guest` when nothing
/// of it is left.
pub fn object_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.truncate(63);
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "guest".into()
    } else {
        out
    }
}

/// Returns KubeVirt's real-time mask for a guest's real-time vCPUs: the list itself, or `None` when
/// no vCPU is real-time (KubeVirt would read an empty mask as every vCPU, so the `realtime` block is
/// left out).
pub fn realtime_mask(rt_vcpus: &CpuSet) -> Option<String> {
    (!rt_vcpus.is_empty()).then(|| rt_vcpus.to_string())
}

/// Writes a VirtualMachine per guest, each with a name of its own.
pub fn virtual_machines(host: &Host, plan: &Plan) -> Vec<Export> {
    let mut taken = std::collections::BTreeSet::new();
    plan.guests()
        .map(|g| {
            let base = object_name(&g.name);
            let mut name = base.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                let suffix = format!("-{n}");
                let mut stem = base.clone();
                stem.truncate(63 - suffix.len());
                name = format!("{}{suffix}", stem.trim_end_matches('-'));
                n += 1;
            }
            virtual_machine(host, plan, g, &name)
        })
        .collect()
}

/// Writes one guest's VirtualMachine, named `name`.
pub fn virtual_machine(host: &Host, plan: &Plan, g: &GuestPlan, name: &str) -> Export {
    let (vm, warnings) = vm_data(host, plan, g, name);
    let pages: Vec<String> = plan
        .host
        .hugepages
        .iter()
        .filter(|p| p.count > 0)
        .map(|p| format!("{} on node {}", p.count, p.node))
        .collect();
    let mut header = vec![
        format!(
            "KubeVirt VirtualMachine for the guest {}, written by rtkvm {VERSION} from its plan (recipe {}).",
            g.name,
            plan.recipe.number()
        ),
        "Add its disks and networks (spec.template.spec.domain.devices, volumes, networks), then `virtctl start`.".into(),
        String::new(),
        "The cluster needs:".into(),
        "- the kubelet's CPU manager with the static policy and full-pcpus-only (whole cores per guest)".into(),
        "  and the topology manager's single-numa-node policy (the NTO profile sets both);".into(),
        "- KubeVirt's NUMA feature gate, for numa.guestMappingPassthrough;".into(),
        "- nodes labelled kubevirt.io/realtime, which virt-handler sets only where kernel.sched_rt_runtime_us".into(),
        "  is -1 (rtkvm's sysctl file, NTO's realTime hint), and which a real-time VM is scheduled on;".into(),
        format!(
            "- the node's pages of {} (the plan reserves {}).",
            format_kib(plan.host.page_size_kib),
            if pages.is_empty() { "none".to_string() } else { pages.join(", ") }
        ),
    ];
    if g.emulator == EmulatorPolicy::Isolate && host.smt() {
        header.push(format!(
            "- the AlignCPUs feature gate, which the {EVEN_PARITY_ANNOTATION} annotation below needs."
        ));
    }
    header.extend(warning_lines(
        "Where KubeVirt does otherwise than rtkvm's plan:",
        &warnings,
    ));
    Export {
        file: format!("kubevirt-{name}.yaml"),
        content: format!("{}{}", comments(&header), to_yaml(&vm)),
        warnings,
    }
}

/// Builds one guest's VirtualMachine and its warnings.
pub fn vm_data(
    host: &Host,
    plan: &Plan,
    g: &GuestPlan,
    name: &str,
) -> (VirtualMachine, Vec<String>) {
    let mut warnings = Vec::new();
    let mut annotations = BTreeMap::new();
    if name != g.name {
        annotations.insert(NAME_ANNOTATION.to_string(), g.name.clone());
        warnings.push(format!(
            "The VirtualMachine is named {name}: Kubernetes names are lowercase letters, digits and '-'. The guest's name is kept in the annotation {NAME_ANNOTATION}."
        ));
    }
    let cpus = pinned_cpus(g);
    warnings.push(format!(
        "The kubelet chooses the guest's node and CPUs: rtkvm planned node {} and host CPUs {}{}.",
        g.node,
        cpus,
        if plan.others.is_empty() {
            ""
        } else {
            " beside the other guests"
        }
    ));
    if host.smt() {
        warnings.push(
            "This host has SMT: full-pcpus-only gives the guest whole cores, every thread of each, and KubeVirt pins its vCPUs to all of them, so its vCPUs run on sibling threads of shared cores, where rtkvm's plan leaves each vCPU's siblings idle. For a core per vCPU, turn SMT off on the node (nosmt in the profile's additionalKernelArgs, or in the firmware)."
                .into(),
        );
    }
    let mut template_annotations = BTreeMap::new();
    match g.emulator {
        EmulatorPolicy::Share => warnings.push(
            "KubeVirt has no shared pool for the emulator thread: without isolateEmulatorThread it runs on the guest's own dedicated CPUs, the vCPUs', not on the host's housekeeping CPUs. Use --emulator isolate (isolateEmulatorThread) to keep it off them."
                .into(),
        ),
        EmulatorPolicy::Isolate if host.smt() => {
            template_annotations.insert(EVEN_PARITY_ANNOTATION.to_string(), String::new());
        }
        EmulatorPolicy::Isolate => {}
    }
    let mask = realtime_mask(&g.rt_vcpus);
    match &mask {
        None => warnings.push(
            "No vCPU is real-time, so the VM has no realtime block (KubeVirt would read an empty mask as every vCPU)."
                .into(),
        ),
        Some(_) if g.priority != 1 || g.scheduler != Scheduler::Fifo => warnings.push(format!(
            "KubeVirt runs the real-time vCPUs at SCHED_FIFO priority 1 (virt-handler), not {} {}.",
            crate::settings::Named::label(g.scheduler),
            g.priority
        )),
        Some(_) => {}
    }
    let size = quantity(g.page_size_kib);
    if host.is_x86() && !matches!(size.as_str(), "1Gi" | "2Mi") {
        warnings.push(format!(
            "KubeVirt documents huge pages of 1Gi and 2Mi on x86_64, not {size}."
        ));
    }
    let requests = Quantities {
        cpu: g.vcpus.to_string(),
        memory: quantity(g.memory_kib),
    };
    let vm = VirtualMachine {
        api_version: "kubevirt.io/v1",
        kind: "VirtualMachine",
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            annotations,
        },
        spec: VmSpec {
            run_strategy: "Halted",
            template: Template {
                metadata: ObjectMeta {
                    name: None,
                    annotations: template_annotations,
                },
                spec: VmiSpec {
                    domain: Domain {
                        cpu: Cpu {
                            sockets: 1,
                            cores: g.vcpus,
                            threads: 1,
                            model: "host-passthrough",
                            dedicated_cpu_placement: true,
                            isolate_emulator_thread: g.emulator == EmulatorPolicy::Isolate,
                            numa: Numa {
                                guest_mapping_passthrough: Empty {},
                            },
                            realtime: mask.map(|mask| Realtime { mask }),
                        },
                        memory: Memory {
                            hugepages: PageSize { page_size: size },
                        },
                        resources: Resources {
                            limits: requests.clone(),
                            requests,
                        },
                        devices: Devices {
                            autoattach_mem_balloon: false,
                            autoattach_graphics_device: false,
                        },
                    },
                },
            },
        },
    };
    (vm, warnings)
}

/// The host CPUs of a guest's vCPUs.
fn pinned_cpus(g: &GuestPlan) -> CpuSet {
    g.vcpupin.iter().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_dns_labels() {
        assert_eq!(object_name("rt-guest"), "rt-guest");
        assert_eq!(object_name("PLC 1"), "plc-1");
        assert_eq!(object_name("$(reboot) `x`"), "reboot-x");
        assert_eq!(object_name("ünï"), "n");
        assert_eq!(object_name("--"), "guest");
        assert_eq!(object_name(&"a".repeat(70)).len(), 63);
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity(GIB_KIB), "1Gi");
        assert_eq!(quantity(2048), "2Mi");
        assert_eq!(quantity(1536 * 1024), "1536Mi");
        assert_eq!(quantity(64), "64Ki");
    }

    #[test]
    fn the_mask_lists_the_real_time_vcpus() {
        assert_eq!(
            realtime_mask(&"1-3".parse().unwrap()).as_deref(),
            Some("1-3")
        );
        assert_eq!(realtime_mask(&CpuSet::new()), None);
    }
}
