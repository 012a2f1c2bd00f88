//! The host's topology and the plan's problems.

use leptos::prelude::*;
use rtkvm_core::report::host_summary;
use rtkvm_core::Form;

use crate::domain;
use crate::fields::{field_label, focus_field, quoted};
use crate::input::{is_example, EXAMPLE_NAME};
use crate::map::{Layout, Legend, TopologyMap};
use crate::state::AppState;

/// Beside box 1, the host it describes: its summary, the largest guest each node takes, and the
/// topology map with its legend.
#[component]
pub fn HostView() -> impl IntoView {
    let state = expect_context::<AppState>();
    // What the map colours: the plan's partition and guests, or the partition alone when they do
    // not fit. The map's structure depends on the host only. Never compared: it follows the plan,
    // which is.
    let layout = Memo::new_with_compare(
        move |_| {
            state.plan.with(|plan| match plan {
                Some(Ok(p)) => {
                    Layout::new(&p.plan.host.nodes, p.plan.guests(), &p.plan.host.hugepages)
                }
                // No plan: the partition alone, from the host side of the form when a guest field is
                // wrong (the guest is then not placed), so that the map never shows what is not used.
                _ => state.host.with(|host| {
                    let settings = state
                        .settings
                        .get()
                        .or_else(|_| state.form.with(Form::host_settings));
                    match (host, settings) {
                        (Ok(host), Ok(settings)) => rtkvm_core::plan::partition(host, &settings)
                            .map(|part| {
                                Layout::new(
                                    &part.host.nodes,
                                    std::iter::empty(),
                                    &part.host.hugepages,
                                )
                            })
                            .unwrap_or_default(),
                        _ => Layout::default(),
                    }
                }),
            })
        },
        |_, _| true,
    );
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
                        .map(|c| match c.memory_kib {
                            // Not "0 KiB": no guest's memory fits there, because of a host setting.
                            0 => format!(
                                "node {}: {} vCPUs, no memory for a guest (see the marked field)",
                                c.node, c.vcpus
                            ),
                            kib => format!(
                                "node {}: {} vCPUs, {}",
                                c.node,
                                c.vcpus,
                                rtkvm_core::units::format_kib(kib)
                            ),
                        })
                        .collect();
                format!(
                    "A guest lives on one NUMA node, next to its memory. The largest per node: {}.",
                    nodes.join("; ")
                )
            })
        })
    };
    let example = is_example(state);
    move || {
        let host = state.host.get().ok()?;
        let summary = host_summary(&host);
        // The host is named where it is described: the example is said to be one.
        let name = move || {
            example
                .get()
                .then(|| view! { <strong data-testid="host-name">{EXAMPLE_NAME}": "</strong> })
        };
        Some(view! {
            <div class="topology" data-testid="host-view">
                <h3>"Host topology"</h3>
                <p>{name}{summary}</p>
                <p class="hint" data-testid="capacity">{capacity}</p>
                <Legend layout=layout/>
                <TopologyMap host=host layout=layout/>
            </div>
        })
    }
}

/// Errors and warnings, in place. The error banner says what stops the plan, then lists every
/// field with a message under it, each a link that takes the focus to its field.
#[component]
pub fn Problems() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        // Read in place: the host and the plan with its outputs are not cloned to look at them.
        let error = state.host.with(|h| {
            state.settings.with(|st| {
                state.plan.with(|p| match (h, st, p) {
                    // An empty box (the user is about to paste) is a step, not an error.
                    (Err(rtkvm_core::Error::EmptyInput), _, _) => None,
                    (Err(e), _, _) => Some((
                        "The capabilities cannot be used",
                        Some(domain::caps_message(e)),
                    )),
                    // Each wrong field is listed with its own message, below; what the host's
                    // fields alone make impossible is said with them.
                    (Ok(h), Err(_), _) => Some((INVALID, host_fields_error(state, h))),
                    (_, _, Some(Err(e))) => {
                        Some(("No plan for these settings", Some(e.to_string())))
                    }
                    _ => None,
                })
            })
        });
        let empty = state
            .host
            .with(|h| matches!(h, Err(rtkvm_core::Error::EmptyInput)));
        let fields = if error.is_some() {
            state.field_messages.get()
        } else {
            Vec::new()
        };
        let warnings = state.plan.with(|p| match p {
            Some(Ok(p)) => p.plan.warnings.clone(),
            _ => Vec::new(),
        });
        // A message the list says under its field is not said twice.
        let error =
            error.map(|(title, msg)| (title, msg.filter(|m| !fields.iter().any(|(_, f)| f == m))));
        let title = match (&error, fields.len()) {
            (Some((INVALID, _)), n) if n > 1 => format!("{n} settings are not valid"),
            (Some((title, _)), _) => title.to_string(),
            (None, _) => String::new(),
        };
        // Each part is its own function, built only when it is shown: none is compiled before the
        // first plan (the counted start-up budget).
        view! {
            {empty.then(empty_note)}
            {error.map(|(_, msg)| banner(title, msg, fields))}
            {(!warnings.is_empty()).then(|| warnings_list(warnings))}
        }
    }
}

/// The banner's title while a field cannot be read.
const INVALID: &str = "A setting is not valid";

/// What the host's fields make impossible on their own (no CPU left to isolate, a page size the host
/// lacks) while a guest field cannot be read, so that both are said at once. (Not inlined: it runs
/// only then.)
#[inline(never)]
fn host_fields_error(state: AppState, host: &rtkvm_core::Host) -> Option<String> {
    let settings = state.form.with(Form::host_settings).ok()?;
    rtkvm_core::plan::partition(host, &settings)
        .err()
        .map(|e| format!("the host's fields also make no plan: {e}"))
}

/// What to do with an empty box.
#[inline(never)]
fn empty_note() -> AnyView {
    view! {
        <p class="notice" data-testid="empty">"Paste the output of "<code>"virsh capabilities"</code>
            " into box 1, or open its saved file: the map and the plan follow."</p>
    }
    .into_any()
}

/// The error banner: what stops the plan, then every field with a message, each a link to it.
#[inline(never)]
fn banner(title: String, msg: Option<String>, fields: Vec<(&'static str, String)>) -> AnyView {
    let colon = if msg.is_some() || !fields.is_empty() {
        ": "
    } else {
        ""
    };
    let fields = (!fields.is_empty()).then(|| {
        view! {
            <ul data-testid="error-fields">
                {fields.into_iter().map(|(id, text)| view! {
                    <li data-field=id>
                        <a href=format!("#{id}") on:click=move |ev| {
                            // The fragment stays the share link.
                            ev.prevent_default();
                            focus_field(id);
                        }>{field_label(id)}</a>": "{quoted(&text)}
                    </li>
                }).collect_view()}
            </ul>
        }
    });
    view! {
        <div class="notice error" role="alert" data-testid="error">
            <strong>{title}{colon}</strong>{msg.map(|m| quoted(&m))}
            {fields}
        </div>
    }
    .into_any()
}

/// The plan's warnings.
#[inline(never)]
fn warnings_list(warnings: Vec<rtkvm_core::plan::Warning>) -> AnyView {
    view! {
        <div class="notice warning" role="status" data-testid="warnings">
            <strong>"Warnings"</strong>
            <ul>
                {warnings.into_iter().map(|w| view! {
                    <li data-code=w.code.as_str()><code>{w.code.as_str()}</code>" "{quoted(&w.message)}</li>
                }).collect_view()}
            </ul>
        </div>
    }
    .into_any()
}
