//! Planning: from a [`Host`] and [`Settings`] to the host partition, the huge page reservation and the
//! guest's placement, with warnings for everything that works but deserves a second look.

use serde::Serialize;

use crate::cmdline::{kernel_cmdline, KernelParam};
use crate::cpuset::CpuSet;
use crate::domain::domain_xml;
use crate::error::Error;
use crate::host::{Cell, Core, Host};
use crate::hugepages::{hugepage_settings, needs_runtime, HugepageSettings};
use crate::settings::{auto_page_size, PageSize, Scheduler, Settings};
use crate::units::{format_kib, GIB_KIB};

/// A complete plan: what to change on the host and the guest to define.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The host partition and its settings.
    pub host: HostPlan,
    /// The guest placement.
    pub guest: GuestPlan,
    /// The libvirt domain XML for the guest.
    pub domain_xml: String,
    /// Things that work but deserve a second look.
    pub warnings: Vec<Warning>,
}

/// How the host is partitioned and what its kernel and huge pages must be set to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostPlan {
    /// The CPUs removed from the scheduler for real-time guests.
    pub isolcpus: CpuSet,
    /// The CPUs kept for the host OS, interrupts and QEMU's emulator threads.
    pub housekeeping: CpuSet,
    /// Per NUMA node, the split of its online CPUs.
    pub nodes: Vec<NodePartition>,
    /// The whole kernel command line addition.
    pub kernel_cmdline: String,
    /// The same, one parameter at a time with its explanation.
    pub kernel_params: Vec<KernelParam>,
    /// The huge page size reserved, in KiB.
    pub page_size_kib: u64,
    /// The huge pages to reserve on every node.
    pub hugepages: Vec<NodePages>,
    /// How to reserve and check them.
    pub hugepage_settings: HugepageSettings,
}

/// The split of one node's CPUs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodePartition {
    /// The node id.
    pub node: u32,
    /// CPUs kept for the host on this node.
    pub housekeeping: CpuSet,
    /// CPUs isolated on this node.
    pub isolated: CpuSet,
}

/// The huge pages reserved on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NodePages {
    /// The node id.
    pub node: u32,
    /// The page size in KiB.
    pub page_size_kib: u64,
    /// The number of pages.
    pub count: u64,
}

/// Where the guest runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// The host CPUs QEMU's emulator threads may use.
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
}

/// A warning: something that works but deserves a second look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// A stable identifier that scripts can match.
    pub code: WarningCode,
    /// The sentence the user reads.
    pub message: String,
}

/// The stable identifiers of warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningCode {
    /// The host has SMT (hyper-threading) enabled.
    SmtEnabled,
    /// The guest's vCPUs are on more than one socket.
    GuestSpansSockets,
    /// The guest's vCPUs are on more than one die of a socket.
    GuestSpansDies,
    /// A Linux guest gets fewer than 2 vCPUs.
    SingleVcpu,
    /// Every vCPU has the real-time scheduler, vCPU 0 included.
    RtOnEveryVcpu,
    /// CPU 0 is isolated.
    Cpu0Isolated,
    /// 1 GiB pages have to be reserved at runtime, which may fall short.
    RuntimeGigantic,
    /// A node has less memory than the host should keep.
    HostMemoryLow,
    /// A node does not report its memory.
    NodeMemoryUnknown,
    /// Some CPUs are offline or listed without topology.
    OfflineCpus,
}

impl WarningCode {
    /// Returns the code as printed (`smt-enabled`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::SmtEnabled => "smt-enabled",
            WarningCode::GuestSpansSockets => "guest-spans-sockets",
            WarningCode::GuestSpansDies => "guest-spans-dies",
            WarningCode::SingleVcpu => "single-vcpu",
            WarningCode::RtOnEveryVcpu => "rt-on-every-vcpu",
            WarningCode::Cpu0Isolated => "cpu0-isolated",
            WarningCode::RuntimeGigantic => "runtime-gigantic-pages",
            WarningCode::HostMemoryLow => "host-memory-low",
            WarningCode::NodeMemoryUnknown => "node-memory-unknown",
            WarningCode::OfflineCpus => "offline-cpus",
        }
    }
}

/// The host partition before any guest is placed: usable on its own (the app draws it even when the
/// guest does not fit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Per node, its housekeeping and isolated CPUs.
    pub nodes: Vec<NodePartition>,
    /// All housekeeping CPUs.
    pub housekeeping: CpuSet,
    /// All isolated CPUs.
    pub isolated: CpuSet,
    /// The huge page size in KiB.
    pub page_size_kib: u64,
    /// Pages per node with known memory.
    pub hugepages: Vec<NodePages>,
    /// Warnings about the host side.
    pub warnings: Vec<Warning>,
}

fn warn(warnings: &mut Vec<Warning>, code: WarningCode, message: String) {
    warnings.push(Warning { code, message });
}

/// Splits the host's CPUs and memory between the host OS and real-time guests.
pub fn partition(host: &Host, settings: &Settings) -> Result<Partition, Error> {
    settings.validate()?;
    let hs = &settings.host;
    let mut warnings = Vec::new();
    let online = host.online_cpus();
    if let Some(list) = &hs.housekeeping {
        let unknown = list.difference(&online);
        if !unknown.is_empty() {
            return Err(Error::Setting(format!(
                "the housekeeping list names CPUs {unknown}, which are not online CPUs of this host"
            )));
        }
    }
    let mut nodes = Vec::new();
    let mut housekeeping = CpuSet::new();
    for cell in host.cells.iter().filter(|c| !c.cpus.is_empty()) {
        let cell_cpus = cell.cpu_set();
        let chosen: CpuSet = match &hs.housekeeping {
            Some(list) => list.intersection(&cell_cpus),
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
            "SMT (hyper-threading) is enabled: each vCPU gets a whole core and its sibling threads stay idle; disabling SMT in the firmware gives the same isolation without wasting threads".into(),
        );
    }
    let offline: usize = host.cells.iter().map(|c| c.offline_cpus.len()).sum();
    if offline > 0 {
        let list: CpuSet = host
            .cells
            .iter()
            .flat_map(|c| c.offline_cpus.iter().copied())
            .collect();
        warn(
            &mut warnings,
            WarningCode::OfflineCpus,
            format!("{offline} CPUs ({list}) are listed without topology (offline); they are neither isolated nor used for the guest"),
        );
    }

    let page_size_kib = choose_page_size(host, hs.page_size)?;
    let host_memory = hs.host_memory.0;
    let mut hugepages = Vec::new();
    for cell in &host.cells {
        let Some(memory) = cell.memory_kib else {
            if !cell.cpus.is_empty() {
                warn(
                    &mut warnings,
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
                &mut warnings,
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
    Ok(Partition {
        nodes,
        housekeeping,
        isolated,
        page_size_kib,
        hugepages,
        warnings,
    })
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

/// Why a guest does not fit on a node, or `None` when it does.
fn misfit(
    part: &Partition,
    cell: &Cell,
    vcpus: u32,
    memory_kib: u64,
    host_memory: u64,
) -> Option<String> {
    let isolated = &part.nodes.iter().find(|n| n.node == cell.id)?.isolated;
    let cores = cell.isolated_cores(isolated).len();
    if cores < vcpus as usize {
        return Some(format!(
            "node {} has {cores} isolated cores, the guest needs {vcpus} (one core per vCPU)",
            cell.id
        ));
    }
    let pages = part
        .hugepages
        .iter()
        .find(|p| p.node == cell.id)
        .map_or(0, |p| p.count);
    let available = pages * part.page_size_kib;
    if available < memory_kib {
        let memory = cell.memory_kib.map_or("unknown memory".into(), format_kib);
        return Some(format!(
            "the guest needs {}, node {} can back only {} with {} pages ({pages} pages: {memory} minus {} kept for the host)",
            format_kib(memory_kib),
            cell.id,
            format_kib(available),
            format_kib(part.page_size_kib),
            format_kib(host_memory),
        ));
    }
    None
}

/// Makes the whole plan: partition, guest placement, kernel command line, huge page settings and domain
/// XML.
pub fn plan(host: &Host, settings: &Settings) -> Result<Plan, Error> {
    let part = partition(host, settings)?;
    let gs = &settings.guest;
    let hm = settings.host.host_memory.0;
    let page = part.page_size_kib;
    if !gs.memory.0.is_multiple_of(page) {
        let below = gs.memory.0 / page * page;
        let above = format_kib(below + page);
        let choices = if below == 0 {
            above
        } else {
            format!("{} or {above}", format_kib(below))
        };
        return Err(Error::Impossible(format!(
            "the guest memory {} is not a multiple of the {} page size; choose {choices}",
            gs.memory,
            format_kib(page),
        )));
    }
    let cell = match gs.node {
        Some(id) => {
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
            if let Some(why) = misfit(&part, cell, gs.vcpus, gs.memory.0, hm) {
                return Err(Error::Impossible(why));
            }
            cell
        }
        None => {
            let candidates: Vec<&Cell> = host
                .cells
                .iter()
                .filter(|c| !c.cpus.is_empty() && c.memory_kib.is_some())
                .collect();
            if candidates.is_empty() {
                return Err(Error::Impossible(
                    "no NUMA node reports both CPUs and memory, so the guest's memory cannot be planned; this needs the output of libvirt 1.2.7 or later".into(),
                ));
            }
            let fits = candidates
                .iter()
                .rev()
                .find(|c| misfit(&part, c, gs.vcpus, gs.memory.0, hm).is_none());
            match fits {
                Some(&cell) => cell,
                None => {
                    let reasons: Vec<String> = candidates
                        .iter()
                        .filter_map(|c| misfit(&part, c, gs.vcpus, gs.memory.0, hm))
                        .collect();
                    return Err(Error::Impossible(format!(
                        "the guest ({} vCPUs, {}) fits on no NUMA node: {}",
                        gs.vcpus,
                        gs.memory,
                        reasons.join("; ")
                    )));
                }
            }
        }
    };
    let node = part
        .nodes
        .iter()
        .find(|n| n.node == cell.id)
        .expect("misfit() found the node's partition");
    let mut warnings = part.warnings.clone();
    let cores = cell.isolated_cores(&node.isolated);
    let chosen = choose_cores(&cores, gs.vcpus as usize);
    let vcpupin: Vec<u32> = chosen
        .iter()
        .map(|c| c.cpus.first().expect("a core has a CPU"))
        .collect();
    let mut idle_siblings = CpuSet::new();
    for core in &chosen {
        idle_siblings.extend_from(&core.cpus);
    }
    let idle_siblings = idle_siblings.difference(&vcpupin.iter().copied().collect());
    let sockets: std::collections::BTreeSet<u32> = chosen.iter().map(|c| c.socket).collect();
    let dies: std::collections::BTreeSet<(u32, Option<u32>)> =
        chosen.iter().map(|c| (c.socket, c.die)).collect();
    if sockets.len() > 1 {
        warn(
            &mut warnings,
            WarningCode::GuestSpansSockets,
            format!(
                "no socket of node {} has {} free isolated cores, so the vCPUs span sockets {}; traffic between them crosses the socket interconnect",
                cell.id,
                gs.vcpus,
                sockets.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ),
        );
    } else if dies.len() > 1 {
        warn(
            &mut warnings,
            WarningCode::GuestSpansDies,
            format!(
                "no die of node {} has {} free isolated cores, so the vCPUs span several dies of one socket, which do not share their last-level cache",
                cell.id, gs.vcpus
            ),
        );
    }
    if gs.vcpus < 2 {
        warn(
            &mut warnings,
            WarningCode::SingleVcpu,
            "the guest has 1 vCPU: a real-time Linux guest needs at least 2, one for non-real-time work and I/O and the others for real-time tasks (some RTOSes need only 1)".into(),
        );
    }
    let rt_vcpus = gs
        .rt_vcpus
        .clone()
        .unwrap_or_else(|| (0..gs.vcpus).collect());
    if gs.vcpus > 1 && rt_vcpus.len() == gs.vcpus as usize {
        warn(
            &mut warnings,
            WarningCode::RtOnEveryVcpu,
            format!(
                "every vCPU has the real-time scheduler, vCPU 0 included: the guest's housekeeping work on vCPU 0 then competes at real-time priority; consider real-time vCPUs 1-{} (OpenStack Nova's hw:cpu_realtime_mask=^0)",
                gs.vcpus - 1
            ),
        );
    }
    if page >= GIB_KIB && needs_runtime(&part) {
        warn(
            &mut warnings,
            WarningCode::RuntimeGigantic,
            format!(
                "the nodes need different numbers of {} pages, but the kernel spreads boot-time pages evenly: the rest are reserved at runtime by hugepages.sh, which can fall short once memory is fragmented; run it early in boot and check its output",
                format_kib(page)
            ),
        );
    }
    warnings.sort_by_key(|w| w.code);

    let guest = GuestPlan {
        name: gs.name.clone(),
        node: cell.id,
        vcpus: gs.vcpus,
        memory_kib: gs.memory.0,
        vcpupin,
        emulatorpin: node.housekeeping.clone(),
        rt_vcpus,
        scheduler: gs.scheduler,
        priority: gs.priority,
        idle_siblings,
        page_size_kib: page,
    };
    let kernel_params = kernel_cmdline(host, &part, settings.host.preset);
    let kernel_cmdline = kernel_params
        .iter()
        .map(|p| p.param.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let hugepage_settings = hugepage_settings(&part);
    let domain_xml = domain_xml(host, &guest);
    Ok(Plan {
        host: HostPlan {
            isolcpus: part.isolated,
            housekeeping: part.housekeeping,
            nodes: part.nodes,
            kernel_cmdline,
            kernel_params,
            page_size_kib: page,
            hugepages: part.hugepages,
            hugepage_settings,
        },
        guest,
        domain_xml,
        warnings,
    })
}

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
    all.sort_by_key(|c| (c.socket, c.die, c.cpus.first()));
    all.truncate(n);
    all
}
