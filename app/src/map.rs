//! The topology map: NUMA nodes, sockets, cores and their threads in SVG, each CPU coloured by role.

use leptos::prelude::*;
use rtkvm_core::host::Host;
use rtkvm_core::plan::{GuestPlan, NodePages, NodePartition};
use rtkvm_core::units::format_kib;
use rtkvm_core::CpuSet;

/// What a CPU is used for in the plan.
#[derive(Clone, Copy, Debug, PartialEq)]
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
    fn class(self) -> &'static str {
        match self {
            Role::Host => "cpu host",
            Role::Emulator => "cpu emulator",
            Role::Isolated => "cpu isolated",
            Role::Vcpu(_) => "cpu vcpu",
            Role::IdleSibling => "cpu idle",
        }
    }

    fn describe(self) -> String {
        match self {
            Role::Host => "host (housekeeping)".into(),
            Role::Emulator => "runs the guest's emulator threads".into(),
            Role::Isolated => "isolated, free".into(),
            Role::Vcpu(k) => format!("isolated, runs guest vCPU {k}"),
            Role::IdleSibling => "isolated, idle SMT sibling of a vCPU's core".into(),
        }
    }
}

/// The roles of every CPU and the huge pages of every node: what the map colours.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    isolated: CpuSet,
    emulator: CpuSet,
    idle: CpuSet,
    vcpus: Vec<u32>,
    hugepages: Vec<(u32, String)>,
    /// The guest's node, when placed.
    guest_node: Option<u32>,
}

impl Layout {
    /// Collects the roles from a partition and, when placed, the guest.
    pub fn new(nodes: &[NodePartition], guest: Option<&GuestPlan>, pages: &[NodePages]) -> Layout {
        let mut isolated = CpuSet::new();
        for node in nodes {
            isolated.extend_from(&node.isolated);
        }
        Layout {
            isolated,
            emulator: guest.map(|g| g.emulatorpin.clone()).unwrap_or_default(),
            idle: guest.map(|g| g.idle_siblings.clone()).unwrap_or_default(),
            vcpus: guest.map(|g| g.vcpupin.clone()).unwrap_or_default(),
            guest_node: guest.map(|g| g.node),
            hugepages: pages
                .iter()
                .map(|p| {
                    (
                        p.node,
                        format!("{} × {}", p.count, format_kib(p.page_size_kib)),
                    )
                })
                .collect(),
        }
    }

    fn role(&self, cpu: u32) -> Role {
        if let Some(k) = self.vcpus.iter().position(|&c| c == cpu) {
            Role::Vcpu(k)
        } else if self.emulator.contains(cpu) {
            Role::Emulator
        } else if self.idle.contains(cpu) {
            Role::IdleSibling
        } else if self.isolated.contains(cpu) {
            Role::Isolated
        } else {
            Role::Host
        }
    }

    fn pages(&self, node: u32) -> String {
        self.hugepages
            .iter()
            .find(|(n, _)| *n == node)
            .map(|(_, p)| format!(", huge pages: {p}"))
            .unwrap_or_default()
    }
}

// Integer coordinates: no float formatting code in the wasm.
// A CPU's box: the style sheet sizes it (`g.cpu rect`, which repeats these two numbers).
const CPU_W: i32 = 34;
const CPU_H: i32 = 24;
const GAP: i32 = 4;
const CORES_PER_ROW: usize = 8;
const ROW: i32 = CORES_PER_ROW as i32;

/// Hosts with more online CPUs than this open only the guest's node at first; every node can be opened
/// and closed with its header.
const FOLD_ABOVE_CPUS: usize = 256;

/// Draws the host's topology, one SVG per NUMA node under a header that opens and closes it; the roles
/// and huge pages follow `layout`.
#[component]
pub fn TopologyMap(host: Host, layout: Memo<Layout>) -> impl IntoView {
    let threads = host
        .cpus()
        .map(|c| c.siblings.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let core_w = threads as i32 * (CPU_W + 2) + 6;
    let width = ROW * (core_w + GAP) + 24;
    // One role signal per CPU, set by a single render effect only where the role changed: a new plan
    // touches the DOM of those CPUs alone.
    let mut ids: Vec<u32> = host.cpus().map(|c| c.id).collect();
    ids.sort_unstable();
    let roles: Vec<RwSignal<Role>> = ids
        .iter()
        .map(|&id| RwSignal::new(layout.with_untracked(|l| l.role(id))))
        .collect();
    let updater = RenderEffect::new({
        let roles = roles.clone();
        let ids = ids.clone();
        move |_| {
            layout.with(|l| {
                for (signal, &id) in roles.iter().zip(&ids) {
                    let role = l.role(id);
                    if signal.get_untracked() != role {
                        signal.set(role);
                    }
                }
            })
        }
    });
    // Kept alive as long as the map is on screen.
    StoredValue::new_local(updater);
    let fold = ids.len() > FOLD_ABOVE_CPUS;
    let first_with_cpus = host.cells.iter().find(|c| !c.cpus.is_empty()).map(|c| c.id);
    let nodes = host
        .cells
        .iter()
        .map(|cell| {
            let node = cell.id;
            let cell = cell.clone();
            let (roles, ids) = (roles.clone(), ids.clone());
            // None: open as the layout says (every node of a small host; on a large one, the guest's
            // node, or the first node while no guest is placed); Some: as the user chose.
            // A memo, so that the drawing is rebuilt only when the node opens or closes, not on every
            // new layout.
            let chosen = RwSignal::new(None::<bool>);
            let open = Memo::new(move |_| {
                chosen.get().unwrap_or_else(|| {
                    !fold
                        || layout.with(|l| match l.guest_node {
                            Some(n) => n == node,
                            None => Some(node) == first_with_cpus,
                        })
                })
            });
            let memory = cell.memory_kib.map_or("memory unknown".into(), format_kib);
            let cpus = match cell.cpus.len() {
                0 => "no CPUs".to_string(),
                1 => "1 CPU".to_string(),
                n => format!("{n} CPUs"),
            };
            let head = format!("NUMA node {node}: {memory}, {cpus}");
            let header = move || format!("{head}{}", layout.with(|l| l.pages(node)));
            let drawing = move || {
                open.get().then(|| {
                    let role_of =
                        |id: u32| roles[ids.binary_search(&id).expect("every drawn CPU is online")];
                    node_svg(&cell, width, core_w, role_of)
                })
            };
            view! {
                <div class="node" data-node=node>
                    <button class="node-toggle" aria-expanded=move || open.get().to_string()
                        on:click=move |_| chosen.set(Some(!open.get_untracked()))>{header}</button>
                    {drawing}
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="topology-map" data-testid="topology-map" role="group" aria-label="Host topology map">
            {nodes}
        </div>
    }
}

/// Draws one node's sockets, cores and CPUs.
fn node_svg(
    cell: &rtkvm_core::host::Cell,
    width: i32,
    core_w: i32,
    role_of: impl Fn(u32) -> RwSignal<Role>,
) -> AnyView {
    let mut y = 4;
    let cell_cores = cell.cores();
    let mut sockets: Vec<u32> = cell_cores.iter().map(|c| c.socket).collect();
    sockets.sort_unstable();
    sockets.dedup();
    let mut shapes = Vec::new();
    for socket in sockets {
        let cores: Vec<_> = cell_cores.iter().filter(|c| c.socket == socket).collect();
        let rows = cores.len().div_ceil(CORES_PER_ROW) as i32;
        let socket_top = y;
        let socket_h = 20 + rows * (CPU_H + 10) + 4;
        shapes.push(view! {
            <rect class="socket" x="8" y=socket_top width=width - 16 height=socket_h rx="4"></rect>
            <text class="label" x="14" y=socket_top + 14>{format!("socket {socket}")}</text>
        }.into_any());
        for (i, core) in cores.iter().enumerate() {
            let cx = 14 + (i % CORES_PER_ROW) as i32 * (core_w + GAP);
            let cy = socket_top + 20 + (i / CORES_PER_ROW) as i32 * (CPU_H + 10);
            shapes.push(
                view! {
                    <rect class="core" x=cx y=cy width=core_w - 2 height=CPU_H + 6 rx="3"></rect>
                }
                .into_any(),
            );
            for (t, cpu_id) in core.cpus.iter().enumerate() {
                let cpu = cell
                    .cpus
                    .iter()
                    .find(|c| c.id == cpu_id)
                    .expect("core CPUs are online");
                let role = role_of(cpu_id);
                let die = cpu.die.map(|d| format!(", die {d}")).unwrap_or_default();
                let place = format!(
                    "CPU {cpu_id}: node {}, socket {}{die}, core {}, siblings {} — ",
                    cell.id, cpu.socket, cpu.core, cpu.siblings
                );
                let transform =
                    format!("translate({} {})", cx + 3 + t as i32 * (CPU_W + 2), cy + 3);
                // One effect per CPU: a CPU whose role changes is drawn anew. It is placed by one
                // transform; the box's size and the label's anchor come from the style sheet, so that
                // a CPU costs few DOM calls.
                shapes.push(
                    (move || {
                        let role = role.get();
                        let label = match role {
                            Role::Vcpu(k) => format!("v{k}"),
                            _ => cpu_id.to_string(),
                        };
                        view! {
                            <g class=role.class() tabindex="0" data-cpu=cpu_id transform=transform.clone()>
                                <title>{format!("{place}{}", role.describe())}</title>
                                <rect></rect>
                                <text x=CPU_W / 2 y="16">{label}</text>
                            </g>
                        }
                    })
                    .into_any(),
                );
            }
        }
        y += socket_h + 6;
    }
    let height = y.max(10);
    view! {
        <svg class="topology" viewBox=format!("0 0 {width} {height}") width=width height=height
             role="img" aria-label=format!("NUMA node {}", cell.id)>
            {shapes}
        </svg>
    }
    .into_any()
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
