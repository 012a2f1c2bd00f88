//! Golden share links: links made by earlier versions of rtkvm, committed with the plan each opened
//! to (`core/tests/links/*.json`, written once by `add-golden.py` and never regenerated). A link that
//! someone bookmarked or pasted into a ticket must open to exactly that plan, for good: these files
//! are never edited to make this test pass.
//!
//! The plan is what the operator applies: the kernel command line, `hugepages.sh` and the domain XML,
//! byte for byte, and which warnings it raises (their codes, the contract scripts match on). The
//! warnings' sentences are explanations, which rtkvm may word better over time; they are recorded
//! beside the codes for the reader, not compared.

use std::path::Path;

use rtkvm_core::link::decode_link;
use rtkvm_core::outputs;

#[derive(serde::Deserialize)]
struct Golden {
    made_by: String,
    args: Vec<String>,
    link: String,
    kernel_cmdline: String,
    hugepages_sh: String,
    domain_xml: String,
    /// The domain XML of every guest after the first, in the plan's order, recorded from link v7 on.
    #[serde(default)]
    other_domain_xmls: Vec<String>,
    /// The host's sysctl file, tuned script and boot unit, recorded from link v4 (recipe 3) on.
    #[serde(default)]
    host_files: Option<Vec<GoldenFile>>,
    warnings: Vec<GoldenWarning>,
}

#[derive(serde::Deserialize)]
struct GoldenFile {
    name: String,
    content: String,
}

#[derive(serde::Deserialize)]
struct GoldenWarning {
    code: String,
    message: String,
}

/// A bug fix made after the golden links were recorded (`links/fixes/golden-fixes.json`, shared with
/// the browser tests): in a recorded file named `file` that does not read `new` already, `old` becomes
/// `new`. Nothing else a golden link opens to may change.
#[derive(serde::Deserialize)]
struct Fix {
    file: String,
    old: String,
    new: String,
}

#[derive(serde::Deserialize)]
struct Fixes {
    fixes: Vec<Fix>,
}

fn fixes() -> Vec<Fix> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/links/fixes/golden-fixes.json");
    let fixes: Fixes = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    fixes.fixes
}

/// Returns a recorded file as it reads with every bug fix made since.
fn fixed(name: &str, recorded: &str) -> String {
    fixes()
        .iter()
        .filter(|f| f.file == name)
        .fold(recorded.to_string(), |text, f| {
            // A golden recorded after the fix already reads so.
            if text.contains(&f.new) {
                text
            } else {
                text.replace(&f.old, &f.new)
            }
        })
}

fn goldens() -> Vec<(String, Golden)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/links");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("core/tests/links exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let golden: Golden =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, golden)
        })
        .collect()
}

#[test]
fn every_golden_link_opens_to_its_recorded_plan() {
    let goldens = goldens();
    assert!(goldens.len() >= 20, "the golden links are missing");
    for (name, golden) in goldens {
        let context = format!("golden link {name} (made by {})", golden.made_by);
        let shared = decode_link(&golden.link).unwrap_or_else(|e| panic!("{context}: {e}"));
        let plan = rtkvm_core::plan(&shared.host, &shared.settings)
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        let out = outputs(&shared.host, &plan);
        if let Some(files) = &golden.host_files {
            let got = out.host_files();
            assert_eq!(got.len(), files.len(), "{context}: host files");
            for (got, want) in got.iter().zip(files) {
                assert_eq!(got.name, want.name, "{context}");
                assert_eq!(
                    got.content,
                    fixed(&want.name, &want.content),
                    "{context}: {}",
                    want.name
                );
            }
        }
        let [cmdline, hugepages, xml] = out.files();
        assert_eq!(
            cmdline.content, golden.kernel_cmdline,
            "{context}: kernel command line"
        );
        assert_eq!(
            hugepages.content,
            fixed(&hugepages.name, &golden.hugepages_sh),
            "{context}: hugepages.sh"
        );
        assert_eq!(xml.content, golden.domain_xml, "{context}: domain XML");
        let others: Vec<&str> = out.others.iter().map(|g| g.domain_xml.as_str()).collect();
        assert_eq!(
            others, golden.other_domain_xmls,
            "{context}: the other guests' domain XML"
        );
        let warnings: Vec<&str> = plan.warnings.iter().map(|w| w.code.as_str()).collect();
        let expected: Vec<&str> = golden.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(warnings, expected, "{context}: warning codes");
        assert!(golden.warnings.iter().all(|w| !w.message.is_empty()));
    }
}

/// The form a golden link opens shows each flag the link was made with as it was given, so that the
/// page can be edited from there. The one exception is v1's real-time mask (`^0`), which v1 stored
/// resolved against the vCPU count. The first guest's flags are checked here; the form carries every
/// guest of a link (`--guest`, `Form::others`) and a domain's kept placement (`--domain`,
/// `Form::keep`), so that it reads back to the link's settings exactly.
#[test]
fn every_golden_link_fills_the_form_with_the_flags_it_was_made_with() {
    for (name, golden) in goldens() {
        let shared = decode_link(&golden.link).unwrap();
        let form = rtkvm_core::Form::from_settings(&shared.settings);
        for pair in golden.args.chunks(2) {
            let (flag, value) = (pair[0].as_str(), pair[1].as_str());
            let shown = match flag {
                "--guest" | "--domain" => continue,
                "--vcpus" => &form.vcpus,
                "--memory" => &form.memory,
                "--node" => &form.node,
                "--host-cpus" => &form.host_cpus,
                "--housekeeping" => &form.housekeeping,
                "--host-memory" => &form.host_memory,
                "--page-size" => &form.page_size,
                "--name" => &form.name,
                "--rt-vcpus" if shared.version == 1 && value.starts_with('^') => continue,
                "--rt-vcpus" => &form.rt_vcpus,
                "--scheduler" => &form.scheduler,
                "--priority" => &form.priority,
                "--preset" => &form.preset,
                "--recipe" => &form.recipe,
                "--emulator" => &form.emulator,
                "--kernel" => &form.kernel,
                "--kernel-type" => &form.kernel_type,
                "--reserve" => &form.reserve,
                "--spare" => &form.spare,
                other => panic!("{name}: no form field for {other}"),
            };
            assert_eq!(shown, value, "{name}: the form's {flag}");
        }
        assert_eq!(form.to_settings().as_ref(), Ok(&shared.settings), "{name}");
    }
}
