//! The host's topology and the plan's problems.

use leptos::prelude::*;
use rtkvm_core::report::host_summary;
use rtkvm_core::Form;

use crate::domain;
use crate::fields::quoted;
use crate::map::{Layout, Legend, TopologyMap};
use crate::state::AppState;

#[component]
pub fn HostView() -> impl IntoView {
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
pub fn Problems() -> impl IntoView {
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
