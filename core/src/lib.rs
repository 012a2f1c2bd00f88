//! rtkvm-core plans a real-time KVM guest from the output of `virsh capabilities`.
//!
//! The pipeline is [`parse_capabilities`] (XML to a validated [`Host`]), then [`plan`] (a [`Host`] and
//! [`Settings`] to a [`Plan`]: host partition, guest placement and warnings), then [`outputs`] (the
//! kernel command line, the huge page settings and the domain XML, written from the plan). The library
//! does no I/O and has no web dependency, so the same code runs in the `rtkvm` command-line tool and,
//! compiled to WebAssembly, in the browser app.
//!
//! ```
//! let host = rtkvm_core::parse_capabilities(rtkvm_core::EXAMPLE_CAPABILITIES).unwrap();
//! let plan = rtkvm_core::plan(&host, &rtkvm_core::Settings::default()).unwrap();
//! assert_eq!(plan.host.isolcpus.to_string(), "2-7,10-15");
//! assert_eq!(plan.guest.vcpupin, vec![12, 13, 14, 15]);
//! let outputs = rtkvm_core::outputs(&host, &plan);
//! assert!(outputs.kernel_cmdline.starts_with("isolcpus=managed_irq,domain,2-7,10-15 "));
//! ```

#![warn(missing_docs)]

pub mod apply;
pub mod bundle;
pub mod caps;
pub mod check;
pub mod cmdline;
pub mod cpuset;
pub mod diff;
pub mod domain;
pub mod error;
pub mod existing;
pub mod export;
pub mod form;
pub mod guest_os;
pub mod host;
mod host_plan;
pub mod host_setup;
pub mod hugepages;
pub mod json;
pub mod link;
pub mod outputs;
pub mod plan;
pub mod report;
pub mod settings;
pub mod template;
pub mod units;
pub mod verify;
pub mod xmltree;

pub use caps::{parse_capabilities, parse_capabilities_bytes};
pub use cpuset::CpuSet;
pub use error::Error;
pub use form::Form;
pub use host::Host;
pub use outputs::{outputs, Outputs};
pub use plan::{plan, Plan};
pub use settings::Settings;

/// The example host of libvirt's "KVM Real Time Guest Config" page, as `virsh capabilities` would
/// print it: two NUMA nodes, each with two sockets of four cores, no SMT, 32 GiB per node.
pub const EXAMPLE_CAPABILITIES: &str = include_str!("../fixtures/seed-example.xml");
