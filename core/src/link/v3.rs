//! Link version 3: v2's host and settings, the recipe revision the plan was made with (so that a link
//! opens to the same plan after rtkvm's recipe has moved on) and the emulator threads' policy. Frozen
//! like v1 and v2; v4 is a v3 record followed by an extension.

use serde::{Deserialize, Serialize};

use super::columns::WireHost;
use super::damaged;
use super::v2::{from_wire, to_wire, SettingsV2};
use crate::error::Error;
use crate::host::Host;
use crate::settings::{EmulatorPolicy, Recipe, Settings};

#[derive(Serialize, Deserialize)]
struct Wire {
    host: WireHost,
    settings: SettingsV2,
    recipe: u32,
    emulator: EmulatorV3,
}

#[derive(Serialize, Deserialize)]
enum EmulatorV3 {
    Share,
    Isolate,
}

/// Encodes a host and settings as a v3 payload (before deflating).
pub(crate) fn encode(host: &Host, settings: &Settings) -> Vec<u8> {
    let wire = Wire {
        host: WireHost::new(host),
        settings: to_wire(settings),
        recipe: settings.recipe.number(),
        emulator: match settings.guest.emulator {
            EmulatorPolicy::Share => EmulatorV3::Share,
            EmulatorPolicy::Isolate => EmulatorV3::Isolate,
        },
    };
    postcard::to_allocvec(&wire).expect("plain data always serializes")
}

/// Decodes a v3 payload (after inflating) into a host and settings, not yet validated. Out of line,
/// so that a link of a newer version does not compile this one in the browser.
#[inline(never)]
pub(crate) fn decode(bytes: &[u8]) -> Result<(Host, Settings), Error> {
    decode_prefix(bytes).map(|(host, settings, _)| (host, settings))
}

/// Decodes a v3 record at the start of `bytes`, returning what follows it (v4's extension).
pub(crate) fn decode_prefix(bytes: &[u8]) -> Result<(Host, Settings, &[u8]), Error> {
    let (wire, rest): (Wire, &[u8]) =
        postcard::take_from_bytes(bytes).map_err(|_| damaged("its contents do not decode"))?;
    let recipe = Recipe::from_number(wire.recipe).ok_or_else(|| {
        Error::Link(format!(
            "the link names recipe revision {}, which this rtkvm does not know (it knows 1 to {}); open it with the rtkvm that made it",
            wire.recipe,
            Recipe::ALL.len()
        ))
    })?;
    let emulator = match wire.emulator {
        EmulatorV3::Share => EmulatorPolicy::Share,
        EmulatorV3::Isolate => EmulatorPolicy::Isolate,
    };
    Ok((
        wire.host.into_host()?,
        from_wire(wire.settings, recipe, emulator)?,
        rest,
    ))
}
