//! Prints a deterministic synthetic `virsh capabilities` document with N CPUs (default 1024), as used
//! by the benchmarks: `cargo run -p rtkvm-core --example synthetic_host -- 4096 > host.xml`.

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

fn main() {
    let cpus = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("N must be a number"))
        .unwrap_or(1024);
    print!("{}", synthetic::synthetic_host(cpus));
}
