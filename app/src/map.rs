//! The topology map: NUMA nodes, sockets, cores and their threads in SVG, each CPU coloured by role.

use std::sync::Arc;

use leptos::prelude::*;
use rtkvm_core::host::Host;
use rtkvm_core::plan::{GuestPlan, NodePages, NodePartition};
use rtkvm_core::settings::EmulatorPolicy;
use rtkvm_core::units::format_kib;
use rtkvm_core::CpuSet;

/// How many guests have a colour and a pattern of their own; later guests reuse them in turn (the
/// legend, the CPU's tooltip and the map's line still name each one).
const GUEST_STYLES: usize = 8;

/// The classes of a CPU running a vCPU of a guest, by the guest's style: the first guest's is the
/// plain vCPU colour, as with one guest.
const VCPU_CLASSES: [&str; GUEST_STYLES] = [
    "cpu vcpu",
    "cpu vcpu g1",
    "cpu vcpu g2",
    "cpu vcpu g3",
    "cpu vcpu g4",
    "cpu vcpu g5",
    "cpu vcpu g6",
    "cpu vcpu g7",
];

/// The classes of a CPU of a guest's own emulator core, drawn in the guest's style when a plan has
/// several guests.
const EMU_CLASSES: [&str; GUEST_STYLES] = [
    "cpu emu",
    "cpu emu g1",
    "cpu emu g2",
    "cpu emu g3",
    "cpu emu g4",
    "cpu emu g5",
    "cpu emu g6",
    "cpu emu g7",
];

/// The classes of a guest's swatch in the legend, by the guest's style.
const SWATCH_CLASSES: [&str; GUEST_STYLES] = [
    "swatch vcpu",
    "swatch vcpu g1",
    "swatch vcpu g2",
    "swatch vcpu g3",
    "swatch vcpu g4",
    "swatch vcpu g5",
    "swatch vcpu g6",
    "swatch vcpu g7",
];

/// What a CPU is used for in the plan; guests are named by their position in the plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Role {
    /// Kept for the host OS.
    Host,
    /// Running the emulator threads of the guests of this mask (bit `i`: guest `i`): a housekeeping
    /// CPU, or, when `own`, a CPU of the isolated core of the plan's one guest's own.
    Emulator { guests: u64, own: bool },
    /// In a plan of several guests, a CPU of the isolated core of this guest's own emulator
    /// threads, drawn in the guest's style.
    GuestEmulator(usize),
    /// Isolated and free.
    Isolated,
    /// Running vCPU `k` of guest `guest`, with the real-time scheduler or not.
    Vcpu { guest: usize, k: usize, rt: bool },
    /// An isolated SMT sibling of a core of guest `.0`'s vCPUs, left idle.
    IdleSibling(usize),
    /// No role: the host's settings make no partition, so the map shows the topology alone.
    Unplanned,
}

impl Role {
    /// The CPU's classes.
    fn class(self) -> &'static str {
        match self {
            Role::Host => "cpu host",
            Role::Emulator { .. } => "cpu emulator",
            Role::GuestEmulator(guest) => EMU_CLASSES[guest % GUEST_STYLES],
            Role::Isolated => "cpu isolated",
            Role::Vcpu { guest, .. } => VCPU_CLASSES[guest % GUEST_STYLES],
            Role::IdleSibling(_) => "cpu idle",
            Role::Unplanned => "cpu unplanned",
        }
    }

    /// What the CPU's title and the map's line say of its role, naming the guests. (Not inlined:
    /// it runs only when a CPU is pointed at or reached with the keyboard, never before the first
    /// plan.)
    #[inline(never)]
    fn describe(self, guests: &[Placed]) -> String {
        let name = |i: usize| guests.get(i).map_or("", |g| g.name.as_str());
        match self {
            Role::Host => "host (housekeeping)".into(),
            Role::Emulator { guests: mask, own } => {
                let mut of = String::new();
                for i in (0..guests.len().min(64)).filter(|&i| mask & (1 << i) != 0) {
                    if !of.is_empty() {
                        of.push_str(", ");
                    }
                    of.push_str(name(i));
                }
                let place = if own {
                    "isolated"
                } else {
                    "host (housekeeping)"
                };
                format!("{place}, runs the emulator threads of {of}")
            }
            Role::GuestEmulator(guest) => {
                format!("isolated, runs the emulator threads of {}", name(guest))
            }
            Role::Isolated => "isolated, free".into(),
            Role::Vcpu { guest, k, rt } => {
                let rt = if rt { "real-time" } else { "not real-time" };
                format!("isolated, runs vCPU {k} of {} ({rt})", name(guest))
            }
            Role::IdleSibling(guest) => format!(
                "isolated, idle SMT sibling of a vCPU's core of {}",
                name(guest)
            ),
            Role::Unplanned => "no role: the host settings make no partition".into(),
        }
    }
}

/// What the map shows of a placed guest.
#[derive(Debug)]
struct Placed {
    name: String,
    node: u32,
    /// The host CPU of every vCPU.
    vcpupin: Vec<u32>,
    /// The real-time vCPUs.
    rt: CpuSet,
    /// The CPUs of its emulator threads.
    emulator: CpuSet,
    /// Whether they are an isolated core of its own.
    own: bool,
    /// Its idle SMT siblings.
    idle: CpuSet,
}

/// The roles of every CPU and the huge pages of every node: what the map colours. The default
/// layout has no partition: every CPU is drawn without a role (never as the host's). Not compared
/// (a new plan is a new layout): the map repaints only the CPUs whose role changed.
#[derive(Debug, Default)]
pub struct Layout {
    /// Whether the host's partition was made: without it no CPU has a role.
    partitioned: bool,
    isolated: CpuSet,
    /// The guests placed, in the plan's order (none while they are not).
    guests: Vec<Placed>,
    hugepages: Vec<(u32, String)>,
}

impl Layout {
    /// Collects the roles from a partition and the guests placed on it.
    pub fn new<'a>(
        nodes: &[NodePartition],
        guests: impl Iterator<Item = &'a GuestPlan>,
        pages: &[NodePages],
    ) -> Layout {
        let mut isolated = CpuSet::new();
        for node in nodes {
            isolated.extend_from(&node.isolated);
        }
        Layout {
            partitioned: true,
            isolated,
            guests: guests
                .map(|g| Placed {
                    name: g.name.clone(),
                    node: g.node,
                    vcpupin: g.vcpupin.clone(),
                    rt: g.rt_vcpus.clone(),
                    emulator: g.emulatorpin.clone(),
                    own: g.emulator == EmulatorPolicy::Isolate,
                    idle: g.idle_siblings.clone(),
                })
                .collect(),
            hugepages: pages
                .iter()
                .map(|p| {
                    let pages = match p.count {
                        0 => "none".to_string(),
                        n => format!("{n} × {}", format_kib(p.page_size_kib)),
                    };
                    (p.node, pages)
                })
                .collect(),
        }
    }

    /// Whether several guests are placed: each is then drawn in a style of its own.
    fn several(&self) -> bool {
        self.guests.len() > 1
    }

    fn role(&self, cpu: u32) -> Role {
        if !self.partitioned {
            return Role::Unplanned;
        }
        // Housekeeping CPUs may run several guests' emulator threads: one role names them all.
        let (mut emulator, mut own) = (0u64, false);
        for (i, g) in self.guests.iter().enumerate() {
            if let Some(k) = g.vcpupin.iter().position(|&c| c == cpu) {
                let rt = g.rt.contains(k as u32);
                return Role::Vcpu { guest: i, k, rt };
            }
            if g.idle.contains(cpu) {
                return Role::IdleSibling(i);
            }
            if g.emulator.contains(cpu) {
                if g.own && self.several() {
                    return Role::GuestEmulator(i);
                }
                emulator |= 1 << (i % 64);
                own |= g.own;
            }
        }
        if emulator != 0 {
            Role::Emulator {
                guests: emulator,
                own,
            }
        } else if self.isolated.contains(cpu) {
            Role::Isolated
        } else {
            Role::Host
        }
    }

    /// What a node's header adds: its huge pages and, with several guests, the guests placed there.
    fn pages(&self, node: u32) -> String {
        let mut text = self
            .hugepages
            .iter()
            .find(|(n, _)| *n == node)
            .map(|(_, p)| format!(", huge pages: {p}"))
            .unwrap_or_default();
        if self.several() {
            let mut sep = "; guests ";
            for g in self.guests.iter().filter(|g| g.node == node) {
                text.push_str(sep);
                text.push_str(&g.name);
                sep = ", ";
            }
        }
        text
    }

    /// The legend of several guests: the roles, then each guest in its style, with its name.
    #[inline(never)]
    fn legend(&self) -> Vec<(&'static str, String)> {
        let mut items: Vec<(&'static str, String)> = [
            ("swatch host", "host (housekeeping)"),
            ("swatch emulator", "emulator threads on the host's CPUs"),
            ("swatch isolated", "isolated, free"),
            ("swatch idle", "idle SMT sibling"),
        ]
        .into_iter()
        .map(|(class, text)| (class, text.to_string()))
        .collect();
        for (i, g) in self.guests.iter().enumerate() {
            let emu = if g.own {
                ", its emulator core (emu)"
            } else {
                ""
            };
            items.push((
                SWATCH_CLASSES[i % GUEST_STYLES],
                format!("{}: vCPU k (vk){emu}", g.name),
            ));
        }
        items
    }
}

// Integer coordinates: no float formatting code in the wasm.
// A CPU's box: the style sheet sizes it (`g.cpu rect`, which repeats these two numbers).
const CPU_W: i32 = 34;
const CPU_H: i32 = 24;
const GAP: i32 = 4;
/// The most cores in one row of a socket; fewer where the map would be wider than the page.
const MAX_CORES_PER_ROW: i32 = 8;

/// Hosts with more online CPUs than this open only the guest's node at first; every node can be opened
/// and closed with its header.
const FOLD_ABOVE_CPUS: usize = 256;

const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// One drawn CPU: its elements, so that a new layout repaints only the CPUs whose role changed, and
/// where it sits, for the arrow keys.
struct Drawn {
    id: u32,
    role: Role,
    /// `CPU 12: node 1, socket 1, core 0, siblings 12`.
    place: String,
    g: web_sys::Element,
    /// The tooltip, made when the pointer first comes over the CPU (not for every CPU at start).
    title: Option<web_sys::Element>,
    label: web_sys::Element,
    x: i32,
    y: i32,
}

impl Drawn {
    /// The CPU's place and role, naming the guests of `layout`.
    fn describe(&self, layout: &Layout) -> String {
        format!("{} — {}", self.place, self.role.describe(&layout.guests))
    }

    /// Draws the CPU with its role in `layout`. (A tooltip made earlier follows it; one whose
    /// guest is renamed follows when the pointer next comes over it.)
    fn paint(&mut self, role: Role, layout: &Layout) {
        self.role = role;
        let _ = self.g.set_attribute("class", role.class());
        if let Some(title) = &self.title {
            title.set_text_content(Some(&self.describe(layout)));
        }
        let label = match role {
            Role::Vcpu { k, .. } => format!("v{k}"),
            Role::GuestEmulator(_) => "emu".into(),
            _ => self.id.to_string(),
        };
        self.label.set_text_content(Some(&label));
    }

    /// Gives the CPU its tooltip, as the map's line says it, and returns the text.
    fn titled(&mut self, layout: &Layout) -> String {
        let text = self.describe(layout);
        if self.title.is_none() {
            let document = self.g.owner_document();
            self.title = document
                .and_then(|d| d.create_element_ns(Some(SVG_NS), "title").ok())
                .inspect(|t| {
                    let _ = self.g.insert_before(t, self.g.first_child().as_ref());
                });
        }
        if let Some(title) = &self.title {
            title.set_text_content(Some(&text));
        }
        text
    }
}

/// The drawn CPUs of every open node (by position in the host's cells), and the CPU the keyboard is on.
#[derive(Default)]
struct Drawing {
    nodes: Vec<Vec<Drawn>>,
    focus: Option<(usize, usize)>,
}

impl Drawing {
    fn get(&self, at: (usize, usize)) -> Option<&Drawn> {
        self.nodes.get(at.0)?.get(at.1)
    }

    /// Every drawn CPU's position, in drawing order.
    fn positions(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .flat_map(|(n, cpus)| (0..cpus.len()).map(move |i| (n, i)))
    }

    /// Where an arrow key (or Home, End) moves the keyboard from `at`.
    fn step(&self, at: (usize, usize), key: &str) -> Option<(usize, usize)> {
        let all: Vec<_> = self.positions().collect();
        let i = all.iter().position(|&p| p == at)?;
        let here = self.get(at)?;
        // The nearest CPU of the next (or previous) row of the same node, else the next node's first
        // (or the previous node's last) CPU.
        let row = |down: bool| {
            let cpus = &self.nodes[at.0];
            let y = cpus
                .iter()
                .map(|c| c.y)
                .filter(|&y| if down { y > here.y } else { y < here.y })
                .reduce(|a, b| if down { a.min(b) } else { a.max(b) });
            match y {
                Some(y) => cpus
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.y == y)
                    .min_by_key(|(_, c)| (c.x - here.x).abs())
                    .map(|(k, _)| (at.0, k)),
                None if down => all[i..].iter().find(|p| p.0 > at.0).copied(),
                None => all[..i].iter().rev().find(|p| p.0 < at.0).copied(),
            }
        };
        match key {
            "ArrowRight" => all.get(i + 1).copied(),
            "ArrowLeft" => i.checked_sub(1).map(|k| all[k]),
            "ArrowDown" => row(true),
            "ArrowUp" => row(false),
            "Home" => all.first().copied(),
            "End" => all.last().copied(),
            _ => None,
        }
    }

    /// Moves the keyboard to `to` and returns what the map's line says of that CPU.
    fn focus(&mut self, to: (usize, usize), layout: &Layout) -> Option<String> {
        if let Some(old) = self.focus.and_then(|at| self.get(at)) {
            let _ = old.g.class_list().remove_1("focus");
        }
        let new = self.get(to)?;
        let _ = new.g.class_list().add_1("focus");
        let nearest = web_sys::ScrollIntoViewOptions::new();
        nearest.set_block(web_sys::ScrollLogicalPosition::Nearest);
        nearest.set_inline(web_sys::ScrollLogicalPosition::Nearest);
        new.g
            .scroll_into_view_with_scroll_into_view_options(&nearest);
        let line = new.describe(layout);
        self.focus = Some(to);
        Some(line)
    }
}

/// The SVG of an open node, drawn as its element is created (so that the map is on screen with the
/// plan, not an effect later), straight into the DOM: a host's map is thousands of shapes, which cost
/// far less this way than as reactive views.
#[derive(Clone)]
struct NodeDrawing {
    host: Arc<Host>,
    position: usize,
    geometry: Geometry,
    layout: Memo<Layout>,
    drawing: StoredValue<Drawing, LocalStorage>,
}

impl leptos::tachys::html::node_ref::NodeRefContainer<leptos::svg::Svg> for NodeDrawing {
    fn load(self, svg: &web_sys::Element) {
        let drawn = self
            .layout
            .with_untracked(|l| draw_node(svg, &self.host.cells[self.position], self.geometry, l));
        self.drawing
            .update_value(|d| d.nodes[self.position] = drawn);
    }
}

/// The sizes every node of a host is drawn with.
#[derive(Clone, Copy)]
struct Geometry {
    /// A core's width: its widest SMT width of CPUs side by side.
    core_w: i32,
    /// Cores per row of a socket.
    per_row: i32,
    /// The SVG's width.
    width: i32,
}

impl Geometry {
    /// Fits the rows to the page (the window's width, less the page's margins), at most eight cores
    /// per row: text keeps its size and a wide socket wraps onto more rows.
    fn new(host: &Host) -> Geometry {
        let threads = host
            .cpus()
            .map(|c| c.siblings.len())
            .max()
            .unwrap_or(1)
            .max(1) as i32;
        let core_w = threads * (CPU_W + 2) + 6;
        let page = web_sys::window()
            .and_then(|w| w.inner_width().ok())
            .and_then(|w| w.as_f64())
            .map_or(760, |w| (w as i32 - 70).clamp(300, 760));
        let per_row = ((page - 24) / (core_w + GAP)).clamp(1, MAX_CORES_PER_ROW);
        Geometry {
            core_w,
            per_row,
            width: per_row * (core_w + GAP) + 24,
        }
    }
}

/// Draws the host's topology, one SVG per NUMA node under a header that opens and closes it; the roles
/// and huge pages follow `layout`. The map is one tab stop: the arrow keys move between CPUs and a line
/// under it says the CPU's place and role (as does the pointer).
#[component]
pub fn TopologyMap(host: Arc<Host>, layout: Memo<Layout>) -> impl IntoView {
    let geometry = Geometry::new(&host);
    let drawing = StoredValue::new_local(Drawing {
        nodes: host.cells.iter().map(|_| Vec::new()).collect(),
        focus: None,
    });
    // A new layout repaints the CPUs whose role changed, as part of the update that made it.
    let updater = RenderEffect::new(move |_| {
        layout.with(|l| {
            drawing.update_value(|d| {
                for cpu in d.nodes.iter_mut().flatten() {
                    let role = l.role(cpu.id);
                    if cpu.role != role {
                        cpu.paint(role, l);
                    }
                }
            })
        })
    });
    // Kept alive as long as the map is on screen.
    StoredValue::new_local(updater);
    let line = RwSignal::new(String::new());
    let fold = host.cpus().count() > FOLD_ABOVE_CPUS;
    let first_with_cpus = host.cells.iter().find(|c| !c.cpus.is_empty()).map(|c| c.id);
    let nodes = host
        .cells
        .iter()
        .enumerate()
        .map(|(position, cell)| {
            let node = cell.id;
            // None: open as the layout says (every node of a small host; on a large one, the guests'
            // nodes, or the first node while no guest is placed); Some: as the user chose.
            // A memo, so that the drawing is rebuilt only when the node opens or closes, not on every
            // new layout.
            let chosen = RwSignal::new(None::<bool>);
            let open = Memo::new(move |_| {
                chosen.get().unwrap_or_else(|| {
                    !fold
                        || layout.with(|l| {
                            if l.guests.is_empty() {
                                Some(node) == first_with_cpus
                            } else {
                                l.guests.iter().any(|g| g.node == node)
                            }
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
            let svg = NodeDrawing {
                host: host.clone(),
                position,
                geometry,
                layout,
                drawing,
            };
            let shown = move || {
                if open.get() {
                    Some(view! {
                        <svg class="topology" node_ref=svg.clone() role="img"
                            aria-label=format!("NUMA node {node}")></svg>
                    })
                } else {
                    // A closed node has nothing drawn, and the keyboard leaves it.
                    drawing.update_value(|d| {
                        d.nodes[position].clear();
                        if d.focus.is_some_and(|f| f.0 == position) {
                            d.focus = None;
                        }
                    });
                    None
                }
            };
            view! {
                <div class="node" data-node=node>
                    <button class="node-toggle" aria-expanded=move || open.get().to_string()
                        on:click=move |_| chosen.set(Some(!open.get_untracked()))>{header}</button>
                    {shown}
                </div>
            }
        })
        .collect_view();
    // The CPU under an event: its node's position and its index there.
    let cpu_at = move |ev: &web_sys::Event| -> Option<(usize, usize)> {
        let target: web_sys::Element = event_target(ev);
        let id: u32 = target
            .closest("g.cpu")
            .ok()??
            .get_attribute("data-cpu")?
            .parse()
            .ok()?;
        drawing.with_value(|d| {
            d.positions()
                .find(|&p| d.get(p).is_some_and(|c| c.id == id))
        })
    };
    let focus = move |to: (usize, usize)| {
        let text = layout.with_untracked(|l| drawing.try_update_value(|d| d.focus(to, l)));
        if let Some(text) = text.flatten() {
            line.set(text);
        }
    };
    view! {
        <div class="topology-map map-scroll" data-testid="topology-map" tabindex="0" role="group"
            aria-label="Host topology map: the arrow keys move between CPUs" aria-describedby="map-line"
            on:focus=move |_| {
                let at = drawing.with_value(|d| {
                    d.focus
                        .filter(|&f| d.get(f).is_some())
                        .or_else(|| d.positions().find(|&p| d.get(p).is_some_and(|c| matches!(c.role, Role::Vcpu { .. }))))
                        .or_else(|| d.positions().next())
                });
                if let Some(at) = at {
                    focus(at);
                }
            }
            on:keydown=move |ev: web_sys::KeyboardEvent| {
                let to = drawing.with_value(|d| d.focus.and_then(|at| d.step(at, &ev.key())));
                if let Some(to) = to {
                    ev.prevent_default();
                    focus(to);
                }
            }
            on:click=move |ev: web_sys::MouseEvent| {
                if let Some(at) = cpu_at(&ev) {
                    focus(at);
                }
            }
            on:mouseover=move |ev: web_sys::MouseEvent| {
                let text = cpu_at(&ev).and_then(|at| {
                    layout.with_untracked(|l| drawing.try_update_value(|d| Some(d.nodes[at.0].get_mut(at.1)?.titled(l))))
                });
                if let Some(text) = text.flatten() {
                    line.set(text);
                }
            }>
            {nodes}
        </div>
        <p class="hint map-line" id="map-line" role="status" data-testid="map-line">{line}</p>
    }
}

/// Draws one node's sockets, cores and CPUs into its SVG and returns its CPUs, in drawing order.
fn draw_node(
    svg: &web_sys::Element,
    cell: &rtkvm_core::host::Cell,
    geometry: Geometry,
    layout: &Layout,
) -> Vec<Drawn> {
    let Geometry {
        core_w,
        per_row,
        width,
    } = geometry;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return Vec::new();
    };
    // Creates an SVG element with these attributes under `parent`.
    let shape = |parent: &web_sys::Element, name: &str, attrs: &[(&str, &str)]| {
        let el = document
            .create_element_ns(Some(SVG_NS), name)
            .expect("SVG elements can be created");
        for (k, v) in attrs {
            let _ = el.set_attribute(k, v);
        }
        let _ = parent.append_child(&el);
        el
    };
    let mut drawn = Vec::new();
    let mut y = 4;
    let cell_cores = cell.cores();
    let mut sockets: Vec<u32> = cell_cores.iter().map(|c| c.socket).collect();
    sockets.sort_unstable();
    sockets.dedup();
    for socket in sockets {
        let cores: Vec<_> = cell_cores.iter().filter(|c| c.socket == socket).collect();
        let rows = cores.len().div_ceil(per_row as usize) as i32;
        let socket_top = y;
        let socket_h = 20 + rows * (CPU_H + 10) + 4;
        let (w, h, top) = (
            (width - 16).to_string(),
            socket_h.to_string(),
            socket_top.to_string(),
        );
        shape(
            svg,
            "rect",
            &[
                ("class", "socket"),
                ("x", "8"),
                ("y", &top),
                ("width", &w),
                ("height", &h),
                ("rx", "4"),
            ],
        );
        shape(
            svg,
            "text",
            &[
                ("class", "label"),
                ("x", "14"),
                ("y", &(socket_top + 14).to_string()),
            ],
        )
        .set_text_content(Some(&format!("socket {socket}")));
        for (i, core) in cores.iter().enumerate() {
            let cx = 14 + (i as i32 % per_row) * (core_w + GAP);
            let cy = socket_top + 20 + (i as i32 / per_row) * (CPU_H + 10);
            shape(
                svg,
                "rect",
                &[
                    ("class", "core"),
                    ("x", &cx.to_string()),
                    ("y", &cy.to_string()),
                    ("width", &(core_w - 2).to_string()),
                    ("height", &(CPU_H + 6).to_string()),
                    ("rx", "3"),
                ],
            );
            for (t, id) in core.cpus.iter().enumerate() {
                let Some(cpu) = cell.cpus.iter().find(|c| c.id == id) else {
                    continue;
                };
                let die = cpu.die.map(|d| format!(", die {d}")).unwrap_or_default();
                let (x, y) = (cx + 3 + t as i32 * (CPU_W + 2), cy + 3);
                // Placed by one transform; the box's size and the label's anchor come from the
                // style sheet, so that a CPU costs few DOM calls.
                let g = shape(
                    svg,
                    "g",
                    &[
                        ("data-cpu", &id.to_string()),
                        ("transform", &format!("translate({x} {y})")),
                    ],
                );
                shape(&g, "rect", &[]);
                let label = shape(&g, "text", &[("x", "17"), ("y", "16")]);
                let mut cpu = Drawn {
                    id,
                    role: Role::Host,
                    place: format!(
                        "CPU {id}: node {}, socket {}{die}, core {}, siblings {}",
                        cell.id, cpu.socket, cpu.core, cpu.siblings
                    ),
                    g,
                    title: None,
                    label,
                    x,
                    y,
                };
                cpu.paint(layout.role(id), layout);
                drawn.push(cpu);
            }
        }
        y += socket_h + 6;
    }
    let height = y.max(10);
    for (k, v) in [
        ("viewBox", format!("0 0 {width} {height}")),
        ("width", width.to_string()),
        ("height", height.to_string()),
    ] {
        let _ = svg.set_attribute(k, &v);
    }
    drawn
}

/// The legend's items with one guest: each a swatch's classes and its text.
const LEGEND: [(&str, &str); 5] = [
    ("swatch host", "host (housekeeping)"),
    ("swatch emulator", "emulator threads"),
    ("swatch isolated", "isolated, free"),
    ("swatch vcpu", "guest vCPU k (vk)"),
    ("swatch idle", "idle SMT sibling"),
];

/// The legend for the map's colours; while the host's settings make no partition, a line saying
/// so instead (the map then shows the topology alone). With several guests each has an item of its
/// own, in its colour and pattern, with its name.
#[component]
pub fn Legend(layout: Memo<Layout>) -> impl IntoView {
    // Memos: with one guest the legend is rebuilt only when the partition comes or goes; with
    // several it follows every layout (in place: only what changed reaches the DOM).
    let partitioned = Memo::new(move |_| layout.with(|l| l.partitioned));
    let several = Memo::new(move |_| layout.with(Layout::several));
    move || {
        if !partitioned.get() {
            // Built only when shown (an AnyView), so that it is not compiled at start.
            view! {
                <p class="hint legend" data-testid="no-partition">"No CPU roles: the host settings make no partition. The map shows the topology alone until the marked host field is corrected."</p>
            }
            .into_any()
        } else if several.get() {
            layout.with(|l| legend_list(l.legend()))
        } else {
            legend_list(
                LEGEND
                    .iter()
                    .map(|&(class, text)| (class, text.to_string()))
                    .collect(),
            )
        }
    }
}

/// The legend's list: each item a swatch with its classes, and its text.
fn legend_list(items: Vec<(&'static str, String)>) -> AnyView {
    view! {
        <ul class="legend">
            {items.into_iter().map(|(class, text)| view! {
                <li><span class=class></span>{text}</li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}
