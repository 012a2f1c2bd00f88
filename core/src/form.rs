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
