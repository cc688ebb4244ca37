//! Signed claims to backends: RFC 9421 HTTP Message Signatures over what the proxy forwards,
//! so a backend can reject a call that did not come through Tessera.
//!
//! A route with `forward.sign = true` gets two headers on the request it sends (§4.1, §4.2),
//! under the label `tessera`:
//!
//! ```text
//! Signature-Input: tessera=("@method" "@authority" "@path" "@query" "x-tessera-client-id" …);created=…;expires=…;keyid="…";alg="ed25519";tag="tessera"
//! Signature: tessera=:<base64 of the 64-byte Ed25519 signature>:
//! ```
//!
//! * Components: `@method` (§2.2.1), `@authority` (§2.2.3), `@path` (§2.2.6) and `@query`
//!   (§2.2.7, `?` when there is none) rather than `@target-uri` (§2.2.2): a backend behind a
//!   TLS terminator does not see the scheme the proxy used, but it sees the same `Host`, path
//!   and query. Then every claim header the route may send, always, in a fixed order
//!   ([`CLAIM_HEADERS`], then the route's `forward.claims` headers, then its id_token header):
//!   one the caller has no value for is sent empty and covered as `"name": ` (§2.1), so the
//!   covered set is the same on every call of a route and a backend can pin it.
//! * The body is not covered: a body above 64 KiB streams to the backend unbuffered, so no
//!   `Content-Digest` (RFC 9530) can be sent ahead of it.
//! * Parameters (§2.3): `created`, `expires` (`created + signing.expires_secs`), `keyid`,
//!   `alg="ed25519"` (§3.3.6) and `tag="tessera"`.
//! * The signature base is built as §2.5 says: one `"name": value` line per component, then
//!   `"@signature-params"` last, without a trailing newline.
//!
//! Inbound `Signature` / `Signature-Input` headers of a signing route are dropped ([`super::hygiene`]),
//! so a client cannot pass its own signature through. The public keys are published as a JWKS
//! (OKP / Ed25519 JWKs, RFC 8037 §2) on the status listener, [`Signer::jwks`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Uri;
use serde::Deserialize;

/// The label of the proxy's signature in both headers (§4.1).
pub const LABEL: &str = "tessera";
/// Where the key set is served by default, on the status listener.
pub const DEFAULT_JWKS_PATH: &str = "/.well-known/tessera-signing-keys";

/// The `X-Tessera-*` headers, in the order they are covered.
pub const CLAIM_HEADERS: [&str; 6] = [
    "x-tessera-client-id",
    "x-tessera-app",
    "x-tessera-app-id",
    "x-tessera-developer-id",
    "x-tessera-sub",
    "x-tessera-scope",
];

/// `[signing]`: the key the proxy signs with and the keys it publishes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningConfig {
    /// The Ed25519 private key, PKCS#8 PEM (`openssl genpkey -algorithm ed25519`).
    pub key_file: PathBuf,
    /// Its `keyid` in signatures and `kid` in the key set.
    pub key_id: String,
    /// How long a signature is valid: `expires = created + expires_secs`.
    #[serde(default = "default_expires")]
    pub expires_secs: u64,
    /// Where the status listener serves the key set.
    #[serde(default = "default_jwks_path")]
    pub jwks_path: String,
    /// More public keys to publish (key id → SPKI PEM file): the next key before a rotation,
    /// the previous one after it.
    #[serde(default)]
    pub published_keys: BTreeMap<String, PathBuf>,
}

fn default_expires() -> u64 {
    60
}

fn default_jwks_path() -> String {
    DEFAULT_JWKS_PATH.into()
}

impl SigningConfig {
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.key_id.is_empty()
            || !self
                .key_id
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            return Err((
                "signing.key_id",
                "must be printable ASCII without quotes".into(),
            ));
        }
        if !(1..=3600).contains(&self.expires_secs) {
            return Err(("signing.expires_secs", "must be within 1..=3600".into()));
        }
        if !self.jwks_path.starts_with('/')
            || matches!(self.jwks_path.as_str(), "/healthz" | "/readyz" | "/metrics")
        {
            return Err((
                "signing.jwks_path",
                "must be a path other than the status pages".into(),
            ));
        }
        Ok(())
    }
}

/// The proxy's signing key and the key set it publishes.
pub struct Signer {
    key: SigningKey,
    key_id: String,
    expires_secs: u64,
    jwks: serde_json::Value,
}

impl std::fmt::Debug for Signer {
    // Never the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish()
    }
}

fn read(key: &str, path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("{key}: cannot read '{}': {e}", path.display()))
}

/// An OKP / Ed25519 JWK (RFC 8037 §2).
fn jwk(kid: &str, key: &VerifyingKey) -> serde_json::Value {
    serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(key.as_bytes()),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    })
}

impl Signer {
    /// Reads the keys; an error names the key and its file (never the key's bytes).
    pub fn load(cfg: &SigningConfig) -> Result<Signer, String> {
        let pem = read("signing.key_file", &cfg.key_file)?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|_| {
            format!(
                "signing.key_file: '{}' (key '{}') is not a PKCS#8 PEM Ed25519 private key",
                cfg.key_file.display(),
                cfg.key_id
            )
        })?;
        let mut keys = vec![jwk(&cfg.key_id, &key.verifying_key())];
        for (kid, path) in &cfg.published_keys {
            let at = format!("signing.published_keys.{kid}");
            if kid == &cfg.key_id {
                return Err(format!("{at}: is the signing key's id"));
            }
            let public = VerifyingKey::from_public_key_pem(&read(&at, path)?).map_err(|_| {
                format!(
                    "{at}: '{}' is not an SPKI PEM Ed25519 public key",
                    path.display()
                )
            })?;
            keys.push(jwk(kid, &public));
        }
        Ok(Signer {
            key,
            key_id: cfg.key_id.clone(),
            expires_secs: cfg.expires_secs,
            jwks: serde_json::json!({ "keys": keys }),
        })
    }

    /// The published key set (RFC 7517 §5).
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }
}

/// A signing route: the signer and the claim headers it sends and covers on every call.
#[derive(Debug, Clone)]
pub struct RouteSigning {
    pub signer: Arc<Signer>,
    pub headers: Vec<HeaderName>,
}

impl RouteSigning {
    /// Covers [`CLAIM_HEADERS`], then `extra` (the route's claim and id_token headers), each
    /// once: a component may not be listed twice (RFC 9421 §2.5).
    pub fn new(signer: Arc<Signer>, extra: &[&str]) -> Result<Self, String> {
        let mut headers: Vec<HeaderName> = Vec::with_capacity(CLAIM_HEADERS.len() + extra.len());
        for h in CLAIM_HEADERS.iter().chain(extra) {
            let name = HeaderName::from_bytes(h.as_bytes())
                .map_err(|_| format!("'{h}' is not a header name"))?;
            if !headers.contains(&name) {
                headers.push(name);
            }
        }
        Ok(RouteSigning { signer, headers })
    }

    /// Adds `Signature-Input` and `Signature` to `headers`, the request of `method` to `uri`
    /// (absolute).
    /// Every header of the route's set is sent and covered, with an empty value where the
    /// caller has no such claim: the covered set is then the same on every call of the route,
    /// so a backend can pin it, and a header added on the way (an `X-Tessera-Sub` on a
    /// client_credentials call) changes a covered value instead of passing uncovered.
    pub fn sign(&self, method: &str, uri: &Uri, headers: &mut HeaderMap) {
        for name in &self.headers {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), HeaderValue::from_static(""));
            }
        }
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let (base, params) = self.base(method, uri, headers, created);
        let signature = self.signer.key.sign(&base);
        let input = format!("{LABEL}={params}");
        let value = format!("{LABEL}=:{}:", STANDARD.encode(signature.to_bytes()));
        if let (Ok(input), Ok(value)) =
            (HeaderValue::from_str(&input), HeaderValue::from_str(&value))
        {
            headers.insert(SIGNATURE_INPUT, input);
            headers.insert(SIGNATURE, value);
        }
    }

    /// The signature base (§2.5) and the serialised signature parameters (§2.3).
    fn base(
        &self,
        method: &str,
        uri: &Uri,
        headers: &HeaderMap,
        created: u64,
    ) -> (Vec<u8>, String) {
        // Host, and port unless the scheme's default ([`super::target::Endpoint`]).
        let authority = uri.authority().map_or("", |a| a.as_str());
        let path = match uri.path() {
            "" => "/",
            p => p,
        };
        let query = format!("?{}", uri.query().unwrap_or(""));
        let mut base = Vec::with_capacity(512);
        let mut ids = String::with_capacity(256);
        let mut line = |id: &str, value: &[u8]| {
            if !ids.is_empty() {
                ids.push(' ');
            }
            ids.push_str(&format!("\"{id}\""));
            base.extend_from_slice(format!("\"{id}\": ").as_bytes());
            base.extend_from_slice(value);
            base.push(b'\n');
        };
        line("@method", method.as_bytes());
        line("@authority", authority.to_ascii_lowercase().as_bytes());
        line("@path", path.as_bytes());
        line("@query", query.as_bytes());
        for name in &self.headers {
            // §2.1: each value trimmed, several joined by ", "; an empty value gives the line
            // `"name": ` (nothing after the colon and space). [`Self::sign`] sends each one.
            let values: Vec<&[u8]> = headers
                .get_all(name)
                .iter()
                .map(|v| v.as_bytes().trim_ascii())
                .collect();
            line(name.as_str(), &values.join(&b", "[..]));
        }
        let s = &self.signer;
        let params = format!(
            "({ids});created={created};expires={};keyid=\"{}\";alg=\"ed25519\";tag=\"{LABEL}\"",
            created + s.expires_secs,
            s.key_id
        );
        base.extend_from_slice(format!("\"@signature-params\": {params}").as_bytes());
        (base, params)
    }
}

const SIGNATURE: HeaderName = HeaderName::from_static("signature");
const SIGNATURE_INPUT: HeaderName = HeaderName::from_static("signature-input");

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
    use ed25519_dalek::Verifier;

    fn config(dir: &Path, pem: &str) -> SigningConfig {
        let file = dir.join("key.pem");
        std::fs::write(&file, pem).unwrap();
        SigningConfig {
            key_file: file,
            key_id: "k1".into(),
            expires_secs: 60,
            jwks_path: DEFAULT_JWKS_PATH.into(),
            published_keys: BTreeMap::new(),
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tessera-sign-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_base_is_laid_out_as_rfc_9421_says_and_the_signature_verifies() {
        let dir = temp_dir("base");
        let key = SigningKey::from_bytes(&[7; 32]);
        let pem = key.to_pkcs8_pem(Default::default()).unwrap();
        let signer = Arc::new(Signer::load(&config(&dir, &pem)).unwrap());
        let route = RouteSigning::new(signer, &["X-Tier", "x-tessera-scope"]).unwrap();
        assert_eq!(route.headers.len(), CLAIM_HEADERS.len() + 1, "each once");
        let mut headers = HeaderMap::new();
        headers.insert("x-tessera-scope", HeaderValue::from_static(" read write "));
        headers.insert("x-tessera-client-id", HeaderValue::from_static("c1"));
        headers.append("x-tier", HeaderValue::from_static("gold"));
        headers.append("x-tier", HeaderValue::from_static("vip"));
        let url: Uri = "http://Backend.internal:8080/v1/orders?id=1"
            .parse()
            .unwrap();
        let (base, params) = route.base("GET", &url, &headers, 1_700_000_000);
        // Absent claims are covered with an empty value (§2.1: `"name": `, nothing after).
        let expected = "\"@method\": GET\n\"@authority\": backend.internal:8080\n\"@path\": /v1/orders\n\
\"@query\": ?id=1\n\"x-tessera-client-id\": c1\n\"x-tessera-app\": \n\"x-tessera-app-id\": \n\
\"x-tessera-developer-id\": \n\"x-tessera-sub\": \n\"x-tessera-scope\": read write\n\"x-tier\": gold, vip\n\
\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"@query\" \"x-tessera-client-id\" \
\"x-tessera-app\" \"x-tessera-app-id\" \"x-tessera-developer-id\" \"x-tessera-sub\" \"x-tessera-scope\" \
\"x-tier\");created=1700000000;expires=1700000060;keyid=\"k1\";alg=\"ed25519\";tag=\"tessera\"";
        assert_eq!(String::from_utf8(base).unwrap(), expected);
        assert!(expected.ends_with(&params));

        route.sign("GET", &url, &mut headers);
        assert_eq!(
            headers["x-tessera-sub"], "",
            "an absent claim is sent empty"
        );
        let input = headers["signature-input"].to_str().unwrap();
        let params = input.strip_prefix("tessera=").unwrap();
        let created: u64 = params
            .split(";created=")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let (base, _) = route.base("GET", &url, &headers, created);
        let sig = headers["signature"].to_str().unwrap();
        let sig = STANDARD
            .decode(
                sig.strip_prefix("tessera=:")
                    .unwrap()
                    .strip_suffix(':')
                    .unwrap(),
            )
            .unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
        key.verifying_key().verify(&base, &sig).unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bad_or_missing_keys_are_refused_by_name() {
        let dir = temp_dir("bad");
        let err = Signer::load(&config(&dir, "not a key")).unwrap_err();
        assert!(
            err.contains("signing.key_file") && err.contains("key 'k1'"),
            "{err}"
        );
        assert!(err.contains("key.pem"), "{err}");
        let mut cfg = config(&dir, "x");
        cfg.key_file = dir.join("absent.pem");
        assert!(Signer::load(&cfg)
            .unwrap_err()
            .starts_with("signing.key_file: cannot read"));

        // A second key is published beside the signing one.
        let key = SigningKey::from_bytes(&[1; 32]);
        let next = SigningKey::from_bytes(&[2; 32]).verifying_key();
        let mut cfg = config(&dir, &key.to_pkcs8_pem(Default::default()).unwrap());
        let public = dir.join("next.pub.pem");
        std::fs::write(&public, next.to_public_key_pem(Default::default()).unwrap()).unwrap();
        cfg.published_keys.insert("k2".into(), public);
        let signer = Signer::load(&cfg).unwrap();
        let keys = signer.jwks()["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1]["kid"], "k2");
        assert_eq!(keys[1]["x"], URL_SAFE_NO_PAD.encode(next.as_bytes()));
        assert!(!format!("{signer:?}").contains("key:"), "no key in Debug");
        let _ = std::fs::remove_dir_all(dir);
    }
}
