//! Exports: the plan as the stacks that deploy real-time guests spell it, for an operator who does
//! not write libvirt's XML by hand.
//!
//! - [`nto`]: an OpenShift Node Tuning Operator `PerformanceProfile` (`performance.openshift.io/v2`)
//!   for the host: its CPU partition, huge pages, real-time kernel and workload hints.
//! - [`kubevirt`]: a KubeVirt `VirtualMachine` (`kubevirt.io/v1`) per guest.
//! - [`nova`]: an OpenStack Nova flavor script per plan (one flavor per guest) and the host's
//!   `nova.conf` settings.
//!
//! Each is plain data: typed structs serialized by serde-saphyr (YAML), or text made of cpulists,
//! numbers and fixed words (the `nova.conf` snippet). A guest's name, the one string a user types that
//! reaches these files, reaches the YAML only through the serializer and the shell script only
//! single-quoted ([`shell_quote`]). What a target cannot express, or does otherwise than rtkvm's recipe,
//! is a warning on that export ([`Export::warnings`]), printed as comments at the top of its file.

pub mod kubevirt;
pub mod nova;
pub mod nto;

use crate::host::Host;
use crate::outputs::{OutputFile, Outputs};
use crate::plan::Plan;

/// The folder of the bundle that holds the exports.
pub const FOLDER: &str = "deploy";

/// One exported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The suggested file name (`nto-performanceprofile.yaml`, `kubevirt-rt-guest.yaml`, …).
    pub file: String,
    /// The file's exact text, its warnings as comments at the top.
    pub content: String,
    /// What the target cannot express, or does otherwise than rtkvm's plan, one sentence each.
    pub warnings: Vec<String>,
}

impl Export {
    /// Returns the export as a file of the bundle, in [`FOLDER`].
    pub fn output_file(&self) -> OutputFile {
        OutputFile {
            name: format!("{FOLDER}/{}", self.file),
            content: self.content.clone(),
        }
    }
}

/// Every export of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exports {
    /// The OpenShift Node Tuning Operator's `PerformanceProfile` for the host.
    pub nto: Export,
    /// A KubeVirt `VirtualMachine` per guest, the first guest first.
    pub kubevirt: Vec<Export>,
    /// `nova-flavors.sh`: one Nova flavor per guest.
    pub nova_flavors: Export,
    /// `nova.conf`: the compute host's settings.
    pub nova_conf: Export,
}

/// Writes every export of a plan.
pub fn exports(host: &Host, plan: &Plan, outputs: &Outputs) -> Exports {
    Exports {
        nto: nto::performance_profile(host, plan, &outputs.kernel_params),
        kubevirt: kubevirt::virtual_machines(host, plan),
        nova_flavors: nova::flavors(host, plan),
        nova_conf: nova::nova_conf(host, plan),
    }
}

impl Exports {
    /// Returns the files of the bundle's `deploy/` folder: its `README.md`, the profile, each
    /// guest's VirtualMachine, the flavor script and `nova.conf`.
    pub fn files(&self) -> Vec<OutputFile> {
        let mut files = vec![OutputFile {
            name: format!("{FOLDER}/README.md"),
            content: self.readme(),
        }];
        files.push(self.nto.output_file());
        files.extend(self.kubevirt.iter().map(Export::output_file));
        files.push(self.nova_flavors.output_file());
        files.push(self.nova_conf.output_file());
        files
    }

    /// Returns every VirtualMachine as one YAML stream (`---` between documents), as
    /// `rtkvm plan --format kubevirt` prints it and `kubectl apply -f` reads it.
    pub fn kubevirt_stream(&self) -> String {
        let docs: Vec<&str> = self.kubevirt.iter().map(|e| e.content.as_str()).collect();
        docs.join("---\n")
    }

    /// Writes `deploy/README.md`: what each file is for and what each target does otherwise.
    fn readme(&self) -> String {
        let mut text = String::from(
            "# Deploying with the OpenShift Node Tuning Operator, KubeVirt or OpenStack Nova\n\n\
             The same plan as the files beside this folder, as each stack spells it. Use these\n\
             instead of the host's files and the domain XML when the stack configures the host\n\
             and defines the guests; each file says at its top what it cannot express.\n\n",
        );
        text.push_str(&format!(
            "- `{}`: the host's `PerformanceProfile` (`oc apply -f`). Replace the placeholder\n  node selector with the label of your real-time worker nodes first.\n",
            self.nto.file
        ));
        for vm in &self.kubevirt {
            text.push_str(&format!(
                "- `{}`: a KubeVirt `VirtualMachine` (`kubectl apply -f`); add its disks and networks.\n",
                vm.file
            ));
        }
        text.push_str(&format!(
            "- `{}`: creates one Nova flavor per guest (`sh {}` with the `openstack` client\n  and admin credentials).\n- `{}`: the compute host's settings, to merge into its `/etc/nova/nova.conf`.\n",
            self.nova_flavors.file, self.nova_flavors.file, self.nova_conf.file
        ));
        let all = std::iter::once(&self.nto)
            .chain(&self.kubevirt)
            .chain([&self.nova_flavors, &self.nova_conf]);
        for export in all {
            if export.warnings.is_empty() {
                continue;
            }
            text.push_str(&format!("\n## `{}`\n\n", export.file));
            for w in &export.warnings {
                text.push_str(&format!("- {}\n", one_line(w)));
            }
        }
        text
    }
}

/// Returns `text` on one line: every character that could end a line (control characters, U+2028
/// and U+2029, which YAML 1.1 readers take as line breaks) becomes a space, so that a comment stays
/// a comment whatever the text holds.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Writes comment lines (`# …`) of a header: each line through [`one_line`].
pub fn comments(lines: &[String]) -> String {
    let mut text = String::new();
    for line in lines {
        let line = one_line(line);
        if line.is_empty() {
            text.push_str("#\n");
        } else {
            text.push_str(&format!("# {line}\n"));
        }
    }
    text
}

/// Writes the warnings of an export as header lines: a title, then one `- ` line each.
fn warning_lines(title: &str, warnings: &[String]) -> Vec<String> {
    if warnings.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![String::new(), title.to_string()];
    lines.extend(warnings.iter().map(|w| format!("- {w}")));
    lines
}

/// Serializes plain data as YAML (serde-saphyr, which quotes every string YAML 1.1 or 1.2 would
/// read as something else).
fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    let mut yaml = serde_saphyr::to_string(value)
        .unwrap_or_else(|e| format!("# rtkvm could not write this document: {e}\n"));
    if !yaml.ends_with('\n') {
        yaml.push('\n');
    }
    yaml
}

/// Quotes a word for a POSIX shell: as it is when it holds only characters no shell treats
/// specially, else in single quotes (a `'` in it written `'\''`).
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '=' | '/' | ',')
        })
        && !word.starts_with('-');
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The version written in every export's header.
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_stay_comments() {
        assert_eq!(one_line("a\nb\u{2028}c\u{85}d"), "a b c d");
        assert_eq!(comments(&["x\ny".into(), String::new()]), "# x y\n#\n");
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_quote("rt-guest"), "rt-guest");
        assert_eq!(
            shell_quote("hw:cpu_realtime_mask=^0"),
            "'hw:cpu_realtime_mask=^0'"
        );
        assert_eq!(shell_quote("it's $(x)"), "'it'\\''s $(x)'");
        assert_eq!(shell_quote("-x"), "'-x'");
        assert_eq!(shell_quote(""), "''");
    }
}
