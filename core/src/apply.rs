//! Patching an existing domain with a plan: the elements rtkvm owns (memory, vCPUs, pinning and
//! scheduling, NUMA binding, huge pages, the CPU model, the PMU, the latency-adding devices) are
//! written from the plan; every other byte of the document stays as it was: disks, interfaces, the
//! uuid, metadata, comments, unknown elements, their order and their formatting.
//!
//! The patch is a list of edits on the original text. Each owned group replaces the matching children
//! of one parent (removing them line and all, and writing the plan's where the first of them was), or
//! creates the parent. A group whose children already read as the plan's is left alone, so applying a
//! patched domain again changes nothing. One of the modules that know XML: new elements are serialized
//! from the typed structs of [`crate::domain`] by quick-xml, tags by quick-xml's writer.

use std::fmt;
use std::ops::Range;

use quick_xml::events::{BytesEnd, BytesStart, Event};
use quick_xml::Writer;
use serde::Serialize;

use crate::cpuset::CpuSet;
pub use crate::diff::Edit;
use crate::domain::{Domain, IoThreadPin};
use crate::existing::needs_usb;
use crate::host::Host;
use crate::plan::Plan;
use crate::settings::Recipe;
use crate::xmltree::{self, Document, Element};

/// What one group of the patch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The parent element, as a path below `<domain>` (empty for `<domain>` itself).
    pub parent: String,
    /// The line of the parent, or of the element it was added to.
    pub line: usize,
    /// The elements written from the plan that were not there as it writes them (new or changed).
    pub written: Vec<String>,
    /// The elements taken out, with their lines.
    pub removed: Vec<(String, usize)>,
    /// Whether the parent itself was added.
    pub created: bool,
    /// Attributes set on the parent, as `name='value'` (or `name` removed).
    pub attributes: Vec<String>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parent = if self.parent.is_empty() {
            "domain"
        } else {
            &self.parent
        };
        write!(f, "line {}: <{parent}>", self.line)?;
        if self.created {
            f.write_str(" added")?;
        }
        let mut sep = ": ";
        if !self.attributes.is_empty() {
            write!(f, "{sep}set {}", self.attributes.join(" "))?;
            sep = "; ";
        }
        if !self.written.is_empty() {
            write!(
                f,
                "{sep}wrote {}",
                counted(self.written.iter().map(String::as_str))
            )?;
            sep = "; ";
        }
        if !self.removed.is_empty() {
            let lines: Vec<String> = self.removed.iter().map(|(_, l)| l.to_string()).collect();
            write!(
                f,
                "{sep}removed {} (line {})",
                counted(self.removed.iter().map(|(n, _)| n.as_str())),
                lines.join(", ")
            )?;
        }
        Ok(())
    }
}

/// `vcpupin ×4, emulatorpin`: names in order, repeats counted.
fn counted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut out: Vec<(&str, usize)> = Vec::new();
    for name in names {
        match out.last_mut() {
            Some((last, n)) if *last == name => *n += 1,
            _ => out.push((name, 1)),
        }
    }
    out.iter()
        .map(|&(name, n)| {
            if n > 1 {
                format!("<{name}> ×{n}")
            } else {
                format!("<{name}>")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A patched domain and what was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The whole patched document.
    pub xml: String,
    /// What was changed, in document order; empty when the domain already was as planned.
    pub changes: Vec<Change>,
    /// The edits of the original text that make `xml`, sorted and not overlapping.
    pub edits: Vec<Edit>,
}

impl Applied {
    /// Returns the unified diff from the original text (the one patched) to the patched domain, with
    /// `a/NAME` and `b/NAME` headers; empty when nothing changed.
    pub fn unified_diff(&self, original: &str, name: &str) -> String {
        crate::diff::unified(original, &self.edits, name)
    }
}

/// A child element the patch writes: its name, its XML (without indentation of its own) and its
/// canonical form for comparisons.
struct Fresh {
    name: String,
    xml: String,
    canon: String,
}

impl Fresh {
    /// The same empty element with one attribute's value changed.
    fn with_attribute(&self, name: &str, value: &str) -> Fresh {
        let doc = xmltree::parse(&self.xml, &|_| Ok(())).expect("rtkvm's own element reads back");
        let (attrs, _) = with_attributes(&doc.root, &[(name, Some(value))]);
        let xml = start_tag(&self.name, &attrs, true);
        let doc = xmltree::parse(&xml, &|_| Ok(())).expect("rtkvm's own element reads back");
        let canon = canonical(&doc.root);
        Fresh {
            name: self.name.clone(),
            xml,
            canon,
        }
    }
}

struct Patcher<'d> {
    doc: &'d Document<'d>,
    edits: Vec<Edit>,
    changes: Vec<Change>,
    /// The indentation one level adds, as the document does it.
    unit: String,
}

/// The whitespace before `offset` on its line, when nothing else precedes it there.
fn line_indent(text: &str, offset: usize) -> Option<&str> {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let lead = &text[start..offset];
    lead.chars().all(|c| c == ' ' || c == '\t').then_some(lead)
}

/// A canonical form of an element for comparisons: name, sorted attributes, trimmed text, children.
fn canonical(e: &Element) -> String {
    let mut out = String::new();
    write_canonical(e, &mut out);
    out
}

fn write_canonical(e: &Element, out: &mut String) {
    out.push('<');
    out.push_str(e.name);
    let mut attrs: Vec<&(&str, std::borrow::Cow<'_, str>)> = e.attrs.iter().collect();
    attrs.sort();
    for (k, v) in attrs {
        out.push(' ');
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out.push('>');
    out.push_str(e.text.trim());
    for c in &e.children {
        write_canonical(c, out);
    }
    out.push('/');
}

fn same(existing: &[&Element], fresh: &[Fresh]) -> bool {
    if existing.len() != fresh.len() {
        return false;
    }
    let mut a: Vec<String> = existing.iter().map(|e| canonical(e)).collect();
    let mut b: Vec<&str> = fresh.iter().map(|f| f.canon.as_str()).collect();
    a.sort();
    b.sort_unstable();
    a.iter().zip(b).all(|(a, b)| a == b)
}

impl<'d> Patcher<'d> {
    fn text(&self) -> &'d str {
        self.doc.text
    }

    fn line(&self, offset: usize) -> usize {
        self.doc.position(offset).line
    }

    /// The whitespace before `offset` on its line, when nothing else precedes it there.
    fn indent_at(&self, offset: usize) -> Option<&'d str> {
        line_indent(self.text(), offset)
    }

    /// The indentation of an element's children: that of its first child, else its own plus a unit.
    fn child_indent(&self, parent: &Element) -> String {
        parent
            .children
            .first()
            .and_then(|c| self.indent_at(c.span.start))
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "{}{}",
                    self.indent_at(parent.span.start).unwrap_or(""),
                    self.unit
                )
            })
    }

    /// The range that removes an element: its whole line(s) when it stands alone on them.
    fn removal(&self, e: &Element) -> Range<usize> {
        let text = self.text();
        let alone_before = self.indent_at(e.span.start);
        let rest = &text[e.span.end..];
        let line_end = rest.find('\n').map(|i| e.span.end + i + 1);
        match (alone_before, line_end) {
            (Some(lead), Some(end)) if text[e.span.end..end].trim().is_empty() => {
                e.span.start - lead.len()..end
            }
            // Inline (`<cputune> <vcpupin/> <vcpupin/> </cputune>`): with the space before it.
            _ => {
                let lead = text[..e.span.start].len()
                    - text[..e.span.start].trim_end_matches([' ', '\t']).len();
                e.span.start - lead..e.span.end
            }
        }
    }

    /// Lays out fresh elements at `indent`, one per line, each line ended.
    fn lines(&self, fresh: &[Fresh], indent: &str) -> String {
        let mut out = String::new();
        for f in fresh {
            for line in f.xml.lines() {
                out.push_str(indent);
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// Replaces the children of `parent` that `owned` selects with `fresh`, where the first of them
    /// was (else before the end tag), and sets `attributes` on it (`None` removes one). A missing
    /// parent is created inside `container`. Records the edits and the change.
    fn merge(
        &mut self,
        path: &str,
        parent: Option<&'d Element>,
        container: &'d Element,
        owned: &dyn Fn(&Element) -> bool,
        fresh: Vec<Fresh>,
        attributes: &[(&str, Option<&str>)],
    ) {
        let Some(parent) = parent else {
            if fresh.is_empty() {
                return;
            }
            let name = path.rsplit('/').next().unwrap_or(path);
            let indent = self.child_indent(container);
            let attrs: Vec<(String, String)> = attributes
                .iter()
                .filter_map(|&(k, v)| Some((k.to_string(), v?.to_string())))
                .collect();
            let xml = self.wrapped(name, &attrs, &fresh, &indent);
            let (at, line_mode) = self.insertion(container, name);
            let text = if line_mode {
                format!("{indent}{xml}\n")
            } else {
                xml
            };
            self.edits.push(Edit {
                range: at..at,
                text,
            });
            self.changes.push(Change {
                parent: path.into(),
                line: self.line(container.span.start),
                written: fresh.iter().map(|f| f.name.to_string()).collect(),
                removed: Vec::new(),
                created: true,
                attributes: Vec::new(),
            });
            return;
        };
        let (attrs, said) = with_attributes(parent, attributes);
        let existing: Vec<&Element> = parent.children.iter().filter(|c| owned(c)).collect();
        let children_same = same(&existing, &fresh);
        if children_same && said.is_empty() {
            return;
        }
        let indent = self.child_indent(parent);
        let mut change = Change {
            parent: path.into(),
            line: self.line(parent.span.start),
            written: Vec::new(),
            removed: Vec::new(),
            created: false,
            attributes: said,
        };
        if parent.end_tag.is_none() {
            // `<features/>`: written again, with content when there is some.
            let text = if fresh.is_empty() {
                start_tag(parent.name, &attrs, true)
            } else {
                let outer = self.indent_at(parent.span.start).unwrap_or("").to_string();
                self.wrapped(parent.name, &attrs, &fresh, &outer)
            };
            change.written = fresh.iter().map(|f| f.name.to_string()).collect();
            self.edits.push(Edit {
                range: parent.span.clone(),
                text,
            });
            self.changes.push(change);
            return;
        }
        if !change.attributes.is_empty() {
            self.edits.push(Edit {
                range: parent.start_tag.clone(),
                text: start_tag(parent.name, &attrs, false),
            });
        }
        if !children_same {
            // Said: what was not there as the plan writes it (the diff shows the rest unchanged).
            // Each existing element matched by an identical fresh one, at most once.
            let mut before: Vec<Option<String>> =
                existing.iter().map(|e| Some(canonical(e))).collect();
            change.written = fresh
                .iter()
                .filter(|f| {
                    let found = before.iter().position(|c| c.as_deref() == Some(&f.canon));
                    found.map(|at| before[at] = None).is_none()
                })
                .map(|f| f.name.to_string())
                .collect();
            for (e, unmatched) in existing.iter().zip(&before) {
                self.edits.push(Edit {
                    range: self.removal(e),
                    text: String::new(),
                });
                // Gone: not written again as it was, nor replaced by a changed one of its name.
                if unmatched.is_some() && !change.written.iter().any(|w| w == e.name) {
                    change
                        .removed
                        .push((e.name.to_string(), self.line(e.span.start)));
                }
            }
            if !fresh.is_empty() {
                let (at, line_mode) = match existing.first() {
                    Some(first) => {
                        let at = self.removal(first).start;
                        (at, self.indent_at(first.span.start).is_some())
                    }
                    None => self.insertion(parent, &fresh[0].name),
                };
                let text = if line_mode {
                    self.lines(&fresh, &indent)
                } else {
                    inline(&fresh)
                };
                self.edits.push(Edit {
                    range: at..at,
                    text,
                });
            }
        }
        self.changes.push(change);
    }

    /// An element with `fresh` children, one per line at this indentation plus a unit, its end tag
    /// at `indent`.
    fn wrapped(
        &self,
        name: &str,
        attrs: &[(String, String)],
        fresh: &[Fresh],
        indent: &str,
    ) -> String {
        let mut xml = start_tag(name, attrs, false);
        xml.push('\n');
        xml.push_str(&self.lines(fresh, &format!("{indent}{}", self.unit)));
        xml.push_str(indent);
        let mut writer = Writer::new(Vec::new());
        writer
            .write_event(Event::End(BytesEnd::new(name)))
            .expect("writing to memory");
        xml.push_str(std::str::from_utf8(&writer.into_inner()).expect("UTF-8"));
        xml
    }

    /// Where a new child `name` goes in `parent`: in `<domain>`, after the last child libvirt writes
    /// before it; elsewhere, before the end tag. Returns the offset and whether it starts a line.
    fn insertion(&self, parent: &Element, name: &str) -> (usize, bool) {
        let rank = |n: &str| DOMAIN_ORDER.iter().position(|&o| o == n);
        if let (true, Some(mine)) = (parent.name == "domain", rank(name)) {
            let before = parent
                .children
                .iter()
                .rev()
                .find(|c| rank(c.name).is_some_and(|r| r < mine));
            if let Some(prev) = before {
                let text = self.text();
                let end = prev.span.end;
                if let Some(nl) = text[end..].find('\n') {
                    if text[end..end + nl].trim().is_empty()
                        && self.indent_at(prev.span.start).is_some()
                    {
                        return (end + nl + 1, true);
                    }
                }
            }
        }
        self.end_insertion(parent)
    }

    /// Where to insert before an element's end tag: at the start of the end tag's line when it
    /// stands alone there (line mode), else right before it.
    fn end_insertion(&self, parent: &Element) -> (usize, bool) {
        let end = parent.end_tag.as_ref().map_or(parent.span.end, |r| r.start);
        match self.indent_at(end) {
            Some(lead) if end - lead.len() > parent.start_tag.end => (end - lead.len(), true),
            _ => (end, false),
        }
    }

    /// Spreads a new vCPU count and memory over the guest's NUMA cells, keeping each cell's other
    /// attributes and children: vCPUs in consecutive runs, memory in whole huge pages, as evenly as
    /// they go. Cells that get nothing (fewer vCPUs or pages than cells) are removed.
    fn reshape_cells(&mut self, cells: &[&'d Element], vcpus: u32, memory_kib: u64, page_kib: u64) {
        let Some(first) = cells.first() else { return };
        let pages = memory_kib / page_kib.max(1);
        let kept = cells.len().min(vcpus as usize).min(pages as usize).max(1);
        let mut change = Change {
            parent: "cpu/numa".into(),
            line: self.line(first.span.start),
            written: Vec::new(),
            removed: Vec::new(),
            created: false,
            attributes: Vec::new(),
        };
        let (mut next_vcpu, mut next_page) = (0u64, 0u64);
        // A kept cell's distances to a removed one go with it: libvirt refuses a `<sibling>` that
        // names no cell.
        let removed_ids: Vec<&str> = cells[kept..].iter().filter_map(|c| c.attr("id")).collect();
        for cell in &cells[..kept] {
            let siblings = cell
                .child("distances")
                .into_iter()
                .flat_map(|d| d.children_named("sibling"))
                .filter(|s| s.attr("id").is_some_and(|id| removed_ids.contains(&id)));
            for sibling in siblings {
                self.edits.push(Edit {
                    range: self.removal(sibling),
                    text: String::new(),
                });
                change
                    .removed
                    .push(("sibling".into(), self.line(sibling.span.start)));
            }
        }
        for (i, cell) in cells.iter().enumerate() {
            if i >= kept {
                self.edits.push(Edit {
                    range: self.removal(cell),
                    text: String::new(),
                });
                change
                    .removed
                    .push(("cell".into(), self.line(cell.span.start)));
                continue;
            }
            let share =
                |total: u64| total / kept as u64 + u64::from((i as u64) < total % kept as u64);
            let (n_vcpus, n_pages) = (share(u64::from(vcpus)), share(pages));
            let cpus: CpuSet = (next_vcpu as u32..(next_vcpu + n_vcpus) as u32).collect();
            let memory = (n_pages * page_kib).to_string();
            next_vcpu += n_vcpus;
            next_page += n_pages;
            let (attrs, said) = with_attributes(
                cell,
                &[
                    ("cpus", Some(&cpus.to_string())),
                    ("memory", Some(&memory)),
                    ("unit", Some("KiB")),
                ],
            );
            if !said.is_empty() {
                self.edits.push(Edit {
                    range: cell.start_tag.clone(),
                    text: start_tag(cell.name, &attrs, cell.end_tag.is_none()),
                });
                change.written.push("cell".into());
            }
        }
        debug_assert_eq!(next_page, pages);
        if !change.written.is_empty() || !change.removed.is_empty() {
            self.changes.push(change);
        }
    }

    fn finish(mut self) -> Applied {
        self.edits.sort_by_key(|e| (e.range.start, e.range.end));
        let text = self.text();
        let mut xml = String::with_capacity(text.len() + 1024);
        let mut at = 0;
        // Overlapping removals (an element inside one already removed) are dropped.
        self.edits.retain(|edit| {
            let keep = edit.range.start >= at;
            if keep {
                at = edit.range.end;
            }
            keep
        });
        at = 0;
        for edit in &self.edits {
            xml.push_str(&text[at..edit.range.start]);
            xml.push_str(&edit.text);
            at = edit.range.end;
        }
        xml.push_str(&text[at..]);
        self.changes.sort_by_key(|c| c.line);
        Applied {
            xml,
            changes: self.changes,
            edits: self.edits,
        }
    }
}

/// Fresh elements on one line, each after a space.
fn inline(fresh: &[Fresh]) -> String {
    fresh
        .iter()
        .flat_map(|f| [" ", f.xml.as_str()])
        .collect::<String>()
        .replace('\n', " ")
}

/// The order libvirt writes a domain's children in: new ones go after the last existing child that
/// comes before them, so that the patched domain reads as `virsh dumpxml` prints it.
const DOMAIN_ORDER: &[&str] = &[
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
    "memory",
    "currentMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "defaultiothread",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "os",
    "idmap",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "devices",
];

/// Returns an element's attributes with `wanted` set (or, with `None`, removed), the others kept in
/// their order, and what changed.
fn with_attributes(
    e: &Element,
    wanted: &[(&str, Option<&str>)],
) -> (Vec<(String, String)>, Vec<String>) {
    let mut attrs: Vec<(String, String)> = e
        .attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut said = Vec::new();
    for &(name, value) in wanted {
        let at = attrs.iter().position(|(k, _)| k == name);
        match (at, value) {
            (Some(i), Some(v)) if attrs[i].1 != v => {
                attrs[i].1 = v.to_string();
                said.push(format!("{name}='{v}'"));
            }
            (None, Some(v)) => {
                attrs.push((name.to_string(), v.to_string()));
                said.push(format!("{name}='{v}'"));
            }
            (Some(i), None) => {
                attrs.remove(i);
                said.push(format!("no {name}"));
            }
            _ => {}
        }
    }
    (attrs, said)
}

/// Writes a start tag (or an empty element) with quick-xml, escaping the attribute values.
fn start_tag(name: &str, attrs: &[(String, String)], empty: bool) -> String {
    let start =
        BytesStart::new(name).with_attributes(attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut writer = Writer::new(Vec::new());
    let event = if empty {
        Event::Empty(start)
    } else {
        Event::Start(start)
    };
    writer.write_event(event).expect("writing to memory");
    String::from_utf8(writer.into_inner()).expect("UTF-8")
}

/// The plan's domain, serialized once by [`Domain::to_xml`] and read back: the elements a patch writes
/// are cut from it, so that they are exactly what rtkvm writes for a new guest.
struct Generated<'g> {
    doc: Document<'g>,
}

impl<'g> Generated<'g> {
    /// The children of the element at `path` that `pick` selects, as fresh elements.
    fn children(&self, path: &[&str], pick: &dyn Fn(&Element) -> bool) -> Vec<Fresh> {
        self.doc
            .root
            .at(path)
            .into_iter()
            .flat_map(|e| e.children.iter())
            .filter(|c| pick(c))
            .map(|c| self.fresh(c))
            .collect()
    }

    /// An element of the generated domain, its lines without the indentation it has there.
    fn fresh(&self, e: &Element) -> Fresh {
        let text = self.doc.text;
        // The serializer indents every element on a line of its own.
        let indent = line_indent(text, e.span.start).unwrap_or("");
        let mut xml = String::new();
        for (i, line) in text[e.span.clone()].lines().enumerate() {
            if i > 0 {
                xml.push('\n');
            }
            xml.push_str(line.strip_prefix(indent).unwrap_or(line));
        }
        Fresh {
            name: e.name.to_string(),
            xml,
            canon: canonical(e),
        }
    }
}

/// Patches a parsed domain with a plan made for it (the plan's guest name is the domain's).
pub fn apply(doc: &Document<'_>, host: &Host, plan: &Plan) -> Applied {
    apply_guest(doc, host, plan, &plan.guest)
}

/// Patches a parsed domain with one guest of a plan of several (`rtkvm apply --guest NAME`): that
/// guest's placement, with the plan's recipe.
pub fn apply_guest(
    doc: &Document<'_>,
    host: &Host,
    plan: &Plan,
    guest: &crate::plan::GuestPlan,
) -> Applied {
    let root = &doc.root;
    let unit = root
        .children
        .first()
        .and_then(|c| line_indent(doc.text, c.span.start))
        .filter(|lead| !lead.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| "  ".into());
    let mut p = Patcher {
        doc,
        edits: Vec::new(),
        changes: Vec::new(),
        unit,
    };
    let g = guest;
    let production = plan.recipe >= Recipe::Production;
    let old_vcpus = root
        .child("vcpu")
        .and_then(|v| v.trimmed().parse::<u32>().ok());
    let old_memory = root
        .child("memory")
        .and_then(|m| crate::existing::libvirt_kib(m.trimmed(), m.attr("unit")));
    let mut iothread_ids: Vec<u32> = match root.child("iothreadids") {
        Some(ids) => ids
            .children_named("iothread")
            .filter_map(|t| t.attr("id")?.trim().parse().ok())
            .collect(),
        None => {
            let count = root
                .child("iothreads")
                .and_then(|t| t.trimmed().parse::<u32>().ok())
                .unwrap_or(0);
            (1..=count).collect()
        }
    };
    let add_iothread = iothread_ids.is_empty() && production;
    if add_iothread {
        iothread_ids.push(1);
    }
    let mut d = Domain::new(host, g, plan.recipe);
    // vCPUs online at boot stay as the domain had them while their count does not change.
    d.vcpu.current = root
        .child("vcpu")
        .and_then(|v| v.attr("current")?.trim().parse::<u32>().ok())
        .filter(|&current| old_vcpus == Some(g.vcpus) && current < g.vcpus);
    // The generated domain pins its one I/O thread; the patch pins each the domain has, alike.
    d.cputune.iothreadpin = Some(IoThreadPin {
        iothread: 1,
        cpuset: g.emulatorpin.to_string(),
    });
    let xml = d.to_xml();
    let gen = Generated {
        doc: xmltree::parse(&xml, &|_| Ok(())).expect("rtkvm's own domain reads back"),
    };
    let named = |names: &'static [&'static str]| move |e: &Element| names.contains(&e.name);
    let all = |_: &Element| true;

    // Memory and vCPUs.
    p.merge(
        "",
        Some(root),
        root,
        &named(&["memory", "currentMemory"]),
        gen.children(&[], &named(&["memory", "currentMemory"])),
        &[("type", Some("kvm"))],
    );
    p.merge(
        "",
        Some(root),
        root,
        &named(&["vcpu", "vcpus"]),
        gen.children(&[], &named(&["vcpu"])),
        &[],
    );
    if add_iothread {
        p.merge(
            "",
            Some(root),
            root,
            &named(&["iothreads"]),
            gen.children(&[], &named(&["iothreads"])),
            &[],
        );
    }

    // Pinning, scheduling, memory placement and backing.
    for (name, owned) in [
        ("memtune", &["hard_limit", "swap_hard_limit"][..]),
        ("memoryBacking", &["hugepages", "locked", "nosharepages"]),
        (
            "cputune",
            &["vcpupin", "emulatorpin", "iothreadpin", "vcpusched"],
        ),
        ("numatune", &["memory", "memnode"]),
    ] {
        let mut written = gen.children(&[name], &all);
        if let Some(at) = written.iter().position(|f| f.name == "iothreadpin") {
            let pin = written.remove(at);
            let each: Vec<Fresh> = iothread_ids
                .iter()
                .map(|id| pin.with_attribute("iothread", &id.to_string()))
                .collect();
            written.splice(at..at, each);
        }
        if name == "memtune" && written.is_empty() {
            continue;
        }
        // Cache and memory bandwidth allocations of vCPUs the guest no longer has go (libvirt would
        // drop them without a word).
        let gone_vcpus = |e: &Element| {
            matches!(e.name, "cachetune" | "memorytune")
                && e.attr("vcpus")
                    .and_then(|v| crate::existing::parse_libvirt_cpuset(v).ok())
                    .is_some_and(|set| set.iter().any(|v| v >= g.vcpus))
        };
        p.merge(
            name,
            root.child(name),
            root,
            &|e| owned.contains(&e.name) || (name == "cputune" && gone_vcpus(e)),
            written,
            &[],
        );
    }

    // Hypervisor features.
    let features = root.child("features");
    let kvm = features.and_then(|f| f.child("kvm"));
    let mut feature_children = gen.children(&["features"], &named(&["pmu"]));
    let hint = gen.children(&["features", "kvm"], &all);
    match kvm {
        Some(kvm) if !hint.is_empty() => p.merge(
            "features/kvm",
            Some(kvm),
            root,
            &named(&["hint-dedicated"]),
            hint,
            &[],
        ),
        _ => feature_children.extend(gen.children(&["features"], &named(&["kvm"]))),
    }
    p.merge(
        "features",
        features,
        root,
        &named(&["pmu"]),
        feature_children,
        &[],
    );

    // The guest CPU.
    let cpu = root.child("cpu");
    let passthrough = cpu.and_then(|c| c.attr("mode")) == Some("host-passthrough");
    let resized = old_vcpus != Some(g.vcpus) || old_memory != Some(g.memory_kib);
    let numa = cpu.and_then(|c| c.child("numa"));
    // QEMU backs each guest node with whole pages, rounding it up: a cell of 1.5 GiB on 1 GiB pages
    // takes two, more than the plan reserves.
    let split_pages = numa.is_some_and(|n| {
        n.children_named("cell").any(|c| {
            c.attr("memory")
                .and_then(|m| crate::existing::libvirt_kib(m, c.attr("unit")))
                .is_some_and(|kib| kib % g.page_size_kib.max(1) != 0)
        })
    });
    if let (Some(numa), true) = (numa, resized || split_pages) {
        // Hot-plugged DIMMs count in <memory>; the cells hold the rest.
        let dimms: u64 = root
            .child("devices")
            .into_iter()
            .flat_map(|d| d.children_named("memory"))
            .filter_map(|m| {
                let size = m.at(&["target", "size"])?;
                crate::existing::libvirt_kib(size.trimmed(), size.attr("unit"))
            })
            .sum();
        let cells: Vec<&Element> = numa.children_named("cell").collect();
        p.reshape_cells(
            &cells,
            g.vcpus,
            g.memory_kib.saturating_sub(dimms),
            g.page_size_kib,
        );
    }
    let mut cpu_attrs = vec![
        ("mode", Some("host-passthrough")),
        ("migratable", Some("off")),
    ];
    if !passthrough {
        cpu_attrs.extend([("match", None), ("check", None)]);
    }
    p.merge(
        "cpu",
        cpu,
        root,
        &|e| match e.name {
            "topology" => true,
            "feature" => e.attr("name") == Some("tsc-deadline"),
            "model" | "vendor" => !passthrough,
            _ => false,
        },
        gen.children(&["cpu"], &all),
        &cpu_attrs,
    );

    // Timers (x86, from recipe 2 on).
    let timers = gen.children(&["clock"], &all);
    if !timers.is_empty() {
        p.merge(
            "clock",
            root.child("clock"),
            root,
            &|e| e.name == "timer" && matches!(e.attr("name"), Some("pit" | "rtc" | "hpet")),
            timers,
            if root.child("clock").is_some() {
                &[]
            } else {
                &[("offset", Some("utc"))]
            },
        );
    }

    // Devices.
    if let Some(devices) = root.child("devices") {
        let keep_usb = devices.children.iter().any(needs_usb);
        let written = gen.children(&["devices"], &|e| match e.name {
            "controller" => !keep_usb,
            "memballoon" => true,
            _ => false,
        });
        p.merge(
            "devices",
            Some(devices),
            root,
            &|e| match e.name {
                "memballoon" | "sound" | "audio" | "graphics" => true,
                "controller" => e.attr("type") == Some("usb") && !keep_usb,
                "input" => {
                    e.attr("type") == Some("tablet") || (e.attr("bus") == Some("usb") && !keep_usb)
                }
                // Spice's own channels go with its graphics: libvirt refuses them without.
                "redirdev" | "channel" | "smartcard" | "serial" | "parallel" | "console" => {
                    matches!(e.attr("type"), Some("spicevmc" | "spiceport"))
                }
                _ => false,
            },
            written,
            &[],
        );
    }
    p.finish()
}

/// Returns whether KVM on a host of libvirt architecture `host` runs a guest of architecture
/// `guest`: the same, a 32-bit x86 guest on x86_64, or POWER of either byte order.
fn runs_on(guest: &str, host: &str) -> bool {
    guest == host
        || matches!(
            (guest, host),
            ("i686", "x86_64") | ("ppc64", "ppc64le") | ("ppc64le", "ppc64")
        )
}

/// Which guest settings the user gave; the others come from the domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Given {
    /// `--vcpus`.
    pub vcpus: bool,
    /// `--memory`.
    pub memory: bool,
    /// `--node`.
    pub node: bool,
    /// `--rt-vcpus`, `--scheduler` or `--priority`.
    pub realtime: bool,
}

/// Completes the settings for patching an existing domain: its name always, and where the user gave
/// none, its vCPU count, its memory (rounded up to whole huge pages of the size the host's partition
/// uses) and the host node its memory is bound to. Returns a note for each value it had to change.
pub fn settings_for_domain(
    facts: &crate::existing::DomainFacts,
    host: &Host,
    settings: &mut crate::Settings,
    given: Given,
) -> Result<Vec<String>, crate::Error> {
    if let (Some(guest), Some(arch)) = (facts.arch.as_deref(), host.libvirt_arch()) {
        if !runs_on(guest, arch) {
            return Err(crate::Error::Invalid(format!(
                "this domain's architecture is {guest} (<os><type arch='{guest}'>), the host's in the capabilities is {arch}: check and patch a domain with the capabilities of the host it runs on"
            )));
        }
    }
    let mut notes = Vec::new();
    settings.guest.name = facts.name.clone();
    if !given.vcpus {
        settings.guest.vcpus = facts.vcpus;
    }
    if !given.node && facts.node.is_some_and(|n| host.cell(n).is_some()) {
        settings.guest.node = facts.node;
    }
    if !given.node && !given.vcpus {
        if let Some((keep, node, emulator)) = placed_for_real_time(facts, host, settings)? {
            notes.push(format!(
                "kept where it runs, as real time needs: vCPUs on host CPUs {} of node {node}, emulator threads on {} ({}); --node or --vcpus moves it",
                keep.vcpupin.iter().copied().collect::<crate::CpuSet>(),
                keep.emulatorpin,
                match emulator {
                    crate::settings::EmulatorPolicy::Share => "the node's housekeeping CPUs",
                    crate::settings::EmulatorPolicy::Isolate => "an isolated core of their own",
                }
            ));
            settings.guest.node = Some(node);
            settings.guest.emulator = emulator;
            settings.guest.keep = Some(keep);
        }
    }
    // The real-time scheduling the domain gives its vCPUs stays, while their count does.
    if let (Some(sched), false, false) = (&facts.vcpusched, given.realtime, given.vcpus) {
        let g = &mut settings.guest;
        let same = g.rt_vcpus.resolve(g.vcpus) == sched.vcpus
            && g.scheduler == sched.scheduler
            && g.priority == sched.priority;
        if !same {
            notes.push(format!(
                "kept its vCPUs' real-time scheduling: {} priority {} on vCPUs {}; --rt-vcpus, --scheduler or --priority changes it",
                crate::settings::Named::as_str(sched.scheduler),
                sched.priority,
                sched.vcpus
            ));
            g.rt_vcpus = crate::settings::RtVcpus::List(sched.vcpus.clone());
            g.scheduler = sched.scheduler;
            g.priority = sched.priority;
        }
    }
    if !given.memory {
        if let Some(kib) = facts.memory_kib.filter(|&k| k > 0) {
            settings.guest.memory = crate::units::Kib(kib);
            let page = crate::plan::partition(host, settings)?.host.page_size_kib;
            let rounded = kib.div_ceil(page) * page;
            if rounded != kib {
                notes.push(format!(
                    "memory rounded up from {} to {}, a whole number of {} pages",
                    crate::units::format_kib(kib),
                    crate::units::format_kib(rounded),
                    crate::units::format_kib(page)
                ));
            }
            settings.guest.memory = crate::units::Kib(rounded);
        }
    }
    Ok(notes)
}

/// Returns where a domain runs when it is already placed as real time needs on this host's
/// partition, with its node and emulator policy: every vCPU pinned to one isolated CPU of its own
/// core, all on one node, and the emulator threads on that node's housekeeping CPUs or alone on one
/// isolated core no vCPU uses (what `--emulator share` and `isolate` write). `None` otherwise.
fn placed_for_real_time(
    facts: &crate::existing::DomainFacts,
    host: &Host,
    settings: &crate::Settings,
) -> Result<
    Option<(
        crate::settings::Placement,
        u32,
        crate::settings::EmulatorPolicy,
    )>,
    crate::Error,
> {
    use crate::settings::{EmulatorPolicy, Placement};
    let Some(emulatorpin) = facts.emulatorpin.clone() else {
        return Ok(None);
    };
    let mut vcpupin = Vec::with_capacity(facts.vcpupin.len());
    for pin in &facts.vcpupin {
        match pin {
            Some(set) if set.len() == 1 => vcpupin.push(set.first().expect("one CPU")),
            _ => return Ok(None),
        }
    }
    let part = crate::plan::partition(host, settings)?.host;
    let Some(cell) = host.cells.iter().find(|c| {
        vcpupin
            .first()
            .is_some_and(|&cpu| c.cpus.iter().any(|x| x.id == cpu))
    }) else {
        return Ok(None);
    };
    let Some(node) = part.nodes.iter().find(|n| n.node == cell.id) else {
        return Ok(None);
    };
    // One isolated core of the node per vCPU, no core twice.
    let cores = cell.isolated_cores(&node.isolated);
    let core_of = |cpu: u32| cores.iter().position(|c| c.cpus.contains(cpu));
    let mut used = Vec::new();
    for &cpu in &vcpupin {
        match core_of(cpu) {
            Some(core) if !used.contains(&core) => used.push(core),
            _ => return Ok(None),
        }
    }
    let emulator = if emulatorpin.is_subset(&node.housekeeping) {
        EmulatorPolicy::Share
    } else {
        match cores
            .iter()
            .position(|c| emulatorpin.is_subset(&c.cpus))
            .filter(|core| !used.contains(core))
        {
            Some(_) => EmulatorPolicy::Isolate,
            None => return Ok(None),
        }
    };
    Ok(Some((
        Placement {
            vcpupin,
            emulatorpin,
        },
        cell.id,
        emulator,
    )))
}
