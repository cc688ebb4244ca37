//! The public key of a DPoP proof (RFC 9449 §4.2 `jwk`): read from the proof's header, refused
//! when it carries private members, checked against the proof's `alg`, and named by its
//! RFC 7638 thumbprint (`jkt`, the value tokens are bound to).
//!
//! The thumbprint is computed here rather than by `jsonwebtoken::Jwk::thumbprint`, which panics
//! on some curve and key-type combinations a hostile proof can send.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The proof algorithms accepted (RFC 9449 §4.3 step 5: asymmetric only, never `none` or a MAC).
pub const ALGS: &[&str] = &["ES256", "ES384", "RS256", "PS256", "EdDSA"];

/// Members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
/// RFC 8037 §2): a proof holding one is refused (RFC 9449 §4.3 step 6).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A checked public key: what verifies the proof, and its thumbprint.
pub struct PublicKey {
    pub alg: Algorithm,
    pub key: DecodingKey,
    /// RFC 7638 SHA-256 thumbprint, base64url (RFC 9449 §6.1 `jkt`).
    pub jkt: String,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("alg", &self.alg)
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}

/// The key of `jwk` for `alg`, or why not (a fixed text: never the input).
pub fn public_key(alg: &str, jwk: &Value) -> Result<PublicKey, &'static str> {
    let jwk = jwk
        .as_object()
        .ok_or("the jwk header must be a JSON object")?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err("the jwk header must hold a public key only");
    }
    let member = |name: &str| -> Result<&str, &'static str> {
        jwk.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= 1024)
            .ok_or("the jwk lacks a member its key type requires")
    };
    let kty = member("kty")?;
    let (alg, members, key): (Algorithm, &[&str], _) = match (alg, kty) {
        ("ES256", "EC") | ("ES384", "EC") => {
            let want = if alg == "ES256" { "P-256" } else { "P-384" };
            if member("crv")? != want {
                return Err("the jwk curve does not match the proof's alg");
            }
            let a = if alg == "ES256" {
                Algorithm::ES256
            } else {
                Algorithm::ES384
            };
            let key = DecodingKey::from_ec_components(member("x")?, member("y")?);
            (a, &["crv", "kty", "x", "y"], key)
        }
        ("RS256", "RSA") | ("PS256", "RSA") => {
            let a = if alg == "RS256" {
                Algorithm::RS256
            } else {
                Algorithm::PS256
            };
            let key = DecodingKey::from_rsa_components(member("n")?, member("e")?);
            (a, &["e", "kty", "n"], key)
        }
        ("EdDSA", "OKP") => {
            if member("crv")? != "Ed25519" {
                return Err("the jwk curve does not match the proof's alg");
            }
            let key = DecodingKey::from_ed_components(member("x")?);
            (Algorithm::EdDSA, &["crv", "kty", "x"], key)
        }
        _ => return Err("the jwk key type does not match the proof's alg"),
    };
    let key = key.map_err(|_| "the jwk is not a valid public key")?;
    Ok(PublicKey {
        alg,
        key,
        jkt: thumbprint(jwk, members)?,
    })
}

/// RFC 7638 §3: SHA-256 over the required members, in lexicographic order, without spaces.
fn thumbprint(jwk: &Map<String, Value>, members: &[&str]) -> Result<String, &'static str> {
    let mut canonical = Map::new();
    for m in members {
        let v = jwk
            .get(*m)
            .ok_or("the jwk lacks a member its key type requires")?;
        canonical.insert((*m).to_string(), v.clone());
    }
    // serde_json's map is ordered by key (no `preserve_order`), as RFC 7638 requires.
    let json = serde_json::to_string(&canonical).map_err(|_| "the jwk cannot be read")?;
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(json.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rfc_7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let key = public_key("RS256", &jwk).unwrap();
        assert_eq!(key.jkt, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn private_keys_mismatched_algs_and_symmetric_keys_are_refused() {
        let ec = json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"});
        let mut private = ec.clone();
        private["d"] = json!("secret");
        assert!(public_key("ES256", &private).is_err());
        assert!(public_key("RS256", &ec).is_err());
        assert!(public_key("ES384", &ec).is_err());
        assert!(public_key("HS256", &json!({"kty": "oct", "k": "AAAA"})).is_err());
        assert!(public_key("EdDSA", &json!({"kty": "OKP", "crv": "P-256", "x": "AA"})).is_err());
        assert!(public_key("ES256", &json!("not an object")).is_err());
    }
}
