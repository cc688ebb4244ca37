//! CORS (the Fetch standard's cross-origin protocol), per route — Apigee's CORS policy, APIM's
//! `cors`: a single-page app on another origin calls the API from the browser.
//!
//! * **A preflight** (`OPTIONS` with `Origin` and `Access-Control-Request-Method`; the route
//!   is chosen by the method it asks for) is answered here, after the IP lists and spike arrest
//!   per IP and **before authentication** (a preflight carries no credentials), and never
//!   reaches the backend: 204 with the allowed methods and headers and
//!   `Access-Control-Max-Age` when the origin, the method and every requested header are
//!   allowed; otherwise 403 without any CORS header (`cors_refused`).
//! * **Any other request** goes on through the route's steps whatever its origin (CORS protects
//!   the reading of answers, not the backend); on the way back its answer — the backend's or a
//!   refusal by a later step, so a 401 is readable too — carries
//!   `Access-Control-Allow-Origin` (the origin, or `*`), `-Allow-Credentials` and
//!   `-Expose-Headers` as configured when the origin is allowed, and none when it is not. The
//!   backend's own `Access-Control-*` answer headers are dropped: on a route with a CORS policy
//!   the proxy alone speaks CORS. Answers say `Vary: Origin` unless every origin is allowed.
//!
//! Origins match exactly (`https://spa.example.com`, as browsers send them); `*` allows any
//! origin and cannot be combined with credentials (Fetch §3.2.5).

use std::sync::Arc;

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::HttpRequest;
use serde::Deserialize;

use super::exchange::{Blocked, Check, CorsAnswer, Exchange, Policy};
use crate::canonical::method::parse_configured;
use crate::denial::Denial;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins whose scripts may call the route, exactly as browsers send them, or `["*"]`.
    pub allowed_origins: Vec<String>,
    /// Methods allowed (default: the route's `methods`, else GET, HEAD, POST, PUT, PATCH,
    /// DELETE).
    #[serde(default)]
    pub allowed_methods: Vec<String>,
    /// Request headers allowed beyond the CORS-safelisted ones.
    #[serde(default = "default_headers")]
    pub allowed_headers: Vec<String>,
    /// Answer headers the script may read beyond the CORS-safelisted ones.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// Let the browser send cookies and HTTP authentication, and the script read the answer
    /// then (`Access-Control-Allow-Credentials: true`); not with `*`.
    #[serde(default)]
    pub allow_credentials: bool,
    /// How long a browser may cache a preflight's answer.
    #[serde(default = "default_max_age")]
    pub max_age_secs: u64,
}

fn default_headers() -> Vec<String> {
    vec!["authorization".into(), "content-type".into()]
}

fn default_max_age() -> u64 {
    600
}

const DEFAULT_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// A route's CORS policy, compiled: every answer header prepared once.
#[derive(Debug, PartialEq)]
pub struct CorsPolicy {
    /// `None`: any origin (`*`).
    origins: Option<Vec<String>>,
    methods: Vec<Method>,
    methods_header: HeaderValue,
    /// Lower case.
    headers: Vec<String>,
    headers_header: Option<HeaderValue>,
    expose: Option<HeaderValue>,
    credentials: bool,
    max_age: HeaderValue,
}

fn joined(key: &str, v: &[String]) -> Result<Option<HeaderValue>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    for (i, h) in v.iter().enumerate() {
        HeaderName::from_bytes(h.as_bytes())
            .map_err(|_| format!("{key}[{i}]: '{h}' is not a header name"))?;
    }
    let joined = v.join(", ");
    HeaderValue::from_str(&joined)
        .map(Some)
        .map_err(|_| format!("{key}: not a header value"))
}

fn origins(v: &[String], credentials: bool) -> Result<Option<Vec<String>>, String> {
    if v.is_empty() {
        return Err("allowed_origins: at least one origin (or \"*\")".into());
    }
    if v.iter().any(|o| o == "*") {
        if v.len() > 1 || credentials {
            return Err(
                "allowed_origins: \"*\" stands alone, and not with allow_credentials \
                        (Fetch forbids it)"
                    .into(),
            );
        }
        return Ok(None);
    }
    for (i, o) in v.iter().enumerate() {
        let exact = url::Url::parse(o).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.origin().ascii_serialization() == *o
        });
        if !exact {
            return Err(format!(
                "allowed_origins[{i}]: '{o}' is not an origin as browsers send it \
                 (scheme://host[:port], lower case, no path or trailing slash)"
            ));
        }
    }
    Ok(Some(v.to_vec()))
}

impl CorsPolicy {
    /// The policy of `cfg` on a route accepting `route_methods` (empty: the standard ones).
    pub fn compile(cfg: &CorsConfig, route_methods: &[Method]) -> Result<Arc<Self>, String> {
        let origins = origins(&cfg.allowed_origins, cfg.allow_credentials)?;
        let methods: Vec<Method> = match (cfg.allowed_methods.is_empty(), route_methods) {
            (false, _) => (cfg.allowed_methods.iter().enumerate())
                .map(|(i, m)| parse_configured(&format!("allowed_methods[{i}]"), m))
                .collect::<Result<_, _>>()?,
            (true, []) => DEFAULT_METHODS
                .iter()
                .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
                .collect(),
            (true, route) => route.to_vec(),
        };
        let names: Vec<String> = methods.iter().map(|m| m.as_str().to_string()).collect();
        if cfg.max_age_secs > 86_400 {
            return Err("max_age_secs: at most 86400".into());
        }
        let headers: Vec<String> = cfg
            .allowed_headers
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        Ok(Arc::new(CorsPolicy {
            origins,
            methods_header: joined("allowed_methods", &names)?
                .ok_or("allowed_methods: at least one method")?,
            methods,
            headers_header: joined("allowed_headers", &headers)?,
            headers,
            expose: joined("expose_headers", &cfg.expose_headers)?,
            credentials: cfg.allow_credentials,
            max_age: HeaderValue::from(cfg.max_age_secs),
        }))
    }

    /// The `Access-Control-Allow-Origin` for `origin`, when it is allowed.
    fn allow(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        match &self.origins {
            None => Some(HeaderValue::from_static("*")),
            Some(list) => list
                .iter()
                .any(|o| o.as_bytes() == origin.as_bytes())
                .then(|| origin.clone()),
        }
    }

    /// Whether a preflight may go ahead: the method and every requested header (in every
    /// `Access-Control-Request-Headers` line) allowed.
    fn admits<'a>(
        &self,
        method: &[u8],
        mut requested: impl Iterator<Item = &'a HeaderValue>,
    ) -> bool {
        let method_ok = self.methods.iter().any(|m| m.as_str().as_bytes() == method);
        method_ok
            && requested.all(|v| {
                v.to_str().is_ok_and(|v| {
                    v.split(',').all(|h| {
                        let h = h.trim();
                        h.is_empty() || self.headers.iter().any(|a| a.eq_ignore_ascii_case(h))
                    })
                })
            })
    }
}

/// The request's `Origin`, when it has exactly one: an `Origin` header is a single origin
/// (RFC 6454 §7.2), so a request repeating it is treated as coming from no allowed origin.
fn origin(req: &HttpRequest) -> Option<&HeaderValue> {
    let mut all = req.headers().get_all(header::ORIGIN);
    match (all.next(), all.next()) {
        (Some(o), None) => Some(o),
        _ => None,
    }
}

/// The method a CORS preflight asks about, if `req` is one (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`): routing chooses its route by that method.
pub fn preflight_method(req: &HttpRequest) -> Option<Method> {
    if req.method() != Method::OPTIONS {
        return None;
    }
    let h = req.headers();
    h.get(header::ORIGIN)?;
    Method::from_bytes(h.get(header::ACCESS_CONTROL_REQUEST_METHOD)?.as_bytes()).ok()
}

impl CorsPolicy {
    /// The headers of the 204 answering an allowed preflight from `allow_origin` (see the
    /// module docs); the pipeline sends them as [`Denial::Preflight`].
    fn preflight(&self, allow_origin: HeaderValue) -> Vec<(HeaderName, HeaderValue)> {
        let mut h = vec![
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin),
            (
                header::ACCESS_CONTROL_ALLOW_METHODS,
                self.methods_header.clone(),
            ),
            (header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone()),
        ];
        if let Some(v) = &self.headers_header {
            h.push((header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone()));
        }
        if self.credentials {
            let yes = HeaderValue::from_static("true");
            h.push((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, yes));
        }
        if self.origins.is_some() {
            h.push((header::VARY, HeaderValue::from_static("Origin")));
        }
        h
    }
}

/// The CORS headers of an answer the proxy or the backend gives back (replacing the backend's).
const OWNED: [HeaderName; 4] = [
    header::ACCESS_CONTROL_ALLOW_ORIGIN,
    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    header::ACCESS_CONTROL_EXPOSE_HEADERS,
    header::ACCESS_CONTROL_MAX_AGE,
];

impl CorsPolicy {
    /// What the answer to an actual request from an origin allowed as `allow_origin` (or not
    /// allowed: `None`) gets on its way back.
    fn answer(&self, allow_origin: Option<HeaderValue>) -> CorsAnswer {
        let mut allow = Vec::new();
        if let Some(origin) = allow_origin {
            allow.push((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin));
            if self.credentials {
                let yes = HeaderValue::from_static("true");
                allow.push((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, yes));
            }
            if let Some(e) = &self.expose {
                allow.push((header::ACCESS_CONTROL_EXPOSE_HEADERS, e.clone()));
            }
        }
        CorsAnswer {
            allow,
            vary_origin: self.origins.is_some(),
        }
    }
}

/// Sets the CORS headers of an answer, replacing the backend's (the pipeline calls it with
/// what the step left in [`Outcome`](super::exchange::Outcome)).
pub fn apply(answer: CorsAnswer, h: &mut HeaderMap) {
    for name in OWNED {
        h.remove(name);
    }
    if answer.vary_origin {
        let varies = h.get_all(header::VARY).any(|v| {
            let v = v.to_str().unwrap_or_default();
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("origin") || p.trim() == "*")
        });
        if !varies {
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
    for (name, value) in answer.allow {
        h.insert(name, value);
    }
}

/// The CORS step of a route.
#[derive(Debug)]
pub struct Cors(Arc<CorsPolicy>);

impl Cors {
    /// `None` when the route has no CORS policy.
    pub fn compile(
        cfg: Option<&CorsConfig>,
        route_methods: &[Method],
    ) -> Result<Option<Self>, String> {
        cfg.map(|c| CorsPolicy::compile(c, route_methods).map(Cors))
            .transpose()
            .map_err(|e| format!("cors.{e}"))
    }
}

impl Check for Cors {
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
        let req = x.req();
        let allow_origin = origin(req).and_then(|o| self.0.allow(o));
        if let Some(asked) = preflight_method(req) {
            let requested = req
                .headers()
                .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS);
            return Err(match allow_origin {
                Some(allow_origin) if self.0.admits(asked.as_str().as_bytes(), requested) => {
                    let answer = self.0.preflight(allow_origin);
                    Blocked::by(Policy::Cors, Denial::Preflight(answer))
                }
                _ => Blocked::by(Policy::Cors, Denial::CorsRefused),
            });
        }
        x.out.cors = Some(self.0.answer(allow_origin));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(v: serde_json::Value) -> Result<Arc<CorsPolicy>, String> {
        CorsPolicy::compile(&serde_json::from_value(v).unwrap(), &[])
    }

    #[test]
    fn configuration_is_checked_and_answers_prepared() {
        let p =
            policy(serde_json::json!({"allowed_origins": ["https://spa.example.com"]})).unwrap();
        assert_eq!(p.methods_header, "GET, HEAD, POST, PUT, PATCH, DELETE");
        assert_eq!(
            p.headers_header.as_ref().unwrap(),
            "authorization, content-type"
        );
        let o = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(
            p.allow(&o("https://spa.example.com")),
            Some(o("https://spa.example.com"))
        );
        assert_eq!(p.allow(&o("https://spa.example.com.evil")), None);
        assert_eq!(p.allow(&o("https://SPA.example.com")), None);
        let ok = o("Content-Type, authorization");
        assert!(p.admits(b"PUT", [&ok].into_iter()));
        assert!(!p.admits(b"PUT", [&ok, &o("x-secret")].into_iter()));
        assert!(!p.admits(b"OPTIONS", [].into_iter()));
        assert!(!p.admits(b"get", [].into_iter()));
        let any = policy(serde_json::json!({"allowed_origins": ["*"]})).unwrap();
        assert_eq!(any.allow(&o("https://x.example")), Some(o("*")));
        for (bad, key) in [
            (
                serde_json::json!({"allowed_origins": ["*"], "allow_credentials": true}),
                "allowed_origins",
            ),
            (
                serde_json::json!({"allowed_origins": ["https://a.example/"]}),
                "allowed_origins[0]",
            ),
            (
                serde_json::json!({"allowed_origins": []}),
                "allowed_origins",
            ),
            (
                serde_json::json!({"allowed_origins": ["*"], "allowed_methods": ["get"]}),
                "allowed_methods[0]",
            ),
            (
                serde_json::json!({"allowed_origins": ["*"], "allowed_headers": ["a b"]}),
                "allowed_headers[0]",
            ),
            (
                serde_json::json!({"allowed_origins": ["*"], "max_age_secs": 100000}),
                "max_age_secs",
            ),
        ] {
            let err = policy(bad).unwrap_err();
            assert!(err.starts_with(key), "{err}");
        }
    }

    #[test]
    fn answers_replace_the_backends_cors_headers() {
        let p = policy(
            serde_json::json!({"allowed_origins": ["https://spa.example.com"],
            "expose_headers": ["x-request-id"], "allow_credentials": true}),
        )
        .unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        apply(p.answer(None), &mut h);
        assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert_eq!(h.get(header::VARY).unwrap(), "Origin");
        let origin = HeaderValue::from_static("https://spa.example.com");
        apply(p.answer(Some(origin)), &mut h);
        assert_eq!(
            h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
            "https://spa.example.com"
        );
        assert_eq!(
            h.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).unwrap(),
            "true"
        );
        assert_eq!(
            h.get(header::ACCESS_CONTROL_EXPOSE_HEADERS).unwrap(),
            "x-request-id"
        );
        assert_eq!(h.get_all(header::VARY).count(), 1);
    }
}
