//! The broker's id_token signing keys: the current one (signs) and the previous ones (only
//! published), read from PEM files or — for development — generated in memory.
//!
//! Each key is named by its RFC 7638 JWK thumbprint, so every broker instance that loads the
//! same file publishes and uses the same `kid`, and a rotated key gets a new one by itself.
//! Accepted: RSA of at least 2048 bits (RS256; PKCS#8 or PKCS#1 PEM) and EC P-256 (ES256;
//! PKCS#8 or SEC1 PEM); previous keys may also be public keys (SPKI or PKCS#1 PEM). Key
//! material never reaches a log or an error text; `Debug` prints only the `kid`.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Why a key could not be used. The message names the file, never its content.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// A public key as published, with what verifies it.
pub struct PublicKey {
    pub kid: String,
    pub alg: Algorithm,
    pub jwk: Value,
    pub decoding: DecodingKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey").field("kid", &self.kid).finish()
    }
}

/// The current signing key: its public half and the private key.
pub struct SigningKey {
    pub public: PublicKey,
    pub encoding: EncodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.kid)
            .finish()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638 §3: SHA-256 of the required members in lexicographic order, no whitespace.
fn thumbprint(canonical: &str) -> String {
    b64(&Sha256::digest(canonical.as_bytes()))
}

fn rsa_public(key: &rsa::RsaPublicKey) -> Result<PublicKey, KeyError> {
    if key.size() * 8 < 2048 {
        return Err(KeyError("RSA keys must have at least 2048 bits".into()));
    }
    let (n, e) = (key.n().to_bytes_be(), key.e().to_bytes_be());
    let (n64, e64) = (b64(&n), b64(&e));
    let kid = thumbprint(&format!(r#"{{"e":"{e64}","kty":"RSA","n":"{n64}"}}"#));
    Ok(PublicKey {
        jwk: json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n64, "e": e64}),
        alg: Algorithm::RS256,
        decoding: DecodingKey::from_rsa_raw_components(&n, &e),
        kid,
    })
}

fn ec_public(key: &p256::PublicKey) -> Result<PublicKey, KeyError> {
    let point = key.to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(KeyError(
            "the EC public key is the point at infinity".into(),
        ));
    };
    let (x64, y64) = (b64(x), b64(y));
    let kid = thumbprint(&format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{x64}","y":"{y64}"}}"#
    ));
    let decoding = DecodingKey::from_ec_components(&x64, &y64)
        .map_err(|_| KeyError("unusable EC public key".into()))?;
    Ok(PublicKey {
        jwk: json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                    "x": x64, "y": y64}),
        alg: Algorithm::ES256,
        decoding,
        kid,
    })
}

impl SigningKey {
    /// A fresh P-256 key from the operating system's CSPRNG (`id_token.generate_key`).
    pub fn generate() -> Result<Self, KeyError> {
        Self::from_ec(p256::SecretKey::random(&mut rand::rngs::OsRng))
    }

    fn from_ec(secret: p256::SecretKey) -> Result<Self, KeyError> {
        let der = secret
            .to_pkcs8_der()
            .map_err(|_| KeyError("cannot encode the EC key".into()))?;
        Ok(SigningKey {
            public: ec_public(&secret.public_key())?,
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
        })
    }

    fn from_rsa(private: rsa::RsaPrivateKey) -> Result<Self, KeyError> {
        let public = rsa_public(&private.to_public_key())?;
        let der = private
            .to_pkcs1_der()
            .map_err(|_| KeyError("cannot encode the RSA key".into()))?;
        Ok(SigningKey {
            public,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        })
    }

    /// A private key from PEM text, of any accepted kind.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
            return Self::from_rsa(k);
        }
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs1_pem(pem) {
            return Self::from_rsa(k);
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_pem(pem) {
            return Self::from_ec(k);
        }
        if let Ok(k) = p256::SecretKey::from_sec1_pem(pem) {
            return Self::from_ec(k);
        }
        Err(KeyError(
            "not an RSA or P-256 private key in PEM (PKCS#8, PKCS#1 or SEC1)".into(),
        ))
    }
}

impl PublicKey {
    /// A public key from PEM text: a private key (its public half) or a public key.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        if let Ok(k) = SigningKey::from_pem(pem) {
            return Ok(k.public);
        }
        if let Ok(k) = rsa::RsaPublicKey::from_public_key_pem(pem) {
            return rsa_public(&k);
        }
        if let Ok(k) = rsa::RsaPublicKey::from_pkcs1_pem(pem) {
            return rsa_public(&k);
        }
        if let Ok(k) = p256::PublicKey::from_public_key_pem(pem) {
            return ec_public(&k);
        }
        Err(KeyError(
            "not an RSA or P-256 key in PEM (private: PKCS#8, PKCS#1, SEC1; public: SPKI, PKCS#1)"
                .into(),
        ))
    }
}

/// Reads `path` and parses it with `parse`, naming the file (and only the file) on error.
pub fn load<T>(path: &Path, parse: fn(&str) -> Result<T, KeyError>) -> Result<T, KeyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| KeyError(format!("cannot read {}: {e}", path.display())))?;
    parse(&text).map_err(|e| KeyError(format!("{}: {}", path.display(), e.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_are_rfc7638_thumbprints() {
        // RFC 7638 §3.1's example key and thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let key = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(n).unwrap()),
            rsa::BigUint::from(65537u32),
        )
        .unwrap();
        assert_eq!(
            rsa_public(&key).unwrap().kid,
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn generated_keys_round_trip_through_pem() {
        let k = SigningKey::generate().unwrap();
        let pem = p256::SecretKey::random(&mut rand::rngs::OsRng)
            .to_pkcs8_pem(Default::default())
            .unwrap();
        let loaded = SigningKey::from_pem(&pem).unwrap();
        assert_ne!(loaded.public.kid, k.public.kid);
        assert_eq!(PublicKey::from_pem(&pem).unwrap().kid, loaded.public.kid);
        assert!(SigningKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )
        .is_err());
    }
}
