//! Reading `virsh capabilities` XML into a [`Host`]. One of the two modules that know XML.
//!
//! One streaming pass with quick-xml's pull reader finds broken XML (with line and column), refuses
//! DTDs, unknown entities and absurd nesting, recognises documents that are not capabilities, and
//! collects the elements we use into raw structs that borrow from the input (everything else is
//! skipped); the raw structs are then converted into the validated host model. serde deserialization
//! was the first design and cost three quarters of the parse time (see BENCHMARKS.md).

use quick_xml::events::attributes::Attributes;
use quick_xml::events::Event;
use quick_xml::Reader;
use std::borrow::Cow;

use crate::cpuset::CpuSet;
use crate::error::{Error, Position};
use crate::host::{Cell, Cpu, Distance, Host, PagePool};

/// The largest input accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// The deepest element nesting accepted; real capabilities nest about 8 levels.
pub const MAX_DEPTH: usize = 64;

/// Reads raw bytes (a file or a paste), checking the encoding first, then parses them.
pub fn parse_capabilities_bytes(bytes: &[u8]) -> Result<Host, Error> {
    parse_capabilities(decode(bytes)?)
}

/// Checks that raw bytes are at most [`MAX_INPUT_BYTES`] of UTF-8 text, naming the first bad byte.
pub fn decode(bytes: &[u8]) -> Result<&str, Error> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(Error::InputTooLarge { bytes: bytes.len() });
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Error::NotText {
            reason:
                "it is UTF-16 encoded; save it as UTF-8 (for example `iconv -f UTF-16 -t UTF-8`)"
                    .into(),
        });
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let position = Position::from_offset(
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
            e.valid_up_to(),
        );
        Error::NotText {
            reason: format!("it is not valid UTF-8 (first bad byte at {position})"),
        }
    })
}

/// Parses the text printed by `virsh capabilities` into a validated [`Host`].
pub fn parse_capabilities(text: &str) -> Result<Host, Error> {
    let text = prepare(text, Error::EmptyInput, &not_xml_hint)?;
    read(text)?.into_host()
}

/// Checks what every pasted document must be before it is parsed: at most [`MAX_INPUT_BYTES`], not
/// empty (`empty` otherwise), no NUL, starting with `<` (`not_xml` explains it otherwise). Returns
/// the text without a leading byte order mark.
pub(crate) fn prepare<'a>(
    text: &'a str,
    empty: Error,
    not_xml: &dyn Fn(&str) -> Error,
) -> Result<&'a str, Error> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Error::InputTooLarge { bytes: text.len() });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(empty);
    }
    if let Some(offset) = text.find('\0') {
        let reason = if text.as_bytes().iter().take(64).filter(|&&b| b == 0).count() > 8 {
            "it looks like UTF-16 text or binary data; save it as UTF-8".to_string()
        } else {
            format!(
                "it contains a NUL byte at {}",
                Position::from_offset(text, offset)
            )
        };
        return Err(Error::NotText { reason });
    }
    if !text.trim_start().starts_with('<') {
        return Err(not_xml(text));
    }
    Ok(text)
}

/// Explains input that does not even start like XML.
fn not_xml_hint(text: &str) -> Error {
    let start = text.trim_start();
    if let Some(root) = text.find("<capabilities") {
        let first_line = start.lines().next().unwrap_or_default();
        return Error::Xml {
            position: Position::from_offset(text, text.len() - start.len()),
            message: format!(
                "there is text before <capabilities> (line {}): '{}'; paste only the output of `virsh capabilities`",
                Position::from_offset(text, root).line,
                shorten(first_line)
            ),
        };
    }
    let what = if start.starts_with('{') || start.starts_with('[') {
        "JSON"
    } else if start.starts_with("CPU model:") || start.contains("\nCPU(s):") {
        "the output of `virsh nodeinfo`"
    } else {
        "plain text"
    };
    let offset = text.len() - start.len();
    Error::Xml {
        position: Position::from_offset(text, offset),
        message: format!(
            "this looks like {what}, not XML; paste the whole output of `virsh capabilities`, which starts with <capabilities>"
        ),
    }
}

/// The elements whose content we read, by their place in the document.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tag {
    Root,
    Host,
    HostCpu,
    Arch,
    Model,
    Vendor,
    Topology,
    Cells,
    Cell,
    Memory,
    CellPages,
    Distances,
    Cpus,
    /// Any element we do not read (its children are not read either).
    Other,
}

fn child(parent: Tag, name: &str) -> Tag {
    match (parent, name) {
        (Tag::Root, "host") => Tag::Host,
        (Tag::Host, "cpu") => Tag::HostCpu,
        (Tag::Host, "topology") => Tag::Topology,
        (Tag::HostCpu, "arch") => Tag::Arch,
        (Tag::HostCpu, "model") => Tag::Model,
        (Tag::HostCpu, "vendor") => Tag::Vendor,
        (Tag::Topology, "cells") => Tag::Cells,
        (Tag::Cells, "cell") => Tag::Cell,
        (Tag::Cell, "memory") => Tag::Memory,
        (Tag::Cell, "pages") => Tag::CellPages,
        (Tag::Cell, "distances") => Tag::Distances,
        (Tag::Cell, "cpus") => Tag::Cpus,
        _ => Tag::Other,
    }
}

/// Reads the document in one streaming pass with quick-xml's pull reader: checks that it is
/// well-formed (reporting line and column), refuses DTDs, unknown entities and absurd nesting,
/// recognises documents that are not capabilities, and collects the elements planning needs into the
/// raw structs. Everything else is skipped.
fn read(text: &str) -> Result<RawCapabilities<'_>, Error> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = false;
    let mut stack: Vec<Tag> = Vec::with_capacity(16);
    let mut roots = 0usize;
    let mut raw = RawCapabilities::default();
    let at = |offset: u64| Position::from_offset(text, offset as usize);
    loop {
        let before = reader.buffer_position();
        let event = reader.read_event().map_err(|e| Error::Xml {
            position: at(reader.error_position()),
            message: describe_xml_error(&e),
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name();
                let name: &str = name.as_ref();
                let tag = match stack.last() {
                    None => {
                        roots += 1;
                        if roots > 1 {
                            return Err(Error::Xml {
                                position: at(before),
                                message: "a second document starts here; paste the output of one `virsh capabilities` only".into(),
                            });
                        }
                        check_root(name)?;
                        Tag::Root
                    }
                    Some(&parent) => child(parent, name),
                };
                let parent = stack.last().copied();
                if tag != Tag::Other
                    || matches!(parent, Some(Tag::HostCpu | Tag::Distances | Tag::Cpus))
                {
                    // The tag's own text in the input, so that attribute values borrow from it.
                    let source = &text[before as usize..reader.buffer_position() as usize];
                    let inner = source
                        .strip_prefix('<')
                        .and_then(|s| s.strip_suffix('>'))
                        .map(|s| s.strip_suffix('/').unwrap_or(s))
                        .unwrap_or_default();
                    let mut attributes = Attributes::new(inner, e.name().as_ref().len());
                    // Repeated attributes we read are caught in `collect`; the library's general
                    // check costs a tenth of the whole parse.
                    attributes.with_checks(false);
                    collect(&mut raw, tag, parent, name, attributes, &|| at(before))?;
                }
                if matches!(event, Event::Start(_)) {
                    if stack.len() >= MAX_DEPTH {
                        return Err(Error::Xml {
                            position: at(before),
                            message: format!(
                                "elements are nested more than {MAX_DEPTH} levels deep; `virsh capabilities` nests about 8"
                            ),
                        });
                    }
                    stack.push(tag);
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::DocType(ref d) => {
                let declared: &str = d.as_ref();
                if declared
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("html")
                {
                    return Err(Error::WrongDocument {
                        what: "an HTML page".into(),
                        hint: "; paste the output of `virsh capabilities` run on the host".into(),
                    });
                }
                return Err(Error::Dtd {
                    position: at(before),
                });
            }
            Event::GeneralRef(ref r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .ok()
                        .flatten()
                        .ok_or_else(|| Error::Xml {
                            position: at(before),
                            message: format!("invalid character reference '&{};'", &**r),
                        })?
                } else {
                    match &**r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => {
                            return Err(Error::Xml {
                                position: at(before),
                                message: format!(
                                    "unknown entity '&{other};' (only the five predefined XML entities are allowed)"
                                ),
                            })
                        }
                    }
                };
                if let Some(target) = text_target(&mut raw, stack.last().copied()) {
                    target.to_mut().push(resolved);
                }
            }
            Event::Text(t) => {
                let content = t.into_inner();
                if stack.is_empty() {
                    if !content.trim().is_empty() {
                        let lead = content.len() - content.trim_start().len();
                        return Err(Error::Xml {
                            position: at(before + lead as u64),
                            message: format!(
                                "text outside the root element: '{}'",
                                shorten(content.trim())
                            ),
                        });
                    }
                } else if let Some(target) = text_target(&mut raw, stack.last().copied()) {
                    if target.is_empty() {
                        *target = content;
                    } else {
                        target.to_mut().push_str(&content);
                    }
                }
            }
            Event::CData(c) => {
                if let Some(target) = text_target(&mut raw, stack.last().copied()) {
                    target.to_mut().push_str(&c.into_inner());
                }
            }
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(Error::Xml {
                        position: at(text.len() as u64),
                        message: "the document ends before its elements are closed; the paste was probably cut off".into(),
                    });
                }
                if roots == 0 {
                    return Err(Error::Xml {
                        position: at(text.len() as u64),
                        message: "there is no element in the input".into(),
                    });
                }
                return Ok(raw);
            }
            _ => {}
        }
    }
}

/// Returns the string that the text of the current element goes into, if we read it.
fn text_target<'r, 'a>(
    raw: &'r mut RawCapabilities<'a>,
    tag: Option<Tag>,
) -> Option<&'r mut Cow<'a, str>> {
    match tag? {
        Tag::Arch => raw.cpu.as_mut()?.arch.as_mut(),
        Tag::Model => raw.cpu.as_mut()?.model.as_mut(),
        Tag::Vendor => raw.cpu.as_mut()?.vendor.as_mut(),
        Tag::Memory => raw.cells.last_mut()?.memory.as_mut().map(|m| &mut m.value),
        Tag::CellPages => raw.cells.last_mut()?.pages.last_mut().map(|p| &mut p.count),
        _ => None,
    }
}

/// Collects the attributes of an element we read.
fn collect<'a>(
    raw: &mut RawCapabilities<'a>,
    tag: Tag,
    parent: Option<Tag>,
    name: &str,
    attributes: Attributes<'a>,
    position: &dyn Fn() -> Position,
) -> Result<(), Error> {
    // The attributes we read, by slot: no element we read has two attributes of one slot
    // (`<cpu id socket_id die_id cluster_id core_id siblings>`, `<cell id>`, `<pages size unit>`,
    // `<memory unit>`, `<sibling id value>`, `<feature name>`).
    let mut values: [Option<Cow<'a, str>>; 6] = Default::default();
    for attr in attributes {
        let attr = attr.map_err(|e| Error::Xml {
            position: position(),
            message: format!("a malformed attribute: {e}"),
        })?;
        let key: &str = attr.key.as_ref();
        let slot = match key {
            "id" | "size" | "name" => 0,
            "socket_id" | "unit" | "value" => 1,
            "die_id" => 2,
            "cluster_id" => 3,
            "core_id" => 4,
            "siblings" => 5,
            _ => continue,
        };
        if values[slot].is_some() {
            return Err(Error::Xml {
                position: position(),
                message: format!("the attribute '{key}' is repeated"),
            });
        }
        // Values without references or whitespace to normalise are used as they are.
        let value = match attr.value {
            Cow::Borrowed(raw) if !raw.contains(['&', '\t', '\n', '\r']) => Cow::Borrowed(raw),
            _ => attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| Error::Xml {
                    position: position(),
                    message: describe_xml_error(&e),
                })?,
        };
        values[slot] = Some(value);
    }
    let [first, second, die, cluster, core, siblings] = values;
    match (tag, name) {
        (Tag::Other, _) if parent.is_none() => {}
        (Tag::Host, _) => raw.host = true,
        (Tag::HostCpu, _) => {
            raw.cpu.get_or_insert_with(RawHostCpu::default);
        }
        (Tag::Arch, _) => {
            raw.cpu.get_or_insert_with(RawHostCpu::default).arch = Some(Cow::Borrowed(""))
        }
        (Tag::Model, _) => {
            raw.cpu.get_or_insert_with(RawHostCpu::default).model = Some(Cow::Borrowed(""))
        }
        (Tag::Vendor, _) => {
            raw.cpu.get_or_insert_with(RawHostCpu::default).vendor = Some(Cow::Borrowed(""))
        }
        (Tag::Other, "feature") if parent == Some(Tag::HostCpu) => {
            if let (Some(cpu), Some(name)) = (raw.cpu.as_mut(), first) {
                cpu.features.push(name);
            }
        }
        (Tag::Other, "pages") if parent == Some(Tag::HostCpu) => {
            if let Some(cpu) = raw.cpu.as_mut() {
                cpu.pages.push(RawPageSize {
                    size: first,
                    unit: second,
                });
            }
        }
        (Tag::Cell, _) => raw.cells.push(RawCell {
            id: first,
            ..RawCell::default()
        }),
        (Tag::Memory, _) => {
            if let Some(cell) = raw.cells.last_mut() {
                cell.memory = Some(RawAmount {
                    unit: second,
                    value: Cow::Borrowed(""),
                });
            }
        }
        (Tag::CellPages, _) => {
            if let Some(cell) = raw.cells.last_mut() {
                cell.pages.push(RawPages {
                    unit: second,
                    size: first,
                    count: Cow::Borrowed(""),
                });
            }
        }
        (Tag::Other, "sibling") if parent == Some(Tag::Distances) => {
            if let Some(cell) = raw.cells.last_mut() {
                cell.distances.push(RawDistance {
                    id: first,
                    value: second,
                });
            }
        }
        (Tag::Other, "cpu") if parent == Some(Tag::Cpus) => {
            if let Some(cell) = raw.cells.last_mut() {
                cell.cpus.push(RawCpu {
                    id: first,
                    socket_id: second,
                    die_id: die,
                    cluster_id: cluster,
                    core_id: core,
                    siblings,
                });
            }
        }
        _ => {}
    }
    Ok(())
}

pub(crate) fn describe_xml_error(e: &quick_xml::Error) -> String {
    use quick_xml::errors::{IllFormedError, SyntaxError};
    match e {
        quick_xml::Error::Syntax(SyntaxError::UnclosedTag) => {
            "a tag is not closed; the paste was probably cut off".into()
        }
        quick_xml::Error::Syntax(s) => format!("{s}; the paste may be cut off or not XML"),
        quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            format!("the closing tag </{found}> does not match the open <{expected}>")
        }
        quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(name)) => {
            format!("the closing tag </{name}> has no matching opening tag")
        }
        // Each kind on its own, so that std's I/O messages (reading from memory cannot fail) stay out
        // of the site.
        quick_xml::Error::Io(_) => "the input could not be read".into(),
        quick_xml::Error::IllFormed(e) => e.to_string(),
        quick_xml::Error::InvalidAttr(e) => e.to_string(),
        quick_xml::Error::Encoding(e) => e.to_string(),
        quick_xml::Error::Escape(e) => e.to_string(),
        quick_xml::Error::Namespace(e) => e.to_string(),
    }
}

pub(crate) fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 40 {
        format!("{}…", line.chars().take(40).collect::<String>())
    } else {
        line.to_string()
    }
}

fn check_root(name: &str) -> Result<(), Error> {
    let (what, hint) = match name {
        "capabilities" => return Ok(()),
        "domainCapabilities" => (
            "the output of `virsh domcapabilities`",
            "; run `virsh capabilities` (without `dom`) on the host",
        ),
        "domain" => (
            "a domain XML",
            "; rtkvm writes the domain XML for you from the host's `virsh capabilities`",
        ),
        "html" | "HTML" => (
            "an HTML page",
            "; paste the output of `virsh capabilities` run on the host",
        ),
        "network" | "pool" | "volume" | "nodedev" | "device" | "secret" => (
            "another libvirt XML document",
            "; paste the output of `virsh capabilities`",
        ),
        _ => {
            return Err(Error::WrongDocument {
                what: format!("an XML document whose root is <{}>", shorten(name)),
                hint: "; its root must be <capabilities>".into(),
            })
        }
    };
    Err(Error::WrongDocument {
        what: what.into(),
        hint: hint.into(),
    })
}

/// Returns the `<pages>` line `virsh capabilities` prints for a node holding `count` pages of `size_kib`,
/// in virsh's own quoting, so that it can be compared with `grep`.
pub fn expected_pages_line(size_kib: u64, count: u64) -> String {
    // Two numbers and fixed text: nothing here needs escaping.
    format!("<pages unit='KiB' size='{size_kib}'>{count}</pages>")
}

#[derive(Default)]
struct RawCapabilities<'a> {
    host: bool,
    cpu: Option<RawHostCpu<'a>>,
    cells: Vec<RawCell<'a>>,
}

#[derive(Default)]
struct RawHostCpu<'a> {
    arch: Option<Cow<'a, str>>,
    model: Option<Cow<'a, str>>,
    vendor: Option<Cow<'a, str>>,
    features: Vec<Cow<'a, str>>,
    pages: Vec<RawPageSize<'a>>,
}

struct RawPageSize<'a> {
    size: Option<Cow<'a, str>>,
    unit: Option<Cow<'a, str>>,
}

#[derive(Default)]
struct RawCell<'a> {
    id: Option<Cow<'a, str>>,
    memory: Option<RawAmount<'a>>,
    pages: Vec<RawPages<'a>>,
    distances: Vec<RawDistance<'a>>,
    cpus: Vec<RawCpu<'a>>,
}

struct RawAmount<'a> {
    unit: Option<Cow<'a, str>>,
    value: Cow<'a, str>,
}

struct RawPages<'a> {
    unit: Option<Cow<'a, str>>,
    size: Option<Cow<'a, str>>,
    count: Cow<'a, str>,
}

struct RawDistance<'a> {
    id: Option<Cow<'a, str>>,
    value: Option<Cow<'a, str>>,
}

struct RawCpu<'a> {
    id: Option<Cow<'a, str>>,
    socket_id: Option<Cow<'a, str>>,
    die_id: Option<Cow<'a, str>>,
    cluster_id: Option<Cow<'a, str>>,
    core_id: Option<Cow<'a, str>>,
    siblings: Option<Cow<'a, str>>,
}

/// Reads a non-negative integer attribute or text, naming it in the error.
fn number<T: TryFrom<u64>>(value: &str, what: impl Fn() -> String) -> Result<T, Error> {
    // The common case, a short run of digits, without the checks below.
    if !value.is_empty() && value.len() <= 18 && value.bytes().all(|b| b.is_ascii_digit()) {
        let n = value
            .bytes()
            .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
        if let Ok(n) = T::try_from(n) {
            return Ok(n);
        }
    }
    let trimmed = value.trim();
    let bad = |why: &str| Error::Invalid(format!("{} is '{}', {why}", what(), shorten(trimmed)));
    if trimmed.is_empty() {
        return Err(Error::Invalid(format!("{} is empty", what())));
    }
    if trimmed.starts_with('-') && trimmed[1..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("which is negative"));
    }
    if !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("which is not a whole number"));
    }
    trimmed
        .parse::<u64>()
        .ok()
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| bad("which is too large"))
}

fn required<'v>(
    value: &'v Option<Cow<'_, str>>,
    what: impl Fn() -> String,
) -> Result<&'v str, Error> {
    value
        .as_deref()
        .ok_or_else(|| Error::Invalid(format!("{} is missing", what())))
}

/// Converts an amount in `unit` to KiB.
fn to_kib(amount: u64, unit: Option<&str>, what: &dyn Fn() -> String) -> Result<u64, Error> {
    let multiplier_bytes: u64 = match unit.map(str::trim).unwrap_or("KiB") {
        "b" | "bytes" => return Ok(amount / 1024),
        "KiB" | "k" | "K" | "KB" => 1,
        "MiB" | "M" | "MB" => 1024,
        "GiB" | "G" | "GB" => 1024 * 1024,
        "TiB" | "T" | "TB" => 1024 * 1024 * 1024,
        other => {
            return Err(Error::Invalid(format!(
                "{} has the unknown unit '{}'",
                what(),
                shorten(other)
            )))
        }
    };
    amount
        .checked_mul(multiplier_bytes)
        .ok_or_else(|| Error::Invalid(format!("{} is too large", what())))
}

impl RawCapabilities<'_> {
    fn into_host(self) -> Result<Host, Error> {
        if !self.host {
            return Err(Error::NoHost);
        }
        let cpu = self.cpu;
        let cells = self.cells;
        if cells.is_empty() {
            return Err(Error::NoTopology);
        }
        let mut page_sizes_kib = Vec::new();
        let mut features = Vec::new();
        let (mut arch, mut vendor, mut model) = (None, None, None);
        if let Some(cpu) = cpu {
            for page in &cpu.pages {
                let what = || "the size of a page listed under <host><cpu>".to_string();
                let size: u64 = number(required(&page.size, what)?, what)?;
                page_sizes_kib.push(to_kib(size, page.unit.as_deref(), &what)?);
            }
            features = cpu.features.into_iter().map(Cow::into_owned).collect();
            let clean =
                |s: Option<Cow<'_, str>>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            arch = clean(cpu.arch);
            vendor = clean(cpu.vendor);
            model = clean(cpu.model);
        }
        let cells = cells
            .into_iter()
            .map(RawCell::into_cell)
            .collect::<Result<Vec<_>, _>>()?;
        Host {
            arch,
            vendor,
            model,
            features,
            page_sizes_kib,
            cells,
        }
        .validated()
    }
}

impl RawCell<'_> {
    fn into_cell(self) -> Result<Cell, Error> {
        let id: u32 = number(required(&self.id, || "a NUMA cell's id".into())?, || {
            "a NUMA cell's id".into()
        })?;
        let cell_what = |part: &str| format!("the {part} of NUMA cell {id}");
        let memory_kib = match &self.memory {
            Some(m) => {
                let what = || cell_what("memory");
                Some(to_kib(number(&m.value, what)?, m.unit.as_deref(), &what)?)
            }
            None => None,
        };
        let mut pages = Vec::new();
        for p in &self.pages {
            let what = || cell_what("page size");
            let size = to_kib(
                number(required(&p.size, what)?, what)?,
                p.unit.as_deref(),
                &what,
            )?;
            let count = number(&p.count, || cell_what("page count"))?;
            pages.push(PagePool {
                size_kib: size,
                count,
            });
        }
        let mut distances = Vec::new();
        for d in &self.distances {
            let what = || cell_what("distances");
            distances.push(Distance {
                node: number(required(&d.id, what)?, what)?,
                value: number(required(&d.value, what)?, what)?,
            });
        }
        let mut cpus = Vec::with_capacity(self.cpus.len());
        let mut offline_cpus = Vec::new();
        for raw in &self.cpus {
            let cpu_id: u32 = number(
                required(&raw.id, || format!("the id of a CPU in NUMA cell {id}"))?,
                || format!("the id of a CPU in NUMA cell {id}"),
            )?;
            if cpu_id > crate::cpuset::MAX_CPU_ID {
                return Err(Error::Invalid(format!(
                    "CPU id {cpu_id} is larger than the largest supported id ({})",
                    crate::cpuset::MAX_CPU_ID
                )));
            }
            let attr = |name: &str| format!("the {name} of CPU {cpu_id}");
            match (&raw.socket_id, &raw.core_id, &raw.siblings) {
                (None, None, None) => offline_cpus.push(cpu_id),
                (Some(socket), Some(core), Some(siblings)) => {
                    let siblings: CpuSet = siblings.parse().map_err(|source| Error::CpuList {
                        what: attr("siblings"),
                        source,
                    })?;
                    let optional = |value: &Option<Cow<'_, str>>, name: &str| {
                        value
                            .as_deref()
                            .map(|v| number::<u32>(v, || attr(name)))
                            .transpose()
                    };
                    cpus.push(Cpu {
                        id: cpu_id,
                        socket: number(socket, || attr("socket_id"))?,
                        die: optional(&raw.die_id, "die_id")?,
                        cluster: optional(&raw.cluster_id, "cluster_id")?,
                        core: number(core, || attr("core_id"))?,
                        siblings,
                    });
                }
                _ => {
                    return Err(Error::Invalid(format!(
                        "CPU {cpu_id} has only some of socket_id, core_id and siblings; libvirt prints all three or none"
                    )))
                }
            }
        }
        Ok(Cell {
            id,
            memory_kib,
            pages,
            distances,
            cpus,
            offline_cpus,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_capabilities(text).unwrap_err().to_string()
    }

    #[test]
    fn reports_line_and_column_of_broken_xml() {
        let msg = err("<capabilities>\n  <host>\n    <cpu></host>\n</capabilities>");
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("</host>"), "{msg}");
    }

    #[test]
    fn refuses_dtds_and_entities() {
        let msg = err("<?xml version='1.0'?>\n<!DOCTYPE x [<!ENTITY a 'b'>]>\n<capabilities/>");
        assert!(msg.contains("DTD at line 2, column 1"), "{msg}");
        let msg = err("<capabilities>&a;</capabilities>");
        assert!(msg.contains("unknown entity '&a;'"), "{msg}");
    }

    #[test]
    fn names_the_wrong_document() {
        assert!(err("<domainCapabilities/>").contains("virsh domcapabilities"));
        assert!(err("<domain type='kvm'/>").contains("a domain XML"));
        assert!(err("{\"a\": 1}").contains("JSON"));
    }

    #[test]
    fn explains_missing_topology() {
        assert_eq!(
            parse_capabilities(
                "<capabilities><host><cpu><arch>x86_64</arch></cpu></host></capabilities>"
            ),
            Err(Error::NoTopology)
        );
        assert_eq!(
            parse_capabilities("<capabilities><guest/></capabilities>"),
            Err(Error::NoHost)
        );
    }

    #[test]
    fn reads_numbers_strictly() {
        let doc = |id: &str| {
            format!("<capabilities><host><topology><cells num='1'><cell id='0'><cpus num='1'><cpu id='{id}' socket_id='0' core_id='0' siblings='0'/></cpus></cell></cells></topology></host></capabilities>")
        };
        assert!(err(&doc("-1")).contains("negative"));
        assert!(err(&doc("x")).contains("not a whole number"));
        assert!(err(&doc("99999999999999999999999")).contains("too large"));
        assert!(parse_capabilities(&doc("0")).is_ok());
    }
}
