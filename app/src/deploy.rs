//! Section 8: the plan for the stacks that deploy it (OpenShift's Node Tuning Operator, KubeVirt,
//! OpenStack Nova).
//!
//! Built once the first plan is painted, and every file in it is written only when its box is
//! opened: the first plan compiles none of the exports' code, serde-saphyr's serializer among it
//! (the counted start-up budget, BENCHMARKS.md). Each file is the CLI's, byte for byte: `rtkvm plan
//! --format nto|kubevirt|nova|nova-conf`, and a guest's VirtualMachine the bundle's
//! `deploy/kubevirt-NAME.yaml`.

use leptos::prelude::*;
use rtkvm_core::export::{kubevirt, nova, nto, Export};

use crate::fields::quoted;
use crate::outputs::{after_first_paint, guest_testid, OutputBox, Unfold};
use crate::state::AppState;

/// Section 8, built in a task of its own after the first plan is painted.
#[component]
pub fn Deploy() -> impl IntoView {
    after_first_paint(|| section().into_any())
}

/// The section, while the page shows a plan; built again with each plan, as the other sections are
/// (what is in an open box follows it).
fn section() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let stale = !state.has_plan();
        let guests = state.shown.with(|s| {
            s.as_ref()
                .map(|s| s.plan.guests().map(|g| g.name.clone()).collect::<Vec<_>>())
        })?;
        Some(deploy_section(state, stale, guests))
    }
}

/// Section 8: the exports, each in a box written when it is opened. The explanations are static
/// text (the file names and the placeholder spelled out), which the page clones as templates.
fn deploy_section(state: AppState, stale: bool, guests: Vec<String>) -> impl IntoView {
    let vm_boxes = guests
        .into_iter()
        .enumerate()
        .map(|(i, name)| view! {
            <Unfold summary=format!("The VirtualMachine for {name}") testid=guest_testid("kubevirt-box", i)>
                {move || virtual_machine(state, i)}
            </Unfold>
        })
        .collect_view();
    view! {
        <section class="card outputs" class:stale=stale data-testid="deploy">
            <h2>"8. Deploy with OpenShift, KubeVirt or OpenStack"</h2>
            <p>"Where a cluster sets up the host and defines the guests, give it this plan as it spells it, instead of the host's files and the domain XML above. Each file says at its top what its stack cannot express; the same is listed under it."</p>
            <h3 class="deploy-target">"OpenShift Node Tuning Operator"</h3>
            <p>"A "<code>"PerformanceProfile"</code>" for the host's worker nodes: from it the operator writes their kernel command line, tuned profile and huge pages and the kubelet's CPU and topology managers, then reboots them. Before you apply it ("<code>"oc apply -f nto-performanceprofile.yaml"</code>"), replace the node selector's placeholder label "
                <code>"node-role.kubernetes.io/worker-rt"</code>" with the label of your real-time worker nodes, which their MachineConfigPool selects."</p>
            <Unfold summary="The PerformanceProfile" testid="nto-box">
                {move || nto_profile(state)}
            </Unfold>
            <h3 class="deploy-target">"KubeVirt"</h3>
            <p>"A "<code>"VirtualMachine"</code>" per guest, on a cluster whose nodes are set up so (the profile above does it): each vCPU on a dedicated CPU, the host's NUMA node passed through, huge pages, the real-time vCPUs, no balloon and no graphics. Add its disks and networks, "
                <code>"kubectl apply -f"</code>" it and "<code>"virtctl start"</code>" it. Its header lists what the cluster needs: the CPU manager's static policy with full-pcpus-only, KubeVirt's NUMA feature gate, nodes labelled "<code>"kubevirt.io/realtime"</code>"."</p>
            {vm_boxes}
            <h3 class="deploy-target">"OpenStack Nova"</h3>
            <p>"A flavor per guest, for a cloud whose compute host is this one: "<code>"nova-flavors.sh"</code>" creates them with the "<code>"openstack"</code>" client and admin credentials, and "
                <code>"nova.conf"</code>" holds the compute host's settings (its dedicated and shared CPUs, the real-time priority), to merge into "<code>"/etc/nova/nova.conf"</code>" before nova-compute is restarted. Nova chooses each guest's node and CPUs itself, among the dedicated CPUs."</p>
            <Unfold summary="The flavors and nova.conf" testid="nova-box">
                {move || nova_files(state)}
            </Unfold>
        </section>
    }
}

/// One export in its box: the file with Copy and Download, and what the stack does otherwise.
fn export_box(title: &'static str, testid: String, export: Export, stack: &'static str) -> AnyView {
    let warnings = if export.warnings.is_empty() {
        view! { <p class="hint">{format!("{stack} expresses all of this part of the plan.")}</p> }
            .into_any()
    } else {
        view! {
            <p class="hint">{format!("Where {stack} does otherwise than this plan:")}</p>
            <ul class="export-warnings" data-testid=format!("{testid}-warnings")>
                {export.warnings.iter().map(|w| view! { <li>{quoted(w)}</li> }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <OutputBox title=title testid=testid file=export.file content=export.content/>
        {warnings}
    }
    .into_any()
}

/// The host's `PerformanceProfile`, as `rtkvm plan --format nto` prints it.
fn nto_profile(state: AppState) -> Option<AnyView> {
    let shown = state.shown.get()?;
    let outputs = state.host_outputs.get()?;
    let profile = nto::performance_profile(&shown.host, &shown.plan, &outputs.kernel_params);
    Some(export_box(
        "PerformanceProfile",
        "out-nto".into(),
        profile,
        "the operator",
    ))
}

/// Guest `i`'s `VirtualMachine`: the bundle's file, one document of `rtkvm plan --format kubevirt`.
fn virtual_machine(state: AppState, i: usize) -> Option<AnyView> {
    let shown = state.shown.get()?;
    // Written together: each VirtualMachine's name is made unique among the guests'.
    let vm = kubevirt::virtual_machines(&shown.host, &shown.plan)
        .into_iter()
        .nth(i)?;
    Some(export_box(
        "VirtualMachine",
        guest_testid("out-kubevirt", i),
        vm,
        "KubeVirt",
    ))
}

/// The flavor script and the compute host's `nova.conf`, as `rtkvm plan --format nova` and
/// `--format nova-conf` print them.
fn nova_files(state: AppState) -> Option<AnyView> {
    let shown = state.shown.get()?;
    let flavors = nova::flavors(&shown.host, &shown.plan);
    let conf = nova::nova_conf(&shown.host, &shown.plan);
    Some(
        view! {
            {export_box("Flavors", "out-nova".into(), flavors, "Nova")}
            {export_box("Compute host", "out-nova-conf".into(), conf, "Nova")}
        }
        .into_any(),
    )
}
