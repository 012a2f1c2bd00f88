//! What the user chooses: how much of each node the host keeps, and the guest's size and placement.

use std::fmt;

use crate::cpuset::CpuSet;
use crate::error::Error;
use crate::units::{Kib, GIB_KIB, MIB2_KIB};

/// All choices that shape a plan.
///
/// This is the model, free to change: the share links (`link`), the JSON output (`json`) and the
/// settings form (`form`) are the public contracts, each converted from and to it explicitly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// Which revision of rtkvm's recipe writes the outputs.
    pub recipe: Recipe,
    /// How the host is partitioned.
    pub host: HostSettings,
    /// The guest to place: the first of the guests, and the only one of a plan for one guest.
    pub guest: GuestSettings,
    /// The other guests planned with it on the same host, in the order given (empty for one guest).
    /// Every guest has a name of its own; the host settings are the host's, once.
    pub others: Vec<GuestSettings>,
}

/// A revision of rtkvm's recipe: what the outputs contain for the same host and settings. A share link
/// carries its revision, so that it opens to the same plan forever; a change to what rtkvm writes for
/// the same settings is a new revision, and the latest is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Recipe {
    /// Revision 1: what rtkvm wrote first, after libvirt's "KVM Real Time Guest Config" guide.
    Guide,
    /// Revision 2 (2026-11): the domain as production real-time guests get it (OpenStack Nova,
    /// KubeVirt): a memory hard limit with the locked memory, the dedicated-CPU hint and Nova's timers
    /// on x86, UEFI on aarch64, and `dies` only where the host's libvirt knows them.
    Production,
    /// Revision 3 (2026-11): revision 2's guest on the host a real-time engineer would sign (tuned's
    /// realtime-virtual-host, the OpenShift Node Tuning Operator): kernel threads above the vCPUs, no
    /// RT throttling, power and clock settings by CPU vendor and architecture, per-node huge pages at
    /// boot where the kernel takes them, and housekeeping CPUs counted over whole cores.
    RealtimeHost,
    /// Revision 4 (2026-12): revision 3's host as a real-time engineer signs it: stalld, the IOMMU
    /// in pass-through mode, the P-state driver chosen by CPU generation, idle states held on every
    /// architecture, the RT kernel installed and checked, tuned's scheduler plugin and its parent's
    /// script replaced by rtkvm's own, and the host qualified before the guest.
    #[default]
    Qualified,
}

impl Recipe {
    /// Every revision, oldest first.
    pub const ALL: [Recipe; 4] = [
        Recipe::Guide,
        Recipe::Production,
        Recipe::RealtimeHost,
        Recipe::Qualified,
    ];

    /// Returns the revision's number, as links, the JSON, the form and `--recipe` write it.
    pub fn number(self) -> u32 {
        match self {
            Recipe::Guide => 1,
            Recipe::Production => 2,
            Recipe::RealtimeHost => 3,
            Recipe::Qualified => 4,
        }
    }

    /// Returns the revision with this number.
    pub fn from_number(number: u32) -> Option<Recipe> {
        Recipe::ALL.into_iter().find(|r| r.number() == number)
    }

    /// Describes the revision in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Recipe::Guide => "libvirt's guide, as rtkvm first wrote it",
            Recipe::Production => "production real-time guest (2026-11)",
            Recipe::RealtimeHost => "production real-time guest and host (2026-11)",
            Recipe::Qualified => {
                "qualified real-time host: stalld, IOMMU, RT kernel checked (2026-12)"
            }
        }
    }
}

impl std::str::FromStr for Recipe {
    type Err = Error;

    /// Reads a revision number (`1` to `4`).
    fn from_str(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        text.parse()
            .ok()
            .and_then(Recipe::from_number)
            .ok_or_else(|| {
                Error::Setting(format!(
                    "recipe: '{text}' is not a recipe revision; choose 1 to {}",
                    Recipe::ALL.len()
                ))
            })
    }
}

/// How the host is partitioned between its own work and real-time guests.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The host's kernel version (recipe 3 on).
    pub kernel: Kernel,
    /// Whether the host runs a PREEMPT_RT kernel (recipe 3 on).
    pub kernel_type: KernelType,
    /// Which memory becomes huge pages: all beyond the host's, or only the guest's.
    pub reserve: Reserve,
    /// With [`Reserve::Guest`], more huge pages on the guest's node beyond the guest's own, kept
    /// spare for guests started later without a reboot (0 for none).
    pub spare: Kib,
}

impl Default for HostSettings {
    fn default() -> Self {
        HostSettings {
            host_cpus: 2,
            housekeeping: None,
            host_memory: Kib::gib(6),
            page_size: PageSize::Auto,
            preset: Preset::Full,
            kernel: Kernel::default(),
            kernel_type: KernelType::default(),
            reserve: Reserve::default(),
            spare: Kib(0),
        }
    }
}

/// The huge page size choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

impl fmt::Display for PageSize {
    /// Writes `auto` or the size as the kernel spells it (`1G`, `2M`, `64K`), which `FromStr` reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageSize::Auto => f.write_str("auto"),
            PageSize::Kib(kib) => f.write_str(&crate::units::kernel_size(*kib)),
        }
    }
}

/// A setting chosen among a few named values (`full` or `minimal`, `fifo` or `rr`, …), spelled the
/// same by the CLI (clap's `ValueEnum`), the form and the JSON.
pub trait Named: Sized + Copy + 'static {
    /// Every value, in the order the form offers them.
    const ALL: &'static [Self];
    /// What the setting is called in messages (`preset`).
    const SETTING: &'static str;
    /// What one of its values is (`a preset`).
    const KIND: &'static str;

    /// Returns the value's name.
    fn as_str(self) -> &'static str;

    /// Returns the form's words for the value.
    fn label(self) -> &'static str;

    /// Reads a value's name, or says which names there are.
    fn from_name(text: &str) -> Result<Self, Error> {
        let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
        find_name(text, &names, Self::SETTING, Self::KIND).map(|i| Self::ALL[i])
    }
}

/// Finds `text` among `names`, or says which names there are (one copy for every [`Named`] type).
#[inline(never)]
fn find_name(text: &str, names: &[&str], setting: &str, kind: &str) -> Result<usize, Error> {
    let text = text.trim();
    names.iter().position(|n| *n == text).ok_or_else(|| {
        Error::Setting(format!(
            "{setting}: '{text}' is not {kind}; choose {}",
            names.join(" or ")
        ))
    })
}

/// The kernel command line preset. The CLI's `--preset` takes the names of [`Named::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Preset {
    /// isolcpus and huge pages only, as libvirt's guide asks.
    Minimal,
    /// A full real-time host, like tuned's realtime-virtual-host profile.
    #[default]
    Full,
}

impl Named for Preset {
    const ALL: &'static [Preset] = &[Preset::Full, Preset::Minimal];
    const SETTING: &'static str = "preset";
    const KIND: &'static str = "a preset";

    fn as_str(self) -> &'static str {
        match self {
            Preset::Minimal => "minimal",
            Preset::Full => "full",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Preset::Full => "full real-time host",
            Preset::Minimal => "minimal (isolcpus + huge pages)",
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Preset::from_name(text)
    }
}

/// The host's kernel, as far as the recipe depends on it. The CLI's `--kernel` takes the names of
/// [`Named::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Kernel {
    /// Linux 5.16 or newer: every parameter the recipe writes, per-node huge pages at boot included.
    #[default]
    #[cfg_attr(feature = "cli", value(name = "5.16"))]
    Linux516,
    /// Red Hat Enterprise Linux 9 (5.14, with `amd_pstate` backported; no per-node boot huge pages).
    Rhel9,
    /// Red Hat Enterprise Linux 8 (4.18, with `isolcpus=managed_irq` backported in 8.5).
    Rhel8,
    /// Older than 5.6 and not a RHEL kernel: no `isolcpus=managed_irq`, which such kernels refuse,
    /// ignoring the whole `isolcpus=`.
    Older,
}

impl Kernel {
    /// Returns whether `isolcpus=` takes the `managed_irq` flag (Linux 5.6, RHEL 8.5).
    pub fn managed_irq(self) -> bool {
        self != Kernel::Older
    }

    /// Returns whether `hugepages=` takes per-node counts at boot (`hugepages=0:26,1:24`, Linux 5.16).
    pub fn per_node_boot_pages(self) -> bool {
        self == Kernel::Linux516
    }

    /// Returns whether the `amd_pstate` driver exists (Linux 5.17, RHEL 9).
    pub fn amd_pstate(self) -> bool {
        matches!(self, Kernel::Linux516 | Kernel::Rhel9)
    }
}

impl Named for Kernel {
    const ALL: &'static [Kernel] = &[
        Kernel::Linux516,
        Kernel::Rhel9,
        Kernel::Rhel8,
        Kernel::Older,
    ];
    const SETTING: &'static str = "kernel";
    const KIND: &'static str = "a kernel choice";

    fn as_str(self) -> &'static str {
        match self {
            Kernel::Linux516 => "5.16",
            Kernel::Rhel9 => "rhel9",
            Kernel::Rhel8 => "rhel8",
            Kernel::Older => "older",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kernel::Linux516 => "5.16 or newer",
            Kernel::Rhel9 => "RHEL 9 (5.14)",
            Kernel::Rhel8 => "RHEL 8 (4.18)",
            Kernel::Older => "older than 5.6",
        }
    }
}

impl std::str::FromStr for Kernel {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Kernel::from_name(text)
    }
}

/// Whether the host's kernel is built with PREEMPT_RT. The CLI's `--kernel-type` takes the names of
/// [`Named::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum KernelType {
    /// A PREEMPT_RT kernel (`kernel-rt`, `linux-image-rt`): bounded latency, `ktimers` threads.
    #[default]
    Rt,
    /// A kernel without PREEMPT_RT: a vCPU can wait for non-preemptible kernel sections.
    Generic,
}

impl Named for KernelType {
    const ALL: &'static [KernelType] = &[KernelType::Rt, KernelType::Generic];
    const SETTING: &'static str = "kernel type";
    const KIND: &'static str = "a kernel type";

    fn as_str(self) -> &'static str {
        match self {
            KernelType::Rt => "rt",
            KernelType::Generic => "generic",
        }
    }

    fn label(self) -> &'static str {
        match self {
            KernelType::Rt => "PREEMPT_RT",
            KernelType::Generic => "generic (not PREEMPT_RT)",
        }
    }
}

impl std::str::FromStr for KernelType {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        KernelType::from_name(text)
    }
}

/// The real-time scheduler policy given to vCPU threads. The CLI's `--scheduler` takes the names of
/// [`Scheduler::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Scheduler {
    /// SCHED_FIFO: runs until it blocks or a higher priority wakes.
    #[default]
    Fifo,
    /// SCHED_RR: like FIFO, with round-robin among equal priorities.
    Rr,
}

impl Named for Scheduler {
    const ALL: &'static [Scheduler] = &[Scheduler::Fifo, Scheduler::Rr];
    const SETTING: &'static str = "scheduler";
    const KIND: &'static str = "a real-time policy";

    /// libvirt's name for the policy.
    fn as_str(self) -> &'static str {
        match self {
            Scheduler::Fifo => "fifo",
            Scheduler::Rr => "rr",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Scheduler::Fifo => "SCHED_FIFO",
            Scheduler::Rr => "SCHED_RR",
        }
    }
}

impl std::str::FromStr for Scheduler {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Scheduler::from_name(text)
    }
}

/// Which vCPUs get the real-time scheduler, as the user wrote it. A mask is kept as a mask, so that
/// `^0` stays "every vCPU but 0" when the vCPU count changes. The default is `^0`: vCPU 0 is the
/// guest's housekeeping vCPU for its own kernel threads, timers and I/O, which tuned's
/// realtime-virtual-guest keeps off the isolated vCPUs. It is Nova's usual `hw:cpu_realtime_mask`;
/// Nova also allows every vCPU real-time when the emulator threads have a policy of their own
/// (`nova/virt/hardware.py`, `get_realtime_cpu_constraint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtVcpus {
    /// Every vCPU (`all`), as libvirt's guide does: the guest then has no housekeeping vCPU.
    All,
    /// No vCPU (`none`): the guest runs without a real-time scheduler.
    None,
    /// These vCPUs (`1-3`); each must exist.
    List(CpuSet),
    /// Every vCPU but these (`^0`, OpenStack Nova's `hw:cpu_realtime_mask`); naming a vCPU the guest
    /// does not have is allowed.
    AllBut(CpuSet),
}

impl RtVcpus {
    /// Returns the real-time vCPUs of a guest with `vcpus` vCPUs.
    pub fn resolve(&self, vcpus: u32) -> CpuSet {
        let vcpus = vcpus.min(MAX_VCPUS);
        match self {
            RtVcpus::All => (0..vcpus).collect(),
            RtVcpus::None => CpuSet::new(),
            RtVcpus::List(set) => set.iter().filter(|&v| v < vcpus).collect(),
            RtVcpus::AllBut(excluded) => (0..vcpus).filter(|&v| !excluded.contains(v)).collect(),
        }
    }
}

impl std::str::FromStr for RtVcpus {
    type Err = Error;

    /// Reads `all`, `none`, a list such as `1-3`, or an exclusion mask such as `^0`; an empty text is
    /// refused rather than taken to mean any of them.
    fn from_str(text: &str) -> Result<Self, Error> {
        let list = |t: &str| {
            t.parse::<CpuSet>().map_err(|source| Error::CpuList {
                what: "real-time vCPUs".into(),
                source,
            })
        };
        let text = text.trim();
        match text {
            "" => Err(Error::Setting(
                "real-time vCPUs: empty; write ^0 (every vCPU but 0), all, none or a list such as 1-3"
                    .into(),
            )),
            "all" => Ok(RtVcpus::All),
            "none" => Ok(RtVcpus::None),
            _ => match text.strip_prefix('^') {
                Some(excluded) => list(excluded).map(RtVcpus::AllBut),
                None => list(text).map(RtVcpus::List),
            },
        }
    }
}

impl fmt::Display for RtVcpus {
    /// Writes the form `FromStr` reads: `all`, `none`, `1-3` or `^0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtVcpus::All => f.write_str("all"),
            RtVcpus::None => f.write_str("none"),
            RtVcpus::List(set) => write!(f, "{set}"),
            RtVcpus::AllBut(set) => write!(f, "^{set}"),
        }
    }
}

/// The guest to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestSettings {
    /// The libvirt domain name.
    pub name: String,
    /// The number of vCPUs.
    pub vcpus: u32,
    /// The guest's RAM.
    pub memory: Kib,
    /// The host NUMA node; `None` picks the highest-numbered node the guest fits on.
    pub node: Option<u32>,
    /// The vCPUs given the real-time scheduler (default `^0`).
    pub rt_vcpus: RtVcpus,
    /// The real-time policy.
    pub scheduler: Scheduler,
    /// The real-time priority, 1 to 99.
    pub priority: u32,
    /// Where QEMU's emulator threads run.
    pub emulator: EmulatorPolicy,
    /// Where an existing domain already runs, when it is placed as real time needs: the plan keeps
    /// it there instead of choosing cores (read from the domain by `rtkvm apply` and `rtkvm plan
    /// --domain`; carried by share links from v7, so that they reproduce the plan; never in the form).
    pub keep: Option<Placement>,
}

/// Where an existing guest's vCPUs and emulator threads run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The host CPU of every vCPU: index = vCPU.
    pub vcpupin: Vec<u32>,
    /// The emulator threads' host CPUs.
    pub emulatorpin: CpuSet,
}

impl GuestSettings {
    /// Reads one guest as the CLI's `--guest` writes it: `key=value` pairs separated by commas
    /// (`name=plc-a,vcpus=4,memory=16G,node=1,rt=^0,priority=1,scheduler=fifo,emulator=share`);
    /// keys left out take the defaults. A cpulist's own commas stay with its key (`rt=1-2,4`).
    pub fn from_spec(spec: &str) -> Result<GuestSettings, Error> {
        let bad = |why: String| Error::Setting(format!("guest '{spec}': {why}"));
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in spec.split(',') {
            match part.split_once('=') {
                Some((key, value)) => pairs.push((key.trim().to_string(), value.to_string())),
                // The rest of a cpulist (`rt=1-2,4`).
                None => match pairs.last_mut() {
                    Some((_, value)) if !part.trim().is_empty() => {
                        value.push(',');
                        value.push_str(part);
                    }
                    _ => {
                        return Err(bad(format!(
                            "'{part}' is not key=value (keys: name, vcpus, memory, node, rt, priority, scheduler, emulator)"
                        )))
                    }
                },
            }
        }
        let mut g = GuestSettings::default();
        let mut seen = std::collections::BTreeSet::new();
        for (key, value) in pairs {
            if !seen.insert(key.clone()) {
                return Err(bad(format!("{key} is given twice")));
            }
            let number = |what: &str| {
                value
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| bad(format!("{what} '{value}' is not a whole number")))
            };
            match key.as_str() {
                "name" => g.name = value,
                "vcpus" => g.vcpus = number("vcpus")?,
                "memory" => {
                    g.memory = value
                        .parse()
                        .map_err(|e: crate::units::SizeError| bad(e.to_string()))?
                }
                "node" if value.trim() == "auto" => g.node = None,
                "node" => g.node = Some(number("node")?),
                "rt" => g.rt_vcpus = value.parse().map_err(|e: Error| bad(e.to_string()))?,
                "priority" => g.priority = number("priority")?,
                "scheduler" => g.scheduler = Scheduler::from_name(&value).map_err(|e| bad(e.to_string()))?,
                "emulator" => {
                    g.emulator = EmulatorPolicy::from_name(&value).map_err(|e| bad(e.to_string()))?
                }
                "page-size" => {
                    return Err(bad(
                        "the huge page size is the host's (--page-size): every guest is backed by the pages the host reserves"
                            .into(),
                    ))
                }
                other => {
                    return Err(bad(format!(
                        "unknown key '{other}' (keys: name, vcpus, memory, node, rt, priority, scheduler, emulator)"
                    )))
                }
            }
        }
        Ok(g)
    }
}

/// Which memory the host reserves as huge pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Reserve {
    /// Every node's memory beyond what the host keeps, so that more guests can start later without
    /// a reboot (OpenShift's and Nova's hosts are sized this way).
    #[default]
    All,
    /// Exactly the guest's pages, on its node, and none elsewhere: the rest stays normal memory for
    /// the host and guests without huge pages.
    Guest,
}

impl Named for Reserve {
    const ALL: &'static [Reserve] = &[Reserve::All, Reserve::Guest];
    const SETTING: &'static str = "huge page reservation";
    const KIND: &'static str = "a reservation";

    fn as_str(self) -> &'static str {
        match self {
            Reserve::All => "all",
            Reserve::Guest => "guest",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Reserve::All => "all memory beyond the host's",
            Reserve::Guest => "only the guest's",
        }
    }
}

impl std::str::FromStr for Reserve {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Reserve::from_name(text)
    }
}

/// Where QEMU's emulator threads run, as OpenStack Nova's `hw:emulator_threads_policy` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum EmulatorPolicy {
    /// On the node's housekeeping CPUs, shared with the host.
    #[default]
    Share,
    /// On an isolated core of their own, taken from the node's isolated cores (one more than the
    /// vCPUs), for the strictest guests.
    Isolate,
}

impl Named for EmulatorPolicy {
    const ALL: &'static [EmulatorPolicy] = &[EmulatorPolicy::Share, EmulatorPolicy::Isolate];
    const SETTING: &'static str = "emulator threads";
    const KIND: &'static str = "a policy";

    fn as_str(self) -> &'static str {
        match self {
            EmulatorPolicy::Share => "share",
            EmulatorPolicy::Isolate => "isolate",
        }
    }

    fn label(self) -> &'static str {
        match self {
            EmulatorPolicy::Share => "on the node's housekeeping CPUs",
            EmulatorPolicy::Isolate => "on an isolated core of their own",
        }
    }
}

impl std::str::FromStr for EmulatorPolicy {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        EmulatorPolicy::from_name(text)
    }
}

impl Default for GuestSettings {
    fn default() -> Self {
        GuestSettings {
            name: "rt-guest".into(),
            vcpus: 4,
            memory: Kib::gib(16),
            node: None,
            rt_vcpus: RtVcpus::AllBut(CpuSet::from_iter([0])),
            scheduler: Scheduler::Fifo,
            priority: 1,
            emulator: EmulatorPolicy::Share,
            keep: None,
        }
    }
}

/// The most vCPUs a plan accepts (libvirt's own limit for KVM is in the thousands; no real-time guest
/// comes near it).
pub const MAX_VCPUS: u32 = 1024;

/// The longest guest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The most guests one plan places on a host.
pub const MAX_GUESTS: usize = 64;

impl Settings {
    /// Returns the host's default settings with these guests, the first one first, or `None` when
    /// there is no guest.
    pub fn with_guests(guests: impl IntoIterator<Item = GuestSettings>) -> Option<Settings> {
        let mut guests = guests.into_iter();
        Some(Settings {
            guest: guests.next()?,
            others: guests.collect(),
            ..Settings::default()
        })
    }

    /// Returns every guest, the first one first.
    pub fn guests(&self) -> impl Iterator<Item = &GuestSettings> {
        std::iter::once(&self.guest).chain(&self.others)
    }

    /// Returns the highest real-time priority of any guest, which the host's kernel threads must
    /// stay above.
    pub fn highest_priority(&self) -> u32 {
        self.guests().map(|g| g.priority).max().unwrap_or(1)
    }

    /// Checks every setting on its own, before the host is looked at.
    pub fn validate(&self) -> Result<(), Error> {
        let h = &self.host;
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
        if h.spare.0 > 0 && h.reserve == Reserve::All {
            return Err(Error::Setting(format!(
                "spare huge pages ({}) are kept only with the guest's reservation (--reserve guest): reserving all memory beyond the host's leaves every page the guest does not use spare already",
                h.spare
            )));
        }
        if h.spare.0 > 1024 * 1024 * GIB_KIB {
            return Err(Error::Setting(format!(
                "spare huge pages {} are more than 1 PiB",
                h.spare
            )));
        }
        if h.host_memory.0 > 1024 * 1024 * GIB_KIB {
            return Err(Error::Setting(format!(
                "host memory per node {} is more than 1 PiB",
                h.host_memory
            )));
        }
        if self.others.len() + 1 > MAX_GUESTS {
            return Err(Error::Setting(format!(
                "{} guests: one plan places at most {MAX_GUESTS}",
                self.others.len() + 1
            )));
        }
        let mut names = std::collections::BTreeSet::new();
        let several = !self.others.is_empty();
        for g in self.guests() {
            validate_guest(g).map_err(|e| match e {
                Error::Setting(why) if several => {
                    Error::Setting(format!("guest {}: {why}", g.name))
                }
                other => other,
            })?;
            if !names.insert(g.name.as_str()) {
                return Err(Error::Setting(format!(
                    "two guests are named '{}': each guest needs a name of its own (its domain name)",
                    g.name
                )));
            }
        }
        Ok(())
    }
}

/// Checks one guest's own settings: its name, vCPUs, memory, priority and real-time vCPUs.
fn validate_guest(g: &GuestSettings) -> Result<(), Error> {
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
    if let RtVcpus::List(rt) = &g.rt_vcpus {
        if let Some(bad) = rt.iter().find(|&v| v >= g.vcpus) {
            return Err(Error::Setting(format!(
                "real-time vCPUs name vCPU {bad}, but the guest has vCPUs 0-{} only",
                g.vcpus - 1
            )));
        }
    }
    Ok(())
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
