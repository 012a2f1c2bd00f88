//! End-to-end plans on hand-made fixtures: the seed page's worked example, its interleaved variant, SMT
//! and a host without 1 GiB pages. Every domain XML is judged by libvirt.

mod common;

use common::{
    assert_libvirt_accepts, assert_qemu_driver_refuses, assert_shellcheck_passes,
    assert_virsh_refuses, corpus, fixtures,
};
use rtkvm_core::json::JsonPlan;
use rtkvm_core::plan::WarningCode;
use rtkvm_core::settings::{EmulatorPolicy, PageSize, Preset, Recipe, RtVcpus};
use rtkvm_core::units::Kib;
use rtkvm_core::{outputs, parse_capabilities, CpuSet, Error, Host, Outputs, Plan, Settings};

/// A plan with its outputs.
#[derive(Debug)]
struct Planned {
    plan: Plan,
    out: Outputs,
}

impl std::ops::Deref for Planned {
    type Target = Plan;
    fn deref(&self) -> &Plan {
        &self.plan
    }
}

fn planned(host: &Host, settings: &Settings) -> Result<Planned, Error> {
    let plan = rtkvm_core::plan(host, settings)?;
    let out = outputs(host, &plan);
    Ok(Planned { plan, out })
}

fn host(name: &str) -> Host {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture exists");
    parse_capabilities(&text).expect("fixture parses")
}

fn codes(plan: &Plan) -> Vec<WarningCode> {
    plan.warnings.iter().map(|w| w.code).collect()
}

#[test]
fn seed_example_matches_the_libvirt_page() {
    let host = host("seed-example.xml");
    let plan = planned(&host, &Settings::default()).unwrap();
    assert_eq!(plan.host.isolcpus.to_string(), "2-7,10-15");
    assert_eq!(plan.host.housekeeping.to_string(), "0-1,8-9");
    let pages: Vec<(u32, u64, u64)> = plan
        .host
        .hugepages
        .iter()
        .map(|p| (p.node, p.page_size_kib, p.count))
        .collect();
    assert_eq!(pages, vec![(0, 1048576, 26), (1, 1048576, 26)]);
    assert_eq!(plan.guest.node, 1);
    assert_eq!(plan.guest.vcpupin, vec![12, 13, 14, 15]);
    assert_eq!(plan.guest.emulatorpin.to_string(), "8-9");
    // vCPU 0 stays the guest's housekeeping vCPU by default.
    assert_eq!(plan.guest.rt_vcpus.to_string(), "1-3");
    assert_eq!(codes(&plan), vec![]);
    insta::assert_json_snapshot!("seed_plan", JsonPlan::new(&plan, &plan.out));
    insta::assert_snapshot!(
        "seed_text",
        rtkvm_core::report::text_report(&host, &plan, &plan.out)
    );
    assert_libvirt_accepts(&plan.out.domain_xml, "the seed example");
}

#[test]
fn seed_example_corrects_the_pages_two_mistakes() {
    // The page's own setting: every vCPU real-time.
    let mut settings = Settings::default();
    settings.guest.rt_vcpus = RtVcpus::All;
    let plan = planned(&host("seed-example.xml"), &settings).unwrap();
    assert_eq!(codes(&plan), vec![WarningCode::RtOnEveryVcpu]);
    let xml = &plan.out.domain_xml;
    // The page's vcpusched names vCPU 4 of a 4-vCPU guest; ours names only existing vCPUs.
    assert!(xml.contains(r#"<vcpusched vcpus="0-3" scheduler="fifo" priority="1"/>"#));
    // The page binds the host node with <page nodeset>, which names a guest node; ours uses numatune.
    assert!(xml.contains(r#"<memory mode="strict" nodeset="1"/>"#));
    assert!(!xml.contains("<page size=\"1048576\" unit=\"KiB\" nodeset"));
    // And libvirt does refuse both of the page's forms, so the judge would catch them.
    assert_virsh_refuses(
        &xml.replace(r#"vcpus="0-3""#, r#"vcpus="0-4""#),
        "vCPU '4' is not present",
    );
    assert_virsh_refuses(
        &xml.replace(
            r#"<page size="1048576" unit="KiB"/>"#,
            r#"<page size="1048576" unit="KiB" nodeset="1"/>"#,
        ),
        "hugepages: node 1 not found",
    );
}

#[test]
fn interleaved_numbering_follows_ids_not_positions() {
    let plan = planned(&host("seed-interleaved.xml"), &Settings::default()).unwrap();
    assert_eq!(plan.host.isolcpus.to_string(), "2-3,6-15");
    assert_eq!(plan.host.housekeeping.to_string(), "0-1,4-5");
    assert_eq!(plan.guest.node, 1);
    // Node 1's socket 1 holds 12-15: the only socket with four free isolated cores.
    assert_eq!(plan.guest.vcpupin, vec![12, 13, 14, 15]);
    assert_eq!(plan.guest.emulatorpin.to_string(), "4-5");
    assert_libvirt_accepts(&plan.out.domain_xml, "the interleaved seed host");
}

#[test]
fn smt_gives_each_vcpu_a_whole_core() {
    let host = host("smt2.xml");
    // Recipe 2 counted the two lowest ids and grew them to cores (recipe 3's count is tested below).
    let mut settings = Settings {
        recipe: Recipe::Production,
        ..Settings::default()
    };
    settings.guest.vcpus = 3;
    settings.guest.memory = Kib::gib(8);
    settings.guest.rt_vcpus = "^0".parse().unwrap();
    let plan = planned(&host, &settings).unwrap();
    assert_eq!(plan.host.housekeeping.to_string(), "0-1,8-9");
    assert_eq!(plan.host.isolcpus.to_string(), "2-7,10-15");
    assert_eq!(plan.guest.vcpupin, vec![2, 3, 4]);
    assert_eq!(plan.guest.idle_siblings.to_string(), "10-12");
    assert_eq!(plan.guest.rt_vcpus.to_string(), "1-2");
    assert_eq!(codes(&plan), vec![WarningCode::SmtEnabled]);
    assert!(plan.out.kernel_cmdline.contains("amd_pstate=disable"));
    insta::assert_snapshot!("smt2_domain", plan.out.domain_xml);
    assert_libvirt_accepts(&plan.out.domain_xml, "the SMT host");
}

#[test]
fn host_cpus_grow_to_whole_cores() {
    let mut settings = Settings::default();
    settings.host.host_cpus = 1;
    settings.guest.memory = Kib::gib(4);
    let plan = planned(&host("smt2.xml"), &settings).unwrap();
    assert_eq!(plan.host.housekeeping.to_string(), "0,8");
}

#[test]
fn two_mib_pages_when_the_host_lacks_one_gib() {
    let host = host("two-mib-only.xml");
    // hugepages.sh as recipe 2 writes it (recipe 3's rtkvm-host.sh is tested below).
    let mut settings = Settings {
        recipe: Recipe::Production,
        ..Settings::default()
    };
    settings.guest.memory = Kib::gib(12);
    let plan = planned(&host, &settings).unwrap();
    assert_eq!(plan.host.page_size_kib, 2048);
    let counts: Vec<u64> = plan.host.hugepages.iter().map(|p| p.count).collect();
    assert_eq!(counts, vec![9216, 5120]);
    // Different counts: boot-time pages are the even share, the rest is set per node at runtime.
    assert_eq!(plan.out.hugepages.boot_pages, 10240);
    assert!(plan.out.hugepages.runtime);
    assert!(plan.out.hugepages.script.contains("reserve 0 9216"));
    assert!(plan
        .out
        .kernel_cmdline
        .ends_with("default_hugepagesz=2M hugepagesz=2M hugepages=10240"));
    // Node 1 has only 10 GiB of pages, so the 12 GiB guest goes to node 0.
    assert_eq!(plan.guest.node, 0);
    insta::assert_snapshot!("two_mib_hugepages_sh", plan.out.hugepages.script);
    assert_shellcheck_passes(&plan.out.hugepages.script, "the 2 MiB host");
    assert_libvirt_accepts(&plan.out.domain_xml, "the 2 MiB host");

    settings.host.page_size = PageSize::Kib(1048576);
    let err = planned(&host, &settings).unwrap_err().to_string();
    assert_eq!(
        err,
        "the host does not support 1 GiB pages; it lists 4 KiB, 2 MiB"
    );
}

#[test]
fn refusals_name_the_numbers() {
    let host = host("seed-example.xml");
    let mut settings = Settings::default();
    settings.guest.vcpus = 7;
    settings.guest.node = Some(1);
    assert_eq!(
        planned(&host, &settings).unwrap_err().to_string(),
        "node 1 has 6 isolated cores, the guest needs 7 (one core per vCPU)"
    );
    settings.guest.vcpus = 4;
    settings.guest.memory = Kib::gib(27);
    assert_eq!(
        planned(&host, &settings).unwrap_err().to_string(),
        "the guest needs 27 GiB, node 1 can back only 26 GiB with 1 GiB pages (26 pages: 32 GiB minus 6 GiB kept for the host)"
    );
    settings.guest.memory = Kib(16 * 1024 * 1024 + 512 * 1024);
    assert_eq!(
        planned(&host, &settings).unwrap_err().to_string(),
        "the guest memory 16.5 GiB is not a multiple of the 1 GiB page size; choose 16 GiB or 17 GiB"
    );
    settings.guest.memory = Kib::gib(16);
    settings.guest.node = Some(5);
    assert_eq!(
        planned(&host, &settings).unwrap_err().to_string(),
        "the host has no NUMA node 5; its nodes are 0, 1"
    );
    settings.guest.node = None;
    settings.host.host_cpus = 8;
    assert_eq!(
        planned(&host, &settings).unwrap_err().to_string(),
        "with 8 host CPUs per node every online CPU (0-15) stays with the host and nothing is left to isolate; keep fewer CPUs for the host"
    );
}

#[test]
fn guest_spanning_sockets_and_small_guests_are_warned_about() {
    let host = host("seed-example.xml");
    let mut settings = Settings::default();
    settings.guest.vcpus = 6;
    settings.guest.rt_vcpus = "1-5".parse().unwrap();
    let plan = planned(&host, &settings).unwrap();
    assert_eq!(plan.guest.vcpupin, vec![10, 11, 12, 13, 14, 15]);
    assert_eq!(codes(&plan), vec![WarningCode::GuestSpansSockets]);
    assert_libvirt_accepts(&plan.out.domain_xml, "a 6-vCPU guest");

    settings.guest.vcpus = 1;
    settings.guest.rt_vcpus = RtVcpus::All;
    let plan = planned(&host, &settings).unwrap();
    assert_eq!(codes(&plan), vec![WarningCode::SingleVcpu]);
    assert_libvirt_accepts(&plan.out.domain_xml, "a 1-vCPU guest");
}

#[test]
fn explicit_housekeeping_can_isolate_cpu0_with_a_warning() {
    let host = host("seed-example.xml");
    let mut settings = Settings::default();
    settings.host.housekeeping = Some("6-7,8-9".parse().unwrap());
    settings.host.preset = Preset::Minimal;
    let plan = planned(&host, &settings).unwrap();
    assert_eq!(plan.host.isolcpus.to_string(), "0-5,10-15");
    assert!(codes(&plan).contains(&WarningCode::Cpu0Isolated));
    assert_eq!(
        plan.out.kernel_cmdline,
        "isolcpus=0-5,10-15 default_hugepagesz=1G hugepagesz=1G hugepages=52"
    );
    settings.host.housekeeping = Some("8-9".parse().unwrap());
    assert_eq!(
        planned(&host, &settings).unwrap_err().to_string(),
        "the housekeeping list keeps no CPU of NUMA node 0 (CPUs 0-7); every node needs at least one core for the host"
    );
}

#[test]
fn user_strings_are_escaped_in_the_domain() {
    let mut settings = Settings::default();
    settings.guest.name = "a&b <c> \"d\" 'e' $(reboot)".into();
    let plan = planned(&host("seed-example.xml"), &settings).unwrap();
    assert!(plan
        .out
        .domain_xml
        .contains("<name>a&amp;b &lt;c&gt; \"d\" 'e' $(reboot)</name>"));
    assert!(!plan.out.hugepages.script.contains("$(reboot)"));
    for file in plan.out.host_files() {
        assert!(!file.content.contains("$(reboot)"), "{}", file.name);
    }
    assert_libvirt_accepts(&plan.out.domain_xml, "a hostile guest name");
}

#[test]
fn uneven_nodes_reserve_one_gib_pages_at_runtime_with_a_warning() {
    let mut host = host("seed-example.xml");
    host.cells[0].memory_kib = Some(20 * 1024 * 1024);
    // hugepages.sh as recipe 2 writes it (recipe 3 reserves per node at boot on Linux 5.16).
    let settings = Settings {
        recipe: Recipe::Production,
        ..Settings::default()
    };
    let plan = planned(&host, &settings).unwrap();
    let counts: Vec<u64> = plan.host.hugepages.iter().map(|p| p.count).collect();
    assert_eq!(counts, vec![14, 26]);
    assert_eq!(plan.out.hugepages.boot_pages, 28);
    assert!(plan.out.kernel_cmdline.ends_with(" hugepages=28"));
    assert!(codes(&plan).contains(&WarningCode::RuntimeGiganticPages));
    let script = &plan.out.hugepages.script;
    assert!(script.contains("reserve 0 14\nreserve 1 26\ncheck 0 14\ncheck 1 26\n"));
    assert!(script.contains("may fall short"));
    assert_shellcheck_passes(script, "uneven 1 GiB nodes");

    // A node with less memory than the host keeps gets no pages and a warning.
    host.cells[0].memory_kib = Some(4 * 1024 * 1024);
    let plan = planned(&host, &Settings::default()).unwrap();
    assert_eq!(plan.host.hugepages[0].count, 0);
    assert!(codes(&plan).contains(&WarningCode::HostMemoryLow));
}

#[test]
fn names_that_could_inject_are_refused_or_kept_out_of_shell_and_cmdline() {
    let host = host("seed-example.xml");
    for bad in [
        "a\nb",
        "a\rb",
        "tab\there",
        "a/b",
        "",
        " lead",
        "trail ",
        &"x".repeat(65),
    ] {
        let mut settings = Settings::default();
        settings.guest.name = bad.to_string();
        let err = planned(&host, &settings).unwrap_err().to_string();
        assert!(err.starts_with("the guest name"), "{bad:?}: {err}");
    }
    for name in [
        "$(reboot)",
        "`reboot`",
        "'; rm -rf ~ #",
        "\"quoted\"",
        "a=b c",
        "ünïcødé",
    ] {
        let mut settings = Settings::default();
        settings.guest.name = name.to_string();
        let plan = planned(&host, &settings).unwrap();
        let script = &plan.out.hugepages.script;
        let baseline = planned(&host, &Settings::default()).unwrap();
        assert_eq!(script, &baseline.out.hugepages.script, "{name}");
        assert_eq!(
            plan.out.kernel_cmdline, baseline.out.kernel_cmdline,
            "{name}"
        );
        let file = rtkvm_core::outputs::xml_file_name(name);
        // Letters and digits of any script stay; nothing a file system or shell treats specially does.
        assert!(
            file.chars()
                .all(|c| c.is_alphanumeric() || "._-".contains(c))
                && !file.starts_with('.'),
            "{file}"
        );
        assert_libvirt_accepts(&plan.out.domain_xml, name);
    }
}

/// Recipe 2 on each architecture: what libvirt's QEMU driver requires there, and the production
/// elements where they apply. The QEMU driver is the judge (the test driver accepts a PMU on ppc64).
#[test]
fn each_architecture_gets_what_the_qemu_driver_accepts() {
    let small = |file: &str| {
        let text = std::fs::read_to_string(corpus().join(file)).unwrap();
        let host = parse_capabilities(&text).unwrap();
        let mut settings = Settings::default();
        settings.host.host_cpus = 1;
        settings.host.host_memory = Kib::gib(1);
        settings.guest.vcpus = 2;
        settings.guest.memory = Kib::gib(1);
        planned(&host, &settings).unwrap().out.domain_xml
    };
    let x86 = planned(&host("seed-example.xml"), &Settings::default())
        .unwrap()
        .out
        .domain_xml;
    for element in [
        "<hard_limit unit=\"KiB\">17825792</hard_limit>",
        "<hint-dedicated state=\"on\"/>",
        "<timer name=\"pit\" tickpolicy=\"delay\"/>",
        "<timer name=\"hpet\" present=\"no\"/>",
        "<pmu state=\"off\"/>",
    ] {
        assert!(x86.contains(element), "x86 lacks {element}");
    }
    // The seed host's libvirt prints no die ids, so the topology names no dies (libvirt before 6.1
    // refuses them).
    assert!(x86.contains("<topology sockets=\"1\" cores=\"4\" threads=\"1\"/>"));

    let ppc = small("virt-manager/kvm-ppc64le.xml");
    insta::assert_snapshot!("ppc64le_domain", ppc);
    assert!(!ppc.contains("<pmu"), "{ppc}");
    assert!(!ppc.contains("hint-dedicated") && !ppc.contains("<timer"));
    assert_libvirt_accepts(&ppc, "ppc64le");
    assert_qemu_driver_refuses(
        &ppc.replace("<features/>", "<features><pmu state=\"off\"/></features>"),
        "PMU is always enabled",
    );

    let arm = small("virt-manager/kvm-aarch64.xml");
    insta::assert_snapshot!("aarch64_domain", arm);
    assert!(arm.contains("<os firmware=\"efi\">"), "{arm}");
    assert!(!arm.contains("hint-dedicated") && !arm.contains("<timer"));
    assert_libvirt_accepts(&arm, "aarch64");

    let s390 = small("virt-manager/kvm-s390x.xml");
    assert_libvirt_accepts(&s390, "s390x");
}

/// Inside the guest: its real-time vCPUs isolated, its housekeeping vCPUs keeping its own work, and a
/// latency test over exactly those vCPUs; with no housekeeping vCPU (libvirt's guide) or no real-time
/// vCPU, nothing is isolated and the scripts say why.
#[test]
fn the_guest_os_isolates_its_real_time_vcpus() {
    let host = host("seed-example.xml");
    let plan = planned(&host, &Settings::default()).unwrap();
    let g = &plan.out.guest_os;
    assert_eq!(g.rt_vcpus.to_string(), "1-3");
    assert_eq!(g.housekeeping_vcpus.to_string(), "0");
    assert_eq!(
        g.kernel_cmdline,
        "isolcpus=managed_irq,domain,1-3 nohz=on nohz_full=1-3 rcu_nocbs=1-3 irqaffinity=0 skew_tick=1 tsc=reliable nosoftlockup rcupdate.rcu_normal_after_boot=1 rcutree.nohz_full_patience_delay=1000"
    );
    assert!(g.tuned_variables.contains("\nisolated_cores=1-3\n"));
    assert!(g
        .latency_test
        .contains("--threads=3 --affinity=1-3 --mainaffinity=0"));
    assert!(g.latency_test.contains("--taskset 8-9"));
    let [cmdline, tuned, setup, latency] = plan.out.guest_files();
    insta::assert_snapshot!("seed_guest_setup", setup.content);
    insta::assert_snapshot!("seed_latency_test", latency.content);
    assert_eq!(cmdline.content, format!("{}\n", g.kernel_cmdline));
    assert_eq!(tuned.name, "realtime-virtual-guest-variables.conf");
    assert_shellcheck_passes(&setup.content, "guest-setup.sh");
    assert_shellcheck_passes(&latency.content, "latency-test.sh");

    for (rt, why) in [
        (RtVcpus::All, "no housekeeping vCPU"),
        (RtVcpus::None, "no real-time vCPU"),
    ] {
        let mut settings = Settings::default();
        settings.guest.rt_vcpus = rt;
        let plan = planned(&host, &settings).unwrap();
        let g = &plan.out.guest_os;
        assert!(g.kernel_params.is_empty(), "{why}");
        assert!(g.setup_script.contains("isolate=no"), "{why}");
        assert!(g.latency_test.contains("isolate=no"), "{why}");
        assert!(!g.tuned_variables.contains("isolated_cores="), "{why}");
        assert_shellcheck_passes(&g.setup_script, why);
        assert_shellcheck_passes(&g.latency_test, why);
    }
}

/// Nova's `isolate`: the emulator threads get an isolated core of their own, on the vCPUs' socket.
#[test]
fn isolated_emulator_threads_get_a_core_of_their_own() {
    let host = host("seed-example.xml");
    let mut settings = Settings::default();
    settings.guest.vcpus = 3;
    settings.guest.emulator = EmulatorPolicy::Isolate;
    let plan = planned(&host, &settings).unwrap();
    assert_eq!(plan.guest.vcpupin, vec![12, 13, 14]);
    assert_eq!(plan.guest.emulatorpin.to_string(), "15");
    assert!(plan.host.isolcpus.contains(15));
    let xml = &plan.out.domain_xml;
    assert!(xml.contains(r#"<emulatorpin cpuset="15"/>"#), "{xml}");
    assert!(
        xml.contains(r#"<iothreadpin iothread="1" cpuset="15"/>"#),
        "{xml}"
    );
    assert_libvirt_accepts(xml, "isolated emulator threads");
    // Node 1 has 6 isolated cores: 6 vCPUs and their emulator core do not fit.
    settings.guest.vcpus = 6;
    settings.guest.node = Some(1);
    assert_eq!(
        planned(&host, &settings).unwrap_err().to_string(),
        "node 1 has 6 isolated cores, the guest needs 7 (one core per vCPU and one for the emulator threads)"
    );
}

/// A hybrid CPU shows as cores of different SMT widths: recipe 2 takes the wide (performance) cores
/// first, and vCPUs on both kinds are warned about.
#[test]
fn hybrid_cpus_keep_the_vcpus_on_one_kind_of_core() {
    // The SMT host with core (3, 11) made a single-thread core: CPU 11 gone, CPU 3 alone.
    let mut host = host("smt2.xml");
    let cell = &mut host.cells[0];
    cell.cpus.retain(|c| c.id != 11);
    for cpu in &mut cell.cpus {
        if cpu.id == 3 {
            cpu.siblings = CpuSet::from_iter([3]);
        }
    }
    let mut settings = Settings {
        recipe: Recipe::Production,
        ..Settings::default()
    };
    settings.guest.vcpus = 3;
    settings.guest.memory = Kib::gib(4);
    let plan = planned(&host, &settings).unwrap();
    assert_eq!(plan.guest.vcpupin, vec![2, 4, 5]);
    assert!(!codes(&plan).contains(&WarningCode::HybridCores));
    settings.recipe = Recipe::Guide;
    let plan = planned(&host, &settings).unwrap();
    assert_eq!(plan.guest.vcpupin, vec![2, 3, 4]);
    assert!(codes(&plan).contains(&WarningCode::HybridCores));
}

/// The largest guest each node takes, as the page shows it before any limit is met.
#[test]
fn each_node_says_the_largest_guest_it_takes() {
    let host = host("seed-example.xml");
    let mut settings = Settings::default();
    let part = rtkvm_core::plan::partition(&host, &settings).unwrap().host;
    let caps = rtkvm_core::plan::capacity(&host, &part, EmulatorPolicy::Share);
    let summary: Vec<(u32, u32, u64)> = caps
        .iter()
        .map(|c| (c.node, c.vcpus, c.memory_kib))
        .collect();
    assert_eq!(summary, [(0, 6, 26 << 20), (1, 6, 26 << 20)]);
    let isolate = rtkvm_core::plan::capacity(&host, &part, EmulatorPolicy::Isolate);
    assert_eq!(isolate[1].vcpus, 5);
    // The limits are the real ones: a guest of exactly that size fits, one more vCPU does not.
    settings.guest.vcpus = 6;
    settings.guest.memory = Kib::gib(26);
    assert!(planned(&host, &settings).is_ok());
    settings.guest.vcpus = 7;
    assert!(planned(&host, &settings).is_err());
    settings.guest.vcpus = 6;
    settings.guest.memory = Kib::gib(27);
    assert!(planned(&host, &settings).is_err());
}

#[test]
fn guest_limits_name_the_field_and_the_limit_exactly_where_the_plan_stops() {
    use rtkvm_core::plan::guest_limits;
    let host = rtkvm_core::parse_capabilities(rtkvm_core::EXAMPLE_CAPABILITIES).unwrap();
    for emulator in [
        rtkvm_core::settings::EmulatorPolicy::Share,
        rtkvm_core::settings::EmulatorPolicy::Isolate,
    ] {
        for node in [None, Some(0), Some(1)] {
            for vcpus in 1..=8 {
                for gib in [1, 16, 26, 27, 40] {
                    let mut s = rtkvm_core::Settings::default();
                    s.guest.vcpus = vcpus;
                    s.guest.memory = rtkvm_core::units::Kib::gib(gib);
                    s.guest.node = node;
                    s.guest.emulator = emulator;
                    s.guest.rt_vcpus = rtkvm_core::settings::RtVcpus::All;
                    let limits = guest_limits(&host, &s);
                    let fits = rtkvm_core::plan(&host, &s).is_ok();
                    assert_eq!(
                        limits.is_empty(),
                        fits,
                        "{vcpus} vCPUs, {gib} GiB, node {node:?}: {limits:?}"
                    );
                }
            }
        }
    }
    let mut s = rtkvm_core::Settings::default();
    s.guest.vcpus = 7;
    s.guest.memory = rtkvm_core::units::Kib::gib(30);
    let fields = |s: &rtkvm_core::Settings| -> Vec<(Option<usize>, &'static str, String)> {
        guest_limits(&host, s)
            .into_iter()
            .map(|l| (l.guest, l.field, l.message))
            .collect()
    };
    assert_eq!(
        fields(&s),
        vec![
            (Some(0), "vcpus", "at most 6 vCPUs on node 1".to_string()),
            (Some(0), "memory", "at most 26 GiB on node 1".to_string())
        ]
    );
    s.guest.node = Some(5);
    assert_eq!(
        fields(&s),
        vec![(
            Some(0),
            "node",
            "the host has no NUMA node 5; its nodes are 0, 1".to_string()
        )]
    );
}

#[test]
fn a_host_setting_the_partition_cannot_be_made_with_is_blamed_on_its_field() {
    use rtkvm_core::plan::guest_limits;
    use rtkvm_core::units::Kib;
    let host = rtkvm_core::parse_capabilities(rtkvm_core::EXAMPLE_CAPABILITIES).unwrap();
    let field = |s: &rtkvm_core::Settings| {
        let limits = guest_limits(&host, s);
        assert_eq!(limits.len(), 1, "{limits:?}");
        assert!(rtkvm_core::plan(&host, s).is_err());
        let limit = limits[0].clone();
        // A host setting, or the first guest's memory.
        assert_eq!(limit.guest.is_some(), limit.field == "memory", "{limit:?}");
        (limit.field, limit.message)
    };
    let mut s = rtkvm_core::Settings::default();
    s.host.housekeeping = Some("0-1,99".parse().unwrap());
    let (id, message) = field(&s);
    assert_eq!(id, "housekeeping");
    assert!(
        message.contains("names CPU 99, which is not online"),
        "{message}"
    );
    s.host.housekeeping = Some("0-1".parse().unwrap());
    assert_eq!(
        field(&s).0,
        "housekeeping",
        "a list that keeps no CPU of node 1"
    );
    let mut s = rtkvm_core::Settings::default();
    s.host.host_cpus = 8;
    assert_eq!(field(&s).0, "host-cpus");
    let mut s = rtkvm_core::Settings::default();
    s.host.spare = Kib::gib(2);
    assert_eq!(field(&s).0, "spare");
    // Memory kept per node beyond the node's own: the host setting, not the guest's memory.
    let mut s = rtkvm_core::Settings::default();
    s.host.host_memory = Kib::gib(40);
    assert_eq!(
        field(&s),
        (
            "host-memory",
            "node 0 has 32 GiB: keep less than that for the host, so that huge pages are left for the guest"
                .to_string()
        )
    );
    // Memory that is not a whole number of pages, with the host's way out.
    let mut s = rtkvm_core::Settings::default();
    s.guest.memory = "1536M".parse().unwrap();
    assert_eq!(
        field(&s),
        (
            "memory",
            "1.5 GiB is not a whole number of 1 GiB pages: choose 1 GiB or 2 GiB, or 2 MiB pages (Huge page size)"
                .to_string()
        )
    );
}
