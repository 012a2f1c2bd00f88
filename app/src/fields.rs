//! The form's building blocks: a labelled field or select bound to a `Form` string (a host setting,
//! or any guest's field), with the message that stands under it.

use std::cell::RefCell;

use leptos::prelude::*;
use rtkvm_core::settings::Named;
use rtkvm_core::Form;

use crate::state::AppState;

thread_local! {
    /// Every field's label by its id, as the fields were last made: the error banner names them so.
    static LABELS: RefCell<Vec<(&'static str, &'static str)>> = const { RefCell::new(Vec::new()) };
    /// The ids and labels made for the guests after the first (`guest2-vcpus`), each made once: at
    /// most 63 guests of 8 fields.
    static NAMES: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

/// Records a field's label, for [`field_label`].
fn register(id: &'static str, label: &'static str) {
    LABELS.with(|l| {
        let mut l = l.borrow_mut();
        match l.iter_mut().find(|(i, _)| *i == id) {
            Some(entry) => entry.1 = label,
            None => l.push((id, label)),
        }
    });
}

/// Returns a made name as a `&'static str`, the same one each time it is asked for.
fn named_once(text: String) -> &'static str {
    NAMES.with(|n| {
        let mut n = n.borrow_mut();
        if let Some(name) = n.iter().find(|name| **name == text) {
            return *name;
        }
        let name: &'static str = Box::leak(text.into_boxed_str());
        n.push(name);
        name
    })
}

/// The id of a guest's field: the first guest's field ids are the keys themselves (`vcpus`), as
/// they always were; the others' are numbered from 2 (`guest2-vcpus`).
pub fn guest_field_id(guest: usize, key: &'static str) -> &'static str {
    match guest {
        0 => key,
        i => named_once(format!("guest{}-{key}", i + 1)),
    }
}

/// What is wrong with each field of the form, by field id: the host's and the first guest's, then
/// the other guests'.
#[inline(never)]
pub fn form_errors(form: &Form) -> Vec<(&'static str, String)> {
    let mut messages = form.field_errors();
    messages.extend(
        form.guest_errors()
            .into_iter()
            .map(|(i, key, message)| (guest_field_id(i, key), message)),
    );
    messages
}

/// The host's limits the settings meet, by field id.
#[inline(never)]
pub fn limits_by_id(limits: Vec<rtkvm_core::plan::FieldLimit>) -> Vec<(&'static str, String)> {
    limits
        .into_iter()
        .map(|l| match l.guest {
            Some(i) => (guest_field_id(i, l.field), l.message),
            None => (l.field, l.message),
        })
        .collect()
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

/// What a field reads and writes in the form.
#[derive(Clone, Copy)]
pub enum Bind {
    /// A host setting, by the functions that read and write it.
    Host(fn(&Form) -> String, fn(&mut Form, String)),
    /// A guest's field: the guest's place (0: the first) and the field's key (`vcpus`).
    Guest(usize, &'static str),
}

impl Bind {
    /// The field's text in the form.
    #[inline(never)]
    pub fn get(self, form: &Form) -> String {
        match self {
            Bind::Host(get, _) => get(form),
            Bind::Guest(i, key) => form.guest_field(i, key).to_string(),
        }
    }

    /// Writes the field's text into the form.
    #[inline(never)]
    fn set(self, form: &mut Form, value: String) {
        match self {
            Bind::Host(_, set) => set(form, value),
            Bind::Guest(i, key) => form.set_guest_field(i, key, value),
        }
    }

    /// The field's id (and test id), and the label the error banner names it by, with several
    /// guests: a guest's field says its guest (`vCPUs (guest 2)`).
    #[inline(never)]
    fn id_and_name(self, id: &'static str, label: &'static str) -> (&'static str, &'static str) {
        match self {
            Bind::Guest(i, key) => (
                guest_field_id(i, key),
                named_once(format!("{label} (guest {})", i + 1)),
            ),
            _ => (id, label),
        }
    }
}

/// One labelled form field bound to a `Form` string. A guest's field takes its id from the guest's
/// place (`id` is then its key), and `several` says there are other guests.
#[component]
pub fn Field(
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    bind: Bind,
    #[prop(optional)] several: bool,
    #[prop(optional)] input_type: Option<&'static str>,
    #[prop(optional)] min: Option<&'static str>,
    #[prop(optional)] max: Option<&'static str>,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let (id, name) = if several {
        bind.id_and_name(id, label)
    } else {
        (id, label)
    };
    register(id, name);
    let hint_id = format!("{id}-hint");
    let message = field_message(state, id);
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id data-testid=id type=input_type.unwrap_or("text") min=min max=max
                aria-describedby=hint_id.clone() aria-invalid=invalid(message)
                prop:value=move || state.form.with(|f| bind.get(f))
                on:input=move |ev| {
                    let value = event_target_value(&ev);
                    state.form.update(|f| bind.set(f, value));
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
    bind: Bind,
    #[prop(optional)] several: bool,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let (id, name) = if several {
        bind.id_and_name(id, label)
    } else {
        (id, label)
    };
    register(id, name);
    let hint_id = format!("{id}-hint");
    let message = field_message(state, id);
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id data-testid=id aria-describedby=hint_id.clone() aria-invalid=invalid(message)
                prop:value=move || state.form.with(|f| bind.get(f))
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    state.form.update(|f| bind.set(f, value));
                }>
                // Rebuilt when the options change (a new host), not on every edit of the form:
                // `prop:value` follows the form; `selected` only sets the choice the list starts with.
                {move || {
                    let current = state.form.with_untracked(|f| bind.get(f));
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
