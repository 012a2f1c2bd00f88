//! A unified diff of a patch: the edits applied to the original text, and the two texts compared
//! line by line by the `similar` crate, with three lines of context, in the format `patch -p1` and
//! code review tools read.

use std::ops::Range;

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
    similar::TextDiff::from_lines(original, &patched)
        .unified_diff()
        .context_radius(CONTEXT)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
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
}
