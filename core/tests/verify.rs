//! `rtkvm-check.sh` run on fake hosts (`--root DIR` reads DIR/proc, DIR/sys and DIR/etc): a host that
//! runs the plan passes every check, and each way a real host goes wrong (the command line not
//! applied, a node short of pages, irqbalance running, an interrupt on an isolated CPU, a vCPU
//! unpinned or not FIFO, emulator threads real-time, stalld missing) fails exactly its check. The report reader gives each
//! failure what to do, and refuses reports of another plan or format.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_shellcheck_passes, fixtures};
use rtkvm_core::verify::{check_script, read_report, Status};
use rtkvm_core::{outputs, parse_capabilities, Outputs, Plan, Settings};

fn plan() -> (Plan, Outputs) {
    let host =
        parse_capabilities(&std::fs::read_to_string(fixtures().join("seed-example.xml")).unwrap())
            .unwrap();
    let plan = rtkvm_core::plan(&host, &Settings::default()).unwrap();
    let out = outputs(&host, &plan);
    (plan, out)
}

/// A fake host's /proc, /sys and /etc.
struct Tree {
    dir: PathBuf,
    next_pid: u32,
}

impl Tree {
    fn new(name: &str) -> Tree {
        let dir = std::env::temp_dir().join(format!("rtkvm-verify-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Tree { dir, next_pid: 100 }
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.dir.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("{text}\n")).unwrap();
    }

    /// Rewrites one file of every thread named `comm`, ending in a newline as /proc's files do.
    fn rewrite_threads(&self, comm: &str, file: &str, text: &str) {
        for entry in std::fs::read_dir(self.dir.join("proc")).unwrap() {
            let task = entry.unwrap().path().join("task");
            for thread in std::fs::read_dir(&task).into_iter().flatten() {
                let thread = thread.unwrap().path();
                let name = std::fs::read_to_string(thread.join("comm")).unwrap();
                if name.trim() == comm {
                    std::fs::write(thread.join(file), format!("{text}\n")).unwrap();
                }
            }
        }
    }

    /// A /proc/PID/stat line: the state, the CPU it last ran on, its real-time priority and policy.
    fn stat(pid: u32, comm: &str, state: char, cpu: u32, rtprio: u32, policy: u32) -> String {
        let mut rest = vec![state.to_string()];
        rest.extend((2..37).map(|_| "0".to_string()));
        rest.push(cpu.to_string());
        rest.push(rtprio.to_string());
        rest.push(policy.to_string());
        format!("{pid} ({comm}) {}", rest.join(" "))
    }

    /// A process (or a kernel thread) of one thread.
    fn process(&mut self, comm: &str, cpu: u32, rtprio: u32, policy: u32) -> u32 {
        let pid = self.next_pid;
        self.next_pid += 1;
        self.write(&format!("proc/{pid}/comm"), comm);
        self.write(
            &format!("proc/{pid}/stat"),
            &Tree::stat(pid, comm, 'S', cpu, rtprio, policy),
        );
        pid
    }

    /// A process's environment, as /proc/PID/environ holds it: each variable ended by a NUL.
    fn environ(&self, pid: u32, vars: &[&str]) {
        let text: String = vars.iter().map(|v| format!("{v}\0")).collect();
        std::fs::write(self.dir.join(format!("proc/{pid}/environ")), text).unwrap();
    }

    /// A thread of a process, allowed on `allowed`.
    fn thread(&mut self, pid: u32, comm: &str, allowed: &str, rtprio: u32, policy: u32) {
        let tid = self.next_pid;
        self.next_pid += 1;
        let task = format!("proc/{pid}/task/{tid}");
        self.write(&format!("{task}/comm"), comm);
        self.write(
            &format!("{task}/status"),
            &format!("Name:\t{comm}\nCpus_allowed_list:\t{allowed}"),
        );
        let cpu = allowed.split(['-', ',']).next().unwrap().parse().unwrap();
        self.write(
            &format!("{task}/stat"),
            &Tree::stat(tid, comm, 'S', cpu, rtprio, policy),
        );
    }

    /// A host that runs the plan, its guest included.
    fn correct(name: &str, plan: &Plan, out: &Outputs) -> Tree {
        let mut t = Tree::new(name);
        let h = &plan.host;
        t.write(
            "proc/cmdline",
            &format!("BOOT_IMAGE=/vmlinuz ro {}", out.kernel_cmdline),
        );
        t.write("sys/devices/system/cpu/isolated", &h.isolcpus.to_string());
        t.write("sys/devices/system/cpu/nohz_full", &h.isolcpus.to_string());
        for p in &h.hugepages {
            let dir = format!(
                "sys/devices/system/node/node{}/hugepages/hugepages-{}kB",
                p.node, p.page_size_kib
            );
            t.write(&format!("{dir}/nr_hugepages"), &p.count.to_string());
            t.write(&format!("{dir}/free_hugepages"), &p.count.to_string());
        }
        for line in out.host_setup.as_ref().unwrap().sysctl.lines() {
            if let Some((key, value)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
                t.write(
                    &format!("proc/sys/{}", key.trim().replace('.', "/")),
                    value.trim(),
                );
            }
        }
        t.write(
            "proc/sys/kernel/version",
            "#1 SMP PREEMPT_RT Thu Dec  4 00:00:00 UTC 2026",
        );
        t.write("proc/irq/24/smp_affinity_list", &h.housekeeping.to_string());
        t.write("proc/irq/default_smp_affinity", &h.housekeeping.to_mask());
        t.write(
            "sys/devices/virtual/workqueue/cpumask",
            &h.housekeeping.to_mask(),
        );
        let k = h.kthreads;
        for cpu in h.isolcpus.iter() {
            t.process(&format!("ksoftirqd/{cpu}"), cpu, k.ksoftirqd, 1);
            t.process(&format!("ktimers/{cpu}"), cpu, k.ktimers, 1);
            t.process(&format!("rcuc/{cpu}"), cpu, k.rcu, 1);
        }
        t.process("stalld", 0, k.stalld(), 1);
        // The guest's QEMU: a vCPU thread per vCPU on its host CPU, the others on the emulator CPUs.
        let g = &plan.guest;
        let qemu = t.process("qemu-system-x86", 0, 0, 0);
        t.thread(qemu, "qemu-system-x86", &g.emulatorpin.to_string(), 0, 0);
        for (vcpu, cpu) in g.vcpupin.iter().enumerate() {
            let (rtprio, policy) = if g.rt_vcpus.contains(vcpu as u32) {
                (g.priority, 1)
            } else {
                (0, 0)
            };
            t.thread(
                qemu,
                &format!("CPU {vcpu}/KVM"),
                &cpu.to_string(),
                rtprio,
                policy,
            );
        }
        t
    }

    fn run(&self, script: &Path) -> String {
        String::from_utf8(self.output(script).stdout).unwrap()
    }

    /// Runs the script on this tree: its standard output, error and exit status.
    fn output(&self, script: &Path) -> std::process::Output {
        Command::new("sh")
            .arg(script)
            .arg("--root")
            .arg(&self.dir)
            .output()
            .unwrap()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Keeps a report as a seed of the `report` fuzz target when `RTKVM_REPORT_SEEDS` names a folder
/// (`fuzz/regressions/report/` holds the ones made so).
fn keep_seed(name: &str, report: &str) {
    if let Some(dir) = std::env::var_os("RTKVM_REPORT_SEEDS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.txt")), report).unwrap();
    }
}

fn failed(report: &str, out: &Outputs) -> Vec<String> {
    read_report(report, out)
        .unwrap()
        .lines
        .into_iter()
        .filter(|l| l.status == Status::Fail)
        .map(|l| l.check)
        .collect()
}

#[test]
fn the_check_script_passes_a_host_that_runs_the_plan_and_fails_each_fault() {
    let (plan, out) = plan();
    let script_text = check_script(&plan, &out);
    assert_shellcheck_passes(&script_text, "rtkvm-check.sh");
    let script = std::env::temp_dir().join(format!("rtkvm-check-{}.sh", std::process::id()));
    std::fs::write(&script, &script_text).unwrap();

    let good = Tree::correct("good", &plan, &out);
    let report = good.run(&script);
    keep_seed("good", &report);
    assert_eq!(failed(&report, &out), Vec::<String>::new(), "{report}");
    let read = read_report(&report, &out).unwrap();
    assert!(read.lines.iter().any(|l| l.check == "guest 1 vCPU 3"));
    assert!(read.lines.len() > 30);

    // Each fault fails its own check.
    type Fault<'a> = (&'a str, &'a dyn Fn(&mut Tree), &'a [&'a str]);
    let emulator_cpu = plan.guest.emulatorpin.iter().next().unwrap();
    let faults: [Fault; 8] = [
        (
            "cmdline",
            &|t| t.write("proc/cmdline", "BOOT_IMAGE=/vmlinuz ro quiet"),
            &["cmdline nohz=on", "cmdline hugepages=52"],
        ),
        (
            "pages",
            &|t| {
                t.write(
                    "sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages",
                    "20",
                )
            },
            &["hugepages node 1"],
        ),
        (
            "irqbalance",
            &|t| {
                let pid = t.process("irqbalance", 0, 0, 0);
                t.environ(pid, &["IRQBALANCE_BANNED_CPULIST=2-7"]);
            },
            &["irqbalance"],
        ),
        (
            "irq",
            &|t| t.write("proc/irq/31/smp_affinity_list", "3"),
            &["irq affinity"],
        ),
        (
            "vcpu-unpinned",
            &|t| {
                // vCPU 2's thread may run anywhere: no thread is pinned to its host CPU.
                let pid = t.process("qemu-system-x86", 0, 0, 0);
                t.thread(pid, "CPU 9/KVM", "0-15", 1, 1);
                t.rewrite_threads(
                    "CPU 2/KVM",
                    "status",
                    "Name:\tCPU 2/KVM\nCpus_allowed_list:\t0-15",
                );
            },
            &["guest 1 vCPU 2"],
        ),
        (
            "vcpu-not-fifo",
            &|t| {
                t.rewrite_threads(
                    "CPU 1/KVM",
                    "stat",
                    &Tree::stat(1, "CPU 1/KVM", 'S', 13, 0, 0),
                );
            },
            &["guest 1 vCPU 1"],
        ),
        (
            "emulator-realtime",
            &|t| {
                // QEMU's own thread at SCHED_FIFO 1 (an <emulatorsched> of the operator's).
                let stat = Tree::stat(1, "qemu-system-x86", 'S', emulator_cpu, 1, 1);
                t.rewrite_threads("qemu-system-x86", "stat", &stat);
            },
            &["guest 1 emulator"],
        ),
        (
            "no-stalld",
            &|t| {
                for entry in std::fs::read_dir(t.dir.join("proc")).unwrap() {
                    let path = entry.unwrap().path();
                    if std::fs::read_to_string(path.join("comm"))
                        .is_ok_and(|c| c.trim() == "stalld")
                    {
                        std::fs::remove_dir_all(path).unwrap();
                    }
                }
            },
            &["stalld"],
        ),
    ];
    for (name, fault, checks) in faults {
        let mut tree = Tree::correct(name, &plan, &out);
        fault(&mut tree);
        let report = tree.run(&script);
        keep_seed(name, &report);
        let failed = failed(&report, &out);
        for check in checks {
            assert!(
                failed.iter().any(|f| f == check),
                "{name}: {check} did not fail: {failed:?}\n{report}"
            );
        }
        // A fault fails only checks of its own kind.
        let kind = checks[0].split(' ').next().unwrap();
        assert!(
            failed
                .iter()
                .all(|f| f.starts_with(kind) || checks.contains(&f.as_str())),
            "{name}: {failed:?}"
        );
        let read = read_report(&report, &out).unwrap();
        assert!(read
            .lines
            .iter()
            .filter(|l| l.status == Status::Fail)
            .all(|l| !l.fix.is_empty()));
    }
    std::fs::remove_file(&script).unwrap();
}

#[test]
fn a_report_of_another_plan_or_format_is_refused() {
    let (_, out) = plan();
    let err = read_report("hello\n", &out).unwrap_err().to_string();
    assert!(err.contains("not the output of rtkvm-check.sh"), "{err}");
    let err = read_report("rtkvm-check 2 recipe 4 plan 0123456789abcdef\n", &out)
        .unwrap_err()
        .to_string();
    assert!(err.contains("format 2"), "{err}");
    let err = read_report("rtkvm-check 1 recipe 4 plan 0123456789abcdef\n", &out)
        .unwrap_err()
        .to_string();
    assert!(err.contains("checks another plan"), "{err}");
}

/// A refusal repeats at most a few characters of what was pasted: the `report` fuzz target found a
/// header whose plan id was a word of 132 characters, repeated whole in the message
/// (`fuzz/regressions/report/header-long-plan-id`).
#[test]
fn a_refusal_repeats_a_few_characters_of_the_paste_only() {
    let (_, out) = plan();
    let long = "¼".repeat(100_000);
    for header in [
        format!("rtkvm-check 1 recipe 4 plan {long}\n"),
        format!("rtkvm-check {long} recipe 4 plan 0123456789abcdef\n"),
    ] {
        let err = read_report(&header, &out).unwrap_err().to_string();
        assert!(err.len() < 300, "{} bytes", err.len());
        assert!(err.contains(&format!("{}…", "¼".repeat(24))), "{err}");
    }
}

/// Writes the script of a plan to a file of its own, removed when dropped.
struct Script(PathBuf);

impl Script {
    fn new(name: &str, text: &str) -> Script {
        let path =
            std::env::temp_dir().join(format!("rtkvm-check-{}-{name}.sh", std::process::id()));
        std::fs::write(&path, text).unwrap();
        Script(path)
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What the plan itself puts on isolated CPUs passes, and what it does not still fails: a managed
/// queue of an isolated CPU that never fired, a VFIO interrupt on a guest's vCPU CPU (the runbook's
/// step), the emulator threads of an `isolate` guest running on their own isolated core; and a RHEL
/// kernel-rt that says PREEMPT_RT otherwise.
#[test]
fn what_the_plan_puts_on_isolated_cpus_passes_and_nothing_else() {
    let host =
        parse_capabilities(&std::fs::read_to_string(fixtures().join("seed-example.xml")).unwrap())
            .unwrap();
    let mut settings = Settings::default();
    settings.guest.emulator = rtkvm_core::settings::EmulatorPolicy::Isolate;
    let plan = rtkvm_core::plan(&host, &settings).unwrap();
    let out = outputs(&host, &plan);
    let script = Script::new("isolated", &check_script(&plan, &out));
    let g = &plan.guest;
    let emulator = g.emulatorpin.iter().next().unwrap();
    assert!(plan.host.isolcpus.contains(emulator));
    let vcpu0 = g.vcpupin[0];
    let other_isolated = plan
        .host
        .isolcpus
        .iter()
        .find(|c| !g.vcpupin.contains(c) && *c != emulator)
        .unwrap();
    let counts = |on: u32, n: u32| {
        (0..16)
            .map(|c| if c == on { n.to_string() } else { "0".into() })
            .collect::<Vec<_>>()
            .join(",")
    };

    let mut t = Tree::correct("meant", &plan, &out);
    // A managed queue of an isolated CPU, never fired there.
    t.write(
        "proc/irq/40/effective_affinity_list",
        &other_isolated.to_string(),
    );
    t.write(
        "sys/kernel/irq/40/per_cpu_count",
        &counts(other_isolated, 0),
    );
    t.write("sys/kernel/irq/40/actions", "nvme0q5");
    // A VFIO interrupt sent to the guest's vCPU 0, firing there.
    t.write("proc/irq/41/effective_affinity_list", &vcpu0.to_string());
    t.write("sys/kernel/irq/41/per_cpu_count", &counts(vcpu0, 1200));
    t.write("sys/kernel/irq/41/actions", "vfio-msix[0](0000:3b:00.0)");
    // The emulator threads run on their own isolated core.
    let qemu = std::fs::read_dir(t.dir.join("proc"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            std::fs::read_to_string(p.join("comm")).is_ok_and(|c| c.trim() == "qemu-system-x86")
        })
        .unwrap();
    let pid: u32 = qemu.file_name().unwrap().to_str().unwrap().parse().unwrap();
    t.thread(pid, "IO mon_iothread", &g.emulatorpin.to_string(), 0, 0);
    let tid = t.next_pid - 1;
    t.write(
        &format!("proc/{pid}/task/{tid}/stat"),
        &Tree::stat(tid, "IO mon_iothread", 'R', emulator, 0, 0),
    );
    // RHEL's kernel-rt of the older RT patches: "PREEMPT RT", and /sys/kernel/realtime.
    t.write(
        "proc/sys/kernel/version",
        "#1 SMP PREEMPT RT Thu Dec 4 00:00:00 UTC 2026",
    );
    t.write("sys/kernel/realtime", "1");
    let report = t.run(&script.0);
    keep_seed("meant", &report);
    assert_eq!(failed(&report, &out), Vec::<String>::new(), "{report}");
    assert!(
        report.contains(
            "PASS irq affinity | found: no IRQ on an isolated CPU (managed queues there that never fired: 1)"
        ),
        "{report}"
    );
    assert!(report.contains("PASS guest 1 emulator"), "{report}");

    // The same queue once it fired on its isolated CPU, a VFIO interrupt on a CPU of no vCPU, and
    // another process's thread running on an isolated CPU each fail.
    t.write(
        "sys/kernel/irq/40/per_cpu_count",
        &counts(other_isolated, 3),
    );
    t.write(
        "proc/irq/42/effective_affinity_list",
        &other_isolated.to_string(),
    );
    t.write("sys/kernel/irq/42/actions", "vfio-msi[0](0000:3c:00.0)");
    let stray = t.process("stress-ng", 0, 0, 0);
    t.thread(stray, "stress-ng-cpu", &other_isolated.to_string(), 0, 0);
    let tid = t.next_pid - 1;
    t.write(
        &format!("proc/{stray}/task/{tid}/stat"),
        &Tree::stat(tid, "stress-ng-cpu", 'R', other_isolated, 0, 0),
    );
    let report = t.run(&script.0);
    assert_eq!(
        failed(&report, &out),
        ["irq affinity", "isolated CPUs"],
        "{report}"
    );
    assert!(report.contains("IRQs 40 42 on isolated CPUs"), "{report}");
    assert!(report.contains("runnable: stress-ng-cpu"), "{report}");
    // A kernel that is not PREEMPT_RT fails.
    t.write(
        "proc/sys/kernel/version",
        "#1 SMP PREEMPT_DYNAMIC Thu Dec 4 00:00:00 UTC 2026",
    );
    t.write("sys/kernel/realtime", "0");
    let report = t.run(&script.0);
    assert!(
        failed(&report, &out).contains(&"kernel PREEMPT_RT".to_string()),
        "{report}"
    );
}

/// The script on the machine the tests run on, with its real /proc and /sys (no `--root`), under
/// each POSIX shell there: every file it reads on a real kernel (thousands of interrupts, tasks and
/// their stat lines, comm names with spaces and parentheses) is of a form it understands, so it
/// writes nothing on standard error, one well-formed line per check, and exits with the number of
/// failures it reports, which `rtkvm verify` reads back. The machine is not set up as the plan says,
/// so most checks fail there: what this proves is that the script runs to its end on a real host.
#[test]
fn the_check_script_runs_to_its_end_on_the_real_host_the_tests_run_on() {
    let (plan, out) = plan();
    let script = Script::new("real", &check_script(&plan, &out));
    let shells: Vec<&str> = ["sh", "dash", "bash"]
        .into_iter()
        .filter(|s| Command::new(s).arg("-c").arg(":").output().is_ok())
        .collect();
    assert!(shells.contains(&"sh"), "no sh on this machine");
    for shell in shells {
        let mut command = Command::new(shell);
        if shell == "bash" {
            command.arg("--posix");
        }
        let started = std::time::Instant::now();
        let run = command.arg(&script.0).output().unwrap();
        let took = started.elapsed();
        let report = String::from_utf8(run.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.is_empty(),
            "{shell} wrote on standard error:\n{stderr}"
        );
        assert!(took.as_secs() < 60, "{shell} took {took:?}");

        let lines: Vec<&str> = report.lines().collect();
        assert!(lines[0].starts_with("rtkvm-check 1 recipe "), "{report}");
        let checks = &lines[1..lines.len() - 1];
        for line in checks {
            let (status, rest) = line.split_once(' ').unwrap();
            assert!(
                matches!(status, "PASS" | "FAIL" | "SKIP"),
                "{shell}: {line}"
            );
            assert!(
                rest.contains(" | found: ") && rest.contains(" | expected: "),
                "{shell}: {line}"
            );
        }
        let fails = checks.iter().filter(|l| l.starts_with("FAIL ")).count();
        assert_eq!(
            lines[lines.len() - 1],
            format!("rtkvm-check end: {fails} failed"),
            "{shell}"
        );
        assert_eq!(run.status.code(), Some(fails as i32), "{shell}: {report}");

        let read = read_report(&report, &out).unwrap();
        assert_eq!(read.lines.len(), checks.len(), "{shell}");
        // The kernel command line is read whatever the machine: one line per parameter of the plan.
        let params = out.kernel_params.len();
        let cmdline = read
            .lines
            .iter()
            .filter(|l| l.check.starts_with("cmdline "))
            .count();
        assert_eq!(cmdline, params, "{shell}: {report}");
    }
}

/// A running irqbalance is judged by what it bans: the list or mask in its own environment (where
/// systemd put its configuration file when it started; the file edited since does not count), else
/// in the file itself, quotes and all; with neither, the CPUs the kernel isolated and those without a
/// tick, which irqbalance bans by itself (its `setup_banned_cpus`).
#[test]
fn a_running_irqbalance_is_judged_by_what_it_bans() {
    let (plan, out) = plan();
    let script = Script::new("irqbalance", &check_script(&plan, &out));
    type Case<'a> = (&'a str, &'a dyn Fn(&mut Tree, u32), Status, &'a str);
    let cases: [Case; 7] = [
        (
            "nothing set: the kernel's isolated CPUs",
            &|t, pid| t.environ(pid, &["PATH=/usr/bin"]),
            Status::Pass,
            "the kernel's isolated and nohz_full CPUs",
        ),
        (
            "nothing set, and the command line not applied",
            &|t, pid| {
                t.environ(pid, &["PATH=/usr/bin"]);
                t.write("sys/devices/system/cpu/isolated", "");
                std::fs::remove_file(t.dir.join("sys/devices/system/cpu/nohz_full")).unwrap();
            },
            Status::Fail,
            "banned from none",
        ),
        (
            "a mask that covers them",
            &|t, pid| t.environ(pid, &["IRQBALANCE_BANNED_CPUS=0000fcfc"]),
            Status::Pass,
            "IRQBALANCE_BANNED_CPUS in its environment",
        ),
        (
            "a mask that misses node 1's",
            &|t, pid| {
                t.environ(
                    pid,
                    &[
                        "IRQBALANCE_BANNED_CPUS=fc",
                        "IRQBALANCE_BANNED_CPULIST=2-7,10-15",
                    ],
                )
            },
            Status::Fail,
            "banned from 2,3,4,5,6,7 (IRQBALANCE_BANNED_CPUS",
        ),
        (
            "the environment's list, though the file was edited since",
            &|t, pid| {
                t.environ(pid, &["IRQBALANCE_BANNED_CPULIST=2-7,10-15"]);
                t.write("etc/sysconfig/irqbalance", "IRQBALANCE_BANNED_CPULIST=0-1");
            },
            Status::Pass,
            "IRQBALANCE_BANNED_CPULIST in its environment",
        ),
        (
            "no environment to read: the file's quoted list",
            &|t, _| {
                t.write(
                    "etc/default/irqbalance",
                    "#IRQBALANCE_BANNED_CPULIST=\nIRQBALANCE_BANNED_CPULIST=\"2-7,10-15\"",
                )
            },
            Status::Pass,
            "IRQBALANCE_BANNED_CPULIST in its configuration",
        ),
        (
            "a list that cannot be read",
            &|t, pid| t.environ(pid, &["IRQBALANCE_BANNED_CPULIST=all of them"]),
            Status::Fail,
            "banned from all of them",
        ),
    ];
    for (name, setup, status, found) in cases {
        let mut t = Tree::correct("irqbalance-ban", &plan, &out);
        let pid = t.process("irqbalance", 0, 0, 0);
        setup(&mut t, pid);
        let run = t.output(&script.0);
        assert!(
            run.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let report = String::from_utf8(run.stdout).unwrap();
        let read = read_report(&report, &out).unwrap();
        let line = read.lines.iter().find(|l| l.check == "irqbalance").unwrap();
        assert_eq!(line.status, status, "{name}: {line:?}");
        assert!(line.found.contains(found), "{name}: {line:?}");
    }
}
