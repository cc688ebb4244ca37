//! The client credentials a request presents (RFC 6749 §2.3.1): HTTP Basic in the
//! `Authorization` header, or `client_id` and `client_secret` in the form body — never both
//! at once — or, for a public client, its `client_id` alone (§2.1). Whether they prove anything
//! is for client authentication to decide.

use actix_web::http::header;
use actix_web::HttpRequest;
use tessera_shared::model::{SecretMethod, Sensitive};
use tessera_shared::oauth::basic::parse_basic;
use tessera_shared::oauth::{Challenge, Form, OAuthError};

/// What the request presented.
#[derive(Debug)]
pub struct Presented {
    pub client_id: String,
    /// Never printed.
    pub secret: Sensitive,
    /// The challenge to answer a failure with.
    pub challenge: Challenge,
    /// How the secret came (`None`: no secret, a public client).
    pub method: Option<SecretMethod>,
}

/// The credentials of `req` and its `form`; malformed or doubled ones are refused here.
pub fn presented(req: &HttpRequest, form: &Form) -> Result<Presented, OAuthError> {
    let basic = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| OAuthError::invalid_client(Challenge::Basic))?;
            let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(OAuthError::invalid_request(
                    "only HTTP Basic client authentication is supported in the Authorization header",
                ));
            }
            Some(
                parse_basic(rest.trim())
                    .ok_or_else(|| OAuthError::invalid_client(Challenge::Basic))?,
            )
        }
    };
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    match (basic, body_secret) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method, not both Basic and client_secret",
        )),
        (Some((id, secret)), None) => {
            // RFC 6749 §2.3.1 allows client_id in the body too, but it must name the same client.
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body does not match the Authorization header",
                ));
            }
            Ok(Presented {
                client_id: id,
                secret: Sensitive(secret),
                challenge: Challenge::Basic,
                method: Some(SecretMethod::ClientSecretBasic),
            })
        }
        (None, Some(secret)) => match body_id {
            Some(id) => Ok(Presented {
                client_id: id.to_string(),
                secret: Sensitive(secret.to_string()),
                challenge: Challenge::None,
                method: Some(SecretMethod::ClientSecretPost),
            }),
            None => Err(OAuthError::invalid_request("missing parameter 'client_id'")),
        },
        // A public client names itself in the body and proves nothing (RFC 6749 §2.1); only
        // apps registered as public may do that.
        (None, None) => match body_id {
            Some(id) => Ok(Presented {
                client_id: id.to_string(),
                secret: Sensitive(String::new()),
                challenge: Challenge::None,
                method: None,
            }),
            None => Err(OAuthError::invalid_client(Challenge::Basic)),
        },
    }
}
