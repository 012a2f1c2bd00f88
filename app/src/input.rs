//! Section 1: the host's capabilities — the paste box, file picker and drop zone — and beside them
//! the host they describe (its topology map).

use leptos::prelude::*;
use rtkvm_core::caps::MAX_INPUT_BYTES;

use crate::browser;
use crate::state::{AppState, HostSource};

/// What the page calls the built-in example host, where it names the host.
pub const EXAMPLE_NAME: &str = "Example host (libvirt's guide)";

/// Whether the page shows the built-in example host: its text as loaded, or a link's host that is it.
/// A link's host is compared only after the first plan is painted: the comparison parses the example
/// and writes both hosts as a link would, code that the first plan of a link must not wait for (the
/// counted start-up budget).
pub fn is_example(state: AppState) -> Memo<bool> {
    let painted = RwSignal::new(false);
    crate::browser::later(move || painted.set(true));
    Memo::new(move |_| {
        state.source.with(|s| match s {
            HostSource::Text(text) => text == rtkvm_core::EXAMPLE_CAPABILITIES,
            // A link carries what the plan reads of a host: compared as a link writes it.
            HostSource::Shared(_) if !painted.get() => false,
            HostSource::Shared(host) => {
                let written = |h: &rtkvm_core::Host| {
                    rtkvm_core::link::link_payload(h, &rtkvm_core::Settings::default())
                };
                rtkvm_core::parse_capabilities(rtkvm_core::EXAMPLE_CAPABILITIES)
                    .is_ok_and(|example| written(&example) == written(host))
            }
        })
    })
}

/// The paste box, file picker and drop zone, and the host's topology.
#[component]
pub fn Input() -> impl IntoView {
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
    let example = is_example(state);
    // A link the page was loaded with that could not be opened (the page then says so and shows the
    // example) stays in the address bar, where the user can see and copy it, until the page's own
    // link changes.
    if state.notice.with_untracked(Option::is_some) {
        browser::keep_hash();
    }
    let paste_own = move |_| {
        if let Some(area) = area.get_untracked() {
            area.set_value("");
            let _ = area.focus();
        }
        state.notice.set(None);
        state.source.set(HostSource::Text(String::new()));
    };
    let load_file = move |file: web_sys::File| {
        let size = file.size() as usize;
        if size > MAX_INPUT_BYTES {
            state.notice.set(Some(crate::fields::sentence(
                &rtkvm_core::Error::InputTooLarge { bytes: size }.to_string(),
            )));
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
            <div class="paste">
            <h2>"1. Host capabilities"</h2>
            <Show when=move || example.get()>
                <p class="example" data-testid="example-note">
                    <strong>{EXAMPLE_NAME}</strong>" is shown: the plan below is for it, not for your host. "
                    <button data-testid="paste-own" on:click=paste_own>"Paste your own"</button>
                </p>
            </Show>
            <label for="caps">"Paste the output of "<code>"virsh capabilities"</code>" (or drop the saved file here)"</label>
            <Show when=move || from_link() && !example.get()>
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
            </div>
            <crate::host_view::HostView/>
        </section>
    }
}
