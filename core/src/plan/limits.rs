//! What the host can still take: the largest guest each node holds, and which setting meets a limit of
//! the host (the messages under the page's fields).

use crate::error::Error;
use crate::host::{Cell, Host};
use crate::settings::{EmulatorPolicy, PageSize, Reserve, Settings};
use crate::units::{format_kib, GIB_KIB};

use super::partition::{choose_page_size, partition, split_cpus};
use super::placement::candidate_cells;
use super::HostPlan;

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
