//! The backend's side of signed claims, written apart from the proxy's signer (it shares no
//! code with `tessera_proxy::forward::signature`): the verification recipe of
//! `docs/proxy-policies.md` ("Signed claims") as a backend would run it — parse
//! `Signature-Input` (RFC 9421 §4.1), rebuild the signature base from the request as received
//! (§2.5), check the parameters and the time window, and verify the Ed25519 signature (§3.3.6)
//! with the key of the JWKS whose `kid` is the `keyid`. The covered set is pinned per route:
//! the proxy covers every claim header of a route on every call (empty where the caller has
//! none), so the backend requires exactly that list. [`signature_only`] is the lax verifier
//! that checks the signature over whatever the input lists, and nothing else.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::Value;

/// A request as the backend received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Lower-case names, values in order.
    pub headers: BTreeMap<String, Vec<String>>,
}

impl Received {
    /// From the echo backend's answer.
    pub fn from_echo(echo: &Value) -> Received {
        let headers = (echo["headers"].as_object().expect("headers").iter())
            .map(|(k, v)| {
                let values = v.as_array().expect("values").iter();
                (
                    k.clone(),
                    values
                        .map(|s| s.as_str().unwrap_or("").to_string())
                        .collect(),
                )
            })
            .collect();
        Received {
            method: echo["method"].as_str().expect("method").into(),
            path: echo["path"].as_str().expect("path").into(),
            query: echo["query"].as_str().unwrap_or("").into(),
            headers,
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        let values = self.headers.get(name)?;
        Some(
            values
                .iter()
                .map(|v| v.trim())
                .collect::<Vec<_>>()
                .join(", "),
        )
    }

    /// The value of component `id` (§2.2 derived components, §2.1 fields).
    fn component(&self, id: &str) -> Result<String, String> {
        match id {
            "@method" => Ok(self.method.clone()),
            "@authority" => self
                .header("host")
                .map(|h| h.to_ascii_lowercase())
                .ok_or_else(|| "no Host".into()),
            "@path" => Ok(if self.path.is_empty() {
                "/".into()
            } else {
                self.path.clone()
            }),
            "@query" => Ok(format!("?{}", self.query)),
            h if !h.starts_with('@') => self.header(h).ok_or_else(|| format!("{h} is absent")),
            other => Err(format!("unsupported component {other}")),
        }
    }
}

/// The member `label=` of a structured dictionary header, split at top-level commas.
fn member<'a>(header: &'a str, label: &str) -> Option<&'a str> {
    let (mut depth, mut quoted, mut start) = (0, false, 0);
    let mut members = Vec::new();
    for (i, c) in header.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                members.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    members.push(&header[start..]);
    members
        .into_iter()
        .find_map(|m| m.trim().strip_prefix(label)?.strip_prefix('='))
}

/// The components every signature of the proxy covers first, in this order.
pub const TARGET: [&str; 4] = ["@method", "@authority", "@path", "@query"];

/// Verifies the `tessera` signature of `req` at time `now` (Unix seconds), accepting a
/// `created` at most `window` seconds old, with the keys of `jwks`, and requiring the covered
/// list to be exactly [`TARGET`] then `pinned` (the route's claim headers, in order).
pub fn verify(
    req: &Received,
    jwks: &Value,
    now: u64,
    window: u64,
    pinned: &[&str],
) -> Result<(), String> {
    check(req, jwks, now, window, Some(pinned))
}

/// Verifies only the signature and its time window, over whatever components it lists: a
/// backend that neither pins the covered set nor looks at uncovered headers.
pub fn signature_only(req: &Received, jwks: &Value, now: u64, window: u64) -> Result<(), String> {
    check(req, jwks, now, window, None)
}

fn check(
    req: &Received,
    jwks: &Value,
    now: u64,
    window: u64,
    pinned: Option<&[&str]>,
) -> Result<(), String> {
    let input = req.header("signature-input").ok_or("no Signature-Input")?;
    let signature = req.header("signature").ok_or("no Signature")?;
    let params = member(&input, "tessera").ok_or("no tessera signature input")?;
    let sig = member(&signature, "tessera").ok_or("no tessera signature")?;
    let (list, rest) = params
        .strip_prefix('(')
        .and_then(|p| p.split_once(')'))
        .ok_or("malformed inner list")?;
    let ids: Vec<&str> = list
        .split_whitespace()
        .map(|i| i.trim_matches('"'))
        .collect();
    let mut p: BTreeMap<&str, &str> = BTreeMap::new();
    for kv in rest.split(';').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').ok_or("malformed parameter")?;
        p.insert(k, v.trim_matches('"'));
    }
    if p.get("alg") != Some(&"ed25519") || p.get("tag") != Some(&"tessera") {
        return Err("not a Tessera ed25519 signature".into());
    }
    if let Some(pinned) = pinned {
        // What must be covered: the target and the route's claim headers, exactly; and no
        // X-Tessera-* header the backend may read can be outside them.
        let tessera = req.headers.keys().filter(|h| h.starts_with("x-tessera-"));
        if let Some(missing) = (TARGET.iter().chain(pinned).copied())
            .chain(tessera.map(String::as_str))
            .find(|r| !ids.contains(r))
        {
            return Err(format!("{missing} is not covered"));
        }
        if !ids.iter().copied().eq(TARGET.iter().chain(pinned).copied()) {
            return Err("the covered set is not the route's".into());
        }
    }
    let number = |k: &str| -> Result<u64, String> {
        p.get(k)
            .and_then(|v| v.parse().ok())
            .ok_or(format!("no {k}"))
    };
    let (created, expires) = (number("created")?, number("expires")?);
    if created > now + 5 || now.saturating_sub(created) > window || expires < now {
        return Err("outside the time window".into());
    }
    let mut base = String::new();
    for id in &ids {
        base.push_str(&format!("\"{id}\": {}\n", req.component(id)?));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    let key = public_key(jwks, p.get("keyid").copied().unwrap_or(""))?;
    let bytes = sig
        .strip_prefix(':')
        .and_then(|s| s.strip_suffix(':'))
        .and_then(|s| STANDARD.decode(s).ok())
        .ok_or("malformed signature")?;
    let sig = Signature::from_slice(&bytes).map_err(|_| "malformed signature")?;
    key.verify(base.as_bytes(), &sig)
        .map_err(|_| "the signature does not verify".into())
}

/// The OKP / Ed25519 key `kid` of `jwks` (RFC 8037 §2).
fn public_key(jwks: &Value, kid: &str) -> Result<VerifyingKey, String> {
    let jwk = (jwks["keys"].as_array().ok_or("no keys")?.iter())
        .find(|k| k["kid"] == kid && k["kty"] == "OKP" && k["crv"] == "Ed25519")
        .ok_or("unknown keyid")?;
    let x = URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().unwrap_or(""))
        .map_err(|_| "bad x")?;
    let x: [u8; 32] = x.try_into().map_err(|_| "bad x")?;
    VerifyingKey::from_bytes(&x).map_err(|_| "bad key".into())
}
