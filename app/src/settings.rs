//! Sections 2 and 3: the host's settings and the guest's.

use leptos::prelude::*;
use rtkvm_core::form::{page_size_choices, GuestForm};
use rtkvm_core::settings::{
    EmulatorPolicy, Kernel, KernelType, Preset, Recipe, Reserve, Scheduler,
};

use crate::fields::{named, Choice, Field};
use crate::state::AppState;

#[component]
pub fn SettingsForm() -> impl IntoView {
    let state = expect_context::<AppState>();
    // The node menu lists the host's nodes with CPUs; the page size menu the sizes this host offers.
    // Each also shows the value the form holds when the host lacks it, so that the menu never shows
    // something other than what the plan uses.
    let node_options = Signal::derive(move || {
        let current = state.form.with(|f| f.node.trim().to_string());
        let mut options = vec![(
            "auto".to_string(),
            "automatic (highest node it fits on)".to_string(),
        )];
        state.host.with(|host| {
            if let Ok(host) = host {
                for cell in host.cells.iter().filter(|c| !c.cpus.is_empty()) {
                    options.push((cell.id.to_string(), format!("node {}", cell.id)));
                }
            }
        });
        if !options.iter().any(|(value, _)| *value == current) {
            options.push((
                current.clone(),
                format!("node {current} (not on this host)"),
            ));
        }
        options
    });
    let page_sizes = Signal::derive(move || {
        let current = state.form.with(|f| f.page_size.clone());
        state
            .host
            .with(|host| page_size_choices(host.as_deref().ok(), &current))
    });
    let (presets, schedulers, emulators, kernels, kernel_types, reserves) = (
        named::<Preset>(),
        named::<Scheduler>(),
        named::<EmulatorPolicy>(),
        named::<Kernel>(),
        named::<KernelType>(),
        named::<Reserve>(),
    );
    let recipes = Signal::stored(
        Recipe::ALL
            .iter()
            .rev()
            .map(|r| {
                let latest = if *r == Recipe::default() {
                    ", current"
                } else {
                    ""
                };
                (
                    r.number().to_string(),
                    // Short enough for the form's column: the number and the date of the revision.
                    format!("{} ({}){latest}", r.number(), revision_date(r.describe())),
                )
            })
            .collect::<Vec<_>>(),
    );
    view! {
        <section class="card settings">
            <h2>"2. Host"</h2>
            <div class="grid">
                <Field id="host-cpus" label="CPUs kept per node" input_type="number" min="1" max="64"
                    hint="Whole cores, lowest ids first, until they hold this many CPUs."
                    get=|f| f.host_cpus.clone() set=|f, v| f.host_cpus = v/>
                <Field id="housekeeping" label="Housekeeping CPUs"
                    hint="A list such as 0-1,8-9 replaces the count above; empty to use it."
                    get=|f| f.housekeeping.clone() set=|f, v| f.housekeeping = v/>
                <Field id="host-memory" label="Memory kept per node"
                    hint="Normal pages for the host OS, e.g. 6G."
                    get=|f| f.host_memory.clone() set=|f, v| f.host_memory = v/>
                <Choice id="page-size" label="Huge page size"
                    hint="Automatic: the size the menu names, this host's largest up to 1 GiB."
                    options=page_sizes
                    get=|f| f.page_size.clone() set=|f, v| f.page_size = v/>
                <Choice id="reserve" label="Huge pages"
                    hint="All: every node's memory beyond the host's, so that more guests start without a reboot. Only the guest's: the rest stays normal memory."
                    options=reserves
                    get=|f| f.reserve.clone() set=|f, v| f.reserve = v/>
                <Field id="spare" label="Spare huge pages"
                    hint="With only the guest's: more pages on its node for guests started later without a reboot, e.g. 8G; empty for none."
                    get=|f| f.spare.clone() set=|f, v| f.spare = v/>
                <Choice id="preset" label="Kernel parameters" hint="Full: like tuned's realtime-virtual-host."
                    options=presets
                    get=|f| f.preset.clone() set=|f, v| f.preset = v/>
                <Choice id="recipe" label="Recipe"
                    hint="What rtkvm writes: 1 libvirt's guide; 2 the production guest; 3 and the host; 4 and stalld, the IOMMU and the RT kernel checked. A shared link keeps the revision it was made with."
                    options=recipes
                    get=|f| f.recipe.clone() set=|f, v| f.recipe = v/>
                <Choice id="kernel" label="Host kernel"
                    hint="Recipe 3 writes only what this kernel takes."
                    options=kernels
                    get=|f| f.kernel.clone() set=|f, v| f.kernel = v/>
                <Choice id="kernel-type" label="Kernel type"
                    hint="PREEMPT_RT bounds latency; it has ktimers threads."
                    options=kernel_types
                    get=|f| f.kernel_type.clone() set=|f, v| f.kernel_type = v/>
            </div>
            <h2>"3. Guest"</h2>
            <div class="grid">
                <Field id="name" label="Name" hint="The libvirt domain name."
                    get=|f| f.name.clone() set=|f, v| f.name = v/>
                <Field id="vcpus" label="vCPUs" input_type="number" min="1" max="1024"
                    hint="One isolated core each; Linux guests need 2 or more."
                    get=|f| f.vcpus.clone() set=|f, v| f.vcpus = v/>
                <Field id="memory" label="Memory" hint="A multiple of the page size, e.g. 16G."
                    get=|f| f.memory.clone() set=|f, v| f.memory = v/>
                <Choice id="node" label="Host NUMA node" hint="Where the vCPUs and memory go."
                    options=node_options
                    get=|f| f.node.clone() set=|f, v| f.node = v/>
                <Field id="rt-vcpus" label="Real-time vCPUs"
                    hint="^0: all but vCPU 0, the guest's housekeeping vCPU (default); a list (1-3); none; or all, as libvirt's guide (no housekeeping vCPU)."
                    get=|f| f.rt_vcpus.clone() set=|f, v| f.rt_vcpus = v/>
                <Choice id="scheduler" label="Scheduler" hint="The real-time policy of the vCPU threads."
                    options=schedulers
                    get=|f| f.scheduler.clone() set=|f, v| f.scheduler = v/>
                <Field id="priority" label="Priority" input_type="number" min="1" max="99"
                    hint="1 to 99." get=|f| f.priority.clone() set=|f, v| f.priority = v/>
                <Choice id="emulator" label="Emulator threads"
                    hint="Isolate: a core of their own, one more than the vCPUs (Nova's isolate)."
                    options=emulators
                    get=|f| f.emulator.clone() set=|f, v| f.emulator = v/>
            </div>
            <OtherGuests/>
        </section>
    }
}

/// The fields of one guest after the first, as the page names them: `(key, label)`.
const GUEST_FIELDS: [(&str, &str); 8] = [
    ("name", "Name"),
    ("vcpus", "vCPUs"),
    ("memory", "Memory"),
    ("node", "Host NUMA node (auto or a number)"),
    ("rt-vcpus", "Real-time vCPUs"),
    ("scheduler", "Scheduler (fifo or rr)"),
    ("priority", "Priority"),
    ("emulator", "Emulator threads (share or isolate)"),
];

/// The field of a guest form named `key`.
fn guest_field<'a>(g: &'a mut GuestForm, key: &str) -> &'a mut String {
    match key {
        "name" => &mut g.name,
        "vcpus" => &mut g.vcpus,
        "memory" => &mut g.memory,
        "node" => &mut g.node,
        "rt-vcpus" => &mut g.rt_vcpus,
        "scheduler" => &mut g.scheduler,
        "priority" => &mut g.priority,
        _ => &mut g.emulator,
    }
}

/// The guests after the first: each a card of its own fields with Remove, and Add a guest, which
/// copies the first guest under a new name. They are planned together with the first: the host is
/// partitioned once, and no two guests share a core.
#[component]
fn OtherGuests() -> impl IntoView {
    let state = expect_context::<AppState>();
    let count = Memo::new(move |_| state.form.with(|f| f.others.len()));
    let add = move |_| {
        state.form.update(|f| {
            let mut guest = f.first_guest();
            guest.keep = None;
            let taken = |name: &str| f.name == name || f.others.iter().any(|o| o.name == name);
            let mut n = f.others.len() + 2;
            while taken(&format!("{}-{n}", f.name)) {
                n += 1;
            }
            guest.name = format!("{}-{n}", f.name);
            f.others.push(guest);
        });
    };
    view! {
        <div class="other-guests" data-testid="other-guests">
            {move || (0..count.get()).map(|i| other_guest(state, i)).collect_view()}
            <button data-testid="add-guest" on:click=add
                disabled=move || { count.get() + 1 >= rtkvm_core::settings::MAX_GUESTS }>"Add a guest"</button>
            <small class="hint">"Another real-time guest on this host, planned with the first: its own whole cores, on the node you choose or the highest one it fits on."</small>
        </div>
    }
}

/// The card of guest `i + 2`.
fn other_guest(state: AppState, i: usize) -> impl IntoView {
    let number = i + 2;
    let fields = GUEST_FIELDS
        .iter()
        .map(|&(key, label)| {
            let id = format!("guest{number}-{key}");
            view! {
                <div class="field">
                    <label for=id.clone()>{label}</label>
                    <input id=id.clone() data-testid=id type="text"
                        prop:value=move || state.form.with(|f| {
                            f.others.get(i).map(|g| guest_field(&mut g.clone(), key).clone()).unwrap_or_default()
                        })
                        on:input=move |ev| {
                            let value = event_target_value(&ev);
                            state.form.update(|f| {
                                if let Some(g) = f.others.get_mut(i) {
                                    *guest_field(g, key) = value;
                                }
                            });
                        }/>
                </div>
            }
        })
        .collect_view();
    let title = move || {
        state
            .form
            .with(|f| f.others.get(i).map(|g| g.name.clone()).unwrap_or_default())
    };
    view! {
        <fieldset class="guest-card" data-testid=format!("guest-card-{number}")>
            <legend>{format!("Guest {number}: ")}{title}</legend>
            <div class="grid">{fields}</div>
            <button data-testid=format!("remove-guest-{number}")
                aria-label=move || format!("Remove guest {}", title())
                on:click=move |_| state.form.update(|f| {
                    if i < f.others.len() {
                        f.others.remove(i);
                    }
                })>"Remove"</button>
        </fieldset>
    }
}

/// The date a recipe's description ends with, in parentheses (`2026-12`), or else its first words
/// (`libvirt's guide`).
fn revision_date(describe: &'static str) -> &'static str {
    describe
        .rsplit_once('(')
        .and_then(|(_, date)| date.strip_suffix(')'))
        .unwrap_or_else(|| describe.split(',').next().unwrap_or(describe))
}
