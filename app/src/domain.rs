//! The operator's own VM: a box for `virsh dumpxml`, what `rtkvm check` finds in it, and the domain
//! patched with the plan as `rtkvm apply` writes it (the patched XML and the diff, byte for byte).
//!
//! None of this runs before a domain is pasted: `facts` returns `None` for an empty box without
//! calling the parser, and every memo that checks or patches stops there (the first plan's start-up
//! budget counts the wasm it calls).
//!
//! The settings come from the form as the CLI's come from its flags, then the domain fills in what
//! was not given: its name always, and its vCPU count, memory and node unless the form's vCPUs,
//! Memory or Host NUMA node fields differ from their defaults (4, 16G, automatic). A field at its
//! default counts as not given, as a flag left out does: `rtkvm apply` with the flags of every other
//! field that differs from its default writes the same domain.

use std::sync::Arc;

use leptos::prelude::*;
use rtkvm_core::apply::Given;
use rtkvm_core::caps::MAX_INPUT_BYTES;
use rtkvm_core::check::{check, Finding, HostContext, Severity};
use rtkvm_core::existing::{parse_domain, DomainFacts};
use rtkvm_core::form::page_spelling;
use rtkvm_core::outputs::xml_file_name;
use rtkvm_core::plan::KthreadPriorities;
use rtkvm_core::settings::GuestSettings;
use rtkvm_core::{Error, Host, Outputs, Plan, Settings};

use crate::browser;
use crate::fields::quoted;
use crate::outputs::OutputBox;
use crate::state::{AppState, Planned};

/// The id of the domain's text area (findings select their line in it).
const AREA: &str = "domain";

/// A pasted domain, checked and patched.
#[derive(Clone, PartialEq)]
pub struct Existing {
    /// The domain's name.
    pub name: String,
    /// What `rtkvm check` finds, in document order.
    pub findings: Vec<Finding>,
    /// Why the findings are only what the domain shows alone, without the host, if they are.
    pub alone: Option<String>,
    /// The patched domain, or why there is none.
    pub patch: Result<Patch, String>,
}

/// A domain patched with the plan.
#[derive(Clone, PartialEq)]
pub struct Patch {
    /// The patched domain's file name.
    pub file: String,
    /// The patched domain, as `rtkvm apply --format xml` prints it.
    pub xml: String,
    /// The diff's file name.
    pub diff_file: String,
    /// The unified diff, as `rtkvm apply --format diff` prints it (empty when nothing changed).
    pub diff: String,
    /// What was changed, one line each.
    pub changes: Vec<String>,
    /// What the plan is for: the guest's vCPUs, memory and node, and any value that had to change.
    pub planned_for: String,
}

/// Reads the domain box: `None` when it is empty, without calling the parser.
pub fn facts(text: &str) -> Option<Result<DomainFacts, Error>> {
    if text.trim().is_empty() {
        return None;
    }
    Some(read_facts(text))
}

/// Parses a domain and reads its facts: never inlined into the memo that calls it, which runs before
/// the first plan (the browser compiles a function's whole body on its first call).
#[inline(never)]
fn read_facts(text: &str) -> Result<DomainFacts, Error> {
    parse_domain(text).map(|doc| DomainFacts::read(&doc))
}

/// Which of the CLI's `--vcpus`, `--memory`, `--node` and real-time flags the form gives: a field
/// at its default counts as not given.
pub fn given(settings: &Settings) -> Given {
    let defaults = GuestSettings::default();
    let g = &settings.guest;
    Given {
        vcpus: g.vcpus != defaults.vcpus,
        memory: g.memory != defaults.memory,
        node: g.node.is_some(),
        realtime: g.rt_vcpus != defaults.rt_vcpus
            || g.scheduler != defaults.scheduler
            || g.priority != defaults.priority,
    }
}

/// Completes the form's settings from a domain, as `rtkvm apply` completes its flags; with the notes
/// about values that had to change. (Not inlined: see [`read_facts`].)
#[inline(never)]
pub fn complete(
    facts: &DomainFacts,
    host: &Host,
    mut settings: Settings,
) -> Result<(Settings, Vec<String>), Error> {
    let given = given(&settings);
    let notes = rtkvm_core::apply::settings_for_domain(facts, host, &mut settings, given)?;
    Ok((settings, notes))
}

/// The settings the plan is made with when a domain is pasted: the form's completed from it; `None`
/// while the box holds no domain (the form's are then used as they are, not copied).
#[inline(never)]
pub fn completed(
    facts: &Option<Result<DomainFacts, Error>>,
    host: &Host,
    settings: &Settings,
) -> Option<Result<Settings, Error>> {
    match facts {
        Some(Ok(facts)) => Some(complete(facts, host, settings.clone()).map(|(s, _)| s)),
        _ => None,
    }
}

/// Checks the domain as `rtkvm check --caps` does and patches it as `rtkvm apply` does, with the
/// page's host, form settings and the plan made for the domain (from [`complete`]'s settings). (Not
/// inlined: see [`read_facts`].)
#[inline(never)]
pub fn check_and_patch(
    text: &str,
    host: &Result<Arc<Host>, Error>,
    settings: &Result<Settings, Error>,
    plan: &Option<Result<Arc<Planned>, Error>>,
) -> Result<Existing, String> {
    let doc = parse_domain(text).map_err(|e| domain_message(text, &e))?;
    let facts = DomainFacts::read(&doc);
    let completed = match (host, settings) {
        (Ok(host), Ok(settings)) => {
            complete(&facts, host, settings.clone()).map(|(s, notes)| (host, s, notes))
        }
        (Err(_), _) => Err(Error::Invalid(
            "the capabilities in box 1 cannot be used".into(),
        )),
        (_, Err(_)) => Err(Error::Invalid("a setting is not valid".into())),
    };
    let mut alone = None;
    let report = match &completed {
        Ok((host, settings, _)) => match rtkvm_core::plan::partition(host, settings) {
            Ok(part) => check(
                &doc,
                Some(HostContext {
                    host,
                    partition: &part.host,
                }),
                Some(KthreadPriorities::above(settings.guest.priority)),
            ),
            Err(e) => {
                alone = Some(page_spelling(&e.to_string()));
                check(&doc, None, None)
            }
        },
        Err(e) => {
            alone = Some(page_spelling(&e.to_string()));
            check(&doc, None, None)
        }
    };
    let patch = match (&completed, plan) {
        (Ok((host, _, notes)), Some(Ok(planned))) => {
            let plan = &planned.plan;
            let applied = rtkvm_core::apply::apply(&doc, host, plan);
            let file = xml_file_name(&facts.name);
            let diff = applied.unified_diff(doc.text, &file);
            let g = &plan.guest;
            let mut planned_for = format!(
                "Patched with the plan for {} vCPUs and {} on host node {}.",
                g.vcpus,
                rtkvm_core::units::format_kib(g.memory_kib),
                g.node
            );
            // The CLI's notes, as sentences, naming the page's fields.
            for note in notes {
                let note = note
                    .replace("--node or --vcpus", "the fields vCPUs or Host NUMA node")
                    .replace(
                        "--rt-vcpus, --scheduler or --priority",
                        "the fields Real-time vCPUs, Scheduler or Priority",
                    );
                let mut chars = note.chars();
                let first = chars.next().map(|c| c.to_uppercase().to_string());
                planned_for.push_str(&format!(
                    " {}{}.",
                    first.unwrap_or_default(),
                    chars.as_str()
                ));
            }
            Ok(Patch {
                diff_file: rtkvm_core::bundle::diff_file_name(&facts.name),
                file,
                diff,
                changes: applied.changes.iter().map(ToString::to_string).collect(),
                xml: applied.xml,
                planned_for,
            })
        }
        (Err(e), _) => Err(page_spelling(&e.to_string())),
        (_, Some(Err(e))) => Err(format!(
            "no plan for these settings: {}",
            page_spelling(&e.to_string())
        )),
        _ => Err("no plan for these settings".into()),
    };
    Ok(Existing {
        name: facts.name,
        findings: report.findings,
        alone,
        patch,
    })
}

/// What the page says about a domain that cannot be read: capabilities pasted into the domain box
/// are sent to box 1.
fn domain_message(text: &str, e: &Error) -> String {
    if rtkvm_core::parse_capabilities(text).is_ok() {
        return "this is the output of `virsh capabilities`, the host's capabilities, not a VM: paste it into box 1, “Host capabilities”; this box takes a VM's `virsh dumpxml NAME`".into();
    }
    e.to_string()
        .replace("go with --caps", "go into box 1, “Host capabilities”")
}

/// What the page says about capabilities that cannot be used: a domain pasted into box 1 is sent to
/// the domain box.
pub fn caps_message(e: &Error) -> String {
    match e {
        Error::WrongDocument { what, .. } if what == "a domain XML" => "this is a domain XML (`virsh dumpxml`), not the host's `virsh capabilities`: to check and patch this VM, paste it into box 4, “Your VM”; box 1 takes the output of `virsh capabilities` run on the host".into(),
        e => e.to_string(),
    }
}

/// The runbook's patched domain, when a pasted domain was patched with the plan shown.
pub fn runbook(state: AppState, plan: &Plan, outputs: &Outputs, link: &str) -> String {
    if state.domain_facts.with(Option::is_none) {
        return rtkvm_core::bundle::readme(plan, outputs, link);
    }
    state.existing.with(|e| {
        let patch = match e {
            Some(Ok(Existing { patch: Ok(p), .. })) if state.has_plan() => Some(p),
            _ => None,
        };
        rtkvm_core::bundle::readme_for(
            plan,
            outputs,
            link,
            patch.map(|p| rtkvm_core::bundle::Patched {
                xml: &p.file,
                diff: &p.diff_file,
            }),
        )
    })
}

/// The domain box, built once the page has painted its first plan (in a task of its own, after the
/// plan's; it stands last in its column, so nothing above it moves): the first plan does not wait
/// for it.
#[component]
pub fn DomainInput() -> impl IntoView {
    crate::outputs::after_first_paint(|| domain_box().into_any())
}

/// The domain box: paste and file picker; what is wrong with the domain under it, and the findings
/// announced as they change.
fn domain_box() -> impl IntoView {
    let state = expect_context::<AppState>();
    // As the capabilities' box: not bound to the state, so that what the user types stays as typed.
    let area = NodeRef::<leptos::html::Textarea>::new();
    let load_file = move |file: web_sys::File| {
        let size = file.size() as usize;
        if size > MAX_INPUT_BYTES {
            let too_large = Error::InputTooLarge { bytes: size };
            state.notice.set(Some(too_large.to_string()));
            return;
        }
        leptos::task::spawn_local(async move {
            match browser::read_text(file).await {
                Ok(text) => {
                    if let Some(area) = area.get_untracked() {
                        area.set_value(&text);
                    }
                    state.notice.set(None);
                    state.domain.set(text);
                }
                Err(e) => state
                    .notice
                    .set(Some(format!("The file could not be read: {e}"))),
            }
        });
    };
    let error = move || {
        state.existing.with(|e| match e {
            Some(Err(msg)) => Some(view! {
                <p class="notice error" role="alert" data-testid="domain-error">
                    <strong>"The domain cannot be used: "</strong>{quoted(msg)}
                </p>
            }),
            _ => None,
        })
    };
    // What is announced: the findings' count and the errors' codes (the text changes, and is
    // announced, only when they do).
    let status = move || {
        state.existing.with(|e| match e {
            Some(Ok(e)) => {
                let errors: Vec<&str> = e
                    .findings
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .map(|f| f.code.as_str())
                    .collect();
                let warnings = e.findings.len() - errors.len();
                if e.findings.is_empty() {
                    format!("{}: no real-time problem found.", e.name)
                } else {
                    format!(
                        "{}: {} errors{}, {warnings} warnings. The findings, the patched domain and the changes are under “Your VM”.",
                        e.name,
                        errors.len(),
                        if errors.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", errors.join(", "))
                        }
                    )
                }
            }
            _ => String::new(),
        })
    };
    view! {
        <section class="card" data-testid="domain-box">
            <h2>"4. Your VM (optional)"</h2>
            <label for=AREA>"To check and patch an existing VM, paste its "<code>"virsh dumpxml NAME"</code></label>
            <textarea id=AREA data-testid="domain-input" spellcheck="false" rows="8"
                placeholder="<domain type='kvm'>…</domain>"
                node_ref=area
                on:paste=move |ev: web_sys::ClipboardEvent| {
                    let text = ev.clipboard_data().and_then(|d| d.get_data("text/plain").ok());
                    if let Some(text) = text.filter(|t| t.len() > MAX_INPUT_BYTES) {
                        ev.prevent_default();
                        state.domain.set(text);
                    }
                }
                on:input=move |ev| state.domain.set(event_target_value(&ev))></textarea>
            {error}
            <p class="hint" role="status" aria-live="polite" data-testid="domain-status">{status}</p>
            <div class="row">
                <label class="button" for="domain-file">"Open domain file…"</label>
                <input id="domain-file" data-testid="domain-file" type="file" accept=".xml,text/xml"
                    on:change=move |ev| {
                        let input: web_sys::HtmlInputElement = event_target(&ev);
                        if let Some(file) = input.files().and_then(|f| f.get(0)) {
                            load_file(file);
                        }
                    }/>
            </div>
        </section>
    }
}

/// The pasted domain's findings, each linked to its line in the box, the patched domain and the diff.
#[component]
pub fn DomainResults() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        // Not even the memo runs while the box is empty.
        if state.domain_facts.with(Option::is_none) {
            return None;
        }
        state.existing.with(|e| match e {
            Some(Ok(e)) => Some(results(e)),
            _ => None,
        })
    }
}

/// The view of a checked and patched domain. (Not inlined: see [`read_facts`].)
#[inline(never)]
fn results(e: &Existing) -> AnyView {
    let findings = e.findings.iter().map(|f| {
                let line = f.position.line;
                let element = if f.element.is_empty() { "domain" } else { f.element.as_str() };
                view! {
                    <li class=f.severity.as_str() data-code=f.code.as_str() data-testid="finding">
                        <strong>{f.severity.as_str()}</strong>" "<code>{f.code.as_str()}</code>" "
                        <button class="line" data-testid="finding-line" data-line=line
                            aria-label=format!("Show line {line} in the domain box")
                            on:click=move |_| browser::select_line(AREA, line)>{format!("line {line}")}</button>
                        " "<code>{format!("<{element}>")}</code>": "{quoted(&f.message)}
                        <br/><span class="hint">{f.why}</span>
                        <br/>"Fix: "{quoted(&f.fix)}
                    </li>
                }
            }).collect_view();
    let alone = e.alone.as_ref().map(|why| view! {
                <p class="hint" data-testid="domain-alone">{format!("Checked without the host: {}.", quoted(why))}</p>
            });
    let patch = match &e.patch {
                Ok(p) => view! {
                    <p data-testid="planned-for">{p.planned_for.clone()}</p>
                    <OutputBox title="Patched domain" testid="out-patched" file=p.file.clone() content=p.xml.clone()/>
                    {if p.diff.is_empty() {
                        view! { <p data-testid="domain-unchanged">"Nothing to change: the domain already is as planned."</p> }.into_any()
                    } else {
                        view! {
                            <ul data-testid="changes">
                                {p.changes.iter().map(|c| view! { <li>{c.clone()}</li> }).collect_view()}
                            </ul>
                            <OutputBox title="Changes" testid="out-diff" file=p.diff_file.clone() content=p.diff.clone()/>
                            <p class="hint">"Review the diff ("<code>"patch -p1"</code>" applies it to the domain file), then "
                               <code>"virsh define"</code>" the patched domain."</p>
                        }.into_any()
                    }}
                }.into_any(),
                Err(why) => view! {
                    <p class="notice warning" data-testid="no-patch">{format!("No patched domain: {}.", quoted(why))}</p>
                }.into_any(),
            };
    view! {
        <section class="card outputs" data-testid="domain-results">
            <h2>"4. Your VM: "{e.name.clone()}</h2>
            {alone}
            {if e.findings.is_empty() {
                view! { <p data-testid="no-findings">"No real-time problem found."</p> }.into_any()
            } else {
                view! { <ul class="findings" data-testid="findings">{findings}</ul> }.into_any()
            }}
            {patch}
        </section>
    }
    .into_any()
}

/// Next to Copy link while a domain is pasted: the link does not carry it.
#[component]
pub fn LinkNote() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        state.domain_facts.with(Option::is_some).then(|| view! {
            <p class="hint" data-testid="link-note">"The link does not carry your VM's domain (it can hold secrets, and it is large): it opens this plan with a new domain XML."</p>
        }.into_any())
    }
}
