//! Signing keys: the current RSA-2048 key, the previous ones (still published, so tokens signed
//! before a rotation keep verifying), the JWKS (RFC 7517) built from them, and a lazily made
//! "rogue" key that is never published, for the signature faults of [`super::Behaviour`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use crate::DevIdpError;

/// How many keys the JWKS publishes after rotations: the current one and up to three before it.
const PUBLISHED_KEYS: usize = 4;

/// An RSA key pair with its `kid`. `Debug` prints only the `kid`.
pub(crate) struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// The public key as a JWK (RFC 7518 §6.3.1: `n` and `e` base64url without padding).
    pub jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl SigningKey {
    /// A fresh RSA-2048 key from the operating system's CSPRNG, named `kid`.
    pub fn generate(kid: String) -> Result<Self, DevIdpError> {
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
            .map_err(|e| DevIdpError::KeyGeneration(e.to_string()))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| DevIdpError::KeyGeneration(e.to_string()))?;
        let (n, e) = (private.n().to_bytes_be(), private.e().to_bytes_be());
        Ok(SigningKey {
            jwk: json!({
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": kid,
                "n": URL_SAFE_NO_PAD.encode(&n),
                "e": URL_SAFE_NO_PAD.encode(&e),
            }),
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            decoding: DecodingKey::from_rsa_raw_components(&n, &e),
            kid,
        })
    }
}

fn new_kid() -> String {
    tessera_shared::crypto::random_string::<12>()
}

/// The published keys, newest first. Locks are std (never held across an await).
#[derive(Debug)]
pub(crate) struct KeyRing {
    published: RwLock<VecDeque<Arc<SigningKey>>>,
    /// Made on first use: generating RSA keys is slow and most providers never misbehave.
    rogue: Mutex<Option<Arc<SigningKey>>>,
}

impl KeyRing {
    pub fn new() -> Result<Self, DevIdpError> {
        let first = Arc::new(SigningKey::generate(new_kid())?);
        Ok(KeyRing {
            published: RwLock::new(VecDeque::from([first])),
            rogue: Mutex::new(None),
        })
    }

    /// The key new tokens are signed with.
    pub fn current(&self) -> Result<Arc<SigningKey>, DevIdpError> {
        let keys = self.published.read().unwrap_or_else(|p| p.into_inner());
        keys.front()
            .cloned()
            .ok_or_else(|| DevIdpError::Signing("no signing key".into()))
    }

    /// A new current key with a new `kid`; the previous keys stay published.
    pub fn rotate(&self) -> Result<(), DevIdpError> {
        let fresh = Arc::new(SigningKey::generate(new_kid())?);
        let mut keys = self.published.write().unwrap_or_else(|p| p.into_inner());
        keys.push_front(fresh);
        keys.truncate(PUBLISHED_KEYS);
        Ok(())
    }

    /// The published key named `kid`, to verify this provider's own tokens.
    pub fn published(&self, kid: &str) -> Option<Arc<SigningKey>> {
        let keys = self.published.read().unwrap_or_else(|p| p.into_inner());
        keys.iter().find(|k| k.kid == kid).cloned()
    }

    /// The JWKS document: `{"keys": [current, previous…]}`.
    pub fn jwks(&self) -> Value {
        let keys = self.published.read().unwrap_or_else(|p| p.into_inner());
        json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// A key that is never published, with a `kid` that is never published either.
    pub fn rogue(&self) -> Result<Arc<SigningKey>, DevIdpError> {
        let mut rogue = self.rogue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = rogue.as_ref() {
            return Ok(k.clone());
        }
        let key = Arc::new(SigningKey::generate(format!("unpublished-{}", new_kid()))?);
        *rogue = Some(key.clone());
        Ok(key)
    }
}
