//! The host partition: every node's CPUs split between the host and real-time guests, the huge pages
//! reserved on every node, and the warnings about the host's CPUs and memory.

use crate::cpuset::CpuSet;
use crate::error::{rarely, Error};
use crate::host::{Core, Host};
use crate::settings::{auto_page_size, PageSize, Recipe, Settings};
use crate::units::format_kib;

use super::warnings::{warn, Warning, WarningCode};
use super::{GuestPlan, HostPlan, KthreadPriorities, NodePages, NodePartition};

/// The host partition before any guest is placed, with the warnings about the host: usable on its own
/// (the app draws it even when the guest does not fit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The partition.
    pub host: HostPlan,
    /// Warnings about the host side.
    pub warnings: Vec<Warning>,
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
        return Err(rarely(|| {
            Error::Impossible(format!(
            "with {per_node} every online CPU ({online}) stays with the host and nothing is left to isolate; keep fewer CPUs for the host"
        ))
        }));
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
pub(super) fn split_cpus(
    host: &Host,
    settings: &Settings,
) -> Result<(Vec<NodePartition>, CpuSet), Error> {
    let hs = &settings.host;
    if let Some(list) = &hs.housekeeping {
        let unknown = list.difference(&host.online_cpus());
        if !unknown.is_empty() {
            return Err(rarely(|| {
                Error::Setting(format!(
                    "the housekeeping list names {} {unknown}, which {} not online on this host",
                    if unknown.len() == 1 { "CPU" } else { "CPUs" },
                    if unknown.len() == 1 { "is" } else { "are" }
                ))
            }));
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
            return Err(rarely(|| {
                Error::Setting(format!(
                "the housekeeping list keeps no CPU of NUMA node {} (CPUs {cell_cpus}); every node needs at least one core for the host",
                cell.id
            ))
            }));
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
        warn(&mut warnings, WarningCode::Cpu0Isolated, || {
            "CPU 0 is isolated: it often handles timers and interrupts that cannot move, which adds latency to whatever runs there; keep it for the host".into()
        });
    }
    if host.smt() {
        warn(&mut warnings, WarningCode::SmtEnabled, || {
            if matches!(host.libvirt_arch(), Some("ppc64" | "ppc64le")) {
                "SMT is enabled: each vCPU gets a whole core, its sibling threads idle; turning SMT off (ppc64_cpu --smt=off, which KVM on POWER8 needs anyway) isolates as well without wasting threads".into()
            } else {
                "SMT (hyper-threading) is enabled: each vCPU gets a whole core, its sibling threads idle; disabling SMT in the firmware isolates as well without wasting threads".into()
            }
        });
    }
    let offline: CpuSet = host
        .cells
        .iter()
        .flat_map(|c| c.offline_cpus.iter().copied())
        .collect();
    if !offline.is_empty() {
        warn(&mut warnings, WarningCode::OfflineCpus, || {
            format!(
                "{} CPUs ({offline}) are listed without topology (offline); they are neither isolated nor used for the guest",
                offline.len()
            )
        });
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
                warn(warnings, WarningCode::NodeMemoryUnknown, || {
                    format!(
                        "NUMA node {} does not report its memory (libvirt older than 1.2.7?), so no huge pages are planned there",
                        cell.id
                    )
                });
            }
            continue;
        };
        if memory < host_memory.saturating_add(page_size_kib) {
            warn(warnings, WarningCode::HostMemoryLow, || {
                format!(
                    "NUMA node {} has {}, not more than the {} kept for the host plus one {} page, so no huge pages are reserved there",
                    cell.id,
                    format_kib(memory),
                    format_kib(host_memory),
                    format_kib(page_size_kib)
                )
            });
        }
        hugepages.push(NodePages {
            node: cell.id,
            page_size_kib,
            count: memory.saturating_sub(host_memory) / page_size_kib,
        });
    }
    hugepages
}

pub(super) fn choose_page_size(host: &Host, choice: PageSize) -> Result<u64, Error> {
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
        PageSize::Kib(size) => Err(rarely(|| {
            Error::Impossible(format!(
                "the host does not support {} pages; it lists {}",
                format_kib(size),
                listed_text()
            ))
        })),
    }
}

/// Keeps only the guests' huge pages: on each node the memory of the guests placed there, plus
/// the spare pages on `spare_node`, and none on the other nodes.
pub(super) fn reserve_only_for<'g>(
    part: &mut HostPlan,
    guests: impl Iterator<Item = &'g GuestPlan> + Clone,
    spare_node: u32,
) {
    for pages in &mut part.hugepages {
        let memory: u64 = guests
            .clone()
            .filter(|g| g.node == pages.node)
            .map(|g| g.memory_kib)
            .sum();
        let spare = if pages.node == spare_node {
            part.spare_kib
        } else {
            0
        };
        pages.count = (memory + spare) / pages.page_size_kib;
    }
}
