//! The checks the fuzz targets run, shared with the regression tests in `tests/`.

use rtkvm_core::settings::{
    EmulatorPolicy, Kernel, KernelType, Named, PageSize, Preset, Recipe, Reserve, RtVcpus,
    Scheduler,
};
use rtkvm_core::units::Kib;
use rtkvm_core::{CpuSet, Settings};

/// The first 12 bytes are the settings, the rest is the capabilities text; seeds are a settings
/// prefix followed by a real document.
const SETTINGS_BYTES: usize = 12;

/// Guest names that must never reach the shell script or the kernel command line.
const NAMES: [&str; 6] = [
    "rt-guest",
    "$(reboot)",
    "`id`",
    "a&b <c>",
    "x'; rm -rf ~ #",
    "ü\"q\"",
];

/// The recipe revision two bits pick, newest first (so that a zero byte is the current recipe).
fn recipe_newest_first(bits: u8) -> Recipe {
    Recipe::ALL[Recipe::ALL.len() - 1 - usize::from(bits & 3) % Recipe::ALL.len()]
}

/// Runs the whole pipeline on fuzzed settings and text; returns whether a plan was made. Panics when an
/// invariant breaks.
pub fn pipeline(data: &[u8]) -> bool {
    if data.len() < SETTINGS_BYTES {
        return false;
    }
    let (b, xml) = data.split_at(SETTINGS_BYTES);
    let Ok(host) = rtkvm_core::parse_capabilities_bytes(xml) else {
        return false;
    };
    let mut s = Settings::default();
    s.host.host_cpus = u32::from(b[0] % 8);
    s.host.host_memory = Kib(u64::from(u16::from_le_bytes([b[1], b[2]])) * 1024);
    s.host.page_size = match b[3] % 4 {
        0 => PageSize::Auto,
        1 => PageSize::Kib(2048),
        2 => PageSize::Kib(1024 * 1024),
        _ => PageSize::Kib(4u64 << (b[3] % 24)),
    };
    // Byte 4's low bits pick the named settings: the second of each list when set.
    let bit = |mask: u8| usize::from(b[4] & mask != 0);
    s.host.preset = Preset::ALL[bit(1)];
    s.guest.scheduler = Scheduler::ALL[bit(2)];
    // Bits 4-5 pick the recipe revision, newest first; bits 6-7 the host's kernel.
    s.recipe = recipe_newest_first(b[4] >> 4);
    s.host.kernel = Kernel::ALL[usize::from(b[4] >> 6)];
    s.host.kernel_type = KernelType::ALL[usize::from(b[11] >> 7)];
    s.guest.emulator = EmulatorPolicy::ALL[bit(8)];
    // Byte 0's top bit (its low bits are the host CPUs): reserve only the guest's pages.
    s.host.reserve = Reserve::ALL[usize::from(b[0] >> 7)];
    // Byte 5's top bits (its low bits are the vCPUs): 0 to 3 GiB spare, with the guest's pages only.
    if s.host.reserve == Reserve::Guest {
        s.host.spare = Kib(u64::from(b[5] >> 6) << 20);
    }
    s.guest.vcpus = u32::from(b[5] % 64);
    s.guest.memory = Kib(u64::from(u16::from_le_bytes([b[6], b[7]])) * 1024);
    s.guest.node = (b[8] != 0xff).then_some(u32::from(b[8]));
    // Bits 0-6 name vCPUs; bit 7 makes them a mask (every vCPU but those).
    let named: CpuSet = (0..7u32).filter(|i| b[9] & (1 << i) != 0).collect();
    s.guest.rt_vcpus = match (b[9], b[9] & 0x80 != 0) {
        (0, _) => RtVcpus::All,
        (0x80, _) => RtVcpus::None,
        (_, true) => RtVcpus::AllBut(named),
        (_, false) => RtVcpus::List(named),
    };
    s.guest.priority = u32::from(b[10]);
    s.guest.name = NAMES[usize::from(b[11]) % NAMES.len()].to_string();
    let Ok(plan) = rtkvm_core::plan(&host, &s) else {
        return false;
    };
    let out = rtkvm_core::outputs(&host, &plan);

    let h = &plan.host;
    let g = &plan.guest;
    assert!(h.isolcpus.is_disjoint(&h.housekeeping));
    let mut all = h.isolcpus.clone();
    all.extend_from(&h.housekeeping);
    assert_eq!(all, host.online_cpus());
    let pins: CpuSet = g.vcpupin.iter().copied().collect();
    assert_eq!(pins.len(), g.vcpus as usize);
    assert!(pins.is_subset(&h.isolcpus));
    match g.emulator {
        EmulatorPolicy::Share => assert!(g.emulatorpin.is_disjoint(&h.isolcpus)),
        EmulatorPolicy::Isolate => {
            assert!(g.emulatorpin.is_subset(&h.isolcpus));
            assert!(g.emulatorpin.is_disjoint(&pins));
            assert!(g.emulatorpin.is_disjoint(&g.idle_siblings));
        }
    }
    assert!(g.rt_vcpus.iter().all(|v| v < g.vcpus));
    assert_eq!(g.memory_kib % h.page_size_kib, 0);
    // The guest name (the one free-text input) never reaches the command line or the script.
    let mut renamed = s.clone();
    renamed.guest.name = "x".into();
    let other = rtkvm_core::plan(&host, &renamed).expect("the name does not change feasibility");
    let other = rtkvm_core::outputs(&host, &other);
    assert_eq!(other.kernel_cmdline, out.kernel_cmdline);
    assert_eq!(other.hugepages.script, out.hugepages.script);

    several_guests(&host, &s, h.page_size_kib, b[11]);

    let link = rtkvm_core::link::encode_link(&host, &s);
    let shared = rtkvm_core::link::decode_link(&link).expect("our own link decodes");
    assert_eq!(shared.settings, s);
    assert_eq!(
        rtkvm_core::plan(&shared.host, &shared.settings).as_ref(),
        Ok(&plan)
    );
    true
}

/// Plans the fuzzed guest with up to three more beside it (their number from `bits`, their names the
/// hostile ones), and checks what several guests keep: no core or sibling thread shared, isolated
/// emulator cores their own, each node's pages covering its guests, names kept out of the host's files.
fn several_guests(host: &rtkvm_core::Host, first: &Settings, page_kib: u64, bits: u8) {
    let count = usize::from(bits % 4);
    if count == 0 {
        return;
    }
    let mut s = first.clone();
    s.others = (0..count)
        .map(|i| rtkvm_core::settings::GuestSettings {
            name: format!("{}-{i}", NAMES[(usize::from(bits) + i) % NAMES.len()]),
            vcpus: 1 + (u32::from(bits) >> i) % 3,
            memory: Kib(page_kib * (1 + i as u64)),
            emulator: EmulatorPolicy::ALL[(usize::from(bits) >> (i + 2)) & 1],
            ..rtkvm_core::settings::GuestSettings::default()
        })
        .collect();
    let Ok(plan) = rtkvm_core::plan(host, &s) else {
        return;
    };
    let siblings: std::collections::BTreeMap<u32, CpuSet> =
        host.cpus().map(|c| (c.id, c.siblings.clone())).collect();
    let mut owner: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
    for (i, g) in plan.guests().enumerate() {
        let mut cores: Vec<u32> = g.vcpupin.clone();
        if g.emulator == EmulatorPolicy::Isolate {
            cores.extend(g.emulatorpin.iter());
        }
        for cpu in cores {
            for thread in siblings[&cpu].iter() {
                let was = owner.insert(thread, i);
                assert!(was.is_none() || was == Some(i), "CPU {thread} is in two guests' cores");
            }
        }
    }
    for pages in &plan.host.hugepages {
        let memory: u64 = plan
            .guests()
            .filter(|g| g.node == pages.node)
            .map(|g| g.memory_kib)
            .sum();
        assert!(pages.count * pages.page_size_kib >= memory);
    }
    // The names never reach the host's files: the same plan with other names writes the same.
    let mut renamed = s.clone();
    for (i, g) in renamed.others.iter_mut().enumerate() {
        g.name = format!("other-{i}");
    }
    let out = rtkvm_core::outputs(host, &plan);
    let other = rtkvm_core::plan(host, &renamed).expect("names do not change feasibility");
    let other = rtkvm_core::outputs(host, &other);
    assert_eq!(other.kernel_cmdline, out.kernel_cmdline);
    assert_eq!(other.hugepages.script, out.hugepages.script);
    assert_eq!(other.host_files(), out.host_files());
}

/// Parses any bytes; panics only if the parser does.
pub fn parse(data: &[u8]) -> bool {
    rtkvm_core::parse_capabilities_bytes(data).is_ok()
}

/// Decodes any text as a share link; a decoded link re-encodes to one that decodes the same.
pub fn link(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(shared) = rtkvm_core::link::decode_link(text) else {
        return false;
    };
    let again = rtkvm_core::link::encode_link(&shared.host, &shared.settings);
    let back = rtkvm_core::link::decode_link(&again).expect("a re-encoded link decodes");
    assert_eq!(back.settings, shared.settings);
    let _ = rtkvm_core::plan(&shared.host, &shared.settings);
    true
}

/// Checks and patches any bytes as an existing domain, against the built-in example host. The first
/// byte picks the recipe (bits 0-1, newest first) and whether the guest may keep its own vCPU count (bit 2, else
/// 2 vCPUs). Panics when an invariant breaks: a patch that does not read back as a domain, that a
/// second patch changes, or that still has an error the plan could have fixed.
pub fn domain(data: &[u8]) -> bool {
    use rtkvm_core::check::{check, FindingCode, HostContext, Severity};
    use rtkvm_core::existing::{parse_domain, DomainFacts};
    let Some((&b, rest)) = data.split_first() else {
        return false;
    };
    let Ok(text) = rtkvm_core::caps::decode(rest) else {
        return false;
    };
    let Ok(doc) = parse_domain(text) else {
        return false;
    };
    let report = check(&doc, None, None);
    let lines = doc.text.lines().count().max(1);
    assert!(report.findings.iter().all(|f| f.position.line <= lines));
    let host = rtkvm_core::parse_capabilities(rtkvm_core::EXAMPLE_CAPABILITIES).unwrap();
    let facts = DomainFacts::read(&doc);
    let mut s = Settings {
        recipe: recipe_newest_first(b),
        ..Settings::default()
    };
    let given = rtkvm_core::apply::Given {
        vcpus: b & 4 == 0,
        memory: true,
        node: false,
    };
    s.guest.vcpus = 2;
    s.guest.memory = Kib::gib(2);
    if rtkvm_core::apply::settings_for_domain(&facts, &host, &mut s, given).is_err() {
        return false;
    }
    let Ok(plan) = rtkvm_core::plan(&host, &s) else {
        return false;
    };
    let applied = rtkvm_core::apply::apply(&doc, &host, &plan);
    let patched = parse_domain(&applied.xml).expect("a patched domain reads back");
    let again = rtkvm_core::apply::apply(&patched, &host, &plan);
    assert!(
        again.changes.is_empty(),
        "a second patch changed {:?}",
        again.changes
    );
    assert_eq!(again.xml, applied.xml);
    let context = HostContext {
        host: &host,
        partition: &plan.host,
    };
    let after = check(&patched, Some(context), None);
    for f in &after.findings {
        let allowed = f.code == FindingCode::NoRealtimeScheduler && plan.guest.rt_vcpus.is_empty();
        assert!(
            f.severity == Severity::Warning || allowed,
            "the patch leaves {} ({})",
            f.code.as_str(),
            f.message
        );
    }
    true
}
