//! JWS algorithm names as configuration spells them, mapped to jsonwebtoken's [`Algorithm`]:
//! the one mapping the broker (upstream tokens in token exchange) and the proxy (the `jwt`
//! authentication policy) both use.
//!
//! Only asymmetric algorithms have a name here. RFC 8725 §3.1 (use appropriate algorithms) and
//! §2.1 (algorithm confusion): a verifier that holds only public keys must never accept `none`
//! or an HMAC algorithm, whose "key" would be something an attacker can read.

use jsonwebtoken::Algorithm;

/// The asymmetric JWS algorithm (RFC 7518 §3.1) named `name`, or `None` for anything else —
/// including `none`, `HS256`/`HS384`/`HS512` and algorithms jsonwebtoken cannot verify.
pub fn algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ASYMMETRIC_ALGS;

    #[test]
    fn every_configurable_algorithm_has_a_mapping() {
        for name in ASYMMETRIC_ALGS {
            let alg = algorithm(name).unwrap();
            assert_eq!(format!("{alg:?}"), *name);
        }
    }

    #[test]
    fn symmetric_and_unsigned_algorithms_have_none() {
        for name in [
            "none", "None", "HS256", "HS384", "HS512", "rs256", "", "EdDSA",
        ] {
            assert_eq!(algorithm(name), None, "{name}");
        }
    }
}
