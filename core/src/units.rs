//! Memory sizes: parsing `16G`-style arguments and printing KiB amounts for people.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 1 GiB in KiB.
pub const GIB_KIB: u64 = 1024 * 1024;
/// 2 MiB in KiB.
pub const MIB2_KIB: u64 = 2048;

/// An amount of memory, held in KiB (libvirt's unit).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Kib(pub u64);

impl Kib {
    /// Returns the amount for a number of GiB.
    pub const fn gib(n: u64) -> Self {
        Kib(n * GIB_KIB)
    }
}

impl fmt::Display for Kib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_kib(self.0))
    }
}

impl fmt::Debug for Kib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} KiB", self.0)
    }
}

/// Prints a KiB amount in the largest binary unit it reaches, exact or to one decimal: `16 GiB`, `1.5 GiB`,
/// `512 MiB`, `4 KiB`.
pub fn format_kib(kib: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1024 * 1024 * 1024),
        ("GiB", 1024 * 1024),
        ("MiB", 1024),
        ("KiB", 1),
    ];
    for (name, size) in UNITS {
        if kib >= size {
            // Inexact amounts always show a decimal: tenths, rounded half up, in 64-bit integers
            // (no float or 128-bit formatting code in the wasm). Only units of 1 MiB and up can be
            // inexact, so the whole part times ten stays far below `u64::MAX`.
            let (whole, rest) = (kib / size, kib % size);
            let tenths = whole * 10 + (rest * 10 + size / 2) / size;
            return if rest == 0 {
                format!("{whole} {name}")
            } else {
                format!("{}.{} {name}", tenths / 10, tenths % 10)
            };
        }
    }
    "0 KiB".to_string()
}

/// Prints a page size the way the kernel command line spells it (`1G`, `2M`, `64K`).
pub fn kernel_size(kib: u64) -> String {
    if kib.is_multiple_of(GIB_KIB) {
        format!("{}G", kib / GIB_KIB)
    } else if kib.is_multiple_of(1024) {
        format!("{}M", kib / 1024)
    } else {
        format!("{kib}K")
    }
}

/// Why a size argument could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a size: write a number and a unit, such as 16G, 1536M or 2048K")]
pub struct SizeError(pub String);

impl FromStr for Kib {
    type Err = SizeError;

    /// Reads `16G`, `16GiB`, `16 GB`, `512M`, `1T`, `2048K` (all binary units). A bare number is refused,
    /// because it is ambiguous.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || SizeError(text.to_string());
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(err)?;
        let (number, unit) = trimmed.split_at(split);
        if number.is_empty() || number.len() > 12 {
            return Err(err());
        }
        let number: u64 = number.parse().map_err(|_| err())?;
        let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
            "k" | "kb" | "kib" => 1,
            "m" | "mb" | "mib" => 1024,
            "g" | "gb" | "gib" => GIB_KIB,
            "t" | "tb" | "tib" => 1024 * GIB_KIB,
            _ => return Err(err()),
        };
        number.checked_mul(multiplier).map(Kib).ok_or_else(err)
    }
}

impl Serialize for Kib {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Kib {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u64::deserialize(deserializer).map(Kib)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!("16G".parse(), Ok(Kib::gib(16)));
        assert_eq!("16 GiB".parse(), Ok(Kib::gib(16)));
        assert_eq!("1536M".parse(), Ok(Kib(1536 * 1024)));
        assert_eq!("2048k".parse(), Ok(Kib(2048)));
        assert_eq!("1T".parse(), Ok(Kib(1024 * GIB_KIB)));
        for bad in ["", "16", "G", "16Q", "-1G", "1.5G", "9999999999999G"] {
            assert!(bad.parse::<Kib>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(format_kib(16 * GIB_KIB), "16 GiB");
        assert_eq!(format_kib(GIB_KIB + GIB_KIB / 2), "1.5 GiB");
        assert_eq!(format_kib(512 * 1024), "512 MiB");
        assert_eq!(format_kib(4), "4 KiB");
        assert_eq!(format_kib(0), "0 KiB");
        assert_eq!(format_kib(16175540), "15.4 GiB");
        assert_eq!(format_kib(2047), "2.0 MiB");
        assert_eq!(format_kib(1024 * 1024 - 1), "1024.0 MiB");
        assert_eq!(kernel_size(GIB_KIB), "1G");
        assert_eq!(kernel_size(2048), "2M");
        assert_eq!(kernel_size(64), "64K");
    }
}
