//! Warnings: their stable codes, and those about each guest and about the host recipe (the host's own,
//! about its CPUs and memory, come with the partition).
//!
//! The host recipe's warnings measure the kernel command line the partition implies, with the
//! function that writes it (`cmdline.rs`, which reads only the partition: no circle).

use crate::cmdline::{join, kernel_params, max_cmdline_bytes};
use crate::error::rarely;
use crate::host::{Core, Host};
use crate::settings::{KernelType, Recipe};
use crate::units::{format_kib, GIB_KIB};

use super::{GuestPlan, HostPlan};

/// A warning: something that works but deserves a second look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// A stable identifier that scripts can match.
    pub code: WarningCode,
    /// The sentence the user reads.
    pub message: String,
}

/// The stable identifiers of warnings. [`WarningCode::as_str`] is the one place each is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WarningCode {
    /// The host has SMT (hyper-threading) enabled.
    SmtEnabled,
    /// The guest's vCPUs are on more than one socket.
    GuestSpansSockets,
    /// The guest's vCPUs are on more than one die of a socket.
    GuestSpansDies,
    /// The guest's vCPUs are on cores of different SMT widths (a hybrid CPU's two kinds of core).
    HybridCores,
    /// A Linux guest gets fewer than 2 vCPUs.
    SingleVcpu,
    /// Every vCPU has the real-time scheduler, vCPU 0 included.
    RtOnEveryVcpu,
    /// CPU 0 is isolated.
    Cpu0Isolated,
    /// 1 GiB pages have to be reserved at runtime, which may fall short.
    RuntimeGiganticPages,
    /// A node has less memory than the host should keep.
    HostMemoryLow,
    /// A node does not report its memory.
    NodeMemoryUnknown,
    /// Some CPUs are offline or listed without topology.
    OfflineCpus,
    /// The vCPUs' real-time priority leaves no room above it for the host's kernel threads.
    KthreadPriority,
    /// The host's kernel is not PREEMPT_RT.
    GenericKernel,
    /// The x86 host's TSC is not invariant, so it is not trusted as the clock source.
    NoInvariantTsc,
    /// The capabilities list no CPU features, so the TSC could not be checked.
    TscUnknown,
    /// The kernel command line addition is close to or over the architecture's length limit.
    CmdlineTooLong,
    /// The architecture gets only the generic part of the host recipe.
    ArchGeneric,
    /// Recipe 4 on an Intel host of a generation that may have the iTLB multihit erratum: KVM splits
    /// executable huge pages (`kvm.nx_huge_pages`), which tuned turns off and rtkvm leaves on.
    NxHugePages,
}

impl WarningCode {
    /// Every code, in the order warnings are listed.
    pub const ALL: [WarningCode; 18] = [
        WarningCode::SmtEnabled,
        WarningCode::GuestSpansSockets,
        WarningCode::GuestSpansDies,
        WarningCode::HybridCores,
        WarningCode::SingleVcpu,
        WarningCode::RtOnEveryVcpu,
        WarningCode::Cpu0Isolated,
        WarningCode::RuntimeGiganticPages,
        WarningCode::HostMemoryLow,
        WarningCode::NodeMemoryUnknown,
        WarningCode::OfflineCpus,
        WarningCode::KthreadPriority,
        WarningCode::GenericKernel,
        WarningCode::NoInvariantTsc,
        WarningCode::TscUnknown,
        WarningCode::CmdlineTooLong,
        WarningCode::ArchGeneric,
        WarningCode::NxHugePages,
    ];

    /// Returns the code as the JSON output, the text report, the app and the README print it
    /// (`smt-enabled`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::SmtEnabled => "smt-enabled",
            WarningCode::GuestSpansSockets => "guest-spans-sockets",
            WarningCode::GuestSpansDies => "guest-spans-dies",
            WarningCode::HybridCores => "hybrid-cores",
            WarningCode::SingleVcpu => "single-vcpu",
            WarningCode::RtOnEveryVcpu => "rt-on-every-vcpu",
            WarningCode::Cpu0Isolated => "cpu0-isolated",
            WarningCode::RuntimeGiganticPages => "runtime-gigantic-pages",
            WarningCode::HostMemoryLow => "host-memory-low",
            WarningCode::NodeMemoryUnknown => "node-memory-unknown",
            WarningCode::OfflineCpus => "offline-cpus",
            WarningCode::KthreadPriority => "kthread-priority",
            WarningCode::GenericKernel => "generic-kernel",
            WarningCode::NoInvariantTsc => "no-invariant-tsc",
            WarningCode::TscUnknown => "tsc-unknown",
            WarningCode::CmdlineTooLong => "cmdline-too-long",
            WarningCode::ArchGeneric => "arch-generic",
            WarningCode::NxHugePages => "nx-huge-pages",
        }
    }
}

/// Adds a warning. Its message is built by `message` in a function of its own ([`rarely`]), so that
/// a plan without this warning neither builds nor (in the browser) compiles it.
pub(super) fn warn(
    warnings: &mut Vec<Warning>,
    code: WarningCode,
    message: impl FnOnce() -> String,
) {
    warnings.push(Warning {
        code,
        message: rarely(message),
    });
}

/// The warnings about the guest: spanning sockets or dies, a single vCPU, the real-time scheduler on
/// every vCPU, and gigantic pages reserved at runtime.
pub(super) fn guest_warnings(
    node: u32,
    cores: &[Core],
    part: &HostPlan,
    guest: &GuestPlan,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let sockets: std::collections::BTreeSet<u32> = cores.iter().map(|c| c.socket).collect();
    let dies: std::collections::BTreeSet<(u32, Option<u32>)> =
        cores.iter().map(|c| (c.socket, c.die)).collect();
    let widths: std::collections::BTreeSet<usize> = cores.iter().map(|c| c.threads).collect();
    if widths.len() > 1 {
        warn(&mut warnings, WarningCode::HybridCores, || {
            format!(
                "the vCPUs run on cores of different kinds on node {node} (cores of {} threads): on a hybrid CPU those with fewer threads are slower efficiency cores, so the real-time vCPUs would not behave alike; keep them for the host (--housekeeping) or give the guest fewer vCPUs",
                widths.iter().map(usize::to_string).collect::<Vec<_>>().join(" and ")
            )
        });
    }
    if sockets.len() > 1 {
        warn(&mut warnings, WarningCode::GuestSpansSockets, || {
            format!(
                "no socket of node {} has {} free isolated cores, so the vCPUs span sockets {}; traffic between them crosses the socket interconnect",
                node,
                guest.vcpus,
                sockets.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            )
        });
    } else if dies.len() > 1 {
        warn(&mut warnings, WarningCode::GuestSpansDies, || {
            format!(
                "no die of node {} has {} free isolated cores, so the vCPUs span several dies of one socket, which do not share their last-level cache",
                node, guest.vcpus
            )
        });
    }
    if guest.vcpus < 2 {
        let rt = if guest.rt_vcpus.is_empty() {
            " With real-time vCPUs ^0 (the default) its one vCPU gets no real-time scheduler; choose 'all' for an RTOS that runs on one."
        } else {
            ""
        };
        warn(&mut warnings, WarningCode::SingleVcpu, || {
            format!("the guest has 1 vCPU: a real-time Linux guest needs at least 2, one for non-real-time work and I/O and the others for real-time tasks (some RTOSes need only 1).{rt}")
        });
    }
    if guest.vcpus > 1 && guest.rt_vcpus.len() == guest.vcpus as usize {
        warn(&mut warnings, WarningCode::RtOnEveryVcpu, || {
            let others = if guest.vcpus == 2 {
                "real-time vCPU 1".to_string()
            } else {
                format!("real-time vCPUs 1-{}", guest.vcpus - 1)
            };
            format!(
                "every vCPU has the real-time scheduler, vCPU 0 included, as libvirt's guide does: with no housekeeping vCPU, the guest's kernel threads, timers and I/O compete with its real-time tasks; the default ^0 ({others}, Nova's hw:cpu_realtime_mask=^0) keeps vCPU 0 for them"
            )
        });
    }
    if part.page_size_kib >= GIB_KIB && part.runtime_pages() {
        warn(&mut warnings, WarningCode::RuntimeGiganticPages, || {
            format!(
                "the nodes need different numbers of {} pages, but this kernel spreads boot-time pages evenly: the rest are reserved at runtime (hugepages.sh, or rtkvm-host.sh at every boot), which can fall short once memory is fragmented; check its output",
                format_kib(part.page_size_kib)
            )
        });
    }
    warnings
}

/// The warnings about the host recipe (recipe 3 on): kernel threads that cannot outrank the vCPUs, a
/// kernel without PREEMPT_RT, a TSC that cannot be trusted or checked, an architecture the recipe
/// knows only in part, and a command line too long for the kernel.
pub(super) fn host_recipe_warnings(
    host: &Host,
    part: &HostPlan,
    guest: &GuestPlan,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let p = guest.priority;
    if !guest.rt_vcpus.is_empty() && !part.kthreads.all_above(p) {
        let k = part.kthreads;
        warn(&mut warnings, WarningCode::KthreadPriority, || {
            format!(
                "the real-time vCPUs' priority {p} leaves no room above them for the host's kernel threads (ksoftirqd {}, ktimers {}, rcuc/rcub {}): a spinning vCPU starves them, stalling RCU and timers on its CPU; choose 98 or less (tuned uses 1)",
                k.ksoftirqd, k.ktimers, k.rcu
            )
        });
    }
    if part.kernel_type == KernelType::Generic {
        warn(&mut warnings, WarningCode::GenericKernel, || {
            "the host's kernel is not PREEMPT_RT: a vCPU can still wait for non-preemptible kernel sections, so its worst-case latency is not bounded; hard real-time guests need kernel-rt or linux-image-rt".into()
        });
    }
    if host.is_x86() {
        match host.invariant_tsc() {
            Some(true) => {}
            Some(false) => warn(&mut warnings, WarningCode::NoInvariantTsc, || {
                "the host CPU does not list invtsc, so its TSC may drift with frequency or idle states: tsc=reliable is left out and the clocksource watchdog keeps interrupting every CPU".into()
            }),
            None => warn(&mut warnings, WarningCode::TscUnknown, || {
                "the capabilities list no CPU features, so the TSC could not be checked: tsc=reliable is left out; add it if /proc/cpuinfo lists constant_tsc and nonstop_tsc".into()
            }),
        }
    }
    let arch = host.libvirt_arch().unwrap_or("x86_64");
    if !host.is_x86() && !matches!(arch, "aarch64" | "ppc64" | "ppc64le") {
        warn(&mut warnings, WarningCode::ArchGeneric, || {
            if arch == "s390x" {
                format!("rtkvm knows {arch} only in part: the command line isolates CPUs and RCU callbacks and reserves huge pages, but s390x has no tickless mode for busy CPUs (its kernel cannot be built with NO_HZ_FULL), so the isolated CPUs keep their tick, and no power, clock or idle settings are written; see your platform's real-time guide for those")
            } else {
                format!("rtkvm knows {arch} only in part: the command line isolates CPUs, RCU, ticks and huge pages, but sets no power, clock or KVM module parameters; see your platform's real-time guide for those")
            }
        });
    }
    // Only where the model names such a generation: a host that lists none is not warned about.
    if part.recipe >= Recipe::Qualified
        && host.intel_before_ice_lake() == Some(true)
        && host.model.as_deref().is_some_and(|m| {
            !m.starts_with("Cascadelake") && !m.starts_with("Cooperlake") && !m.starts_with("qemu")
        })
    {
        warn(&mut warnings, WarningCode::NxHugePages, || {
            format!(
                "Intel CPUs before Cascade Lake ({}) may have the iTLB multihit erratum; on those, KVM splits the guest's executable huge pages and a kernel thread per guest rebuilds them (kvm.nx_huge_pages, on by default only where the CPU is affected: see /sys/devices/system/cpu/vulnerabilities/itlb_multihit), which tuned measured as spikes of about 100 us; rtkvm keeps this protection against a guest crashing the host, where tuned's realtime-virtual-host turns it off. Where every guest is trusted, add kvm.nx_huge_pages=off to the command line",
                host.model.as_deref().unwrap_or_default()
            )
        });
    }
    let cmdline = join(&kernel_params(host, part));
    let limit = max_cmdline_bytes(host);
    if cmdline.len() + CMDLINE_RESERVE > limit {
        warn(&mut warnings, WarningCode::CmdlineTooLong, || {
            format!(
                "the command line addition is {} bytes; the kernel takes at most {limit} on {arch}, the distribution's own parameters (about {CMDLINE_RESERVE}) included, and cuts off the rest; contiguous housekeeping CPUs shorten the cpulists",
                cmdline.len()
            )
        });
    }
    warnings
}

/// What a distribution's own kernel parameters take of the command line, allowed for when checking
/// rtkvm's addition against the limit.
const CMDLINE_RESERVE: usize = 256;
