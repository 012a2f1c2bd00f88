//! Sections 4 to 7: the outputs, what goes inside the guest, its test and the runbook.

use leptos::prelude::*;
use rtkvm_core::settings::Named;

use crate::state::AppState;
use crate::{browser, domain};

/// One output with Copy and Download.
#[component]
pub fn OutputBox(
    title: &'static str,
    testid: &'static str,
    file: String,
    content: String,
) -> impl IntoView {
    let (copy_text, download_text) = (content.clone(), content.clone());
    let download_name = file.clone();
    view! {
        <div class="output" data-testid=testid>
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

#[component]
pub fn Outputs() -> impl IntoView {
    let state = expect_context::<AppState>();
    let explained = RwSignal::new(false);
    move || {
        let stale = !state.has_plan();
        // Read in place: the outputs are large, and what the view keeps is copied from them.
        state.shown.with(|shown| {
        let (plan, outputs) = shown.as_ref()?;
        let [cmdline, hugepages, xml] = outputs.files();
        let host_files = outputs.host_files();
        let boot_step = if host_files.is_empty() {
            "Huge pages"
        } else {
            "Boot-time step"
        };
        let g = &plan.guest;
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
        let placement = format!(
            "{} on NUMA node {}: vCPUs → host CPUs {}; emulator threads → {}; {rt}",
            g.name,
            g.node,
            g.vcpupin
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            g.emulatorpin,
        );
        let args = outputs.kernel_cmdline.clone();
        let params = outputs.kernel_params.clone();
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
        Some(view! {
            <section class="card outputs" class:stale=stale>
                <h2>"4. Outputs"</h2>
                {stale.then(|| view! {
                    <p class="notice warning" data-testid="stale">"Out of date: these are the outputs of the last settings that made a plan. They follow again once the problem above is solved."</p>
                })}
                <p data-testid="placement">{placement}</p>
                <div class="share">
                    <button data-testid="copy-link" aria-label="Copy link to this plan"
                        on:click=move |ev| browser::copy(&ev, &address())>"Copy link"</button>
                    <a data-testid="share-link" href=link>"Link to this exact configuration"</a>
                    <domain::LinkNote/>
                    <crate::fields::LinkStatus/>
                </div>
                <OutputBox title="Kernel command line" testid="out-cmdline" file=cmdline.name content=cmdline.content/>
                <Unfold summary="What each parameter does, and how to apply them" testid="params-box" open=explained>
                    <table class="params" data-testid="params">
                        {params.iter().map(|p| view! {
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
                <OutputBox title="Domain XML" testid="out-xml" file=xml.name content=xml.content/>
                <p class="hint">"Add your disk and network devices, then "<code>"virsh define"</code>" it. Share: "
                   <code>{address}</code></p>
            </section>
        })
        })
    }
}

/// A `<details>` box whose contents are built only once it is opened, and which stays open across
/// plans.
#[component]
pub fn Unfold(
    summary: &'static str,
    testid: &'static str,
    open: RwSignal<bool>,
    children: ChildrenFn,
) -> impl IntoView {
    view! {
        <details data-testid=testid prop:open=move || open.get_untracked()
            on:toggle=move |ev| open.set(event_target::<web_sys::HtmlDetailsElement>(&ev).open())>
            <summary>{summary}</summary>
            {move || open.get().then(|| children())}
        </details>
    }
}

/// What goes inside the guest, and the latency test.
#[component]
pub fn GuestOs() -> impl IntoView {
    let state = expect_context::<AppState>();
    let (files_open, test_open) = (RwSignal::new(false), RwSignal::new(false));
    move || {
        let stale = !state.has_plan();
        // Read in place: the outputs are large, and what the view keeps is copied from them.
        state.shown.with(|shown| {
        let (plan, outputs) = shown.as_ref()?;
        let os = outputs.guest_os.clone();
        let [cmdline, tuned, setup, latency] = outputs.guest_files();
        let about = if os.kernel_params.is_empty() {
            if os.rt_vcpus.is_empty() {
                "The guest has no real-time vCPU, so nothing needs isolating inside it.".to_string()
            } else {
                "Every vCPU is real-time (libvirt's guide): with no housekeeping vCPU nothing can be isolated inside the guest; ^0 keeps vCPU 0 for its own work.".to_string()
            }
        } else {
            format!(
                "Inside the guest, real-time vCPUs {} are isolated the way the host isolates its CPUs, and vCPU {} keeps the guest's kernel threads, timers, interrupts and I/O (tuned's realtime-virtual-guest profile).",
                os.rt_vcpus.or_none(),
                os.housekeeping_vcpus.or_none()
            )
        };
        let host_hk = plan.guest.emulatorpin.to_string();
        Some(view! {
            <section class="card outputs" class:stale=stale data-testid="guest-os">
                <h2>"5. Inside the guest"</h2>
                <p>{about}</p>
                <Unfold summary="The guest's kernel command line, tuned variables and setup script"
                    testid="guest-files" open=files_open>
                    <OutputBox title="Guest kernel command line" testid="out-guest-cmdline"
                        file=cmdline.name.clone() content=cmdline.content.clone()/>
                    <table class="params">
                        {os.kernel_params.iter().map(|p| view! {
                            <tr><td><code>{p.param.clone()}</code></td><td>{p.explanation.clone()}</td></tr>
                        }).collect_view()}
                    </table>
                    <OutputBox title="tuned variables" testid="out-guest-tuned"
                        file=tuned.name.clone() content=tuned.content.clone()/>
                    <p class="hint">"For "<code>"/etc/tuned/"</code>"; "<code>"tuned-adm profile realtime-virtual-guest"</code>
                        " then puts the command line on the guest's kernels."</p>
                    <OutputBox title="Guest setup" testid="out-guest-setup"
                        file=setup.name.clone() content=setup.content.clone()/>
                    <p class="hint">"Run as root inside the guest (RHEL-likes, Debian, Ubuntu): installs the real-time kernel, "
                        "tuned's profile with these variables and turns irqbalance off; then reboot the guest."</p>
                </Unfold>
                <h2>"6. Test it"</h2>
                <p>{format!("Measure the latency inside the guest with cyclictest and oslat over exactly its real-time vCPUs, while the host's housekeeping CPUs ({host_hk}) are loaded; run it for hours.")}</p>
                <Unfold summary="The latency test" testid="latency-files" open=test_open>
                    <OutputBox title="Latency test" testid="out-latency-test"
                        file=latency.name.clone() content=latency.content.clone()/>
                </Unfold>
            </section>
        })
        })
    }
}

/// The steps in order, each with its commands and what they should print: the README of
/// `rtkvm plan --format bundle`, with this page's share link.
#[component]
pub fn NextSteps() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let stale = !state.has_plan();
        let link = state.share.get().unwrap_or_default();
        let readme = state.shown.with(|shown| {
            let (plan, outputs) = shown.as_ref()?;
            Some(domain::runbook(state, plan, outputs, &link))
        })?;
        Some(view! {
            <section class="card outputs" class:stale=stale data-testid="next-steps">
                <h2>"7. Next steps"</h2>
                <p>"The order to apply it all in, as root: each step with its commands and what they should print, from the command line and the reboot to the guest and its latency test."</p>
                <OutputBox title="Runbook" testid="out-readme" file="README.md".to_string() content=readme/>
            </section>
        })
    }
}
