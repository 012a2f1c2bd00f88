//! The line templates the generated scripts are written from (`core/src/templates/`): shell files
//! with `@NAME@` fields, replaced by numbers, sizes and cpulists, and lines starting with `%section%`,
//! kept only where that section applies. A template engine would cost the site more than the scripts
//! it writes.

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
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
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

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn fills_fields_and_keeps_sections() {
        let t = "a=@A@\n%yes%b=@B@ @B@\n%no%gone\nmail user@host\n";
        let out = render(t, &[("A", "1"), ("B", "x\ny")], |s| s == "yes");
        assert_eq!(out, "a=1\nb=x\ny x\ny\nmail user@host\n");
    }
}
