//! Link version 2: v1's host columns and settings, with the real-time vCPUs kept as the user wrote
//! them (`^0` stays a mask, so that it still means "every vCPU but 0" when the vCPU count changes).
//! Frozen like v1: postcard's positional encoding of these types, which may never change. Version 3
//! reuses these settings and adds the recipe revision; v2 links open with revision 1, the recipe they
//! were made with.

use serde::{Deserialize, Serialize};

use super::columns::WireHost;
use super::damaged;
use crate::cpuset::CpuSet;
use crate::error::Error;
use crate::host::Host;
use crate::settings::{
    EmulatorPolicy, GuestSettings, HostSettings, Kernel, KernelType, PageSize, Preset, Recipe,
    Reserve, RtVcpus, Scheduler, Settings,
};
use crate::units::Kib;

#[derive(Deserialize)]
struct Wire {
    host: WireHost,
    settings: SettingsV2,
}

/// The settings of links v2 and v3 (but the recipe revision).
#[derive(Serialize, Deserialize)]
pub(crate) struct SettingsV2 {
    host: HostV2,
    guest: GuestV2,
}

#[derive(Serialize, Deserialize)]
struct HostV2 {
    host_cpus: u32,
    /// A cpulist.
    housekeeping: Option<String>,
    host_memory_kib: u64,
    page_size: PageSizeV2,
    preset: PresetV2,
}

#[derive(Serialize, Deserialize)]
enum PageSizeV2 {
    Auto,
    Kib(u64),
}

#[derive(Serialize, Deserialize)]
enum PresetV2 {
    Minimal,
    Full,
}

#[derive(Serialize, Deserialize)]
struct GuestV2 {
    name: String,
    vcpus: u32,
    memory_kib: u64,
    node: Option<u32>,
    rt_vcpus: RtVcpusV2,
    scheduler: SchedulerV2,
    priority: u32,
}

/// The real-time vCPUs; the lists are cpulists.
#[derive(Serialize, Deserialize)]
enum RtVcpusV2 {
    All,
    None,
    List(String),
    AllBut(String),
}

#[derive(Serialize, Deserialize)]
enum SchedulerV2 {
    Fifo,
    Rr,
}

fn cpus(text: &str) -> Result<CpuSet, Error> {
    text.parse()
        .map_err(|_| damaged("a CPU list does not read"))
}

/// Writes the settings (but the recipe revision) as v2 and v3 carry them.
pub(crate) fn to_wire(settings: &Settings) -> SettingsV2 {
    let (h, g) = (&settings.host, &settings.guest);
    SettingsV2 {
        host: HostV2 {
            host_cpus: h.host_cpus,
            housekeeping: h.housekeeping.as_ref().map(CpuSet::to_string),
            host_memory_kib: h.host_memory.0,
            page_size: match h.page_size {
                PageSize::Auto => PageSizeV2::Auto,
                PageSize::Kib(kib) => PageSizeV2::Kib(kib),
            },
            preset: match h.preset {
                Preset::Minimal => PresetV2::Minimal,
                Preset::Full => PresetV2::Full,
            },
        },
        guest: GuestV2 {
            name: g.name.clone(),
            vcpus: g.vcpus,
            memory_kib: g.memory.0,
            node: g.node,
            rt_vcpus: match &g.rt_vcpus {
                RtVcpus::All => RtVcpusV2::All,
                RtVcpus::None => RtVcpusV2::None,
                RtVcpus::List(set) => RtVcpusV2::List(set.to_string()),
                RtVcpus::AllBut(set) => RtVcpusV2::AllBut(set.to_string()),
            },
            scheduler: match g.scheduler {
                Scheduler::Fifo => SchedulerV2::Fifo,
                Scheduler::Rr => SchedulerV2::Rr,
            },
            priority: g.priority,
        },
    }
}

/// Decodes a v2 payload (after inflating) into a host and settings, not yet validated. Out of line,
/// so that a link of a newer version does not compile this one in the browser.
#[inline(never)]
pub(crate) fn decode(bytes: &[u8]) -> Result<(Host, Settings), Error> {
    let wire: Wire =
        postcard::from_bytes(bytes).map_err(|_| damaged("its contents do not decode"))?;
    Ok((
        wire.host.into_host()?,
        from_wire(wire.settings, Recipe::Guide, EmulatorPolicy::Share)?,
    ))
}

/// Reads the settings of a v2 or v3 link, with what v3 adds (v2: recipe revision 1, emulator threads
/// shared).
pub(crate) fn from_wire(
    wire: SettingsV2,
    recipe: Recipe,
    emulator: EmulatorPolicy,
) -> Result<Settings, Error> {
    let (h, g) = (wire.host, wire.guest);
    Ok(Settings {
        recipe,
        host: HostSettings {
            host_cpus: h.host_cpus,
            housekeeping: h.housekeeping.as_deref().map(cpus).transpose()?,
            host_memory: Kib(h.host_memory_kib),
            page_size: match h.page_size {
                PageSizeV2::Auto => PageSize::Auto,
                PageSizeV2::Kib(kib) => PageSize::Kib(kib),
            },
            preset: match h.preset {
                PresetV2::Minimal => Preset::Minimal,
                PresetV2::Full => Preset::Full,
            },
            kernel: Kernel::default(),
            kernel_type: KernelType::default(),
            // Links before v5 reserve all memory beyond the host's, as rtkvm then always did.
            reserve: Reserve::All,
            spare: crate::units::Kib(0),
        },
        guest: GuestSettings {
            name: g.name,
            vcpus: g.vcpus,
            memory: Kib(g.memory_kib),
            node: g.node,
            rt_vcpus: match g.rt_vcpus {
                RtVcpusV2::All => RtVcpus::All,
                RtVcpusV2::None => RtVcpus::None,
                RtVcpusV2::List(list) => RtVcpus::List(cpus(&list)?),
                RtVcpusV2::AllBut(list) => RtVcpus::AllBut(cpus(&list)?),
            },
            scheduler: match g.scheduler {
                SchedulerV2::Fifo => Scheduler::Fifo,
                SchedulerV2::Rr => Scheduler::Rr,
            },
            priority: g.priority,
            emulator,
            keep: None,
        },
        others: Vec::new(),
    })
}
