//! Checking an existing domain for real-time mistakes: every finding has a stable code, the element
//! and its line, why it matters and the fix. Without a host, only what the domain shows on its own;
//! with the host's capabilities and its partition, also where the pinned CPUs and the memory are.

use serde::Serialize;

use crate::cpuset::CpuSet;
use crate::error::Position;
use crate::existing::{libvirt_kib, needs_usb, parse_libvirt_cpuset, vcpupins, DomainFacts};
use crate::host::Host;
use crate::plan::{HostPlan, KthreadPriorities};
use crate::units::format_kib;
use crate::xmltree::{Document, Element};

/// How bad a finding is; the text form (`error`, `warning`) is spelled once, in [`Severity::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// libvirt refuses the domain, or its vCPUs cannot run in real time.
    Error,
    /// The guest runs, but with latency a real-time guest should not have, or not as the recipe
    /// writes it.
    Warning,
}

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $text:literal,)*) => {
        /// What a finding is about; the text form (`vcpu-unpinned`) is stable for scripts.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FindingCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl FindingCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [FindingCode] = &[$(FindingCode::$variant,)*];

            /// Returns the stable text form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FindingCode::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    /// The domain runs under QEMU's emulator (TCG), not KVM.
    NotKvm = "not-kvm",
    /// A vCPU has no pin of its own.
    VcpuUnpinned = "vcpu-unpinned",
    /// A vCPU is pinned to several host CPUs.
    VcpuPinnedToSet = "vcpu-pinned-to-set",
    /// A `<vcpupin>` names a vCPU the domain does not have.
    VcpupinUnknownVcpu = "vcpupin-unknown-vcpu",
    /// Two vCPUs share a host CPU.
    VcpusShareCpu = "vcpus-share-cpu",
    /// Two vCPUs run on SMT siblings of one core.
    VcpusShareCore = "vcpus-share-core",
    /// A vCPU is pinned to a host CPU the host does not have.
    CpuNotOnHost = "cpu-not-on-host",
    /// A vCPU is pinned to a CPU the host keeps for itself.
    VcpuOnHousekeeping = "vcpu-on-housekeeping",
    /// The vCPUs are on several NUMA nodes.
    VcpusSpanNodes = "vcpus-span-nodes",
    /// The emulator threads are not pinned.
    EmulatorUnpinned = "emulator-unpinned",
    /// The emulator threads may run on a vCPU's host CPU.
    EmulatorOnVcpuCpu = "emulator-on-vcpu-cpu",
    /// The emulator threads run on isolated CPUs of several cores, or on isolated and housekeeping
    /// CPUs together.
    EmulatorOnIsolated = "emulator-on-isolated",
    /// An I/O thread is not pinned off the vCPUs.
    IothreadUnpinned = "iothread-unpinned",
    /// The emulator threads have a real-time scheduler (`<emulatorsched>`).
    EmulatorRealtime = "emulator-realtime",
    /// An I/O thread has a real-time scheduler (`<iothreadsched>`).
    IothreadRealtime = "iothread-realtime",
    /// `<vcpusched>` names vCPUs that do not exist.
    VcpuschedUnknownVcpu = "vcpusched-unknown-vcpu",
    /// No vCPU has a real-time scheduler.
    NoRealtimeScheduler = "no-realtime-scheduler",
    /// Every vCPU is real-time: none is left for the guest's own housekeeping.
    NoHousekeepingVcpu = "no-housekeeping-vcpu",
    /// The vCPUs' priority is at or above the host's per-CPU kernel threads.
    RtPriorityAboveKthreads = "rt-priority-above-kthreads",
    /// A hugepage `nodeset` names a guest NUMA node that does not exist.
    HugepageNodesetUnknown = "hugepage-nodeset-unknown",
    /// Guest memory is not bound to one host node.
    MemoryNotBound = "memory-not-bound",
    /// Guest memory is on another host node than the vCPUs.
    MemoryOnOtherNode = "memory-on-other-node",
    /// Guest memory is not backed by huge pages.
    NoHugepages = "no-hugepages",
    /// The host has no pages of the size the domain asks for.
    PageSizeNotOnHost = "page-size-not-on-host",
    /// Guest memory is not locked.
    MemoryNotLocked = "memory-not-locked",
    /// Guest memory is locked without a hard limit.
    LockedWithoutHardLimit = "locked-without-hard-limit",
    /// Page sharing (KSM) is not turned off.
    SharedPages = "shared-pages",
    /// A memory balloon.
    Balloon = "balloon",
    /// A USB controller.
    Usb = "usb",
    /// A USB tablet.
    Tablet = "tablet",
    /// A sound device.
    Sound = "sound",
    /// A graphical console.
    Graphics = "graphics",
    /// The virtual PMU is on.
    PmuOn = "pmu-on",
    /// The guest CPU is not the host's, passed through.
    CpuMode = "cpu-mode",
    /// An x86 guest without the TSC deadline timer.
    NoTscDeadline = "no-tsc-deadline",
    /// Anything else rtkvm's recipe writes differently.
    Recipe = "recipe",
}

impl Severity {
    /// Returns the word the reports print: `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl FindingCode {
    /// Returns how bad a finding of this code is.
    pub fn severity(self) -> Severity {
        use FindingCode::*;
        match self {
            EmulatorOnIsolated
            | IothreadUnpinned
            | EmulatorRealtime
            | IothreadRealtime
            | NoHousekeepingVcpu
            | RtPriorityAboveKthreads
            | MemoryNotLocked
            | LockedWithoutHardLimit
            | SharedPages
            | Balloon
            | Usb
            | Tablet
            | Sound
            | Graphics
            | PmuOn
            | CpuMode
            | NoTscDeadline
            | Recipe => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for FindingCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One real-time problem in the domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What it is about.
    pub code: FindingCode,
    /// How bad it is.
    pub severity: Severity,
    /// The element, as a path below `<domain>` (`cputune/vcpusched`).
    pub element: String,
    /// Where the element is; for a missing element, where its parent is.
    pub position: Position,
    /// What is wrong.
    pub message: String,
    /// Why it matters for a real-time guest.
    pub why: &'static str,
    /// How to fix it.
    pub fix: String,
}

/// The host a domain is checked against: its capabilities and the partition rtkvm plans for it.
#[derive(Debug, Clone, Copy)]
pub struct HostContext<'a> {
    /// The host.
    pub host: &'a Host,
    /// Its partition (housekeeping and isolated CPUs, page size).
    pub partition: &'a HostPlan,
}

/// The result of a check: the domain's facts and every finding, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// What was read from the domain.
    pub facts: DomainFacts,
    /// The findings, ordered by position.
    pub findings: Vec<Finding>,
}

struct Checker<'d> {
    doc: &'d Document<'d>,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    fn add(
        &mut self,
        code: FindingCode,
        at: &Element,
        element: &str,
        message: String,
        why: &'static str,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding {
            code,
            severity: code.severity(),
            element: element.into(),
            position: self.doc.position(at.span.start),
            message,
            why,
            fix: fix.into(),
        });
    }
}

const WHY_PIN: &str = "An unpinned or loosely pinned vCPU is moved between host CPUs by the scheduler and shares them with other threads: each move and each neighbour costs the guest latency.";
const WHY_DEVICE: &str = "libvirt's real-time guide removes it: emulated devices interrupt the guest and run work in QEMU's threads that a real-time guest does not need.";
const WHY_MEMORY: &str = "Real-time guest memory must be on huge pages of the vCPUs' own node, locked and never shared, so that no page fault, remote access or page merge interrupts the guest.";

/// Checks a parsed domain, against a host when one is given. `priority_ladder` is the host's kernel
/// thread priorities to compare the vCPUs' with (tuned's realtime-virtual-host defaults when `None`).
pub fn check(
    doc: &Document<'_>,
    host: Option<HostContext<'_>>,
    ladder: Option<KthreadPriorities>,
) -> CheckReport {
    let facts = DomainFacts::read(doc);
    let mut c = Checker {
        doc,
        findings: Vec::new(),
    };
    let root = &doc.root;
    let n = facts.vcpus;
    if root.attr("type") == Some("qemu") {
        c.add(
            FindingCode::NotKvm,
            root,
            "",
            "the domain type is 'qemu': QEMU emulates the CPU in software (TCG)".into(),
            "Without KVM, every guest instruction goes through QEMU's translator: no latency bound holds.",
            "use <domain type='kvm'> on a host with KVM",
        );
    }
    let vcpu_cpus = check_vcpupins(&mut c, root, n, host);
    check_emulator(&mut c, root, n, &vcpu_cpus, host);
    check_sched(
        &mut c,
        root,
        n,
        ladder.unwrap_or(KthreadPriorities::above(1)),
    );
    check_memory(&mut c, root, &vcpu_cpus, host);
    check_devices(&mut c, root);
    check_cpu(&mut c, root, &facts, host);
    c.findings
        .sort_by_key(|f| (f.position.line, f.position.column, f.code));
    CheckReport {
        facts,
        findings: c.findings,
    }
}

/// Checks `<vcpupin>` and returns the host CPUs any vCPU may run on. Only the vCPUs pinned to one CPU
/// are kept one by one: a set per vCPU would hold up to 65,536 ids for each of 4096 vCPUs.
fn check_vcpupins(
    c: &mut Checker<'_>,
    root: &Element,
    n: u32,
    host: Option<HostContext<'_>>,
) -> CpuSet {
    let cputune = root.child("cputune");
    let vcpu_el = root.child("vcpu").unwrap_or(root);
    let default = vcpu_el
        .attr("cpuset")
        .and_then(|s| parse_libvirt_cpuset(s).ok());
    // Each vCPU's pin and, when it is pinned to one CPU, that CPU; the host CPUs of every pin.
    let mut pinned_at: Vec<Option<&Element>> = vec![None; n as usize];
    let mut one_cpu: Vec<Option<u32>> = vec![None; n as usize];
    let mut all = CpuSet::new();
    let mut repinned = false;
    for (pin, vcpu, set) in vcpupins(root) {
        if vcpu >= n {
            c.add(
                FindingCode::VcpupinUnknownVcpu,
                pin,
                "cputune/vcpupin",
                format!("<vcpupin vcpu='{vcpu}'> pins a vCPU the domain does not have (it has {n}, 0 to {})", n.saturating_sub(1)),
                "libvirt refuses a pin for a vCPU that does not exist.",
                format!("remove it, or raise <vcpu> to {}", vcpu.saturating_add(1)),
            );
            continue;
        }
        if set.len() > 1 {
            c.add(
                FindingCode::VcpuPinnedToSet,
                pin,
                "cputune/vcpupin",
                format!("vCPU {vcpu} may run on any of the host CPUs {set}"),
                WHY_PIN,
                "pin each vCPU to one isolated host CPU of its own",
            );
        }
        repinned |= pinned_at[vcpu as usize].is_some();
        pinned_at[vcpu as usize] = Some(pin);
        one_cpu[vcpu as usize] = (set.len() == 1).then(|| set.first()).flatten();
        all.extend_from(&set);
    }
    if repinned {
        // Only the last pin of a vCPU counts (libvirt refuses two): its host CPUs, read again.
        all = CpuSet::new();
        for pin in pinned_at.iter().flatten() {
            if let Some(set) = pin
                .attr("cpuset")
                .and_then(|s| parse_libvirt_cpuset(s).ok())
            {
                all.extend_from(&set);
            }
        }
    }
    let unpinned: CpuSet = (0..n)
        .filter(|&v| pinned_at[v as usize].is_none())
        .collect();
    if !unpinned.is_empty() {
        let (code, what) = match &default {
            Some(set) if set.len() > 1 => (
                FindingCode::VcpuPinnedToSet,
                format!("vCPUs {unpinned} may run on any of the host CPUs {set} (<vcpu cpuset>)"),
            ),
            Some(set) => (
                FindingCode::VcpusShareCpu,
                format!("vCPUs {unpinned} all run on host CPU {set} (<vcpu cpuset>)"),
            ),
            None => (
                FindingCode::VcpuUnpinned,
                format!("vCPUs {unpinned} are not pinned"),
            ),
        };
        if let Some(set) = &default {
            all.extend_from(set);
            if set.len() == 1 {
                for v in unpinned.iter() {
                    one_cpu[v as usize] = set.first();
                }
            }
        }
        c.add(
            code,
            cputune.unwrap_or(vcpu_el),
            "cputune/vcpupin",
            what,
            WHY_PIN,
            "add <vcpupin vcpu='N' cpuset='CPU'/> for every vCPU, each on an isolated host CPU of its own",
        );
    }
    // vCPUs sharing a CPU or a core.
    let single: Vec<(u32, u32)> = one_cpu
        .iter()
        .enumerate()
        .filter_map(|(v, cpu)| Some((v as u32, (*cpu)?)))
        .collect();
    for (i, &(v, cpu)) in single.iter().enumerate() {
        let at = pinned_at[v as usize].unwrap_or(root);
        if let Some(&(w, _)) = single[..i].iter().find(|&&(_, other)| other == cpu) {
            c.add(
                FindingCode::VcpusShareCpu,
                at,
                "cputune/vcpupin",
                format!("vCPUs {w} and {v} are both pinned to host CPU {cpu}"),
                WHY_PIN,
                "give every vCPU a host CPU of its own",
            );
            continue;
        }
        let Some(ctx) = host else { continue };
        let Some(info) = ctx.host.cpus().find(|h| h.id == cpu) else {
            c.add(
                FindingCode::CpuNotOnHost,
                at,
                "cputune/vcpupin",
                format!("vCPU {v} is pinned to host CPU {cpu}, which the host does not have (online: {})", ctx.host.online_cpus()),
                "QEMU cannot run a thread on a CPU that does not exist or is offline; the guest does not start.",
                format!("pin it to one of the isolated CPUs {}", ctx.partition.isolcpus),
            );
            continue;
        };
        if ctx.partition.housekeeping.contains(cpu) {
            c.add(
                FindingCode::VcpuOnHousekeeping,
                at,
                "cputune/vcpupin",
                format!("vCPU {v} is pinned to host CPU {cpu}, which the host keeps for itself (housekeeping {})", ctx.partition.housekeeping),
                "Housekeeping CPUs run the host's kernel threads, interrupts and QEMU's own threads: a vCPU there waits for them.",
                format!("pin it to one of the isolated CPUs {}", ctx.partition.isolcpus),
            );
        }
        if let Some(&(w, sib)) = single[..i]
            .iter()
            .find(|&&(_, other)| other != cpu && info.siblings.contains(other))
        {
            c.add(
                FindingCode::VcpusShareCore,
                at,
                "cputune/vcpupin",
                format!("vCPUs {w} and {v} run on host CPUs {sib} and {cpu}, SMT siblings of one core"),
                "SMT siblings share the core's execution units and caches: one vCPU's work delays the other's.",
                "give every vCPU a core of its own and leave its siblings idle",
            );
        }
    }
    if let Some(ctx) = host {
        let nodes = nodes_of(ctx.host, &all);
        if nodes.len() > 1 {
            c.add(
                FindingCode::VcpusSpanNodes,
                cputune.unwrap_or(root),
                "cputune/vcpupin",
                format!("the vCPUs run on host NUMA nodes {nodes}"),
                "A guest on two nodes reaches half its memory across the interconnect, with longer and less predictable latency.",
                "pin every vCPU to isolated CPUs of one node, the node its memory is bound to",
            );
        }
    }
    all
}

/// Returns the host nodes that have any of the CPUs.
fn nodes_of(host: &Host, cpus: &CpuSet) -> CpuSet {
    host.cells
        .iter()
        .filter(|cell| cell.cpus.iter().any(|c| cpus.contains(c.id)))
        .map(|cell| cell.id)
        .collect()
}

/// Returns the host CPUs the real-time vCPUs (those a `<vcpusched>` gives `fifo` or `rr`) are
/// pinned to, when there are some and each has a `<vcpupin>`; `None` otherwise.
fn realtime_vcpu_cpus(root: &Element, n: u32) -> Option<CpuSet> {
    let cputune = root.child("cputune")?;
    let mut realtime = CpuSet::new();
    for sched in cputune.children_named("vcpusched") {
        if matches!(sched.attr("scheduler"), Some("fifo" | "rr")) {
            let set = parse_libvirt_cpuset(sched.attr("vcpus")?).ok()?;
            realtime.extend_from(&set.iter().filter(|&v| v < n).collect());
        }
    }
    if realtime.is_empty() {
        return None;
    }
    let mut cpus = CpuSet::new();
    let mut pinned = CpuSet::new();
    for (_, vcpu, set) in vcpupins(root) {
        if realtime.contains(vcpu) {
            cpus.extend_from(&set);
            pinned.insert(vcpu);
        }
    }
    (pinned == realtime).then_some(cpus)
}

fn check_emulator(
    c: &mut Checker<'_>,
    root: &Element,
    n: u32,
    vcpu_cpus: &CpuSet,
    host: Option<HostContext<'_>>,
) {
    let cputune = root.child("cputune");
    let pin = cputune.and_then(|t| t.child("emulatorpin"));
    let Some(set) = pin
        .and_then(|p| p.attr("cpuset"))
        .and_then(|s| parse_libvirt_cpuset(s).ok())
    else {
        c.add(
            FindingCode::EmulatorUnpinned,
            cputune.unwrap_or(root),
            "cputune/emulatorpin",
            "QEMU's emulator threads are not pinned".into(),
            "Unpinned, the emulator threads follow the vCPUs' CPUs and preempt them.",
            "add <emulatorpin cpuset='…'/> naming housekeeping CPUs of the vCPUs' node",
        );
        return;
    };
    let pin = pin.expect("a set was read from it");
    let shared = set.intersection(vcpu_cpus);
    // Emulator threads on the CPUs of vCPUs that are not real-time only, every real-time vCPU pinned
    // away from them, are OpenStack Nova's placement for a real-time flavor without an emulator
    // policy (`_get_emulatorpin_cpuset`, case c2: "the emulator threads are allowed to float across
    // the pCPUs that are associated with the non-realtime vCPUs"): the real-time vCPUs never meet
    // them, and the others share their CPUs fairly, as they would the housekeeping CPUs.
    let beside_housekeeping_vcpus =
        realtime_vcpu_cpus(root, n).is_some_and(|rt| set.is_disjoint(&rt));
    if !shared.is_empty() && !beside_housekeeping_vcpus {
        c.add(
            FindingCode::EmulatorOnVcpuCpu,
            pin,
            "cputune/emulatorpin",
            format!("the emulator threads may run on host CPUs {shared}, where vCPUs run"),
            "An emulator thread on a vCPU's CPU preempts the vCPU, or starves behind a real-time one.",
            "pin the emulator threads to CPUs no vCPU uses",
        );
    }
    if let Some(ctx) = host {
        // Emulator threads alone on an isolated core no vCPU uses are what `--emulator isolate`
        // writes (Nova's and SEAPATH's choice too): only several isolated cores, or isolated CPUs
        // mixed with others, are a problem; a vCPU's CPU is one of its own (above).
        let isolated = set.intersection(&ctx.partition.isolcpus);
        let one_core = ctx
            .host
            .cpus()
            .find(|h| Some(h.id) == set.first())
            .is_some_and(|h| set.is_subset(&h.siblings));
        let own_core = isolated == set && one_core;
        if !isolated.is_empty() && shared.is_empty() && !own_core {
            c.add(
                FindingCode::EmulatorOnIsolated,
                pin,
                "cputune/emulatorpin",
                format!("the emulator threads run on isolated CPUs {isolated}"),
                "isolcpus turns off load balancing: emulator threads pinned to the isolated CPUs of several cores, or to isolated and housekeeping CPUs, all stay on the CPU each started on. An isolated core of their own (rtkvm's emulator policy isolate) is right only for the strictest guests.",
                format!("pin them to the node's housekeeping CPUs (housekeeping: {}), or to one isolated core no vCPU uses", ctx.partition.housekeeping),
            );
        }
    }
    let iothread_pins: Vec<&Element> = cputune
        .into_iter()
        .flat_map(|t| t.children_named("iothreadpin"))
        .collect();
    let iothreads = root
        .child("iothreads")
        .and_then(|t| t.trimmed().parse::<u32>().ok())
        .unwrap_or(0);
    if iothreads as usize > iothread_pins.len() {
        c.add(
            FindingCode::IothreadUnpinned,
            root.child("iothreads").unwrap_or(root),
            "cputune/iothreadpin",
            format!("{iothreads} I/O threads, {} pinned", iothread_pins.len()),
            "An unpinned I/O thread runs wherever the scheduler puts it, the vCPUs' CPUs included.",
            "pin every I/O thread with the emulator threads (<iothreadpin iothread='N' cpuset='…'/>)",
        );
    }
}

fn check_sched(c: &mut Checker<'_>, root: &Element, n: u32, ladder: KthreadPriorities) {
    let cputune = root.child("cputune");
    let mut realtime = CpuSet::new();
    for sched in cputune
        .into_iter()
        .flat_map(|t| t.children_named("vcpusched"))
    {
        let Some(set) = sched
            .attr("vcpus")
            .and_then(|s| parse_libvirt_cpuset(s).ok())
        else {
            continue;
        };
        let unknown: CpuSet = set.iter().filter(|&v| v >= n).collect();
        if !unknown.is_empty() {
            let existing = set.difference(&unknown);
            c.add(
                FindingCode::VcpuschedUnknownVcpu,
                sched,
                "cputune/vcpusched",
                format!(
                    "<vcpusched vcpus='{}'> names vCPU{} {unknown}, but the domain has {n} (0 to {})",
                    sched.attr("vcpus").unwrap_or_default(),
                    if unknown.len() == 1 { "" } else { "s" },
                    n.saturating_sub(1)
                ),
                "libvirt refuses a scheduler for vCPUs that do not exist (libvirt's real-time guide has this mistake: vcpus='0-4' for 4 vCPUs).",
                format!("vcpus='{}'", existing.or_none()),
            );
        }
        let policy = sched.attr("scheduler").unwrap_or_default();
        if matches!(policy, "fifo" | "rr") {
            realtime.extend_from(&set.iter().filter(|&v| v < n).collect());
            let priority = sched
                .attr("priority")
                .and_then(|p| p.trim().parse::<u32>().ok())
                .unwrap_or(0);
            if !ladder.all_above(priority) {
                c.add(
                    FindingCode::RtPriorityAboveKthreads,
                    sched,
                    "cputune/vcpusched",
                    format!(
                        "the vCPUs run at {policy} priority {priority}, not below the host's per-CPU kernel threads (ksoftirqd {}, ktimers {}, rcuc {})",
                        ladder.ksoftirqd, ladder.ktimers, ladder.rcu
                    ),
                    "A vCPU that spins at or above those threads' priority starves them on its CPU: timers, RCU and softirqs stop, and the host hangs or reports stalls.",
                    format!("keep the vCPUs below the kernel threads: priority 1 with tuned's realtime-virtual-host, or raise the threads: rtkvm plans the host's kernel threads above the guest's priority, {priority} here"),
                );
            }
        }
    }
    // Emulator threads and I/O threads do the guest's device work, and sleep between requests;
    // at a real-time priority, with nothing to throttle them (the recipe's
    // kernel.sched_rt_runtime_us = -1), one that spins starves whatever shares its CPUs.
    for (name, code, what) in [
        (
            "emulatorsched",
            FindingCode::EmulatorRealtime,
            "the emulator threads",
        ),
        (
            "iothreadsched",
            FindingCode::IothreadRealtime,
            "I/O threads",
        ),
    ] {
        for sched in cputune.into_iter().flat_map(|t| t.children_named(name)) {
            let policy = sched.attr("scheduler").unwrap_or_default().trim();
            if !matches!(policy, "fifo" | "rr") {
                continue;
            }
            let whose = match sched.attr("iothreads") {
                Some(ids) => format!("I/O threads {}", ids.trim()),
                None => what.to_string(),
            };
            c.add(
                code,
                sched,
                &format!("cputune/{name}"),
                format!(
                    "{whose} run at real-time priority ({policy} {})",
                    sched.attr("priority").unwrap_or("?").trim()
                ),
                "They do the guest's device and management work on the housekeeping CPUs (or a core of their own). At a real-time priority, with real-time throttling off (the recipe's kernel.sched_rt_runtime_us = -1), one that spins starves the host's own threads there. rtkvm's plan gives real-time priority to vCPUs only, as KubeVirt does.",
                format!("remove <{name}>: they run with the default scheduler"),
            );
        }
    }
    if realtime.is_empty() && n > 0 && !kubevirt_realtime(root) {
        c.add(
            FindingCode::NoRealtimeScheduler,
            cputune.unwrap_or(root),
            "cputune/vcpusched",
            "no vCPU has a real-time scheduler".into(),
            "Without SCHED_FIFO or SCHED_RR the vCPUs share their CPUs fairly with any thread that lands there.",
            format!("add <vcpusched vcpus='{}' scheduler='fifo' priority='1'/>", rt_mask(n)),
        );
    } else if n >= 2 && realtime.len() == n as usize {
        c.add(
            FindingCode::NoHousekeepingVcpu,
            cputune.unwrap_or(root),
            "cputune/vcpusched",
            format!("all {n} vCPUs are real-time"),
            "A Linux guest needs one vCPU that is not real-time for its own housekeeping and I/O (libvirt's guide; OpenStack Nova's hw:cpu_realtime_mask=^0).",
            format!("leave vCPU 0 out: vcpus='{}'", rt_mask(n)),
        );
    }
}

/// Whether the domain is KubeVirt's for a real-time VMI (`spec.domain.cpu.realtime`): KubeVirt's
/// metadata (`<kubevirt xmlns='http://kubevirt.io'>`) and `<pmu state='off'/>`, which its converter
/// writes for real-time VMIs only (`pkg/virt-launcher/virtwrap/converter/vcpu/vcpu.go`). Such a
/// domain has no `<vcpusched>`: virt-handler gives the vCPU threads of the VMI's real-time mask
/// SCHED_FIFO priority 1 itself when the VMI starts (`pkg/hypervisor/kvm/realtime.go`), and
/// virt-launcher writes the domain anew at each start, so a `<vcpusched>` added by hand is lost.
fn kubevirt_realtime(root: &Element) -> bool {
    let kubevirt = root.child("metadata").is_some_and(|m| {
        m.children.iter().any(|e| {
            e.name.rsplit(':').next() == Some("kubevirt")
                && e.attrs
                    .iter()
                    .any(|(name, value)| name.starts_with("xmlns") && value == "http://kubevirt.io")
        })
    });
    let pmu_off = root
        .at(&["features", "pmu"])
        .is_some_and(|p| p.attr("state") == Some("off"));
    kubevirt && pmu_off
}

fn rt_mask(n: u32) -> String {
    let set: CpuSet = (1.min(n.saturating_sub(1))..n).collect();
    set.or_none()
}

/// Reports each guest NUMA node that is not a whole number of the domain's pages: QEMU backs each
/// node with whole pages, rounding it up, so the guest takes more pages than its memory says and
/// than the host reserves for it.
fn check_cells_fill_pages(c: &mut Checker<'_>, root: &Element, page_kib: u64) {
    let cells = root
        .at(&["cpu", "numa"])
        .into_iter()
        .flat_map(|n| n.children_named("cell"));
    for cell in cells {
        let Some(kib) = cell
            .attr("memory")
            .and_then(|m| libvirt_kib(m, cell.attr("unit")))
            .filter(|kib| kib % page_kib != 0)
        else {
            continue;
        };
        c.add(
            FindingCode::Recipe,
            cell,
            "cpu/numa/cell",
            format!(
                "guest NUMA node {} has {}, not a whole number of {} pages: QEMU rounds it up to {} pages",
                cell.attr("id").unwrap_or("?"),
                format_kib(kib),
                format_kib(page_kib),
                kib.div_ceil(page_kib)
            ),
            "QEMU backs each guest NUMA node with whole huge pages, so the guest takes more pages than its memory says and than the host reserves for it; with pages reserved for the guest alone it does not start.",
            "give each <cell> a whole number of pages (rtkvm's patched domain spreads the memory so)",
        );
    }
}

fn check_memory(
    c: &mut Checker<'_>,
    root: &Element,
    vcpu_cpus: &CpuSet,
    host: Option<HostContext<'_>>,
) {
    let guest_cells: Vec<u32> = root
        .at(&["cpu", "numa"])
        .into_iter()
        .flat_map(|n| n.children_named("cell"))
        .enumerate()
        .map(|(i, cell)| {
            cell.attr("id")
                .and_then(|id| id.trim().parse().ok())
                .unwrap_or(i as u32)
        })
        .collect();
    let backing = root.child("memoryBacking");
    let hugepages = backing.and_then(|b| b.child("hugepages"));
    match hugepages {
        None => c.add(
            FindingCode::NoHugepages,
            backing.unwrap_or(root),
            "memoryBacking/hugepages",
            "guest memory is on normal pages".into(),
            WHY_MEMORY,
            "add <memoryBacking><hugepages><page size='1' unit='G'/></hugepages>…</memoryBacking> (pages reserved on the host node)",
        ),
        Some(hp) => {
            for page in hp.children_named("page") {
                if let Some(nodeset) = page.attr("nodeset") {
                    let named = parse_libvirt_cpuset(nodeset).unwrap_or_default();
                    let unknown = named.difference(&guest_cells.iter().copied().collect());
                    if !unknown.is_empty() {
                        let cells = if guest_cells.is_empty() {
                            "no guest NUMA node at all".to_string()
                        } else {
                            format!(
                                "guest NUMA nodes {}",
                                guest_cells.iter().copied().collect::<CpuSet>()
                            )
                        };
                        c.add(
                            FindingCode::HugepageNodesetUnknown,
                            page,
                            "memoryBacking/hugepages/page",
                            format!("<page nodeset='{nodeset}'> names guest NUMA node {unknown}, but the domain has {cells}"),
                            "A page's nodeset names guest NUMA nodes (<cpu><numa><cell>), not host nodes; libvirt refuses one that does not exist (libvirt's real-time guide has this mistake: nodeset='1' for the host's node 1).",
                            "drop nodeset and choose the host node with <numatune><memory mode='strict' nodeset='N'/>",
                        );
                    }
                }
                let asked = page
                    .attr("size")
                    .and_then(|s| libvirt_kib(s, page.attr("unit").or(Some("KiB"))));
                if let Some(size) = asked.filter(|&s| s > 0 && page.attr("nodeset").is_none()) {
                    check_cells_fill_pages(c, root, size);
                }
                if let Some(ctx) = host {
                    let size = asked;
                    let listed = ctx.host.listed_page_sizes();
                    if let Some(size) = size.filter(|s| !listed.is_empty() && !listed.contains(s))
                    {
                        c.add(
                            FindingCode::PageSizeNotOnHost,
                            page,
                            "memoryBacking/hugepages/page",
                            format!(
                                "the domain asks for {} pages; the host has {}",
                                format_kib(size),
                                listed
                                    .iter()
                                    .map(|&s| format_kib(s))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            "The guest does not start without pages of its size.",
                            format!("use {} pages", format_kib(ctx.partition.page_size_kib)),
                        );
                    }
                }
            }
        }
    }
    match backing.and_then(|b| b.child("locked")) {
        None => c.add(
            FindingCode::MemoryNotLocked,
            backing.unwrap_or(root),
            "memoryBacking/locked",
            "guest memory is not locked".into(),
            WHY_MEMORY,
            "add <locked/> to <memoryBacking>, with a <memtune><hard_limit>",
        ),
        Some(locked) if root.at(&["memtune", "hard_limit"]).is_none() => c.add(
            FindingCode::LockedWithoutHardLimit,
            locked,
            "memtune/hard_limit",
            "guest memory is locked without <memtune><hard_limit>".into(),
            "Without a hard limit libvirt lifts the locked-memory limit of QEMU entirely, so a runaway QEMU can lock all of the host's memory.",
            "add <memtune><hard_limit unit='KiB'>…</hard_limit></memtune>: the guest memory plus 1 GiB for QEMU itself",
        ),
        Some(_) => {}
    }
    if backing.and_then(|b| b.child("nosharepages")).is_none() {
        c.add(
            FindingCode::SharedPages,
            backing.unwrap_or(root),
            "memoryBacking/nosharepages",
            "page sharing (KSM) is not turned off for the guest".into(),
            WHY_MEMORY,
            "add <nosharepages/> to <memoryBacking>",
        );
    }
    let numatune = root.child("numatune");
    let binding = numatune.and_then(|t| t.child("memory"));
    let bound = binding.and_then(|m| {
        let strict = m.attr("mode").unwrap_or("strict") == "strict";
        let set = m.attr("nodeset").and_then(|s| parse_libvirt_cpuset(s).ok());
        Some((strict, set?))
    });
    // Each guest NUMA cell bound to one host node of its own with `<memnode mode='strict'>` binds the
    // memory as well, cell by cell: what Nova writes for a flavor with hw:numa_nodes (beside a
    // `<memory>` naming every cell's node) and KubeVirt for NUMA passthrough (with no `<memory>`).
    let cells_bound = !guest_cells.is_empty()
        && bound.as_ref().is_none_or(|(strict, _)| *strict)
        && guest_cells.iter().all(|&cell| {
            numatune
                .into_iter()
                .flat_map(|t| t.children_named("memnode"))
                .any(|m| {
                    m.attr("cellid")
                        .and_then(|id| id.trim().parse::<u32>().ok())
                        == Some(cell)
                        && m.attr("mode").unwrap_or("strict") == "strict"
                        && m.attr("nodeset")
                            .and_then(|s| parse_libvirt_cpuset(s).ok())
                            .is_some_and(|set| set.len() == 1)
                })
        });
    match bound {
        _ if cells_bound => {}
        Some((true, set)) if set.len() == 1 => {
            let node = set.first().expect("one node");
            if let Some(ctx) = host {
                let vcpu_nodes = nodes_of(ctx.host, vcpu_cpus);
                if vcpu_nodes.len() == 1 && !vcpu_nodes.contains(node) {
                    c.add(
                        FindingCode::MemoryOnOtherNode,
                        binding.expect("read"),
                        "numatune/memory",
                        format!(
                            "guest memory is on host node {node}, its vCPUs on node {vcpu_nodes}"
                        ),
                        WHY_MEMORY,
                        format!("nodeset='{vcpu_nodes}'"),
                    );
                }
            }
        }
        _ => {
            let what = match (binding, bound) {
                (None, _) => "guest memory is not bound to a host NUMA node".to_string(),
                (Some(_), Some((false, _))) => format!(
                    "guest memory is bound with mode '{}', which lets it fall back to other nodes",
                    binding.and_then(|m| m.attr("mode")).unwrap_or_default()
                ),
                (Some(m), _) => match m.attr("nodeset") {
                    Some(set) => format!("guest memory may come from host nodes {set}"),
                    None => "guest memory has no fixed host node (placement='auto')".into(),
                },
            };
            c.add(
                FindingCode::MemoryNotBound,
                binding.or(numatune).unwrap_or(root),
                "numatune/memory",
                what,
                WHY_MEMORY,
                "add <numatune><memory mode='strict' nodeset='N'/></numatune> with N the vCPUs' host node",
            );
        }
    }
}

fn check_devices(c: &mut Checker<'_>, root: &Element) {
    let Some(devices) = root.child("devices") else {
        return;
    };
    let balloon = devices.child("memballoon");
    if balloon.and_then(|b| b.attr("model")) != Some("none") {
        c.add(
            FindingCode::Balloon,
            balloon.unwrap_or(devices),
            "devices/memballoon",
            match balloon {
                Some(b) => format!(
                    "a memory balloon (model '{}')",
                    b.attr("model").unwrap_or_default()
                ),
                None => "no <memballoon>: libvirt adds a virtio balloon".into(),
            },
            WHY_DEVICE,
            "<memballoon model='none'/>",
        );
    }
    let usb_needed = devices.children.iter().any(needs_usb);
    let controllers: Vec<&Element> = devices
        .children_named("controller")
        .filter(|c| c.attr("type") == Some("usb"))
        .collect();
    if !usb_needed && controllers.iter().all(|c| c.attr("model") != Some("none")) {
        c.add(
            FindingCode::Usb,
            controllers.first().copied().unwrap_or(devices),
            "devices/controller",
            match controllers.as_slice() {
                [] => "no USB controller is given: libvirt adds one".into(),
                [one] => format!(
                    "a USB controller ({})",
                    one.attr("model").unwrap_or("the default model")
                ),
                many => format!("{} USB controllers", many.len()),
            },
            WHY_DEVICE,
            "replace every USB controller with <controller type='usb' model='none'/>",
        );
    }
    for dev in &devices.children {
        let (code, what, kind) = match dev.name {
            "input" if dev.attr("type") == Some("tablet") => (
                FindingCode::Tablet,
                "a tablet",
                dev.attr("bus").unwrap_or("usb"),
            ),
            "sound" => (
                FindingCode::Sound,
                "a sound device",
                dev.attr("model").unwrap_or_default(),
            ),
            "graphics" => (
                FindingCode::Graphics,
                "a graphical console",
                dev.attr("type").unwrap_or_default(),
            ),
            _ => continue,
        };
        c.add(
            code,
            dev,
            &format!("devices/{}", dev.name),
            format!("{what} ({kind})"),
            WHY_DEVICE,
            "remove it; reach the guest over SSH, with a serial console for emergencies",
        );
    }
}

fn check_cpu(
    c: &mut Checker<'_>,
    root: &Element,
    facts: &DomainFacts,
    host: Option<HostContext<'_>>,
) {
    let cpu = root.child("cpu");
    let arch = facts
        .arch
        .clone()
        .or_else(|| host.and_then(|h| h.host.libvirt_arch().map(str::to_string)));
    let ppc = matches!(arch.as_deref(), Some("ppc64" | "ppc64le"));
    let x86 = matches!(arch.as_deref(), Some("x86_64" | "i686"));
    let mode = cpu
        .and_then(|c| c.attr("mode"))
        .unwrap_or(if cpu.is_some() { "custom" } else { "(none)" });
    if mode != "host-passthrough" {
        c.add(
            FindingCode::CpuMode,
            cpu.unwrap_or(root),
            "cpu",
            format!("the guest CPU mode is {mode}"),
            "A named or default CPU model hides host features the guest's timers and real-time code rely on (TSC deadline, invariant TSC); a real-time guest is pinned and never migrates, so nothing is gained.",
            "<cpu mode='host-passthrough' migratable='off'>",
        );
    }
    if x86
        && !cpu.is_some_and(|c| {
            c.children_named("feature").any(|f| {
                f.attr("name") == Some("tsc-deadline")
                    && matches!(f.attr("policy"), Some("require" | "force"))
            })
        })
    {
        c.add(
            FindingCode::NoTscDeadline,
            cpu.unwrap_or(root),
            "cpu/feature",
            "the guest CPU does not require the TSC deadline timer".into(),
            "With tsc-deadline the guest programs its timer by writing one MSR, which KVM handles without leaving to QEMU; without it the guest's timer interrupts take a slower path (libvirt's guide requires it).",
            "add <feature policy='require' name='tsc-deadline'/> to <cpu>",
        );
    }
    let features = root.child("features");
    let pmu = features.and_then(|f| f.child("pmu"));
    if !ppc && pmu.and_then(|p| p.attr("state")) != Some("off") {
        c.add(
            FindingCode::PmuOn,
            pmu.or(features).unwrap_or(root),
            "features/pmu",
            "the virtual PMU is on".into(),
            "A virtual performance monitoring unit makes KVM save and restore its counters on every guest entry and exit, adding latency (libvirt's guide turns it off).",
            "add <pmu state='off'/> to <features>",
        );
    }
    if x86 {
        let hint = features
            .and_then(|f| f.at(&["kvm", "hint-dedicated"]))
            .and_then(|h| h.attr("state"));
        if hint != Some("on") {
            c.add(
                FindingCode::Recipe,
                features.unwrap_or(root),
                "features/kvm/hint-dedicated",
                "the guest is not told its vCPUs have dedicated host CPUs".into(),
                "With kvm-hint-dedicated the guest's kernel polls in idle and skips paravirtual spinlocks, as on bare metal (KubeVirt sets it for dedicated CPUs).",
                "add <kvm><hint-dedicated state='on'/></kvm> to <features>",
            );
        }
    }
    if x86 {
        let clock = root.child("clock");
        let hpet = clock
            .into_iter()
            .flat_map(|c| c.children_named("timer"))
            .find(|t| t.attr("name") == Some("hpet"));
        if hpet.and_then(|t| t.attr("present")) != Some("no") {
            c.add(
                FindingCode::Recipe,
                hpet.or(clock).unwrap_or(root),
                "clock/timer",
                "the guest has an HPET (QEMU gives x86 guests one unless it is turned off)".into(),
                "The HPET is emulated in QEMU's own threads: a guest that reads it leaves KVM for every read (OpenStack Nova turns it off for KVM guests).",
                "add <timer name='hpet' present='no'/> to <clock>",
            );
        }
    }
    if cpu.and_then(|c| c.attr("migratable")) == Some("on") {
        c.add(
            FindingCode::Recipe,
            cpu.expect("read"),
            "cpu",
            "the guest CPU is migratable".into(),
            "A migratable host-passthrough CPU hides host features that cannot migrate (the invariant TSC among them); a pinned real-time guest does not migrate.",
            "migratable='off'",
        );
    }
}
