//! Section 9: the check of the live host, `rtkvm-check.sh` in its box and its report pasted back as
//! the plan's checklist.
//!
//! Built once the first plan is painted; the script is written only when its box is opened and the
//! report read only once one is pasted, so the first plan compiles none of it (the counted start-up
//! budget, BENCHMARKS.md). The script is the CLI's, byte for byte (`rtkvm plan --format
//! check-script`), and the checklist `rtkvm verify`'s.

use leptos::prelude::*;
use rtkvm_core::verify::{check_script, read_report, CheckReport, Refusal, Status, CHECK_FORMAT};

use crate::browser;
use crate::outputs::{after_first_paint, OutputBox, Unfold};
use crate::state::AppState;

/// The id of the report's text area.
const REPORT: &str = "report";

/// How many failed checks the announcement names before it counts the rest.
const NAMED_FAILURES: usize = 5;

/// Section 9, built in a task of its own after the first plan is painted.
#[component]
pub fn CheckHost() -> impl IntoView {
    after_first_paint(|| section().into_any())
}

/// The section, while the page shows a plan.
fn section() -> impl IntoView {
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
        state
            .shown
            .with(|s| s.is_some())
            .then(|| check_section(state, stale, report, read))
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
