//! The topology map: NUMA nodes, sockets, cores and their threads in SVG, each CPU coloured by role.

use leptos::prelude::*;
use rtkvm_core::host::Host;
use rtkvm_core::plan::{GuestPlan, NodePartition};
use rtkvm_core::units::format_kib;

/// What a CPU is used for in the plan.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// Kept for the host OS.
    Host,
    /// Kept for the host and running the guest's emulator threads.
    Emulator,
    /// Isolated and free.
    Isolated,
    /// Running the guest's vCPU with this index.
    Vcpu(usize),
    /// An isolated SMT sibling left idle.
    IdleSibling,
}

impl Role {
    fn class(&self) -> &'static str {
        match self {
            Role::Host => "cpu host",
            Role::Emulator => "cpu emulator",
            Role::Isolated => "cpu isolated",
            Role::Vcpu(_) => "cpu vcpu",
            Role::IdleSibling => "cpu idle",
        }
    }

    fn describe(&self) -> String {
        match self {
            Role::Host => "host (housekeeping)".into(),
            Role::Emulator => "host (housekeeping), runs the guest's emulator threads".into(),
            Role::Isolated => "isolated, free".into(),
            Role::Vcpu(k) => format!("isolated, runs guest vCPU {k}"),
            Role::IdleSibling => "isolated, idle SMT sibling of a vCPU's core".into(),
        }
    }
}

fn role(cpu: u32, nodes: &[NodePartition], guest: Option<&GuestPlan>) -> Role {
    if let Some(g) = guest {
        if let Some(k) = g.vcpupin.iter().position(|&c| c == cpu) {
            return Role::Vcpu(k);
        }
        if g.emulatorpin.contains(cpu) {
            return Role::Emulator;
        }
        if g.idle_siblings.contains(cpu) {
            return Role::IdleSibling;
        }
    }
    if nodes.iter().any(|n| n.isolated.contains(cpu)) {
        Role::Isolated
    } else {
        Role::Host
    }
}

const CPU_W: f64 = 34.0;
const CPU_H: f64 = 24.0;
const GAP: f64 = 4.0;
const CORES_PER_ROW: usize = 8;

/// Draws the host's topology with the roles of a partition and, when placed, the guest.
#[component]
pub fn TopologyMap(
    host: Host,
    nodes: Vec<NodePartition>,
    guest: Option<GuestPlan>,
    hugepages: Vec<(u32, String)>,
) -> impl IntoView {
    let threads = host
        .cpus()
        .map(|c| c.siblings.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let core_w = threads as f64 * (CPU_W + 2.0) + 6.0;
    let width = CORES_PER_ROW as f64 * (core_w + GAP) + 24.0;
    let mut y = 0.0;
    let mut shapes = Vec::new();
    for cell in &host.cells {
        let top = y;
        y += 26.0;
        let mut sockets: Vec<u32> = cell.cores().iter().map(|c| c.socket).collect();
        sockets.dedup();
        sockets.sort_unstable();
        sockets.dedup();
        let mut socket_shapes = Vec::new();
        for socket in sockets {
            let cores: Vec<_> = cell
                .cores()
                .into_iter()
                .filter(|c| c.socket == socket)
                .collect();
            let rows = cores.len().div_ceil(CORES_PER_ROW);
            let socket_top = y;
            let socket_h = 20.0 + rows as f64 * (CPU_H + 10.0) + 4.0;
            socket_shapes.push(view! {
                <rect class="socket" x="8" y=socket_top width=width - 16.0 height=socket_h rx="4"></rect>
                <text class="label" x="14" y=socket_top + 14.0>{format!("socket {socket}")}</text>
            }.into_any());
            for (i, core) in cores.iter().enumerate() {
                let cx = 14.0 + (i % CORES_PER_ROW) as f64 * (core_w + GAP);
                let cy = socket_top + 20.0 + (i / CORES_PER_ROW) as f64 * (CPU_H + 10.0);
                socket_shapes.push(view! {
                    <rect class="core" x=cx y=cy width=core_w - 2.0 height=CPU_H + 6.0 rx="3"></rect>
                }.into_any());
                for (t, cpu_id) in core.cpus.iter().enumerate() {
                    let cpu = cell
                        .cpus
                        .iter()
                        .find(|c| c.id == cpu_id)
                        .expect("core CPUs are online");
                    let r = role(cpu_id, &nodes, guest.as_ref());
                    let label = match r {
                        Role::Vcpu(k) => format!("v{k}"),
                        _ => cpu_id.to_string(),
                    };
                    let die = cpu.die.map(|d| format!(", die {d}")).unwrap_or_default();
                    let title = format!(
                        "CPU {cpu_id}: node {}, socket {}{die}, core {}, siblings {} — {}",
                        cell.id,
                        cpu.socket,
                        cpu.core,
                        cpu.siblings,
                        r.describe()
                    );
                    let x = cx + 3.0 + t as f64 * (CPU_W + 2.0);
                    let ty = cy + 3.0;
                    let aria = title.clone();
                    socket_shapes.push(view! {
                        <g class=r.class() tabindex="0" data-cpu=cpu_id aria-label=aria>
                            <title>{title}</title>
                            <rect x=x y=ty width=CPU_W height=CPU_H rx="2"></rect>
                            <text x=x + CPU_W / 2.0 y=ty + 16.0 text-anchor="middle">{label}</text>
                        </g>
                    }.into_any());
                }
            }
            y += socket_h + 6.0;
        }
        if cell.cpus.is_empty() {
            y += 6.0;
        }
        let memory = cell.memory_kib.map_or("memory unknown".into(), format_kib);
        let pages = hugepages
            .iter()
            .find(|(n, _)| *n == cell.id)
            .map(|(_, p)| format!(", huge pages: {p}"))
            .unwrap_or_default();
        let cpus_note = if cell.cpus.is_empty() {
            ", no CPUs"
        } else {
            ""
        };
        let header = format!("NUMA node {}: {memory}{cpus_note}{pages}", cell.id);
        let node_h = y - top + 4.0;
        shapes.push(view! {
            <g class="node" data-node=cell.id>
                <rect class="node-box" x="1" y=top + 1.0 width=width - 2.0 height=node_h rx="6"></rect>
                <text class="node-label" x="10" y=top + 18.0>{header}</text>
                {socket_shapes}
            </g>
        }.into_any());
        y += 12.0;
    }
    let height = y.max(40.0);
    view! {
        <svg class="topology" data-testid="topology-map" viewBox=format!("0 0 {width} {height}")
             width=width height=height role="img" aria-label="Host topology map">
            {shapes}
        </svg>
    }
}

/// The legend for the map's colours.
#[component]
pub fn Legend() -> impl IntoView {
    let items = [
        ("host", "host (housekeeping)"),
        ("emulator", "emulator threads"),
        ("isolated", "isolated, free"),
        ("vcpu", "guest vCPU k (vk)"),
        ("idle", "idle SMT sibling"),
    ];
    view! {
        <ul class="legend">
            {items.into_iter().map(|(class, text)| view! {
                <li><span class=format!("swatch {class}")></span>{text}</li>
            }).collect_view()}
        </ul>
    }
}
