//! Checking a live host against its plan: `rtkvm-check.sh`, which the host runs (after the reboot, and
//! again with the guests running), and the reader of its output, which shows the plan's checklist
//! with what to do for each check that failed. Only cpulists, numbers and fixed words go into the
//! script: a guest is found by its vCPUs' host CPUs, never by its name.

use crate::outputs::Outputs;
use crate::plan::Plan;
use crate::settings::{KernelType, Preset, Recipe, Scheduler};
use crate::template::render;
use crate::CpuSet;

/// The version of the report's format, in its first line (`rtkvm-check 1 recipe 4 plan …`).
pub const CHECK_FORMAT: u32 = 1;

/// Returns the plan's fingerprint, which the report carries so that a report of another plan is
/// refused: FNV-1a (64 bits) of the host's command line, its boot script and every domain XML.
pub fn plan_id(outputs: &Outputs) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |text: &str| {
        for byte in text.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(&outputs.kernel_cmdline);
    eat(&outputs.hugepages.script);
    eat(&outputs.domain_xml);
    for other in &outputs.others {
        eat(&other.domain_xml);
    }
    format!("{hash:016x}")
}

/// Writes `rtkvm-check.sh` for a plan.
pub fn check_script(plan: &Plan, outputs: &Outputs) -> String {
    let h = &plan.host;
    let k = h.kthreads;
    let full = h.preset == Preset::Full && plan.recipe >= Recipe::RealtimeHost;
    let rt = h.kernel_type == KernelType::Rt;
    let pages: Vec<String> = h
        .hugepages
        .iter()
        .map(|p| format!("pages {} {}", p.node, p.count))
        .collect();
    let sysctls: Vec<String> = outputs
        .host_setup
        .as_ref()
        .map(|s| {
            s.sysctl
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .filter_map(|l| l.split_once('='))
                .map(|(key, value)| format!("sysctl_is {} {}", key.trim(), value.trim()))
                .collect()
        })
        .unwrap_or_default();
    let guests: Vec<String> = plan
        .guests()
        .enumerate()
        .map(|(i, g)| {
            let pins: Vec<String> = g.vcpupin.iter().map(u32::to_string).collect();
            let rt: Vec<String> = g.rt_vcpus.iter().map(|v| v.to_string()).collect();
            let policy = match g.scheduler {
                Scheduler::Fifo => 1,
                Scheduler::Rr => 2,
            };
            format!(
                "guest {} \"{}\" \"{}\" {policy} {} {}",
                i + 1,
                pins.join(" "),
                rt.join(" "),
                g.priority,
                g.emulatorpin
            )
        })
        .collect();
    let nohz = outputs
        .kernel_params
        .iter()
        .any(|p| p.param.starts_with("nohz_full="));
    let params: Vec<&str> = outputs
        .kernel_params
        .iter()
        .map(|p| p.param.as_str())
        .collect();
    render(
        include_str!("templates/rtkvm-check.sh"),
        &[
            ("RECIPE", &plan.recipe.number().to_string()),
            ("PLAN_ID", &plan_id(outputs)),
            ("ISOLATED", &h.isolcpus.to_string()),
            ("HOUSEKEEPING", &h.housekeeping.to_string()),
            ("CMDLINE", &params.join(" ")),
            ("SIZE_KB", &h.page_size_kib.to_string()),
            ("PAGES", &pages.join("\n")),
            ("SYSCTLS", &sysctls.join("\n")),
            ("KSOFTIRQD_PRIO", &k.ksoftirqd.to_string()),
            ("KTIMERS_PRIO", &k.ktimers.to_string()),
            ("RCU_PRIO", &k.rcu.to_string()),
            ("STALLD_PRIO", &k.stalld().to_string()),
            ("GUESTS", &guests.join("\n")),
            (
                "VCPU_CPUS",
                &plan
                    .guests()
                    .flat_map(|g| g.vcpupin.iter().copied())
                    .collect::<CpuSet>()
                    .to_string(),
            ),
        ],
        |section| match section {
            "nohz" => nohz,
            "sysctl" => !sysctls.is_empty(),
            "rt" => rt,
            "full" => full,
            "fullrt" => full && rt,
            "stalld" => full && plan.recipe >= Recipe::Qualified,
            other => panic!("unknown section %{other}% in templates/rtkvm-check.sh"),
        },
    )
}

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// As the plan says.
    Pass,
    /// Not as the plan says.
    Fail,
    /// Not checked (a guest that does not run, a file the kernel does not have).
    Skip,
}

impl Status {
    /// Returns the word the script prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    /// The result.
    pub status: Status,
    /// What was checked (`cmdline nohz_full=2-7`, `hugepages node 1`, `guest 2 vCPU 0`).
    pub check: String,
    /// What the host showed.
    pub found: String,
    /// What the plan expects.
    pub expected: String,
    /// What to do when it failed, in a sentence.
    pub fix: &'static str,
}

/// A report read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Every check, in the script's order.
    pub lines: Vec<CheckLine>,
    /// How many failed.
    pub failures: usize,
}

/// The most lines a report is read for (a host with thousands of CPUs prints a few hundred).
const MAX_LINES: usize = 100_000;

/// Why a pasted report is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Its first line is not `rtkvm-check.sh`'s header.
    NotAReport,
    /// The header names another format version (as pasted, shortened).
    OtherFormat {
        /// The version the header names.
        found: String,
    },
    /// The header names another plan's fingerprint (as pasted, shortened).
    OtherPlan {
        /// The fingerprint the header names.
        found: String,
        /// This plan's fingerprint ([`plan_id`]).
        ours: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotAReport => f.write_str(
                "this is not the output of rtkvm-check.sh: its first line is 'rtkvm-check 1 recipe N plan ID'",
            ),
            Refusal::OtherFormat { found } => write!(
                f,
                "this report is in format {found}; this rtkvm reads format {CHECK_FORMAT}: run the rtkvm-check.sh of this plan"
            ),
            Refusal::OtherPlan { found, ours } => write!(
                f,
                "this report checks another plan ({found}); this plan is {ours}: run this plan's rtkvm-check.sh, or open the plan the report was made for"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// Reads the output of `rtkvm-check.sh` for this plan: refuses anything else, a report of another
/// format version and a report of another plan, each with a [`Refusal`] that says so.
pub fn read_report(text: &str, outputs: &Outputs) -> Result<CheckReport, Refusal> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let header = lines.next().unwrap_or_default();
    let words: Vec<&str> = header.split_whitespace().collect();
    let [magic, version, "recipe", _, "plan", id] = words[..] else {
        return Err(Refusal::NotAReport);
    };
    if magic != "rtkvm-check" {
        return Err(Refusal::NotAReport);
    }
    if version != CHECK_FORMAT.to_string() {
        return Err(Refusal::OtherFormat {
            found: shown(version),
        });
    }
    let ours = plan_id(outputs);
    if id != ours {
        return Err(Refusal::OtherPlan {
            found: shown(id),
            ours,
        });
    }
    let mut checks = Vec::new();
    for line in lines.take(MAX_LINES) {
        if line.starts_with("rtkvm-check end:") {
            break;
        }
        let Some((status, rest)) = line.split_once(' ') else {
            continue;
        };
        let status = match status {
            "PASS" => Status::Pass,
            "FAIL" => Status::Fail,
            "SKIP" => Status::Skip,
            _ => continue,
        };
        let mut parts = rest.splitn(3, " | ");
        let check = parts.next().unwrap_or_default().to_string();
        let found = parts
            .next()
            .and_then(|p| p.strip_prefix("found: "))
            .unwrap_or_default()
            .to_string();
        let expected = parts
            .next()
            .and_then(|p| p.strip_prefix("expected: "))
            .unwrap_or_default()
            .to_string();
        let fix = fix_for(&check);
        checks.push(CheckLine {
            status,
            check,
            found,
            expected,
            fix,
        });
    }
    let failures = checks.iter().filter(|c| c.status == Status::Fail).count();
    Ok(CheckReport {
        lines: checks,
        failures,
    })
}

/// The most characters of a pasted word a refusal repeats (a plan's fingerprint has 16).
const SHOWN_CHARS: usize = 24;

/// Returns a word of the paste as a message repeats it: whole when short, else its first
/// [`SHOWN_CHARS`] characters and `…`, so that a hostile paste (a header of one 1 MB word) does not
/// come back as a message as long as itself.
fn shown(word: &str) -> String {
    match word.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => format!("{}…", &word[..end]),
        None => word.to_string(),
    }
}

/// What to do when a check fails.
fn fix_for(check: &str) -> &'static str {
    let kind = check.split(' ').next().unwrap_or_default();
    match kind {
        "cmdline" | "isolated" | "nohz_full" => "The running kernel did not get the plan's command line: add kernel-cmdline.txt to the boot entry (grubby, or GRUB_CMDLINE_LINUX and update-grub; tuned-host.sh with tuned) and reboot.",
        "hugepages" => "The node holds fewer huge pages than planned: check the hugepages= parameter, free memory on the node and run rtkvm-host.sh again, or reboot.",
        "sysctl" => "Install 90-rtkvm-realtime.conf in /etc/sysctl.d and run sysctl --system (tuned sets them with its profile).",
        "kernel" => "Boot the PREEMPT_RT kernel (kernel-rt, linux-image-rt) and make it the default entry.",
        "irqbalance" => "Stop irqbalance (systemctl disable --now irqbalance) or ban the isolated CPUs with IRQBALANCE_BANNED_CPULIST, which rtkvm-host.sh writes; then restart it.",
        "irq" => "Move those interrupts to the housekeeping CPUs (echo the housekeeping list to /proc/irq/N/smp_affinity_list) and find what set them: irqbalance, a driver, a tuning tool.",
        "workqueue" => "rtkvm-host.service (or tuned's realtime profile) puts the workqueues on the housekeeping CPUs at boot: check that it ran (systemctl status rtkvm-host.service).",
        "priority" => "rtkvm-host.service raises the kernel threads at boot (tuned's profile too): check that it ran, or run rtkvm-host.sh again.",
        "stalld" => "Install and start stalld (systemctl enable --now stalld); rtkvm-host.sh gives it its priority with a drop-in.",
        "guest" => "Define the plan's domain XML for this guest (virsh define) and restart it, so that libvirt pins and schedules its threads as planned.",
        _ => "Find the thread (ps -eLo pid,psr,stat,rtprio,comm) and pin it to the housekeeping CPUs, or stop what starts it.",
    }
}
