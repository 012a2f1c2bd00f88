//! Link version 1 (rtkvm's first release): the settings as they were then, frozen. Its layout is
//! postcard's positional encoding of these types, field by field and variant by variant; nothing here
//! may change, or every v1 link already shared would decode to something else.
//!
//! v1 wrote the real-time vCPUs already resolved against the vCPU count (`^0` of 5 vCPUs as `1-4`), so
//! they open as that list; and it opens with recipe revision 1, the one it was made with.

use serde::Deserialize;

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
    settings: SettingsV1,
}

#[derive(Deserialize)]
struct SettingsV1 {
    host: HostV1,
    guest: GuestV1,
}

#[derive(Deserialize)]
struct HostV1 {
    host_cpus: u32,
    /// A cpulist.
    housekeeping: Option<String>,
    host_memory_kib: u64,
    page_size: PageSizeV1,
    preset: PresetV1,
}

#[derive(Deserialize)]
enum PageSizeV1 {
    Auto,
    Kib(u64),
}

#[derive(Deserialize)]
enum PresetV1 {
    Minimal,
    Full,
}

#[derive(Deserialize)]
struct GuestV1 {
    name: String,
    vcpus: u32,
    memory_kib: u64,
    node: Option<u32>,
    /// `None` for every vCPU, else a cpulist (empty for none).
    rt_vcpus: Option<String>,
    scheduler: SchedulerV1,
    priority: u32,
}

#[derive(Deserialize)]
enum SchedulerV1 {
    Fifo,
    Rr,
}

/// Reads a cpulist as v1 wrote it; v1 wrote an empty set as an empty string.
fn cpus(text: &str) -> Result<CpuSet, Error> {
    if text.is_empty() {
        return Ok(CpuSet::new());
    }
    text.parse()
        .map_err(|_| damaged("a CPU list does not read"))
}

/// Decodes a v1 payload (after inflating) into a host and settings, not yet validated. Out of line,
/// so that a link of a newer version does not compile this one in the browser.
#[inline(never)]
pub(crate) fn decode(bytes: &[u8]) -> Result<(Host, Settings), Error> {
    let wire: Wire =
        postcard::from_bytes(bytes).map_err(|_| damaged("its contents do not decode"))?;
    let (h, g) = (wire.settings.host, wire.settings.guest);
    let settings = Settings {
        recipe: Recipe::Guide,
        host: HostSettings {
            host_cpus: h.host_cpus,
            housekeeping: h.housekeeping.as_deref().map(cpus).transpose()?,
            host_memory: Kib(h.host_memory_kib),
            page_size: match h.page_size {
                PageSizeV1::Auto => PageSize::Auto,
                PageSizeV1::Kib(kib) => PageSize::Kib(kib),
            },
            preset: match h.preset {
                PresetV1::Minimal => Preset::Minimal,
                PresetV1::Full => Preset::Full,
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
            rt_vcpus: match g.rt_vcpus.as_deref().map(cpus).transpose()? {
                None => RtVcpus::All,
                Some(set) if set.is_empty() => RtVcpus::None,
                Some(set) => RtVcpus::List(set),
            },
            scheduler: match g.scheduler {
                SchedulerV1::Fifo => Scheduler::Fifo,
                SchedulerV1::Rr => Scheduler::Rr,
            },
            priority: g.priority,
            emulator: EmulatorPolicy::Share,
            keep: None,
        },
        others: Vec::new(),
    };
    Ok((wire.host.into_host()?, settings))
}
