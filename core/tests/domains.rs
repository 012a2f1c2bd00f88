//! `rtkvm check` and `rtkvm apply` on existing domains, judged by libvirt.
//!
//! Fidelity is tested the way libvirt tests itself: every domain of the corpus (`tests/domains/`, real
//! domains from public repositories, see its INDEX.tsv) is defined with libvirt's test driver and its
//! QEMU driver and dumped back; the dump is patched, defined and dumped again; the two dumps must
//! differ only in the elements rtkvm owns. The patch must also be accepted by libvirt's schema, be
//! idempotent, and leave no error for `check` to find.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use rtkvm_core::apply::{apply, settings_for_domain, Given};
use rtkvm_core::check::{check, CheckReport, FindingCode, HostContext, Severity};
use rtkvm_core::existing::{parse_domain, DomainFacts};
use rtkvm_core::plan::{capacity, partition, KthreadPriorities};
use rtkvm_core::xmltree::{self, Element};
use rtkvm_core::{Host, Settings};

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(common::fixtures().join("domains").join(name)).expect("fixture")
}

fn seed_host() -> Host {
    rtkvm_core::parse_capabilities(rtkvm_core::EXAMPLE_CAPABILITIES).unwrap()
}

fn codes(report: &rtkvm_core::check::CheckReport) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.code.as_str()).collect()
}

/// The finding codes of a report that `keep` selects.
fn codes_where(
    report: &rtkvm_core::check::CheckReport,
    keep: impl Fn(&str) -> bool,
) -> Vec<&'static str> {
    codes(report).into_iter().filter(|c| keep(c)).collect()
}

/// SEAPATH's real-time guest, rendered from its template: vCPUs on isolated CPUs 4-5, no emulator pin.
fn seapath_rt_guest() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/domains/seapath/guest1-rt-isolated.xml"),
    )
    .unwrap()
}

/// A host for a domain's architecture, large enough for the domains of the corpus.
fn host_for(arch: Option<&str>) -> Host {
    let corpus = common::corpus();
    let text = match arch {
        Some("aarch64") => {
            std::fs::read_to_string(corpus.join("virt-manager/kvm-aarch64.xml")).unwrap()
        }
        Some("ppc64" | "ppc64le") => {
            std::fs::read_to_string(corpus.join("virt-manager/kvm-ppc64le.xml")).unwrap()
        }
        Some("s390x") => {
            std::fs::read_to_string(corpus.join("tp-libvirt/capabilities_s390x.xml")).unwrap()
        }
        _ => synthetic::synthetic_host(128),
    };
    rtkvm_core::parse_capabilities(&text).unwrap()
}

/// Plans for an existing domain as `rtkvm apply` does, its vCPUs and memory cut down to what the
/// largest node of the host takes.
fn plan_for(facts: &DomainFacts, host: &Host) -> (Settings, rtkvm_core::Plan) {
    let mut settings = Settings::default();
    settings_for_domain(facts, host, &mut settings, Given::default()).unwrap();
    let part = partition(host, &settings).unwrap().host;
    let best = capacity(host, &part, settings.guest.emulator)
        .into_iter()
        .max_by_key(|c| (c.vcpus, c.memory_kib))
        .unwrap();
    if settings.guest.vcpus > best.vcpus || settings.guest.memory.0 > best.memory_kib {
        settings.guest.vcpus = settings.guest.vcpus.min(best.vcpus);
        settings.guest.memory.0 = settings.guest.memory.0.min(best.memory_kib);
        settings.guest.node = None;
    }
    let plan = rtkvm_core::plan(host, &settings)
        .unwrap_or_else(|e| panic!("no plan for '{}': {e}", facts.name));
    (settings, plan)
}

fn patch(text: &str, host: &Host) -> (String, Vec<String>) {
    let (xml, changes, _) = patch_with_diff(text, host);
    (xml, changes)
}

/// Patches a domain as `rtkvm apply` does; returns the domain, the changes and the unified diff.
fn patch_with_diff(text: &str, host: &Host) -> (String, Vec<String>, String) {
    let doc = parse_domain(text).unwrap();
    let facts = DomainFacts::read(&doc);
    let (_, plan) = plan_for(&facts, host);
    let applied = apply(&doc, host, &plan);
    let changes = applied.changes.iter().map(|c| c.to_string()).collect();
    let diff = applied.unified_diff(doc.text, "domain.xml");
    (applied.xml, changes, diff)
}

/// Applies a unified diff with GNU patch to `original` and returns the result.
fn gnu_patch(original: &str, diff: &str) -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!(
        "rtkvm-patch-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("domain.xml"), original).unwrap();
    let mut child = Command::new("patch")
        .args(["-p1", "--quiet", "--no-backup-if-mismatch", "-d"])
        .arg(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("GNU patch (Debian package patch)");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(diff.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let result = std::fs::read_to_string(dir.join("domain.xml")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    if out.status.success() {
        Ok(result)
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn the_guides_example_reports_its_two_mistakes_explained() {
    let text = fixture("guide-example.xml");
    let doc = parse_domain(&text).unwrap();
    let report = check(&doc, None, None);
    let sched = report
        .findings
        .iter()
        .find(|f| f.code == FindingCode::VcpuschedUnknownVcpu)
        .expect("vcpusched vcpus='0-4' on 4 vCPUs is found");
    assert_eq!(sched.severity, Severity::Error);
    assert_eq!(sched.position.line, 9);
    assert!(sched.message.contains("names vCPU 4"), "{}", sched.message);
    assert_eq!(sched.fix, "vcpus='0-3'");
    let page = report
        .findings
        .iter()
        .find(|f| f.code == FindingCode::HugepageNodesetUnknown)
        .expect("page nodeset='1' naming a guest node that does not exist is found");
    assert_eq!(page.position.line, 12);
    assert!(page.why.contains("guest NUMA nodes"), "{}", page.why);
    assert!(page.fix.contains("numatune"), "{}", page.fix);
    // Whatever else applies: no host node binding, every vCPU real-time, no hard limit.
    for code in [
        "memory-not-bound",
        "no-housekeeping-vcpu",
        "locked-without-hard-limit",
    ] {
        assert!(
            codes(&report).contains(&code),
            "{code}: {:?}",
            codes(&report)
        );
    }
    // libvirt agrees with both.
    common::assert_virsh_refuses(&text, "vCPU '4' is not present in domain definition");
    let one_fixed = text.replace("vcpus='0-4'", "vcpus='0-3'");
    common::assert_virsh_refuses(&one_fixed, "hugepages: node 1 not found");
}

/// Checks a domain against a host and the partition of the default settings.
fn check_against(text: &str, host: &Host) -> rtkvm_core::check::CheckReport {
    let part = partition(host, &Settings::default()).unwrap().host;
    let context = HostContext {
        host,
        partition: &part,
    };
    check(&parse_domain(text).unwrap(), Some(context), None)
}

#[test]
fn the_guides_example_against_its_host_finds_nothing_about_the_cpus() {
    let report = check_against(&fixture("guide-example.xml"), &seed_host());
    let found = codes(&report);
    for code in [
        "vcpu-on-housekeeping",
        "cpu-not-on-host",
        "vcpus-span-nodes",
        "emulator-on-isolated",
        "page-size-not-on-host",
    ] {
        assert!(!found.contains(&code), "{code}: {found:?}");
    }
}

/// What rtkvm writes raises nothing in `rtkvm check` against the same host: the example host and a
/// synthetic SMT host, each recipe, both emulator policies (`--emulator isolate` pins the emulator
/// threads to an isolated core of their own), both schedulers, and a guest of one vCPU.
#[test]
fn the_domains_rtkvm_writes_raise_no_finding_against_their_host() {
    use rtkvm_core::settings::{EmulatorPolicy, Named, Recipe, RtVcpus, Scheduler};
    for (label, host) in [("example", seed_host()), ("synthetic", host_for(None))] {
        for recipe in Recipe::ALL {
            for &emulator in EmulatorPolicy::ALL {
                for (scheduler, vcpus) in [
                    (Scheduler::ALL[0], 4),
                    (Scheduler::ALL[1], 2),
                    (Scheduler::ALL[0], 1),
                ] {
                    let mut settings = Settings {
                        recipe,
                        ..Settings::default()
                    };
                    settings.guest.emulator = emulator;
                    settings.guest.scheduler = scheduler;
                    settings.guest.vcpus = vcpus;
                    if vcpus == 1 {
                        // Its one vCPU real-time (`^0` leaves none, which the check reports).
                        settings.guest.rt_vcpus = RtVcpus::All;
                    }
                    let what = format!(
                        "{label} host, {recipe:?}, {emulator:?}, {scheduler:?}, {vcpus} vCPUs"
                    );
                    let plan = rtkvm_core::plan(&host, &settings)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    let xml = rtkvm_core::outputs(&host, &plan).domain_xml;
                    let context = HostContext {
                        host: &host,
                        partition: &plan.host,
                    };
                    let report = check(
                        &parse_domain(&xml).unwrap(),
                        Some(context),
                        Some(KthreadPriorities::above(settings.guest.priority)),
                    );
                    let found: Vec<String> = report
                        .findings
                        .iter()
                        // Recipe 1 writes the guide's domain, which leaves out what later
                        // recipes add (a hard limit, timers, hint-dedicated): warnings, never
                        // about the emulator threads.
                        .filter(|f| {
                            recipe >= Recipe::Production
                                || f.severity == Severity::Error
                                || f.code == FindingCode::EmulatorOnIsolated
                        })
                        .map(|f| format!("{}: {}", f.code.as_str(), f.message))
                        .collect();
                    assert!(found.is_empty(), "{what}: {found:#?}\n{xml}");
                }
            }
        }
    }
}

/// SEAPATH's real-time guest (its template rendered for its example inventory's `guest1`: vCPUs on
/// CPUs 4 and 6) with the emulator threads on CPU 3, as the template writes `vm.emulatorpin`: alone
/// on an isolated core no vCPU uses, which is what `--emulator isolate` writes too, so no
/// `emulator-on-isolated`. On two isolated cores, or on one shared with a vCPU, it is a finding.
#[test]
fn emulator_threads_alone_on_an_isolated_core_are_no_finding() {
    let text = seapath_rt_guest();
    let pinned = |cpuset: &str| {
        text.replace(
            "    </cputune>",
            &format!("        <emulatorpin cpuset=\"{cpuset}\"/>\n    </cputune>"),
        )
    };
    let host = seed_host();
    let emulator = |report: &CheckReport| codes_where(report, |c| c.starts_with("emulator"));
    assert_eq!(
        emulator(&check_against(&pinned("3"), &host)),
        Vec::<&str>::new()
    );
    assert_eq!(
        emulator(&check_against(&pinned("3,5"), &host)),
        ["emulator-on-isolated"]
    );
    assert_eq!(
        emulator(&check_against(&pinned("4"), &host)),
        ["emulator-on-vcpu-cpu"]
    );
    // Without a host nothing says which CPUs are isolated: only a vCPU's CPU is a finding.
    let alone = check(&parse_domain(&pinned("3")).unwrap(), None, None);
    assert_eq!(emulator(&alone), Vec::<&str>::new());
}

/// Emulator threads and I/O threads at a real-time priority are told (the recipe turns real-time
/// throttling off, so one that spins starves the housekeeping CPUs); a batch or idle scheduler for
/// them is no finding, and neither is their absence (SEAPATH's template has neither).
#[test]
fn emulator_and_io_threads_at_real_time_priority_are_told() {
    let text = seapath_rt_guest();
    let with =
        |elements: &str| text.replace("    </cputune>", &format!("{elements}    </cputune>"));
    let host = seed_host();
    let threads = |report: &CheckReport| codes_where(report, |c| c.ends_with("-realtime"));
    assert_eq!(threads(&check_against(&text, &host)), Vec::<&str>::new());
    let report = check_against(
        &with(
            "        <emulatorsched scheduler=\"fifo\" priority=\"2\"/>\n        <iothreadsched iothreads=\"1\" scheduler=\"rr\" priority=\"1\"/>\n",
        ),
        &host,
    );
    assert_eq!(threads(&report), ["emulator-realtime", "iothread-realtime"]);
    let emulator = &report
        .findings
        .iter()
        .find(|f| f.code.as_str() == "emulator-realtime")
        .unwrap();
    assert_eq!(emulator.element, "cputune/emulatorsched");
    assert!(emulator.message.contains("fifo 2"), "{}", emulator.message);
    assert!(
        emulator.fix.contains("remove <emulatorsched>"),
        "{}",
        emulator.fix
    );
    let io = report
        .findings
        .iter()
        .find(|f| f.code.as_str() == "iothread-realtime")
        .unwrap();
    assert!(
        io.message.starts_with("I/O threads 1 run"),
        "{}",
        io.message
    );
    assert_eq!(
        threads(&check_against(
            &with("        <emulatorsched scheduler=\"batch\"/>\n"),
            &host
        )),
        Vec::<&str>::new()
    );
}

/// The real-time domains KubeVirt and Nova generate (`tests/domains/kubevirt/`, `tests/domains/nova/`,
/// rendered from their converter and driver tests, see INDEX.tsv) place their vCPUs, emulator threads
/// and memory correctly, each its own way, and `rtkvm check` says nothing wrong about it: KubeVirt's
/// `isolateEmulatorThread` (an emulator CPU no vCPU uses), its scheduler set by virt-handler (no
/// `<vcpusched>`) and its NUMA passthrough (memory bound cell by cell, no `<memory>`); Nova's emulator
/// threads on the CPUs of the vCPUs its real-time mask leaves out (no emulator policy), its `isolate`
/// policy, and its `<memnode>` per guest cell. Without a host and against the example host (where
/// the test data's CPU numbers land on housekeeping CPUs or two nodes: true findings of that host).
/// What they do leave out (locked memory, a hard limit, TSC deadline, host-passthrough, the balloon,
/// the PMU where the flavor keeps it) is found, and the snapshot keeps every finding.
#[test]
fn the_real_time_domains_of_kubevirt_and_nova_raise_no_wrong_finding() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/domains");
    let wrong = [
        "vcpu-unpinned",
        "vcpu-pinned-to-set",
        "vcpus-share-cpu",
        "vcpus-share-core",
        "emulator-unpinned",
        "emulator-on-vcpu-cpu",
        "emulator-on-isolated",
        "no-realtime-scheduler",
        "no-housekeeping-vcpu",
        "rt-priority-above-kthreads",
        "memory-not-bound",
        "memory-on-other-node",
        "no-hugepages",
        "shared-pages",
    ];
    let host = seed_host();
    let mut listing = String::new();
    for file in [
        "kubevirt/realtime-vmi.xml",
        "nova/instance-realtime-mask.xml",
        "nova/instance-realtime-isolate.xml",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let alone = check(&parse_domain(&text).unwrap(), None, None);
        let against = check_against(&text, &host);
        for (what, report) in [("alone", &alone), ("example host", &against)] {
            let bad: Vec<&str> = codes(report)
                .into_iter()
                .filter(|c| wrong.contains(c))
                .collect();
            assert!(bad.is_empty(), "{file} ({what}): {bad:?}");
            listing.push_str(&format!("{file} ({what}):\n"));
            for f in &report.findings {
                listing.push_str(&format!(
                    "  {}:{} {}: {}\n",
                    f.position.line,
                    f.position.column,
                    f.code.as_str(),
                    f.message
                ));
            }
        }
    }
    insta::assert_snapshot!("check_kubevirt_nova_realtime", listing);

    // The same domains with a real mistake are still found: Nova's emulator threads on a real-time
    // vCPU's CPU, KubeVirt's on a vCPU's CPU, a memnode per cell that is not strict.
    let mask = std::fs::read_to_string(dir.join("nova/instance-realtime-mask.xml")).unwrap();
    let on_rt = mask.replace(
        r#"<emulatorpin cpuset="4-5"/>"#,
        r#"<emulatorpin cpuset="5-6"/>"#,
    );
    assert!(codes(&check_against(&on_rt, &host)).contains(&"emulator-on-vcpu-cpu"));
    let loose = mask.replace(
        r#"<memnode cellid="1" mode="strict" nodeset="3"/>"#,
        r#"<memnode cellid="1" mode="preferred" nodeset="3"/>"#,
    );
    assert!(codes(&check_against(&loose, &host)).contains(&"memory-not-bound"));
    let vmi = std::fs::read_to_string(dir.join("kubevirt/realtime-vmi.xml")).unwrap();
    let shared = vmi.replace(
        r#"<emulatorpin cpuset="2"></emulatorpin>"#,
        r#"<emulatorpin cpuset="1"></emulatorpin>"#,
    );
    assert!(codes(&check_against(&shared, &host)).contains(&"emulator-on-vcpu-cpu"));
    // Without KubeVirt's metadata nothing says who sets the scheduler: the finding is back.
    let bare = vmi
        .replace(r#"<kubevirt xmlns="http://kubevirt.io">"#, "<other>")
        .replace("</kubevirt>", "</other>");
    assert!(codes(&check_against(&bare, &host)).contains(&"no-realtime-scheduler"));
}

/// The desktop VM pinned so that it raises every finding a host can: housekeeping CPUs, shared
/// cores, a CPU the host lacks, two nodes, emulator threads on isolated CPUs, a high priority.
fn host_findings_domain() -> String {
    fixture("desktop-vm.xml").replace(
        "<vcpu placement=\"static\">4</vcpu>",
        "<vcpu placement=\"static\">5</vcpu>\n  <cputune>\n    <vcpupin vcpu=\"0\" cpuset=\"0\"/>\n    <vcpupin vcpu=\"1\" cpuset=\"2\"/>\n    <vcpupin vcpu=\"2\" cpuset=\"66\"/>\n    <vcpupin vcpu=\"3\" cpuset=\"40\"/>\n    <vcpupin vcpu=\"4\" cpuset=\"999\"/>\n    <emulatorpin cpuset=\"3-4\"/>\n    <vcpusched vcpus=\"1-4\" scheduler=\"fifo\" priority=\"10\"/>\n  </cputune>\n  <numatune>\n    <memory mode=\"strict\" nodeset=\"1\"/>\n  </numatune>",
    )
}

#[test]
fn the_host_findings_name_the_cpus_and_nodes() {
    // vCPUs on a housekeeping CPU, on SMT siblings, across nodes, on a CPU the host lacks; memory on
    // the other node; 2 MiB pages on a host with 1 GiB only.
    // The synthetic host: node 0 has CPUs 0-31 and their siblings 64-95, node 1 32-63 and 96-127;
    // recipe 3 keeps the cores {0,64} and {32,96} for the host.
    let text = host_findings_domain();
    let report = check_against(&text, &host_for(None));
    let found = codes(&report);
    for code in [
        "vcpu-on-housekeeping",
        "vcpus-share-core",
        "cpu-not-on-host",
        "vcpus-span-nodes",
        "emulator-on-isolated",
        "rt-priority-above-kthreads",
    ] {
        assert!(found.contains(&code), "{code}: {found:?}");
    }
    insta::assert_snapshot!(
        "check_host_findings",
        rtkvm_core::report::check_report("desktop-vm.xml", &report)
    );
}

#[test]
fn a_desktop_vm_is_patched_and_libvirt_accepts_it() {
    let text = fixture("desktop-vm.xml");
    let host = seed_host();
    let before = check(&parse_domain(&text).unwrap(), None, None);
    insta::assert_snapshot!(
        "check_desktop_vm",
        rtkvm_core::report::check_report("desktop-vm.xml", &before)
    );
    let (patched, changes) = patch(&text, &host);
    insta::assert_snapshot!("apply_desktop_vm", patched);
    insta::assert_snapshot!("apply_desktop_vm_changes", changes.join("\n"));
    common::assert_libvirt_accepts(&patched, "the patched desktop VM");
    // Everything the check found is gone, except what the patch keeps on purpose.
    let part = partition(&host, &Settings::default()).unwrap().host;
    let after = check(
        &parse_domain(&patched).unwrap(),
        Some(HostContext {
            host: &host,
            partition: &part,
        }),
        Some(KthreadPriorities::above(1)),
    );
    assert_eq!(codes(&after), Vec::<&str>::new());
    // The elements it does not own are byte for byte where they were.
    for kept in [
        "<uuid>6f2a5c0e-3d57-4c1b-9a8e-2f1d7b6c4e90</uuid>",
        "    <!-- the plant network -->\n    <interface type=\"bridge\">",
        "<libosinfo:os id=\"http://rockylinux.org/rocky/9\"/>",
        "<video>\n      <model type=\"qxl\" ram=\"65536\" vram=\"65536\" vgamem=\"16384\" heads=\"1\" primary=\"yes\"/>\n    </video>",
        "<timer name=\"rtc\" tickpolicy=\"catchup\"/>",
    ] {
        assert!(patched.contains(kept), "{kept} was not kept:\n{patched}");
    }
}

/// The page shows findings as they are, so they name no command-line flag (`--priority`): the
/// page's messages name its fields. Every corpus domain against its host, the guide's example, and
/// the domain made to raise every host finding.
#[test]
fn findings_name_no_command_line_flag() {
    let flag = |text: &str| {
        text.match_indices("--")
            .any(|(at, _)| text[at + 2..].starts_with(|c: char| c.is_ascii_lowercase()))
    };
    let mut texts: Vec<(String, rtkvm_core::check::CheckReport)> = corpus_domains()
        .iter()
        .map(|d| {
            let text = std::fs::read_to_string(d).unwrap();
            let arch = DomainFacts::read(&parse_domain(&text).unwrap()).arch;
            (
                d.display().to_string(),
                check_against(&text, &host_for(arch.as_deref())),
            )
        })
        .collect();
    texts.push((
        "guide".into(),
        check_against(&fixture("guide-example.xml"), &seed_host()),
    ));
    texts.push((
        "host findings".into(),
        check_against(&host_findings_domain(), &host_for(None)),
    ));
    for (label, report) in &texts {
        for f in &report.findings {
            for text in [f.message.as_str(), f.why, f.fix.as_str()] {
                assert!(!flag(text), "{label}: {}: {text}", f.code.as_str());
            }
        }
    }
}

#[test]
fn the_guides_example_is_patched_into_a_domain_libvirt_accepts() {
    let (patched, _) = patch(&fixture("guide-example.xml"), &seed_host());
    insta::assert_snapshot!("apply_guide_example", patched);
    common::assert_libvirt_accepts(&patched, "the patched guide example");
    let again = check(&parse_domain(&patched).unwrap(), None, None);
    assert!(
        again
            .findings
            .iter()
            .all(|f| f.severity == Severity::Warning),
        "{:?}",
        codes(&again)
    );
}

/// The domains of the corpus, as its INDEX.tsv lists them.
fn corpus_domains() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/domains");
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).expect("tests/domains/INDEX.tsv");
    let mut lines = index.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let path = header.iter().position(|&h| h == "path").unwrap();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| dir.join(l.split('\t').nth(path).unwrap()))
        .collect()
}

#[test]
fn the_corpus_has_at_least_fifty_domains_of_several_architectures() {
    let domains = corpus_domains();
    assert!(domains.len() >= 50, "{} domains", domains.len());
    let mut arches = std::collections::BTreeSet::new();
    for d in &domains {
        let text = std::fs::read_to_string(d).unwrap();
        let doc = parse_domain(&text).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        arches.insert(DomainFacts::read(&doc).arch.unwrap_or_default());
    }
    assert!(arches.len() >= 3, "{arches:?}");
}

/// Returns `virsh`'s output after `define` and `dumpxml` of `xml` with the test driver (one process:
/// its state does not outlive it) or the QEMU driver (then undefined again).
fn define_and_dump(xml: &str, name: &str, qemu: bool) -> Result<String, String> {
    let file =
        std::env::temp_dir().join(format!("rtkvm-fidelity-{}-{name}.xml", std::process::id()));
    std::fs::write(&file, xml).unwrap();
    let path = file.to_str().unwrap();
    let run = |uri: &str, command: &str| {
        let out = Command::new("virsh")
            .args(["-c", uri, command])
            .output()
            .expect("virsh (libvirt-clients)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let result = if qemu {
        let (ok, text) = run("qemu:///system", &format!("define {path}"));
        if ok {
            let (ok, dump) = run("qemu:///system", &format!("dumpxml --inactive {name}"));
            let (gone, why) = run("qemu:///system", &format!("undefine --nvram {name}"));
            assert!(gone, "cannot undefine {name}: {why}");
            if ok {
                Ok(dump)
            } else {
                Err(dump)
            }
        } else {
            Err(text)
        }
    } else {
        let (ok, text) = run(
            "test:///default",
            &format!("define {path} ; dumpxml --inactive {name}"),
        );
        if ok {
            Ok(text)
        } else {
            Err(text)
        }
    };
    let _ = std::fs::remove_file(&file);
    result.map(|dump| dump[dump.find("<domain").expect("a domain was dumped")..].to_string())
}

/// Runs libvirt's RelaxNG schema (`virt-xml-validate FILE domain`) on a domain.
fn schema_valid(xml: &str) -> Result<(), String> {
    let file = std::env::temp_dir().join(format!(
        "rtkvm-schema-{}-{:?}.xml",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("virt-xml-validate")
        .args([file.to_str().unwrap(), "domain"])
        .output()
        .expect("virt-xml-validate (libvirt-clients, libxml2-utils)");
    let _ = std::fs::remove_file(&file);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Gives a domain a name of its own and no uuid (tests run in parallel against one daemon), and the
/// type the QEMU driver can run here.
fn renamed(text: &str, name: &str, qemu_type: bool, drop_uuid: bool) -> String {
    let doc = xmltree::parse(text, &|_| Ok(())).unwrap();
    let name_el = doc.root.child("name").unwrap();
    let mut out = String::new();
    let mut edits: Vec<(std::ops::Range<usize>, String)> =
        vec![(name_el.span.clone(), format!("<name>{name}</name>"))];
    if let (Some(uuid), true) = (doc.root.child("uuid"), drop_uuid) {
        edits.push((uuid.span.clone(), String::new()));
    }
    if qemu_type {
        let tag = &text[doc.root.start_tag.clone()];
        edits.push((
            doc.root.start_tag.clone(),
            tag.replacen("'kvm'", "'qemu'", 1)
                .replacen("\"kvm\"", "\"qemu\"", 1),
        ));
    }
    edits.sort_by_key(|e| e.0.start);
    let mut at = 0;
    for (range, with) in edits {
        out.push_str(&text[at..range.start]);
        out.push_str(&with);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The elements and attributes rtkvm owns, by their parent's path below `<domain>`.
fn owned(path: &[&str], e: &Element) -> bool {
    let attr = |n: &str| e.attr(n);
    match path {
        [] => matches!(
            e.name,
            "memory" | "currentMemory" | "vcpu" | "vcpus" | "iothreads"
        ),
        ["cputune"] => matches!(
            e.name,
            "vcpupin" | "emulatorpin" | "iothreadpin" | "vcpusched"
        ),
        ["numatune"] => matches!(e.name, "memory" | "memnode"),
        ["memtune"] => matches!(e.name, "hard_limit" | "swap_hard_limit"),
        ["memoryBacking"] => matches!(e.name, "hugepages" | "locked" | "nosharepages"),
        ["cpu"] => {
            matches!(e.name, "topology" | "model" | "vendor" | "numa")
                || (e.name == "feature" && attr("name") == Some("tsc-deadline"))
        }
        ["features"] => e.name == "pmu",
        ["features", "kvm"] => e.name == "hint-dedicated",
        ["clock"] => e.name == "timer" && matches!(attr("name"), Some("pit" | "rtc" | "hpet")),
        ["devices"] => match e.name {
            "memballoon" | "sound" | "audio" | "graphics" => true,
            "controller" => attr("type") == Some("usb"),
            "input" => attr("type") == Some("tablet") || attr("bus") == Some("usb"),
            "redirdev" | "channel" | "smartcard" | "serial" | "parallel" | "console" => {
                matches!(attr("type"), Some("spicevmc" | "spiceport"))
            }
            _ => false,
        },
        _ => false,
    }
}

/// A canonical form of what rtkvm does not own: sorted attributes, trimmed text, children in order,
/// owned elements and attributes left out, and the containers that leaves empty.
fn unowned(e: &Element, path: &[&str], root: bool, out: &mut String) {
    let mut attrs: Vec<&(&str, std::borrow::Cow<'_, str>)> = e
        .attrs
        .iter()
        .filter(|(k, _)| !(root && *k == "type"))
        .filter(|(k, _)| {
            !(path.is_empty()
                && e.name == "cpu"
                && matches!(*k, "mode" | "migratable" | "match" | "check"))
        })
        .filter(|(k, _)| {
            !(path == ["cpu", "numa"]
                && e.name == "cell"
                && matches!(*k, "cpus" | "memory" | "unit"))
        })
        .collect();
    attrs.sort();
    let mut child_path = path.to_vec();
    if !root {
        child_path.push(e.name);
    }
    // libvirt orders devices itself (controllers by type and index), so they compare as a set.
    let mut children: Vec<String> = e
        .children
        .iter()
        .filter(|c| !owned(&child_path, c))
        .map(|c| {
            let mut one = String::new();
            unowned(c, &child_path, false, &mut one);
            one
        })
        .collect();
    if path.is_empty() && e.name == "devices" {
        children.sort();
    }
    let inner = children.concat();
    let container = matches!(
        (path, e.name),
        (
            [],
            "cputune" | "numatune" | "memtune" | "memoryBacking" | "cpu" | "features" | "clock"
        ) | (["features"], "kvm")
    );
    if container && inner.is_empty() && e.text.trim().is_empty() && attrs.is_empty() {
        return;
    }
    out.push('<');
    out.push_str(e.name);
    for (k, v) in attrs {
        out.push_str(&format!(" {k}={v:?}"));
    }
    out.push('>');
    out.push_str(e.text.trim());
    out.push('\n');
    out.push_str(&inner);
    out.push_str("</>\n");
}

/// The lines only one side has, as `-`/`+` lines (at most 12).
fn line_diff(a: &str, b: &str) -> String {
    let mut only_b: Vec<&str> = b.lines().collect();
    let mut only_a = Vec::new();
    for line in a.lines() {
        match only_b.iter().position(|l| *l == line) {
            Some(i) => {
                only_b.remove(i);
            }
            None => only_a.push(line),
        }
    }
    only_a
        .iter()
        .map(|l| format!("  - {l}"))
        .chain(only_b.iter().map(|l| format!("  + {l}")))
        .take(12)
        .collect::<Vec<_>>()
        .join("\n")
}

fn unowned_of(xml: &str) -> String {
    let doc = xmltree::parse(xml, &|_| Ok(())).unwrap();
    let mut out = String::new();
    unowned(&doc.root, &[], true, &mut out);
    out
}

#[test]
fn every_corpus_domain_is_patched_with_only_what_rtkvm_owns_changed() {
    let mut failures = Vec::new();
    for (i, d) in corpus_domains().iter().enumerate() {
        let label = d.display().to_string();
        let text = std::fs::read_to_string(d).unwrap();
        let doc = parse_domain(&text).unwrap();
        let facts = DomainFacts::read(&doc);
        let host = host_for(facts.arch.as_deref());
        // The patch of the file itself: its diff applied by GNU patch gives it; libvirt's schema
        // accepts it.
        let (patched, _, diff) = patch_with_diff(&text, &host);
        match gnu_patch(doc.text, &diff) {
            Ok(result) if result == patched => {}
            Ok(_) => failures.push(format!(
                "{label}: patch(1) with the diff gives another text"
            )),
            Err(e) => failures.push(format!("{label}: patch(1) refuses the diff: {e}\n{diff}")),
        }
        // Some real domains break libvirt's own schema and still define; those that pass it must
        // still pass it patched.
        if schema_valid(&text).is_ok() {
            if let Err(e) = schema_valid(&patched) {
                failures.push(format!("{label}: libvirt's schema refuses the patch: {e}"));
            }
        }
        let (again, changes) = patch(&patched, &host);
        if again != patched || !changes.is_empty() {
            failures.push(format!("{label}: a second apply changes {changes:?}"));
        }
        // No KVM here for other architectures: the QEMU driver defines them as type='qemu'.
        let x86 = facts.is_x86().unwrap_or(true);
        for qemu in [false, true] {
            let name = format!(
                "rtkvm-fidelity-{}-{i}-{}",
                std::process::id(),
                u8::from(qemu)
            );
            let original = renamed(&text, &name, qemu && !x86, true);
            // libvirt's own round trip is not always a fixed point at once (a virtio console's
            // port moves from 0 to 1 on the second definition): compare from its second dump.
            let a = match define_and_dump(&original, &name, qemu)
                .and_then(|a| define_and_dump(&a, &name, qemu))
            {
                Ok(a) => a,
                Err(e) => {
                    failures.push(format!(
                        "{label}: the original does not define (qemu {qemu}): {e}"
                    ));
                    continue;
                }
            };
            let (b_in, _) = patch(&a, &host);
            let b_in = if qemu && !x86 {
                renamed(&b_in, &name, true, false)
            } else {
                b_in
            };
            match define_and_dump(&b_in, &name, qemu) {
                Ok(b) => {
                    let (ua, ub) = (unowned_of(&a), unowned_of(&b));
                    if ua != ub {
                        if let Some(dir) = std::env::var_os("RTKVM_FIDELITY_DUMP") {
                            let dir = PathBuf::from(dir);
                            std::fs::write(dir.join(format!("{i}-{qemu}-a.txt")), &ua).unwrap();
                            std::fs::write(dir.join(format!("{i}-{qemu}-b.txt")), &ub).unwrap();
                        }
                        failures.push(format!(
                            "{label} (qemu driver {qemu}): more than rtkvm's elements changed:\n{}",
                            line_diff(&ua, &ub)
                        ));
                    }
                }
                Err(e) => failures.push(format!(
                    "{label} (qemu driver {qemu}): libvirt refuses the patched dump: {e}\n{b_in}"
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn rtkvm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rtkvm"))
        .args(args)
        .output()
        .expect("run rtkvm");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture_path(name: &str) -> String {
    common::fixtures()
        .join("domains")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn seed_path() -> String {
    common::fixtures()
        .join("seed-example.xml")
        .to_str()
        .unwrap()
        .to_string()
}

/// Validates a document against `docs/check.schema.json`.
fn assert_check_schema(json: &serde_json::Value, label: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/check.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(json)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{label}: {}", errors.join("\n"));
}

#[test]
fn check_exits_1_with_findings_0_when_clean_and_2_when_unreadable() {
    let guide = fixture_path("guide-example.xml");
    let (status, out, _) = rtkvm(&["check", &guide]);
    assert_eq!(status, 1);
    assert!(
        out.contains("guide-example.xml:9:169: error[vcpusched-unknown-vcpu]"),
        "{out}"
    );
    assert!(out.contains("3 errors, 4 warnings"), "{out}");
    let (status, patched, log) = rtkvm(&["apply", &guide, "--caps", &seed_path()]);
    assert_eq!(status, 0, "{log}");
    // The guide pins its vCPUs as the plan does: only what differs is said.
    assert!(
        log.contains("<cputune>: wrote <iothreadpin>, <vcpusched>"),
        "{log}"
    );
    let file = std::env::temp_dir().join(format!("rtkvm-check-{}.xml", std::process::id()));
    std::fs::write(&file, &patched).unwrap();
    let (status, out, _) = rtkvm(&["check", file.to_str().unwrap(), "--caps", &seed_path()]);
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("no real-time problem found"), "{out}");
    let (status, _, log) = rtkvm(&["apply", file.to_str().unwrap(), "--caps", &seed_path()]);
    assert_eq!(status, 0);
    assert!(
        log.contains("already is as planned; nothing changed"),
        "{log}"
    );
    std::fs::write(&file, "hello").unwrap();
    let (status, out, err) = rtkvm(&["check", file.to_str().unwrap()]);
    assert_eq!((status, out.as_str()), (2, ""));
    assert!(
        err.starts_with("error: ") && err.contains("is not XML"),
        "{err}"
    );
    let _ = std::fs::remove_file(&file);
    let (status, _, err) = rtkvm(&["check", &seed_path()]);
    assert_eq!(status, 2);
    assert!(err.contains("not a KVM domain"), "{err}");
}

#[test]
fn check_and_apply_json_match_their_schema() {
    let desktop = fixture_path("desktop-vm.xml");
    let (status, out, _) = rtkvm(&["check", &desktop, "--format", "json"]);
    assert_eq!(status, 1);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_check_schema(&json, "rtkvm check --format json");
    assert_eq!(json["domain"]["name"], "plc-controller");
    assert_eq!(json["findings"][0]["line"], 1);
    let (status, out, log) = rtkvm(&[
        "apply",
        &desktop,
        "--caps",
        &seed_path(),
        "--format",
        "json",
        "--vcpus",
        "2",
    ]);
    assert_eq!((status, log.as_str()), (0, ""));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_check_schema(&json, "rtkvm apply --format json");
    assert!(json["domain_xml"]
        .as_str()
        .unwrap()
        .contains("<vcpu placement=\"static\">2</vcpu>"));
    assert!(json["remaining"].as_array().unwrap().is_empty(), "{json}");
}

#[test]
fn the_schema_and_readme_list_every_finding_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("docs/check.schema.json")).unwrap(),
    )
    .unwrap();
    let listed: Vec<&str> = schema["$defs"]["finding"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let codes: Vec<&str> = FindingCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, codes);
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for code in codes {
        assert!(
            readme.contains(&format!("`{code}`")),
            "README.md does not explain {code}"
        );
    }
}

#[test]
fn apply_keeps_the_domains_name_and_rounds_its_memory_up_to_whole_pages() {
    let text = fixture("desktop-vm.xml").replace(
        "<memory unit=\"KiB\">8388608</memory>",
        "<memory unit=\"MiB\">7000</memory>",
    );
    let doc = parse_domain(&text).unwrap();
    let facts = DomainFacts::read(&doc);
    let host = seed_host();
    let mut settings = Settings::default();
    let notes = settings_for_domain(&facts, &host, &mut settings, Given::default()).unwrap();
    assert_eq!(settings.guest.name, "plc-controller");
    assert_eq!(settings.guest.memory.0, 7 * 1024 * 1024);
    assert_eq!(
        notes,
        vec!["memory rounded up from 6.8 GiB to 7 GiB, a whole number of 1 GiB pages"]
    );
}

#[test]
fn the_benchmarks_1_mb_domain_is_one_libvirt_defines_and_the_patch_too() {
    let text = synthetic::synthetic_domain(1 << 20);
    assert!(text.len() >= 1 << 20);
    let host = seed_host();
    let (patched, changes) = patch(&text, &host);
    assert!(changes.len() >= 8, "{changes:?}");
    for (xml, label) in [(&text, "the 1 MB domain"), (&patched, "its patch")] {
        let out = Command::new("virsh")
            .args(["-c", "test:///default", "define", "/dev/stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(xml.as_bytes())?;
                child.wait_with_output()
            })
            .expect("virsh");
        assert!(
            out.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Patches a domain as `rtkvm apply --vcpus N` does when `vcpus` is given.
fn patch_vcpus(text: &str, host: &Host, vcpus: Option<u32>) -> (String, Vec<String>) {
    let doc = parse_domain(text).unwrap();
    let facts = DomainFacts::read(&doc);
    let mut settings = Settings::default();
    if let Some(n) = vcpus {
        settings.guest.vcpus = n;
    }
    let given = Given {
        vcpus: vcpus.is_some(),
        ..Given::default()
    };
    settings_for_domain(&facts, host, &mut settings, given).unwrap();
    let plan = rtkvm_core::plan(host, &settings).unwrap();
    let applied = apply(&doc, host, &plan);
    let changes = applied.changes.iter().map(|c| c.to_string()).collect();
    (applied.xml, changes)
}

/// The UEFI q35 VM with two guest NUMA nodes of `cell_kib` each, with their distances.
fn two_cells(cell_kib: u64) -> String {
    let cell = |id: u32, cpus: &str, near: u32| {
        format!(
            "      <cell id='{id}' cpus='{cpus}' memory='{cell_kib}' unit='KiB'>\n        <distances>\n          <sibling id='0' value='{}'/>\n          <sibling id='1' value='{}'/>\n        </distances>\n      </cell>\n",
            if near == 0 { 10 } else { 21 },
            if near == 1 { 10 } else { 21 }
        )
    };
    let total = 2 * cell_kib;
    fixture("q35-uefi-vm.xml")
        .replace("8388608", &total.to_string())
        .replace(
            "<cpu mode='host-passthrough' check='none' migratable='on'/>",
            &format!(
                "<cpu mode='host-passthrough' check='none' migratable='on'>\n    <numa>\n{}{}    </numa>\n  </cpu>",
                cell(0, "0-1", 0),
                cell(1, "2-3", 1)
            ),
        )
}

#[test]
fn a_usb_serial_port_keeps_the_usb_controller_libvirt_needs_for_it() {
    let text = fixture("q35-uefi-vm.xml").replace(
        "    <console type='pty'>",
        "    <serial type='pty'>\n      <target type='usb-serial' port='1'>\n        <model name='usb-serial'/>\n      </target>\n    </serial>\n    <console type='pty'>",
    );
    let host = seed_host();
    let (patched, _) = patch(&text, &host);
    assert!(patched.contains("<target type='usb-serial' port='1'>"));
    assert!(patched.contains("model='qemu-xhci'"), "{patched}");
    assert!(
        !patched.contains("<controller type=\"usb\" model=\"none\""),
        "{patched}"
    );
    common::assert_libvirt_accepts(&patched, "a VM with a USB serial port, patched");
    // Without it, the controller goes.
    let (plain, _) = patch(&fixture("q35-uefi-vm.xml"), &host);
    assert!(
        plain.contains("<controller type=\"usb\" model=\"none\"/>"),
        "{plain}"
    );
    common::assert_libvirt_accepts(&plain, "the UEFI q35 VM, patched");
}

#[test]
fn cells_removed_take_their_distances_with_them() {
    let host = seed_host();
    let (patched, changes) = patch_vcpus(&two_cells(4 * 1024 * 1024), &host, Some(1));
    assert!(!patched.contains("<cell id='1'"), "{patched}");
    assert!(!patched.contains("<sibling id='1'"), "{patched}");
    assert!(
        patched.contains("<sibling id='0' value='10'/>"),
        "{patched}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c.contains("removed") && c.contains("<sibling>")),
        "{changes:?}"
    );
    common::assert_libvirt_accepts(&patched, "a VM of two guest nodes shrunk to one vCPU");
}

#[test]
fn guest_nodes_are_made_whole_pages_and_check_says_why() {
    // 3 GiB in two guest nodes of 1.5 GiB: on 1 GiB pages QEMU would take 2 for each.
    let text = two_cells(1536 * 1024);
    let host = seed_host();
    let part = partition(&host, &Settings::default()).unwrap().host;
    let (patched, _) = patch(&text, &host);
    assert!(
        patched.contains("<cell id=\"0\" cpus=\"0-1\" memory=\"2097152\" unit=\"KiB\">"),
        "{patched}"
    );
    assert!(
        patched.contains("<cell id=\"1\" cpus=\"2-3\" memory=\"1048576\" unit=\"KiB\">"),
        "{patched}"
    );
    common::assert_libvirt_accepts(&patched, "a VM whose guest nodes were made whole pages");
    let with_pages = text.replace(
        "  <vcpu",
        "  <memoryBacking>\n    <hugepages>\n      <page size='1' unit='G'/>\n    </hugepages>\n  </memoryBacking>\n  <vcpu",
    );
    let report = check(&parse_domain(&with_pages).unwrap(), None, None);
    let split: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.element == "cpu/numa/cell")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(
        split,
        [
            "guest NUMA node 0 has 1.5 GiB, not a whole number of 1 GiB pages: QEMU rounds it up to 2 pages",
            "guest NUMA node 1 has 1.5 GiB, not a whole number of 1 GiB pages: QEMU rounds it up to 2 pages",
        ]
    );
    let after = check(
        &parse_domain(&patched).unwrap(),
        Some(HostContext {
            host: &host,
            partition: &part,
        }),
        None,
    );
    assert!(after.findings.iter().all(|f| f.element != "cpu/numa/cell"));
}

#[test]
fn the_vcpus_online_at_boot_are_kept_while_their_count_is() {
    let text = fixture("q35-uefi-vm.xml").replace(
        "<vcpu placement='static'>4</vcpu>",
        "<vcpu placement='static' current='2'>4</vcpu>",
    );
    let host = seed_host();
    let (patched, _) = patch(&text, &host);
    assert!(
        patched.contains("<vcpu placement='static' current='2'>4</vcpu>"),
        "{patched}"
    );
    assert!(
        patched.contains("<vcpupin vcpu=\"3\""),
        "every vCPU is pinned:\n{patched}"
    );
    common::assert_libvirt_accepts(&patched, "a VM with 2 of 4 vCPUs online, patched");
    let (resized, _) = patch_vcpus(&text, &host, Some(3));
    assert!(
        resized.contains("<vcpu placement=\"static\">3</vcpu>"),
        "{resized}"
    );
}

#[test]
fn a_domain_of_another_architecture_than_the_host_is_refused() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/domains/libvirt/aarch64-virt-headless.xml"),
    )
    .unwrap();
    let facts = DomainFacts::read(&parse_domain(&text).unwrap());
    let mut settings = Settings::default();
    let refused = settings_for_domain(&facts, &seed_host(), &mut settings, Given::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        refused,
        "this domain's architecture is aarch64 (<os><type arch='aarch64'>), the host's in the capabilities is x86_64: check and patch a domain with the capabilities of the host it runs on"
    );
    // A 32-bit x86 guest runs on an x86_64 host.
    let i686 = fixture("q35-uefi-vm.xml").replace("arch='x86_64'", "arch='i686'");
    let facts = DomainFacts::read(&parse_domain(&i686).unwrap());
    assert!(settings_for_domain(&facts, &seed_host(), &mut settings, Given::default()).is_ok());
}

#[test]
fn two_kept_domains_on_one_core_are_told_so() {
    let host = seed_host();
    let (placed, _) = patch(&fixture("q35-uefi-vm.xml"), &host);
    let dir = std::env::temp_dir().join(format!("rtkvm-kept-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("plc.xml"), dir.join("plc2.xml"));
    std::fs::write(&a, &placed).unwrap();
    std::fs::write(
        &b,
        placed
            .replace("<name>plc</name>", "<name>plc2</name>")
            .replace("<uuid>3f1b6a8e", "<uuid>4f1b6a8e"),
    )
    .unwrap();
    let (code, _, err) = rtkvm(&[
        "plan",
        &seed_path(),
        "--domain",
        a.to_str().unwrap(),
        "--domain",
        b.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("error: plc2's vCPU 0 runs on host CPU 12, on a core that guest plc of this plan already runs on: move it with rtkvm apply --node or --vcpus"),
        "{err}"
    );
}

#[test]
fn a_domains_own_real_time_scheduling_is_kept_unless_the_settings_give_one() {
    let host = seed_host();
    let (placed, _) = patch(&fixture("q35-uefi-vm.xml"), &host);
    let rr = placed.replace(
        "<vcpusched vcpus=\"1-3\" scheduler=\"fifo\" priority=\"1\"/>",
        "<vcpusched vcpus=\"0-3\" scheduler=\"rr\" priority=\"10\"/>",
    );
    assert_ne!(rr, placed);
    let facts = DomainFacts::read(&parse_domain(&rr).unwrap());
    let mut settings = Settings::default();
    let notes = settings_for_domain(&facts, &host, &mut settings, Given::default()).unwrap();
    assert_eq!(
        notes[1],
        "kept its vCPUs' real-time scheduling: rr priority 10 on vCPUs 0-3; --rt-vcpus, --scheduler or --priority changes it"
    );
    let plan = rtkvm_core::plan(&host, &settings).unwrap();
    let doc = parse_domain(&rr).unwrap();
    let applied = apply(&doc, &host, &plan);
    assert_eq!(
        applied.xml, rr,
        "a placed domain with its own scheduling is left as it is"
    );
    // The kernel threads go above its priority.
    assert!(plan.host.kthreads.ksoftirqd > 10);
    // A setting given replaces it.
    let mut settings = Settings::default();
    settings.guest.priority = 5;
    let given = Given {
        realtime: true,
        ..Given::default()
    };
    settings_for_domain(&facts, &host, &mut settings, given).unwrap();
    assert_eq!(settings.guest.priority, 5);
    let applied = apply(&doc, &host, &rtkvm_core::plan(&host, &settings).unwrap());
    assert!(applied
        .xml
        .contains("<vcpusched vcpus=\"1-3\" scheduler=\"fifo\" priority=\"5\"/>"));
    // libvirt's guide's vcpus='0-4' on 4 vCPUs names a vCPU the guest lacks: the defaults apply.
    let guide = fixture("guide-example.xml");
    let facts = DomainFacts::read(&parse_domain(&guide).unwrap());
    assert_eq!(facts.vcpusched, None);
}

#[test]
fn cache_allocations_of_vcpus_the_guest_loses_go_with_them() {
    let text = fixture("q35-uefi-vm.xml").replace(
        "  <os>",
        "  <cputune>\n    <cachetune vcpus='0-1'>\n      <cache id='0' level='3' type='both' size='2' unit='MiB'/>\n    </cachetune>\n    <cachetune vcpus='2-3'>\n      <cache id='0' level='3' type='both' size='2' unit='MiB'/>\n    </cachetune>\n  </cputune>\n  <os>",
    );
    let (patched, changes) = patch_vcpus(&text, &seed_host(), Some(2));
    assert!(patched.contains("<cachetune vcpus='0-1'>"), "{patched}");
    assert!(!patched.contains("<cachetune vcpus='2-3'>"), "{patched}");
    assert!(
        changes
            .iter()
            .any(|c| c.contains("removed <cachetune> (line 11)")),
        "{changes:?}"
    );
}
