//! OpenStack Nova: one flavor per guest (`nova-flavors.sh`, `openstack flavor create` and
//! `openstack flavor set`) and the compute host's `nova.conf` settings.
//!
//! Read against openstack/nova at 00a0304: the flavor extra specs' validators
//! (`nova/api/validation/extra_specs/hw.py`), the real-time constraint (`nova/virt/hardware.py`
//! `get_realtime_cpu_constraint` 1961-2004: a mask starting with `^` excludes vCPUs from `0-(n-1)`,
//! and a mask covering every vCPU needs `hw:emulator_threads_policy`), where the libvirt driver puts
//! the emulator threads (`nova/virt/libvirt/driver.py` `_get_emulatorpin_cpuset` 6570-6615: `share`
//! pins them to `[compute] cpu_shared_set`, and without it to the vCPUs' own CPUs) and the scheduler
//! it gives real-time vCPUs (`nova/virt/libvirt/designer.py` `set_vcpu_realtime_scheduler` 203-207:
//! FIFO at `[libvirt] realtime_scheduler_priority`, `nova/conf/libvirt.py` 814-818), and what SMT
//! does to a flavor: `hw:cpu_thread_policy=isolate` forbids the `HW_CPU_HYPERTHREADING` trait
//! (`nova/scheduler/utils.py` 418-427), which the driver reports for a host any of whose CPUs has a
//! sibling (`nova/virt/libvirt/host.py` `has_hyperthreading` 1889-1906), while the host's NUMA cells
//! list as siblings only the CPUs in its sets (`nova/virt/libvirt/driver.py`
//! `_get_host_numa_topology` 9606-9616).

use super::{comments, one_line, shell_quote, warning_lines, Export, VERSION};
use crate::host::Host;
use crate::plan::{GuestPlan, Plan};
use crate::settings::{EmulatorPolicy, Named, Scheduler};
use crate::units::{format_kib, kernel_size};
use crate::CpuSet;

/// The flavor script's file name.
pub const FLAVORS_FILE: &str = "nova-flavors.sh";

/// The host settings' file name.
pub const CONF_FILE: &str = "nova.conf";

/// Returns Nova's `hw:cpu_realtime_mask` for a guest's real-time vCPUs, in Nova's meaning: the vCPUs
/// that are not real-time, each range excluded with `^` (`^0`, `^0-1,^4`). `None` when every vCPU is
/// real-time (no mask: Nova makes them all real-time) or none is (then the flavor is not real-time).
pub fn realtime_mask(vcpus: u32, rt_vcpus: &CpuSet) -> Option<String> {
    let others: CpuSet = (0..vcpus).filter(|v| !rt_vcpus.contains(*v)).collect();
    if rt_vcpus.is_empty() || others.is_empty() {
        return None;
    }
    let parts: Vec<String> = others
        .ranges()
        .map(|(a, b)| {
            if a == b {
                format!("^{a}")
            } else {
                format!("^{a}-{b}")
            }
        })
        .collect();
    Some(parts.join(","))
}

/// Returns `[compute] cpu_dedicated_set`: the isolated CPUs, where each vCPU has a core of its own.
/// On a host with SMT, one thread of each isolated core (its lowest), so that Nova, which sees the
/// others in none of its sets, gives no guest a vCPU's sibling, as rtkvm's plan does not.
pub fn dedicated_set(host: &Host, plan: &Plan) -> CpuSet {
    let isolated = &plan.host.isolcpus;
    if !host.smt() {
        return isolated.clone();
    }
    host.cells
        .iter()
        .flat_map(|cell| cell.cores())
        .filter_map(|core| core.cpus.intersection(isolated).iter().next())
        .collect()
}

/// Returns a guest's flavor extra specs, in the order the script sets them. The thread policy is
/// `isolate` (no vCPU beside another's sibling) on a host without SMT; on a host with SMT that policy
/// would keep the guest off it, and `cpu_dedicated_set` ([`dedicated_set`]) does the same.
pub fn extra_specs(host: &Host, g: &GuestPlan) -> Vec<(&'static str, String)> {
    let mut specs = vec![("hw:cpu_policy", "dedicated".to_string())];
    if !host.smt() {
        specs.push(("hw:cpu_thread_policy", "isolate".to_string()));
    }
    specs.extend([
        (
            "hw:emulator_threads_policy",
            g.emulator.as_str().to_string(),
        ),
        ("hw:cpu_sockets", "1".to_string()),
        ("hw:cpu_cores", g.vcpus.to_string()),
        ("hw:cpu_threads", "1".to_string()),
    ]);
    if !g.rt_vcpus.is_empty() {
        specs.push(("hw:cpu_realtime", "yes".to_string()));
        if let Some(mask) = realtime_mask(g.vcpus, &g.rt_vcpus) {
            specs.push(("hw:cpu_realtime_mask", mask));
        }
    }
    specs.push((
        "hw:mem_page_size",
        format!("{}B", kernel_size(g.page_size_kib)),
    ));
    specs.push(("hw:numa_nodes", "1".to_string()));
    // libvirt refuses <pmu> on ppc64 ("PMU is always enabled"), as rtkvm's domain knows.
    if !matches!(host.libvirt_arch(), Some("ppc64" | "ppc64le")) {
        specs.push(("hw:pmu", "false".to_string()));
    }
    specs
}

/// The priority `[libvirt] realtime_scheduler_priority` gets: one for the host, the highest of the
/// guests' (the host's kernel threads are above it in rtkvm's plan).
fn host_priority(plan: &Plan) -> u32 {
    plan.guests().map(|g| g.priority).max().unwrap_or(1)
}

/// Writes `nova-flavors.sh`.
pub fn flavors(host: &Host, plan: &Plan) -> Export {
    let mut warnings = vec![format!(
        "Nova chooses each guest's host NUMA node and CPUs from cpu_dedicated_set: the placement rtkvm planned ({}) is not in a flavor; hw:numa_nodes=1 keeps each guest on one node.",
        plan.guests()
            .map(|g| format!(
                "{} on node {}, CPUs {}",
                g.name,
                g.node,
                g.vcpupin.iter().copied().collect::<CpuSet>()
            ))
            .collect::<Vec<_>>()
            .join("; ")
    )];
    warnings.extend(priority_warnings(plan));
    warnings.extend(smt_warning(host, plan));
    if plan.guests().any(|g| g.scheduler == Scheduler::Rr) {
        warnings.push(
            "Nova gives real-time vCPUs SCHED_FIFO; a guest planned with SCHED_RR gets FIFO."
                .into(),
        );
    }
    if plan.guests().any(|g| g.emulator == EmulatorPolicy::Share) && plan.host.nodes.len() > 1 {
        warnings.push(format!(
            "hw:emulator_threads_policy=share pins the emulator threads to the whole cpu_shared_set ({}), every node's housekeeping CPUs, not only those of the guest's node.",
            plan.host.housekeeping
        ));
    }
    for g in plan.guests().filter(|g| g.rt_vcpus.is_empty()) {
        warnings.push(format!(
            "{}: no vCPU is real-time, so its flavor does not set hw:cpu_realtime.",
            g.name
        ));
    }
    for g in plan.guests().filter(|g| !g.memory_kib.is_multiple_of(1024)) {
        warnings.push(format!(
            "{}: a flavor's RAM is whole MiB; {} is rounded up.",
            g.name,
            format_kib(g.memory_kib)
        ));
    }
    let mut header = vec![
        format!(
            "OpenStack Nova flavors, one per guest, written by rtkvm {VERSION} from its plan (recipe {}).",
            plan.recipe.number()
        ),
        "Run it with the openstack client and admin credentials. The compute host needs the settings of".into(),
        format!("{CONF_FILE} (rtkvm plan --format nova-conf) and the huge pages and command line of the plan."),
        "--disk 0: the root disk is the image's size, or boot the guests from volumes.".into(),
    ];
    header.extend(warning_lines(
        "Where Nova does otherwise than rtkvm's plan:",
        &warnings,
    ));
    // The names are single-quoted on purpose: a `$(…)` in one is a literal part of the name.
    let mut script = format!(
        "#!/bin/sh\n# shellcheck disable=SC2016\n{}set -eu\n",
        comments(&header)
    );
    for g in plan.guests() {
        let name = shell_quote(&g.name);
        script.push_str(&format!(
            "\n# {}: {} vCPUs (real-time: {}), {} of {} pages, emulator threads {}.\n",
            one_line(&g.name),
            g.vcpus,
            g.rt_vcpus.or_none(),
            format_kib(g.memory_kib),
            format_kib(g.page_size_kib),
            g.emulator.as_str()
        ));
        script.push_str(&format!(
            "openstack flavor create --vcpus {} --ram {} --disk 0 -- {name}\nopenstack flavor set \\\n",
            g.vcpus,
            g.memory_kib.div_ceil(1024)
        ));
        for (key, value) in extra_specs(host, g) {
            script.push_str(&format!(
                "    --property {} \\\n",
                shell_quote(&format!("{key}={value}"))
            ));
        }
        script.push_str(&format!("    -- {name}\n"));
    }
    Export {
        file: FLAVORS_FILE.into(),
        content: script,
        warnings,
    }
}

/// Says when the guests' priorities differ: Nova has one for the host.
fn priority_warnings(plan: &Plan) -> Vec<String> {
    let priorities: std::collections::BTreeSet<u32> = plan.guests().map(|g| g.priority).collect();
    if priorities.len() > 1 {
        vec![format!(
            "Nova gives every real-time vCPU of the host one priority, [libvirt] realtime_scheduler_priority = {}, the highest of the guests' ({}).",
            host_priority(plan),
            priorities
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )]
    } else {
        Vec::new()
    }
}

/// Says, on a host with SMT, how the flavors and `nova.conf` keep each vCPU's sibling free.
fn smt_warning(host: &Host, plan: &Plan) -> Option<String> {
    host.smt().then(|| format!(
        "This host has SMT: hw:cpu_thread_policy=isolate would keep the guests off it (it forbids the HW_CPU_HYPERTHREADING trait the host reports), so the flavors leave the thread policy at Nova's default and cpu_dedicated_set holds one thread of each isolated core ({}); Nova uses no other isolated CPU, so each vCPU has a core of its own.",
        dedicated_set(host, plan)
    ))
}

/// Writes the compute host's `nova.conf` settings.
pub fn nova_conf(host: &Host, plan: &Plan) -> Export {
    let h = &plan.host;
    let mut warnings = priority_warnings(plan);
    warnings.extend(smt_warning(host, plan));
    let mut header = vec![
        format!(
            "nova.conf settings of the compute host, written by rtkvm {VERSION} from its plan (recipe {}).",
            plan.recipe.number()
        ),
        "Merge them into /etc/nova/nova.conf and restart nova-compute, after the host's command line".into(),
        "and huge pages are in place.".into(),
        String::new(),
        "cpu_dedicated_set: the isolated CPUs (with SMT, one thread of each isolated core), for the".into(),
        "flavors' dedicated vCPUs (and isolated emulator threads). cpu_shared_set: the housekeeping CPUs,".into(),
        "where emulator threads of hw:emulator_threads_policy=share run (without it they would run on the".into(),
        "vCPUs' CPUs), and where unpinned guests would run.".into(),
        "reserved_huge_pages is not set: every huge page the plan reserves is for guests. For pages".into(),
        "something else on the host uses, add to the [DEFAULT] section (not [compute], where Nova ignores".into(),
        "it) a line reserved_huge_pages = node:N,size:1GB,count:M for each node and size.".into(),
    ];
    header.extend(warning_lines(
        "Where Nova does otherwise than rtkvm's plan:",
        &warnings,
    ));
    let content = format!(
        "{}[compute]\ncpu_dedicated_set = {}\ncpu_shared_set = {}\n\n[libvirt]\ncpu_mode = host-passthrough\nrealtime_scheduler_priority = {}\n",
        comments(&header),
        dedicated_set(host, plan),
        h.housekeeping,
        host_priority(plan)
    );
    Export {
        file: CONF_FILE.into(),
        content,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_exclude_the_vcpus_that_are_not_real_time() {
        let set = |s: &str| s.parse::<CpuSet>().unwrap();
        assert_eq!(realtime_mask(4, &set("1-3")).as_deref(), Some("^0"));
        assert_eq!(realtime_mask(6, &set("2-3,5")).as_deref(), Some("^0-1,^4"));
        assert_eq!(realtime_mask(4, &set("0-3")), None);
        assert_eq!(realtime_mask(4, &CpuSet::new()), None);
    }
}
