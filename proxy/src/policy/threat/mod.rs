//! Threat protection: the last policy before a request is forwarded (seed 004, "API Best
//! Practices: Security" — injection threats and JSON bombs). It is Tessera's version of Apigee's
//! `JSONThreatProtection` and `RegularExpressionProtection` policies, plus the request size limits
//! those rely on.
//!
//! This module is plain library code, with no actix dependency, but for [`step`]: the route's step
//! hands it the request head ([`ThreatPolicy::check_head`]), the body reader hands it the body
//! chunk by chunk ([`BodyChecker`]), and [`step::blocked`] maps a [`Violation`] to the HTTP status
//! of its [`ViolationKind`].
//!
//! # Layout
//!
//! * `mod.rs` — configuration ([`ThreatConfig`]), the compiled [`ThreatPolicy`], the per-request
//!   [`BodyChecker`] that composes the size limit, the JSON scanner and the pattern buffer, and
//!   [`Violation`].
//! * `json.rs` — `JSONThreatProtection`: deciding whether a body is JSON; `json/scanner.rs`, the
//!   streaming, strict (RFC 8259) scanner that enforces nesting, entry-count, length and size
//!   limits without buffering the body.
//! * `patterns.rs` — `RegularExpressionProtection`: compiling operator patterns under size limits
//!   and matching them against path, query, headers and body.
//! * `step.rs` — the policy as a step of a route, and its refusals.
//! * `tests.rs` — the policy as the pipeline uses it (head, whole bodies, configuration).
//!
//! # Design notes
//!
//! * JSON limits apply to whatever *looks* like JSON, not only to what the `Content-Type` claims:
//!   a body whose first non-whitespace byte (a UTF-8 BOM counts as whitespace) is `{` or `[` is
//!   scanned even when declared `text/plain`, because backends often parse JSON regardless.
//! * Violation messages name the rule and where it fired, never the offending content: that may be
//!   an attack payload or a secret, and the message goes to the client and the log.

pub mod decode;
mod json;
mod patterns;
pub mod step;

use std::sync::Arc;

use serde::Deserialize;

pub use json::HARD_MAX_DEPTH;
pub use patterns::{BODY_INSPECTION_CAP, REGEX_SIZE_LIMIT};

/// Threat-protection settings of a route. Every limit is optional; an absent limit is unlimited.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatConfig {
    /// A larger request body is refused with 413.
    pub max_body_bytes: Option<usize>,
    /// Sum over the request headers of `name.len() + value.len()`; more is refused with 431.
    pub max_header_bytes: Option<usize>,
    /// Shape limits for JSON bodies (`JSONThreatProtection`).
    pub json: Option<JsonLimits>,
    /// Patterns a request must not match (`RegularExpressionProtection`).
    #[serde(default)]
    pub patterns: Vec<PatternConfig>,
    /// Decode a compressed body (gzip, deflate, br) to inspect it (default: true); off, a
    /// compressed body under inspection is refused with 415 ([`decode`]).
    pub decode_bodies: Option<bool>,
    /// Most decoded bytes per compressed byte beyond the first 64 KiB (default: 100); more is
    /// 413.
    pub max_decode_ratio: Option<u64>,
}

/// Shape limits for JSON bodies. With `json` configured but every field absent, bodies that look
/// like JSON must still be well-formed, and nesting is capped at [`HARD_MAX_DEPTH`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLimits {
    /// Nesting of objects and arrays; the top-level container is depth 1. At most
    /// [`HARD_MAX_DEPTH`], which also applies when this is absent.
    pub max_depth: Option<usize>,
    /// Members per object.
    pub max_object_entries: Option<usize>,
    /// Elements per array.
    pub max_array_length: Option<usize>,
    /// Length of string values in decoded characters (Unicode scalar values: an escape such as
    /// `\n` or `\u00e9` is one character, a `\uD83D\uDE00` surrogate pair is one).
    pub max_string_length: Option<usize>,
    /// Length of object member names, counted like `max_string_length`.
    pub max_name_length: Option<usize>,
    /// Size of a JSON body in bytes; more is refused with 413 like `max_body_bytes`.
    pub max_total_bytes: Option<usize>,
    /// Accept objects that name a member twice (default: refused, 400). Parsers disagree on
    /// which of the two wins, so the backend could read a value the limits never saw.
    #[serde(default)]
    pub allow_duplicate_keys: bool,
}

/// One forbidden pattern and the parts of the request it is matched against.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternConfig {
    /// Names the pattern in violation messages (the matched text never appears in them).
    pub name: String,
    /// A `regex` crate pattern.
    pub pattern: String,
    /// Where to look; must not be empty.
    pub on: Vec<Target>,
}

/// A part of the request a pattern is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The path, raw and percent-decoded.
    Path,
    /// The query string, raw and form-decoded (`%XX` and `+`).
    Query,
    /// Each header as `name: value` (value as lossy UTF-8).
    Headers,
    /// The whole body as lossy UTF-8 (decoded first when it has a `Content-Encoding`), and
    /// form-decoded too when it is `application/x-www-form-urlencoded`.
    Body,
}

/// Why a request was refused. `message` is safe to send to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Violation {
    pub kind: ViolationKind,
    pub message: String,
}

/// The class of a [`Violation`], which decides the response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// 413 Content Too Large.
    BodyTooLarge,
    /// 431 Request Header Fields Too Large.
    HeadersTooLarge,
    /// 400: malformed JSON or a JSON shape limit.
    Json,
    /// 400: a forbidden pattern matched.
    Pattern,
    /// 400: the body does not decode with its `Content-Encoding`.
    Undecodable,
    /// 415 Unsupported Media Type: a content coding the inspector does not decode.
    UnsupportedEncoding,
}

impl ViolationKind {
    pub fn status(self) -> u16 {
        match self {
            Self::BodyTooLarge => 413,
            Self::HeadersTooLarge => 431,
            Self::UnsupportedEncoding => 415,
            Self::Json | Self::Pattern | Self::Undecodable => 400,
        }
    }
}

impl Violation {
    fn new(kind: ViolationKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// The compiled threat-protection policy of a route: built once, shared (in an `Arc`) by every
/// request on the route.
#[derive(Debug)]
pub struct ThreatPolicy {
    max_body_bytes: Option<usize>,
    max_header_bytes: Option<usize>,
    json: Option<json::Limits>,
    patterns: patterns::Patterns,
    decode_bodies: bool,
    max_decode_ratio: u64,
}

/// What the request says its body is, for the inspector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyKind {
    /// `application/json` or `…+json`.
    pub json: bool,
    /// `application/x-www-form-urlencoded`.
    pub form: bool,
}

impl ThreatPolicy {
    /// Compiles; the error is a message naming the offending key, e.g.
    /// `patterns[2].pattern: regex too large (size limit 1 MiB)`.
    pub fn compile(cfg: &ThreatConfig) -> Result<Self, String> {
        Ok(Self {
            max_body_bytes: cfg.max_body_bytes,
            max_header_bytes: cfg.max_header_bytes,
            json: cfg.json.as_ref().map(json::Limits::compile).transpose()?,
            patterns: patterns::Patterns::compile(&cfg.patterns)?,
            decode_bodies: cfg.decode_bodies.unwrap_or(true),
            max_decode_ratio: match cfg.max_decode_ratio {
                Some(0) => return Err("max_decode_ratio: must be at least 1".into()),
                Some(r) => r,
                None => decode::DEFAULT_RATIO,
            },
        })
    }

    /// A decoder for the body's content coding when the body's content is inspected (JSON
    /// limits or body patterns): `None` for an unencoded body or a route that only limits its
    /// size; 415 when decoding is off or the coding unsupported. `max`: the decoded-size limit.
    pub fn decoder<'a>(
        &self,
        content_encoding: impl Iterator<Item = &'a [u8]>,
        max: u64,
    ) -> Result<Option<decode::Decoder>, Violation> {
        if self.json.is_none() && !self.patterns.has_body() {
            return Ok(None);
        }
        match decode::coding(content_encoding)? {
            None => Ok(None),
            Some(_) if !self.decode_bodies => Err(Violation::new(
                ViolationKind::UnsupportedEncoding,
                "compressed request bodies are not accepted on this route",
            )),
            Some(c) => Ok(Some(decode::Decoder::new(c, max, self.max_decode_ratio))),
        }
    }

    /// Checks the header size limit, then the path (raw and percent-decoded), the query string
    /// (raw and decoded) and every header against the patterns.
    pub fn check_head<'a>(
        &self,
        path: &str,
        query: &str,
        headers: impl Iterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<(), Violation> {
        // One pass without allocating: the size limit wins over a pattern match, so the first
        // header-pattern violation waits until every header has been counted.
        let mut size = 0usize;
        let mut pattern_hit = None;
        let mut scratch = String::new();
        for (name, value) in headers {
            size = size.saturating_add(name.len()).saturating_add(value.len());
            if let Some(max) = self.max_header_bytes.filter(|max| size > *max) {
                return Err(Violation::new(
                    ViolationKind::HeadersTooLarge,
                    format!("request headers exceed {max} bytes"),
                ));
            }
            if pattern_hit.is_none() {
                pattern_hit = self.patterns.check_header(name, value, &mut scratch).err();
            }
        }
        self.patterns.check_path(path)?;
        self.patterns.check_query(query)?;
        pattern_hit.map_or(Ok(()), Err)
    }

    /// Whether the body must be inspected (JSON limits, body patterns, or `max_body_bytes`).
    pub fn inspects_body(&self) -> bool {
        self.max_body_bytes.is_some() || self.json.is_some() || self.patterns.has_body()
    }

    /// Starts checking a request body. `declared_json`: the `Content-Type` claims JSON
    /// (`application/json` or `+json`). Fails at once when `content_length` already exceeds
    /// `max_body_bytes`, `json.max_total_bytes` (for declared JSON) or the pattern-inspection cap.
    pub fn body_checker(
        &self,
        declared_json: bool,
        content_length: Option<u64>,
    ) -> Result<BodyChecker, Violation> {
        let kind = BodyKind {
            json: declared_json,
            form: false,
        };
        self.body_checker_for(kind, content_length)
    }

    /// [`ThreatPolicy::body_checker`] for a body of `kind`: a form body is matched by the body
    /// patterns raw and form-decoded. `content_length`: of the body as inspected (`None` for a
    /// decoded body, whose size is not known upfront).
    pub fn body_checker_for(
        &self,
        kind: BodyKind,
        content_length: Option<u64>,
    ) -> Result<BodyChecker, Violation> {
        let declared_json = kind.json;
        let too_large = |limit: usize| {
            let limit = u64::try_from(limit).unwrap_or(u64::MAX);
            content_length.is_some_and(|len| len > limit)
        };
        if let Some(max) = self.max_body_bytes.filter(|max| too_large(*max)) {
            return Err(body_too_large(max));
        }
        if let Some(max) = self.json.and_then(|l| l.max_total_bytes()) {
            if declared_json && too_large(max) {
                return Err(json::total_too_large(max));
            }
        }
        let matcher = self.patterns.body_matcher(self.max_body_bytes, kind.form);
        if let Some(cap) = matcher
            .as_ref()
            .map(|m| m.cap())
            .filter(|cap| too_large(*cap))
        {
            return Err(patterns::inspection_cap_exceeded(cap));
        }
        Ok(BodyChecker {
            max_body_bytes: self.max_body_bytes,
            received: 0,
            json: self
                .json
                .map(|limits| json::JsonGate::new(limits, declared_json)),
            matcher,
            failed: None,
        })
    }
}

fn body_too_large(max: usize) -> Violation {
    Violation::new(
        ViolationKind::BodyTooLarge,
        format!("request body exceeds {max} bytes"),
    )
}

/// The value of an ASCII hex digit.
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Checks one request body as it streams in. Memory stays bounded: the JSON scanner keeps only a
/// stack of open containers, and the body is accumulated only when body patterns exist.
#[derive(Debug)]
pub struct BodyChecker {
    max_body_bytes: Option<usize>,
    received: usize,
    json: Option<json::JsonGate>,
    matcher: Option<patterns::BodyMatcher>,
    /// The first violation, repeated if the caller keeps feeding.
    failed: Option<Violation>,
}

impl BodyChecker {
    /// Feeds the next chunk; fails at the first violation.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Violation> {
        if let Some(violation) = &self.failed {
            return Err(violation.clone());
        }
        let result = self.feed_inner(chunk);
        if let Err(violation) = &result {
            self.failed = Some(violation.clone());
        }
        result
    }

    fn feed_inner(&mut self, chunk: &[u8]) -> Result<(), Violation> {
        self.received = self.received.saturating_add(chunk.len());
        if let Some(max) = self.max_body_bytes.filter(|max| self.received > *max) {
            return Err(body_too_large(max));
        }
        if let Some(gate) = &mut self.json {
            gate.feed(chunk)?;
        }
        if let Some(matcher) = &mut self.matcher {
            matcher.push(chunk)?;
        }
        Ok(())
    }

    /// Ends the body: the JSON document must be complete, and the body patterns run now.
    pub fn finish(self) -> Result<(), Violation> {
        if let Some(violation) = self.failed {
            return Err(violation);
        }
        if let Some(gate) = self.json {
            gate.finish()?;
        }
        match self.matcher {
            Some(matcher) => matcher.finish(),
            None => Ok(()),
        }
    }
}

/// A policy shared by every request of a route must be shareable across threads.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<Arc<ThreatPolicy>>();
    shareable::<BodyChecker>();
};

#[cfg(test)]
mod tests;
