//! A unified diff of a patch: the edits applied to the original text, and the two texts compared
//! line by line by the `similar` crate, with three lines of context, in the format `patch -p1` and
//! code review tools read.

use std::ops::Range;

use similar::udiff::UnifiedHunkHeader;
use similar::{Algorithm, DiffableStr};

/// One replacement in the original text: the bytes of `range` become `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The bytes replaced (empty for an insertion).
    pub range: Range<usize>,
    /// What replaces them.
    pub text: String,
}

const CONTEXT: usize = 3;

/// Writes the unified diff that turns `original` into the text the `edits` make (sorted, not
/// overlapping), with `a/NAME` and `b/NAME` headers; empty when the edits change nothing.
pub fn unified(original: &str, edits: &[Edit], name: &str) -> String {
    if edits.is_empty() {
        return String::new();
    }
    let mut patched = String::with_capacity(original.len());
    let mut at = 0;
    for edit in edits {
        patched.push_str(&original[at..edit.range.start]);
        patched.push_str(&edit.text);
        at = edit.range.end;
    }
    patched.push_str(&original[at..]);
    // Composed from `similar`'s parts rather than through `TextDiff::unified_diff`, whose texts over
    // 100 lines take a second copy of the algorithm (over interned lines) that costs the site 2 KB
    // gzipped (BENCHMARKS.md); the lines, the hunks and their headers are the same.
    let old: Vec<&str> = original.tokenize_lines();
    let new: Vec<&str> = patched.tokenize_lines();
    let ops = similar::capture_diff_slices(Algorithm::Myers, &old, &new);
    let hunks = similar::group_diff_ops(ops, CONTEXT);
    if hunks.is_empty() {
        return String::new();
    }
    let mut out = format!("--- a/{name}\n+++ b/{name}\n");
    for hunk in hunks {
        out.push_str(&format!("{}\n", UnifiedHunkHeader::new(&hunk)));
        for change in hunk.iter().flat_map(|op| op.iter_changes(&old, &new)) {
            out.push_str(&format!("{}{}", change.tag(), change.value()));
            if change.missing_newline() {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(range: Range<usize>, text: &str) -> Edit {
        Edit {
            range,
            text: text.into(),
        }
    }

    #[test]
    fn an_insertion_a_replacement_and_a_removal_read_as_diff_does() {
        let original = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n";
        let edits = [edit(2..2, "B0\n"), edit(22..24, ""), edit(12..13, "G")];
        let mut sorted = edits.to_vec();
        sorted.sort_by_key(|e| e.range.start);
        let diff = unified(original, &sorted, "x.xml");
        assert_eq!(
            diff,
            "--- a/x.xml\n+++ b/x.xml\n@@ -1,12 +1,12 @@\n a\n+B0\n b\n c\n d\n e\n f\n-g\n+G\n h\n i\n j\n k\n-l\n"
        );
    }

    /// What `similar`'s own unified diff writes for the same two texts.
    fn text_diff(original: &str, patched: &str, name: &str) -> String {
        similar::TextDiff::from_lines(original, patched)
            .unified_diff()
            .context_radius(CONTEXT)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string()
    }

    proptest::proptest! {
        /// Random texts of up to 300 lines (over and under the 100 lines where `TextDiff` interns
        /// them), with CR LF, lone CR and no final newline, and random edits: the composed diff is
        /// `TextDiff::unified_diff`'s, byte for byte.
        #[test]
        fn the_composed_diff_is_similars_own(
            lines in proptest::collection::vec("[abc]{0,2}(\n|\r\n|\r)", 0..300),
            tail in "[ab]{0,2}",
            raw_edits in proptest::collection::vec((0usize..2000, 0usize..40, "[abcX\n]{0,6}"), 0..12),
        ) {
            let original = lines.concat() + &tail;
            let mut edits: Vec<Edit> = Vec::new();
            let mut at = 0;
            let mut starts: Vec<_> = raw_edits;
            starts.sort_by_key(|e| e.0);
            for (start, len, text) in starts {
                let start = start.max(at);
                if start > original.len() {
                    break;
                }
                let end = (start + len).min(original.len());
                if !original.is_char_boundary(start) || !original.is_char_boundary(end) {
                    continue;
                }
                edits.push(edit(start..end, &text));
                at = end;
            }
            let mut patched = String::new();
            let mut from = 0;
            for e in &edits {
                patched.push_str(&original[from..e.range.start]);
                patched.push_str(&e.text);
                from = e.range.end;
            }
            patched.push_str(&original[from..]);
            let expected = if edits.is_empty() { String::new() } else { text_diff(&original, &patched, "d.xml") };
            proptest::prop_assert_eq!(unified(&original, &edits, "d.xml"), expected);
        }
    }
}
