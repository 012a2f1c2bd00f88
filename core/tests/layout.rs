//! The code's layout: no import circle among the core's modules (ARCHITECTURE.md, "Invariants").
//!
//! The rules are those of `scripts/import-cycles.py`, which prints the whole graph: every `crate::…`
//! and `super::…` path in `core/src` (comments, strings and `#[cfg(test)]` items left out; the `rtkvm`
//! binary is a crate of its own) is an import of the module it names (a re-export of `lib.rs` names
//! the module it comes from). The graph of the top-level modules (a folder's files count as the
//! folder) has no circle, and neither have the files of each folder among themselves (its `mod.rs`,
//! the module's face, aside).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Returns whether `s` is at `i`.
fn starts(c: &[char], i: usize, s: &str) -> bool {
    s.chars()
        .enumerate()
        .all(|(k, ch)| c.get(i + k) == Some(&ch))
}

/// Returns the source with comments, string and character literals blanked out.
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let ident = |i: usize| i < c.len() && (c[i].is_alphanumeric() || c[i] == '_');
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        if starts(&c, i, "//") {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if starts(&c, i, "/*") {
            let mut depth = 0;
            loop {
                if i >= c.len() {
                    break;
                } else if starts(&c, i, "/*") {
                    depth += 1;
                    i += 2;
                } else if starts(&c, i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (i == 0 || !ident(i - 1) || (c[i - 1] == 'b' && (i == 1 || !ident(i - 2))))
            && matches!(c.get(i + 1), Some('"' | '#'))
        {
            let mut hashes = 0;
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            while j < c.len() && !(c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')))
            {
                j += 1;
            }
            i = j + 1 + hashes;
            out.push_str("\"\"");
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' && c.get(i + 1) == Some(&'\\') {
            i += 2;
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push_str("' '");
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Returns stripped source without its `#[cfg(test)]` items.
fn drop_tests(mut text: String) -> String {
    while let Some(start) = text.find("#[cfg(test)]") {
        let b = text.as_bytes();
        let mut i = start + "#[cfg(test)]".len();
        while i < b.len() && b[i] != b'{' && b[i] != b';' {
            i += 1;
        }
        if i < b.len() && b[i] == b'{' {
            let mut depth = 0;
            while i < b.len() {
                depth += i32::from(b[i] == b'{') - i32::from(b[i] == b'}');
                i += 1;
                if depth == 0 {
                    break;
                }
            }
        } else {
            i = (i + 1).min(b.len());
        }
        text.replace_range(start..i, "");
    }
    text
}

/// Reads a path or use tree at `i` (`crate::a::{b, c::D}`): pushes every path it names.
fn read_tree(c: &[char], mut i: usize, prefix: Vec<String>, found: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    loop {
        while c.get(i).is_some_and(|ch| ch.is_whitespace()) {
            i += 1;
        }
        if c.get(i) == Some(&'{') {
            i += 1;
            loop {
                while c.get(i).is_some_and(|ch| ch.is_whitespace() || *ch == ',') {
                    i += 1;
                }
                if i >= c.len() || c[i] == '}' {
                    return i + 1;
                }
                i = read_tree(c, i, path.clone(), found);
                // Skip `as name`.
                while i < c.len() && !matches!(c[i], ',' | '}') {
                    i += 1;
                }
            }
        }
        let start = i;
        while c
            .get(i)
            .is_some_and(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '*')
        {
            i += 1;
        }
        let seg: String = c[start..i].iter().collect();
        if seg.is_empty() {
            found.push(path);
            return i;
        }
        if seg != "self" {
            path.push(seg);
        }
        if c.get(i) == Some(&':') && c.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            found.push(path);
            return i;
        }
    }
}

/// Every `crate::…` and `super::…` path, from the root (`super` resolved against `module`).
fn paths(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let c: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let word = |i: usize, w: &str| {
            starts(&c, i, w)
                && starts(&c, i + w.len(), "::")
                && (i == 0 || !(c[i - 1].is_alphanumeric() || matches!(c[i - 1], '_' | ':')))
        };
        if word(i, "crate") {
            i = read_tree(&c, i + "crate::".len(), Vec::new(), &mut found);
        } else if word(i, "super") {
            let mut base = module.to_vec();
            while starts(&c, i, "super::") {
                base.pop();
                i += "super::".len();
            }
            i = read_tree(&c, i, base, &mut found);
        } else {
            i += 1;
        }
    }
    found
}

/// The file-level import graph of core/src.
fn graph(src: &Path) -> Graph {
    let mut files = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path != src.join("bin") {
                    dirs.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|m| m == "mod" || m == "lib") {
                module.pop();
            }
            files.insert(module, path);
        }
    }
    let lib = strip(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut reexports = BTreeMap::new();
    for line in lib.split(';') {
        if let Some(rest) = line.trim().strip_prefix("pub use ") {
            let mut found = Vec::new();
            let c: Vec<char> = rest.chars().collect();
            read_tree(&c, 0, Vec::new(), &mut found);
            for p in found {
                if let (Some(first), Some(last)) = (p.first(), p.last()) {
                    reexports.insert(last.clone(), first.clone());
                }
            }
        }
    }
    let mut edges = Graph::new();
    for (module, file) in &files {
        if module.is_empty() {
            continue;
        }
        let name = module.join("::");
        let text = drop_tests(strip(&std::fs::read_to_string(file).unwrap()));
        let mut deps = BTreeSet::new();
        for path in paths(&text, module) {
            let target = (1..=path.len())
                .rev()
                .map(|k| path[..k].to_vec())
                .find(|p| files.contains_key(p))
                .map(|p| p.join("::"))
                .or_else(|| path.first().and_then(|f| reexports.get(f).cloned()));
            if let Some(t) = target.filter(|t| *t != name) {
                deps.insert(t);
            }
        }
        edges.insert(name, deps);
    }
    edges
}

/// The graphs judged: the top-level modules, then each folder's files among themselves.
fn levels(edges: &Graph) -> Vec<(String, Graph)> {
    let top_of = |m: &str| m.split("::").next().unwrap().to_string();
    let folder_of = |m: &str| m.rsplit_once("::").map(|(f, _)| f.to_string());
    let mut top = Graph::new();
    for (m, deps) in edges {
        let entry = top.entry(top_of(m)).or_default();
        entry.extend(deps.iter().map(|d| top_of(d)).filter(|d| *d != top_of(m)));
    }
    let mut result = vec![("crate".to_string(), top)];
    let folders: BTreeSet<String> = edges.keys().filter_map(|m| folder_of(m)).collect();
    for folder in folders {
        let mut inner = Graph::new();
        for (m, deps) in edges
            .iter()
            .filter(|(m, _)| folder_of(m).as_ref() == Some(&folder))
        {
            let siblings = deps
                .iter()
                .filter(|d| folder_of(d).as_ref() == Some(&folder));
            inner.insert(m.clone(), siblings.cloned().collect());
        }
        result.push((folder, inner));
    }
    result
}

/// Returns one circle of the graph, if it has one.
fn find_circle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        node: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut circle = stack[at..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in g.get(node).into_iter().flatten() {
            if let Some(circle) = visit(g, next, stack, done) {
                return Some(circle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(g, n, &mut Vec::new(), &mut done))
}

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_import_circle() {
    let edges = graph(&src());
    let circles: Vec<String> = levels(&edges)
        .iter()
        .filter_map(|(_, g)| find_circle(g))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(
        circles.is_empty(),
        "import circles among core/src's modules (scripts/import-cycles.py --graph lists the graph):\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_graph_reads_the_imports() {
    // The reader finds what is there: these edges exist and the emitters sit above the plan.
    let edges = graph(&src());
    let has = |from: &str, to: &str| edges.get(from).is_some_and(|d| d.contains(to));
    assert!(has("outputs", "plan"), "{edges:?}");
    assert!(has("cmdline", "host_plan"), "{edges:?}");
    assert!(has("plan::warnings", "cmdline"), "{edges:?}");
    assert!(has("plan::limits", "plan::partition"), "{edges:?}");
    assert!(has("link::v4", "link::v3"), "{edges:?}");
    // `crate::CpuSet`, a re-export of lib.rs, names cpuset.
    assert!(has("export::nova", "cpuset"), "{edges:?}");
    assert!(!has("plan", "outputs"));
    // A circle is found.
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("a".into());
    assert_eq!(
        find_circle(&g),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    // Comments, strings and unit tests are not imports.
    let text = drop_tests(strip(
        "// crate::a\nlet s = \"crate::b\"; let r = r#\"crate::c\"#; let q = '\"';\nuse crate::d::{e::F, self};\n#[cfg(test)]\nmod tests { use crate::g; }\n",
    ));
    let found = paths(&text, &["m".to_string()]);
    assert_eq!(
        found,
        vec![
            vec!["d".to_string(), "e".to_string(), "F".to_string()],
            vec!["d".to_string()]
        ]
    );
}

#[test]
fn the_script_agrees() {
    // The script prints the same graph; it is run when python3 is there.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/import-cycles.py");
    let Ok(out) = std::process::Command::new("python3")
        .arg(&script)
        .arg("--graph")
        .arg(src())
        .output()
    else {
        return;
    };
    let text = String::from_utf8(out.stdout).unwrap();
    let mut expected = String::new();
    for (name, g) in levels(&graph(&src())) {
        expected.push_str(&format!("# {name}\n"));
        for (m, deps) in &g {
            let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
            let deps = if deps.is_empty() {
                "(nothing)".to_string()
            } else {
                deps.join(", ")
            };
            expected.push_str(&format!("{m} -> {deps}\n"));
        }
    }
    assert!(
        text.starts_with(&expected),
        "scripts/import-cycles.py reads another graph:\n{text}\nthis test reads:\n{expected}"
    );
    assert!(out.status.success(), "{text}");
}
