//! `rtkvm`: the command-line face of rtkvm-core. It reads `virsh capabilities`, applies the flags as
//! settings and prints one output; all logic lives in the library.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use rtkvm_core::apply::Given;
use rtkvm_core::caps::MAX_INPUT_BYTES;
use rtkvm_core::check::{check, HostContext};
use rtkvm_core::existing::{parse_domain, DomainFacts};
use rtkvm_core::json::{JsonApply, JsonCheck, JsonPlan};
use rtkvm_core::plan::KthreadPriorities;
use rtkvm_core::settings::{
    EmulatorPolicy, GuestSettings, HostSettings, Kernel, KernelType, PageSize, Preset, Recipe,
    Reserve, RtVcpus, Scheduler,
};
use rtkvm_core::units::Kib;
use rtkvm_core::{CpuSet, Error, Host, Settings};

/// Plans real-time KVM guests from `virsh capabilities`.
#[derive(Parser)]
#[command(name = "rtkvm", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plans the host partition and a guest, and prints one output.
    ///
    /// Exit status: 0 with a plan (warnings go into the output), 2 with `error: …` on standard error for
    /// bad input or an impossible request.
    Plan(PlanArgs),
    /// Checks an existing domain (`virsh dumpxml NAME`) for real-time mistakes.
    ///
    /// Every finding has a stable code, its element and line, why it matters and the fix. With --caps,
    /// also against the host: the pinned CPUs exist, are isolated and on which node; the host has the
    /// page size. Exit status: 0 when clean, 1 with findings, 2 when the input cannot be read.
    Check(CheckArgs),
    /// Patches an existing domain with the plan, keeping everything rtkvm does not own.
    ///
    /// Prints the same domain with the plan's memory, vCPUs, pinning, scheduling, NUMA binding, huge
    /// pages, CPU model, PMU and device removals; disks, interfaces, uuid, metadata, comments and
    /// everything else stay as they were. What changed goes to standard error. With --guest, the
    /// plan has several guests and the domain gets its own guest's (the one named like it, or the
    /// one a bare --guest NAME chooses). Exit status: 0 with a patched domain, 2 when the input
    /// cannot be read or the plan cannot be made.
    Apply(ApplyArgs),
    /// Reads the output of rtkvm-check.sh (`--format check-script`) run on the host, and prints the
    /// plan's checklist: each check with what it found, what the plan expects and what to do.
    ///
    /// The plan is the one the script was made for: the same capabilities and flags, or its share
    /// link (--link). A report of another plan or format is refused. Exit status: 0 when every check
    /// passed, 1 with failures, 2 when the report or the plan cannot be read.
    Verify(VerifyArgs),
    /// Prints the built-in example host (the one of libvirt's real-time guide) as `virsh capabilities`.
    Example,
}

#[derive(clap::Args)]
struct PlanArgs {
    /// The saved output of `virsh capabilities`; `-` or nothing reads standard input.
    file: Option<PathBuf>,
    /// A plan's share link (`#v7.…`, as the app's Copy link or --format link give it), instead of
    /// FILE and the flags: the same plan, to print in any format (the host's capabilities are in
    /// the link).
    #[arg(long, value_name = "LINK", conflicts_with_all = ["file", "domains"])]
    link: Option<String>,
    #[command(flatten)]
    flags: Flags,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The directory `--format bundle` writes every file into (made if missing).
    #[arg(long, value_name = "DIR", required_if_eq("format", "bundle"))]
    out: Option<PathBuf>,
    /// An existing domain (`virsh dumpxml NAME`) to plan as one of the guests (repeat it): its name,
    /// vCPUs and memory are read from it, and where it already runs as real time needs (each vCPU on
    /// an isolated core of its own, one node, emulator threads on housekeeping CPUs or alone on an
    /// isolated core) it is kept there and the other guests are placed around it. With --guest, the
    /// guests are in the order given on the command line; the one-guest flags do not mix with it
    /// (rtkvm apply --node or --vcpus moves a domain).
    #[arg(long = "domain", value_name = "FILE")]
    domains: Vec<PathBuf>,
}

/// Where one guest of `rtkvm plan` comes from: the index of its `--guest` or of its `--domain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Spec(usize),
    Domain(usize),
}

/// Returns the guests of `rtkvm plan` in the order given on the command line, `--guest` and
/// `--domain` mixed.
fn plan_order(matches: Option<&ArgMatches>) -> Vec<Source> {
    let Some(matches) = matches else {
        return Vec::new();
    };
    let mut order: Vec<(usize, Source)> = Vec::new();
    if let Some(at) = matches.indices_of("guests") {
        order.extend(at.enumerate().map(|(i, at)| (at, Source::Spec(i))));
    }
    if let Some(at) = matches.indices_of("domains") {
        order.extend(at.enumerate().map(|(i, at)| (at, Source::Domain(i))));
    }
    order.sort_by_key(|(at, _)| *at);
    order.into_iter().map(|(_, source)| source).collect()
}

/// The settings flags given on the command line (as their long names), not those at their default.
fn flags_given(matches: Option<&ArgMatches>) -> Vec<String> {
    let Some(matches) = matches else {
        return Vec::new();
    };
    matches
        .ids()
        .map(|id| id.as_str())
        .filter(|id| !matches!(*id, "file" | "link" | "format" | "out"))
        .filter(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        .map(|id| match id {
            "guests" => "guest".to_string(),
            id => id.replace('_', "-"),
        })
        .collect()
}

/// The settings of a plan, shared by `plan`, `check` and `apply`.
#[derive(clap::Args)]
struct Flags {
    /// The guest's vCPU count [default: 4; check and apply: the domain's].
    #[arg(long)]
    vcpus: Option<u32>,
    /// The guest's memory, with a unit: 16G, 1536M [default: 16G; check and apply: the domain's,
    /// rounded up to whole huge pages].
    #[arg(long, value_parser = parse_size)]
    memory: Option<Kib>,
    /// The host NUMA node for the guest [default: the highest-numbered node it fits on; check and
    /// apply: the node the domain's memory is bound to].
    #[arg(long)]
    node: Option<u32>,
    /// Logical CPUs kept for the host on each node: whole cores, in the order of their lowest CPU id,
    /// until they hold this many (recipes 1 and 2: the lowest ids, grown to whole cores).
    #[arg(long, default_value_t = 2)]
    host_cpus: u32,
    /// An explicit list of housekeeping CPUs (e.g. 0-1,8-9), instead of --host-cpus.
    #[arg(long, value_name = "LIST", value_parser = parse_cpulist)]
    housekeeping: Option<CpuSet>,
    /// Memory kept for the host on each node as normal pages.
    #[arg(long, default_value = "6G", value_parser = parse_size)]
    host_memory: Kib,
    /// The huge page size: auto (1G where supported, else 2M), 1G, 2M, …
    #[arg(long, default_value = "auto", value_parser = parse_page_size)]
    page_size: PageSize,
    /// Which memory becomes huge pages: all (every node's memory beyond --host-memory, so that more
    /// guests can start without a reboot) or guest (exactly the guest's pages, on its node).
    #[arg(long, value_enum, default_value = "all")]
    reserve: Reserve,
    /// With --reserve guest: more huge pages on the guest's node beyond its own (e.g. 8G), kept spare
    /// for guests started later without a reboot [default: none].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    spare: Option<Kib>,
    /// The guest's libvirt name [default: rt-guest; apply keeps the domain's].
    #[arg(long)]
    name: Option<String>,
    /// The vCPUs given the real-time scheduler: Nova's mask (^0 = all but vCPU 0, which stays the
    /// guest's housekeeping vCPU), a list (1-3), none, or all (libvirt's guide: no housekeeping vCPU).
    /// [default: ^0]
    #[arg(long, value_name = "LIST", value_parser = parse_rt_vcpus)]
    rt_vcpus: Option<RtVcpus>,
    /// The real-time scheduler policy [default: fifo].
    #[arg(long, value_enum)]
    scheduler: Option<Scheduler>,
    /// The real-time priority, 1 to 99 [default: 1].
    #[arg(long)]
    priority: Option<u32>,
    /// Where QEMU's emulator threads run: share (the node's housekeeping CPUs) or isolate (an
    /// isolated core of their own, one more than the vCPUs; Nova's hw:emulator_threads_policy)
    /// [default: share].
    #[arg(long, value_enum)]
    emulator: Option<EmulatorPolicy>,
    /// One guest of several planned together on the host (repeat it; plan, apply and verify),
    /// written as name=plc-a,vcpus=4,memory=16G,node=1,rt=^0,priority=1,scheduler=fifo,emulator=share;
    /// keys left out take the defaults of the one-guest flags, which it replaces. In apply, the guest
    /// named like the domain patches it, its vCPUs, memory and node the domain's unless its --guest
    /// gives them; a bare name (--guest plc-b) chooses another.
    #[arg(long = "guest", value_name = "SPEC", value_parser = parse_guest)]
    guests: Vec<GuestArg>,
    /// The kernel parameters to emit.
    #[arg(long, value_enum, default_value = "full")]
    preset: Preset,
    /// The host's kernel: 5.16 (5.16 or newer), rhel9 (5.14), rhel8 (4.18) or older (before 5.6).
    /// Recipe 3 writes only what that kernel takes.
    #[arg(long, value_enum, default_value = "5.16")]
    kernel: Kernel,
    /// Whether the host's kernel is PREEMPT_RT (rt) or not (generic).
    #[arg(long, value_enum, default_value = "rt")]
    kernel_type: KernelType,
    /// The recipe revision: 4 (the qualified real-time host: stalld, IOMMU, RT kernel checked,
    /// 2026-12), 3 (production real-time guest and host, 2026-11), 2 (the guest only) or 1 (libvirt's
    /// guide, as rtkvm first wrote it). A share link keeps the revision it was made with.
    #[arg(long, value_name = "N", default_value = "4", value_parser = parse_recipe)]
    recipe: Recipe,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The domain XML (`virsh dumpxml NAME`); `-` or nothing reads standard input.
    domain: Option<PathBuf>,
    /// The host's `virsh capabilities`, to also check the domain against the host and the partition
    /// rtkvm plans for it with the flags below.
    #[arg(long, value_name = "FILE")]
    caps: Option<PathBuf>,
    #[command(flatten)]
    flags: Flags,
    /// What to print.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    /// One finding per paragraph: place, code, what, why and the fix.
    Text,
    /// Every finding as one JSON object (docs/check.schema.json).
    Json,
}

#[derive(clap::Args)]
struct ApplyArgs {
    /// The domain XML (`virsh dumpxml NAME`); `-` or nothing reads standard input.
    domain: Option<PathBuf>,
    /// The host's `virsh capabilities`.
    #[arg(long, value_name = "FILE")]
    caps: PathBuf,
    #[command(flatten)]
    flags: Flags,
    /// What to print: the patched domain (what was changed goes to standard error), or everything
    /// as one JSON object.
    #[arg(long, value_enum, default_value_t = ApplyFormat::Xml)]
    format: ApplyFormat,
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// The output of rtkvm-check.sh; `-` or nothing reads standard input.
    report: Option<PathBuf>,
    /// The host's `virsh capabilities` the plan was made from.
    #[arg(long, value_name = "FILE", required_unless_present = "link")]
    caps: Option<PathBuf>,
    /// The plan's share link (`#v7.…`), instead of --caps and the flags.
    #[arg(long, value_name = "LINK", conflicts_with = "caps")]
    link: Option<String>,
    #[command(flatten)]
    flags: Flags,
}

#[derive(Clone, Copy, ValueEnum)]
enum ApplyFormat {
    /// The patched domain XML.
    Xml,
    /// A unified diff from the domain to the patched domain (`patch -p1` applies it).
    Diff,
    /// The patched domain, the changes, the plan's warnings and what the check still finds, as JSON.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A readable summary.
    Text,
    /// The whole plan as one JSON object.
    Json,
    /// The libvirt domain XML.
    Xml,
    /// The kernel command line addition.
    Cmdline,
    /// The huge page script: hugepages.sh, or from recipe 3 on rtkvm-host.sh (huge pages, kernel
    /// threads, CPU frequency and irqbalance at every boot).
    Hugepages,
    /// The host's sysctl settings, for /etc/sysctl.d/90-rtkvm-realtime.conf (recipe 3 on).
    Sysctl,
    /// tuned-host.sh: applies the host with tuned's realtime-virtual-host profile (recipe 3 on).
    Tuned,
    /// rtkvm-host.service: runs rtkvm-host.sh at every boot, before irqbalance and libvirt (recipe 3 on).
    Unit,
    /// rtkvm-rtentsk.service: keeps network timestamping on where tuned does not (recipe 4 on).
    Rtentsk,
    /// rtkvm-check.sh: checks that the live host runs the plan (after the reboot, and with the guests
    /// running); `rtkvm verify` reads its output.
    CheckScript,
    /// Every file at once, with a README of the steps in order, into the directory --out.
    Bundle,
    /// The guest kernel command line: the real-time vCPUs isolated inside the guest.
    GuestCmdline,
    /// tuned's realtime-virtual-guest variables (/etc/tuned/realtime-virtual-guest-variables.conf).
    GuestTuned,
    /// guest-setup.sh: the RT kernel, tuned's profile and irqbalance, inside the guest.
    GuestSetup,
    /// latency-test.sh: cyclictest and oslat over the guest's real-time vCPUs.
    LatencyTest,
    /// The share-link fragment (starting with `#`) that opens this plan in the app.
    Link,
    /// The OpenShift Node Tuning Operator's PerformanceProfile for the host (YAML).
    Nto,
    /// A KubeVirt VirtualMachine per guest (YAML, one document each).
    Kubevirt,
    /// nova-flavors.sh: an OpenStack Nova flavor per guest (`openstack flavor create` and `set`).
    Nova,
    /// The compute host's nova.conf settings (cpu_dedicated_set, cpu_shared_set, …).
    NovaConf,
}

fn parse_size(text: &str) -> Result<Kib, String> {
    text.parse()
        .map_err(|e: rtkvm_core::units::SizeError| e.to_string())
}

fn parse_cpulist(text: &str) -> Result<CpuSet, String> {
    text.parse()
        .map_err(|e: rtkvm_core::cpuset::CpuListError| e.to_string())
}

fn parse_page_size(text: &str) -> Result<PageSize, String> {
    text.parse().map_err(|e: Error| e.to_string())
}

fn parse_recipe(text: &str) -> Result<Recipe, String> {
    text.parse().map_err(|e: Error| e.to_string())
}

/// A `--guest` value: a guest of the plan, or (in `rtkvm apply`) a bare name choosing one.
#[derive(Clone)]
enum GuestArg {
    /// `name=plc-a,vcpus=4,…`: a guest, and the keys its spec gives.
    Spec {
        guest: GuestSettings,
        keys: Vec<String>,
    },
    /// `plc-b`: the guest whose plan patches the domain (`rtkvm apply`).
    Name(String),
}

fn parse_guest(text: &str) -> Result<GuestArg, String> {
    if !text.contains('=') {
        let name = text.trim();
        if name.is_empty() {
            return Err("empty: write a guest as name=NAME,vcpus=N,memory=SIZE[,…]".into());
        }
        return Ok(GuestArg::Name(name.to_string()));
    }
    let guest = GuestSettings::from_spec(text).map_err(|e| e.to_string())?;
    let keys = text
        .split(',')
        .filter_map(|part| part.split_once('='))
        .map(|(key, _)| key.trim().to_string())
        .collect();
    Ok(GuestArg::Spec { guest, keys })
}

fn parse_rt_vcpus(text: &str) -> Result<RtVcpus, String> {
    text.parse().map_err(|e: Error| e.to_string())
}

fn read_input(file: Option<&PathBuf>, what: &str) -> Result<Vec<u8>, String> {
    let limit = MAX_INPUT_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    match file.filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            let f = std::fs::File::open(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            f.take(limit)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(if what == "domain" {
                    "no domain given: run `virsh dumpxml NAME | rtkvm check` or `rtkvm check FILE`"
                        .into()
                } else {
                    "no capabilities given: run `virsh capabilities | rtkvm plan` or `rtkvm plan FILE` (try `rtkvm example | rtkvm plan`)".into()
                });
            }
            stdin
                .lock()
                .take(limit)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
        }
    }
    Ok(bytes)
}

impl Flags {
    /// The settings these flags give, with the documented defaults for what was not given. The
    /// one-guest flags and `--guest` do not mix.
    fn settings(&self) -> Result<Settings, String> {
        if let Some(name) = self.chosen()? {
            return Err(format!(
                "--guest {name}: write a guest as --guest name={name},vcpus=N,memory=SIZE[,…]; a bare name chooses which guest's plan patches the domain, in rtkvm apply"
            ));
        }
        self.settings_of(self.specs().cloned().collect(), "--guest")
    }

    /// The guests of the `--guest` specs, in the order given.
    fn specs(&self) -> impl Iterator<Item = &GuestSettings> {
        self.guests.iter().filter_map(|g| match g {
            GuestArg::Spec { guest, .. } => Some(guest),
            GuestArg::Name(_) => None,
        })
    }

    /// The guest a bare `--guest NAME` chooses, given once at most.
    fn chosen(&self) -> Result<Option<&str>, String> {
        let mut names = self.guests.iter().filter_map(|g| match g {
            GuestArg::Name(name) => Some(name.as_str()),
            GuestArg::Spec { .. } => None,
        });
        let first = names.next();
        if let Some(second) = names.next() {
            return Err(format!(
                "--guest {} and --guest {second}: a bare name chooses the one guest whose plan patches the domain; give one",
                first.expect("a first before a second")
            ));
        }
        Ok(first)
    }

    /// The settings of these guests (none: the one guest of the one-guest flags) with the host
    /// flags. `via` names the flag that gave the guests, for the message that refuses the one-guest
    /// flags beside it.
    fn settings_of(&self, guests: Vec<GuestSettings>, via: &str) -> Result<Settings, String> {
        let defaults = GuestSettings::default();
        if !guests.is_empty() {
            let given = [
                ("--vcpus", self.vcpus.is_some()),
                ("--memory", self.memory.is_some()),
                ("--node", self.node.is_some()),
                ("--name", self.name.is_some()),
                ("--rt-vcpus", self.rt_vcpus.is_some()),
                ("--scheduler", self.scheduler.is_some()),
                ("--priority", self.priority.is_some()),
                ("--emulator", self.emulator.is_some()),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, given)| *given) {
                return Err(if via == "--guest" {
                    format!(
                        "{flag} is a one-guest flag and does not mix with --guest: write every guest, the first one too, as --guest name=NAME,vcpus=N,memory=SIZE[,node=N,rt=LIST,priority=N,scheduler=fifo|rr,emulator=share|isolate]"
                    )
                } else {
                    format!(
                        "{flag} is a one-guest flag and does not mix with --domain: a domain's vCPUs, memory and name are its own (rtkvm apply --node or --vcpus changes them), and the other guests are written as --guest name=NAME,vcpus=N,memory=SIZE[,…]"
                    )
                });
            }
            let mut guests = guests.into_iter();
            let mut settings = self.settings_with(guests.next().expect("not empty"));
            settings.others = guests.collect();
            return Ok(settings);
        }
        Ok(self.settings_with(GuestSettings {
            name: self.name.clone().unwrap_or(defaults.name),
            vcpus: self.vcpus.unwrap_or(defaults.vcpus),
            memory: self.memory.unwrap_or(defaults.memory),
            node: self.node,
            rt_vcpus: self.rt_vcpus.clone().unwrap_or(defaults.rt_vcpus),
            scheduler: self.scheduler.unwrap_or(defaults.scheduler),
            priority: self.priority.unwrap_or(defaults.priority),
            emulator: self.emulator.unwrap_or(defaults.emulator),
            keep: None,
        }))
    }

    /// The host settings of the flags with this first guest.
    fn settings_with(&self, guest: GuestSettings) -> Settings {
        Settings {
            recipe: self.recipe,
            host: HostSettings {
                host_cpus: self.host_cpus,
                housekeeping: self.housekeeping.clone(),
                host_memory: self.host_memory,
                page_size: self.page_size,
                preset: self.preset,
                kernel: self.kernel,
                kernel_type: self.kernel_type,
                reserve: self.reserve,
                spare: self.spare.unwrap_or(Kib(0)),
            },
            guest,
            others: Vec::new(),
        }
    }

    /// The guests of `rtkvm plan` in the order given (`--guest` and `--domain`), with the host flags,
    /// and the notes about each domain (kept where it runs, memory rounded up).
    fn plan_settings(
        &self,
        host: &Host,
        domains: &[PathBuf],
        order: &[Source],
        stdin_taken: bool,
    ) -> Result<(Settings, Vec<String>), String> {
        if domains.is_empty() {
            return Ok((self.settings()?, Vec::new()));
        }
        // Checked before the guests are taken by their index among the --guest values.
        self.settings()?;
        let mut guests = Vec::new();
        let mut notes = Vec::new();
        // Which flag gave each name, for the message about a name given twice.
        let mut named: Vec<(String, String)> = Vec::new();
        for source in order {
            let (guest, from) = match *source {
                Source::Spec(i) => match &self.guests[i] {
                    GuestArg::Spec { guest, .. } => {
                        (guest.clone(), format!("--guest name={}", guest.name))
                    }
                    GuestArg::Name(_) => unreachable!("settings() refused bare names"),
                },
                Source::Domain(i) => {
                    let path = &domains[i];
                    if stdin_taken && path.as_os_str() == "-" {
                        return Err("--domain -: standard input holds the capabilities already; give the domain as a file".into());
                    }
                    let (guest, domain_notes) = self.domain_guest(path, host)?;
                    notes.extend(domain_notes);
                    (guest, format!("--domain {}", path.display()))
                }
            };
            if let Some((_, first)) = named.iter().find(|(name, _)| *name == guest.name) {
                return Err(format!(
                    "two guests are named '{}' ({first} and {from}): each guest needs a name of its own, its domain's name",
                    guest.name
                ));
            }
            named.push((guest.name.clone(), from));
            guests.push(guest);
        }
        Ok((self.settings_of(guests, "--domain")?, notes))
    }

    /// Reads an existing domain as a guest of the plan: its name, vCPUs and memory (rounded up to
    /// whole huge pages), and where it runs when it is placed as real time needs. Errors and notes
    /// name the file.
    fn domain_guest(
        &self,
        path: &PathBuf,
        host: &Host,
    ) -> Result<(GuestSettings, Vec<String>), String> {
        let (label, text) = read_domain(Some(path))?;
        let doc =
            parse_domain(&text).map_err(|e| format!("{label}: {}", for_plan(e.to_string())))?;
        let facts = DomainFacts::read(&doc);
        let mut one = self.settings_with(GuestSettings::default());
        let notes =
            rtkvm_core::apply::settings_for_domain(&facts, host, &mut one, Given::default())
                .map_err(|e| format!("{label}: {e}"))?;
        let notes = notes
            .into_iter()
            .map(|note| format!("{label} ({}): {}", facts.name, for_plan(note)))
            .collect();
        Ok((one.guest, notes))
    }

    /// The settings for an existing domain: the flags, and the domain's own values where no flag
    /// was given. Returns the notes about values that had to change.
    fn settings_for(
        &self,
        facts: &DomainFacts,
        host: &Host,
    ) -> Result<(Settings, Vec<String>), String> {
        if !self.guests.is_empty() {
            return Err("--guest plans several guests, with rtkvm plan and rtkvm apply; check takes one domain and the one-guest flags".into());
        }
        let mut settings = self.settings()?;
        let given = Given {
            vcpus: self.vcpus.is_some(),
            memory: self.memory.is_some(),
            node: self.node.is_some(),
            realtime: self.rt_vcpus.is_some()
                || self.scheduler.is_some()
                || self.priority.is_some(),
        };
        let notes = rtkvm_core::apply::settings_for_domain(facts, host, &mut settings, given)
            .map_err(|e| e.to_string())?;
        Ok((settings, notes))
    }

    /// The settings for patching an existing domain with one guest of a plan: without `--guest`,
    /// [`Flags::settings_for`]'s one guest; with it, every `--guest` guest, the one named like the
    /// domain (or by a bare `--guest NAME`, or the only one) completed from the domain as one guest
    /// is, where its spec does not give its vCPUs, memory or node. Returns the settings, the index
    /// of the domain's guest among them and the notes.
    fn settings_for_apply(
        &self,
        facts: &DomainFacts,
        host: &Host,
    ) -> Result<(Settings, usize, Vec<String>), String> {
        if self.guests.is_empty() {
            let (settings, notes) = self.settings_for(facts, host)?;
            return Ok((settings, 0, notes));
        }
        let chosen = self.chosen()?;
        let specs: Vec<(&GuestSettings, &[String])> = self
            .guests
            .iter()
            .filter_map(|g| match g {
                GuestArg::Spec { guest, keys } => Some((guest, keys.as_slice())),
                GuestArg::Name(_) => None,
            })
            .collect();
        let names: Vec<&str> = specs.iter().map(|(g, _)| g.name.as_str()).collect();
        if specs.is_empty() {
            return Err(format!(
                "--guest {}: a bare name chooses among the plan's guests; give them too, as --guest name=NAME,vcpus=N,memory=SIZE[,…]",
                chosen.unwrap_or_default()
            ));
        }
        let own = names.iter().position(|n| *n == facts.name);
        let index = match (chosen, own) {
            (Some(name), _) => {
                let Some(index) = names.iter().position(|n| *n == name) else {
                    return Err(format!(
                        "--guest {name} is not one of the plan's guests ({}): choose one of them",
                        names.join(", ")
                    ));
                };
                if own.is_some_and(|own| own != index) {
                    return Err(format!(
                        "the domain is {}, one of the plan's guests: patching it with {name}'s plan would give it {name}'s cores; leave --guest {name} out, or rename the domain",
                        facts.name
                    ));
                }
                index
            }
            (None, Some(own)) => own,
            (None, None) if names.len() == 1 => 0,
            (None, None) => {
                return Err(format!(
                    "the domain is named {}, which is none of the plan's guests ({}): choose its guest with --guest NAME",
                    facts.name,
                    names.join(", ")
                ))
            }
        };
        let mut settings =
            self.settings_of(specs.iter().map(|(g, _)| (*g).clone()).collect(), "--guest")?;
        let (guest, keys) = specs[index];
        let given = Given {
            vcpus: keys.iter().any(|k| k == "vcpus"),
            memory: keys.iter().any(|k| k == "memory"),
            node: keys.iter().any(|k| k == "node"),
            realtime: keys
                .iter()
                .any(|k| matches!(k.as_str(), "rt" | "scheduler" | "priority")),
        };
        // The domain's guest alone, as rtkvm apply completes one guest; then back in its place.
        let mut one = self.settings_with(guest.clone());
        let mut notes: Vec<String> =
            rtkvm_core::apply::settings_for_domain(facts, host, &mut one, given)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|note| {
                    note.replace(
                        "; --node or --vcpus moves it",
                        "; node= or vcpus= in its --guest moves it",
                    )
                })
                .collect();
        let slot = match index {
            0 => &mut settings.guest,
            i => &mut settings.others[i - 1],
        };
        *slot = one.guest;
        if names.len() > 1 {
            notes.insert(
                0,
                format!(
                    "patched with the plan of guest {}, one of {} ({})",
                    names[index],
                    names.len(),
                    names.join(", ")
                ),
            );
        }
        Ok((settings, index, notes))
    }
}

fn read_caps(path: &PathBuf) -> Result<Host, String> {
    let bytes = read_input(Some(path), "capabilities")?;
    rtkvm_core::parse_capabilities_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads and parses the domain; errors name the file.
fn read_domain(path: Option<&PathBuf>) -> Result<(String, String), String> {
    let bytes = read_input(path, "domain")?;
    let label = path
        .filter(|p| p.as_os_str() != "-")
        .map_or("<stdin>".to_string(), |p| p.display().to_string());
    let text = rtkvm_core::caps::decode(&bytes)
        .map_err(|e| format!("{label}: {e}"))?
        .to_string();
    Ok((label, text))
}

/// `rtkvm check`: returns the report and whether anything was found.
fn run_check(args: CheckArgs) -> Result<(String, bool), String> {
    let (label, text) = read_domain(args.domain.as_ref())?;
    let doc = parse_domain(&text).map_err(|e| format!("{label}: {e}"))?;
    let facts = DomainFacts::read(&doc);
    let host = args.caps.as_ref().map(read_caps).transpose()?;
    let (partition, ladder) = match &host {
        Some(host) => {
            let (settings, _) = args.flags.settings_for(&facts, host)?;
            let part = rtkvm_core::plan::partition(host, &settings).map_err(|e| e.to_string())?;
            (
                Some(part.host),
                Some(KthreadPriorities::above(settings.guest.priority)),
            )
        }
        None => (None, None),
    };
    let context = host
        .as_ref()
        .zip(partition.as_ref())
        .map(|(host, partition)| HostContext { host, partition });
    let report = check(&doc, context, ladder);
    let found = !report.findings.is_empty();
    let out = match args.format {
        CheckFormat::Text => rtkvm_core::report::check_report(&label, &report),
        CheckFormat::Json => to_json(&JsonCheck::new(&report))?,
    };
    Ok((out, found))
}

/// `rtkvm apply`: returns the patched domain (or JSON) and what goes to standard error.
fn run_apply(args: ApplyArgs) -> Result<(String, String), String> {
    let (label, text) = read_domain(args.domain.as_ref())?;
    let doc = parse_domain(&text).map_err(|e| format!("{label}: {e}"))?;
    let facts = DomainFacts::read(&doc);
    let host = read_caps(&args.caps)?;
    let (settings, index, notes) = args.flags.settings_for_apply(&facts, &host)?;
    let plan = rtkvm_core::plan(&host, &settings).map_err(|e| e.to_string())?;
    let guest = plan
        .guests()
        .nth(index)
        .expect("the domain's guest is planned");
    let applied = rtkvm_core::apply::apply_guest(&doc, &host, &plan, guest);
    let patched = parse_domain(&applied.xml)
        .map_err(|e| format!("the patched domain cannot be read back ({e}); please report this"))?;
    let context = HostContext {
        host: &host,
        partition: &plan.host,
    };
    let remaining = check(
        &patched,
        Some(context),
        Some(KthreadPriorities::above(settings.highest_priority())),
    );
    // Made only for the formats that print it.
    let diff = || applied.unified_diff(doc.text, &rtkvm_core::outputs::xml_file_name(&facts.name));
    Ok(match args.format {
        ApplyFormat::Xml | ApplyFormat::Diff => {
            let mut log = String::new();
            for note in &notes {
                log.push_str(&format!("rtkvm: {note}\n"));
            }
            if applied.changes.is_empty() {
                log.push_str(&format!(
                    "rtkvm: {label} already is as planned; nothing changed\n"
                ));
            }
            for change in &applied.changes {
                log.push_str(&format!("rtkvm: {label}: {change}\n"));
            }
            for w in &plan.warnings {
                log.push_str(&format!(
                    "rtkvm: warning[{}]: {}\n",
                    w.code.as_str(),
                    w.message
                ));
            }
            for f in &remaining.findings {
                log.push_str(&format!(
                    "rtkvm: still {}[{}]: {}\n",
                    f.severity.as_str(),
                    f.code.as_str(),
                    f.message
                ));
            }
            match args.format {
                ApplyFormat::Diff => (diff(), log),
                _ => (applied.xml, log),
            }
        }
        ApplyFormat::Json => (
            to_json(&JsonApply::new(
                &applied,
                &diff(),
                &notes,
                &plan,
                &remaining,
            ))?,
            String::new(),
        ),
    })
}

/// `rtkvm verify`: the plan's checklist from a report, and how many checks failed.
fn run_verify(args: VerifyArgs) -> Result<(String, usize), String> {
    let bytes = read_input(args.report.as_ref(), "report")?;
    let text = String::from_utf8_lossy(&bytes);
    let (host, settings) = match (&args.link, &args.caps) {
        (Some(link), _) => {
            let shared = rtkvm_core::link::decode_link(link).map_err(|e| e.to_string())?;
            (shared.host, shared.settings)
        }
        (None, Some(caps)) => (read_caps(caps)?, args.flags.settings()?),
        (None, None) => unreachable!("clap requires --caps or --link"),
    };
    let plan = rtkvm_core::plan(&host, &settings).map_err(|e| e.to_string())?;
    let outputs = rtkvm_core::outputs(&host, &plan);
    let report = rtkvm_core::verify::read_report(&text, &outputs).map_err(|e| e.to_string())?;
    let mut out = String::new();
    for line in &report.lines {
        out.push_str(&format!(
            "{} {}: found {}; expected {}\n",
            line.status.as_str(),
            line.check,
            line.found,
            line.expected
        ));
        if line.status == rtkvm_core::verify::Status::Fail {
            out.push_str(&format!("     what to do: {}\n", line.fix));
        }
    }
    out.push_str(&format!(
        "{} checks, {} failed\n",
        report.lines.len(),
        report.failures
    ));
    Ok((out, report.failures))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    let mut json = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    json.push('\n');
    Ok(json)
}

/// Rewrites the library's hints about flags of `rtkvm check` and `apply` for `rtkvm plan --domain`,
/// where the capabilities are the file argument and a domain is moved by `rtkvm apply`.
fn for_plan(message: String) -> String {
    message
        .replace(
            "(the host's capabilities go with --caps)",
            "(the host's capabilities are rtkvm plan's FILE)",
        )
        .replace(
            "; --node or --vcpus moves it",
            "; rtkvm apply --node or --vcpus moves it",
        )
        .replace(
            "; --rt-vcpus, --scheduler or --priority changes it",
            "; rtkvm apply --rt-vcpus, --scheduler or --priority changes it",
        )
        .replace(
            "; give it another node or vCPU count to move it",
            ": move it with rtkvm apply --node or --vcpus, or plan it as a --guest",
        )
}

/// `rtkvm plan`: returns the output and what goes to standard error (the notes about `--domain`s).
fn run(
    args: PlanArgs,
    order: &[Source],
    flags_given: &[String],
) -> Result<(String, String), String> {
    let (host, settings, notes) = if let Some(link) = &args.link {
        if let Some(flag) = flags_given.first() {
            return Err(format!(
                "--{flag} does not go with --link: the link holds the plan's settings (open it in the app to change them, or plan from the capabilities)"
            ));
        }
        let shared = rtkvm_core::link::decode_link(link).map_err(|e| e.to_string())?;
        (shared.host, shared.settings, Vec::new())
    } else {
        let bytes = read_input(args.file.as_ref(), "capabilities")?;
        let host = rtkvm_core::parse_capabilities_bytes(&bytes).map_err(|e| e.to_string())?;
        let stdin_taken = args.file.as_ref().is_none_or(|f| f.as_os_str() == "-");
        let (settings, notes) =
            args.flags
                .plan_settings(&host, &args.domains, order, stdin_taken)?;
        (host, settings, notes)
    };
    let log: String = notes.iter().map(|n| format!("rtkvm: {n}\n")).collect();
    let plan = rtkvm_core::plan(&host, &settings).map_err(|e| {
        // The notes say which domains were kept, which the error may be about.
        eprint!("{log}");
        for_plan(e.to_string())
    })?;
    let outputs = rtkvm_core::outputs(&host, &plan);
    let out = match args.format {
        Format::Text => rtkvm_core::report::text_report(&host, &plan, &outputs),
        Format::Json => to_json(&JsonPlan::new(&plan, &outputs))?,
        Format::Cmdline | Format::Hugepages | Format::Xml => {
            let [cmdline, hugepages, xml] = outputs.files();
            match args.format {
                Format::Cmdline => cmdline.content,
                Format::Hugepages => hugepages.content,
                _ => xml.content,
            }
        }
        Format::GuestCmdline | Format::GuestTuned | Format::GuestSetup | Format::LatencyTest => {
            let [cmdline, tuned, setup, latency] = outputs.guest_files();
            match args.format {
                Format::GuestCmdline => cmdline.content,
                Format::GuestTuned => tuned.content,
                Format::GuestSetup => setup.content,
                _ => latency.content,
            }
        }
        Format::Sysctl | Format::Tuned | Format::Unit | Format::Rtentsk => {
            let Some(setup) = &outputs.host_setup else {
                return Err(format!(
                    "recipe {} writes no sysctl file, tuned profile or boot unit; they are part of recipe 3 and later (--recipe 4)",
                    plan.recipe.number()
                ));
            };
            match args.format {
                Format::Sysctl => setup.sysctl.clone(),
                Format::Tuned => setup.tuned_script.clone(),
                Format::Rtentsk if setup.rtentsk_unit.is_empty() => {
                    return Err(format!(
                    "recipe {} writes no timestamping unit; it is part of recipe 4 (--recipe 4)",
                    plan.recipe.number()
                ))
                }
                Format::Rtentsk => setup.rtentsk_unit.clone(),
                _ => setup.unit.clone(),
            }
        }
        Format::CheckScript => rtkvm_core::verify::check_script(&plan, &outputs),
        Format::Link => format!("{}\n", rtkvm_core::link::encode_link(&host, &settings)),
        Format::Nto | Format::Kubevirt | Format::Nova | Format::NovaConf => {
            let exports = rtkvm_core::export::exports(&host, &plan, &outputs);
            let (target, text, warnings): (&str, String, Vec<&String>) = match args.format {
                Format::Nto => (
                    "nto",
                    exports.nto.content.clone(),
                    exports.nto.warnings.iter().collect(),
                ),
                Format::Kubevirt => (
                    "kubevirt",
                    exports.kubevirt_stream(),
                    exports.kubevirt.iter().flat_map(|e| &e.warnings).collect(),
                ),
                Format::Nova => (
                    "nova",
                    exports.nova_flavors.content.clone(),
                    exports.nova_flavors.warnings.iter().collect(),
                ),
                _ => (
                    "nova-conf",
                    exports.nova_conf.content.clone(),
                    exports.nova_conf.warnings.iter().collect(),
                ),
            };
            // The warnings are comments at the top of the output too.
            for w in warnings {
                eprintln!("rtkvm: warning[{target}]: {w}");
            }
            text
        }
        Format::Bundle => {
            let dir = args
                .out
                .as_ref()
                .expect("clap requires --out with --format bundle");
            let link = rtkvm_core::link::encode_link(&host, &settings);
            let files = rtkvm_core::bundle::bundle_with_exports(&host, &plan, &outputs, &link);
            write_bundle(dir, &files)?
        }
    };
    Ok((out, log))
}

/// Writes the bundle's files into `dir` (scripts executable) and returns the list of what was written.
fn write_bundle(
    dir: &std::path::Path,
    files: &[rtkvm_core::outputs::OutputFile],
) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut listing = String::new();
    for file in files {
        let path = dir.join(&file.name);
        // Several guests' files are in folders of their own.
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, &file.content)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        #[cfg(unix)]
        if file.name.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("cannot make {} executable: {e}", path.display()))?;
        }
        listing.push_str(&format!("{}\n", path.display()));
    }
    Ok(listing)
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Plan(args) => {
            let order = plan_order(matches.subcommand_matches("plan"));
            let given = flags_given(matches.subcommand_matches("plan"));
            run(args, &order, &given).map(|(out, log)| (out, log, 0))
        }
        Command::Check(args) => {
            run_check(args).map(|(out, found)| (out, String::new(), u8::from(found)))
        }
        Command::Apply(args) => run_apply(args).map(|(out, log)| (out, log, 0)),
        Command::Verify(args) => {
            run_verify(args).map(|(out, failures)| (out, String::new(), u8::from(failures > 0)))
        }
        Command::Example => Ok((
            rtkvm_core::EXAMPLE_CAPABILITIES.to_string(),
            String::new(),
            0,
        )),
    };
    match result {
        Ok((text, log, status)) => {
            eprint!("{log}");
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`rtkvm plan | head`) is not an error worth reporting.
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush());
            ExitCode::from(status)
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
