//! The `rtkvm` command line as scripts use it: formats, stdin, exit codes and the JSON contract.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::{assert_libvirt_accepts, fixtures};

fn rtkvm(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rtkvm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rtkvm");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or_default()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn seed() -> String {
    fixtures().join("seed-example.xml").display().to_string()
}

#[test]
fn json_carries_the_documented_contract() {
    let out = rtkvm(&["plan", &seed(), "--format", "json"], None);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["host"]["isolcpus"], "2-7,10-15");
    assert_eq!(v["host"]["housekeeping"], "0-1,8-9");
    assert!(v["host"]["kernel_cmdline"]
        .as_str()
        .unwrap()
        .starts_with("isolcpus=managed_irq,domain,2-7,10-15 "));
    assert_eq!(
        v["host"]["hugepages"],
        serde_json::json!([
            {"node": 0, "page_size_kib": 1048576, "count": 26},
            {"node": 1, "page_size_kib": 1048576, "count": 26}
        ])
    );
    assert_eq!(v["guest"]["name"], "rt-guest");
    assert_eq!(v["guest"]["node"], 1);
    assert_eq!(v["guest"]["vcpus"], 4);
    assert_eq!(v["guest"]["memory_kib"], 16777216);
    assert_eq!(v["guest"]["vcpupin"], serde_json::json!([12, 13, 14, 15]));
    assert_eq!(v["guest"]["emulatorpin"], "8-9");
    // vCPU 0 is the guest's housekeeping vCPU by default.
    assert_eq!(v["guest"]["rt_vcpus"], "1-3");
    assert!(v["domain_xml"]
        .as_str()
        .unwrap()
        .starts_with("<domain type=\"kvm\">"));
    assert_eq!(v["version"], 1);
    assert_eq!(v["recipe"], 4);
    assert_eq!(v["warnings"], serde_json::json!([]));
    // libvirt's guide's setting is one flag away, and warned about.
    let out = rtkvm(
        &["plan", &seed(), "--rt-vcpus", "all", "--format", "json"],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["guest"]["rt_vcpus"], "0-3");
    assert_eq!(v["warnings"][0]["code"], "rt-on-every-vcpu");
    assert!(v["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no housekeeping vCPU"));
}

#[test]
fn reads_stdin_with_dash_or_no_file() {
    let xml = std::fs::read(fixtures().join("seed-example.xml")).unwrap();
    let a = rtkvm(&["plan", "--format", "cmdline"], Some(&xml));
    let b = rtkvm(&["plan", "-", "--format", "cmdline"], Some(&xml));
    let c = rtkvm(&["plan", &seed(), "--format", "cmdline"], None);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.stdout, c.stdout);
    assert_eq!(
        String::from_utf8(a.stdout).unwrap(),
        "isolcpus=managed_irq,domain,2-7,10-15 nohz=on nohz_full=2-7,10-15 rcu_nocbs=2-7,10-15 rcutree.kthread_prio=4 rcupdate.rcu_normal_after_boot=1 rcutree.nohz_full_patience_delay=1000 irqaffinity=0-1,8-9 skew_tick=1 intel_iommu=on iommu=pt tsc=reliable nosoftlockup nmi_watchdog=0 mce=ignore_ce intel_pstate=disable processor.max_cstate=1 intel_idle.max_cstate=0 kvm.kvmclock_periodic_sync=N kvm_intel.ple_gap=0 transparent_hugepage=never default_hugepagesz=1G hugepagesz=1G hugepages=52\n"
    );
}

#[test]
fn every_flag_reaches_the_plan() {
    let out = rtkvm(
        &[
            "plan",
            &seed(),
            "--vcpus",
            "2",
            "--memory",
            "4G",
            "--node",
            "0",
            "--host-cpus",
            "1",
            "--host-memory",
            "4G",
            "--page-size",
            "2M",
            "--name",
            "plc-1",
            "--rt-vcpus",
            "^0",
            "--scheduler",
            "rr",
            "--priority",
            "50",
            "--preset",
            "minimal",
            "--format",
            "json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["host"]["isolcpus"], "1-7,9-15");
    assert_eq!(
        v["host"]["kernel_cmdline"],
        "isolcpus=1-7,9-15 default_hugepagesz=2M hugepagesz=2M hugepages=28672"
    );
    assert_eq!(v["guest"]["node"], 0);
    assert_eq!(v["guest"]["vcpupin"], serde_json::json!([1, 2]));
    assert_eq!(v["guest"]["rt_vcpus"], "1");
    let xml = v["domain_xml"].as_str().unwrap();
    assert!(xml.contains(r#"<vcpusched vcpus="1" scheduler="rr" priority="50"/>"#));
    assert!(xml.contains("<name>plc-1</name>"));
    assert_libvirt_accepts(xml, "the CLI flags plan");
}

#[test]
fn xml_and_hugepages_formats_print_the_files() {
    let xml = rtkvm(&["plan", &seed(), "--format", "xml"], None);
    assert!(xml.status.success());
    assert_libvirt_accepts(&String::from_utf8(xml.stdout).unwrap(), "--format xml");
    let sh = rtkvm(&["plan", &seed(), "--format", "hugepages"], None);
    let sh = String::from_utf8(sh.stdout).unwrap();
    assert!(sh.starts_with("#!/bin/sh\n"));
    assert!(sh.contains("check 1 26"));
}

#[test]
fn guest_os_formats_print_the_guest_files() {
    let out = |format: &str| {
        let o = rtkvm(&["plan", &seed(), "--format", format], None);
        assert!(o.status.success(), "{format}");
        String::from_utf8(o.stdout).unwrap()
    };
    assert!(out("guest-cmdline").starts_with("isolcpus=managed_irq,domain,1-3 "));
    assert!(out("guest-tuned").contains("\nisolated_cores=1-3\n"));
    assert!(out("guest-setup").starts_with("#!/bin/sh\n"));
    assert!(out("latency-test").contains("cyclictest "));
}

#[test]
fn bad_input_exits_2_with_an_error_line() {
    for (input, expected) in [
        (&b""[..], "error: the input is empty"),
        (
            b"<capabilities><host>",
            "error: the XML is broken at line 1",
        ),
        (b"<domainCapabilities/>", "virsh domcapabilities"),
        (b"\xff\xfe<\x00c\x00", "UTF-16"),
    ] {
        let out = rtkvm(&["plan"], Some(input));
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(expected), "{err}");
        assert!(out.stdout.is_empty());
    }
    let out = rtkvm(&["plan", &seed(), "--vcpus", "7", "--node", "1"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: node 1 has 6 isolated cores, the guest needs 7 (one core per vCPU)\n"
    );
    let out = rtkvm(&["plan", "/nonexistent/caps.xml"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = rtkvm(&["plan", &seed(), "--memory", "16"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn example_round_trips_through_plan() {
    let example = rtkvm(&["example"], None);
    assert!(example.status.success());
    let text = rtkvm(&["plan"], Some(&example.stdout));
    assert!(text.status.success());
    assert!(String::from_utf8(text.stdout)
        .unwrap()
        .contains("vCPU 0 -> host CPU 12"));
}

/// A share link stands for its plan: `rtkvm plan --link` prints any format of it, the same bytes
/// as from the capabilities and the flags the link was made with (the runbook tells the page's
/// users to get rtkvm-check.sh this way), and refuses settings flags beside it.
#[test]
fn a_share_link_prints_its_plan_in_any_format() {
    let seed = seed();
    let flags = ["--vcpus", "5", "--priority", "5", "--emulator", "isolate"];
    let with_caps = |format: &str| {
        let mut args = vec!["plan", seed.as_str()];
        args.extend(flags);
        args.extend(["--format", format]);
        rtkvm(&args, None)
    };
    let made = with_caps("link");
    assert!(made.status.success(), "{made:?}");
    let link = String::from_utf8(made.stdout).unwrap();
    let link = link.trim();
    for format in ["check-script", "xml", "cmdline", "tuned", "json"] {
        let from_link = rtkvm(&["plan", "--link", link, "--format", format], None);
        assert!(from_link.status.success(), "{format}: {from_link:?}");
        assert_eq!(
            String::from_utf8(from_link.stdout).unwrap(),
            String::from_utf8(with_caps(format).stdout).unwrap(),
            "{format}"
        );
    }
    for (extra, flag) in [
        ("--vcpus", "--vcpus"),
        ("--guest", "--guest"),
        ("--kernel-type", "--kernel-type"),
    ] {
        let value = if extra == "--kernel-type" {
            "generic"
        } else {
            "2"
        };
        let out = rtkvm(&["plan", "--link", link, extra, value], None);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains(&format!("{flag} does not go with --link")),
            "{err}"
        );
    }
    let out = rtkvm(&["plan", &seed, "--link", link], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_matches_the_schema_for_every_fixture_and_flag() {
    let mut fixtures_seen = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue; // domains/: existing domains for check and apply
        }
        common::cli_json(&path, &[]);
        fixtures_seen += 1;
    }
    assert!(fixtures_seen >= 4);
    let seed = fixtures().join("seed-example.xml");
    for args in [
        &["--rt-vcpus", "none"][..],
        &["--rt-vcpus", "^0", "--vcpus", "5", "--scheduler", "rr"],
        &["--housekeeping", "0-3,8-11", "--preset", "minimal"],
        &[
            "--page-size",
            "2M",
            "--host-memory",
            "4G",
            "--host-cpus",
            "1",
        ],
        &["--name", "plc <1> & co", "--node", "0", "--priority", "99"],
    ] {
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        common::cli_json(&seed, &args);
    }
}

#[test]
fn runtime_gigantic_pages_is_printed_as_documented() {
    // The seed example with node 0's memory cut to 5 GiB: node 0 gets no 1 GiB pages, node 1 gets 26.
    let xml = std::fs::read_to_string(fixtures().join("seed-example.xml")).unwrap();
    let xml = xml.replacen(
        "<memory unit='KiB'>33554432</memory>",
        "<memory unit='KiB'>5242880</memory>",
        1,
    );
    let codes = |v: &serde_json::Value| -> Vec<String> {
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["code"].as_str().unwrap().to_string())
            .collect()
    };
    // Linux 5.16 and later reserve each node's count at boot: nothing is left for runtime.
    let out = rtkvm(&["plan", "--format", "json"], Some(xml.as_bytes()));
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_matches_schema(&v, "the uneven seed example");
    assert_eq!(codes(&v), ["host-memory-low"]);
    assert!(v["host"]["kernel_cmdline"]
        .as_str()
        .unwrap()
        .ends_with(" hugepages=0:0,1:26"));
    assert_eq!(v["host"]["hugepage_settings"]["runtime"], false);
    // RHEL 9's kernel cannot: the boot unit tops node 1 up at runtime, and that is warned about.
    let out = rtkvm(
        &["plan", "--kernel", "rhel9", "--format", "json"],
        Some(xml.as_bytes()),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_matches_schema(&v, "the uneven seed example on RHEL 9");
    assert_eq!(codes(&v), ["runtime-gigantic-pages", "host-memory-low"]);
    assert_eq!(v["host"]["hugepage_settings"]["runtime"], true);
    let text = rtkvm(&["plan", "--kernel", "rhel9"], Some(xml.as_bytes()));
    assert!(String::from_utf8(text.stdout)
        .unwrap()
        .contains("[runtime-gigantic-pages]"));
}

#[test]
fn readme_and_schema_list_the_warning_codes_as_the_json_prints_them() {
    use rtkvm_core::plan::WarningCode;
    let codes: Vec<&str> = WarningCode::ALL.iter().map(|c| c.as_str()).collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("\nWarning codes")
        .expect("the README has a paragraph starting 'Warning codes'");
    let paragraph = readme[start..].split("\n\n").next().unwrap();
    let paragraph = paragraph
        .split_once("): ")
        .expect("the codes follow '): '")
        .1;
    let listed: Vec<&str> = paragraph.split('`').skip(1).step_by(2).collect();
    assert_eq!(listed, codes, "README.md's warning codes");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("docs/plan.schema.json")).unwrap())
            .unwrap();
    let in_schema = &schema["$defs"]["warnings"]["items"]["properties"]["code"]["enum"];
    assert_eq!(
        in_schema,
        &serde_json::json!(codes),
        "the schema's warning codes"
    );
}

#[test]
fn several_guests_are_written_with_guest_and_refused_beside_the_one_guest_flags() {
    let guests = [
        "--guest",
        "name=plc-a,vcpus=4,memory=8G",
        "--guest",
        "name=plc-b,vcpus=2,memory=4G,node=1",
    ];
    let mut args = vec!["plan", seed_str(), "--format", "json"];
    args.extend(guests);
    let out = rtkvm(&args, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_matches_schema(&v, "two guests");
    let names: Vec<&str> = v["guests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["plc-a", "plc-b"]);
    // `guest` and `domain_xml` keep meaning the first guest.
    assert_eq!(v["guest"]["name"], "plc-a");
    assert_eq!(v["domain_xml"], v["guests"][0]["domain_xml"]);
    // The one-guest flags do not mix with --guest, and the message says how to write it.
    let mut mixed = vec!["plan", seed_str(), "--vcpus", "2"];
    mixed.extend(guests);
    let out = rtkvm(&mixed, None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--vcpus is a one-guest flag and does not mix with --guest: write every guest, the first one too, as --guest name=NAME"), "{err}");
    // A share link (v7) carries every guest and opens to the same plan.
    let mut link = vec!["plan", seed_str(), "--format", "link"];
    link.extend(guests);
    let out = rtkvm(&link, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = String::from_utf8(out.stdout).unwrap();
    assert!(link.starts_with("#v7."), "{link}");
    let shared = rtkvm_core::link::decode_link(&link).unwrap();
    let names: Vec<&str> = shared.settings.guests().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["plc-a", "plc-b"]);
    // The bundle: each guest's files in its folder.
    let dir = std::env::temp_dir().join(format!("rtkvm-guests-{}", std::process::id()));
    let dir_text = dir.display().to_string();
    let mut bundle = vec!["plan", seed_str(), "--format", "bundle", "--out", &dir_text];
    bundle.extend(guests);
    let out = rtkvm(&bundle, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        "plc-a/plc-a.xml",
        "plc-b/guest-setup.sh",
        "rtkvm-host.sh",
        "README.md",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    // The README's link is the plan's, every guest in it.
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!(
            "opens in the rtkvm app with this link fragment: `{}`",
            link.trim()
        )),
        "{readme}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn seed_str() -> &'static str {
    Box::leak(seed().into_boxed_str())
}

/// Runs rtkvm in `dir`, so that the file names in its messages are the relative ones given.
fn rtkvm_in(dir: &std::path::Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rtkvm"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rtkvm");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or_default()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// A directory of its own for one test, with the example host as `caps.xml`, SEAPATH's VM kept in
/// place as `guest1.xml`, and the same VM named `guest2` (on the same CPUs) as `guest2.xml`.
fn domain_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rtkvm-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixtures().join("seed-example.xml"), dir.join("caps.xml")).unwrap();
    let kept = std::fs::read_to_string(fixtures().join("domains/seapath-kept.xml")).unwrap();
    std::fs::write(dir.join("guest1.xml"), &kept).unwrap();
    std::fs::write(
        dir.join("guest2.xml"),
        kept.replace("<name>guest1</name>", "<name>guest2</name>"),
    )
    .unwrap();
    dir
}

fn guest_names(json: &serde_json::Value) -> Vec<&str> {
    json["guests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect()
}

/// `rtkvm plan --domain FILE`: an existing domain is one of the plan's guests, its name, vCPUs and
/// memory its own, kept where it already runs as real time needs; the guests are in the order given
/// on the command line, `--guest` and `--domain` mixed, and the share link reproduces the plan.
#[test]
fn plan_domain_makes_an_existing_vm_one_of_the_guests() {
    let dir = domain_dir("plan-domain");
    let args = [
        "plan",
        "caps.xml",
        "--guest",
        "name=plc-a,vcpus=4,memory=8G",
        "--domain",
        "guest1.xml",
        "--guest",
        "name=plc-b,vcpus=2,memory=4G,node=0",
        "--format",
        "json",
    ];
    let out = rtkvm_in(&dir, &args, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr,
        "rtkvm: guest1.xml (guest1): kept where it runs, as real time needs: vCPUs on host CPUs 4-5 of node 0, emulator threads on 3 (an isolated core of their own); rtkvm apply --node or --vcpus moves it\nrtkvm: guest1.xml (guest1): kept its vCPUs' real-time scheduling: fifo priority 1 on vCPUs 0-1; rtkvm apply --rt-vcpus, --scheduler or --priority changes it\n"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_matches_schema(&v, "a domain among guests");
    assert_eq!(guest_names(&v), ["plc-a", "guest1", "plc-b"]);
    let kept = &v["guests"][1];
    assert_eq!(kept["node"], 0);
    assert_eq!(kept["vcpupin"], serde_json::json!([4, 5]));
    assert_eq!(kept["emulatorpin"], "3");
    assert_eq!(kept["memory_kib"], 2 * 1024 * 1024);
    for g in v["guests"].as_array().unwrap() {
        assert_libvirt_accepts(
            g["domain_xml"].as_str().unwrap(),
            "a guest beside a kept domain",
        );
    }
    // Domains first when they are given first.
    let out = rtkvm_in(
        &dir,
        &[
            "plan",
            "caps.xml",
            "--domain",
            "guest1.xml",
            "--guest",
            "name=plc-a",
            "--format",
            "json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(guest_names(&v), ["guest1", "plc-a"]);
    // One domain alone is a plan of one guest.
    let out = rtkvm_in(
        &dir,
        &[
            "plan",
            "caps.xml",
            "--domain",
            "guest1.xml",
            "--format",
            "xml",
        ],
        None,
    );
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(
        xml.contains("<name>guest1</name>") && xml.contains(r#"<emulatorpin cpuset="3"/>"#),
        "{xml}"
    );
    // The link carries the kept placement, not the domain, and opens to the same plan.
    let mut link_args = args.to_vec();
    *link_args.last_mut().unwrap() = "link";
    let out = rtkvm_in(&dir, &link_args, None);
    let link = String::from_utf8(out.stdout).unwrap();
    let shared = rtkvm_core::link::decode_link(&link).unwrap();
    let keep = shared.settings.others[0]
        .keep
        .as_ref()
        .expect("the placement travels");
    assert_eq!(keep.vcpupin, [4, 5]);
    let plan = rtkvm_core::plan(&shared.host, &shared.settings).unwrap();
    assert_eq!(plan.others[0].vcpupin, [4, 5]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What `rtkvm plan --domain` says when it cannot plan, each with the file and the way out.
#[test]
fn plan_domain_errors_name_the_file_and_the_way_out() {
    let dir = domain_dir("plan-domain-errors");
    let caps = std::fs::read(dir.join("caps.xml")).unwrap();
    let cases: [(&[&str], Option<&[u8]>); 7] = [
        (&["--domain", "caps.xml"], None),
        (&["--domain", "missing.xml"], None),
        (&["--domain", "guest1.xml", "--domain", "guest1.xml"], None),
        (
            &["--domain", "guest1.xml", "--guest", "name=guest1,vcpus=2"],
            None,
        ),
        (&["--domain", "guest1.xml", "--vcpus", "3"], None),
        (&["--domain", "guest1.xml", "--domain", "guest2.xml"], None),
        (&["--domain", "-"], Some(&caps)),
    ];
    let mut report = String::new();
    for (flags, stdin) in cases {
        let mut args = vec!["plan"];
        if stdin.is_none() {
            args.push("caps.xml");
        }
        args.extend(flags);
        let out = rtkvm_in(&dir, &args, stdin);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        report.push_str(&format!(
            "$ rtkvm {}\n{}\n",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    insta::assert_snapshot!("plan_domain_errors", report);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The `vcpupin` CPUs and the `emulatorpin` of a domain XML, in order.
fn pins(xml: &str) -> (Vec<u32>, String) {
    let doc = rtkvm_core::existing::parse_domain(xml).unwrap();
    let facts = rtkvm_core::existing::DomainFacts::read(&doc);
    let vcpupin = facts
        .vcpupin
        .iter()
        .map(|pin| pin.as_ref().and_then(|set| set.first()).unwrap())
        .collect();
    (
        vcpupin,
        facts.emulatorpin.map(|e| e.to_string()).unwrap_or_default(),
    )
}

/// `rtkvm apply DOMAIN --guest …`: the domain is patched with its own guest's plan among several,
/// the one named like it or the one a bare `--guest NAME` chooses, placed as `rtkvm plan` places it.
#[test]
fn apply_patches_a_domain_with_its_guest_of_several() {
    let dir = domain_dir("apply-guest");
    std::fs::copy(
        fixtures().join("domains/desktop-vm.xml"),
        dir.join("desktop.xml"),
    )
    .unwrap();
    let guests = [
        "--guest",
        "name=plc-a,vcpus=4,memory=8G",
        "--guest",
        "name=guest1",
        "--guest",
        "name=hmi,vcpus=2,memory=2G,emulator=isolate",
    ];
    // guest1.xml is guest1: kept where it runs, the others placed around it as rtkvm plan does.
    let mut args = vec!["apply", "guest1.xml", "--caps", "caps.xml"];
    args.extend(guests);
    let out = rtkvm_in(&dir, &args, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let mut notes = stderr.lines().take(2);
    assert_eq!(
        notes.next(),
        Some("rtkvm: patched with the plan of guest guest1, one of 3 (plc-a, guest1, hmi)")
    );
    assert_eq!(
        notes.next(),
        Some("rtkvm: kept where it runs, as real time needs: vCPUs on host CPUs 4-5 of node 0, emulator threads on 3 (an isolated core of their own); node= or vcpus= in its --guest moves it")
    );
    let patched = String::from_utf8(out.stdout).unwrap();
    assert_eq!(pins(&patched), (vec![4, 5], "3".to_string()));
    assert_libvirt_accepts(&patched, "guest1 patched among three guests");
    let planned = rtkvm_in(
        &dir,
        &[
            "plan",
            "caps.xml",
            "--guest",
            guests[1],
            "--domain",
            "guest1.xml",
            "--guest",
            guests[5],
            "--format",
            "json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&planned.stdout).unwrap();
    assert_eq!(v["guests"][1]["vcpupin"], serde_json::json!([4, 5]));
    // desktop.xml (plc-controller) is none of them: --guest hmi chooses hmi's plan, which its spec
    // gives whole; the domain keeps its name.
    let two = [guests[0], guests[1], guests[4], guests[5]];
    let mut args = vec![
        "apply",
        "desktop.xml",
        "--caps",
        "caps.xml",
        "--format",
        "json",
    ];
    args.extend(two);
    args.extend(["--guest", "hmi"]);
    let out = rtkvm_in(&dir, &args, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let patched = v["domain_xml"].as_str().unwrap();
    assert!(patched.contains("<name>plc-controller</name>"), "{patched}");
    assert_eq!(
        v["notes"][0],
        "patched with the plan of guest hmi, one of 2 (plc-a, hmi)"
    );
    let mut plan_args = vec!["plan", "caps.xml", "--format", "json"];
    plan_args.extend(two);
    let planned = rtkvm_in(&dir, &plan_args, None);
    let plan: serde_json::Value = serde_json::from_slice(&planned.stdout).unwrap();
    let hmi = &plan["guests"][1];
    let (vcpupin, emulatorpin) = pins(patched);
    assert_eq!(serde_json::json!(vcpupin), hmi["vcpupin"]);
    assert_eq!(serde_json::json!(emulatorpin), hmi["emulatorpin"]);
    assert!(
        patched.contains(r#"<memory unit="KiB">2097152</memory>"#),
        "{patched}"
    );
    assert_libvirt_accepts(patched, "a domain patched with hmi's plan");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What `rtkvm apply --guest` says when it cannot choose the domain's guest, and a bare name where a
/// guest is written.
#[test]
fn apply_guest_errors_say_which_guests_there_are() {
    let dir = domain_dir("apply-guest-errors");
    let two = "--guest name=plc-a,vcpus=4,memory=8G --guest name=hmi,vcpus=2,memory=2G";
    let cases = [
        format!("apply guest1.xml --caps caps.xml {two}"),
        format!("apply guest1.xml --caps caps.xml {two} --guest nope"),
        format!("apply guest1.xml --caps caps.xml {two} --guest name=guest1 --guest hmi"),
        format!("apply guest1.xml --caps caps.xml {two} --guest hmi --guest plc-a"),
        "apply guest1.xml --caps caps.xml --guest hmi".to_string(),
        format!("plan caps.xml {two} --guest hmi"),
        "check guest1.xml --caps caps.xml --guest name=guest1".to_string(),
    ];
    let mut report = String::new();
    for case in &cases {
        let args: Vec<&str> = case.split(' ').collect();
        let out = rtkvm_in(&dir, &args, None);
        assert_eq!(out.status.code(), Some(2), "{case}");
        report.push_str(&format!(
            "$ rtkvm {case}\n{}\n",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    insta::assert_snapshot!("apply_guest_errors", report);
    std::fs::remove_dir_all(&dir).unwrap();
}
