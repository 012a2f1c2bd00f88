//! The app's state: one struct in context, its inputs as signals and everything else derived as memos.

use std::sync::Arc;

use leptos::prelude::*;
use rtkvm_core::existing::DomainFacts;
use rtkvm_core::host::Host;
use rtkvm_core::link::SharedPlan;
use rtkvm_core::outputs::HostOutputs;
use rtkvm_core::plan::Rooms;
use rtkvm_core::{Error, Form, Plan, Settings};

use crate::domain::Existing;

/// Opens a share link's fragment: the core reads its version and payload, the browser inflates the
/// payload (bounded, so that a small link cannot expand into a large allocation), the core opens it.
pub async fn open_fragment(fragment: &str) -> Result<SharedPlan, Error> {
    use rtkvm_core::link;
    let packed = link::unpack_link(fragment)?;
    match crate::browser::inflate_raw(&packed.packed, link::MAX_PAYLOAD_BYTES).await {
        Ok(bytes) => link::open_payload(packed.version, &bytes),
        Err(failure) => Err(link::inflate_error(matches!(
            failure,
            crate::browser::InflateFailure::TooLarge
        ))),
    }
}

/// Whether a computed plan memo holds a plan.
fn planned(plan: &Option<Result<Arc<Planned>, Error>>) -> bool {
    matches!(plan, Some(Ok(_)))
}

/// A plan with the host it was made for. Its outputs are written where they are shown: the host's
/// by [`AppState::host_outputs`], each guest's only once its box is opened.
#[derive(Debug)]
pub struct Planned {
    /// The host (shared with the host memo).
    pub host: Arc<Host>,
    /// The plan.
    pub plan: Plan,
}

impl PartialEq for Planned {
    fn eq(&self, other: &Self) -> bool {
        same_host(&self.host, &other.host) && self.plan == other.plan
    }
}

/// Calls `f` with the host and the settings a plan is made with: the form's, or while a domain is
/// pasted the form's completed from it, as `rtkvm apply` completes its flags (see
/// `crate::domain::given`), or the error the domain's values give. Without a domain the form's
/// settings are used as they are, not copied. `None` while the host or the form cannot be read.
fn with_plan_settings<T>(
    host: Memo<Result<Arc<Host>, Error>>,
    settings: Memo<Result<Settings, Error>>,
    domain_facts: Memo<Option<Result<DomainFacts, Error>>>,
    f: impl FnOnce(&Arc<Host>, Result<&Settings, &Error>) -> Option<T>,
) -> Option<T> {
    host.with(|h| {
        let h = h.as_ref().ok()?;
        settings.with(|s| {
            let s = s.as_ref().ok()?;
            match &domain_facts.with(|d| crate::domain::completed(d, h, s)) {
                None => f(h, Ok(s)),
                Some(completed) => f(h, completed.as_ref()),
            }
        })
    })
}

/// Whether two hosts are the same: the same parse, or equal ones.
fn same_host(a: &Arc<Host>, b: &Arc<Host>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// Where the host comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum HostSource {
    /// Text pasted or loaded from a file (or the built-in example).
    Text(String),
    /// A host decoded from a share link (shared, not copied: a host can have thousands of CPUs).
    Shared(Arc<Host>),
}

/// A share link the page opened, kept so that the address bar keeps it, byte for byte, for as long
/// as the page shows what it says.
#[derive(Clone, Debug, PartialEq)]
pub struct Opened {
    /// The fragment as it was in the address bar, `#` included.
    pub fragment: String,
    /// What it decoded to.
    pub host: Arc<Host>,
    /// What it decoded to.
    pub settings: Settings,
}

/// The state shared by every component.
#[derive(Clone, Copy)]
pub struct AppState {
    /// Where the host comes from.
    pub source: RwSignal<HostSource>,
    /// The settings form, as typed.
    pub form: RwSignal<Form>,
    /// A message about the share link the page was opened with, if it could not be used.
    pub notice: RwSignal<Option<String>>,
    /// The share link the page last opened, if any.
    pub opened: RwSignal<Option<Opened>>,
    /// The parsed host, shared by everything that reads it.
    pub host: Memo<Result<Arc<Host>, Error>>,
    /// The settings read from the form.
    pub settings: Memo<Result<Settings, Error>>,
    /// The domain box (`virsh dumpxml`), as pasted or loaded; empty when there is none.
    pub domain: RwSignal<String>,
    /// What the domain box holds: its facts, or why it cannot be read. `None` while the box is empty,
    /// so that none of the check's or the patch's code runs before a domain is pasted.
    pub domain_facts: Memo<Option<Result<DomainFacts, Error>>>,
    /// The pasted domain checked against the host and patched with the plan; `None` while the box is
    /// empty.
    pub existing: Memo<Option<Result<Existing, String>>>,
    /// The plan, when host and settings are good.
    pub plan: Memo<Option<Result<Arc<Planned>, Error>>>,
    /// The messages that stand under form fields, by field id: what is wrong with a field's value,
    /// or the host's limit the guest meets ("at most 6 vCPUs on node 1").
    pub field_messages: Memo<Vec<(&'static str, String)>>,
    /// What each guest can have beside the others (or why it does not fit) and what each node can
    /// still take: with several guests only (one guest's limits are said under the host summary and
    /// its fields), and `None` while the settings make no partition.
    pub rooms: Memo<Option<Rooms>>,
    /// The plan on the page: the current one, or while there is none (a setting is wrong, the guest
    /// does not fit) the last one, shown as out of date, as long as the host is the same: another
    /// host's plan is never offered.
    pub shown: Memo<Option<Arc<Planned>>>,
    /// The host's outputs of the plan on the page (the guests' are written where they are opened).
    pub host_outputs: Memo<Option<Arc<HostOutputs>>>,
    /// What the share link for the current host and settings is made from: the opened link's own
    /// fragment while they are what it says, else a new link's payload, to be compressed.
    pub link: Memo<Option<LinkSource>>,
    /// The share link as shown and put in the address bar: `link`, copied in a task of its own after
    /// each change (see `App`), so that a new plan is painted before its link is compressed.
    pub share: RwSignal<Option<String>>,
}

/// What a share link is made from.
#[derive(Clone, PartialEq)]
pub enum LinkSource {
    /// The fragment of the link the page opened, kept byte for byte.
    Opened(String),
    /// A new link's payload, before the browser compresses it.
    Payload(Vec<u8>),
}

impl AppState {
    /// Creates the state, from the share link the page was loaded with (its fragment and what it
    /// opened to) if there is one and it opened, else from the example.
    pub fn new(loaded_with: Option<(String, Result<SharedPlan, Error>)>) -> AppState {
        let source = RwSignal::new(HostSource::Text(
            rtkvm_core::EXAMPLE_CAPABILITIES.to_string(),
        ));
        let form = RwSignal::new(Form::default());
        let opened = RwSignal::new(None::<Opened>);
        let host = Memo::new(move |_| {
            source.with(|s| match s {
                HostSource::Text(text) => rtkvm_core::parse_capabilities(text).map(Arc::new),
                HostSource::Shared(host) => Ok(host.clone()),
            })
        });
        let settings = Memo::new(move |_| form.with(Form::to_settings));
        let domain = RwSignal::new(String::new());
        let domain_facts = Memo::new(move |_| domain.with(|text| crate::domain::facts(text)));
        // The plan, the link and the limits under the fields read the settings the plan is made with
        // (`with_plan_settings`).
        let plan = Memo::new(move |_| {
            with_plan_settings(host, settings, domain_facts, |h, s| {
                Some(match s {
                    Ok(s) => rtkvm_core::plan(h, s).map(|plan| {
                        Arc::new(Planned {
                            host: h.clone(),
                            plan,
                        })
                    }),
                    // The domain's values make no partition of the host.
                    Err(e) => Err(e.clone()),
                })
            })
        });
        let existing = Memo::new(move |_| {
            // Nothing of the check's or the patch's code runs while the box is empty.
            if domain_facts.with(Option::is_none) {
                return None;
            }
            Some(domain.with(|text| {
                host.with(|h| {
                    settings.with(|s| plan.with(|p| crate::domain::check_and_patch(text, h, s, p)))
                })
            }))
        });
        let field_messages = Memo::new(move |_| {
            // A guest within the host's limits has a plan: only a failed plan is looked into.
            if plan.with(planned) {
                return Vec::new();
            }
            if settings.with(Result::is_err) {
                return form.with(crate::fields::form_errors);
            }
            with_plan_settings(host, settings, domain_facts, |h, s| {
                Some(crate::fields::limits_by_id(rtkvm_core::plan::guest_limits(
                    h,
                    s.ok()?,
                )))
            })
            .unwrap_or_default()
        });
        let rooms = Memo::new(move |_| {
            if settings.with(|s| s.as_ref().map_or(true, |s| s.others.is_empty())) {
                return None;
            }
            with_plan_settings(host, settings, domain_facts, |h, s| {
                rtkvm_core::plan::rooms(h, s.ok()?).ok()
            })
        });
        let shown = Memo::new(move |last: Option<&Option<Arc<Planned>>>| {
            plan.with(|p| match p {
                Some(Ok(current)) => Some(current.clone()),
                _ => host.with(|h| {
                    let h = h.as_ref().ok()?;
                    last.cloned().flatten().filter(|l| same_host(&l.host, h))
                }),
            })
        });
        let host_outputs = Memo::new(move |_| {
            shown.with(|s| {
                s.as_ref()
                    .map(|s| Arc::new(rtkvm_core::outputs::host_outputs(&s.host, &s.plan)))
            })
        });
        // The link carries the host and the settings the plan is made with, never a pasted domain.
        let link =
            Memo::new(move |_| {
                with_plan_settings(host, settings, domain_facts, |h, s| {
                    let s = s.ok()?;
                    let same = opened.with(|o| {
                        o.as_ref()
                            .filter(|o| &o.host == h && &o.settings == s)
                            .map(|o| LinkSource::Opened(o.fragment.clone()))
                    });
                    Some(same.unwrap_or_else(|| {
                        LinkSource::Payload(rtkvm_core::link::link_payload(h, s))
                    }))
                })
            });
        let state = AppState {
            source,
            form,
            notice: RwSignal::new(None),
            opened,
            host,
            settings,
            domain,
            domain_facts,
            existing,
            plan,
            field_messages,
            rooms,
            shown,
            host_outputs,
            link,
            share: RwSignal::new(None),
        };
        if let Some((fragment, opened)) = loaded_with {
            state.show_link(fragment, opened, true);
        }
        state
    }

    /// Returns whether the host and settings make a plan (a tracked read): the outputs on the page
    /// are then the current plan's, not the last one's shown as out of date.
    pub fn has_plan(&self) -> bool {
        self.plan.with(planned)
    }

    /// Opens a share link pasted into the address bar of the open page: its payload is inflated by
    /// the browser, so it opens in a task of its own; until then the page shows what it showed.
    pub fn open_link(self, fragment: String) {
        leptos::task::spawn_local(async move {
            let opened = open_fragment(&fragment).await;
            if !self.show_link(fragment, opened, false) {
                // The page keeps its plan, so the address bar keeps its link.
                if let Some(link) = self.share.get_untracked() {
                    crate::browser::replace_hash(&link);
                }
            }
        });
    }

    /// Shows what a share link opened to: its host and settings replace the page's, and the address
    /// bar keeps the link as it is. A link that could not be opened leaves the page as it was (on
    /// first load, the example host), with a message saying why; returns whether the link opened.
    fn show_link(
        &self,
        fragment: String,
        opened: Result<SharedPlan, Error>,
        first_load: bool,
    ) -> bool {
        match opened {
            Ok(shared) => {
                self.notice.set(None);
                let host = Arc::new(shared.host);
                self.opened.set(Some(Opened {
                    fragment,
                    host: host.clone(),
                    settings: shared.settings.clone(),
                }));
                self.form.set(Form::from_settings(&shared.settings));
                self.source.set(HostSource::Shared(host));
                true
            }
            Err(e) => {
                let shown = if first_load {
                    "The example host is shown instead."
                } else {
                    "The page still shows the plan it showed before."
                };
                self.notice
                    .set(Some(crate::fields::sentence(&format!("{e}. {shown}"))));
                false
            }
        }
    }
}
