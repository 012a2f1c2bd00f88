//! What the user chooses: how much of each node the host keeps, and the guest's size and placement.

use serde::{Deserialize, Serialize};

use crate::cpuset::CpuSet;
use crate::error::Error;
use crate::units::{Kib, GIB_KIB, MIB2_KIB};

/// All choices that shape a plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Settings {
    /// How the host is partitioned.
    pub host: HostSettings,
    /// The guest to place.
    pub guest: GuestSettings,
}

/// How the host is partitioned between its own work and real-time guests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSettings {
    /// Logical CPUs kept for the host OS on every NUMA node, lowest ids first, grown to whole cores.
    pub host_cpus: u32,
    /// An explicit list of housekeeping CPUs, replacing `host_cpus` (still grown to whole cores).
    pub housekeeping: Option<CpuSet>,
    /// Memory left to the host as normal pages on every node.
    pub host_memory: Kib,
    /// The huge page size to reserve.
    pub page_size: PageSize,
    /// Which kernel parameters to emit.
    pub preset: Preset,
}

impl Default for HostSettings {
    fn default() -> Self {
        HostSettings {
            host_cpus: 2,
            housekeeping: None,
            host_memory: Kib::gib(6),
            page_size: PageSize::Auto,
            preset: Preset::Full,
        }
    }
}

/// The huge page size choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PageSize {
    /// 1 GiB where the host supports it, else 2 MiB.
    #[default]
    Auto,
    /// A size in KiB.
    Kib(u64),
}

impl std::str::FromStr for PageSize {
    type Err = Error;

    /// Reads `auto`, `1G`, `2M` or any size the kernel may support (`512M`, `16G`, `64K`).
    fn from_str(text: &str) -> Result<Self, Error> {
        if text.trim().eq_ignore_ascii_case("auto") {
            return Ok(PageSize::Auto);
        }
        let kib: Kib = text
            .parse()
            .map_err(|e| Error::Setting(format!("page size: {e}")))?;
        if kib.0 < 4 || !kib.0.is_power_of_two() {
            return Err(Error::Setting(format!(
                "page size: {kib} is not a page size (a power of two such as 2M or 1G)"
            )));
        }
        Ok(PageSize::Kib(kib.0))
    }
}

/// The kernel command line preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Preset {
    /// What libvirt's page asks for: `isolcpus` and the huge page arguments.
    Minimal,
    /// A full real-time host, like tuned's `realtime-virtual-host` profile.
    #[default]
    Full,
}

impl std::str::FromStr for Preset {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        match text.trim() {
            "minimal" => Ok(Preset::Minimal),
            "full" => Ok(Preset::Full),
            other => Err(Error::Setting(format!(
                "preset: '{other}' is not a preset; choose full or minimal"
            ))),
        }
    }
}

/// The real-time scheduler policy given to vCPU threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// `SCHED_FIFO`: runs until it blocks or a higher priority wakes.
    #[default]
    Fifo,
    /// `SCHED_RR`: like FIFO, with round-robin among equal priorities.
    Rr,
}

impl Scheduler {
    /// Returns libvirt's name for the policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheduler::Fifo => "fifo",
            Scheduler::Rr => "rr",
        }
    }
}

impl std::str::FromStr for Scheduler {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        match text.trim() {
            "fifo" => Ok(Scheduler::Fifo),
            "rr" => Ok(Scheduler::Rr),
            other => Err(Error::Setting(format!(
                "scheduler: '{other}' is not a real-time policy; choose fifo or rr"
            ))),
        }
    }
}

/// The guest to place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestSettings {
    /// The libvirt domain name.
    pub name: String,
    /// The number of vCPUs.
    pub vcpus: u32,
    /// The guest's RAM.
    pub memory: Kib,
    /// The host NUMA node; `None` picks the highest-numbered node the guest fits on.
    pub node: Option<u32>,
    /// The vCPUs given the real-time scheduler; `None` means all of them.
    pub rt_vcpus: Option<CpuSet>,
    /// The real-time policy.
    pub scheduler: Scheduler,
    /// The real-time priority, 1 to 99.
    pub priority: u32,
}

impl Default for GuestSettings {
    fn default() -> Self {
        GuestSettings {
            name: "rt-guest".into(),
            vcpus: 4,
            memory: Kib::gib(16),
            node: None,
            rt_vcpus: None,
            scheduler: Scheduler::Fifo,
            priority: 1,
        }
    }
}

/// The most vCPUs a plan accepts (libvirt's own limit for KVM is in the thousands; no real-time guest
/// comes near it).
pub const MAX_VCPUS: u32 = 1024;

/// The longest guest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 64;

impl Settings {
    /// Checks every setting on its own, before the host is looked at.
    pub fn validate(&self) -> Result<(), Error> {
        let h = &self.host;
        let g = &self.guest;
        if h.host_cpus == 0 {
            return Err(Error::Setting(
                "host CPUs per node must be at least 1: every node needs a housekeeping CPU for the kernel and the host OS".into(),
            ));
        }
        if h.host_cpus > crate::cpuset::MAX_CPU_ID {
            return Err(Error::Setting(format!(
                "host CPUs per node is {}, more than any host has",
                h.host_cpus
            )));
        }
        if let PageSize::Kib(size) = h.page_size {
            if size < 4 || !size.is_power_of_two() {
                return Err(Error::Setting(format!(
                    "page size: {} KiB is not a page size",
                    size
                )));
            }
        }
        if h.host_memory.0 > 1024 * 1024 * GIB_KIB {
            return Err(Error::Setting(format!(
                "host memory per node {} is more than 1 PiB",
                h.host_memory
            )));
        }
        validate_name(&g.name)?;
        if g.vcpus == 0 || g.vcpus > MAX_VCPUS {
            return Err(Error::Setting(format!(
                "vCPUs must be between 1 and {MAX_VCPUS}, not {}",
                g.vcpus
            )));
        }
        if g.memory.0 == 0 {
            return Err(Error::Setting("guest memory must be more than 0".into()));
        }
        if g.memory.0 > 1024 * 1024 * GIB_KIB {
            return Err(Error::Setting(format!(
                "guest memory {} is more than 1 PiB",
                g.memory
            )));
        }
        if !(1..=99).contains(&g.priority) {
            return Err(Error::Setting(format!(
                "real-time priority must be between 1 and 99, not {}",
                g.priority
            )));
        }
        if let Some(rt) = &g.rt_vcpus {
            if let Some(bad) = rt.iter().find(|&v| v >= g.vcpus) {
                return Err(Error::Setting(format!(
                    "real-time vCPUs name vCPU {bad}, but the guest has vCPUs 0-{} only",
                    g.vcpus - 1
                )));
            }
        }
        Ok(())
    }
}

/// Checks a guest name: 1 to 64 characters, no control characters, no `/` (libvirt refuses it), no
/// leading or trailing space. Everything else is allowed and escaped where it is written.
pub fn validate_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::Setting("the guest name is empty".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::Setting(format!(
            "the guest name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if name.trim() != name {
        return Err(Error::Setting(
            "the guest name starts or ends with a space".into(),
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(Error::Setting(format!(
            "the guest name contains the control character U+{:04X}",
            c as u32
        )));
    }
    if name.contains('/') {
        return Err(Error::Setting(
            "the guest name contains '/', which libvirt does not allow".into(),
        ));
    }
    Ok(())
}

/// Returns the default page size for a host that lists `sizes` (KiB): 1 GiB, else 2 MiB, else the
/// smallest listed size above the base page. A host that lists no sizes (older libvirt) gets 2 MiB.
pub fn auto_page_size(sizes: &[u64]) -> Option<u64> {
    if sizes.is_empty() {
        return Some(MIB2_KIB);
    }
    if sizes.contains(&GIB_KIB) {
        return Some(GIB_KIB);
    }
    if sizes.contains(&MIB2_KIB) {
        return Some(MIB2_KIB);
    }
    let base = sizes.iter().copied().min()?;
    sizes.iter().copied().filter(|&s| s > base).min()
}

/// Reads which vCPUs get the real-time scheduler: `all` (returns `None`, meaning every vCPU), `none`,
/// a list such as `1-3`, or Nova's exclusion mask such as `^0` (every vCPU but 0).
pub fn rt_vcpus_from_mask(text: &str, vcpus: u32) -> Result<Option<CpuSet>, Error> {
    let text = text.trim();
    let list = |t: &str| {
        t.parse::<CpuSet>().map_err(|source| Error::CpuList {
            what: "real-time vCPUs".into(),
            source,
        })
    };
    match text {
        "" | "all" => Ok(None),
        "none" => Ok(Some(CpuSet::new())),
        _ => match text.strip_prefix('^') {
            Some(excluded) => {
                let excluded = list(excluded)?;
                Ok(Some(
                    (0..vcpus.min(MAX_VCPUS))
                        .filter(|v| !excluded.contains(*v))
                        .collect(),
                ))
            }
            None => list(text).map(Some),
        },
    }
}
