//! The JSON output (`rtkvm plan --format json`), a public contract that scripts depend on. These wire
//! types are converted explicitly from the plan, so the model can change without changing them; the
//! document they make is described by `docs/plan.schema.json`, and a test validates the CLI's output
//! against it for every fixture and every plan of the corpus. A change that removes or renames a field
//! or changes its meaning needs a new `version`.

use serde::Serialize;

use crate::outputs::Outputs;
use crate::plan::Plan;
use crate::settings::Named;

/// The version of the JSON document written by this build.
pub const JSON_VERSION: u32 = 1;

/// The whole plan as one JSON object.
#[derive(Debug, Serialize)]
pub struct JsonPlan {
    /// The document's version, [`JSON_VERSION`].
    pub version: u32,
    /// The recipe revision the outputs were written with (added 2026-11-25; 1 before).
    pub recipe: u32,
    /// The host partition and its settings.
    pub host: JsonHost,
    /// The guest placement.
    pub guest: JsonGuest,
    /// The libvirt domain XML.
    pub domain_xml: String,
    /// What goes inside the guest (added 2026-11-25).
    pub guest_os: JsonGuestOs,
    /// Things that work but deserve a second look: the host's and every guest's.
    pub warnings: Vec<JsonWarning>,
    /// Every guest, the first one (`guest`, `domain_xml` and `guest_os` above) first, each with its
    /// own outputs and warnings (added 2026-12-04, several guests).
    pub guests: Vec<JsonPlanGuest>,
}

/// One guest of the plan: its placement (the fields of `guest`), its domain XML, what goes inside
/// it and the warnings about it alone.
#[derive(Debug, Serialize)]
pub struct JsonPlanGuest {
    /// The placement.
    #[serde(flatten)]
    pub guest: JsonGuest,
    /// Its libvirt domain XML.
    pub domain_xml: String,
    /// What goes inside it.
    pub guest_os: JsonGuestOs,
    /// The warnings about this guest alone.
    pub warnings: Vec<JsonWarning>,
}

/// What goes inside the guest.
#[derive(Debug, Serialize)]
pub struct JsonGuestOs {
    /// The real-time vCPUs, isolated inside the guest, as a cpulist.
    pub rt_vcpus: String,
    /// The guest's housekeeping vCPUs, as a cpulist.
    pub housekeeping_vcpus: String,
    /// The guest kernel command line addition (empty when nothing can be isolated).
    pub kernel_cmdline: String,
    /// The same, one parameter at a time.
    pub kernel_params: Vec<JsonParam>,
    /// `/etc/tuned/realtime-virtual-guest-variables.conf`.
    pub tuned_variables: String,
    /// `guest-setup.sh`.
    pub setup_script: String,
    /// `latency-test.sh`.
    pub latency_test: String,
}

/// How the host is partitioned and what its kernel and huge pages must be set to.
#[derive(Debug, Serialize)]
pub struct JsonHost {
    /// The isolated CPUs, as a cpulist.
    pub isolcpus: String,
    /// The housekeeping CPUs, as a cpulist.
    pub housekeeping: String,
    /// Per NUMA node with CPUs, its split.
    pub nodes: Vec<JsonNode>,
    /// The kernel command line addition.
    pub kernel_cmdline: String,
    /// The same, one parameter at a time.
    pub kernel_params: Vec<JsonParam>,
    /// The huge page size in KiB.
    pub page_size_kib: u64,
    /// The huge pages per node.
    pub hugepages: Vec<JsonPages>,
    /// How to reserve and check them.
    pub hugepage_settings: JsonHugepageSettings,
    /// The host's kernel (added 2026-11-25): `5.16`, `rhel9`, `rhel8` or `older`.
    pub kernel: &'static str,
    /// Whether it is PREEMPT_RT (added 2026-11-25): `rt` or `generic`.
    pub kernel_type: &'static str,
    /// Which memory `hugepages` reserves (added 2026-11-25, session 6): `all` (every node's beyond
    /// the host's) or `guest` (the guest's pages, on its node).
    pub reserve: &'static str,
    /// With `reserve` `guest`, the memory in KiB of the pages reserved on the guest's node beyond its
    /// own, spare for guests started later (`--spare`; 0 for none; added 2026-12-02, session 7).
    pub spare_kib: u64,
    /// The host's sysctl file, tuned script and boot unit (added 2026-11-25; `null` before recipe 3).
    pub setup: Option<JsonHostSetup>,
}

/// The host's settings beside its command line (recipe 3 on).
#[derive(Debug, Serialize)]
pub struct JsonHostSetup {
    /// `/etc/sysctl.d/90-rtkvm-realtime.conf`.
    pub sysctl: String,
    /// `/etc/tuned/realtime-virtual-host-variables.conf`.
    pub tuned_variables: String,
    /// `/etc/tuned/rtkvm-host/tuned.conf`.
    pub tuned_profile: String,
    /// `tuned-host.sh`, which installs and activates the two tuned files.
    pub tuned_script: String,
    /// `rtkvm-host.service`, which runs the host script at every boot.
    pub unit: String,
    /// `rtkvm-rtentsk.service`, which keeps network timestamping on where tuned does not (added
    /// 2026-12-04; `null` before recipe 4).
    pub rtentsk_unit: Option<String>,
}

/// One node's split, as cpulists.
#[derive(Debug, Serialize)]
pub struct JsonNode {
    /// The node id.
    pub node: u32,
    /// Its housekeeping CPUs.
    pub housekeeping: String,
    /// Its isolated CPUs (empty when none).
    pub isolated: String,
}

/// One kernel parameter.
#[derive(Debug, Serialize)]
pub struct JsonParam {
    /// The parameter as written on the command line.
    pub param: String,
    /// What it does.
    pub explanation: String,
    /// Where production deployments apply the same (added 2026-11-25): `tuned realtime`, …
    pub source: &'static str,
}

/// The huge pages of one node.
#[derive(Debug, Serialize)]
pub struct JsonPages {
    /// The node id.
    pub node: u32,
    /// The page size in KiB.
    pub page_size_kib: u64,
    /// The number of pages.
    pub count: u64,
}

/// How to reserve the huge pages and check them.
#[derive(Debug, Serialize)]
pub struct JsonHugepageSettings {
    /// The `hugepages=` count of the command line.
    pub boot_pages: u64,
    /// Whether `hugepages.sh` sets per-node counts at runtime.
    pub runtime: bool,
    /// The `hugepages.sh` script.
    pub script: String,
    /// A command printing the pages reserved on every node.
    pub verify_command: String,
    /// The `<pages>` line `virsh capabilities` prints afterwards, per node.
    pub expected_pages: Vec<JsonExpectedPages>,
}

/// What `virsh capabilities` prints for one node once the pages are reserved.
#[derive(Debug, Serialize)]
pub struct JsonExpectedPages {
    /// The node id.
    pub node: u32,
    /// The `<pages>` line.
    pub line: String,
}

/// Where the guest runs.
#[derive(Debug, Serialize)]
pub struct JsonGuest {
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
    /// Where the emulator threads run: `share` or `isolate` (added 2026-11-25).
    pub emulator: &'static str,
    /// The emulator threads' CPUs, as a cpulist.
    pub emulatorpin: String,
    /// The real-time vCPUs, as a cpulist (empty when none).
    pub rt_vcpus: String,
    /// The real-time policy: `fifo` or `rr`.
    pub scheduler: &'static str,
    /// The real-time priority.
    pub priority: u32,
    /// The isolated SMT siblings left idle, as a cpulist (empty when none).
    pub idle_siblings: String,
    /// The huge page size backing the guest RAM, in KiB.
    pub page_size_kib: u64,
}

/// One warning.
#[derive(Debug, Serialize)]
pub struct JsonWarning {
    /// The stable code (`smt-enabled`, …).
    pub code: &'static str,
    /// The sentence the user reads.
    pub message: String,
}

fn params(params: &[crate::cmdline::KernelParam]) -> Vec<JsonParam> {
    params
        .iter()
        .map(|p| JsonParam {
            param: p.param.clone(),
            explanation: p.explanation.clone(),
            source: p.source,
        })
        .collect()
}

impl JsonPlan {
    /// Converts a plan and its outputs into the JSON document.
    pub fn new(plan: &Plan, outputs: &Outputs) -> JsonPlan {
        let (h, g, hp) = (&plan.host, &plan.guest, &outputs.hugepages);
        JsonPlan {
            version: JSON_VERSION,
            recipe: plan.recipe.number(),
            host: JsonHost {
                isolcpus: h.isolcpus.to_string(),
                housekeeping: h.housekeeping.to_string(),
                nodes: h
                    .nodes
                    .iter()
                    .map(|n| JsonNode {
                        node: n.node,
                        housekeeping: n.housekeeping.to_string(),
                        isolated: n.isolated.to_string(),
                    })
                    .collect(),
                kernel_cmdline: outputs.kernel_cmdline.clone(),
                kernel_params: params(&outputs.kernel_params),
                page_size_kib: h.page_size_kib,
                hugepages: h
                    .hugepages
                    .iter()
                    .map(|p| JsonPages {
                        node: p.node,
                        page_size_kib: p.page_size_kib,
                        count: p.count,
                    })
                    .collect(),
                hugepage_settings: JsonHugepageSettings {
                    boot_pages: hp.boot_pages,
                    runtime: hp.runtime,
                    script: hp.script.clone(),
                    verify_command: hp.verify_command.clone(),
                    expected_pages: hp
                        .expected_pages
                        .iter()
                        .map(|e| JsonExpectedPages {
                            node: e.node,
                            line: e.line.clone(),
                        })
                        .collect(),
                },
                kernel: h.kernel.as_str(),
                kernel_type: h.kernel_type.as_str(),
                reserve: h.reserve.as_str(),
                spare_kib: h.spare_kib,
                setup: outputs.host_setup.as_ref().map(|s| JsonHostSetup {
                    sysctl: s.sysctl.clone(),
                    tuned_variables: s.tuned_variables.clone(),
                    tuned_profile: s.tuned_profile.clone(),
                    tuned_script: s.tuned_script.clone(),
                    unit: s.unit.clone(),
                    rtentsk_unit: (!s.rtentsk_unit.is_empty()).then(|| s.rtentsk_unit.clone()),
                }),
            },
            guest: json_guest(g),
            domain_xml: outputs.domain_xml.clone(),
            guest_os: json_guest_os(&outputs.guest_os),
            warnings: warnings(&plan.warnings),
            guests: plan
                .guests()
                .zip(std::iter::once(&outputs.first_guest()).chain(&outputs.others))
                .map(|(g, own)| JsonPlanGuest {
                    guest: json_guest(g),
                    domain_xml: own.domain_xml.clone(),
                    guest_os: json_guest_os(&own.guest_os),
                    warnings: warnings(&g.warnings),
                })
                .collect(),
        }
    }
}

fn json_guest(g: &crate::plan::GuestPlan) -> JsonGuest {
    JsonGuest {
        name: g.name.clone(),
        node: g.node,
        vcpus: g.vcpus,
        memory_kib: g.memory_kib,
        vcpupin: g.vcpupin.clone(),
        emulator: g.emulator.as_str(),
        emulatorpin: g.emulatorpin.to_string(),
        rt_vcpus: g.rt_vcpus.to_string(),
        scheduler: g.scheduler.as_str(),
        priority: g.priority,
        idle_siblings: g.idle_siblings.to_string(),
        page_size_kib: g.page_size_kib,
    }
}

fn json_guest_os(o: &crate::guest_os::GuestOs) -> JsonGuestOs {
    JsonGuestOs {
        rt_vcpus: o.rt_vcpus.to_string(),
        housekeeping_vcpus: o.housekeeping_vcpus.to_string(),
        kernel_cmdline: o.kernel_cmdline.clone(),
        kernel_params: params(&o.kernel_params),
        tuned_variables: o.tuned_variables.clone(),
        setup_script: o.setup_script.clone(),
        latency_test: o.latency_test.clone(),
    }
}

fn warnings(list: &[crate::plan::Warning]) -> Vec<JsonWarning> {
    list.iter()
        .map(|w| JsonWarning {
            code: w.code.as_str(),
            message: w.message.clone(),
        })
        .collect()
}

/// The version of the JSON documents of `rtkvm check` and `rtkvm apply`.
pub const CHECK_JSON_VERSION: u32 = 1;

/// `rtkvm check --format json`: the domain's facts and every finding (`docs/check.schema.json`).
#[derive(Debug, Serialize)]
pub struct JsonCheck {
    /// The document's version, [`CHECK_JSON_VERSION`].
    pub version: u32,
    /// What was read from the domain.
    pub domain: JsonDomainFacts,
    /// The findings, in document order.
    pub findings: Vec<JsonFinding>,
}

/// What was read from the domain.
#[derive(Debug, Serialize)]
pub struct JsonDomainFacts {
    /// The domain name.
    pub name: String,
    /// The vCPU count.
    pub vcpus: u32,
    /// The memory in KiB, `null` when unreadable.
    pub memory_kib: Option<u64>,
    /// The guest architecture, `null` when the domain does not say.
    pub arch: Option<String>,
}

/// One finding.
#[derive(Debug, Serialize)]
pub struct JsonFinding {
    /// The stable code (`vcpu-unpinned`).
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: crate::check::Severity,
    /// The element, as a path below `<domain>` (`cputune/vcpusched`; empty for `<domain>`).
    pub element: String,
    /// The line of the element (of its parent when it is missing), from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// Why it matters.
    pub why: &'static str,
    /// How to fix it.
    pub fix: String,
}

impl JsonCheck {
    /// Converts a check report into its wire form.
    pub fn new(report: &crate::check::CheckReport) -> JsonCheck {
        let f = &report.facts;
        JsonCheck {
            version: CHECK_JSON_VERSION,
            domain: JsonDomainFacts {
                name: f.name.clone(),
                vcpus: f.vcpus,
                memory_kib: f.memory_kib,
                arch: f.arch.clone(),
            },
            findings: findings(report),
        }
    }
}

fn findings(report: &crate::check::CheckReport) -> Vec<JsonFinding> {
    report
        .findings
        .iter()
        .map(|f| JsonFinding {
            code: f.code.as_str(),
            severity: f.severity,
            element: f.element.clone(),
            line: f.position.line,
            column: f.position.column,
            message: f.message.clone(),
            why: f.why,
            fix: f.fix.clone(),
        })
        .collect()
}

/// `rtkvm apply --format json`: the patched domain and what was done.
#[derive(Debug, Serialize)]
pub struct JsonApply {
    /// The document's version, [`CHECK_JSON_VERSION`].
    pub version: u32,
    /// The patched domain XML.
    pub domain_xml: String,
    /// What was changed, one sentence each (`line 20: <cputune>: wrote <vcpupin> ×4, …`).
    pub changes: Vec<String>,
    /// The unified diff from the domain to the patched domain; empty when nothing changed.
    pub diff: String,
    /// Values taken from the domain that had to change (memory rounded up to whole pages).
    pub notes: Vec<String>,
    /// The plan's warnings.
    pub warnings: Vec<JsonWarning>,
    /// What a check of the patched domain still finds (a USB controller kept for a USB device).
    pub remaining: Vec<JsonFinding>,
}

impl JsonApply {
    /// Converts a patch, its notes, its plan and the check of its result into the wire form.
    pub fn new(
        applied: &crate::apply::Applied,
        diff: &str,
        notes: &[String],
        plan: &Plan,
        remaining: &crate::check::CheckReport,
    ) -> JsonApply {
        JsonApply {
            version: CHECK_JSON_VERSION,
            domain_xml: applied.xml.clone(),
            changes: applied.changes.iter().map(|c| c.to_string()).collect(),
            diff: diff.to_string(),
            notes: notes.to_vec(),
            warnings: warnings(&plan.warnings),
            remaining: findings(remaining),
        }
    }
}
