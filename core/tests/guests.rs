//! Several guests planned together on one host: no two guests share a core or a sibling thread,
//! isolated emulator cores are their own, each node's huge pages cover the guests placed there, the
//! placement is deterministic, every guest's domain is accepted by libvirt, and the outputs hold the
//! host's files once and each guest's own.

mod common;

use std::collections::BTreeMap;

use common::{assert_libvirt_accepts, assert_shellcheck_passes, corpus, fixtures};
use proptest::prelude::*;
use rtkvm_core::settings::{EmulatorPolicy, GuestSettings, Reserve, RtVcpus};
use rtkvm_core::units::Kib;
use rtkvm_core::{outputs, parse_capabilities, Host, Plan, Settings};

fn read(path: std::path::PathBuf) -> Host {
    parse_capabilities(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn guest(spec: &str) -> GuestSettings {
    GuestSettings::from_spec(spec).unwrap()
}

fn with_guests(specs: &[&str]) -> Settings {
    let mut guests = specs.iter().map(|s| guest(s));
    Settings {
        guest: guests.next().unwrap(),
        others: guests.collect(),
        ..Settings::default()
    }
}

/// Asserts what holds for every plan of several guests.
fn assert_guests_keep_apart(host: &Host, plan: &Plan, label: &str) {
    let siblings: BTreeMap<u32, rtkvm_core::CpuSet> =
        host.cpus().map(|c| (c.id, c.siblings.clone())).collect();
    let mut owner: BTreeMap<u32, &str> = BTreeMap::new();
    for g in plan.guests() {
        // Every core a guest uses: its vCPUs' cores and, isolated, its emulator core.
        let mut cores: Vec<u32> = g.vcpupin.clone();
        if g.emulator == EmulatorPolicy::Isolate {
            cores.extend(g.emulatorpin.iter());
            assert!(
                g.emulatorpin.is_subset(&plan.host.isolcpus),
                "{label}: {}",
                g.name
            );
        }
        for cpu in cores {
            for thread in siblings[&cpu].iter() {
                if let Some(other) = owner.insert(thread, &g.name) {
                    assert_eq!(
                        other, g.name,
                        "{label}: CPU {thread} is in a core of {other} and of {}",
                        g.name
                    );
                }
            }
        }
    }
    // Each node's pages hold the guests placed there.
    for pages in &plan.host.hugepages {
        let memory: u64 = plan
            .guests()
            .filter(|g| g.node == pages.node)
            .map(|g| g.memory_kib)
            .sum();
        assert!(
            pages.count * pages.page_size_kib >= memory,
            "{label}: node {} holds {} pages for {memory} KiB",
            pages.node,
            pages.count
        );
    }
}

#[test]
fn three_guests_on_the_example_host() {
    let host = read(fixtures().join("seed-example.xml"));
    let settings = with_guests(&[
        "name=plc-a,vcpus=4,memory=8G",
        "name=plc-b,vcpus=2,memory=4G,node=1",
        "name=hmi,vcpus=3,memory=4G,rt=1-2,emulator=isolate,priority=10",
    ]);
    let plan = rtkvm_core::plan(&host, &settings).unwrap();
    assert_guests_keep_apart(&host, &plan, "example");
    // The guest with a node of its own is placed first, then the others, highest node first.
    let placed: Vec<(&str, u32, Vec<u32>)> = plan
        .guests()
        .map(|g| (g.name.as_str(), g.node, g.vcpupin.clone()))
        .collect();
    assert_eq!(
        placed,
        [
            ("plc-a", 1, vec![12, 13, 14, 15]),
            ("plc-b", 1, vec![10, 11]),
            ("hmi", 0, vec![4, 5, 6]),
        ]
    );
    // The host's kernel threads stay above the highest priority of any guest.
    assert_eq!(plan.host.kthreads.ksoftirqd, 11);
    let out = outputs(&host, &plan);
    for (i, own) in std::iter::once(out.first_guest())
        .chain(out.others.iter().cloned())
        .enumerate()
    {
        assert_libvirt_accepts(&own.domain_xml, &format!("guest {i} ({})", own.name));
        assert_shellcheck_passes(&own.guest_os.setup_script, &own.name);
        assert_shellcheck_passes(&own.guest_os.latency_test, &own.name);
    }
    insta::assert_snapshot!(
        "three_guests_example",
        rtkvm_core::report::text_report(&host, &plan, &out)
    );
    // The bundle: the host's files once, each guest's in its folder, the README covering them all.
    let files = rtkvm_core::bundle::bundle(&plan, &out, "#v6.example");
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    for name in [
        "README.md",
        "kernel-cmdline.txt",
        "rtkvm-host.sh",
        "plc-a/plc-a.xml",
        "plc-b/guest-setup.sh",
        "hmi/latency-test.sh",
    ] {
        assert!(names.contains(&name), "the bundle lacks {name}: {names:?}");
    }
    assert_eq!(names.iter().filter(|n| n.ends_with(".xml")).count(), 3);
    let readme = &files[0].content;
    for text in [
        "# Real-time KVM plan for 3 guests: plc-a, plc-b, hmi",
        "virsh define plc-b/plc-b.xml",
        "### hmi",
    ] {
        assert!(readme.contains(text), "README lacks {text}:\n{readme}");
    }
}

#[test]
fn several_guests_on_a_four_node_amd_host() {
    let host = read(corpus().join("tp-libvirt/cap_mix.xml__L167.xml"));
    let mut settings = with_guests(&[
        "name=a,vcpus=2,memory=1G",
        "name=b,vcpus=2,memory=1G",
        "name=c,vcpus=1,memory=1G,emulator=isolate",
        "name=d,vcpus=2,memory=1G,node=0",
    ]);
    settings.host.host_memory = Kib::gib(1);
    settings.host.reserve = Reserve::Guest;
    let plan = rtkvm_core::plan(&host, &settings).unwrap();
    assert_guests_keep_apart(&host, &plan, "amd");
    // With the guests' reservation, each node holds exactly the pages of the guests placed there.
    for pages in &plan.host.hugepages {
        let memory: u64 = plan
            .guests()
            .filter(|g| g.node == pages.node)
            .map(|g| g.memory_kib)
            .sum();
        assert_eq!(
            pages.count * pages.page_size_kib,
            memory,
            "node {}",
            pages.node
        );
    }
    let out = outputs(&host, &plan);
    insta::assert_snapshot!(
        "four_guests_amd",
        rtkvm_core::report::text_report(&host, &plan, &out)
    );
}

#[test]
fn a_guest_that_does_not_fit_is_named_with_the_room_left() {
    let host = read(fixtures().join("seed-example.xml"));
    let settings = with_guests(&[
        "name=a,vcpus=6,memory=8G",
        "name=b,vcpus=6,memory=4G",
        "name=c,vcpus=2,memory=4G",
    ]);
    let err = rtkvm_core::plan(&host, &settings).unwrap_err().to_string();
    assert!(
        err.contains("guest c (2 vCPUs, 4 GiB) fits on no NUMA node"),
        "{err}"
    );
    assert!(
        err.contains("node 1 has 0 free isolated cores beside a"),
        "{err}"
    );
    assert!(err.contains("Alone it fits on node 1"), "{err}");
    // Two guests of one name are refused: the name is the domain's.
    let twice = with_guests(&["name=a,vcpus=2,memory=2G", "name=a,vcpus=2,memory=2G"]);
    let err = rtkvm_core::plan(&host, &twice).unwrap_err().to_string();
    assert!(err.contains("two guests are named 'a'"), "{err}");
    // A guest's own mistake names it.
    let bad = with_guests(&["name=a,vcpus=2,memory=2G", "name=b,vcpus=2,memory=2G,rt=3"]);
    let err = rtkvm_core::plan(&host, &bad).unwrap_err().to_string();
    assert!(err.starts_with("guest b: "), "{err}");
}

#[test]
fn a_guest_spec_reads_every_key_and_refuses_what_it_does_not_know() {
    let g = guest(
        "name=plc,vcpus=3,memory=1536M,node=0,rt=1-2,priority=5,scheduler=rr,emulator=isolate",
    );
    assert_eq!(g.name, "plc");
    assert_eq!(g.vcpus, 3);
    assert_eq!(g.memory, "1536M".parse::<Kib>().unwrap());
    assert_eq!(g.node, Some(0));
    assert_eq!(g.rt_vcpus, RtVcpus::List("1-2".parse().unwrap()));
    assert_eq!(g.priority, 5);
    assert_eq!(g.emulator, EmulatorPolicy::Isolate);
    // A cpulist keeps its commas.
    assert_eq!(
        guest("name=x,vcpus=6,rt=1-2,4").rt_vcpus,
        RtVcpus::List("1-2,4".parse().unwrap())
    );
    // Left out: the one-guest defaults.
    assert_eq!(guest("name=y").vcpus, GuestSettings::default().vcpus);
    for (spec, says) in [
        ("name=x,page-size=2M", "the huge page size is the host's"),
        ("name=x,color=red", "unknown key 'color'"),
        ("name=x,vcpus=four", "vcpus 'four' is not a whole number"),
        ("name=x,name=y", "name is given twice"),
        ("vcpus", "'vcpus' is not key=value"),
    ] {
        let err = GuestSettings::from_spec(spec).unwrap_err().to_string();
        assert!(err.contains(says), "{spec}: {err}");
    }
}

fn gen_guests() -> impl Strategy<Value = Vec<GuestSettings>> {
    proptest::collection::vec(
        (
            1u32..5,
            1u64..6,
            prop_oneof![3 => Just(None), 1 => (0u32..3).prop_map(Some)],
            prop_oneof![3 => Just(EmulatorPolicy::Share), 1 => Just(EmulatorPolicy::Isolate)],
        ),
        1..6,
    )
    .prop_map(|list| {
        list.into_iter()
            .enumerate()
            .map(|(i, (vcpus, gib, node, emulator))| GuestSettings {
                name: format!("g{i}"),
                vcpus,
                memory: Kib::gib(gib),
                node,
                emulator,
                ..GuestSettings::default()
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn guests_never_share_a_core_and_their_pages_are_reserved(
        guests in gen_guests(),
        which in 0usize..3,
        reserve_guest in any::<bool>(),
    ) {
        let host = match which {
            0 => read(fixtures().join("seed-example.xml")),
            1 => read(fixtures().join("smt2.xml")),
            _ => read(corpus().join("tp-libvirt/cap_mix.xml__L167.xml")),
        };
        let mut guests = guests.into_iter();
        let mut settings = Settings {
            guest: guests.next().unwrap(),
            others: guests.collect(),
            ..Settings::default()
        };
        settings.host.host_memory = Kib::gib(1);
        if reserve_guest {
            settings.host.reserve = Reserve::Guest;
        }
        let Ok(plan) = rtkvm_core::plan(&host, &settings) else { return Ok(()); };
        assert_guests_keep_apart(&host, &plan, "generated");
        prop_assert_eq!(plan.guests().count(), settings.others.len() + 1);
        // The same input gives the same plan.
        prop_assert_eq!(&rtkvm_core::plan(&host, &settings).unwrap(), &plan);
        // The first guest alone is placed where it is placed first (automatic guests go to the
        // highest node that fits), unless a guest with a node of its own went before it.
        if settings.others.iter().all(|g| g.node.is_none()) {
            let alone = Settings { others: Vec::new(), ..settings.clone() };
            let alone = rtkvm_core::plan(&host, &alone).unwrap();
            prop_assert_eq!(&alone.guest.vcpupin, &plan.guest.vcpupin);
        }
    }
}

/// An existing real-time VM placed as real time needs stays where it runs: SEAPATH's template with
/// its vCPUs on isolated CPUs 4-5 of node 0 and its emulator threads alone on isolated CPU 3 (what
/// `--emulator isolate` writes) is patched in place; `--node` moves it, as asked.
#[test]
fn an_existing_real_time_vm_is_kept_where_it_runs() {
    use rtkvm_core::apply::{apply, settings_for_domain, Given};
    use rtkvm_core::existing::{parse_domain, DomainFacts};
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/domains/seapath/guest1-rt-isolated.xml"),
    )
    .unwrap()
    .replace(
        r#"<vcpupin vcpu="1" cpuset="6"/>"#,
        r#"<vcpupin vcpu="1" cpuset="5"/>
            <emulatorpin cpuset="3"/>"#,
    );
    let host = read(fixtures().join("seed-example.xml"));
    let doc = parse_domain(&text).unwrap();
    let facts = DomainFacts::read(&doc);
    let mut settings = Settings::default();
    let notes = settings_for_domain(&facts, &host, &mut settings, Given::default()).unwrap();
    assert!(
        notes.iter().any(|n| n.starts_with("kept where it runs")),
        "{notes:?}"
    );
    let plan = rtkvm_core::plan(&host, &settings).unwrap();
    assert_eq!(plan.guest.node, 0);
    assert_eq!(plan.guest.vcpupin, [4, 5]);
    assert_eq!(plan.guest.emulatorpin.to_string(), "3");
    let patched = apply(&doc, &host, &plan);
    assert!(patched.xml.contains(r#"<vcpupin vcpu="1" cpuset="5"/>"#));
    assert!(patched.xml.contains(r#"<emulatorpin cpuset="3"/>"#));
    assert_libvirt_accepts(&patched.xml, "SEAPATH's VM, kept");
    // An explicit node is a request to move it.
    let mut moved = Settings::default();
    moved.guest.node = Some(1);
    settings_for_domain(
        &facts,
        &host,
        &mut moved,
        Given {
            node: true,
            ..Given::default()
        },
    )
    .unwrap();
    let plan = rtkvm_core::plan(&host, &moved).unwrap();
    assert_eq!(plan.guest.node, 1);
    assert!(moved.guest.keep.is_none());
    // A guest placed on a core shared by two vCPUs is not kept.
    let shared = text.replace(r#"cpuset="5"/>"#, r#"cpuset="4"/>"#);
    let doc = parse_domain(&shared).unwrap();
    let mut settings = Settings::default();
    settings_for_domain(
        &DomainFacts::read(&doc),
        &host,
        &mut settings,
        Given::default(),
    )
    .unwrap();
    assert!(settings.guest.keep.is_none());
}
