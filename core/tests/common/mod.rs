//! Helpers shared by the integration tests: libvirt as the judge of generated domain XML.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Returns the directory of the test fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Returns the directory of the corpus of real `virsh capabilities` outputs.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn run(program: &str, args: &[&str], package: &str) -> (bool, String) {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}): install the Debian package {package}; the tests never skip libvirt's checks")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A generated file written to a temporary file, removed when dropped.
struct TempXml(PathBuf);

impl TempXml {
    fn new(xml: &str) -> TempXml {
        TempXml::with_extension(xml, "xml")
    }

    fn with_extension(content: &str, extension: &str) -> TempXml {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("rtkvm-test-{}-{n}.{extension}", std::process::id()));
        std::fs::write(&path, content).expect("write temporary file");
        TempXml(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("temporary path is UTF-8")
    }

    /// Runs libvirt's own parser and validation on the file.
    fn virsh_define(&self) -> (bool, String) {
        run(
            "virsh",
            &["-c", "test:///default", "define", self.path()],
            "libvirt-clients",
        )
    }
}

impl Drop for TempXml {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Defines the domain with libvirt's real QEMU driver (`virsh -c qemu:///system define`), whose checks
/// the test driver skips, then undefines it. The domain gets a name of its own (tests run in parallel
/// against one daemon), and where this machine cannot run it with KVM (another architecture, or no
/// `/dev/kvm`) it is defined as `type='qemu'`, which keeps the driver's architecture rules.
fn qemu_driver_define(xml: &str) -> (bool, String) {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let name = format!("rtkvm-test-{}-{n}", std::process::id());
    let (start, end) = (
        xml.find("<name>").expect("a domain has a name"),
        xml.find("</name>").expect("a domain has a name"),
    );
    let mut xml = format!("{}<name>{name}{}", &xml[..start], &xml[end..]);
    // Without its uuid, which several tests' domains may share while they run side by side.
    if let (Some(start), Some(end)) = (xml.find("<uuid>"), xml.find("</uuid>")) {
        xml.replace_range(start..end + "</uuid>".len(), "");
    }
    let x86 = xml.contains(r#"arch="x86_64""#) || xml.contains(r#"arch="i686""#);
    if !(x86 && Path::new("/dev/kvm").exists()) {
        xml = xml.replacen(r#"<domain type="kvm">"#, r#"<domain type="qemu">"#, 1);
    }
    let file = TempXml::new(&xml);
    let uri = ["-c", "qemu:///system"];
    let (ok, text) = run(
        "virsh",
        &[&uri[..], &["define", file.path()]].concat(),
        "libvirt-clients",
    );
    assert!(
        !text.contains("failed to connect to the hypervisor"),
        "libvirt's QEMU driver is not running: start it with scripts/libvirtd.sh start (scripts/test.sh does)\n{text}"
    );
    if ok {
        let (gone, why) = run(
            "virsh",
            &[&uri[..], &["undefine", "--nvram", &name]].concat(),
            "libvirt-clients",
        );
        assert!(gone, "cannot undefine {name}: {why}");
    }
    (ok, text)
}

/// Asserts that libvirt's QEMU driver refuses the domain XML with a message containing `expected`
/// (while the test driver may accept it).
pub fn assert_qemu_driver_refuses(xml: &str, expected: &str) {
    let (ok, text) = qemu_driver_define(xml);
    assert!(
        !ok && text.contains(expected),
        "the QEMU driver should refuse with '{expected}', said: {text}"
    );
}

/// Asserts that libvirt accepts the domain XML: its own parser and validation with the test driver
/// (`virsh -c test:///default define`), its RelaxNG schema (`virt-xml-validate … domain`) and its real
/// QEMU driver (`virsh -c qemu:///system define`, which `scripts/libvirtd.sh start` makes available).
pub fn assert_libvirt_accepts(xml: &str, label: &str) {
    let file = TempXml::new(xml);
    let (ok, text) = file.virsh_define();
    assert!(ok, "virsh refused the domain XML of {label}: {text}\n{xml}");
    let (ok, text) = qemu_driver_define(xml);
    assert!(
        ok,
        "libvirt's QEMU driver refused the domain XML of {label}: {text}\n{xml}"
    );
    let (ok, text) = run(
        "virt-xml-validate",
        &[file.path(), "domain"],
        "libvirt-clients and libxml2-utils",
    );
    assert!(
        ok,
        "virt-xml-validate refused the domain XML of {label}: {text}\n{xml}"
    );
}

/// Asserts that libvirt refuses the XML (used to prove the judge catches the seed page's mistakes).
pub fn assert_virsh_refuses(xml: &str, expected: &str) {
    let (ok, text) = TempXml::new(xml).virsh_define();
    assert!(!ok, "virsh accepted XML it should refuse:\n{xml}");
    assert!(
        text.contains(expected),
        "virsh refused for another reason: {text}"
    );
}

/// Asserts that `shellcheck` finds nothing to say about a generated shell script.
pub fn assert_shellcheck_passes(script: &str, label: &str) {
    let file = TempXml::with_extension(script, "sh");
    let (ok, text) = run("shellcheck", &[file.path()], "shellcheck");
    assert!(
        ok,
        "shellcheck refused the script of {label}:\n{text}\n{script}"
    );
}

/// Returns the `rtkvm plan` flags that give these settings, written through the settings form (whose
/// fields are named like the flags).
pub fn cli_args(settings: &rtkvm_core::Settings) -> Vec<String> {
    let f = rtkvm_core::Form::from_settings(settings);
    let mut args = vec![];
    let mut flag = |name: &str, value: &str| {
        args.push(format!("--{name}"));
        args.push(value.to_string());
    };
    flag("recipe", &f.recipe);
    flag("host-cpus", &f.host_cpus);
    if !f.housekeeping.is_empty() {
        flag("housekeeping", &f.housekeeping);
    }
    flag("host-memory", &f.host_memory);
    flag("page-size", &f.page_size);
    flag("preset", &f.preset);
    flag("kernel", &f.kernel);
    flag("kernel-type", &f.kernel_type);
    flag("name", &f.name);
    flag("vcpus", &f.vcpus);
    flag("memory", &f.memory);
    if f.node != "auto" {
        flag("node", &f.node);
    }
    flag("rt-vcpus", &f.rt_vcpus);
    flag("scheduler", &f.scheduler);
    flag("priority", &f.priority);
    flag("emulator", &f.emulator);
    args
}

/// Runs `rtkvm plan FILE ARGS --format json`, asserts that it succeeds and that its output matches
/// `docs/plan.schema.json`, and returns the document.
pub fn cli_json(file: &Path, args: &[String]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_rtkvm"))
        .arg("plan")
        .arg(file)
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run rtkvm");
    assert!(
        output.status.success(),
        "rtkvm plan {} {args:?}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the output is JSON");
    assert_matches_schema(&json, &format!("rtkvm plan {} {args:?}", file.display()));
    json
}

/// Asserts that a document matches the JSON output's schema, `docs/plan.schema.json`.
pub fn assert_matches_schema(json: &serde_json::Value, label: &str) {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = SCHEMA.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/plan.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("docs/plan.schema.json"))
                .expect("the schema is JSON");
        jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
    });
    let errors: Vec<String> = validator
        .iter_errors(json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{label}: the JSON output does not match docs/plan.schema.json:\n{}",
        errors.join("\n")
    );
}
