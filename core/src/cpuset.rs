//! CPU lists in the kernel's and libvirt's `cpulist` syntax (`0-3,8,10-11`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest CPU id accepted in a cpulist.
///
/// Linux supports at most 8192 CPUs (`CONFIG_NR_CPUS`); the bound keeps a hostile `0-4294967295` from
/// allocating billions of entries.
pub const MAX_CPU_ID: u32 = 65_535;

/// A set of CPU ids, printed as a compact, sorted cpulist such as `2-7,10-15`.
///
/// Held as a sorted vector without repeats: sets are small (a core's siblings) or built in order, so
/// this is faster and smaller than a tree.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CpuSet(Vec<u32>);

/// Why a cpulist could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuListError {
    /// The list is empty or only whitespace.
    #[error("the CPU list is empty")]
    Empty,
    /// One element is neither a number nor a range of two numbers.
    #[error("'{0}' is not a CPU id or a range such as 2-7")]
    BadElement(String),
    /// A range runs backwards.
    #[error("the range '{0}' runs backwards")]
    Backwards(String),
    /// A CPU id is above [`MAX_CPU_ID`].
    #[error("CPU id {0} is larger than the largest supported id ({MAX_CPU_ID})")]
    TooLarge(u64),
}

impl CpuSet {
    /// Returns an empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one CPU id; returns whether it was new.
    pub fn insert(&mut self, cpu: u32) -> bool {
        if self.0.last().is_some_and(|&last| last < cpu) {
            self.0.push(cpu);
            return true;
        }
        match self.0.binary_search(&cpu) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, cpu);
                true
            }
        }
    }

    /// Returns whether the set holds `cpu`.
    pub fn contains(&self, cpu: u32) -> bool {
        self.0.binary_search(&cpu).is_ok()
    }

    /// Returns the number of CPUs in the set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Returns whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the ids in ascending order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = u32> + '_ {
        self.0.iter().copied()
    }

    /// Writes the cpulist for people: `none` when the set is empty.
    pub fn or_none(&self) -> String {
        if self.is_empty() {
            "none".into()
        } else {
            self.to_string()
        }
    }

    /// Returns the lowest id, if any.
    pub fn first(&self) -> Option<u32> {
        self.0.first().copied()
    }

    /// Returns the CPUs in both sets.
    pub fn intersection(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.iter().filter(|&c| other.contains(c)).collect())
    }

    /// Returns the CPUs in `self` but not in `other`.
    pub fn difference(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.iter().filter(|&c| !other.contains(c)).collect())
    }

    /// Adds every CPU of `other`.
    pub fn extend_from(&mut self, other: &CpuSet) {
        if self.0.last().zip(other.first()).is_none_or(|(&a, b)| a < b) {
            self.0.extend_from_slice(&other.0);
            return;
        }
        // Both are sorted: merge them in one pass. (SMT siblings interleave, so the sets of cores
        // gathered one after the other rarely come in order; sorting the whole set again each time
        // made gathering a 1024-CPU host's cores quadratic.)
        let (a, b) = (&self.0, &other.0);
        let mut merged = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let (x, y) = (a[i], b[j]);
            merged.push(x.min(y));
            i += usize::from(x <= y);
            j += usize::from(y <= x);
        }
        merged.extend_from_slice(&a[i..]);
        merged.extend_from_slice(&b[j..]);
        self.0 = merged;
    }

    /// Returns whether the two sets share no CPU.
    pub fn is_disjoint(&self, other: &CpuSet) -> bool {
        !self.iter().any(|c| other.contains(c))
    }

    /// Returns whether every CPU of `self` is in `other`.
    pub fn is_subset(&self, other: &CpuSet) -> bool {
        self.iter().all(|c| other.contains(c))
    }

    /// Returns the set as the kernel writes a cpumask in sysfs (`/sys/devices/virtual/workqueue/cpumask`):
    /// hexadecimal 32-bit words, most significant first, separated by commas (`1,00000003` for CPUs 0,
    /// 1 and 32); `0` for the empty set.
    pub fn to_mask(&self) -> String {
        let words = self.iter().last().map_or(1, |last| last as usize / 32 + 1);
        let mut bits = vec![0u32; words];
        for cpu in self.iter() {
            bits[cpu as usize / 32] |= 1 << (cpu % 32);
        }
        let mut out = String::new();
        for (i, word) in bits.iter().rev().enumerate() {
            if i == 0 {
                out.push_str(&format!("{word:x}"));
            } else {
                out.push_str(&format!(",{word:08x}"));
            }
        }
        out
    }

    /// Iterates over maximal runs of consecutive ids as inclusive `(first, last)` pairs.
    pub fn ranges(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let mut iter = self.iter().peekable();
        std::iter::from_fn(move || {
            let start = iter.next()?;
            let mut end = start;
            while iter.peek() == Some(&(end + 1)) {
                end += 1;
                iter.next();
            }
            Some((start, end))
        })
    }
}

impl FromIterator<u32> for CpuSet {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut ids: Vec<u32> = iter.into_iter().collect();
        if !ids.windows(2).all(|w| w[0] < w[1]) {
            ids.sort_unstable();
            ids.dedup();
        }
        CpuSet(ids)
    }
}

impl fmt::Display for CpuSet {
    /// Writes the compact form: runs of three or more ids as `a-b`, a run of two as `a-b` too, like the
    /// kernel's `%*pbl` format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (start, end)) in self.ranges().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CpuSet({self})")
    }
}

fn parse_id(text: &str, element: &str) -> Result<u32, CpuListError> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CpuListError::BadElement(element.to_string()));
    }
    // Digits only, so the only failure left is overflow.
    let value: u64 = text.parse().unwrap_or(u64::MAX);
    if value > u64::from(MAX_CPU_ID) {
        return Err(CpuListError::TooLarge(value));
    }
    Ok(value as u32)
}

/// Reads the common form quickly: digits, commas and dashes only, every id within bounds, every range
/// forwards. Returns `None` for anything else, which the checked parser then reads or explains.
fn parse_plain(text: &str) -> Option<CpuSet> {
    let mut ids = Vec::with_capacity(4);
    let mut range_start: Option<u32> = None;
    let mut current: u32 = 0;
    let mut digits = 0;
    let mut finish = |range_start: Option<u32>, current: u32, digits: usize| -> Option<()> {
        if digits == 0 {
            return None;
        }
        match range_start {
            Some(first) if first > current => return None,
            Some(first) => ids.extend(first..=current),
            None => ids.push(current),
        }
        Some(())
    };
    for &b in text.as_bytes() {
        match b {
            b'0'..=b'9' => {
                current = current * 10 + u32::from(b - b'0');
                digits += 1;
                if current > MAX_CPU_ID {
                    return None;
                }
            }
            b'-' if digits > 0 && range_start.is_none() => {
                range_start = Some(current);
                current = 0;
                digits = 0;
            }
            b',' => {
                finish(range_start, current, digits)?;
                range_start = None;
                current = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    finish(range_start, current, digits)?;
    Some(ids.into_iter().collect())
}

impl FromStr for CpuSet {
    type Err = CpuListError;

    /// Reads `0-3,8,10-11`; whitespace around elements is allowed, and so is an element repeated.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(set) = parse_plain(text) {
            return Ok(set);
        }
        if text.trim().is_empty() {
            return Err(CpuListError::Empty);
        }
        let mut ids = Vec::new();
        for element in text.split(',') {
            match element.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (parse_id(a, element)?, parse_id(b, element)?);
                    if a > b {
                        return Err(CpuListError::Backwards(element.trim().to_string()));
                    }
                    ids.extend(a..=b);
                }
                None => ids.push(parse_id(element, element)?),
            }
        }
        Ok(ids.into_iter().collect())
    }
}

impl Serialize for CpuSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CpuSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_as_sysfs_writes_them() {
        let mask = |s: &str| s.parse::<super::CpuSet>().unwrap().to_mask();
        assert_eq!(mask("0"), "1");
        assert_eq!(mask("0-3,8"), "10f");
        assert_eq!(mask("0-1,32"), "1,00000003");
        assert_eq!(mask("63"), "80000000,00000000");
        assert_eq!(super::CpuSet::new().to_mask(), "0");
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_compact_ranges() {
        let set: CpuSet = [2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15]
            .into_iter()
            .collect();
        assert_eq!(set.to_string(), "2-7,10-15");
        let set: CpuSet = [0, 4, 8, 9].into_iter().collect();
        assert_eq!(set.to_string(), "0,4,8-9");
        assert_eq!(CpuSet::new().to_string(), "");
    }

    #[test]
    fn parses_libvirt_sibling_lists() {
        for (text, expected) in [
            ("0,4", vec![0, 4]),
            ("0-1", vec![0, 1]),
            ("3-30,35", (3..=30).chain([35]).collect()),
            (" 7 ", vec![7]),
            ("1,1", vec![1]),
        ] {
            let set: CpuSet = text.parse().unwrap();
            assert_eq!(set.iter().collect::<Vec<_>>(), expected, "{text}");
        }
    }

    #[test]
    fn rejects_bad_lists() {
        assert_eq!("".parse::<CpuSet>(), Err(CpuListError::Empty));
        assert_eq!(
            "1,,2".parse::<CpuSet>(),
            Err(CpuListError::BadElement(String::new()))
        );
        assert_eq!(
            "-1".parse::<CpuSet>(),
            Err(CpuListError::BadElement("-1".into()))
        );
        assert_eq!(
            "5-2".parse::<CpuSet>(),
            Err(CpuListError::Backwards("5-2".into()))
        );
        assert_eq!(
            "0-4294967296".parse::<CpuSet>(),
            Err(CpuListError::TooLarge(4_294_967_296))
        );
        assert_eq!(
            "99999999999999999999999".parse::<CpuSet>(),
            Err(CpuListError::TooLarge(u64::MAX))
        );
        assert_eq!(
            "a".parse::<CpuSet>(),
            Err(CpuListError::BadElement("a".into()))
        );
        assert_eq!(
            "1-2-3".parse::<CpuSet>(),
            Err(CpuListError::BadElement("1-2-3".into()))
        );
    }

    proptest! {
        #[test]
        fn set_operations_match_btreeset(
            a in proptest::collection::vec(0u32..64, 0..40),
            b in proptest::collection::vec(0u32..64, 0..40),
        ) {
            use std::collections::BTreeSet;
            let (sa, sb): (BTreeSet<u32>, BTreeSet<u32>) = (a.iter().copied().collect(), b.iter().copied().collect());
            let (ca, cb): (CpuSet, CpuSet) = (a.iter().copied().collect(), b.iter().copied().collect());
            let list = |s: &CpuSet| s.iter().collect::<Vec<_>>();
            prop_assert_eq!(list(&ca), sa.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(list(&ca.intersection(&cb)), sa.intersection(&sb).copied().collect::<Vec<_>>());
            prop_assert_eq!(list(&ca.difference(&cb)), sa.difference(&sb).copied().collect::<Vec<_>>());
            prop_assert_eq!(ca.is_disjoint(&cb), sa.is_disjoint(&sb));
            prop_assert_eq!(ca.is_subset(&cb), sa.is_subset(&sb));
            let mut union = ca.clone();
            union.extend_from(&cb);
            prop_assert_eq!(list(&union), sa.union(&sb).copied().collect::<Vec<_>>());
            let mut inserted = CpuSet::new();
            for &x in &b {
                let was = inserted.contains(x);
                prop_assert_eq!(inserted.insert(x), !was);
            }
            prop_assert_eq!(inserted, cb);
        }

        #[test]
        fn format_then_parse_round_trips(ids in proptest::collection::btree_set(0u32..2048, 1..200)) {
            let set: CpuSet = ids.into_iter().collect();
            let text = set.to_string();
            prop_assert!(!text.contains(' '));
            let back: CpuSet = text.parse().unwrap();
            prop_assert_eq!(back, set);
        }

        #[test]
        fn ranges_are_maximal(ids in proptest::collection::btree_set(0u32..300, 0..100)) {
            let set: CpuSet = ids.into_iter().collect();
            let ranges: Vec<_> = set.ranges().collect();
            for pair in ranges.windows(2) {
                prop_assert!(pair[1].0 > pair[0].1 + 1, "ranges {:?} should have been merged", pair);
            }
            let count: u32 = ranges.iter().map(|(a, b)| b - a + 1).sum();
            prop_assert_eq!(count as usize, set.len());
        }
    }
}
