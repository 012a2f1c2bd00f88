//! The scripts install what they then use: every tuned profile a script activates (or includes in
//! its own profile) is in a package the same script installs, by tuned's own RPM spec, and every
//! Debian package a script installs exists, by the list checked against Debian's archive. The
//! packaging facts are excerpts kept as test data with their provenance (`core/tests/packaging/`).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{corpus, fixtures};
use rtkvm_core::settings::{KernelType, Named, Preset, Recipe};
use rtkvm_core::units::Kib;
use rtkvm_core::{outputs, parse_capabilities, Host, Settings};

fn packaging(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/packaging")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// tuned's subpackages as its spec declares them: the profiles each holds and the subpackages each
/// requires.
struct Spec {
    profiles: BTreeMap<String, BTreeSet<String>>,
    requires: BTreeMap<String, BTreeSet<String>>,
}

impl Spec {
    fn read() -> Spec {
        let text = packaging("tuned.spec.excerpt");
        let mut spec = Spec {
            profiles: BTreeMap::new(),
            requires: BTreeMap::new(),
        };
        let (mut files_of, mut package_of) = (None::<String>, None::<String>);
        for line in text.lines() {
            let full = |sub: &str| format!("tuned-{sub}");
            if let Some(sub) = line.strip_prefix("%files ") {
                files_of = Some(full(sub.trim()));
                package_of = None;
            } else if let Some(sub) = line.strip_prefix("%package ") {
                package_of = Some(full(sub.trim()));
                files_of = None;
            } else if let (Some(pkg), Some(profile)) =
                (&files_of, line.strip_prefix("%{system_profiles_dir}/"))
            {
                spec.profiles
                    .entry(pkg.clone())
                    .or_default()
                    .insert(profile.trim().to_string());
            } else if let (Some(pkg), Some(req)) = (&package_of, line.strip_prefix("Requires: ")) {
                if let Some(dep) = req.strip_prefix("%{name}-") {
                    let dep = dep.split_whitespace().next().unwrap();
                    spec.requires
                        .entry(pkg.clone())
                        .or_default()
                        .insert(full(dep));
                }
            }
        }
        spec
    }

    /// Returns the package that holds a profile.
    fn package_of(&self, profile: &str) -> Option<&str> {
        self.profiles
            .iter()
            .find(|(_, profiles)| profiles.contains(profile))
            .map(|(pkg, _)| pkg.as_str())
    }

    /// Returns the packages installed with these, through `Requires:`.
    fn closure(&self, installed: &BTreeSet<String>) -> BTreeSet<String> {
        let mut all = installed.clone();
        loop {
            let more: Vec<String> = all
                .iter()
                .flat_map(|p| self.requires.get(p).into_iter().flatten().cloned())
                .filter(|p| !all.contains(p))
                .collect();
            if more.is_empty() {
                return all;
            }
            all.extend(more);
        }
    }
}

/// The packages of every `dnf install -y …` command of a script (the first alternative of a `||`).
fn dnf_packages(script: &str) -> BTreeSet<String> {
    installs(script, "dnf install -y ")
        .iter()
        .flat_map(|packages| packages.split_whitespace().map(str::to_string))
        .collect()
}

/// The words of every `COMMAND …` a script runs (a line's first command of that name), up to the
/// end of that command: a `;`, `&&`, `||` or `}`.
fn installs<'a>(script: &'a str, command: &str) -> Vec<&'a str> {
    script
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(command).map(|(_, rest)| rest))
        .map(|rest| {
            let end = [";", "&&", "||", "}"]
                .iter()
                .filter_map(|stop| rest.find(stop))
                .min()
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// The profiles a script activates with `tuned-adm profile`.
fn activated(script: &str) -> Vec<String> {
    script
        .lines()
        .filter_map(|l| l.trim().strip_prefix("tuned-adm profile "))
        .map(|p| p.trim().to_string())
        .collect()
}

/// Asserts that every profile a script needs is in a package it installs.
fn assert_installs_its_profiles(spec: &Spec, label: &str, script: &str, own: Option<&str>) {
    let installed = spec.closure(&dnf_packages(script));
    let profiles = activated(script);
    assert!(!profiles.is_empty(), "{label}: activates no profile");
    for profile in profiles {
        // rtkvm's own profile is written by the script; what it needs is what it includes.
        let needed = match own {
            Some(text) if profile == "rtkvm-host" => text
                .lines()
                .find_map(|l| l.strip_prefix("include="))
                .expect("rtkvm-host includes a parent")
                .to_string(),
            _ => profile,
        };
        let package = spec
            .package_of(&needed)
            .unwrap_or_else(|| panic!("{label}: no package of tuned's spec holds {needed}"));
        assert!(
            installed.contains(package),
            "{label}: it needs {needed}, which is in {package}, but installs {installed:?}"
        );
    }
    for package in dnf_packages(script)
        .iter()
        .filter(|p| p.starts_with("tuned-profiles-"))
    {
        assert!(
            spec.profiles.contains_key(package),
            "{label}: {package} is not a package of tuned's spec"
        );
    }
}

fn hosts() -> Vec<(&'static str, Host)> {
    let read = |path: std::path::PathBuf| {
        parse_capabilities(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    vec![
        ("example", read(fixtures().join("seed-example.xml"))),
        (
            "aarch64",
            read(corpus().join("virt-manager/kvm-aarch64.xml")),
        ),
        (
            "s390x",
            read(corpus().join("tp-libvirt/capabilities_s390x.xml")),
        ),
    ]
}

#[test]
fn the_spec_excerpt_says_what_the_scripts_rely_on() {
    let spec = Spec::read();
    assert_eq!(
        spec.package_of("realtime-virtual-guest"),
        Some("tuned-profiles-nfv-guest")
    );
    assert_eq!(
        spec.package_of("realtime-virtual-host"),
        Some("tuned-profiles-nfv-host")
    );
    assert_eq!(spec.package_of("realtime"), Some("tuned-profiles-realtime"));
    assert!(spec.requires["tuned-profiles-nfv-guest"].contains("tuned-profiles-realtime"));
}

#[test]
fn every_script_installs_the_package_of_the_profile_it_activates() {
    let spec = Spec::read();
    for (name, host) in hosts() {
        for &recipe in &Recipe::ALL {
            for &kernel_type in KernelType::ALL {
                for &preset in Preset::ALL {
                    let mut settings = Settings {
                        recipe,
                        ..Settings::default()
                    };
                    settings.host.kernel_type = kernel_type;
                    settings.host.preset = preset;
                    settings.guest.vcpus = 2;
                    settings.guest.memory = Kib::gib(1);
                    settings.host.host_memory = Kib::gib(1);
                    let plan = rtkvm_core::plan(&host, &settings).unwrap();
                    let out = outputs(&host, &plan);
                    let label = format!(
                        "{name} recipe {} {} {}",
                        recipe.number(),
                        kernel_type.as_str(),
                        preset.as_str()
                    );
                    assert_installs_its_profiles(
                        &spec,
                        &format!("{label}: guest-setup.sh"),
                        &out.guest_os.setup_script,
                        None,
                    );
                    if let Some(setup) = &out.host_setup {
                        assert_installs_its_profiles(
                            &spec,
                            &format!("{label}: tuned-host.sh"),
                            &setup.tuned_script,
                            Some(&setup.tuned_profile),
                        );
                        // The RT kernel and its KVM modules, when the plan is for one (recipe 4).
                        let dnf = dnf_packages(&setup.tuned_script);
                        let wants_rt = recipe >= Recipe::Qualified
                            && kernel_type == KernelType::Rt
                            && preset == Preset::Full;
                        assert_eq!(dnf.contains("kernel-rt"), wants_rt, "{label}");
                        assert_eq!(dnf.contains("kernel-rt-kvm"), wants_rt, "{label}");
                    }
                }
            }
        }
    }
}

#[test]
fn every_debian_package_the_guest_installs_exists() {
    let known: BTreeSet<String> = packaging("debian-packages.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    let host = &hosts()[0].1;
    let plan = rtkvm_core::plan(host, &Settings::default()).unwrap();
    let script = outputs(host, &plan).guest_os.setup_script;
    let lines = installs(&script, "apt-get install -y ");
    assert!(!lines.is_empty());
    for line in lines {
        for word in line.split_whitespace() {
            let word = word.trim_matches('"');
            // The RT kernel of the guest's own architecture (Debian builds it for amd64 and arm64).
            let names: Vec<String> = match word.strip_suffix("$(dpkg") {
                Some(prefix) => ["amd64", "arm64"]
                    .iter()
                    .map(|arch| format!("{prefix}{arch}"))
                    .collect(),
                None if word.starts_with("--print-architecture") => continue,
                None => vec![word.to_string()],
            };
            for name in names {
                assert!(
                    known.contains(&name),
                    "guest-setup.sh installs {name}, which core/tests/packaging/debian-packages.tsv does not list"
                );
            }
        }
    }
}
