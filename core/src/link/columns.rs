//! The host in a share link: its CPUs in columns of differences. This layout is frozen: it is the
//! host part of link versions 1 and 2, and a version that needs another defines its own.

use serde::{Deserialize, Serialize};

use super::damaged;
use crate::cpuset::CpuSet;
use crate::error::Error;
use crate::host::{Cell, Cpu, Host, PagePool};

/// The host as links v1 and v2 carry it.
#[derive(Serialize, Deserialize)]
pub(crate) struct WireHost {
    arch: Option<String>,
    vendor: Option<String>,
    model: Option<String>,
    page_sizes_kib: Vec<u64>,
    cells: Vec<WireCell>,
}

impl WireHost {
    /// Writes the parts of a host that planning reads (features and distances are dropped).
    pub(crate) fn new(host: &Host) -> WireHost {
        WireHost {
            arch: host.arch.clone(),
            vendor: host.vendor.clone(),
            model: host.model.clone(),
            page_sizes_kib: host.page_sizes_kib.clone(),
            cells: host.cells.iter().map(WireCell::new).collect(),
        }
    }

    /// Reads the host back, not yet validated.
    pub(crate) fn into_host(self) -> Result<Host, Error> {
        Ok(Host {
            arch: self.arch,
            vendor: self.vendor,
            model: self.model,
            features: Vec::new(),
            page_sizes_kib: self.page_sizes_kib,
            cells: self
                .cells
                .into_iter()
                .map(WireCell::into_cell)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// A page pool of a cell.
#[derive(Serialize, Deserialize)]
struct WirePool {
    size_kib: u64,
    count: u64,
}

/// One cell, its CPUs in columns (one entry per online CPU, ascending ids); the number columns hold
/// differences from the previous entry.
#[derive(Serialize, Deserialize)]
pub(crate) struct WireCell {
    id: u32,
    memory_kib: Option<u64>,
    pages: Vec<WirePool>,
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
    pub(crate) fn new(cell: &Cell) -> WireCell {
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
            pages: cell
                .pages
                .iter()
                .map(|p| WirePool {
                    size_kib: p.size_kib,
                    count: p.count,
                })
                .collect(),
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

    pub(crate) fn into_cell(self) -> Result<Cell, Error> {
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
            pages: self
                .pages
                .into_iter()
                .map(|p| PagePool {
                    size_kib: p.size_kib,
                    count: p.count,
                })
                .collect(),
            distances: Vec::new(),
            cpus,
            offline_cpus: undeltas(&self.offline)?,
        })
    }
}
