//! The settings form: every setting as the text a person types, in the browser app's form and in the
//! CLI's flags alike. It is a public contract: it expresses every plan that a link or the CLI can make,
//! and what the user wrote is kept as written (`^0` stays `^0`), so that a half-typed value is reported
//! rather than lost. `Form::from_settings(s).to_settings() == Ok(s)` for every valid `s`.

use crate::error::Error;
use crate::host::Host;
use crate::settings::{GuestSettings, HostSettings, Named, PageSize, Placement, Settings};
use crate::units::{format_kib, kernel_size, Kib};

/// The settings as text fields, named like the CLI's flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// `--recipe`: the recipe revision (`1`, `2`, `3`).
    pub recipe: String,
    /// `--host-cpus`: logical CPUs kept for the host on each node.
    pub host_cpus: String,
    /// `--housekeeping`: an explicit cpulist of housekeeping CPUs; empty to use `host_cpus`.
    pub housekeeping: String,
    /// `--host-memory`: memory kept for the host on each node (`6G`).
    pub host_memory: String,
    /// `--page-size`: `auto` or a size (`1G`, `2M`, `32M`, `64K`).
    pub page_size: String,
    /// `--preset`: `full` or `minimal`.
    pub preset: String,
    /// `--kernel`: `5.16`, `rhel9`, `rhel8` or `older`.
    pub kernel: String,
    /// `--kernel-type`: `rt` or `generic`.
    pub kernel_type: String,
    /// `--reserve`: `all` or `guest`.
    pub reserve: String,
    /// `--spare`: with `--reserve guest`, huge pages kept spare on the guest's node (`8G`); empty for
    /// none.
    pub spare: String,
    /// `--name`: the libvirt domain name.
    pub name: String,
    /// `--vcpus`: the vCPU count.
    pub vcpus: String,
    /// `--memory`: the guest's memory (`16G`).
    pub memory: String,
    /// `--node`: `auto` or a host NUMA node id.
    pub node: String,
    /// `--rt-vcpus`: `all`, `none`, a list (`1-3`) or a mask (`^0`).
    pub rt_vcpus: String,
    /// `--scheduler`: `fifo` or `rr`.
    pub scheduler: String,
    /// `--priority`: 1 to 99.
    pub priority: String,
    /// `--emulator`: `share` or `isolate`.
    pub emulator: String,
    /// Where the first guest is kept, when it is an existing VM already placed for real time (from a
    /// share link v7 or a pasted domain); not a field the page shows.
    pub keep: Option<Placement>,
    /// `--guest`: the guests after the first, in the plan's order (empty for one guest).
    pub others: Vec<GuestForm>,
}

/// One guest after the first, as text fields named like the keys of the CLI's `--guest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestForm {
    /// The libvirt domain name.
    pub name: String,
    /// The vCPU count.
    pub vcpus: String,
    /// The guest's memory (`16G`).
    pub memory: String,
    /// `auto` or a host NUMA node id.
    pub node: String,
    /// `all`, `none`, a list (`1-3`) or a mask (`^0`).
    pub rt_vcpus: String,
    /// `fifo` or `rr`.
    pub scheduler: String,
    /// 1 to 99.
    pub priority: String,
    /// `share` or `isolate`.
    pub emulator: String,
    /// Where it is kept, when it is an existing VM already placed for real time.
    pub keep: Option<Placement>,
}

impl GuestForm {
    /// Writes a guest's settings into fields.
    pub fn from_guest(g: &GuestSettings) -> GuestForm {
        GuestForm {
            name: g.name.clone(),
            vcpus: g.vcpus.to_string(),
            memory: size_text(g.memory),
            node: g.node.map_or("auto".into(), |n| n.to_string()),
            rt_vcpus: g.rt_vcpus.to_string(),
            scheduler: g.scheduler.as_str().into(),
            priority: g.priority.to_string(),
            emulator: g.emulator.as_str().into(),
            keep: g.keep.clone(),
        }
    }

    /// Reads the fields into a guest's settings, or says which is wrong and why.
    pub fn to_guest(&self) -> Result<GuestSettings, Error> {
        Ok(GuestSettings {
            name: self.name.clone(),
            vcpus: number(&self.vcpus, "vCPUs")?,
            memory: size(&self.memory, "guest memory")?,
            node: match self.node.trim() {
                "" | "auto" => None,
                n => Some(number(n, "NUMA node")?),
            },
            rt_vcpus: self.rt_vcpus.parse()?,
            scheduler: self.scheduler.parse()?,
            priority: number(&self.priority, "priority")?,
            emulator: self.emulator.parse()?,
            keep: self.keep.clone(),
        })
    }
}

/// The keys of a guest's fields, as the form names them (the first guest's field ids; the CLI's
/// `--guest` calls `rt-vcpus` `rt`).
pub const GUEST_KEYS: [&str; 8] = [
    "name",
    "vcpus",
    "memory",
    "node",
    "rt-vcpus",
    "scheduler",
    "priority",
    "emulator",
];

impl GuestForm {
    /// The field named `key` (one of [`GUEST_KEYS`]).
    pub fn field(&self, key: &str) -> Option<&String> {
        Some(match key {
            "name" => &self.name,
            "vcpus" => &self.vcpus,
            "memory" => &self.memory,
            "node" => &self.node,
            "rt-vcpus" => &self.rt_vcpus,
            "scheduler" => &self.scheduler,
            "priority" => &self.priority,
            "emulator" => &self.emulator,
            _ => return None,
        })
    }

    /// The field named `key` (one of [`GUEST_KEYS`]), to change.
    pub fn field_mut(&mut self, key: &str) -> Option<&mut String> {
        Some(match key {
            "name" => &mut self.name,
            "vcpus" => &mut self.vcpus,
            "memory" => &mut self.memory,
            "node" => &mut self.node,
            "rt-vcpus" => &mut self.rt_vcpus,
            "scheduler" => &mut self.scheduler,
            "priority" => &mut self.priority,
            "emulator" => &mut self.emulator,
            _ => return None,
        })
    }
}

/// Reads a whole number typed in a field named `what`.
fn number(text: &str, what: &str) -> Result<u32, Error> {
    let text = text.trim();
    text.parse::<u32>().map_err(|_| {
        Error::Setting(if text.starts_with('-') {
            format!("{what} cannot be negative ({text})")
        } else if text.is_empty() {
            format!("{what} is empty")
        } else {
            format!("{what}: '{text}' is not a whole number")
        })
    })
}

/// Reads a size typed in a field named `what`.
fn size(text: &str, what: &str) -> Result<Kib, Error> {
    text.parse::<Kib>()
        .map_err(|e| Error::Setting(format!("{what}: {e}")))
}

impl Default for Form {
    fn default() -> Self {
        Form::from_settings(&Settings::default())
    }
}

/// Writes a memory size the way people type it: the largest unit that divides it (`16G`, `1536M`).
fn size_text(kib: Kib) -> String {
    kernel_size(kib.0)
}

impl Form {
    /// Writes settings into form fields.
    pub fn from_settings(s: &Settings) -> Form {
        let h = &s.host;
        // The first guest is written as every other guest is, into the form's own fields.
        let GuestForm {
            name,
            vcpus,
            memory,
            node,
            rt_vcpus,
            scheduler,
            priority,
            emulator,
            keep,
        } = GuestForm::from_guest(&s.guest);
        Form {
            recipe: s.recipe.number().to_string(),
            host_cpus: h.host_cpus.to_string(),
            housekeeping: h
                .housekeeping
                .as_ref()
                .map_or(String::new(), ToString::to_string),
            host_memory: size_text(h.host_memory),
            page_size: h.page_size.to_string(),
            preset: h.preset.as_str().into(),
            kernel: h.kernel.as_str().into(),
            kernel_type: h.kernel_type.as_str().into(),
            reserve: h.reserve.as_str().into(),
            spare: match h.spare.0 {
                0 => String::new(),
                _ => size_text(h.spare),
            },
            name,
            vcpus,
            memory,
            node,
            rt_vcpus,
            scheduler,
            priority,
            emulator,
            keep,
            others: s.others.iter().map(GuestForm::from_guest).collect(),
        }
    }

    /// Returns the first guest's fields.
    pub fn first_guest(&self) -> GuestForm {
        GuestForm {
            name: self.name.clone(),
            vcpus: self.vcpus.clone(),
            memory: self.memory.clone(),
            node: self.node.clone(),
            rt_vcpus: self.rt_vcpus.clone(),
            scheduler: self.scheduler.clone(),
            priority: self.priority.clone(),
            emulator: self.emulator.clone(),
            keep: self.keep.clone(),
        }
    }

    /// The number of guests (the first and the others).
    pub fn guest_count(&self) -> usize {
        1 + self.others.len()
    }

    /// Returns the fields of the guest at place `i` (0: the first), if there is one.
    pub fn guest(&self, i: usize) -> Option<GuestForm> {
        match i {
            0 => Some(self.first_guest()),
            i => self.others.get(i - 1).cloned(),
        }
    }

    /// Writes the guests back, the first into the form's own fields.
    fn set_guests(&mut self, mut guests: Vec<GuestForm>) {
        let first = guests.remove(0);
        (self.name, self.vcpus, self.memory, self.node) =
            (first.name, first.vcpus, first.memory, first.node);
        (
            self.rt_vcpus,
            self.scheduler,
            self.priority,
            self.emulator,
            self.keep,
        ) = (
            first.rt_vcpus,
            first.scheduler,
            first.priority,
            first.emulator,
            first.keep,
        );
        self.others = guests;
    }

    /// Every guest's fields, the first first.
    fn guests(&self) -> Vec<GuestForm> {
        std::iter::once(self.first_guest())
            .chain(self.others.iter().cloned())
            .collect()
    }

    /// The field `key` (one of [`GUEST_KEYS`]) of the guest at place `i`; empty when there is none.
    pub fn guest_field(&self, i: usize, key: &str) -> &str {
        let field = match i {
            0 => match key {
                "name" => Some(&self.name),
                "vcpus" => Some(&self.vcpus),
                "memory" => Some(&self.memory),
                "node" => Some(&self.node),
                "rt-vcpus" => Some(&self.rt_vcpus),
                "scheduler" => Some(&self.scheduler),
                "priority" => Some(&self.priority),
                "emulator" => Some(&self.emulator),
                _ => None,
            },
            i => self.others.get(i - 1).and_then(|g| g.field(key)),
        };
        field.map_or("", String::as_str)
    }

    /// Sets the field `key` of the guest at place `i`.
    pub fn set_guest_field(&mut self, i: usize, key: &str, value: String) {
        let field = match i {
            0 => match key {
                "name" => Some(&mut self.name),
                "vcpus" => Some(&mut self.vcpus),
                "memory" => Some(&mut self.memory),
                "node" => Some(&mut self.node),
                "rt-vcpus" => Some(&mut self.rt_vcpus),
                "scheduler" => Some(&mut self.scheduler),
                "priority" => Some(&mut self.priority),
                "emulator" => Some(&mut self.emulator),
                _ => None,
            },
            i => self.others.get_mut(i - 1).and_then(|g| g.field_mut(key)),
        };
        if let Some(field) = field {
            *field = value;
        }
    }

    /// A name no guest has: `base-2`, `base-3`, … (the first free from `from`).
    fn free_name(&self, base: &str, from: usize) -> String {
        let taken = |name: &str| self.name == name || self.others.iter().any(|o| o.name == name);
        (from..)
            .map(|n| format!("{base}-{n}"))
            .find(|name| !taken(name))
            .expect("a free name")
    }

    /// Adds a guest at the end: a copy of the first under a new name (`rt-guest-2`), placed anew.
    pub fn add_guest(&mut self) {
        let mut guest = self.first_guest();
        guest.keep = None;
        guest.name = self.free_name(&self.name, self.others.len() + 2);
        self.others.push(guest);
    }

    /// Inserts a copy of the guest at place `i` right after it, under a new name (`plc-a-2`) and
    /// placed anew (two guests cannot be kept on the same cores); returns its place.
    pub fn duplicate_guest(&mut self, i: usize) -> Option<usize> {
        let mut guest = self.guest(i)?;
        guest.keep = None;
        guest.name = self.free_name(&guest.name, 2);
        let mut guests = self.guests();
        guests.insert(i + 1, guest);
        self.set_guests(guests);
        Some(i + 1)
    }

    /// Moves the guest at place `from` to place `to`, the others keeping their order (the order
    /// guests are placed in).
    pub fn move_guest(&mut self, from: usize, to: usize) {
        let mut guests = self.guests();
        if from < guests.len() && to < guests.len() {
            let guest = guests.remove(from);
            guests.insert(to, guest);
            self.set_guests(guests);
        }
    }

    /// Removes the guest at place `i`, unless it is the only one (the next becomes the first).
    pub fn remove_guest(&mut self, i: usize) {
        let mut guests = self.guests();
        if guests.len() > 1 && i < guests.len() {
            guests.remove(i);
            self.set_guests(guests);
        }
    }

    /// Says what is wrong with each field of the guests after the first, as [`Form::field_errors`]
    /// does for the first (each field read alone into a default guest), and names the guest whose
    /// name an earlier guest has already: `(place, key, message)`, the messages without the guest's
    /// name, since each stands under its own guest's field.
    pub fn guest_errors(&self) -> Vec<(usize, &'static str, String)> {
        let defaults = GuestForm::from_guest(&GuestSettings::default());
        let guests = self.guests();
        let mut errors: Vec<(usize, &'static str, String)> = Vec::new();
        for (i, guest) in guests.iter().enumerate() {
            let mut found = |key: &'static str, e: Error| {
                let message = e.to_string();
                if !errors.iter().any(|(g, _, m)| *g == i && *m == message) {
                    errors.push((i, key, message));
                }
            };
            // The first guest's fields are the form's own (`field_errors`).
            for key in GUEST_KEYS.into_iter().filter(|_| i > 0) {
                let mut alone = defaults.clone();
                // The real-time vCPUs are read with the vCPU count they refer to.
                let with = if key == "rt-vcpus" {
                    &[key, "vcpus"][..]
                } else {
                    &[key]
                };
                for k in with {
                    if let (Some(to), Some(from)) = (alone.field_mut(k), guest.field(k)) {
                        to.clone_from(from);
                    }
                }
                let read = alone.to_guest().and_then(|g| {
                    Settings {
                        guest: g,
                        ..Settings::default()
                    }
                    .validate()
                });
                if let Err(e) = read {
                    found(key, e);
                }
            }
            // A name an earlier guest has: the settings' own refusal.
            if guests[..i].iter().any(|g| g.name == guest.name) {
                let twice = Settings {
                    guest: GuestSettings {
                        name: guest.name.clone(),
                        ..GuestSettings::default()
                    },
                    others: vec![GuestSettings {
                        name: guest.name.clone(),
                        ..GuestSettings::default()
                    }],
                    ..Settings::default()
                };
                if let Err(e) = twice.validate() {
                    found("name", e);
                }
            }
        }
        errors
    }

    /// Reads the host side of the form (and the recipe) with the default guest: what the host's
    /// partition needs, so that the page can draw it while a guest field is being corrected.
    pub fn host_settings(&self) -> Result<Settings, Error> {
        let d = Form::default();
        Form {
            name: d.name,
            vcpus: d.vcpus,
            memory: d.memory,
            node: d.node,
            rt_vcpus: d.rt_vcpus,
            scheduler: d.scheduler,
            priority: d.priority,
            emulator: d.emulator,
            keep: None,
            others: Vec::new(),
            ..self.clone()
        }
        .to_settings()
    }

    /// Says what is wrong with each field, by the app's field ids (the CLI's flag names, with `-`):
    /// each field is read alone into the default form, which is valid, so that every wrong field is
    /// named, not only the first. The real-time vCPUs are read with the vCPU count they refer to, and
    /// blamed only for what that count alone does not explain.
    pub fn field_errors(&self) -> Vec<(&'static str, String)> {
        type Copy = fn(&mut Form, &Form);
        const FIELDS: [(&str, Copy); 18] = [
            ("recipe", |f, s| f.recipe.clone_from(&s.recipe)),
            ("host-cpus", |f, s| f.host_cpus.clone_from(&s.host_cpus)),
            ("housekeeping", |f, s| {
                f.housekeeping.clone_from(&s.housekeeping)
            }),
            ("host-memory", |f, s| {
                f.host_memory.clone_from(&s.host_memory)
            }),
            ("page-size", |f, s| f.page_size.clone_from(&s.page_size)),
            ("preset", |f, s| f.preset.clone_from(&s.preset)),
            ("kernel", |f, s| f.kernel.clone_from(&s.kernel)),
            ("kernel-type", |f, s| {
                f.kernel_type.clone_from(&s.kernel_type)
            }),
            ("reserve", |f, s| f.reserve.clone_from(&s.reserve)),
            // Spare pages are kept only with the guest's reservation: read with the form's.
            ("spare", |f, s| {
                f.spare.clone_from(&s.spare);
                f.reserve.clone_from(&s.reserve);
            }),
            ("name", |f, s| f.name.clone_from(&s.name)),
            ("vcpus", |f, s| f.vcpus.clone_from(&s.vcpus)),
            ("memory", |f, s| f.memory.clone_from(&s.memory)),
            ("node", |f, s| f.node.clone_from(&s.node)),
            ("rt-vcpus", |f, s| {
                f.rt_vcpus.clone_from(&s.rt_vcpus);
                f.vcpus.clone_from(&s.vcpus);
            }),
            ("scheduler", |f, s| f.scheduler.clone_from(&s.scheduler)),
            ("priority", |f, s| f.priority.clone_from(&s.priority)),
            ("emulator", |f, s| f.emulator.clone_from(&s.emulator)),
        ];
        let defaults = Form::default();
        let mut errors: Vec<(&'static str, String)> = Vec::new();
        for (id, copy) in FIELDS {
            let mut alone = defaults.clone();
            copy(&mut alone, self);
            if let Err(e) = alone.to_settings() {
                let message = e.to_string();
                if !errors.iter().any(|(_, m)| *m == message) {
                    errors.push((id, message));
                }
            }
        }
        errors
    }

    /// Reads the form into settings, or says which field is wrong and why.
    pub fn to_settings(&self) -> Result<Settings, Error> {
        let housekeeping = match self.housekeeping.trim() {
            "" => None,
            list => Some(list.parse().map_err(|source| Error::CpuList {
                what: "housekeeping CPUs".into(),
                source,
            })?),
        };
        let settings = Settings {
            recipe: self.recipe.parse()?,
            host: HostSettings {
                host_cpus: number(&self.host_cpus, "host CPUs per node")?,
                housekeeping,
                host_memory: size(&self.host_memory, "host memory per node")?,
                page_size: self.page_size.parse()?,
                preset: self.preset.parse()?,
                kernel: self.kernel.parse()?,
                kernel_type: self.kernel_type.parse()?,
                reserve: self.reserve.parse()?,
                spare: match self.spare.trim() {
                    "" => Kib(0),
                    text => size(text, "spare huge pages")?,
                },
            },
            guest: self.first_guest().to_guest()?,
            others: self
                .others
                .iter()
                .map(|g| {
                    g.to_guest()
                        .map_err(|e| Error::Setting(format!("guest {}: {e}", g.name)))
                })
                .collect::<Result<_, _>>()?,
        };
        settings.validate()?;
        Ok(settings)
    }
}

/// The CLI flags that messages name, and the same settings as the page's form names them: a message
/// is written once, with the flag, and the page shows it with [`page_spelling`].
pub const PAGE_SPELLINGS: [(&str, &str); 3] = [
    ("(--reserve guest)", "(Huge pages: only the guest's)"),
    ("(--housekeeping)", "(Housekeeping CPUs)"),
    ("(--page-size)", "(Huge page size)"),
];

/// Returns a message as the page shows it: every CLI flag it names spelled as the form's field.
pub fn page_spelling(message: &str) -> String {
    PAGE_SPELLINGS
        .iter()
        .fold(message.to_string(), |text, (cli, page)| {
            text.replace(cli, page)
        })
}

/// The huge page sizes to offer for a host: `auto`, then every size the host lists above its base page
/// (`1G`, `2M`, `32M`, `64K`, …), each as `(value, label)`. A value the form holds that the host does
/// not list is offered too, marked, so that the menu always shows what the plan uses.
pub fn page_size_choices(host: Option<&Host>, current: &str) -> Vec<(String, String)> {
    let mut choices = vec![("auto".to_string(), "automatic".to_string())];
    if let Some(host) = host {
        let listed = host.listed_page_sizes();
        // The automatic choice said in this host's own sizes.
        if let Some(size) = crate::settings::auto_page_size(&listed) {
            choices[0].1 = format!("automatic: {} on this host", format_kib(size));
        }
        let base = listed.first().copied();
        for size in listed.into_iter().filter(|&s| Some(s) != base) {
            choices.push((kernel_size(size), format_kib(size)));
        }
    }
    let current = current.trim();
    if !choices.iter().any(|(value, _)| value == current) {
        let label = match current.parse::<PageSize>() {
            Ok(PageSize::Kib(kib)) => format!("{} (not listed by this host)", format_kib(kib)),
            _ => format!("{current} (not a page size)"),
        };
        choices.push((current.to_string(), label));
    }
    choices
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_flag_a_page_message_names_has_a_page_spelling() {
        // Every message that reaches the page is written in these files; each flag it names in
        // parentheses must have the form's spelling.
        for source in [
            include_str!("settings.rs"),
            include_str!("plan/mod.rs"),
            include_str!("plan/partition.rs"),
            include_str!("plan/placement.rs"),
            include_str!("plan/limits.rs"),
            include_str!("plan/warnings.rs"),
        ] {
            for (i, _) in source.match_indices("(--") {
                let flag = &source[i..i + source[i..].find(')').unwrap() + 1];
                assert!(
                    super::PAGE_SPELLINGS.iter().any(|(cli, _)| *cli == flag),
                    "{flag} has no page spelling"
                );
            }
        }
        assert_eq!(
            super::page_spelling("kept only with the guest's reservation (--reserve guest): x"),
            "kept only with the guest's reservation (Huge pages: only the guest's): x"
        );
    }

    use super::*;
    use crate::settings::RtVcpus;

    #[test]
    fn the_host_side_reads_while_a_guest_field_is_wrong() {
        let form = Form {
            priority: "0".into(),
            name: "a/b".into(),
            host_cpus: "4".into(),
            ..Form::default()
        };
        assert!(form.to_settings().is_err());
        let host = form.host_settings().unwrap();
        assert_eq!(host.host.host_cpus, 4);
        assert_eq!(host.guest, Settings::default().guest);
        let bad_host = Form {
            host_cpus: "x".into(),
            ..Form::default()
        };
        assert!(bad_host.host_settings().is_err());
    }

    #[test]
    fn keeps_what_the_user_wrote() {
        let mut form = Form {
            rt_vcpus: "^0".into(),
            vcpus: "5".into(),
            ..Form::default()
        };
        let s = form.to_settings().unwrap();
        assert_eq!(s.guest.rt_vcpus, RtVcpus::AllBut("0".parse().unwrap()));
        assert_eq!(Form::from_settings(&s).rt_vcpus, "^0");
        form.vcpus = "3".into();
        assert!(form.to_settings().is_ok(), "^0 still fits 3 vCPUs");
        form.housekeeping = "0-3,8-11".into();
        let s = form.to_settings().unwrap();
        assert_eq!(
            s.host.housekeeping.as_ref().map(ToString::to_string),
            Some("0-3,8-11".into())
        );
        assert_eq!(Form::from_settings(&s).housekeeping, "0-3,8-11");
    }

    #[test]
    fn number_fields_say_what_is_wrong() {
        let message = |form: Form| form.to_settings().unwrap_err().to_string();
        assert_eq!(
            message(Form {
                vcpus: "-1".into(),
                ..Form::default()
            }),
            "vCPUs cannot be negative (-1)"
        );
        assert_eq!(
            message(Form {
                priority: " ".into(),
                ..Form::default()
            }),
            "priority is empty"
        );
        assert_eq!(
            message(Form {
                host_cpus: "two".into(),
                ..Form::default()
            }),
            "host CPUs per node: 'two' is not a whole number"
        );
        // An empty real-time field is refused, not taken to mean every vCPU.
        assert!(message(Form {
            rt_vcpus: String::new(),
            ..Form::default()
        })
        .starts_with("real-time vCPUs: empty"));
    }

    #[test]
    fn every_wrong_field_is_named_with_its_own_message() {
        let form = Form {
            vcpus: "-1".into(),
            priority: "0".into(),
            name: "a/b".into(),
            rt_vcpus: "1-3".into(),
            host_memory: "6X".into(),
            ..Form::default()
        };
        let errors = form.field_errors();
        let ids: Vec<&str> = errors.iter().map(|(id, _)| *id).collect();
        // The real-time vCPUs are fine for themselves: the vCPU count is what is wrong.
        assert_eq!(ids, ["host-memory", "name", "vcpus", "priority"]);
        assert_eq!(errors[2].1, "vCPUs cannot be negative (-1)");
        assert_eq!(
            errors[3].1,
            "real-time priority must be between 1 and 99, not 0"
        );
        // The first of them is what reading the whole form says.
        assert_eq!(form.to_settings().unwrap_err().to_string(), errors[0].1);
        let rt = Form {
            vcpus: "2".into(),
            rt_vcpus: "1-3".into(),
            ..Form::default()
        };
        assert_eq!(
            rt.field_errors(),
            [(
                "rt-vcpus",
                "real-time vCPUs name vCPU 2, but the guest has vCPUs 0-1 only".to_string()
            )]
        );
        assert!(Form::default().field_errors().is_empty());
    }

    #[test]
    fn guests_are_added_duplicated_moved_and_removed_with_their_fields() {
        let mut form = Form::default();
        form.add_guest();
        form.add_guest();
        let names = |f: &Form| -> Vec<String> {
            (0..f.guest_count())
                .map(|i| f.guest_field(i, "name").to_string())
                .collect()
        };
        assert_eq!(names(&form), ["rt-guest", "rt-guest-2", "rt-guest-3"]);
        form.set_guest_field(1, "vcpus", "2".into());
        form.set_guest_field(0, "memory", "8G".into());
        assert_eq!(form.memory, "8G");
        // A copy goes right after its guest, under a name of its own, placed anew.
        form.keep = Some(Placement {
            vcpupin: vec![12, 13],
            emulatorpin: "8-9".parse().unwrap(),
        });
        assert_eq!(form.duplicate_guest(0), Some(1));
        assert_eq!(
            names(&form),
            ["rt-guest", "rt-guest-4", "rt-guest-2", "rt-guest-3"]
        );
        assert_eq!(form.guest_field(1, "memory"), "8G");
        assert!(form.keep.is_some() && form.others[0].keep.is_none());
        assert_eq!(form.duplicate_guest(2), Some(3));
        assert_eq!(form.guest_field(3, "name"), "rt-guest-2-2");
        assert_eq!(form.guest_field(3, "vcpus"), "2");
        // Moving a guest to the top makes it the first: the form's own fields.
        form.move_guest(2, 0);
        assert_eq!(form.name, "rt-guest-2");
        assert_eq!(form.vcpus, "2");
        assert!(form.keep.is_none() && form.others[0].keep.is_some());
        assert_eq!(
            names(&form),
            [
                "rt-guest-2",
                "rt-guest",
                "rt-guest-4",
                "rt-guest-2-2",
                "rt-guest-3"
            ]
        );
        form.move_guest(0, 4);
        assert_eq!(names(&form)[4], "rt-guest-2");
        form.remove_guest(0);
        assert_eq!(form.name, "rt-guest-4");
        while form.guest_count() > 1 {
            form.remove_guest(1);
        }
        form.remove_guest(0);
        assert_eq!(form.guest_count(), 1, "the last guest stays");
        assert!(form.to_settings().is_ok());
    }

    #[test]
    fn each_guest_field_is_named_with_its_own_message() {
        let mut form = Form::default();
        form.add_guest();
        form.add_guest();
        form.set_guest_field(1, "vcpus", "x".into());
        form.set_guest_field(1, "priority", "0".into());
        form.set_guest_field(2, "vcpus", "2".into());
        form.set_guest_field(2, "rt-vcpus", "1-3".into());
        assert!(form.to_settings().is_err());
        assert_eq!(
            form.guest_errors(),
            [
                (1, "vcpus", "vCPUs: 'x' is not a whole number".to_string()),
                (
                    1,
                    "priority",
                    "real-time priority must be between 1 and 99, not 0".to_string()
                ),
                (
                    2,
                    "rt-vcpus",
                    "real-time vCPUs name vCPU 2, but the guest has vCPUs 0-1 only".to_string()
                ),
            ]
        );
        let mut twice = Form::default();
        twice.add_guest();
        twice.set_guest_field(1, "name", "rt-guest".into());
        assert_eq!(
            twice.guest_errors(),
            [(1, "name", "two guests are named 'rt-guest': each guest needs a name of its own (its domain name)".to_string())]
        );
        assert!(Form::default().guest_errors().is_empty());
    }

    #[test]
    fn page_sizes_follow_the_host() {
        let host = crate::parse_capabilities(crate::EXAMPLE_CAPABILITIES).unwrap();
        let values = |c: Vec<(String, String)>| c.into_iter().map(|(v, _)| v).collect::<Vec<_>>();
        assert_eq!(
            values(page_size_choices(Some(&host), "auto")),
            ["auto", "2M", "1G"]
        );
        assert_eq!(
            values(page_size_choices(Some(&host), "32M")),
            ["auto", "2M", "1G", "32M"]
        );
        assert_eq!(values(page_size_choices(None, "auto")), ["auto"]);
    }
}
