//! Share links: the parsed host topology and the settings in a compact, versioned URL fragment.
//!
//! A fragment is `#v1.` followed by base64url (no padding) of the raw-deflated postcard encoding of a
//! [`Wire`] record. The raw XML is not carried: only what planning reads (cells, memory, page pools,
//! online and offline CPUs with their topology, page sizes, arch, vendor and model), and the CPUs of
//! each cell are stored as columns of differences (ids, sockets, cores, sibling sets), which deflate
//! shrinks to a few bytes for the regular numbering of real hosts. Links are untrusted input: their
//! length and decompressed size are bounded, the columns are checked, and the decoded host and settings
//! go through the same validation as a pasted document.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::cpuset::CpuSet;
use crate::error::Error;
use crate::host::{Cell, Cpu, Host, PagePool};
use crate::settings::Settings;

/// The format version written by this build.
pub const LINK_VERSION: u32 = 1;

/// The longest fragment accepted, in characters.
pub const MAX_LINK_CHARS: usize = 256 * 1024;

/// The largest decompressed payload accepted, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 4 * 1024 * 1024;

/// Everything a link carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedPlan {
    /// The host, without the parts planning does not read (features and distances are dropped).
    pub host: Host,
    /// The settings.
    pub settings: Settings,
}

/// The encoded record: the host in columns, and the settings.
#[derive(Serialize, Deserialize)]
struct Wire {
    arch: Option<String>,
    vendor: Option<String>,
    model: Option<String>,
    page_sizes_kib: Vec<u64>,
    cells: Vec<WireCell>,
    settings: Settings,
}

/// One cell, its CPUs in columns (one entry per online CPU, ascending ids); the number columns hold
/// differences from the previous entry.
#[derive(Serialize, Deserialize)]
struct WireCell {
    id: u32,
    memory_kib: Option<u64>,
    pages: Vec<PagePool>,
    ids: Vec<i64>,
    sockets: Vec<i64>,
    dies: Vec<Option<u32>>,
    clusters: Vec<Option<u32>>,
    cores: Vec<i64>,
    /// For each CPU, the difference of its sibling set's index in `sibling_sets` from the previous.
    siblings: Vec<i64>,
    /// The distinct sibling sets, each as differences.
    sibling_sets: Vec<Vec<i64>>,
    offline: Vec<i64>,
}

fn deltas(values: impl IntoIterator<Item = u32>) -> Vec<i64> {
    let mut previous = 0i64;
    values
        .into_iter()
        .map(|v| {
            let d = i64::from(v) - previous;
            previous = i64::from(v);
            d
        })
        .collect()
}

fn undeltas(deltas: &[i64]) -> Result<Vec<u32>, Error> {
    let mut value = 0i64;
    deltas
        .iter()
        .map(|d| {
            value = value
                .checked_add(*d)
                .filter(|v| (0..=i64::from(u32::MAX)).contains(v))
                .ok_or_else(|| damaged("a number is out of range"))?;
            Ok(value as u32)
        })
        .collect()
}

impl WireCell {
    fn new(cell: &Cell) -> WireCell {
        let mut sets: Vec<&CpuSet> = Vec::new();
        let mut known: std::collections::BTreeMap<&CpuSet, u32> = std::collections::BTreeMap::new();
        let mut set_index = Vec::with_capacity(cell.cpus.len());
        for cpu in &cell.cpus {
            let index = *known.entry(&cpu.siblings).or_insert_with(|| {
                sets.push(&cpu.siblings);
                sets.len() as u32 - 1
            });
            set_index.push(index);
        }
        WireCell {
            id: cell.id,
            memory_kib: cell.memory_kib,
            pages: cell.pages.clone(),
            ids: deltas(cell.cpus.iter().map(|c| c.id)),
            sockets: deltas(cell.cpus.iter().map(|c| c.socket)),
            dies: cell.cpus.iter().map(|c| c.die).collect(),
            clusters: cell.cpus.iter().map(|c| c.cluster).collect(),
            cores: deltas(cell.cpus.iter().map(|c| c.core)),
            siblings: deltas(set_index),
            sibling_sets: sets.into_iter().map(|s| deltas(s.iter())).collect(),
            offline: deltas(cell.offline_cpus.iter().copied()),
        }
    }

    fn into_cell(self) -> Result<Cell, Error> {
        let ids = undeltas(&self.ids)?;
        let n = ids.len();
        let sockets = undeltas(&self.sockets)?;
        let cores = undeltas(&self.cores)?;
        let set_index = undeltas(&self.siblings)?;
        if [
            sockets.len(),
            self.dies.len(),
            self.clusters.len(),
            cores.len(),
            set_index.len(),
        ]
        .iter()
        .any(|&len| len != n)
        {
            return Err(damaged("its CPU columns differ in length"));
        }
        let sets = self
            .sibling_sets
            .iter()
            .map(|s| undeltas(s).map(|ids| ids.into_iter().collect::<CpuSet>()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut cpus = Vec::with_capacity(n);
        for i in 0..n {
            let siblings = sets
                .get(set_index[i] as usize)
                .ok_or_else(|| damaged("a CPU names a sibling set that is not there"))?
                .clone();
            cpus.push(Cpu {
                id: ids[i],
                socket: sockets[i],
                die: self.dies[i],
                cluster: self.clusters[i],
                core: cores[i],
                siblings,
            });
        }
        Ok(Cell {
            id: self.id,
            memory_kib: self.memory_kib,
            pages: self.pages,
            distances: Vec::new(),
            cpus,
            offline_cpus: undeltas(&self.offline)?,
        })
    }
}

/// Encodes a host and settings as a URL fragment, starting with `#`.
pub fn encode_link(host: &Host, settings: &Settings) -> String {
    let wire = Wire {
        arch: host.arch.clone(),
        vendor: host.vendor.clone(),
        model: host.model.clone(),
        page_sizes_kib: host.page_sizes_kib.clone(),
        cells: host.cells.iter().map(WireCell::new).collect(),
        settings: settings.clone(),
    };
    let bytes = postcard::to_allocvec(&wire).expect("plain data always serializes");
    let packed = miniz_oxide::deflate::compress_to_vec(&bytes, 6);
    format!("#v{LINK_VERSION}.{}", URL_SAFE_NO_PAD.encode(packed))
}

fn damaged(why: &str) -> Error {
    Error::Link(format!("the link is damaged or incomplete ({why})"))
}

/// Decodes a URL fragment (with or without its leading `#`) into a validated host and settings.
pub fn decode_link(fragment: &str) -> Result<SharedPlan, Error> {
    let fragment = fragment.trim().trim_start_matches('#');
    if fragment.len() > MAX_LINK_CHARS {
        return Err(Error::Link(format!(
            "the link is {} characters long, more than the {MAX_LINK_CHARS} a real plan needs",
            fragment.len()
        )));
    }
    let Some((version, payload)) = fragment.split_once('.') else {
        return Err(damaged("no version"));
    };
    let version: u32 = version
        .strip_prefix('v')
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| damaged("no version"))?;
    if version != LINK_VERSION {
        return Err(Error::Link(if version > LINK_VERSION {
            format!("the link was made by a newer rtkvm (link format v{version}; this one reads v{LINK_VERSION}); open it with that version")
        } else {
            format!("the link uses the unknown format v{version}")
        }));
    }
    let packed = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| damaged("not base64url"))?;
    let bytes = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_PAYLOAD_BYTES)
        .map_err(|e| {
            if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput {
                damaged("it decompresses to more than the size limit")
            } else {
                damaged("it does not decompress")
            }
        })?;
    let wire: Wire =
        postcard::from_bytes(&bytes).map_err(|_| damaged("its contents do not decode"))?;
    let cells = wire
        .cells
        .into_iter()
        .map(WireCell::into_cell)
        .collect::<Result<Vec<_>, _>>()?;
    let host = Host {
        arch: wire.arch,
        vendor: wire.vendor,
        model: wire.model,
        features: Vec::new(),
        page_sizes_kib: wire.page_sizes_kib,
        cells,
    }
    .validated()?;
    wire.settings.validate()?;
    Ok(SharedPlan {
        host,
        settings: wire.settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_capabilities, plan, EXAMPLE_CAPABILITIES};

    #[test]
    fn seed_link_is_short_and_opens_the_same_plan() {
        let host = parse_capabilities(EXAMPLE_CAPABILITIES).unwrap();
        let mut settings = Settings::default();
        settings.guest.name = "plc <1> & co".into();
        settings.guest.vcpus = 3;
        let link = encode_link(&host, &settings);
        assert!(link.starts_with("#v1."));
        assert!(link.len() <= 200, "{} characters: {link}", link.len());
        let shared = decode_link(&link).unwrap();
        assert_eq!(shared.settings, settings);
        assert_eq!(
            plan(&shared.host, &shared.settings).unwrap(),
            plan(&host, &settings).unwrap()
        );
    }

    #[test]
    fn hostile_links_give_clear_errors() {
        let host = parse_capabilities(EXAMPLE_CAPABILITIES).unwrap();
        let link = encode_link(&host, &Settings::default());
        for (bad, expected) in [
            ("", "no version"),
            ("#hello", "no version"),
            ("#v1.", "does not decompress"),
            ("#v1.!!!", "not base64url"),
            ("#v2.AAAA", "newer rtkvm"),
            ("#v0.AAAA", "unknown format v0"),
            ("#v1.AAAA", "does not decompress"),
        ] {
            let err = decode_link(bad).unwrap_err().to_string();
            assert!(err.contains(expected), "{bad}: {err}");
        }
        for cut in [5, link.len() / 2, link.len() - 3] {
            assert!(decode_link(&link[..cut]).is_err(), "cut at {cut}");
        }
        let long = format!("#v1.{}", "A".repeat(MAX_LINK_CHARS + 1));
        assert!(decode_link(&long)
            .unwrap_err()
            .to_string()
            .contains("characters long"));
        // A payload that inflates beyond the limit is refused, not expanded.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![0u8; MAX_PAYLOAD_BYTES + 1], 10);
        let bomb = format!("#v1.{}", URL_SAFE_NO_PAD.encode(bomb));
        assert!(decode_link(&bomb)
            .unwrap_err()
            .to_string()
            .contains("size limit"));
    }

    #[test]
    fn decoded_links_are_validated_like_pasted_hosts() {
        let mut host = parse_capabilities(EXAMPLE_CAPABILITIES).unwrap();
        host.cells[1].cpus[0].id = 0;
        let mut settings = Settings::default();
        let link = encode_link(&host, &settings);
        assert!(matches!(
            decode_link(&link),
            Err(Error::DuplicateCpu { .. })
        ));
        let host = parse_capabilities(EXAMPLE_CAPABILITIES).unwrap();
        settings.guest.priority = 500;
        let link = encode_link(&host, &settings);
        assert!(decode_link(&link)
            .unwrap_err()
            .to_string()
            .contains("priority"));
    }
}
