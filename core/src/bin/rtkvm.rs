//! `rtkvm`: the command-line face of rtkvm-core. It reads `virsh capabilities`, applies the flags as
//! settings and prints one output; all logic lives in the library.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use rtkvm_core::caps::MAX_INPUT_BYTES;
use rtkvm_core::json::JsonPlan;
use rtkvm_core::settings::{
    EmulatorPolicy, GuestSettings, HostSettings, Kernel, KernelType, PageSize, Preset, Recipe,
    RtVcpus, Scheduler,
};
use rtkvm_core::units::Kib;
use rtkvm_core::{CpuSet, Error, Settings};

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
    /// Prints the built-in example host (the one of libvirt's real-time guide) as `virsh capabilities`.
    Example,
}

#[derive(clap::Args)]
struct PlanArgs {
    /// The saved output of `virsh capabilities`; `-` or nothing reads standard input.
    file: Option<PathBuf>,
    /// The guest's vCPU count.
    #[arg(long, default_value_t = 4)]
    vcpus: u32,
    /// The guest's memory, with a unit: 16G, 1536M.
    #[arg(long, default_value = "16G", value_parser = parse_size)]
    memory: Kib,
    /// The host NUMA node for the guest [default: the highest-numbered node it fits on].
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
    /// The guest's libvirt name.
    #[arg(long, default_value = "rt-guest")]
    name: String,
    /// The vCPUs given the real-time scheduler: Nova's mask (^0 = all but vCPU 0, which stays the
    /// guest's housekeeping vCPU), a list (1-3), none, or all (libvirt's guide: no housekeeping vCPU).
    #[arg(long, value_name = "LIST", default_value = "^0", value_parser = parse_rt_vcpus)]
    rt_vcpus: RtVcpus,
    /// The real-time scheduler policy.
    #[arg(long, value_enum, default_value = "fifo")]
    scheduler: Scheduler,
    /// The real-time priority, 1 to 99.
    #[arg(long, default_value_t = 1)]
    priority: u32,
    /// Where QEMU's emulator threads run: share (the node's housekeeping CPUs) or isolate (an
    /// isolated core of their own, one more than the vCPUs; Nova's hw:emulator_threads_policy).
    #[arg(long, value_enum, default_value = "share")]
    emulator: EmulatorPolicy,
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
    /// The recipe revision: 3 (production real-time guest and host, 2026-11), 2 (the guest only) or
    /// 1 (libvirt's guide, as rtkvm first wrote it). A share link keeps the revision it was made with.
    #[arg(long, value_name = "N", default_value = "3", value_parser = parse_recipe)]
    recipe: Recipe,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The directory `--format bundle` writes every file into (made if missing).
    #[arg(long, value_name = "DIR", required_if_eq("format", "bundle"))]
    out: Option<PathBuf>,
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

fn parse_rt_vcpus(text: &str) -> Result<RtVcpus, String> {
    text.parse().map_err(|e: Error| e.to_string())
}

fn read_input(file: Option<&PathBuf>) -> Result<Vec<u8>, String> {
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
                return Err("no capabilities given: run `virsh capabilities | rtkvm plan` or `rtkvm plan FILE` (try `rtkvm example | rtkvm plan`)".into());
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

fn run(args: PlanArgs) -> Result<String, String> {
    let bytes = read_input(args.file.as_ref())?;
    let host = rtkvm_core::parse_capabilities_bytes(&bytes).map_err(|e| e.to_string())?;
    let settings = Settings {
        recipe: args.recipe,
        host: HostSettings {
            host_cpus: args.host_cpus,
            housekeeping: args.housekeeping,
            host_memory: args.host_memory,
            page_size: args.page_size,
            preset: args.preset,
            kernel: args.kernel,
            kernel_type: args.kernel_type,
        },
        guest: GuestSettings {
            name: args.name,
            vcpus: args.vcpus,
            memory: args.memory,
            node: args.node,
            rt_vcpus: args.rt_vcpus,
            scheduler: args.scheduler,
            priority: args.priority,
            emulator: args.emulator,
        },
    };
    let plan = rtkvm_core::plan(&host, &settings).map_err(|e| e.to_string())?;
    let outputs = rtkvm_core::outputs(&host, &plan);
    Ok(match args.format {
        Format::Text => rtkvm_core::report::text_report(&host, &plan, &outputs),
        Format::Json => {
            let json = JsonPlan::new(&plan, &outputs);
            let mut json = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
            json.push('\n');
            json
        }
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
        Format::Sysctl | Format::Tuned | Format::Unit => {
            let Some(setup) = &outputs.host_setup else {
                return Err(format!(
                    "recipe {} writes no sysctl file, tuned profile or boot unit; they are part of recipe 3 (--recipe 3)",
                    plan.recipe.number()
                ));
            };
            match args.format {
                Format::Sysctl => setup.sysctl.clone(),
                Format::Tuned => setup.tuned_script.clone(),
                _ => setup.unit.clone(),
            }
        }
        Format::Link => format!("{}\n", rtkvm_core::link::encode_link(&host, &settings)),
        Format::Bundle => {
            let dir = args
                .out
                .as_ref()
                .expect("clap requires --out with --format bundle");
            let link = rtkvm_core::link::encode_link(&host, &settings);
            let files = rtkvm_core::bundle::bundle(&plan, &outputs, &link);
            write_bundle(dir, &files)?
        }
    })
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
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan(args) => run(args),
        Command::Example => Ok(rtkvm_core::EXAMPLE_CAPABILITIES.to_string()),
    };
    match result {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`rtkvm plan | head`) is not an error worth reporting.
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
