//! The documentation, checked: the walk-through of `docs/walkthrough.md` runs against the real
//! `tessera dev` ([`walkthrough`]), every configuration key the loaders accept is documented in
//! `docs/configuration.md` and nothing documented there is unknown to them
//! ([`configuration`]), every TOML example parses and the complete ones load ([`snippets`]),
//! every client snippet is code the client tests run ([`client_snippets`]), and every relative
//! link points at a file and a heading that exist ([`links`]).
//!
//! This file holds what they share: reading the pages and their code fences.

// Tests may panic on what they did not expect: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client_snippets;
mod configuration;
mod links;
mod snippets;
mod transcript;
mod walkthrough;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// The repository root (the umbrella crate's manifest directory).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown pages: README.md and every page under docs/, by path relative to the root.
pub fn pages() -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("a docs/ directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| p.strip_prefix(root()).unwrap().to_path_buf())
        .collect();
    docs.sort();
    out.extend(docs);
    out
}

pub fn read(page: &Path) -> String {
    std::fs::read_to_string(root().join(page))
        .unwrap_or_else(|e| panic!("reading {}: {e}", page.display()))
}

/// A fenced code block of a Markdown page.
#[derive(Debug, Clone)]
pub struct Fence {
    /// The info string after the opening fence, e.g. `toml broker` or `console walkthrough`.
    pub info: String,
    pub body: String,
    /// 1-based line of the opening fence.
    pub line: usize,
}

impl Fence {
    /// The info string's words: the language first, then our tags.
    pub fn tags(&self) -> Vec<&str> {
        self.info.split_whitespace().collect()
    }
}

/// Every ```-fenced block of `text`, in order.
pub fn fences(text: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<(String, usize, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((info.trim().to_string(), i + 1, Vec::new()));
                }
            }
            Some((info, start, body)) => {
                if trimmed.starts_with("```") {
                    out.push(Fence {
                        info: std::mem::take(info),
                        body: body.join("\n"),
                        line: *start,
                    });
                    open = None;
                } else {
                    body.push(line);
                }
            }
        }
    }
    assert!(open.is_none(), "an unclosed code fence");
    out
}

/// The least configuration the broker's loader accepts (the secrets long enough, the store in
/// memory): what fragments and probes are laid over.
pub fn broker_minimum() -> Value {
    json!({
        "server": { "issuer": "https://auth.example.com" },
        "store": { "url": "memory" },
        "admin": { "token": "a".repeat(40) },
        "security": { "pepper": "p".repeat(40) },
    })
}

/// The least configuration the proxy's loader accepts.
pub fn proxy_minimum() -> Value {
    json!({ "store": { "url": "memory" }, "security": { "pepper": "p".repeat(40) } })
}

/// The lines of a page outside its code fences.
pub fn prose_lines(text: &str) -> Vec<&str> {
    let mut in_fence = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            out.push(line);
        }
    }
    out
}
