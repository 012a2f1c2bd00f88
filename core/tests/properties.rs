//! Property tests over generated hosts: whatever the topology and settings, planning gives a plan whose
//! invariants hold, or an error; it never panics.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use proptest::prelude::*;
use rtkvm_core::settings::{EmulatorPolicy, PageSize, Preset, Recipe, Reserve, RtVcpus, Scheduler};
use rtkvm_core::units::Kib;
use rtkvm_core::{outputs, parse_capabilities, plan, CpuSet, Form, Settings};

/// How CPU ids are handed out.
#[derive(Debug, Clone, Copy)]
enum Numbering {
    /// Node by node, core by core, threads together (0,1 are siblings).
    Sequential,
    /// Linux-style: all first threads, then all second threads (siblings k and k+N).
    ThreadMajor,
    /// Interleaved between nodes: node = id % nodes.
    Strided,
}

#[derive(Debug, Clone)]
struct GenHost {
    /// Sparse NUMA node ids of the nodes with CPUs.
    node_ids: Vec<u32>,
    sockets_per_node: u32,
    dies_per_socket: u32,
    cores_per_socket: u32,
    threads: u32,
    numbering: Numbering,
    /// Two neighbouring nodes share each socket id (AMD NPS, Bulldozer).
    sockets_span_nodes: bool,
    /// Every k-th core is offline (listed as bare `<cpu id/>`); 0 for none.
    offline_every: u32,
    /// Extra nodes with memory and no CPUs (HMAT, CXL).
    memory_only: u32,
    memory_gib: Vec<u64>,
    sizes: Vec<u64>,
    /// Page pools already reserved on every node: (size KiB, count).
    pools: Vec<(u64, u64)>,
    gap: u32,
}

fn gen_host() -> impl Strategy<Value = GenHost> {
    (
        (
            proptest::collection::btree_set(0u32..64, 1..17),
            1u32..9,
            1u32..3,
            1u32..4,
            1u32..9,
            prop_oneof![
                Just(Numbering::Sequential),
                Just(Numbering::ThreadMajor),
                Just(Numbering::Strided)
            ],
        ),
        (
            any::<bool>(),
            prop_oneof![Just(0u32), 2u32..6],
            0u32..3,
            proptest::collection::vec(0u64..80, 16),
            prop_oneof![
                Just(vec![4, 2048, 1048576]),
                Just(vec![4, 2048]),
                Just(vec![]),
                Just(vec![64, 524288]),
                Just(vec![4, 2048, 1048576, 16777216])
            ],
            proptest::collection::vec(
                (prop_oneof![Just(4u64), Just(2048), Just(1048576)], 0u64..64),
                0..3,
            ),
            0u32..3,
        ),
    )
        .prop_map(
            |(
                (nodes, sockets_per_node, dies_per_socket, cores_per_socket, threads, numbering),
                (sockets_span_nodes, offline_every, memory_only, memory_gib, sizes, pools, gap),
            )| GenHost {
                node_ids: nodes.into_iter().collect(),
                sockets_per_node,
                dies_per_socket,
                cores_per_socket,
                threads,
                numbering,
                sockets_span_nodes,
                offline_every,
                memory_only,
                memory_gib,
                sizes,
                pools,
                gap,
            },
        )
}

/// One generated core: socket, die, core id, its CPU ids, whether it is offline.
struct GenCore {
    socket: u32,
    die: u32,
    core: u32,
    ids: Vec<u32>,
    offline: bool,
}

impl GenHost {
    /// Returns, per node index, its cores.
    fn layout(&self) -> Vec<Vec<GenCore>> {
        let nodes = self.node_ids.len() as u32;
        let cores_per_node = self.sockets_per_node * self.cores_per_socket;
        let total_cores = nodes * cores_per_node;
        let stride = 1 + self.gap;
        let mut out: Vec<Vec<GenCore>> = (0..nodes).map(|_| Vec::new()).collect();
        for n in 0..nodes {
            for s in 0..self.sockets_per_node {
                for c in 0..self.cores_per_socket {
                    let core_index = n * cores_per_node + s * self.cores_per_socket + c;
                    let ids: Vec<u32> = (0..self.threads)
                        .map(|t| match self.numbering {
                            Numbering::Sequential => (core_index * self.threads + t) * stride,
                            Numbering::ThreadMajor => (t * total_cores + core_index) * stride,
                            Numbering::Strided => {
                                let local = s * self.cores_per_socket + c;
                                ((t * cores_per_node + local) * nodes + n) * stride
                            }
                        })
                        .collect();
                    let socket = n * self.sockets_per_node + s;
                    out[n as usize].push(GenCore {
                        socket: if self.sockets_span_nodes {
                            socket / 2
                        } else {
                            socket
                        },
                        die: c % self.dies_per_socket,
                        core: c,
                        ids,
                        offline: self.offline_every > 0 && core_index % self.offline_every == 1,
                    });
                }
            }
        }
        out
    }

    fn xml(&self) -> String {
        let mut x = String::from("<capabilities><host><cpu><arch>x86_64</arch>");
        for s in &self.sizes {
            let _ = write!(x, "<pages unit='KiB' size='{s}'/>");
        }
        x.push_str("</cpu><topology><cells>");
        let pools = |x: &mut String| {
            for (size, count) in &self.pools {
                let _ = write!(x, "<pages unit='KiB' size='{size}'>{count}</pages>");
            }
        };
        for (i, cores) in self.layout().iter().enumerate() {
            let id = self.node_ids[i];
            let _ = write!(
                x,
                "<cell id='{id}'><memory unit='KiB'>{}</memory>",
                self.memory_gib[i % 16] * 1024 * 1024
            );
            pools(&mut x);
            x.push_str("<cpus>");
            // Each CPU with its core, listed in id order as libvirt does.
            let mut cpus: Vec<(u32, &GenCore)> = cores
                .iter()
                .flat_map(|core| core.ids.iter().map(move |&cpu| (cpu, core)))
                .collect();
            cpus.sort_by_key(|(cpu, _)| *cpu);
            for (cpu, core) in cpus {
                if core.offline {
                    let _ = write!(x, "<cpu id='{cpu}'/>");
                } else {
                    let siblings: CpuSet = core.ids.iter().copied().collect();
                    let _ = write!(
                        x,
                        "<cpu id='{cpu}' socket_id='{}' die_id='{}' core_id='{}' siblings='{siblings}'/>",
                        core.socket, core.die, core.core
                    );
                }
            }
            x.push_str("</cpus></cell>");
        }
        let last = self.node_ids.last().copied().unwrap_or(0);
        for m in 0..self.memory_only {
            let _ = write!(
                x,
                "<cell id='{}'><memory unit='KiB'>{}</memory>",
                last + 1 + m,
                (m as u64 + 1) * 16 * 1024 * 1024
            );
            pools(&mut x);
            x.push_str("<cpus num='0'/></cell>");
        }
        x.push_str("</cells></topology></host></capabilities>");
        x
    }
}

fn gen_settings() -> impl Strategy<Value = Settings> {
    (
        1u32..4,
        0u64..8,
        1u32..9,
        1u64..20,
        prop_oneof![3 => Just(None), 1 => (0u32..64).prop_map(Some)],
        any::<bool>(),
        any::<bool>(),
        prop_oneof![3 => Just(EmulatorPolicy::Share), 1 => Just(EmulatorPolicy::Isolate)],
        (
            prop_oneof![2 => Just(Reserve::All), 1 => Just(Reserve::Guest)],
            prop_oneof![2 => Just(0u64), 1 => 1u64..8],
        ),
    )
        .prop_map(
            |(
                host_cpus,
                host_gib,
                vcpus,
                gib,
                node,
                two_mib,
                no_rt0,
                emulator,
                (reserve, spare_gib),
            )| {
                let mut s = Settings::default();
                s.host.host_cpus = host_cpus;
                s.host.host_memory = Kib::gib(host_gib);
                if two_mib {
                    s.host.page_size = PageSize::Kib(2048);
                }
                s.guest.vcpus = vcpus;
                s.guest.memory = Kib::gib(gib);
                s.guest.node = node;
                if no_rt0 {
                    s.guest.rt_vcpus = RtVcpus::AllBut(CpuSet::from_iter([0]));
                }
                s.guest.emulator = emulator;
                s.host.reserve = reserve;
                if reserve == Reserve::Guest {
                    s.host.spare = Kib::gib(spare_gib);
                }
                s
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_their_invariants(gen in gen_host(), settings in gen_settings()) {
        let xml = gen.xml();
        let host = parse_capabilities(&xml).expect("generated hosts are valid");
        let Ok(plan) = plan(&host, &settings) else { return Ok(()); };
        let out = outputs(&host, &plan);
        let online = host.online_cpus();
        let h = &plan.host;
        let g = &plan.guest;

        // The partition covers every online CPU exactly once.
        prop_assert!(h.isolcpus.is_disjoint(&h.housekeeping));
        let mut union = h.isolcpus.clone();
        union.extend_from(&h.housekeeping);
        prop_assert_eq!(&union, &online);
        prop_assert!(!h.isolcpus.is_empty());

        // No core is split between host and isolated sets.
        let siblings: BTreeMap<u32, CpuSet> = host.cpus().map(|c| (c.id, c.siblings.clone())).collect();
        for (cpu, sibs) in &siblings {
            let isolated = h.isolcpus.contains(*cpu);
            for s in sibs.iter() {
                prop_assert_eq!(h.isolcpus.contains(s), isolated, "core of CPU {} split", cpu);
            }
        }
        // Every node keeps at least one housekeeping CPU.
        for node in &h.nodes {
            prop_assert!(!node.housekeeping.is_empty());
        }

        // vCPUs: distinct, isolated, on the chosen node, never siblings of each other.
        prop_assert_eq!(g.vcpupin.len(), settings.guest.vcpus as usize);
        let pins: CpuSet = g.vcpupin.iter().copied().collect();
        prop_assert_eq!(pins.len(), g.vcpupin.len());
        prop_assert!(pins.is_subset(&h.isolcpus));
        let node_cpus = host.cell(g.node).unwrap().cpu_set();
        prop_assert!(pins.is_subset(&node_cpus));
        for &pin in &g.vcpupin {
            let others = siblings[&pin].intersection(&pins);
            prop_assert_eq!(others.len(), 1, "vCPU host CPU {} shares its core", pin);
        }
        // Emulator threads stay off isolated CPUs, on the guest's node.
        prop_assert!(!g.emulatorpin.is_empty());
        prop_assert!(g.emulatorpin.is_subset(&node_cpus));
        match g.emulator {
            // Shared: on housekeeping CPUs only.
            EmulatorPolicy::Share => prop_assert!(g.emulatorpin.is_disjoint(&h.isolcpus)),
            // Isolated: a whole isolated core that no vCPU uses.
            EmulatorPolicy::Isolate => {
                prop_assert!(g.emulatorpin.is_subset(&h.isolcpus));
                let first = g.emulatorpin.first().unwrap();
                prop_assert_eq!(&siblings[&first].intersection(&online), &g.emulatorpin);
                prop_assert!(g.vcpupin.iter().all(|v| !siblings[v].contains(first)));
            }
        }

        // Pages fit and divide the memory.
        prop_assert_eq!(g.memory_kib % h.page_size_kib, 0);
        let pages = h.hugepages.iter().find(|p| p.node == g.node).unwrap();
        prop_assert!(pages.count * pages.page_size_kib >= g.memory_kib);
        for p in &h.hugepages {
            let memory = host.cell(p.node).unwrap().memory_kib.unwrap();
            prop_assert!(p.count * p.page_size_kib + settings.host.host_memory.0 <= memory.max(settings.host.host_memory.0));
        }
        // Reserving only the guest's pages: exactly its memory and the spare on its node, none
        // elsewhere; and the same plan otherwise on that node (every other output follows from the
        // same partition and placement).
        if settings.host.reserve == Reserve::Guest {
            let spare = settings.host.spare.0;
            prop_assert_eq!(h.spare_kib, spare);
            for p in &h.hugepages {
                let expected = if p.node == g.node { (g.memory_kib + spare) / p.page_size_kib } else { 0 };
                prop_assert_eq!(p.count, expected);
            }
            let mut all = settings.clone();
            all.host.reserve = Reserve::All;
            all.host.spare = Kib(0);
            all.guest.node = Some(g.node);
            let all = rtkvm_core::plan(&host, &all).expect("the same guest fits with every page reserved");
            prop_assert_eq!(&all.guest, g);
            prop_assert_eq!(&all.host.isolcpus, &h.isolcpus);
            for (a, p) in all.host.hugepages.iter().zip(&h.hugepages) {
                prop_assert!(p.count <= a.count);
            }
        }

        // The kernel command line's cpulists read back as the same sets.
        for param in out.kernel_cmdline.split(' ') {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            let value = value.trim_start_matches("managed_irq,domain,");
            match key {
                "isolcpus" | "nohz_full" | "rcu_nocbs" => prop_assert_eq!(&value.parse::<CpuSet>().unwrap(), &h.isolcpus),
                "irqaffinity" => prop_assert_eq!(&value.parse::<CpuSet>().unwrap(), &h.housekeeping),
                _ => {}
            }
        }
        // Inside the guest, the real-time and housekeeping vCPUs split the vCPUs, and only the real-time
        // ones are isolated.
        let os = &out.guest_os;
        prop_assert!(os.rt_vcpus.is_disjoint(&os.housekeeping_vcpus));
        prop_assert_eq!(os.rt_vcpus.len() + os.housekeeping_vcpus.len(), g.vcpus as usize);
        if !os.kernel_params.is_empty() {
            let isolcpus = format!("isolcpus=managed_irq,domain,{}", os.rt_vcpus);
            prop_assert_eq!(&os.kernel_params[0].param, &isolcpus);
        }
        // The domain XML names only existing vCPUs.
        let vcpusched = format!("vcpus=\"{}\"", g.rt_vcpus);
        prop_assert!(g.rt_vcpus.is_empty() || out.domain_xml.contains(&vcpusched));
        prop_assert!(g.rt_vcpus.iter().all(|v| v < g.vcpus));
    }
}

/// Draws `n` generated hosts and settings from a runner, outside `proptest!`.
fn generated(
    mut runner: proptest::test_runner::TestRunner,
    n: usize,
) -> impl Iterator<Item = (GenHost, Settings)> {
    use proptest::strategy::ValueTree;
    let strategy = (gen_host(), gen_settings());
    (0..n).map(move |_| strategy.new_tree(&mut runner).unwrap().current())
}

/// Guards the property test against vacuity: the generators must produce plannable cases often.
#[test]
fn generated_cases_often_give_plans() {
    let mut plans = 0;
    for (gen, settings) in generated(proptest::test_runner::TestRunner::deterministic(), 300) {
        let host = parse_capabilities(&gen.xml()).unwrap();
        if plan(&host, &settings).is_ok() {
            plans += 1;
        }
    }
    assert!(
        plans >= 60,
        "only {plans} of 300 generated cases gave a plan"
    );
}

/// A sample of generated plans, different on every run of the same seed list, is judged by libvirt.
#[test]
fn a_sample_of_generated_domains_is_accepted_by_libvirt() {
    let mut judged = 0;
    for (gen, mut settings) in generated(proptest::test_runner::TestRunner::default(), 400) {
        settings.guest.name = format!("gen-{judged} <{:?}> & 'x'", gen.numbering);
        let host = parse_capabilities(&gen.xml()).unwrap();
        if let Ok(plan) = plan(&host, &settings) {
            common::assert_libvirt_accepts(
                &outputs(&host, &plan).domain_xml,
                &format!("{gen:?} {settings:?}"),
            );
            judged += 1;
            if judged == 25 {
                break;
            }
        }
    }
    assert_eq!(judged, 25, "too few generated cases gave a plan");
}

/// Any valid settings, every field drawn over its whole range: for the contracts that must carry every
/// setting (the form, share links).
fn any_settings() -> impl Strategy<Value = Settings> {
    let cpus = proptest::collection::btree_set(0u32..300, 1..6)
        .prop_map(|set| set.into_iter().collect::<CpuSet>());
    let size = prop_oneof![
        (1u64..64).prop_map(Kib::gib),
        (1u64..4096).prop_map(|m| Kib(m * 1024)),
        (1u64..100_000).prop_map(Kib),
    ];
    let host = (
        1u32..65,
        proptest::option::of(cpus.clone()),
        size.clone(),
        prop_oneof![
            Just(PageSize::Auto),
            (2u32..21).prop_map(|shift| PageSize::Kib(1 << shift)),
        ],
        prop_oneof![Just(Preset::Full), Just(Preset::Minimal)],
    );
    let guest = (
        "[a-zA-Z0-9 <>&'\"._-]{0,20}",
        1u32..64,
        size,
        proptest::option::of(0u32..9),
        prop_oneof![
            Just(RtVcpus::All),
            Just(RtVcpus::None),
            cpus.clone().prop_map(RtVcpus::List),
            cpus.prop_map(RtVcpus::AllBut),
        ],
        prop_oneof![Just(Scheduler::Fifo), Just(Scheduler::Rr)],
        1u32..100,
    );
    let recipe = prop_oneof![Just(Recipe::Guide), Just(Recipe::Production)];
    let emulator = prop_oneof![Just(EmulatorPolicy::Share), Just(EmulatorPolicy::Isolate)];
    (recipe, emulator, host, guest).prop_filter_map(
        "valid settings only",
        |(recipe, emulator, h, g)| {
            let mut s = Settings {
                recipe,
                ..Settings::default()
            };
            (
                s.host.host_cpus,
                s.host.housekeeping,
                s.host.host_memory,
                s.host.page_size,
                s.host.preset,
            ) = h;
            let (name, vcpus, memory, node, rt_vcpus, scheduler, priority) = g;
            s.guest.name = format!("g{}", name.trim());
            s.guest.vcpus = vcpus;
            s.guest.memory = memory;
            s.guest.node = node;
            s.guest.rt_vcpus = match rt_vcpus {
                RtVcpus::List(set) => RtVcpus::List(set.iter().map(|v| v % vcpus).collect()),
                other => other,
            };
            s.guest.scheduler = scheduler;
            s.guest.priority = priority;
            s.guest.emulator = emulator;
            s.validate().ok().map(|()| s)
        },
    )
}

/// Any valid settings of several guests (1 to 6), each drawn over its whole range as the first one
/// is by [`any_settings`], some kept in place (a placement of one CPU per vCPU and an emulator set):
/// for share links from v7, which carry every guest.
fn any_guest_list() -> impl Strategy<Value = Settings> {
    let placement = proptest::option::of((
        proptest::collection::vec(0u32..300, 64),
        proptest::collection::btree_set(0u32..300, 1..4),
    ));
    (
        any_settings(),
        proptest::collection::vec((any_settings(), placement), 0..6),
        proptest::option::of((
            proptest::collection::vec(0u32..300, 64),
            proptest::collection::btree_set(0u32..300, 1..4),
        )),
    )
        .prop_filter_map("valid settings only", |(first, others, first_keep)| {
            let keep =
                |g: &mut rtkvm_core::settings::GuestSettings,
                 placement: Option<(Vec<u32>, std::collections::BTreeSet<u32>)>| {
                    g.keep = placement.map(|(pins, emulator)| rtkvm_core::settings::Placement {
                        vcpupin: pins[..g.vcpus as usize].to_vec(),
                        emulatorpin: emulator.into_iter().collect(),
                    });
                };
            let mut s = first;
            keep(&mut s.guest, first_keep);
            s.others = others
                .into_iter()
                .enumerate()
                .map(|(i, (other, placement))| {
                    let mut g = other.guest;
                    g.name = format!("{}-{i}", g.name);
                    keep(&mut g, placement);
                    g
                })
                .collect();
            s.validate().ok().map(|()| s)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// A share link carries every guest of a plan, with its kept placement, exactly (link v7).
    #[test]
    fn links_round_trip_every_guest(settings in any_guest_list()) {
        let host = parse_capabilities(rtkvm_core::EXAMPLE_CAPABILITIES).unwrap();
        let link = rtkvm_core::link::encode_link(&host, &settings);
        let shared = rtkvm_core::link::decode_link(&link).unwrap();
        prop_assert_eq!(shared.settings, settings);
    }

    /// The form expresses every setting: writing settings into it and reading them back gives them again.
    #[test]
    fn the_form_round_trips_every_setting(settings in any_settings()) {
        prop_assert_eq!(Form::from_settings(&settings).to_settings(), Ok(settings));
    }

    /// A share link carries every setting exactly.
    #[test]
    fn links_round_trip_every_setting(settings in any_settings()) {
        let host = parse_capabilities(rtkvm_core::EXAMPLE_CAPABILITIES).unwrap();
        let link = rtkvm_core::link::encode_link(&host, &settings);
        let shared = rtkvm_core::link::decode_link(&link).unwrap();
        prop_assert_eq!(shared.settings, settings);
    }
}

proptest! {
    /// `format_kib` rounds in 64-bit integers; it agrees with the same rounding done in 128 bits, over
    /// the whole range of `u64` and around every unit's boundaries.
    #[test]
    fn format_kib_agrees_with_wide_arithmetic(
        kib in prop_oneof![
            any::<u64>(),
            (0u32..4, 0u64..4096).prop_map(|(unit, k)| (1u64 << (10 * unit)).saturating_mul(k)),
            (0u32..4, 0u64..4096).prop_map(|(unit, k)| (1u64 << (10 * unit)).saturating_mul(k).saturating_sub(1)),
        ]
    ) {
        let units = [("TiB", 1u128 << 30), ("GiB", 1 << 20), ("MiB", 1 << 10), ("KiB", 1)];
        let wide = u128::from(kib);
        let expected = match units.iter().find(|(_, size)| wide >= *size) {
            None => "0 KiB".to_string(),
            Some((name, size)) if wide % size == 0 => format!("{} {name}", wide / size),
            Some((name, size)) => {
                let tenths = (wide * 10 + size / 2) / size;
                format!("{}.{} {name}", tenths / 10, tenths % 10)
            }
        };
        prop_assert_eq!(rtkvm_core::units::format_kib(kib), expected);
    }
}
