//! Planning: from a [`Host`] and [`Settings`] to the host partition, the huge page reservation and the
//! guest's placement, with warnings for everything that works but deserves a second look.

//!
//! The plan is data. The outputs made from it (the kernel command line, `hugepages.sh`, the domain
//! XML) are written by the emitter modules, which depend on this one and not the other way round.

use crate::cpuset::CpuSet;
use crate::error::Error;
use crate::host::{Cell, Core, Host};
use crate::settings::{
    auto_page_size, EmulatorPolicy, GuestSettings, Kernel, KernelType, PageSize, Preset, Recipe,
    Reserve, Scheduler, Settings,
};
use crate::units::{format_kib, Kib, GIB_KIB};

/// A complete plan: how the host is partitioned and where the guest runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The recipe revision the outputs are written with.
    pub recipe: Recipe,
    /// The host partition.
    pub host: HostPlan,
    /// The guest placement: the first guest's, and the only one of a plan for one guest.
    pub guest: GuestPlan,
    /// The other guests' placements, in the order the settings give them (empty for one guest).
    pub others: Vec<GuestPlan>,
    /// Things that work but deserve a second look, ordered by code.
    pub warnings: Vec<Warning>,
}

impl Plan {
    /// Returns every guest's placement, the first guest first.
    pub fn guests(&self) -> impl Iterator<Item = &GuestPlan> {
        std::iter::once(&self.guest).chain(&self.others)
    }
}

/// How the host is partitioned between its own work and real-time guests, and its huge pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPlan {
    /// The CPUs removed from the scheduler for real-time guests.
    pub isolcpus: CpuSet,
    /// The CPUs kept for the host OS, interrupts and QEMU's emulator threads.
    pub housekeeping: CpuSet,
    /// Per NUMA node with CPUs, the split of its online CPUs.
    pub nodes: Vec<NodePartition>,
    /// The huge page size reserved, in KiB.
    pub page_size_kib: u64,
    /// The huge pages to reserve on every node with known memory: all of it beyond the host's
    /// share, or (with [`Reserve::Guest`]) the guest's pages and the spare ones on its node and none
    /// elsewhere.
    pub hugepages: Vec<NodePages>,
    /// Which kernel parameters the command line gets.
    pub preset: Preset,
    /// The recipe revision the host's outputs are written with.
    pub recipe: Recipe,
    /// The host's kernel version.
    pub kernel: Kernel,
    /// Whether the host's kernel is PREEMPT_RT.
    pub kernel_type: KernelType,
    /// Which memory `hugepages` holds: all beyond the host's share, or only the guest's.
    pub reserve: Reserve,
    /// With [`Reserve::Guest`], the memory in KiB of the pages reserved on the guest's node beyond
    /// its own, spare for guests started later (0 for none).
    pub spare_kib: u64,
    /// The priorities the host's per-CPU kernel threads get, above the vCPUs' (recipe 3 on).
    pub kthreads: KthreadPriorities,
}

/// The SCHED_FIFO priorities recipe 3 gives the host's per-CPU kernel threads, so that a vCPU that
/// spins at its real-time priority never starves them: tuned's realtime-virtual-host ladder
/// (`ksoftirqd` 2, `rcuc`/`rcub` 4 over vCPUs at 1; `ktimers` 2, level with `ksoftirqd`, and its
/// predecessor `ktimersoftd`, gone since 5.0-rt, 3), with `ktimers` kept one above `ksoftirqd` as
/// `ktimersoftd` was, all above any vCPU priority up to 96. The kernel caps them at 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KthreadPriorities {
    /// The vCPUs' own priority, which the others are above.
    pub vcpu: u32,
    /// `ksoftirqd/N`: softirqs not run on interrupt exit (network receive, block completion).
    pub ksoftirqd: u32,
    /// `ktimers/N` (PREEMPT_RT only): timer softirqs, the guest's timers among them.
    pub ktimers: u32,
    /// `rcuc/N`, `rcub/N`, `rcuog/N`: RCU's kernel threads (`rcutree.kthread_prio`).
    pub rcu: u32,
}

impl KthreadPriorities {
    /// Returns the ladder above vCPUs of real-time priority `vcpu`.
    pub fn above(vcpu: u32) -> KthreadPriorities {
        KthreadPriorities {
            vcpu,
            ksoftirqd: (vcpu + 1).min(99),
            ktimers: (vcpu + 2).min(99),
            rcu: (vcpu + 3).min(99),
        }
    }

    /// Returns stalld's SCHED_FIFO priority (recipe 4): below every kernel thread it may have to boost,
    /// as the Node Tuning Operator's tests require of it, and at least 1.
    pub fn stalld(&self) -> u32 {
        (self.ksoftirqd.min(self.rcu) - 1).max(1)
    }

    /// Returns whether every kernel thread is strictly above vCPUs of priority `vcpu`.
    pub fn all_above(&self, vcpu: u32) -> bool {
        self.ksoftirqd.min(self.ktimers).min(self.rcu) > vcpu
    }
}

impl HostPlan {
    /// Returns whether the nodes need different huge page counts (the kernel's boot-time reservation
    /// spreads pages evenly, so the rest must be reserved at runtime).
    pub fn uneven_pages(&self) -> bool {
        let mut counts = self.hugepages.iter().map(|p| p.count);
        let first = counts.next();
        counts.any(|c| Some(c) != first)
    }

    /// Returns whether the kernel command line reserves each node's count at boot (recipe 3, Linux
    /// 5.16 and later, nodes of different counts).
    pub fn per_node_boot_pages(&self) -> bool {
        self.recipe >= Recipe::RealtimeHost
            && self.kernel.per_node_boot_pages()
            && self.uneven_pages()
    }

    /// Returns whether some pages must be reserved at runtime: the nodes need different counts and the
    /// kernel cannot take them per node at boot.
    pub fn runtime_pages(&self) -> bool {
        self.uneven_pages() && !self.per_node_boot_pages()
    }

    /// Keeps only the guests' huge pages: on each node the memory of the guests placed there, plus
    /// the spare pages on `spare_node`, and none on the other nodes.
    fn reserve_only_for<'g>(
        &mut self,
        guests: impl Iterator<Item = &'g GuestPlan> + Clone,
        spare_node: u32,
    ) {
        for pages in &mut self.hugepages {
            let memory: u64 = guests
                .clone()
                .filter(|g| g.node == pages.node)
                .map(|g| g.memory_kib)
                .sum();
            let spare = if pages.node == spare_node {
                self.spare_kib
            } else {
                0
            };
            pages.count = (memory + spare) / pages.page_size_kib;
        }
    }

    /// Returns the huge pages planned on a node (0 for a node without known memory).
    pub fn pages_on(&self, node: u32) -> u64 {
        self.hugepages
            .iter()
            .find(|p| p.node == node)
            .map_or(0, |p| p.count)
    }
}

/// The split of one node's CPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePartition {
    /// The node id.
    pub node: u32,
    /// CPUs kept for the host on this node.
    pub housekeeping: CpuSet,
    /// CPUs isolated on this node.
    pub isolated: CpuSet,
}

/// The huge pages reserved on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePages {
    /// The node id.
    pub node: u32,
    /// The page size in KiB.
    pub page_size_kib: u64,
    /// The number of pages.
    pub count: u64,
}

/// Where the guest runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestPlan {
    /// The domain name.
    pub name: String,
    /// The host NUMA node.
    pub node: u32,
    /// The number of vCPUs.
    pub vcpus: u32,
    /// The guest RAM in KiB.
    pub memory_kib: u64,
    /// The host CPU of every vCPU: index = vCPU.
    pub vcpupin: Vec<u32>,
    /// Where QEMU's emulator threads run.
    pub emulator: EmulatorPolicy,
    /// The host CPUs QEMU's emulator threads may use: the node's housekeeping CPUs, or an isolated
    /// core of their own.
    pub emulatorpin: CpuSet,
    /// The vCPUs with the real-time scheduler.
    pub rt_vcpus: CpuSet,
    /// The real-time policy.
    pub scheduler: Scheduler,
    /// The real-time priority.
    pub priority: u32,
    /// Isolated SMT siblings left idle so that the vCPUs own whole cores.
    pub idle_siblings: CpuSet,
    /// The huge page size backing the guest RAM, in KiB.
    pub page_size_kib: u64,
    /// The warnings about this guest alone (also among the plan's warnings, which hold the host's
    /// too; with several guests their messages there begin with the guest's name).
    pub warnings: Vec<Warning>,
}

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

/// The host partition before any guest is placed, with the warnings about the host: usable on its own
/// (the app draws it even when the guest does not fit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The partition.
    pub host: HostPlan,
    /// Warnings about the host side.
    pub warnings: Vec<Warning>,
}

fn warn(warnings: &mut Vec<Warning>, code: WarningCode, message: String) {
    warnings.push(Warning { code, message });
}

/// Makes the whole plan, in the order the README's "How the plan is made" tells it: split the host,
/// choose the node, place the vCPUs, then collect the warnings.
pub fn plan(host: &Host, settings: &Settings) -> Result<Plan, Error> {
    let Partition {
        host: mut host_plan,
        mut warnings,
    } = partition(host, settings)?;
    let guests: Vec<&GuestSettings> = settings.guests().collect();
    let several = guests.len() > 1;
    for gs in &guests {
        let what = if several {
            format!("the memory of guest {}", gs.name)
        } else {
            "the guest memory".to_string()
        };
        check_memory_fits_pages(&what, gs.memory.0, host_plan.page_size_kib)?;
    }
    check_memory_fits_pages(
        "the spare memory",
        host_plan.spare_kib,
        host_plan.page_size_kib,
    )?;
    let host_memory = settings.host.host_memory.0;
    // Guests with a node of their own first, then the automatic ones, each in the order given.
    let order: Vec<usize> = (0..guests.len())
        .filter(|&i| guests[i].node.is_some())
        .chain((0..guests.len()).filter(|&i| guests[i].node.is_none()))
        .collect();
    let mut taken = Taken::default();
    let mut placed: Vec<Option<(GuestPlan, Vec<Core>)>> = vec![None; guests.len()];
    for &i in &order {
        let gs = guests[i];
        let cell = if several {
            choose_node_beside(host, &host_plan, gs, host_memory, &taken, &guests)?
        } else {
            choose_node(host, &host_plan, gs, host_memory)?
        };
        if let Some(keep) = &gs.keep {
            check_kept(cell, &host_plan, gs, keep, &taken.cpus)?;
        }
        let (guest, cores) = place_guest(cell, &host_plan, gs, settings.recipe, &taken.cpus);
        taken.add(&guest, &cores);
        // An isolated emulator core is the guest's whole: its sibling threads too.
        if guest.emulator == EmulatorPolicy::Isolate {
            for cpu in host.cpus().filter(|c| guest.emulatorpin.contains(c.id)) {
                taken.cpus.extend_from(&cpu.siblings);
            }
        }
        placed[i] = Some((guest, cores));
    }
    let placed: Vec<(GuestPlan, Vec<Core>)> = placed.into_iter().flatten().collect();
    if settings.host.reserve == Reserve::Guest {
        // The spare pages go with the guest placed first.
        let spare_node = placed[order[0]].0.node;
        host_plan.reserve_only_for(placed.iter().map(|(g, _)| g), spare_node);
    }
    let mut placed: Vec<GuestPlan> = placed
        .into_iter()
        .map(|(mut guest, cores)| {
            guest.warnings = guest_warnings(guest.node, &cores, &host_plan, &guest);
            guest.warnings.sort_by_key(|w| w.code);
            guest
        })
        .collect();
    for guest in &placed {
        warnings.extend(guest.warnings.iter().map(|w| Warning {
            code: w.code,
            message: if several {
                format!("{}: {}", guest.name, w.message)
            } else {
                w.message.clone()
            },
        }));
    }
    let mut placed = placed.drain(..);
    let guest = placed.next().expect("a plan has a first guest");
    let others: Vec<GuestPlan> = placed.collect();
    if settings.recipe >= Recipe::RealtimeHost {
        let highest = std::iter::once(&guest)
            .chain(&others)
            .filter(|g| !g.rt_vcpus.is_empty())
            .max_by_key(|g| g.priority)
            .unwrap_or(&guest);
        warnings.extend(host_recipe_warnings(host, &host_plan, highest));
    }
    warnings.sort_by_key(|w| w.code);
    Ok(Plan {
        recipe: settings.recipe,
        host: host_plan,
        guest,
        others,
        warnings,
    })
}

/// What the guests placed so far take of the host: their cores (vCPUs, idle siblings and isolated
/// emulator cores) and their memory on each node.
#[derive(Debug, Default)]
struct Taken {
    /// Every CPU of a core some guest already uses.
    cpus: CpuSet,
    /// The guests placed so far: name, node and memory in KiB.
    guests: Vec<(String, u32, u64)>,
}

impl Taken {
    fn add(&mut self, guest: &GuestPlan, cores: &[Core]) {
        for core in cores {
            self.cpus.extend_from(&core.cpus);
        }
        if guest.emulator == EmulatorPolicy::Isolate {
            self.cpus.extend_from(&guest.emulatorpin);
        }
        self.guests
            .push((guest.name.clone(), guest.node, guest.memory_kib));
    }

    /// The memory of the guests placed on a node.
    fn memory_on(&self, node: u32) -> u64 {
        self.guests
            .iter()
            .filter(|g| g.1 == node)
            .map(|g| g.2)
            .sum()
    }

    /// The names of the guests placed on a node, for messages.
    fn names_on(&self, node: u32) -> Vec<&str> {
        self.guests
            .iter()
            .filter(|g| g.1 == node)
            .map(|g| g.0.as_str())
            .collect()
    }
}

/// Why a guest does not fit on a node beside the guests already placed, or `None` when it does: the
/// node's isolated cores no guest uses, and its pages less the memory of the guests there and, until
/// the first guest has taken them, the spare ones.
fn misfit_beside(
    part: &HostPlan,
    cell: &Cell,
    gs: &GuestSettings,
    taken: &Taken,
) -> Option<String> {
    let isolated = &part.nodes.iter().find(|n| n.node == cell.id)?.isolated;
    let free = cell
        .isolated_cores(isolated)
        .into_iter()
        .filter(|c| c.cpus.is_disjoint(&taken.cpus))
        .count();
    let beside = taken.names_on(cell.id);
    let beside_text = if beside.is_empty() {
        String::new()
    } else {
        format!(" beside {}", beside.join(", "))
    };
    let needed = cores_needed(gs);
    if free < needed {
        return Some(format!(
            "node {} has {free} free isolated cores{beside_text}, {} needs {needed}",
            cell.id, gs.name
        ));
    }
    let spare = if taken.guests.is_empty() {
        part.spare_kib
    } else {
        0
    };
    let pages = part.pages_on(cell.id) * part.page_size_kib;
    let free_memory = pages.saturating_sub(taken.memory_on(cell.id) + spare);
    if free_memory < gs.memory.0 {
        return Some(format!(
            "node {} has {} of huge pages free{beside_text}, {} needs {}",
            cell.id,
            format_kib(free_memory),
            gs.name,
            format_kib(gs.memory.0)
        ));
    }
    None
}

/// Chooses a guest's node beside the guests already placed: its own node if it fits there, else
/// the highest-numbered node it fits on (the rule for one guest, so that one guest is placed as
/// before; it fills the last node first and leaves node 0, where the host's own devices and
/// interrupts usually are, for last). When it fits nowhere, says why on every node, and whether the
/// guest alone would fit (so that another order would place it).
fn choose_node_beside<'h>(
    host: &'h Host,
    part: &HostPlan,
    gs: &GuestSettings,
    host_memory: u64,
    taken: &Taken,
    guests: &[&GuestSettings],
) -> Result<&'h Cell, Error> {
    // The checks of a node that hold whatever else is placed (it exists, has CPUs and memory).
    if let Some(id) = gs.node {
        let cell = node_cell(host, id)
            .map_err(|e| Error::Impossible(format!("guest {}: {e}", gs.name)))?;
        return match misfit_beside(part, cell, gs, taken) {
            None => Ok(cell),
            Some(why) => Err(Error::Impossible(format!(
                "guest {} does not fit on node {id}: {why}{}",
                gs.name,
                alone_hint(host, part, gs, host_memory, guests)
            ))),
        };
    }
    let candidates = candidate_cells(host);
    if candidates.is_empty() {
        // The same refusal as for one guest: no node can hold any guest.
        return choose_node(host, part, gs, host_memory);
    }
    if let Some(cell) = candidates
        .iter()
        .rev()
        .find(|c| misfit_beside(part, c, gs, taken).is_none())
    {
        return Ok(cell);
    }
    let reasons: Vec<String> = candidates
        .iter()
        .filter_map(|c| misfit_beside(part, c, gs, taken))
        .collect();
    Err(Error::Impossible(format!(
        "guest {} ({} vCPUs, {}) fits on no NUMA node beside the guests placed before it: {}{}",
        gs.name,
        gs.vcpus,
        gs.memory,
        reasons.join("; "),
        alone_hint(host, part, gs, host_memory, guests)
    )))
}

/// Says whether a guest that does not fit beside the others would fit on the host alone, and where.
fn alone_hint(
    host: &Host,
    part: &HostPlan,
    gs: &GuestSettings,
    host_memory: u64,
    guests: &[&GuestSettings],
) -> String {
    let alone = GuestSettings {
        node: gs.node,
        ..gs.clone()
    };
    match choose_node(host, part, &alone, host_memory) {
        Ok(cell) if guests.len() > 1 => format!(
            ". Alone it fits on node {}: with node={} it is placed before the guests without a node; or give the others fewer vCPUs or less memory",
            cell.id, cell.id
        ),
        _ => ". It does not fit on the host even alone".to_string(),
    }
}

/// Splits the host's CPUs and memory between the host OS and real-time guests.
pub fn partition(host: &Host, settings: &Settings) -> Result<Partition, Error> {
    settings.validate()?;
    let hs = &settings.host;
    let (nodes, housekeeping) = split_cpus(host, settings)?;
    let online = host.online_cpus();
    let isolated = online.difference(&housekeeping);
    if isolated.is_empty() {
        let per_node = match &hs.housekeeping {
            Some(list) => format!("the housekeeping list {list}"),
            None => format!("{} host CPUs per node", hs.host_cpus),
        };
        return Err(Error::Impossible(format!(
            "with {per_node} every online CPU ({online}) stays with the host and nothing is left to isolate; keep fewer CPUs for the host"
        )));
    }
    let page_size_kib = choose_page_size(host, hs.page_size)?;
    let mut warnings = cpu_warnings(host, &isolated);
    let hugepages = reserve_pages(host, page_size_kib, hs.host_memory.0, &mut warnings);
    Ok(Partition {
        host: HostPlan {
            isolcpus: isolated,
            housekeeping,
            nodes,
            page_size_kib,
            hugepages,
            preset: hs.preset,
            recipe: settings.recipe,
            kernel: hs.kernel,
            kernel_type: hs.kernel_type,
            reserve: hs.reserve,
            spare_kib: hs.spare.0,
            kthreads: KthreadPriorities::above(settings.highest_priority()),
        },
        warnings,
    })
}

/// Chooses every node's housekeeping CPUs (the list given, or the lowest `host_cpus` ids), grown to
/// whole cores; the rest of each node is isolated.
fn split_cpus(host: &Host, settings: &Settings) -> Result<(Vec<NodePartition>, CpuSet), Error> {
    let hs = &settings.host;
    if let Some(list) = &hs.housekeeping {
        let unknown = list.difference(&host.online_cpus());
        if !unknown.is_empty() {
            return Err(Error::Setting(format!(
                "the housekeeping list names {} {unknown}, which {} not online on this host",
                if unknown.len() == 1 { "CPU" } else { "CPUs" },
                if unknown.len() == 1 { "is" } else { "are" }
            )));
        }
    }
    let mut nodes = Vec::new();
    let mut housekeeping = CpuSet::new();
    for cell in host.cells.iter().filter(|c| !c.cpus.is_empty()) {
        let cell_cpus = cell.cpu_set();
        let chosen: CpuSet = match &hs.housekeeping {
            Some(list) => list.intersection(&cell_cpus),
            None if settings.recipe >= Recipe::RealtimeHost => {
                whole_cores(cell.cores(), hs.host_cpus as usize)
            }
            None => cell_cpus.iter().take(hs.host_cpus as usize).collect(),
        };
        if chosen.is_empty() {
            return Err(Error::Setting(format!(
                "the housekeeping list keeps no CPU of NUMA node {} (CPUs {cell_cpus}); every node needs at least one core for the host",
                cell.id
            )));
        }
        let mut node_hk = CpuSet::new();
        for core in cell.cores() {
            if !core.cpus.is_disjoint(&chosen) {
                node_hk.extend_from(&core.cpus);
            }
        }
        housekeeping.extend_from(&node_hk);
        nodes.push(NodePartition {
            node: cell.id,
            isolated: cell_cpus.difference(&node_hk),
            housekeeping: node_hk,
        });
    }
    Ok((nodes, housekeeping))
}

/// Takes whole cores, in the order of each core's lowest CPU id, until they hold at least `cpus`
/// logical CPUs: the same request keeps the same amount whether SMT siblings are numbered next to each
/// other (0,1) or apart (0,8). Recipe 3 counts the host's CPUs this way; before, the lowest `cpus` ids
/// were taken and grown to their cores, which kept one core in the first numbering and two in the
/// second.
fn whole_cores(mut cores: Vec<Core>, cpus: usize) -> CpuSet {
    // A cell's cores come in this order already (Cell::cores).
    if !cores.is_sorted_by_key(|c| c.cpus.first()) {
        cores.sort_unstable_by_key(|c| c.cpus.first());
    }
    let mut kept = CpuSet::new();
    for core in cores {
        if kept.len() >= cpus {
            break;
        }
        kept.extend_from(&core.cpus);
    }
    kept
}

/// The warnings about the host's CPUs: CPU 0 isolated, SMT, offline CPUs.
fn cpu_warnings(host: &Host, isolated: &CpuSet) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if isolated.contains(0) {
        warn(
            &mut warnings,
            WarningCode::Cpu0Isolated,
            "CPU 0 is isolated: it often handles timers and interrupts that cannot move, which adds latency to whatever runs there; keep it for the host".into(),
        );
    }
    if host.smt() {
        warn(
            &mut warnings,
            WarningCode::SmtEnabled,
            if matches!(host.libvirt_arch(), Some("ppc64" | "ppc64le")) {
                "SMT is enabled: each vCPU gets a whole core, its sibling threads idle; turning SMT off (ppc64_cpu --smt=off, which KVM on POWER8 needs anyway) isolates as well without wasting threads".into()
            } else {
                "SMT (hyper-threading) is enabled: each vCPU gets a whole core, its sibling threads idle; disabling SMT in the firmware isolates as well without wasting threads".into()
            },
        );
    }
    let offline: CpuSet = host
        .cells
        .iter()
        .flat_map(|c| c.offline_cpus.iter().copied())
        .collect();
    if !offline.is_empty() {
        warn(
            &mut warnings,
            WarningCode::OfflineCpus,
            format!(
                "{} CPUs ({offline}) are listed without topology (offline); they are neither isolated nor used for the guest",
                offline.len()
            ),
        );
    }
    warnings
}

/// Plans `floor((node memory − host memory) / page size)` pages on every node that reports its memory.
fn reserve_pages(
    host: &Host,
    page_size_kib: u64,
    host_memory: u64,
    warnings: &mut Vec<Warning>,
) -> Vec<NodePages> {
    let mut hugepages = Vec::new();
    for cell in &host.cells {
        let Some(memory) = cell.memory_kib else {
            if !cell.cpus.is_empty() {
                warn(
                    warnings,
                    WarningCode::NodeMemoryUnknown,
                    format!(
                        "NUMA node {} does not report its memory (libvirt older than 1.2.7?), so no huge pages are planned there",
                        cell.id
                    ),
                );
            }
            continue;
        };
        if memory < host_memory.saturating_add(page_size_kib) {
            warn(
                warnings,
                WarningCode::HostMemoryLow,
                format!(
                    "NUMA node {} has {}, not more than the {} kept for the host plus one {} page, so no huge pages are reserved there",
                    cell.id,
                    format_kib(memory),
                    format_kib(host_memory),
                    format_kib(page_size_kib)
                ),
            );
        }
        hugepages.push(NodePages {
            node: cell.id,
            page_size_kib,
            count: memory.saturating_sub(host_memory) / page_size_kib,
        });
    }
    hugepages
}

fn choose_page_size(host: &Host, choice: PageSize) -> Result<u64, Error> {
    let listed = host.listed_page_sizes();
    let listed_text = || {
        listed
            .iter()
            .map(|&s| format_kib(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match choice {
        PageSize::Auto => auto_page_size(&listed).ok_or_else(|| {
            Error::Impossible(format!(
                "the host lists only the page sizes {}, no huge page size to back the guest with",
                listed_text()
            ))
        }),
        PageSize::Kib(size) if listed.is_empty() || listed.contains(&size) => Ok(size),
        PageSize::Kib(size) => Err(Error::Impossible(format!(
            "the host does not support {} pages; it lists {}",
            format_kib(size),
            listed_text()
        ))),
    }
}

/// Refuses guest memory that is not a whole number of huge pages, naming the nearest sizes that are.
fn check_memory_fits_pages(what: &str, kib: u64, page: u64) -> Result<(), Error> {
    if kib.is_multiple_of(page) {
        return Ok(());
    }
    let below = kib / page * page;
    let above = format_kib(below + page);
    let choices = if below == 0 {
        above
    } else {
        format!("{} or {above}", format_kib(below))
    };
    Err(Error::Impossible(format!(
        "{what} {} is not a multiple of the {} page size; choose {choices}",
        Kib(kib),
        format_kib(page),
    )))
}

/// The isolated cores a guest needs: one per vCPU, and one for the emulator threads when they are
/// isolated.
fn cores_needed(gs: &GuestSettings) -> usize {
    gs.vcpus as usize + usize::from(gs.emulator == EmulatorPolicy::Isolate)
}

/// Why a guest does not fit on a node, or `None` when it does.
fn misfit(part: &HostPlan, cell: &Cell, gs: &GuestSettings, host_memory: u64) -> Option<String> {
    let (vcpus, memory_kib) = (gs.vcpus, gs.memory.0);
    let isolated = &part.nodes.iter().find(|n| n.node == cell.id)?.isolated;
    let cores = cell.isolated_cores(isolated).len();
    if cores < cores_needed(gs) {
        let why = match gs.emulator {
            EmulatorPolicy::Share => format!("the guest needs {vcpus} (one core per vCPU)"),
            EmulatorPolicy::Isolate => format!(
                "the guest needs {} (one core per vCPU and one for the emulator threads)",
                vcpus + 1
            ),
        };
        let plural = if cores == 1 { "" } else { "s" };
        return Some(format!(
            "node {} has {cores} isolated core{plural}, {why}",
            cell.id
        ));
    }
    let pages = part.pages_on(cell.id);
    let available = pages * part.page_size_kib;
    if available < memory_kib + part.spare_kib {
        let memory = cell.memory_kib.map_or("unknown memory".into(), format_kib);
        let needs = match part.spare_kib {
            0 => format_kib(memory_kib),
            spare => format!("{} and {} spare", format_kib(memory_kib), format_kib(spare)),
        };
        return Some(format!(
            "the guest needs {needs}, node {} can back only {} with {} pages ({pages} pages: {memory} minus {} kept for the host)",
            cell.id,
            format_kib(available),
            format_kib(part.page_size_kib),
            format_kib(host_memory),
        ));
    }
    None
}

/// Chooses the guest's node: the one asked for, if the guest fits there, else the highest-numbered node
/// with CPUs and memory that it fits on.
fn choose_node<'h>(
    host: &'h Host,
    part: &HostPlan,
    gs: &GuestSettings,
    host_memory: u64,
) -> Result<&'h Cell, Error> {
    let misfit = |cell: &Cell| misfit(part, cell, gs, host_memory);
    if let Some(id) = gs.node {
        let cell = node_cell(host, id)?;
        return match misfit(cell) {
            Some(why) => Err(Error::Impossible(why)),
            None => Ok(cell),
        };
    }
    let candidates = candidate_cells(host);
    if candidates.is_empty() {
        return Err(Error::Impossible(
            "no NUMA node reports both CPUs and memory, so the guest's memory cannot be planned; this needs the output of libvirt 1.2.7 or later".into(),
        ));
    }
    if let Some(cell) = candidates.iter().rev().find(|c| misfit(c).is_none()) {
        return Ok(cell);
    }
    let reasons: Vec<String> = candidates.iter().filter_map(|c| misfit(c)).collect();
    Err(Error::Impossible(format!(
        "the guest ({} vCPUs, {}) fits on no NUMA node: {}",
        gs.vcpus,
        gs.memory,
        reasons.join("; ")
    )))
}

/// Returns the nodes that can hold a guest: with CPUs and known memory, in id order.
fn candidate_cells(host: &Host) -> Vec<&Cell> {
    host.cells
        .iter()
        .filter(|c| !c.cpus.is_empty() && c.memory_kib.is_some())
        .collect()
}

/// Returns the node a guest asks for, if it can hold a guest at all: it exists, has CPUs and reports
/// its memory.
fn node_cell(host: &Host, id: u32) -> Result<&Cell, Error> {
    let cell = host.cell(id).ok_or_else(|| {
        let ids: Vec<String> = host.cells.iter().map(|c| c.id.to_string()).collect();
        Error::Impossible(format!(
            "the host has no NUMA node {id}; its nodes are {}",
            ids.join(", ")
        ))
    })?;
    if cell.cpus.is_empty() {
        return Err(Error::Impossible(format!(
            "NUMA node {id} has no CPUs (it is a memory-only node), so no vCPU can run there"
        )));
    }
    if cell.memory_kib.is_none() {
        return Err(Error::Impossible(format!(
            "NUMA node {id} does not report its memory, so its huge pages cannot be planned; this needs the output of libvirt 1.2.7 or later"
        )));
    }
    Ok(cell)
}

/// The largest guest one NUMA node can take with a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeCapacity {
    /// The node id.
    pub node: u32,
    /// The most vCPUs: one per isolated core, one core fewer when the emulator threads take one.
    pub vcpus: u32,
    /// The most memory, in KiB: the node's planned huge pages, less the spare ones.
    pub memory_kib: u64,
}

/// Returns the largest guest each node with CPUs and known memory can take: a guest lives on one node,
/// its vCPUs next to its memory, so these are the limits the vCPU and memory settings meet.
pub fn capacity(host: &Host, part: &HostPlan, emulator: EmulatorPolicy) -> Vec<NodeCapacity> {
    let spare = u32::from(emulator == EmulatorPolicy::Isolate);
    part.nodes
        .iter()
        .filter_map(|n| {
            let cell = host.cell(n.node)?;
            cell.memory_kib?;
            let cores = cell.isolated_cores(&n.isolated).len() as u32;
            Some(NodeCapacity {
                node: n.node,
                vcpus: cores.saturating_sub(spare),
                memory_kib: (part.pages_on(n.node) * part.page_size_kib)
                    .saturating_sub(part.spare_kib),
            })
        })
        .collect()
}

/// Says which setting meets a limit of the host, by the app's field ids, with the limit: a host
/// setting the partition cannot be made with (the housekeeping list, the CPUs or memory kept per
/// node, the page size, spare pages), guest memory that is not a whole number of pages, more vCPUs or
/// memory than the chosen node (or, automatic, any node) takes, or a node the host lacks. Empty when
/// the guest fits.
pub fn guest_limits(host: &Host, settings: &Settings) -> Vec<(&'static str, String)> {
    let part = match partition(host, settings) {
        Ok(part) => part,
        Err(e) => return host_field(host, settings, &e).into_iter().collect(),
    };
    let g = &settings.guest;
    let page = part.host.page_size_kib;
    if !g.memory.0.is_multiple_of(page) {
        return vec![("memory", memory_pages_hint(host, g.memory.0, page))];
    }
    // Memory kept per node that leaves a node no huge pages is the host setting's fault, not the
    // guest's.
    let kept = settings.host.host_memory.0;
    let starved: Vec<&Cell> = host
        .cells
        .iter()
        .filter(|c| !c.cpus.is_empty())
        .filter(|c| c.memory_kib.is_some_and(|m| m < kept.saturating_add(page)))
        .collect();
    let candidates = match g.node {
        Some(id) => host.cells.iter().filter(|c| c.id == id).count(),
        None => candidate_cells(host).len(),
    };
    let blamed = match g.node {
        Some(id) => starved.iter().any(|c| c.id == id),
        None => candidates > 0 && starved.len() == candidates,
    };
    if blamed {
        let cell = starved
            .iter()
            .find(|c| g.node.is_none_or(|id| c.id == id))
            .expect("a starved node");
        return vec![(
            "host-memory",
            format!(
                "node {} has {}: keep less than that for the host, so that huge pages are left for the guest",
                cell.id,
                format_kib(cell.memory_kib.unwrap_or(0))
            ),
        )];
    }
    let nodes = capacity(host, &part.host, g.emulator);
    let on = |pick: fn(&NodeCapacity) -> u64| match g.node {
        Some(id) => nodes.iter().find(|c| c.node == id).copied(),
        None => nodes.iter().max_by_key(|c| pick(c)).copied(),
    };
    let mut limits = Vec::new();
    if let Some(id) = g.node.filter(|&id| !nodes.iter().any(|c| c.node == id)) {
        limits.push((
            "node",
            format!("the host has no node {id} with CPUs and known memory"),
        ));
        return limits;
    }
    if let Some(c) = on(|c| u64::from(c.vcpus)).filter(|c| g.vcpus > c.vcpus) {
        limits.push((
            "vcpus",
            format!("at most {} vCPUs on node {}", c.vcpus, c.node),
        ));
    }
    // The node's pages hold the guest and the spare ones: the guest's memory is blamed when it alone
    // does not fit, else the spare.
    let spare = part.host.spare_kib;
    if let Some(c) = on(|c| c.memory_kib).filter(|c| g.memory.0 > c.memory_kib) {
        if g.memory.0 > c.memory_kib + spare {
            let beside = match spare {
                0 => String::new(),
                _ => format!(" beside {} spare", format_kib(spare)),
            };
            limits.push((
                "memory",
                format!(
                    "at most {} on node {}{beside}",
                    format_kib(c.memory_kib),
                    c.node
                ),
            ));
        } else {
            limits.push((
                "spare",
                format!(
                    "at most {} spare beside the guest on node {}",
                    format_kib(c.memory_kib + spare - g.memory.0),
                    c.node
                ),
            ));
        }
    }
    limits
}

/// Names the host field whose value the partition cannot be made with, and why.
fn host_field(host: &Host, settings: &Settings, error: &Error) -> Option<(&'static str, String)> {
    let hs = &settings.host;
    let message = error.to_string();
    // Settings::validate's host checks, in its order.
    if hs.host_cpus == 0 || hs.host_cpus > crate::cpuset::MAX_CPU_ID {
        return Some(("host-cpus", message));
    }
    if matches!(hs.page_size, PageSize::Kib(size) if size < 4 || !size.is_power_of_two()) {
        return Some(("page-size", message));
    }
    if hs.spare.0 > 0 && (hs.reserve == Reserve::All || hs.spare.0 > 1024 * 1024 * GIB_KIB) {
        return Some(("spare", message));
    }
    if hs.host_memory.0 > 1024 * 1024 * GIB_KIB {
        return Some(("host-memory", message));
    }
    if settings.validate().is_err() {
        // A guest setting: the form's own checks say which.
        return None;
    }
    if split_cpus(host, settings).is_err() {
        return Some(("housekeeping", message));
    }
    if choose_page_size(host, hs.page_size).is_err() {
        return Some(("page-size", message));
    }
    // Every CPU stays with the host.
    Some((
        if hs.housekeeping.is_some() {
            "housekeeping"
        } else {
            "host-cpus"
        },
        message,
    ))
}

/// Says that guest memory is not a whole number of pages, with the nearest sizes that are and, when
/// the host has smaller huge pages that would back it, that way out.
fn memory_pages_hint(host: &Host, kib: u64, page: u64) -> String {
    let below = kib / page * page;
    let above = format_kib(below + page);
    let choices = if below == 0 {
        above
    } else {
        format!("{} or {above}", format_kib(below))
    };
    let smaller = host
        .listed_page_sizes()
        .into_iter()
        .filter(|&size| size > 4 && size < page && kib.is_multiple_of(size))
        .max();
    match smaller {
        Some(size) => format!(
            "{} is not a whole number of {} pages: choose {choices}, or {} pages (Huge page size)",
            format_kib(kib),
            format_kib(page),
            format_kib(size)
        ),
        None => format!(
            "{} is not a whole number of {} pages: choose {choices}",
            format_kib(kib),
            format_kib(page)
        ),
    }
}

/// Places the vCPUs on isolated cores of the node, one core each (idle SMT siblings), and the emulator
/// threads on the node's housekeeping CPUs or, isolated, on one more core. From recipe 2 on, a hybrid
/// node's widest cores (its performance cores) are taken first. Returns the guest and the cores its
/// vCPUs run on.
fn place_guest(
    cell: &Cell,
    part: &HostPlan,
    gs: &GuestSettings,
    recipe: Recipe,
    taken: &CpuSet,
) -> (GuestPlan, Vec<Core>) {
    let node = part
        .nodes
        .iter()
        .find(|n| n.node == cell.id)
        .expect("the chosen node has CPUs, so it has a partition");
    // The node's isolated cores that no guest placed before uses.
    let mut cores = cell.isolated_cores(&node.isolated);
    if !taken.is_empty() {
        cores.retain(|c| c.cpus.is_disjoint(taken));
    }
    let needed = cores_needed(gs);
    let widest = cores.iter().map(|c| c.threads).max().unwrap_or(1);
    let wide: Vec<Core> = cores
        .iter()
        .filter(|c| c.threads == widest)
        .cloned()
        .collect();
    let pool = if recipe >= Recipe::Production && wide.len() >= needed {
        &wide
    } else {
        &cores
    };
    // An existing guest already placed as real time needs stays on its cores (checked by check_kept).
    let chosen = match &gs.keep {
        Some(keep) => keep
            .vcpupin
            .iter()
            .map(|&cpu| {
                cores
                    .iter()
                    .find(|c| c.cpus.contains(cpu))
                    .cloned()
                    .expect("check_kept found every kept CPU on a free isolated core")
            })
            .collect(),
        None => choose_cores(pool, gs.vcpus as usize),
    };
    let emulatorpin = match (gs.emulator, &gs.keep) {
        (EmulatorPolicy::Isolate, Some(keep)) => keep.emulatorpin.clone(),
        (EmulatorPolicy::Share, _) => node.housekeeping.clone(),
        // The first free core, on the vCPUs' socket if it has one.
        (EmulatorPolicy::Isolate, None) => {
            let free: Vec<&Core> = pool.iter().filter(|c| !chosen.contains(c)).collect();
            let socket = chosen.first().map(|c| c.socket);
            free.iter()
                .find(|c| Some(c.socket) == socket)
                .or(free.first())
                .expect("misfit() counted one core more than the vCPUs")
                .cpus
                .clone()
        }
    };
    let vcpupin: Vec<u32> = chosen
        .iter()
        .map(|c| c.cpus.first().expect("a core has a CPU"))
        .collect();
    let mut used = CpuSet::new();
    for core in &chosen {
        used.extend_from(&core.cpus);
    }
    let idle_siblings = used.difference(&vcpupin.iter().copied().collect());
    let guest = GuestPlan {
        name: gs.name.clone(),
        node: cell.id,
        vcpus: gs.vcpus,
        memory_kib: gs.memory.0,
        vcpupin,
        emulator: gs.emulator,
        emulatorpin,
        rt_vcpus: gs.rt_vcpus.resolve(gs.vcpus),
        scheduler: gs.scheduler,
        priority: gs.priority,
        idle_siblings,
        page_size_kib: part.page_size_kib,
        warnings: Vec::new(),
    };
    (guest, chosen)
}

/// Checks that a guest kept where it runs still can be: each vCPU's CPU on its own free isolated core
/// of the node, and isolated emulator threads on a free core no vCPU uses.
fn check_kept(
    cell: &Cell,
    part: &HostPlan,
    gs: &GuestSettings,
    keep: &crate::settings::Placement,
    taken: &CpuSet,
) -> Result<(), Error> {
    let node = part
        .nodes
        .iter()
        .find(|n| n.node == cell.id)
        .expect("the chosen node has CPUs, so it has a partition");
    let free: Vec<Core> = cell
        .isolated_cores(&node.isolated)
        .into_iter()
        .filter(|c| c.cpus.is_disjoint(taken))
        .collect();
    let mut used: Vec<&Core> = Vec::new();
    for (vcpu, &cpu) in keep.vcpupin.iter().enumerate() {
        match free.iter().find(|c| c.cpus.contains(cpu)) {
            Some(core) if !used.contains(&core) => used.push(core),
            _ => {
                return Err(Error::Impossible(format!(
                    "{}'s vCPU {vcpu} runs on host CPU {cpu}, which is not on a free isolated core of node {} of this plan; give it --node or --vcpus to move it",
                    gs.name, cell.id
                )))
            }
        }
    }
    if gs.emulator == EmulatorPolicy::Isolate
        && !free
            .iter()
            .any(|c| keep.emulatorpin.is_subset(&c.cpus) && !used.contains(&c))
    {
        return Err(Error::Impossible(format!(
            "{}'s emulator threads run on host CPUs {}, not on a free isolated core of their own; give it --node or --vcpus to move it",
            gs.name, keep.emulatorpin
        )));
    }
    Ok(())
}

/// The warnings about the guest: spanning sockets or dies, a single vCPU, the real-time scheduler on
/// every vCPU, and gigantic pages reserved at runtime.
fn guest_warnings(node: u32, cores: &[Core], part: &HostPlan, guest: &GuestPlan) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let sockets: std::collections::BTreeSet<u32> = cores.iter().map(|c| c.socket).collect();
    let dies: std::collections::BTreeSet<(u32, Option<u32>)> =
        cores.iter().map(|c| (c.socket, c.die)).collect();
    let widths: std::collections::BTreeSet<usize> = cores.iter().map(|c| c.threads).collect();
    if widths.len() > 1 {
        warn(
            &mut warnings,
            WarningCode::HybridCores,
            format!(
                "the vCPUs run on cores of different kinds on node {node} (cores of {} threads): on a hybrid CPU those with fewer threads are slower efficiency cores, so the real-time vCPUs would not behave alike; keep them for the host (--housekeeping) or give the guest fewer vCPUs",
                widths.iter().map(usize::to_string).collect::<Vec<_>>().join(" and ")
            ),
        );
    }
    if sockets.len() > 1 {
        warn(
            &mut warnings,
            WarningCode::GuestSpansSockets,
            format!(
                "no socket of node {} has {} free isolated cores, so the vCPUs span sockets {}; traffic between them crosses the socket interconnect",
                node,
                guest.vcpus,
                sockets.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ),
        );
    } else if dies.len() > 1 {
        warn(
            &mut warnings,
            WarningCode::GuestSpansDies,
            format!(
                "no die of node {} has {} free isolated cores, so the vCPUs span several dies of one socket, which do not share their last-level cache",
                node, guest.vcpus
            ),
        );
    }
    if guest.vcpus < 2 {
        let rt = if guest.rt_vcpus.is_empty() {
            " With real-time vCPUs ^0 (the default) its one vCPU gets no real-time scheduler; choose 'all' for an RTOS that runs on one."
        } else {
            ""
        };
        warn(
            &mut warnings,
            WarningCode::SingleVcpu,
            format!("the guest has 1 vCPU: a real-time Linux guest needs at least 2, one for non-real-time work and I/O and the others for real-time tasks (some RTOSes need only 1).{rt}"),
        );
    }
    if guest.vcpus > 1 && guest.rt_vcpus.len() == guest.vcpus as usize {
        let others = if guest.vcpus == 2 {
            "real-time vCPU 1".to_string()
        } else {
            format!("real-time vCPUs 1-{}", guest.vcpus - 1)
        };
        warn(
            &mut warnings,
            WarningCode::RtOnEveryVcpu,
            format!(
                "every vCPU has the real-time scheduler, vCPU 0 included, as libvirt's guide does: with no housekeeping vCPU, the guest's kernel threads, timers and I/O compete with its real-time tasks; the default ^0 ({others}, Nova's hw:cpu_realtime_mask=^0) keeps vCPU 0 for them"
            ),
        );
    }
    if part.page_size_kib >= GIB_KIB && part.runtime_pages() {
        warn(
            &mut warnings,
            WarningCode::RuntimeGiganticPages,
            format!(
                "the nodes need different numbers of {} pages, but this kernel spreads boot-time pages evenly: the rest are reserved at runtime (hugepages.sh, or rtkvm-host.sh at every boot), which can fall short once memory is fragmented; check its output",
                format_kib(part.page_size_kib)
            ),
        );
    }
    warnings
}

/// The warnings about the host recipe (recipe 3 on): kernel threads that cannot outrank the vCPUs, a
/// kernel without PREEMPT_RT, a TSC that cannot be trusted or checked, an architecture the recipe
/// knows only in part, and a command line too long for the kernel.
fn host_recipe_warnings(host: &Host, part: &HostPlan, guest: &GuestPlan) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let p = guest.priority;
    if !guest.rt_vcpus.is_empty() && !part.kthreads.all_above(p) {
        let k = part.kthreads;
        warn(
            &mut warnings,
            WarningCode::KthreadPriority,
            format!(
                "the real-time vCPUs' priority {p} leaves no room above them for the host's kernel threads (ksoftirqd {}, ktimers {}, rcuc/rcub {}): a spinning vCPU starves them, stalling RCU and timers on its CPU; choose 98 or less (tuned uses 1)",
                k.ksoftirqd, k.ktimers, k.rcu
            ),
        );
    }
    if part.kernel_type == KernelType::Generic {
        warn(
            &mut warnings,
            WarningCode::GenericKernel,
            "the host's kernel is not PREEMPT_RT: a vCPU can still wait for non-preemptible kernel sections, so its worst-case latency is not bounded; hard real-time guests need kernel-rt or linux-image-rt".into(),
        );
    }
    if host.is_x86() {
        match host.invariant_tsc() {
            Some(true) => {}
            Some(false) => warn(
                &mut warnings,
                WarningCode::NoInvariantTsc,
                "the host CPU does not list invtsc, so its TSC may drift with frequency or idle states: tsc=reliable is left out and the clocksource watchdog keeps interrupting every CPU".into(),
            ),
            None => warn(
                &mut warnings,
                WarningCode::TscUnknown,
                "the capabilities list no CPU features, so the TSC could not be checked: tsc=reliable is left out; add it if /proc/cpuinfo lists constant_tsc and nonstop_tsc".into(),
            ),
        }
    }
    let arch = host.libvirt_arch().unwrap_or("x86_64");
    if !host.is_x86() && !matches!(arch, "aarch64" | "ppc64" | "ppc64le") {
        warn(
            &mut warnings,
            WarningCode::ArchGeneric,
            if arch == "s390x" {
                format!("rtkvm knows {arch} only in part: the command line isolates CPUs and RCU callbacks and reserves huge pages, but s390x has no tickless mode for busy CPUs (its kernel cannot be built with NO_HZ_FULL), so the isolated CPUs keep their tick, and no power, clock or idle settings are written; see your platform's real-time guide for those")
            } else {
                format!("rtkvm knows {arch} only in part: the command line isolates CPUs, RCU, ticks and huge pages, but sets no power, clock or KVM module parameters; see your platform's real-time guide for those")
            },
        );
    }
    // Only where the model names such a generation: a host that lists none is not warned about.
    if part.recipe >= Recipe::Qualified
        && host.intel_before_ice_lake() == Some(true)
        && host.model.as_deref().is_some_and(|m| {
            !m.starts_with("Cascadelake") && !m.starts_with("Cooperlake") && !m.starts_with("qemu")
        })
    {
        warn(
            &mut warnings,
            WarningCode::NxHugePages,
            format!(
                "Intel CPUs before Cascade Lake ({}) may have the iTLB multihit erratum; on those, KVM splits the guest's executable huge pages and a kernel thread per guest rebuilds them (kvm.nx_huge_pages, on by default only where the CPU is affected: see /sys/devices/system/cpu/vulnerabilities/itlb_multihit), which tuned measured as spikes of about 100 us; rtkvm keeps this protection against a guest crashing the host, where tuned's realtime-virtual-host turns it off. Where every guest is trusted, add kvm.nx_huge_pages=off to the command line",
                host.model.as_deref().unwrap_or_default()
            ),
        );
    }
    let cmdline = crate::cmdline::join(&crate::cmdline::kernel_params(host, part));
    let limit = crate::cmdline::max_cmdline_bytes(host);
    if cmdline.len() + CMDLINE_RESERVE > limit {
        warn(
            &mut warnings,
            WarningCode::CmdlineTooLong,
            format!(
                "the command line addition is {} bytes; the kernel takes at most {limit} on {arch}, the distribution's own parameters (about {CMDLINE_RESERVE}) included, and cuts off the rest; contiguous housekeeping CPUs shorten the cpulists",
                cmdline.len()
            ),
        );
    }
    warnings
}

/// What a distribution's own kernel parameters take of the command line, allowed for when checking
/// rtkvm's addition against the limit.
const CMDLINE_RESERVE: usize = 256;

/// Picks `n` cores: within one socket and die if one has enough (lowest socket, then die, first), else
/// within one socket, else across sockets in id order. Cores keep their lowest-id-first order.
fn choose_cores(cores: &[Core], n: usize) -> Vec<Core> {
    let mut groups: Vec<(u32, Option<u32>)> = cores.iter().map(|c| (c.socket, c.die)).collect();
    groups.sort_unstable();
    groups.dedup();
    for (socket, die) in &groups {
        let in_group: Vec<Core> = cores
            .iter()
            .filter(|c| c.socket == *socket && c.die == *die)
            .cloned()
            .collect();
        if in_group.len() >= n {
            return in_group.into_iter().take(n).collect();
        }
    }
    let mut sockets: Vec<u32> = groups.iter().map(|g| g.0).collect();
    sockets.dedup();
    for socket in sockets {
        let in_socket: Vec<Core> = cores
            .iter()
            .filter(|c| c.socket == socket)
            .cloned()
            .collect();
        if in_socket.len() >= n {
            return in_socket.into_iter().take(n).collect();
        }
    }
    let mut all = cores.to_vec();
    all.sort_unstable_by_key(|c| (c.socket, c.die, c.cpus.first()));
    all.truncate(n);
    all
}
