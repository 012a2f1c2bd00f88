//! Link version 5: a v4 record, then an extension with which memory the host reserves as huge pages
//! (all beyond the host's share, or only the guest's). Links v1 to v4 open reserving all of it, as
//! rtkvm always did before. Frozen like the others; v6 appends its own extension after this one.

use serde::{Deserialize, Serialize};

use super::damaged;
use crate::error::Error;
use crate::host::Host;
use crate::settings::{Reserve, Settings};

#[derive(Serialize, Deserialize)]
struct Extension {
    reserve: ReserveV5,
}

#[derive(Serialize, Deserialize)]
enum ReserveV5 {
    All,
    Guest,
}

/// Encodes a host and settings as a v5 payload (before deflating).
pub(crate) fn encode(host: &Host, settings: &Settings) -> Vec<u8> {
    let extension = Extension {
        reserve: match settings.host.reserve {
            Reserve::All => ReserveV5::All,
            Reserve::Guest => ReserveV5::Guest,
        },
    };
    let mut bytes = super::v4::encode(host, settings);
    bytes.extend(postcard::to_allocvec(&extension).expect("plain data always serializes"));
    bytes
}

/// Decodes a v5 payload (after inflating) into a host and settings, not yet validated. Out of line,
/// so that a link of a newer version does not compile this one in the browser.
#[inline(never)]
pub(crate) fn decode(bytes: &[u8]) -> Result<(Host, Settings), Error> {
    decode_prefix(bytes).map(|(host, settings, _)| (host, settings))
}

/// Decodes a v5 record at the start of `bytes`, returning what follows it (v6's extension). A v5
/// link keeps no spare pages, as rtkvm did then.
pub(crate) fn decode_prefix(bytes: &[u8]) -> Result<(Host, Settings, &[u8]), Error> {
    let (host, mut settings, rest) = super::v4::decode_prefix(bytes)?;
    let (extension, rest): (Extension, &[u8]) = postcard::take_from_bytes(rest)
        .map_err(|_| damaged("its huge page reservation does not decode"))?;
    settings.host.reserve = match extension.reserve {
        ReserveV5::All => Reserve::All,
        ReserveV5::Guest => Reserve::Guest,
    };
    Ok((host, settings, rest))
}
