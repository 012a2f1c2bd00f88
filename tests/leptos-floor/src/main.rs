//! The smallest Leptos app that renders something reactive and marks it like rtkvm does.

use leptos::prelude::*;

fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

fn main() {
    mark("rtkvm:start");
    leptos::mount::mount_to_body(|| {
        let (value, set_value) = signal(2u32);
        Effect::new(move |_| {
            value.track();
            mark("rtkvm:plan-rendered");
        });
        view! {
            <main>
                <h1>"floor"</h1>
                <input type="number" prop:value=move || value.get().to_string()
                    on:input=move |e| set_value.set(event_target_value(&e).parse().unwrap_or(0))/>
                <p>{move || format!("value {}", value.get())}</p>
            </main>
        }
    });
}
