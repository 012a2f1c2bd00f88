//! The app's state: one struct in context, its inputs as signals and everything else derived as memos.

use leptos::prelude::*;
use rtkvm_core::host::Host;
use rtkvm_core::settings::{rt_vcpus_from_mask, PageSize, Preset, Scheduler, Settings};
use rtkvm_core::units::Kib;
use rtkvm_core::{Error, Plan};

/// Where the host comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum HostSource {
    /// Text pasted or loaded from a file (or the built-in example).
    Text(String),
    /// A host decoded from a share link.
    Shared(Host),
}

/// The settings as the form holds them: text, so that half-typed values are kept and reported.
#[derive(Clone, Debug, PartialEq)]
pub struct Form {
    pub host_cpus: String,
    pub host_memory: String,
    pub page_size: String,
    pub preset: String,
    pub name: String,
    pub vcpus: String,
    pub memory: String,
    pub node: String,
    pub rt_vcpus: String,
    pub scheduler: String,
    pub priority: String,
}

impl Form {
    /// Writes settings into form fields.
    pub fn from_settings(s: &Settings) -> Form {
        let size = |k: Kib| rtkvm_core::units::kernel_size(k.0);
        Form {
            host_cpus: s.host.host_cpus.to_string(),
            host_memory: size(s.host.host_memory),
            page_size: match s.host.page_size {
                PageSize::Auto => "auto".into(),
                PageSize::Kib(k) => rtkvm_core::units::kernel_size(k),
            },
            preset: match s.host.preset {
                Preset::Full => "full".into(),
                Preset::Minimal => "minimal".into(),
            },
            name: s.guest.name.clone(),
            vcpus: s.guest.vcpus.to_string(),
            memory: size(s.guest.memory),
            node: s.guest.node.map_or("auto".into(), |n| n.to_string()),
            rt_vcpus: s.guest.rt_vcpus.as_ref().map_or("all".into(), |set| {
                if set.is_empty() {
                    "none".into()
                } else {
                    set.to_string()
                }
            }),
            scheduler: s.guest.scheduler.as_str().into(),
            priority: s.guest.priority.to_string(),
        }
    }

    /// Reads the form into settings, or says which field is wrong.
    pub fn to_settings(&self) -> Result<Settings, Error> {
        let number = |text: &str, what: &str| {
            text.trim().parse::<u32>().map_err(|_| {
                Error::Setting(format!("{what}: '{}' is not a whole number", text.trim()))
            })
        };
        let size = |text: &str, what: &str| {
            text.parse::<Kib>()
                .map_err(|e| Error::Setting(format!("{what}: {e}")))
        };
        let vcpus = number(&self.vcpus, "vCPUs")?;
        let mut s = Settings::default();
        s.host.host_cpus = number(&self.host_cpus, "host CPUs per node")?;
        s.host.host_memory = size(&self.host_memory, "host memory per node")?;
        s.host.page_size = self.page_size.parse()?;
        s.host.preset = self.preset.parse()?;
        s.guest.name = self.name.clone();
        s.guest.vcpus = vcpus;
        s.guest.memory = size(&self.memory, "guest memory")?;
        s.guest.node = match self.node.trim() {
            "" | "auto" => None,
            n => Some(number(n, "NUMA node")?),
        };
        s.guest.rt_vcpus = rt_vcpus_from_mask(&self.rt_vcpus, vcpus)?;
        s.guest.scheduler = self.scheduler.parse::<Scheduler>()?;
        s.guest.priority = number(&self.priority, "priority")?;
        s.validate()?;
        Ok(s)
    }
}

/// The state shared by every component.
#[derive(Clone, Copy)]
pub struct AppState {
    /// Where the host comes from.
    pub source: RwSignal<HostSource>,
    /// The settings form.
    pub form: RwSignal<Form>,
    /// A message about the share link the page was opened with, if it could not be used.
    pub notice: RwSignal<Option<String>>,
    /// The parsed host.
    pub host: Memo<Result<Host, Error>>,
    /// The settings read from the form.
    pub settings: Memo<Result<Settings, Error>>,
    /// The plan, when host and settings are good.
    pub plan: Memo<Option<Result<Plan, Error>>>,
    /// The share-link fragment for the current host and settings.
    pub link: Memo<Option<String>>,
    /// The share link as shown and put in the address bar: `link`, copied in a task of its own after
    /// each change (see `App`), so that a new plan is painted before its link is compressed.
    pub share: RwSignal<Option<String>>,
}

impl AppState {
    /// Creates the state, from a share link if one is given and valid, else from the example.
    pub fn new(fragment: Option<String>) -> AppState {
        let mut source = HostSource::Text(rtkvm_core::EXAMPLE_CAPABILITIES.to_string());
        let mut settings = Settings::default();
        let mut notice = None;
        if let Some(fragment) = fragment.filter(|f| f.len() > 1) {
            match rtkvm_core::link::decode_link(&fragment) {
                Ok(shared) => {
                    source = HostSource::Shared(shared.host);
                    settings = shared.settings;
                }
                Err(e) => notice = Some(format!("{e}. The example host is shown instead.")),
            }
        }
        let source = RwSignal::new(source);
        let form = RwSignal::new(Form::from_settings(&settings));
        let host = Memo::new(move |_| {
            source.with(|s| match s {
                HostSource::Text(text) => rtkvm_core::parse_capabilities(text),
                HostSource::Shared(host) => Ok(host.clone()),
            })
        });
        let settings = Memo::new(move |_| form.with(Form::to_settings));
        let plan = Memo::new(move |_| {
            host.with(|h| {
                let h = h.as_ref().ok()?;
                settings.with(|s| s.as_ref().ok().map(|s| rtkvm_core::plan(h, s)))
            })
        });
        let link = Memo::new(move |_| {
            host.with(|h| {
                let h = h.as_ref().ok()?;
                settings.with(|s| s.as_ref().ok().map(|s| rtkvm_core::link::encode_link(h, s)))
            })
        });
        AppState {
            source,
            form,
            notice: RwSignal::new(notice),
            host,
            settings,
            plan,
            link,
            share: RwSignal::new(None),
        }
    }
}
