//! The guest's own OS: what goes inside the guest so that its real-time vCPUs stay quiet, and how to
//! measure them. rtkvm knows which vCPUs are real-time and which are the guest's housekeeping vCPUs,
//! so it writes the guest kernel command line, tuned's `realtime-virtual-guest` variables, a setup
//! script and a latency test sized to the guest. Only cpulists and numbers go into them.

use crate::cmdline::{join, param, KernelParam, TUNED_NETWORK_LATENCY, TUNED_RVG};
use crate::cpuset::CpuSet;
use crate::host::Host;
use crate::plan::{GuestPlan, Plan};
use crate::settings::Recipe;
use crate::template::render;

/// Everything written for the inside of the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestOs {
    /// The guest's real-time vCPUs, isolated inside the guest.
    pub rt_vcpus: CpuSet,
    /// The guest's housekeeping vCPUs (every vCPU without the real-time scheduler).
    pub housekeeping_vcpus: CpuSet,
    /// The guest kernel parameters, each with its explanation; empty when there is nothing to isolate
    /// or nothing left to keep the guest's own work.
    pub kernel_params: Vec<KernelParam>,
    /// The same, as one line.
    pub kernel_cmdline: String,
    /// `/etc/tuned/realtime-virtual-guest-variables.conf`.
    pub tuned_variables: String,
    /// `guest-setup.sh`: the packages, tuned's profile, the RT kernel and irqbalance.
    pub setup_script: String,
    /// `latency-test.sh`: cyclictest and oslat over the real-time vCPUs.
    pub latency_test: String,
}

/// Returns a guest's real-time vCPUs and its housekeeping vCPUs (every vCPU without the real-time
/// scheduler).
pub fn vcpu_roles(g: &GuestPlan) -> (CpuSet, CpuSet) {
    let all: CpuSet = (0..g.vcpus).collect();
    let hk = all.difference(&g.rt_vcpus);
    (g.rt_vcpus.clone(), hk)
}

/// Whether the guest's kernel isolates its real-time vCPUs: only when it has some, and housekeeping
/// vCPUs left for its own work.
pub fn isolates(rt: &CpuSet, housekeeping: &CpuSet) -> bool {
    !rt.is_empty() && !housekeeping.is_empty()
}

/// Writes the guest OS outputs of a plan's first guest.
pub fn guest_os(host: &Host, plan: &Plan) -> GuestOs {
    guest_os_of(host, &plan.guest, plan.recipe)
}

/// Writes the guest OS outputs of one guest of a plan.
pub fn guest_os_of(host: &Host, g: &GuestPlan, recipe: Recipe) -> GuestOs {
    let (rt, hk) = vcpu_roles(g);
    let isolate = isolates(&rt, &hk);
    let mut params = Vec::new();
    if isolate {
        params.push(param(
            format!("isolcpus=managed_irq,domain,{rt}"),
            "Removes the real-time vCPUs from the guest scheduler's load balancing and keeps managed device interrupts off them.",
            TUNED_RVG,
        ));
        params.push(param(
            "nohz=on".into(),
            "Turns on the tickless kernel, which nohz_full needs.",
            TUNED_RVG,
        ));
        params.push(param(
            format!("nohz_full={rt}"),
            "Stops the scheduler tick on the real-time vCPUs while each runs one task.",
            TUNED_RVG,
        ));
        params.push(param(
            format!("rcu_nocbs={rt}"),
            "Moves RCU callbacks off the real-time vCPUs onto the housekeeping vCPUs.",
            TUNED_RVG,
        ));
        params.push(param(
            format!("irqaffinity={hk}"),
            "Sends the guest's device interrupts to its housekeeping vCPUs.",
            TUNED_RVG,
        ));
        params.push(param(
            "skew_tick=1".into(),
            "Offsets each vCPU's tick so that they do not contend for the same kernel locks at once.",
            TUNED_RVG,
        ));
        if host.is_x86() {
            params.push(param(
                "tsc=reliable".into(),
                "Turns off the clocksource watchdog, which periodically interrupts every vCPU.",
                TUNED_RVG,
            ));
        }
        params.push(param(
            "nosoftlockup".into(),
            "Turns off the soft-lockup detector, which would report a real-time task that holds its vCPU.",
            TUNED_RVG,
        ));
        // tuned's network-latency, which realtime-virtual-guest includes, writes both on the tuned
        // path; without tuned they must be here (every revision: a guest without them was a bug).
        params.push(param(
            "rcupdate.rcu_normal_after_boot=1".into(),
            "After boot, expedited RCU grace periods, which interrupt every vCPU, become normal ones.",
            TUNED_NETWORK_LATENCY,
        ));
        if recipe >= Recipe::Qualified {
            params.push(param(
                "rcutree.nohz_full_patience_delay=1000".into(),
                "Lets RCU wait up to a second before it interrupts a tickless real-time vCPU to end a grace period (Linux 6.11; older kernels ignore it).",
                TUNED_NETWORK_LATENCY,
            ));
        }
    }
    let kernel_cmdline = join(&params);
    let tuned_variables = tuned_variables(&rt, &hk, isolate);
    let setup_script = setup_script(&kernel_cmdline, &tuned_variables, &rt, &hk, isolate);
    let latency_test = latency_test(&rt, &hk, &g.emulatorpin, isolate);
    GuestOs {
        rt_vcpus: rt,
        housekeeping_vcpus: hk,
        kernel_params: params,
        kernel_cmdline,
        tuned_variables,
        setup_script,
        latency_test,
    }
}

/// The template sections that apply: `isolate` (real-time and housekeeping vCPUs both), `none` (no
/// real-time vCPU), `nohk` (every vCPU real-time).
fn section(rt: &CpuSet, isolate: bool) -> impl Fn(&str) -> bool + '_ {
    move |name| match name {
        "isolate" => isolate,
        "none" => rt.is_empty(),
        "nohk" => !rt.is_empty() && !isolate,
        other => panic!("unknown template section %{other}%"),
    }
}

fn tuned_variables(rt: &CpuSet, hk: &CpuSet, isolate: bool) -> String {
    render(
        include_str!("templates/realtime-virtual-guest-variables.conf"),
        &[("RT", &rt.or_none()), ("HK", &hk.or_none())],
        section(rt, isolate),
    )
}

fn setup_script(cmdline: &str, tuned: &str, rt: &CpuSet, hk: &CpuSet, isolate: bool) -> String {
    render(
        include_str!("templates/guest-setup.sh"),
        &[
            ("RT", &rt.or_none()),
            ("HK", &hk.or_none()),
            ("CMDLINE", cmdline),
            ("TUNED", tuned.trim_end()),
            ("ISOLATE", if isolate { "yes" } else { "no" }),
            ("HK_MASK", &hk.to_mask()),
            ("RT_REPOS", crate::template::RT_REPOS),
        ],
        section(rt, isolate),
    )
}

fn latency_test(rt: &CpuSet, hk: &CpuSet, host_hk: &CpuSet, isolate: bool) -> String {
    let main = hk.first().map_or(String::new(), |v| v.to_string());
    render(
        include_str!("templates/latency-test.sh"),
        &[
            ("RT", &rt.or_none()),
            ("RT_COUNT", &rt.len().to_string()),
            ("MAIN", &main),
            ("HOST_HK", &host_hk.to_string()),
            ("HOST_HK_COUNT", &host_hk.len().to_string()),
            ("ISOLATE", if isolate { "yes" } else { "no" }),
        ],
        section(rt, isolate),
    )
}
