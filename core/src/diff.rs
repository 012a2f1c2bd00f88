//! A unified diff of a patch, made from its edits rather than by comparing texts: the lines each edit
//! touches, with three lines of context, in the format `patch -p1` and code review tools read.

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
/// overlapping), with `a/NAME` and `b/NAME` headers; empty when there is no edit.
pub fn unified(original: &str, edits: &[Edit], name: &str) -> String {
    if edits.is_empty() {
        return String::new();
    }
    // Where each original line starts, and a last entry at the end of the text.
    let mut starts: Vec<usize> = std::iter::once(0)
        .chain(original.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    if *starts.last().expect("one line at least") != original.len() {
        starts.push(original.len());
    }
    let line_of = |offset: usize| starts.partition_point(|&s| s <= offset) - 1;
    let lines = starts.len() - 1;
    // Each edit as whole original lines [first, end); edits on shared lines make one change, and
    // changes closer than twice the context one hunk.
    let mut hunks: Vec<Vec<(usize, usize, Vec<&Edit>)>> = Vec::new();
    for edit in edits {
        let first = line_of(edit.range.start);
        let end = if edit.range.is_empty() && starts[first] == edit.range.start {
            first
        } else if starts.binary_search(&edit.range.end).is_ok() && edit.range.end > starts[first] {
            line_of(edit.range.end - 1) + 1
        } else {
            line_of(edit.range.end) + 1
        }
        .min(lines);
        let last = hunks.last_mut().and_then(|h| h.last_mut());
        match last {
            Some((_, last_end, group)) if first < *last_end => {
                *last_end = (*last_end).max(end);
                group.push(edit);
            }
            Some((_, last_end, _)) if first <= *last_end + 2 * CONTEXT => {
                hunks
                    .last_mut()
                    .expect("a hunk")
                    .push((first, end, vec![edit]));
            }
            _ => hunks.push(vec![(first, end, vec![edit])]),
        }
    }
    let mut out = format!("--- a/{name}\n+++ b/{name}\n");
    // How many lines the patched text has gained before the current hunk.
    let mut shift: isize = 0;
    let text_lines =
        |from: usize, to: usize| original[starts[from]..starts[to]].split_inclusive('\n');
    for hunk in hunks {
        let from = hunk[0].0.saturating_sub(CONTEXT);
        let to = (hunk.last().expect("a change").1 + CONTEXT).min(lines);
        let mut body = String::new();
        let (mut old_count, mut new_count) = (0, 0);
        let mut line = from;
        for (first, end, group) in &hunk {
            for l in text_lines(line, *first) {
                push(&mut body, ' ', l);
                old_count += 1;
                new_count += 1;
            }
            let mut new = String::new();
            let mut at = starts[*first];
            for edit in group {
                new.push_str(&original[at..edit.range.start]);
                new.push_str(&edit.text);
                at = edit.range.end;
            }
            new.push_str(&original[at..starts[*end]]);
            for l in text_lines(*first, *end) {
                push(&mut body, '-', l);
                old_count += 1;
            }
            for l in new.split_inclusive('\n') {
                push(&mut body, '+', l);
                new_count += 1;
            }
            line = *end;
        }
        for l in text_lines(line, to) {
            push(&mut body, ' ', l);
            old_count += 1;
            new_count += 1;
        }
        let new_from = (from as isize + shift) as usize;
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(from, old_count),
            range(new_from, new_count)
        ));
        out.push_str(&body);
        shift += new_count as isize - old_count as isize;
    }
    out
}

/// `start,count` as a unified diff writes it (lines counted from 1; an empty range names the line
/// before it).
fn range(start: usize, count: usize) -> String {
    match count {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        n => format!("{},{n}", start + 1),
    }
}

fn push(out: &mut String, mark: char, line: &str) {
    out.push(mark);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
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
