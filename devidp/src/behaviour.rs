//! Misbehaviour switches: make the development identity provider mint faulty tokens or serve
//! slowly or not at all, to prove that the broker rejects each fault.
//!
//! Every switch is an atomic read when a token is minted or a request is served, so a test can
//! flip it through a shared [`DevIdp`](super::DevIdp) while the server runs on other threads.
//! All switches start off; [`Behaviour::reset`] turns them all off again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The switches. Set with `idp.behaviour().set_wrong_issuer(true)`, read with
/// `idp.behaviour().wrong_issuer()`, clear all with `idp.behaviour().reset()`.
///
/// When several signature faults are on, `hs256` wins over `unknown_kid`, which wins over
/// `bad_signature`.
#[derive(Debug, Default)]
pub struct Behaviour {
    wrong_issuer: AtomicBool,
    wrong_audience: AtomicBool,
    bad_signature: AtomicBool,
    omit_nonce: AtomicBool,
    wrong_nonce: AtomicBool,
    expired: AtomicBool,
    unknown_kid: AtomicBool,
    hs256: AtomicBool,
    delay_ms: AtomicU64,
    down: AtomicBool,
    send_iss: AtomicBool,
}

macro_rules! switches {
    ($($(#[$doc:meta])* $name:ident / $set:ident;)*) => {
        impl Behaviour {
            $(
                $(#[$doc])*
                pub fn $set(&self, on: bool) {
                    self.$name.store(on, Ordering::SeqCst);
                }

                $(#[$doc])*
                pub fn $name(&self) -> bool {
                    self.$name.load(Ordering::SeqCst)
                }
            )*
        }
    };
}

switches! {
    /// `iss` of minted tokens is `{issuer}/evil` (same prefix, different issuer).
    wrong_issuer / set_wrong_issuer;
    /// `aud` of `id_token`s is not the client id; access tokens get `api://wrong-audience`.
    wrong_audience / set_wrong_audience;
    /// Signed with a key that is not published, under the current (published) `kid`.
    bad_signature / set_bad_signature;
    /// `id_token`s carry no `nonce`, even when the authorization request had one.
    omit_nonce / set_omit_nonce;
    /// `id_token`s carry a random `nonce`, not the one of the authorization request.
    wrong_nonce / set_wrong_nonce;
    /// `exp` ten minutes in the past and `iat` one lifetime before it.
    expired / set_expired;
    /// Signed with a key that is not published, under a `kid` the JWKS does not contain.
    unknown_kid / set_unknown_kid;
    /// HS256 with the client's secret as the HMAC key (algorithm confusion, RFC 8725 §2.1),
    /// under the current RSA key's `kid`.
    hs256 / set_hs256;
    /// Every request is answered `503 Service Unavailable` with a plain-text body, as a dead
    /// load balancer would (not an OAuth error, so clients see an outage, not a refusal).
    down / set_down;
    /// Authorization responses carry `iss` (RFC 9207 §2), and discovery says so
    /// (`authorization_response_iss_parameter_supported`, §3).
    send_iss / set_send_iss;
}

impl Behaviour {
    /// Sleep this long before answering discovery, JWKS, token and userinfo requests (the
    /// login page is not delayed). 0 = no delay.
    pub fn set_delay_ms(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    pub fn delay_ms(&self) -> u64 {
        self.delay_ms.load(Ordering::SeqCst)
    }

    /// Back to a well-behaved provider.
    pub fn reset(&self) {
        for flag in [
            &self.wrong_issuer,
            &self.wrong_audience,
            &self.bad_signature,
            &self.omit_nonce,
            &self.wrong_nonce,
            &self.expired,
            &self.unknown_kid,
            &self.hs256,
            &self.down,
            &self.send_iss,
        ] {
            flag.store(false, Ordering::SeqCst);
        }
        self.delay_ms.store(0, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_clears_every_switch() {
        let b = Behaviour::default();
        b.set_wrong_issuer(true);
        b.set_hs256(true);
        b.set_down(true);
        b.set_delay_ms(50);
        assert!(b.wrong_issuer() && b.hs256() && b.down());
        assert_eq!(b.delay_ms(), 50);
        b.reset();
        assert!(!b.wrong_issuer() && !b.hs256() && !b.down());
        assert_eq!(b.delay_ms(), 0);
    }
}
