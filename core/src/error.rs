//! The one error type of the library. Its `Display` is the sentence the user reads.

use crate::cpuset::CpuListError;
use crate::units::format_kib;

/// A place in the pasted text, counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    /// The line, counted from 1.
    pub line: usize,
    /// The column in characters, counted from 1.
    pub column: usize,
}

impl Position {
    /// Converts a byte offset in `text` into a line and column.
    pub fn from_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Position { line, column }
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Runs `build` in a function of its own, out of line: for the messages of errors and warnings, which
/// most inputs never build. The browser compiles a wasm function on its first call, so a message no
/// plan needs is never compiled before the first plan (the counted start-up budget, BENCHMARKS.md).
#[cold]
#[inline(never)]
pub(crate) fn rarely<T>(build: impl FnOnce() -> T) -> T {
    build()
}

/// Everything that can stop rtkvm from producing a plan: bad input or an impossible request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The paste is larger than [`crate::caps::MAX_INPUT_BYTES`].
    #[error("the input is {size}, more than the 16 MiB limit; libvirt prints well under 1 MiB, even for thousands of CPUs: this is probably not its output", size = format_bytes(*.bytes))]
    InputTooLarge {
        /// The size of the input in bytes.
        bytes: usize,
    },
    /// Nothing but whitespace was given.
    #[error("the input is empty: paste the output of `virsh capabilities`")]
    EmptyInput,
    /// The input is not text that could be XML (binary, UTF-16, …).
    #[error("the input is not XML text: {reason}")]
    NotText {
        /// What is wrong with it.
        reason: String,
    },
    /// The XML itself is broken.
    #[error("the XML is broken at {position}: {message}")]
    Xml {
        /// Where the parser stopped.
        position: Position,
        /// What the parser found.
        message: String,
    },
    /// The XML declares a DTD or entities, which are refused rather than expanded.
    #[error("the XML declares a DTD at {position}; DTDs and entity declarations are refused (libvirt never prints one)")]
    Dtd {
        /// Where the declaration starts.
        position: Position,
    },
    /// The document is well-formed XML, but not `virsh capabilities` output.
    #[error("this is {what}, not the output of `virsh capabilities`{hint}")]
    WrongDocument {
        /// What the document looks like.
        what: String,
        /// A sentence telling the user what to paste instead, starting with "; ".
        hint: String,
    },
    /// The document has the right root but a part we need has an impossible value or shape.
    #[error("{0}")]
    Invalid(String),
    /// The capabilities document has no `<host>` section.
    #[error("the capabilities have no <host> section, so there is no host to plan for")]
    NoHost,
    /// The host section has no NUMA topology.
    #[error("the capabilities have no <topology> section: libvirt could not read the host's NUMA layout (it was not built with numactl, or the host exposes no NUMA information). Without it rtkvm cannot tell which CPUs and memory belong together; run `virsh capabilities` on the KVM host itself with a libvirt built with NUMA support")]
    NoTopology,
    /// A CPU id appears more than once.
    #[error("CPU {cpu} is listed twice ({where_}); a CPU appears once in `virsh capabilities`, so this output was edited or is corrupt", where_ = if first_cell == second_cell { format!("in NUMA cell {first_cell}") } else { format!("in NUMA cell {first_cell} and in cell {second_cell}") })]
    DuplicateCpu {
        /// The repeated CPU id.
        cpu: u32,
        /// The cell where it appeared first.
        first_cell: u32,
        /// The cell where it appeared again.
        second_cell: u32,
    },
    /// A NUMA cell id appears more than once.
    #[error("NUMA cell {0} is listed twice")]
    DuplicateCell(u32),
    /// A `siblings` list names a CPU that the document does not list.
    #[error(
        "CPU {cpu} lists CPU {sibling} as an SMT sibling, but CPU {sibling} is not in the topology"
    )]
    UnknownSibling {
        /// The CPU whose siblings are wrong.
        cpu: u32,
        /// The CPU that is named but not listed.
        sibling: u32,
    },
    /// Two CPUs disagree about which threads share their core.
    #[error("CPU {cpu} lists siblings {siblings} but CPU {other} lists {other_siblings}; the SMT grouping is inconsistent")]
    InconsistentSiblings {
        /// One CPU.
        cpu: u32,
        /// Its siblings.
        siblings: String,
        /// A sibling that disagrees.
        other: u32,
        /// That sibling's own list.
        other_siblings: String,
    },
    /// Every CPU is listed without topology attributes.
    #[error("no CPU in the topology has socket, core and siblings attributes (only `<cpu id='N'/>`): the output comes from libvirt older than 1.0 or every CPU is offline, so cores and SMT siblings cannot be told apart")]
    NoCpuTopology,
    /// A cpulist attribute or argument could not be read.
    #[error("{what}: {source}")]
    CpuList {
        /// Which list it was.
        what: String,
        /// Why it could not be read.
        source: CpuListError,
    },
    /// A setting is out of its allowed range or malformed.
    #[error("{0}")]
    Setting(String),
    /// A share link cannot be opened.
    #[error("{0}")]
    Link(String),
    /// The requested plan cannot be made on this host.
    #[error("{0}")]
    Impossible(String),
}

fn format_bytes(bytes: usize) -> String {
    format_kib((bytes / 1024) as u64)
}
