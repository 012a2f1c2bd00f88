//! Link version 6: a v5 record, then an extension with the huge pages kept spare on the guest's node
//! beside the guest's own, when the host reserves only the guest's. Links v1 to v5 open with none, as
//! rtkvm kept none before. Frozen like the others; v7 appends its own extension after this one.

use serde::{Deserialize, Serialize};

use super::damaged;
use crate::error::Error;
use crate::host::Host;
use crate::settings::Settings;
use crate::units::Kib;

#[derive(Serialize, Deserialize)]
struct Extension {
    spare_kib: u64,
}

/// Encodes a host and settings as a v6 payload (before deflating).
pub(crate) fn encode(host: &Host, settings: &Settings) -> Vec<u8> {
    let extension = Extension {
        spare_kib: settings.host.spare.0,
    };
    let mut bytes = super::v5::encode(host, settings);
    bytes.extend(postcard::to_allocvec(&extension).expect("plain data always serializes"));
    bytes
}

/// Decodes a v6 payload (after inflating) into a host and settings, not yet validated. Out of line,
/// so that a link of a newer version does not compile this one in the browser.
#[inline(never)]
pub(crate) fn decode(bytes: &[u8]) -> Result<(Host, Settings), Error> {
    decode_prefix(bytes).map(|(host, settings, _)| (host, settings))
}

/// Decodes a v6 record at the start of `bytes`, returning what follows it (v7's extension).
pub(crate) fn decode_prefix(bytes: &[u8]) -> Result<(Host, Settings, &[u8]), Error> {
    let (host, mut settings, rest) = super::v5::decode_prefix(bytes)?;
    let (extension, rest): (Extension, &[u8]) = postcard::take_from_bytes(rest)
        .map_err(|_| damaged("its spare huge pages do not decode"))?;
    settings.host.spare = Kib(extension.spare_kib);
    Ok((host, settings, rest))
}
