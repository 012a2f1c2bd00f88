//! The real-time host's settings beside its command line (recipe 3): the sysctl file, tuned's
//! variables and a tuned profile with the script that applies them, and the systemd unit that runs
//! `rtkvm-host.sh` at every boot.

use crate::cmdline::KernelParam;
use crate::hugepages::host_unit;
use crate::plan::{HostPlan, Plan};
use crate::settings::{KernelType, Recipe};
use crate::template::render;

/// The host's settings beside its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSetup {
    /// `/etc/sysctl.d/90-rtkvm-realtime.conf`.
    pub sysctl: String,
    /// `/etc/tuned/realtime-virtual-host-variables.conf`.
    pub tuned_variables: String,
    /// `/etc/tuned/rtkvm-host/tuned.conf`: realtime-virtual-host plus the plan.
    pub tuned_profile: String,
    /// `tuned-host.sh`: installs tuned's profile, writes the two files above and activates it.
    pub tuned_script: String,
    /// `rtkvm-host.service`: runs `rtkvm-host.sh` at every boot, before irqbalance and libvirt.
    pub unit: String,
}

/// Writes the host's settings for recipe 3 and later; `None` for the recipes before, whose host is
/// the command line and `hugepages.sh` only.
pub fn host_setup(plan: &Plan, params: &[KernelParam], cmdline: &str) -> Option<HostSetup> {
    if plan.recipe < Recipe::RealtimeHost {
        return None;
    }
    let part = &plan.host;
    let rt = part.kernel_type == KernelType::Rt;
    let sysctl = render(
        include_str!("templates/sysctl.conf"),
        &[],
        |section| match section {
            "generic" => !rt,
            other => panic!("unknown section %{other}% in templates/sysctl.conf"),
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
        |section| match section {
            "rt" => rt,
            other => panic!("unknown section %{other}% in templates/rtkvm-host-tuned.conf"),
        },
    );
    let tuned_script = render(
        include_str!("templates/tuned-host.sh"),
        &[("VARIABLES", &tuned_variables), ("PROFILE", &tuned_profile)],
        |section| match section {
            "runtime" => part.runtime_pages(),
            other => panic!("unknown section %{other}% in templates/tuned-host.sh"),
        },
    );
    Some(HostSetup {
        sysctl,
        tuned_variables,
        tuned_profile,
        tuned_script,
        unit: host_unit(part),
    })
}

/// tuned's `realtime-virtual-host-variables.conf`: the isolated CPUs, and `isolate_managed_irq=Y`
/// where the command line isolates managed interrupts too.
fn tuned_variables(part: &HostPlan, params: &[KernelParam]) -> String {
    let managed = params
        .iter()
        .any(|p| p.param.starts_with("isolcpus=managed_irq,"));
    let mut text = format!(
        "# /etc/tuned/realtime-virtual-host-variables.conf, planned by rtkvm (recipe 3).\nisolated_cores={}\n",
        part.isolcpus
    );
    if managed {
        text.push_str("isolate_managed_irq=Y\n");
    }
    text
}
