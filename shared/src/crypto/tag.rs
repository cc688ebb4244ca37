//! Keyed token tags (issue 11, P5): access and refresh tokens the broker minted can be told
//! from made-up ones by anyone holding the pepper, before any store lookup.
//!
//! # Design note
//!
//! The CRC-32 of the token format ([`crate::token`]) is public, so anyone can make well-formed
//! strings, and a flood of distinct ones used to cost the store one lookup each. An access or
//! refresh token's 32-byte body is now 24 random bytes followed by the first 8 bytes of
//! HMAC-SHA-256(tag key, prefix ‖ random bytes), under a key derived from the pepper for this
//! alone (domain separation: it is never the key of the stored hashes). The broker and every
//! proxy hold the pepper, so they refuse a string whose tag is not theirs with no I/O at all;
//! only the broker's tokens — and one forged string in 2^64 — reach the store.
//!
//! 192 random bits stay far above what RFC 6749 §10.10 asks (a guess must be infeasible; RFC
//! 6750 §5.2 suggests at least 128 bits) and what RFC 9700 expects of opaque tokens: the tag
//! adds no secret to the token, it only vouches for it. Authenticity still comes from the store
//! record (a tag is not revocable; the record is), and the tag is compared in constant time.
//!
//! # Upgrade
//!
//! Tokens minted before tags existed carry 32 random bytes, whose "tag" matches with chance
//! 2^-64, so they are refused unless `security.accept_untagged_tokens` is on
//! ([`Keys::accepting_untagged`]); then a well-formed token without a valid tag is looked up as
//! before (docs/operations.md, "Upgrading to tagged tokens").

use hmac::Mac;
use subtle::ConstantTimeEq;

use super::Keys;
use crate::crypto::random_bytes;
use crate::token::{TokenKind, BODY_BYTES};

/// Random bytes in a tagged body; the rest of the body is the tag.
const RANDOM_BYTES: usize = 24;
const TAG_BYTES: usize = BODY_BYTES - RANDOM_BYTES;

impl Keys {
    /// A fresh access or refresh token carrying this deployment's keyed tag.
    pub fn mint(&self, kind: TokenKind) -> String {
        let mut body = [0u8; BODY_BYTES];
        body[..RANDOM_BYTES].copy_from_slice(&random_bytes::<RANDOM_BYTES>());
        let tag = self.tag(kind, &body[..RANDOM_BYTES]);
        body[RANDOM_BYTES..].copy_from_slice(&tag);
        kind.assemble(&body)
    }

    /// True when `token` — already known to be well formed for `kind` — carries this
    /// deployment's tag, or when untagged tokens are accepted during an upgrade. Costs one
    /// HMAC and no I/O.
    pub fn vouches_for(&self, kind: TokenKind, token: &str) -> bool {
        if self.accept_untagged {
            return true;
        }
        let Some(body) = kind.body(token) else {
            return false;
        };
        let (random, tag) = body.split_at(RANDOM_BYTES);
        bool::from(self.tag(kind, random).ct_eq(tag))
    }

    /// True when `token` is well formed for `kind` ([`TokenKind::is_well_formed`]) and
    /// [`Keys::vouches_for`] it: what the broker checks before looking a presented token up.
    pub fn is_genuine(&self, kind: TokenKind, token: &str) -> bool {
        kind.is_well_formed(token) && self.vouches_for(kind, token)
    }

    /// Also accept well-formed tokens without a valid tag (minted before tags existed), for the
    /// length of an upgrade; off unless configured.
    pub fn accepting_untagged(mut self, accept: bool) -> Self {
        self.accept_untagged = accept;
        self
    }

    fn tag(&self, kind: TokenKind, random: &[u8]) -> [u8; TAG_BYTES] {
        let mut mac = self.tag.clone();
        mac.update(kind.prefix().as_bytes());
        mac.update(random);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn keys(p: &str) -> Keys {
        Keys::from_pepper(&SecretString::from(p.repeat(32)))
    }

    #[test]
    fn minted_tokens_are_well_formed_tagged_and_distinct() {
        let k = keys("p");
        for kind in [TokenKind::AccessToken, TokenKind::RefreshToken] {
            let a = k.mint(kind);
            assert_ne!(a, k.mint(kind));
            assert_eq!(a.len(), kind.prefix().len() + 49);
            assert!(kind.is_well_formed(&a));
            assert_eq!(TokenKind::detect(&a), Some(kind));
            assert!(k.vouches_for(kind, &a) && k.is_genuine(kind, &a));
        }
    }

    #[test]
    fn made_up_and_foreign_tokens_are_refused() {
        let (k, other) = (keys("p"), keys("q"));
        let access = k.mint(TokenKind::AccessToken);
        // Another deployment's pepper, another kind, an untagged token of the right format.
        assert!(!other.is_genuine(TokenKind::AccessToken, &access));
        let as_refresh = format!("tsr_rt_{}", &access[7..]);
        assert!(!k.vouches_for(TokenKind::RefreshToken, &as_refresh));
        for _ in 0..100 {
            let made_up = TokenKind::AccessToken.generate();
            assert!(TokenKind::AccessToken.is_well_formed(&made_up));
            assert!(!k.is_genuine(TokenKind::AccessToken, &made_up));
        }
        // Malformed strings are refused before the tag is computed.
        assert!(!k.is_genuine(TokenKind::AccessToken, &access[..55]));
        assert!(!k.is_genuine(TokenKind::AccessToken, "tsr_at_"));
        assert!(!k.vouches_for(TokenKind::AccessToken, "tsr_at_ü"));
    }

    #[test]
    fn any_change_to_the_random_part_or_the_tag_is_caught() {
        let k = keys("p");
        let t = k.mint(TokenKind::AccessToken);
        let body = TokenKind::AccessToken.body(&t).unwrap();
        for i in 0..BODY_BYTES {
            let mut b = body;
            b[i] ^= 1;
            let changed = TokenKind::AccessToken.assemble(&b);
            assert!(TokenKind::AccessToken.is_well_formed(&changed));
            assert!(!k.is_genuine(TokenKind::AccessToken, &changed), "byte {i}");
        }
    }

    #[test]
    fn the_upgrade_switch_accepts_untagged_tokens_of_the_right_format_only() {
        let k = keys("p").accepting_untagged(true);
        let untagged = TokenKind::AccessToken.generate();
        assert!(k.is_genuine(TokenKind::AccessToken, &untagged));
        assert!(k.is_genuine(TokenKind::AccessToken, &k.mint(TokenKind::AccessToken)));
        assert!(!k.is_genuine(TokenKind::AccessToken, &untagged[..55]));
        assert!(!k.is_genuine(TokenKind::RefreshToken, &untagged));
    }

    #[test]
    fn the_pepper_never_shows_in_debug_output() {
        let cfg = crate::config::SecurityConfig {
            pepper: SecretString::from("a pepper never to be printed, 0123456789"),
            accept_untagged_tokens: true,
        };
        let keys = cfg.keys();
        for shown in [format!("{cfg:?}"), format!("{keys:?}")] {
            assert!(!shown.contains("never to be printed"), "{shown}");
        }
    }

    #[test]
    fn the_body_decodes_only_canonical_encodings() {
        let t = TokenKind::AccessToken.generate();
        assert!(TokenKind::AccessToken.body(&t).is_some());
        // The last body character carries 2 padding bits; a non-zero one does not decode.
        let mut bytes = t.into_bytes();
        bytes[7 + 42] = b'B';
        let s = String::from_utf8(bytes).unwrap();
        assert!(TokenKind::AccessToken.body(&s).is_none());
    }
}
