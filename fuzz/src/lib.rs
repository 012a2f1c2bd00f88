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

/// Reads the settings of the first [`SETTINGS_BYTES`] bytes (the pipeline's and the exports' seeds
/// begin with them).
fn settings(b: &[u8]) -> Settings {
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
    s
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
    let s = settings(b);
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
                assert!(
                    was.is_none() || was == Some(i),
                    "CPU {thread} is in two guests' cores"
                );
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
/// byte picks the recipe (bits 0-1, newest first), whether the guest may keep its own vCPU count (bit 2, else
/// 2 vCPUs) and its own real-time scheduling (bit 3). Panics when an invariant breaks: a patch that does not read back as a domain, that a
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
        realtime: b & 8 == 0,
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

/// The plan a report is read against: the example host with the default settings (the plan of the
/// reports in `regressions/report/`, which `core/tests/verify.rs` makes with `rtkvm-check.sh`).
fn report_outputs() -> &'static rtkvm_core::Outputs {
    static OUTPUTS: std::sync::OnceLock<rtkvm_core::Outputs> = std::sync::OnceLock::new();
    OUTPUTS.get_or_init(|| {
        let host = rtkvm_core::parse_capabilities(rtkvm_core::EXAMPLE_CAPABILITIES).unwrap();
        let plan = rtkvm_core::plan(&host, &Settings::default()).unwrap();
        rtkvm_core::outputs(&host, &plan)
    })
}

/// The longest message a refused report may get: it names at most a word or two of the paste.
const MAX_REPORT_MESSAGE: usize = 400;

/// Reads any text as the output of `rtkvm-check.sh` (what a user pastes back), as it is and with its
/// first line replaced by this plan's header, so that the lines after it are read too (the seeds, real
/// reports, then keep working when the plan's fingerprint changes). Panics when the reader does, when a
/// refusal's message echoes more than a few words of the paste, or when what it read is not the
/// paste's own lines: at most one check per line, each field a piece of its line, the failures
/// counted.
pub fn report(data: &[u8]) -> bool {
    use rtkvm_core::verify::{plan_id, read_report, Status, CHECK_FORMAT};
    let text = String::from_utf8_lossy(data);
    let out = report_outputs();
    if let Err(e) = read_report(&text, out) {
        let message = e.to_string();
        assert!(
            message.len() <= MAX_REPORT_MESSAGE,
            "a refusal of {} bytes",
            message.len()
        );
    }
    let body = match text.split_once('\n') {
        Some((first, rest)) if first.trim_start().starts_with("rtkvm-check ") => rest,
        _ => &text,
    };
    let ours = format!(
        "rtkvm-check {CHECK_FORMAT} recipe 4 plan {}\n{body}",
        plan_id(out)
    );
    let read = read_report(&ours, out).expect("a report with this plan's header is read");
    let lines = body.lines().count();
    assert!(
        read.lines.len() <= lines,
        "{} checks from {lines} lines",
        read.lines.len()
    );
    let fields: usize = read
        .lines
        .iter()
        .map(|l| l.check.len() + l.found.len() + l.expected.len())
        .sum();
    assert!(
        fields <= body.len(),
        "{fields} bytes read from {}",
        body.len()
    );
    let failures = read
        .lines
        .iter()
        .filter(|l| l.status == Status::Fail)
        .count();
    assert_eq!(read.failures, failures);
    assert!(failures <= body.matches("FAIL").count());
    for l in read.lines.iter().take(64) {
        assert!(!l.fix.is_empty());
        for field in [&l.check, &l.found, &l.expected] {
            assert!(
                !field.contains('\n') && body.contains(field.as_str()),
                "{field:?} is not in the report"
            );
        }
    }
    true
}

/// After the settings bytes, one byte gives the length of a block of guest names separated by NUL
/// bytes (the first guest's, then up to three more), then the capabilities text. An empty block
/// keeps the hostile names of [`NAMES`].
fn names_and_caps(data: &[u8]) -> Option<(Vec<String>, &[u8])> {
    let (&len, rest) = data.split_first()?;
    let len = usize::from(len);
    if rest.len() < len {
        return None;
    }
    let (block, xml) = rest.split_at(len);
    let names = block
        .split(|&b| b == 0)
        .take(4)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .filter(|n| !n.is_empty())
        .collect();
    Some((names, xml))
}

/// Plans fuzzed settings, guest names and host, and writes every export: panics when one is not what
/// its consumer reads. The YAML files (the NTO profile, each KubeVirt VM) read back with serde-saphyr
/// as the very data rtkvm serialized, whatever the names hold; each VM has a Kubernetes name of its
/// own and keeps the guest's name exactly; each warning is a comment of its file; the Nova flavor
/// script, read as a POSIX shell reads it, makes exactly two `openstack` calls per guest, each ending
/// with `--` and the guest's name, with each extra spec one argument, and nothing outside quotes a
/// shell would expand.
pub fn exports(data: &[u8]) -> bool {
    use rtkvm_core::export;
    if data.len() < SETTINGS_BYTES {
        return false;
    }
    let (b, rest) = data.split_at(SETTINGS_BYTES);
    let Some((names, xml)) = names_and_caps(rest) else {
        return false;
    };
    let Ok(host) = rtkvm_core::parse_capabilities_bytes(xml) else {
        return false;
    };
    let mut s = settings(b);
    let mut names = names.into_iter();
    if let Some(first) = names.next() {
        s.guest.name = first;
    }
    s.others = names
        .enumerate()
        .map(|(i, name)| rtkvm_core::settings::GuestSettings {
            name,
            vcpus: 1 + (u32::from(b[11]) >> i) % 3,
            memory: Kib::gib(1),
            emulator: EmulatorPolicy::ALL[(usize::from(b[11]) >> (i + 2)) & 1],
            ..rtkvm_core::settings::GuestSettings::default()
        })
        .collect();
    let Ok(plan) = rtkvm_core::plan(&host, &s) else {
        return false;
    };
    let outputs = rtkvm_core::outputs(&host, &plan);
    let ex = export::exports(&host, &plan, &outputs);

    let (profile, _) = export::nto::profile_data(&host, &plan, &outputs.kernel_params);
    assert_yaml_is(&ex.nto.content, &profile, "the NTO profile");
    assert_eq!(ex.kubevirt.len(), plan.guests().count());
    let mut taken = std::collections::BTreeSet::new();
    for (g, vm) in plan.guests().zip(&ex.kubevirt) {
        let name = vm
            .file
            .strip_prefix("kubevirt-")
            .and_then(|f| f.strip_suffix(".yaml"))
            .expect("kubevirt-NAME.yaml");
        assert!(
            (1..=63).contains(&name.len())
                && name
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && !name.starts_with('-')
                && !name.ends_with('-'),
            "{name:?} is not a DNS-1123 label"
        );
        assert!(taken.insert(name.to_string()), "two VMs named {name}");
        let (data, _) = export::kubevirt::vm_data(&host, &plan, g, name);
        let read = assert_yaml_is(&vm.content, &data, &g.name);
        assert_eq!(read["metadata"]["name"], name);
        let kept = read["metadata"]["annotations"][export::kubevirt::NAME_ANNOTATION]
            .as_str()
            .unwrap_or(name);
        assert_eq!(kept, g.name, "the guest's name is kept");
    }
    let stream: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&ex.kubevirt_stream()).expect("the VM stream reads back");
    assert_eq!(stream.len(), ex.kubevirt.len());
    for file in std::iter::once(&ex.nto)
        .chain(&ex.kubevirt)
        .chain([&ex.nova_flavors, &ex.nova_conf])
    {
        for w in &file.warnings {
            let line = format!("# - {}\n", export::one_line(w));
            assert!(file.content.contains(&line), "{}: {w:?}", file.file);
        }
    }
    let calls = shell_commands(&ex.nova_flavors.content);
    let calls: Vec<&Vec<String>> = calls.iter().filter(|c| c[0] != "set").collect();
    assert_eq!(calls.len(), 2 * plan.guests().count(), "{calls:?}");
    for (g, pair) in plan.guests().zip(calls.chunks(2)) {
        let (create, set) = (pair[0], pair[1]);
        assert_eq!(create[..3], ["openstack", "flavor", "create"]);
        assert_eq!(set[..3], ["openstack", "flavor", "set"]);
        for call in [create, set] {
            assert_eq!(call[call.len() - 2], "--", "{call:?}");
            assert_eq!(call[call.len() - 1], g.name, "{call:?}");
        }
        let specs: Vec<String> = export::nova::extra_specs(&host, g)
            .into_iter()
            .flat_map(|(k, v)| ["--property".to_string(), format!("{k}={v}")])
            .collect();
        assert_eq!(set[3..set.len() - 2], specs[..]);
    }
    true
}

/// Reads YAML with serde-saphyr (as the tests do) and asserts that it is `value` serialized.
fn assert_yaml_is<T: serde::Serialize>(text: &str, value: &T, what: &str) -> serde_json::Value {
    let read: serde_json::Value =
        serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{what}: not YAML: {e}\n{text}"));
    let data = serde_json::to_value(value).unwrap();
    assert_eq!(read, data, "{what}: the YAML reads back otherwise\n{text}");
    read
}

/// Reads a script as a POSIX shell reads its words, for the few forms rtkvm writes: words unquoted
/// or in single quotes, `\` before a newline (a continued line) or a character, comments from a `#`
/// that starts a word. Panics on anything else outside quotes that a shell would treat specially
/// (`$`, backquotes, double quotes, `;`, `&`, `|`, redirections, globs, braces, `~`): a name must
/// never reach the shell but as a quoted word. Returns each command's words.
pub fn shell_commands(script: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = script.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(q) => w.push(q),
                        None => panic!("a quote is not closed:\n{script}"),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(q) => word.get_or_insert_with(String::new).push(q),
                None => panic!("the script ends with a backslash"),
            },
            '#' if word.is_none() => {
                for q in chars.by_ref() {
                    if q == '\n' {
                        break;
                    }
                }
                words.extend(word.take());
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            ' ' | '\t' | '\n' => {
                words.extend(word.take());
                if c == '\n' && !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            c if c.is_ascii_alphanumeric() || "-_.:=/,^@%+".contains(c) => {
                word.get_or_insert_with(String::new).push(c);
            }
            c => panic!("{c:?} outside quotes:\n{script}"),
        }
    }
    words.extend(word.take());
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}
