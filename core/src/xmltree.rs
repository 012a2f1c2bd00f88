//! A lossless view of a whole XML document: every element with its attributes, its text and where it
//! sits in the input, so that [`crate::check`] can point at a line and [`crate::apply`] can rewrite the
//! few elements rtkvm owns and leave every other byte as it was. One of the modules that know XML: it
//! reads with quick-xml's pull reader and refuses what the capabilities reader refuses (DTDs, unknown
//! entities, absurd nesting, a second root).

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::events::attributes::Attributes;
use quick_xml::events::Event;
use quick_xml::Reader;

use crate::caps::{describe_xml_error, shorten, MAX_DEPTH};
use crate::error::{Error, Position};

/// One element, with byte ranges into the document's text; names and values borrow from it where
/// they need no unescaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element<'a> {
    /// The qualified name as written (`domain`, `qemu:commandline`).
    pub name: &'a str,
    /// The attributes in document order, values unescaped.
    pub attrs: Vec<(&'a str, Cow<'a, str>)>,
    /// The element's own text (not its children's), unescaped and concatenated; the whitespace
    /// between child elements is kept only once.
    pub text: Cow<'a, str>,
    /// The child elements in document order.
    pub children: Vec<Element<'a>>,
    /// The whole element, from `<` of its start tag to `>` of its end tag.
    pub span: Range<usize>,
    /// The start tag (for an empty element `<x/>`, the whole element).
    pub start_tag: Range<usize>,
    /// The end tag; `None` for an empty element `<x/>`.
    pub end_tag: Option<Range<usize>>,
}

impl<'a> Element<'a> {
    /// Returns the value of an attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Returns the first child of that name.
    pub fn child(&self, name: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Returns every child of that name.
    pub fn children_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s Element<'a>> + 's {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Follows a path of child names (the first child of each name).
    pub fn at(&self, path: &[&str]) -> Option<&Element<'a>> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    /// Returns the element's text with surrounding whitespace removed.
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }
}

/// A parsed document: its text and its root element.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    /// The text the ranges point into (a leading byte order mark removed).
    pub text: &'a str,
    /// The root element.
    pub root: Element<'a>,
    /// The byte offset where each line starts, for positions without rescanning the text.
    line_starts: Vec<usize>,
}

impl Document<'_> {
    /// Returns the line and column of a byte offset (as [`Position::from_offset`] counts them).
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let mut end = offset;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        Position {
            line,
            column: self.text[start..end].chars().count() + 1,
        }
    }
}

/// Parses a whole document into elements. `root_check` sees the root element's name first and may
/// refuse the document (a capabilities document where a domain is wanted).
pub fn parse<'a>(
    text: &'a str,
    root_check: &dyn Fn(&str) -> Result<(), Error>,
) -> Result<Document<'a>, Error> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = false;
    let at = |offset: u64| Position::from_offset(text, offset as usize);
    let broken = |offset: u64, message: String| Error::Xml {
        position: at(offset),
        message,
    };
    // The open elements; the finished root lands in `root`.
    let mut open: Vec<Element<'a>> = Vec::with_capacity(16);
    let mut root: Option<Element<'a>> = None;
    loop {
        let before = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| broken(reader.error_position(), describe_xml_error(&e)))?;
        let after = reader.buffer_position() as usize;
        let range = before as usize..after;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if open.is_empty() {
                    if root.is_some() {
                        return Err(broken(
                            before,
                            "a second document starts here; paste one document only".into(),
                        ));
                    }
                    root_check(e.name().as_ref())?;
                }
                let element =
                    element(&text[range.clone()], range.clone()).map_err(|m| broken(before, m))?;
                if matches!(event, Event::Empty(_)) {
                    close(&mut open, &mut root, element);
                } else {
                    if open.len() >= MAX_DEPTH {
                        return Err(broken(
                            before,
                            format!("elements are nested more than {MAX_DEPTH} levels deep; a libvirt document nests about 8"),
                        ));
                    }
                    open.push(element);
                }
            }
            Event::End(_) => {
                let mut element = open.pop().expect("the reader checks end tags");
                element.span.end = after;
                element.end_tag = Some(range);
                close(&mut open, &mut root, element);
            }
            Event::DocType(_) => {
                return Err(Error::Dtd {
                    position: at(before),
                })
            }
            Event::GeneralRef(ref r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten()
                } else {
                    quick_xml::escape::resolve_predefined_entity(r)
                        .and_then(|s| s.chars().next())
                }
                .ok_or_else(|| {
                    broken(
                        before,
                        format!(
                            "unknown entity or character '&{};' (only the five predefined XML entities and character references are allowed)",
                            shorten(r)
                        ),
                    )
                })?;
                if let Some(parent) = open.last_mut() {
                    parent.text.to_mut().push(resolved);
                }
            }
            Event::Text(t) => {
                let content = t.into_inner();
                match open.last_mut() {
                    Some(parent) => append(&mut parent.text, content),
                    None if !content.trim().is_empty() => {
                        let lead = content.len() - content.trim_start().len();
                        return Err(broken(
                            before + lead as u64,
                            format!(
                                "text outside the root element: '{}'",
                                shorten(content.trim())
                            ),
                        ));
                    }
                    None => {}
                }
            }
            Event::CData(c) => {
                if let Some(parent) = open.last_mut() {
                    parent.text.to_mut().push_str(&c.into_inner());
                }
            }
            Event::Eof => {
                if !open.is_empty() {
                    return Err(broken(
                        text.len() as u64,
                        "the document ends before its elements are closed; the paste was probably cut off".into(),
                    ));
                }
                let line_starts = std::iter::once(0)
                    .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                    .collect();
                return match root {
                    Some(root) => Ok(Document {
                        text,
                        root,
                        line_starts,
                    }),
                    None => Err(broken(
                        text.len() as u64,
                        "there is no element in the input".into(),
                    )),
                };
            }
            _ => {}
        }
    }
}

/// Adds text to an element's, borrowing the first piece; whitespace after whitespace (between child
/// elements) is not kept twice.
fn append<'a>(text: &mut Cow<'a, str>, more: Cow<'a, str>) {
    if text.is_empty() {
        *text = more;
    } else if !(more.trim().is_empty() && text.trim().is_empty()) {
        text.to_mut().push_str(&more);
    }
}

/// Attaches a finished element to its parent, or makes it the root.
fn close<'a>(open: &mut [Element<'a>], root: &mut Option<Element<'a>>, element: Element<'a>) {
    match open.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// Reads a start tag's name and attributes; `source` is the tag's own text in the document, which the
/// name and the values borrow from (a value is copied only when it has entities to unescape).
fn element<'a>(source: &'a str, span: Range<usize>) -> Result<Element<'a>, String> {
    let inner = source
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .map(|s| s.strip_suffix('/').unwrap_or(s))
        .unwrap_or_default();
    let name_len = inner
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(inner.len());
    let mut attrs = Vec::new();
    for attr in Attributes::new(inner, name_len) {
        let attr = attr.map_err(|e| e.to_string())?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| describe_xml_error(&e))?;
        attrs.push((attr.key.0, value));
    }
    Ok(Element {
        name: &inner[..name_len],
        attrs,
        text: Cow::Borrowed(""),
        children: Vec::new(),
        start_tag: span.clone(),
        span,
        end_tag: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc(text: &str) -> Document<'_> {
        parse(text, &|_| Ok(())).unwrap()
    }

    #[test]
    fn elements_keep_their_ranges_attributes_and_text() {
        let text = "<?xml version='1.0'?>\n<d a='1' b=\"x &amp; y\">\n  <n>v&lt;w</n><e/>\n</d>\n";
        let d = doc(text);
        assert_eq!(d.root.name, "d");
        assert_eq!(d.root.attr("b"), Some("x & y"));
        assert_eq!(&text[d.root.span.clone()], &text[22..text.len() - 1]);
        let n = d.root.child("n").unwrap();
        assert_eq!(n.trimmed(), "v<w");
        assert_eq!(&text[n.span.clone()], "<n>v&lt;w</n>");
        let e = d.root.child("e").unwrap();
        assert_eq!((e.end_tag.clone(), &text[e.span.clone()]), (None, "<e/>"));
        assert_eq!(d.position(n.span.start), Position { line: 3, column: 3 });
    }

    proptest! {
        #[test]
        fn positions_match_the_plain_count(lines in proptest::collection::vec("[a-zé€ ]{0,12}", 1..8), at in 0usize..200) {
            let text = format!("<r>{}</r>", lines.join("\n"));
            let d = doc(&text);
            prop_assert_eq!(d.position(at), Position::from_offset(&text, at));
        }
    }
}
