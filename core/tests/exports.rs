//! The exports for the OpenShift Node Tuning Operator, KubeVirt and OpenStack Nova, judged by each
//! consumer's own published schema and rules (vendored in `tests/schemas/`, see its PROVENANCE.md):
//! snapshots for the example host with one and three guests and a 4-node AMD host with four; the
//! schemas and rules for every corpus plan and a matrix of settings on the example; hostile guest
//! names through the YAML serializer and the shell.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{assert_shellcheck_passes, corpus, fixtures};
use rtkvm_core::export::nto::{param_fate, ParamFate, NODE_SELECTOR_PLACEHOLDER};
use rtkvm_core::export::{exports, Exports};
use rtkvm_core::settings::{
    EmulatorPolicy, GuestSettings, KernelType, Named, PageSize, Preset, Recipe, Reserve, RtVcpus,
};
use rtkvm_core::units::Kib;
use rtkvm_core::{parse_capabilities, parse_capabilities_bytes, CpuSet, Host, Plan, Settings};
use serde_json::Value;

fn read(path: PathBuf) -> Host {
    parse_capabilities(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn with_guests(specs: &[&str]) -> Settings {
    Settings::with_guests(specs.iter().map(|s| GuestSettings::from_spec(s).unwrap())).unwrap()
}

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas")
}

/// Reads YAML (one document) as JSON, with the YAML reader the tests use.
fn yaml(text: &str, label: &str) -> Value {
    serde_saphyr::from_str::<Value>(text)
        .unwrap_or_else(|e| panic!("{label}: not YAML: {e}\n{text}"))
}

/// Closes every object schema that lists its properties: the API server prunes fields a structural
/// schema does not know, so a misspelled field would be dropped in silence; here it fails.
fn closed(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (key, value) in map.iter_mut() {
                // Property names are not schemas.
                if key == "properties" {
                    if let Value::Object(props) = value {
                        props.values_mut().for_each(closed);
                    }
                } else {
                    closed(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(closed),
        _ => {}
    }
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value, what: &str, label: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{label}: the {what} does not match its schema:\n{}\n{doc:#}",
        errors.join("\n")
    );
}

/// The PerformanceProfile's schema: the CRD's `v2` `openAPIV3Schema`, closed.
fn nto_schema() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(schemas().join("nto-performance-profile.crd.yaml"))
            .expect("the CRD");
        let crd = yaml(&text, "the CRD");
        let v2 = crd["spec"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "v2")
            .expect("the CRD has v2");
        let mut schema = v2["schema"]["openAPIV3Schema"].clone();
        closed(&mut schema);
        jsonschema::validator_for(&schema).expect("a valid schema")
    })
}

/// The VirtualMachine's schema: KubeVirt's swagger definitions, `v1.VirtualMachine` at the root, closed.
fn kubevirt_schema() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(schemas().join("kubevirt-virtualmachine.swagger.json"))
            .expect("the swagger definitions");
        let swagger: Value = serde_json::from_str(&text).unwrap();
        let mut definitions = swagger["definitions"].clone();
        for def in definitions.as_object_mut().unwrap().values_mut() {
            closed(def);
        }
        let schema = serde_json::json!({
            "definitions": definitions,
            "$ref": "#/definitions/v1.VirtualMachine",
        });
        jsonschema::validator_for(&schema).expect("a valid schema")
    })
}

/// Reads a Kubernetes cpulist as NTO's and KubeVirt's parsers do (`2-7,10-15`).
fn cpus(text: &str) -> CpuSet {
    text.parse()
        .unwrap_or_else(|e| panic!("'{text}' is not a cpulist: {e}"))
}

/// NTO's webhook (`performanceprofile_validation.go`), with the operator's documented rule that
/// reserved and isolated cover every online CPU.
fn assert_nto_rules(host: &Host, plan: &Plan, profile: &Value, label: &str) {
    let spec = &profile["spec"];
    assert_eq!(
        profile["apiVersion"], "performance.openshift.io/v2",
        "{label}"
    );
    assert_eq!(profile["kind"], "PerformanceProfile", "{label}");
    // validateCPUs: both given, neither empty, no two lists overlap.
    let reserved = cpus(spec["cpu"]["reserved"].as_str().expect("reserved"));
    let isolated = cpus(spec["cpu"]["isolated"].as_str().expect("isolated"));
    let offlined = spec["cpu"]["offlined"]
        .as_str()
        .map(cpus)
        .unwrap_or_default();
    assert!(
        !reserved.is_empty(),
        "{label}: reserved CPUs can not be empty"
    );
    assert!(
        !isolated.is_empty(),
        "{label}: isolated CPUs can not be empty"
    );
    assert!(
        reserved.is_disjoint(&isolated),
        "{label}: reserved and isolated overlap"
    );
    assert!(
        reserved.is_disjoint(&offlined),
        "{label}: reserved and offlined overlap"
    );
    assert!(
        isolated.is_disjoint(&offlined),
        "{label}: isolated and offlined overlap"
    );
    // Together every CPU of the host: reserved and isolated the online ones, offlined the others.
    let mut all = reserved.clone();
    all.extend_from(&isolated);
    assert_eq!(
        all,
        host.online_cpus(),
        "{label}: reserved and isolated are not every online CPU"
    );
    let offline: CpuSet = host
        .cells
        .iter()
        .flat_map(|c| c.offline_cpus.iter().copied())
        .collect();
    assert_eq!(offlined, offline, "{label}: offlined");
    assert_eq!(reserved, plan.host.housekeeping, "{label}");
    assert_eq!(isolated, plan.host.isolcpus, "{label}");
    // validateSelectors: one node selector whose key splits into domain/role.
    let selector = spec["nodeSelector"].as_object().expect("nodeSelector");
    assert_eq!(selector.len(), 1, "{label}");
    let (key, _) = selector.iter().next().unwrap();
    assert_eq!(key, NODE_SELECTOR_PLACEHOLDER);
    let (domain, role) = key.split_once('/').expect("domain/role");
    assert!(!domain.is_empty() && !role.is_empty() && !role.contains('/'));
    // validateHugePages: a default size with pages, sizes the architecture takes, no duplicates.
    if let Some(pages) = spec["hugepages"]["pages"].as_array() {
        let default = spec["hugepages"]["defaultHugepagesSize"].as_str();
        assert!(
            pages.is_empty() || default.is_some(),
            "{label}: no default size"
        );
        let valid: &[&str] = if host.is_x86() {
            &["2M", "1G"]
        } else if host.libvirt_arch() == Some("aarch64") {
            &["64k", "2M", "32M", "1G"]
        } else {
            &["64k", "2M", "32M", "512M", "1G", "16G"]
        };
        assert!(
            valid.contains(&default.unwrap()),
            "{label}: default size {default:?}"
        );
        let mut seen = BTreeSet::new();
        let mut total = 0;
        for page in pages {
            let size = page["size"].as_str().unwrap();
            assert!(valid.contains(&size), "{label}: page size {size}");
            assert!(
                seen.insert((size.to_string(), page["node"].as_u64())),
                "{label}: the page {size} on {:?} is given twice",
                page["node"]
            );
            let count = page["count"].as_u64().unwrap();
            assert!(count <= i32::MAX as u64, "{label}: count is int32");
            total += count;
            // A node's count is that node's; without a node the kernel spreads it evenly.
            match page["node"].as_u64() {
                Some(node) => assert_eq!(count, plan.host.pages_on(node as u32), "{label}"),
                None => assert!(!plan.host.uneven_pages(), "{label}"),
            }
        }
        let planned: u64 = plan.host.hugepages.iter().map(|p| p.count).sum();
        assert_eq!(total, planned, "{label}: every planned page is asked for");
    }
    // validateNUMA.
    let policy = spec["numa"]["topologyPolicy"].as_str().unwrap();
    assert!(["none", "best-effort", "restricted", "single-numa-node"].contains(&policy));
    assert_eq!(policy, "single-numa-node");
    // validateWorkloadHints: the RT kernel with realTime false, highPowerConsumption with
    // perPodPowerManagement, mixedCpus without shared CPUs.
    let hints = &spec["workloadHints"];
    let rt_kernel = spec["realTimeKernel"]["enabled"].as_bool().unwrap();
    assert_eq!(
        rt_kernel,
        plan.host.kernel_type == KernelType::Rt,
        "{label}"
    );
    assert!(!(rt_kernel && hints["realTime"] == false), "{label}");
    assert!(
        !(hints["highPowerConsumption"] == true && hints["perPodPowerManagement"] == true),
        "{label}"
    );
    assert!(
        !(hints["mixedCpus"] == true && spec["cpu"]["shared"].is_null()),
        "{label}"
    );
    assert_eq!(hints["realTime"], true, "{label}");
    // additionalKernelArgs: only what the profile does not write itself, and all of it.
    let extra: Vec<&str> = spec["additionalKernelArgs"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
        .unwrap_or_default();
    let outputs = rtkvm_core::outputs(host, plan);
    for p in &outputs.kernel_params {
        let additional =
            param_fate(&p.param, host.is_x86(), host.x86_vendor()) == ParamFate::Additional;
        assert_eq!(
            extra.contains(&p.param.as_str()),
            additional,
            "{label}: {}",
            p.param
        );
    }
    for arg in &extra {
        assert!(
            !arg.starts_with("isolcpus=") && !arg.starts_with("hugepages"),
            "{label}: {arg}"
        );
    }
}

/// KubeVirt's admission rules (`vmi-create-admitter.go`) and the guest it describes.
fn assert_kubevirt_rules(host: &Host, g: &rtkvm_core::plan::GuestPlan, vm: &Value, label: &str) {
    let domain = &vm["spec"]["template"]["spec"]["domain"];
    let cpu = &domain["cpu"];
    let dedicated = cpu["dedicatedCpuPlacement"] == true;
    let passthrough = cpu["numa"]["guestMappingPassthrough"].is_object();
    let hugepages = domain["memory"]["hugepages"]["pageSize"].as_str();
    // validateRealtime.
    if cpu.get("realtime").is_some() {
        assert!(dedicated, "{label}: realtime needs dedicatedCpuPlacement");
        assert!(
            passthrough,
            "{label}: realtime needs numa.guestMappingPassthrough"
        );
    }
    // validateNUMA.
    if passthrough {
        assert!(dedicated && hugepages.is_some(), "{label}");
    }
    // validateCPUIsolatorThread.
    if cpu["isolateEmulatorThread"] == true {
        assert!(dedicated, "{label}");
    }
    assert_eq!(
        cpu["isolateEmulatorThread"] == true,
        g.emulator == EmulatorPolicy::Isolate,
        "{label}"
    );
    // validateCpuPinning: requests equal limits, equal to the vCPUs; at most two threads.
    let requests = &domain["resources"]["requests"];
    let limits = &domain["resources"]["limits"];
    assert_eq!(requests, limits, "{label}: requests and limits differ");
    let vcpus = cpu["sockets"].as_u64().unwrap()
        * cpu["cores"].as_u64().unwrap()
        * cpu["threads"].as_u64().unwrap();
    assert_eq!(vcpus, u64::from(g.vcpus), "{label}");
    assert_eq!(requests["cpu"], g.vcpus.to_string(), "{label}");
    assert!(cpu["threads"].as_u64().unwrap() <= 2, "{label}");
    // validateHugepagesMemoryRequests: memory a multiple of the page size, and at least one page.
    let bytes = |q: &str| -> u64 {
        let (n, unit) = q.split_at(q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len()));
        let n: u64 = n.parse().unwrap();
        n * match unit {
            "Ki" => 1 << 10,
            "Mi" => 1 << 20,
            "Gi" => 1 << 30,
            "" => 1,
            other => panic!("{label}: unit {other}"),
        }
    };
    let page = bytes(hugepages.expect("huge pages"));
    let memory = bytes(requests["memory"].as_str().unwrap());
    assert!(memory >= page && memory % page == 0, "{label}");
    assert_eq!(memory, g.memory_kib * 1024, "{label}");
    assert_eq!(page, g.page_size_kib * 1024, "{label}");
    // The real-time vCPUs, as virt-handler reads the mask.
    match cpu["realtime"]["mask"].as_str() {
        Some(mask) => {
            let enabled: CpuSet = (0..g.vcpus)
                .filter(|&v| kubevirt_enabled(mask, v))
                .collect();
            assert_eq!(enabled, g.rt_vcpus, "{label}: mask {mask}");
        }
        None => {
            // No realtime block: no vCPU is real-time (an empty mask would mean all of them).
            assert!(cpu.get("realtime").is_none(), "{label}");
            assert!(g.rt_vcpus.is_empty(), "{label}");
        }
    }
    let devices = &domain["devices"];
    assert_eq!(devices["autoattachMemBalloon"], false, "{label}");
    assert_eq!(devices["autoattachGraphicsDevice"], false, "{label}");
    let parity = &vm["spec"]["template"]["metadata"]["annotations"]
        [rtkvm_core::export::kubevirt::EVEN_PARITY_ANNOTATION];
    assert_eq!(
        parity.is_string(),
        host.smt() && g.emulator == EmulatorPolicy::Isolate,
        "{label}"
    );
}

/// KubeVirt's `ParseCPUMask` and `IsEnabled` (`pkg/hypervisor/common/vcpu.go` 83-160): ranges and
/// single ids enable unless already set, `^N` disables; an empty mask enables every vCPU, and a vCPU
/// the mask does not name is disabled.
fn kubevirt_enabled(mask: &str, vcpu: u32) -> bool {
    let mut map: BTreeMap<u32, bool> = BTreeMap::new();
    if mask.is_empty() {
        return true;
    }
    for part in mask.split(',').map(str::trim) {
        if let Some(id) = part.strip_prefix('^') {
            map.insert(id.parse().unwrap(), false);
        } else if let Some((a, b)) = part.split_once('-') {
            let (a, b): (u32, u32) = (a.parse().unwrap(), b.parse().unwrap());
            assert!(a <= b, "invalid mask range {part}");
            for id in a..=b {
                map.entry(id).or_insert(true);
            }
        } else {
            map.entry(part.parse().unwrap()).or_insert(true);
        }
    }
    map.get(&vcpu).copied().unwrap_or(false)
}

/// The extra-spec validators of `nova-hw-extra-specs.json`, as `base.py` applies them.
fn nova_specs() -> &'static BTreeMap<String, Value> {
    static S: OnceLock<BTreeMap<String, Value>> = OnceLock::new();
    S.get_or_init(|| {
        let text = std::fs::read_to_string(schemas().join("nova-hw-extra-specs.json")).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        doc["extra_specs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap().to_string(), s.clone()))
            .collect()
    })
}

/// Whether `value` matches the whole of `pattern` (Python's `re.fullmatch`), for the few patterns of
/// the vendored validators, through the JSON Schema validator's regex engine.
fn full_match(pattern: &str, value: &str) -> bool {
    let schema = serde_json::json!({ "type": "string", "pattern": format!("^(?:{pattern})$") });
    jsonschema::validator_for(&schema)
        .unwrap()
        .is_valid(&Value::String(value.into()))
}

/// Nova's `parse_cpu_spec` (`nova/virt/hardware.py` 269-328).
fn parse_cpu_spec(spec: &str) -> BTreeSet<u32> {
    let (mut ids, mut rejects) = (BTreeSet::new(), BTreeSet::new());
    for rule in spec.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let (reject, rule) = match rule.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, rule),
        };
        let range: Vec<u32> = match rule.split_once('-') {
            Some((a, b)) => (a.trim().parse().unwrap()..=b.trim().parse().unwrap()).collect(),
            None => vec![rule.parse().unwrap()],
        };
        if reject { &mut rejects } else { &mut ids }.extend(range);
    }
    ids.difference(&rejects).copied().collect()
}

/// The flavors' extra specs and Nova's real-time constraints; `nova.conf`'s CPU sets.
fn assert_nova_rules(host: &Host, plan: &Plan, ex: &Exports, label: &str) {
    let conf = &ex.nova_conf.content;
    let setting = |key: &str| -> String {
        conf.lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("{label}: nova.conf has no {key}"))
            .to_string()
    };
    let dedicated = cpus(&setting("cpu_dedicated_set"));
    let shared = cpus(&setting("cpu_shared_set"));
    assert!(
        dedicated.is_disjoint(&shared),
        "{label}: the driver refuses overlapping sets"
    );
    // Every isolated core gives Nova its vCPU: all of it without SMT, one thread of it with SMT
    // (the others in neither set, so that no guest gets a vCPU's sibling).
    assert!(dedicated.is_subset(&plan.host.isolcpus), "{label}");
    for core in host
        .cells
        .iter()
        .flat_map(|c| c.isolated_cores(&plan.host.isolcpus))
    {
        let given = core.cpus.intersection(&dedicated).len();
        let expected = if host.smt() { 1 } else { core.cpus.len() };
        assert_eq!(given, expected, "{label}: core {}", core.cpus);
    }
    assert_eq!(shared, plan.host.housekeeping, "{label}");
    let priority: u32 = setting("realtime_scheduler_priority").parse().unwrap();
    assert!((1..=99).contains(&priority), "{label}");
    assert!(plan.host.kthreads.all_above(priority) || plan.recipe < Recipe::RealtimeHost);
    for g in plan.guests() {
        let specs = rtkvm_core::export::nova::extra_specs(host, g);
        let map: BTreeMap<&str, &str> = specs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for (key, value) in &specs {
            let rule = nova_specs()
                .get(*key)
                .unwrap_or_else(|| panic!("{label}: {key} is not a vendored extra spec"));
            match rule["type"].as_str().unwrap() {
                "bool" => assert!(
                    ["1", "t", "true", "on", "y", "yes", "0", "f", "false", "off", "n", "no"]
                        .contains(&value.to_lowercase().as_str()),
                    "{label}: {key}={value} is not a boolean"
                ),
                "int" => {
                    let n: i64 = value.parse().unwrap();
                    assert!(
                        n >= rule["min"].as_i64().unwrap_or(i64::MIN),
                        "{label}: {key}"
                    );
                }
                _ => {
                    if let Some(values) = rule["enum"].as_array() {
                        assert!(values.iter().any(|v| v == value), "{label}: {key}={value}");
                    }
                    if let Some(pattern) = rule["pattern"].as_str() {
                        assert!(full_match(pattern, value), "{label}: {key}={value}");
                    }
                }
            }
        }
        assert_eq!(map["hw:cpu_policy"], "dedicated");
        // isolate forbids HW_CPU_HYPERTHREADING, which a host with SMT reports.
        assert_eq!(
            map.get("hw:cpu_thread_policy").copied(),
            (!host.smt()).then_some("isolate"),
            "{label}"
        );
        assert_eq!(map["hw:emulator_threads_policy"], Named::as_str(g.emulator));
        assert_eq!(map["hw:numa_nodes"], "1");
        // get_realtime_cpu_constraint: the mask's real-time vCPUs are the plan's, and every vCPU
        // real-time needs an emulator threads policy.
        let realtime = map.get("hw:cpu_realtime").is_some_and(|v| *v == "yes");
        assert_eq!(realtime, !g.rt_vcpus.is_empty(), "{label}");
        if realtime {
            let rt: BTreeSet<u32> = match map.get("hw:cpu_realtime_mask") {
                Some(mask) if mask.starts_with('^') => {
                    parse_cpu_spec(&format!("0-{},{mask}", g.vcpus - 1))
                }
                Some(mask) => parse_cpu_spec(mask),
                None => (0..g.vcpus).collect(),
            };
            assert!(!rt.is_empty(), "{label}");
            assert_eq!(rt, g.rt_vcpus.iter().collect(), "{label}: {:?}", map);
            if rt.len() == g.vcpus as usize {
                assert!(map.contains_key("hw:emulator_threads_policy"), "{label}");
            }
        }
        // share pins the emulator threads to cpu_shared_set, which must then be set.
        if g.emulator == EmulatorPolicy::Share {
            assert!(!shared.is_empty(), "{label}");
        }
        // The page size Nova reads (strutils.string_to_bytes, IEC) is the plan's.
        let size = map["hw:mem_page_size"].trim_end_matches('B');
        let (n, unit) = size.split_at(size.len() - 1);
        let kib = n.parse::<u64>().unwrap()
            * match unit {
                "K" => 1,
                "M" => 1024,
                "G" => 1024 * 1024,
                other => panic!("{label}: {other}"),
            };
        assert_eq!(kib, g.page_size_kib, "{label}");
    }
}

/// Judges every export of a plan: the schemas, the rules, shellcheck.
fn judge(host: &Host, plan: &Plan, label: &str) -> Exports {
    let outputs = rtkvm_core::outputs(host, plan);
    let ex = exports(host, plan, &outputs);
    let profile = yaml(&ex.nto.content, label);
    assert_valid(nto_schema(), &profile, "PerformanceProfile", label);
    assert_nto_rules(host, plan, &profile, label);
    assert_eq!(ex.kubevirt.len(), plan.guests().count(), "{label}");
    let mut names = BTreeSet::new();
    for (g, export) in plan.guests().zip(&ex.kubevirt) {
        let vm = yaml(&export.content, label);
        assert_valid(kubevirt_schema(), &vm, "VirtualMachine", label);
        assert_kubevirt_rules(host, g, &vm, &format!("{label} {}", g.name));
        let name = vm["metadata"]["name"].as_str().unwrap();
        assert!(
            names.insert(name.to_string()),
            "{label}: two VMs named {name}"
        );
        assert_eq!(export.file, format!("kubevirt-{name}.yaml"));
        let kept = vm["metadata"]["annotations"][rtkvm_core::export::kubevirt::NAME_ANNOTATION]
            .as_str()
            .unwrap_or(name);
        assert_eq!(kept, g.name, "{label}: the guest's name is kept");
    }
    // The stream `--format kubevirt` prints holds every VM.
    assert_eq!(
        ex.kubevirt_stream().matches("kind: VirtualMachine").count(),
        names.len()
    );
    assert_shellcheck_passes(&ex.nova_flavors.content, label);
    assert_nova_rules(host, plan, &ex, label);
    // Every warning is in its file, as a comment.
    for export in std::iter::once(&ex.nto)
        .chain(&ex.kubevirt)
        .chain([&ex.nova_flavors, &ex.nova_conf])
    {
        for w in &export.warnings {
            let line = format!("# - {}", rtkvm_core::export::one_line(w));
            assert!(
                export.content.contains(&line),
                "{label}: {} lacks {w}",
                export.file
            );
        }
    }
    ex
}

/// Every file of the exports, for a snapshot.
fn listing(ex: &Exports) -> String {
    ex.files()
        .iter()
        .map(|f| format!("==> {} <==\n{}", f.name, f.content))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn example_host_one_guest() {
    let host = read(fixtures().join("seed-example.xml"));
    let plan = rtkvm_core::plan(&host, &Settings::default()).unwrap();
    let ex = judge(&host, &plan, "example");
    // NTO sets timer_migration to 1 on purpose (openshift-node-performance 125-133); rtkvm writes 0.
    assert!(ex
        .nto
        .warnings
        .iter()
        .any(|w| w.starts_with("The operator sets kernel.timer_migration = 1")));
    // Written by network-latency, which NTO's profile includes: not an additional argument.
    assert!(!ex.nto.content.contains("rcutree.nohz_full_patience_delay"));
    insta::assert_snapshot!("example_one_guest", listing(&ex));
}

#[test]
fn example_host_three_guests() {
    let host = read(fixtures().join("seed-example.xml"));
    let settings = with_guests(&[
        "name=plc-a,vcpus=4,memory=8G",
        "name=plc-b,vcpus=2,memory=4G,node=1",
        "name=hmi,vcpus=3,memory=4G,rt=1-2,emulator=isolate,priority=10",
    ]);
    let plan = rtkvm_core::plan(&host, &settings).unwrap();
    let ex = judge(&host, &plan, "example, three guests");
    insta::assert_snapshot!("example_three_guests", listing(&ex));
}

#[test]
fn amd_host_four_guests() {
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
    assert!(host.smt(), "the AMD host has SMT");
    let ex = judge(&host, &plan, "amd, four guests");
    // SMT and an isolated emulator thread: the even-parity annotation.
    assert!(ex.kubevirt[2]
        .content
        .contains("EmulatorThreadCompleteToEvenParity"));
    insta::assert_snapshot!("amd_four_guests", listing(&ex));
}

#[test]
fn every_setting_on_the_example_host() {
    let host = read(fixtures().join("seed-example.xml"));
    let rts = ["^0", "all", "none", "1-2", "0,3", "^1-2"];
    for recipe in Recipe::ALL {
        for (i, rt) in rts.iter().enumerate() {
            let mut settings = Settings {
                recipe,
                ..Settings::default()
            };
            settings.guest.rt_vcpus = rt.parse::<RtVcpus>().unwrap();
            settings.guest.emulator = if i % 2 == 0 {
                EmulatorPolicy::Share
            } else {
                EmulatorPolicy::Isolate
            };
            settings.guest.priority = 1 + i as u32 * 3;
            if i == 2 {
                settings.host.preset = Preset::Minimal;
                settings.host.kernel_type = KernelType::Generic;
            }
            if i == 3 {
                settings.host.reserve = Reserve::Guest;
                settings.host.page_size = PageSize::Kib(2048);
            }
            let plan = rtkvm_core::plan(&host, &settings).unwrap();
            judge(&host, &plan, &format!("recipe {} rt {rt}", recipe.number()));
        }
    }
}

#[test]
fn the_masks_edge_cases() {
    // KubeVirt reads `^0` alone as no real-time vCPU at all, and an empty mask as every one: the
    // export lists the real-time vCPUs instead.
    assert!(!(0..4).any(|v| kubevirt_enabled("^0", v)));
    assert!((0..4).all(|v| kubevirt_enabled("", v)));
    assert!((1..4).all(|v| kubevirt_enabled("0-3,^0", v)) && !kubevirt_enabled("0-3,^0", 0));
    // Nova reads `^0` against every vCPU, and a list without `^` as the real-time vCPUs.
    assert_eq!(parse_cpu_spec("0-3,^0"), BTreeSet::from([1, 2, 3]));
    assert_eq!(parse_cpu_spec("0-5,^0-1,^4"), BTreeSet::from([2, 3, 5]));
    let host = read(fixtures().join("seed-example.xml"));
    for (rt, kubevirt, nova) in [
        ("^0", Some("1-3"), Some("^0")),
        ("all", Some("0-3"), None),
        ("none", None, None),
        ("0,3", Some("0,3"), Some("^1-2")),
    ] {
        let mut settings = Settings::default();
        settings.guest.rt_vcpus = rt.parse().unwrap();
        settings.guest.emulator = EmulatorPolicy::Isolate;
        let plan = rtkvm_core::plan(&host, &settings).unwrap();
        let g = &plan.guest;
        assert_eq!(
            rtkvm_core::export::kubevirt::realtime_mask(&g.rt_vcpus).as_deref(),
            kubevirt,
            "{rt}"
        );
        assert_eq!(
            rtkvm_core::export::nova::realtime_mask(g.vcpus, &g.rt_vcpus).as_deref(),
            nova,
            "{rt}"
        );
        judge(&host, &plan, rt);
    }
}

/// Runs the flavor script with `openstack` replaced by a shell function that prints its arguments,
/// one per line-less record, and returns each call's arguments.
fn openstack_calls(script: &str) -> Vec<Vec<String>> {
    let dir = std::env::temp_dir().join(format!("rtkvm-nova-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("flavors-{}.sh", rand_suffix()));
    std::fs::write(&file, script).unwrap();
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("openstack() { for a in \"$@\"; do printf '%s\\0' \"$a\"; done; printf '\\001\\0'; }; . \"$1\"")
        .arg("sh")
        .arg(&file)
        .output()
        .expect("run sh");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut calls = vec![Vec::new()];
    for arg in text.split('\0').filter(|a| !a.is_empty()) {
        if arg == "\u{1}" {
            calls.push(Vec::new());
        } else {
            calls.last_mut().unwrap().push(arg.to_string());
        }
    }
    calls.pop();
    calls
}

fn rand_suffix() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

#[test]
fn hostile_names_reach_the_files_only_quoted() {
    let host = read(fixtures().join("seed-example.xml"));
    let names = [
        "it's",
        "$(touch rtkvm-pwned)",
        "`id`",
        "a: b",
        "&anchor",
        "*alias",
        "- item",
        "# comment",
        "\"quoted\"",
        "back\\slash",
        "yes",
        "null",
        "0x1F",
        "~",
        "-rf",
        "{a: 1}",
        "[x]",
        "!!python:object",
        "%TAG",
        "@x",
        "ünï ℂ\u{2028}x",
        "; rm -rf ~ #",
    ];
    // A name with a newline (or any control character) never reaches a plan.
    for name in ["a\nb", "a\tb", "a\u{85}b"] {
        let mut settings = Settings::default();
        settings.guest.name = name.into();
        assert!(rtkvm_core::plan(&host, &settings).is_err(), "{name:?}");
    }
    for chunk in names.chunks(3) {
        let specs: Vec<GuestSettings> = chunk
            .iter()
            .map(|name| GuestSettings {
                name: name.to_string(),
                vcpus: 2,
                memory: Kib::gib(2),
                ..GuestSettings::default()
            })
            .collect();
        let settings = Settings::with_guests(specs).unwrap();
        let plan = match rtkvm_core::plan(&host, &settings) {
            Ok(plan) => plan,
            Err(e) => {
                // Refused by the settings' own checks (a control character): never written.
                assert!(
                    chunk.iter().any(|n| n.chars().any(char::is_control)),
                    "{chunk:?}: {e}"
                );
                continue;
            }
        };
        let ex = judge(&host, &plan, &format!("{chunk:?}"));
        let calls = openstack_calls(&ex.nova_flavors.content);
        assert_eq!(calls.len(), 2 * chunk.len(), "{chunk:?}: {calls:?}");
        for (i, name) in chunk.iter().enumerate() {
            let create = &calls[2 * i];
            let set = &calls[2 * i + 1];
            assert_eq!(&create[..2], ["flavor", "create"]);
            assert_eq!(create.last().unwrap(), name, "{create:?}");
            assert_eq!(&set[..2], ["flavor", "set"]);
            assert_eq!(set.last().unwrap(), name, "{set:?}");
            assert_eq!(set[set.len() - 2], "--", "{set:?}");
        }
        assert!(!Path::new("rtkvm-pwned").exists());
    }
}

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

/// The default plan, or the smallest sensible guest's (as `corpus.rs` makes them).
fn corpus_plan(host: &Host) -> Option<Plan> {
    if let Ok(plan) = rtkvm_core::plan(host, &Settings::default()) {
        return Some(plan);
    }
    let mut settings = Settings::default();
    settings.host.host_cpus = 1;
    settings.host.host_memory = Kib::gib(1);
    settings.guest.vcpus = 1;
    let probe = rtkvm_core::plan::partition(host, &settings).ok()?;
    settings.host.page_size = PageSize::Kib(probe.host.page_size_kib);
    settings.guest.memory = Kib(probe.host.page_size_kib);
    rtkvm_core::plan(host, &settings).ok()
}

#[test]
fn every_corpus_plan_exports_valid_files() {
    let mut plans = 0;
    for path in corpus_files() {
        let name = path.strip_prefix(corpus()).unwrap().display().to_string();
        let Ok(host) = parse_capabilities_bytes(&std::fs::read(&path).unwrap()) else {
            continue;
        };
        if let Some(plan) = corpus_plan(&host) {
            judge(&host, &plan, &name);
            plans += 1;
        }
    }
    assert!(plans >= 40, "only {plans} corpus plans");
}

#[test]
fn the_cli_prints_each_export_and_the_bundle_holds_them() {
    let host = read(fixtures().join("seed-example.xml"));
    let plan = rtkvm_core::plan(&host, &Settings::default()).unwrap();
    let ex = exports(&host, &plan, &rtkvm_core::outputs(&host, &plan));
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rtkvm"))
            .arg("plan")
            .arg(fixtures().join("seed-example.xml"))
            .args(args)
            .output()
            .expect("run rtkvm");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    for (format, export) in [
        ("nto", &ex.nto),
        ("nova", &ex.nova_flavors),
        ("nova-conf", &ex.nova_conf),
    ] {
        let (out, err) = run(&["--format", format]);
        assert_eq!(out, export.content, "{format}");
        for w in &export.warnings {
            assert!(
                err.contains(&format!("rtkvm: warning[{format}]: {w}")),
                "{format}: {err}"
            );
        }
    }
    let (out, _) = run(&["--format", "kubevirt"]);
    assert_eq!(out, ex.kubevirt_stream());
    let dir = std::env::temp_dir().join(format!("rtkvm-exports-bundle-{}", std::process::id()));
    run(&["--format", "bundle", "--out", dir.to_str().unwrap()]);
    for file in ex.files() {
        let written = std::fs::read_to_string(dir.join(&file.name)).unwrap();
        assert_eq!(written, file.content, "{}", file.name);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
