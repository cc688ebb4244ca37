//! One JWKS entry as a verification key: which entries are signature keys we can use, and
//! which algorithms each one may verify.
//!
//! Kept: RSA keys, and EC keys on P-256 or P-384 — what jsonwebtoken verifies with the
//! algorithms of [`tessera_shared::jwt::algorithm`]. Skipped: symmetric (`oct`) keys (RFC 8725
//! §2.1: a public document cannot hold an HMAC secret), keys without a `kid` (tokens name their
//! key), and keys whose `use` (RFC 7517 §4.2), `key_ops` (§4.3) or `alg` (§4.4) say they are for
//! something else.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    EcP256,
    EcP384,
}

/// A public key usable for signature verification.
pub(crate) struct Key {
    pub kid: String,
    kind: KeyKind,
    /// The JWK's own `alg` (RFC 7517 §4.4), when it names one.
    alg: Option<Algorithm>,
    pub decoding: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("kind", &self.kind)
            .field("alg", &self.alg)
            .finish()
    }
}

impl Key {
    /// Whether a signature made with `alg` can be checked with this key: the key type (and
    /// curve) fits the algorithm, and the JWK's `alg`, if any, is that algorithm (RFC 8725
    /// §3.1: the key determines the algorithm, not the token alone).
    pub fn verifies(&self, alg: Algorithm) -> bool {
        use Algorithm::*;
        let fits = match self.kind {
            KeyKind::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyKind::EcP256 => alg == ES256,
            KeyKind::EcP384 => alg == ES384,
        };
        fits && self.alg.is_none_or(|a| a == alg)
    }

    /// The key of one JWKS entry, or `None` when it is not a signature key for us.
    pub fn parse(entry: &serde_json::Value) -> Option<Key> {
        let jwk = Jwk::deserialize(entry).ok()?;
        let kid = jwk.common.key_id.clone()?;
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|u| *u != PublicKeyUse::Signature)
        {
            return None;
        }
        if jwk
            .common
            .key_operations
            .as_ref()
            .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
        {
            return None;
        }
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(a) => Some(tessera_shared::jwt::algorithm(&a.to_string())?),
        };
        let kind = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyKind::Rsa,
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => KeyKind::EcP256,
                EllipticCurve::P384 => KeyKind::EcP384,
                _ => return None,
            },
            AlgorithmParameters::OctetKey(_) | AlgorithmParameters::OctetKeyPair(_) => return None,
        };
        let decoding = DecodingKey::from_jwk(&jwk).ok()?;
        Some(Key {
            kid,
            kind,
            alg,
            decoding,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use Algorithm::*;

    fn rsa(extra: Value) -> Value {
        let mut k = json!({"kty": "RSA", "kid": "r1", "n": "sXchDaQebSXKcvLG", "e": "AQAB"});
        k.as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap());
        k
    }

    fn ec(crv: &str) -> Value {
        json!({"kty": "EC", "kid": "e1", "crv": crv, "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})
    }

    #[test]
    fn rsa_keys_verify_rs_and_ps_only() {
        let k = Key::parse(&rsa(json!({}))).unwrap();
        assert_eq!(k.kid, "r1");
        for alg in [RS256, RS384, RS512, PS256, PS384, PS512] {
            assert!(k.verifies(alg), "{alg:?}");
        }
        for alg in [ES256, ES384, HS256, EdDSA] {
            assert!(!k.verifies(alg), "{alg:?}");
        }
    }

    #[test]
    fn the_jwk_alg_pins_the_algorithm() {
        let k = Key::parse(&rsa(json!({"alg": "RS256", "use": "sig"}))).unwrap();
        assert!(k.verifies(RS256));
        assert!(!k.verifies(PS256) && !k.verifies(RS512));
    }

    #[test]
    fn ec_keys_verify_their_curve_only() {
        let p256 = Key::parse(&ec("P-256")).unwrap();
        assert!(p256.verifies(ES256) && !p256.verifies(ES384) && !p256.verifies(RS256));
        let p384 = Key::parse(&ec("P-384")).unwrap();
        assert!(p384.verifies(ES384) && !p384.verifies(ES256));
        assert!(Key::parse(&ec("P-521")).is_none());
    }

    #[test]
    fn keys_for_something_else_are_skipped() {
        let skipped = [
            json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"}),
            json!({"kty": "OKP", "kid": "o", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}),
            rsa(json!({"use": "enc"})),
            rsa(json!({"key_ops": ["encrypt"]})),
            rsa(json!({"alg": "RSA-OAEP"})),
            rsa(json!({"alg": "HS256"})),
            json!({"kty": "RSA", "n": "sXch", "e": "AQAB"}),
            json!({"kty": "RSA", "kid": "bad", "n": "***", "e": "AQAB"}),
            json!({"kid": "nokty"}),
            json!("not an object"),
        ];
        for entry in skipped {
            assert!(Key::parse(&entry).is_none(), "{entry}");
        }
        assert!(Key::parse(&rsa(json!({"key_ops": ["verify"]}))).is_some());
    }

    #[test]
    fn debug_shows_no_key_material() {
        let k = Key::parse(&rsa(json!({}))).unwrap();
        let dbg = format!("{k:?}");
        assert!(dbg.contains("r1") && !dbg.contains("sXch"), "{dbg}");
    }
}
