//! Sections 8 and 9: the plan for the stacks that deploy it (OpenShift's Node Tuning Operator,
//! KubeVirt, OpenStack Nova), and the check of the live host (`rtkvm-check.sh`, and its report pasted
//! back as the plan's checklist).
//!
//! Both are built once the first plan is painted, and every file in them is written only when its
//! box is opened, the report read only once one is pasted: the first plan compiles none of the
//! exports' code (serde-saphyr's serializer among it) nor the check's (the counted start-up budget,
//! BENCHMARKS.md). Each file is the CLI's, byte for byte: `rtkvm plan --format
//! nto|kubevirt|nova|nova-conf|check-script`, and a guest's VirtualMachine the bundle's
//! `deploy/kubevirt-NAME.yaml`.

use leptos::prelude::*;
use rtkvm_core::export::{kubevirt, nova, nto, Export};
use rtkvm_core::verify::{check_script, read_report, CheckReport, Refusal, Status, CHECK_FORMAT};

use crate::browser;
use crate::fields::quoted;
use crate::outputs::{after_first_paint, guest_testid, OutputBox, Unfold};
use crate::state::AppState;

/// The id of the report's text area.
const REPORT: &str = "report";

/// How many failed checks the announcement names before it counts the rest.
const NAMED_FAILURES: usize = 5;

/// Sections 7 and 8, built in a task of their own after the first plan is painted.
#[component]
pub fn Deploy() -> impl IntoView {
    after_first_paint(|| sections().into_any())
}

/// The two sections, while the page shows a plan.
fn sections() -> impl IntoView {
    let state = expect_context::<AppState>();
    let report = RwSignal::new(String::new());
    // The report read against the plan shown; `None` while the box is empty, so that nothing of the
    // reader or the outputs it fingerprints runs before a report is pasted.
    let read = Memo::new(move |_| {
        report.with(|text| {
            if text.trim().is_empty() {
                return None;
            }
            let shown = state.shown.get()?;
            let outputs = rtkvm_core::outputs(&shown.host, &shown.plan);
            Some(read_report(text, &outputs))
        })
    });
    // The page's live region says what the report found, once each time that changes.
    Effect::new(move |said: Option<Option<String>>| {
        let now = read.with(|r| r.as_ref().map(summary));
        if now.is_some() && now != said.flatten() {
            browser::announce(now.as_deref().unwrap_or_default());
        }
        now
    });
    // Built again with each plan, as the other sections are (what is in an open box follows it).
    move || {
        let stale = !state.has_plan();
        let guests = state.shown.with(|s| {
            s.as_ref()
                .map(|s| s.plan.guests().map(|g| g.name.clone()).collect::<Vec<_>>())
        })?;
        Some(view! {
            {deploy_section(state, stale, guests)}
            {check_section(state, stale, report, read)}
        })
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

/// Section 9: the check script in its box, the report's box and what the report says.
fn check_section(
    state: AppState,
    stale: bool,
    report: RwSignal<String>,
    read: Memo<Option<Result<CheckReport, Refusal>>>,
) -> impl IntoView {
    view! {
        <section class="card outputs" class:stale=stale data-testid="check-host">
            <h2>"9. Check the live host"</h2>
            <p>"The check script tests that the host runs this plan: its kernel command line and isolated CPUs, each node's huge pages, the sysctl settings, interrupts and kernel threads, and, while the guests run, their vCPU and emulator threads. Run it as root after the reboot ("
                <code>"sh rtkvm-check.sh"</code>"), again with the guests running, and paste what it prints below."</p>
            <Unfold summary="The check script" testid="check-box">
                {move || check_file(state)}
            </Unfold>
            <label for=REPORT>"Paste the output of "<code>"rtkvm-check.sh"</code></label>
            // The box keeps the report as the plan changes: the section is built again, the text not.
            <textarea id=REPORT data-testid="report-input" spellcheck="false" rows="6"
                placeholder="rtkvm-check 1 recipe … plan …"
                prop:value=report.get_untracked()
                on:input=move |ev| report.set(event_target_value(&ev))></textarea>
            {move || read.with(|r| r.as_ref().map(checklist))}
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

/// `rtkvm-check.sh`, as `rtkvm plan --format check-script` prints it.
fn check_file(state: AppState) -> Option<AnyView> {
    let shown = state.shown.get()?;
    let outputs = rtkvm_core::outputs(&shown.host, &shown.plan);
    let script = check_script(&shown.plan, &outputs);
    Some(
        view! {
            <OutputBox title="Check script" testid="out-check" file="rtkvm-check.sh".to_string() content=script/>
            <p class="hint">"Copy it to the host and run it as root; its exit status is the number of checks that failed."</p>
        }
        .into_any(),
    )
}

/// What the page says of a report: how many checks passed, failed and were skipped, and the first
/// failures by name.
fn summary(read: &Result<CheckReport, Refusal>) -> String {
    let report = match read {
        Ok(report) => report,
        Err(refusal) => return format!("Report refused. {}", refusal_message(refusal)),
    };
    let count = |status| report.lines.iter().filter(|l| l.status == status).count();
    let (passed, skipped) = (count(Status::Pass), count(Status::Skip));
    let mut text = format!(
        "Report read: {} checks, {passed} passed, {} failed, {skipped} skipped.",
        report.lines.len(),
        report.failures
    );
    let failed: Vec<&str> = report
        .lines
        .iter()
        .filter(|l| l.status == Status::Fail)
        .map(|l| l.check.as_str())
        .collect();
    if !failed.is_empty() {
        let named = failed.len().min(NAMED_FAILURES);
        text.push_str(&format!(" Failed: {}", failed[..named].join("; ")));
        if failed.len() > named {
            text.push_str(&format!("; and {} more", failed.len() - named));
        }
        text.push('.');
    }
    text
}

/// Why a report is refused, in the page's words: its boxes and sections, not the CLI's flags.
fn refusal_message(refusal: &Refusal) -> String {
    match refusal {
        Refusal::NotAReport => "This is not the output of rtkvm-check.sh: paste everything the script printed, from its first line, “rtkvm-check 1 recipe N plan ID”.".into(),
        Refusal::OtherFormat { found } => format!(
            "This report is in format {found}, which another version of rtkvm wrote; this page reads format {CHECK_FORMAT}. Run this plan's check script, under “The check script” above, and paste its output."
        ),
        Refusal::OtherPlan { found, ours } => format!(
            "This report checks another plan ({found}); the page's plan is {ours}. It was made for another host, other settings or another version of rtkvm. Make the page show the plan the report was made for (that host's capabilities in 1. Host capabilities, the same values in 2. Host and 3. Guest, or that plan's share link), or run this plan's check script, under “The check script” above."
        ),
    }
}

/// The plan's checklist from a report, or why the report is refused.
fn checklist(read: &Result<CheckReport, Refusal>) -> AnyView {
    let report = match read {
        Ok(report) => report,
        Err(refusal) => {
            return view! {
                <p class="notice error" data-testid="report-error">
                    <strong>"The report cannot be read: "</strong>{refusal_message(refusal)}
                </p>
            }
            .into_any()
        }
    };
    let lines = report
        .lines
        .iter()
        .map(|l| {
            let word = l.status.as_str();
            let fix = (l.status == Status::Fail).then(|| view! { <br/>"What to do: "{l.fix} });
            view! {
                <li class=word.to_ascii_lowercase() data-status=word data-testid="check-line">
                    <strong>{word}</strong>" "<code>{l.check.clone()}</code>
                    ": found "<code>{l.found.clone()}</code>"; expected "<code>{l.expected.clone()}</code>
                    {fix}
                </li>
            }
        })
        .collect_view();
    view! {
        <p data-testid="report-summary">{summary(read)}</p>
        <ul class="checklist" data-testid="checklist">{lines}</ul>
    }
    .into_any()
}
