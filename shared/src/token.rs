//! The opaque token format.
//!
//! # Design note
//!
//! `tsr_at_` + 43 characters of base64url (a 32-byte body) + 6 characters of checksum (CRC-32 of
//! prefix and body, base64url). The prefix says what the string is, so secret scanners can find
//! leaked tokens and a refresh token is never mistaken for an access token; the checksum lets the
//! broker and the proxy refuse a mistyped string without touching the store (it is an integrity
//! hint, not a MAC: anyone can compute it). The store keeps only a keyed hash of the whole string
//! ([`crate::crypto::Keys::token_hash`]).
//!
//! The body of an access or refresh token is 24 random bytes and an 8-byte keyed tag of them
//! ([`crate::crypto::Keys::mint`], issue 11 P5), so that a made-up but well-formed string is
//! refused without a lookup either; other kinds ([`TokenKind::generate`]) carry 32 random bytes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::crypto::random_bytes;

/// Bytes in a token's body.
pub(crate) const BODY_BYTES: usize = 32;
const BODY_LEN: usize = 43; // 32 bytes, base64url without padding
const CHECK_LEN: usize = 6; // 4 bytes, base64url without padding

/// What a token string is for; each kind has its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    AccessToken,
    RefreshToken,
    AuthorizationCode,
    ClientSecret,
    /// RFC 7592 registration access token of a dynamically registered client.
    RegistrationToken,
    /// RFC 8628 device code: what a device polls the token endpoint with.
    DeviceCode,
}

impl TokenKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            TokenKind::AccessToken => "tsr_at_",
            TokenKind::RefreshToken => "tsr_rt_",
            TokenKind::AuthorizationCode => "tsr_ac_",
            TokenKind::ClientSecret => "tsr_cs_",
            TokenKind::RegistrationToken => "tsr_rat_",
            TokenKind::DeviceCode => "tsr_dc_",
        }
    }

    const fn len(self) -> usize {
        self.prefix().len() + BODY_LEN + CHECK_LEN
    }

    /// A fresh random token of this kind, without a keyed tag (codes, secrets; access and
    /// refresh tokens are minted by [`crate::crypto::Keys::mint`]).
    pub fn generate(self) -> String {
        self.assemble(&random_bytes::<BODY_BYTES>())
    }

    /// The token of this kind whose body is `body`: prefix, body and checksum.
    pub(crate) fn assemble(self, body: &[u8; BODY_BYTES]) -> String {
        let mut s = String::with_capacity(self.len());
        s.push_str(self.prefix());
        URL_SAFE_NO_PAD.encode_string(body, &mut s);
        let check = checksum(&s);
        s.push_str(check.as_str());
        s
    }

    /// The 32-byte body of `s`, a string of this kind's length and prefix (callers check the
    /// format first); `None` when it does not decode to exactly 32 bytes (e.g. non-zero padding
    /// bits: no two strings share a body).
    pub(crate) fn body(self, s: &str) -> Option<[u8; BODY_BYTES]> {
        let encoded = s.get(self.prefix().len()..self.len() - CHECK_LEN)?;
        let mut out = [0u8; BODY_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(encoded, &mut out) {
            Ok(BODY_BYTES) => Some(out),
            _ => None,
        }
    }

    /// True when `s` is well formed for this kind: prefix, length, alphabet and checksum.
    /// Costs no store lookup; a malformed token is refused before any I/O.
    pub fn is_well_formed(self, s: &str) -> bool {
        if s.len() != self.len() || !s.starts_with(self.prefix()) {
            return false;
        }
        // The alphabet first: past the (ASCII) prefix every byte is then ASCII, so the split
        // below falls between two characters (a multi-byte one there made `split_at` panic).
        let alphabet_ok = s.as_bytes()[self.prefix().len()..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
        if !alphabet_ok {
            return false;
        }
        let (head, check) = s.split_at(self.len() - CHECK_LEN);
        checksum(head).as_str() == check
    }

    /// The kind whose prefix `s` carries and whose format it satisfies, if any.
    pub fn detect(s: &str) -> Option<TokenKind> {
        [
            TokenKind::AccessToken,
            TokenKind::RefreshToken,
            TokenKind::AuthorizationCode,
            TokenKind::ClientSecret,
            TokenKind::RegistrationToken,
            TokenKind::DeviceCode,
        ]
        .into_iter()
        .find(|k| k.is_well_formed(s))
    }
}

/// The checksum of `head` (prefix and body), encoded on the stack: every presented token is
/// checked, so this costs no allocation.
fn checksum(head: &str) -> Checksum {
    let mut out = [0u8; CHECK_LEN];
    let crc = crc32fast::hash(head.as_bytes()).to_be_bytes();
    // 4 bytes are always 6 characters of unpadded base64url.
    let _ = URL_SAFE_NO_PAD.encode_slice(crc, &mut out);
    Checksum(out)
}

/// A checksum's text: [`CHECK_LEN`] characters of base64url.
struct Checksum([u8; CHECK_LEN]);

impl Checksum {
    fn as_str(&self) -> &str {
        // base64url is ASCII; the empty string (never a checksum) if that were ever not so.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_distinct() {
        let a = TokenKind::AccessToken.generate();
        let b = TokenKind::AccessToken.generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 56);
        assert!(TokenKind::AccessToken.is_well_formed(&a));
        assert!(!TokenKind::RefreshToken.is_well_formed(&a));
        assert_eq!(TokenKind::detect(&a), Some(TokenKind::AccessToken));
    }

    #[test]
    fn any_single_character_change_is_caught() {
        let t = TokenKind::AccessToken.generate();
        for i in 7..t.len() {
            let mut bytes = t.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let s = String::from_utf8(bytes).unwrap();
            assert!(!TokenKind::AccessToken.is_well_formed(&s), "position {i}");
        }
        assert!(!TokenKind::AccessToken.is_well_formed(&t[..55]));
        assert!(!TokenKind::AccessToken.is_well_formed(""));
        assert!(!TokenKind::AccessToken.is_well_formed("tsr_at_ü"));
        // A multi-byte character anywhere past the prefix, the length right in bytes.
        for i in 7..55 {
            let mut s = "A".repeat(i - 7);
            s.insert_str(0, "tsr_at_");
            s.push('ü');
            s.push_str(&"A".repeat(55 - i - 1));
            assert_eq!(s.len(), 56);
            assert!(!TokenKind::AccessToken.is_well_formed(&s), "at {i}");
            assert_eq!(TokenKind::detect(&s), None);
        }
    }

    #[test]
    fn the_checksum_is_the_base64url_of_the_crc_as_before() {
        // Tokens issued before the checksum moved to the stack must stay well formed.
        for head in [
            "",
            "tsr_at_",
            "tsr_at_AAAA",
            &TokenKind::AccessToken.generate()[..50],
        ] {
            let crc = crc32fast::hash(head.as_bytes()).to_be_bytes();
            assert_eq!(checksum(head).as_str(), URL_SAFE_NO_PAD.encode(crc));
        }
    }
}
