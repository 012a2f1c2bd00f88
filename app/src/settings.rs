//! Sections 2 and 3: the host's settings and the guests'.

use leptos::either::Either;
use leptos::prelude::*;
use rtkvm_core::form::page_size_choices;
use rtkvm_core::settings::{
    EmulatorPolicy, Kernel, KernelType, Preset, Recipe, Reserve, Scheduler,
};
use rtkvm_core::units::format_kib;
use rtkvm_core::Form;

use crate::browser;
use crate::fields::{guest_field_id, named, quoted, sentence, Bind, Choice, Field};
use crate::state::AppState;

#[component]
pub fn SettingsForm() -> impl IntoView {
    let state = expect_context::<AppState>();
    // The page size menu offers the sizes this host offers, and the value the form holds when the
    // host lacks it, so that the menu never shows something other than what the plan uses.
    let page_sizes = Signal::derive(move || {
        let current = state.form.with(|f| f.page_size.clone());
        state
            .host
            .with(|host| page_size_choices(host.as_deref().ok(), &current))
    });
    let (presets, kernels, kernel_types, reserves) = (
        named::<Preset>(),
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
                    bind=Bind::Host(|f| f.host_cpus.clone(), |f, v| f.host_cpus = v)/>
                <Field id="housekeeping" label="Housekeeping CPUs"
                    hint="A list such as 0-1,8-9 replaces the count above; empty to use it."
                    bind=Bind::Host(|f| f.housekeeping.clone(), |f, v| f.housekeeping = v)/>
                <Field id="host-memory" label="Memory kept per node"
                    hint="Normal pages for the host OS, e.g. 6G."
                    bind=Bind::Host(|f| f.host_memory.clone(), |f, v| f.host_memory = v)/>
                <Choice id="page-size" label="Huge page size"
                    hint="Automatic: the size the menu names, this host's largest up to 1 GiB."
                    options=page_sizes
                    bind=Bind::Host(|f| f.page_size.clone(), |f, v| f.page_size = v)/>
                <Choice id="reserve" label="Huge pages"
                    hint="All: every node's memory beyond the host's, so that more guests start without a reboot. Only the guest's: the rest stays normal memory."
                    options=reserves
                    bind=Bind::Host(|f| f.reserve.clone(), |f, v| f.reserve = v)/>
                <Field id="spare" label="Spare huge pages"
                    hint="With only the guest's: more pages on its node for guests started later without a reboot, e.g. 8G; empty for none."
                    bind=Bind::Host(|f| f.spare.clone(), |f, v| f.spare = v)/>
                <Choice id="preset" label="Kernel parameters" hint="Full: like tuned's realtime-virtual-host."
                    options=presets
                    bind=Bind::Host(|f| f.preset.clone(), |f, v| f.preset = v)/>
                <Choice id="recipe" label="Recipe"
                    hint="What rtkvm writes: 1 libvirt's guide; 2 the production guest; 3 and the host; 4 and stalld, the IOMMU and the RT kernel checked. A shared link keeps the revision it was made with."
                    options=recipes
                    bind=Bind::Host(|f| f.recipe.clone(), |f, v| f.recipe = v)/>
                <Choice id="kernel" label="Host kernel"
                    hint="Recipe 3 writes only what this kernel takes."
                    options=kernels
                    bind=Bind::Host(|f| f.kernel.clone(), |f, v| f.kernel = v)/>
                <Choice id="kernel-type" label="Kernel type"
                    hint="PREEMPT_RT bounds latency; it has ktimers threads."
                    options=kernel_types
                    bind=Bind::Host(|f| f.kernel_type.clone(), |f, v| f.kernel_type = v)/>
            </div>
            <GuestCards/>
        </section>
    }
}

/// Section 3: every guest's fields. One guest's are the form's fields as they always were; with
/// several, each guest is a card of its own with the room it has beside the others (or why it does
/// not fit), Duplicate, Move up, Move down and Remove. They are planned together: the host is
/// partitioned once, and no two guests share a core.
#[component]
fn GuestCards() -> impl IntoView {
    let state = expect_context::<AppState>();
    let count = Memo::new(move |_| state.form.with(Form::guest_count));
    let add = move |_| {
        state.form.update(Form::add_guest);
        let id = guest_field_id(state.form.with_untracked(Form::guest_count) - 1, "name");
        browser::later(move || browser::focus(id));
    };
    // Built again when a guest is added or removed (not on other edits): one reactive part, so that
    // one guest's page compiles little before its first plan (the counted start-up budget).
    move || {
        let n = count.get();
        let guests = (0..n)
            .map(|i| {
                let fields = view! { <div class="grid">{guest_fields(state, i, n)}</div> };
                if n == 1 {
                    Either::Left(fields)
                } else {
                    Either::Right(guest_card(state, i, n, fields))
                }
            })
            .collect_view();
        // What each node still takes, only with several guests: one guest's page computes no room.
        let left = (n > 1).then(|| room_left(state));
        view! {
            <h2>{if n > 1 { "3. Guests" } else { "3. Guest" }}</h2>
            {guests}
            <div class="other-guests" data-testid="other-guests">
                <button data-testid="add-guest" on:click=add
                    disabled={n >= rtkvm_core::settings::MAX_GUESTS}>"Add a guest"</button>
                <small class="hint">"Another real-time guest on this host, planned with the first: its own whole cores, on the node you choose or the highest one it fits on."</small>
                {left}
            </div>
        }
    }
}

/// The fields of the guest at place `i` of `n`: the first guest's with their hints, as the page
/// always showed them; the others' compact, without.
fn guest_fields(state: AppState, i: usize, n: usize) -> impl IntoView {
    let several = n > 1;
    let hint = move |text: &'static str| if i == 0 { text } else { "" };
    // The node menu lists the host's nodes with CPUs, and the value the guest holds when the host
    // lacks it, so that the menu never shows something other than what the plan uses.
    let node_options = Signal::derive(move || {
        let current = state
            .form
            .with(|f| f.guest_field(i, "node").trim().to_string());
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
    let (schedulers, emulators) = (named::<Scheduler>(), named::<EmulatorPolicy>());
    view! {
        <Field id="name" label="Name" hint=hint("The libvirt domain name.")
            bind=Bind::Guest(i, "name") several=several/>
        <Field id="vcpus" label="vCPUs" input_type="number" min="1" max="1024"
            hint=hint("One isolated core each; Linux guests need 2 or more.")
            bind=Bind::Guest(i, "vcpus") several=several/>
        <Field id="memory" label="Memory" hint=hint("A multiple of the page size, e.g. 16G.")
            bind=Bind::Guest(i, "memory") several=several/>
        <Choice id="node" label="Host NUMA node" hint=hint("Where the vCPUs and memory go.")
            options=node_options bind=Bind::Guest(i, "node") several=several/>
        <Field id="rt-vcpus" label="Real-time vCPUs"
            hint=hint("^0: all but vCPU 0, the guest's housekeeping vCPU (default); a list (1-3); none; or all, as libvirt's guide (no housekeeping vCPU).")
            bind=Bind::Guest(i, "rt-vcpus") several=several/>
        <Choice id="scheduler" label="Scheduler" hint=hint("The real-time policy of the vCPU threads.")
            options=schedulers bind=Bind::Guest(i, "scheduler") several=several/>
        <Field id="priority" label="Priority" input_type="number" min="1" max="99"
            hint=hint("1 to 99.") bind=Bind::Guest(i, "priority") several=several/>
        <Choice id="emulator" label="Emulator threads"
            hint=hint("Isolate: a core of their own, one more than the vCPUs (Nova's isolate).")
            options=emulators bind=Bind::Guest(i, "emulator") several=several/>
    }
}

/// The card of the guest at place `i` of `n` (several): its fields, the room it has beside the
/// others or why it does not fit, and its buttons (Move up on the first card and Move down on the
/// last are disabled). A guest moved keeps the focus on the button that moved it, at its new place.
#[inline(never)]
fn guest_card(
    state: AppState,
    i: usize,
    n: usize,
    fields: impl IntoView + 'static,
) -> impl IntoView {
    let number = i + 1;
    let legend = format!("guest-legend-{number}");
    // What it can still have beside the others, or (the other line) why it does not fit.
    let room = move || {
        state.rooms.with(|r| {
            let room = r.as_ref()?.guests.get(i)?;
            let limit = room.limit().filter(|_| room.short.is_none())?;
            Some(sentence(&limit) + ".")
        })
    };
    let misfit = move || {
        state
            .rooms
            .with(|r| Some(sentence(&quoted(&r.as_ref()?.guests.get(i)?.misfit()?))))
    };
    let button = |action: &str, label: &'static str, disabled: bool| {
        let id = format!("{action}-guest-{number}");
        view! {
            <button id=id.clone() data-testid=id data-action=action.to_string() disabled=disabled
                aria-describedby=legend.clone()>{label}</button>
        }
    };
    view! {
        <fieldset class="guest-card" data-testid=format!("guest-card-{number}")>
            <legend id=legend.clone()>{format!("Guest {number}: ")}{move || state.form.with(|f| f.guest_field(i, "name").to_string())}</legend>
            {fields}
            <p class="hint" data-testid=format!("guest-room-{number}")>{room}</p>
            <p class="field-error" data-testid=format!("guest-misfit-{number}")>{misfit}</p>
            <div class="row" on:click=move |ev| card_action(state, i, n, &ev)>
                {button("duplicate", "Duplicate", false)}
                {button("move-up", "Move up", i == 0)}
                {button("move-down", "Move down", i + 1 == n)}
                {button("remove", "Remove", false)}
            </div>
        </fieldset>
    }
}

/// Does what a card's button says (its `data-action`), for the guest at place `i` of `n`, and puts
/// the focus where the user goes on: the button that moved the guest, at its new place (the other
/// one at the top or the bottom); the name of a copy; the name of the guest now at a removed one's
/// place.
#[inline(never)]
fn card_action(state: AppState, i: usize, n: usize, ev: &leptos::ev::MouseEvent) {
    use wasm_bindgen::JsCast;
    let Some(action) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.get_attribute("data-action"))
    else {
        return;
    };
    let focus_later = |place: usize| {
        let id = guest_field_id(place, "name");
        browser::later(move || browser::focus(id));
    };
    match action.as_str() {
        "duplicate" => {
            if let Some(copy) = state.form.try_update(|f| f.duplicate_guest(i)).flatten() {
                focus_later(copy);
            }
        }
        "remove" => {
            state.form.update(|f| f.remove_guest(i));
            focus_later(i.min(n - 2));
        }
        moved => {
            let to = if moved == "move-up" { i - 1 } else { i + 1 };
            state.form.update(|f| f.move_guest(i, to));
            let button = match to {
                0 => "move-down",
                to if to + 1 == n => "move-up",
                _ => moved,
            };
            browser::focus(&format!("{button}-guest-{}", to + 1));
            let name = state
                .form
                .with_untracked(|f| f.guest_field(to, "name").to_string());
            browser::announce(&format!("{name} is guest {} of {n}", to + 1));
        }
    }
}

/// What each node can still take beside the guests placed, said under the guests when there are
/// several.
#[inline(never)]
fn room_left(state: AppState) -> impl IntoView {
    let text = move || {
        state.rooms.with(|r| {
            let nodes: Vec<String> = r
                .as_ref()?
                .left
                .iter()
                .map(|c| {
                    format!(
                        "node {}: {} vCPUs, {}",
                        c.node,
                        c.vcpus,
                        format_kib(c.memory_kib)
                    )
                })
                .collect();
            Some(format!(
                " The largest further guest each node still takes beside these: {}.",
                nodes.join("; ")
            ))
        })
    };
    view! { <small class="hint" data-testid="room-left">{text}</small> }
}

/// The date a recipe's description ends with, in parentheses (`2026-12`), or else its first words
/// (`libvirt's guide`).
fn revision_date(describe: &'static str) -> &'static str {
    describe
        .rsplit_once('(')
        .and_then(|(_, date)| date.strip_suffix(')'))
        .unwrap_or_else(|| describe.split(',').next().unwrap_or(describe))
}
