//! The libvirt domain XML. One of the two modules that know XML: one typed struct per element,
//! serialized with quick-xml and serde, so every user string is escaped by the serializer.

use serde::Serialize;

use crate::host::Host;
use crate::plan::GuestPlan;
use crate::settings::{Named, Recipe};
use crate::units::GIB_KIB;

/// `<domain>`: the whole guest definition.
#[derive(Debug, Serialize)]
pub struct Domain {
    /// The hypervisor type, `kvm`.
    #[serde(rename = "@type")]
    pub kind: &'static str,
    /// The guest name.
    pub name: String,
    /// The maximum guest RAM.
    pub memory: Memory,
    /// The RAM at boot (equal to `memory`: no ballooning).
    #[serde(rename = "currentMemory")]
    pub current_memory: Memory,
    /// The memory hard limit, which bounds the locked memory (recipe 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memtune: Option<MemTune>,
    /// Huge pages, locked, not shared.
    #[serde(rename = "memoryBacking")]
    pub memory_backing: MemoryBacking,
    /// The vCPU count.
    pub vcpu: Vcpu,
    /// One I/O thread for the disks the operator adds (`<driver iothread='1'>`), recipe 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iothreads: Option<u32>,
    /// Pinning and scheduling.
    pub cputune: CpuTune,
    /// The host NUMA node for guest memory.
    pub numatune: NumaTune,
    /// Firmware and boot.
    pub os: Os,
    /// Hypervisor features.
    pub features: Features,
    /// The guest CPU model and topology.
    pub cpu: DomainCpu,
    /// The guest clock.
    pub clock: Clock,
    /// What to do when the guest powers off.
    pub on_poweroff: &'static str,
    /// What to do when the guest reboots.
    pub on_reboot: &'static str,
    /// What to do when the guest crashes.
    pub on_crash: &'static str,
    /// The devices.
    pub devices: Devices,
}

/// An element holding an amount of memory in KiB.
#[derive(Debug, Serialize)]
pub struct Memory {
    /// Always `KiB`.
    #[serde(rename = "@unit")]
    pub unit: &'static str,
    /// The amount.
    #[serde(rename = "$text")]
    pub value: u64,
}

/// `<memtune>`.
#[derive(Debug, Serialize)]
pub struct MemTune {
    /// The most memory the guest's QEMU process may use, which is also what it may lock.
    pub hard_limit: Memory,
}

/// A presence-only element such as `<locked/>`.
#[derive(Debug, Serialize)]
pub struct Empty {}

/// `<memoryBacking>`.
#[derive(Debug, Serialize)]
pub struct MemoryBacking {
    /// The huge page size.
    pub hugepages: HugePages,
    /// Keeps guest memory from being swapped.
    pub locked: Empty,
    /// Turns off KSM page sharing.
    pub nosharepages: Empty,
}

/// `<hugepages>`.
#[derive(Debug, Serialize)]
pub struct HugePages {
    /// The page size; no `nodeset`: the host node is chosen by `<numatune>`.
    pub page: Page,
}

/// `<page>`.
#[derive(Debug, Serialize)]
pub struct Page {
    /// The page size.
    #[serde(rename = "@size")]
    pub size: u64,
    /// Always `KiB`.
    #[serde(rename = "@unit")]
    pub unit: &'static str,
}

/// `<vcpu>`.
#[derive(Debug, Serialize)]
pub struct Vcpu {
    /// `static`: the vCPUs are pinned one by one in `<cputune>`.
    #[serde(rename = "@placement")]
    pub placement: &'static str,
    /// How many vCPUs are online at boot when fewer than all: only an existing domain that says so
    /// keeps it (`rtkvm apply`); every vCPU is pinned either way.
    #[serde(rename = "@current", skip_serializing_if = "Option::is_none")]
    pub current: Option<u32>,
    /// The count.
    #[serde(rename = "$text")]
    pub count: u32,
}

/// `<cputune>`.
#[derive(Debug, Serialize)]
pub struct CpuTune {
    /// One pin per vCPU.
    pub vcpupin: Vec<VcpuPin>,
    /// Where QEMU's emulator threads run.
    pub emulatorpin: CpuSetPin,
    /// Where the I/O thread runs: with the emulator threads, off the vCPUs' cores (recipe 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iothreadpin: Option<IoThreadPin>,
    /// The real-time scheduler, when any vCPU gets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcpusched: Option<VcpuSched>,
}

/// `<iothreadpin>`.
#[derive(Debug, Serialize)]
pub struct IoThreadPin {
    /// The I/O thread, counted from 1.
    #[serde(rename = "@iothread")]
    pub iothread: u32,
    /// The host CPUs.
    #[serde(rename = "@cpuset")]
    pub cpuset: String,
}

/// `<vcpupin>`.
#[derive(Debug, Serialize)]
pub struct VcpuPin {
    /// The vCPU.
    #[serde(rename = "@vcpu")]
    pub vcpu: u32,
    /// Its host CPU.
    #[serde(rename = "@cpuset")]
    pub cpuset: String,
}

/// An element with only a `cpuset` attribute, such as `<emulatorpin>`.
#[derive(Debug, Serialize)]
pub struct CpuSetPin {
    /// The host CPUs.
    #[serde(rename = "@cpuset")]
    pub cpuset: String,
}

/// `<vcpusched>`.
#[derive(Debug, Serialize)]
pub struct VcpuSched {
    /// The vCPUs it applies to; only existing ones.
    #[serde(rename = "@vcpus")]
    pub vcpus: String,
    /// `fifo` or `rr`.
    #[serde(rename = "@scheduler")]
    pub scheduler: &'static str,
    /// 1 to 99.
    #[serde(rename = "@priority")]
    pub priority: u32,
}

/// `<numatune>`.
#[derive(Debug, Serialize)]
pub struct NumaTune {
    /// The host node binding.
    pub memory: NumaMemory,
}

/// `<numatune><memory>`.
#[derive(Debug, Serialize)]
pub struct NumaMemory {
    /// `strict`: allocation fails rather than falling back to another node.
    #[serde(rename = "@mode")]
    pub mode: &'static str,
    /// The host node.
    #[serde(rename = "@nodeset")]
    pub nodeset: String,
}

/// `<os>`.
#[derive(Debug, Serialize)]
pub struct Os {
    /// `efi` to boot from UEFI firmware (aarch64, recipe 2).
    #[serde(rename = "@firmware", skip_serializing_if = "Option::is_none")]
    pub firmware: Option<&'static str>,
    /// `<type>`.
    #[serde(rename = "type")]
    pub os_type: OsType,
    /// `<boot>`.
    pub boot: Boot,
}

/// `<os><type>`.
#[derive(Debug, Serialize)]
pub struct OsType {
    /// The guest architecture; omitted lets libvirt use the host's.
    #[serde(rename = "@arch", skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The machine type; omitted lets libvirt choose.
    #[serde(rename = "@machine", skip_serializing_if = "Option::is_none")]
    pub machine: Option<&'static str>,
    /// Always `hvm`.
    #[serde(rename = "$text")]
    pub value: &'static str,
}

/// `<boot>`.
#[derive(Debug, Serialize)]
pub struct Boot {
    /// The boot device.
    #[serde(rename = "@dev")]
    pub dev: &'static str,
}

/// `<features>`.
#[derive(Debug, Serialize)]
pub struct Features {
    /// ACPI (x86).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acpi: Option<Empty>,
    /// The local APIC (x86).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apic: Option<Empty>,
    /// KVM's paravirtual hints (x86, recipe 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kvm: Option<KvmFeatures>,
    /// The virtual PMU, turned off; absent on ppc64, where it cannot be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pmu: Option<State>,
}

/// `<features><kvm>`.
#[derive(Debug, Serialize)]
pub struct KvmFeatures {
    /// Tells the guest its vCPUs have dedicated physical CPUs (`kvm-hint-dedicated`).
    #[serde(rename = "hint-dedicated")]
    pub hint_dedicated: State,
}

/// An element with a `state` attribute.
#[derive(Debug, Serialize)]
pub struct State {
    /// `on` or `off`.
    #[serde(rename = "@state")]
    pub state: &'static str,
}

/// `<cpu>`.
#[derive(Debug, Serialize)]
pub struct DomainCpu {
    /// `host-passthrough`.
    #[serde(rename = "@mode")]
    pub mode: &'static str,
    /// Whether the guest can migrate; off, as pinned real-time guests do not.
    #[serde(rename = "@migratable")]
    pub migratable: &'static str,
    /// The guest topology.
    pub topology: CpuTopology,
    /// Required CPU features.
    #[serde(rename = "feature")]
    pub features: Vec<CpuFeature>,
}

/// `<cpu><topology>`.
#[derive(Debug, Serialize)]
pub struct CpuTopology {
    /// Sockets.
    #[serde(rename = "@sockets")]
    pub sockets: u32,
    /// Dies per socket; left out where the host's libvirt does not know dies (before 6.1).
    #[serde(rename = "@dies", skip_serializing_if = "Option::is_none")]
    pub dies: Option<u32>,
    /// Cores per die.
    #[serde(rename = "@cores")]
    pub cores: u32,
    /// Threads per core.
    #[serde(rename = "@threads")]
    pub threads: u32,
}

/// `<cpu><feature>`.
#[derive(Debug, Serialize)]
pub struct CpuFeature {
    /// `require`.
    #[serde(rename = "@policy")]
    pub policy: &'static str,
    /// The feature name.
    #[serde(rename = "@name")]
    pub name: &'static str,
}

/// `<clock>`.
#[derive(Debug, Serialize)]
pub struct Clock {
    /// `utc`.
    #[serde(rename = "@offset")]
    pub offset: &'static str,
    /// The emulated timers' policies (x86, recipe 2).
    #[serde(rename = "timer", default)]
    pub timers: Vec<Timer>,
}

/// `<clock><timer>`.
#[derive(Debug, Serialize)]
pub struct Timer {
    /// `pit`, `rtc` or `hpet`.
    #[serde(rename = "@name")]
    pub name: &'static str,
    /// What to do with ticks the guest missed.
    #[serde(rename = "@tickpolicy", skip_serializing_if = "Option::is_none")]
    pub tickpolicy: Option<&'static str>,
    /// `no` to remove the timer.
    #[serde(rename = "@present", skip_serializing_if = "Option::is_none")]
    pub present: Option<&'static str>,
}

/// `<devices>`.
#[derive(Debug, Serialize)]
pub struct Devices {
    /// Controllers: USB removed.
    pub controller: Vec<Controller>,
    /// The emergency serial port.
    pub serial: Serial,
    /// The console on that serial port.
    pub console: Serial,
    /// The balloon, removed.
    pub memballoon: Model,
}

/// `<controller>`.
#[derive(Debug, Serialize)]
pub struct Controller {
    /// The controller type.
    #[serde(rename = "@type")]
    pub kind: &'static str,
    /// The model.
    #[serde(rename = "@model")]
    pub model: &'static str,
}

/// `<serial>` or `<console>`.
#[derive(Debug, Serialize)]
pub struct Serial {
    /// `pty`.
    #[serde(rename = "@type")]
    pub kind: &'static str,
    /// The target.
    pub target: SerialTarget,
}

/// `<target>` of a serial port or console.
#[derive(Debug, Serialize)]
pub struct SerialTarget {
    /// `serial` for the console.
    #[serde(rename = "@type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// The port.
    #[serde(rename = "@port")]
    pub port: u32,
}

/// An element with only a `model` attribute.
#[derive(Debug, Serialize)]
pub struct Model {
    /// The model.
    #[serde(rename = "@model")]
    pub model: &'static str,
}

impl Domain {
    /// Builds the domain for a placed guest on a host, as the recipe revision writes it.
    pub fn new(host: &Host, guest: &GuestPlan, recipe: Recipe) -> Domain {
        let x86 = host.is_x86();
        let production = recipe >= Recipe::Production;
        let arch = host.libvirt_arch();
        let machine = match host.libvirt_arch() {
            Some("aarch64") => Some("virt"),
            _ if x86 => Some("q35"),
            _ => None,
        };
        let vcpusched = (!guest.rt_vcpus.is_empty()).then(|| VcpuSched {
            vcpus: guest.rt_vcpus.to_string(),
            scheduler: guest.scheduler.as_str(),
            priority: guest.priority,
        });
        let memory = || Memory {
            unit: "KiB",
            value: guest.memory_kib,
        };
        Domain {
            kind: "kvm",
            name: guest.name.clone(),
            memory: memory(),
            current_memory: memory(),
            // libvirt: locked memory "requires hard_limit memory tuning element to be used and set
            // to the maximum memory configured for the domain plus any memory consumed by the QEMU
            // process itself"; without it libvirt lifts the memlock limit entirely. The margin is
            // the one libvirt itself adds when it must lock guest memory for VFIO: 1 GiB.
            memtune: production.then(|| MemTune {
                hard_limit: Memory {
                    unit: "KiB",
                    value: guest.memory_kib + GIB_KIB,
                },
            }),
            memory_backing: MemoryBacking {
                hugepages: HugePages {
                    page: Page {
                        size: guest.page_size_kib,
                        unit: "KiB",
                    },
                },
                locked: Empty {},
                nosharepages: Empty {},
            },
            vcpu: Vcpu {
                placement: "static",
                current: None,
                count: guest.vcpus,
            },
            iothreads: production.then_some(1),
            cputune: CpuTune {
                vcpupin: guest
                    .vcpupin
                    .iter()
                    .enumerate()
                    .map(|(vcpu, cpu)| VcpuPin {
                        vcpu: vcpu as u32,
                        cpuset: cpu.to_string(),
                    })
                    .collect(),
                emulatorpin: CpuSetPin {
                    cpuset: guest.emulatorpin.to_string(),
                },
                iothreadpin: production.then(|| IoThreadPin {
                    iothread: 1,
                    cpuset: guest.emulatorpin.to_string(),
                }),
                vcpusched,
            },
            numatune: NumaTune {
                memory: NumaMemory {
                    mode: "strict",
                    nodeset: guest.node.to_string(),
                },
            },
            os: Os {
                firmware: (production && arch == Some("aarch64")).then_some("efi"),
                os_type: OsType {
                    arch: host.libvirt_arch().map(str::to_string),
                    machine,
                    value: "hvm",
                },
                boot: Boot { dev: "hd" },
            },
            features: Features {
                acpi: x86.then_some(Empty {}),
                apic: x86.then_some(Empty {}),
                // KubeVirt sets it for dedicated CPUs; libvirt allows it with host-passthrough.
                kvm: (production && x86).then_some(KvmFeatures {
                    hint_dedicated: State { state: "on" },
                }),
                // libvirt's QEMU driver: "PMU is always enabled for architecture 'ppc64'".
                pmu: (!matches!(arch, Some("ppc64" | "ppc64le"))).then_some(State { state: "off" }),
            },
            cpu: DomainCpu {
                mode: "host-passthrough",
                migratable: "off",
                topology: CpuTopology {
                    sockets: 1,
                    dies: (!production || host.cpus().any(|c| c.die.is_some())).then_some(1),
                    cores: guest.vcpus,
                    threads: 1,
                },
                features: if x86 {
                    vec![CpuFeature {
                        policy: "require",
                        name: "tsc-deadline",
                    }]
                } else {
                    Vec::new()
                },
            },
            // Nova's timers for KVM guests: late PIT ticks are delayed, not replayed; the RTC
            // catches up; no HPET (x86 only).
            clock: Clock {
                offset: "utc",
                timers: if production && x86 {
                    vec![
                        Timer {
                            name: "pit",
                            tickpolicy: Some("delay"),
                            present: None,
                        },
                        Timer {
                            name: "rtc",
                            tickpolicy: Some("catchup"),
                            present: None,
                        },
                        Timer {
                            name: "hpet",
                            tickpolicy: None,
                            present: Some("no"),
                        },
                    ]
                } else {
                    Vec::new()
                },
            },
            on_poweroff: "destroy",
            on_reboot: "restart",
            on_crash: "destroy",
            devices: Devices {
                controller: vec![Controller {
                    kind: "usb",
                    model: "none",
                }],
                serial: Serial {
                    kind: "pty",
                    target: SerialTarget {
                        kind: None,
                        port: 0,
                    },
                },
                console: Serial {
                    kind: "pty",
                    target: SerialTarget {
                        kind: Some("serial"),
                        port: 0,
                    },
                },
                memballoon: Model { model: "none" },
            },
        }
    }

    /// Serializes the domain as indented XML ending with a newline.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        let mut ser = quick_xml::se::Serializer::with_root(&mut out, Some("domain"))
            .expect("'domain' is a valid element name");
        ser.indent(' ', 2);
        self.serialize(ser)
            .expect("the domain structs serialize to XML");
        out.push('\n');
        out
    }
}

/// Returns the domain XML for a placed guest, as the recipe revision writes it.
pub fn domain_xml(host: &Host, guest: &GuestPlan, recipe: Recipe) -> String {
    Domain::new(host, guest, recipe).to_xml()
}
