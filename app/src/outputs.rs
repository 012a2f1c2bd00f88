//! Sections 5 to 7: the host's outputs, each guest's (its domain XML, what goes inside it and its
//! latency test) and the runbook.
//!
//! The host's outputs are written with the plan ([`AppState::host_outputs`]); a guest's files and the
//! runbook are written only when their box is opened, so that the first plan does not wait for them
//! (the counted start-up budget, BENCHMARKS.md).

use std::sync::Arc;

use leptos::prelude::*;
use rtkvm_core::guest_os::{guest_os_of, isolates, vcpu_roles};
use rtkvm_core::outputs::{guest_os_files, xml_file_name};
use rtkvm_core::plan::GuestPlan;
use rtkvm_core::settings::Named;

use crate::state::{AppState, Planned};
use crate::{browser, domain};

/// One output with Copy and Download.
#[component]
pub fn OutputBox(
    title: &'static str,
    #[prop(into)] testid: String,
    file: String,
    content: String,
) -> impl IntoView {
    let (copy_text, download_text) = (content.clone(), content.clone());
    let download_name = file.clone();
    view! {
        <div class="output" data-testid=testid.clone()>
            <div class="output-head">
                <h3>{title}" "<code>{file.clone()}</code></h3>
                <button data-testid=format!("{testid}-copy") aria-label=format!("Copy {file}")
                    on:click=move |ev| browser::copy(&ev, &copy_text)>"Copy"</button>
                <button data-testid=format!("{testid}-download") aria-label=format!("Download {file}")
                    on:click=move |_| browser::download(&download_name, &download_text)>"Download"</button>
            </div>
            <pre tabindex="0">{content}</pre>
        </div>
    }
}

/// The boxes the user has opened, by test id: they stay open when the plan changes and the sections
/// are built again.
#[derive(Clone, Copy)]
pub struct Folds(pub RwSignal<Vec<String>>);

/// A `<details>` box whose contents are built only once it is opened, and which stays open across
/// plans.
#[component]
pub fn Unfold(
    #[prop(into)] summary: String,
    #[prop(into)] testid: String,
    children: ChildrenFn,
) -> impl IntoView {
    let Folds(folds) = expect_context::<Folds>();
    let key = testid.clone();
    let open = Memo::new(move |_| folds.with(|f| f.contains(&key)));
    let key = testid.clone();
    view! {
        <details data-testid=testid prop:open=move || open.get_untracked()
            on:toggle=move |ev| {
                let now = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
                if now != open.get_untracked() {
                    folds.update(|f| {
                        f.retain(|k| *k != key);
                        if now {
                            f.push(key.clone());
                        }
                    });
                }
            }>
            <summary>{summary}</summary>
            {move || open.get().then(|| children())}
        </details>
    }
}

/// A part of the page built in a task of its own once the first plan is painted: the first plan
/// waits for none of it. Every such part goes through this one function, so that the start-up
/// compiles one empty place for all of them, not one per part.
pub fn after_first_paint(build: fn() -> AnyView) -> impl IntoView {
    let ready = RwSignal::new(false);
    browser::later(move || ready.set(true));
    move || ready.get().then(build)
}

/// The test id of a guest's element: the first guest's as it always was, the others' numbered from 2.
pub fn guest_testid(base: &str, index: usize) -> String {
    match index {
        0 => base.to_string(),
        i => format!("{base}-{}", i + 1),
    }
}

/// Where a guest runs, in a sentence.
fn placement(g: &GuestPlan) -> String {
    let rt = if g.rt_vcpus.is_empty() {
        "no real-time vCPUs".to_string()
    } else {
        format!(
            "real-time vCPUs {} ({} priority {})",
            g.rt_vcpus,
            g.scheduler.as_str(),
            g.priority
        )
    };
    format!(
        "{} on NUMA node {}: vCPUs → host CPUs {}; emulator threads → {}; {rt}",
        g.name,
        g.node,
        g.vcpupin
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        g.emulatorpin,
    )
}

/// Section 5: the host's outputs, with the share link.
#[component]
pub fn Outputs() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let stale = !state.has_plan();
        let shown = state.shown.get()?;
        let outputs = state.host_outputs.get()?;
        let [cmdline, hugepages] = outputs.files();
        let host_files = outputs.host_files();
        let boot_step = if host_files.is_empty() {
            "Huge pages"
        } else {
            "Boot-time step"
        };
        let placements = shown
            .plan
            .guests()
            .enumerate()
            .map(
                |(i, g)| view! { <li data-testid=guest_testid("placement", i)>{placement(g)}</li> },
            )
            .collect_view();
        let args = outputs.kernel_cmdline.clone();
        // The share parts follow `state.share` on their own, without rebuilding the outputs.
        let link = move || state.share.get().unwrap_or_default();
        let address = move || browser::address_with(&link());
        let hs = &outputs.hugepages;
        let expected = hs
            .expected_pages
            .iter()
            .map(|e| format!("node {}: {}", e.node, e.line))
            .collect::<Vec<_>>()
            .join("\n");
        let params = outputs.clone();
        Some(view! {
            <section class="card outputs" class:stale=stale>
                <h2>"5. Outputs"</h2>
                {stale.then(|| view! {
                    <p class="notice warning" data-testid="stale">"Out of date: these are the outputs of the last settings that made a plan. They follow again once the problem above is solved."</p>
                })}
                <ul class="placements">{placements}</ul>
                <div class="share">
                    <button data-testid="copy-link" aria-label="Copy link to this plan"
                        on:click=move |ev| browser::copy(&ev, &address())>"Copy link"</button>
                    <a data-testid="share-link" href=link>"Link to this exact configuration"</a>
                    <domain::LinkNote/>
                    <crate::fields::LinkStatus/>
                </div>
                <OutputBox title="Kernel command line" testid="out-cmdline" file=cmdline.name content=cmdline.content/>
                <Unfold summary="What each parameter does, and how to apply them" testid="params-box">
                    <table class="params" data-testid="params">
                        {params.kernel_params.iter().map(|p| view! {
                            <tr><td><code>{p.param.clone()}</code></td><td>{p.explanation.clone()}</td></tr>
                        }).collect_view()}
                    </table>
                    <p>"Fedora, RHEL and derivatives:"</p>
                    <pre><code>{format!("grubby --update-kernel=ALL --args=\"{args}\"")}</code></pre>
                    <p>"Then reboot. Debian and Ubuntu: append the line to "<code>"GRUB_CMDLINE_LINUX"</code>" in "
                       <code>"/etc/default/grub"</code>", then run "<code>"update-grub"</code>" and reboot."</p>
                </Unfold>
                <OutputBox title=boot_step testid="out-hugepages" file=hugepages.name content=hugepages.content/>
                <p class="hint" data-testid="reservation">{outputs.reservation.clone()}</p>
                {host_files.into_iter().map(|f| {
                    let (title, testid, hint) = match f.name.as_str() {
                        "rtkvm-host.service" => ("Boot unit", "out-unit",
                            "Runs rtkvm-host.sh (as /usr/local/sbin/rtkvm-host.sh) at every boot, before irqbalance and libvirt."),
                        "tuned-host.sh" => ("With tuned", "out-tuned",
                            "RHEL and Fedora: instead of the command line and sysctl files, with tuned's realtime-virtual-host."),
                        "rtkvm-rtentsk.service" => ("Timestamping unit", "out-rtentsk",
                            "Without tuned: keeps network timestamping switched on, so that programs turning it on and off do not interrupt every CPU (tuned's rtentsk)."),
                        _ => ("sysctl", "out-sysctl",
                            "No RT throttling, fewer interruptions: for /etc/sysctl.d/."),
                    };
                    view! {
                        <OutputBox title=title testid=testid file=f.name content=f.content/>
                        <p class="hint">{hint}</p>
                    }
                }).collect_view()}
                <p class="hint">"Check after reboot: "<code>{hs.verify_command.clone()}</code>
                   ". "<code>"virsh capabilities"</code>" should then print:"</p>
                <pre><code>{expected}</code></pre>
                <p class="hint">"Share: "<code>{address}</code></p>
            </section>
        })
    }
}

/// Section 6: each guest, with its domain XML, what goes inside it and its latency test, each
/// written when its box is opened.
#[component]
pub fn Guests() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let stale = !state.has_plan();
        let shown = state.shown.get()?;
        let several = !shown.plan.others.is_empty();
        let title = if several {
            "6. The guests"
        } else {
            "6. The guest"
        };
        let cards = shown
            .plan
            .guests()
            .enumerate()
            .map(|(i, g)| guest_card(&shown, i, g))
            .collect_view();
        Some(view! {
            <section class="card outputs" class:stale=stale data-testid="guest-os">
                <h2>{title}</h2>
                {cards}
            </section>
        })
    }
}

/// One guest's card: its domain XML, its OS files and its latency test, in boxes.
fn guest_card(shown: &Arc<Planned>, i: usize, g: &GuestPlan) -> impl IntoView {
    let (rt, hk) = vcpu_roles(g);
    let about = if !isolates(&rt, &hk) {
        if rt.is_empty() {
            "The guest has no real-time vCPU, so nothing needs isolating inside it.".to_string()
        } else {
            "Every vCPU is real-time (libvirt's guide): with no housekeeping vCPU nothing can be isolated inside the guest; ^0 keeps vCPU 0 for its own work.".to_string()
        }
    } else {
        format!(
            "Inside the guest, real-time vCPUs {rt} are isolated the way the host isolates its CPUs, and vCPU {hk} keeps the guest's kernel threads, timers, interrupts and I/O (tuned's realtime-virtual-guest profile)."
        )
    };
    let test = format!("Measure the latency inside the guest with cyclictest and oslat over exactly its real-time vCPUs, while the host's housekeeping CPUs ({}) are loaded; run it for hours.", g.emulatorpin);
    let (xml_box, files_box, test_box) = (
        guest_testid("xml-box", i),
        guest_testid("guest-files", i),
        guest_testid("latency-files", i),
    );
    let (a, b, c) = (shown.clone(), shown.clone(), shown.clone());
    view! {
        <article class="guest" data-testid=guest_testid("guest", i)>
            <h3>{g.name.clone()}</h3>
            <Unfold summary=format!("Domain XML {}", xml_file_name(&g.name)) testid=xml_box>
                {guest_xml(&a, i)}
                <p class="hint">"Add your disk and network devices, then "<code>"virsh define"</code>" it."</p>
            </Unfold>
            <p>{about}</p>
            <Unfold summary="The guest's kernel command line, tuned variables and setup script" testid=files_box>
                {guest_files(&b, i)}
            </Unfold>
            <h4>"Test it"</h4>
            <p>{test}</p>
            <Unfold summary="The latency test" testid=test_box>
                {latency_test(&c, i)}
            </Unfold>
        </article>
    }
}

/// A guest's domain XML box.
fn guest_xml(shown: &Planned, i: usize) -> Option<impl IntoView> {
    let g = shown.plan.guests().nth(i)?;
    let content = rtkvm_core::domain::domain_xml(&shown.host, g, shown.plan.recipe);
    Some(view! {
        <OutputBox title="Domain XML" testid=guest_testid("out-xml", i) file=xml_file_name(&g.name) content=content/>
    })
}

/// A guest's OS files: its kernel command line with what each parameter does, tuned's variables and
/// the setup script.
fn guest_files(shown: &Planned, i: usize) -> Option<impl IntoView> {
    let g = shown.plan.guests().nth(i)?;
    let os = guest_os_of(&shown.host, g, shown.plan.recipe);
    let params = os
        .kernel_params
        .iter()
        .map(|p| view! { <tr><td><code>{p.param.clone()}</code></td><td>{p.explanation.clone()}</td></tr> })
        .collect_view();
    let [cmdline, tuned, setup, _] = guest_os_files(&os);
    Some(view! {
        <OutputBox title="Guest kernel command line" testid=guest_testid("out-guest-cmdline", i)
            file=cmdline.name content=cmdline.content/>
        <table class="params">{params}</table>
        <OutputBox title="tuned variables" testid=guest_testid("out-guest-tuned", i)
            file=tuned.name content=tuned.content/>
        <p class="hint">"For "<code>"/etc/tuned/"</code>"; "<code>"tuned-adm profile realtime-virtual-guest"</code>
            " then puts the command line on the guest's kernels."</p>
        <OutputBox title="Guest setup" testid=guest_testid("out-guest-setup", i)
            file=setup.name content=setup.content/>
        <p class="hint">"Run as root inside the guest (RHEL-likes, Debian, Ubuntu): installs the real-time kernel, "
            "tuned's profile with these variables and turns irqbalance off; then reboot the guest."</p>
    })
}

/// A guest's latency test.
fn latency_test(shown: &Planned, i: usize) -> Option<impl IntoView> {
    let g = shown.plan.guests().nth(i)?;
    let [_, _, _, test] = guest_os_files(&guest_os_of(&shown.host, g, shown.plan.recipe));
    Some(view! {
        <OutputBox title="Latency test" testid=guest_testid("out-latency-test", i) file=test.name content=test.content/>
    })
}

/// Section 7: the steps in order, each with its commands and what they should print: the README of
/// `rtkvm plan --format bundle`, with this page's share link, written when it is opened.
#[component]
pub fn NextSteps() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let stale = !state.has_plan();
        state.shown.with(|s| s.is_some()).then(|| view! {
            <section class="card outputs" class:stale=stale data-testid="next-steps">
                <h2>"7. Next steps"</h2>
                <p>"The order to apply it all in, as root: each step with its commands and what they should print, from the command line and the reboot to the guest and its latency test."</p>
                <Unfold summary="The runbook" testid="readme-box">
                    {move || {
                        let link = state.share.get().unwrap_or_default();
                        let shown = state.shown.get()?;
                        let outputs = rtkvm_core::outputs(&shown.host, &shown.plan);
                        let readme = domain::runbook(state, &shown.plan, &outputs, &link);
                        Some(view! { <OutputBox title="Runbook" testid="out-readme" file="README.md".to_string() content=readme/> })
                    }}
                </Unfold>
            </section>
        })
    }
}
