//! The readable summary of a plan, for people (`rtkvm plan --format text`).

use std::fmt::Write as _;

use crate::host::Host;
use crate::outputs::Outputs;
use crate::plan::Plan;
use crate::settings::Named;
use crate::units::format_kib;

// The sentence on what the huge pages take of the host's memory is written with the huge page
// settings (Outputs::reservation holds it); its old path still works.
pub use crate::hugepages::reservation;

/// Describes the host in one line: architecture, vendor, nodes, CPUs, sockets and SMT.
pub fn host_summary(host: &Host) -> String {
    let cpus = host.online_cpus().len();
    let nodes = host.cells.len();
    let smt = if host.smt() {
        let width = host.cpus().map(|c| c.siblings.len()).max().unwrap_or(1);
        format!("SMT{width}")
    } else {
        "no SMT".to_string()
    };
    let mut parts = Vec::new();
    if let Some(arch) = &host.arch {
        parts.push(arch.clone());
    }
    if let Some(vendor) = &host.vendor {
        parts.push(vendor.clone());
    }
    if let Some(model) = &host.model {
        parts.push(model.clone());
    }
    let s = |n: usize| if n == 1 { "" } else { "s" };
    let sockets = host.socket_count();
    let what = if parts.is_empty() {
        String::new()
    } else {
        format!("{}, ", parts.join(" "))
    };
    format!(
        "{what}{nodes} NUMA node{}, {cpus} online CPU{} on {sockets} socket{}, {smt}",
        s(nodes),
        s(cpus),
        s(sockets)
    )
}

/// Writes the whole plan as text: host partition, kernel parameters, huge pages, guest and warnings.
pub fn text_report(host: &Host, plan: &Plan, outputs: &Outputs) -> String {
    let mut out = String::new();
    let h = &plan.host;
    let page = format_kib(h.page_size_kib);
    let _ = writeln!(out, "Host: {}", host_summary(host));
    let _ = writeln!(
        out,
        "Recipe {}: {}",
        plan.recipe.number(),
        plan.recipe.describe()
    );
    for node in &h.nodes {
        let cell = host.cell(node.node);
        let memory = cell
            .and_then(|c| c.memory_kib)
            .map_or("memory unknown".to_string(), format_kib);
        let pages = h.pages_on(node.node);
        let isolated = node.isolated.or_none();
        let _ = writeln!(
            out,
            "  node {}: host CPUs {}, isolated {isolated}; {memory}, {pages} pages of {page}",
            node.node, node.housekeeping
        );
    }
    for p in &h.hugepages {
        if !h.nodes.iter().any(|n| n.node == p.node) {
            let _ = writeln!(
                out,
                "  node {} (memory only): {} pages of {page}",
                p.node, p.count
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Kernel command line (add to the host's boot entry):");
    let _ = writeln!(out, "  {}", outputs.kernel_cmdline);
    for p in &outputs.kernel_params {
        let _ = writeln!(out, "    {:<40} {}", p.param, p.explanation);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Huge pages:");
    let _ = writeln!(out, "  {}", outputs.reservation);
    let _ = writeln!(
        out,
        "  boot-time hugepages={} of {page}{}",
        outputs.hugepages.boot_pages,
        if outputs.hugepages.runtime {
            format!(
                "; {} sets the per-node counts at runtime",
                outputs.host_script_name
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "  check: {}", outputs.hugepages.verify_command);
    let _ = writeln!(out, "  `virsh capabilities` should then print:");
    for e in &outputs.hugepages.expected_pages {
        let _ = writeln!(out, "    node {}: {}", e.node, e.line);
    }
    if outputs.host_setup.is_some() {
        let k = h.kthreads;
        let _ = writeln!(out);
        let _ = writeln!(out, "Host setup (recipe {}):", plan.recipe.number());
        let _ = writeln!(
            out,
            "  kernel threads above the vCPUs: ksoftirqd {}, ktimers {}, rcuc/rcub {}",
            k.ksoftirqd, k.ktimers, k.rcu
        );
        let _ = writeln!(
            out,
            "  files: --format sysctl (90-rtkvm-realtime.conf), --format unit (rtkvm-host.service) with --format hugepages (rtkvm-host.sh), or --format tuned (tuned-host.sh); every file and the steps in order: --format bundle --out DIR"
        );
    }
    let first = outputs.first_guest();
    for (g, own) in plan
        .guests()
        .zip(std::iter::once(&first).chain(&outputs.others))
    {
        guest_report(&mut out, g, &own.guest_os);
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Warnings:");
        for w in &plan.warnings {
            let _ = writeln!(out, "  [{}] {}", w.code.as_str(), w.message);
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Outputs: --format cmdline (kernel-cmdline.txt), hugepages (hugepages.sh), xml (<name>.xml), guest-cmdline, guest-tuned, guest-setup, latency-test, json"
    );
    out
}

/// Writes one guest's placement and what goes inside it.
fn guest_report(out: &mut String, g: &crate::plan::GuestPlan, os: &crate::guest_os::GuestOs) {
    let _ = writeln!(*out);
    let _ = writeln!(
        out,
        "Guest {}: {} vCPU{}, {} on NUMA node {}",
        g.name,
        g.vcpus,
        if g.vcpus == 1 { "" } else { "s" },
        format_kib(g.memory_kib),
        g.node
    );
    for (vcpu, cpu) in g.vcpupin.iter().enumerate() {
        let rt = if g.rt_vcpus.contains(vcpu as u32) {
            format!(", {} priority {}", g.scheduler.as_str(), g.priority)
        } else {
            ", the guest's housekeeping (no real-time scheduler)".to_string()
        };
        let _ = writeln!(*out, "  vCPU {vcpu} -> host CPU {cpu}{rt}");
    }
    let _ = writeln!(*out, "  emulator threads -> host CPUs {}", g.emulatorpin);
    if !g.idle_siblings.is_empty() {
        let _ = writeln!(*out, "  idle SMT siblings: {}", g.idle_siblings);
    }
    let _ = writeln!(*out);
    if os.kernel_params.is_empty() {
        let _ = writeln!(
            out,
            "Inside the guest: nothing to isolate ({})",
            if os.rt_vcpus.is_empty() {
                "no real-time vCPU"
            } else {
                "no housekeeping vCPU"
            }
        );
    } else {
        let _ = writeln!(
            out,
            "Inside the guest: real-time vCPUs {}, housekeeping vCPUs {}",
            os.rt_vcpus, os.housekeeping_vcpus
        );
        let _ = writeln!(*out, "  kernel command line: {}", os.kernel_cmdline);
    }
}

/// The readable report of `rtkvm check`: one paragraph per finding (`FILE:LINE:COLUMN:
/// severity[code] element: what`, then why and the fix), then a summary line.
pub fn check_report(label: &str, report: &crate::check::CheckReport) -> String {
    use crate::check::Severity;
    let mut out = String::new();
    for f in &report.findings {
        let severity = f.severity.as_str();
        let element = if f.element.is_empty() {
            "domain"
        } else {
            &f.element
        };
        out.push_str(&format!(
            "{label}:{}:{}: {severity}[{}] <{element}>: {}\n  why: {}\n  fix: {}\n\n",
            f.position.line,
            f.position.column,
            f.code.as_str(),
            f.message,
            f.why,
            f.fix
        ));
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = report.findings.len() - errors;
    let facts = &report.facts;
    if report.findings.is_empty() {
        out.push_str(&format!(
            "{label}: '{}' ({} vCPUs): no real-time problem found\n",
            facts.name, facts.vcpus
        ));
    } else {
        out.push_str(&format!(
            "{label}: '{}' ({} vCPUs): {errors} error{}, {warnings} warning{}; `rtkvm apply {label} --caps CAPS` fixes them\n",
            facts.name,
            facts.vcpus,
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" },
        ));
    }
    out
}
