//! The tokens the provider mints, shaped like Okta's, with the faults of [`Behaviour`] applied.
//!
//! * `id_token` (OpenID Connect Core §2): `iss`, `aud` = client id, `sub`, `iat`, `exp`,
//!   `auth_time`, `nonce` when the authorization request had one, plus every claim of the user.
//!   No `azp`: there is a single audience.
//! * Access token (Okta's JWT): `ver` 1, `jti`, `iss`, `aud` = the configured audience, `iat`,
//!   `exp`, `cid` = client id, `uid` = the user's subject (users only), `scp` = scopes as an
//!   array, `sub` = the user's email (else username; the client id for client credentials), plus
//!   the user's custom claims (those that are not OpenID Connect Core §5.1 standard claims).
//!
//! Both are RS256 with the current key's `kid` in the header, unless a fault says otherwise.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Map, Value};
use tessera_shared::time::now;

use crate::behaviour::Behaviour;
use crate::{DevIdpError, DevUser, Inner};

/// OpenID Connect Core §5.1: profile claims that Okta leaves out of access tokens.
const STANDARD_CLAIMS: &[&str] = &[
    "sub",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
];

/// What an access token is about: a user, or the client itself (client credentials).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Holder<'a> {
    User(&'a DevUser),
    Client,
}

/// `(iat, exp)` for a token living `ttl` seconds; with `expired`, it ended ten minutes ago —
/// well beyond any reasonable clock-skew leeway.
fn lifetime(b: &Behaviour, ttl: u64) -> (i64, i64) {
    let ttl = i64::try_from(ttl).unwrap_or(i64::MAX / 2);
    let now = now();
    if b.expired() {
        let exp = now - 600;
        (exp - ttl, exp)
    } else {
        (now, now.saturating_add(ttl))
    }
}

pub(crate) fn issuer(idp: &Inner) -> String {
    if idp.behaviour.wrong_issuer() {
        format!("{}/evil", idp.cfg.issuer)
    } else {
        idp.cfg.issuer.clone()
    }
}

/// Signs `claims`: RS256 with the current key, or as the active fault says.
fn sign(idp: &Inner, client_id: &str, claims: &Map<String, Value>) -> Result<String, DevIdpError> {
    sign_typed(idp, client_id, claims, "JWT")
}

/// As [`sign`], with `typ` in the header (RFC 8725 §3.11: explicit typing).
pub(crate) fn sign_typed(
    idp: &Inner,
    client_id: &str,
    claims: &Map<String, Value>,
    typ: &str,
) -> Result<String, DevIdpError> {
    let b = &idp.behaviour;
    let current = idp.keys.current()?;
    let signed = if b.hs256() {
        // The HMAC key a naive verifier would use: the client's secret (RFC 8725 §2.1). A client
        // that is not registered has none; its id stands in.
        let secret = idp
            .cfg
            .client(client_id)
            .map_or(client_id, |c| c.client_secret.as_str());
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(current.kid.clone());
        header.typ = Some(typ.to_string());
        encode(
            &header,
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
    } else if b.unknown_kid() || b.bad_signature() {
        let rogue = idp.keys.rogue()?;
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(typ.to_string());
        header.kid = Some(if b.unknown_kid() {
            rogue.kid.clone()
        } else {
            current.kid.clone()
        });
        encode(&header, claims, &rogue.encoding)
    } else {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(current.kid.clone());
        header.typ = Some(typ.to_string());
        encode(&header, claims, &current.encoding)
    };
    signed.map_err(|e| DevIdpError::Signing(e.to_string()))
}

/// The sign-in an `id_token` reports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Login<'a> {
    /// The authorization request's `nonce`.
    pub nonce: Option<&'a str>,
    /// When the user typed their password.
    pub auth_time: i64,
    /// The session at the provider (its `sid`).
    pub sid: Option<&'a str>,
}

/// An `id_token` for `user`, addressed to `client_id`.
pub(crate) fn id_token(
    idp: &Inner,
    client_id: &str,
    user: &DevUser,
    login: Login<'_>,
) -> Result<String, DevIdpError> {
    let Login {
        nonce,
        auth_time,
        sid,
    } = login;
    let b = &idp.behaviour;
    let (iat, exp) = lifetime(b, idp.cfg.id_token_ttl_secs);
    let aud = if b.wrong_audience() {
        format!("not-{client_id}")
    } else {
        client_id.to_string()
    };
    let mut claims = user.claims.clone();
    claims.extend([
        ("iss".to_string(), json!(issuer(idp))),
        ("aud".to_string(), json!(aud)),
        ("sub".to_string(), json!(user.sub())),
        ("iat".to_string(), json!(iat)),
        ("exp".to_string(), json!(exp)),
        ("auth_time".to_string(), json!(auth_time.min(iat))),
    ]);
    claims.remove("nonce");
    claims.remove("sid");
    if let Some(sid) = sid {
        claims.insert("sid".into(), json!(sid));
    }
    let nonce = if b.omit_nonce() {
        None
    } else if b.wrong_nonce() {
        Some(tessera_shared::crypto::random_string::<16>())
    } else {
        nonce.map(str::to_string)
    };
    if let Some(n) = nonce {
        claims.insert("nonce".into(), json!(n));
    }
    sign(idp, client_id, &claims)
}

/// An Okta-shaped access token. `sub` is used as given; `extra` is merged last and may
/// override any claim.
pub(crate) fn access_token(
    idp: &Inner,
    client_id: &str,
    holder: Holder<'_>,
    sub: &str,
    scopes: &[String],
    extra: Map<String, Value>,
) -> Result<String, DevIdpError> {
    let b = &idp.behaviour;
    let (iat, exp) = lifetime(b, idp.cfg.access_token_ttl_secs);
    let aud = if b.wrong_audience() {
        "api://wrong-audience".to_string()
    } else {
        idp.cfg.audience.clone()
    };
    let mut claims = Map::new();
    if let Holder::User(user) = holder {
        claims.extend(
            user.claims
                .iter()
                .filter(|(k, _)| !STANDARD_CLAIMS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
    }
    claims.extend([
        ("ver".to_string(), json!(1)),
        (
            "jti".to_string(),
            json!(format!(
                "AT.{}",
                tessera_shared::crypto::random_string::<16>()
            )),
        ),
        ("iss".to_string(), json!(issuer(idp))),
        ("aud".to_string(), json!(aud)),
        ("iat".to_string(), json!(iat)),
        ("exp".to_string(), json!(exp)),
        ("cid".to_string(), json!(client_id)),
        ("scp".to_string(), json!(scopes)),
        ("sub".to_string(), json!(sub)),
    ]);
    if let Holder::User(user) = holder {
        claims.insert("uid".into(), json!(user.sub()));
    }
    claims.extend(extra);
    sign(idp, client_id, &claims)
}
