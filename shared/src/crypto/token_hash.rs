//! A token's keyed hash, kept raw (issue 11, P1/P2): the proxy keys its cache by the HMAC's
//! bytes and needs the text form — base64url, the store's key material — only when it looks
//! the token up, so a cached call neither encodes nor decodes it, and a lookup encodes it on
//! the stack.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::Keys;

/// Bytes of an HMAC-SHA-256.
pub const MAC_BYTES: usize = 32;
/// Characters of its unpadded base64url text.
const TEXT_LEN: usize = 43;

/// HMAC-SHA-256 of a token under the token-hash key ([`Keys::token_mac`]). Not secret (its
/// text is in the store's keys) but not printed either.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash([u8; MAC_BYTES]);

/// The text of a [`TokenHash`]: what [`Keys::token_hash`] returns, without the `String`.
#[derive(Clone, Copy)]
pub struct HashText([u8; TEXT_LEN]);

impl Keys {
    /// The keyed hash of a token, raw; [`Keys::token_hash`] is its text.
    pub fn token_mac(&self, token: &str) -> TokenHash {
        TokenHash(super::mac(&self.token, token))
    }
}

impl TokenHash {
    pub fn bytes(&self) -> &[u8; MAC_BYTES] {
        &self.0
    }

    /// The base64url text the store keys the token's record by.
    pub fn text(&self) -> HashText {
        let mut out = [0u8; TEXT_LEN];
        // 32 bytes are always 43 characters of unpadded base64url.
        let _ = URL_SAFE_NO_PAD.encode_slice(self.0, &mut out);
        HashText(out)
    }
}

impl HashText {
    pub fn as_str(&self) -> &str {
        // base64url is ASCII; the empty string (no key of any record) if that were ever not so.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

impl std::fmt::Debug for HashText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashText(..)")
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::token::TokenKind;

    #[test]
    fn the_raw_hash_and_its_text_are_the_stored_hash() {
        let keys = Keys::from_pepper(&SecretString::from("p".repeat(32)));
        for token in ["", "tsr_at_x", &keys.mint(TokenKind::AccessToken)] {
            let mac = keys.token_mac(token);
            let text = keys.token_hash(token);
            assert_eq!(mac.text().as_str(), text);
            assert_eq!(URL_SAFE_NO_PAD.decode(&text).unwrap(), mac.bytes());
        }
        assert_ne!(keys.token_mac("a"), keys.token_mac("b"));
        assert_eq!(format!("{:?}", keys.token_mac("a")), "TokenHash(..)");
    }
}
