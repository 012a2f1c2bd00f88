//! What a plan is turned into: the kernel command line, the huge page settings and the domain XML,
//! each written by its emitter module from the plan's data.

use crate::cmdline::{join, kernel_params, KernelParam};
use crate::domain::domain_xml;
use crate::guest_os::{guest_os, guest_os_of, GuestOs};
use crate::host::Host;
use crate::host_setup::{host_setup, HostSetup};
use crate::hugepages::{hugepage_settings, reservation, HugepageSettings};
use crate::plan::{GuestPlan, Plan};
use crate::settings::Recipe;

/// Everything written from one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// The kernel parameters, each with its explanation.
    pub kernel_params: Vec<KernelParam>,
    /// The whole kernel command line addition.
    pub kernel_cmdline: String,
    /// How to reserve the huge pages and check them, `hugepages.sh` included.
    pub hugepages: HugepageSettings,
    /// What the huge pages take of the host's memory, in a sentence ([`crate::hugepages::reservation`]).
    pub reservation: String,
    /// The host's sysctl file, tuned profile and boot unit (recipe 3 on).
    pub host_setup: Option<HostSetup>,
    /// The libvirt domain XML for the guest.
    pub domain_xml: String,
    /// What goes inside the guest: its kernel command line, tuned's variables, a setup script and a
    /// latency test.
    pub guest_os: GuestOs,
    /// The guest's name, for the XML's file name.
    guest_name: String,
    /// The huge page script's file name: `hugepages.sh`, or `rtkvm-host.sh` from recipe 3 on.
    pub host_script_name: &'static str,
    /// The other guests' own outputs, in the plan's order (empty for one guest).
    pub others: Vec<GuestOutputs>,
}

/// What is written for one guest beside the host's files: its domain XML and its OS files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestOutputs {
    /// The guest's name.
    pub name: String,
    /// Its libvirt domain XML.
    pub domain_xml: String,
    /// What goes inside it.
    pub guest_os: GuestOs,
}

impl GuestOutputs {
    /// Returns the guest's files: `<name>.xml`, then its four OS files.
    pub fn files(&self) -> Vec<OutputFile> {
        let mut files = vec![OutputFile {
            name: xml_file_name(&self.name),
            content: self.domain_xml.clone(),
        }];
        files.extend(guest_os_files(&self.guest_os));
        files
    }
}

/// What is written once for the host, whatever its guests: the kernel command line, the huge pages
/// and the host's files. The page shows these first, and writes a guest's files when they are opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOutputs {
    /// The kernel parameters, each with its explanation.
    pub kernel_params: Vec<KernelParam>,
    /// The whole kernel command line addition.
    pub kernel_cmdline: String,
    /// How to reserve the huge pages and check them, `hugepages.sh` included.
    pub hugepages: HugepageSettings,
    /// What the huge pages take of the host's memory, in a sentence ([`crate::hugepages::reservation`]).
    pub reservation: String,
    /// The host's sysctl file, tuned profile and boot unit (recipe 3 on).
    pub host_setup: Option<HostSetup>,
    /// The huge page script's file name: `hugepages.sh`, or `rtkvm-host.sh` from recipe 3 on.
    pub host_script_name: &'static str,
}

impl HostOutputs {
    /// Returns `kernel-cmdline.txt` and the huge page script (`hugepages.sh`, or `rtkvm-host.sh` from
    /// recipe 3 on).
    pub fn files(&self) -> [OutputFile; 2] {
        host_script_files(&self.kernel_cmdline, self.host_script_name, &self.hugepages)
    }

    /// Returns the host's files beside the command line (recipe 3 on, else none):
    /// `90-rtkvm-realtime.conf`, `rtkvm-host.service` and `tuned-host.sh`, and from recipe 4 on
    /// `rtkvm-rtentsk.service`.
    pub fn host_files(&self) -> Vec<OutputFile> {
        setup_files(self.host_setup.as_ref())
    }
}

/// `kernel-cmdline.txt` and the huge page script under its name.
fn host_script_files(
    kernel_cmdline: &str,
    script_name: &str,
    hugepages: &HugepageSettings,
) -> [OutputFile; 2] {
    [
        OutputFile {
            name: "kernel-cmdline.txt".into(),
            content: format!("{kernel_cmdline}\n"),
        },
        OutputFile {
            name: script_name.into(),
            content: hugepages.script.clone(),
        },
    ]
}

/// The files of the host's setup, named for where they go.
fn setup_files(setup: Option<&HostSetup>) -> Vec<OutputFile> {
    let Some(h) = setup else {
        return Vec::new();
    };
    let file = |name: &str, content: &String| OutputFile {
        name: name.into(),
        content: content.clone(),
    };
    let mut files = vec![
        file(SYSCTL_FILE, &h.sysctl),
        file("rtkvm-host.service", &h.unit),
        file("tuned-host.sh", &h.tuned_script),
    ];
    if !h.rtentsk_unit.is_empty() {
        files.push(file(RTENTSK_FILE, &h.rtentsk_unit));
    }
    files
}

/// Writes the host's outputs of a plan, without any guest's.
pub fn host_outputs(host: &Host, plan: &Plan) -> HostOutputs {
    let kernel_params = kernel_params(host, &plan.host);
    let kernel_cmdline = join(&kernel_params);
    HostOutputs {
        host_setup: host_setup(host, plan, &kernel_params, &kernel_cmdline),
        kernel_cmdline,
        kernel_params,
        hugepages: hugepage_settings(host, &plan.host),
        reservation: reservation(host, plan),
        host_script_name: if plan.recipe >= Recipe::RealtimeHost {
            "rtkvm-host.sh"
        } else {
            "hugepages.sh"
        },
    }
}

/// Writes one guest's outputs: its domain XML and its OS files.
pub fn guest_outputs(host: &Host, guest: &GuestPlan, recipe: Recipe) -> GuestOutputs {
    GuestOutputs {
        name: guest.name.clone(),
        domain_xml: domain_xml(host, guest, recipe),
        guest_os: guest_os_of(host, guest, recipe),
    }
}

/// Writes every output of a plan.
pub fn outputs(host: &Host, plan: &Plan) -> Outputs {
    let h = host_outputs(host, plan);
    Outputs {
        kernel_params: h.kernel_params,
        kernel_cmdline: h.kernel_cmdline,
        hugepages: h.hugepages,
        reservation: h.reservation,
        host_setup: h.host_setup,
        domain_xml: domain_xml(host, &plan.guest, plan.recipe),
        guest_os: guest_os(host, plan),
        guest_name: plan.guest.name.clone(),
        others: plan
            .others
            .iter()
            .map(|g| guest_outputs(host, g, plan.recipe))
            .collect(),
        host_script_name: h.host_script_name,
    }
}

/// The timestamping unit's name (recipe 4 on), for `/etc/systemd/system/`.
pub const RTENTSK_FILE: &str = "rtkvm-rtentsk.service";

/// The sysctl file's name, for `/etc/sysctl.d/`.
pub const SYSCTL_FILE: &str = "90-rtkvm-realtime.conf";

/// One downloadable output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// The suggested file name.
    pub name: String,
    /// The exact bytes, the same that `rtkvm plan --format …` prints.
    pub content: String,
}

impl Outputs {
    /// Returns the guest OS files: `guest-kernel-cmdline.txt`, `realtime-virtual-guest-variables.conf`,
    /// `guest-setup.sh` and `latency-test.sh`.
    pub fn guest_files(&self) -> [OutputFile; 4] {
        guest_os_files(&self.guest_os)
    }

    /// Returns the first guest's own outputs, as [`Outputs::others`] holds those of the other guests.
    pub fn first_guest(&self) -> GuestOutputs {
        GuestOutputs {
            name: self.guest_name.clone(),
            domain_xml: self.domain_xml.clone(),
            guest_os: self.guest_os.clone(),
        }
    }

    /// Returns the host's files beside the command line: [`HostOutputs::host_files`].
    pub fn host_files(&self) -> Vec<OutputFile> {
        setup_files(self.host_setup.as_ref())
    }

    /// Returns the three files: `kernel-cmdline.txt`, the huge page script (`hugepages.sh`, or
    /// `rtkvm-host.sh` from recipe 3 on) and `<guest>.xml`.
    pub fn files(&self) -> [OutputFile; 3] {
        let [cmdline, script] =
            host_script_files(&self.kernel_cmdline, self.host_script_name, &self.hugepages);
        [
            cmdline,
            script,
            OutputFile {
                name: xml_file_name(&self.guest_name),
                content: self.domain_xml.clone(),
            },
        ]
    }
}

/// The four OS files of a guest: `guest-kernel-cmdline.txt`, `realtime-virtual-guest-variables.conf`,
/// `guest-setup.sh` and `latency-test.sh`.
pub fn guest_os_files(g: &GuestOs) -> [OutputFile; 4] {
    let file = |name: &str, content: String| OutputFile {
        name: name.into(),
        content,
    };
    [
        file(
            "guest-kernel-cmdline.txt",
            format!("{}\n", g.kernel_cmdline),
        ),
        file(
            "realtime-virtual-guest-variables.conf",
            g.tuned_variables.clone(),
        ),
        file("guest-setup.sh", g.setup_script.clone()),
        file("latency-test.sh", g.latency_test.clone()),
    ]
}

/// Returns a file name for the guest's XML: the guest name with every ASCII character but letters,
/// digits and `. _ -` replaced by `_` (path separators, spaces, quotes and shell characters among
/// them), and so are control characters and spaces of other scripts; letters of any script stay.
/// Never starts with a dot; ends in `.xml`. (No Unicode tables: they would cost the site kilobytes.)
pub fn xml_file_name(guest_name: &str) -> String {
    let mut stem: String = guest_name
        .chars()
        .map(|c| {
            let other_script = !c.is_ascii() && !c.is_control() && !c.is_whitespace();
            if other_script || c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.starts_with('.') {
        stem.replace_range(0..1, "_");
    }
    format!("{stem}.xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(xml_file_name("rt-guest"), "rt-guest.xml");
        assert_eq!(xml_file_name("../etc/passwd"), "_._etc_passwd.xml");
        assert_eq!(xml_file_name("$(reboot) `x`"), "__reboot___x_.xml");
        assert_eq!(xml_file_name("plc ü"), "plc_ü.xml");
        assert_eq!(xml_file_name("ünï"), "ünï.xml");
        assert_eq!(xml_file_name("a\u{2003}b\u{85}c"), "a_b_c.xml");
    }
}
