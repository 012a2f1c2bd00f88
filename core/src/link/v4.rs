//! Link version 4: a v3 record, then an extension with the host's kernel (its version and whether it
//! is PREEMPT_RT), which recipe 3 writes the host's outputs for, and whether the host's TSC is
//! invariant (recipe 3 trusts the TSC only then). Links v1 to v3 open with the newest
//! kernel, PREEMPT_RT: the host outputs of the recipes they carry (1 and 2) do not depend on it.
//! Frozen like the others; v5 appends its own extension after this one.

use serde::{Deserialize, Serialize};

use super::damaged;
use crate::error::Error;
use crate::host::Host;
use crate::settings::{Kernel, KernelType, Settings};

#[derive(Serialize, Deserialize)]
struct Extension {
    kernel: KernelV4,
    kernel_type: KernelTypeV4,
    /// Whether the host's CPU features (which links before v4 dropped) include `invtsc`, or `None`
    /// when the host listed no features.
    invariant_tsc: Option<bool>,
}

#[derive(Serialize, Deserialize)]
enum KernelV4 {
    Linux516,
    Rhel9,
    Rhel8,
    Older,
}

#[derive(Serialize, Deserialize)]
enum KernelTypeV4 {
    Rt,
    Generic,
}

/// Encodes a host and settings as a v4 payload (before deflating).
pub(crate) fn encode(host: &Host, settings: &Settings) -> Vec<u8> {
    let h = &settings.host;
    let extension = Extension {
        kernel: match h.kernel {
            Kernel::Linux516 => KernelV4::Linux516,
            Kernel::Rhel9 => KernelV4::Rhel9,
            Kernel::Rhel8 => KernelV4::Rhel8,
            Kernel::Older => KernelV4::Older,
        },
        kernel_type: match h.kernel_type {
            KernelType::Rt => KernelTypeV4::Rt,
            KernelType::Generic => KernelTypeV4::Generic,
        },
        invariant_tsc: host.invariant_tsc(),
    };
    let mut bytes = super::v3::encode(host, settings);
    bytes.extend(postcard::to_allocvec(&extension).expect("plain data always serializes"));
    bytes
}

/// Decodes a v4 payload (after inflating) into a host and settings, not yet validated. Out of line,
/// so that a link of a newer version does not compile this one in the browser.
#[inline(never)]
pub(crate) fn decode(bytes: &[u8]) -> Result<(Host, Settings), Error> {
    decode_prefix(bytes).map(|(host, settings, _)| (host, settings))
}

/// Decodes a v4 record at the start of `bytes`, returning what follows it (v5's extension).
pub(crate) fn decode_prefix(bytes: &[u8]) -> Result<(Host, Settings, &[u8]), Error> {
    let (mut host, mut settings, rest) = super::v3::decode_prefix(bytes)?;
    let (extension, rest): (Extension, &[u8]) = postcard::take_from_bytes(rest)
        .map_err(|_| damaged("its kernel settings do not decode"))?;
    settings.host.kernel = match extension.kernel {
        KernelV4::Linux516 => Kernel::Linux516,
        KernelV4::Rhel9 => Kernel::Rhel9,
        KernelV4::Rhel8 => Kernel::Rhel8,
        KernelV4::Older => Kernel::Older,
    };
    settings.host.kernel_type = match extension.kernel_type {
        KernelTypeV4::Rt => KernelType::Rt,
        KernelTypeV4::Generic => KernelType::Generic,
    };
    // The one feature planning reads; a host that listed others but not it keeps a listed feature
    // that says nothing ("tsc", which every x86 CPU has), so that the plan still knows features were listed.
    host.features = match extension.invariant_tsc {
        None => Vec::new(),
        Some(true) => vec!["invtsc".into()],
        Some(false) => vec!["tsc".into()],
    };
    Ok((host, settings, rest))
}
