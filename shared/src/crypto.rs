//! Randomness and keyed hashing.
//!
//! # Design note: why HMAC-SHA-256 and not a password hash
//!
//! Tessera only ever hashes values it generated itself: client secrets and tokens carry 192 to
//! 256 bits from the operating system's CSPRNG. A slow password hash (Argon2, bcrypt) exists to
//! make guessing *low-entropy* human passwords expensive; against 2^192 possibilities guessing is
//! already hopeless, so slowness would only cost latency on every token request. What the hash
//! must still do is keep a stolen database useless: the stored value is an HMAC keyed with a
//! server-side pepper that never enters the store, so a dump of Redis alone yields neither the
//! secrets nor a way to test candidates offline. Tokens and secrets use separate keys derived from
//! the pepper (domain separation), and every comparison is constant-time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

mod pool;
pub mod seal;
mod tag;
mod token_hash;

pub use token_hash::{HashText, TokenHash, MAC_BYTES};

type HmacSha256 = Hmac<Sha256>;

/// Fills a buffer from the operating system's CSPRNG (read in batches per thread, `crypto/pool.rs`).
///
/// # Panics
/// Only if the operating system has no random source at all, in which case no token could ever
/// be issued safely; refusing to continue is the right answer.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // Cannot fail on a working system: `getrandom` (the syscall on Linux, which blocks until
    // the kernel's pool is seeded and is retried on EINTR by the crate, else /dev/urandom) errs
    // only when the OS offers no random source at all — where no token could be issued safely.
    // `pool::fill` adds no failure of its own: it never re-enters its RefCell (no callback runs
    // while it is borrowed) and reads the OS directly while a thread's locals are torn down.
    #[allow(clippy::expect_used)]
    pool::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

/// A URL-safe random string carrying `N` bytes of entropy.
pub fn random_string<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

/// Keys derived from the configured pepper. Cheap to clone; never printed.
#[derive(Clone)]
pub struct Keys {
    token: HmacSha256,
    secret: HmacSha256,
    limit: HmacSha256,
    /// Server-provided DPoP nonces (RFC 9449 §8): a MAC of the time window, so every broker and
    /// proxy sharing the pepper issues and accepts the same ones without storing any.
    nonce: HmacSha256,
    /// AEAD key for values kept but never looked up by value ([`Keys::seal`]).
    seal: seal::SealKey,
    /// Tags of minted access and refresh tokens ([`Keys::mint`], [`tag`]).
    tag: HmacSha256,
    /// During an upgrade: well-formed tokens without a valid tag are looked up too.
    accept_untagged: bool,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    pub fn from_pepper(pepper: &SecretString) -> Self {
        let derive = |label: &[u8]| {
            let mut mac = new_mac(pepper.expose_secret().as_bytes());
            mac.update(label);
            new_mac(&mac.finalize().into_bytes())
        };
        Keys {
            token: derive(b"tessera/v1/token-hash"),
            secret: derive(b"tessera/v1/client-secret-hash"),
            limit: derive(b"tessera/v1/limit-subject"),
            nonce: derive(b"tessera/v1/dpop-nonce"),
            seal: seal::key(pepper),
            tag: derive(b"tessera/v1/token-tag"),
            accept_untagged: false,
        }
    }

    /// The store key material for a token: never the token itself.
    pub fn token_hash(&self, token: &str) -> String {
        digest(&self.token, token)
    }

    /// The stored form of a client secret.
    pub fn secret_hash(&self, secret: &str) -> String {
        digest(&self.secret, secret)
    }

    /// What a rate limit counts for a value that came from the network (a username, a presented
    /// client_id): fixed length, safe in a key, and no personal data in Redis.
    pub fn limit_subject(&self, value: &str) -> String {
        digest(&self.limit, value)
    }

    /// The DPoP nonce of time window `window` (RFC 9449 §8).
    pub fn dpop_nonce(&self, window: i64) -> String {
        digest(&self.nonce, &window.to_string())
    }

    /// Checks a presented secret against its stored hash in constant time.
    pub fn verify_secret(&self, presented: &str, stored_hash: &str) -> bool {
        // Decoded on the stack (a stored hash is 32 bytes; anything longer fails to fit).
        let mut expected = [0u8; 48];
        let Ok(len) = URL_SAFE_NO_PAD.decode_slice(stored_hash, &mut expected) else {
            return false;
        };
        let mut mac = self.secret.clone();
        mac.update(presented.as_bytes());
        mac.verify_slice(&expected[..len]).is_ok()
    }
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

fn digest(key: &HmacSha256, value: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, value))
}

fn mac(key: &HmacSha256, value: &str) -> [u8; MAC_BYTES] {
    let mut mac = key.clone();
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Constant-time equality of two byte strings (the admin token, initial access tokens).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    // Compare fixed-size digests so that the length of the secret does not leak either.
    let (da, db) = (sha256(a), sha256(b));
    bool::from(da.ct_eq(&db))
}

fn sha256(v: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    Sha256::digest(v).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_round_trip_and_domain_separation() {
        let keys = Keys::from_pepper(&SecretString::from("p".repeat(32)));
        let h = keys.secret_hash("s3cret");
        assert!(keys.verify_secret("s3cret", &h));
        assert!(!keys.verify_secret("s3cret!", &h));
        assert_ne!(h, keys.token_hash("s3cret"));
        let other = Keys::from_pepper(&SecretString::from("q".repeat(32)));
        assert!(!other.verify_secret("s3cret", &h));
        // A stored hash that is not 32 bytes of base64url never verifies (nor panics).
        assert!(!keys.verify_secret("s3cret", &h[..20]));
        assert!(!keys.verify_secret("s3cret", &format!("{h}{h}{h}")));
        assert!(!keys.verify_secret("s3cret", "not base64 at all!"));
        assert!(!keys.verify_secret("s3cret", ""));
    }

    #[test]
    fn constant_time_eq_compares_content() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
