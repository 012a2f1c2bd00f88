//! rtkvm in the browser: paste `virsh capabilities`, see the host, choose the guest, download the
//! outputs and share a link. All planning happens in `rtkvm-core`; this crate only renders.

mod browser;
mod domain;
mod map;
mod state;

use leptos::prelude::*;
use rtkvm_core::caps::MAX_INPUT_BYTES;
use rtkvm_core::form::page_size_choices;
use rtkvm_core::report::host_summary;
use rtkvm_core::settings::{
    EmulatorPolicy, Kernel, KernelType, Named, Preset, Recipe, Reserve, Scheduler,
};
use rtkvm_core::Form;

use map::{Layout, Legend, TopologyMap};
use state::{AppState, HostSource, LinkSource};

fn main() {
    browser::mark("rtkvm:start");
    // A page loaded with a share link opens it before it mounts (the browser inflates the payload, in
    // a few milliseconds), so that it shows the link's plan at once, not the example first.
    match browser::current_hash().filter(|h| h.len() > 1) {
        None => leptos::mount::mount_to_body(|| view! { <App link=None/> }),
        // (Leptos's executor starts with the mount, so this task is wasm-bindgen's own.)
        Some(fragment) => wasm_bindgen_futures::spawn_local(async move {
            let opened = state::open_fragment(&fragment).await;
            leptos::mount::mount_to_body(move || view! { <App link=Some((fragment, opened))/> });
        }),
    }
}

/// The whole page, with the share link it was loaded with and what it opened to.
#[component]
fn App(
    link: Option<(
        String,
        Result<rtkvm_core::link::SharedPlan, rtkvm_core::Error>,
    )>,
) -> impl IntoView {
    let state = AppState::new(link);
    provide_context(state);
    // Tell the benchmarks a plan is on screen (effects run after the DOM is updated, in the order they
    // are created: this one first, so that the mark does not include updating the address bar).
    Effect::new(move |_| {
        if state.has_plan() {
            browser::mark("rtkvm:plan-rendered");
        }
    });
    // The share link follows each change in a task of its own, after the new plan is painted; it
    // is not needed to read the plan, and compressing it would delay every keystroke's update.
    Effect::new(move |_| {
        let Some(source) = state.link.get() else {
            return;
        };
        browser::later(move || match source {
            LinkSource::Opened(fragment) => state.share.set(Some(fragment)),
            LinkSource::Payload(payload) => leptos::task::spawn_local(async move {
                match browser::deflate_raw(&payload).await {
                    // Unless the plan changed meanwhile: then its own link follows.
                    Ok(packed) => {
                        let current = state.link.with_untracked(
                            |l| matches!(l, Some(LinkSource::Payload(p)) if *p == payload),
                        );
                        if current {
                            state
                                .share
                                .set(Some(rtkvm_core::link::link_fragment(&packed)));
                        }
                    }
                    Err(e) => web_sys::console::error_1(&e),
                }
            }),
        });
    });
    // Sync the share link into the address bar.
    Effect::new(move |_| {
        if let Some(link) = state.share.get() {
            browser::replace_hash(&link);
        }
    });
    // A link pasted into the address bar of an open page changes only the fragment: follow it. (The
    // page's own updates replace the history entry, which fires no hashchange.)
    let _ = window_event_listener(leptos::ev::hashchange, move |_| {
        let Some(hash) = browser::current_hash() else {
            return;
        };
        if state.share.get_untracked().as_deref() == Some(hash.as_str()) || hash.len() <= 1 {
            return;
        }
        state.open_link(hash);
    });
    view! {
        <header>
            <h1>"rtkvm"</h1>
            <p class="tagline">"Real-time KVM guest configurator: from "<code>"virsh capabilities"</code>
               " to a host kernel command line, huge pages and a libvirt domain XML. Nothing you paste leaves this page."</p>
        </header>
        <main>
            <Notice/>
            <section class="columns">
                <div class="column">
                    <Input/>
                    <SettingsForm/>
                    <domain::DomainInput/>
                </div>
                <div class="column wide">
                    <HostView/>
                    <Problems/>
                    <domain::DomainResults/>
                    <Outputs/>
                    <GuestOs/>
                    <NextSteps/>
                </div>
            </section>
        </main>
    }
}

/// A message about the page itself: a share link that could not be opened, a file that could not be read.
#[component]
fn Notice() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        state.notice.get().map(|msg| {
            view! { <div class="notice error" role="alert" data-testid="link-error">{msg}</div> }
        })
    }
}

/// The paste box, file picker and drop zone.
#[component]
fn Input() -> impl IntoView {
    let state = expect_context::<AppState>();
    // The text area is not bound to the state: what the user types stays as typed (writing a
    // pasted 20 MiB back into it would take seconds). Loading a file or the example writes it.
    let area = NodeRef::<leptos::html::Textarea>::new();
    let initial = state.source.with_untracked(|s| match s {
        HostSource::Text(t) => t.clone(),
        HostSource::Shared(_) => String::new(),
    });
    let load_text = move |text: String| {
        if let Some(area) = area.get_untracked() {
            area.set_value(&text);
        }
        state.notice.set(None);
        state.source.set(HostSource::Text(text));
    };
    let from_link = move || state.source.with(|s| matches!(s, HostSource::Shared(_)));
    let load_file = move |file: web_sys::File| {
        let size = file.size() as usize;
        if size > MAX_INPUT_BYTES {
            state.notice.set(Some(
                rtkvm_core::Error::InputTooLarge { bytes: size }.to_string(),
            ));
            return;
        }
        leptos::task::spawn_local(async move {
            match browser::read_text(file).await {
                Ok(text) => load_text(text),
                Err(e) => state
                    .notice
                    .set(Some(format!("The file could not be read: {e}"))),
            }
        });
    };
    view! {
        <section class="card input"
            on:dragover=|ev: web_sys::DragEvent| {
                ev.prevent_default();
                browser::mark_dragging(&ev, true);
            }
            on:dragleave=|ev: web_sys::DragEvent| browser::mark_dragging(&ev, false)
            on:drop=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                browser::mark_dragging(&ev, false);
                if let Some(file) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
                    load_file(file);
                }
            }>
            <h2>"1. Host capabilities"</h2>
            <label for="caps">"Paste the output of "<code>"virsh capabilities"</code>" (or drop the saved file here)"</label>
            <Show when=from_link>
                <p class="hint" data-testid="from-link">"The host comes from a shared link. Paste capabilities to replace it."</p>
            </Show>
            <textarea id="caps" data-testid="caps-input" spellcheck="false" rows="12"
                placeholder="<capabilities>…</capabilities>"
                node_ref=area
                prop:value=initial
                on:paste=move |ev: web_sys::ClipboardEvent| {
                    // A paste too large to use is refused before the browser lays it out in the
                    // text area, which would freeze the page for seconds.
                    let text = ev.clipboard_data().and_then(|d| d.get_data("text/plain").ok());
                    if let Some(text) = text.filter(|t| t.len() > MAX_INPUT_BYTES) {
                        ev.prevent_default();
                        state.source.set(HostSource::Text(text));
                    }
                }
                on:input=move |ev| {
                    // What the page said about an earlier link or file no longer applies.
                    state.notice.set(None);
                    state.source.set(HostSource::Text(event_target_value(&ev)));
                }></textarea>
            <div class="row">
                <label class="button" for="caps-file">"Open file…"</label>
                <input id="caps-file" data-testid="caps-file" type="file" accept=".xml,.txt,.out,text/xml"
                    on:change=move |ev| {
                        let input: web_sys::HtmlInputElement = event_target(&ev);
                        if let Some(file) = input.files().and_then(|f| f.get(0)) {
                            load_file(file);
                        }
                    }/>
                <button data-testid="load-example" on:click=move |_| {
                    load_text(rtkvm_core::EXAMPLE_CAPABILITIES.to_string());
                }>"Load the example host"</button>
            </div>
        </section>
    }
}

/// One labelled form field bound to a `Form` string.
#[component]
fn Field(
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    get: fn(&Form) -> String,
    set: fn(&mut Form, String),
    #[prop(optional)] input_type: Option<&'static str>,
    #[prop(optional)] min: Option<&'static str>,
    #[prop(optional)] max: Option<&'static str>,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let hint_id = format!("{id}-hint");
    let message = field_message(state, id);
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id data-testid=id type=input_type.unwrap_or("text") min=min max=max
                aria-describedby=hint_id.clone() aria-invalid=invalid(message)
                prop:value=move || state.form.with(get)
                on:input=move |ev| {
                    let value = event_target_value(&ev);
                    state.form.update(|f| set(f, value));
                }/>
            <small id=hint_id><FieldMessage message=message/>{hint}</small>
        </div>
    }
}

/// One labelled select bound to a `Form` string; its options, `(value, text)`, may follow the host.
#[component]
fn Choice(
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    get: fn(&Form) -> String,
    set: fn(&mut Form, String),
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let hint_id = format!("{id}-hint");
    let message = field_message(state, id);
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id data-testid=id aria-describedby=hint_id.clone() aria-invalid=invalid(message)
                prop:value=move || state.form.with(get)
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    state.form.update(|f| set(f, value));
                }>
                // Rebuilt when the options change (a new host), not on every edit of the form:
                // `prop:value` follows the form; `selected` only sets the choice the list starts with.
                {move || {
                    let current = state.form.with_untracked(get);
                    options.get().into_iter().map(|(value, text)| {
                        let selected = value == current;
                        view! { <option value=value selected=selected>{text}</option> }
                    }).collect_view()
                }}
            </select>
            <small id=hint_id><FieldMessage message=message/>{hint}</small>
        </div>
    }
}

/// What is wrong with a field's value, at the head of the line under it (which the field names as
/// its description).
#[component]
fn FieldMessage(message: impl Fn() -> Option<String> + Send + Sync + 'static) -> impl IntoView {
    move || message().map(|text| view! { <strong class="field-error">{text}</strong> })
}

/// The message that stands under a field, if any.
fn field_message(state: AppState, id: &'static str) -> impl Fn() -> Option<String> + Copy {
    move || {
        state
            .field_messages
            .with(|m| m.iter().find(|(f, _)| *f == id).map(|(_, t)| quoted(t)))
    }
}

/// `aria-invalid` for a field with a message under it.
fn invalid(
    message: impl Fn() -> Option<String> + Send + Sync + 'static,
) -> impl Fn() -> Option<&'static str> + Send + Sync + 'static {
    move || message().map(|_| "true")
}

/// `(value, text)` options of a named setting's values, for [`Choice`].
fn named<T: Named>() -> Signal<Vec<(String, String)>> {
    Signal::stored(
        T::ALL
            .iter()
            .map(|v| (v.as_str().to_string(), v.label().to_string()))
            .collect(),
    )
}
#[component]
fn SettingsForm() -> impl IntoView {
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
                    format!("{}: {}{latest}", r.number(), r.describe()),
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
                    hint="Automatic: 1 GiB where the host supports it, else 2 MiB."
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
                    hint="What rtkvm writes; a shared link keeps the revision it was made with."
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
        </section>
    }
}

#[component]
fn HostView() -> impl IntoView {
    let state = expect_context::<AppState>();
    // What the map colours: the plan's partition and guest, or the partition alone when the guest
    // does not fit. The map's structure depends on the host only.
    let layout = Memo::new(move |_| {
        state.plan.with(|plan| match plan {
            Some(Ok((p, _))) => Layout::new(&p.host.nodes, Some(&p.guest), &p.host.hugepages),
            // No plan: the partition alone, from the host side of the form when a guest field is
            // wrong (the guest is then not placed), so that the map never shows what is not used.
            _ => state.host.with(|host| {
                let settings = state
                    .settings
                    .get()
                    .or_else(|_| state.form.with(Form::host_settings));
                match (host, settings) {
                    (Ok(host), Ok(settings)) => rtkvm_core::plan::partition(host, &settings)
                        .map(|part| Layout::new(&part.host.nodes, None, &part.host.hugepages))
                        .unwrap_or_default(),
                    _ => Layout::default(),
                }
            }),
        })
    });
    // The largest guest each node takes, said before any limit is met.
    let capacity = move || {
        state.host.with(|host| {
            state.settings.with(|settings| {
                let (Ok(host), Ok(settings)) = (host, settings) else {
                    return String::new();
                };
                let Ok(part) = rtkvm_core::plan::partition(host, settings) else {
                    return String::new();
                };
                let nodes: Vec<String> =
                    rtkvm_core::plan::capacity(host, &part.host, settings.guest.emulator)
                        .iter()
                        .map(|c| {
                            format!(
                                "node {}: {} vCPUs, {}",
                                c.node,
                                c.vcpus,
                                rtkvm_core::units::format_kib(c.memory_kib)
                            )
                        })
                        .collect();
                format!(
                    "A guest lives on one NUMA node, next to its memory. The largest per node: {}.",
                    nodes.join("; ")
                )
            })
        })
    };
    move || {
        let host = state.host.get().ok()?;
        let summary = host_summary(&host);
        Some(view! {
            <section class="card">
                <h2>"Host topology"</h2>
                <p>{summary}</p>
                <p class="hint" data-testid="capacity">{capacity}</p>
                <Legend/>
                <TopologyMap host=host layout=layout/>
            </section>
        })
    }
}

/// Errors and warnings, in place.
#[component]
fn Problems() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        // Read in place: the host and the plan with its outputs are not cloned to look at them.
        let error = state.host.with(|h| {
            state.settings.with(|st| {
                state.plan.with(|p| match (h, st, p) {
                    (Err(e), _, _) => {
                        Some(("The capabilities cannot be used", domain::caps_message(e)))
                    }
                    (_, Err(e), _) => Some(("A setting is not valid", e.to_string())),
                    (_, _, Some(Err(e))) => Some(("No plan for these settings", e.to_string())),
                    _ => None,
                })
            })
        });
        let warnings = state.plan.with(|p| match p {
            Some(Ok((plan, _))) => plan.warnings.clone(),
            _ => Vec::new(),
        });
        view! {
            {error.map(|(title, msg)| view! {
                <div class="notice error" role="alert" data-testid="error">
                    <strong>{title}": "</strong>{quoted(&msg)}
                </div>
            })}
            {(!warnings.is_empty()).then(|| view! {
                <div class="notice warning" role="status" data-testid="warnings">
                    <strong>"Warnings"</strong>
                    <ul>
                        {warnings.into_iter().map(|w| view! {
                            <li data-code=w.code.as_str()><code>{w.code.as_str()}</code>" "{quoted(&w.message)}</li>
                        }).collect_view()}
                    </ul>
                </div>
            })}
        }
    }
}

/// A message with the CLI's `quotes` (around commands and file names) as typographic quotes.
fn quoted(message: &str) -> String {
    let mut open = false;
    message
        .chars()
        .map(|c| match c {
            '`' => {
                open = !open;
                if open {
                    '“'
                } else {
                    '”'
                }
            }
            c => c,
        })
        .collect()
}

/// One output with Copy and Download.
#[component]
fn OutputBox(
    title: &'static str,
    testid: &'static str,
    file: String,
    content: String,
) -> impl IntoView {
    let (copy_text, download_text) = (content.clone(), content.clone());
    let download_name = file.clone();
    view! {
        <div class="output" data-testid=testid>
            <div class="output-head">
                <h3>{title}" "<code>{file.clone()}</code></h3>
                <button data-testid=format!("{testid}-copy") aria-label=format!("Copy {file}")
                    on:click=move |ev| browser::copy(&ev, &copy_text)>"Copy"</button>
                <button data-testid=format!("{testid}-download") aria-label=format!("Download {file}")
                    on:click=move |_| browser::download(&download_name, &download_text)>"Download"</button>
            </div>
            <pre tabindex="0">{content}</pre>
        </div>
    }
}

#[component]
fn Outputs() -> impl IntoView {
    let state = expect_context::<AppState>();
    let explained = RwSignal::new(false);
    move || {
        let stale = !state.has_plan();
        // Read in place: the outputs are large, and what the view keeps is copied from them.
        state.shown.with(|shown| {
        let (plan, outputs) = shown.as_ref()?;
        let [cmdline, hugepages, xml] = outputs.files();
        let host_files = outputs.host_files();
        let boot_step = if host_files.is_empty() {
            "Huge pages"
        } else {
            "Boot-time step"
        };
        let g = &plan.guest;
        let rt = if g.rt_vcpus.is_empty() {
            "no real-time vCPUs".to_string()
        } else {
            format!(
                "real-time vCPUs {} ({} priority {})",
                g.rt_vcpus,
                g.scheduler.as_str(),
                g.priority
            )
        };
        let placement = format!(
            "{} on NUMA node {}: vCPUs → host CPUs {}; emulator threads → {}; {rt}",
            g.name,
            g.node,
            g.vcpupin
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            g.emulatorpin,
        );
        let args = outputs.kernel_cmdline.clone();
        let params = outputs.kernel_params.clone();
        // The share parts follow `state.share` on their own, without rebuilding the outputs.
        let link = move || state.share.get().unwrap_or_default();
        let address = move || browser::address_with(&link());
        let hs = &outputs.hugepages;
        let expected = hs
            .expected_pages
            .iter()
            .map(|e| format!("node {}: {}", e.node, e.line))
            .collect::<Vec<_>>()
            .join("\n");
        Some(view! {
            <section class="card outputs" class:stale=stale>
                <h2>"4. Outputs"</h2>
                {stale.then(|| view! {
                    <p class="notice warning" data-testid="stale">"Out of date: these are the outputs of the last settings that made a plan. They follow again once the problem above is solved."</p>
                })}
                <p data-testid="placement">{placement}</p>
                <div class="share">
                    <button data-testid="copy-link" aria-label="Copy link to this plan"
                        on:click=move |ev| browser::copy(&ev, &address())>"Copy link"</button>
                    <a data-testid="share-link" href=link>"Link to this exact configuration"</a>
                    <domain::LinkNote/>
                </div>
                <OutputBox title="Kernel command line" testid="out-cmdline" file=cmdline.name content=cmdline.content/>
                <Unfold summary="What each parameter does, and how to apply them" testid="params-box" open=explained>
                    <table class="params" data-testid="params">
                        {params.iter().map(|p| view! {
                            <tr><td><code>{p.param.clone()}</code></td><td>{p.explanation.clone()}</td></tr>
                        }).collect_view()}
                    </table>
                    <p>"Fedora, RHEL and derivatives:"</p>
                    <pre><code>{format!("grubby --update-kernel=ALL --args=\"{args}\"")}</code></pre>
                    <p>"Then reboot. Debian and Ubuntu: append the line to "<code>"GRUB_CMDLINE_LINUX"</code>" in "
                       <code>"/etc/default/grub"</code>", then run "<code>"update-grub"</code>" and reboot."</p>
                </Unfold>
                <OutputBox title=boot_step testid="out-hugepages" file=hugepages.name content=hugepages.content/>
                <p class="hint" data-testid="reservation">{outputs.reservation.clone()}</p>
                {host_files.into_iter().map(|f| {
                    let (title, testid, hint) = match f.name.as_str() {
                        "rtkvm-host.service" => ("Boot unit", "out-unit",
                            "Runs rtkvm-host.sh (as /usr/local/sbin/rtkvm-host.sh) at every boot, before irqbalance and libvirt."),
                        "tuned-host.sh" => ("With tuned", "out-tuned",
                            "RHEL and Fedora: instead of the command line and sysctl files, with tuned's realtime-virtual-host."),
                        "rtkvm-rtentsk.service" => ("Timestamping unit", "out-rtentsk",
                            "Without tuned: keeps network timestamping switched on, so that programs turning it on and off do not interrupt every CPU (tuned's rtentsk)."),
                        _ => ("sysctl", "out-sysctl",
                            "No RT throttling, fewer interruptions: for /etc/sysctl.d/."),
                    };
                    view! {
                        <OutputBox title=title testid=testid file=f.name content=f.content/>
                        <p class="hint">{hint}</p>
                    }
                }).collect_view()}
                <p class="hint">"Check after reboot: "<code>{hs.verify_command.clone()}</code>
                   ". "<code>"virsh capabilities"</code>" should then print:"</p>
                <pre><code>{expected}</code></pre>
                <OutputBox title="Domain XML" testid="out-xml" file=xml.name content=xml.content/>
                <p class="hint">"Add your disk and network devices, then "<code>"virsh define"</code>" it. Share: "
                   <code>{address}</code></p>
            </section>
        })
        })
    }
}

/// A `<details>` box whose contents are built only once it is opened, and which stays open across
/// plans.
#[component]
fn Unfold(
    summary: &'static str,
    testid: &'static str,
    open: RwSignal<bool>,
    children: ChildrenFn,
) -> impl IntoView {
    view! {
        <details data-testid=testid prop:open=move || open.get_untracked()
            on:toggle=move |ev| open.set(event_target::<web_sys::HtmlDetailsElement>(&ev).open())>
            <summary>{summary}</summary>
            {move || open.get().then(|| children())}
        </details>
    }
}

/// What goes inside the guest, and the latency test.
#[component]
fn GuestOs() -> impl IntoView {
    let state = expect_context::<AppState>();
    let (files_open, test_open) = (RwSignal::new(false), RwSignal::new(false));
    move || {
        let stale = !state.has_plan();
        // Read in place: the outputs are large, and what the view keeps is copied from them.
        state.shown.with(|shown| {
        let (plan, outputs) = shown.as_ref()?;
        let os = outputs.guest_os.clone();
        let [cmdline, tuned, setup, latency] = outputs.guest_files();
        let about = if os.kernel_params.is_empty() {
            if os.rt_vcpus.is_empty() {
                "The guest has no real-time vCPU, so nothing needs isolating inside it.".to_string()
            } else {
                "Every vCPU is real-time (libvirt's guide): with no housekeeping vCPU nothing can be isolated inside the guest; ^0 keeps vCPU 0 for its own work.".to_string()
            }
        } else {
            format!(
                "Inside the guest, real-time vCPUs {} are isolated the way the host isolates its CPUs, and vCPU {} keeps the guest's kernel threads, timers, interrupts and I/O (tuned's realtime-virtual-guest profile).",
                os.rt_vcpus.or_none(),
                os.housekeeping_vcpus.or_none()
            )
        };
        let host_hk = plan.guest.emulatorpin.to_string();
        Some(view! {
            <section class="card outputs" class:stale=stale data-testid="guest-os">
                <h2>"5. Inside the guest"</h2>
                <p>{about}</p>
                <Unfold summary="The guest's kernel command line, tuned variables and setup script"
                    testid="guest-files" open=files_open>
                    <OutputBox title="Guest kernel command line" testid="out-guest-cmdline"
                        file=cmdline.name.clone() content=cmdline.content.clone()/>
                    <table class="params">
                        {os.kernel_params.iter().map(|p| view! {
                            <tr><td><code>{p.param.clone()}</code></td><td>{p.explanation.clone()}</td></tr>
                        }).collect_view()}
                    </table>
                    <OutputBox title="tuned variables" testid="out-guest-tuned"
                        file=tuned.name.clone() content=tuned.content.clone()/>
                    <p class="hint">"For "<code>"/etc/tuned/"</code>"; "<code>"tuned-adm profile realtime-virtual-guest"</code>
                        " then puts the command line on the guest's kernels."</p>
                    <OutputBox title="Guest setup" testid="out-guest-setup"
                        file=setup.name.clone() content=setup.content.clone()/>
                    <p class="hint">"Run as root inside the guest (RHEL-likes, Debian, Ubuntu): installs the real-time kernel, "
                        "tuned's profile with these variables and turns irqbalance off; then reboot the guest."</p>
                </Unfold>
                <h2>"6. Test it"</h2>
                <p>{format!("Measure the latency inside the guest with cyclictest and oslat over exactly its real-time vCPUs, while the host's housekeeping CPUs ({host_hk}) are loaded; run it for hours.")}</p>
                <Unfold summary="The latency test" testid="latency-files" open=test_open>
                    <OutputBox title="Latency test" testid="out-latency-test"
                        file=latency.name.clone() content=latency.content.clone()/>
                </Unfold>
            </section>
        })
        })
    }
}

/// The steps in order, each with its commands and what they should print: the README of
/// `rtkvm plan --format bundle`, with this page's share link.
#[component]
fn NextSteps() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let stale = !state.has_plan();
        let link = state.share.get().unwrap_or_default();
        let readme = state.shown.with(|shown| {
            let (plan, outputs) = shown.as_ref()?;
            Some(domain::runbook(state, plan, outputs, &link))
        })?;
        Some(view! {
            <section class="card outputs" class:stale=stale data-testid="next-steps">
                <h2>"7. Next steps"</h2>
                <p>"The order to apply it all in, as root: each step with its commands and what they should print, from the command line and the reboot to the guest and its latency test."</p>
                <OutputBox title="Runbook" testid="out-readme" file="README.md".to_string() content=readme/>
            </section>
        })
    }
}
