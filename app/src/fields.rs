//! The form's building blocks: a labelled field or select bound to a `Form` string, with the
//! message that stands under it.

use std::cell::RefCell;

use leptos::prelude::*;
use rtkvm_core::settings::Named;
use rtkvm_core::Form;

use crate::state::AppState;

thread_local! {
    /// Every field's label by its id, as the fields were made: the error banner names them so.
    static LABELS: RefCell<Vec<(&'static str, &'static str)>> = const { RefCell::new(Vec::new()) };
}

/// Records a field's label, for [`field_label`].
fn register(id: &'static str, label: &'static str) {
    LABELS.with(|l| {
        let mut l = l.borrow_mut();
        if !l.iter().any(|(i, _)| *i == id) {
            l.push((id, label));
        }
    });
}

/// The label of the field with this id, as the form shows it (the id itself for a field not made).
pub fn field_label(id: &'static str) -> &'static str {
    LABELS.with(|l| {
        l.borrow()
            .iter()
            .find(|(i, _)| *i == id)
            .map_or(id, |(_, label)| label)
    })
}

/// Takes the focus to a field (from the error banner's list).
pub fn focus_field(id: &str) {
    crate::browser::focus(id);
}

/// One labelled form field bound to a `Form` string.
#[component]
pub fn Field(
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
    register(id, label);
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
pub fn Choice(
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    get: fn(&Form) -> String,
    set: fn(&mut Form, String),
) -> impl IntoView {
    let state = expect_context::<AppState>();
    register(id, label);
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
pub fn FieldMessage(message: impl Fn() -> Option<String> + Send + Sync + 'static) -> impl IntoView {
    move || message().map(|text| view! { <strong class="field-error">{text}</strong> })
}

/// The message that stands under a field, if any.
pub fn field_message(state: AppState, id: &'static str) -> impl Fn() -> Option<String> + Copy {
    move || {
        state.field_messages.with(|m| {
            m.iter()
                .find(|(f, _)| *f == id)
                .map(|(_, t)| sentence(&quoted(t)))
        })
    }
}

/// `aria-invalid` for a field with a message under it.
pub fn invalid(
    message: impl Fn() -> Option<String> + Send + Sync + 'static,
) -> impl Fn() -> Option<&'static str> + Send + Sync + 'static {
    move || message().map(|_| "true")
}

/// `(value, text)` options of a named setting's values, for [`Choice`].
pub fn named<T: Named>() -> Signal<Vec<(String, String)>> {
    Signal::stored(
        T::ALL
            .iter()
            .map(|v| (v.as_str().to_string(), v.label().to_string()))
            .collect(),
    )
}

/// A message that stands on its own (under its field) as a sentence: its first word capitalized,
/// unless its first word has capitals already (`vCPUs`).
pub fn sentence(message: &str) -> String {
    let first = message.split([' ', ':', ',']).next().unwrap_or_default();
    let mut chars = message.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() && !first.chars().any(|c| c.is_ascii_uppercase()) => {
            c.to_ascii_uppercase().to_string() + chars.as_str()
        }
        _ => message.to_string(),
    }
}

/// A core message as the page shows it: the CLI's flags it names spelled as the form's fields
/// (`page_spelling`), and its `quotes` (around commands and file names) as typographic quotes.
pub fn quoted(message: &str) -> String {
    let mut open = false;
    rtkvm_core::form::page_spelling(message)
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

/// What the share link opens to while the page has no plan, said beside Copy link: a link is the
/// settings as typed (opened, it shows the same errors under the same fields), or, while a value
/// cannot be put in a link, the last settings that could.
#[component]
pub fn LinkStatus() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        if state.has_plan() {
            return None;
        }
        let text = if state.settings.with(Result::is_err) {
            "A link cannot hold the value marked wrong: while it is, the link holds the last settings that could be put in one, and opens to those."
        } else {
            "The link holds these settings as typed: it opens to the same error, under the same field, with no outputs until that is corrected."
        };
        Some(view! { <p class="hint" data-testid="link-status">{text}</p> })
    }
}
