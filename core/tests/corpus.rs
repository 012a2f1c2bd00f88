//! Every real `virsh capabilities` output in the corpus gives a plan or a clear error, never a panic.
//! The outcome of each is kept as a snapshot, every domain XML produced is judged by libvirt, and the
//! CLI's JSON of every plan is checked against `docs/plan.schema.json`.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{assert_libvirt_accepts, assert_shellcheck_passes, cli_args, cli_json, corpus};
use rtkvm_core::json::JsonPlan;
use rtkvm_core::settings::PageSize;
use rtkvm_core::units::Kib;
use rtkvm_core::{parse_capabilities_bytes, plan, Host, Plan, Settings};

fn corpus_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("corpus directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("xml" | "out")
            ) {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&corpus(), &mut files);
    files.sort();
    files
}

/// The smallest sensible guest: one vCPU, one page of memory, one host CPU and 1 GiB kept per node.
fn smallest(host: &Host) -> Option<(Settings, Plan)> {
    let mut settings = Settings::default();
    settings.host.host_cpus = 1;
    settings.host.host_memory = Kib::gib(1);
    settings.guest.vcpus = 1;
    let probe = rtkvm_core::plan::partition(host, &settings).ok()?;
    settings.host.page_size = PageSize::Kib(probe.host.page_size_kib);
    settings.guest.memory = Kib(probe.host.page_size_kib);
    let plan = plan(host, &settings).ok()?;
    Some((settings, plan))
}

/// Judges a corpus plan: libvirt accepts its domain XML, shellcheck its hugepages.sh, and the CLI, given the same settings through
/// its flags, prints the same plan as JSON that matches `docs/plan.schema.json`.
fn judge(path: &Path, name: &str, host: &Host, settings: &Settings, plan: &Plan) {
    let outputs = rtkvm_core::outputs(host, plan);
    assert_libvirt_accepts(&outputs.domain_xml, name);
    assert_shellcheck_passes(&outputs.hugepages.script, name);
    assert_shellcheck_passes(&outputs.guest_os.setup_script, name);
    assert_shellcheck_passes(&outputs.guest_os.latency_test, name);
    let json = cli_json(path, &cli_args(settings));
    let expected = serde_json::to_value(JsonPlan::new(plan, &outputs)).unwrap();
    assert!(
        json == expected,
        "{name}: the CLI's JSON differs from the plan"
    );
}

fn describe(plan: &Plan) -> String {
    format!(
        "isolcpus={} node={} vcpupin={:?} emulatorpin={} pages={}",
        plan.host.isolcpus,
        plan.guest.node,
        plan.guest.vcpupin,
        plan.guest.emulatorpin,
        plan.host
            .hugepages
            .iter()
            .map(|p| format!("{}:{}x{}K", p.node, p.count, p.page_size_kib))
            .collect::<Vec<_>>()
            .join(",")
    )
}

#[test]
fn every_corpus_file_gives_a_plan_or_a_clear_error() {
    let files = corpus_files();
    assert!(files.len() >= 100, "the corpus has {} files", files.len());
    let mut report = String::new();
    let mut plans = 0;
    for path in &files {
        let name = path.strip_prefix(corpus()).unwrap().display().to_string();
        let bytes = std::fs::read(path).unwrap();
        let host = match parse_capabilities_bytes(&bytes) {
            Ok(host) => host,
            Err(e) => {
                let _ = writeln!(report, "{name}\n  parse error: {e}");
                continue;
            }
        };
        let _ = writeln!(
            report,
            "{name}\n  host: {}",
            rtkvm_core::report::host_summary(&host)
        );
        // A share link carries the host exactly, but for what planning does not read.
        let link = rtkvm_core::link::encode_link(&host, &Settings::default());
        let shared = rtkvm_core::link::decode_link(&link).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Of the features, it carries what planning reads: whether the TSC is invariant.
        assert_eq!(
            shared.host.invariant_tsc(),
            host.invariant_tsc(),
            "{name}: the link changed the TSC"
        );
        let mut expected = host.clone();
        expected.features.clear();
        for cell in &mut expected.cells {
            cell.distances.clear();
        }
        let mut got = shared.host.clone();
        got.features.clear();
        assert!(got == expected, "{name}: the link changed the host");
        let _ = writeln!(report, "  link: {} characters", link.len());
        match plan(&host, &Settings::default()) {
            Ok(p) => {
                plans += 1;
                let _ = writeln!(report, "  default: {}", describe(&p));
                judge(path, &name, &host, &Settings::default(), &p);
            }
            Err(e) => {
                let _ = writeln!(report, "  default: {e}");
                match smallest(&host) {
                    Some((settings, p)) => {
                        plans += 1;
                        let _ = writeln!(report, "  smallest: {}", describe(&p));
                        judge(path, &name, &host, &settings, &p);
                    }
                    None => {
                        let _ = writeln!(report, "  smallest: no plan");
                    }
                }
            }
        }
    }
    assert!(plans >= 40, "only {plans} corpus hosts gave a plan");
    insta::assert_snapshot!("corpus_outcomes", report);
}

#[path = "../benches/support/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;

#[test]
fn links_stay_short_for_large_hosts() {
    for (cpus, limit) in [(512, 1200), (1024, 2000), (4096, 8000)] {
        let mut host = rtkvm_core::parse_capabilities(&synthetic::synthetic_host(cpus)).unwrap();
        let link = rtkvm_core::link::encode_link(&host, &Settings::default());
        assert!(
            link.len() <= limit,
            "{cpus} CPUs: {} characters",
            link.len()
        );
        let mut decoded = rtkvm_core::link::decode_link(&link).unwrap().host;
        assert_eq!(decoded.invariant_tsc(), host.invariant_tsc());
        host.features.clear();
        decoded.features.clear();
        for cell in &mut host.cells {
            cell.distances.clear();
        }
        assert!(decoded == host, "{cpus} CPUs: the link changed the host");
    }
}
