//! rtkvm in the browser: paste `virsh capabilities`, see the host, choose the guest, download the
//! outputs and share a link. All planning happens in `rtkvm-core`; this crate only renders.

mod browser;
#[cfg(feature = "live-check")]
mod check;
#[cfg(feature = "exports")]
mod deploy;
mod domain;
mod fields;
mod host_view;
mod input;
mod map;
mod outputs;
mod settings;
mod state;

use leptos::prelude::*;

use state::{AppState, LinkSource};

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
    provide_context(outputs::Folds(RwSignal::new(Vec::new())));
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
        // In reading order at every width (no CSS `order`): box 1 with the host's map, the problems
        // right after it, then the settings (a column of their own on a wide page) and the outputs.
        <main>
            <Notice/>
            <input::Input/>
            <host_view::Problems/>
            <section class="columns">
                <div class="column">
                    <settings::SettingsForm/>
                    <domain::DomainInput/>
                </div>
                <div class="column wide">
                    <domain::DomainResults/>
                    <outputs::Outputs/>
                    // Below the host's outputs: built once the first plan is painted.
                    {outputs::after_first_paint(guests_and_steps)}
                    {deploy_sections()}
                </div>
            </section>
        </main>
    }
}

/// Sections 6 and 7: each guest's outputs and the runbook.
fn guests_and_steps() -> AnyView {
    view! { <outputs::Guests/><outputs::NextSteps/> }.into_any()
}

/// Sections 8 and 9, each in a site built with its feature (app/Cargo.toml says why the shipped
/// site leaves them out).
#[cfg(any(feature = "exports", feature = "live-check"))]
fn deploy_sections() -> impl IntoView {
    view! { {exports_section()} {check_section()} }
}

/// Nothing: the shipped site, built without sections 8 and 9.
#[cfg(not(any(feature = "exports", feature = "live-check")))]
fn deploy_sections() -> impl IntoView {}

/// Section 8, the exports for NTO, KubeVirt and Nova, in a site built with the `exports` feature.
#[cfg(feature = "exports")]
fn exports_section() -> impl IntoView {
    view! { <deploy::Deploy/> }
}

/// Nothing: the site is built with section 9 but without the `exports` feature.
#[cfg(all(feature = "live-check", not(feature = "exports")))]
fn exports_section() -> impl IntoView {}

/// Section 9, the check of the live host, in a site built with the `live-check` feature.
#[cfg(feature = "live-check")]
fn check_section() -> impl IntoView {
    view! { <check::CheckHost/> }
}

/// Nothing: the site is built with section 8 but without the `live-check` feature.
#[cfg(all(feature = "exports", not(feature = "live-check")))]
fn check_section() -> impl IntoView {}

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
