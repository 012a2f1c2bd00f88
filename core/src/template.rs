//! The line templates the generated scripts are written from (`core/src/templates/`): shell files
//! with `@NAME@` fields, replaced by numbers, sizes and cpulists, and lines starting with `%section%`,
//! kept only where that section applies. A template engine would cost the site more than the scripts
//! it writes.

/// `enable_rt_repos`, the shell function that enables the repositories of the RT kernel and of tuned's
/// real-time profiles, for the host's and the guests' setup scripts (`@RT_REPOS@`).
pub const RT_REPOS: &str = include_str!("templates/rt-repos.sh");

/// Renders a template: every `@NAME@` is replaced by its value, and a line starting with `%section%`
/// is kept (without the prefix) only where `keep(section)` says so.
///
/// # Panics
///
/// Panics on a field or section the caller does not know, which is a bug in the template.
pub fn render(template: &str, values: &[(&str, &str)], keep: impl Fn(&str) -> bool) -> String {
    render_with(template, values, &keep)
}

/// The one copy of the renderer, whichever closure chooses the sections (it keeps the site small).
#[inline(never)]
fn render_with(template: &str, values: &[(&str, &str)], keep: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    for line in template.lines() {
        let body = match line.strip_prefix('%').and_then(|l| l.split_once('%')) {
            Some((section, body)) if keep(section) => body,
            Some(_) => continue,
            None => line,
        };
        let mut rest = body;
        while let Some(start) = rest.find('@') {
            let Some(len) = rest[start + 1..].find('@') else {
                break;
            };
            let name = &rest[start + 1..start + 1 + len];
            if !is_field_name(name) {
                out.push_str(&rest[..=start]);
                rest = &rest[start + 1..];
                continue;
            }
            let value = values
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("the template names @{name}@, which has no value"))
                .1;
            out.push_str(&rest[..start]);
            out.push_str(value);
            rest = &rest[start + len + 2..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    out
}

/// Whether the text between two `@` is a field's name: a capital letter, then capitals, digits and
/// `_` (`R4_IOMMU`). Anything else (`user@host`, `"$@"`) is the template's own text.
fn is_field_name(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::{is_field_name, render};

    #[test]
    fn every_field_of_every_template_has_a_name_the_renderer_reads() {
        // A field whose name the renderer does not take for one is printed as it is (`@R4_IOMMU@` was,
        // while names had no digits): whatever looks like a field must be one.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/templates");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, part) in text.split('@').enumerate().skip(1) {
                let looks_like_one = !part.is_empty()
                    && part.len() < 40
                    && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && part.bytes().any(|b| b.is_ascii_uppercase());
                assert!(
                    !looks_like_one || is_field_name(part),
                    "{}: @{part}@ (part {i}) looks like a field the renderer does not read",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn names_have_capitals_digits_and_underscores() {
        assert!(is_field_name("R4_IOMMU"));
        assert!(is_field_name("A"));
        assert!(!is_field_name(""));
        assert!(!is_field_name("4A"));
        assert!(!is_field_name("host"));
        assert!(!is_field_name("\" $"));
    }

    #[test]
    fn fills_fields_and_keeps_sections() {
        let t = "a=@A@\n%yes%b=@B@ @B@\n%no%gone\nmail user@host\n";
        let out = render(t, &[("A", "1"), ("B", "x\ny")], |s| s == "yes");
        assert_eq!(out, "a=1\nb=x\ny x\ny\nmail user@host\n");
    }
}
