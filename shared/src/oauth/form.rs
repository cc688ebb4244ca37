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
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use super::caps::{self, Caps};
use super::OAuthError;

/// A parsed form with no repeated parameters, in the order sent. A `Vec`, not a map: forms
/// are a handful of pairs, looked up a few times each, so a linear search beats hashing every
/// name (issue 11: the token and introspection endpoints read one per request). Its `Debug`
/// names the parameters only: values may be secrets.
#[derive(Default)]
pub struct Form(Vec<(String, String)>);

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
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
        let form = Form::parse(&body, &caps::FORM)?;
        form.check(&caps::FORM)?;
        Ok(form)
    }

    /// Parses a form body or query string; `caps` names the parameters an error may name.
    pub fn parse(body: &[u8], caps: &Caps) -> Result<Form, OAuthError> {
        if std::str::from_utf8(body).is_err() {
            return Err(OAuthError::invalid_request("request body is not UTF-8"));
        }
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Some(name) = first_repeated(&pairs) {
            return Err(OAuthError::invalid_request(match caps.known(name) {
                Some(name) => format!("parameter '{name}' is repeated"),
                None => "a parameter is repeated".to_string(),
            }));
        }
        pairs.retain(|(_, v)| !v.is_empty());
        Ok(Form(pairs))
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
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn required(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter '{name}'")))
    }
}

/// The first name that comes again, at its second appearance (RFC 6749 §3.1: "MUST NOT be
/// included more than once"; an empty value counts).
fn first_repeated(pairs: &[(String, String)]) -> Option<&str> {
    if pairs.len() <= PAIRWISE_MAX {
        return pairs
            .iter()
            .enumerate()
            .find(|(i, (k, _))| pairs[..*i].iter().any(|(seen, _)| seen == k))
            .map(|(_, (k, _))| k.as_str());
    }
    let mut seen = HashSet::with_capacity(pairs.len());
    pairs
        .iter()
        .find(|(k, _)| !seen.insert(k.as_str()))
        .map(|(k, _)| k.as_str())
}

/// Whether the request's `Content-Type` is `media_type` (parameters such as `charset` aside).
pub fn has_media_type(req: &HttpRequest, media_type: &str) -> bool {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ctype.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case(media_type)
}

/// Reads a request body of at most `limit` bytes; larger is 413 in the OAuth error shape.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, OAuthError> {
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
}
