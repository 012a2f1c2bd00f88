//! Every input in `regressions/<target>/` (inputs that once crashed a target, and hand-picked seeds) is
//! run through its target's checks on every test run.

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn parse_regressions() {
    for (name, data) in inputs("parse") {
        let _ = std::panic::catch_unwind(|| rtkvm_fuzz::parse(&data))
            .unwrap_or_else(|_| panic!("{name}"));
    }
}

#[test]
fn link_regressions() {
    for (name, data) in inputs("link") {
        let _ = std::panic::catch_unwind(|| rtkvm_fuzz::link(&data))
            .unwrap_or_else(|_| panic!("{name}"));
    }
}

#[test]
fn pipeline_regressions_and_the_seed_example_plans() {
    for (name, data) in inputs("pipeline") {
        let _ = std::panic::catch_unwind(|| rtkvm_fuzz::pipeline(&data))
            .unwrap_or_else(|_| panic!("{name}"));
    }
    // The seed format works: settings bytes followed by the example host give a plan.
    let mut seed = vec![2, 0, 0x18, 0, 0, 2, 0, 4, 0xff, 2, 1, 0];
    seed.extend_from_slice(rtkvm_core::EXAMPLE_CAPABILITIES.as_bytes());
    assert!(rtkvm_fuzz::pipeline(&seed));
}

#[test]
fn domain_regressions_and_every_corpus_domain() {
    let mut inputs = inputs("domain");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/domains");
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            for selector in [0u8, 4] {
                let mut data = vec![selector];
                data.extend(std::fs::read(&path).unwrap());
                inputs.push((path.display().to_string(), data));
            }
        }
    }
    let mut patched = 0;
    for (name, data) in inputs {
        let ok = std::panic::catch_unwind(|| rtkvm_fuzz::domain(&data))
            .unwrap_or_else(|_| panic!("{name}"));
        patched += usize::from(ok);
    }
    assert!(patched >= 100, "only {patched} inputs were patched");
}

#[test]
fn report_regressions_and_the_real_reports() {
    let inputs = inputs("report");
    // The real reports of `core/tests/verify.rs` (a host that runs the plan, and faulty ones).
    assert!(inputs.iter().filter(|(n, _)| n.ends_with(".txt")).count() >= 4);
    for (name, data) in inputs {
        let ok = std::panic::catch_unwind(|| rtkvm_fuzz::report(&data))
            .unwrap_or_else(|_| panic!("{name}"));
        assert!(ok, "{name}");
    }
}

#[test]
fn exports_regressions_and_hostile_names_on_every_fixture() {
    for (name, data) in inputs("exports") {
        let _ = std::panic::catch_unwind(|| rtkvm_fuzz::exports(&data))
            .unwrap_or_else(|_| panic!("{name}"));
    }
    // The seed format: settings bytes, the names block, the host; the hostile names of issue 24 on
    // every fixture and corpus host that plans.
    let names = b"it's\0$(touch pwned) `id`\0a: b &anchor *alias\0- \"q\" # c {x: [1]} ~ !!str";
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("domains") {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "xml") {
                out.push(path);
            }
        }
    }
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core");
    let mut hosts = Vec::new();
    walk(&core.join("fixtures"), &mut hosts);
    walk(&core.join("tests/corpus"), &mut hosts);
    hosts.sort();
    let mut planned = 0;
    for path in hosts {
        let mut seed = vec![2, 0, 0x18, 0, 0, 2, 0, 4, 0xff, 2, 1, 0x0e];
        seed.push(names.len() as u8);
        seed.extend_from_slice(names);
        seed.extend(std::fs::read(&path).unwrap());
        let ok = std::panic::catch_unwind(|| rtkvm_fuzz::exports(&seed))
            .unwrap_or_else(|_| panic!("{}", path.display()));
        planned += usize::from(ok);
    }
    assert!(planned >= 8, "only {planned} hosts planned");
}
