//! Sealing: authenticated encryption of values the store must keep but never looks up by value
//! — the upstream `id_token` of a login, which the proxy may forward to a backend
//! ([`Keys::seal`]), and the successor of a rotated refresh token during its grace period
//! (`tessera_broker::tokens::grace`, under a key only the presented token yields).
//!
//! # Design note
//! One AEAD for both: XChaCha20-Poly1305. Its 192-bit random nonces never repeat in practice,
//! however many values are sealed under one key, so no nonce counter has to be shared between
//! broker instances. Keys are derived with HKDF-SHA-256 (RFC 5869) under a label of their own,
//! so each is independent of every other key derived from the same secret (the HMAC keys of the
//! pepper included). A sealed value is `v1.` + base64url(nonce ‖ ciphertext ‖ tag), and the
//! caller's associated data binds it to its purpose: a value sealed for one purpose (or one
//! family and client) does not open for another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::{random_bytes, Keys};

const LABEL: &[u8] = b"tessera/v1/seal/upstream-id-token";
const VERSION: &str = "v1.";
const NONCE_LEN: usize = 24;

/// An XChaCha20-Poly1305 key. Never printed.
#[derive(Clone)]
pub struct SealKey(XChaCha20Poly1305);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// The key HKDF-SHA-256 derives from `secret` (with `salt`) for `label`.
    pub fn derive(secret: &[u8], salt: Option<&[u8]>, label: &[u8]) -> Self {
        let hk = Hkdf::<Sha256>::new(salt, secret);
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA-256's limit of 255 × 32, so this cannot fail.
        if hk.expand(label, &mut okm).is_err() {
            unreachable!("HKDF-SHA-256 can always expand 32 bytes");
        }
        SealKey(XChaCha20Poly1305::new((&okm).into()))
    }

    /// Seals `plaintext`, bound to `aad`; the result is printable and safe to store.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let nonce = random_bytes::<NONCE_LEN>();
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        // Encryption fails only for messages near 2^38 bytes; what is sealed here is a few KB.
        let Ok(ct) = self.0.encrypt(XNonce::from_slice(&nonce), payload) else {
            unreachable!("XChaCha20-Poly1305 encrypts any message this small");
        };
        let mut raw = Vec::with_capacity(NONCE_LEN + ct.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&ct);
        format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(raw))
    }

    /// Opens what [`SealKey::seal`] made with the same key and `aad`; `None` for anything else
    /// (another key or purpose, altered, or not a sealed value at all).
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Option<Vec<u8>> {
        let raw = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(VERSION)?).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let payload = Payload { msg: ct, aad };
        self.0.decrypt(XNonce::from_slice(nonce), payload).ok()
    }
}

/// The sealing key of `pepper` (the broker and the proxies hold it; a dump of Redis alone
/// opens nothing).
pub(super) fn key(pepper: &SecretString) -> SealKey {
    SealKey::derive(pepper.expose_secret().as_bytes(), None, LABEL)
}

impl Keys {
    /// Seals `plaintext` under the pepper's sealing key.
    pub fn seal(&self, plaintext: &str) -> String {
        self.seal.seal(plaintext.as_bytes(), LABEL)
    }

    /// Opens a value [`Keys::seal`] made with the same pepper; `None` if it was made with
    /// another pepper, altered, or is not a sealed value at all.
    pub fn open(&self, sealed: &str) -> Option<String> {
        String::from_utf8(self.seal.open(sealed, LABEL)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(p: &str) -> Keys {
        Keys::from_pepper(&SecretString::from(p.repeat(32)))
    }

    #[test]
    fn seals_and_opens_only_with_the_same_pepper_and_unaltered() {
        let k = keys("p");
        let sealed = k.seal("eyJhbGciOi.payload.sig");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("eyJ"));
        assert_ne!(sealed, k.seal("eyJhbGciOi.payload.sig"), "random nonces");
        assert_eq!(k.open(&sealed).as_deref(), Some("eyJhbGciOi.payload.sig"));
        assert_eq!(keys("q").open(&sealed), None);
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(k.open(&String::from_utf8(bytes).unwrap()), None);
        assert_eq!(k.open("eyJhbGciOi.payload.sig"), None);
        assert_eq!(k.open("v1."), None);
    }

    #[test]
    fn the_associated_data_binds_a_value_to_its_purpose() {
        let key = SealKey::derive(b"secret", Some(b"salt"), b"label");
        let sealed = key.seal(b"value", b"one");
        assert_eq!(key.open(&sealed, b"one").as_deref(), Some(&b"value"[..]));
        assert_eq!(key.open(&sealed, b"two"), None);
        let other = SealKey::derive(b"secret", Some(b"salt"), b"other label");
        assert_eq!(other.open(&sealed, b"one"), None);
    }
}
