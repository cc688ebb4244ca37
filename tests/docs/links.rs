//! Every relative link of the pages points at a file that exists and, with a `#fragment`, at a
//! heading of that page (GitHub's anchors), so moving text between pages cannot leave a reader
//! at a dead end.

use std::collections::BTreeSet;
use std::path::Path;

/// GitHub's anchor of a heading: lower case, spaces as `-`, punctuation other than `-` and `_`
/// dropped (a repeated heading gets `-1`, `-2`, …).
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a page's headings (outside code fences).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in crate::prose_lines(text) {
        if line.starts_with('#') {
            let base = anchor(line.trim_start_matches('#'));
            let mut a = base.clone();
            let mut n = 0;
            while out.contains(&a) {
                n += 1;
                a = format!("{base}-{n}");
            }
            out.insert(a);
        }
    }
    out
}

/// The targets of the inline links `[text](target)` of a page (outside code fences and code
/// spans).
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in crate::prose_lines(text) {
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join("");
        for part in prose.split("](").skip(1) {
            if let Some(end) = part.find(')') {
                out.push(part[..end].to_string());
            }
        }
    }
    out
}

#[test]
fn every_relative_link_reaches_a_file_and_a_heading() {
    let mut checked = 0;
    for page in crate::pages() {
        let text = crate::read(&page);
        let dir = page.parent().unwrap_or(Path::new(""));
        for target in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let path = if file.is_empty() {
                page.clone()
            } else {
                dir.join(file)
            };
            let full = crate::root().join(&path);
            assert!(
                full.exists(),
                "{}: no file for [..]({target})",
                page.display()
            );
            if !fragment.is_empty() {
                let headings = anchors(&std::fs::read_to_string(&full).unwrap());
                assert!(
                    headings.contains(fragment),
                    "{}: [..]({target}): no such heading in {}",
                    page.display(),
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} links checked");
}
