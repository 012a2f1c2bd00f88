//! Planning: from a [`Host`] and [`Settings`] to the host partition, the huge page reservation and the
//! guests' placement, with warnings for everything that works but deserves a second look.
//!
//! The plan is data. The outputs made from it (the kernel command line, `hugepages.sh`, the domain
//! XML) are written by the emitter modules, which depend on this one and not the other way round.
//!
//! [`plan`] runs the steps, each a module of its own:
//! - [`partition()`] (`partition.rs`): split the host's CPUs, reserve its huge pages, the host's
//!   warnings; the partition itself is data of its own ([`HostPlan`], in `host_plan.rs` below this
//!   module, so that the host's emitters read it without importing the planner);
//! - `placement.rs`: choose each guest's node and place its vCPUs beside the guests placed before it
//!   (kept guests first, on their own CPUs, then guests with a node, then automatic ones);
//! - `warnings.rs`: the warning codes and the guests' and the host recipe's warnings;
//! - [`capacity`], [`rooms`] and [`guest_limits`] (`limits.rs`): the largest guest each node takes,
//!   what each guest can have beside the others (or by how much it does not fit, and where it
//!   would), and which setting meets a limit of the host.

mod limits;
mod partition;
mod placement;
mod warnings;

use crate::cpuset::CpuSet;
use crate::error::Error;
use crate::host::Host;
use crate::settings::{EmulatorPolicy, GuestSettings, Recipe, Reserve, Scheduler, Settings};

pub use crate::host_plan::{HostPlan, KthreadPriorities, NodePages, NodePartition};
pub use limits::{
    capacity, guest_limits, rooms, FieldLimit, GuestRoom, NodeCapacity, Rooms, Shortfall,
};
pub use partition::{partition, Partition};
pub use warnings::{Warning, WarningCode};

use partition::reserve_only_for;
use placement::{check_memory_fits_pages, place_guests};
use warnings::{guest_warnings, host_recipe_warnings};

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
        let what = || {
            if several {
                format!("the memory of guest {}", gs.name)
            } else {
                "the guest memory".to_string()
            }
        };
        check_memory_fits_pages(what, gs.memory.0, host_plan.page_size_kib)?;
    }
    check_memory_fits_pages(
        || "the spare memory".into(),
        host_plan.spare_kib,
        host_plan.page_size_kib,
    )?;
    let (placed, spare_node) = place_guests(host, &host_plan, settings, &guests)?;
    if settings.host.reserve == Reserve::Guest {
        // The spare pages go with the guest placed first.
        reserve_only_for(&mut host_plan, placed.iter().map(|(g, _)| g), spare_node);
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
