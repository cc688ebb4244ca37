//! [`OAuthResponse`]: an [`OAuthError`] as an actix response — the RFC 6749 §5.2 JSON body,
//! `Cache-Control: no-store`, the `WWW-Authenticate` challenge of a 401 (RFC 6749 §5.2,
//! RFC 6750 §3), `Retry-After` on a 503 and the error's own extra headers.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use super::{Challenge, OAuthError};
use crate::error::StoreError;

/// An [`OAuthError`] as an actix response.
#[derive(Debug)]
pub struct OAuthResponse(pub OAuthError);

impl std::fmt::Display for OAuthResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.code.as_str(), self.0.description)
    }
}

impl From<OAuthError> for OAuthResponse {
    fn from(e: OAuthError) -> Self {
        OAuthResponse(e)
    }
}

impl From<StoreError> for OAuthResponse {
    fn from(e: StoreError) -> Self {
        OAuthResponse(e.into())
    }
}

impl ResponseError for OAuthResponse {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        match self.0.challenge {
            Challenge::Basic => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"tessera\", charset=\"UTF-8\""),
                ));
            }
            Challenge::Bearer => {
                let v = format!(
                    "Bearer realm=\"tessera\", error=\"{}\"",
                    self.0.code.as_str()
                );
                if let Ok(v) = HeaderValue::from_str(&v) {
                    res.insert_header((header::WWW_AUTHENTICATE, v));
                }
            }
            Challenge::None => {}
        }
        if self.0.status == 503 {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        for (name, value) in &self.0.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                res.insert_header((*name, v));
            }
        }
        res.json(self.0.body())
    }
}
