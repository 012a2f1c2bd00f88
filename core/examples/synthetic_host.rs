//! Prints a deterministic synthetic `virsh capabilities` document with N CPUs (default 1024), as used
//! by the benchmarks: `cargo run -p rtkvm-core --example synthetic_host -- 4096 > host.xml`; or, with
//! `domain BYTES`, the benchmarks' existing domain of about that size (`-- domain 1048576 > dom.xml`).

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

fn main() {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("domain") => {
            let bytes = args
                .next()
                .map(|a| a.parse().expect("BYTES must be a number"))
                .unwrap_or(1 << 20);
            print!("{}", synthetic::synthetic_domain(bytes));
        }
        cpus => {
            let cpus = cpus.map_or(1024, |a| a.parse().expect("N must be a number"));
            print!("{}", synthetic::synthetic_host(cpus));
        }
    }
}
