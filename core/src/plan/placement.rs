//! Placing the guests: choosing each guest's node (a node it asks for, else the highest it fits on),
//! its vCPUs on free isolated cores of that node beside the guests placed before it, its emulator
//! threads, and keeping an existing guest where it runs when it is already placed as real time needs.

use crate::cpuset::CpuSet;
use crate::error::{rarely, Error};
use crate::host::{Cell, Core, Host};
use crate::settings::{EmulatorPolicy, GuestSettings, Placement, Recipe, Settings};
use crate::units::{format_kib, Kib};

use super::{GuestPlan, HostPlan, NodePartition};

/// A guest placed, with the cores its vCPUs run on.
pub(super) type Placed = (GuestPlan, Vec<Core>);

/// Each guest, in the settings' order, as [`place_each`] left it: placed, not placed and why, or
/// not tried (`None`, after the first failure when asked to stop there).
pub(super) type Placing = Vec<Option<Result<Placed, Error>>>;

/// Places every guest: kept ones first, then those with a node of their own, then the automatic
/// ones, each in the order given and beside the guests placed before it. Returns each guest, in the
/// settings' order, with the cores its vCPUs run on, and the node the spare pages go with (the node
/// of the guest placed first).
pub(super) fn place_guests(
    host: &Host,
    host_plan: &HostPlan,
    settings: &Settings,
    guests: &[&GuestSettings],
) -> Result<(Vec<Placed>, u32), Error> {
    let (placing, taken) = place_each(host, host_plan, settings, guests, true);
    let mut placed = Vec::with_capacity(placing.len());
    for guest in placing.into_iter().flatten() {
        placed.push(guest?);
    }
    let spare_node = taken.spare_node.expect("a plan places a guest");
    Ok((placed, spare_node))
}

/// The order guests are placed in, as indexes into the settings' order: those kept where they run
/// first (they do not move, so the others are placed around them), then those with a node of their
/// own, then the automatic ones, each group in the order given.
pub(super) fn placing_order(guests: &[&GuestSettings]) -> Vec<usize> {
    let rank = |g: &GuestSettings| match (&g.keep, g.node) {
        (Some(_), _) => 0,
        (None, Some(_)) => 1,
        (None, None) => 2,
    };
    let mut order = Vec::with_capacity(guests.len());
    for r in 0..3 {
        for (i, g) in guests.iter().enumerate() {
            if rank(g) == r {
                order.push(i);
            }
        }
    }
    order
}

/// Places the guests in [`placing_order`], each beside the guests placed before it. A guest that
/// does not fit is left out with the reason; with `stop`, nothing after it is tried (the plan stops
/// there), else every guest is tried (what the page says of each guest). Returns each guest in the
/// settings' order and what the guests placed take of the host.
pub(super) fn place_each(
    host: &Host,
    host_plan: &HostPlan,
    settings: &Settings,
    guests: &[&GuestSettings],
    stop: bool,
) -> (Placing, Taken) {
    let several = guests.len() > 1;
    let host_memory = settings.host.host_memory.0;
    let mut taken = Taken::default();
    let mut placing: Placing = vec![None; guests.len()];
    for i in placing_order(guests) {
        let gs = guests[i];
        // A guest kept where it runs is checked there first, so that a core another guest already
        // has is said as such, not as a node short of room.
        let kept = match (&gs.keep, gs.node.and_then(|n| host.cell(n))) {
            (Some(keep), Some(cell)) => check_kept(cell, host_plan, gs, keep, &taken),
            _ => Ok(()),
        };
        let placed = kept
            .and_then(|()| {
                if several {
                    choose_node_beside(host, host_plan, gs, host_memory, &taken, guests)
                } else {
                    choose_node(host, host_plan, gs, host_memory)
                }
            })
            .map(|cell| place_guest(cell, host_plan, gs, settings.recipe, &taken.cpus));
        let failed = placed.is_err();
        if let Ok(placed) = &placed {
            taken.add(host, i, placed);
        }
        placing[i] = Some(placed);
        if failed && stop {
            break;
        }
    }
    (placing, taken)
}

/// Refuses guest memory that is not a whole number of huge pages, naming the nearest sizes that are;
/// `what` names the memory in the message.
pub(super) fn check_memory_fits_pages(
    what: impl FnOnce() -> String,
    kib: u64,
    page: u64,
) -> Result<(), Error> {
    if kib.is_multiple_of(page) {
        return Ok(());
    }
    Err(rarely(|| {
        Error::Impossible(format!(
            "{} {} is not a multiple of the {} page size; choose {}",
            what(),
            Kib(kib),
            format_kib(page),
            whole_page_sizes(kib, page),
        ))
    }))
}

/// The whole numbers of `page` nearest to `kib`, as a choice: "2 GiB or 3 GiB" (only the one above
/// when none is below).
pub(super) fn whole_page_sizes(kib: u64, page: u64) -> String {
    let below = kib / page * page;
    let above = format_kib(below + page);
    if below == 0 {
        above
    } else {
        format!("{} or {above}", format_kib(below))
    }
}

/// The isolated cores a guest needs: one per vCPU, and one for the emulator threads when they are
/// isolated.
pub(super) fn cores_needed(gs: &GuestSettings) -> usize {
    gs.vcpus as usize + usize::from(gs.emulator == EmulatorPolicy::Isolate)
}

/// Why a guest does not fit on a node, or `None` when it does.
fn misfit(part: &HostPlan, cell: &Cell, gs: &GuestSettings, host_memory: u64) -> Option<String> {
    let (vcpus, memory_kib) = (gs.vcpus, gs.memory.0);
    node_partition(part, cell.id)?;
    let cores = isolated_cores(cell, part).len();
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
pub(super) fn choose_node<'h>(
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
    Err(rarely(|| {
        Error::Impossible(format!(
            "the guest ({} vCPUs, {}) fits on no NUMA node: {}",
            gs.vcpus,
            gs.memory,
            reasons.join("; ")
        ))
    }))
}

/// Returns the nodes that can hold a guest: with CPUs and known memory, in id order.
pub(super) fn candidate_cells(host: &Host) -> Vec<&Cell> {
    host.cells
        .iter()
        .filter(|c| !c.cpus.is_empty() && c.memory_kib.is_some())
        .collect()
}

/// Returns the node a guest asks for, if it can hold a guest at all: it exists, has CPUs and reports
/// its memory.
pub(super) fn node_cell(host: &Host, id: u32) -> Result<&Cell, Error> {
    let cell = host.cell(id).ok_or_else(|| {
        let ids: Vec<String> = host.cells.iter().map(|c| c.id.to_string()).collect();
        Error::Impossible(format!(
            "the host has no NUMA node {id}; its nodes are {}",
            ids.join(", ")
        ))
    })?;
    if cell.cpus.is_empty() {
        return Err(rarely(|| {
            Error::Impossible(format!(
                "NUMA node {id} has no CPUs (it is a memory-only node), so no vCPU can run there"
            ))
        }));
    }
    if cell.memory_kib.is_none() {
        return Err(rarely(|| {
            Error::Impossible(format!(
            "NUMA node {id} does not report its memory, so its huge pages cannot be planned; this needs the output of libvirt 1.2.7 or later"
        ))
        }));
    }
    Ok(cell)
}

/// The partition of the node with this id (none for a node without CPUs).
pub(super) fn node_partition(part: &HostPlan, id: u32) -> Option<&NodePartition> {
    part.nodes.iter().find(|n| n.node == id)
}

/// The isolated cores of a node of the partition, ordered by their lowest CPU id.
pub(super) fn isolated_cores(cell: &Cell, part: &HostPlan) -> Vec<Core> {
    node_partition(part, cell.id).map_or_else(Vec::new, |n| cell.isolated_cores(&n.isolated))
}

/// What the guests placed so far take of the host: their cores (vCPUs, idle siblings and isolated
/// emulator cores) and their memory on each node.
#[derive(Debug, Default, Clone)]
pub(super) struct Taken {
    /// Every CPU of a core some guest already uses.
    pub cpus: CpuSet,
    /// The guests placed so far: index in the settings' order, name, node, memory in KiB and the
    /// CPUs of their cores.
    pub guests: Vec<TakenBy>,
    /// The node the spare pages are kept on: that of the guest placed first.
    pub spare_node: Option<u32>,
}

/// One guest placed, as [`Taken`] counts it.
#[derive(Debug, Clone)]
pub(super) struct TakenBy {
    /// The guest's index in the settings' order.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// Its node.
    pub node: u32,
    /// Its memory in KiB.
    pub memory_kib: u64,
    /// Every CPU of the cores it uses.
    pub cpus: CpuSet,
}

impl Taken {
    /// Counts a guest placed: the cores of its vCPUs and, isolated, its emulator core with all of
    /// its threads.
    fn add(&mut self, host: &Host, index: usize, (guest, cores): &Placed) {
        let mut cpus = CpuSet::new();
        for core in cores {
            cpus.extend_from(&core.cpus);
        }
        if guest.emulator == EmulatorPolicy::Isolate {
            cpus.extend_from(&guest.emulatorpin);
            for cpu in host.cpus().filter(|c| guest.emulatorpin.contains(c.id)) {
                cpus.extend_from(&cpu.siblings);
            }
        }
        self.cpus.extend_from(&cpus);
        self.spare_node.get_or_insert(guest.node);
        self.guests.push(TakenBy {
            index,
            name: guest.name.clone(),
            node: guest.node,
            memory_kib: guest.memory_kib,
            cpus,
        });
    }

    /// What the others take when one guest is set aside: every guest placed but the one with this
    /// index (the spare pages stay where they are).
    pub(super) fn without(&self, index: usize) -> Taken {
        let mut cpus = CpuSet::new();
        let guests: Vec<TakenBy> = self
            .guests
            .iter()
            .filter(|g| g.index != index)
            .cloned()
            .collect();
        for g in &guests {
            cpus.extend_from(&g.cpus);
        }
        Taken {
            cpus,
            guests,
            spare_node: self.spare_node,
        }
    }

    /// The memory of the guests placed on a node.
    fn memory_on(&self, node: u32) -> u64 {
        self.guests
            .iter()
            .filter(|g| g.node == node)
            .map(|g| g.memory_kib)
            .sum()
    }

    /// The names of the guests placed on a node, in the settings' order, for messages.
    pub(super) fn names_on(&self, node: u32) -> Vec<&str> {
        let mut on: Vec<&TakenBy> = Vec::new();
        for g in self.guests.iter().filter(|g| g.node == node) {
            on.insert(on.partition_point(|o| o.index < g.index), g);
        }
        on.into_iter().map(|g| g.name.as_str()).collect()
    }

    /// The spare pages a node holds beside the guests: all of them on the node of the guest placed
    /// first, and on any node while no guest is placed (the first guest takes them with it).
    pub(super) fn spare_on(&self, part: &HostPlan, node: u32) -> u64 {
        if self.spare_node.is_none_or(|n| n == node) {
            part.spare_kib
        } else {
            0
        }
    }
}

/// What a node has left beside the guests placed: its isolated cores no guest uses, and its huge
/// pages (in KiB) less the guests' memory there and the spare pages it holds.
pub(super) fn room_beside(part: &HostPlan, cell: &Cell, taken: &Taken) -> (u32, u64) {
    let free = isolated_cores(cell, part)
        .into_iter()
        .filter(|c| c.cpus.is_disjoint(&taken.cpus))
        .count() as u32;
    let pages = part.pages_on(cell.id) * part.page_size_kib;
    let memory = pages.saturating_sub(taken.memory_on(cell.id) + taken.spare_on(part, cell.id));
    (free, memory)
}

/// Why a guest does not fit on a node beside the guests already placed, or `None` when it does: the
/// node's isolated cores no guest uses, and its pages less the memory of the guests there and the
/// spare ones it holds.
fn misfit_beside(
    part: &HostPlan,
    cell: &Cell,
    gs: &GuestSettings,
    taken: &Taken,
) -> Option<String> {
    node_partition(part, cell.id)?;
    let (free, free_memory) = room_beside(part, cell, taken);
    let beside = taken.names_on(cell.id);
    let beside_text = if beside.is_empty() {
        String::new()
    } else {
        format!(" beside {}", beside.join(", "))
    };
    let needed = cores_needed(gs);
    if (free as usize) < needed {
        return Some(format!(
            "node {} has {free} free isolated cores{beside_text}, {} needs {needed}",
            cell.id, gs.name
        ));
    }
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

/// Whether a guest fits on a node beside the guests placed.
pub(super) fn fits_beside(part: &HostPlan, cell: &Cell, gs: &GuestSettings, taken: &Taken) -> bool {
    misfit_beside(part, cell, gs, taken).is_none()
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
            Some(why) => Err(rarely(|| {
                Error::Impossible(format!(
                    "guest {} does not fit on node {id}: {why}{}",
                    gs.name,
                    alone_hint(host, part, gs, host_memory, guests)
                ))
            })),
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
    Err(rarely(|| {
        Error::Impossible(format!(
            "guest {} ({} vCPUs, {}) fits on no NUMA node beside the guests placed before it: {}{}",
            gs.name,
            gs.vcpus,
            gs.memory,
            reasons.join("; "),
            alone_hint(host, part, gs, host_memory, guests)
        ))
    }))
}

/// Says whether a guest that does not fit beside the others would fit on the host alone, and where:
/// never "choose node N" for the node it already asks for.
fn alone_hint(
    host: &Host,
    part: &HostPlan,
    gs: &GuestSettings,
    host_memory: u64,
    guests: &[&GuestSettings],
) -> String {
    match fits_alone(host, part, gs, host_memory) {
        Some(id) if gs.node == Some(id) && guests.len() > 1 => format!(
            ". Alone it fits on node {id}: give the guests placed there before it fewer vCPUs or less memory, or list it before them"
        ),
        Some(id) if guests.len() > 1 => format!(
            ". Alone it fits on node {id}: with node={id} it is placed before the guests without a node; or give the others fewer vCPUs or less memory"
        ),
        _ => ". It does not fit on the host even alone".to_string(),
    }
}

/// The node a guest would take on the host alone: the node it asks for when it fits there, else the
/// highest node it fits on.
pub(super) fn fits_alone(
    host: &Host,
    part: &HostPlan,
    gs: &GuestSettings,
    host_memory: u64,
) -> Option<u32> {
    if let Ok(cell) = choose_node(host, part, gs, host_memory) {
        return Some(cell.id);
    }
    let anywhere = GuestSettings {
        node: None,
        keep: None,
        ..gs.clone()
    };
    choose_node(host, part, &anywhere, host_memory)
        .ok()
        .map(|c| c.id)
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
    let node =
        node_partition(part, cell.id).expect("the chosen node has CPUs, so it has a partition");
    // The node's isolated cores that no guest placed before uses.
    let mut cores = isolated_cores(cell, part);
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
    // A kept guest's vCPUs stay on the very CPUs they run on (on an SMT host, not always its
    // core's first thread); the others run on their core's first thread.
    let vcpupin: Vec<u32> = match &gs.keep {
        Some(keep) => keep.vcpupin.clone(),
        None => chosen
            .iter()
            .map(|c| c.cpus.first().expect("a core has a CPU"))
            .collect(),
    };
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
    keep: &Placement,
    taken: &Taken,
) -> Result<(), Error> {
    let free: Vec<Core> = isolated_cores(cell, part)
        .into_iter()
        .filter(|c| c.cpus.is_disjoint(&taken.cpus))
        .collect();
    let mut used: Vec<&Core> = Vec::new();
    for (vcpu, &cpu) in keep.vcpupin.iter().enumerate() {
        match free.iter().find(|c| c.cpus.contains(cpu)) {
            Some(core) if !used.contains(&core) => used.push(core),
            _ => {
                return Err(rarely(|| {
                    let holder = taken.guests.iter().find(|t| t.cpus.contains(cpu));
                    Error::Impossible(match holder {
                        Some(other) => format!(
                            "{}'s vCPU {vcpu} runs on host CPU {cpu}, on a core that guest {} of this plan already runs on; give it another node or vCPU count to move it",
                            gs.name, other.name
                        ),
                        None => format!(
                            "{}'s vCPU {vcpu} runs on host CPU {cpu}, which is not on a free isolated core of node {} of this plan; give it another node or vCPU count to move it",
                            gs.name, cell.id
                        ),
                    })
                }))
            }
        }
    }
    if gs.emulator == EmulatorPolicy::Isolate
        && !free
            .iter()
            .any(|c| keep.emulatorpin.is_subset(&c.cpus) && !used.contains(&c))
    {
        return Err(rarely(|| {
            Error::Impossible(format!(
            "{}'s emulator threads run on host CPUs {}, not on a free isolated core of their own; give it another node or vCPU count to move it",
            gs.name, keep.emulatorpin
        ))
        }));
    }
    Ok(())
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
    all.sort_unstable_by_key(|c| (c.socket, c.die, c.cpus.first()));
    all.truncate(n);
    all
}
