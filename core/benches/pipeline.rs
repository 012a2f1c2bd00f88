//! Benchmarks of parse, plan and emit on the seed example, the largest corpus hosts and synthetic hosts
//! of 512, 1024 and 4096 CPUs, with throughput in bytes of XML; and, on the 4096-CPU host, the whole
//! `rtkvm plan` process against `xmllint --noout` (libxml2 parsing only) on the same file.
//!
//! `cargo bench -p rtkvm-core --bench pipeline`; `scripts/bench.sh` runs it and checks the budgets.

#[path = "support/synthetic.rs"]
mod synthetic;

use std::hint::black_box;
use std::process::Command;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rtkvm_core::{parse_capabilities, plan, Settings};

fn inputs() -> Vec<(String, String)> {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/");
    let mut out = vec![(
        "seed-example".to_string(),
        rtkvm_core::EXAMPLE_CAPABILITIES.to_string(),
    )];
    for file in [
        "virt-manager/kvm-ppc64le.xml",
        "virt-tuner/test_virt.py__L9.xml",
        "virt-manager/kvm-aarch64.xml",
    ] {
        let text = std::fs::read_to_string(format!("{corpus}{file}")).expect("corpus file");
        out.push((file.replace('/', ":"), text));
    }
    for cpus in [512, 1024, 4096] {
        out.push((format!("synthetic-{cpus}"), synthetic::synthetic_host(cpus)));
    }
    out
}

/// Settings that give a plan on every benchmark host.
fn settings() -> Settings {
    let mut s = Settings::default();
    s.guest.vcpus = 2;
    s.guest.memory = rtkvm_core::units::Kib::gib(1);
    s.host.host_memory = rtkvm_core::units::Kib::gib(1);
    s.host.host_cpus = 1;
    s
}

fn benches(c: &mut Criterion) {
    let settings = settings();
    for (stage, run) in [
        ("parse", 0u8),
        ("plan", 1),
        ("emit", 2),
        ("share-link", 4),
        ("parse+plan+emit", 3),
    ] {
        let mut group = c.benchmark_group(stage);
        for (name, xml) in inputs() {
            let host = parse_capabilities(&xml).expect("benchmark hosts parse");
            let planned = plan(&host, &settings).expect("benchmark hosts plan");
            group.throughput(Throughput::Bytes(xml.len() as u64));
            group.bench_with_input(
                BenchmarkId::from_parameter(&name),
                &xml,
                |b, xml| match run {
                    0 => b.iter(|| parse_capabilities(black_box(xml)).unwrap()),
                    1 => b.iter(|| plan(black_box(&host), black_box(&settings)).unwrap()),
                    2 => b.iter(|| {
                        let outputs = rtkvm_core::outputs(&host, black_box(&planned));
                        (
                            outputs.files(),
                            rtkvm_core::report::text_report(&host, &planned, &outputs),
                            rtkvm_core::link::encode_link(&host, &settings),
                        )
                    }),
                    _ => b.iter(|| {
                        let host = parse_capabilities(black_box(xml)).unwrap();
                        let p = plan(&host, &settings).unwrap();
                        rtkvm_core::outputs(&host, &p).files()
                    }),
                },
            );
        }
        group.finish();
    }

    // Refusals: the worst cases of docs/bad-input.md, each must answer within 100 ms.
    let mut group = c.benchmark_group("refusal");
    group.sample_size(20);
    let big_guest = format!(
        "<capabilities><host/><guest>{}</guest>",
        "<machine maxCpus='255'>pc-i440fx-9.0</machine>".repeat(16 * 1024 * 1024 / 48)
    );
    let nested = format!("<capabilities>{}", "<a>".repeat(5_000_000));
    let oversized = "x".repeat(20 * 1024 * 1024);
    let nul_at_end = format!("{}\0", " ".repeat(16 * 1024 * 1024 - 2));
    for (name, input) in [
        ("16 MiB well-formed until it is cut off", big_guest.as_str()),
        ("5 M nested elements", nested.as_str()),
        ("20 MiB paste", oversized.as_str()),
        ("16 MiB with a NUL byte at the end", nul_at_end.as_str()),
    ] {
        assert!(parse_capabilities(input).is_err(), "{name} must be refused");
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), input, |b, input| {
            b.iter(|| parse_capabilities(black_box(input)).unwrap_err())
        });
    }
    group.finish();

    // An existing domain of 1 MB: checked against the host, then patched (issue 13: at most 10 ms).
    let domain = synthetic::synthetic_domain(1 << 20);
    let host = parse_capabilities(rtkvm_core::EXAMPLE_CAPABILITIES).unwrap();
    let mut group = c.benchmark_group("existing-domain");
    group.throughput(Throughput::Bytes(domain.len() as u64));
    group.bench_function("check+apply 1 MB", |b| {
        b.iter(|| {
            let doc = rtkvm_core::existing::parse_domain(black_box(&domain)).unwrap();
            let facts = rtkvm_core::existing::DomainFacts::read(&doc);
            let mut s = Settings::default();
            rtkvm_core::apply::settings_for_domain(
                &facts,
                &host,
                &mut s,
                rtkvm_core::apply::Given::default(),
            )
            .unwrap();
            let planned = plan(&host, &s).unwrap();
            let context = rtkvm_core::check::HostContext {
                host: &host,
                partition: &planned.host,
            };
            let report = rtkvm_core::check::check(&doc, Some(context), None);
            let applied = rtkvm_core::apply::apply(&doc, &host, &planned);
            (report.findings.len(), applied.xml.len())
        })
    });
    group.finish();

    let path = std::env::temp_dir().join("rtkvm-bench-4096.xml");
    let xml = synthetic::synthetic_host(4096);
    std::fs::write(&path, &xml).expect("write the 4096-CPU host");
    let mut group = c.benchmark_group("process-4096");
    group.throughput(Throughput::Bytes(xml.len() as u64));
    group.sample_size(30);
    group.bench_function("rtkvm plan --format json", |b| {
        b.iter(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_rtkvm"))
                .args([
                    "plan",
                    path.to_str().unwrap(),
                    "--vcpus",
                    "2",
                    "--memory",
                    "1G",
                    "--host-memory",
                    "1G",
                    "--host-cpus",
                    "1",
                    "--format",
                    "json",
                ])
                .output()
                .expect("run rtkvm");
            assert!(out.status.success());
        })
    });
    group.bench_function("xmllint --noout", |b| {
        b.iter(|| {
            let out = Command::new("xmllint")
                .args(["--noout", path.to_str().unwrap()])
                .output()
                .expect("run xmllint (Debian package libxml2-utils)");
            assert!(out.status.success());
        })
    });
    group.finish();
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
