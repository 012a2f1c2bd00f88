//! Recipe 3's host: the command line, `rtkvm-host.sh`, the sysctl file, tuned's files and the boot
//! unit, for each architecture, CPU vendor and kernel choice; every script through shellcheck, every
//! sysctl, tuned and unit file parsed back, and `docs/recipe.md`'s parameter table generated here.

mod common;

use std::collections::BTreeMap;

use common::{assert_shellcheck_passes, corpus, fixtures};
use rtkvm_core::plan::WarningCode;
use rtkvm_core::settings::{Kernel, KernelType, Named, Preset, Recipe};
use rtkvm_core::units::Kib;
use rtkvm_core::{outputs, parse_capabilities, Host, Outputs, Plan, Settings};

fn read(path: std::path::PathBuf) -> Host {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_capabilities(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The hosts of the snapshots: name, host, settings that fit it.
fn hosts() -> Vec<(&'static str, Host, Settings)> {
    let small = |vcpus: u32, gib: u64, host_gib: u64| {
        let mut s = Settings::default();
        s.guest.vcpus = vcpus;
        s.guest.memory = Kib::gib(gib);
        s.host.host_memory = Kib::gib(host_gib);
        s
    };
    let mut no_invtsc = read(fixtures().join("seed-example.xml"));
    no_invtsc.features.retain(|f| f != "invtsc");
    // The example host with the CPU model libvirt prints for a generation (the example lists none).
    let with_model = |model: &str| {
        let mut host = read(fixtures().join("seed-example.xml"));
        host.model = Some(model.to_string());
        host
    };
    let recipe_3 = Settings {
        recipe: Recipe::RealtimeHost,
        ..Settings::default()
    };
    vec![
        (
            "seed-intel",
            read(fixtures().join("seed-example.xml")),
            Settings::default(),
        ),
        (
            "seed-intel-recipe-3",
            read(fixtures().join("seed-example.xml")),
            recipe_3,
        ),
        (
            "intel-skylake",
            with_model("Skylake-Server-IBRS"),
            Settings::default(),
        ),
        (
            "intel-icelake",
            with_model("Icelake-Server"),
            Settings::default(),
        ),
        ("intel-without-invtsc", no_invtsc, Settings::default()),
        (
            "amd-4-nodes-smt",
            read(corpus().join("tp-libvirt/cap_mix.xml__L167.xml")),
            small(2, 2, 1),
        ),
        (
            "aarch64",
            read(corpus().join("virt-manager/kvm-aarch64.xml")),
            Settings::default(),
        ),
        (
            "ppc64le",
            read(corpus().join("virt-manager/kvm-ppc64le.xml")),
            Settings::default(),
        ),
        (
            "s390x",
            read(corpus().join("tp-libvirt/capabilities_s390x.xml")),
            small(2, 1, 1),
        ),
    ]
}

fn plan_of(host: &Host, settings: &Settings) -> (Plan, Outputs) {
    let plan = rtkvm_core::plan(host, settings).unwrap();
    let out = outputs(host, &plan);
    (plan, out)
}

/// The whole host recipe as one text: warnings, command line, and every host file.
fn recipe_text(plan: &Plan, out: &Outputs) -> String {
    let mut text = String::new();
    let codes: Vec<&str> = plan.warnings.iter().map(|w| w.code.as_str()).collect();
    text.push_str(&format!("warnings: {codes:?}\n\n== kernel-cmdline.txt\n"));
    for p in &out.kernel_params {
        text.push_str(&format!("{}    [{}]\n", p.param, p.source));
    }
    let [_, script, _] = out.files();
    text.push_str(&format!("\n== {}\n{}", script.name, script.content));
    for file in out.host_files() {
        text.push_str(&format!("\n== {}\n{}", file.name, file.content));
    }
    text
}

/// Checks every host file of a plan: the scripts pass shellcheck, the sysctl file, tuned's files and
/// the unit parse back and say what the plan says.
fn check_files(label: &str, plan: &Plan, out: &Outputs) {
    let [_, script, _] = out.files();
    assert_eq!(script.name, "rtkvm-host.sh");
    assert_shellcheck_passes(&script.content, label);
    let setup = out
        .host_setup
        .as_ref()
        .expect("recipe 3 writes the host setup");
    assert_shellcheck_passes(&setup.tuned_script, &format!("{label}: tuned-host.sh"));
    // The tuned script writes the two tuned files verbatim.
    assert!(setup
        .tuned_script
        .contains(&format!("<<'END'\n{}END\n", setup.tuned_variables)));
    assert!(setup
        .tuned_script
        .contains(&format!("<<'END'\n{}END\n", setup.tuned_profile)));

    // sysctl.d: `key = value` lines of known keys with whole-number values.
    let sysctl = parse_sysctl(&setup.sysctl);
    assert_eq!(sysctl["kernel.sched_rt_runtime_us"], "-1", "{label}");
    for (key, value) in &sysctl {
        assert!(
            [
                "kernel.sched_rt_runtime_us",
                "kernel.timer_migration",
                "vm.stat_interval",
                "kernel.hung_task_timeout_secs",
                "kernel.numa_balancing",
            ]
            .contains(&key.as_str()),
            "{label}: unexpected sysctl {key}"
        );
        assert!(value.parse::<i64>().is_ok(), "{label}: {key} = {value}");
    }
    assert_eq!(
        sysctl.contains_key("kernel.numa_balancing"),
        plan.host.kernel_type == KernelType::Generic,
        "{label}: NUMA balancing exists on generic kernels only"
    );

    // tuned's variables and profile.
    let vars = parse_ini(&setup.tuned_variables);
    assert_eq!(vars[""]["isolated_cores"], plan.host.isolcpus.to_string());
    let profile = parse_ini(&setup.tuned_profile);
    assert_eq!(profile["main"]["include"], "realtime-virtual-host");
    assert_eq!(profile["bootloader"]["cmdline_rtkvm"], out.kernel_cmdline);
    for parent in ["cmdline_realtime", "cmdline_rvh", "cmdline_network_latency"] {
        assert_eq!(profile["bootloader"][parent], "", "{label}: {parent}");
    }
    let r4 = plan.recipe >= Recipe::Qualified;
    // Recipe 4: the scheduler plugin applies its groups once (no perf buffers on every CPU), and
    // rtkvm's own script replaces the parents' (so tuned never writes nx_huge_pages=0).
    assert_eq!(
        profile["scheduler"].get("runtime").map(String::as_str),
        r4.then_some("0"),
        "{label}"
    );
    if r4 {
        assert_eq!(profile["script"]["replace"], "1", "{label}");
        assert_eq!(profile["script"]["script"], "${i:PROFILE_DIR}/script.sh");
        assert_eq!(
            profile.get("service").map(|s| s["service.stalld"].as_str()),
            (plan.host.preset == Preset::Full).then_some("start,enable"),
            "{label}"
        );
        let script = &setup.tuned_profile_script;
        assert_shellcheck_passes(script, &format!("{label}: the profile's script.sh"));
        assert!(setup
            .tuned_script
            .contains(&format!("<<'END'\n{script}END\n")));
        // No line but a comment touches KVM's iTLB multihit mitigation.
        assert!(
            script
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .all(|l| !l.contains("nx_huge_pages")),
            "{label}"
        );
        assert!(script.contains("verify)"), "{label}");
        assert!(setup.tuned_script.contains("chmod 0755"), "{label}");
    } else {
        assert!(!profile.contains_key("script"), "{label}");
        assert!(setup.tuned_profile_script.is_empty(), "{label}");
    }
    for (key, value) in &profile["scheduler"] {
        if key == "runtime" {
            continue;
        }
        // group.NAME=rule_priority:policy:priority:affinity:regex
        let fields: Vec<&str> = value.split(':').collect();
        assert_eq!(fields.len(), 5, "{label}: {key}");
        assert_eq!(fields[1], "f");
        let prio: u32 = fields[2].parse().unwrap();
        assert!(
            prio > plan.guest.priority || prio == 99,
            "{label}: {key} at {prio} is not above the vCPUs"
        );
    }
    for (key, value) in &profile["sysctl"] {
        if key != "drop" {
            assert_eq!(sysctl.get(key), Some(value), "{label}: tuned's {key}");
        }
    }

    // The boot unit: a oneshot before irqbalance and both libvirt daemons.
    let unit = parse_ini(&setup.unit);
    let before: Vec<&str> = unit["Unit"]["Before"].split(' ').collect();
    for service in [
        "irqbalance.service",
        "virtqemud.service",
        "libvirtd.service",
    ] {
        assert!(
            before.contains(&service),
            "{label}: Before= lacks {service}"
        );
    }
    assert_eq!(unit["Service"]["Type"], "oneshot");
    assert_eq!(
        unit["Service"]["ExecStart"],
        "/usr/local/sbin/rtkvm-host.sh"
    );
    assert_eq!(unit["Install"]["WantedBy"], "multi-user.target");
    let limit = if plan.recipe >= Recipe::RealtimeHost {
        2048
    } else {
        usize::MAX
    };
    assert!(
        out.kernel_cmdline.len() < limit
            || plan
                .warnings
                .iter()
                .any(|w| w.code == WarningCode::CmdlineTooLong),
        "{label}: a long command line must be warned about"
    );
}

fn parse_sysctl(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key = value: {line}"));
        assert!(
            map.insert(key.trim().to_string(), value.trim().to_string())
                .is_none(),
            "{key} twice"
        );
    }
    map
}

/// Parses an INI file as tuned and systemd read them: `[section]`, `key=value`, `#` comments.
fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut map: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section = String::new();
    map.entry(section.clone()).or_default();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            assert!(
                map.insert(section.clone(), BTreeMap::new()).is_none(),
                "[{name}] twice"
            );
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        let old = map
            .get_mut(&section)
            .unwrap()
            .insert(key.trim().to_string(), value.trim().to_string());
        assert!(old.is_none(), "{key} twice in [{section}]");
    }
    map
}

#[test]
fn the_host_recipe_of_each_architecture_and_vendor() {
    for (name, host, settings) in hosts() {
        let (plan, out) = plan_of(&host, &settings);
        check_files(name, &plan, &out);
        insta::assert_snapshot!(format!("host_recipe_{name}"), recipe_text(&plan, &out));
    }
}

#[test]
fn each_kernel_choice_changes_what_its_kernel_documentation_says() {
    // Uneven nodes (node 0 keeps 20 GiB), so that the huge page step differs by kernel.
    let mut host = read(fixtures().join("seed-example.xml"));
    host.cells[0].memory_kib = Some(20 * 1024 * 1024);
    let mut all = String::new();
    for &kernel in Kernel::ALL {
        for &kernel_type in KernelType::ALL {
            for &preset in Preset::ALL {
                let mut settings = Settings::default();
                settings.host.kernel = kernel;
                settings.host.kernel_type = kernel_type;
                settings.host.preset = preset;
                let (plan, out) = plan_of(&host, &settings);
                let label = format!(
                    "{} {} {}",
                    kernel.as_str(),
                    kernel_type.as_str(),
                    preset.as_str()
                );
                check_files(&label, &plan, &out);
                let cmdline = &out.kernel_cmdline;
                assert_eq!(
                    cmdline.contains("managed_irq"),
                    kernel != Kernel::Older && preset == Preset::Full,
                    "{label}"
                );
                // Per-node counts at boot on 5.16 and later; the even part and a runtime top-up before.
                if kernel == Kernel::Linux516 {
                    assert!(
                        cmdline.ends_with(" hugepages=0:14,1:26"),
                        "{label}: {cmdline}"
                    );
                    assert!(!out.hugepages.runtime);
                } else {
                    assert!(cmdline.ends_with(" hugepages=28"), "{label}: {cmdline}");
                    assert!(out.hugepages.runtime);
                    assert!(out
                        .hugepages
                        .script
                        .contains("reserve 0 14\nreserve 1 26\n"));
                    assert!(plan
                        .warnings
                        .iter()
                        .any(|w| w.code == WarningCode::RuntimeGiganticPages));
                }
                assert_eq!(
                    plan.warnings
                        .iter()
                        .any(|w| w.code == WarningCode::GenericKernel),
                    kernel_type == KernelType::Generic
                );
                if preset == Preset::Full {
                    all.push_str(&format!("== {label}\n{cmdline}\n"));
                    let ktimers = out.hugepages.script.contains("raise '^ktimers/'");
                    assert_eq!(ktimers, kernel_type == KernelType::Rt, "{label}");
                }
            }
        }
    }
    insta::assert_snapshot!("host_recipe_kernels", all);
    // The per-node script of an older kernel, with its retries.
    let mut settings = Settings::default();
    settings.host.kernel = Kernel::Rhel8;
    let (_, out) = plan_of(&host, &settings);
    insta::assert_snapshot!("host_recipe_rhel8_runtime_script", out.hugepages.script);
}

#[test]
fn kernel_threads_stay_above_the_vcpus_or_it_is_said() {
    let host = read(fixtures().join("seed-example.xml"));
    let mut settings = Settings::default();
    settings.guest.priority = 96;
    let (plan, out) = plan_of(&host, &settings);
    assert_eq!(plan.host.kthreads.rcu, 99);
    assert!(out.kernel_cmdline.contains("rcutree.kthread_prio=99"));
    assert!(!plan
        .warnings
        .iter()
        .any(|w| w.code == WarningCode::KthreadPriority));
    settings.guest.priority = 98;
    let (plan, _) = plan_of(&host, &settings);
    assert!(!plan
        .warnings
        .iter()
        .any(|w| w.code == WarningCode::KthreadPriority));
    settings.guest.priority = 99;
    let (plan, _) = plan_of(&host, &settings);
    let warning = plan
        .warnings
        .iter()
        .find(|w| w.code == WarningCode::KthreadPriority)
        .expect("priority 99 is warned about");
    assert!(warning
        .message
        .contains("ksoftirqd 99, ktimers 99, rcuc/rcub 99"));
    // Without real-time vCPUs there is nothing to outrank.
    settings.guest.rt_vcpus = "none".parse().unwrap();
    let (plan, _) = plan_of(&host, &settings);
    assert!(!plan
        .warnings
        .iter()
        .any(|w| w.code == WarningCode::KthreadPriority));
}

#[test]
fn host_cpus_count_the_same_over_either_smt_numbering() {
    // smt2.xml numbers siblings apart (0 and 8): two CPUs are one core.
    let apart = read(fixtures().join("smt2.xml"));
    let mut settings = Settings::default();
    settings.guest.vcpus = 2;
    settings.guest.memory = Kib::gib(4);
    let (plan, _) = plan_of(&apart, &settings);
    assert_eq!(plan.host.housekeeping.to_string(), "0,8");
    // The same host numbered with siblings next to each other (0 and 1) keeps one core too.
    let mut adjacent = apart.clone();
    let renumber = |id: u32| if id < 8 { id * 2 } else { (id - 8) * 2 + 1 };
    for cell in &mut adjacent.cells {
        for cpu in &mut cell.cpus {
            cpu.id = renumber(cpu.id);
            cpu.siblings = cpu.siblings.iter().map(renumber).collect();
        }
        cell.cpus.sort_by_key(|c| c.id);
    }
    let (plan, _) = plan_of(&adjacent, &settings);
    assert_eq!(plan.host.housekeeping.to_string(), "0-1");
    // Three CPUs take two whole cores in either numbering.
    settings.host.host_cpus = 3;
    assert_eq!(
        plan_of(&apart, &settings).0.host.housekeeping.to_string(),
        "0-1,8-9"
    );
    assert_eq!(
        plan_of(&adjacent, &settings)
            .0
            .host
            .housekeeping
            .to_string(),
        "0-3"
    );
    // Recipe 2 kept its own count.
    settings.host.host_cpus = 2;
    settings.recipe = Recipe::Production;
    assert_eq!(
        plan_of(&apart, &settings).0.host.housekeeping.to_string(),
        "0-1,8-9"
    );
}

#[test]
fn a_command_line_too_long_for_the_kernel_is_warned_about() {
    // Every other core of a 1024-CPU host kept for the host: every cpulist is 256 ranges long.
    let host = read(fixtures().join("seed-example.xml"));
    let (plan, _) = plan_of(&host, &Settings::default());
    assert!(!plan
        .warnings
        .iter()
        .any(|w| w.code == WarningCode::CmdlineTooLong));
    let big = synthetic(1024);
    let mut settings = Settings::default();
    let housekeeping: rtkvm_core::CpuSet = (0..512).map(|i| i * 2).collect();
    settings.host.housekeeping = Some(housekeeping);
    settings.guest.vcpus = 2;
    let (plan, out) = plan_of(&big, &settings);
    assert!(out.kernel_cmdline.len() > 2048);
    let warning = plan
        .warnings
        .iter()
        .find(|w| w.code == WarningCode::CmdlineTooLong)
        .expect("warned");
    assert!(
        warning.message.contains("at most 2048 on x86_64"),
        "{}",
        warning.message
    );
}

#[path = "../benches/support/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;

fn synthetic(cpus: usize) -> Host {
    parse_capabilities(&synthetic::synthetic_host(cpus)).unwrap()
}

/// Every kernel parameter recipe 3 writes on any architecture, vendor and kernel, with its
/// explanation and source, as `docs/recipe.md` lists them.
#[test]
fn docs_recipe_lists_every_host_parameter() {
    let mut rows: BTreeMap<String, (String, String, &str)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (_, host, settings) in hosts() {
        for &kernel in Kernel::ALL {
            let mut settings = settings.clone();
            settings.host.kernel = kernel;
            let (_, out) = plan_of(&host, &settings);
            for p in &out.kernel_params {
                let name = p.param.split('=').next().unwrap().to_string();
                let shown = if p.param.contains('=') {
                    format!("{name}=…")
                } else {
                    name.clone()
                };
                let key = format!("{shown} {} {}", p.explanation, p.source);
                if let std::collections::btree_map::Entry::Vacant(entry) = rows.entry(key.clone()) {
                    order.push(key);
                    entry.insert((shown, p.explanation.clone(), p.source));
                }
            }
        }
    }
    let mut table = String::from("| parameter | what it does | from |\n|---|---|---|\n");
    for key in &order {
        let (shown, explanation, source) = &rows[key];
        table.push_str(&format!("| `{shown}` | {explanation} | {source} |\n"));
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/recipe.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- host-params:begin -->\n", "<!-- host-params:end -->");
    let start = doc
        .find(begin)
        .expect("docs/recipe.md has the host-params markers")
        + begin.len();
    let stop = doc.find(end).expect("docs/recipe.md has the end marker");
    if std::env::var_os("RTKVM_BLESS").is_some() {
        let updated = format!("{}{table}{}", &doc[..start], &doc[stop..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        &doc[start..stop],
        table,
        "docs/recipe.md's host parameters are out of date: rerun with RTKVM_BLESS=1 and review the diff"
    );
}

/// Every script the plan writes passes shellcheck for every recipe, preset, kernel, kernel type and
/// emulator policy, the check script and the guests' scripts among them: each is written from
/// sections of one template, and a section left out must not leave a function that nothing calls.
#[test]
fn every_script_of_every_setting_passes_shellcheck() {
    let host = read(fixtures().join("seed-example.xml"));
    let mut checked = std::collections::BTreeSet::new();
    for &recipe in &Recipe::ALL {
        for &preset in Preset::ALL {
            for &kernel in Kernel::ALL {
                for &kernel_type in KernelType::ALL {
                    for &emulator in rtkvm_core::settings::EmulatorPolicy::ALL {
                        let mut settings = Settings {
                            recipe,
                            ..Settings::default()
                        };
                        settings.host.preset = preset;
                        settings.host.kernel = kernel;
                        settings.host.kernel_type = kernel_type;
                        settings.guest.emulator = emulator;
                        let plan = rtkvm_core::plan(&host, &settings).unwrap();
                        let out = outputs(&host, &plan);
                        let mut scripts = vec![(
                            "rtkvm-check.sh".to_string(),
                            rtkvm_core::verify::check_script(&plan, &out),
                        )];
                        scripts.extend(
                            out.files()
                                .into_iter()
                                .chain(out.host_files())
                                .chain(out.guest_files())
                                .filter(|f| f.name.ends_with(".sh"))
                                .map(|f| (f.name, f.content)),
                        );
                        for (name, script) in scripts {
                            if checked.insert(script.clone()) {
                                let label = format!(
                                    "{name} of recipe {} {} {} {} {}",
                                    recipe.number(),
                                    preset.as_str(),
                                    kernel.as_str(),
                                    kernel_type.as_str(),
                                    emulator.as_str()
                                );
                                assert_shellcheck_passes(&script, &label);
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked.len() > 20, "{} scripts", checked.len());
}
