//! The validated host model: NUMA cells, their memory and page pools, and the online CPUs with their
//! socket, die, cluster, core and SMT siblings.
//!
//! Ids are labels, never indexes: cell ids can be sparse (0, 1, 16, 17), CPU ids interleaved between cells,
//! core ids huge or repeated per socket. SMT grouping comes from `siblings` alone.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::cpuset::CpuSet;
use crate::error::Error;

/// The architecture names every libvirt since 9.0 accepts in `<os><type arch=>`; for others (such as
/// loongarch64, new in libvirt 10) the attribute is left out and libvirt uses the host's.
pub const KNOWN_ARCHES: &[&str] = &[
    "x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x", "riscv64", "riscv32",
];

/// A physical host as `virsh capabilities` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// The CPU architecture (`x86_64`, `aarch64`, …), when printed.
    pub arch: Option<String>,
    /// The CPU vendor (`Intel`, `AMD`, …), when printed.
    pub vendor: Option<String>,
    /// The CPU model libvirt matched (`Skylake-Server`, …), when printed.
    pub model: Option<String>,
    /// The host CPU features libvirt lists.
    pub features: Vec<String>,
    /// The page sizes in KiB the host supports, from `<host><cpu><pages>`, ascending.
    pub page_sizes_kib: Vec<u64>,
    /// The NUMA cells, ascending by id.
    pub cells: Vec<Cell>,
}

/// The x86 CPU vendors whose power management and KVM module differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum X86Vendor {
    /// Intel: `intel_pstate`, `intel_idle`, `kvm_intel`.
    Intel,
    /// AMD: `amd_pstate`, `kvm_amd`.
    Amd,
}

/// One NUMA node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The node id as the kernel numbers it.
    pub id: u32,
    /// The node's memory in KiB, when printed.
    pub memory_kib: Option<u64>,
    /// The page pools reserved on the node, ascending by size.
    pub pages: Vec<PagePool>,
    /// NUMA distances to other nodes, ascending by node id.
    pub distances: Vec<Distance>,
    /// The online CPUs, with topology, ascending by id.
    pub cpus: Vec<Cpu>,
    /// CPUs listed without topology (offline, or pre-1.0 libvirt output), ascending. Never planned on.
    pub offline_cpus: Vec<u32>,
}

/// The number of pages of one size reserved on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagePool {
    /// The page size in KiB.
    pub size_kib: u64,
    /// How many pages of that size the node holds.
    pub count: u64,
}

/// The NUMA distance from one node to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distance {
    /// The other node's id.
    pub node: u32,
    /// The relative distance (10 = local).
    pub value: u32,
}

/// One online logical CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cpu {
    /// The logical CPU id.
    pub id: u32,
    /// The physical package id.
    pub socket: u32,
    /// The die id, printed by libvirt 6.1 and later.
    pub die: Option<u32>,
    /// The cluster id, printed by libvirt 10.1 and later (`65535` means unknown on x86).
    pub cluster: Option<u32>,
    /// The core id; unique only within a socket and die.
    pub core: u32,
    /// The logical CPUs sharing this CPU's core, itself included.
    pub siblings: CpuSet,
}

/// A physical core: a group of SMT siblings on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Core {
    /// The online logical CPUs of the core, itself included.
    pub cpus: CpuSet,
    /// The socket of the core's first CPU.
    pub socket: u32,
    /// The die of the core's first CPU.
    pub die: Option<u32>,
    /// The core's SMT width as libvirt lists it (offline threads included): on a hybrid CPU the
    /// performance cores have more threads than the efficiency cores.
    pub threads: usize,
}

impl Host {
    /// Sorts every list into its canonical order and checks the model's invariants: unique cell and CPU
    /// ids, siblings naming listed CPUs of the same cell, and every CPU agreeing with its siblings.
    pub fn validated(mut self) -> Result<Host, Error> {
        self.page_sizes_kib.sort_unstable();
        self.page_sizes_kib.dedup();
        // Lists usually come in order (virsh prints them so, share links keep it): sorting is then
        // skipped, which matters for the site's size-optimized sort on large hosts.
        if !self.cells.is_sorted_by_key(|c| c.id) {
            self.cells.sort_unstable_by_key(|c| c.id);
        }
        if let Some(pair) = self.cells.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(Error::DuplicateCell(pair[0].id));
        }
        // The cell of every listed CPU, indexed by CPU id (ids are bounded by MAX_CPU_ID).
        let mut owner: Vec<Option<u32>> = Vec::new();
        for cell in &mut self.cells {
            if !cell.cpus.is_sorted_by_key(|c| c.id) {
                cell.cpus.sort_unstable_by_key(|c| c.id);
            }
            cell.offline_cpus.sort_unstable();
            cell.pages.sort_unstable_by_key(|p| (p.size_kib, p.count));
            cell.distances.sort_unstable_by_key(|d| (d.node, d.value));
            let ids = cell
                .cpus
                .iter()
                .map(|c| c.id)
                .chain(cell.offline_cpus.iter().copied());
            for id in ids {
                if id > crate::cpuset::MAX_CPU_ID {
                    return Err(Error::Invalid(format!(
                        "CPU id {id} is larger than the largest supported id ({})",
                        crate::cpuset::MAX_CPU_ID
                    )));
                }
                let slot = id as usize;
                if owner.len() <= slot {
                    owner.resize(slot + 1, None);
                }
                if let Some(first) = owner[slot].replace(cell.id) {
                    return Err(Error::DuplicateCpu {
                        cpu: id,
                        first_cell: first,
                        second_cell: cell.id,
                    });
                }
            }
        }
        if self.cells.iter().all(|c| c.cpus.is_empty()) {
            if self.cells.iter().any(|c| !c.offline_cpus.is_empty()) {
                return Err(Error::NoCpuTopology);
            }
            return Err(Error::Invalid(
                "the topology lists no CPUs at all, so there is nothing to partition".into(),
            ));
        }
        let mut by_id: Vec<Option<&Cpu>> = vec![None; owner.len()];
        for cpu in self.cpus() {
            by_id[cpu.id as usize] = Some(cpu);
        }
        for cell in &self.cells {
            for cpu in &cell.cpus {
                if !cpu.siblings.contains(cpu.id) {
                    return Err(Error::Invalid(format!(
                        "CPU {} lists siblings {} that do not include itself",
                        cpu.id, cpu.siblings
                    )));
                }
                for sibling in cpu.siblings.iter() {
                    let Some(sibling_cell) = owner.get(sibling as usize).copied().flatten() else {
                        return Err(Error::UnknownSibling {
                            cpu: cpu.id,
                            sibling,
                        });
                    };
                    if sibling_cell != cell.id {
                        return Err(Error::Invalid(format!(
                            "CPU {} in NUMA cell {} lists CPU {sibling} of cell {sibling_cell} as its SMT sibling; threads of one core cannot be in different cells",
                            cpu.id, cell.id
                        )));
                    }
                    if sibling == cpu.id {
                        continue;
                    }
                    if let Some(other) = by_id[sibling as usize] {
                        if other.siblings != cpu.siblings {
                            return Err(Error::InconsistentSiblings {
                                cpu: cpu.id,
                                siblings: cpu.siblings.to_string(),
                                other: other.id,
                                other_siblings: other.siblings.to_string(),
                            });
                        }
                    }
                }
            }
        }
        Ok(self)
    }

    /// Iterates over every online CPU of every cell.
    pub fn cpus(&self) -> impl Iterator<Item = &Cpu> {
        self.cells.iter().flat_map(|c| c.cpus.iter())
    }

    /// Returns the set of online CPUs with topology.
    pub fn online_cpus(&self) -> CpuSet {
        self.cpus().map(|c| c.id).collect()
    }

    /// Returns the cell with this id.
    pub fn cell(&self, id: u32) -> Option<&Cell> {
        self.cells.iter().find(|c| c.id == id)
    }

    /// Returns whether any core has more than one online thread.
    pub fn smt(&self) -> bool {
        self.cpus().any(|c| c.siblings.len() > 1)
    }

    /// Returns the number of distinct sockets among the online CPUs.
    pub fn socket_count(&self) -> usize {
        self.cpus().map(|c| c.socket).collect::<BTreeSet<_>>().len()
    }

    /// Returns the architecture if libvirt knows it as a guest architecture, for `<os><type arch=>`.
    pub fn libvirt_arch(&self) -> Option<&str> {
        self.arch.as_deref().filter(|a| KNOWN_ARCHES.contains(a))
    }

    /// Returns whether the host is x86 (so x86-only kernel parameters and CPU features apply).
    ///
    /// A missing or unrecognised architecture counts as x86: it is what almost every real-time KVM host
    /// is.
    pub fn is_x86(&self) -> bool {
        match self.libvirt_arch() {
            None => true,
            Some(arch) => matches!(arch, "x86_64" | "i686"),
        }
    }

    /// Returns what the capabilities say about the TSC: `None` when they list no CPU features at all
    /// (so nothing can be told), else whether the TSC is invariant (`invtsc`: constant rate through
    /// frequency and idle states, the condition for trusting it as the clock source).
    pub fn invariant_tsc(&self) -> Option<bool> {
        if self.features.is_empty() {
            None
        } else {
            Some(self.features.iter().any(|f| f == "invtsc"))
        }
    }

    /// Returns the CPU vendor if it is Intel or AMD, the two whose power and KVM settings differ.
    pub fn x86_vendor(&self) -> Option<X86Vendor> {
        if !self.is_x86() {
            return None;
        }
        match self.vendor.as_deref() {
            Some(v) if v.eq_ignore_ascii_case("Intel") => Some(X86Vendor::Intel),
            Some(v) if v.eq_ignore_ascii_case("AMD") => Some(X86Vendor::Amd),
            _ => None,
        }
    }

    /// Returns whether an Intel host's CPU, by the model libvirt matched, is of a generation before
    /// Ice Lake or cannot be told (no model, or a generic one such as `qemu64`): the CPUs for which
    /// tuned's `intel_recommended_pstate` chooses `intel_pstate=disable` (its `PROCESSOR_NAME` list:
    /// Sandy Bridge to Skylake, whose `pmu_name` Cascade Lake and Cooper Lake share, and an unknown
    /// PMU). `false` means Ice Lake or later, where Intel recommends the driver active with HWP.
    /// `None` for a host that is not Intel.
    pub fn intel_before_ice_lake(&self) -> Option<bool> {
        if self.x86_vendor() != Some(X86Vendor::Intel) {
            return None;
        }
        let Some(model) = self.model.as_deref() else {
            return Some(true);
        };
        let newer = [
            "Icelake",
            "SapphireRapids",
            "GraniteRapids",
            "SierraForest",
            "ClearwaterForest",
            "DiamondRapids",
            "Snowridge",
        ];
        Some(!newer.iter().any(|n| model.starts_with(n)))
    }

    /// Returns every page size in KiB the host mentions (supported sizes and per-node pools),
    /// ascending, without repeats.
    pub fn listed_page_sizes(&self) -> Vec<u64> {
        let mut sizes: Vec<u64> = self
            .page_sizes_kib
            .iter()
            .copied()
            .chain(
                self.cells
                    .iter()
                    .flat_map(|c| c.pages.iter().map(|p| p.size_kib)),
            )
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }
}

impl Cell {
    /// Returns the cell's online CPUs as a set.
    pub fn cpu_set(&self) -> CpuSet {
        self.cpus.iter().map(|c| c.id).collect()
    }

    /// Returns the cell's cores, each the set of its online SMT siblings, ordered by their lowest CPU id.
    pub fn cores(&self) -> Vec<Core> {
        let online = self.cpu_set();
        // The CPUs already in a core, by id (ids are bounded by MAX_CPU_ID): siblings numbered apart
        // (0 and 512) would otherwise be merged into a growing set once per core.
        let mut seen = vec![false; online.iter().next_back().map_or(0, |id| id as usize + 1)];
        let mut cores = Vec::new();
        for cpu in &self.cpus {
            if seen.get(cpu.id as usize).copied().unwrap_or(false) {
                continue;
            }
            let cpus = cpu.siblings.intersection(&online);
            for id in cpus.iter() {
                seen[id as usize] = true;
            }
            cores.push(Core {
                cpus,
                socket: cpu.socket,
                die: cpu.die,
                threads: cpu.siblings.len(),
            });
        }
        cores
    }

    /// Returns the cores whose CPUs are all in `isolated`, ordered by their lowest CPU id.
    pub fn isolated_cores(&self, isolated: &CpuSet) -> Vec<Core> {
        self.cores()
            .into_iter()
            .filter(|c| c.cpus.is_subset(isolated))
            .collect()
    }
}
