//! The `rtkvm-host` tuned profile as tuned itself reads it: tuned's own loader and merger (Debian's
//! tuned package, extracted by `scripts/setup.sh` into `.tools/tuned`) load the profile over the
//! real realtime-virtual-host, realtime and network-latency profiles, and the test asserts what the
//! daemon would apply: from recipe 4 only rtkvm's script runs (the parents' script, which turns
//! `kvm.nx_huge_pages` off, does not), the scheduler plugin applies its groups once (`runtime=0`),
//! stalld is started, and the command line is exactly the plan's.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{corpus, fixtures};
use rtkvm_core::settings::Recipe;
use rtkvm_core::{outputs, parse_capabilities, Settings};

fn tuned_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/tuned")
}

/// Copies tuned's system profiles into `dir`, with realtime-virtual-host's variables read from `dir`
/// instead of `/etc/tuned` (so that the test writes nothing outside its own directory).
fn system_profiles(dir: &Path, isolated: &str) -> PathBuf {
    let system = dir.join("system");
    let source = tuned_dir().join("usr/lib/tuned");
    for profile in [
        "realtime-virtual-host",
        "realtime",
        "network-latency",
        "latency-performance",
    ] {
        std::fs::create_dir_all(system.join(profile)).unwrap();
        for entry in std::fs::read_dir(source.join(profile)).unwrap() {
            let entry = entry.unwrap();
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let text = text.replace(
                "/etc/tuned/realtime-virtual-host-variables.conf",
                &dir.join("variables.conf").display().to_string(),
            );
            std::fs::write(system.join(profile).join(entry.file_name()), text).unwrap();
        }
    }
    // CPUs this machine has online, so that tuned's own assertions on the variables hold.
    std::fs::write(
        dir.join("variables.conf"),
        format!("isolated_cores={isolated}\nisolate_managed_irq=Y\n"),
    )
    .unwrap();
    system
}

fn merged(dir: &Path, system: &Path) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tuned/merge.py"))
        .arg(tuned_dir().join("usr/lib/python3/dist-packages"))
        .arg("rtkvm-host")
        .arg(system)
        .arg(dir.join("local"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "tuned's loader refused the profile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tuned_applies_the_profile_as_the_plan_says() {
    assert!(
        tuned_dir()
            .join("usr/lib/tuned/realtime-virtual-host")
            .is_dir(),
        "tuned's profiles are missing: run scripts/setup.sh"
    );
    let hosts = [
        fixtures().join("seed-example.xml"),
        corpus().join("virt-manager/kvm-aarch64.xml"),
    ];
    for (h, path) in hosts.iter().enumerate() {
        let host = parse_capabilities(&std::fs::read_to_string(path).unwrap()).unwrap();
        for recipe in [Recipe::RealtimeHost, Recipe::Qualified] {
            let settings = Settings {
                recipe,
                ..Settings::default()
            };
            let plan = rtkvm_core::plan(&host, &settings).unwrap();
            let out = outputs(&host, &plan);
            let setup = out.host_setup.as_ref().unwrap();
            let label = format!("{} recipe {}", path.display(), recipe.number());
            let dir = std::env::temp_dir().join(format!(
                "rtkvm-tuned-{}-{h}-{}",
                std::process::id(),
                recipe.number()
            ));
            let local = dir.join("local/rtkvm-host");
            std::fs::create_dir_all(&local).unwrap();
            std::fs::write(local.join("tuned.conf"), &setup.tuned_profile).unwrap();
            std::fs::write(local.join("script.sh"), &setup.tuned_profile_script).unwrap();
            let online = std::thread::available_parallelism().map_or(1, |n| n.get());
            let isolated = if online > 1 { "1" } else { "0" };
            let system = system_profiles(&dir, isolated);
            let v = merged(&dir, &system);
            let units = &v["units"];
            let scripts: Vec<String> = units["script"]["options"]["script"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            // The command line tuned writes is exactly the plan's: the parents' are emptied.
            assert_eq!(v["cmdline"], out.kernel_cmdline.as_str(), "{label}");
            if recipe >= Recipe::Qualified {
                assert_eq!(
                    scripts,
                    [local.join("script.sh").display().to_string()],
                    "{label}: only rtkvm's script runs"
                );
                assert_eq!(units["scheduler"]["options"]["runtime"], "0", "{label}");
                assert_eq!(
                    units["service"]["options"]["service.stalld"], "start,enable",
                    "{label}"
                );
            } else {
                // Recipe 3 left the parents' scripts in place, realtime-virtual-host's among them.
                assert!(
                    scripts
                        .iter()
                        .any(|s| s.ends_with("realtime-virtual-host/script.sh")),
                    "{label}: {scripts:?}"
                );
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
