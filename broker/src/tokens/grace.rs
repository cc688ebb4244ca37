//! The successor of a rotated refresh token, sealed for the grace period (RFC 9700 §4.14.2
//! allows a client to retry a refresh whose answer it lost; Okta calls this the refresh token
//! grace period).
//!
//! # Design note: why the successor is sealed under the presented token
//!
//! To hand out *the same* successor again, the broker must be able to recover it, yet tokens are
//! never stored in plaintext. So at rotation the successor (the new access and refresh tokens)
//! is sealed ([`SealKey`]: XChaCha20-Poly1305, the one AEAD of the workspace) under a key
//! derived (HKDF-SHA-256) from the refresh token that was presented — a value the store never
//! holds (it keeps only its keyed hash). The ciphertext is kept in Redis for the grace period
//! only (a key with that TTL), bound by the AEAD's associated data to its family and to the
//! client that presented the token.
//!
//! * A Redis dump, even together with the pepper, opens nothing: the key needs the presented
//!   token itself (256 random bits). After the grace period there is nothing left to open.
//! * Whoever holds the presented token *and* can authenticate as the same client within the
//!   grace period gets the successor — exactly what the grace period grants, and no more than a
//!   refresh by that party a moment earlier would have given; any other client, or any other
//!   token of the family, still counts as reuse and revokes the login.
//! * Successor tokens stay random (not derived from their predecessor), so one token never
//!   predicts another, whatever else leaks.

use serde::{Deserialize, Serialize};
use tessera_shared::crypto::seal::SealKey;
use tessera_shared::error::StoreError;

/// The tokens a rotation handed out. Never printed.
#[derive(Serialize, Deserialize)]
pub(super) struct Successor {
    pub access_token: String,
    pub refresh_token: String,
}

impl std::fmt::Debug for Successor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Successor(..)")
    }
}

fn key(presented: &str) -> SealKey {
    SealKey::derive(
        presented.as_bytes(),
        Some(b"tessera/v1/refresh-grace"),
        b"successor-key",
    )
}

fn aad(family: &str, client_id: &str) -> String {
    format!("{family}\u{0}{client_id}")
}

/// Seals `s` under a key derived from the presented refresh token.
pub(super) fn seal(
    presented: &str,
    family: &str,
    client_id: &str,
    s: &Successor,
) -> Result<String, StoreError> {
    let plain = serde_json::to_vec(s)?;
    Ok(key(presented).seal(&plain, aad(family, client_id).as_bytes()))
}

/// Opens what [`seal`] made with the same token, family and client; `None` otherwise.
pub(super) fn open(
    presented: &str,
    family: &str,
    client_id: &str,
    sealed: &str,
) -> Option<Successor> {
    let plain = key(presented).open(sealed, aad(family, client_id).as_bytes())?;
    serde_json::from_slice(&plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_the_same_token_family_and_client() {
        let s = Successor {
            access_token: "tsr_at_a".into(),
            refresh_token: "tsr_rt_b".into(),
        };
        let sealed = seal("tsr_rt_old", "fam", "c1", &s).unwrap();
        assert!(!sealed.contains("tsr_"), "nothing in clear");
        let back = open("tsr_rt_old", "fam", "c1", &sealed).unwrap();
        assert_eq!(
            (back.access_token.as_str(), back.refresh_token.as_str()),
            ("tsr_at_a", "tsr_rt_b")
        );
        assert!(open("tsr_rt_other", "fam", "c1", &sealed).is_none());
        assert!(open("tsr_rt_old", "fam2", "c1", &sealed).is_none());
        assert!(open("tsr_rt_old", "fam", "c2", &sealed).is_none());
        assert!(open("tsr_rt_old", "fam", "c1", "garbage").is_none());
    }
}
