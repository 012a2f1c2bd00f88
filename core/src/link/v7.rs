//! Link version 7: a v6 record (the host, the host settings and the first guest), then an extension
//! with every other guest, in the order given, and, for each guest that is an existing domain kept
//! where it already runs, its placement (so that the link reproduces the plan without carrying the
//! domain). Links v1 to v6 open as one guest, placed by rtkvm. Frozen like the others; a later version
//! appends its own extension after this one.
//!
//! A guest costs its name and a few bytes: each number is a varint, the memory is counted in the
//! largest unit that divides it, and what most guests repeat (the real-time vCPUs `^0`, the
//! scheduler, priority 1, the shared emulator threads, no kept placement) is one byte each, which
//! deflate then matches across guests.

use serde::{Deserialize, Serialize};

use super::damaged;
use crate::cpuset::CpuSet;
use crate::error::Error;
use crate::host::Host;
use crate::settings::{
    EmulatorPolicy, GuestSettings, Placement, RtVcpus, Scheduler, Settings, MAX_GUESTS,
};
use crate::units::Kib;

#[derive(Serialize, Deserialize)]
struct Extension {
    /// Where the first guest (the v6 record's) is kept, or `None` when rtkvm places it.
    keep: Option<PlacementV7>,
    /// The guests after the first, in the order given.
    others: Vec<GuestV7>,
}

#[derive(Serialize, Deserialize)]
struct GuestV7 {
    name: String,
    vcpus: u32,
    memory: MemoryV7,
    node: Option<u32>,
    rt_vcpus: RtVcpusV7,
    scheduler: SchedulerV7,
    priority: u32,
    emulator: EmulatorV7,
    keep: Option<PlacementV7>,
}

/// A memory size in the largest unit that divides it.
#[derive(Serialize, Deserialize)]
enum MemoryV7 {
    Gib(u64),
    Mib(u64),
    Kib(u64),
}

/// The real-time vCPUs; the lists are cpulists. `AllButZero` is the default, `^0`.
#[derive(Serialize, Deserialize)]
enum RtVcpusV7 {
    AllButZero,
    All,
    None,
    List(String),
    AllBut(String),
}

#[derive(Serialize, Deserialize)]
enum SchedulerV7 {
    Fifo,
    Rr,
}

#[derive(Serialize, Deserialize)]
enum EmulatorV7 {
    Share,
    Isolate,
}

/// Where an existing guest runs: the host CPU of each vCPU, and the emulator threads' CPUs (a
/// cpulist).
#[derive(Serialize, Deserialize)]
struct PlacementV7 {
    vcpupin: Vec<u32>,
    emulatorpin: String,
}

fn cpus(text: &str) -> Result<CpuSet, Error> {
    text.parse()
        .map_err(|_| damaged("a CPU list does not read"))
}

fn placement_to_wire(keep: &Placement) -> PlacementV7 {
    PlacementV7 {
        vcpupin: keep.vcpupin.clone(),
        emulatorpin: keep.emulatorpin.to_string(),
    }
}

/// Reads a kept placement, which must pin each of the guest's `vcpus` vCPUs.
fn placement_from_wire(wire: PlacementV7, vcpus: u32) -> Result<Placement, Error> {
    if wire.vcpupin.len() != vcpus as usize {
        return Err(damaged("a kept guest's pinning does not match its vCPUs"));
    }
    let emulatorpin = cpus(&wire.emulatorpin)?;
    if emulatorpin.is_empty() {
        return Err(damaged("a kept guest's emulator threads have no CPU"));
    }
    Ok(Placement {
        vcpupin: wire.vcpupin,
        emulatorpin,
    })
}

fn guest_to_wire(g: &GuestSettings) -> GuestV7 {
    let kib = g.memory.0;
    GuestV7 {
        name: g.name.clone(),
        vcpus: g.vcpus,
        memory: if kib.is_multiple_of(1024 * 1024) {
            MemoryV7::Gib(kib / (1024 * 1024))
        } else if kib.is_multiple_of(1024) {
            MemoryV7::Mib(kib / 1024)
        } else {
            MemoryV7::Kib(kib)
        },
        node: g.node,
        rt_vcpus: match &g.rt_vcpus {
            RtVcpus::AllBut(set) if set.len() == 1 && set.contains(0) => RtVcpusV7::AllButZero,
            RtVcpus::All => RtVcpusV7::All,
            RtVcpus::None => RtVcpusV7::None,
            RtVcpus::List(set) => RtVcpusV7::List(set.to_string()),
            RtVcpus::AllBut(set) => RtVcpusV7::AllBut(set.to_string()),
        },
        scheduler: match g.scheduler {
            Scheduler::Fifo => SchedulerV7::Fifo,
            Scheduler::Rr => SchedulerV7::Rr,
        },
        priority: g.priority,
        emulator: match g.emulator {
            EmulatorPolicy::Share => EmulatorV7::Share,
            EmulatorPolicy::Isolate => EmulatorV7::Isolate,
        },
        keep: g.keep.as_ref().map(placement_to_wire),
    }
}

fn guest_from_wire(wire: GuestV7) -> Result<GuestSettings, Error> {
    let memory = match wire.memory {
        MemoryV7::Gib(n) => n.checked_mul(1024 * 1024),
        MemoryV7::Mib(n) => n.checked_mul(1024),
        MemoryV7::Kib(n) => Some(n),
    }
    .ok_or_else(|| damaged("a number is out of range"))?;
    Ok(GuestSettings {
        name: wire.name,
        vcpus: wire.vcpus,
        memory: Kib(memory),
        node: wire.node,
        rt_vcpus: match wire.rt_vcpus {
            RtVcpusV7::AllButZero => RtVcpus::AllBut(CpuSet::from_iter([0])),
            RtVcpusV7::All => RtVcpus::All,
            RtVcpusV7::None => RtVcpus::None,
            RtVcpusV7::List(list) => RtVcpus::List(cpus(&list)?),
            RtVcpusV7::AllBut(list) => RtVcpus::AllBut(cpus(&list)?),
        },
        scheduler: match wire.scheduler {
            SchedulerV7::Fifo => Scheduler::Fifo,
            SchedulerV7::Rr => Scheduler::Rr,
        },
        priority: wire.priority,
        emulator: match wire.emulator {
            EmulatorV7::Share => EmulatorPolicy::Share,
            EmulatorV7::Isolate => EmulatorPolicy::Isolate,
        },
        keep: wire
            .keep
            .map(|keep| placement_from_wire(keep, wire.vcpus))
            .transpose()?,
    })
}

/// Encodes a host and settings as a v7 payload (before deflating).
pub(crate) fn encode(host: &Host, settings: &Settings) -> Vec<u8> {
    let extension = Extension {
        keep: settings.guest.keep.as_ref().map(placement_to_wire),
        others: settings.others.iter().map(guest_to_wire).collect(),
    };
    let mut bytes = super::v6::encode(host, settings);
    bytes.extend(postcard::to_allocvec(&extension).expect("plain data always serializes"));
    bytes
}

/// Decodes a v7 payload (after inflating) into a host and settings, not yet validated.
pub(crate) fn decode(bytes: &[u8]) -> Result<(Host, Settings), Error> {
    let (host, mut settings, rest) = super::v6::decode_prefix(bytes)?;
    let extension: Extension =
        postcard::from_bytes(rest).map_err(|_| damaged("its guests do not decode"))?;
    if extension.others.len() + 1 > MAX_GUESTS {
        return Err(Error::Link(format!(
            "the link holds {} guests, more than the {MAX_GUESTS} a plan places",
            extension.others.len() + 1
        )));
    }
    settings.guest.keep = extension
        .keep
        .map(|keep| placement_from_wire(keep, settings.guest.vcpus))
        .transpose()?;
    settings.others = extension
        .others
        .into_iter()
        .map(guest_from_wire)
        .collect::<Result<_, _>>()?;
    Ok((host, settings))
}
