//! What the host can still take: the largest guest each node holds ([`capacity`]), what each guest
//! can have beside the others and, when it does not fit, by how much and where it would
//! ([`rooms`]), and which setting meets a limit of the host ([`guest_limits`], the messages under the
//! page's fields).

use crate::error::Error;
use crate::host::{Cell, Host};
use crate::settings::{EmulatorPolicy, GuestSettings, PageSize, Reserve, Settings};
use crate::units::{format_kib, GIB_KIB};

use super::partition::{choose_page_size, partition, split_cpus};
use super::placement::{
    candidate_cells, check_memory_fits_pages, cores_needed, fits_alone, fits_beside, node_cell,
    node_partition, place_each, room_beside, whole_page_sizes, Taken,
};
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
    left(host, part, &Taken::default(), emulator)
}

/// Returns the largest guest each node with CPUs and known memory can still take beside the guests
/// placed: its isolated cores no guest uses, and its pages less the guests' memory and the spare.
fn left(
    host: &Host,
    part: &HostPlan,
    taken: &Taken,
    emulator: EmulatorPolicy,
) -> Vec<NodeCapacity> {
    let spare = u32::from(emulator == EmulatorPolicy::Isolate);
    candidate_cells(host)
        .into_iter()
        .filter(|cell| node_partition(part, cell.id).is_some())
        .map(|cell| {
            let (cores, memory_kib) = room_beside(part, cell, taken);
            NodeCapacity {
                node: cell.id,
                vcpus: cores.saturating_sub(spare),
                memory_kib,
            }
        })
        .collect()
}

/// What one guest can have beside the other guests, where they are placed: on the node it is placed
/// on, or asks for, or (automatic, fitting nowhere) the node it misses by least.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestRoom {
    /// The guest's name.
    pub name: String,
    /// Whether the guest's node is automatic (chosen by the plan) rather than one it asks for.
    pub automatic: bool,
    /// The node measured; `None` when there is none (the guest asks for a node that cannot hold a
    /// guest, or no node of the host can).
    pub node: Option<u32>,
    /// The other guests placed on that node, in the settings' order.
    pub beside: Vec<String>,
    /// The most vCPUs the guest can have there: one per free isolated core, one core fewer when its
    /// emulator threads take one.
    pub vcpus: u32,
    /// The most memory, in KiB: the node's huge pages less the others' memory and the spare pages.
    pub memory_kib: u64,
    /// The spare pages the node holds, in KiB (with `--reserve guest --spare`, on the node of the
    /// guest placed first).
    pub spare_kib: u64,
    /// What the guest lacks there, when it does not fit.
    pub short: Option<Shortfall>,
    /// Why the guest cannot be placed when it is not for want of room: the node it asks for cannot
    /// hold a guest, or the cores it is kept on are not free.
    pub refused: Option<String>,
}

/// What a guest lacks on a node beside the others, and where it would fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortfall {
    /// The isolated cores the guest needs: one per vCPU, one more for isolated emulator threads.
    pub cores_needed: u32,
    /// The isolated cores free on the node.
    pub cores_free: u32,
    /// The guest's memory, in KiB.
    pub memory_kib: u64,
    /// The huge pages free on the node, in KiB.
    pub free_kib: u64,
    /// The huge page size, in KiB.
    pub page_size_kib: u64,
    /// Another node the guest fits on beside the guests placed there, for a guest that asks for a
    /// node (never the node it asks for; an automatic guest would be on it already).
    pub fits_on: Option<u32>,
    /// Where the guest fits on the host alone, when it fits nowhere beside the others: the node it
    /// asks for if it fits there, else the highest node it fits on.
    pub alone_on: Option<u32>,
}

impl Shortfall {
    /// The isolated cores missing.
    pub fn cores(&self) -> u32 {
        self.cores_needed.saturating_sub(self.cores_free)
    }

    /// The huge pages missing.
    pub fn pages(&self) -> u64 {
        self.memory_kib
            .saturating_sub(self.free_kib)
            .div_ceil(self.page_size_kib)
    }
}

/// What every guest can have beside the others, and what each node can still take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rooms {
    /// Each guest's room, in the settings' order.
    pub guests: Vec<GuestRoom>,
    /// The largest further guest each node takes beside the guests placed, with the first guest's
    /// emulator policy.
    pub left: Vec<NodeCapacity>,
}

/// Returns what every guest can have beside the others and, for each guest that does not fit, by
/// how much and where it would. The guests are placed as the plan places them, except that one
/// that does not fit is left out and the others are still placed; each guest is then measured beside
/// all the others placed, so that a guest given what its room says fits with every other guest
/// where it is. Fails only when the host's settings make no partition.
pub fn rooms(host: &Host, settings: &Settings) -> Result<Rooms, Error> {
    let part = partition(host, settings)?.host;
    Ok(rooms_on(host, &part, settings))
}

/// [`rooms`] on a partition made already.
fn rooms_on(host: &Host, part: &HostPlan, settings: &Settings) -> Rooms {
    let guests: Vec<&GuestSettings> = settings.guests().collect();
    let (placing, taken) = place_each(host, part, settings, &guests, false);
    let host_memory = settings.host.host_memory.0;
    let rooms = guests
        .iter()
        .zip(&placing)
        .enumerate()
        .map(|(i, (gs, placed))| {
            let others = taken.without(i);
            match placed {
                Some(Ok((guest, _))) => {
                    let cell = host
                        .cell(guest.node)
                        .expect("a guest is placed on a host node");
                    measure(part, cell, gs, &others)
                }
                Some(Err(e)) => unplaced(host, part, gs, &others, host_memory, e),
                None => unreachable!("place_each tries every guest unless told to stop"),
            }
        })
        .collect();
    Rooms {
        guests: rooms,
        left: left(host, part, &taken, settings.guest.emulator),
    }
}

/// Measures a guest on a node beside the others: the room there, and what it lacks.
fn measure(part: &HostPlan, cell: &Cell, gs: &GuestSettings, others: &Taken) -> GuestRoom {
    let (free, free_kib) = room_beside(part, cell, others);
    let needed = cores_needed(gs) as u32;
    let short = (free < needed || free_kib < gs.memory.0).then_some(Shortfall {
        cores_needed: needed,
        cores_free: free,
        memory_kib: gs.memory.0,
        free_kib,
        page_size_kib: part.page_size_kib,
        fits_on: None,
        alone_on: None,
    });
    GuestRoom {
        name: gs.name.clone(),
        automatic: gs.node.is_none(),
        node: Some(cell.id),
        beside: others
            .names_on(cell.id)
            .into_iter()
            .map(String::from)
            .collect(),
        vcpus: free.saturating_sub(u32::from(gs.emulator == EmulatorPolicy::Isolate)),
        memory_kib: free_kib,
        spare_kib: others.spare_on(part, cell.id),
        short,
        refused: None,
    }
}

/// Measures a guest the plan could not place: on the node it asks for, or the node it misses by
/// least, with where else it would fit.
fn unplaced(
    host: &Host,
    part: &HostPlan,
    gs: &GuestSettings,
    others: &Taken,
    host_memory: u64,
    error: &Error,
) -> GuestRoom {
    let refused = |why: String| GuestRoom {
        name: gs.name.clone(),
        automatic: gs.node.is_none(),
        node: None,
        beside: Vec::new(),
        vcpus: 0,
        memory_kib: 0,
        spare_kib: 0,
        short: None,
        refused: Some(why),
    };
    let candidates = candidate_cells(host);
    let mut room = match gs.node {
        Some(id) => match node_cell(host, id) {
            Ok(cell) => measure(part, cell, gs, others),
            Err(e) => return refused(e.to_string()),
        },
        // The node it misses by least: short of one thing rather than two, then of the fewest
        // cores, then of the fewest pages; the highest such node, as the plan fills the highest.
        None => match candidates
            .iter()
            .map(|cell| measure(part, cell, gs, others))
            .min_by_key(|r| {
                let s = r.short.as_ref();
                let (cores, pages) = s.map_or((0, 0), |s| (s.cores(), s.pages()));
                (
                    u8::from(cores > 0) + u8::from(pages > 0),
                    cores,
                    pages,
                    std::cmp::Reverse(r.node),
                )
            }) {
            Some(room) => room,
            None => return refused(error.to_string()),
        },
    };
    match &mut room.short {
        // Room enough: what stops it is its kept placement.
        None => room.refused = Some(error.to_string()),
        Some(short) => {
            if gs.node.is_some() {
                short.fits_on = candidates
                    .iter()
                    .rev()
                    .find(|c| Some(c.id) != gs.node && fits_beside(part, c, gs, others))
                    .map(|c| c.id);
            }
            if short.fits_on.is_none() {
                short.alone_on = fits_alone(host, part, gs, host_memory);
            }
        }
    }
    room
}

/// Joins names as a sentence does: `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl GuestRoom {
    /// The guests and spare pages beside this guest on its node, as ` beside a, b and 8 GiB spare`
    /// (empty when there are none); `spare` says whether the spare pages are named.
    fn beside_text(&self, spare: bool) -> String {
        let mut items = self.beside.clone();
        if spare && self.spare_kib > 0 {
            items.push(format!("{} spare", format_kib(self.spare_kib)));
        }
        match items.is_empty() {
            true => String::new(),
            false => format!(" beside {}", and_list(&items)),
        }
    }

    /// What the guest can have where it is, beside the others: `at most 2 vCPUs and 8 GiB on node 1
    /// beside plc-a and hmi`; `None` without a node.
    pub fn limit(&self) -> Option<String> {
        let node = self.node?;
        Some(format!(
            "at most {} {} and {} on node {node}{}",
            self.vcpus,
            plural(u64::from(self.vcpus), "vCPU", "vCPUs"),
            format_kib(self.memory_kib),
            self.beside_text(true)
        ))
    }

    /// Says why the guest is not placed: on which node, beside which guests, by how many cores and
    /// pages, and where it would fit (never "choose node N" for the node it asks for). `None` when
    /// it is placed.
    pub fn misfit(&self) -> Option<String> {
        if let Some(why) = &self.refused {
            return Some(why.clone());
        }
        let (short, node) = (self.short?, self.node?);
        let mut lacks = Vec::new();
        if short.cores() > 0 {
            lacks.push(format!(
                "{} isolated {} short (it needs {}, {} free)",
                short.cores(),
                plural(u64::from(short.cores()), "core", "cores"),
                short.cores_needed,
                short.cores_free
            ));
        }
        if short.pages() > 0 {
            lacks.push(format!(
                "{} {} of {} short (it needs {}, {} free)",
                short.pages(),
                plural(short.pages(), "huge page", "huge pages"),
                format_kib(short.page_size_kib),
                format_kib(short.memory_kib),
                format_kib(short.free_kib)
            ));
        }
        let hint = match (short.fits_on, short.alone_on) {
            (Some(other), _) => format!("It fits on node {other}: choose that node for it."),
            (None, Some(alone)) if !self.automatic && alone == node => "Alone it fits there: move it above the guests it does not fit beside, or give them fewer vCPUs or less memory.".to_string(),
            (None, Some(alone)) if self.automatic => format!("Alone it fits on node {alone}: choosing node {alone} for it places it before the guests with an automatic node; or give the others fewer vCPUs or less memory."),
            (None, Some(alone)) => format!("Alone it fits on node {alone}: choose that node for it, and give the guests there fewer vCPUs or less memory."),
            (None, None) => "It does not fit on this host even alone.".to_string(),
        };
        Some(format!(
            "guest {} does not fit on node {node}{}: {}. {hint}",
            self.name,
            self.beside_text(true),
            lacks.join("; ")
        ))
    }
}

/// A count's noun, singular for one.
fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// A message under one field of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLimit {
    /// The guest whose field it is, by its place among `Settings::guests()` (0: the first), or
    /// `None` for a host setting.
    pub guest: Option<usize>,
    /// The field, as the form names it: `vcpus`, `memory`, `node`, `host-memory`, `spare`, ….
    pub field: &'static str,
    /// The limit the field meets, or what is wrong with its value.
    pub message: String,
}

/// Says which setting meets a limit of the host, with the limit: a host setting the partition cannot
/// be made with (the housekeeping list, the CPUs or memory kept per node, the page size, spare
/// pages), a guest's memory that is not a whole number of pages, more vCPUs or memory than a guest's
/// node takes beside the other guests (for an automatic guest, the node it misses by least), or a
/// node that cannot hold a guest. Empty exactly when the plan can be made.
pub fn guest_limits(host: &Host, settings: &Settings) -> Vec<FieldLimit> {
    let host_limit = |field: &'static str, message: String| FieldLimit {
        guest: None,
        field,
        message,
    };
    let part = match partition(host, settings) {
        Ok(part) => part.host,
        Err(e) => {
            return host_field(host, settings, &e)
                .map(|(field, message)| host_limit(field, message))
                .into_iter()
                .collect()
        }
    };
    let page = part.page_size_kib;
    let guests: Vec<&GuestSettings> = settings.guests().collect();
    let mut limits: Vec<FieldLimit> = guests
        .iter()
        .enumerate()
        .filter(|(_, g)| !g.memory.0.is_multiple_of(page))
        .map(|(i, g)| FieldLimit {
            guest: Some(i),
            field: "memory",
            message: memory_pages_hint(host, g.memory.0, page),
        })
        .collect();
    if let Err(e) = check_memory_fits_pages(|| "the spare memory".into(), part.spare_kib, page) {
        limits.push(host_limit("spare", e.to_string()));
    }
    if !limits.is_empty() {
        return limits;
    }
    if let Some(message) = starved(host, settings, &guests, page) {
        return vec![host_limit("host-memory", message)];
    }
    for (i, (gs, room)) in guests
        .iter()
        .zip(rooms_on(host, &part, settings).guests)
        .enumerate()
    {
        for limit in room_limits(i, gs, &room) {
            if !limits
                .iter()
                .any(|l| l.guest == limit.guest && l.field == limit.field)
            {
                limits.push(limit);
            }
        }
    }
    limits
}

/// Says that memory kept per node leaves a guest's node no huge pages (for an automatic guest, every
/// node): the host setting's fault, not the guest's.
fn starved(
    host: &Host,
    settings: &Settings,
    guests: &[&GuestSettings],
    page: u64,
) -> Option<String> {
    let kept = settings.host.host_memory.0;
    let starved = |c: &Cell| c.memory_kib.is_some_and(|m| m < kept.saturating_add(page));
    let candidates = candidate_cells(host);
    let cell = guests.iter().find_map(|g| match g.node {
        Some(id) => candidates.iter().find(|c| c.id == id && starved(c)),
        None => candidates
            .iter()
            .all(|c| starved(c))
            .then(|| candidates.first())
            .flatten(),
    })?;
    let whom = if guests.len() > 1 { "guests" } else { "guest" };
    Some(format!(
        "node {} has {}: keep less than that for the host, so that huge pages are left for the {whom}",
        cell.id,
        format_kib(cell.memory_kib.unwrap_or(0))
    ))
}

/// The messages under a guest's fields for the room it has: the node it cannot be placed on, the
/// vCPUs and memory it has too many of, or the spare pages that leave it too little.
fn room_limits(i: usize, gs: &GuestSettings, room: &GuestRoom) -> Vec<FieldLimit> {
    let limit = |field: &'static str, message: String| FieldLimit {
        guest: Some(i),
        field,
        message,
    };
    if let Some(why) = &room.refused {
        return vec![limit("node", why.clone())];
    }
    let (Some(short), Some(node)) = (room.short, room.node) else {
        return Vec::new();
    };
    let mut limits = Vec::new();
    let beside = room.beside_text(false);
    if short.cores() > 0 {
        limits.push(limit(
            "vcpus",
            match room.vcpus {
                0 => format!("no vCPU fits on node {node}{beside}"),
                n => format!(
                    "at most {n} {} on node {node}{beside}",
                    plural(u64::from(n), "vCPU", "vCPUs")
                ),
            },
        ));
    }
    if short.pages() > 0 {
        // The node's pages hold the guests and the spare ones: the guest's memory is blamed when
        // it alone does not fit, else the spare.
        if gs.memory.0 > room.memory_kib + room.spare_kib {
            let beside = room.beside_text(true);
            limits.push(limit(
                "memory",
                match room.memory_kib {
                    0 => format!("no huge pages are free on node {node}{beside}"),
                    kib => format!("at most {} on node {node}{beside}", format_kib(kib)),
                },
            ));
        } else {
            let whom = match room.beside.is_empty() {
                true => "the guest".to_string(),
                false => and_list(&[room.beside.clone(), vec![gs.name.clone()]].concat()),
            };
            limits.push(FieldLimit {
                guest: None,
                field: "spare",
                message: format!(
                    "at most {} spare beside {whom} on node {node}",
                    format_kib(room.memory_kib + room.spare_kib - gs.memory.0)
                ),
            });
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
    let choices = whole_page_sizes(kib, page);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::GuestSettings;
    use crate::units::Kib;

    fn example() -> Host {
        crate::parse_capabilities(crate::EXAMPLE_CAPABILITIES).unwrap()
    }

    fn with_guests(specs: &[&str]) -> Settings {
        Settings::with_guests(specs.iter().map(|s| GuestSettings::from_spec(s).unwrap())).unwrap()
    }

    fn limits(host: &Host, s: &Settings) -> Vec<(Option<usize>, &'static str, String)> {
        guest_limits(host, s)
            .into_iter()
            .map(|l| (l.guest, l.field, l.message))
            .collect()
    }

    #[test]
    fn each_guest_has_its_room_beside_the_others() {
        let host = example();
        let s = with_guests(&[
            "name=plc-a,vcpus=4,memory=8G",
            "name=plc-b,vcpus=2,memory=4G,node=1",
            "name=hmi,vcpus=3,memory=4G,emulator=isolate",
        ]);
        let rooms = super::rooms(&host, &s).unwrap();
        let said: Vec<Option<String>> = rooms.guests.iter().map(GuestRoom::limit).collect();
        assert_eq!(
            said,
            [
                Some("at most 4 vCPUs and 22 GiB on node 1 beside plc-b".to_string()),
                Some("at most 2 vCPUs and 18 GiB on node 1 beside plc-a".to_string()),
                // One core of the six goes to its emulator threads.
                Some("at most 5 vCPUs and 26 GiB on node 0".to_string()),
            ]
        );
        assert!(rooms
            .guests
            .iter()
            .all(|r| r.short.is_none() && r.misfit().is_none()));
        // What is left on each node beside all three (the first guest's emulator policy).
        let left: Vec<(u32, u32, u64)> = rooms
            .left
            .iter()
            .map(|c| (c.node, c.vcpus, c.memory_kib >> 20))
            .collect();
        assert_eq!(left, [(0, 2, 22), (1, 0, 14)]);
        assert!(guest_limits(&host, &s).is_empty());
    }

    #[test]
    fn a_guest_that_does_not_fit_is_said_with_its_node_shortfall_and_another_node() {
        let host = example();
        // c asks for node 1, where a and b leave no core; node 0 is free.
        let s = with_guests(&[
            "name=a,vcpus=4,memory=8G,node=1",
            "name=b,vcpus=2,memory=8G,node=1",
            "name=c,vcpus=2,memory=12G,node=1",
        ]);
        let rooms = super::rooms(&host, &s).unwrap();
        let c = &rooms.guests[2];
        assert_eq!(c.node, Some(1));
        assert_eq!(c.beside, ["a", "b"]);
        let short = c.short.unwrap();
        assert_eq!((short.cores(), short.pages()), (2, 2));
        assert_eq!(short.fits_on, Some(0));
        assert_eq!(
            c.misfit().unwrap(),
            "guest c does not fit on node 1 beside a and b: 2 isolated cores short (it needs 2, 0 free); 2 huge pages of 1 GiB short (it needs 12 GiB, 10 GiB free). It fits on node 0: choose that node for it."
        );
        assert_eq!(
            limits(&host, &s),
            [
                (
                    Some(2),
                    "vcpus",
                    "no vCPU fits on node 1 beside a and b".to_string()
                ),
                (
                    Some(2),
                    "memory",
                    "at most 10 GiB on node 1 beside a and b".to_string()
                ),
            ]
        );
        // The guests placed are measured beside the others placed, not beside c.
        assert_eq!(
            rooms.guests[0].limit().unwrap(),
            "at most 4 vCPUs and 18 GiB on node 1 beside b"
        );
        assert!(crate::plan(&host, &s).is_err());
    }

    #[test]
    fn the_hint_never_names_the_node_a_guest_asks_for() {
        let host = example();
        // b fits on node 1 alone, not beside a; node 0 has no room for it either.
        let s = with_guests(&[
            "name=a,vcpus=5,memory=20G,node=1",
            "name=x,vcpus=5,memory=20G,node=0",
            "name=b,vcpus=2,memory=8G,node=1",
        ]);
        let rooms = super::rooms(&host, &s).unwrap();
        let b = &rooms.guests[2];
        let short = b.short.unwrap();
        assert_eq!((short.fits_on, short.alone_on), (None, Some(1)));
        let text = b.misfit().unwrap();
        assert!(text.ends_with("Alone it fits there: move it above the guests it does not fit beside, or give them fewer vCPUs or less memory."), "{text}");
        assert!(
            !text.contains("node 1 for it") && !text.contains("fits on node 1"),
            "{text}"
        );
        // The plan's own refusal says the same, without node=1 for a guest that asks for node 1.
        let err = crate::plan(&host, &s).unwrap_err().to_string();
        assert!(!err.contains("node=1"), "{err}");
        assert!(
            err.contains("Alone it fits on node 1: give the guests placed there before it fewer"),
            "{err}"
        );
        // An automatic guest that fits nowhere beside the others is told where it fits alone.
        let s = with_guests(&[
            "name=a,vcpus=5,memory=20G,node=1",
            "name=x,vcpus=5,memory=20G,node=0",
            "name=b,vcpus=2,memory=8G",
        ]);
        let b = &super::rooms(&host, &s).unwrap().guests[2];
        assert!(b.automatic);
        // Both nodes lack a core and 2 pages: the higher one is said.
        assert_eq!(b.node, Some(1));
        assert_eq!(
            b.misfit().unwrap(),
            "guest b does not fit on node 1 beside a: 1 isolated core short (it needs 2, 1 free); 2 huge pages of 1 GiB short (it needs 8 GiB, 6 GiB free). Alone it fits on node 1: choosing node 1 for it places it before the guests with an automatic node; or give the others fewer vCPUs or less memory."
        );
    }

    #[test]
    fn an_automatic_guest_is_measured_on_the_node_it_misses_by_least() {
        let host = example();
        // Node 1 lacks two cores for c, node 0 only pages: node 0 is said, short of pages alone.
        let s = with_guests(&[
            "name=a,vcpus=6,memory=4G,node=1",
            "name=b,vcpus=1,memory=24G,node=0",
            "name=c,vcpus=2,memory=4G",
        ]);
        let c = &super::rooms(&host, &s).unwrap().guests[2];
        assert_eq!(c.node, Some(0));
        let short = c.short.unwrap();
        assert_eq!((short.cores(), short.pages()), (0, 2));
        assert_eq!(
            limits(&host, &s),
            [(
                Some(2),
                "memory",
                "at most 2 GiB on node 0 beside b".to_string()
            )]
        );
    }

    #[test]
    fn spare_pages_are_blamed_when_the_guests_alone_fit() {
        let host = example();
        let mut s = with_guests(&["name=a,vcpus=2,memory=10G", "name=b,vcpus=2,memory=10G"]);
        s.host.reserve = Reserve::Guest;
        s.host.spare = Kib::gib(8);
        // Node 1 holds 26 pages: a, b and the spare take 28. b is placed on node 0 instead.
        let plan = crate::plan(&host, &s).unwrap();
        let nodes: Vec<u32> = plan.guests().map(|g| g.node).collect();
        assert_eq!(nodes, [1, 0]);
        s.guest.node = Some(1);
        s.others[0].node = Some(1);
        assert_eq!(
            limits(&host, &s),
            [(
                None,
                "spare",
                "at most 6 GiB spare beside a and b on node 1".to_string()
            )]
        );
        let b = &super::rooms(&host, &s).unwrap().guests[1];
        assert_eq!(
            b.limit().unwrap(),
            "at most 4 vCPUs and 8 GiB on node 1 beside a and 8 GiB spare"
        );
        assert!(crate::plan(&host, &s).is_err());
    }

    #[test]
    fn one_guest_gets_the_messages_it_always_got() {
        let host = example();
        let mut s = Settings::default();
        s.guest.vcpus = 7;
        s.guest.memory = Kib::gib(30);
        assert_eq!(
            limits(&host, &s),
            [
                (Some(0), "vcpus", "at most 6 vCPUs on node 1".to_string()),
                (Some(0), "memory", "at most 26 GiB on node 1".to_string())
            ]
        );
        s.guest.vcpus = 4;
        s.guest.memory = Kib::gib(16);
        s.host.reserve = Reserve::Guest;
        s.host.spare = Kib::gib(20);
        assert_eq!(
            limits(&host, &s),
            [(
                None,
                "spare",
                "at most 10 GiB spare beside the guest on node 1".to_string()
            )]
        );
        s.host.spare = Kib(1536 * 1024);
        assert_eq!(limits(&host, &s)[0].1, "spare");
    }
}
