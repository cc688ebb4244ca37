//! HTTP shapes of the broker's errors: RFC 6749 §5.2 JSON for OAuth endpoints, and a small JSON
//! error object for the admin API. Client-facing text never includes internal error text.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use tessera_shared::error::{CatalogError, StoreError};
use tessera_shared::oauth::{Challenge, OAuthError};

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

/// Admin API errors: `{"error": code, "message": text, "field": name?}`.
#[derive(Debug)]
pub enum AdminError {
    Unauthorized,
    Invalid { field: String, message: String },
    NotFound(&'static str),
    Conflict(&'static str),
    PayloadTooLarge,
    Unavailable,
    Internal,
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl From<CatalogError> for AdminError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(what) => AdminError::NotFound(what),
            CatalogError::Conflict { field } => AdminError::Conflict(field),
            CatalogError::Invalid { field, message } => AdminError::Invalid { field, message },
            CatalogError::Contended => AdminError::Unavailable,
            CatalogError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "store unavailable");
                AdminError::Unavailable
            }
            StoreError::Corrupt(cause) => {
                tracing::error!(%cause, "corrupt record in store");
                AdminError::Internal
            }
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminError::Unauthorized => StatusCode::UNAUTHORIZED,
            AdminError::Invalid { .. } => StatusCode::BAD_REQUEST,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AdminError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            AdminError::Unauthorized => serde_json::json!({
                "error": "unauthorized", "message": "a valid admin bearer token is required"}),
            AdminError::Invalid { field, message } => serde_json::json!({
                "error": "invalid_request", "field": field, "message": message}),
            AdminError::NotFound(what) => serde_json::json!({
                "error": "not_found", "message": format!("{what} not found")}),
            AdminError::Conflict(field) => serde_json::json!({
                "error": "conflict", "field": field, "message": format!("{field} already in use")}),
            AdminError::PayloadTooLarge => serde_json::json!({
                "error": "payload_too_large", "message": "request body too large"}),
            AdminError::Unavailable => serde_json::json!({
                "error": "temporarily_unavailable", "message": "retry shortly"}),
            AdminError::Internal => serde_json::json!({
                "error": "internal", "message": "internal error"}),
        };
        let mut res = HttpResponse::build(self.status_code());
        if matches!(self, AdminError::Unauthorized) {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"tessera-admin\""));
        }
        res.json(body)
    }
}
