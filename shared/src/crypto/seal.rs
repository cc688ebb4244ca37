//! Sealing: authenticated encryption of values the store must keep but never looks up by value
//! (the upstream `id_token` of a login, which the proxy may forward to a backend).
//!
//! # Design note
//! XChaCha20-Poly1305 (an AEAD): its 192-bit random nonces never repeat in practice, however
//! many values are sealed under one key, so no nonce counter has to be shared between broker
//! instances. The key is derived from the pepper with HKDF-SHA-256 (RFC 5869) under its own
//! label, so it is independent of the HMAC keys derived from the same pepper. A sealed value is
//! `v1.` + base64url(nonce ‖ ciphertext ‖ tag); the label is also the associated data, so a
//! value sealed for one purpose does not open for another. Whoever holds the pepper (the broker
//! and the proxies) can open it; a dump of Redis alone cannot.

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

/// The sealing key for `pepper`.
pub(super) fn key(pepper: &SecretString) -> XChaCha20Poly1305 {
    let hk = Hkdf::<Sha256>::new(None, pepper.expose_secret().as_bytes());
    let mut okm = [0u8; 32];
    // 32 bytes is far below HKDF-SHA-256's limit of 255 × 32, so this cannot fail.
    if hk.expand(LABEL, &mut okm).is_err() {
        unreachable!("HKDF-SHA-256 can always expand 32 bytes");
    }
    XChaCha20Poly1305::new((&okm).into())
}

impl Keys {
    /// Seals `plaintext`; the result is printable and safe to store.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = random_bytes::<NONCE_LEN>();
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: LABEL,
        };
        // Encryption fails only for messages near 2^38 bytes; an id_token is a few KB.
        let Ok(ct) = self.seal.encrypt(XNonce::from_slice(&nonce), payload) else {
            unreachable!("XChaCha20-Poly1305 encrypts any message this small");
        };
        let mut raw = Vec::with_capacity(NONCE_LEN + ct.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&ct);
        format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(raw))
    }

    /// Opens a value [`Keys::seal`] made with the same pepper; `None` if it was made with
    /// another pepper, altered, or is not a sealed value at all.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let raw = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(VERSION)?).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ct,
            aad: LABEL,
        };
        let plain = self.seal.decrypt(XNonce::from_slice(nonce), payload).ok()?;
        String::from_utf8(plain).ok()
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
}
