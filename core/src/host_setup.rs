//! The real-time host's settings beside its command line (recipe 3): the sysctl file, tuned's
//! variables and a tuned profile with the script that applies them, and the systemd unit that runs
//! `rtkvm-host.sh` at every boot.

use crate::cmdline::KernelParam;
use crate::host::{Host, X86Vendor};
use crate::hugepages::host_unit;
use crate::plan::{HostPlan, Plan};
use crate::settings::{KernelType, Preset, Recipe};
use crate::template::render;

/// The host's settings beside its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSetup {
    /// `/etc/sysctl.d/90-rtkvm-realtime.conf`.
    pub sysctl: String,
    /// `/etc/tuned/realtime-virtual-host-variables.conf`.
    pub tuned_variables: String,
    /// `rtkvm-host/tuned.conf` in tuned's directory of local profiles: realtime-virtual-host plus the
    /// plan.
    pub tuned_profile: String,
    /// `rtkvm-host/script.sh` beside it (recipe 4 on, else empty): the profile's own script, which
    /// replaces realtime-virtual-host's.
    pub tuned_profile_script: String,
    /// `tuned-host.sh`: installs tuned's profile, writes the two files above and activates it.
    pub tuned_script: String,
    /// `rtkvm-host.service`: runs `rtkvm-host.sh` at every boot, before irqbalance and libvirt.
    pub unit: String,
    /// `rtkvm-rtentsk.service` (recipe 4 on, else empty): keeps the network timestamping static key on
    /// where tuned (its rtentsk plugin) does not run.
    pub rtentsk_unit: String,
}

/// Writes the host's settings for recipe 3 and later; `None` for the recipes before, whose host is
/// the command line and `hugepages.sh` only.
pub fn host_setup(
    host: &Host,
    plan: &Plan,
    params: &[KernelParam],
    cmdline: &str,
) -> Option<HostSetup> {
    if plan.recipe < Recipe::RealtimeHost {
        return None;
    }
    let part = &plan.host;
    let rt = part.kernel_type == KernelType::Rt;
    let r4 = plan.recipe >= Recipe::Qualified;
    let full = part.preset == Preset::Full;
    let sections = |template: &'static str| {
        move |section: &str| match section {
            "rt" => rt,
            "r3" => !r4,
            "r4" => r4,
            "r4full" => r4 && full,
            "r4nostalld" => r4 && !full,
            "r4fullrt" => r4 && full && rt,
            "runtime" => part.runtime_pages(),
            "x86" => host.is_x86(),
            "intel" => host.x86_vendor() == Some(X86Vendor::Intel),
            other => panic!("unknown section %{other}% in templates/{template}"),
        }
    };
    let sysctl = render(
        include_str!("templates/sysctl.conf"),
        &[],
        |section| match section {
            "generic" => !rt,
            other => sections("sysctl.conf")(other),
        },
    );
    let tuned_variables = tuned_variables(part, params);
    let k = part.kthreads;
    // No name the user typed goes into tuned's files: tuned expands `${…}` in them, and runs
    // `${f:exec:…}`.
    let tuned_profile = render(
        include_str!("templates/rtkvm-host-tuned.conf"),
        &[
            ("VCPU_PRIO", &plan.guest.priority.to_string()),
            ("KSOFTIRQD_PRIO", &k.ksoftirqd.to_string()),
            ("KTIMERS_PRIO", &k.ktimers.to_string()),
            ("RCU_PRIO", &k.rcu.to_string()),
            ("CMDLINE", cmdline),
        ],
        sections("rtkvm-host-tuned.conf"),
    );
    let tuned_profile_script = if r4 {
        render(
            include_str!("templates/rtkvm-host-tuned-script.sh"),
            &[],
            sections("rtkvm-host-tuned-script.sh"),
        )
    } else {
        String::new()
    };
    let tuned_script = render(
        include_str!("templates/tuned-host.sh"),
        &[
            ("VARIABLES", &tuned_variables),
            ("PROFILE", &tuned_profile),
            ("SCRIPT", &tuned_profile_script),
            ("RT_REPOS", crate::template::RT_REPOS),
        ],
        sections("tuned-host.sh"),
    );
    Some(HostSetup {
        sysctl,
        tuned_variables,
        tuned_profile,
        tuned_profile_script,
        tuned_script,
        unit: host_unit(part),
        rtentsk_unit: if r4 {
            include_str!("templates/rtkvm-rtentsk.service").to_string()
        } else {
            String::new()
        },
    })
}

/// tuned's `realtime-virtual-host-variables.conf`: the isolated CPUs, and `isolate_managed_irq=Y`
/// where the command line isolates managed interrupts too.
fn tuned_variables(part: &HostPlan, params: &[KernelParam]) -> String {
    let managed = params
        .iter()
        .any(|p| p.param.starts_with("isolcpus=managed_irq,"));
    let mut text = format!(
        "# /etc/tuned/realtime-virtual-host-variables.conf, planned by rtkvm (recipe {}).\nisolated_cores={}\n",
        part.recipe.number(),
        part.isolcpus
    );
    if managed {
        text.push_str("isolate_managed_irq=Y\n");
    }
    text
}
