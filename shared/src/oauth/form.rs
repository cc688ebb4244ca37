//! Strict reading of form-encoded OAuth requests (RFC 6749 §3.2, Appendix B).
//!
//! Refused as `invalid_request`: a content type other than `application/x-www-form-urlencoded`,
//! any query string (parameters belong in the body, and a query is often logged), a parameter
//! repeated (§3.1, §3.2: "MUST NOT be included more than once"), and a body that is not UTF-8.
//! A body over the configured limit is 413, a parameter over its cap ([`super::caps`])
//! `invalid_request`. Empty values count as absent (§3.1). Error texts name only parameters the
//! server knows, never what was sent.

use std::collections::HashSet;

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::HttpRequest;
use bytestring::ByteString;
use futures_util::StreamExt;

use super::caps::{self, Caps};
use super::OAuthError;

/// A parsed form with no repeated parameters, in the order sent. A `Vec`, not a map: forms
/// are a handful of pairs, looked up a few times each, so a linear search beats hashing every
/// name (issue 11: the token and introspection endpoints read one per request). Names and values
/// with nothing to decode (no `+`, no `%`: nearly all) are read in place from the body, which the
/// form keeps; only the others are decoded into strings of their own (issue 11, P3: a `String`
/// per name and per value before). Its `Debug` names the parameters only: values may be secrets.
#[derive(Default)]
pub struct Form {
    /// The body, checked once to be UTF-8 (no copy: the same bytes).
    body: ByteString,
    pairs: Vec<(Text, Text)>,
}

/// A name or a value: a span of the body, or the decoded text when it had `+` or `%`.
enum Text {
    Span(usize, usize),
    Decoded(String),
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(k, _)| self.text(k)))
            .finish()
    }
}

/// Up to this many pairs, a repeated name is found by comparing each with those before it;
/// above, with a set (so a hostile form of thousands of pairs costs linear time, not quadratic).
const PAIRWISE_MAX: usize = 32;

impl Form {
    /// Reads and checks the request body.
    pub async fn read(
        req: &HttpRequest,
        payload: web::Payload,
        limit: usize,
    ) -> Result<Form, OAuthError> {
        if !req.query_string().is_empty() {
            return Err(OAuthError::invalid_request(
                "parameters must be sent in the request body, not the query string",
            ));
        }
        if !has_media_type(req, "application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "content type must be application/x-www-form-urlencoded",
            ));
        }
        let body = read_body(payload, limit).await?;
        let form = Form::from_body(body, &caps::FORM)?;
        form.check(&caps::FORM)?;
        Ok(form)
    }

    /// Parses a form body or query string; `caps` names the parameters an error may name.
    pub fn parse(body: &[u8], caps: &Caps) -> Result<Form, OAuthError> {
        Form::from_body(Bytes::copy_from_slice(body), caps)
    }

    /// Parses a form body, kept by the form: names and values are read from it in place.
    fn from_body(body: Bytes, caps: &Caps) -> Result<Form, OAuthError> {
        let Ok(body) = ByteString::try_from(body) else {
            return Err(OAuthError::invalid_request("request body is not UTF-8"));
        };
        let mut form = Form {
            pairs: split(body.as_bytes()),
            body,
        };
        if let Some(name) = form.first_repeated() {
            return Err(OAuthError::invalid_request(match caps.known(name) {
                Some(name) => format!("parameter '{name}' is repeated"),
                None => "a parameter is repeated".to_string(),
            }));
        }
        let Form { body, pairs } = &mut form;
        pairs.retain(|(_, v)| !text(body, v).is_empty());
        Ok(form)
    }

    /// Whether `name`'s value fits its cap in `caps` (absent fits).
    pub fn fits(&self, caps: &Caps, name: &str) -> bool {
        self.get(name).is_none_or(|v| v.len() <= caps.cap(name).1)
    }

    /// `invalid_request` for the first parameter over its cap in `caps`; the description names
    /// a known parameter and its cap, and never repeats what was sent.
    pub fn check(&self, caps: &Caps) -> Result<(), OAuthError> {
        for (name, value) in self.iter() {
            let (known, max) = caps.cap(name);
            if value.len() > max {
                return Err(OAuthError::invalid_request(match known {
                    Some(n) => format!("parameter '{n}' is too long (at most {max} bytes)"),
                    None => format!("a parameter is too long (at most {max} bytes)"),
                }));
            }
        }
        Ok(())
    }

    /// Every (name, value) pair.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (self.text(k), self.text(v)))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| self.is(k, name))
            .map(|(_, v)| self.text(v))
    }

    pub fn required(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter '{name}'")))
    }
}

impl Form {
    fn text<'a>(&'a self, t: &'a Text) -> &'a str {
        text(&self.body, t)
    }

    /// Whether `t` is `name`: a span's bytes compared where they lie, its length first.
    fn is(&self, t: &Text, name: &str) -> bool {
        match t {
            Text::Span(start, end) => {
                end.checked_sub(*start) == Some(name.len())
                    && self.body.as_bytes().get(*start..*end) == Some(name.as_bytes())
            }
            Text::Decoded(s) => s == name,
        }
    }

    /// The first name that comes again, at its second appearance (RFC 6749 §3.1: "MUST NOT be
    /// included more than once"; an empty value counts).
    fn first_repeated(&self) -> Option<&str> {
        let names = || self.pairs.iter().map(|(k, _)| self.text(k));
        if self.pairs.len() <= PAIRWISE_MAX {
            return names()
                .enumerate()
                .find(|(i, k)| names().take(*i).any(|seen| seen == *k))
                .map(|(_, k)| k);
        }
        let mut seen = HashSet::with_capacity(self.pairs.len());
        names().find(|k| !seen.insert(*k))
    }
}

/// `t`'s text in `body` (spans start and end at ASCII `&`, `=` or the body's ends: on characters'
/// boundaries).
fn text<'a>(body: &'a str, t: &'a Text) -> &'a str {
    match t {
        Text::Span(start, end) => body.get(*start..*end).unwrap_or(""),
        Text::Decoded(s) => s,
    }
}

/// The (name, value) pairs of a form body, as `form_urlencoded::parse` reads them: split at
/// `&` (empty pieces skipped), then at the first `=` (none: an empty value), `+` read as a space
/// and `%XX` decoded, invalid UTF-8 after decoding replaced by U+FFFD.
fn split(body: &[u8]) -> Vec<(Text, Text)> {
    let mut pairs = Vec::with_capacity(4);
    let mut start = 0;
    for piece in body.split(|&b| b == b'&') {
        let end = start + piece.len();
        if !piece.is_empty() {
            let eq = piece.iter().position(|&b| b == b'=');
            let name_end = eq.map_or(end, |i| start + i);
            let value_start = eq.map_or(end, |i| start + i + 1);
            pairs.push((
                decoded(body, start, name_end),
                decoded(body, value_start, end),
            ));
        }
        start = end + 1;
    }
    pairs
}

/// `body[start..end]` in place when it has nothing to decode, else decoded.
fn decoded(body: &[u8], start: usize, end: usize) -> Text {
    let raw = body.get(start..end).unwrap_or_default();
    if !raw.iter().any(|&b| b == b'+' || b == b'%') {
        return Text::Span(start, end);
    }
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    Text::Decoded(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Whether the request's `Content-Type` is `media_type` (parameters such as `charset` aside).
pub fn has_media_type(req: &HttpRequest, media_type: &str) -> bool {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // `to_str` let through visible ASCII and tabs only: `trim_ascii` trims what `trim` would.
    let mime = ctype.as_bytes().split(|&b| b == b';').next().unwrap_or(b"");
    mime.trim_ascii()
        .eq_ignore_ascii_case(media_type.as_bytes())
}

/// Reads a request body of at most `limit` bytes; larger is 413 in the OAuth error shape. The
/// body is copied out of actix's chunks rather than kept: a chunk shares the connection's read
/// buffer for as long as the form lives (across the Redis wait), and keeping it did not pay in
/// idle runs (BENCHMARKS.md, the sixth session's broker rows); the copy is one allocation.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<Bytes, OAuthError> {
    let too_large = || OAuthError::invalid_request("request body too large").with_status(413);
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => too_large(),
            _ => OAuthError::invalid_request("could not read the request body"),
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused() {
        let e = Form::parse(b"a=1&a=2", &caps::FORM).unwrap_err();
        assert_eq!(e.description, "a parameter is repeated");
        let e = Form::parse(b"scope=1&scope=2", &caps::FORM).unwrap_err();
        assert_eq!(e.description, "parameter 'scope' is repeated");
        assert!(Form::parse(b"a=1&b=2", &caps::FORM).is_ok());
        // An empty value is still a repetition; past the pairwise bound, the set finds it.
        let e = Form::parse(b"scope=&scope=x", &caps::FORM).unwrap_err();
        assert_eq!(e.description, "parameter 'scope' is repeated");
        let mut many: String = (0..500).map(|i| format!("p{i}=v&")).collect();
        assert!(Form::parse(many.as_bytes(), &caps::FORM).is_ok());
        many.push_str("scope=a&p7=b&scope=c");
        let e = Form::parse(many.as_bytes(), &caps::FORM).unwrap_err();
        assert_eq!(e.description, "a parameter is repeated");
    }

    #[test]
    fn debug_names_the_parameters_only() {
        let f = Form::parse(b"client_id=c&client_secret=s3cr3t", &caps::FORM).unwrap();
        assert_eq!(format!("{f:?}"), r#"["client_id", "client_secret"]"#);
    }

    #[test]
    fn empty_values_count_as_absent() {
        let f = Form::parse(b"scope=&grant_type=x", &caps::FORM).unwrap();
        assert_eq!(f.get("scope"), None);
        assert_eq!(f.get("grant_type"), Some("x"));
    }

    proptest::proptest! {
        /// Pinned (issue 11, P3: the pairs read in place): any body is read as
        /// `form_urlencoded::parse` reads it — `+`, `%XX`, broken escapes, escapes that decode to
        /// invalid UTF-8, `=` in values, empty pieces — refused when a name comes twice, and
        /// otherwise the same pairs in the same order, empty values left out.
        #[test]
        fn reads_what_form_urlencoded_reads(body in "([ab=&+%]|%[0-9A-Fa-f]{0,2}|%E9|é|\\x00){0,24}") {
            let reference: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let repeated = reference
                .iter()
                .enumerate()
                .any(|(i, (k, _))| reference[..i].iter().any(|(seen, _)| seen == k));
            match Form::parse(body.as_bytes(), &caps::FORM) {
                Err(e) => proptest::prop_assert!(repeated, "{}", e.description),
                Ok(form) => {
                    proptest::prop_assert!(!repeated);
                    let ours: Vec<(&str, &str)> = form.iter().collect();
                    let theirs: Vec<(&str, &str)> = reference
                        .iter()
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    proptest::prop_assert_eq!(&ours, &theirs);
                    for (k, v) in theirs {
                        proptest::prop_assert_eq!(form.get(k), Some(v));
                    }
                }
            }
        }
    }

    #[test]
    fn encoded_and_plain_pairs_read_alike() {
        let f = Form::parse(
            b"&&grant_type=client_credentials&sc%6Fpe=a+b%20c&x&=v",
            &caps::FORM,
        )
        .unwrap();
        assert_eq!(f.get("grant_type"), Some("client_credentials"));
        assert_eq!(f.get("scope"), Some("a b c"));
        assert_eq!(f.get("x"), None);
        assert_eq!(f.get(""), Some("v"));
        let e = Form::parse(b"scope=a&sc%6Fpe=b", &caps::FORM).unwrap_err();
        assert_eq!(e.description, "parameter 'scope' is repeated");
        assert_eq!(
            Form::parse(b"a=%FF", &caps::FORM).unwrap().get("a"),
            Some("\u{fffd}")
        );
    }
}
