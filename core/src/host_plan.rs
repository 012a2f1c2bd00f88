//! The host partition as data: which CPUs the host keeps and which are isolated on each node, the huge
//! pages reserved, and the priorities of the host's kernel threads.
//!
//! It sits below both the planner (`plan/`, which makes it and measures the kernel command line it
//! implies) and the host's emitters (`cmdline.rs`, `hugepages.rs`, `host_setup.rs`, which write it out),
//! so that neither imports the other in a circle. Its public path is `rtkvm_core::plan`, which
//! re-exports every type here.

use crate::cpuset::CpuSet;
use crate::settings::{Kernel, KernelType, Preset, Recipe, Reserve};

/// How the host is partitioned between its own work and real-time guests, and its huge pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPlan {
    /// The CPUs removed from the scheduler for real-time guests.
    pub isolcpus: CpuSet,
    /// The CPUs kept for the host OS, interrupts and QEMU's emulator threads.
    pub housekeeping: CpuSet,
    /// Per NUMA node with CPUs, the split of its online CPUs.
    pub nodes: Vec<NodePartition>,
    /// The huge page size reserved, in KiB.
    pub page_size_kib: u64,
    /// The huge pages to reserve on every node with known memory: all of it beyond the host's
    /// share, or (with [`Reserve::Guest`]) the guest's pages and the spare ones on its node and none
    /// elsewhere.
    pub hugepages: Vec<NodePages>,
    /// Which kernel parameters the command line gets.
    pub preset: Preset,
    /// The recipe revision the host's outputs are written with.
    pub recipe: Recipe,
    /// The host's kernel version.
    pub kernel: Kernel,
    /// Whether the host's kernel is PREEMPT_RT.
    pub kernel_type: KernelType,
    /// Which memory `hugepages` holds: all beyond the host's share, or only the guest's.
    pub reserve: Reserve,
    /// With [`Reserve::Guest`], the memory in KiB of the pages reserved on the guest's node beyond
    /// its own, spare for guests started later (0 for none).
    pub spare_kib: u64,
    /// The priorities the host's per-CPU kernel threads get, above the vCPUs' (recipe 3 on).
    pub kthreads: KthreadPriorities,
}

/// The SCHED_FIFO priorities recipe 3 gives the host's per-CPU kernel threads, so that a vCPU that
/// spins at its real-time priority never starves them: tuned's realtime-virtual-host ladder
/// (`ksoftirqd` 2, `rcuc`/`rcub` 4 over vCPUs at 1; `ktimers` 2, level with `ksoftirqd`, and its
/// predecessor `ktimersoftd`, gone since 5.0-rt, 3), with `ktimers` kept one above `ksoftirqd` as
/// `ktimersoftd` was, all above any vCPU priority up to 96. The kernel caps them at 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KthreadPriorities {
    /// The vCPUs' own priority, which the others are above.
    pub vcpu: u32,
    /// `ksoftirqd/N`: softirqs not run on interrupt exit (network receive, block completion).
    pub ksoftirqd: u32,
    /// `ktimers/N` (PREEMPT_RT only): timer softirqs, the guest's timers among them.
    pub ktimers: u32,
    /// `rcuc/N`, `rcub/N`, `rcuog/N`: RCU's kernel threads (`rcutree.kthread_prio`).
    pub rcu: u32,
}

impl KthreadPriorities {
    /// Returns the ladder above vCPUs of real-time priority `vcpu`.
    pub fn above(vcpu: u32) -> KthreadPriorities {
        KthreadPriorities {
            vcpu,
            ksoftirqd: (vcpu + 1).min(99),
            ktimers: (vcpu + 2).min(99),
            rcu: (vcpu + 3).min(99),
        }
    }

    /// Returns stalld's SCHED_FIFO priority (recipe 4): below every kernel thread it may have to boost,
    /// as the Node Tuning Operator's tests require of it, and at least 1.
    pub fn stalld(&self) -> u32 {
        (self.ksoftirqd.min(self.rcu) - 1).max(1)
    }

    /// Returns whether every kernel thread is strictly above vCPUs of priority `vcpu`.
    pub fn all_above(&self, vcpu: u32) -> bool {
        self.ksoftirqd.min(self.ktimers).min(self.rcu) > vcpu
    }
}

impl HostPlan {
    /// Returns whether the nodes need different huge page counts (the kernel's boot-time reservation
    /// spreads pages evenly, so the rest must be reserved at runtime).
    pub fn uneven_pages(&self) -> bool {
        let mut counts = self.hugepages.iter().map(|p| p.count);
        let first = counts.next();
        counts.any(|c| Some(c) != first)
    }

    /// Returns whether the kernel command line reserves each node's count at boot (recipe 3, Linux
    /// 5.16 and later, nodes of different counts).
    pub fn per_node_boot_pages(&self) -> bool {
        self.recipe >= Recipe::RealtimeHost
            && self.kernel.per_node_boot_pages()
            && self.uneven_pages()
    }

    /// Returns whether some pages must be reserved at runtime: the nodes need different counts and the
    /// kernel cannot take them per node at boot.
    pub fn runtime_pages(&self) -> bool {
        self.uneven_pages() && !self.per_node_boot_pages()
    }

    /// Returns the `hugepages=` value: the total when every node gets the same count, else the smallest
    /// per-node count times the number of nodes (the kernel's even split), the rest being added at
    /// runtime.
    pub fn boot_pages(&self) -> u64 {
        let min = self.hugepages.iter().map(|p| p.count).min().unwrap_or(0);
        min * self.hugepages.len() as u64
    }

    /// Returns the huge pages planned on a node (0 for a node without known memory).
    pub fn pages_on(&self, node: u32) -> u64 {
        self.hugepages
            .iter()
            .find(|p| p.node == node)
            .map_or(0, |p| p.count)
    }
}

/// The split of one node's CPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePartition {
    /// The node id.
    pub node: u32,
    /// CPUs kept for the host on this node.
    pub housekeeping: CpuSet,
    /// CPUs isolated on this node.
    pub isolated: CpuSet,
}

/// The huge pages reserved on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePages {
    /// The node id.
    pub node: u32,
    /// The page size in KiB.
    pub page_size_kib: u64,
    /// The number of pages.
    pub count: u64,
}
