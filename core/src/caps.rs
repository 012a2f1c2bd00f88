//! Reading `virsh capabilities` XML into a [`Host`]. One of the two modules that know XML.
//!
//! Two passes: a streaming check with quick-xml's reader that finds broken XML (with line and column),
//! refuses DTDs, unknown entities and absurd nesting, and recognises documents that are not capabilities;
//! then serde deserialization into raw structs that mirror the elements we use (everything else is
//! ignored), converted into the validated host model.

use quick_xml::events::Event;
use quick_xml::Reader;
use serde::Deserialize;

use crate::cpuset::CpuSet;
use crate::error::{Error, Position};
use crate::host::{Cell, Cpu, Distance, Host, PagePool};

/// The largest input accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// The deepest element nesting accepted; real capabilities nest about 8 levels.
pub const MAX_DEPTH: usize = 64;

/// Reads raw bytes (a file or a paste), checking the encoding first, then parses them.
pub fn parse_capabilities_bytes(bytes: &[u8]) -> Result<Host, Error> {
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
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_capabilities(text),
        Err(e) => {
            let position = Position::from_offset(
                std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
                e.valid_up_to(),
            );
            Err(Error::NotText {
                reason: format!("it is not valid UTF-8 (first bad byte at {position})"),
            })
        }
    }
}

/// Parses the text printed by `virsh capabilities` into a validated [`Host`].
pub fn parse_capabilities(text: &str) -> Result<Host, Error> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Error::InputTooLarge { bytes: text.len() });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(Error::EmptyInput);
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
        return Err(not_xml_hint(text));
    }
    scan(text)?;
    let raw: RawCapabilities = quick_xml::de::from_str(text).map_err(|e| {
        Error::Invalid(format!("the capabilities XML has an unexpected shape: {e}"))
    })?;
    raw.into_host()
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

/// The streaming well-formedness pass.
fn scan(text: &str) -> Result<(), Error> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = false;
    let mut depth = 0usize;
    let mut roots = 0usize;
    let at = |offset: u64| Position::from_offset(text, offset as usize);
    loop {
        let before = reader.buffer_position();
        let event = reader.read_event().map_err(|e| Error::Xml {
            position: at(reader.error_position()),
            message: describe_xml_error(&e),
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if depth == 0 {
                    roots += 1;
                    if roots > 1 {
                        return Err(Error::Xml {
                            position: at(before),
                            message: "a second document starts here; paste the output of one `virsh capabilities` only".into(),
                        });
                    }
                    check_root(e.name().as_ref())?;
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(Error::Xml {
                            position: at(before),
                            message: format!(
                                "elements are nested more than {MAX_DEPTH} levels deep; `virsh capabilities` nests about 8"
                            ),
                        });
                    }
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
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
                let known =
                    r.is_char_ref() || matches!(r.as_ref(), "amp" | "lt" | "gt" | "quot" | "apos");
                if !known {
                    return Err(Error::Xml {
                        position: at(before),
                        message: format!(
                            "unknown entity '&{};' (only the five predefined XML entities are allowed)",
                            r.as_ref() as &str
                        ),
                    });
                }
                if r.is_char_ref() && r.resolve_char_ref().ok().flatten().is_none() {
                    return Err(Error::Xml {
                        position: at(before),
                        message: format!("invalid character reference '&{};'", r.as_ref() as &str),
                    });
                }
            }
            Event::Text(ref t) if depth == 0 => {
                let content: &str = t.as_ref();
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
            }
            Event::Eof => {
                if depth > 0 {
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
                return Ok(());
            }
            _ => {}
        }
    }
}

fn describe_xml_error(e: &quick_xml::Error) -> String {
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
        other => other.to_string(),
    }
}

fn shorten(text: &str) -> String {
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

#[derive(Deserialize)]
struct RawCapabilities {
    host: Option<RawHost>,
}

#[derive(Deserialize)]
struct RawHost {
    cpu: Option<RawHostCpu>,
    topology: Option<RawTopology>,
}

#[derive(Deserialize)]
struct RawHostCpu {
    arch: Option<String>,
    model: Option<String>,
    vendor: Option<String>,
    #[serde(default, rename = "feature")]
    features: Vec<RawFeature>,
    #[serde(default)]
    pages: Vec<RawPageSize>,
}

#[derive(Deserialize)]
struct RawFeature {
    #[serde(rename = "@name")]
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawPageSize {
    #[serde(rename = "@size")]
    size: Option<String>,
    #[serde(rename = "@unit")]
    unit: Option<String>,
}

#[derive(Deserialize)]
struct RawTopology {
    cells: Option<RawCells>,
}

#[derive(Deserialize)]
struct RawCells {
    #[serde(default, rename = "cell")]
    cells: Vec<RawCell>,
}

#[derive(Deserialize)]
struct RawCell {
    #[serde(rename = "@id")]
    id: Option<String>,
    memory: Option<RawAmount>,
    #[serde(default)]
    pages: Vec<RawPages>,
    distances: Option<RawDistances>,
    cpus: Option<RawCpus>,
}

#[derive(Deserialize)]
struct RawAmount {
    #[serde(rename = "@unit")]
    unit: Option<String>,
    #[serde(rename = "$text", default)]
    value: String,
}

#[derive(Deserialize)]
struct RawPages {
    #[serde(rename = "@unit")]
    unit: Option<String>,
    #[serde(rename = "@size")]
    size: Option<String>,
    #[serde(rename = "$text", default)]
    count: String,
}

#[derive(Deserialize)]
struct RawDistances {
    #[serde(default, rename = "sibling")]
    siblings: Vec<RawDistance>,
}

#[derive(Deserialize)]
struct RawDistance {
    #[serde(rename = "@id")]
    id: Option<String>,
    #[serde(rename = "@value")]
    value: Option<String>,
}

#[derive(Deserialize)]
struct RawCpus {
    #[serde(default, rename = "cpu")]
    cpus: Vec<RawCpu>,
}

#[derive(Deserialize)]
struct RawCpu {
    #[serde(rename = "@id")]
    id: Option<String>,
    #[serde(rename = "@socket_id")]
    socket_id: Option<String>,
    #[serde(rename = "@die_id")]
    die_id: Option<String>,
    #[serde(rename = "@cluster_id")]
    cluster_id: Option<String>,
    #[serde(rename = "@core_id")]
    core_id: Option<String>,
    #[serde(rename = "@siblings")]
    siblings: Option<String>,
}

/// Reads a non-negative integer attribute or text, naming it in the error.
fn number<T: TryFrom<u64>>(value: &str, what: impl Fn() -> String) -> Result<T, Error> {
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

fn required(value: &Option<String>, what: impl Fn() -> String) -> Result<String, Error> {
    value
        .clone()
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

impl RawCapabilities {
    fn into_host(self) -> Result<Host, Error> {
        let host = self.host.ok_or(Error::NoHost)?;
        let cpu = host.cpu;
        let cells = host
            .topology
            .and_then(|t| t.cells)
            .map(|c| c.cells)
            .unwrap_or_default();
        if cells.is_empty() {
            return Err(Error::NoTopology);
        }
        let mut page_sizes_kib = Vec::new();
        let mut features = Vec::new();
        let (mut arch, mut vendor, mut model) = (None, None, None);
        if let Some(cpu) = cpu {
            for page in &cpu.pages {
                let what = || "the size of a page listed under <host><cpu>".to_string();
                let size: u64 = number(&required(&page.size, what)?, what)?;
                page_sizes_kib.push(to_kib(size, page.unit.as_deref(), &what)?);
            }
            features = cpu.features.into_iter().filter_map(|f| f.name).collect();
            let clean =
                |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
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

impl RawCell {
    fn into_cell(self) -> Result<Cell, Error> {
        let id: u32 = number(&required(&self.id, || "a NUMA cell's id".into())?, || {
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
                number(&required(&p.size, what)?, what)?,
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
        for d in self.distances.iter().flat_map(|d| &d.siblings) {
            let what = || cell_what("distances");
            distances.push(Distance {
                node: number(&required(&d.id, what)?, what)?,
                value: number(&required(&d.value, what)?, what)?,
            });
        }
        let mut cpus = Vec::new();
        let mut offline_cpus = Vec::new();
        for raw in self.cpus.into_iter().flat_map(|c| c.cpus) {
            let cpu_id: u32 = number(
                &required(&raw.id, || format!("the id of a CPU in NUMA cell {id}"))?,
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
                    let optional = |value: &Option<String>, name: &str| {
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
