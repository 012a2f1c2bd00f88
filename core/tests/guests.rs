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
    Settings::with_guests(specs.iter().map(|s| guest(s))).unwrap()
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
    gen_guests_up_to(6)
}

fn gen_guests_up_to(most: usize) -> impl Strategy<Value = Vec<GuestSettings>> {
    proptest::collection::vec(
        (
            1u32..5,
            1u64..6,
            prop_oneof![3 => Just(None), 1 => (0u32..3).prop_map(Some)],
            prop_oneof![3 => Just(EmulatorPolicy::Share), 1 => Just(EmulatorPolicy::Isolate)],
        ),
        1..most,
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
        let mut settings = Settings::with_guests(guests).unwrap();
        settings.host.host_memory = Kib::gib(1);
        if reserve_guest {
            settings.host.reserve = Reserve::Guest;
        }
        let Ok(plan) = rtkvm_core::plan(&host, &settings) else { return Ok(()); };
        assert_guests_keep_apart(&host, &plan, "generated");
        // No node's pages are overcommitted: the guests' reservation never holds more than the
        // node's memory beyond the host's.
        let room = rtkvm_core::plan::partition(&host, &settings).unwrap().host;
        for pages in &plan.host.hugepages {
            prop_assert!(pages.count <= room.pages_on(pages.node), "node {}: {} pages", pages.node, pages.count);
        }
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

/// The hosts the properties draw from: the example (two nodes), an SMT2 host (one node) and a
/// four-node AMD host.
fn drawn_host(which: usize) -> Host {
    match which {
        0 => read(fixtures().join("seed-example.xml")),
        1 => read(fixtures().join("smt2.xml")),
        _ => read(corpus().join("tp-libvirt/cap_mix.xml__L167.xml")),
    }
}

/// The guest at a place among `Settings::guests()`.
fn guest_at(settings: &mut Settings, i: usize) -> &mut GuestSettings {
    match i {
        0 => &mut settings.guest,
        i => &mut settings.others[i - 1],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// What the page says under each guest: a message exactly when the plan cannot be made, the
    /// hint never names the node a guest asks for, and each placed guest's room is exact: given it,
    /// the guest still fits with every other guest where it is (and, when every guest asks for its
    /// node, one vCPU or one page more does not).
    #[test]
    fn each_guest_room_is_what_the_plan_leaves_it(
        guests in gen_guests_up_to(5),
        which in 0usize..3,
        spare in prop_oneof![2 => Just(None), 1 => (1u64..4).prop_map(Some)],
    ) {
        use rtkvm_core::plan::{guest_limits, rooms};
        let host = drawn_host(which);
        let mut settings = Settings::with_guests(guests).unwrap();
        settings.host.host_memory = Kib::gib(1);
        if let Some(gib) = spare {
            settings.host.reserve = Reserve::Guest;
            settings.host.spare = Kib::gib(gib);
        }
        let plan = rtkvm_core::plan(&host, &settings);
        let limits = guest_limits(&host, &settings);
        prop_assert_eq!(limits.is_empty(), plan.is_ok(), "{:?} / {:?}", limits, plan.as_ref().err());
        let rooms = rooms(&host, &settings).unwrap();
        prop_assert_eq!(rooms.guests.len(), settings.others.len() + 1);
        prop_assert_eq!(
            rooms.guests.iter().all(|r| r.short.is_none() && r.refused.is_none()),
            plan.is_ok()
        );
        for (g, r) in settings.guests().zip(&rooms.guests) {
            if let (Some(own), Some(short)) = (g.node, r.short) {
                prop_assert_ne!(short.fits_on, Some(own));
                let text = r.misfit().unwrap();
                prop_assert!(!text.contains(&format!("fits on node {own}")), "{}", text);
                prop_assert!(!text.contains(&format!("node {own} for it")), "{}", text);
            }
        }
        let Ok(plan) = plan else { return Ok(()); };
        // The pages reserved (the guests' and the spare) never exceed a node's memory beyond the
        // host's.
        let part = rtkvm_core::plan::partition(&host, &settings).unwrap().host;
        for pages in &plan.host.hugepages {
            prop_assert!(pages.count <= part.pages_on(pages.node), "node {}: {} pages", pages.node, pages.count);
        }
        let nodes: Vec<u32> = plan.guests().map(|g| g.node).collect();
        let fixed = settings.guests().all(|g| g.node.is_some());
        let page = plan.host.page_size_kib;
        for (i, r) in rooms.guests.iter().enumerate() {
            prop_assert_eq!(r.node, Some(nodes[i]));
            let mut grown = settings.clone();
            guest_at(&mut grown, i).vcpus = r.vcpus;
            guest_at(&mut grown, i).memory = Kib(r.memory_kib);
            let again = rtkvm_core::plan(&host, &grown);
            prop_assert!(again.is_ok(), "guest {} given {:?}: {:?}", i, r, again.err());
            let again: Vec<u32> = again.unwrap().guests().map(|g| g.node).collect();
            prop_assert_eq!(&again, &nodes);
            if fixed {
                let mut more = grown.clone();
                guest_at(&mut more, i).vcpus += 1;
                prop_assert!(rtkvm_core::plan(&host, &more).is_err(), "guest {} with one vCPU more", i);
                let mut more = grown.clone();
                guest_at(&mut more, i).memory.0 += page;
                prop_assert!(rtkvm_core::plan(&host, &more).is_err(), "guest {} with one page more", i);
            }
        }
    }
}

/// A kept guest stays on the very CPUs it runs on, also where they are not their core's first
/// thread, and no other guest gets a thread of its cores; a kept guest listed after a guest that asks
/// for the same node is placed first, so that the other is placed around it.
#[test]
fn a_kept_guest_keeps_its_own_threads_and_the_others_go_around_it() {
    use rtkvm_core::settings::Placement;
    // SMT2, one node of 8 cores: CPUs k and k+8 are one core; 0 and 8 stay with the host.
    let host = read(fixtures().join("smt2.xml"));
    let kept = GuestSettings {
        name: "kept".into(),
        vcpus: 2,
        memory: Kib::gib(1),
        node: Some(0),
        keep: Some(Placement {
            vcpupin: vec![12, 13],
            emulatorpin: "0,8".parse().unwrap(),
        }),
        ..GuestSettings::default()
    };
    let other = GuestSettings {
        name: "new".into(),
        vcpus: 4,
        memory: Kib::gib(1),
        node: Some(0),
        emulator: EmulatorPolicy::Isolate,
        ..GuestSettings::default()
    };
    for kept_first in [true, false] {
        let (first, second) = match kept_first {
            true => (kept.clone(), other.clone()),
            false => (other.clone(), kept.clone()),
        };
        let mut settings = Settings {
            guest: first,
            others: vec![second],
            ..Settings::default()
        };
        settings.host.host_memory = Kib::gib(1);
        let plan = rtkvm_core::plan(&host, &settings)
            .unwrap_or_else(|e| panic!("kept first: {kept_first}: {e}"));
        assert_guests_keep_apart(&host, &plan, "kept");
        let kept = plan.guests().find(|g| g.name == "kept").unwrap();
        assert_eq!(kept.vcpupin, [12, 13], "kept first: {kept_first}");
        assert_eq!(kept.idle_siblings.to_string(), "4-5");
        let new = plan.guests().find(|g| g.name == "new").unwrap();
        // The five free cores left: 1, 2, 3, 6 and 7 (its emulator on the last).
        assert_eq!(new.vcpupin, [1, 2, 3, 6]);
        assert_eq!(new.emulatorpin.to_string(), "7,15");
        for cpu in [4, 5, 12, 13] {
            assert!(!new.vcpupin.contains(&cpu) && !new.idle_siblings.contains(cpu));
        }
    }
}
